//! Spacing API requests: at most 10 per second per key, as OpenPhone
//! allows. Pure arithmetic over monotonic nanoseconds; the broker sleeps.

/// The least time between two requests with one key.
pub const SPACING_NS: u64 = 100_000_000;

/// Requests per key in one wall-clock second, where the count is shared.
pub const PER_SECOND: i64 = 10;

/// Nanoseconds from `now` (Unix nanoseconds) to the next whole second.
pub fn until_next_second(now: u64) -> u64 {
    1_000_000_000 - now % 1_000_000_000
}

/// Read attempts (the first and three retries), as natively.
pub const READ_ATTEMPTS: u32 = 4;

/// How long to wait before a request at `now`, when the last one went out at
/// `last`.
pub fn wait(last: Option<u64>, now: u64) -> u64 {
    last.map_or(0, |last| {
        (last.saturating_add(SPACING_NS)).saturating_sub(now)
    })
}

/// The pause before retry `attempt` (1-based): 250 ms doubling, at most 8 s.
pub fn backoff(attempt: u32) -> u64 {
    let base: u64 = 250_000_000;
    base.saturating_mul(1 << (attempt.saturating_sub(1)).min(5))
        .min(8_000_000_000)
}

/// Whether an answer with `status` to a read is worth another attempt.
pub fn retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spaced_and_retries_back_off() {
        assert_eq!(wait(None, 5), 0);
        assert_eq!(wait(Some(1_000), 1_000), SPACING_NS);
        assert_eq!(wait(Some(1_000), 1_000 + SPACING_NS + 1), 0);
        assert_eq!(backoff(1), 250_000_000);
        assert_eq!(backoff(2), 500_000_000);
        assert_eq!(backoff(30), 8_000_000_000);
        assert_eq!(until_next_second(5_250_000_000), 750_000_000);
        assert!(retryable(429) && retryable(503) && !retryable(404) && !retryable(200));
    }
}
