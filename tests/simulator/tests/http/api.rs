//! The simulated endpoints answer from the seed, and remember what was created.

use std::collections::HashSet;

use openphone_sim::datetime::{format_ms, utc_ms};
use openphone_sim::{
    A2P_UNAPPROVED_NUMBER, ALICE, ARCHIVED_CONVERSATION_ID, BUSINESS_AGENT_ID,
    BUSINESS_CONVERSATIONS, BUSINESS_KEY, BUSINESS_OWNER_ID, CALL_TRANSCRIPT_ABSENT,
    CALL_TRANSCRIPT_COMPLETED, CALL_TRANSCRIPT_FAILED, CALL_TRANSCRIPT_IN_PROGRESS,
    CALL_WITHOUT_TRANSCRIPT, CAROL, CONTACT_ALICE_EXTERNAL_ID, CONTACT_ALICE_ID, NO_CREDITS_KEY,
    NO_CREDITS_PHONE_ID, SALES_ALICE_CALLS, SALES_ALICE_CONVERSATION_ID, SALES_ALICE_MESSAGES,
    SALES_NUMBER, SALES_PHONE_ID, STANDARD_CALL_ID, STANDARD_KEY, SUPPORT_PHONE_ID, Seed,
};
use serde_json::{Value, json};

use crate::support::{Answer, assert_error, enc, get, post, start, start_unlimited};

fn data(answer: &Answer) -> &Vec<Value> {
    answer.body["data"].as_array().expect("data is an array")
}

fn sales_alice(extra: &str) -> String {
    format!(
        "/v1/messages?phoneNumberId={SALES_PHONE_ID}&participants={}{extra}",
        enc(ALICE)
    )
}

#[tokio::test]
async fn a_sent_message_is_listed_and_retrievable() {
    let sim = start().await;
    let sent = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "Hello from the test", "from": SALES_PHONE_ID, "to": [ALICE]}),
    )
    .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let message = &sent.body["data"];
    let id = message["id"].as_str().expect("id");
    assert!(id.starts_with("AC"));
    assert_eq!(message["to"], json!([ALICE]));
    assert_eq!(message["from"], SALES_NUMBER);
    assert_eq!(message["text"], "Hello from the test");
    assert_eq!(message["phoneNumberId"], SALES_PHONE_ID);
    assert_eq!(message["direction"], "outgoing");
    assert_eq!(message["userId"], BUSINESS_OWNER_ID);
    assert_eq!(message["status"], "queued");

    let listed = get(&sim, BUSINESS_KEY, &sales_alice("&maxResults=5")).await;
    assert_eq!(listed.status, 200);
    assert_eq!(data(&listed)[0]["id"], id, "newest first");
    assert_eq!(listed.body["totalItems"], SALES_ALICE_MESSAGES + 1);

    let fetched = get(&sim, BUSINESS_KEY, &format!("/v1/messages/{id}")).await;
    assert_eq!(fetched.body["data"], *message);
    assert_eq!(sim.sent_messages(), vec![message.clone()]);

    // Sending by E.164 number works too, and a new participant gets a new conversation on top.
    let by_number = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "Hi Carol", "from": SALES_NUMBER, "to": [CAROL], "setInboxStatus": "done"}),
    )
    .await;
    assert_eq!(by_number.status, 202);
    let conversations = get(&sim, BUSINESS_KEY, "/v1/conversations?maxResults=1").await;
    assert_eq!(data(&conversations)[0]["participants"], json!([CAROL]));
    assert_eq!(data(&conversations)[0]["phoneNumberId"], SALES_PHONE_ID);
    assert_eq!(
        data(&conversations)[0]["lastActivityId"],
        by_number.body["data"]["id"]
    );
    sim.assert_conformant();
}

