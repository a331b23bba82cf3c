//! Stopping running calls at shutdown without losing what they did.
//!
//! A call is never dropped in the middle of an OpenPhone request: that would
//! leave a message that may or may not have gone out. Instead the stop comes
//! in two steps. [`Shutdown::close_gate`] lets the requests in flight finish
//! and holds every later one at the gate for good; then
//! [`Shutdown::stop_calls`] drops the calls, each now between two requests,
//! with everything it sent already answered (and recorded by the tool's
//! ledger, or found by its retry). The call ends as stopped, so a tool that
//! can resume records it as interrupted and a retry with the same key picks
//! up where it stopped.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, watch};

/// The gate OpenPhone requests pass, and the signal that stops calls.
#[derive(Debug)]
pub(crate) struct Shutdown {
    /// Held for reading by each request in flight; for writing once shut.
    gate: Arc<RwLock<()>>,
    /// The write guard, kept so the gate stays shut until the process ends.
    shut: Mutex<Option<OwnedRwLockWriteGuard<()>>>,
    stop: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            gate: Arc::new(RwLock::new(())),
            shut: Mutex::new(None),
            stop: watch::Sender::new(false),
        }
    }
}

impl Shutdown {
    /// Passes the gate for one request (held until the answer is in); once
    /// the gate is shut, waits for good — the call is stopped there.
    pub(crate) async fn pass(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().await
    }

    /// Shuts the gate: waits (at most `patience`) for the requests in
    /// flight to finish; later ones wait at the gate. True if none was left
    /// in flight.
    pub(crate) async fn close_gate(&self, patience: Duration) -> bool {
        if self
            .shut
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            return true;
        }
        match tokio::time::timeout(patience, Arc::clone(&self.gate).write_owned()).await {
            Ok(guard) => {
                *self.shut.lock().unwrap_or_else(PoisonError::into_inner) = Some(guard);
                true
            }
            Err(_) => false,
        }
    }

    /// Tells every running call to stop.
    pub(crate) fn stop_calls(&self) {
        self.stop.send_replace(true);
    }

    /// Resolves once [`Shutdown::stop_calls`] was called.
    pub(crate) async fn calls_stopped(&self) {
        let mut stop = self.stop.subscribe();
        // The sender lives as long as `self`: `wait_for` cannot fail here.
        let _ = stop.wait_for(|stopped| *stopped).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_waits_for_requests_in_flight_and_holds_later_ones() {
        let shutdown = Arc::new(Shutdown::default());
        let in_flight = shutdown.pass().await;
        let closing = {
            let shutdown = Arc::clone(&shutdown);
            tokio::spawn(async move { shutdown.close_gate(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !closing.is_finished(),
            "a request in flight holds the gate open"
        );
        drop(in_flight);
        assert!(closing.await.unwrap(), "shut once the request is answered");
        let later = tokio::time::timeout(Duration::from_millis(100), shutdown.pass()).await;
        assert!(later.is_err(), "a later request waits at the shut gate");
    }

    #[tokio::test]
    async fn closing_gives_up_after_its_patience() {
        let shutdown = Shutdown::default();
        let _stuck = shutdown.pass().await;
        assert!(!shutdown.close_gate(Duration::from_millis(50)).await);
    }

    #[tokio::test]
    async fn calls_learn_of_the_stop() {
        let shutdown = Arc::new(Shutdown::default());
        let waiting = {
            let shutdown = Arc::clone(&shutdown);
            tokio::spawn(async move { shutdown.calls_stopped().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        shutdown.stop_calls();
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("told")
            .unwrap();
        // Told at once when already stopped.
        tokio::time::timeout(Duration::from_secs(1), shutdown.calls_stopped())
            .await
            .expect("told");
    }
}
