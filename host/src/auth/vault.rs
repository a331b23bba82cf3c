//! Users' OpenPhone keys, sealed at rest.
//!
//! Each key is sealed with XChaCha20-Poly1305 under the vault key derived
//! from the deployment secret, with a random 192-bit nonce and the grant id
//! as associated data (a sealed key moved to another grant does not open).
//! The auth component can check, seal and delete keys through its `vault`
//! import; only the host opens them, to attach to a grant's API requests.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

use crate::auth::deployment_secret::DerivedKey;
use crate::redact::Redactor;
use crate::sandbox::upstream::Upstream;
use crate::sandbox::wit::{ApiRequest, Method};
use crate::secret::ApiKey;
use crate::state::store::{Store, Table};

const NONCE_BYTES: usize = 24;

/// Why a vault operation failed. Never contains a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("OpenPhone refused the key: {0}")]
    KeyRejected(String),
    #[error("OpenPhone could not be reached to check the key: {0}")]
    Unavailable(String),
    #[error("the key store failed: {0}")]
    Store(String),
}

/// The sealed keys.
pub struct Vault {
    store: Arc<Store>,
    cipher: XChaCha20Poly1305,
    upstream: Arc<Upstream>,
    redactor: Arc<Redactor>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").finish_non_exhaustive()
    }
}

impl Vault {
    pub fn new(
        store: Arc<Store>,
        key: &DerivedKey,
        upstream: Arc<Upstream>,
        redactor: Arc<Redactor>,
    ) -> Self {
        Vault {
            store,
            cipher: XChaCha20Poly1305::new(key.expose().into()),
            upstream,
            redactor,
        }
    }

    /// Checks `candidate` with one read as that key (`GET /v1/phone-numbers`).
    /// A candidate is registered with the redactor only once OpenPhone
    /// accepted it: what a client typed never steers the logs.
    pub async fn check(&self, candidate: &ApiKey) -> Result<(), VaultError> {
        let request = ApiRequest {
            method: Method::Get,
            path: "/phone-numbers".into(),
            query: Vec::new(),
            body: None,
        };
        match self.upstream.send(candidate, &request).await {
            Ok(response) if (200..300).contains(&response.status) => {
                self.redactor.register(candidate.expose());
                Ok(())
            }
            Ok(response) if matches!(response.status, 401 | 403) => Err(VaultError::KeyRejected(
                format!("OpenPhone answered {}", response.status),
            )),
            Ok(response) => Err(VaultError::Unavailable(format!(
                "OpenPhone answered {}",
                response.status
            ))),
            Err(error) => Err(VaultError::Unavailable(format!("{error:?}"))),
        }
    }

    /// Seals `key` for `grant`, replacing any earlier key.
    pub fn seal(&self, grant: &str, key: &ApiKey) -> Result<(), VaultError> {
        self.redactor.register(key.expose());
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key.expose().as_bytes(),
                    aad: grant.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Store("sealing failed".into()))?;
        let mut value = nonce.to_vec();
        value.extend_from_slice(&sealed);
        self.store
            .put(Table::Vault, grant, &value, 0)
            .map_err(|e| VaultError::Store(format!("{e:#}")))
    }

    /// Opens the key of `grant`; `None` when it has none (deleted, revoked).
    /// Host-only: no import reaches this.
    pub fn open(&self, grant: &str) -> Result<Option<ApiKey>, VaultError> {
        let Some(value) = self
            .store
            .get(Table::Vault, grant)
            .map_err(|e| VaultError::Store(format!("{e:#}")))?
        else {
            return Ok(None);
        };
        let (nonce, sealed) = value
            .split_at_checked(NONCE_BYTES)
            .ok_or_else(|| VaultError::Store("a sealed key is truncated".into()))?;
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: grant.as_bytes(),
                },
            )
            .map_err(|_| {
                VaultError::Store("a sealed key does not open with this deployment secret".into())
            })?;
        let text = String::from_utf8(plain)
            .map_err(|_| VaultError::Store("a sealed key is not text".into()))?;
        let key =
            ApiKey::new(text).map_err(|_| VaultError::Store("a sealed key is malformed".into()))?;
        self.redactor.register(key.expose());
        Ok(Some(key))
    }

    /// Forgets the key of `grant`.
    pub fn delete(&self, grant: &str) -> Result<(), VaultError> {
        self.store
            .remove(Table::Vault, grant)
            .map(|_| ())
            .map_err(|e| VaultError::Store(format!("{e:#}")))
    }
}

