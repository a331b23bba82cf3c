//! Durable state: the store and the protocols kept in it.

pub(crate) mod audit;
pub(crate) mod idempotency;
pub(crate) mod ledger;
pub(crate) mod store;
pub(crate) mod sweep;

use std::time::Duration;

/// How long what must be kept is kept, and how often the expired is swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Outcomes of write-tool calls under an idempotency key, and their
    /// ledgers. Records of retried JSON-RPC requests are kept at most
    /// [`REQUEST_RECORDS`] of it.
    pub records: Duration,
    /// How often expired records are deleted.
    pub sweep_every: Duration,
    /// Audit events (`audit.rs`).
    pub audit: Duration,
}

/// The longest a retried JSON-RPC request is answered from its record.
pub const REQUEST_RECORDS: Duration = Duration::from_secs(24 * 3600);

impl Default for Retention {
    fn default() -> Self {
        Retention {
            records: Duration::from_secs(idempotency::RECORD_TTL_SECS),
            sweep_every: Duration::from_secs(60),
            audit: Duration::from_secs(90 * 86_400),
        }
    }
}
