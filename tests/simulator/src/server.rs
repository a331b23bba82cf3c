//! The HTTP server: routes and a hand-written accept loop.
//!
//! The accept loop serves each connection with hyper in its own task and gives every request a
//! [`ConnectionControl`]; a handler that calls [`ConnectionControl::drop_connection`] makes the
//! task drop the connection, so the client sees it close with no response at all.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::state::Shared;
use crate::{admin, api};

/// Lets a request handler drop the connection it arrived on.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionControl {
    drop: Arc<Notify>,
}

impl ConnectionControl {
    fn new() -> Self {
        Self {
            drop: Arc::new(Notify::new()),
        }
    }

    /// Closes the connection without answering (the answer in flight is abandoned).
    pub(crate) fn drop_connection(&self) {
        self.drop.notify_one();
    }

    async fn dropped(&self) {
        self.drop.notified().await;
    }
}

/// Admin routes plus the API for everything else.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    admin::routes().fallback(api::handle).with_state(shared)
}

/// Binds `addr`; the returned address has the actual port when `addr` asked for port 0.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves until `shutdown` fires (or its sender is dropped); open connections are then aborted.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let control = ConnectionControl::new();
    let per_request = control.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(per_request.clone());
        router.clone().oneshot(request)
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = control.dropped() => {
            tracing::debug!("dropping a connection as a fault demands");
        }
    }
}
