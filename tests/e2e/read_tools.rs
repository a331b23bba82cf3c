//! fetch-messages and fetch-call-transcripts through the host against the
//! simulator: pagination, conversations, transcript states, plan gating.

use openphone_sim::{BUSINESS_KEY, STANDARD_KEY, Simulator};
use serde_json::{Value, json};

use crate::harness::Server;
use crate::http_rules::Session;

async fn call(session: &Session, tool: &str, arguments: Value) -> (Value, String) {
    let reply = session
        .request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )
        .await;
    let result = reply["result"].clone();
    assert!(result.is_object(), "{reply}");
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (result, text)
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_messages_follows_pages_and_conversations() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;

    // One participant, more than one page (the API pages at 100 at most).
    let (result, text) = call(
        &session,
        "fetch-messages",
        json!({ "inbox": openphone_sim::SALES_NUMBER, "participant": openphone_sim::ALICE, "maxResults": 100 }),
    )
    .await;
    assert_eq!(result["isError"], false, "{text}");
    let messages = result["structuredContent"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 100);
    let mut ids: Vec<&str> = messages.iter().map(|m| m["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 100, "duplicates across pages");
    assert!(
        messages
            .iter()
            .all(|m| m["counterpart"] == openphone_sim::ALICE)
    );
    let times: Vec<&str> = messages
        .iter()
        .map(|m| m["createdAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    assert_eq!(result["structuredContent"]["truncated"], true);

    // No participant: the most recent conversations first.
    let (result, text) = call(
        &session,
        "fetch-messages",
        json!({ "inbox": openphone_sim::SALES_PHONE_ID, "maxResults": 10 }),
    )
    .await;
    assert_eq!(result["isError"], false, "{text}");
    assert_eq!(
        result["structuredContent"]["messages"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert!(
        !result["structuredContent"]["conversations"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Bad input names the field.
    let (result, text) = call(
        &session,
        "fetch-messages",
        json!({ "inbox": "+19995550000" }),
    )
    .await;
    assert_eq!(result["isError"], true);
    assert!(
        text.contains("`inbox`") && text.contains(openphone_sim::SALES_NUMBER),
        "{text}"
    );
    let (result, text) = call(
        &session,
        "fetch-messages",
        json!({ "inbox": openphone_sim::SALES_PHONE_ID, "maxResults": 500 }),
    )
    .await;
    assert_eq!(result["isError"], true);
    assert!(text.contains("maxResults"), "{text}");
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_call_transcripts_tells_the_states_apart() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;
    let (result, text) = call(
        &session,
        "fetch-call-transcripts",
        json!({ "inbox": openphone_sim::SALES_PHONE_ID, "participant": openphone_sim::ALICE }),
    )
    .await;
    assert_eq!(result["isError"], false, "{text}");
    let calls = result["structuredContent"]["calls"].as_array().unwrap();
    let state = |id: &str| {
        calls.iter().find(|c| c["id"] == id).map(|c| {
            c["transcript"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
    };
    assert_eq!(state("ACbizCall0001").as_deref(), Some("completed"));
    assert_eq!(state("ACbizCall0002").as_deref(), Some("in-progress"));
    assert_eq!(state("ACbizCall0003").as_deref(), Some("absent"));
    assert_eq!(state("ACbizCall0004").as_deref(), Some("absent"));
    let completed = calls.iter().find(|c| c["id"] == "ACbizCall0001").unwrap();
    let line = &completed["transcript"]["dialogue"][0];
    assert!(
        line["content"].is_string() && line["start"].is_number() && line["end"].is_number(),
        "{line}"
    );
    sim.assert_conformant();

    // A plan without transcripts: one clear message, not one error per call.
    let server = Server::start(&sim, STANDARD_KEY, &[]);
    let session = Session::open(&server.url()).await;
    let (result, text) = call(
        &session,
        "fetch-call-transcripts",
        json!({ "inbox": openphone_sim::STANDARD_MAIN_PHONE_ID, "participant": openphone_sim::ALICE }),
    )
    .await;
    assert_eq!(result["isError"], false, "{text}");
    let notice = result["structuredContent"]["transcriptsNotice"]
        .as_str()
        .unwrap_or_default();
    assert!(
        notice.contains("plan does not include call transcripts"),
        "{notice}"
    );
    assert_eq!(
        text.matches("plan does not include call transcripts")
            .count(),
        1,
        "{text}"
    );
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn create_contact_reports_each_outcome() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;
    let (result, text) = call(
        &session,
        "create-contact",
        json!({ "contacts": [
            { "firstName": "Ana", "lastName": "Díaz", "company": "Acme", "externalId": "crm-9001",
              "emails": [{ "value": "ana@example.com" }], "phoneNumbers": [{ "name": "mobile", "value": "+1 415 555 0177" }] },
            { "firstName": "Bo" }
        ]}),
    )
    .await;
    assert_eq!(result["isError"], false, "{text}");
    assert_eq!(result["structuredContent"]["created"], 2, "{text}");
    let contacts = result["structuredContent"]["contacts"].as_array().unwrap();
    assert!(
        contacts
            .iter()
            .all(|c| c["status"] == "created" && c["id"].is_string()),
        "{contacts:?}"
    );
    let posted: Vec<Value> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/contacts")
        .filter_map(|r| r.body.and_then(|b| serde_json::from_str(&b).ok()))
        .collect();
    assert_eq!(posted.len(), 2);
    assert_eq!(
        posted[0]["defaultFields"]["phoneNumbers"][0]["value"],
        "+14155550177"
    );
    assert_eq!(posted[0]["externalId"], "crm-9001");

    let (result, text) = call(
        &session,
        "create-contact",
        json!({ "contacts": [{ "firstName": "Sam", "emails": [{ "value": "sam.example.com" }] }] }),
    )
    .await;
    assert_eq!(result["isError"], true);
    assert!(text.contains("contacts[0].emails[0].value"), "{text}");
    sim.assert_conformant();
}
