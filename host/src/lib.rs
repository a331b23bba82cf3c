//! openphone-mcp: an MCP server for the OpenPhone (Quo) API whose tools run
//! as sandboxed WebAssembly components.
//!
//! The folders are the component map (ARCHITECTURE.md draws them):
//! `transport` (HTTP and stdio), `access` (who a request acts for and what it
//! may do), `auth` (the OAuth component and what it is given), `sandbox`
//! (wasmtime and the OpenPhone API as the caller), `state` (the durable
//! store and the protocols kept in it). `app` is the MCP server between
//! them, `telemetry` the Prometheus metrics they count, `startup` wires them, and `command` is what each subcommand of the
//! binary (`main.rs`) does.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub(crate) mod access;
pub(crate) mod app;
pub(crate) mod auth;
pub mod command;
pub mod config_file;
pub(crate) mod redact;
pub(crate) mod sandbox;
pub(crate) mod secret;
pub mod startup;
pub(crate) mod state;
pub(crate) mod telemetry;
pub(crate) mod transport;
