use http::{HeaderMap, HeaderValue, Method};
use openphone_gateway_bindings::openphone::mcp::types::{ToolError, UpstreamError};
use serde_json::{Value, json};

use crate::fake::{Fake, READ_ONLY_TOKEN, TOKEN, descriptor};
use crate::{Gateway, Mode, Reply, Request, Settings};

const VERSION: &str = "2025-06-18";

fn request(method: Method, path: &str, headers: &[(&str, &str)], body: &Value) -> Request {
    let mut map = HeaderMap::new();
    map.insert("host", HeaderValue::from_static("127.0.0.1:8000"));
    map.insert(
        "accept",
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    map.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
            HeaderValue::from_str(value).expect("valid value"),
        );
    }
    Request {
        method,
        path: path.into(),
        query: String::new(),
        headers: map,
        body: body.to_string().into_bytes(),
    }
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    (reply.headers.iter())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn initialize(gateway: &Gateway, backend: &Fake) -> String {
    let reply = gateway.handle(
        backend,
        &request(
            Method::POST,
            "/mcp",
            &[],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": VERSION, "capabilities": {},
                "clientInfo": {"name": "a client whose name is much longer than any id should carry", "version": "1"}}}),
        ),
    );
    assert_eq!(reply.status, 200, "{:?}", reply.body_json());
    let body = reply.body_json().expect("JSON");
    assert_eq!(body["result"]["protocolVersion"], VERSION);
    assert_eq!(body["result"]["serverInfo"]["name"], "openphone-mcp");
    header(&reply, "mcp-session-id")
        .expect("a session id")
        .to_owned()
}

fn post(gateway: &Gateway, backend: &Fake, session: &str, body: &Value) -> Reply {
    gateway.handle(
        backend,
        &request(
            Method::POST,
            "/mcp",
            &[
                ("mcp-session-id", session),
                ("mcp-protocol-version", VERSION),
            ],
            body,
        ),
    )
}

fn call(gateway: &Gateway, backend: &Fake, session: &str, name: &str, arguments: Value) -> Value {
    let reply = post(
        gateway,
        backend,
        session,
        &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": name, "arguments": arguments}}),
    );
    assert_eq!(reply.status, 200);
    reply.body_json().expect("JSON")["result"].clone()
}

#[test]
fn a_session_lives_in_its_id_and_serves_the_catalog_and_calls() {
    let gateway = Gateway::new();
    let backend = Fake::default();
    let session = initialize(&gateway, &backend);
    assert!(session.len() <= 256, "a session id is at most 256 bytes");

    let initialized = post(
        &gateway,
        &backend,
        &session,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(initialized.status, 202);

    let listed = post(
        &gateway,
        &backend,
        &session,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .body_json()
    .expect("JSON");
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["send-message", "fetch-messages"]);
    assert_eq!(
        listed["result"]["tools"][0]["_meta"]["io.github.openphone-mcp/scope"],
        "messages:send"
    );

    let result = call(
        &gateway,
        &backend,
        &session,
        "fetch-messages",
        json!({"inbox": "PN1", "idempotencyKey": "k-1"}),
    );
    assert_eq!(result["isError"], false);
    assert_eq!(result["structuredContent"], json!({"ok": true}));
    let calls = backend.calls.borrow();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, 1, "routed to the component that listed it");
    assert_eq!(calls[0].3.idempotency_key.as_deref(), Some("k-1"));
    assert_eq!(calls[0].3.request_id, "7");
    assert_eq!(
        backend.begun.borrow().as_slice(),
        [("fetch-messages".to_owned(), None, Some("k-1".to_owned()))]
    );
}

#[test]
fn tool_errors_are_results_with_is_error_and_the_native_wording() {
    let gateway = Gateway::new();
    let backend = Fake {
        answer: |name, _| match name {
            "send-message" => Err(ToolError::InvalidArguments("`to`: not E.164".into())),
            _ => Err(ToolError::Upstream(UpstreamError::RateLimited)),
        },
        ..Fake::default()
    };
    let session = initialize(&gateway, &backend);
    let invalid = call(&gateway, &backend, &session, "send-message", json!({}));
    assert_eq!(invalid["isError"], true);
    assert_eq!(
        invalid["content"][0]["text"],
        "Invalid arguments: `to`: not E.164"
    );
    let limited = call(&gateway, &backend, &session, "fetch-messages", json!({}));
    assert_eq!(limited["isError"], true);
    assert!(
        limited["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("rate-limiting"))
    );
    // An unknown tool is a protocol error, as natively, and runs nothing.
    let unknown = post(
        &gateway,
        &backend,
        &session,
        &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "nope"}}),
    )
    .body_json()
    .expect("JSON");
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert_eq!(backend.calls.borrow().len(), 2);
}

