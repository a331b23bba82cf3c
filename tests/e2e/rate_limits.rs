//! Rate limits from outside: floods from one address are refused with
//! `429` and `Retry-After` while another address is served; forwarding
//! headers count only from a trusted proxy; `/mcp` is limited per address
//! before authentication and per grant after.

use std::net::IpAddr;

use openphone_sim::Simulator;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{OAUTH, Server};

/// A client whose connections come from `source` (any 127.x address reaches
/// the server on 127.0.0.1).
fn from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn issuer(server: &Server) -> String {
    format!("http://{}", server.addr)
}

async fn register(http: &reqwest::Client, server: &Server) -> reqwest::Response {
    http.post(format!("{}/register", issuer(server)))
        .json(
            &json!({"redirect_uris": ["http://127.0.0.1:47123/callback"], "client_name": "flood"}),
        )
        .send()
        .await
        .unwrap()
}

async fn guess_token(
    http: &reqwest::Client,
    server: &Server,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut request = http.post(format!("{}/token", issuer(server))).form(&[
        ("grant_type", "authorization_code"),
        ("code", "guessed-code-0000000000000000000000000000000"),
        ("redirect_uri", "http://127.0.0.1:47123/callback"),
        ("client_id", "nobody"),
        (
            "code_verifier",
            "a-long-random-verifier-string-of-at-least-43-characters-0123456789",
        ),
    ]);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

/// A guessed code answered by the token endpoint: refused, not rate-limited.
fn assert_refused_guess(response: &reqwest::Response) {
    let status = response.status();
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );
}

/// Asserts a `429` with a whole-seconds `Retry-After`; returns the body.
async fn assert_too_many(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn floods_of_registrations_and_token_guesses_are_refused_per_address() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let flooder = from("127.0.0.1");
    let mut created = 0;
    let mut refused = None;
    for _ in 0..300 {
        let response = register(&flooder, &server).await;
        match response.status() {
            StatusCode::CREATED => created += 1,
            _ => {
                refused = Some(response);
                break;
            }
        }
    }
    assert_eq!(created, 60, "the default allows 60 registrations an hour");
    let body: Value = serde_json::from_str(&assert_too_many(refused.unwrap()).await).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // Another address is served meanwhile.
    let neighbour = from("127.0.0.2");
    assert_eq!(
        register(&neighbour, &server).await.status(),
        StatusCode::CREATED
    );

    let mut answered = 0;
    let mut limited = None;
    for _ in 0..300 {
        let response = guess_token(&flooder, &server, &[]).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_refused_guess(&response);
        answered += 1;
    }
    assert_eq!(
        answered, 60,
        "the default allows 60 token requests a minute"
    );
    let body: Value = serde_json::from_str(&assert_too_many(limited.unwrap()).await).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // The neighbour's guesses are answered (and refused) as usual.
    assert_refused_guess(&guess_token(&neighbour, &server, &[]).await);
    // Health probes are never limited.
    let health = flooder
        .get(format!("{}/health", issuer(&server)))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarding_headers_count_only_from_a_trusted_proxy() {
    let sim = Simulator::start().await.unwrap();
    // No trusted proxy: a client rotating spoofed headers is still one address.
    let server = Server::start(&sim, OAUTH, &["--rate-limit", "token=5/min"]);
    let client = from("127.0.0.1");
    for n in 0..5 {
        let spoof = [
            ("x-forwarded-for", format!("203.0.113.{n}")),
            ("forwarded", format!("for=198.51.100.{n}")),
        ];
        assert_refused_guess(&guess_token(&client, &server, &spoof).await);
    }
    let spoof = [("x-forwarded-for", "203.0.113.99".to_owned())];
    assert_too_many(guess_token(&client, &server, &spoof).await).await;
    drop(server);

    // Behind a trusted proxy (here 127.0.0.1), the forwarded client counts.
    let server = Server::start(
        &sim,
        OAUTH,
        &[
            "--rate-limit",
            "token=5/min",
            "--trusted-proxy",
            "127.0.0.1",
        ],
    );
    let proxy = from("127.0.0.1");
    let first = [("x-forwarded-for", "203.0.113.1".to_owned())];
    for _ in 0..5 {
        assert_refused_guess(&guess_token(&proxy, &server, &first).await);
    }
    assert_too_many(guess_token(&proxy, &server, &first).await).await;
    // A client prepending a lie does not escape: the proxy's own entry is the last.
    let lie = [("x-forwarded-for", "192.0.2.50, 203.0.113.1".to_owned())];
    assert_too_many(guess_token(&proxy, &server, &lie).await).await;
    let second = [("x-forwarded-for", "203.0.113.2".to_owned())];
    assert_refused_guess(&guess_token(&proxy, &server, &second).await);
    // An untrusted peer's headers are still ignored.
    let stranger = from("127.0.0.3");
    assert_refused_guess(&guess_token(&stranger, &server, &first).await);
}

async fn ping(http: &reqwest::Client, server: &Server, token: Option<&str>) -> reqwest::Response {
    let mut request = http
        .post(server.url())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_is_limited_per_address_before_authentication() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &["--rate-limit", "mcp=5/min"]);
    let client = from("127.0.0.1");
    for _ in 0..5 {
        assert_eq!(
            ping(&client, &server, Some("guessed-token")).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let body: Value = serde_json::from_str(
        &assert_too_many(ping(&client, &server, Some("guessed-token")).await).await,
    )
    .unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["error"]["code"], -32000);
    assert_eq!(
        ping(&from("127.0.0.2"), &server, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_is_limited_per_grant() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(
        &sim,
        openphone_sim::BUSINESS_KEY,
        &["--rate-limit", "mcp-grant=5/min"],
    );
    let client = from("127.0.0.1");
    // Without a session a ping is refused (400), but it counts.
    for _ in 0..5 {
        assert_eq!(
            ping(&client, &server, None).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    let body: Value =
        serde_json::from_str(&assert_too_many(ping(&client, &server, None).await).await).unwrap();
    assert_eq!(body["error"]["code"], -32000, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Too many requests")
    );
}
