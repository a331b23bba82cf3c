//! The composed app (`hosts/build`) on stock `wasmtime serve`, against the
//! simulator: the same tools, the same catalog and the same rules as the
//! native host, and a hostile tool contained although the host grants the
//! composition an environment and a directory.
//!
//! They need `wasmtime` (49), `wac` and `wasm-tools` (on PATH, or named by
//! `WASMTIME`, `WAC`, `WASM_TOOLS`) and `dist/wasmtime/openphone-mcp.wasm`
//! (`hosts/build`); `tests/run` provides all of them. Without them a test
//! says so in one line and passes, except under `CI`, where it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openphone_sim::{ALICE, BUSINESS_KEY, SALES_NUMBER, Simulator};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{assert_no_secret, collect_lines};
use crate::http_rules::Session;

/// What `hostile-stdout` writes (the hostile crate's `PLANTED`).
pub const PLANTED_STDOUT: &str = "PLANTED-STDOUT-SECRET-7f3a";
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
pub const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/e2e/golden/tools-list.json"
);

/// A program a test needs: `$env`, else `name` on PATH. `None` (after one
/// line saying why) when absent outside CI; absent under CI, a failure.
pub fn program(name: &str, env: &str) -> Option<PathBuf> {
    let found = std::env::var_os(env).map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is required under CI (tests/run installs it)"
        );
        eprintln!("skipped: {name} is not installed (set {env} or put it on PATH)");
    }
    found
}

/// `dist/wasmtime/openphone-mcp.wasm`, when built.
fn composed_app() -> Option<PathBuf> {
    let app = Path::new(ROOT).join("dist/wasmtime/openphone-mcp.wasm");
    if app.is_file() {
        return Some(app);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "dist/wasmtime/openphone-mcp.wasm is missing: run hosts/build"
    );
    eprintln!("skipped: dist/wasmtime/openphone-mcp.wasm is missing (run hosts/build)");
    None
}

