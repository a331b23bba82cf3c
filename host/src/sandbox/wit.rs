//! Host-side bindings of the `tool-plugin` world.

wasmtime::component::bindgen!({
    world: "tool-plugin",
    path: "../wit",
    imports: {
        "openphone:mcp/upstream.send": async,
        "openphone:mcp/upstream.send-recorded": async,
        default: trappable,
    },
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use exports::openphone::mcp::tool::{CallContext, ToolDescriptor, ToolError, ToolOutput};
pub use openphone::mcp::log::Level;
pub use openphone::mcp::types::{ApiRequest, ApiResponse, LedgerError, Method, UpstreamError};
