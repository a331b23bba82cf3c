//! `/mcp`: POST carries one JSON-RPC message (or a batch under 2025-03-26);
//! a request is answered with JSON, or with an SSE stream when a
//! `tools/call` asked for progress; notifications get `202`. GET offers no
//! stream; DELETE ends the caller's session.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use openphone_mcp_protocol::http as rules;
use openphone_mcp_protocol::{Incoming, Message, Session, jsonrpc, version};
use serde_json::Value;
use tokio::sync::mpsc;

use super::extract::{PostHeaders, Sender};
use super::http::{HttpState, internal, reject};
use super::request_id::RequestId;
use super::session::{self, NamedSession, OwnedSession};
use crate::access::Authorized;
use crate::app::{App, Requester, busy_retry_after};
use tracing::Instrument as _;

/// The server offers no stream outside a request.
pub(crate) async fn mcp_get() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST, DELETE")],
    )
        .into_response()
}

/// Ends the caller's own session.
pub(crate) async fn mcp_delete(
    State(state): State<Arc<HttpState>>,
    authorized: Authorized,
    named: NamedSession,
) -> Response {
    let owned = match named.required() {
        Ok(owned) => owned,
        Err(response) => return response,
    };
    match session::remove(state.app.store(), &authorized.caller.subject, &owned.id) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => session::unknown(),
        Err(error) => internal(error),
    }
}

pub(crate) async fn mcp_post(
    State(state): State<Arc<HttpState>>,
    sender: Sender,
    post: PostHeaders,
    authorized: Authorized,
    named: NamedSession,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let exchange = match Exchange::open(&body, named, &headers) {
        Ok(exchange) => exchange,
        Err(response) => return response,
    };
    // A tool outside the grant's scopes is refused before anything runs.
    let refused = (exchange.messages.iter())
        .filter_map(|message| state.app.scope_needed(message))
        .find(|scope| !authorized.allows(scope));
    if let Some(scope) = refused {
        return state.access.insufficient_scope(scope);
    }
    let requester = RequesterParts {
        authorized,
        session_key: (exchange.loaded.as_ref())
            .map(|loaded| session::key(&loaded.id))
            .unwrap_or_default(),
        user_agent: post.user_agent,
        request_id: sender.request_id,
        client_address: sender.address.0.to_string(),
    };
    if !exchange.messages.iter().any(Message::expects_reply) {
        return accept_notifications(&state, exchange, requester).await;
    }
    if !exchange.batch && App::wants_progress(&exchange.messages[0]) {
        return stream_call(state, exchange, requester);
    }
    answer(state, exchange, requester).await
}

/// One POST's messages and the session they belong to.
struct Exchange {
    session: Session,
    /// The session as loaded; `None` for an `initialize`, which makes one.
    loaded: Option<OwnedSession>,
    is_initialize: bool,
    batch: bool,
    messages: Vec<Message>,
}

impl Exchange {
    /// Parses the body and resolves its session: a new one for
    /// `initialize`, else the caller's named one.
    // The error is the answer itself, as axum rejections are.
    #[allow(clippy::result_large_err)]
    fn open(body: &[u8], named: NamedSession, headers: &HeaderMap) -> Result<Self, Response> {
        let incoming = jsonrpc::parse(body).map_err(bad_message)?;
        let is_initialize =
            matches!(&incoming, Incoming::Single(m) if m.method() == Some("initialize"));
        let (session, loaded) = if is_initialize {
            (Session::default(), None)
        } else {
            let owned = named.required()?;
            (owned.session.clone(), Some(owned))
        };
        let negotiated = session.protocol_version().map(str::to_owned);
        if !is_initialize {
            rules::check_protocol_version(headers, negotiated.as_deref()).map_err(reject)?;
        }
        // The batch rules depend on the negotiated version (2025-03-26 only,
        // and no `initialize` inside), which is known only now.
        let incoming = if incoming.is_batch() {
            let version = negotiated.as_deref().unwrap_or(version::LATEST);
            jsonrpc::parse_with_version(body, version).map_err(bad_message)?
        } else {
            incoming
        };
        Ok(Exchange {
            session,
            loaded,
            is_initialize,
            batch: incoming.is_batch(),
            messages: incoming.into_messages(),
        })
    }
}

fn bad_message(invalid: jsonrpc::InvalidMessage) -> Response {
    (StatusCode::BAD_REQUEST, Json(invalid.response())).into_response()
}

