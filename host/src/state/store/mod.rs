//! The host's durable state, behind one small key-value interface.
//!
//! Values are opaque bytes with an optional expiry, in named tables. Two
//! backends implement the same operations with the same atomicity:
//!
//! - [`redb`]: one file in the data directory, crash-safe, no server — the
//!   default, for one process;
//! - [`redis`]: one Redis server shared by every replica of a deployment
//!   (`--store redis://…`), each read-modify-write one Lua script.
//!
//! A backend that cannot be reached fails with [`Unavailable`] in the error
//! chain, which the transport answers with `503` and `Retry-After`: nothing
//! is guessed while the state cannot be read.

mod redb;
pub(crate) mod redis;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The tables the host keeps.
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
    /// The table's name in either backend; never changed once released.
    pub fn name(self) -> &'static str {
        match self {
            Table::Sessions => "mcp_sessions",
            Table::Outcomes => "call_outcomes",
            Table::Ledger => "tool_ledger",
            Table::Vault => "sealed_keys",
            Table::Auth => "auth_kv",
            Table::Keys => "data_keys",
            Table::Audit => "audit_events",
        }
    }
}

/// The store could not be reached or did not answer in time. Nothing is
/// known about the operation that failed; the request may be retried.
#[derive(Debug, thiserror::Error)]
#[error("the store is unavailable: {0}")]
pub struct Unavailable(pub String);

/// True if `error` (or one of its causes) says the store was unreachable.
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<Unavailable>())
}

/// Where the store lives: `--store`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Location {
    /// redb in the data directory (`redb`, the default).
    #[default]
    Embedded,
    /// A Redis server shared by every replica.
    Redis(redis::RedisUrl),
}

impl std::str::FromStr for Location {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("redb") {
            return Ok(Location::Embedded);
        }
        if text.starts_with("redis://") || text.starts_with("rediss://") {
            return text.parse().map(Location::Redis);
        }
        Err("expected redis://HOST:PORT[/DB], rediss://HOST:PORT[/DB], or redb (the embedded store)".into())
    }
}

impl std::fmt::Display for Location {
    /// As given, with a Redis password hidden.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Embedded => f.write_str("redb"),
            Location::Redis(url) => write!(f, "{url}"),
        }
    }
}

/// Durable key-value store.
pub struct Store {
    backend: Backend,
    /// The authorization epoch of a store only this process uses.
    local_epoch: std::sync::atomic::AtomicU64,
}

enum Backend {
    Redb(redb::Redb),
    Redis(std::sync::Arc<redis::Redis>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.backend {
            Backend::Redb(_) => "redb",
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("Store")
            .field("backend", &kind)
            .finish_non_exhaustive()
    }
}

/// Calls the same method on whichever backend `self` has.
macro_rules! on_backend {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Redb(b) => b.$method($($arg),*),
            Backend::Redis(b) => b.$method($($arg),*),
        }
    };
}

impl Store {
    fn with(backend: Backend) -> Self {
        Store {
            backend,
            local_epoch: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Opens (or creates) the redb file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Store::with(Backend::Redb(redb::Redb::open(path)?)))
    }

    /// A store that lives in memory only (tests, `stdio` without a data dir).
    pub fn in_memory() -> anyhow::Result<Self> {
        Ok(Store::with(Backend::Redb(redb::Redb::in_memory()?)))
    }

    /// The Redis server at `url` (`redis://` or `rediss://`), checked with a
    /// `PING` so a wrong address fails at start, not at the first request.
    pub fn redis(url: &redis::RedisUrl) -> anyhow::Result<Self> {
        Ok(Store::with(Backend::Redis(std::sync::Arc::new(
            redis::Redis::connect(url)?,
        ))))
    }

    /// The store at `location`: redb in `data_dir`, or Redis.
    pub fn at(location: &Location, data_dir: &Path) -> anyhow::Result<Self> {
        match location {
            Location::Embedded => Store::open(&data_dir.join("state.redb")),
            Location::Redis(url) => Store::redis(url),
        }
    }

    /// The shared Redis backend, if this store is one: what the budget,
    /// the rate limits and the heartbeat keep in it.
    pub fn shared(&self) -> Option<std::sync::Arc<redis::Redis>> {
        match &self.backend {
            Backend::Redis(redis) => Some(std::sync::Arc::clone(redis)),
            Backend::Redb(_) => None,
        }
    }

