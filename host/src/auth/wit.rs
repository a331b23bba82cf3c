//! Host-side bindings of the `auth-component` world.

wasmtime::component::bindgen!({
    world: "auth-component",
    path: "../wit",
    imports: {
        "openphone:mcp/vault.check": async,
        "openphone:mcp/client-metadata.fetch": async,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "wasi:keyvalue/store.bucket": super::keyvalue::Bucket,
        "wasi:keyvalue/atomics.cas": super::keyvalue::Cas,
    },
});

pub use exports::openphone::mcp::admin::{ClientSummary, GrantSummary, SweepProgress};
pub use openphone::mcp::types::{HttpRequest, HttpResponse, Principal, TokenError};