#[tokio::test]
async fn pagination_walks_every_message_once() {
    let sim = start().await;
    let mut seen = HashSet::new();
    let mut page_sizes = Vec::new();
    let mut token: Option<String> = None;
    let mut previous_created: Option<String> = None;
    loop {
        let page_query = token
            .as_deref()
            .map(|t| format!("&pageToken={t}"))
            .unwrap_or_default();
        let page = get(
            &sim,
            BUSINESS_KEY,
            &sales_alice(&format!("&maxResults=50{page_query}")),
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        page_sizes.push(data(&page).len());
        for message in data(&page) {
            let id = message["id"].as_str().expect("id").to_owned();
            assert!(seen.insert(id.clone()), "{id} returned twice");
            let created = message["createdAt"].as_str().expect("createdAt").to_owned();
            if let Some(previous) = &previous_created {
                assert!(
                    created < *previous,
                    "newest first: {created} after {previous}"
                );
            }
            previous_created = Some(created);
        }
        match &page.body["nextPageToken"] {
            Value::String(next) => token = Some(next.clone()),
            Value::Null => break,
            other => panic!("nextPageToken {other}"),
        }
    }
    assert_eq!(page_sizes, vec![50, 50, 20]);
    assert_eq!(seen.len(), SALES_ALICE_MESSAGES);
    sim.assert_conformant();
}

#[tokio::test]
async fn message_filters_apply() {
    let sim = start().await;
    let seed = Seed::default();
    let business = seed.workspace(BUSINESS_KEY).expect("business");
    let cutoff = utc_ms(2025, 11, 5, 0, 0, 0);
    let expected = business
        .messages
        .iter()
        .filter(|m| m.phone_number_id == SALES_PHONE_ID && m.participant == ALICE)
        .filter(|m| m.created_ms > cutoff)
        .count();
    let after = get(
        &sim,
        BUSINESS_KEY,
        &sales_alice(&format!(
            "&maxResults=100&createdAfter={}",
            enc(&format_ms(cutoff))
        )),
    )
    .await;
    assert_eq!(after.body["totalItems"], expected);
    assert!(expected > 0 && expected < SALES_ALICE_MESSAGES);
    // Participants must match the conversation exactly.
    let both = get(
        &sim,
        BUSINESS_KEY,
        &sales_alice(&format!("&participants={}&maxResults=10", enc(CAROL))),
    )
    .await;
    assert_eq!(data(&both).len(), 0);
    let unknown = get(&sim, BUSINESS_KEY, "/v1/messages/ACdoesnotexist").await;
    assert_error(&unknown, 404, "0200404");
    sim.assert_conformant();
}

#[tokio::test]
async fn documented_send_errors_are_reachable() {
    let sim = start().await;
    let a2p = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "hi", "from": SALES_PHONE_ID, "to": [A2P_UNAPPROVED_NUMBER]}),
    )
    .await;
    assert_error(&a2p, 400, "0206400");
    assert_eq!(a2p.body["title"], "A2P Registration Not Approved");
    let broke = post(
        &sim,
        NO_CREDITS_KEY,
        "/v1/messages",
        &json!({"content": "hi", "from": NO_CREDITS_PHONE_ID, "to": [ALICE]}),
    )
    .await;
    assert_error(&broke, 402, "0200402");
    let not_user = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "hi", "from": SALES_PHONE_ID, "to": [ALICE], "userId": BUSINESS_AGENT_ID}),
    )
    .await;
    assert_error(&not_user, 403, "0202403");
    let foreign = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "hi", "from": "+19995550100", "to": [ALICE]}),
    )
    .await;
    assert_error(&foreign, 404, "0200404");
    // The agent may send from Support.
    let agent = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "hi", "from": SUPPORT_PHONE_ID, "to": [ALICE], "userId": BUSINESS_AGENT_ID}),
    )
    .await;
    assert_eq!(agent.status, 202);
    assert_eq!(sim.sent_messages().len(), 1);
    sim.assert_conformant();
}

