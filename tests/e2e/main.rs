//! End-to-end tests: the real `openphone-mcp` binary, real MCP clients, the
//! OpenPhone simulator validating every request against the published spec.

mod harness;

mod audit;
mod bulk;
mod cli;
mod composed;
mod config_file;
mod connections;
mod failures;
mod golden_tools;
mod homepage;
mod http_rules;
mod idempotency;
mod mcp_clients;
mod metrics;
mod oauth;
mod rate_limits;
mod read_tools;
mod replicas;
mod request_ids;
mod retention;
mod rotation;
mod sandbox;
mod spin;
mod upstream;
