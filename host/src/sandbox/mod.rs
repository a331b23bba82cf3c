//! The sandbox: tool components compiled once, instantiated fresh per call.
//!
//! A tool gets exactly the `tool-imports` world — the OpenPhone API as the
//! calling user and logging — plus the WASI interfaces Rust's standard
//! library links against, configured empty: no environment, arguments,
//! preopened directories, sockets or name lookup, and stdout/stderr
//! discarded. Each call runs in a new instance from a pooling allocator with
//! a memory cap, and is stopped at its deadline by epoch interruption even if
//! it never yields.

pub(crate) mod budget;
pub(crate) mod shutdown;
pub(crate) mod upstream;
pub(crate) mod wit;

mod call;
mod engine;
mod loader;

pub(crate) use call::stop_at;
pub use call::{CallOutcome, CallRequest, Caller, GrantOf, Progress};
pub(crate) use engine::empty_wasi;
pub use engine::{Limits, Sandbox};
pub use loader::{LoadedTool, ToolSource};
