//! Deleting what is kept past its promise: a background task that sweeps
//! expired sessions, call outcomes and ledger entries out of the store.
//!
//! Reads ignore expired entries already; the sweep makes them gone, so the
//! store does not keep them in clear nor grow without bound. Each run looks
//! at no more than [`Sweeper::budget`] entries per table (in one short write
//! transaction each) and carries on where it stopped at the next run, so a
//! large backlog is worked off over several runs and no run holds the store
//! for long. It runs outside any request, on a blocking thread: a sweep can
//! neither fail nor slow down a request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::store::{Store, Table};

/// The tables whose entries expire.
const SWEPT: [Table; 4] = [
    Table::Sessions,
    Table::Outcomes,
    Table::Ledger,
    Table::Audit,
];

/// The sweep's settings and where each table's sweep goes on.
#[derive(Debug)]
pub(crate) struct Sweeper {
    store: Arc<Store>,
    /// Entries looked at per table per run.
    pub budget: usize,
    cursors: HashMap<Table, Option<String>>,
}

impl Sweeper {
    pub(crate) fn new(store: Arc<Store>, budget: usize) -> Self {
        Sweeper {
            store,
            budget: budget.max(1),
            cursors: HashMap::new(),
        }
    }

    /// One run over every swept table; returns how many entries it deleted.
    pub(crate) fn run_once(&mut self) -> usize {
        let mut removed = 0;
        for table in SWEPT {
            let cursor = self.cursors.get(&table).cloned().flatten();
            match self.store.sweep(table, cursor.as_deref(), self.budget) {
                Ok(page) => {
                    removed += page.removed;
                    self.cursors.insert(table, page.next);
                }
                Err(error) => {
                    tracing::warn!(table = ?table, error = %format!("{error:#}"), "sweeping expired records failed");
                }
            }
        }
        removed
    }

    /// Runs every `every` for as long as the process lives.
    pub(crate) fn spawn(mut self, every: Duration) {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let (sweeper, removed) = match tokio::task::spawn_blocking(move || {
                    let removed = self.run_once();
                    (self, removed)
                })
                .await
                {
                    Ok(done) => done,
                    Err(error) => {
                        tracing::error!(error = %error, "the sweep task failed; expired records are no longer swept");
                        return;
                    }
                };
                self = sweeper;
                if removed > 0 {
                    tracing::debug!(removed, "expired records swept");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::idempotency::{self, Claim, Key, Settlement};
    use crate::state::ledger::Ledger;
    use serde_json::json;

    #[test]
    fn thousands_of_expired_outcomes_are_swept_in_bounded_runs() {
        let store = Arc::new(Store::in_memory().unwrap());
        for n in 0..5_000 {
            let key = n.to_string();
            let key = Key {
                workspace: "ws",
                scope: "send-message",
                key: &key,
                ttl_secs: 1,
            };
            let Claim::Run { ticket, .. } =
                idempotency::claim(&store, "boot", &key, &json!({"n": n}), false).unwrap()
            else {
                panic!()
            };
            let mut ledger =
                Ledger::new(Arc::clone(&store), "ws", "t", key.key, ticket.expires_at());
            ledger.put("+15555550123", "1").unwrap();
            ticket
                .settle(Settlement::Done(&json!({"isError": false})))
                .unwrap();
        }
        store.put(Table::Outcomes, "kept", b"1", 3_600).unwrap();
        assert_eq!(store.len(Table::Outcomes).unwrap(), 5_001);
        std::thread::sleep(Duration::from_millis(2_100));
        let mut sweeper = Sweeper::new(Arc::clone(&store), 1_000);
        let first = sweeper.run_once();
        assert_eq!(first, 2_000, "one run deletes at most its budget per table");
        let mut runs = 1;
        while sweeper.run_once() > 0 {
            runs += 1;
        }
        assert!(runs >= 5, "{runs}");
        assert_eq!(
            store.len(Table::Outcomes).unwrap(),
            1,
            "only the live record is left"
        );
        assert_eq!(store.len(Table::Ledger).unwrap(), 0);
        assert!(store.get(Table::Outcomes, "kept").unwrap().is_some());
    }

    #[test]
    fn records_without_expiry_are_never_swept() {
        let store = Arc::new(Store::in_memory().unwrap());
        store.put(Table::Sessions, "forever", b"1", 0).unwrap();
        let mut sweeper = Sweeper::new(Arc::clone(&store), 10);
        assert_eq!(sweeper.run_once(), 0);
        assert_eq!(store.len(Table::Sessions).unwrap(), 1);
    }
}
