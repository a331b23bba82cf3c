//! Bearer tokens verified a moment ago, remembered so that a client's next
//! requests skip the auth component and the vault.
//!
//! An entry holds what a verification found (the grant's scopes and its
//! opened key) under a SHA-256 of the token — never the token — and the
//! store's authorization epoch read *before* the verification began. It is
//! used only while that epoch is still current: any change to the
//! authorization state (a revocation, a rotation, a new grant), on any
//! replica, moves the epoch on, so nothing remembered outlives a
//! revocation. Entries also lapse after [`TTL`], which bounds how long an
//! access token that expired meanwhile is still taken.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::Authorized;

/// How long a verification is remembered at most.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; past it, the stale go, then everything.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    epoch: u64,
    until: Instant,
    authorized: Authorized,
}

/// The remembered verifications.
#[derive(Default)]
pub struct Verified {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified").finish_non_exhaustive()
    }
}

impl Verified {
    /// What verifying `bearer` found, if it was remembered under `epoch`
    /// and has not lapsed.
    pub fn get(&self, bearer: &str, epoch: u64) -> Option<Authorized> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(&fingerprint(bearer))?;
        (entry.epoch == epoch && Instant::now() < entry.until).then(|| entry.authorized.clone())
    }

    /// Remembers that `bearer` verified as `authorized`, under the `epoch`
    /// read before the verification began.
    pub fn put(&self, bearer: &str, epoch: u64, authorized: &Authorized) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.epoch == epoch && now < e.until);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            fingerprint(bearer),
            Entry {
                epoch,
                until: now + TTL,
                authorized: authorized.clone(),
            },
        );
    }
}

fn fingerprint(bearer: &str) -> [u8; 32] {
    Sha256::digest(bearer.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Caller;
    use crate::secret::ApiKey;

    fn authorized(subject: &str) -> Authorized {
        Authorized {
            caller: Caller {
                subject: subject.into(),
                workspace: "w".into(),
                key: ApiKey::new("sim-business-key-0000000000000001").unwrap(),
                grant: None,
            },
            scopes: Some(vec!["messages:read".into()]),
        }
    }

    #[test]
    fn a_verification_holds_only_in_its_epoch() {
        let verified = Verified::default();
        verified.put("token-a", 7, &authorized("grant:a"));
        let hit = verified.get("token-a", 7).unwrap();
        assert_eq!(hit.caller.subject, "grant:a");
        assert!(verified.get("token-a", 8).is_none(), "the epoch moved on");
        assert!(verified.get("token-b", 7).is_none());
    }

    #[test]
    fn entries_are_keyed_by_a_hash_and_bounded() {
        let verified = Verified::default();
        for i in 0..MAX_ENTRIES + 5 {
            verified.put(&format!("token-{i}"), 1, &authorized("grant:x"));
        }
        assert!(verified.entries.lock().unwrap().len() <= MAX_ENTRIES);
        let newest = format!("token-{}", MAX_ENTRIES + 4);
        assert!(verified.get(&newest, 1).is_some());
        let stored = verified.entries.lock().unwrap();
        assert!(stored.contains_key(&fingerprint(&newest)));
        assert!(!stored.keys().any(|k| k[..] == newest.as_bytes()[..]));
    }
}
