//! Requests that depart from the spec are answered `400` and recorded as violations.

use std::panic::{AssertUnwindSafe, catch_unwind};

use openphone_sim::{ALICE, BUSINESS_KEY, SALES_PHONE_ID, Violation};
use serde_json::json;

use crate::support::{enc, get, post, start};

#[tokio::test]
async fn violations_are_answered_and_recorded() {
    let sim = start().await;
    let good = format!(
        "/v1/messages?phoneNumberId={SALES_PHONE_ID}&participants={}&maxResults=10",
        enc(ALICE)
    );
    assert_eq!(get(&sim, BUSINESS_KEY, &good).await.status, 200);
    sim.assert_conformant();

    let literal_plus =
        format!("/v1/messages?phoneNumberId={SALES_PHONE_ID}&participants={ALICE}&maxResults=10");
    let answer = get(&sim, BUSINESS_KEY, &literal_plus).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["simulatorViolation"], true);
    assert_eq!(answer.body["code"], "0200400");
    assert!(
        answer.body["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("participants"))
    );

    let no_max = format!(
        "/v1/messages?phoneNumberId={SALES_PHONE_ID}&participants={}",
        enc(ALICE)
    );
    assert_eq!(get(&sim, BUSINESS_KEY, &no_max).await.status, 400);

    let long = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "x".repeat(1601), "from": SALES_PHONE_ID, "to": [ALICE]}),
    )
    .await;
    assert_eq!(long.status, 400);
    let two = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "hi", "from": SALES_PHONE_ID, "to": [ALICE, "+14155550122"]}),
    )
    .await;
    assert_eq!(two.status, 400);
    let text = reqwest::Client::new()
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("Authorization", BUSINESS_KEY)
        .header("Content-Type", "text/plain")
        .body(r#"{"content":"hi","from":"PNbizSales001","to":["+14155550111"]}"#)
        .send()
        .await
        .expect("answered");
    assert_eq!(text.status(), 400);
    let unknown = get(&sim, BUSINESS_KEY, "/v1/messagez").await;
    assert_eq!(unknown.status, 404);
    // Violations are recorded even when the request is rejected for another reason first.
    let unauthenticated = get(&sim, "", &literal_plus).await;
    assert_eq!(unauthenticated.status, 401);
    assert!(sim.sent_messages().is_empty());

    let violations = sim.violations();
    let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/v1/messages",
            "/v1/messages",
            "/v1/messages",
            "/v1/messages",
            "/v1/messages",
            "/v1/messagez",
            "/v1/messages"
        ]
    );
    assert_eq!(violations[0].seq, 2);
    assert_eq!(
        violations[0].query.as_deref(),
        literal_plus.split_once('?').map(|(_, q)| q)
    );
    assert!(
        violations[1]
            .problems
            .iter()
            .any(|p| p.contains("maxResults"))
    );
    assert!(
        violations[2]
            .problems
            .iter()
            .any(|p| p.contains("/content"))
    );
    assert!(violations[3].problems.iter().any(|p| p.contains("/to")));
    assert!(
        violations[4]
            .problems
            .iter()
            .any(|p| p.contains("Content-Type"))
    );

    let over_http: Vec<Violation> = reqwest::get(format!("{}/__sim/violations", sim.base_url()))
        .await
        .expect("answered")
        .json()
        .await
        .expect("violations");
    assert_eq!(over_http, violations);

    let failure = catch_unwind(AssertUnwindSafe(|| sim.assert_conformant()))
        .expect_err("assert_conformant panics");
    let report = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(report.contains("7 request(s)"), "{report}");
    assert!(report.contains("/v1/messagez"), "{report}");
}
