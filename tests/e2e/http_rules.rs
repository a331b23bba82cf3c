//! Streamable HTTP rules, checked with raw HTTP requests.

use std::sync::atomic::{AtomicI64, Ordering};

use openphone_sim::{BUSINESS_KEY, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::Server;

const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// A raw MCP session over HTTP.
pub struct Session {
    pub client: reqwest::Client,
    pub url: String,
    pub id: String,
    pub version: String,
    next_id: AtomicI64,
}

impl Session {
    pub async fn open(url: &str) -> Session {
        Session::open_with_version(url, "2025-11-25").await
    }

    pub async fn open_with_version(url: &str, version: &str) -> Session {
        Session::open_as(url, version, "e2e").await
    }

    /// Initializes a session as a client named `client` (`clientInfo.name`).
    pub async fn open_as(url: &str, version: &str, client_name: &str) -> Session {
        Session::open_with_client(url, version, client_name, reqwest::Client::new()).await
    }

    /// Initializes a session whose requests carry `User-Agent: user_agent`.
    pub async fn open_with_agent(url: &str, user_agent: &str) -> Session {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .build()
            .unwrap();
        Session::open_with_client(url, "2025-11-25", "e2e", client).await
    }

    async fn open_with_client(
        url: &str,
        version: &str,
        client_name: &str,
        client: reqwest::Client,
    ) -> Session {
        let mut init = initialize(version);
        init["params"]["clientInfo"]["name"] = json!(client_name);
        let response = client
            .post(url)
            .header("accept", ACCEPT_BOTH)
            .json(&init)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["result"]["protocolVersion"], version);
        let session = Session {
            client,
            url: url.to_owned(),
            id,
            version: version.to_owned(),
            next_id: AtomicI64::new(10),
        };
        let response = session
            .post(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        session
    }

    /// POSTs `body` with this session's headers.
    pub async fn post(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(&self.url)
            .header("accept", ACCEPT_BOTH)
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", &self.version)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Sends a request and returns the JSON-RPC response.
    pub async fn request(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.request_with_id(json!(id), method, params).await
    }

    /// Sends a request with the given JSON-RPC id (a retry reuses one).
    pub async fn request_with_id(&self, id: Value, method: &str, params: Value) -> Value {
        let response = self
            .post(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let reply: Value = response.json().await.unwrap();
        assert_eq!(reply["id"], id);
        reply
    }
}

/// The tool names of a `tools/list` reply.
pub fn tool_names(reply: &Value) -> Vec<String> {
    reply["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The JSON messages of an SSE response body.
pub fn sse_events(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect()
}

fn initialize(version: &str) -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name":"e2e","version":"1"}}})
}

#[tokio::test(flavor = "multi_thread")]
async fn streamable_http_rules() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let url = server.url();
    let http = reqwest::Client::new();
    let session = Session::open(&url).await;
    let ping = json!({"jsonrpc":"2.0","id":"p-1","method":"ping"});

    // A ping in the session: JSON, id echoed as given (a string).
    let reply = session.request("ping", json!({})).await;
    assert_eq!(reply["result"], json!({}));
    let response = session.post(&ping).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.json::<Value>().await.unwrap()["id"], "p-1");

    // Accept must offer both JSON and SSE.
    let response = http
        .post(&url)
        .header("accept", "application/json")
        .header("mcp-session-id", &session.id)
        .json(&ping)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);

    // The body must be JSON.
    let response = http
        .post(&url)
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "text/plain")
        .header("mcp-session-id", &session.id)
        .body(ping.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Unparseable JSON: 400 with a JSON-RPC parse error.
    let response = http
        .post(&url)
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("mcp-session-id", &session.id)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        -32700
    );

    // No session id after initialize: 400; an unknown one: 404.
    let response = http
        .post(&url)
        .header("accept", ACCEPT_BOTH)
        .json(&ping)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = http
        .post(&url)
        .header("accept", ACCEPT_BOTH)
        .header("mcp-session-id", "0123456789abcdef0123456789abcdef")
        .json(&ping)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // A protocol version header that is unsupported, or not the negotiated one: 400.
    for version in ["1999-01-01", "2025-06-18"] {
        let response = http
            .post(&url)
            .header("accept", ACCEPT_BOTH)
            .header("mcp-session-id", &session.id)
            .header("mcp-protocol-version", version)
            .json(&ping)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{version}");
    }

    // Unknown method: JSON-RPC -32601.
    let reply = session.request("resources/list", json!({})).await;
    assert_eq!(reply["error"]["code"], -32601);

    // A notification alone: 202, no body.
    let response = session
        .post(&json!({"jsonrpc":"2.0","method":"notifications/whatever"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.text().await.unwrap().is_empty());

    // No server-initiated stream: GET is 405.
    let response = http
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Batches are not part of 2025-11-25.
    let response = session.post(&json!([ping, ping])).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        -32600
    );

    // DELETE ends the session; it is then unknown.
    let response = http
        .delete(&url)
        .header("mcp-session-id", &session.id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = session.post(&ping).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_under_2025_03_26_and_version_negotiation() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open_with_version(&server.url(), "2025-03-26").await;
    let response = session
        .post(&json!([
            {"jsonrpc":"2.0","id":1,"method":"ping"},
            {"jsonrpc":"2.0","method":"notifications/progress","params":{}},
            {"jsonrpc":"2.0","id":2,"method":"tools/list"}
        ]))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let replies: Value = response.json().await.unwrap();
    let replies = replies.as_array().expect("a batch answer");
    assert_eq!(replies.len(), 2);
    assert!(
        replies
            .iter()
            .any(|r| r["id"] == 2 && r["result"]["tools"].is_array())
    );

    // An unknown version is answered with the latest one.
    let response = reqwest::Client::new()
        .post(server.url())
        .header("accept", ACCEPT_BOTH)
        .json(&initialize("2099-01-01"))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25");
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_rebinding_is_refused() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(
        &sim,
        BUSINESS_KEY,
        &["--allowed-origin", "https://app.example.com"],
    );
    let http = reqwest::Client::new();
    let init = initialize("2025-11-25");
    let send = |origin: Option<&'static str>, host: Option<&'static str>| {
        let mut request = http
            .post(server.url())
            .header("accept", ACCEPT_BOTH)
            .json(&init);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send()
    };
    assert_eq!(
        send(Some("https://evil.example"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(Some("http://localhost.evil.example"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(Some("null"), None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(None, Some("evil.example")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(None, Some("evil.example:8787"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(Some("http://localhost:6274"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        send(Some("https://app.example.com"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        send(None, Some("localhost:1234")).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_is_streamed_over_sse() {
    let sim = Simulator::start().await.unwrap();
    let plugins = crate::harness::hostile_plugins();
    let server = Server::start(
        &sim,
        BUSINESS_KEY,
        &["--plugins", crate::harness::path_str(plugins.path())],
    );
    let session = Session::open(&server.url()).await;
    let response = session
        .post(&json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{
            "name":"hostile-log","arguments":{"text":"halfway"},"_meta":{"progressToken":"tok-1"}}}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = response.text().await.unwrap();
    let events = sse_events(&body);
    assert_eq!(events.len(), 2, "{body}");
    assert_eq!(events[0]["method"], "notifications/progress");
    assert_eq!(events[0]["params"]["progressToken"], "tok-1");
    assert_eq!(events[0]["params"]["message"], "halfway");
    assert_eq!(events[1]["id"], 7);
    assert_eq!(events[1]["result"]["isError"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_profiles_narrow_what_a_client_sees() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(
        &sim,
        BUSINESS_KEY,
        &["--tool-profile", "chatgpt=fetch-messages,send-message"],
    );

    let chatgpt = Session::open_as(&server.url(), "2025-11-25", "openai-ChatGPT").await;
    let listed = tool_names(&chatgpt.request("tools/list", json!({})).await);
    assert_eq!(listed, vec!["send-message", "fetch-messages"]);
    let refused = chatgpt
        .request(
            "tools/call",
            json!({"name":"create-contact","arguments":{"contacts":[{"firstName":"A"}]}}),
        )
        .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(sim.requests().is_empty(), "a hidden tool ran");

    let other = Session::open_as(&server.url(), "2025-11-25", "claude-ai").await;
    assert_eq!(
        tool_names(&other.request("tools/list", json!({})).await).len(),
        5
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_profiles_match_the_user_agent() {
    let sim = Simulator::start().await.unwrap();
    // Set in the environment, `;`-separated, as an operator's unit file would.
    let server = Server::start_with_env(
        &sim,
        BUSINESS_KEY,
        &[],
        &[(
            "OPENPHONE_MCP_TOOL_PROFILES",
            "user-agent:openai-mcp=fetch-messages;cursor=create-contact",
        )],
    );
    let agent = Session::open_with_agent(&server.url(), "openai-mcp/1.0 (ChatGPT)").await;
    assert_eq!(
        tool_names(&agent.request("tools/list", json!({})).await),
        vec!["fetch-messages"]
    );
    let refused = agent
        .request(
            "tools/call",
            json!({"name":"send-message","arguments":{"from":"+12125550100","to":"+14155550111","content":"x"}}),
        )
        .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let cursor = Session::open_as(&server.url(), "2025-11-25", "Cursor").await;
    assert_eq!(
        tool_names(&cursor.request("tools/list", json!({})).await),
        vec!["create-contact"]
    );
    let plain = Session::open_with_agent(&server.url(), "curl/8").await;
    assert_eq!(
        tool_names(&plain.request("tools/list", json!({})).await).len(),
        5
    );
    assert!(sim.requests().is_empty(), "a hidden tool ran");
}

#[test]
fn a_profile_naming_an_unknown_tool_is_refused_at_start() {
    let out = std::process::Command::new(crate::harness::BIN)
        .env_clear()
        .env(
            "OPENPHONE_MCP_DATA_DIR",
            tempfile::tempdir().unwrap().path(),
        )
        .args(["--tool-profile", "chatgpt=no-such-tool", "tools"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-tool"));
}
