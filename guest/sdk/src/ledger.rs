//! Per-item records under the call's idempotency key (the WIT `ledger`).
//!
//! Tools that act on many items record each one here — "under way" before
//! acting, the outcome after — so a run with the same key acts only on items
//! without an entry. [`HostLedger`] is the host's import; unit tests use a
//! map.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::bindings::openphone::mcp::types::LedgerError;

/// Entries of one job, by item name.
pub trait Ledger {
    /// The entry for `item` as JSON text, if any.
    fn get_raw(&self, item: &str) -> Result<Option<String>, LedgerError>;

    /// Records `entry` (JSON text) for `item`; durable when it returns.
    fn put_raw(&self, item: &str, entry: &str) -> Result<(), LedgerError>;

    /// The entry for `item`, decoded. An entry that does not decode (written
    /// by another version of the tool) reads as `Err(Refused)`.
    fn get<T: DeserializeOwned>(&self, item: &str) -> Result<Option<T>, LedgerError> {
        self.get_raw(item)?
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| LedgerError::Refused(format!("an entry could not be read: {e}")))
            })
            .transpose()
    }

    /// Records `entry` for `item`.
    fn put<T: Serialize>(&self, item: &str, entry: &T) -> Result<(), LedgerError> {
        let text = serde_json::to_string(entry)
            .map_err(|e| LedgerError::Refused(format!("an entry could not be encoded: {e}")))?;
        self.put_raw(item, &text)
    }
}

/// The host's `ledger` import.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostLedger;

impl Ledger for HostLedger {
    fn get_raw(&self, item: &str) -> Result<Option<String>, LedgerError> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::openphone::mcp::ledger::get(item);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = item;
            Err(LedgerError::Unavailable(
                "no host outside the sandbox".into(),
            ))
        }
    }

    fn put_raw(&self, item: &str, entry: &str) -> Result<(), LedgerError> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::openphone::mcp::ledger::put(item, entry);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = (item, entry);
            Err(LedgerError::Unavailable(
                "no host outside the sandbox".into(),
            ))
        }
    }
}

/// Wording of a [`LedgerError`] for a caller.
pub fn describe(error: &LedgerError) -> String {
    match error {
        LedgerError::NoKey => "the call has no idempotencyKey".into(),
        LedgerError::Refused(m) => format!("the record was refused: {m}"),
        LedgerError::Unavailable(m) => format!("the record could not be kept: {m}"),
    }
}
