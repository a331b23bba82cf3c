//! The host side of the `upstream` interface: the OpenPhone API as one user.
//!
//! Owns what a tool must never see or control: the base URL, the API key
//! (attached here as `Authorization: <key>`, no `Bearer`), the per-key
//! budget, timeouts and retries. Only reads (`GET`) are retried, on 429, 5xx
//! and connection failures, with exponential backoff; a write is sent once,
//! because the API has no idempotency key and a blind retry could text twice.

use std::time::{Duration, Instant};

use std::sync::Arc;

use rand::Rng;
use url::Url;

use crate::redact::Redactor;
use crate::sandbox::budget::Budget;
use crate::sandbox::shutdown::Shutdown;
use crate::sandbox::wit::{ApiRequest, ApiResponse, Method, UpstreamError};
use crate::secret::ApiKey;

/// Largest response body accepted from the API.
const MAX_BODY: usize = 8 << 20;

/// Settings of the upstream client.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// API root without `/v1`, e.g. `https://api.openphone.com`.
    pub base_url: Url,
    /// Time limit of one HTTP exchange.
    pub request_timeout: Duration,
    /// Attempts for a read, the first included.
    pub read_attempts: u32,
    /// First backoff; doubled on each retry, with jitter.
    pub backoff: Duration,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            base_url: Url::parse("https://api.openphone.com").expect("valid default URL"),
            request_timeout: Duration::from_secs(20),
            read_attempts: 4,
            backoff: Duration::from_millis(250),
        }
    }
}

/// HTTP client for the OpenPhone API, shared by all calls.
#[derive(Debug)]
pub struct Upstream {
    http: reqwest::Client,
    config: UpstreamConfig,
    budget: Budget,
    /// Masks secrets in error answers before a tool (and so a client) sees them.
    redactor: Arc<Redactor>,
    /// The gate every request passes, shut at shutdown.
    shutdown: Shutdown,
}

