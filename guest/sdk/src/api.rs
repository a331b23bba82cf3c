//! The OpenPhone API as seen from a tool: typed requests, typed errors.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::text::shorten;
use crate::{ApiRequest, ApiResponse, Method, UpstreamError};

/// Longest upstream message quoted back to a caller.
const MAX_QUOTED: usize = 300;

/// The OpenPhone API as the calling user. [`HostApi`] in the sandbox; a fake
/// in unit tests.
pub trait Api {
    /// Sends one request; see the WIT `upstream.send` for the guarantees.
    fn send(&self, request: ApiRequest) -> Result<ApiResponse, UpstreamError>;

    /// `GET /v1{path}` with `query`, decoding a 2xx body as `T`.
    fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, ApiError> {
        let request = ApiRequest {
            method: Method::Get,
            path: path.to_owned(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: None,
        };
        decode(self.send(request)?)
    }

    /// `POST /v1{path}` with a JSON body, decoding a 2xx body as `T`.
    fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ApiError> {
        let body = serde_json::to_string(body)
            .map_err(|e| ApiError::Decode(format!("could not encode the request: {e}")))?;
        let request = ApiRequest {
            method: Method::Post,
            path: path.to_owned(),
            query: Vec::new(),
            body: Some(body),
        };
        decode(self.send(request)?)
    }
}

/// Sending a request and recording a ledger entry at the moment it is
/// dispatched (the WIT `upstream.send-recorded`).
pub trait RecordedSend: Api {
    /// Records `entry` for `item` as the request goes out, then waits for
    /// the answer. Neither happens if the call is stopped before dispatch.
    fn send_recorded(
        &self,
        request: ApiRequest,
        item: &str,
        entry: &str,
    ) -> Result<ApiResponse, UpstreamError>;

    /// `POST /v1{path}` recording `entry` for `item` at dispatch, decoding
    /// a 2xx body as `T`.
    fn post_recorded<B: Serialize, E: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        item: &str,
        entry: &E,
    ) -> Result<T, ApiError> {
        let refuse =
            |e: serde_json::Error| ApiError::Decode(format!("could not encode the request: {e}"));
        let request = ApiRequest {
            method: Method::Post,
            path: path.to_owned(),
            query: Vec::new(),
            body: Some(serde_json::to_string(body).map_err(refuse)?),
        };
        let entry = serde_json::to_string(entry).map_err(refuse)?;
        decode(self.send_recorded(request, item, &entry)?)
    }
}

/// The host's `upstream` import.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostApi;

impl RecordedSend for HostApi {
    fn send_recorded(
        &self,
        request: ApiRequest,
        item: &str,
        entry: &str,
    ) -> Result<ApiResponse, UpstreamError> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::openphone::mcp::upstream::send_recorded(&request, item, entry);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = (request, item, entry);
            Err(UpstreamError::Unavailable(
                "no host outside the sandbox".into(),
            ))
        }
    }
}

impl Api for HostApi {
    fn send(&self, request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::openphone::mcp::upstream::send(&request);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = request;
            Err(UpstreamError::Unavailable(
                "no host outside the sandbox".into(),
            ))
        }
    }
}

/// Why an API call did not produce the expected data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No answer (see [`UpstreamError`]).
    #[error("{}", explain_upstream(.0))]
    Upstream(#[from] UpstreamError),
    /// The API answered with a non-2xx status.
    #[error("{}", .0.explain())]
    Status(StatusError),
    /// A 2xx answer whose body was not what the API documents.
    #[error("OpenPhone sent an answer this tool could not read: {0}")]
    Decode(String),
}

impl ApiError {
    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status(s) => Some(s.status),
            _ => None,
        }
    }

    /// The API's 7-digit error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Status(s) => s.code.as_deref(),
            _ => None,
        }
    }
}

/// A message a model can act on for an [`UpstreamError`].
pub fn explain_upstream(error: &UpstreamError) -> String {
    match error {
        UpstreamError::InvalidRequest(m) => format!("the request was not sent: {m}"),
        UpstreamError::RateLimited => {
            "OpenPhone is rate-limiting this account (10 requests per second). Wait a moment and try again.".into()
        }
        UpstreamError::Timeout => "OpenPhone did not answer in time.".into(),
        UpstreamError::Unavailable(m) => format!("OpenPhone is unavailable: {m}"),
        UpstreamError::BudgetExhausted => "This call made as many OpenPhone requests as one call may.".into(),
    }
}

/// A non-2xx answer, with what the API said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusError {
    pub status: u16,
    /// 7-digit code (resource + HTTP status), e.g. `0206400`.
    pub code: Option<String>,
    /// The API's message (possibly with per-field details), shortened.
    pub message: Option<String>,
}