/// Collects a child's stdout and stderr lines into one log, and waits (at
/// most three minutes) for the line that starts with `banner`; returns the
/// log and the rest of that line.
pub fn logged_until(child: &mut Child, banner: &str) -> (Arc<Mutex<Vec<String>>>, String) {
    let output = collect_lines(child.stdout.take().expect("piped"));
    let stderr = child.stderr.take().expect("piped");
    let sink = Arc::clone(&output);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().expect("log lock").push(line);
        }
    });
    let started = Instant::now();
    loop {
        let found = (output.lock().expect("log lock").iter())
            .find_map(|line| line.strip_prefix(banner).map(str::to_owned));
        if let Some(rest) = found {
            return (output, rest);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "exited ({status}) before `{banner}`: {:?}",
                output.lock().expect("log lock")
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no `{banner}` line: {:?}",
            output.lock().expect("log lock")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `wasmtime serve` running a composed app.
pub struct Serve {
    child: Child,
    pub url: String,
    output: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Serves `app` with the API key and base URL as config variables, plus
    /// `extra` arguments before the component.
    fn start(wasmtime: &Path, app: &Path, sim: &Simulator, key: &str, extra: &[&str]) -> Serve {
        let mut child = Command::new(wasmtime)
            .arg("serve")
            .args(["--addr", "127.0.0.1:0", "-Scli", "-Shttp", "-Sconfig"])
            .arg(format!("-Sconfig-var=openphone_api_key={key}"))
            .arg(format!(
                "-Sconfig-var=openphone_api_base_url={}",
                sim.base_url()
            ))
            .args(extra)
            .arg(app)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wasmtime serve starts");
        let (output, url) = logged_until(&mut child, "Serving HTTP on ");
        let url = url.trim_end_matches('/').to_owned();
        Serve {
            child,
            url: format!("{url}/mcp"),
            output,
        }
    }

    /// Everything the host printed (its own lines and the component's).
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("log lock").clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The composed app's JSON log lines (`wasmtime serve` prefixes each line
/// of the component's stderr with `stderr [N] :: `).
pub fn json_lines(output: &[String]) -> Vec<Value> {
    output
        .iter()
        .filter_map(|line| line.split_once(" :: ").map(|(_, rest)| rest))
        .filter_map(|rest| serde_json::from_str(rest).ok())
        .collect()
}

pub async fn call(session: &Session, tool: &str, arguments: Value) -> Value {
    let reply = session
        .request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )
        .await;
    assert!(reply["result"].is_object(), "{reply}");
    reply["result"].clone()
}

pub fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

/// Operators' tool profiles hold on composed hosts as natively: by client
/// name and by User-Agent.
#[tokio::test(flavor = "multi_thread")]
async fn tool_profiles_hold_on_wasmtime_serve() {
    let (Some(wasmtime), Some(app)) = (program("wasmtime", "WASMTIME"), composed_app()) else {
        return;
    };
    let sim = Simulator::start().await.unwrap();
    let serve = Serve::start(
        &wasmtime,
        &app,
        &sim,
        BUSINESS_KEY,
        &[
            "-Sconfig-var=tool_profiles=reader=fetch-messages fetch-call-transcripts;user-agent:texter=send-message",
        ],
    );
    let names = |listed: Value| crate::http_rules::tool_names(&listed);
    let reader = Session::open_as(&serve.url, "2025-11-25", "Reader Bot").await;
    assert_eq!(
        names(reader.request("tools/list", json!({})).await),
        vec!["fetch-messages", "fetch-call-transcripts"]
    );
    let texter = Session::open_with_agent(&serve.url, "texter/1.0").await;
    assert_eq!(
        names(texter.request("tools/list", json!({})).await),
        vec!["send-message"]
    );
    let anyone = Session::open(&serve.url).await;
    assert_eq!(
        names(anyone.request("tools/list", json!({})).await).len(),
        5
    );
    let refused = reader
        .request(
            "tools/call",
            json!({"name": "send-message", "arguments": {"from": SALES_NUMBER, "to": ALICE, "content": "x"}}),
        )
        .await;
    assert!(refused["error"].is_object(), "{refused}");
    assert!(sim.sent_messages().is_empty());
}

/// `wasmtime serve` keeps no state, so it cannot hold grants: OAuth
/// settings are refused plainly, and no OAuth route exists there.
#[tokio::test(flavor = "multi_thread")]
async fn wasmtime_serve_refuses_oauth_plainly() {
    let (Some(wasmtime), Some(app)) = (program("wasmtime", "WASMTIME"), composed_app()) else {
        return;
    };
    let sim = Simulator::start().await.unwrap();
    let secret = "a-deployment-secret-for-wasmtime-0123456789";
    let serve = Serve::start(
        &wasmtime,
        &app,
        &sim,
        "",
        &[
            &format!("-Sconfig-var=deployment_secret={secret}"),
            "-Sconfig-var=public_url=http://127.0.0.1:8080",
        ],
    );
    let health = reqwest::get(serve.url.replace("/mcp", "/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    let body: Value = health.json().await.unwrap();
    assert_eq!(body["status"], "misconfigured");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("needs a host with a key-value store")),
        "{body}"
    );
    let register = reqwest::Client::new()
        .post(serve.url.replace("/mcp", "/register"))
        .json(&json!({"redirect_uris": ["http://127.0.0.1:1/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 404);
    assert_no_secret(&serve.output(), &[secret]);
}

#[tokio::test(flavor = "multi_thread")]
async fn wasmtime_serve_runs_the_same_tools_by_the_same_rules() {
    let (Some(wasmtime), Some(app)) = (program("wasmtime", "WASMTIME"), composed_app()) else {
        return;
    };
    let sim = Simulator::start().await.unwrap();
    let serve = Serve::start(&wasmtime, &app, &sim, BUSINESS_KEY, &[]);

    let health: Value = reqwest::get(serve.url.replace("/mcp", "/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok", "mode": "single-user"}));

    let session = Session::open(&serve.url).await;
    let listed = session.request("tools/list", json!({})).await;
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(GOLDEN).unwrap()).unwrap();
    assert_eq!(
        listed["result"]["tools"], golden,
        "the native host lists the same tools"
    );

    let result = call(
        &session,
        "send-message",
        json!({ "from": SALES_NUMBER, "to": ALICE, "content": "Composed hello" }),
    )
    .await;
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["structuredContent"]["to"], ALICE);
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/messages")
        .collect();
    assert_eq!(posts.len(), 1, "one request for one text");
    assert_eq!(
        posts[0].api_key.as_deref(),
        Some(BUSINESS_KEY),
        "the raw key"
    );
    assert_eq!(sim.sent_messages().len(), 1);

    let before = sim.requests().len();
    let bad = call(
        &session,
        "send-message",
        json!({ "from": SALES_NUMBER, "to": "not a number", "content": "x" }),
    )
    .await;
    assert_eq!(bad["isError"], true);
    assert!(text(&bad).starts_with("Invalid arguments: `to`"), "{bad}");
    assert_eq!(sim.requests().len(), before, "bad input sends nothing");

    let read = call(
        &session,
        "fetch-messages",
        json!({ "inbox": SALES_NUMBER, "participant": ALICE, "maxResults": 5 }),
    )
    .await;
    assert_eq!(read["isError"], false, "{read}");
    assert_eq!(
        read["structuredContent"]["messages"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );

    // No store between requests, so no ledger: a bulk send refuses to act
    // rather than let a retry text everyone again.
    let before = sim.requests().len();
    let bulk = call(
        &session,
        "bulk-messages",
        json!({ "from": SALES_NUMBER, "content": "x", "idempotencyKey": "no-store",
                "recipients": [ALICE] }),
    )
    .await;
    assert_eq!(bulk["isError"], true, "{bulk}");
    assert_eq!(bulk["structuredContent"]["notSent"], 1, "{bulk}");
    assert!(
        text(&bulk).contains("keeps no state between requests"),
        "{bulk}"
    );
    assert!(
        (sim.requests().into_iter().skip(before)).all(|r| r.method == "GET"),
        "nothing was sent"
    );

    // The same transport rules: no session → 400, a forged one → 404.
    let client = reqwest::Client::new();
    let post = |id: Option<&str>| {
        let mut request = client
            .post(&serve.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
        if let Some(id) = id {
            request = request.header("mcp-session-id", id);
        }
        request.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 400);
    let forged = format!("{}x", session.id);
    assert_eq!(post(Some(&forged)).await.unwrap().status(), 404);
    assert_eq!(post(Some(&session.id)).await.unwrap().status(), 200);

    sim.assert_conformant();
    let output = serve.output();
    assert_no_secret(&output, &[BUSINESS_KEY]);
    let logged = json_lines(&output);
    assert!(
        logged
            .iter()
            .any(|l| l["tool"] == "send-message" && l["level"] == "info"),
        "the gateway logs each request through the broker: {output:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_tool_is_contained_on_wasmtime_serve() {
    let (Some(wasmtime), Some(wac)) = (program("wasmtime", "WASMTIME"), program("wac", "WAC"))
    else {
        return;
    };
    if composed_app().is_none() {
        return;
    }
    let app = tempfile::tempdir().unwrap();
    let hostile_app = app.path().join("hostile.wasm");
    compose_with(
        &wac,
        "broker-wasmtime",
        "send-message",
        openphone_guest_artifacts::HOSTILE_TOOL,
        &hostile_app,
    );

    let sim = Simulator::start().await.unwrap();
    let granted = tempfile::tempdir().unwrap();
    std::fs::write(granted.path().join("secret.txt"), "FILE-SECRET-a81f").unwrap();
    let dir = format!("{}::/", granted.path().display());
    let serve = Serve::start(
        &wasmtime,
        &hostile_app,
        &sim,
        BUSINESS_KEY,
        // The host grants the composition everything it can: its
        // environment, a directory and the network.
        &[
            "-Sinherit-env",
            "-Sinherit-network",
            "--dir",
            &dir,
            "-Wtimeout=5s",
            "-Wmax-memory-size=134217728",
        ],
    );
    let session = Session::open(&serve.url).await;

    assert_escapes_contained(&session, &sim).await;

    // Runaway CPU and memory end that request; the server goes on serving.
    let client = reqwest::Client::new();
    for runaway in ["hostile-spin", "hostile-hog"] {
        let started = Instant::now();
        let response = client
            .post(&serve.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session.id)
            .header("mcp-protocol-version", &session.version)
            .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                          "params": {"name": runaway, "arguments": {}}}))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500, "{runaway} is stopped by the host");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{runaway} took too long"
        );
    }
    let echo = call(&session, "hostile-echo", json!({"still": "serving"})).await;
    assert_eq!(echo["isError"], false, "{echo}");

    let output = serve.output();
    assert_no_secret(&output, &[BUSINESS_KEY, PLANTED_STDOUT, "FILE-SECRET-a81f"]);
}

/// The hostile tool's tries at the environment, files (a planted
/// `FILE-SECRET…` among them), sockets, paths outside `/v1` and stdout, each
/// contained whatever the host granted the app.
pub async fn assert_escapes_contained(session: &Session, sim: &Simulator) {
    let env = call(session, "hostile-env", json!({})).await;
    assert!(
        text(&env).starts_with("env vars: 0; names: []; args: 0"),
        "{env}"
    );
    let files = call(session, "hostile-files", json!({})).await;
    assert!(!text(&files).contains("FILE-SECRET"), "{files}");
    assert!(
        !text(&files).contains("READ") && !text(&files).contains("LISTED"),
        "nothing was read or listed: {files}"
    );
    let socket = call(
        session,
        "hostile-socket",
        json!({"addr": sim.base_url().trim_start_matches("http://")}),
    )
    .await;
    assert!(
        text(&socket).contains("tcp") && text(&socket).contains("denied"),
        "{socket}"
    );
    assert!(!text(&socket).contains("connected"), "{socket}");
    let escape = call(
        session,
        "hostile-request",
        json!({"method": "get", "path": "/../__sim/requests"}),
    )
    .await;
    assert!(text(&escape).contains("not sent"), "{escape}");
    let stdout = call(session, "hostile-stdout", json!({})).await;
    assert_eq!(stdout["isError"], false, "{stdout}");
}

#[test]
fn the_composed_app_carries_the_embedded_component_bytes() {
    let Some(app) = composed_app() else { return };
    let bytes = std::fs::read(app).unwrap();
    let nested = nested_component_hashes(&bytes);
    let auth = ("openphone-auth", openphone_guest_artifacts::AUTH);
    for (name, component) in openphone_guest_artifacts::TOOLS.iter().chain([&auth]) {
        let hash = hex::encode(Sha256::digest(component));
        assert!(
            nested.contains(&hash),
            "{name}: the composed app does not carry the bytes the native host embeds"
        );
    }
}

/// SHA-256 of every component nested (directly) in `bytes`.
fn nested_component_hashes(bytes: &[u8]) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.expect("a valid component") {
            wasmparser::Payload::ComponentSection {
                unchecked_range, ..
            } if depth == 0 => {
                let start = usize::try_from(unchecked_range.start).expect("in memory");
                let end = usize::try_from(unchecked_range.end).expect("in memory");
                hashes.push(hex::encode(Sha256::digest(&bytes[start..end])));
                depth += 1;
            }
            wasmparser::Payload::ComponentSection { .. }
            | wasmparser::Payload::ModuleSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    hashes
}

/// Composes the app with `broker` (a crate of `COMPOSED`) and
/// `replacement` in `slot`'s place.
pub fn compose_with(wac: &Path, broker: &str, slot: &str, replacement: &str, out: &Path) {
    let mut command = Command::new(wac);
    command
        .arg("compose")
        .arg(Path::new(ROOT).join("hosts/app.wac"));
    for (krate, path) in openphone_guest_artifacts::COMPOSED {
        let package = match *krate {
            "openphone-gateway" => "gateway",
            chosen if chosen == broker => "broker",
            other if other.starts_with("broker-") => continue,
            other => other,
        };
        command
            .arg("--dep")
            .arg(format!("openphone:{package}={path}"));
    }
    for (name, _) in openphone_guest_artifacts::TOOLS {
        if *name != slot {
            let path = Path::new(openphone_guest_artifacts::HOSTILE_TOOL)
                .with_file_name(format!("{}.wasm", name.replace('-', "_")));
            command
                .arg("--dep")
                .arg(format!("openphone:{name}={}", path.display()));
        }
    }
    // The auth component, built beside the tools.
    let auth =
        Path::new(openphone_guest_artifacts::HOSTILE_TOOL).with_file_name("openphone_auth.wasm");
    command
        .arg("--dep")
        .arg(format!("openphone:auth={}", auth.display()))
        .arg("--dep")
        .arg(format!("openphone:{slot}={replacement}"));
    let status = command.arg("-o").arg(out).status().expect("wac runs");
    assert!(status.success(), "wac compose failed");
}
