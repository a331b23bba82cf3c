//! In-memory stand-ins for the host's imports.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use crate::clock::Clock;
use crate::crypto;
use crate::kv::{KeyPage, KeyValue, StoreError};
use crate::log::{Level, Log};
use crate::metadata::{FetchError, MetadataFetcher};
use crate::random::{Random, RandomError};
use crate::secret::ApiKey;
use crate::vault::{Vault, VaultError};

/// A request to run in the middle of another one.
type Interleaved = Option<(String, Box<dyn FnOnce()>)>;

/// A bucket in a map. Lists keys three at a time so paging is exercised.
#[derive(Default)]
pub struct MemoryStore {
    pub map: RefCell<BTreeMap<String, Vec<u8>>>,
    /// Runs once, just before the next `swap_if` on a key starting with the
    /// given prefix: a concurrent request getting there first.
    interleave: RefCell<Interleaved>,
    pub fail: Cell<bool>,
}

impl MemoryStore {
    pub fn interleave(&self, prefix: &str, f: impl FnOnce() + 'static) {
        *self.interleave.borrow_mut() = Some((prefix.to_owned(), Box::new(f)));
    }

    pub fn keys(&self) -> Vec<String> {
        self.map.borrow().keys().cloned().collect()
    }

    pub fn keys_with(&self, prefix: &str) -> Vec<String> {
        self.keys()
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .collect()
    }

    /// Every key and value as text, for scanning.
    pub fn dump(&self) -> String {
        self.map
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k} = {}\n", String::from_utf8_lossy(v)))
            .collect()
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.fail.get() {
            Err(StoreError("the disk is on fire".into()))
        } else {
            Ok(())
        }
    }
}

impl KeyValue for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        Ok(self.map.borrow().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        self.map.borrow_mut().insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.map.borrow_mut().remove(key);
        Ok(())
    }

    fn list_keys(&self, cursor: Option<&str>) -> Result<KeyPage, StoreError> {
        self.check()?;
        let map = self.map.borrow();
        let keys: Vec<String> = map
            .keys()
            .filter(|k| cursor.is_none_or(|c| k.as_str() > c))
            .take(3)
            .cloned()
            .collect();
        let cursor = (keys.len() == 3).then(|| keys[2].clone());
        Ok(KeyPage { keys, cursor })
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.check()?;
        let mut map = self.map.borrow_mut();
        let current = map
            .get(key)
            .and_then(|v| String::from_utf8(v.clone()).ok())
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        let next = current + delta;
        map.insert(key.to_owned(), next.to_string().into_bytes());
        Ok(next)
    }

    fn swap_if(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        self.check()?;
        let hook = {
            let mut slot = self.interleave.borrow_mut();
            match slot.as_ref() {
                Some((prefix, _)) if key.starts_with(prefix.as_str()) => {
                    slot.take().map(|(_, f)| f)
                }
                _ => None,
            }
        };
        if let Some(hook) = hook {
            hook();
        }
        let mut map = self.map.borrow_mut();
        if map.get(key).map(Vec::as_slice) != expected {
            return Ok(false);
        }
        map.insert(key.to_owned(), new.to_vec());
        Ok(true)
    }
}

/// The host's vault, with OpenPhone reduced to a set of accepted keys.
#[derive(Default)]
pub struct FakeVault {
    accepted: RefCell<BTreeSet<String>>,
    pub sealed: RefCell<BTreeMap<String, String>>,
    pub unavailable: Cell<bool>,
    pub checks: Cell<usize>,
}

impl FakeVault {
    pub fn accept(&self, key: &str) {
        self.accepted.borrow_mut().insert(key.to_owned());
    }
}

impl Vault for FakeVault {
    fn check(&self, candidate: &ApiKey) -> Result<(), VaultError> {
        self.checks.set(self.checks.get() + 1);
        if self.unavailable.get() {
            return Err(VaultError::Unavailable("connection refused".into()));
        }
        if self.accepted.borrow().contains(candidate.expose()) {
            Ok(())
        } else {
            Err(VaultError::KeyRejected("401 Unauthorized".into()))
        }
    }

    fn seal(&self, grant: &str, key: &ApiKey) -> Result<(), VaultError> {
        self.sealed
            .borrow_mut()
            .insert(grant.to_owned(), key.expose().to_owned());
        Ok(())
    }

    fn delete(&self, grant: &str) -> Result<(), VaultError> {
        self.sealed.borrow_mut().remove(grant);
        Ok(())
    }
}

/// Metadata documents by URL.
#[derive(Default)]
pub struct FakeFetcher {
    pub documents: RefCell<BTreeMap<String, Result<Vec<u8>, FetchError>>>,
    pub fetched: RefCell<Vec<String>>,
}

impl FakeFetcher {
    pub fn publish(&self, url: &str, body: &serde_json::Value) {
        self.documents
            .borrow_mut()
            .insert(url.to_owned(), Ok(body.to_string().into_bytes()));
    }
}

impl MetadataFetcher for FakeFetcher {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.fetched.borrow_mut().push(url.to_owned());
        self.documents
            .borrow()
            .get(url)
            .cloned()
            .unwrap_or_else(|| Err(FetchError::BadAnswer("404 Not Found".into())))
    }
}

/// A clock tests move.
pub struct FakeClock(Cell<u64>);

impl FakeClock {
    pub fn at(now: u64) -> Self {
        FakeClock(Cell::new(now))
    }

    pub fn advance(&self, secs: u64) {
        self.0.set(self.0.get() + secs);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> u64 {
        self.0.get()
    }
}

/// Deterministic bytes: SHA-256 of a counter, so runs repeat exactly.
#[derive(Default)]
pub struct FakeRandom(Cell<u64>);

impl Random for FakeRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        for chunk in buf.chunks_mut(32) {
            let n = self.0.get();
            self.0.set(n + 1);
            let block = crypto::sha256(&n.to_be_bytes());
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

/// Log lines in memory.
#[derive(Default)]
pub struct MemoryLog {
    pub lines: RefCell<Vec<(Level, String)>>,
}

impl MemoryLog {
    pub fn text(&self) -> String {
        self.lines
            .borrow()
            .iter()
            .map(|(l, m)| format!("{l:?} {m}\n"))
            .collect()
    }
}

impl Log for MemoryLog {
    fn write(&self, level: Level, message: &str) {
        self.lines.borrow_mut().push((level, message.to_owned()));
    }
}

/// Audit events in memory.
#[derive(Default)]
pub struct MemoryAudit {
    pub events: RefCell<Vec<crate::audit::Event>>,
}

impl MemoryAudit {
    /// The kinds appended so far, in order.
    pub fn kinds(&self) -> Vec<crate::audit::Kind> {
        self.events.borrow().iter().map(|e| e.kind).collect()
    }
}

impl crate::audit::Audit for MemoryAudit {
    fn append(&self, event: crate::audit::Event) {
        self.events.borrow_mut().push(event);
    }
}
