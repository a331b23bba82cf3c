//! Request ids: a well-formed `X-Request-ID` is kept, anything else
//! replaced by a fresh id; it is returned, and every log line written while
//! the request is served carries it — the transport's, the tool call's, the
//! auth component's and the upstream client's.

use std::time::Duration;

use openphone_sim::{BUSINESS_KEY, Fault, SALES_PHONE_ID, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{OAUTH, Server};
use crate::oauth::{Client, hidden_inputs, open_session};

/// The id a log line carries: its `request` span's, or its own field.
fn id_of(line: &Value) -> Option<&str> {
    line["span"]["request_id"]
        .as_str()
        .or_else(|| line["request_id"].as_str())
}

/// Runs `send`, then returns the id the server answered with and every log
/// line written meanwhile.
async fn lines_of(
    server: &Server,
    send: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
) -> (String, Vec<Value>) {
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = server.logs().len();
    let response = send.await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = response.bytes().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = server.logs()[before..]
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        // Background work (sweeps) belongs to no request.
        .filter(|line| {
            !line["message"]
                .as_str()
                .unwrap_or_default()
                .contains("sweep")
        })
        .collect();
    (id, lines)
}

fn assert_all_carry(id: &str, lines: &[Value], expected: &[&str]) {
    for line in lines {
        assert_eq!(
            id_of(line),
            Some(id),
            "a line without the request's id: {line}"
        );
    }
    for message in expected {
        assert!(
            lines.iter().any(|line| line["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message)),
            "no `{message}` line among {lines:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_of_a_request_carries_its_id() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let issuer = format!("http://{}", server.addr);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The auth component's line, and the key check it asked the host for.
    let client = Client::register(&issuer, "Request Id Assistant").await;
    let (html, cookie) = client.consent_page(&[]).await;
    let mut form: Vec<(String, String)> = hidden_inputs(&html).into_iter().collect();
    form.extend([
        (
            "api_key".to_owned(),
            "not-a-key-openphone-knows-0000".to_owned(),
        ),
        ("action".to_owned(), "approve".to_owned()),
        ("scope".to_owned(), "messages:read".to_owned()),
    ]);
    let consent = http
        .post(format!("{issuer}/authorize"))
        .header("cookie", &cookie)
        .header("origin", &issuer)
        .header("x-request-id", "consent-0001")
        .form(&form)
        .send();
    let (id, lines) = lines_of(&server, consent).await;
    assert_eq!(id, "consent-0001", "a well-formed id is kept");
    assert_all_carry(&id, &lines, &["OpenPhone rejected the key"]);

    // A tool call whose first read OpenPhone fails once: the upstream
    // client's warning, the retry and the call's line.
    let tokens = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let session = open_session(&server, &tokens.access).await;
    sim.inject(Fault::status(503).on("GET", "/v1/").times(1));
    let call = http
        .post(server.url())
        .bearer_auth(&tokens.access)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .header("accept", "application/json, text/event-stream")
        .header("x-request-id", "call:0002/retry=1")
        .json(&json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
            "params":{"name":"fetch-messages","arguments":{"inbox": SALES_PHONE_ID}}}))
        .send();
    let (id, lines) = lines_of(&server, call).await;
    assert_eq!(id, "call:0002/retry=1");
    assert_all_carry(&id, &lines, &["upstream server error", "tool call"]);

    // A malformed id is replaced, and the replacement is what the lines carry.
    for sent in [
        "has a space",
        "line\tbreak",
        &"x".repeat(129),
        "{\"forged\":true}",
    ] {
        let refused = http
            .post(server.url())
            .header("x-request-id", sent)
            .json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
            .send();
        let (id, lines) = lines_of(&server, refused).await;
        assert_ne!(id, sent);
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert_all_carry(&id, &lines, &[]);
    }
    // Without one, every answer still gets an id, a new one each time.
    let first = http.get(format!("{issuer}/health")).send().await.unwrap();
    let second = http.get(format!("{issuer}/health")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_ne!(
        first.headers()["x-request-id"],
        second.headers()["x-request-id"]
    );
}
