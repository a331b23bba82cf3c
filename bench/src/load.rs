//! A closed-loop HTTP/1.1 load generator: `connections` keep-alive
//! connections, each sending its next request as soon as the previous one
//! is answered, for a fixed time. Written here rather than shelling out to
//! wrk so that the bench needs nothing but cargo, and so that every request
//! can carry its own body (fresh JSON-RPC ids).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// What one request looks like; `n` numbers the requests of a connection.
pub type Shape = Arc<dyn Fn(u64) -> Request<Full<Bytes>> + Send + Sync>;

/// Requests answered per second, and how many were not `expected`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_second: f64,
    pub unexpected: u64,
}

/// Drives `addr` for `duration` over `connections` connections.
pub async fn drive(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    expected: u16,
    shape: Shape,
) -> anyhow::Result<Rate> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let unexpected = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let (stop, done, unexpected, shape) = (
            Arc::clone(&stop),
            Arc::clone(&done),
            Arc::clone(&unexpected),
            Arc::clone(&shape),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let Ok(response) = sender.send_request(shape(n)).await else {
                    unexpected.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let status = response.status().as_u16();
                let _ = response.into_body().collect().await;
                if status != expected {
                    unexpected.fetch_add(1, Ordering::Relaxed);
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    let counted = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    Ok(Rate {
        per_second: counted as f64 / elapsed.as_secs_f64(),
        unexpected: unexpected.load(Ordering::Relaxed),
    })
}
