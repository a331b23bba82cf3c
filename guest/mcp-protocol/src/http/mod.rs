//! Streamable HTTP transport rules as pure checks over request headers.
//!
//! Each check returns `Ok` or a [`Rejection`]: the HTTP status and a
//! JSON-RPC error body (id `null`) saying exactly what was wrong. The host
//! runs them before handing the body to [`crate::jsonrpc`]; a suggested
//! order for `POST` is [`check_host`], [`check_origin`], [`check_method`],
//! [`check_post_accept`], [`check_content_type`], then
//! [`check_protocol_version`] once the session (if any) is known.

mod accept;
mod bearer;
mod origin;
mod sse;

use http::header::{CONTENT_TYPE, HeaderName};
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;

use crate::jsonrpc;
use crate::version;

pub use bearer::{
    TOKEN_REQUIRED, bearer_token, resource_metadata_url, scope_challenge, scope_required,
    token_challenge,
};
pub use origin::{HostPolicy, OriginPolicy, check_host, check_host_value, check_origin};
pub use sse::sse_event;

/// The session id header (spec spelling `Mcp-Session-Id`; header names are
/// case-insensitive, `http` wants lowercase).
pub const SESSION_ID_HEADER: &str = "mcp-session-id";

/// The negotiated protocol version header (spec spelling
/// `MCP-Protocol-Version`), required on requests after `initialize` since
/// 2025-06-18.
pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// JSON-RPC error code used in rejection bodies. The request never reached
/// JSON-RPC processing, so none of the -32700..-32603 codes apply; -32000 is
/// the first implementation-defined server error and is what the reference
/// TypeScript SDK sends for transport-level rejections.
pub const REJECTION_CODE: i32 = -32000;

/// A request refused at the HTTP layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// HTTP status: 400, 403, 405, 406 or 415.
    pub status: u16,
    /// `{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":...}}`.
    pub body: Value,
}

impl Rejection {
    /// A rejection with `status` and a message prefixed with the status'
    /// reason phrase (e.g. `Forbidden: ...`).
    pub fn new(status: StatusCode, detail: impl std::fmt::Display) -> Self {
        let reason = status.canonical_reason().unwrap_or("Error");
        Self {
            status: status.as_u16(),
            body: jsonrpc::error_response_with(
                None,
                rmcp::model::ErrorCode(REJECTION_CODE),
                format!("{reason}: {detail}"),
            ),
        }
    }

    fn bad_request(detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    fn forbidden(detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// `status` as an [`http::StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    /// The error message in the body.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
}

/// The one value of header `name`: `Ok(None)` when absent; `Err` naming the
/// problem when it is repeated or not visible ASCII.
fn single_header(
    headers: &HeaderMap,
    name: impl http::header::AsHeaderName,
) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("repeated");
    }
    first.to_str().map(Some).map_err(|_| "unreadable")
}

/// Only `allowed` methods are served → else 405 naming them (the host
/// should also send `Allow`). Streamable HTTP servers that offer no
/// server-initiated SSE stream answer `GET` with 405.
pub fn check_method(method: &Method, allowed: &[Method]) -> Result<(), Rejection> {
    if allowed.contains(method) {
        return Ok(());
    }
    let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    Err(Rejection::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not supported (allowed: {})", list.join(", ")),
    ))
}

/// A `POST` must accept both `application/json` and `text/event-stream`
/// (wildcards count; `q=0` means not acceptable) → else 406.
pub fn check_post_accept(headers: &HeaderMap) -> Result<(), Rejection> {
    if accept::accepts_all(headers, &["application/json", "text/event-stream"]) {
        Ok(())
    } else {
        Err(Rejection::new(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must include application/json and text/event-stream",
        ))
    }
}

/// A `POST` body must be `application/json` (parameters such as `charset`
/// allowed; compared case-insensitively) → else 415.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), Rejection> {
    let essence = single_header(headers, CONTENT_TYPE)
        .ok()
        .flatten()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if essence.is_some_and(|e| e.eq_ignore_ascii_case("application/json")) {
        Ok(())
    } else {
        Err(Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ))
    }
}

