//! The composed app on Fermyon Spin 3.6.3 (`spin up` of the repository's
//! `spin.toml`), against the simulator: the same tools and rules as
//! natively, settings as `SPIN_VARIABLE_*`, bulk sends that resume from the
//! key-value store across requests, OAuth end to end, and a hostile tool
//! contained.
//!
//! Spin comes from `SPIN`, PATH or `../shared/tools/spin/spin`; where none
//! exists the tests say so in one line and pass, except under `CI`.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openphone_sim::{ALICE, BOB, BUSINESS_KEY, CAROL, SALES_NUMBER, SALES_PHONE_ID, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::composed::{
    GOLDEN, PLANTED_STDOUT, ROOT, assert_escapes_contained, call, compose_with, logged_until,
    program, text,
};
use crate::harness::{self, assert_no_secret};
use crate::http_rules::Session;
use crate::oauth::{self, Client, Endpoint};

/// The Spin CLI: `$SPIN`, `spin` on PATH, or the one built for this
/// workplace beside the checkout.
fn spin_cli() -> Option<PathBuf> {
    let beside = Path::new(ROOT).join("../shared/tools/spin/spin");
    if std::env::var_os("SPIN").is_none() && beside.is_file() {
        return Some(beside);
    }
    program("spin", "SPIN")
}

/// `spin up` of a manifest, with its state and logs in a directory of its own.
struct SpinUp {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
    output: Arc<Mutex<Vec<String>>>,
}

impl SpinUp {
    /// Single-user mode with `key`.
    fn start(spin: &Path, manifest: &Path, sim: &Simulator, key: &str, extra: &[&str]) -> SpinUp {
        let settings = [
            ("SPIN_VARIABLE_OPENPHONE_API_KEY", key),
            ("SPIN_VARIABLE_OPENPHONE_API_BASE_URL", &sim.base_url()),
        ];
        Self::launch(spin, manifest, "127.0.0.1:0", &settings, extra)
    }

    /// OAuth mode: a deployment secret and no key. The issuer must be known
    /// before Spin starts, so the port is chosen (free) beforehand and is
    /// also `public_url`.
    fn start_oauth(spin: &Path, manifest: &Path, sim: &Simulator, secret: &str) -> SpinUp {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let settings = [
            ("SPIN_VARIABLE_DEPLOYMENT_SECRET", secret),
            ("SPIN_VARIABLE_PUBLIC_URL", &format!("http://{listen}")),
            ("SPIN_VARIABLE_OPENPHONE_API_BASE_URL", &sim.base_url()),
        ];
        Self::launch(spin, manifest, &listen, &settings, &[])
    }

    fn launch(
        spin: &Path,
        manifest: &Path,
        listen: &str,
        settings: &[(&str, &str)],
        extra: &[&str],
    ) -> SpinUp {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(spin)
            // `spin up` runs the trigger as a child process: the test
            // ends the whole group.
            .process_group(0)
            .arg("up")
            .arg("--from")
            .arg(manifest)
            .args(["--listen", listen])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--log-dir")
            .arg(dir.path().join("logs"))
            .args(extra)
            // Settings as an operator passes them.
            .envs(settings.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spin up starts");
        let (output, url) = logged_until(&mut child, "Serving ");
        let url = url.trim().to_owned();
        SpinUp {
            child,
            url,
            dir,
            output,
        }
    }

    fn mcp(&self) -> String {
        format!("{}/mcp", self.url)
    }

    /// Spin's own output and the component's stdout and stderr.
    fn logs(&self) -> Vec<String> {
        let mut lines = self.output.lock().expect("log lock").clone();
        for stream in ["stdout", "stderr"] {
            let file = self
                .dir
                .path()
                .join(format!("logs/openphone-mcp_{stream}.txt"));
            if let Ok(text) = std::fs::read_to_string(file) {
                lines.extend(text.lines().map(str::to_owned));
            }
        }
        lines
    }
}

impl Endpoint for SpinUp {
    fn mcp_url(&self) -> String {
        self.mcp()
    }
}

impl Drop for SpinUp {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spin_app() -> Option<(PathBuf, PathBuf)> {
    let spin = spin_cli()?;
    let app = Path::new(ROOT).join("dist/spin/openphone-mcp.wasm");
    if !app.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "dist/spin/openphone-mcp.wasm is missing: run spin build (or hosts/build)"
        );
        eprintln!("skipped: dist/spin/openphone-mcp.wasm is missing (run spin build)");
        return None;
    }
    Some((spin, Path::new(ROOT).join("spin.toml")))
}

