//! Starting simulators and making requests the way the MCP server would.

use openphone_sim::spec::Lookup;
use openphone_sim::{SimConfig, Simulator};
use reqwest::StatusCode;
use serde_json::Value;

/// A simulator with the default configuration (rate limit included).
pub async fn start() -> Simulator {
    Simulator::start().await.expect("simulator starts")
}

/// A simulator without rate limit, for tests that make many requests quickly.
pub async fn start_unlimited() -> Simulator {
    Simulator::start_with(SimConfig {
        rate_limit_per_second: None,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// `+` percent-encoded, as it must be in a query string.
pub fn enc(number: &str) -> String {
    number.replace('+', "%2B")
}

/// A response: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

pub async fn get(sim: &Simulator, key: &str, path_and_query: &str) -> Answer {
    let request = reqwest::Client::new()
        .get(format!("{}{path_and_query}", sim.base_url()))
        .header("Authorization", key);
    send(sim, "GET", path_and_query, request).await
}

pub async fn post(sim: &Simulator, key: &str, path: &str, body: &Value) -> Answer {
    let request = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .header("Authorization", key)
        .json(body);
    send(sim, "POST", path, request).await
}

pub async fn send(
    sim: &Simulator,
    method: &str,
    path_and_query: &str,
    request: reqwest::RequestBuilder,
) -> Answer {
    let response = request.send().await.expect("request is answered");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body is read");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_conforms(sim, method, path_and_query, status.as_u16(), &body);
    Answer {
        status,
        body,
        headers,
    }
}

/// Successful and documented error answers must match the spec's response schema.
fn assert_conforms(sim: &Simulator, method: &str, path_and_query: &str, status: u16, body: &Value) {
    let checked = matches!(status, 200..=299 | 401..=404) && status != 204;
    if !checked || body.get("simulatorViolation").is_some() {
        return;
    }
    let path = path_and_query.split('?').next().unwrap_or_default();
    if !matches!(sim.spec().lookup(method, path), Lookup::Found(..)) {
        return;
    }
    let problems = sim.spec().response_problems(method, path, status, body);
    assert!(
        problems.is_empty(),
        "{method} {path} answered {status} not matching the spec: {problems:?}\n{body}"
    );
}

/// Error bodies have the spec's shape.
pub fn assert_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
    assert_eq!(answer.body["code"], code, "{}", answer.body);
    assert_eq!(answer.body["status"], status, "{}", answer.body);
    for field in ["message", "title", "docs"] {
        assert!(answer.body[field].is_string(), "{field} in {}", answer.body);
    }
}
