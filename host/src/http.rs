//! Streamable HTTP transport (`serve`): `/mcp` plus health endpoints.
//!
//! Every `/mcp` request passes the Host and Origin checks (DNS-rebinding
//! protection) before anything else. POST carries one JSON-RPC message (or a
//! batch under 2025-03-26); a request is answered with JSON, or with an SSE
//! stream when a `tools/call` asked for progress; notifications get 202.
//! Sessions are created by `initialize`, named by `Mcp-Session-Id`, kept in
//! the store (so they survive a restart) and ended by DELETE. Browser
//! clients on allowed origins get CORS headers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt as _;
use openphone_mcp_protocol::http::{self as rules, HostPolicy, OriginPolicy, Rejection};
use openphone_mcp_protocol::{Incoming, Message, Session, jsonrpc, version};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::access::{Access, Authorized};
use crate::app::{App, Requester};
use crate::auth::AuthServer;
use crate::auth::wit::HttpRequest;
use crate::store::Table;

/// Largest request body accepted on `/mcp`.
const MAX_BODY: usize = 1 << 20;
/// How long an idle session is kept.
const SESSION_TTL_SECS: u64 = 24 * 3600;

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub origins: OriginPolicy,
    pub hosts: HostPolicy,
}

/// Shared state of the HTTP handlers.
#[derive(Debug)]
pub struct HttpState {
    pub app: Arc<App>,
    pub config: HttpConfig,
    /// Who requests act for: the local user, or OAuth grants.
    pub access: Access,
    /// The auth component, when serving OAuth: its routes are mounted.
    pub auth: Option<Arc<AuthServer>>,
}

/// What the store keeps per session.
#[derive(Debug, Serialize, Deserialize)]
struct StoredSession {
    session: Session,
    subject: String,
}

/// The router: `/mcp`, `/health`, `/ready`, `/`.
pub fn router(state: Arc<HttpState>) -> Router {
    let mcp = Router::new()
        .route("/mcp", get(mcp_get).post(mcp_post).delete(mcp_delete))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard));
    let mut oauth = Router::new();
    if let Some(auth) = &state.auth {
        for path in auth.routes() {
            oauth = oauth.route(path, get(auth_route).post(auth_route));
        }
        oauth = oauth.route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard));
    }
    Router::new()
        .merge(mcp)
        .merge(oauth)
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(|| async { "ready" }))
        .route("/", get(index))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // The consent page sets its own (`same-origin`, so its form's POST
        // carries an Origin the CSRF check can verify).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(cors(&state.config.origins))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    state: Arc<HttpState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// CORS for browser clients on allowed origins (the same policy as the
/// Origin check): the MCP headers may be sent, and `Mcp-Session-Id` read.
fn cors(policy: &OriginPolicy) -> CorsLayer {
    let policy = policy.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ORIGIN, origin.clone());
            rules::check_origin(&headers, &policy).is_ok()
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            rules::session_id_header_name(),
            rules::protocol_version_header_name(),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([rules::session_id_header_name()])
        .max_age(std::time::Duration::from_secs(600))
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        concat!(
            "openphone-mcp ",
            env!("CARGO_PKG_VERSION"),
            "\nMCP endpoint: POST /mcp (Streamable HTTP). Health: /health, /ready.\n"
        ),
    )
}

/// Host and Origin validation for `/mcp` (403 on failure).
async fn guard(State(state): State<Arc<HttpState>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if let Err(rejection) = rules::check_host(headers, &state.config.hosts) {
        tracing::warn!(
            status = rejection.status,
            "request refused: Host not allowed"
        );
        return reject(rejection);
    }
    if let Err(rejection) = rules::check_origin(headers, &state.config.origins) {
        tracing::warn!(
            status = rejection.status,
            "request refused: Origin not allowed"
        );
        return reject(rejection);
    }
    next.run(request).await
}

fn reject(rejection: Rejection) -> Response {
    let status = StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(rejection.body)).into_response()
}

/// The server offers no stream outside a request.
async fn mcp_get() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST, DELETE")],
    )
        .into_response()
}

/// The `Mcp-Session-Id` a request after `initialize` must carry (400 without).
fn required_session_id(headers: &HeaderMap) -> Result<&str, Rejection> {
    rules::session_id(headers)?
        .ok_or_else(|| Rejection::new(StatusCode::BAD_REQUEST, "Mcp-Session-Id header required"))
}

