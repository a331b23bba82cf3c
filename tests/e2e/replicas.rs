//! Two replicas on one Redis behave as one server: sessions and tokens made
//! on one work on the other, one idempotency key runs once whichever
//! replica gets it, the OpenPhone budget is shared, a replica killed
//! mid-send is resumed by the other, revocations hold everywhere, and a
//! Redis outage is answered with `503` and recovered from.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openphone_sim::{BOB, BUSINESS_KEY, SALES_PHONE_ID, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bulk::{assert_complete_without_repeats, bulk, recipients};
use crate::harness::{self, OAUTH, Server, free_port, path_str};
use crate::http_rules::Session;
use crate::oauth::{Client, Endpoint, mcp, open_session, ping};

/// A `redis-server` of the test's own on a free loopback port. It keeps an
/// append-only file synced on every write, so it can be killed and started
/// again on the same port with its data.
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        let port = free_port();
        let mut redis = Redis {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        redis.start_again();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `kill -9`.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn start_again(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is needed by the replica tests (tests/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP load balancer in front of the replicas: new connections go to
/// the replica [`Balancer::send_to`] names. Switching closes the
/// connections open so far, so no client keeps talking to the other one.
struct Balancer {
    addr: SocketAddr,
    backends: Arc<Mutex<Vec<String>>>,
    route: Arc<AtomicUsize>,
    open: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Balancer {
    async fn start() -> Balancer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let balancer = Balancer {
            addr: listener.local_addr().unwrap(),
            backends: Arc::default(),
            route: Arc::default(),
            open: Arc::default(),
        };
        let (backends, route, open) = (
            Arc::clone(&balancer.backends),
            Arc::clone(&balancer.route),
            Arc::clone(&balancer.open),
        );
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = backends.lock().unwrap()[route.load(Ordering::SeqCst)].clone();
                let proxied = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open.lock().unwrap().push(proxied.abort_handle());
            }
        });
        balancer
    }

    fn public_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&self, replicas: &[&Server]) {
        *self.backends.lock().unwrap() = replicas.iter().map(|r| r.addr.clone()).collect();
    }

    async fn send_to(&self, replica: usize) {
        self.route.store(replica, Ordering::SeqCst);
        let open: Vec<_> = self.open.lock().unwrap().drain(..).collect();
        for connection in open {
            connection.abort();
        }
        // Time for clients to see their idle connections closed.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Endpoint for Balancer {
    fn mcp_url(&self) -> String {
        format!("{}/mcp", self.public_url())
    }
}

fn secret_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "r".repeat(48)).unwrap();
    file
}

/// Two OAuth replicas in production mode behind `balancer`, one Redis,
/// one deployment secret.
fn oauth_replicas(
    sim: &Simulator,
    redis: &Redis,
    secret: &tempfile::NamedTempFile,
    balancer: &Balancer,
) -> (Server, Server) {
    let url = redis.url();
    let public = balancer.public_url();
    let args = [
        "--mode",
        "production",
        "--secret-file",
        path_str(secret.path()),
        "--store",
        &url,
        "--public-url",
        &public,
    ];
    let a = Server::start(sim, OAUTH, &args);
    let b = Server::start(sim, OAUTH, &args);
    balancer.serve(&[&a, &b]);
    (a, b)
}

/// Two single-user replicas of one key on one Redis.
fn local_replicas(sim: &Simulator, redis: &Redis) -> (Server, Server) {
    local_replicas_with(sim, redis, &[])
}

fn local_replicas_with(sim: &Simulator, redis: &Redis, extra: &[&str]) -> (Server, Server) {
    let url = redis.url();
    let mut args = vec!["--store", url.as_str()];
    args.extend_from_slice(extra);
    (
        Server::start(sim, BUSINESS_KEY, &args),
        Server::start(sim, BUSINESS_KEY, &args),
    )
}

fn send(text: &str, key: Option<&str>) -> Value {
    let mut arguments = json!({"from": SALES_PHONE_ID, "to": BOB, "content": text});
    if let Some(key) = key {
        arguments["idempotencyKey"] = json!(key);
    }
    json!({"name": "send-message", "arguments": arguments})
}

