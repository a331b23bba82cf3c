//! Prometheus metrics: every metric this server exports, its labels, and the
//! listener that serves them (`--metrics-listen`, never the public one).
//!
//! Every label value comes from a closed set — a route template, a tool name
//! from the loaded catalog, an HTTP method or status code, an enum's word —
//! so no label can ever carry a phone number, key, token, path parameter or
//! anything a client chose. Without `--metrics-listen` no recorder is
//! installed and every function here is a no-op (the `metrics` facade).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const HTTP_REQUESTS: &str = "openphone_mcp_http_requests_total";
const HTTP_DURATION: &str = "openphone_mcp_http_request_duration_seconds";
const TOOL_CALLS: &str = "openphone_mcp_tool_calls_total";
const TOOL_DURATION: &str = "openphone_mcp_tool_call_duration_seconds";
const UPSTREAM_REQUESTS: &str = "openphone_mcp_upstream_requests_total";
const UPSTREAM_DURATION: &str = "openphone_mcp_upstream_request_duration_seconds";
const BUDGET_WAIT: &str = "openphone_mcp_upstream_budget_wait_seconds";
const RATE_LIMITED: &str = "openphone_mcp_rate_limited_total";
const INSTANCES: &str = "openphone_mcp_sandbox_instances_in_use";
const AUTH_EVENTS: &str = "openphone_mcp_auth_events_total";

/// Histogram buckets (seconds): from a cached `tools/list` to a bulk send.
const BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// Installs the global recorder and describes every metric. Called once, at
/// start, only when metrics are served.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)?
        .install_recorder()?;
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route template."
    );
    describe_counter!(TOOL_CALLS, "tools/call requests, by tool and outcome.");
    describe_histogram!(
        TOOL_DURATION,
        Unit::Seconds,
        "Time a tool ran in its sandbox, by tool."
    );
    describe_counter!(
        UPSTREAM_REQUESTS,
        "Requests to the OpenPhone API (each attempt), by method and status (`error` when none came)."
    );
    describe_histogram!(
        UPSTREAM_DURATION,
        Unit::Seconds,
        "Time an OpenPhone API attempt took."
    );
    describe_histogram!(
        BUDGET_WAIT,
        Unit::Seconds,
        "Time a request waited for its key's 10 requests/second budget."
    );
    describe_counter!(
        RATE_LIMITED,
        "Requests refused by a rate limit (429), by rule."
    );
    describe_gauge!(
        INSTANCES,
        "Component instances running now, by kind (tool, auth)."
    );
    describe_counter!(AUTH_EVENTS, "Authorization events, by kind.");
    Ok(handle)
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// One HTTP request answered: `route` is the matched route template
/// (`unmatched` for anything else), never the requested path.
pub fn http_request(route: String, status: u16, elapsed: Duration) {
    counter!(HTTP_REQUESTS, "route" => route.clone(), "status" => status.to_string()).increment(1);
    histogram!(HTTP_DURATION, "route" => route).record(elapsed);
}

/// One `tools/call` ended: `tool` is a catalog name, `outcome` a word from a
/// closed set (`ok`, `failed`, `replayed`…).
pub fn tool_call(tool: &str, outcome: &'static str, ran_for: Option<Duration>) {
    counter!(TOOL_CALLS, "tool" => tool.to_owned(), "outcome" => outcome).increment(1);
    if let Some(elapsed) = ran_for {
        histogram!(TOOL_DURATION, "tool" => tool.to_owned()).record(elapsed);
    }
}

/// One attempt at the OpenPhone API: its status, or `None` when no answer
/// came (timeout, connection refused).
pub fn upstream_request(method: &str, status: Option<u16>, elapsed: Duration) {
    let status = status.map_or_else(|| "error".to_owned(), |code| code.to_string());
    counter!(UPSTREAM_REQUESTS, "method" => method.to_owned(), "status" => status).increment(1);
    histogram!(UPSTREAM_DURATION).record(elapsed);
}

/// How long a request waited for its key's budget.
pub fn budget_wait(waited: Duration) {
    histogram!(BUDGET_WAIT).record(waited);
}

/// A request refused by the rate-limit rule named `rule`.
pub fn rate_limited(rule: &'static str) {
    counter!(RATE_LIMITED, "endpoint" => rule).increment(1);
}

/// What runs in an instance.
#[derive(Debug, Clone, Copy)]
pub enum InstanceKind {
    Tool,
    Auth,
}

/// Counts one component instance as in use for as long as it lives.
#[derive(Debug)]
pub struct InstanceInUse(InstanceKind);

impl InstanceInUse {
    pub fn start(kind: InstanceKind) -> Self {
        gauge!(INSTANCES, "kind" => kind.word()).increment(1.0);
        InstanceInUse(kind)
    }
}

impl Drop for InstanceInUse {
    fn drop(&mut self) {
        gauge!(INSTANCES, "kind" => self.0.word()).decrement(1.0);
    }
}

impl InstanceKind {
    fn word(self) -> &'static str {
        match self {
            InstanceKind::Tool => "tool",
            InstanceKind::Auth => "auth",
        }
    }
}

