//! At most one execution per idempotency key.
//!
//! A call that carries an idempotency key first claims it in the store
//! (atomically: `put_if_absent`). The claimant runs the tool and records the
//! result; a later call with the same key — same user, same tool — gets the
//! recorded result back instead of running again, so a retried send never
//! texts twice. The same key with different arguments is refused. Outcomes
//! in which nothing can have happened upstream (invalid arguments) release
//! the key.
//!
//! A claim names the process that holds it. A claim held by another live
//! replica of a shared store is busy, as one held by this process is. A
//! claim whose holder is gone (a restart, or a replica whose liveness key
//! lapsed: [`Store::holder_alive`]) or that was dropped without an outcome
//! (the call was cut off) is *interrupted*: what the first call did is unknown. A resumable tool
//! (one that keeps per-item records in the ledger) is simply run again; for
//! any other tool the retry is told the outcome is unknown, and nothing is
//! run — never a second send.
//!
//! Records belong to the OpenPhone workspace the call acts for, not to the
//! grant that carried it, so a user who authorizes again still finds them.
//! Keys are stored as a SHA-256 of (workspace, tool, key), so the store
//! holds no client-chosen text. A record's expiry is fixed when it is first
//! claimed; taking it over or settling it never extends it, and the
//! ledger entries written under it expire at the same instant
//! ([`Ticket::expires_at`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::state::store::{Store, Table, now_secs};

/// How long a finished outcome is kept.
pub const RECORD_TTL_SECS: u64 = 7 * 24 * 3600;

/// Which key a call claims, and for how long its outcome is kept.
#[derive(Debug, Clone)]
pub struct Key<'a> {
    /// The workspace the call acts for ([`crate::sandbox::Caller::workspace`]).
    pub workspace: &'a str,
    /// The tool, or a fixed scope when one key covers every tool (retried
    /// JSON-RPC requests).
    pub scope: &'a str,
    pub key: &'a str,
    pub ttl_secs: u64,
}

/// The right to run, and where to record the outcome. Dropped without
/// [`Ticket::settle`] (the call was cut off), it marks the claim interrupted.
#[derive(Debug)]
pub struct Ticket<'s> {
    store: &'s Store,
    record: String,
    arguments: String,
    /// Unix seconds at which the record (and its ledger) expires.
    expires_at: u64,
    settled: bool,
}

/// What a call with an idempotency key may do.
#[derive(Debug)]
pub enum Claim<'s> {
    /// Run, then [`Ticket::settle`]. `resumed` when an interrupted earlier
    /// run of a resumable tool is taken over.
    Run { ticket: Ticket<'s>, resumed: bool },
    /// The key has a recorded outcome: answer with this `CallToolResult` JSON.
    Replay(Value),
    /// A call with this key is running in this process.
    Busy,
    /// The key was used with other arguments.
    Conflict,
    /// An earlier call with this key was cut off before its outcome was
    /// recorded, and the tool cannot resume: what it did is unknown.
    Interrupted,
}

/// How a run ended, for [`Ticket::settle`].
#[derive(Debug)]
pub enum Settlement<'a> {
    /// Record this `CallToolResult` JSON; retries replay it.
    Done(&'a Value),
    /// The run was stopped part-way; a retry resumes (resumable tools) or
    /// is told the outcome is unknown.
    Interrupted,
    /// Nothing can have happened upstream: free the key.
    Release,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    arguments: String,
    /// Unix seconds; 0 in records written before expiries were kept here.
    #[serde(default)]
    expires_at: u64,
    state: State,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
enum State {
    /// Held by the process whose boot id is `owner`.
    Running {
        owner: String,
    },
    Interrupted,
    Done {
        result: Value,
    },
}

/// Claims `key` with `arguments` for the process `boot` (an id unique to
/// this process run).
pub fn claim<'s>(
    store: &'s Store,
    boot: &str,
    key: &Key<'_>,
    arguments: &Value,
    resumable: bool,
) -> anyhow::Result<Claim<'s>> {
    let record = hash(&[key.workspace, key.scope, key.key]);
    let arguments = hash(&[&canonical(arguments)]);
    let running = |expires_at| {
        serde_json::to_vec(&Record {
            arguments: arguments.clone(),
            expires_at,
            state: State::Running {
                owner: boot.to_owned(),
            },
        })
    };
    let ticket = |store, expires_at| Ticket {
        store,
        record: record.clone(),
        arguments: arguments.clone(),
        expires_at,
        settled: false,
    };
    let expires_at = now_secs().saturating_add(key.ttl_secs);
    if store.put_if_absent(
        Table::Outcomes,
        &record,
        &running(expires_at)?,
        key.ttl_secs,
    )? {
        return Ok(Claim::Run {
            ticket: ticket(store, expires_at),
            resumed: false,
        });
    }
    let Some(bytes) = store.get(Table::Outcomes, &record)? else {
        // Released between the two reads; the caller may try again.
        return Ok(Claim::Busy);
    };
    let existing: Record = serde_json::from_slice(&bytes)?;
    if existing.arguments != arguments {
        return Ok(Claim::Conflict);
    }
    Ok(match existing.state {
        State::Done { result } => Claim::Replay(result),
        State::Running { owner } if owner == boot => Claim::Busy,
        // Another replica on the same store holds it and is still alive.
        State::Running { owner } if store.holder_alive(&owner)? => Claim::Busy,
        State::Running { .. } | State::Interrupted if resumable => {
            // Take over only if nobody else did in between, keeping the
            // record's expiry (and so its ledger's).
            let expires_at = match existing.expires_at {
                0 => expires_at,
                kept => kept,
            };
            let running = running(expires_at)?;
            let ttl = remaining_secs(expires_at);
            if store.compare_and_put(Table::Outcomes, &record, &bytes, &running, ttl)? {
                Claim::Run {
                    ticket: ticket(store, expires_at),
                    resumed: true,
                }
            } else {
                Claim::Busy
            }
        }
        State::Running { .. } | State::Interrupted => Claim::Interrupted,
    })
}

