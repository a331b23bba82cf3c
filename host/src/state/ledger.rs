//! The host side of the `ledger` import: per-item entries a tool keeps under
//! the call's idempotency key.
//!
//! Entries live in the store under a SHA-256 of (workspace, tool, key,
//! item), so they are scoped to the workspace the call acts for and to the
//! tool, and hold no client-chosen text as keys; they expire at the same
//! instant as the claim they belong to.

use std::sync::Arc;

use crate::sandbox::wit::LedgerError;
use crate::state::idempotency::{hash, remaining_secs};
use crate::state::store::{Store, Table};

/// Longest item name accepted.
pub const MAX_ITEM_BYTES: usize = 256;
/// Largest entry accepted.
pub const MAX_ENTRY_BYTES: usize = 4 * 1024;
/// Entries one call may write.
pub const MAX_WRITES_PER_CALL: u32 = 5_000;

/// One call's view of its ledger.
#[derive(Debug)]
pub struct Ledger {
    store: Arc<Store>,
    /// Hash of (workspace, tool, idempotency key); items are hashed under it.
    scope: String,
    /// Unix seconds: the expiry of the claim the entries belong to.
    expires_at: u64,
    writes_left: u32,
}

impl Ledger {
    /// The ledger of `workspace`'s calls of `tool` with idempotency key
    /// `key`, whose claim expires at `expires_at` (unix seconds).
    pub fn new(store: Arc<Store>, workspace: &str, tool: &str, key: &str, expires_at: u64) -> Self {
        Ledger {
            store,
            scope: hash(&["ledger", workspace, tool, key]),
            expires_at,
            writes_left: MAX_WRITES_PER_CALL,
        }
    }

    /// The entry for `item`, if one was recorded.
    pub fn get(&self, item: &str) -> Result<Option<String>, LedgerError> {
        let key = self.key(item)?;
        let bytes = self.store.get(Table::Ledger, &key).map_err(unavailable)?;
        bytes
            .map(|b| String::from_utf8(b).map_err(|_| unavailable("a stored entry is not UTF-8")))
            .transpose()
    }

    /// Records `entry` for `item` durably.
    pub fn put(&mut self, item: &str, entry: &str) -> Result<(), LedgerError> {
        let key = self.key(item)?;
        if entry.len() > MAX_ENTRY_BYTES {
            return Err(LedgerError::Refused(format!(
                "an entry is at most {MAX_ENTRY_BYTES} bytes (got {})",
                entry.len()
            )));
        }
        if serde_json::from_str::<serde_json::Value>(entry).is_err() {
            return Err(LedgerError::Refused("an entry must be JSON".into()));
        }
        if self.writes_left == 0 {
            return Err(LedgerError::Refused(format!(
                "a call may write at most {MAX_WRITES_PER_CALL} entries"
            )));
        }
        self.writes_left -= 1;
        self.store
            .put(
                Table::Ledger,
                &key,
                entry.as_bytes(),
                remaining_secs(self.expires_at),
            )
            .map_err(unavailable)
    }

    fn key(&self, item: &str) -> Result<String, LedgerError> {
        if item.len() > MAX_ITEM_BYTES {
            return Err(LedgerError::Refused(format!(
                "an item name is at most {MAX_ITEM_BYTES} bytes (got {})",
                item.len()
            )));
        }
        Ok(hash(&[&self.scope, item]))
    }
}

fn unavailable(error: impl std::fmt::Display) -> LedgerError {
    tracing::error!(error = %error, "ledger store failed");
    LedgerError::Unavailable("the server's store failed".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::store::now_secs;

    const LATER: u64 = u64::MAX / 2;

    #[test]
    fn entries_are_scoped_to_user_tool_and_key() {
        let store = Arc::new(Store::in_memory().unwrap());
        let mut ledger = Ledger::new(Arc::clone(&store), "u", "bulk-messages", "k", LATER);
        assert_eq!(ledger.get("+15555550123").unwrap(), None);
        ledger.put("+15555550123", r#"{"state":"sent"}"#).unwrap();
        assert_eq!(
            ledger.get("+15555550123").unwrap().as_deref(),
            Some(r#"{"state":"sent"}"#)
        );
        // The same key, seen by a later call, sees the entry.
        let again = Ledger::new(Arc::clone(&store), "u", "bulk-messages", "k", LATER);
        assert!(again.get("+15555550123").unwrap().is_some());
        for other in [
            Ledger::new(Arc::clone(&store), "v", "bulk-messages", "k", LATER),
            Ledger::new(Arc::clone(&store), "u", "send-message", "k", LATER),
            Ledger::new(Arc::clone(&store), "u", "bulk-messages", "k2", LATER),
        ] {
            assert_eq!(other.get("+15555550123").unwrap(), None);
        }
    }

    #[test]
    fn refuses_oversized_or_invalid_entries_and_too_many_writes() {
        let store = Arc::new(Store::in_memory().unwrap());
        let mut ledger = Ledger::new(store, "u", "t", "k", LATER);
        let long_item = "x".repeat(MAX_ITEM_BYTES + 1);
        assert!(matches!(
            ledger.get(&long_item),
            Err(LedgerError::Refused(_))
        ));
        let big = format!("\"{}\"", "x".repeat(MAX_ENTRY_BYTES));
        assert!(matches!(
            ledger.put("a", &big),
            Err(LedgerError::Refused(_))
        ));
        assert!(matches!(
            ledger.put("a", "not json"),
            Err(LedgerError::Refused(_))
        ));
        ledger.writes_left = 1;
        ledger.put("a", "1").unwrap();
        assert!(matches!(ledger.put("b", "1"), Err(LedgerError::Refused(_))));
    }

    #[test]
    fn entries_expire_with_their_claim() {
        let store = Arc::new(Store::in_memory().unwrap());
        let mut ledger = Ledger::new(Arc::clone(&store), "u", "t", "k", now_secs() + 1);
        ledger.put("a", "1").unwrap();
        assert!(ledger.get("a").unwrap().is_some());
        std::thread::sleep(std::time::Duration::from_millis(2_100));
        assert_eq!(ledger.get("a").unwrap(), None);
    }
}
