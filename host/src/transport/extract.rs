//! Extractors of the `/mcp` handlers: the authorized caller and the
//! Streamable HTTP header rules of a POST. Each rejection is the answer the
//! client gets.

use super::request_id::RequestId;
use super::throttle::ClientAddress;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::Response;
use openphone_mcp_protocol::http as rules;

use super::http::{HttpState, reject};
use super::throttle::too_many;
use crate::access::Authorized;
use crate::access::rate_limit::{Admission, Rule, retry_after_secs};

/// Who the request acts for (`401`/`403`/`503` otherwise), counted against
/// its grant's rate limit (`429` over it). Authorized once per request:
/// later extractors reuse the answer.
impl FromRequestParts<Arc<HttpState>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<HttpState>,
    ) -> Result<Self, Response> {
        if let Some(authorized) = parts.extensions.get::<Authorized>() {
            return Ok(authorized.clone());
        }
        let authorized = state.access.authorize(&parts.headers).await?;
        if let Admission::Limited { retry_after } =
            state.limits.admit_grant(&authorized.caller.subject)
        {
            tracing::warn!(rule = Rule::McpGrant.name(), "rate limit: request refused");
            return Err(too_many(Rule::McpGrant, retry_after_secs(retry_after)));
        }
        parts.extensions.insert(authorized.clone());
        Ok(authorized)
    }
}

/// Where a request came from: its id and client address, which the layers
/// outside the routes (`request_id::assign`, `throttle::admit`) put in its
/// extensions.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    pub request_id: RequestId,
    pub address: ClientAddress,
}

impl<S: Send + Sync> FromRequestParts<S> for Sender {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let request_id = parts.extensions.get::<RequestId>().cloned();
        let address = parts.extensions.get::<ClientAddress>().copied();
        match (request_id, address) {
            (Some(request_id), Some(address)) => Ok(Sender {
                request_id,
                address,
            }),
            _ => Err(super::http::internal(anyhow::anyhow!(
                "a request reached /mcp without its id or address"
            ))),
        }
    }
}

/// A POST whose `Accept` and `Content-Type` the transport can serve
/// (`406`/`415` otherwise), checked before anything costs work.
#[derive(Debug)]
pub(crate) struct PostHeaders {
    /// The HTTP `User-Agent`, for tool profiles.
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PostHeaders {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        rules::check_post_accept(&parts.headers)
            .and_then(|()| rules::check_content_type(&parts.headers))
            .map_err(reject)?;
        Ok(PostHeaders {
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}
