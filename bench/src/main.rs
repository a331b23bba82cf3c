//! `openphone-mcp-bench`: starts the release `openphone-mcp` (single-user,
//! embedded store) against a loopback OpenPhone simulator, drives it over
//! HTTP with its own load generator, and prints each figure beside a
//! baseline measured in the same run, with a verdict against the targets.
//! Figures, never timed tests: the machine is shared and noisy.
//!
//! Build both, then run: `cargo build --release -p openphone-mcp -p
//! openphone-mcp-bench && target/release/openphone-mcp-bench`.

mod load;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use load::{Rate, Shape};

const PROTOCOL: &str = "2025-11-25";
const CONNECTIONS: usize = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let duration = Duration::from_secs(
        std::env::var("BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let bin = server_binary()?;
    let sim = openphone_sim::Simulator::start_with(openphone_sim::SimConfig {
        rate_limit_per_second: None,
        ..openphone_sim::SimConfig::default()
    })
    .await?;
    let data_dir = std::env::temp_dir().join(format!("openphone-mcp-bench-{}", std::process::id()));
    // The first start compiles the components into the cache; the second is the cold start users see.
    let (first, _) = Server::start(&bin, &sim.base_url(), &data_dir)?;
    drop(first);
    let (server, cold_start) = Server::start(&bin, &sim.base_url(), &data_dir)?;

    let session = initialize(server.addr).await?;
    let (_, list_body) = post(
        server.addr,
        Some(&session),
        &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
    )
    .await?;
    let list_bytes = Bytes::from(list_body);
    let static_addr = static_route(list_bytes.clone()).await?;

    let list_shape = |session: String| -> Shape {
        Arc::new(move |n| {
            request(
                &session,
                &json!({"jsonrpc":"2.0","id":n,"method":"tools/list"}),
            )
        })
    };
    let refused_shape: Shape = {
        let session = session.clone();
        Arc::new(move |n| {
            request(
                &session,
                &json!({"jsonrpc":"2.0","id":n,"method":"tools/call","params":{"name":"send-message",
                    "arguments":{"from":"+12125550100","to":"555","content":"bench"}}}),
            )
        })
    };
    let served = load::drive(
        server.addr,
        CONNECTIONS,
        duration,
        200,
        list_shape(session.clone()),
    )
    .await?;
    let baseline = load::drive(
        static_addr,
        CONNECTIONS,
        duration,
        200,
        list_shape(session.clone()),
    )
    .await?;
    let refused = load::drive(server.addr, CONNECTIONS, duration, 200, refused_shape).await?;

    for _ in 0..1_000 {
        initialize(server.addr).await?;
    }
    let rss_mib = server.rss_kib()? as f64 / 1024.0;

    println!(
        "openphone-mcp-bench: {} connections, {} s per figure, this machine ({} cores)",
        CONNECTIONS,
        duration.as_secs(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| figure | measured | baseline (same run) | ratio | target | verdict |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let ratio = served.per_second / baseline.per_second.max(1.0);
    row(
        "tools/list, local mode",
        &rate(served),
        &format!("static axum route, same bytes: {}", rate(baseline)),
        &format!("{ratio:.2}×"),
        "≥ 25 000/s and ≥ 0.5×",
        served.per_second >= 25_000.0 && ratio >= 0.5,
    );
    row(
        "refused tools/call (to: \"555\")",
        &rate(refused),
        "—",
        "—",
        "≥ 8 000/s",
        refused.per_second >= 8_000.0,
    );
    row(
        "RSS with 1 000 open sessions",
        &format!("{rss_mib:.1} MiB"),
        "—",
        "—",
        "≤ 100 MiB",
        rss_mib <= 100.0,
    );
    row(
        "cold start, compiled components cached",
        &format!("{} ms", cold_start.as_millis()),
        "—",
        "—",
        "—",
        true,
    );
    println!();
    println!(
        "Not measured by this version: OAuth mode against local mode, per-call instantiation, the tool logic natively in-process, the Redis store."
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}

fn rate(rate: Rate) -> String {
    let unexpected = if rate.unexpected > 0 {
        format!(" ({} unexpected answers)", rate.unexpected)
    } else {
        String::new()
    };
    format!("{:.0}/s{unexpected}", rate.per_second)
}

fn row(figure: &str, measured: &str, baseline: &str, ratio: &str, target: &str, met: bool) {
    let verdict = if target == "—" {
        "—"
    } else if met {
        "meets"
    } else {
        "misses"
    };
    println!("| {figure} | {measured} | {baseline} | {ratio} | {target} | {verdict} |");
}

/// The server binary beside this one, or `OPENPHONE_MCP_BIN`.
fn server_binary() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("OPENPHONE_MCP_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let beside = std::env::current_exe()?
        .parent()
        .context("the bench has no directory")?
        .join("openphone-mcp");
    if !beside.exists() {
        bail!(
            "{} is missing: cargo build --release -p openphone-mcp -p openphone-mcp-bench",
            beside.display()
        );
    }
    Ok(beside)
}

/// The server under test, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts it and returns it with the time until it listened.
    fn start(bin: &PathBuf, api: &str, data_dir: &PathBuf) -> anyhow::Result<(Server, Duration)> {
        let started = Instant::now();
        let mut child = Command::new(bin)
            .args([
                "--log-format",
                "json",
                "serve",
                "--single-user",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--rate-limit", "mcp=off", "--rate-limit", "mcp-grant=off"])
            .env("OPENPHONE_API_KEY", openphone_sim::BUSINESS_KEY)
            .env("OPENPHONE_API_BASE_URL", api)
            .env("OPENPHONE_MCP_DATA_DIR", data_dir)
            .env(
                "OPENPHONE_MCP_LOG",
                "warn,openphone_mcp::command=info,openphone_mcp=info",
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
        let addr = loop {
            let line = lines
                .next()
                .context("the server exited before it listened")??;
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("serving MCP at"))
            {
                break v["address"].as_str().context("no address")?.parse()?;
            }
        };
        let listening = started.elapsed();
        // Keep reading so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok((Server { child, addr }, listening))
    }

    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(session: &str, body: &Value) -> Request<Full<Bytes>> {
    let mut builder = Request::post("/mcp")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL);
    if !session.is_empty() {
        builder = builder.header("mcp-session-id", session);
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// One POST on a connection of its own: the status and the body.
async fn post(
    addr: SocketAddr,
    session: Option<&str>,
    body: &Value,
) -> anyhow::Result<(hyper::http::HeaderMap, Vec<u8>)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request(session.unwrap_or(""), body))
        .await?;
    if !response.status().is_success() {
        bail!("the server answered {}", response.status());
    }
    let headers = response.headers().clone();
    Ok((
        headers,
        response.into_body().collect().await?.to_bytes().to_vec(),
    ))
}

/// A negotiated session's id.
async fn initialize(addr: SocketAddr) -> anyhow::Result<String> {
    let (headers, _) = post(
        addr,
        None,
        &json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}),
    )
    .await?;
    let id = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .context("no session id")?
        .to_owned();
    post(
        addr,
        Some(&id),
        &json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    )
    .await?;
    Ok(id)
}

/// The protocol-overhead baseline: an axum route answering every POST
/// with the bytes the server answered `tools/list` with.
async fn static_route(bytes: Bytes) -> anyhow::Result<SocketAddr> {
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(move || {
            let bytes = bytes.clone();
            async move { ([("content-type", "application/json")], bytes) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}
