//! The OpenPhone API's request budget: at most 10 requests in any one-second
//! window per API key, shared by every call made with that key.
//!
//! Each key keeps the send times of its last `limit` requests. A new request
//! takes the earliest slot that keeps the window within the limit and waits
//! for it, so callers queue fairly instead of collecting 429s. Replicas on
//! one Redis share the slots ([`Budget::shared`]): the API counts a key's
//! requests whichever replica sends them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::state::store::redis::Redis;

/// Per-key sliding-window budget.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    window: Duration,
    slots: Slots,
}

#[derive(Debug)]
enum Slots {
    /// This process's own.
    Local(Mutex<HashMap<String, VecDeque<Instant>>>),
    /// In the Redis store, on its clock.
    Shared(Arc<Redis>),
}

impl Budget {
    /// `limit` requests per `window` per key.
    pub fn new(limit: usize, window: Duration) -> Self {
        Budget {
            limit: limit.max(1),
            window,
            slots: Slots::Local(Mutex::new(HashMap::new())),
        }
    }

    /// The API's budget, kept in Redis for every replica.
    /// Its window is 20% longer than a second: between a slot reserved on
    /// Redis's clock and the request's arrival at the API lie two network
    /// hops and another process's scheduling, whose delays differ from one
    /// request to the next by more than one process's do.
    pub fn shared(redis: Arc<Redis>) -> Self {
        Budget {
            slots: Slots::Shared(redis),
            ..Budget::new(10, Duration::from_millis(1_200))
        }
    }

    /// The API's documented budget. The window is 10% longer than a second:
    /// the API counts requests when they arrive, and arrival times jitter
    /// (scheduling, TLS, network) by tens of milliseconds.
    pub fn openphone() -> Self {
        Budget::new(10, Duration::from_millis(1_100))
    }

    /// Reserves the next slot for `key` (a fingerprint, not the key) and
    /// waits until it comes. Fails only when the shared store cannot be
    /// reached: then no slot is known to be free and nothing may be sent.
    pub async fn acquire(&self, key: &str) -> anyhow::Result<()> {
        let slot = match &self.slots {
            Slots::Local(slots) => reserve(slots, self.limit, self.window, key, Instant::now()),
            Slots::Shared(redis) => {
                Instant::now() + redis.reserve_slot(key, self.limit, self.window)?
            }
        };
        tokio::time::sleep_until(slot).await;
        Ok(())
    }

    #[cfg(test)]
    fn reserve(&self, key: &str, now: Instant) -> Instant {
        let Slots::Local(slots) = &self.slots else {
            unreachable!("tests reserve local slots")
        };
        reserve(slots, self.limit, self.window, key, now)
    }
}

/// The earliest slot for `key` that keeps `limit` in any `window`, taken.
fn reserve(
    slots: &Mutex<HashMap<String, VecDeque<Instant>>>,
    limit: usize,
    window: Duration,
    key: &str,
    now: Instant,
) -> Instant {
    let mut all = slots
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let sent = all.entry(key.to_owned()).or_default();
    let slot = if sent.len() < limit {
        now
    } else {
        let oldest = sent.pop_front().unwrap_or(now);
        (oldest + window).max(now)
    };
    sent.push_back(slot);
    // Forget keys whose window is long past, so the map cannot grow without bound.
    if all.len() > 10_000 {
        all.retain(|_, s| s.back().is_some_and(|last| *last + window > now));
    }
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_limit_in_any_window() {
        let budget = Budget::new(10, Duration::from_secs(1));
        let start = Instant::now();
        let slots: Vec<Instant> = (0..35).map(|_| budget.reserve("k", start)).collect();
        for (i, slot) in slots.iter().enumerate() {
            let in_window = slots[..=i]
                .iter()
                .filter(|s| **s + Duration::from_secs(1) > *slot)
                .count();
            assert!(in_window <= 10, "slot {i}: {in_window} in window");
        }
        assert_eq!(slots[9], start);
        assert_eq!(slots[10], start + Duration::from_secs(1));
        assert_eq!(slots[34], start + Duration::from_secs(3));
    }

    #[test]
    fn keys_are_independent() {
        let budget = Budget::new(1, Duration::from_secs(1));
        let now = Instant::now();
        assert_eq!(budget.reserve("a", now), now);
        assert_eq!(budget.reserve("b", now), now);
        assert_eq!(budget.reserve("a", now), now + Duration::from_secs(1));
    }
}
