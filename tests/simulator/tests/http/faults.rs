//! Injected faults: statuses, delays and dropped connections, from the library and over HTTP.

use std::time::{Duration, Instant};

use openphone_sim::{ALICE, BUSINESS_KEY, Fault, FaultAction, RecordedRequest, SALES_PHONE_ID};
use serde_json::{Value, json};

use crate::support::{assert_error, get, post, start};

fn message() -> Value {
    json!({"content": "fault test", "from": SALES_PHONE_ID, "to": [ALICE]})
}

#[tokio::test]
async fn a_status_fault_answers_the_next_matching_requests() {
    let sim = start().await;
    sim.inject(Fault::status(503).on("POST", "/v1/messages").times(2));
    let untouched = get(&sim, BUSINESS_KEY, "/v1/phone-numbers").await;
    assert_eq!(untouched.status, 200);
    for _ in 0..2 {
        let faulted = post(&sim, BUSINESS_KEY, "/v1/messages", &message()).await;
        assert_error(&faulted, 503, "0200503");
        assert!(faulted.headers.get("retry-after").is_none());
    }
    assert!(
        sim.sent_messages().is_empty(),
        "faulted requests are not processed"
    );
    let passes = post(&sim, BUSINESS_KEY, "/v1/messages", &message()).await;
    assert_eq!(passes.status, 202);
    let faults: Vec<Option<FaultAction>> = sim.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(
        faults[1],
        Some(FaultAction::Status {
            status: 503,
            body: None
        })
    );
    assert_eq!(faults[3], None);

    sim.inject(Fault {
        action: FaultAction::Status {
            status: 429,
            body: Some(json!({"message": "API rate limit exceeded"})),
        },
        ..Fault::status(0)
    });
    let custom = get(&sim, BUSINESS_KEY, "/v1/phone-numbers").await;
    assert_eq!(custom.status, 429);
    assert_eq!(custom.body, json!({"message": "API rate limit exceeded"}));
}

#[tokio::test]
async fn a_delay_fault_holds_the_answer() {
    let sim = start().await;
    sim.inject(Fault::delay(400).on("GET", "/v1/phone-numbers"));
    let started = Instant::now();
    let slow = get(&sim, BUSINESS_KEY, "/v1/phone-numbers").await;
    assert_eq!(slow.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let fast = get(&sim, BUSINESS_KEY, "/v1/phone-numbers").await;
    assert_eq!(fast.status, 200);
    assert!(started.elapsed() < Duration::from_millis(400));

    // A client that gives up early still caused the send: there is no idempotency key.
    sim.inject(Fault::delay(2_000).on("POST", "/v1/messages"));
    let result = reqwest::Client::new()
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("Authorization", BUSINESS_KEY)
        .timeout(Duration::from_millis(200))
        .json(&message())
        .send()
        .await;
    assert!(result.expect_err("times out").is_timeout());
    assert_eq!(sim.sent_messages().len(), 1);
}

#[tokio::test]
async fn a_drop_fault_closes_the_connection_without_an_answer() {
    let sim = start().await;
    let client = reqwest::Client::new();
    sim.inject(Fault::drop_connection().on("GET", "/v1/phone-numbers"));
    let dropped = client
        .get(format!("{}/v1/phone-numbers", sim.base_url()))
        .header("Authorization", BUSINESS_KEY)
        .send()
        .await;
    let error = dropped.expect_err("the connection is dropped");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    let next = client
        .get(format!("{}/v1/phone-numbers", sim.base_url()))
        .header("Authorization", BUSINESS_KEY)
        .send()
        .await
        .expect("the next request is answered");
    assert_eq!(next.status(), 200);

    sim.inject(Fault::drop_after_processing().on("POST", "/v1/messages"));
    let lost = client
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("Authorization", BUSINESS_KEY)
        .json(&message())
        .send()
        .await;
    assert!(lost.is_err());
    assert_eq!(sim.sent_messages().len(), 1, "processed before the drop");
    let statuses: Vec<Option<u16>> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![None, Some(200), None]);
}

#[tokio::test]
async fn faults_and_records_are_driven_over_http() {
    let sim = start().await;
    let client = reqwest::Client::new();
    let admin = |path: &str| format!("{}/__sim/{path}", sim.base_url());
    let injected: Value = client
        .post(admin("faults"))
        .json(&json!([
            {"kind": "status", "status": 502, "pathPrefix": "/v1/phone-numbers"},
            {"kind": "drop", "method": "GET", "pathPrefix": "/v1/calls", "times": 3}
        ]))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(injected["active"].as_array().map(Vec::len), Some(2));
    let faulted = get(&sim, BUSINESS_KEY, "/v1/phone-numbers").await;
    assert_error(&faulted, 502, "0400502");
    let single: Value = client
        .post(admin("faults"))
        .json(&json!({"kind": "delay", "ms": 1}))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(single["active"].as_array().map(Vec::len), Some(2));

    let requests: Vec<RecordedRequest> = client
        .get(admin("requests"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("recorded requests");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].status, Some(502));
    assert_eq!(requests[0].path, "/v1/phone-numbers");

    let bad = client
        .post(admin("faults"))
        .json(&json!({"kind": "explode"}))
        .send()
        .await
        .expect("answered");
    assert!(bad.status().is_client_error());

    let reset = client.post(admin("reset")).send().await.expect("answered");
    assert_eq!(reset.status(), 200);
    let faults: Value = client
        .get(admin("faults"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(faults["active"], json!([]));
    assert!(sim.requests().is_empty());
    let sent: Value = client
        .get(admin("sent-messages"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(sent, json!([]));
    let unknown = client.get(admin("nothing")).send().await.expect("answered");
    assert_eq!(unknown.status(), 404);
    assert!(sim.requests().is_empty(), "admin routes are not recorded");
}
