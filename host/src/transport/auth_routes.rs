//! OAuth endpoints and pages, answered by the auth component.

use std::sync::Arc;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::http::{HttpState, internal};
use super::request_id::RequestId;
use super::throttle::{ClientAddress, too_many};
use crate::access::rate_limit::{Admission, Rule, retry_after_secs};
use crate::access::temporarily_unavailable;
use crate::auth::AuthBusy;
use crate::auth::wit::{HttpRequest, HttpResponse};
use crate::state::audit::Origin;
use crate::telemetry::AuthEvent;

/// Hands a request for an OAuth endpoint or page to the auth component.
pub(crate) async fn auth_route(
    State(state): State<Arc<HttpState>>,
    Extension(address): Extension<ClientAddress>,
    Extension(request_id): Extension<RequestId>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(auth) = &state.auth else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Each key check costs a request to OpenPhone from this server.
    if method == Method::POST
        && uri.path() == "/authorize"
        && offers_a_key(&body)
        && let Admission::Limited { retry_after } =
            state.limits.admit_address(Rule::KeyCheck, address.0)
    {
        tracing::warn!(rule = Rule::KeyCheck.name(), "rate limit: request refused");
        return too_many(Rule::KeyCheck, retry_after_secs(retry_after));
    }
    let origin = Origin {
        request_id: Some(request_id.as_str().to_owned()),
        client_address: Some(address.0.to_string()),
    };
    match auth
        .handle(component_request(&method, &uri, &headers, body), origin)
        .await
    {
        Ok(answer) => {
            let response = component_response(answer);
            let location = response.headers().get(http::header::LOCATION);
            let location = location.and_then(|value| value.to_str().ok());
            if let Some(event) =
                AuthEvent::of_endpoint(&method, uri.path(), response.status().as_u16(), location)
            {
                crate::telemetry::auth_event(event);
            }
            response
        }
        Err(error) if error.is::<AuthBusy>() => {
            temporarily_unavailable("the server is at capacity; try again shortly")
        }
        Err(error) => internal(error),
    }
}

/// The request as the component's `http-request`.
fn component_request(method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> HttpRequest {
    HttpRequest {
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
    }
}

/// The component's answer, with only its own headers: a default
/// Content-Type must not precede its own.
fn component_response(answer: HttpResponse) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
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

/// True if a consent form approves with an API key: OpenPhone will be asked
/// to check it, a request from this server's address.
fn offers_a_key(form: &[u8]) -> bool {
    let mut key = false;
    let mut approve = false;
    for (name, value) in url::form_urlencoded::parse(form) {
        match &*name {
            "api_key" => key |= !value.trim().is_empty(),
            "action" => approve |= value == "approve",
            _ => {}
        }
    }
    key && approve
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_approval_with_a_key_is_a_key_check() {
        assert!(offers_a_key(b"state=x&api_key=abc&action=approve"));
        assert!(!offers_a_key(b"state=x&api_key=&action=approve"));
        assert!(!offers_a_key(b"state=x&api_key=abc&action=deny"));
        assert!(!offers_a_key(b"state=x&action=approve"));
        assert!(!offers_a_key(b"\xff\xfe"));
    }
}
