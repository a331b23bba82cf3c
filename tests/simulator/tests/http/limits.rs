//! Ten requests per second per key; the eleventh within the second is `429`.

use std::time::Duration;

use openphone_sim::{BUSINESS_KEY, STANDARD_KEY};
use reqwest::StatusCode;
use tokio::task::JoinSet;

use crate::support::{get, start};

#[tokio::test]
async fn fifteen_requests_within_a_second_hit_the_limit() {
    let sim = start().await;
    let client = reqwest::Client::new();
    let mut burst = JoinSet::new();
    for _ in 0..15 {
        let request = client
            .get(format!("{}/v1/phone-numbers", sim.base_url()))
            .header("Authorization", BUSINESS_KEY);
        burst.spawn(async move { request.send().await.expect("answered") });
    }
    let mut ok = 0;
    let mut limited = Vec::new();
    while let Some(response) = burst.join_next().await {
        let response = response.expect("task");
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => limited.push(response),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(ok <= 10, "{ok} admitted");
    assert!(!limited.is_empty());
    let response = limited.pop().expect("a 429");
    assert!(response.headers().get("retry-after").is_none());
    let body: serde_json::Value = response.json().await.expect("json body");
    assert_eq!(body["code"], "0400429");
    assert_eq!(body["status"], 429);

    // Another key has its own budget.
    let other = get(&sim, STANDARD_KEY, "/v1/phone-numbers").await;
    assert_eq!(other.status, 200);
    // After a second the key may call again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let again = get(&sim, BUSINESS_KEY, "/v1/phone-numbers").await;
    assert_eq!(again.status, 200);
}
