//! The host's durable state, behind one small key-value interface.
//!
//! Values are opaque bytes with an optional expiry, in named tables. The
//! embedded backend is redb (one file in the data directory, crash-safe,
//! no server); a Redis backend can implement the same operations (`GET`,
//! `SET EX`, `SET NX EX`, `DEL`) for deployments with several replicas.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// The tables the host keeps. Each maps to its own redb table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// MCP sessions (`Mcp-Session-Id` → negotiated state).
    Sessions,
    /// Outcomes of calls by idempotency key.
    Outcomes,
    /// Per-item entries tools keep under an idempotency key (the `ledger` import).
    Ledger,
    /// Users' OpenPhone keys, sealed (`vault.rs`), by grant.
    Vault,
    /// The auth component's key-value buckets (`wasi:keyvalue`), as `bucket/key`.
    Auth,
    /// Data keys, wrapped under the deployment secret (`auth/key_ring.rs`).
    Keys,
    /// The audit trail (`audit.rs`), by time.
    Audit,
}

impl Table {
    fn definition(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        match self {
            Table::Sessions => TableDefinition::new("mcp_sessions"),
            Table::Outcomes => TableDefinition::new("call_outcomes"),
            Table::Ledger => TableDefinition::new("tool_ledger"),
            Table::Vault => TableDefinition::new("sealed_keys"),
            Table::Auth => TableDefinition::new("auth_kv"),
            Table::Keys => TableDefinition::new("data_keys"),
            Table::Audit => TableDefinition::new("audit_events"),
        }
    }
}

