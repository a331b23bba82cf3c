//! The transports: Streamable HTTP (`serve`) and stdio.

mod auth_routes;
mod extract;
pub(crate) mod http;
mod mcp;
mod session;
pub(crate) mod stdio;
pub(crate) mod throttle;
