#![forbid(unsafe_code)]
//! Guest SDK for openphone-mcp tool components.
//!
//! A tool crate is a thin `impl Guest` over plain functions. Those functions
//! take an [`Api`] (the OpenPhone API as the calling user), so they can be
//! unit-tested natively against a fake, and run inside the sandbox against
//! [`HostApi`], which forwards to the host's `upstream` import.
//!
//! What a guest can rely on (the `tool-plugin` world): the OpenPhone API
//! through the host, a [`Ledger`] of per-item records, logging and progress.
//! Nothing else — no sockets, files or environment.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod api;
pub mod args;
pub mod bindings;
pub mod ledger;
pub mod log;
pub mod phone;
pub mod query;
pub mod text;

pub use api::{Api, ApiError, HostApi, RecordedSend, explain_upstream};
pub use args::{input_schema, output_schema, parse_arguments};
pub use bindings::exports::openphone::mcp::tool::Guest;
pub use bindings::openphone::mcp::types::{
    ApiRequest, ApiResponse, CallContext, Method, ToolAnnotations, ToolDescriptor, ToolError,
    ToolOutput, UpstreamError,
};
pub use ledger::{HostLedger, Ledger, LedgerError};
pub use phone::{E164, Inbox, PhoneError};
pub use text::MessageText;

/// Re-exported for the derive in tool crates.
pub use schemars;

/// Exports a type implementing [`Guest`] as this component's `tool` interface.
///
/// ```ignore
/// struct Component;
/// impl openphone_guest::Guest for Component { /* list, call */ }
/// openphone_guest::export_tool!(Component);
/// ```
#[macro_export]
macro_rules! export_tool {
    ($ty:ident) => {
        // Component exports exist only in the sandbox; natively the crate is a
        // plain library for unit tests (and the export names are not valid
        // native symbols).
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export!($ty with_types_in $crate::bindings);
    };
}

/// Exports a component that offers one tool: `list` returns `descriptor()`,
/// `call` checks the name, parses the arguments into the type `run` takes
/// and runs it against the host's API.
///
/// ```ignore
/// openphone_guest::export_single_tool!(name: NAME, descriptor: descriptor, run: send);
/// ```
#[macro_export]
macro_rules! export_single_tool {
    (name: $name:expr, descriptor: $descriptor:path, run: $run:path) => {
        /// The component (exported only when built for the sandbox).
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        struct Component;

        impl $crate::Guest for Component {
            fn list() -> Vec<$crate::ToolDescriptor> {
                vec![$descriptor()]
            }

            fn call(
                name: String,
                arguments: String,
                _context: $crate::CallContext,
            ) -> Result<$crate::ToolOutput, $crate::ToolError> {
                if name != $name {
                    return Err($crate::ToolError::UnknownTool(name));
                }
                $run(&$crate::HostApi, $crate::parse_arguments(&arguments)?)
            }
        }

        $crate::export_tool!(Component);
    };
}

impl From<UpstreamError> for ToolError {
    fn from(e: UpstreamError) -> Self {
        ToolError::Upstream(e)
    }
}

impl ToolOutput {
    /// A successful result with a text summary and a structured value.
    pub fn success(text: impl Into<String>, structured: &impl serde::Serialize) -> Self {
        ToolOutput {
            text: text.into(),
            structured: serde_json::to_string(structured).ok(),
            is_error: false,
        }
    }

    /// The tool ran but did not achieve what was asked; `text` says why.
    pub fn failure(text: impl Into<String>, structured: Option<&impl serde::Serialize>) -> Self {
        ToolOutput {
            text: text.into(),
            structured: structured.and_then(|s| serde_json::to_string(s).ok()),
            is_error: true,
        }
    }
}