fn logged_tool_calls(server: &Server) -> usize {
    (server.logs().iter())
        .filter(|l| l.contains("\"message\":\"tool call\""))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_and_a_token_made_on_one_replica_work_on_the_other() {
    let sim = Simulator::start().await.unwrap();
    let redis = Redis::start();
    let secret = secret_file();
    let balancer = Balancer::start().await;
    let (a, b) = oauth_replicas(&sim, &redis, &secret, &balancer);

    // Registered, consented, exchanged and initialized on A.
    balancer.send_to(0).await;
    let client = Client::register(&balancer.public_url(), "Replica Assistant").await;
    let tokens = client.tokens(BUSINESS_KEY, &["messages:send"]).await;
    let session = open_session(&balancer, &tokens.access).await;

    // Used on B: the token verifies, the session is known, the key opens.
    balancer.send_to(1).await;
    let reply: Value = mcp(
        &balancer,
        Some(&tokens.access),
        Some(&session),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params": send("from B", None)}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    assert_eq!(sim.sent_messages().len(), 1);
    assert_eq!(logged_tool_calls(&a), 0);
    assert_eq!(logged_tool_calls(&b), 1, "B ran the call");

    // The refresh token made on A rotates on B; the old one is spent for both.
    let (status, body) = client.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    harness::plant(body["access_token"].as_str().unwrap());
    harness::plant(body["refresh_token"].as_str().unwrap());
    balancer.send_to(0).await;
    let (status, _) = client.refresh(&tokens.refresh).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a reused refresh token is refused on A too"
    );
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_made_through_one_replica_or_offline_holds_on_the_other() {
    let sim = Simulator::start().await.unwrap();
    let redis = Redis::start();
    let secret = secret_file();
    let balancer = Balancer::start().await;
    let (a, b) = oauth_replicas(&sim, &redis, &secret, &balancer);
    balancer.send_to(0).await;
    let client = Client::register(&balancer.public_url(), "Replica Admin Test").await;
    let first = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let second = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    for token in [&first.access, &second.access] {
        open_session(&balancer, token).await;
    }

    // Through B's admin socket, which lists what A created.
    let (ok, out, err) = harness::admin(&sim, &b, &["--json", "grants"]);
    assert!(ok, "{err}");
    let grants: Value = serde_json::from_str(&out).unwrap();
    let grants: Vec<String> = (grants["value"].as_array().unwrap().iter())
        .map(|g| g["grant"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(grants.len(), 2, "{out}");
    let (ok, out, err) = harness::admin(&sim, &b, &["revoke-grant", &grants[0]]);
    assert!(ok && out.contains("revoked"), "{out}{err}");
    // A refuses it at its next request; the other grant still works there.
    balancer.send_to(0).await;
    let (revoked, kept) =
        if ping(&balancer, Some(&first.access), None).await.status() == StatusCode::UNAUTHORIZED {
            (&first, &second)
        } else {
            (&second, &first)
        };
    assert_eq!(
        ping(&balancer, Some(&revoked.access), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    balancer.send_to(0).await;
    open_session(&balancer, &kept.access).await;

    // `openphone-mcp admin` on a machine with no server: straight on the
    // shared store, with the deployment secret.
    let elsewhere = tempfile::tempdir().unwrap();
    let offline = |args: &[&str]| {
        let out = harness::command(&sim, OAUTH, elsewhere.path())
            .args(["--store", &redis.url(), "admin"])
            .args([
                "--mode",
                "production",
                "--secret-file",
                path_str(secret.path()),
            ])
            .args(args)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(out.status.success(), "{stderr}");
        stdout
    };
    let listed: Value = serde_json::from_str(&offline(&["--json", "grants"])).unwrap();
    let live: Vec<&Value> = (listed["value"].as_array().unwrap().iter())
        .filter(|g| g["revoked"] == false)
        .collect();
    assert_eq!(live.len(), 1, "{listed}");
    assert_eq!(live[0]["grant"], grants[1].as_str(), "{listed}");
    assert!(offline(&["revoke-grant", &grants[1]]).contains("revoked"));
    for replica in [0, 1] {
        balancer.send_to(replica).await;
        assert_eq!(
            ping(&balancer, Some(&kept.access), None).await.status(),
            StatusCode::UNAUTHORIZED,
            "replica {replica} refuses the grant revoked offline"
        );
    }
    let trail = offline(&["--json", "audit", "--event", "grant-revoked"]);
    assert_eq!(trail.matches("grant-revoked").count(), 2, "{trail}");
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_idempotency_key_sent_through_both_replicas_at_once_texts_once() {
    let sim = Simulator::start().await.unwrap();
    // Held long enough that every duplicate arrives while the first runs.
    sim.inject(openphone_sim::Fault::delay(600).on("POST", "/v1/messages"));
    let redis = Redis::start();
    let (a, b) = local_replicas(&sim, &redis);
    let sessions = [Session::open(&a.url()).await, Session::open(&b.url()).await];
    let sessions = Arc::new(sessions);
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let sessions = Arc::clone(&sessions);
            tokio::spawn(async move {
                sessions[i % 2]
                    .request("tools/call", send("once", Some("replica-key-1")))
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for call in calls {
        let reply = call.await.unwrap();
        assert_eq!(reply["result"]["isError"], false, "{reply}");
        ids.push(reply["result"]["structuredContent"]["id"].clone());
    }
    assert_eq!(sim.sent_messages().len(), 1, "texted once");
    let sent = sim.sent_messages()[0]["id"].clone();
    assert!(
        ids.iter().all(|id| *id == sent),
        "every reply names the one message: {ids:?}"
    );
    assert_eq!(
        logged_tool_calls(&a) + logged_tool_calls(&b),
        1,
        "one replica ran it; the rest were answered from its record"
    );
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_spread_over_both_replicas_share_one_budget() {
    let sim = Simulator::start().await.unwrap();
    let redis = Redis::start();
    let (a, b) = local_replicas(&sim, &redis);
    let sessions = Arc::new([Session::open(&a.url()).await, Session::open(&b.url()).await]);
    let started = Instant::now();
    let calls: Vec<_> = (0..30)
        .map(|i| {
            let sessions = Arc::clone(&sessions);
            tokio::spawn(async move {
                sessions[i % 2]
                    .request("tools/call", send(&format!("budget {i}"), None))
                    .await
            })
        })
        .collect();
    for call in calls {
        let reply = call.await.unwrap();
        assert_eq!(reply["result"]["isError"], false, "{reply}");
    }
    let elapsed = started.elapsed();
    // 10 per window, one window for both: three windows. Two budgets of
    // their own would send 15 each in about 1.1 s, and collect 429s.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(sim.sent_messages().len(), 30);
    let limited = (sim.requests().iter())
        .filter(|r| r.status == Some(429))
        .count();
    assert_eq!(limited, 0, "the API never had to refuse a request");
    assert!(logged_tool_calls(&a) >= 10 && logged_tool_calls(&b) >= 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_counts_requests_over_both_replicas() {
    let sim = Simulator::start().await.unwrap();
    let redis = Redis::start();
    let (a, b) = local_replicas_with(&sim, &redis, &["--rate-limit", "mcp=6/min"]);
    let session = Session::open(&a.url()).await;
    let mut statuses = Vec::new();
    for replica in [&a, &b, &a, &b, &a, &b] {
        let response = mcp(
            replica,
            None,
            Some(&session.id),
            json!({"jsonrpc":"2.0","id":3,"method":"ping"}),
        )
        .await;
        statuses.push(response.status());
    }
    // The initialize and its notification counted too: 6 in all.
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK
        ]
        .into_iter()
        .chain([StatusCode::TOO_MANY_REQUESTS; 2])
        .collect::<Vec<_>>()
    );
    let refused = mcp(
        &b,
        None,
        Some(&session.id),
        json!({"jsonrpc":"2.0","id":4,"method":"ping"}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&wait), "{wait}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_send_cut_off_by_killing_one_replica_is_resumed_on_the_other() {
    let sim = Simulator::start().await.unwrap();
    sim.inject(
        openphone_sim::Fault::delay(100)
            .on("POST", "/v1/messages")
            .times(1_000),
    );
    let redis = Redis::start();
    let (mut a, b) = local_replicas(&sim, &redis);
    let to = recipients(40);
    let on_a = Session::open(&a.url()).await;
    let request = bulk("replica-bulk-1", &to);
    let running = tokio::spawn(async move {
        let _ = on_a
            .post(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":request}))
            .await;
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.sent_messages().len() < 10 {
        assert!(Instant::now() < deadline, "the send did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = Instant::now();
    a.kill();
    running.abort();
    let before = sim.sent_messages().len();
    assert!(before < 40, "the kill came too late to test anything");

    // B waits while A's liveness lasts, then takes the claim over.
    let on_b = Session::open(&b.url()).await;
    let resumed = on_b
        .request("tools/call", bulk("replica-bulk-1", &to))
        .await;
    let s = &resumed["result"]["structuredContent"];
    assert!(s.is_object(), "{resumed}");
    assert_complete_without_repeats(&sim, &to, s);
    assert!(
        killed.elapsed() < Duration::from_secs(30),
        "taken over once A's liveness lapsed"
    );
    assert!(
        (b.logs().iter()).any(|l| l.contains("resuming an interrupted call")),
        "B took over A's claim"
    );
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_outage_is_answered_with_503_and_recovered_from() {
    let sim = Simulator::start().await.unwrap();
    let mut redis = Redis::start();
    let (a, b) = local_replicas(&sim, &redis);
    let session = Session::open(&a.url()).await;
    let first = session
        .request("tools/call", send("before", Some("outage-1")))
        .await;
    assert_eq!(first["result"]["isError"], false, "{first}");

    redis.kill();
    let down = Instant::now();
    for (i, body) in [
        json!({"jsonrpc":"2.0","id":20,"method":"tools/list"}),
        json!({"jsonrpc":"2.0","id":21,"method":"tools/call","params": send("during", Some("outage-2"))}),
        json!({"jsonrpc":"2.0","id":22,"method":"tools/call","params": send("before", Some("outage-1"))}),
    ]
    .iter()
    .enumerate()
    {
        for replica in [&a, &b] {
            let response = mcp(replica, None, Some(&session.id), body.clone()).await;
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "request {i}");
            assert!(response.headers().contains_key("retry-after"));
            let reply: Value = response.json().await.unwrap();
            assert_eq!(reply["error"]["code"], -32001, "{reply}");
            let message = reply["error"]["message"].as_str().unwrap();
            assert!(message.contains("nothing was done"), "{message}");
        }
    }
    assert!(down.elapsed() < Duration::from_secs(10), "refused promptly");
    let health = reqwest::get(format!("http://{}/health", a.addr))
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "the process itself is fine"
    );
    assert_eq!(
        sim.sent_messages().len(),
        1,
        "nothing was sent while the store was down"
    );

    redis.start_again();
    // The session and the record survived; the retried send is answered
    // from its record on either replica, the refused one runs now, once.
    for replica in [&a, &b] {
        let reply: Value = mcp(
            replica,
            None,
            Some(&session.id),
            json!({"jsonrpc":"2.0","id":30,"method":"tools/call","params": send("before", Some("outage-1"))}),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            reply["result"]["_meta"]["io.github.openphone-mcp/replayed"], true,
            "{reply}"
        );
    }
    for _ in 0..2 {
        let reply = session
            .request("tools/call", send("during", Some("outage-2")))
            .await;
        assert_eq!(reply["result"]["isError"], false, "{reply}");
    }
    assert_eq!(sim.sent_messages().len(), 2);
    assert!(
        (a.logs().iter()).any(|l| l.contains("the store is unavailable")),
        "the outage is logged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_cannot_be_used_is_refused_at_start_without_its_password() {
    let sim = Simulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let closed = format!("redis://:hunter2@127.0.0.1:{}/", free_port());
    for (store, expected) in [
        (
            closed.as_str(),
            "reaching Redis at redis://:[redacted]@127.0.0.1",
        ),
        ("mysql://db/state", "expected redis://HOST:PORT[/DB]"),
        (
            "redis://cache/name",
            "the path names the database by number",
        ),
    ] {
        let out = harness::command(&sim, BUSINESS_KEY, dir.path())
            .args([
                "serve",
                "--single-user",
                "--listen",
                "127.0.0.1:0",
                "--store",
                store,
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{store}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{store}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

/// Calls of the store's write scripts Redis has run so far.
fn writes(redis: &Redis) -> u64 {
    let mut connection = ::redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let info: String = ::redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection)
        .unwrap();
    (info.lines())
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .map(|l| {
            let field = |name: &str| {
                (l.split([':', ',']))
                    .find_map(|f| f.strip_prefix(name)?.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            field("calls=") - field("failed_calls=")
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_that_change_nothing_write_nothing() {
    let sim = Simulator::start().await.unwrap();
    let redis = Redis::start();
    let url = redis.url();
    // Rate-limit counters are writes of their own; off here, so what is
    // counted is the store's tables and the OpenPhone budget.
    let server = Server::start(
        &sim,
        BUSINESS_KEY,
        &[
            "--store",
            &url,
            "--sweep-interval-secs",
            "3600",
            "--rate-limit",
            "mcp=off",
            "--rate-limit",
            "mcp-grant=off",
        ],
    );
    let session = Session::open(&server.url()).await;
    let before = writes(&redis);
    for _ in 0..20 {
        let listed = session.request("tools/list", json!({})).await;
        assert!(listed["result"]["tools"].is_array(), "{listed}");
        session.request("ping", json!({})).await;
    }
    assert_eq!(
        writes(&redis) - before,
        0,
        "lists and pings leave the session and the store as they were"
    );
    let (before, upstream_before) = (writes(&redis), sim.requests().len());
    for _ in 0..3 {
        let read = session
            .request(
                "tools/call",
                json!({"name": "fetch-messages", "arguments": {"inbox": openphone_sim::SALES_NUMBER, "participant": openphone_sim::ALICE, "maxResults": 5}}),
            )
            .await;
        assert_eq!(read["result"]["isError"], false, "{read}");
    }
    assert_eq!(
        writes(&redis) - before,
        (sim.requests().len() - upstream_before) as u64,
        "a read-only call writes only its requests' budget slots: no record, no session"
    );
    let before = writes(&redis);
    let sent = session
        .request("tools/call", send("counted", Some("writes-1")))
        .await;
    assert_eq!(sent["result"]["isError"], false, "{sent}");
    assert!(
        writes(&redis) > before + 1,
        "a send records its outcome besides its budget slot"
    );
}
