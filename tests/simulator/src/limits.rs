//! Per-key rate limiting: at most N requests in any sliding one-second window (the real API
//! allows 10 per second per key).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

/// Sliding-window limiter keyed by API key. Rejected requests do not count.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: Option<u32>,
    admitted: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    /// `None` disables limiting.
    pub(crate) fn new(per_second: Option<u32>) -> Self {
        Self {
            per_second,
            admitted: HashMap::new(),
        }
    }

    /// Whether a request by `key` at `now` is within the limit; admitted requests are counted.
    pub(crate) fn admit(&mut self, key: &str, now: Instant) -> bool {
        let Some(limit) = self.per_second else {
            return true;
        };
        let window = self.admitted.entry(key.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|&earlier| now.saturating_duration_since(earlier) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return false;
        }
        window.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_ten_per_second_per_key() {
        let mut limiter = RateLimiter::new(Some(10));
        let start = Instant::now();
        for i in 0..10 {
            assert!(
                limiter.admit("a", start + Duration::from_millis(i * 10)),
                "{i}"
            );
        }
        assert!(!limiter.admit("a", start + Duration::from_millis(500)));
        assert!(limiter.admit("b", start + Duration::from_millis(500)));
        // The first request leaves the window one second after it was made.
        assert!(!limiter.admit("a", start + Duration::from_millis(999)));
        assert!(limiter.admit("a", start + Duration::from_millis(1_000)));
        assert!(!limiter.admit("a", start + Duration::from_millis(1_001)));
    }

    #[test]
    fn none_disables_the_limit() {
        let mut limiter = RateLimiter::new(None);
        let now = Instant::now();
        assert!((0..100).all(|_| limiter.admit("a", now)));
    }
}
