//! Connections and bodies no client can hold open: half-sent headers, idle
//! keep-alive connections, dripped bodies, oversized bodies, too many
//! connections from one address, and an endless stdio line.

use std::io::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use openphone_sim::{BUSINESS_KEY, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::{self, OAUTH, Server};

/// A raw connection to `server` from `source` (any 127.x address).
async fn connect_from(server: &Server, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind((source.parse::<IpAddr>().unwrap(), 0).into())
        .unwrap();
    socket.connect(server.addr.parse().unwrap()).await.unwrap()
}

/// Reads until the server closes the connection; how long it took and what came.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {limit:?}"
    );
    (started.elapsed(), received)
}

async fn health(server: &Server) -> StatusCode {
    reqwest::get(format!("http://{}/health", server.addr))
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn half_sent_headers_and_idle_connections_are_closed() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &["--header-read-timeout-secs", "1"]);
    let mut slow = connect_from(&server, "127.0.0.1").await;
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
        .await
        .unwrap();
    // Others are served meanwhile.
    assert_eq!(health(&server).await, StatusCode::OK);
    let (waited, _) = until_closed(&mut slow, Duration::from_secs(10)).await;
    assert!(waited >= Duration::from_millis(500), "{waited:?}");

    // A keep-alive connection idle after its request is closed as well.
    let mut idle = connect_from(&server, "127.0.0.1").await;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let (_, answer) = until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dripped_or_oversized_body_is_refused() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &["--body-read-timeout-secs", "1"]);
    let mut drip = connect_from(&server, "127.0.0.1").await;
    drip.write_all(
        b"POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"redirect",
    )
    .await
    .unwrap();
    let (waited, answer) = until_closed(&mut drip, Duration::from_secs(10)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    let http = reqwest::Client::new();
    let big_form =
        json!({"redirect_uris": ["http://127.0.0.1:1/cb"], "client_name": "x".repeat(20 << 10)});
    let response = http
        .post(format!("http://{}/register", server.addr))
        .json(&big_form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = http
        .post(server.url())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(vec![b' '; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_cannot_hold_every_connection() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &["--max-connections-per-address", "3"]);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from(&server, "127.0.0.1").await;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut fourth = connect_from(&server, "127.0.0.1").await;
    let _ = fourth
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let (_, answer) = until_closed(&mut fourth, Duration::from_secs(5)).await;
    assert!(
        answer.is_empty(),
        "the fourth connection is closed unanswered"
    );
    // Another address is served.
    let mut neighbour = connect_from(&server, "127.0.0.2").await;
    neighbour
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = neighbour.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Closing one frees its place.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from(&server, "127.0.0.1").await;
    again
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let n = again.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_stdio_line_is_refused_and_the_next_one_served() {
    let sim = Simulator::start().await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut child = harness::stdio(&sim, BUSINESS_KEY, data_dir.path(), &[]);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..10 {
            stdin.write_all(&chunk).unwrap();
        }
        stdin.write_all(b"\n").unwrap();
        let initialize = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
        writeln!(stdin, "{initialize}").unwrap();
    });
    writer.join().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["error"]["code"], -32600);
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most")
    );
    assert_eq!(lines[1]["id"], 1);
    assert!(lines[1]["result"]["protocolVersion"].is_string());
}
