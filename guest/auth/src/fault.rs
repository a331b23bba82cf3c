//! Server-side failures: what makes a request fail through no fault of the
//! caller. They become `500` pages / `server_error` JSON, and `unavailable`
//! for `verify`. Their messages name keys and ids, never a secret.

use crate::kv::StoreError;
use crate::random::RandomError;
use crate::settings::SettingsError;
use crate::vault::VaultError;

/// A failure of the server, not of the request.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A stored record does not decode: fail closed rather than guess.
    #[error("the stored record {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// A compare-and-swap kept losing to concurrent writers.
    #[error("the record {0} kept changing under concurrent updates")]
    Contention(String),
    /// The vault failed where the request cannot go on without it.
    #[error(transparent)]
    Vault(#[from] VaultError),
}
