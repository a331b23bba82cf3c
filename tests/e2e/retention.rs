//! Nothing kept past its promise: what read tools return is never written,
//! expired records are deleted from the store file, and one user's sessions
//! are capped.

use openphone_sim::{BOB, BUSINESS_KEY, SALES_PHONE_ID, Simulator};
use redb::{ReadableDatabase as _, ReadableTableMetadata as _, TableDefinition};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{self, Server};
use crate::http_rules::Session;

/// Entries (expired or not) in `table` of the store in `data_dir`; the
/// server must have stopped.
fn entries(data_dir: &std::path::Path, table: &str) -> u64 {
    let db = redb::Database::open(data_dir.join("state.redb")).unwrap();
    let txn = db.begin_read().unwrap();
    match txn.open_table(TableDefinition::<&str, &[u8]>::new(table)) {
        Ok(t) => t.len().unwrap(),
        Err(redb::TableError::TableDoesNotExist(_)) => 0,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_read_tool_returns_never_reaches_the_store() {
    let sim = Simulator::start().await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let dir = harness::path_str(data_dir.path()).to_owned();
    let server = Server::start(&sim, BUSINESS_KEY, &["--data-dir", &dir]);
    let session = Session::open(&server.url()).await;
    let reply = session
        .request(
            "tools/call",
            json!({"name":"fetch-messages","arguments":{"inbox": SALES_PHONE_ID, "participant": BOB, "maxResults": 5}}),
        )
        .await;
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    let texts: Vec<String> = reply["result"]["structuredContent"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(!texts.is_empty());
    // The same request again runs again (it is not answered from a record).
    let before = sim.requests().len();
    session
        .request_with_id(
            reply["id"].clone(),
            "tools/call",
            json!({"name":"fetch-messages","arguments":{
            "inbox": SALES_PHONE_ID, "participant": BOB, "maxResults": 5}}),
        )
        .await;
    assert!(sim.requests().len() > before);
    drop(session);
    drop(server);
    let file = std::fs::read(data_dir.path().join("state.redb")).unwrap();
    for text in &texts {
        assert!(
            !file.windows(text.len()).any(|w| w == text.as_bytes()),
            "`{text}` is in the store file"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_outcomes_are_deleted_by_the_sweep() {
    let sim = Simulator::start().await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let dir = harness::path_str(data_dir.path()).to_owned();
    let server = Server::start(
        &sim,
        BUSINESS_KEY,
        &[
            "--data-dir",
            &dir,
            "--record-ttl-secs",
            "2",
            "--sweep-interval-secs",
            "1",
        ],
    );
    let session = Session::open(&server.url()).await;
    for n in 0..30 {
        // Half with an idempotency key, half recorded as JSON-RPC requests.
        let mut arguments =
            json!({"from": SALES_PHONE_ID, "to": BOB, "content": format!("Reminder {n}")});
        if n % 2 == 0 {
            arguments["idempotencyKey"] = json!(format!("reminder-{n}"));
        }
        let reply = session
            .request(
                "tools/call",
                json!({"name": "send-message", "arguments": arguments}),
            )
            .await;
        assert_eq!(reply["result"]["isError"], false, "{reply}");
    }
    // Kept while promised: a retry inside the TTL is answered from the record.
    let again = session
        .request(
            "tools/call",
            json!({"name":"send-message","arguments":{"from": SALES_PHONE_ID, "to": BOB,
                "content": "Reminder 28", "idempotencyKey": "reminder-28"}}),
        )
        .await;
    assert_eq!(
        again["result"]["_meta"]["io.github.openphone-mcp/replayed"],
        true
    );
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    drop(session);
    drop(server);
    assert_eq!(
        entries(data_dir.path(), "call_outcomes"),
        0,
        "every expired outcome is gone"
    );
    assert_eq!(sim.sent_messages().len(), 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_user_holds_a_bounded_number_of_sessions() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let first = Session::open(&server.url()).await;
    let mut later = Vec::new();
    for _ in 0..64 {
        later.push(Session::open(&server.url()).await);
    }
    // The least recently used (the first) was ended to make room.
    let ended = first
        .post(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
        .await;
    assert_eq!(ended.status(), StatusCode::NOT_FOUND);
    for session in [&later[0], &later[63]] {
        let reply: Value = session.request("ping", json!({})).await;
        assert!(reply["result"].is_object(), "{reply}");
    }
}
