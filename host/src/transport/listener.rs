//! Accepting connections, with limits no client can outlast: a cap on open
//! connections (in total, and per peer address unless the peer is a trusted
//! proxy), HTTP/1.1 with a header-read timeout — which hyper also starts as
//! soon as a keep-alive connection waits for its next request, so it is the
//! idle timeout too — and a graceful shutdown: no more accepting, idle and
//! half-sent connections closed at once, requests in flight given a grace
//! period, then what still runs stopped (`sandbox/shutdown.rs`).
//!
//! Only HTTP/1.1 is served: MCP clients speak it, and a TLS-terminating
//! proxy in front speaks it to us.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::access::client_address::{TrustedProxies, counted_as};

/// How many connections may be open, and how long a client may take.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open connections in total.
    pub total: usize,
    /// Open connections from one peer address (trusted proxies exempt).
    pub per_address: usize,
    /// Time to send a request's headers, counted from when the connection
    /// starts waiting for them (a new connection, or an idle keep-alive one).
    pub header_read: Duration,
    /// Time requests in flight get to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            total: 1_024,
            per_address: 256,
            header_read: Duration::from_secs(20),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Open connections per peer address.
#[derive(Debug, Default)]
struct PerAddress(Mutex<HashMap<String, usize>>);

/// One open connection counted under its address; uncounted on drop.
struct AddressSlot {
    counts: Arc<PerAddress>,
    /// [`counted_as`] of the peer.
    address: String,
}

impl PerAddress {
    /// A place for a connection from `peer`, counted with every address
    /// [`counted_as`] the same (so one IPv6 /64 is one address, as for the
    /// rate limits); `None` past `limit`.
    fn take(counts: &Arc<PerAddress>, peer: IpAddr, limit: usize) -> Option<AddressSlot> {
        let address = counted_as(peer);
        let mut map = counts
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let open = map.entry(address.clone()).or_insert(0);
        if *open >= limit {
            return None;
        }
        *open += 1;
        Some(AddressSlot {
            counts: Arc::clone(counts),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = (self.counts.0.lock()).unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(open) = map.get_mut(&self.address) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// An open connection's place under the caps; given back on drop.
type Place = (tokio::sync::OwnedSemaphorePermit, Option<AddressSlot>);

/// A place for a connection from `peer`, or `None` (logged) when the server
/// or that address already holds as many as it may.
fn admit(
    open: &Arc<Semaphore>,
    per_address: &Arc<PerAddress>,
    proxies: &TrustedProxies,
    peer: IpAddr,
    limit: usize,
) -> Option<Place> {
    let Ok(permit) = Arc::clone(open).try_acquire_owned() else {
        tracing::warn!("connection refused: too many open connections");
        return None;
    };
    if proxies.trusts(peer) {
        return Some((permit, None));
    }
    match PerAddress::take(per_address, peer, limit) {
        Some(slot) => Some((permit, Some(slot))),
        None => {
            tracing::warn!("connection refused: too many open connections from one address");
            None
        }
    }
}

/// One request being answered on a connection, counted until dropped.
struct Answering(Arc<AtomicUsize>);

impl Answering {
    fn start(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Answering(Arc::clone(count))
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Resolves once shutdown began and the connection answers no request (it
/// is idle, or still sending a request's headers).
async fn unanswering_once_stopping(
    mut stopping: tokio::sync::watch::Receiver<bool>,
    answering: &AtomicUsize,
) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        // The listener is gone without a shutdown: nothing to close early.
        return std::future::pending().await;
    }
    while answering.load(Ordering::SeqCst) > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long stopped calls get to answer their clients once stopped.
const SETTLE: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting, closes idle connections, and waits for the requests in
/// flight to finish (at most `limits.shutdown_grace`). Once the grace is
/// over, `stop_work` stops what still runs, whose answers get [`SETTLE`]
/// more to go out before the connections left are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    proxies: TrustedProxies,
    shutdown: impl std::future::Future<Output = ()>,
    stop_work: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let open = Arc::new(Semaphore::new(limits.total));
    let per_address = Arc::new(PerAddress::default());
    let graceful = GracefulShutdown::new();
    let stop = tokio::sync::watch::Sender::new(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause, don't spin.
                    tracing::warn!(error = %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(place) = admit(&open, &per_address, &proxies, peer.ip(), limits.per_address)
        else {
            continue;
        };
        let serving = Arc::new(AtomicUsize::new(0));
        let service = {
            let (app, serving) = (app.clone(), Arc::clone(&serving));
            tower::service_fn(move |mut request: axum::http::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                let answering = Answering::start(&serving);
                let app = app.clone();
                async move {
                    let response = app.oneshot(request).await?;
                    // Counted until the last byte of the body is out.
                    Ok::<_, Infallible>(response.map(|body| {
                        Body::new(body.map_frame(move |frame| {
                            let _ = &answering;
                            frame
                        }))
                    }))
                }
            })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        let stopping = stop.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => {
                    if let Err(error) = ended {
                        tracing::debug!(error = %error, "connection ended with an error");
                    }
                }
                // hyper closes an idle connection at shutdown, not one still
                // sending its headers: closed here once it answers nothing.
                () = unanswering_once_stopping(stopping, &serving) => {}
            }
            drop(place);
        });
    }
    drop(listener);
    stop.send_replace(true);
    let drained = graceful.shutdown();
    tokio::pin!(drained);
    tokio::select! {
        () = &mut drained => return Ok(()),
        () = tokio::time::sleep(limits.shutdown_grace) => {}
    }
    tracing::warn!("shutdown grace period over; stopping the calls still running");
    stop_work.await;
    if tokio::time::timeout(SETTLE, drained).await.is_err() {
        tracing::warn!("closing the connections still open");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_connections_per_address() {
        let counts = Arc::new(PerAddress::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = PerAddress::take(&counts, a, 2).unwrap();
        let second = PerAddress::take(&counts, a, 2).unwrap();
        assert!(PerAddress::take(&counts, a, 2).is_none());
        assert!(PerAddress::take(&counts, b, 2).is_some());
        drop(first);
        let third = PerAddress::take(&counts, a, 2);
        assert!(third.is_some());
        drop((second, third));
        assert!(
            counts.0.lock().unwrap().is_empty(),
            "closed addresses are forgotten"
        );
    }
}
