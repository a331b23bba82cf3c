//! The cryptographic building blocks, each in one place: SHA-256, keyed
//! HMAC-SHA-256, constant-time comparison, PKCE S256, purpose-bound key
//! derivation from `signing_key`, and the AEAD that seals consent
//! transactions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::random::{self, Random, RandomError};
use crate::secret::KeyBytes;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// HMAC-SHA-256 under `key` of the concatenation of `parts`, each prefixed
/// with its length so that no two different part lists collide.
pub fn hmac(key: &KeyBytes, parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length: 32 bytes cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Equality that takes the same time wherever the inputs differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Unpadded base64url.
pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes unpadded base64url.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Whether `verifier` is a well-formed RFC 7636 code verifier: 43 to 128
/// characters of `[A-Za-z0-9-._~]`.
pub fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `challenge` looks like an S256 code challenge: the unpadded
/// base64url of 32 bytes (43 characters).
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        && unb64(challenge).is_some_and(|raw| raw.len() == 32)
}

/// PKCE S256: `BASE64URL(SHA256(verifier)) == challenge`, compared in
/// constant time.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    ct_eq(
        b64(&sha256(verifier.as_bytes())).as_bytes(),
        challenge.as_bytes(),
    )
}

/// The keys this component derives from `signing_key`, one per purpose, so
/// that a value made for one purpose (a CSRF token, say) is never valid for
/// another (a token hash).
#[derive(Debug, Clone)]
pub struct Keys {
    /// Seals consent transactions (ChaCha20-Poly1305).
    pub transaction: KeyBytes,
    /// MACs the consent form's CSRF token.
    pub csrf: KeyBytes,
    /// Hashes tokens and codes into store keys.
    pub token_hash: KeyBytes,
}

impl Keys {
    /// Derives every purpose key: `HMAC(signing_key, "openphone-mcp/auth/v1/" ‖ purpose)`
    /// (HKDF-Expand with a single block and no salt, which a uniformly random
    /// 32-byte input key does not need).
    pub fn derive(signing_key: &KeyBytes) -> Self {
        let derive = |purpose: &str| {
            KeyBytes::new(hmac(
                signing_key,
                &[b"openphone-mcp/auth/v1/", purpose.as_bytes()],
            ))
        };
        Keys {
            transaction: derive("consent-transaction"),
            csrf: derive("csrf"),
            token_hash: derive("token-hash"),
        }
    }

    /// The store-key hash of a token or code (hex).
    pub fn token_hash(&self, secret: &str) -> String {
        hex::encode(hmac(&self.token_hash, &[secret.as_bytes()]))
    }
}

/// Length of a ChaCha20-Poly1305 nonce.
const NONCE_LEN: usize = 12;

/// Encrypts and authenticates `plaintext` (bound to `context`) under `key`
/// with a fresh random nonce: `base64url(nonce ‖ ciphertext ‖ tag)`.
pub fn seal(
    key: &KeyBytes,
    random: &dyn Random,
    context: &[u8],
    plaintext: &[u8],
) -> Result<String, RandomError> {
    let nonce = random::bytes::<NONCE_LEN>(random)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.expose()));
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: context,
            },
        )
        .map_err(|_| RandomError("the AEAD refused the input".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(b64(&out))
}

/// Opens what [`seal`] produced with the same `key` and `context`; `None`
/// for anything forged, altered, truncated or sealed under another key.
pub fn open(key: &KeyBytes, context: &[u8], sealed: &str) -> Option<Vec<u8>> {
    let raw = unb64(sealed)?;
    if raw.len() < NONCE_LEN + 16 {
        return None;
    }
    let (nonce, body) = raw.split_at(NONCE_LEN);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.expose()));
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: context,
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    fn key(byte: u8) -> KeyBytes {
        KeyBytes::new([byte; 32])
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_code_verifier(verifier));
        assert!(is_s256_challenge(challenge));
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches(challenge, challenge));
    }

    #[test]
    fn verifier_and_challenge_shapes() {
        assert!(!is_code_verifier(&"a".repeat(42)));
        assert!(is_code_verifier(&"a".repeat(128)));
        assert!(!is_code_verifier(&"a".repeat(129)));
        assert!(!is_code_verifier(&format!("{}+", "a".repeat(43))));
        assert!(!is_code_verifier(&format!("{} ", "a".repeat(43))));
        assert!(!is_s256_challenge(&"a".repeat(42)));
        assert!(!is_s256_challenge(&format!("{}=", "a".repeat(42))));
        assert!(!is_s256_challenge(&"a".repeat(44)));
    }

    #[test]
    fn sealed_data_opens_only_with_its_key_and_context() {
        let sealed = seal(&key(1), &OsRandom, b"ctx", b"hello").unwrap();
        assert_eq!(open(&key(1), b"ctx", &sealed).unwrap(), b"hello");
        assert!(open(&key(2), b"ctx", &sealed).is_none());
        assert!(open(&key(1), b"other", &sealed).is_none());
        let mut raw = unb64(&sealed).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(open(&key(1), b"ctx", &b64(&raw)).is_none());
        assert!(open(&key(1), b"ctx", "").is_none());
        assert!(open(&key(1), b"ctx", "not base64!").is_none());
        assert_ne!(sealed, seal(&key(1), &OsRandom, b"ctx", b"hello").unwrap());
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_signing_key() {
        let a = Keys::derive(&key(1));
        let b = Keys::derive(&key(2));
        assert_ne!(a.transaction.expose(), a.csrf.expose());
        assert_ne!(a.csrf.expose(), a.token_hash.expose());
        assert_ne!(a.token_hash("t"), b.token_hash("t"));
        assert_eq!(a.token_hash("t"), Keys::derive(&key(1)).token_hash("t"));
        assert_eq!(a.token_hash("t").len(), 64);
    }

    #[test]
    fn hmac_parts_are_length_prefixed() {
        assert_ne!(hmac(&key(1), &[b"ab", b"c"]), hmac(&key(1), &[b"a", b"bc"]));
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