impl Ticket<'_> {
    /// Unix seconds at which the record expires: ledger entries written
    /// under this claim must expire with it.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Records how the run ended.
    pub fn settle(mut self, settlement: Settlement<'_>) -> anyhow::Result<()> {
        self.settled = true;
        match settlement {
            Settlement::Release => {
                self.store.remove(Table::Outcomes, &self.record)?;
                Ok(())
            }
            Settlement::Done(result) => self.write(State::Done {
                result: result.clone(),
            }),
            Settlement::Interrupted => self.write(State::Interrupted),
        }
    }

    fn write(&self, state: State) -> anyhow::Result<()> {
        let record = Record {
            arguments: self.arguments.clone(),
            expires_at: self.expires_at,
            state,
        };
        self.store.put(
            Table::Outcomes,
            &self.record,
            &serde_json::to_vec(&record)?,
            remaining_secs(self.expires_at),
        )
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.settled
            && let Err(error) = self.write(State::Interrupted)
        {
            tracing::error!(error = %format!("{error:#}"), "marking an interrupted call failed");
        }
    }
}

/// Seconds from now until `expires_at`, at least 1 (0 would mean "never").
pub fn remaining_secs(expires_at: u64) -> u64 {
    expires_at.saturating_sub(now_secs()).max(1)
}