async fn mcp_delete(State(state): State<Arc<HttpState>>, headers: HeaderMap) -> Response {
    let authorized = match state.access.authorize(&headers).await {
        Ok(authorized) => authorized,
        Err(response) => return response,
    };
    let id = match required_session_id(&headers) {
        Ok(id) => id,
        Err(rejection) => return reject(rejection),
    };
    // Only the session's own user may end it.
    match load_session(&state, id) {
        Ok(Some(stored)) if stored.subject == authorized.caller.subject => {}
        Ok(_) => {
            return reject(Rejection::new(
                StatusCode::NOT_FOUND,
                "unknown or expired session",
            ));
        }
        Err(error) => return internal(error),
    }
    match state.app.store().remove(Table::Sessions, &session_key(id)) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => reject(Rejection::new(
            StatusCode::NOT_FOUND,
            "unknown or expired session",
        )),
        Err(error) => internal(error),
    }
}

/// Hands a request for an OAuth endpoint or page to the auth component.
async fn auth_route(
    State(state): State<Arc<HttpState>>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(auth) = &state.auth else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let request = HttpRequest {
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
    };
    let answer = match auth.handle(request).await {
        Ok(answer) => answer,
        Err(error) => return internal(error),
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Only the component's headers: a default Content-Type must not precede its own.
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = status;
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

async fn mcp_post(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(rejection) =
        rules::check_post_accept(&headers).and_then(|()| rules::check_content_type(&headers))
    {
        return reject(rejection);
    }
    let authorized = match state.access.authorize(&headers).await {
        Ok(authorized) => authorized,
        Err(response) => return response,
    };
    let incoming = match jsonrpc::parse(&body) {
        Ok(incoming) => incoming,
        Err(invalid) => return (StatusCode::BAD_REQUEST, Json(invalid.response())).into_response(),
    };
    let is_initialize =
        matches!(&incoming, Incoming::Single(m) if m.method() == Some("initialize"));

    // Resolve the session: a new one for `initialize`, else the named one.
    let (mut session, session_id) = if is_initialize {
        (Session::default(), None)
    } else {
        let id = match required_session_id(&headers) {
            Ok(id) => id.to_owned(),
            Err(rejection) => return reject(rejection),
        };
        match load_session(&state, &id) {
            Ok(Some(stored)) if stored.subject == authorized.caller.subject => {
                (stored.session, Some(id))
            }
            Ok(_) => {
                return reject(Rejection::new(
                    StatusCode::NOT_FOUND,
                    "unknown or expired session",
                ));
            }
            Err(error) => return internal(error),
        }
    };
    let negotiated = session.protocol_version().map(str::to_owned);
    if !is_initialize
        && let Err(rejection) = rules::check_protocol_version(&headers, negotiated.as_deref())
    {
        return reject(rejection);
    }
    // The batch rules depend on the negotiated version (2025-03-26 only, and
    // no `initialize` inside), which is known only now.
    let incoming = if incoming.is_batch() {
        let version = negotiated.as_deref().unwrap_or(version::LATEST);
        match jsonrpc::parse_with_version(&body, version) {
            Ok(incoming) => incoming,
            Err(invalid) => {
                return (StatusCode::BAD_REQUEST, Json(invalid.response())).into_response();
            }
        }
    } else {
        incoming
    };

    let batch = incoming.is_batch();
    let messages = incoming.into_messages();
    // A tool outside the grant's scopes is refused before anything runs.
    for message in &messages {
        if let Some(scope) = state.app.scope_needed(message)
            && !authorized.allows(scope)
        {
            return state.access.insufficient_scope(scope);
        }
    }
    let requester = RequesterParts {
        authorized,
        session_key: session_id.as_deref().map(session_key).unwrap_or_default(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    if !messages.iter().any(Message::expects_reply) {
        for message in messages {
            state
                .app
                .handle(&mut session, message, requester.view(), None)
                .await;
        }
        if let Some(id) = &session_id
            && let Err(error) =
                save_session(&state, id, &session, &requester.authorized.caller.subject)
        {
            return internal(error);
        }
        return StatusCode::ACCEPTED.into_response();
    }

    if !batch && App::wants_progress(&messages[0]) {
        return stream_call(
            state,
            session,
            session_id,
            requester,
            messages.into_iter().next(),
        );
    }

    // Handled in a task of its own: a client that goes away mid-call does
    // not cut the call off; its outcome is still recorded for a retry.
    let subject = requester.authorized.caller.subject.clone();
    let task_state = Arc::clone(&state);
    let handled = tokio::spawn(async move {
        let mut replies = Vec::new();
        for message in messages {
            if let Some(reply) = task_state
                .app
                .handle(&mut session, message, requester.view(), None)
                .await
            {
                replies.push(reply);
            }
        }
        (session, replies)
    });
    let (session, mut replies) = match handled.await {
        Ok(done) => done,
        Err(error) => return internal(anyhow::anyhow!("handling the request failed: {error}")),
    };
    let session_id = match finish_session(&state, &session, session_id, is_initialize, &subject) {
        Ok(id) => id,
        Err(error) => return internal(error),
    };
    let body = if batch {
        Value::Array(replies)
    } else {
        replies.pop().unwrap_or(Value::Null)
    };
    let mut response = Json(body).into_response();
    add_session_header(&mut response, session_id.as_deref());
    response
}

/// Answers a `tools/call` that asked for progress as an SSE stream: progress
/// notifications while it runs, then the result.
fn stream_call(
    state: Arc<HttpState>,
    mut session: Session,
    session_id: Option<String>,
    requester: RequesterParts,
    message: Option<Message>,
) -> Response {
    let (events_tx, events_rx) = mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        let Some(message) = message else { return };
        if let Some(reply) = state
            .app
            .handle(&mut session, message, requester.view(), Some(&events_tx))
            .await
        {
            let _ = events_tx.send(reply);
        }
        if let Some(id) = &session_id
            && let Err(error) =
                save_session(&state, id, &session, &requester.authorized.caller.subject)
        {
            tracing::error!(error = %error, "saving the session failed");
        }
    });
    let stream = tokio_stream_from(events_rx).map(|event| {
        Ok::<_, std::convert::Infallible>(Bytes::from(rules::sse_event(&event, None)))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn tokio_stream_from(mut rx: mpsc::UnboundedReceiver<Value>) -> impl futures::Stream<Item = Value> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// What a request says about its sender, owned so a task can keep it.
struct RequesterParts {
    authorized: Authorized,
    session_key: String,
    user_agent: Option<String>,
}

impl RequesterParts {
    fn view(&self) -> Requester<'_> {
        Requester {
            caller: &self.authorized.caller,
            scopes: self.authorized.scopes.as_deref(),
            session_key: &self.session_key,
            user_agent: self.user_agent.as_deref(),
        }
    }
}

/// Stores the session; for a successful `initialize`, creates its id.
fn finish_session(
    state: &HttpState,
    session: &Session,
    session_id: Option<String>,
    is_initialize: bool,
    subject: &str,
) -> anyhow::Result<Option<String>> {
    let id = match session_id {
        Some(id) => id,
        None if is_initialize && session.is_negotiated() => {
            uuid::Uuid::new_v4().simple().to_string()
        }
        None => return Ok(None),
    };
    save_session(state, &id, session, subject)?;
    Ok(Some(id))
}

fn add_session_header(response: &mut Response, session_id: Option<&str>) {
    if let Some(value) = session_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        response
            .headers_mut()
            .insert(rules::session_id_header_name(), value);
    }
}

/// Sessions are stored under a hash of their id, so the store never holds
/// a usable id.
fn session_key(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn load_session(state: &HttpState, id: &str) -> anyhow::Result<Option<StoredSession>> {
    let Some(bytes) = state.app.store().get(Table::Sessions, &session_key(id))? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

fn save_session(
    state: &HttpState,
    id: &str,
    session: &Session,
    subject: &str,
) -> anyhow::Result<()> {
    let stored = StoredSession {
        session: session.clone(),
        subject: subject.to_owned(),
    };
    state.app.store().put(
        Table::Sessions,
        &session_key(id),
        &serde_json::to_vec(&stored)?,
        SESSION_TTL_SECS,
    )
}

fn internal(error: anyhow::Error) -> Response {
    tracing::error!(error = %format!("{error:#}"), "internal error");
    let body = jsonrpc::error_response_with(
        None,
        openphone_mcp_protocol::rmcp::model::ErrorCode::INTERNAL_ERROR,
        "Internal error".into(),
    );
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}
