//! Extractors of the `/mcp` handlers: the authorized caller and the
//! Streamable HTTP header rules of a POST. Each rejection is the answer the
//! client gets.

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