/// A SHA-256 over length-prefixed parts, hex-encoded.
pub fn hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// JSON with object keys sorted (serde_json's map is ordered), without the
/// idempotency key itself, so equal arguments hash equally.
fn canonical(arguments: &Value) -> String {
    let mut arguments = arguments.clone();
    if let Some(object) = arguments.as_object_mut() {
        object.remove(crate::app::IDEMPOTENCY_ARGUMENT);
    }
    arguments.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn key<'a>(workspace: &'a str, scope: &'a str, key: &'a str) -> Key<'a> {
        Key {
            workspace,
            scope,
            key,
            ttl_secs: RECORD_TTL_SECS,
        }
    }

    #[test]
    fn one_run_per_key_then_replays() {
        let store = Store::in_memory().unwrap();
        let args = json!({"to": "+15555550123", "idempotencyKey": "k"});
        let k = key("u", "send-message", "k");
        let Claim::Run { ticket, resumed } = claim(&store, "boot", &k, &args, false).unwrap()
        else {
            panic!("first claim")
        };
        assert!(!resumed);
        assert!(matches!(
            claim(&store, "boot", &k, &args, false).unwrap(),
            Claim::Busy
        ));
        ticket
            .settle(Settlement::Done(&json!({"isError": false})))
            .unwrap();
        match claim(&store, "boot", &k, &args, false).unwrap() {
            Claim::Replay(result) => assert_eq!(result, json!({"isError": false})),
            other => panic!("{other:?}"),
        }
        let other_args = json!({"to": "+15555550124", "idempotencyKey": "k"});
        assert!(matches!(
            claim(&store, "boot", &k, &other_args, false).unwrap(),
            Claim::Conflict
        ));
        // Another user, or another tool, has its own keys.
        assert!(matches!(
            claim(&store, "boot", &key("v", "send-message", "k"), &args, false).unwrap(),
            Claim::Run { .. }
        ));
        assert!(matches!(
            claim(
                &store,
                "boot",
                &key("u", "bulk-messages", "k"),
                &args,
                false
            )
            .unwrap(),
            Claim::Run { .. }
        ));
    }

    #[test]
    fn a_claim_held_by_a_live_replica_is_busy_until_its_liveness_lapses() {
        let server = crate::state::store::redis::tests::TestRedis::start();
        let store = Store::redis(&server.url()).unwrap();
        let redis = store.shared().unwrap();
        let args = json!({"recipients": ["+15555550123"]});
        let k = key("u", "bulk-messages", "k");
        redis
            .beat("replica-a", Duration::from_millis(1_500))
            .unwrap();
        let Claim::Run { ticket, .. } = claim(&store, "replica-a", &k, &args, true).unwrap() else {
            panic!("the first claim runs")
        };
        // Replica B neither takes over a resumable call A still runs nor
        // calls A's running call interrupted.
        assert!(matches!(
            claim(&store, "replica-b", &k, &args, true).unwrap(),
            Claim::Busy
        ));
        assert!(matches!(
            claim(&store, "replica-b", &k, &args, false).unwrap(),
            Claim::Busy
        ));
        // A is killed: its claim stays running, its liveness lapses.
        std::mem::forget(ticket);
        std::thread::sleep(Duration::from_millis(1_700));
        assert!(matches!(
            claim(&store, "replica-b", &k, &args, false).unwrap(),
            Claim::Interrupted
        ));
        assert!(matches!(
            claim(&store, "replica-b", &k, &args, true).unwrap(),
            Claim::Run { resumed: true, .. }
        ));
    }

    #[test]
    fn an_outcome_with_no_effect_frees_the_key() {
        let store = Store::in_memory().unwrap();
        let k = key("u", "t", "k");
        let Claim::Run { ticket, .. } =
            claim(&store, "boot", &k, &json!({"to": "555"}), false).unwrap()
        else {
            panic!()
        };
        ticket.settle(Settlement::Release).unwrap();
        assert!(matches!(
            claim(&store, "boot", &k, &json!({"to": "+15555550123"}), false).unwrap(),
            Claim::Run { .. }
        ));
    }

    #[test]
    fn a_cut_off_run_is_resumed_only_by_a_resumable_tool() {
        let store = Store::in_memory().unwrap();
        let args = json!({"recipients": ["+15555550123"]});
        let k = key("u", "t", "k");
        // Dropped without an outcome: the call was cut off.
        drop(claim(&store, "boot", &k, &args, true).unwrap());
        assert!(matches!(
            claim(&store, "boot", &k, &args, false).unwrap(),
            Claim::Interrupted
        ));
        let Claim::Run { ticket, resumed } = claim(&store, "boot", &k, &args, true).unwrap() else {
            panic!("resumable tools resume")
        };
        assert!(resumed);
        // Stopped at a deadline: resumable again, but not with other arguments.
        ticket.settle(Settlement::Interrupted).unwrap();
        assert!(matches!(
            claim(&store, "boot", &k, &json!({}), true).unwrap(),
            Claim::Conflict
        ));
        assert!(matches!(
            claim(&store, "boot", &k, &args, true).unwrap(),
            Claim::Run { resumed: true, .. }
        ));
    }

    #[test]
    fn a_claim_left_by_an_earlier_process_is_interrupted() {
        let store = Store::in_memory().unwrap();
        let args = json!({"to": "+15555550123"});
        let k = key("u", "send-message", "k");
        let Claim::Run { ticket, .. } = claim(&store, "old-boot", &k, &args, false).unwrap() else {
            panic!()
        };
        // The process died: its ticket never settled nor dropped.
        std::mem::forget(ticket);
        assert!(matches!(
            claim(&store, "old-boot", &k, &args, false).unwrap(),
            Claim::Busy
        ));
        assert!(matches!(
            claim(&store, "new-boot", &k, &args, false).unwrap(),
            Claim::Interrupted
        ));
        assert!(matches!(
            claim(&store, "new-boot", &k, &args, true).unwrap(),
            Claim::Run { resumed: true, .. }
        ));
    }

    #[test]
    fn taking_over_a_claim_keeps_its_expiry() {
        let store = Store::in_memory().unwrap();
        let args = json!({"recipients": ["+15555550123"]});
        let k = key("u", "bulk-messages", "k");
        let Claim::Run { ticket, .. } = claim(&store, "old-boot", &k, &args, true).unwrap() else {
            panic!()
        };
        let expires_at = ticket.expires_at();
        std::mem::forget(ticket);
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        let Claim::Run { ticket, resumed } = claim(&store, "new-boot", &k, &args, true).unwrap()
        else {
            panic!()
        };
        assert!(resumed);
        assert_eq!(
            ticket.expires_at(),
            expires_at,
            "a resumed run's ledger expires with the claim"
        );
        ticket.settle(Settlement::Interrupted).unwrap();
        let Claim::Run { ticket, .. } = claim(&store, "new-boot", &k, &args, true).unwrap() else {
            panic!()
        };
        assert_eq!(ticket.expires_at(), expires_at);
    }

    #[test]
    fn records_belong_to_the_workspace() {
        let store = Store::in_memory().unwrap();
        let args = json!({"to": "+15555550123"});
        let Claim::Run { ticket, .. } = claim(
            &store,
            "boot",
            &key("ws-a", "send-message", "k"),
            &args,
            false,
        )
        .unwrap() else {
            panic!()
        };
        ticket
            .settle(Settlement::Done(&json!({"sent": 1})))
            .unwrap();
        // Any grant acting for workspace a sees the outcome; workspace b has its own keys.
        assert!(matches!(
            claim(
                &store,
                "boot",
                &key("ws-a", "send-message", "k"),
                &args,
                false
            )
            .unwrap(),
            Claim::Replay(_)
        ));
        assert!(matches!(
            claim(
                &store,
                "boot",
                &key("ws-b", "send-message", "k"),
                &args,
                false
            )
            .unwrap(),
            Claim::Run { .. }
        ));
    }
}
