//! Requests and replies as plain values, and which path goes where.

use http::{HeaderMap, Method, StatusCode};
use openphone_mcp_protocol::http::Rejection;
use serde_json::Value;

/// Largest request body read (as natively on `/mcp`).
pub const MAX_BODY: usize = 1 << 20;

/// One HTTP request, as the component received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The path without the query.
    pub path: String,
    /// The raw query, without `?` (empty when none).
    pub query: String,
    /// Header names lower case; `host` is the request's authority.
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// One HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// `status` with a JSON body.
    pub fn json(status: StatusCode, body: &Value) -> Self {
        Self {
            status: status.as_u16(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// `status` with no body.
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status: status.as_u16(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A transport-level refusal: its status and JSON-RPC error body.
    pub fn rejected(rejection: &Rejection) -> Self {
        Self::json(rejection.status_code(), &rejection.body)
    }

    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `name: value` in place of any `name` the reply has.
    #[must_use]
    pub fn with_only_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.with_header(name, value)
    }

    /// `name: value` unless the reply has a `name` already.
    #[must_use]
    pub fn with_default_header(self, name: &str, value: &str) -> Self {
        if self.header(name).is_some() {
            self
        } else {
            self.with_header(name, value)
        }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (for tests and logs).
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    Mcp,
    /// Any other path: the auth component's, if it is one of its routes.
    Other,
}

impl Route {
    pub fn of(path: &str) -> Self {
        match path {
            "/health" => Route::Health,
            "/mcp" => Route::Mcp,
            _ => Route::Other,
        }
    }
}
