//! openphone-mcp: an MCP server for the OpenPhone (Quo) API whose tools run
//! as sandboxed WebAssembly components.
//!
//! The binary (`main.rs`) parses the command line; everything else lives
//! here so integration tests and benchmarks can use it.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod access;
pub mod admin;
pub mod app;
pub mod auth;
pub mod budget;
pub mod client_metadata;
pub mod deployment_secret;
pub mod http;
pub mod idempotency;
pub mod ledger;
pub mod profiles;
pub mod redact;
pub mod sandbox;
pub mod secret;
pub mod startup;
pub mod stdio;
pub mod store;
pub mod upstream;
pub mod vault;
