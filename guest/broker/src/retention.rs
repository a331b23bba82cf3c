//! Deleting what outlived its promise, where the host runs no background
//! work (Spin): every [`SWEEP_EVERY`]th claim looks through the outcome
//! records and ledger entries and deletes the expired ones, at most
//! [`SWEEP_MAX`] per prefix, so the store keeps nothing past seven days (one
//! day for retried JSON-RPC requests) for long, as natively.

use crate::{Platform, StoreError, ledger, outcomes};

/// One claim in this many sweeps.
pub const SWEEP_EVERY: i64 = 200;
/// Entries looked at per prefix and sweep.
pub const SWEEP_MAX: usize = 1_000;

/// The counter of claims that decides when to sweep.
const COUNTER: &str = "sweep/claims";

/// Whether a stored value's lifetime ended by a time.
type Expired = fn(&[u8], u64) -> bool;

/// Counts one claim, and sweeps on every [`SWEEP_EVERY`]th; how many
/// entries were deleted.
pub fn after_claim<P: Platform>(now: u64) -> Result<usize, StoreError> {
    if P::increment(COUNTER, 1)? % SWEEP_EVERY != 0 {
        return Ok(0);
    }
    sweep::<P>(now)
}

/// Deletes expired outcome records and ledger entries.
pub fn sweep<P: Platform>(now: u64) -> Result<usize, StoreError> {
    let rules: [(&str, Expired); 2] = [
        ("outcome/", outcomes::expired),
        ("ledger/", ledger::expired),
    ];
    let mut removed = 0;
    for (prefix, expired) in rules {
        for key in P::keys(prefix)?.iter().take(SWEEP_MAX) {
            if P::load(key)?.is_some_and(|value| expired(&value, now)) {
                P::forget(key)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;
    use crate::outcomes::{Decision, Scope};

    thread_local! {
        static STORE: RefCell<BTreeMap<String, Vec<u8>>> = RefCell::default();
    }

    struct Memory;

    impl Platform for Memory {
        const DURABLE: bool = true;

        fn setting(_: &str) -> Option<String> {
            None
        }

        fn load(key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(STORE.with_borrow(|s| s.get(key).cloned()))
        }

        fn store(key: &str, value: &[u8]) -> Result<(), StoreError> {
            STORE.with_borrow_mut(|s| s.insert(key.into(), value.to_vec()));
            Ok(())
        }

        fn forget(key: &str) -> Result<(), StoreError> {
            STORE.with_borrow_mut(|s| s.remove(key));
            Ok(())
        }

        fn increment(key: &str, delta: i64) -> Result<i64, StoreError> {
            STORE.with_borrow_mut(|s| {
                let now = s
                    .get(key)
                    .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok())
                    .unwrap_or(0)
                    + delta;
                s.insert(key.into(), now.to_string().into_bytes());
                Ok(now)
            })
        }

        fn keys(prefix: &str) -> Result<Vec<String>, StoreError> {
            Ok(STORE.with_borrow(|s| {
                s.keys()
                    .filter(|k| k.starts_with(prefix))
                    .cloned()
                    .collect()
            }))
        }
    }

    const NOW: u64 = 1_800_000_000;

    fn claim(key: &str, now: u64) {
        let Decision::Claim { record, .. } =
            outcomes::decide(None, "{}", now, Scope::Tool("send-message"), false)
        else {
            panic!("a claim");
        };
        Memory::store(key, &record.to_bytes()).expect("stored");
    }

    #[test]
    fn expired_records_and_entries_go_and_the_rest_stays() {
        claim("outcome/old", NOW - outcomes::RECORD_TTL_SECS - 1);
        claim("outcome/new", NOW);
        Memory::store("outcome/odd", b"not json").expect("stored");
        Memory::store(
            "ledger/a/old",
            &ledger::stored(r#""sent""#, NOW - ledger::RETENTION_SECS),
        )
        .expect("stored");
        Memory::store("ledger/a/new", &ledger::stored(r#""sent""#, NOW)).expect("stored");
        Memory::store("vault/g1", b"sealed").expect("stored");
        assert_eq!(sweep::<Memory>(NOW), Ok(2));
        let left = Memory::keys("").expect("keys");
        assert_eq!(
            left,
            ["ledger/a/new", "outcome/new", "outcome/odd", "vault/g1"]
        );

        // Only every SWEEP_EVERYth claim sweeps.
        claim("outcome/old", NOW - outcomes::RECORD_TTL_SECS - 1);
        for _ in 1..SWEEP_EVERY {
            assert_eq!(after_claim::<Memory>(NOW), Ok(0));
        }
        assert_eq!(after_claim::<Memory>(NOW), Ok(1));
    }
}