    /// The value under `key`, unless absent or expired.
    pub fn get(&self, table: Table, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        on_backend!(self.get(table, key))
    }

    /// Stores `value` under `key`, expiring after `ttl_secs` (0: never).
    pub fn put(&self, table: Table, key: &str, value: &[u8], ttl_secs: u64) -> anyhow::Result<()> {
        on_backend!(self.put(table, key, value, ttl_secs))?;
        self.changed(table, true)
    }

    /// Stores `value` only if `key` holds nothing live; true if it stored.
    pub fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        ttl_secs: u64,
    ) -> anyhow::Result<bool> {
        let stored = on_backend!(self.put_if_absent(table, key, value, ttl_secs))?;
        self.changed(table, stored)?;
        Ok(stored)
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
        let replaced = on_backend!(self.compare_and_put(table, key, expected, value, ttl_secs))?;
        self.changed(table, replaced)?;
        Ok(replaced)
    }

    /// Adds `delta` to the integer under `key` (absent counts as 0)
    /// atomically; returns the new value. Stored as decimal text, without
    /// an expiry.
    pub fn increment(&self, table: Table, key: &str, delta: i64) -> anyhow::Result<i64> {
        let value = on_backend!(self.increment(table, key, delta))?;
        self.changed(table, true)?;
        Ok(value)
    }

    /// Live keys that start with `prefix`, in byte order, after `after` when
    /// given, at most `limit`.
    pub fn keys_with_prefix(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<String>> {
        on_backend!(self.keys_with_prefix(table, prefix, after, limit))
    }

    /// Deletes what expired entries leave behind in `table` (redb: the
    /// entries; Redis, whose TTLs delete values: their index entries),
    /// looking at no more than `budget` entries after `cursor`: bounded
    /// work, safe to run beside requests and on every replica at once.
    pub fn sweep(
        &self,
        table: Table,
        cursor: Option<&str>,
        budget: usize,
    ) -> anyhow::Result<SweepPage> {
        let page = on_backend!(self.sweep(table, cursor, budget))?;
        self.changed(table, page.removed > 0)?;
        Ok(page)
    }

    /// Entries in `table`, expired or not.
    #[cfg(test)]
    pub fn len(&self, table: Table) -> anyhow::Result<u64> {
        on_backend!(self.len(table))
    }

    /// Removes `key`; true if something live was there.
    pub fn remove(&self, table: Table, key: &str) -> anyhow::Result<bool> {
        let removed = on_backend!(self.remove(table, key))?;
        self.changed(table, removed)?;
        Ok(removed)
    }

    /// The authorization epoch: it moves on with every change to the
    /// authorization state (the auth component's records, the sealed
    /// keys), whichever replica made it, and never goes back. A
    /// verification remembered under one epoch holds only while the epoch
    /// is unchanged, so no cache outlives a revocation.
    pub fn auth_epoch(&self) -> anyhow::Result<u64> {
        match &self.backend {
            Backend::Redb(_) => Ok(self.local_epoch.load(std::sync::atomic::Ordering::SeqCst)),
            Backend::Redis(redis) => redis.auth_epoch(),
        }
    }

    /// Moves the epoch on after a `write` (if it wrote) to a table the
    /// authorization state lives in. The write comes first: a verification
    /// that began before it read the old epoch and is not kept past it.
    fn changed(&self, table: Table, wrote: bool) -> anyhow::Result<()> {
        if !wrote || !matches!(table, Table::Auth | Table::Vault) {
            return Ok(());
        }
        match &self.backend {
            Backend::Redb(_) => {
                self.local_epoch
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
            Backend::Redis(redis) => redis.bump_auth_epoch(),
        }
    }

    /// Whether the process run `boot` may still be running calls it
    /// claimed. redb admits one process, so any other run is over; on Redis
    /// each replica keeps a liveness key fresh ([`Store::keep_alive`]).
    pub fn holder_alive(&self, boot: &str) -> anyhow::Result<bool> {
        match &self.backend {
            Backend::Redb(_) => Ok(false),
            Backend::Redis(redis) => redis.holder_alive(boot),
        }
    }

    /// Keeps this process run's liveness key fresh while the process runs
    /// (Redis only: with redb there is no other process to tell).
    pub fn keep_alive(&self, boot: &str) {
        if let Backend::Redis(redis) = &self.backend {
            // Before any claim is made under `boot`.
            if let Err(error) = redis.beat(boot, LIVENESS_TTL) {
                tracing::warn!(error = %format!("{error:#}"), "marking this replica alive in Redis failed");
            }
            redis::spawn_heartbeat(std::sync::Arc::clone(redis), boot.to_owned());
        }
    }
}

/// The store's clock: unix seconds.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What one [`Store::sweep`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepPage {
    /// Expired entries deleted.
    pub removed: usize,
    /// Where the next sweep of the table goes on; `None` once it reached the end.
    pub next: Option<String>,
}

