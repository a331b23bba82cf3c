//! Removing expired records. The key-value interface has no expiry of its
//! own, so records carry `expires_at` and are treated as absent once past
//! it; this sweep deletes them — and the vault keys of expired grants, so a
//! user's key does not outlive every token that could use it.
//!
//! It runs at most once an hour, from whichever request comes first after
//! the hour is up (claimed with compare-and-swap on `meta/sweep`, so
//! concurrent instances do not all sweep). It walks every key: fine for the
//! thousands of records one deployment holds, and the price of a store
//! interface without prefix scans or TTLs.

use serde::{Deserialize, Serialize};

use crate::fault::Fault;
use crate::grant::{CodeRecord, GrantRecord, TokenRecord};
use crate::kv;
use crate::log::Level;
use crate::metadata::CachedDocument;
use crate::records::{self, Record};
use crate::server::Server;

/// How often the sweep runs.
pub const SWEEP_EVERY_SECS: u64 = 3600;

/// When the sweep last ran, under `meta/sweep`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepRecord {
    pub last_run: u64,
}

impl Record for SweepRecord {
    fn expires_at(&self) -> Option<u64> {
        None
    }
}

impl Server<'_> {
    /// Sweeps if the last sweep is an hour old and no one else claims it.
    pub(crate) fn maybe_sweep(&self) -> Result<(), Fault> {
        let now = self.env.clock.now();
        let last = records::read::<SweepRecord>(self.env.store, records::SWEEP_KEY)?;
        if last
            .as_ref()
            .is_some_and(|s| s.value.last_run + SWEEP_EVERY_SECS > now)
        {
            return Ok(());
        }
        let claim = records::encode(&SweepRecord { last_run: now });
        let expected = last.as_ref().map(|s| s.raw.as_slice());
        if !self
            .env
            .store
            .swap_if(records::SWEEP_KEY, expected, &claim)?
        {
            return Ok(());
        }
        let removed = self.sweep(now)?;
        if removed > 0 {
            self.log(Level::Info, &format!("removed {removed} expired records"));
        }
        Ok(())
    }

    /// Deletes every record expired at `now`; returns how many.
    pub(crate) fn sweep(&self, now: u64) -> Result<usize, Fault> {
        let mut removed = 0;
        for key in kv::keys_with_prefix(self.env.store, "")? {
            let expired = match key.split_once('/').map(|(prefix, _)| prefix) {
                Some("grant") => self.expired_grant(&key, now)?,
                Some("code") => {
                    let gone = self.expired::<CodeRecord>(&key, now)?;
                    if gone {
                        let hash = &key["code/".len()..];
                        self.env.store.delete(&records::code_used_key(hash))?;
                    }
                    gone
                }
                Some("access" | "refresh") => self.expired::<TokenRecord>(&key, now)?,
                Some("cimd") => self.expired::<CachedDocument>(&key, now)?,
                _ => false,
            };
            if expired {
                self.env.store.delete(&key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether the record under `key` has expired. A record that does not
    /// decode is left for an operator to look at, and logged.
    fn expired<T: Record>(&self, key: &str, now: u64) -> Result<bool, Fault> {
        match records::read::<T>(self.env.store, key) {
            Ok(Some(stored)) => Ok(!stored.value.is_live(now)),
            Ok(None) => Ok(false),
            Err(Fault::Corrupt { key, reason }) => {
                self.log(
                    Level::Warn,
                    &format!("skipping corrupt record {key}: {reason}"),
                );
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }

    /// An expired grant also loses its vault key (first, so a failure
    /// leaves the record for the next sweep to retry).
    fn expired_grant(&self, key: &str, now: u64) -> Result<bool, Fault> {
        if !self.expired::<GrantRecord>(key, now)? {
            return Ok(false);
        }
        let grant = &key["grant/".len()..];
        self.env.vault.delete(grant)?;
        Ok(true)
    }
}