/// The simulator, and `spin up` of the app in single-user mode with its
/// business key; `None` where Spin or the app is missing.
async fn single_user() -> Option<(Simulator, SpinUp)> {
    let (spin, manifest) = spin_app()?;
    let sim = Simulator::start().await.unwrap();
    let up = SpinUp::start(&spin, &manifest, &sim, BUSINESS_KEY, &[]);
    Some((sim, up))
}

/// The texts the simulator was asked to send.
fn message_posts(sim: &Simulator) -> Vec<openphone_sim::RecordedRequest> {
    (sim.requests().into_iter())
        .filter(|r| r.method == "POST" && r.path == "/v1/messages")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_up_serves_the_same_tools_by_the_same_rules() {
    let Some((sim, up)) = single_user().await else {
        return;
    };

    let health: Value = reqwest::get(format!("{}/health", up.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok", "mode": "single-user"}));
    let session = Session::open(&up.mcp()).await;
    let listed = session.request("tools/list", json!({})).await;
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(GOLDEN).unwrap()).unwrap();
    assert_eq!(listed["result"]["tools"], golden);

    let sent = call(
        &session,
        "send-message",
        json!({ "from": SALES_NUMBER, "to": ALICE, "content": "Hello from Spin" }),
    )
    .await;
    assert_eq!(sent["isError"], false, "{sent}");
    let posts = message_posts(&sim);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].api_key.as_deref(), Some(BUSINESS_KEY));

    let before = sim.requests().len();
    let bad = call(
        &session,
        "send-message",
        json!({ "from": SALES_NUMBER, "to": "+1", "content": "x" }),
    )
    .await;
    assert_eq!(bad["isError"], true, "{bad}");
    assert!(text(&bad).starts_with("Invalid arguments: `to`"), "{bad}");
    assert_eq!(sim.requests().len(), before, "bad input sends nothing");
    let read = call(
        &session,
        "fetch-messages",
        json!({ "inbox": SALES_NUMBER, "participant": ALICE, "maxResults": 3 }),
    )
    .await;
    assert_eq!(read["isError"], false, "{read}");

    sim.assert_conformant();
    let logs = up.logs();
    assert_no_secret(&logs, &[BUSINESS_KEY]);
    assert!(
        logs.iter().any(|l| l.contains(r#""tool":"send-message""#)),
        "the component's log lines reach Spin's log: {logs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_send_retried_on_spin_texts_nobody_twice() {
    let Some((sim, up)) = single_user().await else {
        return;
    };
    let session = Session::open(&up.mcp()).await;
    let arguments = json!({
        "from": SALES_NUMBER, "content": "Closed Monday.", "idempotencyKey": "spin-closed-monday",
        "recipients": [ALICE, BOB, CAROL],
    });
    let first = call(&session, "bulk-messages", arguments.clone()).await;
    assert_eq!(first["structuredContent"]["sent"], 3, "{first}");
    // Another request — another component instance — with the same key:
    // the finished call's record, from the key-value store.
    let again = call(&session, "bulk-messages", arguments).await;
    assert_eq!(again["structuredContent"]["sent"], 3, "{again}");
    assert_eq!(
        again["_meta"]["io.github.openphone-mcp/replayed"], true,
        "{again}"
    );
    assert_eq!(again["structuredContent"], first["structuredContent"]);
    assert_eq!(sim.sent_messages().len(), 3, "nobody was texted twice");
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_tool_is_contained_on_spin() {
    let (Some((spin, _)), Some(wac)) = (spin_app(), program("wac", "WAC")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("hostile.wasm");
    compose_with(
        &wac,
        "broker-spin",
        "send-message",
        openphone_guest_artifacts::HOSTILE_TOOL,
        &app,
    );
    // The repository's manifest, with the hostile app as its source and
    // every grant Spin can give a component.
    let manifest = std::fs::read_to_string(Path::new(ROOT).join("spin.toml")).unwrap();
    let manifest = manifest
        .replace(
            r#"source = "dist/spin/openphone-mcp.wasm""#,
            &format!("source = {:?}\nenvironment = {{ HOSTILE_ENV_SECRET = \"ENV-SECRET-93c2\" }}\nfiles = [{{ source = \"granted\", destination = \"/\" }}]", app.display().to_string()),
        )
        .replace(
            r#"allowed_outbound_hosts = ["{{ openphone_api_base_url }}"]"#,
            r#"allowed_outbound_hosts = ["{{ openphone_api_base_url }}", "*://*:*"]"#,
        );
    let manifest = manifest
        .split("[component.openphone-mcp.build]")
        .next()
        .unwrap()
        .to_owned();
    std::fs::create_dir(dir.path().join("granted")).unwrap();
    std::fs::write(dir.path().join("granted/secret.txt"), "FILE-SECRET-5e1d").unwrap();
    let manifest_path = dir.path().join("spin.toml");
    std::fs::write(&manifest_path, manifest).unwrap();

    let sim = Simulator::start().await.unwrap();
    let up = SpinUp::start(
        &spin,
        &manifest_path,
        &sim,
        BUSINESS_KEY,
        &[
            "--request-timeout",
            "5s",
            "--max-instance-memory",
            "134217728",
        ],
    );
    let session = Session::open(&up.mcp()).await;

    assert_escapes_contained(&session, &sim).await;

    let client = reqwest::Client::new();
    let runaway = |name: &str, wait: Duration| {
        client
            .post(up.mcp())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session.id)
            .header("mcp-protocol-version", &session.version)
            .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                          "params": {"name": name, "arguments": {}}}))
            .timeout(wait)
            .send()
    };
    // Unbounded memory: the instance hits --max-instance-memory and traps.
    let started = Instant::now();
    let hog = runaway("hostile-hog", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(hog.status(), 500, "the hog is stopped");
    assert!(started.elapsed() < Duration::from_secs(30));
    // An endless loop: Spin 3.6.3 does not interrupt guest code (its
    // --request-timeout ends the wait, not the loop), so that request
    // never answers; other requests go on being served meanwhile.
    let spinning = runaway("hostile-spin", Duration::from_secs(8));
    let (spun, echo) = tokio::join!(spinning, async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        call(&session, "hostile-echo", json!({"during": "the loop"})).await
    });
    assert!(
        spun.map_or(true, |r| r.status().as_u16() >= 500),
        "the loop yields no result"
    );
    assert_eq!(echo["isError"], false, "served while a loop runs: {echo}");
    let echo = call(&session, "hostile-echo", json!({"still": "serving"})).await;
    assert_eq!(echo["isError"], false, "{echo}");

    assert_no_secret(
        &up.logs(),
        &[
            BUSINESS_KEY,
            PLANTED_STDOUT,
            "FILE-SECRET-5e1d",
            "ENV-SECRET-93c2",
        ],
    );
}

/// Checks `component` against the world `world` of a WIT directory made of
/// Spin's own packages (`../shared/spin-wit/<version>/wit`) and `extra`.
fn targets(wasm_tools: &Path, version: &str, world_wit: &str, component: &Path) -> (bool, String) {
    let spin_wit = Path::new(ROOT).join(format!("../shared/spin-wit/{version}/wit"));
    let dir = tempfile::tempdir().unwrap();
    let deps = dir.path().join("deps");
    std::fs::create_dir_all(deps.join("spin-up")).unwrap();
    for entry in std::fs::read_dir(spin_wit.join("deps")).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), deps.join(entry.file_name())).unwrap();
    }
    std::fs::copy(spin_wit.join("world.wit"), deps.join("spin-up/world.wit")).unwrap();
    std::fs::write(dir.path().join("check.wit"), world_wit).unwrap();
    let output = Command::new(wasm_tools)
        .args(["component", "targets"])
        .arg(dir.path())
        .arg(component)
        .args(["--world", "app"])
        .output()
        .expect("wasm-tools runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_spin_app_fits_what_spin_3_and_4_host() {
    let Some(wasm_tools) = program("wasm-tools", "WASM_TOOLS") else {
        return;
    };
    if !Path::new(ROOT).join("../shared/spin-wit").is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/spin-wit is required under CI"
        );
        eprintln!("skipped: ../shared/spin-wit (Spin's WIT) is not beside the checkout");
        return;
    }
    let spin_app = Path::new(ROOT).join("dist/spin/openphone-mcp.wasm");
    let wasmtime_app = Path::new(ROOT).join("dist/wasmtime/openphone-mcp.wasm");
    if !spin_app.is_file() || !wasmtime_app.is_file() {
        assert!(std::env::var_os("CI").is_none(), "run hosts/build first");
        eprintln!("skipped: dist/ is not built (run hosts/build)");
        return;
    }
    // Spin's own `platform` world (WASI 0.2.6 CLI and outgoing HTTP,
    // keyvalue 0.2.0-draft2, config 0.2.0-draft-2024-09-27) and the 0.2
    // HTTP handler, which both versions accept.
    for (version, platform) in [
        ("v3.6.3", "spin:up/platform@3.6.0"),
        ("v4.0.2", "spin:up/platform@4.0.0"),
    ] {
        let world = format!(
            "package openphone:spin-check;\nworld app {{\n  include {platform};\n  export wasi:http/incoming-handler@0.2.6;\n}}\n"
        );
        let (fits, why) = targets(&wasm_tools, version, &world, &spin_app);
        assert!(fits, "the Spin app does not fit Spin {version}: {why}");
        // The check can fail: the wasmtime app imports wasi:config@0.2.0-rc.1,
        // which Spin does not host; a bare tool imports openphone:mcp.
        let (fits, why) = targets(&wasm_tools, version, &world, &wasmtime_app);
        assert!(
            !fits && why.contains("wasi:config/store@0.2.0-rc.1"),
            "{why}"
        );
        let tool =
            Path::new(openphone_guest_artifacts::HOSTILE_TOOL).with_file_name("send_message.wasm");
        let (fits, why) = targets(&wasm_tools, version, &world, &tool);
        assert!(!fits && why.contains("openphone:mcp"), "{why}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_on_spin_registers_consents_calls_refreshes_and_revokes() {
    let Some((spin, manifest)) = spin_app() else {
        return;
    };
    let sim = Simulator::start().await.unwrap();
    let secret = "a-deployment-secret-for-spin-0123456789abcdef";
    let up = SpinUp::start_oauth(&spin, &manifest, &sim, secret);
    let issuer = up.url.clone();
    let http = reqwest::Client::new();

    let health = oauth::get_json(&http, &format!("{issuer}/health")).await;
    assert_eq!(health, json!({"status": "ok", "mode": "oauth"}));

    // Discovery, as natively: a 401 points at the metadata, which names
    // this issuer; metadata documents are not offered on Spin.
    let refused = oauth::ping(&up, None, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = oauth::www_authenticate(refused.headers());
    let metadata_url = format!("{issuer}/.well-known/oauth-protected-resource/mcp");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{challenge}"
    );
    let resource = oauth::get_json(&http, &metadata_url).await;
    assert_eq!(resource["resource"], format!("{issuer}/mcp"));
    assert_eq!(resource["authorization_servers"], json!([issuer]));
    let server = oauth::get_json(
        &http,
        &format!("{issuer}/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(server["issuer"], issuer.as_str());
    assert_eq!(server["client_id_metadata_document_supported"], false);

    // Registration, consent with the key (checked against OpenPhone), code,
    // token: only what was granted is listed and callable.
    // Registrations drive the auth component's sweep (Spin runs nothing in
    // the background): every 20th request to its routes sweeps a page.
    for i in 0..20 {
        Client::register(&issuer, &format!("Flood {i}")).await;
    }
    let client = Client::register(&issuer, "Spin Assistant").await;
    let tokens = client
        .tokens(BUSINESS_KEY, &["messages:send", "messages:read"])
        .await;
    let checks = (sim.requests().into_iter())
        .filter(|r| r.path == "/v1/phone-numbers")
        .count();
    assert_eq!(checks, 1, "the key was checked once, with one read");
    let session = oauth::open_session(&up, &tokens.access).await;
    assert_eq!(
        oauth::tool_names(&up, &tokens.access, &session).await,
        vec!["send-message", "bulk-messages", "fetch-messages"]
    );
    let contact = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create-contact",
        "arguments":{"firstName": "Ann", "phoneNumbers": [BOB]}}});
    let forbidden = oauth::mcp(&up, Some(&tokens.access), Some(&session), contact).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert!(oauth::www_authenticate(forbidden.headers()).contains("error=\"insufficient_scope\""));

    // A tool call sends with the key the user typed, sealed in the vault.
    let send = json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"send-message",
        "arguments":{"from": SALES_PHONE_ID, "to": BOB, "content": "Hello over OAuth on Spin"}}});
    let reply: Value = oauth::mcp(&up, Some(&tokens.access), Some(&session), send.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    let posts = message_posts(&sim);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].api_key.as_deref(), Some(BUSINESS_KEY));

    // Refresh rotates; the grant (and its session) carry on.
    let (status, body) = client.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = oauth::tokens_of(&body);
    assert_ne!(rotated.refresh, tokens.refresh);
    let pong = oauth::ping(&up, Some(&rotated.access), Some(&session)).await;
    assert_eq!(pong.status(), StatusCode::OK);

    // Revoking the refresh token ends the grant: its access token and its
    // sealed key stop working.
    assert_eq!(client.revoke(&rotated.refresh).await, StatusCode::OK);
    let after = oauth::mcp(&up, Some(&rotated.access), Some(&session), send).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        client.refresh(&rotated.refresh).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        message_posts(&sim).len(),
        1,
        "nothing was sent after the revocation"
    );

    // A client named by a metadata document URL is refused with a page,
    // and nothing is fetched.
    let before = sim.requests().len();
    let document = (http.get(format!(
        "{issuer}/authorize?response_type=code&client_id=https%3A%2F%2Fclient.example%2Fmeta.json\
         &redirect_uri=https%3A%2F%2Fclient.example%2Fcb&code_challenge=abc&code_challenge_method=S256"
    )))
    .send()
    .await
    .unwrap();
    assert!(document.status().is_client_error(), "{}", document.status());
    assert_eq!(sim.requests().len(), before);

    sim.assert_conformant();
    let logs = up.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("swept a page of OAuth records")),
        "the sweep ran: {logs:?}"
    );
    assert!(!logs.iter().any(|l| l.contains("sweep failed")), "{logs:?}");
    harness::assert_json_lines(
        &logs
            .iter()
            .filter(|l| l.starts_with('{'))
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert_no_secret(
        &logs,
        &[
            BUSINESS_KEY,
            secret,
            &tokens.access,
            &tokens.refresh,
            &rotated.access,
            &rotated.refresh,
        ],
    );
    // Spin's store holds the key sealed only.
    let db = std::fs::read(up.dir.path().join("state/sqlite_key_value.db")).unwrap_or_default();
    assert!(!db.is_empty(), "the key-value store was used");
    assert!(
        !db.windows(BUSINESS_KEY.len())
            .any(|w| w == BUSINESS_KEY.as_bytes()),
        "the store holds no key in clear"
    );
}