/// Durable key-value store.
pub struct Store {
    db: Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let db = Database::create(path)
            .with_context(|| format!("opening the store {}", path.display()))?;
        Ok(Store { db })
    }

    /// A store that lives in memory only (tests, `stdio` without a data dir).
    pub fn in_memory() -> anyhow::Result<Self> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .context("creating the in-memory store")?;
        Ok(Store { db })
    }

    /// The value under `key`, unless absent or expired.
    pub fn get(&self, table: Table, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(table.definition()) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(stored) = table.get(key)? else {
            return Ok(None);
        };
        Ok(live(stored.value()).map(<[u8]>::to_vec))
    }

    /// Stores `value` under `key`, expiring after `ttl_secs` (0: never).
    pub fn put(&self, table: Table, key: &str, value: &[u8], ttl_secs: u64) -> anyhow::Result<()> {
        let txn = self.db.begin_write()?;
        {
            let mut t = txn.open_table(table.definition())?;
            t.insert(key, encode(value, ttl_secs).as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Stores `value` only if `key` holds nothing live; true if it stored.
    pub fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        ttl_secs: u64,
    ) -> anyhow::Result<bool> {
        self.update(table, key, |current| {
            let absent = current.is_none();
            Ok((absent.then(|| encode(value, ttl_secs)), absent))
        })
    }

    /// Replaces the value under `key` with `value` only if it is still
    /// `expected` (live); true if it replaced. The building block for
    /// taking over a record another writer may be taking over at once.
    pub fn compare_and_put(
        &self,
        table: Table,
        key: &str,
        expected: &[u8],
        value: &[u8],
        ttl_secs: u64,
    ) -> anyhow::Result<bool> {
        self.update(table, key, |current| {
            let same = current == Some(expected);
            Ok((same.then(|| encode(value, ttl_secs)), same))
        })
    }

    /// Adds `delta` to the integer under `key` (absent counts as 0) in one
    /// transaction; returns the new value. Stored as decimal text.
    pub fn increment(&self, table: Table, key: &str, delta: i64) -> anyhow::Result<i64> {
        self.update(table, key, |current| {
            let current = match current {
                Some(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .context("the value to increment is not an integer")?,
                None => 0,
            };
            let value = current
                .checked_add(delta)
                .context("the counter would overflow")?;
            Ok((Some(encode(value.to_string().as_bytes(), 0)), value))
        })
    }

    /// One read-modify-write transaction on `key`: `change` sees the live
    /// value (if any) and returns the encoded value to write (if any) and
    /// its answer. Nothing is written when it fails.
    fn update<T>(
        &self,
        table: Table,
        key: &str,
        change: impl FnOnce(Option<&[u8]>) -> anyhow::Result<(Option<Vec<u8>>, T)>,
    ) -> anyhow::Result<T> {
        let txn = self.db.begin_write()?;
        let answer = {
            let mut t = txn.open_table(table.definition())?;
            let (write, answer) = {
                let stored = t.get(key)?;
                change(stored.as_ref().and_then(|v| live(v.value())))?
            };
            if let Some(encoded) = write {
                t.insert(key, encoded.as_slice())?;
            }
            answer
        };
        txn.commit()?;
        Ok(answer)
    }

    /// Live keys that start with `prefix`, in order, after `after` when
    /// given, at most `limit`.
    pub fn keys_with_prefix(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<String>> {
        let txn = self.db.begin_read()?;
        let t = match txn.open_table(table.definition()) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let start = after.unwrap_or(prefix);
        let mut keys = Vec::new();
        for entry in t.range(start..)? {
            let (key, value) = entry?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            if Some(key) == after || live(value.value()).is_none() {
                continue;
            }
            keys.push(key.to_owned());
            if keys.len() == limit {
                break;
            }
        }
        Ok(keys)
    }

    /// Deletes expired entries of `table`, looking at no more than
    /// `budget` entries after `cursor` (from the start without one), in one
    /// write transaction: bounded work, safe to run beside requests.
    pub fn sweep(
        &self,
        table: Table,
        cursor: Option<&str>,
        budget: usize,
    ) -> anyhow::Result<SweepPage> {
        let now = now_secs();
        let txn = self.db.begin_write()?;
        let page = {
            let mut t = txn.open_table(table.definition())?;
            let mut expired = Vec::new();
            let mut last = None;
            let mut seen = 0;
            {
                let range = match cursor {
                    Some(after) => t.range::<&str>((
                        std::ops::Bound::Excluded(after),
                        std::ops::Bound::Unbounded,
                    ))?,
                    None => t.range::<&str>(..)?,
                };
                for entry in range {
                    let (key, value) = entry?;
                    seen += 1;
                    if is_expired(value.value(), now) {
                        expired.push(key.value().to_owned());
                    }
                    last = Some(key.value().to_owned());
                    if seen == budget {
                        break;
                    }
                }
            }
            for key in &expired {
                t.remove(key.as_str())?;
            }
            SweepPage {
                removed: expired.len(),
                next: if seen == budget { last } else { None },
            }
        };
        txn.commit()?;
        Ok(page)
    }

    /// Entries in `table`, expired or not.
    #[cfg(test)]
    pub fn len(&self, table: Table) -> anyhow::Result<u64> {
        use redb::ReadableTableMetadata as _;
        let txn = self.db.begin_read()?;
        match txn.open_table(table.definition()) {
            Ok(t) => Ok(t.len()?),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes `key`; true if something live was there.
    pub fn remove(&self, table: Table, key: &str) -> anyhow::Result<bool> {
        let txn = self.db.begin_write()?;
        let removed = {
            let mut t = txn.open_table(table.definition())?;
            t.remove(key)?.is_some_and(|v| live(v.value()).is_some())
        };
        txn.commit()?;
        Ok(removed)
    }
}

/// The store's clock: unix seconds.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 8-byte big-endian expiry (unix seconds, 0 = never) then the value.
fn encode(value: &[u8], ttl_secs: u64) -> Vec<u8> {
    let expires = if ttl_secs == 0 {
        0
    } else {
        now_secs().saturating_add(ttl_secs)
    };
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&expires.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// What one [`Store::sweep`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepPage {
    /// Expired entries deleted.
    pub removed: usize,
    /// Where the next sweep of the table goes on; `None` once it reached the end.
    pub next: Option<String>,
}

/// True if `stored` carries an expiry that has passed (unreadable entries
/// count as expired: nothing can read them either).
fn is_expired(stored: &[u8], now: u64) -> bool {
    match stored.split_at_checked(8) {
        Some((expiry, _)) => {
            let expires = expiry.try_into().map_or(1, u64::from_be_bytes);
            expires != 0 && expires <= now
        }
        None => true,
    }
}

fn live(stored: &[u8]) -> Option<&[u8]> {
    let (expiry, value) = stored.split_at_checked(8)?;
    let expires = u64::from_be_bytes(expiry.try_into().ok()?);
    (expires == 0 || expires > now_secs()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_remove() {
        let store = Store::in_memory().unwrap();
        assert_eq!(store.get(Table::Sessions, "a").unwrap(), None);
        store.put(Table::Sessions, "a", b"1", 0).unwrap();
        assert_eq!(
            store.get(Table::Sessions, "a").unwrap().as_deref(),
            Some(&b"1"[..])
        );
        assert!(!store.put_if_absent(Table::Sessions, "a", b"2", 0).unwrap());
        assert!(store.remove(Table::Sessions, "a").unwrap());
        assert!(!store.remove(Table::Sessions, "a").unwrap());
        assert!(store.put_if_absent(Table::Sessions, "a", b"3", 60).unwrap());
        assert!(
            !store
                .compare_and_put(Table::Sessions, "a", b"2", b"4", 60)
                .unwrap()
        );
        assert!(
            store
                .compare_and_put(Table::Sessions, "a", b"3", b"4", 60)
                .unwrap()
        );
        assert!(
            !store
                .compare_and_put(Table::Sessions, "a", b"3", b"5", 60)
                .unwrap()
        );
        assert!(
            !store
                .compare_and_put(Table::Sessions, "b", b"", b"5", 60)
                .unwrap()
        );
        assert_eq!(
            store.get(Table::Sessions, "a").unwrap().as_deref(),
            Some(&b"4"[..])
        );
    }

    #[test]
    fn increments_atomically_from_zero() {
        let store = Store::in_memory().unwrap();
        assert_eq!(store.increment(Table::Auth, "n", 1).unwrap(), 1);
        assert_eq!(store.increment(Table::Auth, "n", 5).unwrap(), 6);
        store.put(Table::Auth, "text", b"x", 0).unwrap();
        assert!(store.increment(Table::Auth, "text", 1).is_err());
    }

    #[test]
    fn lists_keys_by_prefix_in_pages() {
        let store = Store::in_memory().unwrap();
        for key in ["a/1", "a/2", "a/3", "b/1"] {
            store.put(Table::Auth, key, b"v", 0).unwrap();
        }
        assert_eq!(
            store.keys_with_prefix(Table::Auth, "a/", None, 2).unwrap(),
            vec!["a/1", "a/2"]
        );
        assert_eq!(
            store
                .keys_with_prefix(Table::Auth, "a/", Some("a/2"), 2)
                .unwrap(),
            vec!["a/3"]
        );
        assert!(
            store
                .keys_with_prefix(Table::Vault, "a/", None, 2)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn expired_values_are_gone() {
        let store = Store::in_memory().unwrap();
        // Written with an expiry in the past.
        let txn = store.db.begin_write().unwrap();
        {
            let mut t = txn.open_table(Table::Sessions.definition()).unwrap();
            let mut stale = 1u64.to_be_bytes().to_vec();
            stale.extend_from_slice(b"old");
            t.insert("k", stale.as_slice()).unwrap();
        }
        txn.commit().unwrap();
        assert_eq!(store.get(Table::Sessions, "k").unwrap(), None);
        assert!(
            store
                .put_if_absent(Table::Sessions, "k", b"new", 0)
                .unwrap()
        );
    }

    #[test]
    fn survives_reopening() {
        let dir =
            std::env::temp_dir().join(format!("openphone-mcp-store-{}", uuid::Uuid::new_v4()));
        let path = dir.join("state.redb");
        Store::open(&path)
            .unwrap()
            .put(Table::Sessions, "s", b"v", 0)
            .unwrap();
        let reopened = Store::open(&path).unwrap();
        assert_eq!(
            reopened.get(Table::Sessions, "s").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
