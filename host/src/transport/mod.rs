//! The transports: Streamable HTTP (`serve`) and stdio.

mod auth_routes;
mod bodies;
mod extract;
pub(crate) mod homepage;
pub(crate) mod http;
pub(crate) mod listener;
mod mcp;
pub(crate) mod request_id;
mod session;
pub(crate) mod stdio;
pub(crate) mod throttle;
