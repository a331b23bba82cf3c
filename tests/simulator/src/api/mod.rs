//! The simulated `/v1` API.
//!
//! Every request that is not an admin route goes through [`handle`]:
//! 1. it is checked against the spec and recorded (with its violations, if any);
//! 2. an injected fault that matches takes over (status, delay, drop);
//! 3. unknown path or method → `404`;
//! 4. `Authorization` must be a seeded key, raw (a `Bearer ` prefix → `401`);
//! 5. the key's rate limit (default 10 per second) → `429`;
//! 6. a request that departs from the spec → `400` with `"simulatorViolation": true`;
//! 7. the operation's handler answers from the workspace data.

mod calls;
mod contacts;
mod conversations;
mod messages;
mod phone_numbers;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::Value;

use crate::datetime::{format_ms, now_ms, parse_rfc3339};
use crate::error_body::ApiError;
use crate::faults::FaultAction;
use crate::journal::{RecordedRequest, Violation};
use crate::model::Workspace;
use crate::server::ConnectionControl;
use crate::spec::{CheckedRequest, Operation, QueryParams, RequestParts};
use crate::state::{Data, Shared, lock};

/// What an operation handler answers: a status and a JSON body (ignored for `204`).
type Outcome = Result<(StatusCode, Value), ApiError>;

/// A validated request as the handlers see it.
#[derive(Debug)]
struct ApiRequest<'a> {
    key: &'a str,
    path_params: &'a BTreeMap<String, String>,
    query: &'a QueryParams,
    body: Option<&'a Value>,
}

impl ApiRequest<'_> {
    fn workspace<'d>(&self, data: &'d Data) -> Result<&'d Workspace, ApiError> {
        data.workspace(self.key).ok_or_else(unknown_key)
    }

    fn workspace_mut<'d>(&self, data: &'d mut Data) -> Result<&'d mut Workspace, ApiError> {
        data.workspace_mut(self.key).ok_or_else(unknown_key)
    }

    fn path_param(&self, name: &str) -> &str {
        self.path_params.get(name).map_or("", String::as_str)
    }

    fn max_results(&self) -> usize {
        self.query
            .first("maxResults")
            .and_then(|value| value.parse().ok())
            .unwrap_or(10)
    }

    fn page_token(&self) -> Option<&str> {
        self.query.first("pageToken")
    }

    /// A `date-time` query filter in ms (already validated, so unparsable means absent).
    fn time(&self, name: &str) -> Option<i64> {
        self.query.first(name).and_then(parse_rfc3339)
    }

    fn body_str(&self, name: &str) -> Option<&str> {
        self.body
            .and_then(|body| body.get(name))
            .and_then(Value::as_str)
    }
}

fn unknown_key() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key")
}

/// `createdAfter`/`createdBefore` style window check (both bounds exclusive).
fn within(ms: i64, after: Option<i64>, before: Option<i64>) -> bool {
    after.is_none_or(|after| ms > after) && before.is_none_or(|before| ms < before)
}

/// Axum handler for every non-admin request.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    control: Option<Extension<ConnectionControl>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let query = uri.query();
    let api_key = header_text(&headers, &AUTHORIZATION);
    let content_type = header_text(&headers, &CONTENT_TYPE);
    let received_at = format_ms(now_ms());
    let checked = shared.spec.check(&RequestParts {
        method: method.as_str(),
        path,
        query,
        content_type: content_type.as_deref(),
        body: &body,
    });
    let seq = lock(&shared.journal).next_seq();
    let fault = lock(&shared.faults).take(method.as_str(), path);
    let response = match &fault {
        Some(FaultAction::Status { status, body }) => {
            Some(status_fault(*status, body.as_ref(), checked.operation))
        }
        Some(FaultAction::Drop {
            after_processing: false,
        }) => None,
        _ => Some(respond(&shared, &checked, api_key.as_deref())),
    };
    let dropping = matches!(fault, Some(FaultAction::Drop { .. }));
    {
        let mut journal = lock(&shared.journal);
        if !checked.problems.is_empty() {
            journal.violations.push(Violation {
                seq,
                method: method.to_string(),
                path: path.to_owned(),
                query: query.map(str::to_owned),
                problems: checked.problems.clone(),
            });
        }
        journal.requests.push(RecordedRequest {
            seq,
            method: method.to_string(),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            body: (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()),
            api_key,
            operation_id: checked.operation.map(|op| op.operation_id.clone()),
            received_at,
            status: response
                .as_ref()
                .filter(|_| !dropping)
                .map(|response| response.status().as_u16()),
            fault: fault.clone(),
        });
    }
    if let Some(FaultAction::Delay { ms }) = fault {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match (dropping, response, control) {
        (false, Some(response), _) => response,
        (_, _, Some(Extension(control))) => {
            control.drop_connection();
            std::future::pending::<Response>().await
        }
        // Not served by the simulator's own accept loop: nothing to drop, answer 502 instead.
        (_, _, None) => ApiError::new(StatusCode::BAD_GATEWAY, "Connection dropped")
            .into_response(checked.operation),
    }
}

