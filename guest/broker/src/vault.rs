//! Users' OpenPhone keys, sealed for their grants (OAuth mode).
//!
//! As natively: XChaCha20-Poly1305 under a key derived with HKDF-SHA256 from
//! the deployment secret and the vault's purpose label, a random 192-bit
//! nonce per seal, the grant id as associated data (a sealed key moved to
//! another grant does not open). The stored value is `nonce ‖ ciphertext`,
//! under `vault/<grant>` in the host's store, outside the prefix the auth
//! component's bucket view reaches: the auth component can replace or
//! delete a key through the `vault` interface, never read one.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// Bytes of a nonce.
pub const NONCE_BYTES: usize = 24;

/// HKDF labels, one per use of the deployment secret (as natively).
const VAULT_LABEL: &[u8] = b"openphone-mcp vault v1";
const AUTH_SIGNING_LABEL: &[u8] = b"openphone-mcp auth signing v1";

/// Why a stored value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsealable {
    #[error("a sealed key is truncated")]
    Truncated,
    #[error("a sealed key does not open with this deployment secret")]
    WrongSecret,
    #[error("a sealed key is not text")]
    NotText,
}

/// Where the key of `grant` is stored.
pub fn entry_key(grant: &str) -> String {
    format!("vault/{grant}")
}

/// 32 bytes derived from `secret` for one purpose.
fn derive(secret: &str, label: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit: cannot fail.
    let _ = Hkdf::<Sha256>::new(None, secret.as_bytes()).expand(label, &mut key);
    key
}

/// The auth component's signing key (`signing_key`, 64 hex digits): derived
/// for that use only, so it opens no vault entry and seals no session.
pub fn auth_signing_key(secret: &str) -> String {
    hex::encode(derive(secret, AUTH_SIGNING_LABEL))
}

/// The vault's AEAD. `Debug` prints `[redacted]`.
pub struct VaultKey(XChaCha20Poly1305);

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey([redacted])")
    }
}

impl VaultKey {
    /// The vault key of the deployment with `secret`.
    pub fn derive(secret: &str) -> Self {
        Self(XChaCha20Poly1305::new(&derive(secret, VAULT_LABEL).into()))
    }

    /// `key` sealed for `grant` under `nonce` (fresh random bytes per seal).
    pub fn seal(&self, grant: &str, key: &str, nonce: [u8; NONCE_BYTES]) -> Vec<u8> {
        let payload = Payload {
            msg: key.as_bytes(),
            aad: grant.as_bytes(),
        };
        // Encryption into a Vec fails only past the cipher's length limit
        // (256 GiB): keys are at most 512 bytes.
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut value = nonce.to_vec();
        value.extend_from_slice(&sealed);
        value
    }

    /// The key sealed for `grant` in `value`.
    pub fn open(&self, grant: &str, value: &[u8]) -> Result<String, Unsealable> {
        let (nonce, sealed) = value
            .split_at_checked(NONCE_BYTES)
            .ok_or(Unsealable::Truncated)?;
        let plain = self
            .0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: grant.as_bytes(),
                },
            )
            .map_err(|_| Unsealable::WrongSecret)?;
        String::from_utf8(plain).map_err(|_| Unsealable::NotText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-deployment-secret-of-32-characters!";

    #[test]
    fn a_key_opens_only_for_its_grant_under_its_secret() {
        let vault = VaultKey::derive(SECRET);
        let sealed = vault.seal("g1", "live-key-123", [7; NONCE_BYTES]);
        assert!(!String::from_utf8_lossy(&sealed).contains("live-key"));
        assert_eq!(vault.open("g1", &sealed).as_deref(), Ok("live-key-123"));
        assert_eq!(vault.open("g2", &sealed), Err(Unsealable::WrongSecret));
        let other = VaultKey::derive("another-deployment-secret-of-32-chars");
        assert_eq!(other.open("g1", &sealed), Err(Unsealable::WrongSecret));
        assert_eq!(vault.open("g1", &sealed[..10]), Err(Unsealable::Truncated));
        let mut tampered = sealed.clone();
        *tampered.last_mut().expect("not empty") ^= 1;
        assert_eq!(vault.open("g1", &tampered), Err(Unsealable::WrongSecret));
        // Another nonce, another ciphertext.
        assert_ne!(sealed, vault.seal("g1", "live-key-123", [8; NONCE_BYTES]));
        assert_eq!(format!("{vault:?}"), "VaultKey([redacted])");
        assert_eq!(entry_key("g1"), "vault/g1");
    }

    #[test]
    fn the_signing_key_is_derived_for_its_use_only() {
        let signing = auth_signing_key(SECRET);
        assert_eq!(signing.len(), 64);
        assert!(signing.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(signing, auth_signing_key(SECRET));
        assert_ne!(
            signing,
            auth_signing_key("another-deployment-secret-of-32-chars")
        );
        assert_ne!(signing, hex::encode(derive(SECRET, VAULT_LABEL)));
        assert!(!signing.contains(&hex::encode(SECRET)));
    }
}
