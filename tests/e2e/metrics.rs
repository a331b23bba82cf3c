//! Prometheus metrics on their own listener (`--metrics-listen`): what an
//! on-call engineer alerts on is counted, and no label carries a number,
//! key, token, id or anything a client chose.

use std::collections::BTreeMap;

use openphone_sim::{BOB, BUSINESS_KEY, SALES_PHONE_ID, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{OAUTH, Server};
use crate::oauth::{Client, mcp, open_session};

/// One sample of a scrape: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the Prometheus text format (the lines that are samples).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value: f64 = value.parse().expect("a number");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let labels = rest.strip_suffix('}').expect("closing brace");
                    let labels = labels
                        .split("\",")
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (key, value) = pair.split_once("=\"").expect("label=\"value\"");
                            (key.to_owned(), value.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
                None => (series.to_owned(), BTreeMap::new()),
            };
            (name, labels, value)
        })
        .collect()
}

/// The sum of `name`'s samples having every label of `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, have, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| have.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| value)
        .sum()
}

/// Where the server said it serves metrics.
fn metrics_url(server: &Server) -> String {
    let address = server
        .logs()
        .iter()
        .find_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            (v["message"]
                .as_str()?
                .starts_with("serving Prometheus metrics"))
            .then(|| v["address"].as_str().map(str::to_owned))?
        })
        .expect("a `serving Prometheus metrics` line");
    format!("http://{address}/metrics")
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":arguments}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_calls_upstream_limits_and_auth_without_a_secret() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(
        &sim,
        OAUTH,
        &[
            "--metrics-listen",
            "127.0.0.1:0",
            "--rate-limit",
            "discovery=3/min",
        ],
    );
    let issuer = format!("http://{}", server.addr);
    let http = reqwest::Client::new();

    // Never on the public listener.
    let public = http.get(format!("{issuer}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);

    let client = Client::register(&issuer, "Metrics Assistant").await;
    // A consent with a key OpenPhone refuses: the page again.
    let (html, cookie) = client.consent_page(&[]).await;
    let refused = client
        .consent(
            &html,
            Some(&cookie),
            Some(&issuer),
            "not-an-openphone-key-000000",
            &["messages:send"],
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::OK,
        "the form again, saying why"
    );
    let tokens = client.tokens(BUSINESS_KEY, &["messages:send"]).await;
    let session = open_session(&server, &tokens.access).await;

    let sent = mcp(
        &server,
        Some(&tokens.access),
        Some(&session),
        call(
            2,
            "send-message",
            json!({"from": SALES_PHONE_ID, "to": BOB, "content": "metrics"}),
        ),
    )
    .await;
    let sent: Value = sent.json().await.unwrap();
    assert_eq!(sent["result"]["isError"], false, "{sent}");
    let bad = mcp(
        &server,
        Some(&tokens.access),
        Some(&session),
        call(
            3,
            "send-message",
            json!({"from": SALES_PHONE_ID, "to": "555", "content": "x"}),
        ),
    )
    .await;
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    // Outside the grant's scopes, and with a token nobody issued.
    let outside = mcp(
        &server,
        Some(&tokens.access),
        Some(&session),
        call(4, "fetch-messages", json!({"inbox": SALES_PHONE_ID})),
    )
    .await;
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);
    let forged = mcp(
        &server,
        Some("forged-token-0123456789"),
        None,
        json!({"jsonrpc":"2.0","id":1,"method":"ping"}),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // Over the discovery limit.
    let mut limited = false;
    for _ in 0..6 {
        let response = http
            .get(format!("{issuer}/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap();
        limited |= response.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited);

    let scrape = http.get(metrics_url(&server)).send().await.unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    let text = scrape.text().await.unwrap();
    let all = samples(&text);
    let v = |name: &str, labels: &[(&str, &str)]| value(&all, name, labels);

    assert!(
        v(
            "openphone_mcp_http_requests_total",
            &[("route", "/mcp"), ("status", "200")]
        ) >= 3.0,
        "{text}"
    );
    assert_eq!(
        v(
            "openphone_mcp_http_requests_total",
            &[("route", "/mcp"), ("status", "403")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        v(
            "openphone_mcp_http_requests_total",
            &[("route", "/register"), ("status", "201")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        v(
            "openphone_mcp_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0,
        "{text}"
    );
    assert!(
        v("openphone_mcp_http_requests_total", &[("status", "429")]) >= 1.0,
        "{text}"
    );
    assert!(
        v(
            "openphone_mcp_http_request_duration_seconds_count",
            &[("route", "/mcp")]
        ) >= 5.0,
        "{text}"
    );

    assert_eq!(
        v(
            "openphone_mcp_tool_calls_total",
            &[("tool", "send-message"), ("outcome", "ok")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        v(
            "openphone_mcp_tool_calls_total",
            &[("tool", "send-message"), ("outcome", "invalid-arguments")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        v(
            "openphone_mcp_tool_call_duration_seconds_count",
            &[("tool", "send-message")]
        ),
        2.0,
        "{text}"
    );

    // The key checks at consent (one refused, one accepted) and the send.
    assert_eq!(
        v(
            "openphone_mcp_upstream_requests_total",
            &[("method", "POST")]
        ),
        1.0,
        "{text}"
    );
    assert!(
        v(
            "openphone_mcp_upstream_requests_total",
            &[("method", "GET"), ("status", "401")]
        ) >= 1.0,
        "{text}"
    );
    assert!(
        v(
            "openphone_mcp_upstream_requests_total",
            &[("method", "GET"), ("status", "200")]
        ) >= 1.0,
        "{text}"
    );
    assert!(
        v("openphone_mcp_upstream_request_duration_seconds_count", &[]) >= 3.0,
        "{text}"
    );
    assert!(
        v("openphone_mcp_upstream_budget_wait_seconds_count", &[]) >= 3.0,
        "{text}"
    );

    assert!(
        v(
            "openphone_mcp_rate_limited_total",
            &[("endpoint", "discovery")]
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(
        v(
            "openphone_mcp_sandbox_instances_in_use",
            &[("kind", "tool")]
        ),
        0.0,
        "{text}"
    );
    assert!(
        text.contains("openphone_mcp_sandbox_instances_in_use{kind=\"tool\"}"),
        "{text}"
    );

    for (event, at_least) in [
        ("client_registered", 1.0),
        ("consent_rejected", 1.0),
        ("consent_approved", 1.0),
        ("token_issued", 1.0),
        ("token_accepted", 4.0),
        ("token_refused", 1.0),
        ("scope_refused", 1.0),
    ] {
        assert!(
            v("openphone_mcp_auth_events_total", &[("event", event)]) >= at_least,
            "{event}: {text}"
        );
    }

    // No label carries anything a client sent or holds.
    for secret in [
        BUSINESS_KEY,
        BOB,
        SALES_PHONE_ID,
        &tokens.access,
        &tokens.refresh,
        client.id(),
        "forged-token",
        &session,
    ] {
        assert!(
            !text.contains(secret),
            "the scrape carries {secret}: {text}"
        );
    }
    // Short client text (the refused `to: "555"`) may match a number in a
    // value; it must not appear in a label.
    for (name, labels, _) in &all {
        for value in labels.values() {
            assert!(!value.contains("555"), "{name} has a label {value}");
        }
    }
    let labels: Vec<&str> = all
        .iter()
        .flat_map(|(_, labels, _)| labels.keys().map(String::as_str))
        .collect();
    for label in labels {
        assert!(
            [
                "route", "status", "tool", "outcome", "method", "endpoint", "kind", "event", "le",
                "quantile"
            ]
            .contains(&label),
            "unexpected label {label}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metrics_listen_nothing_is_served() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let response = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        !server.logs().iter().any(|line| line.contains("Prometheus")),
        "{:?}",
        server.logs()
    );
}
