//! Sans-IO Model Context Protocol (MCP) server protocol for openphone-mcp.
//!
//! Pure functions and state machines, no I/O, no clocks, no threads, so the
//! same code runs in the native host and in a `wasm32-wasip2` component:
//!
//! * [`jsonrpc`] — classify a request body into JSON-RPC messages (keeping
//!   the request id even when the message is invalid) and build responses;
//! * [`server`] — the MCP lifecycle: `initialize`, `ping`, `tools/list`,
//!   `tools/call`, notifications; one message in, one [`server::Step`] out;
//! * [`http`] — Streamable HTTP rules as header checks, and SSE framing;
//! * [`version`] — supported protocol revisions and negotiation;
//! * [`catalog`] — tool descriptors and outcomes as MCP values;
//! * [`profiles`] — per-client tool profiles an operator configures.
//!
//! Result payloads and tool descriptors are the official SDK's types
//! ([`rmcp::model`]); where we build JSON by hand the module says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

pub mod catalog;
pub mod http;
pub mod jsonrpc;
pub mod profiles;
pub mod server;
pub mod version;

pub use jsonrpc::{Incoming, InvalidMessage, Message};
pub use rmcp;
pub use rmcp::model::{ProgressToken, RequestId};
pub use server::{ClientInfo, Server, ServerInfo, Session, Step, ToolCall};