#[tokio::test]
async fn transcripts_depend_on_plan_and_state() {
    let sim = start().await;
    let transcript = |id: &str| format!("/v1/call-transcripts/{id}");
    let completed = get(&sim, BUSINESS_KEY, &transcript(CALL_TRANSCRIPT_COMPLETED)).await;
    assert_eq!(completed.status, 200);
    assert_eq!(completed.body["data"]["status"], "completed");
    assert_eq!(completed.body["data"]["callId"], CALL_TRANSCRIPT_COMPLETED);
    let dialogue = completed.body["data"]["dialogue"]
        .as_array()
        .expect("dialogue");
    assert_eq!(dialogue.len(), 4);
    assert_eq!(dialogue[0]["identifier"], SALES_NUMBER);
    for (id, status) in [
        (CALL_TRANSCRIPT_IN_PROGRESS, "in-progress"),
        (CALL_TRANSCRIPT_ABSENT, "absent"),
        (CALL_TRANSCRIPT_FAILED, "failed"),
    ] {
        let answer = get(&sim, BUSINESS_KEY, &transcript(id)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["data"]["status"], status);
        assert_eq!(answer.body["data"]["dialogue"], Value::Null);
    }
    let missing = get(&sim, BUSINESS_KEY, &transcript(CALL_WITHOUT_TRANSCRIPT)).await;
    assert_error(&missing, 404, "0600404");
    let standard = get(&sim, STANDARD_KEY, &transcript(STANDARD_CALL_ID)).await;
    assert_error(&standard, 403, "0600403");
    sim.assert_conformant();
}

#[tokio::test]
async fn calls_are_listed_per_participant_and_paginated() {
    let sim = start().await;
    let path = format!(
        "/v1/calls?phoneNumberId={SALES_PHONE_ID}&participants={}&maxResults=3",
        enc(ALICE)
    );
    let first = get(&sim, BUSINESS_KEY, &path).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["totalItems"], SALES_ALICE_CALLS);
    assert_eq!(data(&first).len(), 3);
    assert_eq!(
        data(&first)[0]["id"],
        CALL_TRANSCRIPT_IN_PROGRESS,
        "newest first"
    );
    assert_eq!(data(&first)[0]["participants"][0], ALICE);
    let token = first.body["nextPageToken"].as_str().expect("more calls");
    let second = get(&sim, BUSINESS_KEY, &format!("{path}&pageToken={token}")).await;
    assert_eq!(data(&second).len(), 1);
    assert_eq!(second.body["nextPageToken"], Value::Null);
    let foreign = get(
        &sim,
        STANDARD_KEY,
        &format!(
            "/v1/calls?phoneNumberId={SALES_PHONE_ID}&participants={}&maxResults=3",
            enc(ALICE)
        ),
    )
    .await;
    assert_error(&foreign, 404, "0100404");
    sim.assert_conformant();
}

#[tokio::test]
async fn conversations_are_most_recent_first() {
    let sim = start().await;
    let all = get(&sim, BUSINESS_KEY, "/v1/conversations?maxResults=100").await;
    assert_eq!(all.status, 200);
    assert_eq!(data(&all).len(), BUSINESS_CONVERSATIONS);
    let activity: Vec<&str> = data(&all)
        .iter()
        .filter_map(|c| c["lastActivityAt"].as_str())
        .collect();
    let mut sorted = activity.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(activity, sorted);
    let active = get(
        &sim,
        BUSINESS_KEY,
        &format!("/v1/conversations?maxResults=100&excludeInactive=true&phoneNumbers={SALES_PHONE_ID}&phoneNumbers={}", enc(openphone_sim::SUPPORT_NUMBER)),
    )
    .await;
    let ids: Vec<&str> = data(&active)
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids.len(), BUSINESS_CONVERSATIONS - 1);
    assert!(!ids.contains(&ARCHIVED_CONVERSATION_ID));
    assert!(ids.contains(&SALES_ALICE_CONVERSATION_ID));
    let sales_only = get(
        &sim,
        BUSINESS_KEY,
        &format!("/v1/conversations?maxResults=1&phoneNumbers={SALES_PHONE_ID}"),
    )
    .await;
    assert_eq!(sales_only.body["totalItems"], 2);
    assert!(sales_only.body["nextPageToken"].is_string());
    sim.assert_conformant();
}

