//! Randomness, as a trait: the sandbox uses the host's CSPRNG
//! (`wasi:random`), tests a deterministic generator so runs are repeatable.
//!
//! Every secret this server mints — tokens, codes, CSRF nonces, AEAD nonces,
//! client and grant ids — comes from [`Random::fill`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The random source failed; nothing secret can be minted.
#[derive(Debug, thiserror::Error)]
#[error("no secure random bytes available: {0}")]
pub struct RandomError(pub String);

/// A source of cryptographically secure random bytes.
pub trait Random {
    /// Fills `buf` entirely.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's generator (`wasi:random/random` in the sandbox).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
    }
}

/// `N` random bytes.
pub fn bytes<const N: usize>(random: &dyn Random) -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    random.fill(&mut buf)?;
    Ok(buf)
}

/// `prefix` followed by `N` random bytes in unpadded base64url: 32 bytes
/// give 256 bits in 43 characters.
pub fn token<const N: usize>(random: &dyn Random, prefix: &str) -> Result<String, RandomError> {
    let raw = bytes::<N>(random)?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits() {
        let t = token::<32>(&OsRandom, "opa_").unwrap();
        assert!(t.starts_with("opa_"));
        assert_eq!(t.len(), 4 + 43);
        assert_ne!(t, token::<32>(&OsRandom, "opa_").unwrap());
    }
}
