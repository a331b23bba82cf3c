//! The host's vault of users' OpenPhone keys, as a trait (see `wit/auth.wit`,
//! `interface vault`). The component hands a key over once and can only
//! check, replace or delete it afterwards; it never reads one back.

use crate::secret::ApiKey;

/// Why a vault operation failed. Messages never contain the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// OpenPhone refused the key.
    #[error("OpenPhone refused the key: {0}")]
    KeyRejected(String),
    /// OpenPhone could not be reached to check the key.
    #[error("OpenPhone could not be reached: {0}")]
    Unavailable(String),
    /// The host's store failed; nothing changed.
    #[error("the vault's store failed: {0}")]
    Store(String),
}

/// Users' keys, kept by the host.
pub trait Vault {
    /// Checks a candidate key with one read request to OpenPhone.
    fn check(&self, candidate: &ApiKey) -> Result<(), VaultError>;
    /// Seals `key` for `grant`, replacing any earlier one.
    fn seal(&self, grant: &str, key: &ApiKey) -> Result<(), VaultError>;
    /// Forgets the key of `grant`; absent is not an error.
    fn delete(&self, grant: &str) -> Result<(), VaultError>;
}
