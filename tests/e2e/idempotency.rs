//! send-message at most once per idempotency key, and every `tools/call`
//! at most once per JSON-RPC request: retries, restarts, crashes, unknown
//! outcomes and concurrent duplicates never text twice.

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

    // Two concurrent calls with one key: one runs, the other waits for its
    // outcome and gets the same answer.
    let (a, b) = tokio::join!(
        session.request("tools/call", send("k-slow", "slow one")),
        session.request("tools/call", send("k-slow", "slow one"))
    );
    for reply in [&a, &b] {
        let text = reply["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(
            text.contains("unknown whether the message was sent"),
            "{text}"
        );
    }
    let replayed = [&a, &b]
        .iter()
        .filter(|r| r["result"]["_meta"]["io.github.openphone-mcp/replayed"] == true)
        .count();
    assert_eq!(replayed, 1, "one ran, one was answered from its record");

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

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_json_rpc_request_is_answered_from_its_first_outcome() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;
    // No idempotencyKey: the request itself (session and id) is the key.
    let call = json!({"name":"send-message","arguments":{
        "from": openphone_sim::SALES_PHONE_ID, "to": openphone_sim::CAROL, "content": "See you at 3"}});

    let first = session
        .request_with_id(json!("req-7"), "tools/call", call.clone())
        .await;
    assert_eq!(first["result"]["isError"], false, "{first}");
    let retried = session
        .request_with_id(json!("req-7"), "tools/call", call.clone())
        .await;
    assert_eq!(
        retried["result"]["structuredContent"],
        first["result"]["structuredContent"]
    );
    assert_eq!(
        retried["result"]["_meta"]["io.github.openphone-mcp/replayed"],
        true
    );
    assert_eq!(sim.sent_messages().len(), 1);

    // A new id is a new request: it sends again, as asked.
    let new = session.request("tools/call", call.clone()).await;
    assert_eq!(new["result"]["isError"], false);
    assert_eq!(sim.sent_messages().len(), 2);

    // Reusing an id for something else is a protocol error; nothing is sent.
    let mut other = call.clone();
    other["arguments"]["content"] = json!("Something else");
    let reused = session
        .request_with_id(json!("req-7"), "tools/call", other)
        .await;
    assert_eq!(reused["error"]["code"], -32600, "{reused}");
    assert_eq!(sim.sent_messages().len(), 2);

    // Another session's id 'req-7' is its own request.
    let second = Session::open(&server.url()).await;
    let theirs = second
        .request_with_id(json!("req-7"), "tools/call", call)
        .await;
    assert!(theirs["result"]["_meta"].is_null(), "{theirs}");
    assert_eq!(sim.sent_messages().len(), 3);
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_cut_off_by_a_crash_is_never_repeated() {
    let sim = Simulator::start().await.unwrap();
    let mut server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;
    // The API takes its time; the server dies while waiting for it.
    sim.inject(Fault::delay(1_500).on("POST", "/v1/messages").times(1));
    let call = send("k-crash", "Crash test");
    let request = call.clone();
    let running = tokio::spawn(async move {
        let _ = session.request("tools/call", request).await;
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sim.requests().iter().all(|r| r.method != "POST") {
        assert!(
            std::time::Instant::now() < deadline,
            "the send never reached the API"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.crash_and_restart(&sim);
    running.abort();
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;

    let session = Session::open(&server.url()).await;
    let retry = session.request("tools/call", call).await;
    let text = retry["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(retry["result"]["isError"], true);
    assert!(text.contains("whether it acted is unknown"), "{text}");
    let posts = sim.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "the send went out again after the restart");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_stopped_at_its_deadline_runs_again_when_retried() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &["--call-timeout-secs", "1"]);
    let session = Session::open(&server.url()).await;
    sim.inject(Fault::delay(2_500).on("GET", "/v1/messages").times(1));
    let call = json!({"name":"fetch-messages","arguments":{
        "inbox": openphone_sim::SALES_PHONE_ID, "participant": openphone_sim::BOB, "maxResults": 3}});

    let first = session
        .request_with_id(json!("read-1"), "tools/call", call.clone())
        .await;
    let text = first["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("did not finish"), "{first}");
    // Nothing changed upstream, so the retry runs instead of replaying the stop.
    let retry = session
        .request_with_id(json!("read-1"), "tools/call", call)
        .await;
    assert_eq!(retry["result"]["isError"], false, "{retry}");
    assert!(retry["result"]["_meta"].is_null(), "{retry}");
    assert_eq!(
        retry["result"]["structuredContent"]["messages"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}