/// Whether `sealed` (a vault entry of `grant`) opens under `key`.
pub(crate) fn opens(sealed: &[u8], grant: &str, key: &DerivedKey) -> bool {
    let Some((nonce, sealed)) = sealed.split_at_checked(NONCE_BYTES) else {
        return false;
    };
    XChaCha20Poly1305::new(key.expose().into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: grant.as_bytes(),
            },
        )
        .is_ok()
}

/// Seals `plain` for `grant` under `key` straight into the store, as a
/// vault of that key would.
#[cfg(test)]
pub(crate) fn seal_raw(store: &Store, grant: &str, plain: &[u8], key: &DerivedKey) {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = XChaCha20Poly1305::new(key.expose().into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: grant.as_bytes(),
            },
        )
        .unwrap();
    let mut value = nonce.to_vec();
    value.extend_from_slice(&sealed);
    store.put(Table::Vault, grant, &value, 0).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::deployment_secret::{DeploymentSecret, Purpose};
    use crate::sandbox::upstream::UpstreamConfig;
    use futures::StreamExt as _;

    fn vault(store: Arc<Store>, secret: &str) -> Vault {
        let secret = DeploymentSecret::from_text(secret).unwrap();
        let upstream = Upstream::new(UpstreamConfig::default(), Arc::new(Redactor::new())).unwrap();
        Vault::new(
            store,
            &secret.derive(Purpose::Vault),
            Arc::new(upstream),
            Arc::new(Redactor::new()),
        )
    }

    #[test]
    fn seals_opens_and_deletes_without_storing_the_key_in_clear() {
        let store = Arc::new(Store::in_memory().unwrap());
        let v = vault(Arc::clone(&store), &"a".repeat(32));
        let key = ApiKey::new("live-key-0123456789abcdef").unwrap();
        v.seal("g1", &key).unwrap();
        let raw = store.get(Table::Vault, "g1").unwrap().unwrap();
        assert!(!raw.windows(8).any(|w| w == b"live-key"), "stored in clear");
        assert_eq!(v.open("g1").unwrap(), Some(key.clone()));
        // Two seals of one key differ (random nonce).
        v.seal("g2", &key).unwrap();
        assert_ne!(raw, store.get(Table::Vault, "g2").unwrap().unwrap());
        v.delete("g1").unwrap();
        assert_eq!(v.open("g1").unwrap(), None);
        v.delete("g1").unwrap();
    }

    #[test]
    fn a_sealed_key_opens_only_for_its_grant_and_secret() {
        let store = Arc::new(Store::in_memory().unwrap());
        let v = vault(Arc::clone(&store), &"a".repeat(32));
        v.seal("g1", &ApiKey::new("live-key-0123456789abcdef").unwrap())
            .unwrap();
        let moved = store.get(Table::Vault, "g1").unwrap().unwrap();
        store.put(Table::Vault, "g2", &moved, 0).unwrap();
        assert!(matches!(v.open("g2"), Err(VaultError::Store(_))));
        let other = vault(Arc::clone(&store), &"b".repeat(32));
        assert!(matches!(other.open("g1"), Err(VaultError::Store(_))));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn rejected_candidates_never_reach_the_redactor() {
        let sim = openphone_sim::Simulator::start().await.unwrap();
        let redactor = Arc::new(Redactor::new());
        let upstream = Upstream::new(
            UpstreamConfig {
                base_url: url::Url::parse(&sim.base_url()).unwrap(),
                ..UpstreamConfig::default()
            },
            Arc::clone(&redactor),
        )
        .unwrap();
        let secret = DeploymentSecret::from_text(&"a".repeat(32)).unwrap();
        let vault = Arc::new(Vault::new(
            Arc::new(Store::in_memory().unwrap()),
            &secret.derive(Purpose::Vault),
            Arc::new(upstream),
            Arc::clone(&redactor),
        ));
        let checks = (0..10_000).map(|n| {
            let vault = Arc::clone(&vault);
            async move {
                let candidate = ApiKey::new(format!("wrong-key-{n:08}")).unwrap();
                vault.check(&candidate).await
            }
        });
        let results: Vec<_> = futures::stream::iter(checks)
            .buffer_unordered(64)
            .collect()
            .await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(VaultError::KeyRejected(_))))
        );
        assert_eq!(redactor.len(), 0, "no rejected candidate is registered");
        let good = ApiKey::new(openphone_sim::BUSINESS_KEY).unwrap();
        vault.check(&good).await.unwrap();
        assert_eq!(redactor.len(), 1);
    }
}
