//! The gateway of composed deployments (Spin, stock `wasmtime serve`):
//! Streamable HTTP `/mcp` and `/health` over `wasi:http/incoming-handler`,
//! in front of the five tool components the composition plugs in, and, in
//! OAuth mode, the auth component's endpoints and pages, with bearer tokens
//! checked by its `verify` and each grant's scopes deciding which tools
//! exist for a request — the native host's rules and answers.
//!
//! The MCP rules are the native host's, through the same sans-IO
//! `openphone-mcp-protocol` crate: header checks, JSON-RPC framing, the
//! lifecycle state machine, the catalog and result wording. What differs is
//! only where state lives: one composed instance serves one request, so the
//! session travels in its id, sealed by the broker (see `broker.seal-session`).
//!
//! [`Gateway::handle`] is plain code over a [`Backend`] (the broker and the
//! tools), unit-tested natively with a fake; `component.rs` binds it to the
//! component's imports and to `wasi:http`.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

mod call;
#[cfg(target_arch = "wasm32")]
mod component;
mod mcp;
mod routes;
mod sealed;

pub use mcp::Gateway;
pub use openphone_mcp_protocol::profiles::ToolProfile;
pub use routes::{Reply, Request};

use openphone_gateway_bindings::openphone::mcp::types::{
    CallContext, Principal, TokenError, ToolDescriptor, ToolError, ToolOutput,
};

/// How callers are authenticated (the broker's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SingleUser,
    OAuth,
}

/// The deployment's settings, as the broker reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub mode: Mode,
    /// `public_url`, when set: its host is the one `Host` accepted besides
    /// loopback names.
    pub public_url: Option<String>,
    /// `tool_profiles`: clients that match see and may call fewer tools.
    pub profiles: Vec<ToolProfile>,
}

/// Why the broker would not bind a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallRefusal {
    /// The grant has no sealed key any more (revoked).
    NoKey,
    /// The deployment cannot serve the call; the message says why.
    Failed(String),
}

/// What one claim covers (the broker's `claim-key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKey<'a> {
    /// The caller's `idempotencyKey`, for the bound call's tool.
    IdempotencyKey(&'a str),
    /// A JSON-RPC request without one: session id and request id.
    Request(&'a str),
}

/// What a call under a claim may do (the broker's `claim-decision`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Run {
        resumed: bool,
    },
    /// The recorded `CallToolResult` JSON.
    Replay(String),
    Busy,
    Conflict,
    Interrupted,
    /// The host keeps no records: run without a claim.
    Unrecorded,
}

/// Everything the gateway asks of the rest of the composition.
pub trait Backend {
    /// `Err` names the setting that is missing or malformed.
    fn settings(&self) -> Result<Settings, String>;
    /// Seals a session state into an id.
    fn seal(&self, state: &str) -> Result<String, String>;
    /// The state sealed into `id`, if this deployment sealed it.
    fn open(&self, id: &str) -> Option<String>;
    /// Every tool component's descriptors, in slot order.
    fn descriptors(&self) -> Vec<Vec<ToolDescriptor>>;
    /// Binds the broker to a call of `tool` for `grant` (`None`: single
    /// user) before it runs.
    fn begin_call(
        &self,
        tool: &str,
        grant: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<(), CallRefusal>;
    /// Runs `name` in the component in `slot`.
    fn call(
        &self,
        slot: usize,
        name: &str,
        arguments: &str,
        context: &CallContext,
    ) -> Result<ToolOutput, ToolError>;
    /// Claims `key` for the bound call with `arguments` (its JSON).
    fn claim(&self, key: ClaimKey<'_>, arguments: &str, resumable: bool) -> Result<Claim, String>;
    /// Records the bound call's result JSON under `key`, or releases it.
    fn settle(&self, key: ClaimKey<'_>, outcome: Option<&str>) -> Result<(), String>;
    /// Now, in Unix seconds (sessions expire).
    fn now(&self) -> u64;
    /// The paths the auth component answers (OAuth mode).
    fn auth_routes(&self) -> Vec<String>;
    /// The auth component's answer to a request for one of its paths.
    fn auth_handle(&self, request: &Request) -> Reply;
    /// Checks a bearer token presented to `resource`.
    fn verify(&self, bearer: &str, resource: &str) -> Result<Principal, TokenError>;
    /// After a request to the auth component's routes: one page of its
    /// sweep, when the broker says it is due.
    fn after_auth_request(&self);
}

#[cfg(test)]
mod fake;
