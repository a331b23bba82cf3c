//! Removing expired records. The key-value interface has no expiry of its
//! own, so records carry `expires_at` and are treated as absent once past
//! it; the sweep deletes them — and the vault keys of expired grants, so a
//! user's key does not outlive every token that could use it, and dynamic
//! clients that never obtained a grant, so registrations cannot fill the
//! store.
//!
//! The host drives it in the background, one page of keys per call
//! ([`Server::sweep_page`]): each call's memory and time are bounded by a
//! page, and no request ever runs it.

use crate::client::{ClientKind, ClientRecord};
use crate::fault::Fault;
use crate::grant::{CodeRecord, GrantRecord, TokenRecord};
use crate::log::Level;
use crate::metadata::CachedDocument;
use crate::records::{self, Record};
use crate::server::Server;

// Called by the component's `admin.sweep` export (wasm32 builds) and tests.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl Server<'_> {
    /// Deletes the expired records among the page of keys at `cursor`;
    /// returns how many, and the cursor of the next page (`None`: done).
    pub(crate) fn sweep_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<(usize, Option<String>), Fault> {
        let now = self.env.clock.now();
        let page = self.env.store.list_keys(cursor)?;
        let mut removed = 0;
        for key in &page.keys {
            if self.sweep_key(key, now)? {
                removed += 1;
            }
        }
        let next = page.cursor.filter(|next| Some(next.as_str()) != cursor);
        Ok((removed, next))
    }

    /// Deletes every record expired at `now`, page after page; returns how
    /// many. Only tests want one whole pass: the host drives `sweep_page`.
    #[cfg(test)]
    pub(crate) fn sweep(&self) -> Result<usize, Fault> {
        let (mut removed, mut cursor) = self.sweep_page(None)?;
        while let Some(at) = cursor {
            let (more, next) = self.sweep_page(Some(&at))?;
            removed += more;
            cursor = next;
        }
        Ok(removed)
    }

    /// Deletes the record under `key` if it expired; true if it did.
    fn sweep_key(&self, key: &str, now: u64) -> Result<bool, Fault> {
        let expired = match key.split_once('/').map(|(prefix, _)| prefix) {
            Some("grant") => self.expired_grant(key, now)?,
            Some("code") => {
                let gone = self.expired::<CodeRecord>(key, now)?;
                if gone {
                    let hash = &key["code/".len()..];
                    self.env.store.delete(&records::code_used_key(hash))?;
                }
                gone
            }
            Some("access" | "refresh") => self.expired::<TokenRecord>(key, now)?,
            Some("cimd") => self.expired::<CachedDocument>(key, now)?,
            Some("client") => self.expired_client(key, now)?,
            _ => false,
        };
        if expired {
            self.env.store.delete(key)?;
        }
        Ok(expired)
    }

    /// A dynamic client that expired unclaimed gives its place back under
    /// the registration cap.
    fn expired_client(&self, key: &str, now: u64) -> Result<bool, Fault> {
        let Some(stored) = self.read_for_sweep::<ClientRecord>(key)? else {
            return Ok(false);
        };
        if stored.is_live(now) {
            return Ok(false);
        }
        if stored.kind == ClientKind::Dynamic {
            self.env.store.increment(records::CLIENT_COUNT_KEY, -1)?;
        }
        Ok(true)
    }

    fn read_for_sweep<T: Record>(&self, key: &str) -> Result<Option<T>, Fault> {
        match records::read::<T>(self.env.store, key) {
            Ok(stored) => Ok(stored.map(|s| s.value)),
            Err(Fault::Corrupt { key, reason }) => {
                self.log(
                    Level::Warn,
                    &format!("skipping corrupt record {key}: {reason}"),
                );
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// Whether the record under `key` has expired. A record that does not
    /// decode is left for an operator to look at, and logged.
    fn expired<T: Record>(&self, key: &str, now: u64) -> Result<bool, Fault> {
        Ok(self
            .read_for_sweep::<T>(key)?
            .is_some_and(|record| !record.is_live(now)))
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
