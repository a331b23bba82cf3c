//! OAuth endpoints and pages, answered by the auth component.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::http::{HttpState, internal};
use crate::auth::wit::HttpRequest;

/// Hands a request for an OAuth endpoint or page to the auth component.
pub(crate) async fn auth_route(
    State(state): State<Arc<HttpState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(auth) = &state.auth else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let request = HttpRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    };
    match auth.handle(request).await {
        Ok(answer) => {
            let status =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            // Only the component's headers: a default Content-Type must not precede its own.
            let mut response = Response::new(Body::from(answer.body));
            *response.status_mut() = status;
            for (name, value) in answer.headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            response
        }
        Err(error) => internal(error),
    }
}