#[test]
fn sessions_are_required_checked_and_expire() {
    let gateway = Gateway::new();
    let backend = Fake::default();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let missing = gateway.handle(
        &backend,
        &request(
            Method::POST,
            "/mcp",
            &[("mcp-protocol-version", VERSION)],
            &list,
        ),
    );
    assert_eq!(missing.status, 400);
    assert_eq!(post(&gateway, &backend, "forged.id", &list).status, 404);
    let session = initialize(&gateway, &backend);
    assert_eq!(post(&gateway, &backend, &session, &list).status, 200);
    // The wrong protocol version header.
    let wrong = gateway.handle(
        &backend,
        &request(
            Method::POST,
            "/mcp",
            &[
                ("mcp-session-id", &session),
                ("mcp-protocol-version", "2025-03-26"),
            ],
            &list,
        ),
    );
    assert_eq!(wrong.status, 400);
    backend.now.set(backend.now.get() + 25 * 60 * 60);
    assert_eq!(
        post(&gateway, &backend, &session, &list).status,
        404,
        "expired"
    );
}

#[test]
fn transport_rules_hold_before_anything_runs() {
    let gateway = Gateway::new();
    let backend = Fake::default();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}});
    let status = |headers: &[(&str, &str)], method: Method| {
        gateway
            .handle(&backend, &request(method, "/mcp", headers, &body))
            .status
    };
    assert_eq!(status(&[("host", "evil.example")], Method::POST), 403);
    assert_eq!(
        status(&[("host", "mcp.example.com")], Method::POST),
        200,
        "public_url's host"
    );
    assert_eq!(
        status(&[("origin", "https://evil.example")], Method::POST),
        403
    );
    assert_eq!(status(&[("accept", "application/json")], Method::POST), 406);
    assert_eq!(status(&[("content-type", "text/plain")], Method::POST), 415);
    let get = gateway.handle(&backend, &request(Method::GET, "/mcp", &[], &body));
    assert_eq!(get.status, 405);
    assert_eq!(header(&get, "allow"), Some("POST"));
    assert_eq!(status(&[], Method::DELETE), 405);
    let mut big = request(Method::POST, "/mcp", &[], &body);
    big.body = vec![b' '; crate::routes::MAX_BODY + 1];
    assert_eq!(gateway.handle(&backend, &big).status, 413);
    let reply = gateway.handle(&backend, &request(Method::GET, "/elsewhere", &[], &body));
    assert_eq!(reply.status, 404);
    assert_eq!(header(&reply, "x-content-type-options"), Some("nosniff"));
}

#[test]
fn health_and_configuration_faults_are_explicit() {
    let gateway = Gateway::new();
    let health = gateway.handle(
        &Fake::default(),
        &request(Method::GET, "/health", &[], &json!({})),
    );
    assert_eq!(
        health.body_json(),
        Some(json!({"status": "ok", "mode": "single-user"}))
    );

    let unset = Fake {
        settings: Err("set openphone_api_key".into()),
        ..Fake::default()
    };
    let health = gateway.handle(&unset, &request(Method::GET, "/health", &[], &json!({})));
    assert_eq!(health.status, 503);
    let mcp = gateway.handle(
        &unset,
        &request(
            Method::POST,
            "/mcp",
            &[],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        ),
    );
    assert_eq!(mcp.status, 503);

    let oauth = Fake {
        settings: Ok(Settings {
            mode: Mode::OAuth,
            public_url: None,
            profiles: Vec::new(),
        }),
        ..Fake::default()
    };
    let mcp = gateway.handle(
        &oauth,
        &request(
            Method::POST,
            "/mcp",
            &[],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        ),
    );
    assert_eq!(mcp.status, 503, "OAuth needs public_url");

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}});
    let clash = Fake {
        slots: vec![
            vec![descriptor("send-message", "messages:send")],
            vec![descriptor("send-message", "messages:send")],
        ],
        ..Fake::default()
    };
    let reply = gateway.handle(&clash, &request(Method::POST, "/mcp", &[], &init));
    assert_eq!(reply.status, 500);
    let odd_scope = Fake {
        slots: vec![vec![descriptor("x", "admin:everything")]],
        ..Fake::default()
    };
    let reply = gateway.handle(&odd_scope, &request(Method::POST, "/mcp", &[], &init));
    assert_eq!(reply.status, 500);
}

