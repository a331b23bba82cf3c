//! A real MCP client (the official Rust SDK, rmcp) over stdio and
//! Streamable HTTP: initialize, tools/list, send-message.

use std::process::Stdio;

use openphone_sim::{BUSINESS_KEY, Simulator};
use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::json;

use crate::harness::{self, Server};

fn send_args(to: &str, content: &str) -> serde_json::Map<String, serde_json::Value> {
    json!({ "from": openphone_sim::SALES_PHONE_ID, "to": to, "content": content })
        .as_object()
        .cloned()
        .unwrap()
}

async fn exercise(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    sim: &Simulator,
    content: &str,
) {
    let info = client.peer_info().expect("initialized");
    assert_eq!(
        info.server_info.as_ref().map(|s| s.name.as_str()),
        Some("openphone-mcp")
    );
    let tools = client.list_all_tools().await.expect("tools/list");
    let send = tools
        .iter()
        .find(|t| t.name == "send-message")
        .expect("send-message listed");
    assert_eq!(send.input_schema["type"], "object");
    assert!(send.output_schema.is_some());
    assert_eq!(
        send.annotations.as_ref().and_then(|a| a.open_world_hint),
        Some(true)
    );

    let result = client
        .call_tool(
            CallToolRequestParams::new("send-message")
                .with_arguments(send_args(openphone_sim::ALICE, content)),
        )
        .await
        .expect("tools/call");
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let structured = result.structured_content.expect("structured content");
    assert!(
        structured["id"].as_str().unwrap().starts_with("AC"),
        "{structured}"
    );
    assert_eq!(structured["to"], openphone_sim::ALICE);

    let sent = sim.sent_messages();
    assert!(
        sent.iter()
            .any(|m| m["text"] == content && m["to"][0] == openphone_sim::ALICE),
        "simulator did not receive the message: {sent:?}"
    );

    // Bad input: a tool error the model can act on, not a protocol error.
    let result = client
        .call_tool(
            CallToolRequestParams::new("send-message")
                .with_arguments(send_args("555-0100", content)),
        )
        .await
        .expect("tools/call");
    assert_eq!(result.is_error, Some(true));
    let text = format!("{:?}", result.content);
    assert!(text.contains("`to`") && text.contains("E.164"), "{text}");
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_client_sends_a_message() {
    let sim = Simulator::start().await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut cmd = harness::command(&sim, BUSINESS_KEY, data_dir.path());
    cmd.arg("stdio");
    let (transport, stderr) = TokioChildProcess::builder(tokio::process::Command::from(cmd))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stdio server");
    // Drain stderr from the start so the server never blocks on a full pipe.
    let stderr = stderr.expect("piped stderr");
    let logs = tokio::spawn(async move {
        use tokio::io::AsyncReadExt as _;
        let mut logs = String::new();
        let mut stderr = stderr;
        let _ = stderr.read_to_string(&mut logs).await;
        logs
    });
    let client = ().serve(transport).await.expect("initialize over stdio");
    exercise(&client, &sim, "Hello over stdio").await;
    client.cancel().await.unwrap();
    // The server logged to stderr, never the key or a full phone number.
    let logs = tokio::time::timeout(std::time::Duration::from_secs(30), logs)
        .await
        .expect("the server exits when its input closes")
        .unwrap();
    assert!(logs.contains("tool call"), "{logs}");
    let lines: Vec<String> = logs.lines().map(str::to_owned).collect();
    harness::assert_no_secret(&lines, &[BUSINESS_KEY, openphone_sim::ALICE]);
}

#[tokio::test(flavor = "multi_thread")]
async fn http_client_sends_a_message() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let transport = StreamableHttpClientTransport::from_uri(server.url());
    let client = ().serve(transport).await.expect("initialize over HTTP");
    exercise(&client, &sim, "Hello over HTTP").await;
    client.cancel().await.unwrap();
    let logs = server.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("tool call") && l.contains("\"outcome\":\"ok\"")),
        "{logs:?}"
    );
    harness::assert_no_secret(&logs, &[BUSINESS_KEY, openphone_sim::ALICE]);
}