/// How long a liveness key lives without being renewed: a replica killed
/// with its claims held is taken to be gone this long after its last beat.
pub const LIVENESS_TTL: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    /// The same contract, run on each backend.
    fn stores() -> Vec<(Store, Option<redis::tests::TestRedis>)> {
        let server = redis::tests::TestRedis::start();
        let shared = Store::redis(&server.url()).unwrap();
        vec![(Store::in_memory().unwrap(), None), (shared, Some(server))]
    }

    #[test]
    fn put_get_remove() {
        for (store, _server) in stores() {
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
            let swap = |expected: &[u8], value: &[u8]| {
                store
                    .compare_and_put(Table::Sessions, "a", expected, value, 60)
                    .unwrap()
            };
            assert!(!swap(b"2", b"4"));
            assert!(swap(b"3", b"4"));
            assert!(!swap(b"3", b"5"));
            assert!(
                !store
                    .compare_and_put(Table::Sessions, "b", b"", b"5", 60)
                    .unwrap()
            );
            assert_eq!(
                store.get(Table::Sessions, "a").unwrap().as_deref(),
                Some(&b"4"[..])
            );
            // Tables are apart.
            assert_eq!(store.get(Table::Outcomes, "a").unwrap(), None);
        }
    }

    #[test]
    fn increments_atomically_from_zero() {
        for (store, _server) in stores() {
            assert_eq!(store.increment(Table::Auth, "n", 1).unwrap(), 1);
            assert_eq!(store.increment(Table::Auth, "n", 5).unwrap(), 6);
            store.put(Table::Auth, "text", b"x", 0).unwrap();
            assert!(store.increment(Table::Auth, "text", 1).is_err());
            store
                .put(Table::Auth, "max", i64::MAX.to_string().as_bytes(), 0)
                .unwrap();
            assert!(store.increment(Table::Auth, "max", 1).is_err());
        }
    }

    #[test]
    fn lists_keys_by_prefix_in_pages() {
        for (store, _server) in stores() {
            for key in ["a/2", "a/1", "a/3", "b/1", "a"] {
                store.put(Table::Auth, key, b"v", 0).unwrap();
            }
            store.put(Table::Auth, "a/0", b"v", 2).unwrap();
            store.remove(Table::Auth, "a/3").unwrap();
            let first = store.keys_with_prefix(Table::Auth, "a/", None, 1).unwrap();
            assert_eq!(first, vec!["a/0"]);
            std::thread::sleep(Duration::from_millis(3_100));
            // The expired "a/0" is skipped, the removed "a/3" gone.
            assert_eq!(
                store.keys_with_prefix(Table::Auth, "a/", None, 2).unwrap(),
                vec!["a/1", "a/2"]
            );
            assert_eq!(
                store
                    .keys_with_prefix(Table::Auth, "a/", Some("a/1"), 2)
                    .unwrap(),
                vec!["a/2"]
            );
            assert!(
                store
                    .keys_with_prefix(Table::Vault, "a/", None, 2)
                    .unwrap()
                    .is_empty()
            );
            // Sweeping drops what the expired entry left, in pages.
            let page = store.sweep(Table::Auth, None, 2).unwrap();
            assert_eq!(page.removed, 1, "the expired a/0 comes first");
            assert_eq!(page.next.as_deref(), Some("a/0"));
            let rest = store.sweep(Table::Auth, page.next.as_deref(), 10).unwrap();
            assert_eq!(
                rest,
                SweepPage {
                    removed: 0,
                    next: None
                }
            );
            assert_eq!(store.len(Table::Auth).unwrap(), 4);
        }
    }

    #[test]
    fn values_expire() {
        for (store, _server) in stores() {
            store.put(Table::Outcomes, "short", b"1", 1).unwrap();
            assert!(
                store
                    .put_if_absent(Table::Outcomes, "also", b"1", 1)
                    .unwrap()
            );
            store.put(Table::Outcomes, "kept", b"1", 60).unwrap();
            std::thread::sleep(Duration::from_millis(2_100));
            assert_eq!(store.get(Table::Outcomes, "short").unwrap(), None);
            assert!(!store.remove(Table::Outcomes, "also").unwrap());
            assert!(
                store
                    .put_if_absent(Table::Outcomes, "short", b"2", 0)
                    .unwrap()
            );
            assert!(store.get(Table::Outcomes, "kept").unwrap().is_some());
        }
    }

    #[test]
    fn compare_and_put_admits_one_of_many_writers() {
        for (store, _server) in stores() {
            let store = std::sync::Arc::new(store);
            store.put(Table::Outcomes, "k", b"0", 60).unwrap();
            let winners: usize = std::thread::scope(|scope| {
                let racers: Vec<_> = (0..8)
                    .map(|i| {
                        let store = &store;
                        scope.spawn(move || {
                            let mine = format!("v{i}");
                            store
                                .compare_and_put(Table::Outcomes, "k", b"0", mine.as_bytes(), 60)
                                .unwrap()
                        })
                    })
                    .collect();
                racers
                    .into_iter()
                    .map(|r| usize::from(r.join().unwrap()))
                    .sum()
            });
            assert_eq!(winners, 1);
        }
    }

    #[test]
    fn the_auth_epoch_moves_on_with_every_change_to_authorization_state() {
        for (store, server) in stores() {
            let start = store.auth_epoch().unwrap();
            store.put(Table::Sessions, "s", b"1", 0).unwrap();
            store.put(Table::Outcomes, "o", b"1", 0).unwrap();
            assert_eq!(
                store.auth_epoch().unwrap(),
                start,
                "not authorization state"
            );
            store.put(Table::Auth, "grant/g", b"1", 0).unwrap();
            assert_eq!(store.auth_epoch().unwrap(), start + 1);
            assert!(
                !store
                    .put_if_absent(Table::Auth, "grant/g", b"2", 0)
                    .unwrap()
            );
            assert!(
                !store
                    .compare_and_put(Table::Auth, "grant/g", b"x", b"2", 0)
                    .unwrap()
            );
            assert!(!store.remove(Table::Vault, "absent").unwrap());
            assert_eq!(
                store.auth_epoch().unwrap(),
                start + 1,
                "nothing was written"
            );
            store.put(Table::Vault, "g", b"sealed", 0).unwrap();
            assert!(store.remove(Table::Vault, "g").unwrap());
            store.increment(Table::Auth, "n", 1).unwrap();
            assert_eq!(store.auth_epoch().unwrap(), start + 4);
            if let Some(server) = server {
                // Another replica on the same Redis sees it, and moves it on.
                let other = Store::redis(&server.url()).unwrap();
                assert_eq!(other.auth_epoch().unwrap(), start + 4);
                other.remove(Table::Auth, "grant/g").unwrap();
                assert_eq!(store.auth_epoch().unwrap(), start + 5);
            }
        }
    }

    #[test]
    fn another_run_is_alive_only_while_it_beats_on_redis() {
        let (local, _) = stores().remove(0);
        assert!(!local.holder_alive("other").unwrap());
        let server = redis::tests::TestRedis::start();
        let shared = Store::redis(&server.url()).unwrap();
        assert!(!shared.holder_alive("other").unwrap());
        shared
            .shared()
            .unwrap()
            .beat("other", Duration::from_secs(1))
            .unwrap();
        assert!(shared.holder_alive("other").unwrap());
        std::thread::sleep(Duration::from_millis(1_200));
        assert!(!shared.holder_alive("other").unwrap());
    }
}