/// The protocol version a request is to be served under.
///
/// * header absent → `negotiated` when known, else 2025-03-26 (the spec's
///   backwards-compatibility default);
/// * header repeated, unreadable or naming a version we do not support →
///   400;
/// * header differing from `negotiated` → 400.
pub fn check_protocol_version(
    headers: &HeaderMap,
    negotiated: Option<&str>,
) -> Result<String, Rejection> {
    let header = single_header(headers, PROTOCOL_VERSION_HEADER).map_err(|problem| {
        Rejection::bad_request(format!("{problem} MCP-Protocol-Version header"))
    })?;
    let Some(header) = header.map(str::trim) else {
        return Ok(negotiated.unwrap_or(version::HTTP_DEFAULT).to_owned());
    };
    if version::supported(header).is_none() {
        return Err(Rejection::bad_request(format!(
            "Unsupported MCP-Protocol-Version: {header} (supported: {})",
            version::SUPPORTED.join(", ")
        )));
    }
    match negotiated {
        Some(negotiated) if negotiated != header => Err(Rejection::bad_request(format!(
            "MCP-Protocol-Version {header} does not match the negotiated version {negotiated}"
        ))),
        _ => Ok(header.to_owned()),
    }
}

/// Whether `id` is a usable session id: non-empty visible ASCII
/// (0x21..=0x7E), as the spec requires, at most 256 bytes.
pub fn is_valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The `Mcp-Session-Id` header: `Ok(None)` when absent, 400 when repeated or
/// not a valid id (see [`is_valid_session_id`]). Whether the id is known is
/// the host's business (unknown → 404 per spec).
pub fn session_id(headers: &HeaderMap) -> Result<Option<&str>, Rejection> {
    let header = single_header(headers, SESSION_ID_HEADER)
        .map_err(|problem| Rejection::bad_request(format!("{problem} Mcp-Session-Id header")))?;
    match header {
        Some(id) if !is_valid_session_id(id) => {
            Err(Rejection::bad_request("malformed Mcp-Session-Id header"))
        }
        other => Ok(other),
    }
}

/// `HeaderName` for [`SESSION_ID_HEADER`].
pub fn session_id_header_name() -> HeaderName {
    HeaderName::from_static(SESSION_ID_HEADER)
}

