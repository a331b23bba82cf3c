//! The `tools/list` a client sees, compared with a committed snapshot.
//!
//! Tool names, descriptions and schemas are an interface models and users
//! depend on: any change must be deliberate. To accept a change, run
//! `OPENPHONE_MCP_UPDATE_GOLDEN=1 cargo test -p openphone-mcp --test e2e golden`
//! and commit `tests/e2e/golden/tools-list.json`.

use openphone_sim::{BUSINESS_KEY, Simulator};
use serde_json::{Value, json};

use crate::harness::Server;
use crate::http_rules::Session;

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/e2e/golden/tools-list.json"
);

#[tokio::test(flavor = "multi_thread")]
async fn tools_list_matches_the_golden_snapshot() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;
    let reply = session.request("tools/list", json!({})).await;
    let tools = &reply["result"]["tools"];
    assert!(tools.is_array(), "{reply}");
    let actual = serde_json::to_string_pretty(tools).unwrap() + "\n";

    if std::env::var_os("OPENPHONE_MCP_UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(GOLDEN).unwrap_or_default();
    let expected_value: Value = serde_json::from_str(&expected).unwrap_or(Value::Null);
    assert!(
        expected_value == *tools,
        "tools/list differs from {GOLDEN}.\nIf the change is intended, regenerate it with \
         OPENPHONE_MCP_UPDATE_GOLDEN=1 cargo test -p openphone-mcp --test e2e golden\n--- actual ---\n{actual}"
    );
}
