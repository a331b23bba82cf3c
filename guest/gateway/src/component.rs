//! The component: `wasi:http` in and out, and the [`Backend`] over the
//! composition's imports (the broker, the auth component and the five
//! tools).

use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use openphone_gateway_bindings::exports::wasi::http::incoming_handler::Guest;
use openphone_gateway_bindings::openphone::mcp::admin;
use openphone_gateway_bindings::openphone::mcp::authorization_server as auth;
use openphone_gateway_bindings::openphone::mcp::broker::{
    self, BrokerError, ClaimDecision, ClaimKey as BrokerClaimKey, Mode as BrokerMode, SweepTurn,
};
use openphone_gateway_bindings::openphone::mcp::log::{self, Level};
use openphone_gateway_bindings::openphone::mcp::types::{
    CallContext, HttpRequest, Principal, TokenError, ToolDescriptor, ToolError, ToolOutput,
};
use openphone_gateway_bindings::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use openphone_gateway_bindings::wasi::io0_2_6::streams::StreamError;
use openphone_gateway_bindings::{
    bulk_messages, create_contact, fetch_call_transcripts, fetch_messages, send_message,
};
use openphone_mcp_protocol::http::Rejection;
use openphone_mcp_protocol::profiles;

use crate::routes::MAX_BODY;
use crate::{Backend, CallRefusal, Claim, ClaimKey, Gateway, Mode, Reply, Request, Settings};

/// `blocking-write-and-flush` takes at most 4096 bytes per call.
const WRITE_CHUNK: usize = 4096;

struct Component;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let reply = match read(&request) {
            Ok(request) => {
                let reply = Gateway::new().handle(&Composed, &request);
                log::write(
                    if reply.status >= 500 {
                        Level::Warn
                    } else {
                        Level::Info
                    },
                    &format!("{} {} {}", request.method, request.path, reply.status),
                );
                reply
            }
            Err(reply) => reply,
        };
        respond(response_out, reply);
    }
}

openphone_gateway_bindings::export_gateway!(Component);

/// The request as plain values; `Err` is the answer (a body over 1 MiB).
// The error is the answer itself.
#[allow(clippy::result_large_err)]
fn read(request: &IncomingRequest) -> Result<Request, Reply> {
    let method = match request.method() {
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Delete => http::Method::DELETE,
        Method::Connect => http::Method::CONNECT,
        Method::Options => http::Method::OPTIONS,
        Method::Trace => http::Method::TRACE,
        Method::Patch => http::Method::PATCH,
        Method::Other(other) => {
            http::Method::from_bytes(other.as_bytes()).unwrap_or(http::Method::OPTIONS)
        }
    };
    let path_with_query = request.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match path_with_query.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (path_with_query, String::new()),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in request.headers().entries() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            headers.append(name, value);
        }
    }
    // Hosts pass `Host` as the request's authority.
    if !headers.contains_key(http::header::HOST)
        && let Some(value) = request
            .authority()
            .and_then(|a| HeaderValue::from_str(&a).ok())
    {
        headers.insert(http::header::HOST, value);
    }
    let too_large = || {
        Reply::rejected(&Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than 1 MiB",
        ))
    };
    let unreadable = || {
        Reply::rejected(&Rejection::new(
            StatusCode::BAD_REQUEST,
            "the body could not be read",
        ))
    };
    let body = request.consume().map_err(|()| unreadable())?;
    let stream = body.stream().map_err(|()| unreadable())?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                if bytes.len() + chunk.len() > MAX_BODY {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(_)) => return Err(unreadable()),
        }
    }
    Ok(Request {
        method,
        path,
        query,
        headers,
        body: bytes,
    })
}