/// Outcomes live in Spin's key-value store: a retried `send-message` (same
/// `idempotencyKey`, in another request, even another session) is answered
/// from the record and texts once; duplicates sent at the same moment run
/// once; a re-sent JSON-RPC request is answered from the first.
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_send_on_spin_texts_once() {
    let Some((sim, up)) = single_user().await else {
        return;
    };
    let posts = || message_posts(&sim).len();
    let replayed = |result: &Value| result["_meta"]["io.github.openphone-mcp/replayed"] == true;
    let send = |to: &str, key: &str| json!({ "from": SALES_NUMBER, "to": to, "content": "Once only", "idempotencyKey": key });

    let session = Session::open(&up.mcp()).await;
    let first = call(&session, "send-message", send(ALICE, "spin-once-1")).await;
    assert_eq!(first["isError"], false, "{first}");
    assert!(!replayed(&first));
    let elsewhere = Session::open(&up.mcp()).await;
    let again = call(&elsewhere, "send-message", send(ALICE, "spin-once-1")).await;
    assert!(replayed(&again), "{again}");
    assert_eq!(again["content"], first["content"]);
    assert_eq!(posts(), 1);
    let other = call(&session, "send-message", send(BOB, "spin-once-1")).await;
    assert_eq!(other["isError"], true);
    assert!(
        text(&other).contains("already used with different arguments"),
        "{other}"
    );
    assert_eq!(posts(), 1);

    // Eight duplicates at once: one runs, the others are told it is
    // running, or get its record.
    let session = Arc::new(session);
    let mut duplicates = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let session = Arc::clone(&session);
        duplicates
            .spawn(async move { call(&session, "send-message", send(CAROL, "spin-once-2")).await });
    }
    let results = duplicates.join_all().await;
    assert_eq!(posts(), 2, "{results:?}");
    assert_eq!(
        results
            .iter()
            .filter(|r| r["isError"] == false && !replayed(r))
            .count(),
        1,
        "exactly one ran: {results:?}"
    );
    for result in &results {
        assert!(
            result["isError"] == false || text(result).contains("still running"),
            "{result}"
        );
    }

    // No key: the same request id re-sent in the session is answered from
    // the first one's outcome.
    let params = json!({"name": "send-message", "arguments": {
        "from": SALES_NUMBER, "to": BOB, "content": "Retried request"}});
    let first = session
        .request_with_id(json!(900), "tools/call", params.clone())
        .await;
    let retried = session
        .request_with_id(json!(900), "tools/call", params)
        .await;
    assert!(!replayed(&first["result"]));
    assert!(replayed(&retried["result"]), "{retried}");
    assert_eq!(posts(), 3);

    sim.assert_conformant();
    assert_no_secret(&up.logs(), &[BUSINESS_KEY]);
}