#[test]
fn a_batch_is_answered_as_an_array_under_2025_03_26() {
    let gateway = Gateway::new();
    let backend = Fake::default();
    let reply = gateway.handle(
        &backend,
        &request(
            Method::POST,
            "/mcp",
            &[],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-03-26", "capabilities": {},
                "clientInfo": {"name": "c", "version": "1"}}}),
        ),
    );
    let session = header(&reply, "mcp-session-id").expect("id").to_owned();
    let batch = gateway.handle(
        &backend,
        &request(
            Method::POST,
            "/mcp",
            &[
                ("mcp-session-id", &session),
                ("mcp-protocol-version", "2025-03-26"),
            ],
            &json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]),
        ),
    );
    let body = batch.body_json().expect("JSON");
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{body}");
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `initialize` as the holder of `token`; the session id.
fn initialize_as(gateway: &Gateway, backend: &Fake, token: &str) -> String {
    let auth = bearer(token);
    let reply = gateway.handle(
        backend,
        &request(
            Method::POST,
            "/mcp",
            &[("authorization", &auth)],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": VERSION, "capabilities": {},
                "clientInfo": {"name": "c", "version": "1"}}}),
        ),
    );
    assert_eq!(reply.status, 200, "{:?}", reply.body_json());
    header(&reply, "mcp-session-id").expect("an id").to_owned()
}

fn post_as(gateway: &Gateway, backend: &Fake, token: &str, session: &str, body: &Value) -> Reply {
    let auth = bearer(token);
    gateway.handle(
        backend,
        &request(
            Method::POST,
            "/mcp",
            &[
                ("authorization", &auth),
                ("mcp-session-id", session),
                ("mcp-protocol-version", VERSION),
            ],
            body,
        ),
    )
}

#[test]
fn oauth_asks_for_a_token_and_serves_each_grant_its_scopes() {
    let gateway = Gateway::new();
    let backend = Fake::oauth();
    let metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});

    let missing = gateway.handle(&backend, &request(Method::POST, "/mcp", &[], &ping));
    assert_eq!(missing.status, 401);
    let challenge = header(&missing, "www-authenticate").expect("a challenge");
    assert!(
        challenge.starts_with(&format!("Bearer resource_metadata=\"{metadata}\"")),
        "{challenge}"
    );
    assert!(
        !challenge.contains("error="),
        "no token, no error: {challenge}"
    );
    for token in ["forged", "Bearer"] {
        let auth = bearer(token);
        let reply = gateway.handle(
            &backend,
            &request(Method::POST, "/mcp", &[("authorization", &auth)], &ping),
        );
        assert_eq!(reply.status, 401, "{token}");
        assert!(
            header(&reply, "www-authenticate")
                .is_some_and(|c| c.contains("error=\"invalid_token\""))
        );
    }
    let auth = bearer("unavailable");
    let down = gateway.handle(
        &backend,
        &request(Method::POST, "/mcp", &[("authorization", &auth)], &ping),
    );
    assert_eq!(down.status, 503);
    assert_eq!(header(&down, "retry-after"), Some("2"));

    // A read-only grant sees and may call only its tools.
    let reader = initialize_as(&gateway, &backend, READ_ONLY_TOKEN);
    let listed = post_as(
        &gateway,
        &backend,
        READ_ONLY_TOKEN,
        &reader,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .body_json()
    .expect("JSON");
    let names: Vec<&str> = (listed["result"]["tools"].as_array().expect("tools").iter())
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["fetch-messages"]);
    let refused = post_as(
        &gateway,
        &backend,
        READ_ONLY_TOKEN,
        &reader,
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "send-message", "arguments": {}}}),
    );
    assert_eq!(refused.status, 403);
    let challenge = header(&refused, "www-authenticate").expect("a challenge");
    assert!(
        challenge.contains("error=\"insufficient_scope\", scope=\"messages:send\""),
        "{challenge}"
    );
    assert!(backend.calls.borrow().is_empty(), "nothing ran");

    // A session belongs to the grant that opened it.
    let sender = initialize_as(&gateway, &backend, TOKEN);
    let foreign = post_as(&gateway, &backend, READ_ONLY_TOKEN, &sender, &ping);
    assert_eq!(foreign.status, 404);
    let result = post_as(
        &gateway,
        &backend,
        TOKEN,
        &sender,
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                "params": {"name": "send-message", "arguments": {"idempotencyKey": "k"}}}),
    )
    .body_json()
    .expect("JSON");
    assert_eq!(result["result"]["isError"], false, "{result}");
    assert_eq!(
        backend.begun.borrow().as_slice(),
        [(
            "send-message".to_owned(),
            Some("grant-1".to_owned()),
            Some("k".to_owned())
        )]
    );
}

