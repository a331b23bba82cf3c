//! Rate limits at the door: every request's client address, the rule its
//! route counts under, and the `429` it gets when over it.
//!
//! The address is the socket peer, or what a trusted proxy forwarded
//! (`access/client_address.rs`); it is put in the request's extensions as
//! [`ClientAddress`] for the handlers (the consent form's key check, the
//! per-grant `/mcp` limit) and the logs. `/health` and `/ready` are never
//! limited, so a load balancer's probes cannot be starved.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use openphone_mcp_protocol::jsonrpc;

use super::http::HttpState;
use crate::access::rate_limit::{Admission, Rule, retry_after_secs};

/// The address a request is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub IpAddr);

/// The rule a request to `path` counts under at the door; `None` for the
/// health probes.
fn rule_for(path: &str) -> Option<Rule> {
    match path {
        "/health" | "/ready" => None,
        "/mcp" => Some(Rule::Mcp),
        "/register" => Some(Rule::Register),
        "/authorize" => Some(Rule::Authorize),
        "/token" => Some(Rule::Token),
        "/revoke" => Some(Rule::Revoke),
        _ => Some(Rule::Discovery),
    }
}

/// Finds the client address and counts the request under its route's rule.
pub(crate) async fn admit(
    State(state): State<Arc<HttpState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = (request.extensions().get::<ConnectInfo<SocketAddr>>())
        .map_or(IpAddr::from([127, 0, 0, 1]), |info| info.0.ip());
    let address = state.proxies.client_address(peer, request.headers());
    request.extensions_mut().insert(ClientAddress(address));
    // CORS preflights never get here: the CORS layer outside answers them.
    let Some(rule) = rule_for(request.uri().path()) else {
        return next.run(request).await;
    };
    match state.limits.admit_address(rule, address) {
        Admission::Allowed => next.run(request).await,
        Admission::Limited { retry_after } => {
            tracing::warn!(rule = rule.name(), "rate limit: request refused");
            too_many(rule, retry_after_secs(retry_after))
        }
    }
}

/// The `429` for a request over `rule`, in the form its endpoint speaks:
/// JSON-RPC on `/mcp`, a page on `/authorize`, OAuth error JSON elsewhere.
pub(crate) fn too_many(rule: Rule, retry_after: u64) -> Response {
    crate::telemetry::rate_limited(rule.name());
    let text = format!("Too many requests; try again in {retry_after} s.");
    let mut response = match rule {
        Rule::Mcp | Rule::McpGrant => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(jsonrpc::error_response_with(
                None,
                openphone_mcp_protocol::rmcp::model::ErrorCode(-32000),
                text,
            )),
        )
            .into_response(),
        Rule::Authorize | Rule::KeyCheck => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            maud::html! {
                (maud::DOCTYPE)
                html lang="en" {
                    head { meta charset="utf-8"; title { "Too many attempts" } }
                    body {
                        h1 { "Too many attempts" }
                        p { "Too many attempts came from your network." }
                        p { "What to do next: wait " (retry_after) " seconds, then go back and try again." }
                    }
                }
            }
            .into_string(),
        )
            .into_response(),
        Rule::Register | Rule::Token | Rule::Revoke | Rule::Discovery => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": text,
            })),
        )
            .into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
