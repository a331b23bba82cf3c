//! Data keys wrapped under the deployment secret, so that the secret can be
//! rotated without losing a grant.
//!
//! Each purpose (the vault's AEAD key, the auth component's signing key, the
//! workspace-naming key) has a data key kept in the store, sealed with
//! XChaCha20-Poly1305 under a key-wrapping key derived from the deployment
//! secret (envelope encryption). Users' keys, token hashes and workspace
//! names are made with the data keys, never with the secret itself, so a new
//! secret only has to wrap the same data keys again:
//!
//! 1. start with the new secret and the old one as a previous secret: the
//!    data keys open under the old one, and everything keeps working;
//! 2. `openphone-mcp admin reseal` wraps them under the new secret;
//! 3. the old secret can then be dropped.
//!
//! A store made before data keys existed has none: its data keys are then
//! the keys derived from whichever configured secret opens its vault (the
//! current one when the vault is empty), and they are wrapped at once.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

use crate::auth::deployment_secret::{DeploymentSecret, DerivedKey, Purpose};
use crate::state::store::{Store, Table};

const NONCE_BYTES: usize = 24;

/// What a data key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKey {
    /// Seals users' OpenPhone keys (`vault.rs`).
    Vault,
    /// The auth component's `signing_key`.
    AuthSigning,
    /// Names workspaces by their API key (`access/workspace.rs`).
    Workspace,
}

impl DataKey {
    /// The key a store made before data keys existed used.
    fn purpose(self) -> Purpose {
        match self {
            DataKey::Vault => Purpose::Vault,
            DataKey::AuthSigning => Purpose::AuthSigning,
            DataKey::Workspace => Purpose::Workspace,
        }
    }

    /// Its name in the store, bound to its wrapping as associated data.
    fn name(self) -> &'static str {
        match self {
            DataKey::Vault => "vault",
            DataKey::AuthSigning => "auth-signing",
            DataKey::Workspace => "workspace",
        }
    }
}

const PURPOSES: [DataKey; 3] = [DataKey::Vault, DataKey::AuthSigning, DataKey::Workspace];

/// The deployment secret and the previous ones still accepted.
#[derive(Debug)]
pub struct Secrets {
    pub current: DeploymentSecret,
    /// Tried after the current one, in order.
    pub previous: Vec<DeploymentSecret>,
}

impl Secrets {
    fn all(&self) -> impl Iterator<Item = &DeploymentSecret> {
        std::iter::once(&self.current).chain(&self.previous)
    }
}

/// The data keys, opened.
#[derive(Debug)]
pub struct KeyRing {
    vault: DerivedKey,
    auth_signing: DerivedKey,
    workspace: DerivedKey,
}

/// What [`KeyRing::reseal`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resealed {
    /// Data keys that were wrapped under a previous secret and now are under
    /// the current one.
    pub rewrapped: u32,
    /// Data keys already under the current secret.
    pub current: u32,
}

impl KeyRing {
    /// Opens the store's data keys with the current or a previous secret,
    /// creating (and wrapping under the current secret) any that is missing.
    pub fn open(store: &Store, secrets: &Secrets) -> anyhow::Result<KeyRing> {
        // Looked for only when a data key is missing (a new or older store).
        let mut legacy = None;
        let mut keys = Vec::with_capacity(PURPOSES.len());
        for purpose in PURPOSES {
            let key = match store.get(Table::Keys, purpose.name())? {
                Some(wrapped) => unwrap_with_any(&wrapped, purpose, secrets)?.0,
                None => {
                    let legacy = match legacy {
                        Some(secret) => secret,
                        None => *legacy.insert(legacy_secret(store, secrets)?),
                    };
                    let key = legacy.derive(purpose.purpose());
                    let wrapped = wrap(&secrets.current, purpose, &key)?;
                    // Another process may have wrapped it first: use theirs.
                    if !store.put_if_absent(Table::Keys, purpose.name(), &wrapped, 0)? {
                        let theirs = store
                            .get(Table::Keys, purpose.name())?
                            .ok_or_else(|| anyhow::anyhow!("a data key vanished"))?;
                        unwrap_with_any(&theirs, purpose, secrets)?.0
                    } else {
                        key
                    }
                }
            };
            keys.push(key);
        }
        let [vault, auth_signing, workspace] =
            <[DerivedKey; 3]>::try_from(keys).map_err(|_| anyhow::anyhow!("three data keys"))?;
        Ok(KeyRing {
            vault,
            auth_signing,
            workspace,
        })
    }

    /// The data key for `purpose`.
    pub fn key(&self, purpose: DataKey) -> &DerivedKey {
        match purpose {
            DataKey::Vault => &self.vault,
            DataKey::AuthSigning => &self.auth_signing,
            DataKey::Workspace => &self.workspace,
        }
    }

    /// Wraps every data key under the current secret (`admin reseal`); the
    /// previous secrets are needed no more afterwards.
    pub fn reseal(store: &Store, secrets: &Secrets) -> anyhow::Result<Resealed> {
        // Missing keys are created under the current secret.
        KeyRing::open(store, secrets)?;
        let mut report = Resealed {
            rewrapped: 0,
            current: 0,
        };
        for purpose in PURPOSES {
            let wrapped = store
                .get(Table::Keys, purpose.name())?
                .ok_or_else(|| anyhow::anyhow!("the data key for {} is missing", purpose.name()))?;
            let (key, under_current) = unwrap_with_any(&wrapped, purpose, secrets)?;
            if under_current {
                report.current += 1;
                continue;
            }
            let rewrapped = wrap(&secrets.current, purpose, &key)?;
            if !store.compare_and_put(Table::Keys, purpose.name(), &wrapped, &rewrapped, 0)? {
                anyhow::bail!(
                    "the data key for {} changed while it was resealed; run it again",
                    purpose.name()
                );
            }
            report.rewrapped += 1;
        }
        Ok(report)
    }
}

