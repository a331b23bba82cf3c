//! The embedded backend of [`Store`](super::Store): redb, one file in the
//! data directory, crash-safe, no server. One process holds the file (redb
//! locks it), which is what lets [`super::Store::holder_alive`] say that a
//! claim made by another process run is abandoned.
//!
//! Each value is stored as an 8-byte big-endian expiry (unix seconds, 0 for
//! never) followed by its bytes; expired values read as absent and are
//! deleted by [`Redb::sweep`].

use std::path::Path;

use anyhow::Context as _;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{SweepPage, Table, now_secs};

fn definition(table: Table) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(table.name())
}

/// The store in one redb file (or in memory).
pub(super) struct Redb {
    pub(super) db: Database,
}

impl Redb {
    /// Opens (or creates) the database file at `path`.
    pub(super) fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let db = Database::create(path)
            .with_context(|| format!("opening the store {}", path.display()))?;
        Ok(Redb { db })
    }

    /// A store that lives in memory only (tests, `stdio` without a data dir).
    pub(super) fn in_memory() -> anyhow::Result<Self> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .context("creating the in-memory store")?;
        Ok(Redb { db })
    }

    /// The value under `key`, unless absent or expired.
    pub(super) fn get(&self, table: Table, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(definition(table)) {
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
    pub(super) fn put(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        ttl_secs: u64,
    ) -> anyhow::Result<()> {
        let txn = self.db.begin_write()?;
        {
            let mut t = txn.open_table(definition(table))?;
            t.insert(key, encode(value, ttl_secs).as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Stores `value` only if `key` holds nothing live; true if it stored.
    pub(super) fn put_if_absent(
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
    pub(super) fn compare_and_put(
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
    pub(super) fn increment(&self, table: Table, key: &str, delta: i64) -> anyhow::Result<i64> {
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
            let mut t = txn.open_table(definition(table))?;
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
    pub(super) fn keys_with_prefix(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<String>> {
        let txn = self.db.begin_read()?;
        let t = match txn.open_table(definition(table)) {
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
    pub(super) fn sweep(
        &self,
        table: Table,
        cursor: Option<&str>,
        budget: usize,
    ) -> anyhow::Result<SweepPage> {
        let now = now_secs();
        let txn = self.db.begin_write()?;
        let page = {
            let mut t = txn.open_table(definition(table))?;
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
    pub(super) fn len(&self, table: Table) -> anyhow::Result<u64> {
        use redb::ReadableTableMetadata as _;
        let txn = self.db.begin_read()?;
        match txn.open_table(definition(table)) {
            Ok(t) => Ok(t.len()?),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes `key`; true if something live was there.
    pub(super) fn remove(&self, table: Table, key: &str) -> anyhow::Result<bool> {
        let txn = self.db.begin_write()?;
        let removed = {
            let mut t = txn.open_table(definition(table))?;
            t.remove(key)?.is_some_and(|v| live(v.value()).is_some())
        };
        txn.commit()?;
        Ok(removed)
    }
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
    fn expired_values_are_gone() {
        let store = Redb::in_memory().unwrap();
        // Written with an expiry in the past.
        let txn = store.db.begin_write().unwrap();
        {
            let mut t = txn.open_table(definition(Table::Sessions)).unwrap();
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
        assert_eq!(store.sweep(Table::Sessions, None, 10).unwrap().removed, 0);
    }

    #[test]
    fn survives_reopening() {
        let dir =
            std::env::temp_dir().join(format!("openphone-mcp-store-{}", uuid::Uuid::new_v4()));
        let path = dir.join("state.redb");
        Redb::open(&path)
            .unwrap()
            .put(Table::Sessions, "s", b"v", 0)
            .unwrap();
        let reopened = Redb::open(&path).unwrap();
        assert_eq!(
            reopened.get(Table::Sessions, "s").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