impl Upstream {
    pub fn new(config: UpstreamConfig, redactor: Arc<Redactor>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("openphone-mcp/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Upstream {
            http,
            config,
            budget: Budget::openphone(),
            redactor,
            shutdown: Shutdown::default(),
        })
    }

    /// The same client with `budget` (shared by replicas) instead of its own.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// How calls are stopped at shutdown: between two requests.
    pub(crate) fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Stops every running call between two requests: lets the requests in
    /// flight finish (at most their timeout), holds the rest, then tells the
    /// calls to stop.
    pub(crate) async fn stop_calls(&self) {
        let patience = self.config.request_timeout + Duration::from_secs(1);
        if !self.shutdown.close_gate(patience).await {
            tracing::warn!(
                "an OpenPhone request was still in flight after its timeout; stopping anyway"
            );
        }
        self.shutdown.stop_calls();
    }

    /// Sends `request` with `key`, retrying reads as described above.
    pub async fn send(
        &self,
        key: &ApiKey,
        request: &ApiRequest,
    ) -> Result<ApiResponse, UpstreamError> {
        self.send_after(key, request, || Ok(())).await
    }

    /// Like [`Upstream::send`], running `before_dispatch` once, after the
    /// budget wait and just before the first attempt goes out. If it fails,
    /// nothing is sent and its message is the `invalid-request` error.
    pub async fn send_after(
        &self,
        key: &ApiKey,
        request: &ApiRequest,
        before_dispatch: impl FnOnce() -> Result<(), String>,
    ) -> Result<ApiResponse, UpstreamError> {
        let mut before_dispatch = Some(before_dispatch);
        let url = self.url(request)?;
        let body = match &request.body {
            Some(body) => {
                serde_json::from_str::<serde_json::Value>(body).map_err(|e| {
                    UpstreamError::InvalidRequest(format!("the body is not valid JSON: {e}"))
                })?;
                Some(body.clone())
            }
            None => None,
        };
        let is_read = request.method == Method::Get;
        let attempts = if is_read {
            self.config.read_attempts.max(1)
        } else {
            1
        };
        let fingerprint = key.fingerprint();
        let mut last = UpstreamError::Unavailable("no attempt made".into());
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff(attempt)).await;
            }
            let waiting = Instant::now();
            if let Err(error) = self.budget.acquire(&fingerprint).await {
                tracing::warn!(error = %format!("{error:#}"), "the shared request budget could not be read; nothing was sent");
                return Err(UpstreamError::Unavailable(
                    "this server's shared state could not be reached, so nothing was sent; try again shortly".into(),
                ));
            }
            crate::telemetry::budget_wait(waiting.elapsed());
            // Held until the answer is in: a stop comes only between requests.
            let _in_flight = self.shutdown.pass().await;
            if let Some(hook) = before_dispatch.take() {
                hook().map_err(UpstreamError::InvalidRequest)?;
            }
            let sent = Instant::now();
            let answer = self
                .exchange(key, request.method, &url, body.as_deref())
                .await;
            crate::telemetry::upstream_request(
                http_method(request.method).as_str(),
                answer.as_ref().ok().map(|response| response.status),
                sent.elapsed(),
            );
            match answer {
                Ok(response) if response.status == 429 => {
                    tracing::warn!(status = 429, attempt, path = %request.path, "upstream rate limited");
                    last = UpstreamError::RateLimited;
                }
                Ok(response) if response.status >= 500 && is_read => {
                    tracing::warn!(status = response.status, attempt, path = %request.path, "upstream server error");
                    last = UpstreamError::Unavailable(format!(
                        "OpenPhone answered HTTP {}",
                        response.status
                    ));
                }
                Ok(response) => return Ok(response),
                Err(error) => {
                    tracing::warn!(attempt, path = %request.path, error = %describe(&error), "upstream request failed");
                    last = error;
                    if !is_read {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .config
            .backoff
            .saturating_mul(1 << (attempt - 1).min(6));
        let jitter = rand::rng().random_range(0.8..1.2);
        base.mul_f64(jitter).min(Duration::from_secs(8))
    }

    async fn exchange(
        &self,
        key: &ApiKey,
        method: Method,
        url: &Url,
        body: Option<&str>,
    ) -> Result<ApiResponse, UpstreamError> {
        let mut builder = self
            .http
            .request(http_method(method), url.clone())
            .header(http::header::AUTHORIZATION, key.expose())
            .header(http::header::ACCEPT, "application/json");
        if let Some(body) = body {
            builder = builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned());
        }
        let mut response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(UpstreamError::Unavailable(
                    "OpenPhone sent an answer larger than 8 MiB".into(),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(bytes).map_err(|_| {
            UpstreamError::Unavailable("OpenPhone sent an answer that is not UTF-8".into())
        })?;
        // What OpenPhone says in an error reaches the client through the
        // tool: it may quote a key or token back, never passed on.
        let body = if status >= 400 {
            self.redactor.redact_secrets(&body)
        } else {
            body
        };
        Ok(ApiResponse { status, body })
    }

    /// `base/v1{path}?query`, refusing paths that could leave `/v1`.
    fn url(&self, request: &ApiRequest) -> Result<Url, UpstreamError> {
        let path = &request.path;
        let safe = openphone_mcp_protocol::catalog::is_api_path(path);
        if !safe {
            return Err(UpstreamError::InvalidRequest(
                "the path must be an OpenPhone API path below /v1 (letters, digits, - _ . and /)"
                    .into(),
            ));
        }
        let mut url = self.config.base_url.clone();
        let root = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{root}/v1{path}"));
        if !request.query.is_empty() {
            let query: String = request
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            url.set_query(Some(&query));
        }
        Ok(url)
    }
}

/// Percent-encodes a query component; `+` becomes `%2B` as the API requires.
/// The HTTP method a guest's `method` stands for.
fn http_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn classify(error: reqwest::Error) -> UpstreamError {
    if error.is_timeout() {
        UpstreamError::Timeout
    } else if error.is_connect() {
        UpstreamError::Unavailable("could not connect to OpenPhone".into())
    } else {
        UpstreamError::Unavailable("the connection to OpenPhone failed".into())
    }
}

fn describe(error: &UpstreamError) -> String {
    match error {
        UpstreamError::InvalidRequest(m) | UpstreamError::Unavailable(m) => m.clone(),
        UpstreamError::RateLimited => "rate limited".into(),
        UpstreamError::Timeout => "timeout".into(),
        UpstreamError::BudgetExhausted => "budget exhausted".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(base: &str) -> Upstream {
        Upstream::new(
            UpstreamConfig {
                base_url: Url::parse(base).unwrap(),
                ..UpstreamConfig::default()
            },
            Arc::new(Redactor::new()),
        )
        .unwrap()
    }

    fn get(path: &str, query: &[(&str, &str)]) -> ApiRequest {
        ApiRequest {
            method: Method::Get,
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            body: None,
        }
    }

    #[test]
    fn builds_urls_below_v1_with_encoded_queries() {
        let up = upstream("http://127.0.0.1:9/");
        let url = up
            .url(&get(
                "/messages",
                &[
                    ("participants", "+15555550123"),
                    ("participants", "+15555550124"),
                    ("q", "a b"),
                ],
            ))
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/v1/messages?participants=%2B15555550123&participants=%2B15555550124&q=a+b"
        );
        let up = upstream("http://sim.local/prefix");
        assert_eq!(
            up.url(&get("/phone-numbers", &[])).unwrap().as_str(),
            "http://sim.local/prefix/v1/phone-numbers"
        );
    }

    #[test]
    fn refuses_paths_that_escape() {
        let up = upstream("http://127.0.0.1:9");
        for bad in [
            "messages",
            "/../admin",
            "/a/../../b",
            "//evil.com/x",
            "/x?y=1",
            "/x#f",
            "/%2e%2e/x",
            "/a b",
            "/@evil",
        ] {
            assert!(
                matches!(
                    up.url(&get(bad, &[])),
                    Err(UpstreamError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
    }
}