#[test]
fn the_auth_component_answers_its_routes_in_oauth_mode_only() {
    let gateway = Gateway::new();
    let backend = Fake::oauth();
    let mut consent = request(Method::GET, "/authorize", &[], &json!({}));
    consent.query = "client_id=c&state=s".into();
    let reply = gateway.handle(&backend, &consent);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"<p>consent</p>");
    assert_eq!(
        backend.auth_requests.borrow().as_slice(),
        [("/authorize".to_owned(), "client_id=c&state=s".to_owned())]
    );
    // The native security headers: framing denied whatever the page says,
    // the page's own Referrer-Policy kept.
    assert_eq!(header(&reply, "x-frame-options"), Some("DENY"));
    assert_eq!(
        reply
            .headers
            .iter()
            .filter(|(n, _)| n == "x-frame-options")
            .count(),
        1
    );
    assert_eq!(header(&reply, "referrer-policy"), Some("same-origin"));
    assert_eq!(header(&reply, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&reply, "cache-control"), Some("no-store"));

    let put = gateway.handle(&backend, &request(Method::PUT, "/token", &[], &json!({})));
    assert_eq!(put.status, 405);
    let unknown = gateway.handle(&backend, &request(Method::GET, "/admin", &[], &json!({})));
    assert_eq!(unknown.status, 404);
    let rebound = gateway.handle(
        &backend,
        &request(
            Method::POST,
            "/token",
            &[("host", "evil.example")],
            &json!({}),
        ),
    );
    assert!(rebound.status >= 400, "a foreign Host is refused");
    let cross = gateway.handle(
        &backend,
        &request(
            Method::POST,
            "/token",
            &[("origin", "https://evil.example")],
            &json!({}),
        ),
    );
    assert!(cross.status >= 400, "a foreign Origin is refused");
    assert_eq!(
        backend.auth_requests.borrow().len(),
        1,
        "none of these reached it"
    );
    assert_eq!(
        backend.sweeps.get(),
        1,
        "an answered request may drive the sweep"
    );

    let single = Fake::default();
    let reply = gateway.handle(
        &single,
        &request(Method::GET, "/authorize", &[], &json!({})),
    );
    assert_eq!(reply.status, 404);
    assert!(single.auth_requests.borrow().is_empty());
}

#[test]
fn tool_profiles_narrow_what_a_client_sees_and_may_call() {
    let gateway = Gateway::new();
    let profiled = |profiles: &str| Fake {
        settings: Ok(Settings {
            mode: Mode::SingleUser,
            public_url: None,
            profiles: openphone_mcp_protocol::profiles::parse_list(profiles).expect("valid"),
        }),
        ..Fake::default()
    };
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let names = |reply: &Reply| -> Vec<String> {
        let body = reply.body_json().expect("JSON");
        (body["result"]["tools"].as_array().expect("tools").iter())
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    };

    // By client name (`initialize` names it: a client whose name is much
    // longer than …), case-insensitively.
    let backend = profiled("MUCH LONGER=fetch-messages");
    let session = initialize(&gateway, &backend);
    assert_eq!(
        names(&post(&gateway, &backend, &session, &list)),
        ["fetch-messages"]
    );
    let hidden = post(
        &gateway,
        &backend,
        &session,
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "send-message", "arguments": {}}}),
    )
    .body_json()
    .expect("JSON");
    assert_eq!(
        hidden["error"]["code"], -32602,
        "unknown to this client: {hidden}"
    );
    assert!(
        backend.calls.borrow().is_empty(),
        "a tool outside the profile never runs"
    );

    // By User-Agent, per request.
    let backend = profiled("user-agent:openai-mcp=send-message");
    let session = initialize(&gateway, &backend);
    let as_agent = |agent: &str| {
        gateway.handle(
            &backend,
            &request(
                Method::POST,
                "/mcp",
                &[
                    ("mcp-session-id", &session),
                    ("mcp-protocol-version", VERSION),
                    ("user-agent", agent),
                ],
                &list,
            ),
        )
    };
    assert_eq!(names(&as_agent("OpenAI-MCP/1.0")), ["send-message"]);
    assert_eq!(
        names(&as_agent("curl/8")),
        ["send-message", "fetch-messages"]
    );

    // A profile naming a tool nobody offers: not served, and said why.
    let backend = profiled("claude=delete-everything");
    let reply = gateway.handle(&backend, &request(Method::POST, "/mcp", &[], &list));
    assert_eq!(reply.status, 503);
    assert!(
        String::from_utf8_lossy(&reply.body).contains("delete-everything"),
        "{:?}",
        reply.body_json()
    );
}

