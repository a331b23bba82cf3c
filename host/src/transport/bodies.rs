//! Request bodies, read whole before any handler sees them: at most the
//! route's limit (`413` past it) and within a deadline for the whole body
//! (`408` when it is not all there in time), so a client can neither send an
//! endless body nor keep a request open by dripping one byte at a time.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use http_body_util::Limited;
use openphone_mcp_protocol::jsonrpc;
use openphone_mcp_protocol::rmcp::model::ErrorCode;

use super::http::HttpState;

/// Largest body accepted on `/mcp`.
pub(crate) const MAX_MCP_BODY: usize = 1 << 20;
/// Largest body accepted anywhere else (OAuth forms and registrations).
pub(crate) const MAX_FORM_BODY: usize = 16 << 10;

/// The body limit of `path`.
fn limit_for(path: &str) -> usize {
    if path == "/mcp" {
        MAX_MCP_BODY
    } else {
        MAX_FORM_BODY
    }
}

/// Reads the body under the route's limit and the configured deadline.
pub(crate) async fn read_whole(
    State(state): State<Arc<HttpState>>,
    request: Request,
    next: Next,
) -> Response {
    let is_mcp = request.uri().path() == "/mcp";
    let limit = limit_for(request.uri().path());
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, limit).collect();
    let bytes = match tokio::time::timeout(state.config.body_read, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                is_mcp,
                &format!("the request body is larger than {limit} bytes"),
            );
        }
        Ok(Err(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                is_mcp,
                "the request body could not be read",
            );
        }
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                is_mcp,
                &format!(
                    "the request body did not arrive within {} s",
                    state.config.body_read.as_secs()
                ),
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The refusal, as JSON-RPC on `/mcp`, as plain text elsewhere.
fn refuse(status: StatusCode, is_mcp: bool, text: &str) -> Response {
    tracing::info!(status = status.as_u16(), "request body refused: {text}");
    if is_mcp {
        let body = jsonrpc::error_response_with(
            None,
            ErrorCode::INVALID_REQUEST,
            format!("Invalid Request: {text}"),
        );
        return (status, Json(body)).into_response();
    }
    (status, format!("{text}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_takes_a_megabyte_and_forms_sixteen_kib() {
        assert_eq!(limit_for("/mcp"), 1 << 20);
        assert_eq!(limit_for("/register"), 16 << 10);
        assert_eq!(limit_for("/authorize"), 16 << 10);
    }
}
