//! One HTTP exchange over `wasi:http/outgoing-handler`, with the native
//! host's limits: 10 s to connect, 20 s to the first byte and between
//! bytes, answers up to 8 MiB.

use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest, RequestOptions,
    Scheme,
};
use crate::bindings::wasi::io0_2_6::streams::StreamError;
use crate::request::{self, Target};

const CONNECT_TIMEOUT_NS: u64 = 10_000_000_000;
const READ_TIMEOUT_NS: u64 = 20_000_000_000;
const MAX_BODY: usize = 8 << 20;
/// `blocking-write-and-flush` takes at most 4096 bytes per call.
const WRITE_CHUNK: usize = 4096;

/// Why no answer was obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// No answer in time.
    #[error("no answer in time")]
    Timeout,
    /// The host refused the destination (Spin: not in `allowed_outbound_hosts`).
    #[error("the host does not allow this destination")]
    Denied,
    /// The connection failed or the answer was unusable.
    #[error("{0}")]
    Connection(String),
}

/// An answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// HTTP methods this client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

/// Sends one request and reads the whole answer.
pub fn exchange(
    verb: Verb,
    target: &Target,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Answer, Failure> {
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name, value.as_bytes())
            .map_err(|e| Failure::Connection(format!("header {name} refused: {e:?}")))?;
    }
    let request = OutgoingRequest::new(fields);
    let method = match verb {
        Verb::Get => Method::Get,
        Verb::Post => Method::Post,
        Verb::Patch => Method::Patch,
        Verb::Delete => Method::Delete,
    };
    let scheme = match target.scheme {
        request::Scheme::Http => Scheme::Http,
        request::Scheme::Https => Scheme::Https,
    };
    let refused = |what: &str| Failure::Connection(format!("the host refused the request {what}"));
    request
        .set_method(&method)
        .map_err(|()| refused("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| refused("scheme"))?;
    request
        .set_authority(Some(&target.authority))
        .map_err(|()| refused("authority"))?;
    request
        .set_path_with_query(Some(&target.path_with_query))
        .map_err(|()| refused("path"))?;
    let outgoing = request.body().map_err(|()| refused("body"))?;
    if let Some(body) = body {
        let stream = outgoing.write().map_err(|()| refused("body stream"))?;
        for chunk in body.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| Failure::Connection(format!("sending the body failed: {e:?}")))?;
        }
    }
    let options = RequestOptions::new();
    // A host that does not support a timeout answers `Err`; its own apply.
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT_NS));
    let _ = options.set_first_byte_timeout(Some(READ_TIMEOUT_NS));
    let _ = options.set_between_bytes_timeout(Some(READ_TIMEOUT_NS));
    let pending = outgoing_handler::handle(request, Some(options)).map_err(classify)?;
    OutgoingBody::finish(outgoing, None).map_err(classify)?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(classify(code)),
        Some(Err(())) | None => return Err(Failure::Connection("the answer was lost".into())),
    };
    read(response)
}

fn read(response: IncomingResponse) -> Result<Answer, Failure> {
    let status = response.status();
    let body = response
        .consume()
        .map_err(|()| Failure::Connection("the answer has no body".into()))?;
    let stream = body
        .stream()
        .map_err(|()| Failure::Connection("the answer's body could not be read".into()))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                if bytes.len() + chunk.len() > MAX_BODY {
                    return Err(Failure::Connection(
                        "OpenPhone sent an answer larger than 8 MiB".into(),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(Failure::Connection(format!(
                    "reading the answer failed: {}",
                    e.to_debug_string()
                )));
            }
        }
    }
    Ok(Answer {
        status,
        body: bytes,
    })
}

fn classify(code: ErrorCode) -> Failure {
    match code {
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout => Failure::Timeout,
        ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited => Failure::Denied,
        other => Failure::Connection(format!("{other:?}")),
    }
}