#[test]
fn a_retried_call_runs_once_and_is_answered_from_its_record() {
    let gateway = Gateway::new();
    let backend = Fake {
        answer: |name, arguments| {
            if arguments.contains("bad") {
                return Err(ToolError::InvalidArguments("`to` is not a number".into()));
            }
            Ok(
                openphone_gateway_bindings::openphone::mcp::types::ToolOutput {
                    text: format!("{name} sent"),
                    structured: None,
                    is_error: false,
                },
            )
        },
        ..Fake::default()
    };
    let session = initialize(&gateway, &backend);
    let send = |id: u64, arguments: Value| {
        post(
            &gateway,
            &backend,
            &session,
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": "send-message", "arguments": arguments}}),
        )
        .body_json()
        .expect("JSON")
    };
    let replayed =
        |body: &Value| body["result"]["_meta"]["io.github.openphone-mcp/replayed"] == true;

    // With an idempotencyKey: one run, then the record.
    let first = send(1, json!({"to": "+1", "idempotencyKey": "k-1"}));
    assert!(!replayed(&first), "{first}");
    let again = send(2, json!({"to": "+1", "idempotencyKey": "k-1"}));
    assert!(replayed(&again), "{again}");
    assert_eq!(again["result"]["content"], first["result"]["content"]);
    assert_eq!(backend.calls.borrow().len(), 1);
    let other = send(3, json!({"to": "+2", "idempotencyKey": "k-1"}));
    assert_eq!(other["result"]["isError"], true);
    assert!(
        other["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("already used with different arguments")),
        "{other}"
    );
    assert_eq!(backend.calls.borrow().len(), 1);

    // Without one, the JSON-RPC request: a re-sent id replays, another
    // request under a used id is a protocol error.
    let plain = send(4, json!({"to": "+3"}));
    assert!(!replayed(&plain));
    assert!(replayed(&send(4, json!({"to": "+3"}))));
    let reused = send(4, json!({"to": "+4"}));
    assert_eq!(reused["error"]["code"], -32600, "{reused}");
    assert_eq!(backend.calls.borrow().len(), 2);

    // Refused arguments release the key: nothing happened, a fix runs.
    let bad = send(5, json!({"to": "bad", "idempotencyKey": "k-2"}));
    assert_eq!(bad["result"]["isError"], true);
    let fixed = send(6, json!({"to": "bad", "idempotencyKey": "k-2"}));
    assert!(!replayed(&fixed), "{fixed}");
    assert_eq!(backend.calls.borrow().len(), 4);
}

#[test]
fn read_only_tools_are_never_recorded() {
    let gateway = Gateway::new();
    let mut reader = descriptor("fetch-messages", "messages:read");
    reader.annotations.read_only = true;
    let backend = Fake {
        slots: vec![vec![reader]],
        ..Fake::default()
    };
    let session = initialize(&gateway, &backend);
    for _ in 0..2 {
        call(
            &gateway,
            &backend,
            &session,
            "fetch-messages",
            json!({"idempotencyKey": "k"}),
        );
    }
    assert_eq!(backend.calls.borrow().len(), 2);
    assert!(backend.claims.borrow().is_empty());
}