/// The secret a store without data keys was made under: the first that
/// opens a vault entry, or the current one.
fn legacy_secret<'a>(store: &Store, secrets: &'a Secrets) -> anyhow::Result<&'a DeploymentSecret> {
    let Some(grant) = store
        .keys_with_prefix(Table::Vault, "", None, 1)?
        .into_iter()
        .next()
    else {
        return Ok(&secrets.current);
    };
    let Some(sealed) = store.get(Table::Vault, &grant)? else {
        return Ok(&secrets.current);
    };
    Ok(secrets
        .all()
        .find(|secret| crate::auth::vault::opens(&sealed, &grant, &secret.derive(Purpose::Vault)))
        .unwrap_or(&secrets.current))
}

fn wrapping_cipher(secret: &DeploymentSecret) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(secret.derive(Purpose::KeyWrap).expose().into())
}

fn wrap(secret: &DeploymentSecret, purpose: DataKey, key: &DerivedKey) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = wrapping_cipher(secret)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: key.expose(),
                aad: purpose.name().as_bytes(),
            },
        )
        .map_err(|_| anyhow::anyhow!("wrapping a data key failed"))?;
    let mut value = nonce.to_vec();
    value.extend_from_slice(&sealed);
    Ok(value)
}

/// The data key in `wrapped`, and whether the current secret opened it.
fn unwrap_with_any(
    wrapped: &[u8],
    purpose: DataKey,
    secrets: &Secrets,
) -> anyhow::Result<(DerivedKey, bool)> {
    let (nonce, sealed) = wrapped
        .split_at_checked(NONCE_BYTES)
        .ok_or_else(|| anyhow::anyhow!("the data key for {} is truncated", purpose.name()))?;
    for (index, secret) in secrets.all().enumerate() {
        let opened = wrapping_cipher(secret).decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: purpose.name().as_bytes(),
            },
        );
        if let Ok(bytes) = opened {
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("the data key for {} is malformed", purpose.name()))?;
            return Ok((DerivedKey::from_bytes(bytes), index == 0));
        }
    }
    anyhow::bail!(
        "this store's keys are sealed under another deployment secret: start with the secret it was \
         made with, or with the new one plus the old one as --previous-secret-file, then run \
         `openphone-mcp admin reseal`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(fill: char) -> DeploymentSecret {
        DeploymentSecret::from_text(&fill.to_string().repeat(40)).unwrap()
    }

    fn secrets(current: char, previous: &[char]) -> Secrets {
        Secrets {
            current: secret(current),
            previous: previous.iter().copied().map(secret).collect(),
        }
    }

    #[test]
    fn a_store_rotates_from_one_secret_to_another_keeping_its_keys() {
        let store = Store::in_memory().unwrap();
        let made = KeyRing::open(&store, &secrets('a', &[])).unwrap();
        let vault = *made.key(DataKey::Vault).expose();
        // A store made under A, opened with B alone: refused, with the way out.
        let refused = KeyRing::open(&store, &secrets('b', &[])).unwrap_err();
        assert!(
            refused.to_string().contains("--previous-secret-file"),
            "{refused}"
        );
        // B with A as previous: the same keys.
        let both = KeyRing::open(&store, &secrets('b', &['a'])).unwrap();
        assert_eq!(*both.key(DataKey::Vault).expose(), vault);
        // Reseal under B, after which B alone opens them.
        let report = KeyRing::reseal(&store, &secrets('b', &['a'])).unwrap();
        assert_eq!(
            report,
            Resealed {
                rewrapped: 3,
                current: 0
            }
        );
        let after = KeyRing::open(&store, &secrets('b', &[])).unwrap();
        assert_eq!(*after.key(DataKey::Vault).expose(), vault);
        assert_eq!(
            after.key(DataKey::AuthSigning).expose(),
            made.key(DataKey::AuthSigning).expose()
        );
        assert!(
            KeyRing::open(&store, &secrets('a', &[])).is_err(),
            "A alone no longer opens them"
        );
        assert_eq!(
            KeyRing::reseal(&store, &secrets('b', &[])).unwrap(),
            Resealed {
                rewrapped: 0,
                current: 3
            }
        );
    }

    #[test]
    fn data_keys_differ_per_purpose_and_are_never_stored_in_clear() {
        let store = Store::in_memory().unwrap();
        let ring = KeyRing::open(&store, &secrets('a', &[])).unwrap();
        let keys: Vec<[u8; 32]> = PURPOSES.iter().map(|p| *ring.key(*p).expose()).collect();
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
        for (purpose, key) in PURPOSES.iter().zip(&keys) {
            let stored = store.get(Table::Keys, purpose.name()).unwrap().unwrap();
            assert!(!stored.windows(32).any(|w| w == key), "stored in clear");
        }
    }

    #[test]
    fn a_store_from_before_data_keys_keeps_the_keys_its_secret_derived() {
        let store = Store::in_memory().unwrap();
        let old = secret('a');
        // A vault entry sealed the old way, directly under A's derived key.
        crate::auth::vault::seal_raw(
            &store,
            "g1",
            b"live-key-0123456789",
            &old.derive(Purpose::Vault),
        );
        let ring = KeyRing::open(&store, &secrets('b', &['a'])).unwrap();
        assert_eq!(
            ring.key(DataKey::Vault).expose(),
            old.derive(Purpose::Vault).expose()
        );
        assert_eq!(
            ring.key(DataKey::Workspace).expose(),
            old.derive(Purpose::Workspace).expose()
        );
    }
}
