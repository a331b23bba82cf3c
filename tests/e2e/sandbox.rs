//! A hostile component tries every way out of the sandbox; each attempt is
//! contained with a clear error while other calls keep working.

use openphone_sim::{BUSINESS_KEY, Simulator};
use serde_json::{Value, json};

use crate::harness::{self, Server};
use crate::http_rules::Session;

const PLANTED_STDOUT: &str = "PLANTED-STDOUT-SECRET-7f3a";

async fn call(session: &Session, tool: &str, args: Value) -> (bool, String) {
    let reply = session
        .request("tools/call", json!({ "name": tool, "arguments": args }))
        .await;
    let result = &reply["result"];
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (result["isError"] == true, text)
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_component_is_contained() {
    let sim = Simulator::start().await.unwrap();
    let plugins = harness::hostile_plugins();
    let server = Server::start(
        &sim,
        BUSINESS_KEY,
        &[
            "--plugins",
            harness::path_str(plugins.path()),
            "--call-timeout-secs",
            "2",
            "--memory-mib",
            "32",
        ],
    );
    let session = Session::open(&server.url()).await;

    // Environment: nothing, not even the key the host was started with.
    let (is_error, text) = call(&session, "hostile-env", json!({})).await;
    assert!(!is_error, "{text}");
    assert!(text.starts_with("env vars: 0;"), "{text}");
    assert!(text.contains("args: 0"), "{text}");
    assert!(!text.contains(BUSINESS_KEY));

    // Files: no preopened directory, so nothing to read, list or write.
    let (_, text) = call(&session, "hostile-files", json!({})).await;
    for path in [
        "/etc/passwd",
        "/proc/self/environ",
        ".",
        "/",
        "write escape.txt",
    ] {
        assert!(
            text.contains(&format!("{path}: denied")),
            "{path} not denied: {text}"
        );
    }
    assert!(
        !text.contains("READ") && !text.contains("LISTED") && !text.contains("WROTE"),
        "{text}"
    );

    // Sockets: even to a listener that is really there (the simulator).
    let addr = sim.base_url().trim_start_matches("http://").to_owned();
    let (_, text) = call(&session, "hostile-socket", json!({ "addr": addr })).await;
    assert!(
        text.contains("denied") && !text.contains("CONNECTED") && !text.contains("UDP BOUND"),
        "{text}"
    );

    // Runaway CPU: stopped at the deadline.
    let started = std::time::Instant::now();
    let (is_error, text) = call(&session, "hostile-spin", json!({})).await;
    assert!(is_error, "{text}");
    assert!(text.contains("did not finish within 2 s"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // Unbounded memory: stopped at the cap.
    let (is_error, text) = call(&session, "hostile-hog", json!({})).await;
    assert!(is_error, "{text}");
    assert!(text.contains("32 MiB memory limit"), "{text}");

    // Raw stdout/stderr go nowhere.
    let (is_error, _) = call(&session, "hostile-stdout", json!({})).await;
    assert!(!is_error);

    // The API only below /v1, with the host's key, never elsewhere.
    for path in ["/../admin", "//evil.example/x", "/messages?x=1"] {
        let (_, text) = call(&session, "hostile-request", json!({ "path": path })).await;
        assert!(text.contains("was not sent"), "{path}: {text}");
    }
    let (_, text) = call(
        &session,
        "hostile-request",
        json!({ "path": "/phone-numbers" }),
    )
    .await;
    assert!(text.starts_with("status 200"), "{text}");

    // Guest log lines and progress are redacted like the host's own.
    let planted = format!("number {} key {}", openphone_sim::BOB, BUSINESS_KEY);
    let (is_error, _) = call(&session, "hostile-log", json!({ "text": planted })).await;
    assert!(!is_error);

    // And after all that, the server still serves calls.
    let (is_error, text) = call(&session, "hostile-echo", json!({ "still": "alive" })).await;
    assert!(!is_error, "{text}");
    assert!(text.contains("alive"), "{text}");
    let reply = session
        .request(
            "tools/call",
            json!({ "name": "send-message", "arguments": {
                "from": openphone_sim::SALES_PHONE_ID, "to": openphone_sim::BOB, "content": "still working" } }),
        )
        .await;
    assert_eq!(reply["result"]["isError"], false, "{reply}");

    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = server.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("\"guest\":true") && l.contains("+1415•••0122")),
        "guest log line missing"
    );
    harness::assert_no_secret(&logs, &[BUSINESS_KEY, openphone_sim::BOB, PLANTED_STDOUT]);
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_stdout_cannot_corrupt_the_stdio_stream() {
    use std::io::Write as _;
    let sim = Simulator::start().await.unwrap();
    let plugins = harness::hostile_plugins();
    let data_dir = tempfile::tempdir().unwrap();
    let plugins_dir = ["--plugins", harness::path_str(plugins.path())];
    let mut child = harness::stdio(&sim, BUSINESS_KEY, data_dir.path(), &plugins_dir);
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hostile-stdout","arguments":{}}}),
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON-RPC"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[1]["id"], 2);
    assert_eq!(lines[1]["result"]["isError"], false);
    assert!(!stdout.contains(PLANTED_STDOUT) && !stderr.contains(PLANTED_STDOUT));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_memory_cap_holds_for_a_component_with_several_memories() {
    let sim = Simulator::start().await.unwrap();
    let plugins = tempfile::tempdir().unwrap();
    let source = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/hostile/many-memories.wat"
    );
    let component = wat::parse_file(source).expect("the many-memories component parses");
    std::fs::write(plugins.path().join("many-memories.wasm"), component).unwrap();
    // Two memories of 40 MiB: each under a 64 MiB cap, together over it; a
    // 128 MiB cap fits both, so the limit, not the component, stops it.
    for (cap, stopped) in [("64", true), ("128", false)] {
        let args = [
            "--plugins",
            harness::path_str(plugins.path()),
            "--memory-mib",
            cap,
        ];
        let server = Server::start(&sim, BUSINESS_KEY, &args);
        let session = Session::open(&server.url()).await;
        let (is_error, text) = call(&session, "hostile-memories", json!({})).await;
        assert_eq!(is_error, stopped, "{cap} MiB: {text}");
        if stopped {
            assert!(text.contains("64 MiB memory limit"), "{text}");
        } else {
            assert_eq!(text, "grew two memories");
        }
    }
}
