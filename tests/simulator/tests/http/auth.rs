//! The raw key in `Authorization` opens its workspace; anything else is `401`.

use openphone_sim::{
    BUSINESS_KEY, SALES_PHONE_ID, STANDARD_KEY, STANDARD_MAIN_PHONE_ID, SUPPORT_PHONE_ID,
};
use serde_json::Value;

use crate::support::{assert_error, get, start};

fn ids(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .filter_map(|item| item["id"].as_str())
        .collect()
}

#[tokio::test]
async fn the_raw_key_opens_its_own_workspace() {
    let sim = start().await;
    let business = get(&sim, BUSINESS_KEY, "/v1/phone-numbers").await;
    assert_eq!(business.status, 200);
    assert_eq!(ids(&business.body), vec![SALES_PHONE_ID, SUPPORT_PHONE_ID]);
    assert_eq!(business.body["data"][0]["name"], "Sales");
    assert_eq!(
        business.body["data"][0]["number"],
        openphone_sim::SALES_NUMBER
    );
    let standard = get(&sim, STANDARD_KEY, "/v1/phone-numbers").await;
    assert_eq!(ids(&standard.body)[0], STANDARD_MAIN_PHONE_ID);
    let agent = get(
        &sim,
        BUSINESS_KEY,
        &format!(
            "/v1/phone-numbers?userId={}",
            openphone_sim::BUSINESS_AGENT_ID
        ),
    )
    .await;
    assert_eq!(ids(&agent.body), vec![SUPPORT_PHONE_ID]);
    sim.assert_conformant();
    let recorded = sim.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[0].api_key.as_deref(), Some(BUSINESS_KEY));
    assert_eq!(
        recorded[0].operation_id.as_deref(),
        Some("listPhoneNumbers_v1")
    );
    assert_eq!(recorded[0].status, Some(200));
}

#[tokio::test]
async fn bearer_unknown_and_missing_keys_are_rejected() {
    let sim = start().await;
    let bearer = get(&sim, &format!("Bearer {BUSINESS_KEY}"), "/v1/phone-numbers").await;
    assert_error(&bearer, 401, "0400401");
    assert!(
        bearer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Bearer")),
        "{}",
        bearer.body
    );
    let unknown = get(&sim, "not-a-key", "/v1/phone-numbers").await;
    assert_error(&unknown, 401, "0400401");
    let response = reqwest::get(format!("{}/v1/phone-numbers", sim.base_url()))
        .await
        .expect("answered");
    assert_eq!(response.status(), 401);
    // Rejected requests are still recorded, with the header as sent.
    let recorded = sim.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[0].api_key, Some(format!("Bearer {BUSINESS_KEY}")));
    assert_eq!(recorded[2].api_key, None);
    assert!(recorded.iter().all(|r| r.status == Some(401)));
}
