//! At most one run per idempotency key on composed hosts, as natively.
//!
//! A call with an idempotency key (or a JSON-RPC request without one) first
//! claims a record in the host's store by compare-and-swap; the claimant
//! runs and records the result, and a later call under the same key —
//! same workspace, same tool — gets the recorded result instead of running
//! again. The same key with other arguments is refused.
//!
//! One composed instance serves one request, so a claim cannot name the
//! process holding it: a claim without an outcome is *running* for
//! [`RUNNING_WINDOW_SECS`] after it was made (longer than a call's 2 000
//! requests take at 10 per second), and *interrupted* after that — a
//! resumable tool is then run again (its ledger skips what was done), any
//! other is refused, never run twice. Records are keyed by a SHA-256 of
//! (workspace, scope, key), so the store holds no client-chosen text; a
//! record's expiry is fixed when it is first claimed.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long the outcome of a call with an idempotency key is kept.
pub const RECORD_TTL_SECS: u64 = 7 * 24 * 3600;
/// How long the outcome of a JSON-RPC request without one is kept.
pub const REQUEST_TTL_SECS: u64 = 24 * 3600;
/// How long a claim without an outcome counts as still running.
pub const RUNNING_WINDOW_SECS: u64 = 600;

/// Which calls a record covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// A caller's idempotency key, for one tool.
    Tool(&'a str),
    /// A JSON-RPC request (session and id), whatever the tool.
    Request,
}

impl Scope<'_> {
    /// How long a record of this scope is kept.
    pub fn ttl_secs(self) -> u64 {
        match self {
            Scope::Tool(_) => RECORD_TTL_SECS,
            Scope::Request => REQUEST_TTL_SECS,
        }
    }
}

/// Where the record of `key` lives in the host's store.
pub fn record_key(workspace: &str, scope: Scope<'_>, key: &str) -> String {
    let scope = match scope {
        Scope::Tool(tool) => tool,
        Scope::Request => "jsonrpc-request",
    };
    let digest = Sha256::digest(format!("{workspace}\n{scope}\n{key}").as_bytes());
    format!("outcome/{}", hex::encode(digest))
}

/// A stored claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// SHA-256 of the arguments, hex.
    a: String,
    /// The recorded `CallToolResult` JSON, once settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<String>,
    /// Claimed at, Unix seconds.
    t: u64,
    /// Expires at, Unix seconds.
    e: u64,
}

impl Record {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Write `record` (compare-and-swap against what was read), then run.
    Claim { record: Record, resumed: bool },
    /// Answer with this recorded result.
    Replay(String),
    /// A call under this key is running.
    Busy,
    /// The key was claimed with other arguments.
    Conflict,
    /// An earlier call was cut off and the tool cannot resume.
    Interrupted,
}

fn digest(arguments: &str) -> String {
    hex::encode(Sha256::digest(arguments.as_bytes()))
}

/// Decides a claim for `arguments` at `now`, given the stored value.
pub fn decide(
    stored: Option<&[u8]>,
    arguments: &str,
    now: u64,
    scope: Scope<'_>,
    resumable: bool,
) -> Decision {
    let a = digest(arguments);
    let fresh = Record {
        a: a.clone(),
        o: None,
        t: now,
        e: now + scope.ttl_secs(),
    };
    let Some(stored) = stored else {
        return Decision::Claim {
            record: fresh,
            resumed: false,
        };
    };
    // A record that does not parse says nothing about what ran: refused,
    // never run again.
    let Ok(record) = serde_json::from_slice::<Record>(stored) else {
        return Decision::Interrupted;
    };
    if record.e <= now {
        return Decision::Claim {
            record: fresh,
            resumed: false,
        };
    }
    if record.a != a {
        return Decision::Conflict;
    }
    if let Some(outcome) = record.o {
        return Decision::Replay(outcome);
    }
    if now.saturating_sub(record.t) < RUNNING_WINDOW_SECS {
        return Decision::Busy;
    }
    if resumable {
        return Decision::Claim {
            record: Record { t: now, ..record },
            resumed: true,
        };
    }
    Decision::Interrupted
}