fn header_text(headers: &HeaderMap, name: &http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

fn status_fault(status: u16, body: Option<&Value>, operation: Option<&Operation>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match body {
        Some(body) => (status, axum::Json(body.clone())).into_response(),
        None => ApiError::new(status, format!("Injected fault: {status}")).into_response(operation),
    }
}

/// Steps 3–7 of the pipeline.
fn respond(shared: &Shared, checked: &CheckedRequest<'_>, api_key: Option<&str>) -> Response {
    let Some(operation) = checked.operation else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "No route matches this method and path",
        )
        .into_response(None);
    };
    let key = match authenticate(shared, api_key) {
        Ok(key) => key,
        Err(error) => return error.into_response(Some(operation)),
    };
    if !lock(&shared.limiter).admit(key, Instant::now()) {
        return ApiError::new(StatusCode::TOO_MANY_REQUESTS, "API rate limit exceeded")
            .into_response(Some(operation));
    }
    if !checked.problems.is_empty() {
        return ApiError::violation(checked.problems.clone()).into_response(Some(operation));
    }
    let request = ApiRequest {
        key,
        path_params: &checked.path_params,
        query: &checked.query,
        body: checked.body.as_ref(),
    };
    let outcome = dispatch(operation, &mut lock(&shared.data), &request);
    match outcome {
        Ok((StatusCode::NO_CONTENT, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((status, body)) => (status, axum::Json(body)).into_response(),
        Err(error) => error.into_response(Some(operation)),
    }
}

/// The seeded key the `Authorization` header names; the raw key, as the real API wants.
fn authenticate<'k>(shared: &Shared, header: Option<&'k str>) -> Result<&'k str, ApiError> {
    let Some(key) = header.map(str::trim).filter(|key| !key.is_empty()) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "No API key found in the Authorization header",
        ));
    };
    if key
        .get(..7)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("bearer "))
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Invalid API key: send the raw key in the Authorization header, without `Bearer `",
        ));
    }
    if lock(&shared.data).workspace(key).is_none() {
        return Err(unknown_key());
    }
    Ok(key)
}

fn dispatch(operation: &Operation, data: &mut Data, request: &ApiRequest<'_>) -> Outcome {
    match operation.operation_id.as_str() {
        "listPhoneNumbers_v1" => phone_numbers::list(request.workspace(data)?, request),
        "sendMessage_v1" => messages::send(data, request),
        "listMessages_v1" => messages::list(request.workspace(data)?, request),
        "getMessageById_v1" => messages::get(request.workspace(data)?, request),
        "listConversations_v1" => conversations::list(request.workspace(data)?, request),
        "listCalls_v1" => calls::list(request.workspace(data)?, request),
        "getCallTranscript_v1" => calls::transcript(request.workspace(data)?, request),
        "createContact_v1" => contacts::create(data, request),
        "listContacts_v1" => contacts::list(request.workspace(data)?, request),
        "getContactById_v1" => contacts::get(request.workspace(data)?, request),
        "updateContactById_v1" => contacts::update(request.workspace_mut(data)?, request),
        "deleteContact_v1" => contacts::delete(request.workspace_mut(data)?, request),
        "getContactCustomFields_v1" => contacts::custom_fields(request.workspace(data)?),
        other => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "{other} ({} {}) is not simulated",
                operation.method, operation.path_template
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows_are_exclusive() {
        assert!(within(5, Some(4), Some(6)));
        assert!(!within(5, Some(5), None));
        assert!(!within(5, None, Some(5)));
        assert!(within(5, None, None));
    }
}
