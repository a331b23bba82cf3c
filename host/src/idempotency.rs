//! At most one execution per idempotency key.
//!
//! A call that carries an idempotency key first claims it in the store
//! (atomically: `put_if_absent`). The claimant runs the tool and records the
//! result; a later call with the same key — same user, same tool — gets the
//! recorded result back instead of running again, so a retried send never
//! texts twice. A call while the first is still running is told so; the
//! same key with different arguments is refused. Outcomes in which nothing
//! can have happened upstream (invalid arguments) release the key.
//!
//! Keys are stored as a SHA-256 of (subject, tool, key), so the store holds
//! no client-chosen text.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::store::{Store, Table};

/// How long a finished outcome is kept.
pub const RECORD_TTL_SECS: u64 = 7 * 24 * 3600;
/// How long a claim is held for a running call; past it (a crash), the key is free again.
pub const CLAIM_TTL_SECS: u64 = 15 * 60;

/// The right to run, and where to record the outcome.
#[derive(Debug)]
pub struct Ticket {
    record: String,
    arguments: String,
}

/// What a call with an idempotency key may do.
#[derive(Debug)]
pub enum Claim {
    /// Nobody used this key: run, then [`settle`].
    Run(Ticket),
    /// The key has a recorded outcome: answer with this `CallToolResult` JSON.
    Replay(Value),
    /// A call with this key is still running.
    Busy,
    /// The key was used with other arguments.
    Conflict,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    arguments: String,
    result: Option<Value>,
}

/// Claims `key` for (`subject`, `tool`) with `arguments`.
pub fn claim(
    store: &Store,
    subject: &str,
    tool: &str,
    key: &str,
    arguments: &Value,
) -> anyhow::Result<Claim> {
    let record = hash(&[subject, tool, key]);
    let arguments = hash(&[&canonical(arguments)]);
    let pending = serde_json::to_vec(&Record {
        arguments: arguments.clone(),
        result: None,
    })?;
    if store.put_if_absent(Table::Outcomes, &record, &pending, CLAIM_TTL_SECS)? {
        return Ok(Claim::Run(Ticket { record, arguments }));
    }
    let Some(bytes) = store.get(Table::Outcomes, &record)? else {
        // The claim expired between the two reads; the caller may try again.
        return Ok(Claim::Busy);
    };
    let existing: Record = serde_json::from_slice(&bytes)?;
    Ok(match existing {
        Record { arguments: a, .. } if a != arguments => Claim::Conflict,
        Record {
            result: Some(result),
            ..
        } => Claim::Replay(result),
        Record { result: None, .. } => Claim::Busy,
    })
}

/// Records `result` for the ticket's key, or frees the key when
/// `definitive` is false (nothing happened upstream).
pub fn settle(
    store: &Store,
    ticket: Ticket,
    result: &Value,
    definitive: bool,
) -> anyhow::Result<()> {
    if !definitive {
        store.remove(Table::Outcomes, &ticket.record)?;
        return Ok(());
    }
    let record = Record {
        arguments: ticket.arguments,
        result: Some(result.clone()),
    };
    store.put(
        Table::Outcomes,
        &ticket.record,
        &serde_json::to_vec(&record)?,
        RECORD_TTL_SECS,
    )
}

fn hash(parts: &[&str]) -> String {
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

    #[test]
    fn one_run_per_key_then_replays() {
        let store = Store::in_memory().unwrap();
        let args = json!({"to": "+15555550123", "idempotencyKey": "k"});
        let Claim::Run(ticket) = claim(&store, "u", "send-message", "k", &args).unwrap() else {
            panic!("first claim")
        };
        assert!(matches!(
            claim(&store, "u", "send-message", "k", &args).unwrap(),
            Claim::Busy
        ));
        settle(&store, ticket, &json!({"isError": false}), true).unwrap();
        match claim(&store, "u", "send-message", "k", &args).unwrap() {
            Claim::Replay(result) => assert_eq!(result, json!({"isError": false})),
            other => panic!("{other:?}"),
        }
        let other_args = json!({"to": "+15555550124", "idempotencyKey": "k"});
        assert!(matches!(
            claim(&store, "u", "send-message", "k", &other_args).unwrap(),
            Claim::Conflict
        ));
        // Another user, or another tool, has its own keys.
        assert!(matches!(
            claim(&store, "v", "send-message", "k", &args).unwrap(),
            Claim::Run(_)
        ));
        assert!(matches!(
            claim(&store, "u", "bulk-messages", "k", &args).unwrap(),
            Claim::Run(_)
        ));
    }

    #[test]
    fn an_outcome_with_no_effect_frees_the_key() {
        let store = Store::in_memory().unwrap();
        let args = json!({"to": "555"});
        let Claim::Run(ticket) = claim(&store, "u", "t", "k", &args).unwrap() else {
            panic!()
        };
        settle(&store, ticket, &json!({}), false).unwrap();
        assert!(matches!(
            claim(&store, "u", "t", "k", &json!({"to": "+15555550123"})).unwrap(),
            Claim::Run(_)
        ));
    }
}