/// Notifications and responses only: handled, then `202`.
async fn accept_notifications(
    state: &HttpState,
    exchange: Exchange,
    requester: RequesterParts,
) -> Response {
    let Exchange {
        mut session,
        loaded,
        messages,
        ..
    } = exchange;
    for message in messages {
        state
            .app
            .handle(&mut session, message, requester.view(), None)
            .await;
    }
    if let Some(loaded) = &loaded
        && let Err(error) =
            session::save_if_changed(state.app.store(), loaded, &session, requester.subject())
    {
        return internal(error);
    }
    StatusCode::ACCEPTED.into_response()
}

/// Requests answered with JSON: one reply, or an array for a batch.
async fn answer(state: Arc<HttpState>, exchange: Exchange, requester: RequesterParts) -> Response {
    let Exchange {
        mut session,
        loaded,
        is_initialize,
        batch,
        messages,
    } = exchange;
    if let ([message], false, Some(loaded)) = (messages.as_slice(), batch, &loaded)
        && let Some(body) = state.app.list_reply(&session, message, &requester.view())
    {
        return json_bytes(body, &loaded.id);
    }
    // Handled in a task of its own: a client that goes away mid-call does
    // not cut the call off; its outcome is still recorded for a retry.
    let task_state = Arc::clone(&state);
    let handled = tokio::spawn(
        async move {
            let mut replies = Vec::new();
            for message in messages {
                let reply = (task_state.app)
                    .handle(&mut session, message, requester.view(), None)
                    .await;
                replies.extend(reply);
            }
            (session, replies, requester)
        }
        .instrument(tracing::Span::current()),
    );
    let (session, mut replies, requester) = match handled.await {
        Ok(done) => done,
        Err(error) => return internal(anyhow::anyhow!("handling the request failed: {error}")),
    };
    let mut session_id = loaded.as_ref().map(|loaded| loaded.id.clone());
    let saved = match &loaded {
        Some(loaded) => {
            session::save_if_changed(state.app.store(), loaded, &session, requester.subject())
        }
        None if is_initialize && session.is_negotiated() => {
            let id = session::new_id();
            let created = session::create(state.app.store(), &id, &session, requester.subject());
            session_id = Some(id);
            created
        }
        None => Ok(()),
    };
    if let Err(error) = saved {
        return internal(error);
    }
    let body = if batch {
        Value::Array(replies)
    } else {
        replies.pop().unwrap_or(Value::Null)
    };
    // A call refused for capacity is a 503 the client may retry.
    let busy = (!batch).then(|| busy_retry_after(&body)).flatten();
    let mut response = Json(body).into_response();
    if let Some(seconds) = busy {
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(value) = session_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        (response.headers_mut()).insert(rules::session_id_header_name(), value);
    }
    response
}

/// `200` with a JSON body already serialized, in session `id`.
fn json_bytes(body: Vec<u8>, id: &str) -> Response {
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(id) {
        (response.headers_mut()).insert(rules::session_id_header_name(), value);
    }
    response
}

/// Answers a `tools/call` that asked for progress as an SSE stream: progress
/// notifications while it runs, then the result.
fn stream_call(state: Arc<HttpState>, exchange: Exchange, requester: RequesterParts) -> Response {
    let Exchange {
        mut session,
        loaded,
        messages,
        ..
    } = exchange;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<Value>();
    tokio::spawn(
        async move {
            for message in messages {
                let reply = (state.app)
                    .handle(&mut session, message, requester.view(), Some(&events_tx))
                    .await;
                if let Some(reply) = reply {
                    let _ = events_tx.send(reply);
                }
            }
            if let Some(loaded) = &loaded
                && let Err(error) = session::save_if_changed(
                    state.app.store(),
                    loaded,
                    &session,
                    requester.subject(),
                )
            {
                tracing::error!(error = %error, "saving the session failed");
            }
        }
        .instrument(tracing::Span::current()),
    );
    let stream = futures::stream::poll_fn(move |cx| events_rx.poll_recv(cx)).map(|event| {
        Ok::<_, std::convert::Infallible>(Bytes::from(rules::sse_event(&event, None)))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// What a request says about its sender, owned so a task can keep it.
struct RequesterParts {
    authorized: Authorized,
    session_key: String,
    user_agent: Option<String>,
    request_id: RequestId,
    client_address: String,
}

impl RequesterParts {
    fn view(&self) -> Requester<'_> {
        Requester {
            caller: &self.authorized.caller,
            scopes: self.authorized.scopes.as_deref(),
            session_key: &self.session_key,
            user_agent: self.user_agent.as_deref(),
            request_id: self.request_id.as_str(),
            client_address: Some(&self.client_address),
        }
    }

    fn subject(&self) -> &str {
        &self.authorized.caller.subject
    }
}
