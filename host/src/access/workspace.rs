//! Naming the OpenPhone workspace a call acts for, without its key.
//!
//! At-most-once records (idempotency outcomes, retried JSON-RPC requests,
//! bulk-send ledgers) belong to the workspace whose key sends the texts, not
//! to the grant that carried the call: the same user re-authorizing (a new
//! grant for the same key) must find them. The name is an HMAC-SHA256 of the
//! API key under a key derived from the deployment secret, so the store
//! holds nothing that confirms a guessed key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::deployment_secret::DerivedKey;
use crate::secret::ApiKey;

/// Computes workspace names.
pub(crate) struct WorkspaceNames {
    mac_key: [u8; 32],
}

impl std::fmt::Debug for WorkspaceNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkspaceNames([redacted])")
    }
}

impl WorkspaceNames {
    /// Names keyed by a key derived from the deployment secret.
    pub(crate) fn keyed(key: &DerivedKey) -> Self {
        WorkspaceNames {
            mac_key: *key.expose(),
        }
    }

    /// Names for one local user (`--single-user`, `stdio`): there is no
    /// deployment secret, and the store holds no one else's records.
    pub(crate) fn local() -> Self {
        WorkspaceNames {
            mac_key: *b"openphone-mcp local workspace v1",
        }
    }

    /// The workspace `key` acts for: `ws-` and 32 hex digits.
    pub(crate) fn name(&self, key: &ApiKey) -> String {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
        mac.update(key.expose().as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("ws-{}", hex::encode(&digest[..16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::deployment_secret::{DeploymentSecret, Purpose};

    #[test]
    fn one_key_one_name_under_one_secret() {
        let secret = DeploymentSecret::from_text(&"a".repeat(32)).unwrap();
        let names = WorkspaceNames::keyed(&secret.derive(Purpose::Workspace));
        let key = ApiKey::new("live-key-0123456789abcdef").unwrap();
        let name = names.name(&key);
        assert_eq!(name, names.name(&key.clone()));
        assert!(name.starts_with("ws-") && name.len() == 35, "{name}");
        assert!(!name.contains("live-key"));
        let other = ApiKey::new("live-key-0123456789abcdeg").unwrap();
        assert_ne!(name, names.name(&other));
        // Another deployment names the same key differently.
        let elsewhere = DeploymentSecret::from_text(&"b".repeat(32)).unwrap();
        let elsewhere = WorkspaceNames::keyed(&elsewhere.derive(Purpose::Workspace));
        assert_ne!(name, elsewhere.name(&key));
        assert_ne!(name, WorkspaceNames::local().name(&key));
    }
}