/// An authorization event the host sees: a bearer token checked on `/mcp`,
/// or how an OAuth endpoint answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthEvent {
    /// A token was accepted on `/mcp`.
    TokenAccepted,
    /// `/mcp` without a token (the client is told where to get one).
    TokenMissing,
    /// A token refused: unknown, expired, for another resource, revoked.
    TokenRefused,
    /// A call outside the grant's scopes (`403 insufficient_scope`).
    ScopeRefused,
    /// `/register` created a client.
    ClientRegistered,
    /// `/register` refused the registration.
    RegistrationRefused,
    /// A consent form was approved: the user was sent back with a code.
    ConsentApproved,
    /// The user denied consent: sent back with `access_denied`.
    ConsentDenied,
    /// A consent form was answered with a page again (a key refused, a
    /// field missing).
    ConsentRejected,
    /// `/token` issued tokens (a code exchanged, or a refresh).
    TokenIssued,
    /// `/token` refused (a bad code or refresh token, a replay).
    TokenRequestRefused,
    /// `/revoke` answered.
    TokenRevoked,
}

impl AuthEvent {
    /// The label value.
    pub fn word(self) -> &'static str {
        match self {
            AuthEvent::TokenAccepted => "token_accepted",
            AuthEvent::TokenMissing => "token_missing",
            AuthEvent::TokenRefused => "token_refused",
            AuthEvent::ScopeRefused => "scope_refused",
            AuthEvent::ClientRegistered => "client_registered",
            AuthEvent::RegistrationRefused => "registration_refused",
            AuthEvent::ConsentApproved => "consent_approved",
            AuthEvent::ConsentDenied => "consent_denied",
            AuthEvent::ConsentRejected => "consent_rejected",
            AuthEvent::TokenIssued => "token_issued",
            AuthEvent::TokenRequestRefused => "token_request_refused",
            AuthEvent::TokenRevoked => "token_revoked",
        }
    }

    /// The event an OAuth endpoint's answer stands for, if any: `location`
    /// is the redirect a consent POST answered with.
    pub fn of_endpoint(
        method: &http::Method,
        path: &str,
        status: u16,
        location: Option<&str>,
    ) -> Option<AuthEvent> {
        let ok = (200..300).contains(&status);
        let refused = (400..500).contains(&status) && status != 429;
        match (path, method == http::Method::POST) {
            ("/register", true) if ok => Some(AuthEvent::ClientRegistered),
            ("/register", true) if refused => Some(AuthEvent::RegistrationRefused),
            ("/token", true) if ok => Some(AuthEvent::TokenIssued),
            ("/token", true) if refused => Some(AuthEvent::TokenRequestRefused),
            ("/revoke", true) if ok => Some(AuthEvent::TokenRevoked),
            ("/authorize", true) => {
                let query = location.and_then(|l| url::Url::parse(l).ok());
                let has = |name: &str| {
                    query
                        .as_ref()
                        .is_some_and(|url| url.query_pairs().any(|(key, _)| key == name))
                };
                if (300..400).contains(&status) && has("code") {
                    Some(AuthEvent::ConsentApproved)
                } else if (300..400).contains(&status) && has("error") {
                    Some(AuthEvent::ConsentDenied)
                } else if status != 429 {
                    Some(AuthEvent::ConsentRejected)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// Counts one authorization event.
pub fn auth_event(event: AuthEvent) {
    counter!(AUTH_EVENTS, "event" => event.word()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn oauth_answers_map_to_events() {
        let post = Method::POST;
        assert_eq!(
            AuthEvent::of_endpoint(&post, "/register", 201, None),
            Some(AuthEvent::ClientRegistered)
        );
        assert_eq!(
            AuthEvent::of_endpoint(&post, "/register", 400, None),
            Some(AuthEvent::RegistrationRefused)
        );
        assert_eq!(AuthEvent::of_endpoint(&post, "/register", 429, None), None);
        assert_eq!(
            AuthEvent::of_endpoint(&post, "/token", 200, None),
            Some(AuthEvent::TokenIssued)
        );
        assert_eq!(
            AuthEvent::of_endpoint(&post, "/token", 400, None),
            Some(AuthEvent::TokenRequestRefused)
        );
        assert_eq!(
            AuthEvent::of_endpoint(
                &post,
                "/authorize",
                303,
                Some("https://app.example/cb?code=abc&state=s")
            ),
            Some(AuthEvent::ConsentApproved)
        );
        assert_eq!(
            AuthEvent::of_endpoint(
                &post,
                "/authorize",
                303,
                Some("https://app.example/cb?error=access_denied&state=s")
            ),
            Some(AuthEvent::ConsentDenied)
        );
        assert_eq!(
            AuthEvent::of_endpoint(&post, "/authorize", 400, None),
            Some(AuthEvent::ConsentRejected)
        );
        // Showing the consent page and reading discovery documents are no events.
        assert_eq!(
            AuthEvent::of_endpoint(&Method::GET, "/authorize", 200, None),
            None
        );
        assert_eq!(
            AuthEvent::of_endpoint(
                &Method::GET,
                "/.well-known/oauth-authorization-server",
                200,
                None
            ),
            None
        );
    }
}