fn respond(out: ResponseOutparam, reply: Reply) {
    let headers = Fields::new();
    for (name, value) in &reply.headers {
        // Our own header names and values: always valid.
        let _ = headers.append(name, value.as_bytes());
    }
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(reply.status);
    let Ok(body) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = body.write() {
        for chunk in reply.body.chunks(WRITE_CHUNK) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                // The client went away; nothing more to send.
                return;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}

/// The composition's imports.
struct Composed;

fn broker_key(key: ClaimKey<'_>) -> BrokerClaimKey {
    match key {
        ClaimKey::IdempotencyKey(k) => BrokerClaimKey::IdempotencyKey(k.to_owned()),
        ClaimKey::Request(k) => BrokerClaimKey::Request(k.to_owned()),
    }
}

fn message(error: BrokerError) -> String {
    match error {
        BrokerError::Misconfigured(m) | BrokerError::Unavailable(m) => m,
        BrokerError::NoKey => "the grant has no key".into(),
    }
}

impl Backend for Composed {
    fn settings(&self) -> Result<Settings, String> {
        let deployment = broker::settings().map_err(message)?;
        let mode = match deployment.mode {
            BrokerMode::SingleUser => Mode::SingleUser,
            BrokerMode::Oauth => Mode::OAuth,
        };
        let profiles = deployment
            .tool_profiles
            .as_deref()
            .map(profiles::parse_list)
            .transpose()
            .map_err(|e| format!("tool_profiles: {e}"))?
            .unwrap_or_default();
        Ok(Settings {
            mode,
            public_url: deployment.public_url,
            profiles,
        })
    }

    fn seal(&self, state: &str) -> Result<String, String> {
        broker::seal_session(state).map_err(message)
    }

    fn open(&self, id: &str) -> Option<String> {
        broker::open_session(id)
    }

    fn descriptors(&self) -> Vec<Vec<ToolDescriptor>> {
        vec![
            send_message::list(),
            bulk_messages::list(),
            fetch_messages::list(),
            fetch_call_transcripts::list(),
            create_contact::list(),
        ]
    }

    fn begin_call(
        &self,
        tool: &str,
        grant: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<(), CallRefusal> {
        broker::begin_call(tool, grant, idempotency_key).map_err(|e| match e {
            BrokerError::NoKey => CallRefusal::NoKey,
            other => CallRefusal::Failed(message(other)),
        })
    }

    fn call(
        &self,
        slot: usize,
        name: &str,
        arguments: &str,
        context: &CallContext,
    ) -> Result<ToolOutput, ToolError> {
        match slot {
            0 => send_message::call(name, arguments, context),
            1 => bulk_messages::call(name, arguments, context),
            2 => fetch_messages::call(name, arguments, context),
            3 => fetch_call_transcripts::call(name, arguments, context),
            4 => create_contact::call(name, arguments, context),
            _ => Err(ToolError::UnknownTool(name.to_owned())),
        }
    }

    fn claim(&self, key: ClaimKey<'_>, arguments: &str, resumable: bool) -> Result<Claim, String> {
        let decision = broker::claim(&broker_key(key), arguments, resumable).map_err(message)?;
        Ok(match decision {
            ClaimDecision::Run(resumed) => Claim::Run { resumed },
            ClaimDecision::Replay(recorded) => Claim::Replay(recorded),
            ClaimDecision::Busy => Claim::Busy,
            ClaimDecision::Conflict => Claim::Conflict,
            ClaimDecision::Interrupted => Claim::Interrupted,
            ClaimDecision::Unrecorded => Claim::Unrecorded,
        })
    }

    fn settle(&self, key: ClaimKey<'_>, outcome: Option<&str>) -> Result<(), String> {
        broker::settle(&broker_key(key), outcome).map_err(message)
    }

    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    }

    fn auth_routes(&self) -> Vec<String> {
        auth::routes()
    }

    fn auth_handle(&self, request: &Request) -> Reply {
        let answer = auth::handle(&HttpRequest {
            method: request.method.as_str().to_owned(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: (request.headers.iter())
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
            body: request.body.clone(),
        });
        Reply {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        }
    }

    fn verify(&self, bearer: &str, resource: &str) -> Result<Principal, TokenError> {
        auth::verify(bearer, resource)
    }

    fn after_auth_request(&self) {
        let cursor = match broker::sweep_due() {
            SweepTurn::NotDue => return,
            SweepTurn::FromStart => None,
            SweepTurn::Resume(cursor) => Some(cursor),
        };
        match admin::sweep(cursor.as_deref()) {
            Ok(progress) => {
                log::write(
                    Level::Info,
                    &format!(
                        "swept a page of OAuth records: {} expired removed",
                        progress.removed
                    ),
                );
                broker::sweep_done(progress.cursor.as_deref());
            }
            Err(message) => log::write(Level::Warn, &format!("the OAuth sweep failed: {message}")),
        }
    }
}