/// `HeaderName` for [`PROTOCOL_VERSION_HEADER`].
pub fn protocol_version_header_name() -> HeaderName {
    HeaderName::from_static(PROTOCOL_VERSION_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
                HeaderValue::from_str(value).expect("valid value"),
            );
        }
        h
    }

    fn status<T>(r: Result<T, Rejection>) -> u16 {
        r.err().map_or(200, |e| e.status)
    }

    #[test]
    fn accept_pass_and_fail() {
        for ok in [
            "application/json, text/event-stream",
            "text/event-stream, application/json;q=0.9",
            "*/*",
            "application/*, text/*",
            "application/json, text/*;q=0.1",
            "APPLICATION/JSON, Text/Event-Stream",
        ] {
            assert_eq!(
                status(check_post_accept(&headers(&[("accept", ok)]))),
                200,
                "{ok}"
            );
        }
        for bad in [
            "application/json",
            "text/event-stream",
            "application/json, text/event-stream;q=0",
            "*/*, application/json;q=0",
            "text/html",
            "",
        ] {
            assert_eq!(
                status(check_post_accept(&headers(&[("accept", bad)]))),
                406,
                "{bad}"
            );
        }
        let e = check_post_accept(&HeaderMap::new()).expect_err("no Accept");
        assert_eq!(e.status, 406);
        assert_eq!(
            e.message(),
            "Not Acceptable: Accept must include application/json and text/event-stream"
        );
        assert_eq!(e.body["id"], Value::Null);
        assert_eq!(e.body["jsonrpc"], "2.0");
        assert_eq!(e.body["error"]["code"], REJECTION_CODE);
        assert_eq!(e.status_code(), StatusCode::NOT_ACCEPTABLE);
        // Split over two header lines.
        let h = headers(&[
            ("accept", "application/json"),
            ("accept", "text/event-stream"),
        ]);
        assert_eq!(status(check_post_accept(&h)), 200);
    }

    #[test]
    fn content_type_pass_and_fail() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            assert_eq!(
                status(check_content_type(&headers(&[("content-type", ok)]))),
                200,
                "{ok}"
            );
        }
        for bad in [
            "text/plain",
            "application/json-seq",
            "application/jsonx",
            "json",
            "",
        ] {
            assert_eq!(
                status(check_content_type(&headers(&[("content-type", bad)]))),
                415,
                "{bad}"
            );
        }
        let e = check_content_type(&HeaderMap::new()).expect_err("no Content-Type");
        assert_eq!(e.status, 415);
        assert_eq!(
            e.message(),
            "Unsupported Media Type: Content-Type must be application/json"
        );
    }

    #[test]
    fn protocol_version_header() {
        let none = HeaderMap::new();
        assert_eq!(
            check_protocol_version(&none, None),
            Ok("2025-03-26".to_owned())
        );
        assert_eq!(
            check_protocol_version(&none, Some("2025-11-25")),
            Ok("2025-11-25".to_owned())
        );

        let h = headers(&[("mcp-protocol-version", "2025-06-18")]);
        assert_eq!(
            check_protocol_version(&h, None),
            Ok("2025-06-18".to_owned())
        );
        assert_eq!(
            check_protocol_version(&h, Some("2025-06-18")),
            Ok("2025-06-18".to_owned())
        );
        let e = check_protocol_version(&h, Some("2025-11-25")).expect_err("mismatch");
        assert_eq!(e.status, 400);
        assert!(
            e.message()
                .contains("does not match the negotiated version 2025-11-25")
        );

        let h = headers(&[("MCP-Protocol-Version", "2024-11-05")]);
        let e = check_protocol_version(&h, None).expect_err("unsupported");
        assert_eq!(e.status, 400);
        assert!(
            e.message()
                .starts_with("Bad Request: Unsupported MCP-Protocol-Version: 2024-11-05")
        );
        assert_eq!(
            status(check_protocol_version(
                &headers(&[("mcp-protocol-version", "x")]),
                None
            )),
            400
        );

        let twice = headers(&[
            ("mcp-protocol-version", "2025-06-18"),
            ("mcp-protocol-version", "2025-06-18"),
        ]);
        assert_eq!(status(check_protocol_version(&twice, None)), 400);
    }

    #[test]
    fn method_check() {
        assert_eq!(
            status(check_method(&Method::POST, &[Method::POST, Method::DELETE])),
            200
        );
        let e = check_method(&Method::GET, &[Method::POST]).expect_err("GET");
        assert_eq!(e.status, 405);
        assert_eq!(
            e.message(),
            "Method Not Allowed: GET is not supported (allowed: POST)"
        );
    }

    #[test]
    fn session_id_header() {
        assert_eq!(session_id(&HeaderMap::new()), Ok(None));
        assert_eq!(
            session_id(&headers(&[("mcp-session-id", "abc-123")])),
            Ok(Some("abc-123"))
        );
        assert_eq!(
            status(session_id(&headers(&[("mcp-session-id", "a b")]))),
            400
        );
        assert_eq!(status(session_id(&headers(&[("mcp-session-id", "")]))), 400);
        let twice = headers(&[("mcp-session-id", "a"), ("mcp-session-id", "b")]);
        assert_eq!(status(session_id(&twice)), 400);
        assert!(!is_valid_session_id(&"x".repeat(257)));
        assert_eq!(session_id_header_name().as_str(), SESSION_ID_HEADER);
        assert_eq!(
            protocol_version_header_name().as_str(),
            PROTOCOL_VERSION_HEADER
        );
    }
}
