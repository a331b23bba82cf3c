//! Error answers in the spec's shape: `{message, code, status, docs, title}` (plus the
//! `description` constant where the spec requires one, and the problems of a simulator violation).
//!
//! Codes are seven digits: a two-digit resource, a two-digit sub-code and the HTTP status. The
//! code and title the spec documents for the operation and status are used when they describe a
//! generic error of that status; otherwise the code is `<resource>00<status>`.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use crate::spec::Operation;

/// The documentation link every error body carries.
const DOCS: &str = "https://openphone.com/docs";

/// An error answer, not yet tied to an operation.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    documented: Option<(&'static str, &'static str)>,
    problems: Option<Vec<String>>,
}

impl ApiError {
    /// A generic error of `status`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            documented: None,
            problems: None,
        }
    }

    /// A specific documented error, e.g. `0206400` "A2P Registration Not Approved".
    pub(crate) fn documented(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            message: message.into(),
            documented: Some((code, title)),
            problems: None,
        }
    }

    /// `400` for a request that departs from the spec; the body carries
    /// `"simulatorViolation": true` and the problems.
    pub(crate) fn violation(problems: Vec<String>) -> Self {
        let message = format!(
            "Request does not conform to the OpenPhone API spec: {}",
            problems.first().map_or("", String::as_str)
        );
        Self {
            status: StatusCode::BAD_REQUEST,
            message,
            documented: None,
            problems: Some(problems),
        }
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON body for this error answered by `operation` (`None`: no operation matched).
    pub(crate) fn body(&self, operation: Option<&Operation>) -> Value {
        let status = self.status.as_u16();
        let spec_entry = operation.and_then(|op| op.documented_error(status));
        let (code, title) = match self.documented {
            Some((code, title)) => (code.to_owned(), title.to_owned()),
            None => match &spec_entry {
                Some(entry) if entry.title == generic_title(status) => {
                    (entry.code.clone(), entry.title.clone())
                }
                _ => {
                    let resource =
                        operation.map_or_else(|| "00".to_owned(), Operation::error_resource);
                    (
                        format!("{resource}00{status}"),
                        generic_title(status).to_owned(),
                    )
                }
            },
        };
        let mut body = json!({
            "message": self.message,
            "code": code,
            "status": status,
            "docs": DOCS,
            "title": title,
        });
        if let Some(description) = spec_entry
            .filter(|entry| entry.code == code)
            .and_then(|entry| entry.description)
        {
            body["description"] = Value::String(description);
        }
        if let Some(problems) = &self.problems {
            body["simulatorViolation"] = Value::Bool(true);
            body["problems"] = json!(problems);
        }
        body
    }

    /// The HTTP answer for this error answered by `operation`.
    pub(crate) fn into_response(self, operation: Option<&Operation>) -> Response {
        (self.status, axum::Json(self.body(operation))).into_response()
    }
}

/// The title the spec uses for a generic error of `status`.
fn generic_title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Unknown",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Lookup, default_spec_path, load_cached};

    fn with_operation(method: &str, path: &str, check: impl FnOnce(&Operation)) {
        let spec = load_cached(&default_spec_path()).expect("spec loads");
        let Lookup::Found(operation, _) = spec.lookup(method, path) else {
            panic!("{method} {path} is in the spec");
        };
        check(operation);
    }

    #[test]
    fn generic_errors_use_the_spec_code_when_it_is_generic() {
        with_operation("GET", "/v1/messages/AC1", |op| {
            let body = ApiError::new(StatusCode::NOT_FOUND, "no such message").body(Some(op));
            assert_eq!(body["code"], "0200404");
            assert_eq!(body["title"], "Not Found");
            assert_eq!(body["status"], 404);
            assert_eq!(body["docs"], DOCS);
            assert!(body.get("description").is_none());
            // The spec's 400 for messages is the A2P error; a generic 400 must not borrow it.
            let body = ApiError::new(StatusCode::BAD_REQUEST, "bad token").body(Some(op));
            assert_eq!(body["code"], "0200400");
            assert_eq!(body["title"], "Bad Request");
            let body = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "slow down").body(Some(op));
            assert_eq!(body["code"], "0200429");
        });
    }

    #[test]
    fn documented_errors_carry_description_when_required() {
        with_operation("POST", "/v1/messages", |op| {
            let body = ApiError::documented(
                StatusCode::BAD_REQUEST,
                "0206400",
                "A2P Registration Not Approved",
                "not approved",
            )
            .body(Some(op));
            assert_eq!(body["code"], "0206400");
            assert_eq!(body["description"], "A2P Registration Not Approved");
            let spec = load_cached(&default_spec_path()).expect("spec loads");
            let problems = spec.response_problems("POST", "/v1/messages", 400, &body);
            assert!(problems.is_empty(), "{problems:?}");
        });
    }

    #[test]
    fn violations_are_flagged() {
        let body = ApiError::violation(vec!["first".to_owned(), "second".to_owned()]).body(None);
        assert_eq!(body["simulatorViolation"], true);
        assert_eq!(body["problems"], json!(["first", "second"]));
        assert_eq!(body["code"], "0000400");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.ends_with("first"))
        );
    }
}
