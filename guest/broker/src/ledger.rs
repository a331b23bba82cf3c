//! The per-call ledger's rules: the same limits as the native host (items
//! of at most 256 bytes, JSON entries of at most 4 KiB, 5 000 writes per
//! call), and the form entries take in the host's durable key-value store
//! (kept seven days, as natively). A host without one has no ledger: an
//! entry kept only for the request would let a retry act twice.

use sha2::{Digest, Sha256};

/// How long a durable entry is kept.
pub const RETENTION_SECS: u64 = 7 * 24 * 60 * 60;

pub const MAX_ITEM_BYTES: usize = 256;
pub const MAX_ENTRY_BYTES: usize = 4 * 1024;
pub const MAX_WRITES_PER_CALL: u32 = 5_000;

/// Why an entry was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a ledger item is at most 256 bytes")]
    ItemTooLong,
    #[error("a ledger entry is at most 4 KiB of JSON")]
    EntryTooLarge,
    #[error("a ledger entry must be JSON")]
    NotJson,
    #[error("one call may write at most 5000 ledger entries")]
    TooManyWrites,
}

/// What one call has written to its ledger: the count the per-call limit
/// is checked against.
#[derive(Debug, Default)]
pub struct Writes {
    count: u32,
}

impl Writes {
    /// Checks `item` and `entry` and counts one write of this call; the
    /// caller writes the entry where it keeps them.
    pub fn count(&mut self, item: &str, entry: &str) -> Result<(), Refusal> {
        check_item(item)?;
        if entry.len() > MAX_ENTRY_BYTES {
            return Err(Refusal::EntryTooLarge);
        }
        if serde_json::from_str::<serde_json::Value>(entry).is_err() {
            return Err(Refusal::NotJson);
        }
        if self.count >= MAX_WRITES_PER_CALL {
            return Err(Refusal::TooManyWrites);
        }
        self.count += 1;
        Ok(())
    }
}

pub fn check_item(item: &str) -> Result<(), Refusal> {
    if item.len() > MAX_ITEM_BYTES {
        Err(Refusal::ItemTooLong)
    } else {
        Ok(())
    }
}

fn hex_sha256(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The store key of `item` in the ledger of (workspace, tool, idempotency
/// key): hashed, so no caller text reaches a key name.
pub fn durable_key(workspace: &str, tool: &str, idempotency_key: &str, item: &str) -> String {
    format!(
        "ledger/{}/{}",
        hex_sha256(&[workspace, tool, idempotency_key]),
        hex_sha256(&[item])
    )
}

/// The stored form of `entry`, written at `now` (Unix seconds).
pub fn stored(entry: &str, now: u64) -> Vec<u8> {
    serde_json::json!({ "expiresAt": now + RETENTION_SECS, "entry": entry })
        .to_string()
        .into_bytes()
}

/// The entry in `stored` unless it expired by `now`.
pub fn unexpired(stored: &[u8], now: u64) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(stored).ok()?;
    let expires_at = value["expiresAt"].as_u64()?;
    (now < expires_at).then(|| value["entry"].as_str().map(str::to_owned))?
}

/// True if `stored` is an entry whose lifetime ended by `now` (one that
/// does not parse is kept).
pub fn expired(stored: &[u8], now: u64) -> bool {
    serde_json::from_slice::<serde_json::Value>(stored)
        .ok()
        .and_then(|v| v["expiresAt"].as_u64())
        .is_some_and(|expires_at| expires_at <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_entries_expire_and_keys_hide_caller_text() {
        let stored = stored(r#"{"state":"sent"}"#, 1_000);
        assert_eq!(
            unexpired(&stored, 1_000).as_deref(),
            Some(r#"{"state":"sent"}"#)
        );
        assert_eq!(unexpired(&stored, 1_000 + RETENTION_SECS), None);
        assert_eq!(unexpired(b"garbage", 0), None);
        let key = durable_key("ws", "bulk-messages", "job/1", "+15555550123");
        assert!(key.starts_with("ledger/") && !key.contains("5555") && !key.contains("job"));
        assert_ne!(
            key,
            durable_key("ws", "bulk-messages", "job/2", "+15555550123")
        );
        assert_ne!(
            key,
            durable_key("other", "bulk-messages", "job/1", "+15555550123")
        );
        // Lengths are part of the hash: parts cannot slide into each other.
        assert_ne!(
            durable_key("a", "bc", "k", "i"),
            durable_key("ab", "c", "k", "i")
        );
    }

    #[test]
    fn limits_hold_and_refused_writes_do_not_count() {
        let mut writes = Writes::default();
        assert_eq!(
            writes.count("+15555550123", r#"{"state":"sending"}"#),
            Ok(())
        );
        assert_eq!(
            writes.count(&"i".repeat(257), "{}"),
            Err(Refusal::ItemTooLong)
        );
        assert_eq!(
            writes.count("a", &format!("\"{}\"", "x".repeat(5000))),
            Err(Refusal::EntryTooLarge)
        );
        assert_eq!(writes.count("a", "not json"), Err(Refusal::NotJson));
        for n in 1..MAX_WRITES_PER_CALL {
            assert_eq!(writes.count(&n.to_string(), "1"), Ok(()));
        }
        assert_eq!(writes.count("last", "1"), Err(Refusal::TooManyWrites));
    }
}