#[tokio::test]
async fn contacts_are_created_found_and_listed() {
    let sim = start_unlimited().await;
    let seeded = get(
        &sim,
        BUSINESS_KEY,
        &format!("/v1/contacts/{CONTACT_ALICE_ID}"),
    )
    .await;
    assert_eq!(seeded.status, 200);
    assert_eq!(seeded.body["data"]["defaultFields"]["firstName"], "Alice");
    assert_eq!(seeded.body["data"]["customFields"][0]["key"], "lifecycle");

    let created = post(
        &sim,
        BUSINESS_KEY,
        "/v1/contacts",
        &json!({
            "defaultFields": {
                "firstName": "Erin",
                "lastName": "Evans",
                "phoneNumbers": [{"name": "mobile", "value": "+14155550155"}],
                "emails": [{"name": "work", "value": "erin@example.com"}]
            },
            "customFields": [{"key": "vip", "value": true}],
            "externalId": "crm-9001"
        }),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let contact = &created.body["data"];
    assert_eq!(contact["source"], "public-api");
    assert_eq!(contact["createdByUserId"], BUSINESS_OWNER_ID);
    assert_eq!(contact["customFields"][0]["type"], "boolean");
    let id = contact["id"].as_str().expect("id");
    let fetched = get(&sim, BUSINESS_KEY, &format!("/v1/contacts/{id}")).await;
    assert_eq!(fetched.body["data"], *contact);

    let listed = get(
        &sim,
        BUSINESS_KEY,
        &format!("/v1/contacts?externalIds=crm-9001&externalIds={CONTACT_ALICE_EXTERNAL_ID}&maxResults=50"),
    )
    .await;
    assert_eq!(listed.status, 200);
    assert_eq!(data(&listed).len(), 2);
    assert_eq!(data(&listed)[0]["id"], id, "newest first");
    let by_source = get(
        &sim,
        BUSINESS_KEY,
        &format!("/v1/contacts?externalIds=crm-9001&externalIds={CONTACT_ALICE_EXTERNAL_ID}&sources=crm-sync&maxResults=50"),
    )
    .await;
    assert_eq!(data(&by_source).len(), 1);

    let bad_field = post(
        &sim,
        BUSINESS_KEY,
        "/v1/contacts",
        &json!({"defaultFields": {"firstName": "X"}, "customFields": [{"key": "nope", "value": "1"}]}),
    )
    .await;
    assert_error(&bad_field, 400, "0801400");
    let other_workspace = get(&sim, STANDARD_KEY, &format!("/v1/contacts/{id}")).await;
    assert_error(&other_workspace, 404, "0800404");
    let fields = get(&sim, BUSINESS_KEY, "/v1/contact-custom-fields").await;
    assert_eq!(data(&fields).len(), 4);
    sim.assert_conformant();
}

#[tokio::test]
async fn undocumented_by_the_simulator_answers_404_and_reset_restores() {
    let sim = start().await;
    let webhooks = get(&sim, BUSINESS_KEY, "/v1/webhooks").await;
    assert_eq!(webhooks.status, 404);
    let code = webhooks.body["code"].as_str().expect("code");
    assert!(code.len() == 7 && code.ends_with("404"), "{code}");
    assert!(
        webhooks.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("not simulated"))
    );
    let sent = post(
        &sim,
        BUSINESS_KEY,
        "/v1/messages",
        &json!({"content": "before reset", "from": SALES_PHONE_ID, "to": [ALICE]}),
    )
    .await;
    assert_eq!(sent.status, 202);
    sim.reset();
    assert!(sim.sent_messages().is_empty());
    assert!(sim.requests().is_empty());
    let listed = get(&sim, BUSINESS_KEY, &sales_alice("&maxResults=1")).await;
    assert_eq!(listed.body["totalItems"], SALES_ALICE_MESSAGES);
    sim.assert_conformant();
}
