//! The host's `upstream`: raw key, shared budget, retries of reads only.

use openphone_sim::{BUSINESS_KEY, Fault, NO_CREDITS_KEY, Simulator};
use serde_json::json;

use crate::harness::{self, Server};
use crate::http_rules::Session;

fn send(to: &str, content: &str) -> serde_json::Value {
    json!({"name":"send-message","arguments":{"from": openphone_sim::SALES_PHONE_ID, "to": to, "content": content}})
}

fn text(reply: &serde_json::Value) -> String {
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_are_never_retried() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;

    for (status, needle) in [(503, "server error"), (429, "rate-limiting")] {
        sim.reset();
        sim.inject(Fault::status(status).on("POST", "/v1/messages").times(1));
        let reply = session
            .request("tools/call", send(openphone_sim::BOB, "once"))
            .await;
        assert_eq!(reply["result"]["isError"], true, "{reply}");
        assert!(text(&reply).contains(needle), "{status}: {}", text(&reply));
        assert_eq!(sim.requests().len(), 1, "a {status} on a send was retried");
    }

    // A connection dropped after the API acted: the outcome is unknown, and said so.
    sim.reset();
    sim.inject(
        Fault::drop_after_processing()
            .on("POST", "/v1/messages")
            .times(1),
    );
    let reply = session
        .request("tools/call", send(openphone_sim::BOB, "dropped"))
        .await;
    assert_eq!(reply["result"]["isError"], true);
    assert!(
        text(&reply).contains("unknown whether the message was sent"),
        "{}",
        text(&reply)
    );
    assert_eq!(sim.requests().len(), 1);
    assert_eq!(sim.sent_messages().len(), 1, "the simulator did act on it");
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_are_retried_with_backoff() {
    let sim = Simulator::start().await.unwrap();
    let plugins = harness::hostile_plugins();
    let server = Server::start(
        &sim,
        BUSINESS_KEY,
        &["--plugins", harness::path_str(plugins.path())],
    );
    let session = Session::open(&server.url()).await;
    let read = json!({"name":"hostile-request","arguments":{"path":"/phone-numbers"}});

    sim.inject(Fault::status(503).on("GET", "/v1/phone-numbers").times(2));
    let reply = session.request("tools/call", read.clone()).await;
    assert!(text(&reply).starts_with("status 200"), "{}", text(&reply));
    assert_eq!(sim.requests().len(), 3);

    sim.reset();
    sim.inject(Fault::status(429).on("GET", "/v1/phone-numbers").times(10));
    let reply = session.request("tools/call", read).await;
    assert!(text(&reply).contains("rate-limiting"), "{}", text(&reply));
    assert_eq!(sim.requests().len(), 4, "a read is tried 4 times in all");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budget_is_shared_by_concurrent_calls() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = std::sync::Arc::new(Session::open(&server.url()).await);
    // 25 concurrent sends against a simulator that answers 429 past 10/s.
    let calls: Vec<_> = (0..25)
        .map(|i| {
            let session = std::sync::Arc::clone(&session);
            tokio::spawn(async move {
                session
                    .request("tools/call", send(openphone_sim::CAROL, &format!("n{i}")))
                    .await
            })
        })
        .collect();
    for call in calls {
        let reply = call.await.unwrap();
        assert_eq!(reply["result"]["isError"], false, "{reply}");
    }
    assert_eq!(sim.sent_messages().len(), 25);
    assert!(sim.requests().iter().all(|r| r.status == Some(202)));
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn api_refusals_are_clear_tool_errors() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, NO_CREDITS_KEY, &[]);
    let session = Session::open(&server.url()).await;
    let reply = session
        .request(
            "tools/call",
            json!({"name":"send-message","arguments":{"from": openphone_sim::NO_CREDITS_PHONE_ID, "to": openphone_sim::DAVE, "content":"hi"}}),
        )
        .await;
    assert_eq!(reply["result"]["isError"], true);
    assert!(text(&reply).contains("enough credits"), "{}", text(&reply));

    let server = Server::start(&sim, "not-a-real-key-123456", &[]);
    let session = Session::open(&server.url()).await;
    let reply = session
        .request("tools/call", send(openphone_sim::DAVE, "hi"))
        .await;
    assert!(
        text(&reply).contains("rejected the API key"),
        "{}",
        text(&reply)
    );
    harness::assert_no_secret(&server.logs(), &["not-a-real-key-123456"]);
    // The key went out raw, as the API expects (no `Bearer`).
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.api_key.as_deref() == Some("not-a-real-key-123456"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_api_times_out_and_says_the_outcome_is_unknown() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &["--upstream-timeout-secs", "1"]);
    let session = Session::open(&server.url()).await;
    sim.inject(Fault::delay(2_500).on("POST", "/v1/messages").times(1));
    let reply = session
        .request("tools/call", send(openphone_sim::BOB, "slow"))
        .await;
    assert_eq!(reply["result"]["isError"], true);
    let said = text(&reply);
    assert!(
        said.contains("did not answer in time") && said.contains("unknown whether"),
        "{said}"
    );
    assert_eq!(sim.requests().len(), 1, "a timed-out send was retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_openphone_says_in_an_error_never_carries_a_secret_to_the_client() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;
    sim.inject(
        Fault::status_with_body(
            400,
            json!({
                "message": format!("Key {BUSINESS_KEY} may not text +14155550111 (Authorization: Bearer tok-abc.def)"),
                "code": "0206400",
            }),
        )
        .on("POST", "/v1/messages"),
    );
    let reply = session
        .request("tools/call", send(openphone_sim::BOB, "hello"))
        .await;
    let said = text(&reply);
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    assert!(!said.contains(BUSINESS_KEY), "{said}");
    assert!(!said.contains("tok-abc.def"), "{said}");
    assert!(
        said.contains("[redacted]") && said.contains("+14155550111"),
        "{said}"
    );
}
