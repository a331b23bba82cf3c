//! Streamable HTTP transport (`serve`): the router, its layers and state.
//!
//! Every `/mcp` and OAuth request passes the Host and Origin checks
//! (DNS-rebinding protection) before anything else; `mcp.rs` answers
//! `/mcp`, `auth_routes.rs` hands OAuth endpoints and pages to the auth
//! component. Browser clients on allowed origins get CORS headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use openphone_mcp_protocol::http::{self as rules, HostPolicy, OriginPolicy, Rejection};
use openphone_mcp_protocol::jsonrpc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use super::auth_routes::auth_route;
use super::homepage::{self, Serving};
use super::listener::ConnectionLimits;
use super::mcp::{mcp_delete, mcp_get, mcp_post};
use crate::access::Access;
use crate::access::client_address::TrustedProxies;
use crate::access::rate_limit::RateLimits;
use crate::app::App;
use crate::auth::AuthServer;

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Open connections and how long a client may take to send headers.
    pub connections: ConnectionLimits,
    /// How long a request's whole body may take to arrive.
    pub body_read: std::time::Duration,
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
    /// Rate limits by client address and by grant.
    pub limits: RateLimits,
    /// Proxies whose forwarding headers name the client address.
    pub proxies: TrustedProxies,
    /// Set at shutdown: `/mcp` answers `503` from then on.
    pub draining: AtomicBool,
    /// The MCP endpoint as clients reach it, for the homepage.
    pub mcp_url: String,
}

/// The router: `/mcp`, `/health`, `/ready`, `/`.
pub fn router(state: Arc<HttpState>) -> Router {
    let mcp = Router::new()
        .route("/mcp", get(mcp_get).post(mcp_post).delete(mcp_delete))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            unless_draining,
        ))
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
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            super::bodies::read_whole,
        ))
        // Bodies are read and limited per route by `bodies::read_whole`.
        .layer(DefaultBodyLimit::disable())
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
        // Every page, and every other answer, gets a CSP; the auth
        // component's pages carry their own (a form posting to itself).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(homepage::CSP),
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            super::throttle::admit,
        ))
        .layer(cors(&state.config.origins))
        .layer(middleware::from_fn(super::request_id::assign))
        .layer(middleware::from_fn(count))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then drains: new `/mcp` requests get
/// `503`, calls in flight get the grace period, then are stopped between
/// two OpenPhone requests (recorded, so that a retry resumes).
pub async fn serve(
    state: Arc<HttpState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = state.config.connections.clone();
    let proxies = state.proxies.clone();
    let draining = {
        let state = Arc::clone(&state);
        async move {
            shutdown.await;
            state.draining.store(true, Ordering::SeqCst);
        }
    };
    let upstream = state.app.upstream();
    let stop_work = async move { upstream.stop_calls().await };
    let app = router(state);
    super::listener::serve(listener, app, limits, proxies, draining, stop_work).await
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

/// `GET /`: the homepage (`homepage.rs`).
async fn index(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    let serving = match state.access {
        Access::SingleUser(_) => Serving::LocalUser,
        Access::OAuth(_) => Serving::OAuth,
    };
    let page = homepage::render(&state.mcp_url, serving, env!("CARGO_PKG_VERSION"));
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
}

/// Counts every answer under its route template (`MatchedPath`, which
/// `Router::layer` sees per route), never the path a client sent.
async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    crate::telemetry::http_request(route, response.status().as_u16(), started.elapsed());
    response
}

/// `503` with `Retry-After` once the server is shutting down: the client
/// retries against another replica, or this one once it is back.
async fn unless_draining(
    State(state): State<Arc<HttpState>>,
    request: Request,
    next: Next,
) -> Response {
    if !state.draining.load(Ordering::SeqCst) {
        return next.run(request).await;
    }
    retry_later(
        "The server is shutting down; nothing was done. Try again in a few seconds.",
        DRAINING_RETRY_AFTER_SECS,
    )
}

/// `503` with `Retry-After: seconds` and a JSON-RPC error (no id: the
/// request was not read) saying `message`.
fn retry_later(message: &str, seconds: u64) -> Response {
    let body = jsonrpc::error_response_with(
        None,
        openphone_mcp_protocol::rmcp::model::ErrorCode(crate::app::BUSY_CODE),
        message.into(),
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    (response.headers_mut()).insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Seconds a client refused during shutdown is told to wait.
const DRAINING_RETRY_AFTER_SECS: u64 = 5;

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

pub(crate) fn reject(rejection: Rejection) -> Response {
    let status = StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(rejection.body)).into_response()
}

/// `500`, or `503` with `Retry-After` when the store could not be reached:
/// the client may retry, and a retried call is answered from its record.
pub(crate) fn internal(error: anyhow::Error) -> Response {
    if crate::state::store::is_unavailable(&error) {
        tracing::error!(error = %format!("{error:#}"), "the store is unavailable");
        return retry_later(
            crate::app::STORE_UNAVAILABLE,
            crate::app::BUSY_RETRY_AFTER_SECS,
        );
    }
    tracing::error!(error = %format!("{error:#}"), "internal error");
    let body = jsonrpc::error_response_with(
        None,
        openphone_mcp_protocol::rmcp::model::ErrorCode::INTERNAL_ERROR,
        "Internal error".into(),
    );
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}
