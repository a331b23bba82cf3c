//! Request ids: every HTTP request gets one — the client's or a proxy's
//! `X-Request-ID` when it is well-formed, else a fresh UUID — which is sent
//! back and carried by every log line written while serving the request
//! (the `request` span: transport, tool call, guest and auth component
//! lines, upstream requests), so one id finds one request's whole story.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The header an id arrives and leaves in.
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id kept.
const MAX_LEN: usize = 128;

/// A request's id: 1 to 128 characters, letters, digits and `-_.:/+=@`, so
/// that it can never break a log line or a header, nor smuggle text in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(String);

impl RequestId {
    /// The id a client sent, if it is well-formed.
    pub(crate) fn parse(sent: &[u8]) -> Option<RequestId> {
        let well_formed = (1..=MAX_LEN).contains(&sent.len())
            && sent
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b));
        well_formed.then(|| RequestId(String::from_utf8_lossy(sent).into_owned()))
    }

    /// A fresh id.
    pub(crate) fn generate() -> RequestId {
        RequestId(uuid::Uuid::new_v4().to_string())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Gives the request its id (in its extensions and header), serves it
/// inside a `request` span carrying the id, and returns the id.
pub(crate) async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|sent| RequestId::parse(sent.as_bytes()))
        .unwrap_or_else(RequestId::generate);
    let header = HeaderValue::from_str(id.as_str()).ok();
    if let Some(value) = &header {
        request
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), value.clone());
    }
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span).await;
    if let Some(value) = header {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_kept_and_others_refused() {
        for kept in [
            "3f1c2a9e-8f0b-4c1e-9a77-1b2c3d4e5f60",
            "req_01HZX3",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "a",
        ] {
            assert_eq!(
                RequestId::parse(kept.as_bytes()).map(|id| id.0),
                Some(kept.to_owned())
            );
        }
        let long = "a".repeat(MAX_LEN + 1);
        for refused in [
            "",
            long.as_str(),
            "has space",
            "line\nbreak",
            "quote\"",
            "semi;colon",
            "ünïcode",
            "{\"json\":1}",
        ] {
            assert_eq!(RequestId::parse(refused.as_bytes()), None, "{refused:?}");
        }
        assert_eq!(RequestId::parse(b"\xff\xfe"), None);
    }

    #[test]
    fn generated_ids_are_well_formed_and_distinct() {
        let (a, b) = (RequestId::generate(), RequestId::generate());
        assert_ne!(a, b);
        assert_eq!(RequestId::parse(a.as_str().as_bytes()), Some(a));
    }
}
