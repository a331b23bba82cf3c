//! send-message at most once per idempotency key: retries, restarts,
//! unknown outcomes and concurrent duplicates never text twice.

use openphone_sim::{BUSINESS_KEY, Fault, Simulator};
use serde_json::{Value, json};

use crate::harness::{self, Server};
use crate::http_rules::Session;

fn send(key: &str, content: &str) -> Value {
    json!({"name":"send-message","arguments":{
        "from": openphone_sim::SALES_PHONE_ID, "to": openphone_sim::BOB, "content": content, "idempotencyKey": key}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_send_is_answered_from_the_record() {
    let sim = Simulator::start().await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let dir = harness::path_str(data_dir.path()).to_owned();
    let server = Server::start(&sim, BUSINESS_KEY, &["--data-dir", &dir]);
    let session = Session::open(&server.url()).await;

    let first = session
        .request("tools/call", send("order-1042", "Your order is ready"))
        .await;
    assert_eq!(first["result"]["isError"], false, "{first}");
    let id = first["result"]["structuredContent"]["id"].clone();
    let again = session
        .request("tools/call", send("order-1042", "Your order is ready"))
        .await;
    assert_eq!(again["result"]["structuredContent"]["id"], id);
    assert_eq!(
        again["result"]["_meta"]["io.github.openphone-mcp/replayed"],
        true
    );
    assert_eq!(sim.sent_messages().len(), 1);

    // The same key for another message is refused, not sent.
    let other = session
        .request("tools/call", send("order-1042", "Something else"))
        .await;
    assert_eq!(other["result"]["isError"], true);
    assert!(
        other["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("different arguments")
    );
    assert_eq!(sim.sent_messages().len(), 1);

    // The record survives a restart.
    drop(session);
    drop(server);
    let server = Server::start(&sim, BUSINESS_KEY, &["--data-dir", &dir]);
    let session = Session::open(&server.url()).await;
    let after_restart = session
        .request("tools/call", send("order-1042", "Your order is ready"))
        .await;
    assert_eq!(after_restart["result"]["structuredContent"]["id"], id);
    assert_eq!(sim.sent_messages().len(), 1);

    // Invalid arguments do not use up the key.
    let bad = session
        .request("tools/call", json!({"name":"send-message","arguments":{
            "from": openphone_sim::SALES_PHONE_ID, "to": "555", "content": "x", "idempotencyKey": "fresh"}}))
        .await;
    assert_eq!(bad["result"]["isError"], true);
    let good = session.request("tools/call", send("fresh", "x")).await;
    assert_eq!(good["result"]["isError"], false, "{good}");
    assert_eq!(sim.sent_messages().len(), 2);
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_outcome_is_never_sent_again() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &["--upstream-timeout-secs", "1"]);
    let session = std::sync::Arc::new(Session::open(&server.url()).await);
    sim.inject(Fault::delay(2_500).on("POST", "/v1/messages").times(1));

    // Two concurrent calls with one key: one runs, the other is told to wait.
    let (a, b) = tokio::join!(
        session.request("tools/call", send("k-slow", "slow one")),
        session.request("tools/call", send("k-slow", "slow one"))
    );
    let texts: Vec<String> = [&a, &b]
        .iter()
        .map(|r| {
            r["result"]["content"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("still running")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("unknown whether the message was sent")),
        "{texts:?}"
    );

    // The retry gets the recorded (unknown) outcome; nothing is sent again.
    let retry = session
        .request("tools/call", send("k-slow", "slow one"))
        .await;
    let text = retry["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains("unknown whether the message was sent"),
        "{text}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    assert_eq!(sim.requests().len(), 1, "the send went out more than once");
}