impl StatusError {
    /// Reads either documented error shape: `{message, code, errors?}` or
    /// `{error: {message, key}}`.
    fn from_response(status: u16, body: &str) -> Self {
        let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let inner = value
            .get("error")
            .filter(|e| e.is_object())
            .unwrap_or(&value);
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
        let mut message = text(inner.get("message")).or_else(|| text(inner.get("title")));
        if let Some(errors) = inner.get("errors").and_then(|e| e.as_array()) {
            let details: Vec<String> = errors
                .iter()
                .filter_map(|e| {
                    let msg = e.get("message")?.as_str()?;
                    Some(match e.get("path").and_then(|p| p.as_str()) {
                        Some(path) if !path.is_empty() => format!("{path}: {msg}"),
                        _ => msg.to_owned(),
                    })
                })
                .collect();
            if !details.is_empty() {
                message = Some(format!(
                    "{} ({})",
                    message.unwrap_or_default(),
                    details.join("; ")
                ));
            }
        }
        let code = text(inner.get("code")).or_else(|| text(inner.get("key")));
        StatusError {
            status,
            code,
            message: message.map(|m| shorten(m.trim(), MAX_QUOTED)),
        }
    }

    /// A message a model can act on.
    pub fn explain(&self) -> String {
        let said = match &self.message {
            Some(m) if !m.is_empty() => format!(" OpenPhone said: {m}"),
            _ => String::new(),
        };
        let code = self
            .code
            .as_deref()
            .map(|c| format!(" [code {c}]"))
            .unwrap_or_default();
        let what = match self.status {
            400 => "OpenPhone rejected the request as invalid (400).",
            401 => {
                "OpenPhone rejected the API key (401): it is wrong, revoked or expired. Reconnect with a valid key."
            }
            402 => {
                "The OpenPhone workspace does not have enough credits (402). Add credits in OpenPhone billing, then try again."
            }
            403 => {
                "OpenPhone refused this for the connected user (403): the user or plan does not allow it."
            }
            404 => "OpenPhone found no such resource (404). Check the id or phone number.",
            409 => "OpenPhone reported a conflict (409).",
            429 => {
                "OpenPhone is rate-limiting this account (429, 10 requests per second). Wait a moment and try again."
            }
            // Only writes see a 5xx here (the host retries reads), and a write
            // may have been carried out before the error: the tool says what
            // that means, so no advice to retry.
            500..=599 => {
                return format!(
                    "OpenPhone had a server error ({}).{said}{code}",
                    self.status
                );
            }
            _ => "OpenPhone answered with an unexpected status.",
        };
        format!("{what}{said}{code}")
    }
}

fn decode<T: DeserializeOwned>(response: ApiResponse) -> Result<T, ApiError> {
    if !(200..300).contains(&response.status) {
        return Err(ApiError::Status(StatusError::from_response(
            response.status,
            &response.body,
        )));
    }
    serde_json::from_str(&response.body)
        .map_err(|e| ApiError::Decode(shorten(&e.to_string(), MAX_QUOTED)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Canned(RefCell<Vec<ApiRequest>>, u16, &'static str);

    impl Api for Canned {
        fn send(&self, request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
            self.0.borrow_mut().push(request);
            Ok(ApiResponse {
                status: self.1,
                body: self.2.to_owned(),
            })
        }
    }

    #[test]
    fn decodes_success() {
        let api = Canned(RefCell::default(), 200, r#"{"data":[1,2]}"#);
        let v: serde_json::Value = api.get("/phone-numbers", &[("userId", "US1")]).unwrap();
        assert_eq!(v["data"][1], 2);
        let sent = api.0.borrow();
        assert_eq!(sent[0].method, Method::Get);
        assert_eq!(sent[0].query, vec![("userId".to_owned(), "US1".to_owned())]);
    }

    #[test]
    fn reads_the_spec_error_shape() {
        let api = Canned(
            RefCell::default(),
            400,
            r#"{"message":"A2P Registration Not Approved","code":"0206400","status":400,"errors":[{"path":"to","message":"bad"}]}"#,
        );
        let err = api
            .post::<_, serde_json::Value>("/messages", &serde_json::json!({}))
            .unwrap_err();
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.code(), Some("0206400"));
        let msg = err.to_string();
        assert!(
            msg.contains("A2P Registration Not Approved (to: bad)"),
            "{msg}"
        );
        assert!(msg.contains("[code 0206400]"), "{msg}");
    }

    #[test]
    fn reads_the_observed_error_shape() {
        let api = Canned(
            RefCell::default(),
            402,
            r#"{"error":{"message":"Not Enough Credits","key":"0200402","trace":"t"}}"#,
        );
        let err = api.get::<serde_json::Value>("/x", &[]).unwrap_err();
        assert_eq!(err.code(), Some("0200402"));
        assert!(err.to_string().contains("enough credits"), "{err}");
    }

    #[test]
    fn survives_garbage_and_long_bodies() {
        let api = Canned(RefCell::default(), 503, "<html>oops</html>");
        assert!(
            api.get::<serde_json::Value>("/x", &[])
                .unwrap_err()
                .to_string()
                .contains("server error")
        );
        let long: &'static str =
            Box::leak(format!(r#"{{"message":"{}"}}"#, "y".repeat(5000)).into_boxed_str());
        let api = Canned(RefCell::default(), 400, long);
        assert!(
            api.get::<serde_json::Value>("/x", &[])
                .unwrap_err()
                .to_string()
                .len()
                < 600
        );
    }

    #[test]
    fn bad_success_body_is_a_decode_error() {
        let api = Canned(RefCell::default(), 200, "not json");
        assert!(matches!(
            api.get::<serde_json::Value>("/x", &[]),
            Err(ApiError::Decode(_))
        ));
    }
}