/// True if `stored` is a record whose lifetime ended by `now` (one that
/// does not parse is kept: nothing says it may go).
pub fn expired(stored: &[u8], now: u64) -> bool {
    serde_json::from_slice::<Record>(stored).is_ok_and(|r| r.e <= now)
}

/// The stored claim with `outcome` recorded (its expiry kept); `None` when
/// the claim is gone or does not parse.
pub fn settled(stored: &[u8], outcome: &str) -> Option<Vec<u8>> {
    let record: Record = serde_json::from_slice(stored).ok()?;
    Some(
        Record {
            o: Some(outcome.to_owned()),
            ..record
        }
        .to_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const SEND: Scope<'static> = Scope::Tool("send-message");

    fn claimed(stored: Option<&[u8]>, arguments: &str, now: u64, resumable: bool) -> Vec<u8> {
        match decide(stored, arguments, now, SEND, resumable) {
            Decision::Claim { record, .. } => record.to_bytes(),
            other => panic!("expected a claim, got {other:?}"),
        }
    }

    #[test]
    fn one_run_then_replays_and_conflicts() {
        let first = claimed(None, r#"{"to":"+1"}"#, NOW, false);
        assert_eq!(
            decide(Some(&first), r#"{"to":"+1"}"#, NOW + 1, SEND, false),
            Decision::Busy
        );
        assert_eq!(
            decide(Some(&first), r#"{"to":"+2"}"#, NOW + 1, SEND, false),
            Decision::Conflict
        );
        let done = settled(&first, r#"{"isError":false}"#).expect("a claim");
        assert_eq!(
            decide(Some(&done), r#"{"to":"+1"}"#, NOW + 3600, SEND, false),
            Decision::Replay(r#"{"isError":false}"#.into())
        );
        // Expired with the claim's own lifetime: a new run.
        let later = NOW + RECORD_TTL_SECS;
        assert!(matches!(
            decide(Some(&done), r#"{"to":"+1"}"#, later, SEND, false),
            Decision::Claim { resumed: false, .. }
        ));
    }

    #[test]
    fn a_claim_left_without_outcome_is_interrupted_or_resumed() {
        let first = claimed(None, "{}", NOW, true);
        let late = NOW + RUNNING_WINDOW_SECS;
        assert_eq!(
            decide(Some(&first), "{}", late, SEND, false),
            Decision::Interrupted
        );
        let Decision::Claim { record, resumed } = decide(Some(&first), "{}", late, SEND, true)
        else {
            panic!("a resumable tool takes over");
        };
        assert!(resumed);
        let taken: Record = serde_json::from_slice(&record.to_bytes()).expect("JSON");
        assert_eq!(
            taken.e,
            NOW + RECORD_TTL_SECS,
            "taking over keeps the expiry"
        );
        assert_eq!(
            decide(Some(b"not json"), "{}", NOW, SEND, true),
            Decision::Interrupted
        );
    }

    #[test]
    fn records_belong_to_workspace_scope_and_key_and_hide_them() {
        let key = record_key("ws-1", SEND, "k-1");
        assert!(key.starts_with("outcome/") && !key.contains("k-1") && !key.contains("ws-1"));
        assert_ne!(key, record_key("ws-2", SEND, "k-1"));
        assert_ne!(key, record_key("ws-1", Scope::Tool("bulk-messages"), "k-1"));
        assert_ne!(key, record_key("ws-1", Scope::Request, "k-1"));
        assert_eq!(key, record_key("ws-1", SEND, "k-1"));
        let request = claimed(None, "{}", NOW, false);
        let record: Record = serde_json::from_slice(&request).expect("JSON");
        assert_eq!(record.e, NOW + RECORD_TTL_SECS);
        let Decision::Claim { record, .. } = decide(None, "{}", NOW, Scope::Request, false) else {
            panic!("a claim");
        };
        assert_eq!(record.e, NOW + REQUEST_TTL_SECS);
    }
}
