//! Secrets as types: an [`ApiKey`] cannot be printed, compared in variable
//! time, or read without saying so.

use std::fmt;

use subtle::ConstantTimeEq;

/// An OpenPhone API key.
///
/// `Debug` and `Display` print `[redacted]`; equality is constant-time; the
/// raw value is reached only through [`ApiKey::expose`], which the upstream
/// client calls to set the `Authorization` header.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps `key`, refusing values that cannot be a header value or are
    /// obviously not a key (empty, whitespace, control characters).
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidKey> {
        let key = key.into();
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(InvalidKey::Empty);
        }
        // The key is the whole credential of an `Authorization` header, so
        // it is a token68 (RFC 7235), the rule every host applies.
        if !openphone_mcp_protocol::catalog::is_api_key_shaped(trimmed) {
            return Err(InvalidKey::Malformed);
        }
        if trimmed.len() != key.len() {
            return Ok(ApiKey(trimmed.to_owned()));
        }
        Ok(ApiKey(key))
    }

    /// The raw key. Call sites are few and reviewed: the upstream client and
    /// the log redactor's registry.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A stable, non-reversible identifier for budgets and logs.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.0.as_bytes());
        hex::encode(&digest[..6])
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for ApiKey {}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a string is not accepted as an API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKey {
    #[error("the API key is empty")]
    Empty,
    #[error(
        "the API key has characters an OpenPhone key never has (only letters, digits and -._~+/= are) or is too long"
    )]
    Malformed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let key = ApiKey::new("sk-live-abcdef").unwrap();
        assert!(!format!("{key:?}").contains("abcdef"));
        assert!(!format!("{key}").contains("abcdef"));
        assert_eq!(key.expose(), "sk-live-abcdef");
        assert_eq!(key.fingerprint().len(), 12);
    }

    #[test]
    fn compares_and_validates() {
        assert_eq!(ApiKey::new(" k1 \n").unwrap(), ApiKey::new("k1").unwrap());
        assert_ne!(ApiKey::new("k1").unwrap(), ApiKey::new("k2").unwrap());
        assert_eq!(ApiKey::new("  "), Err(InvalidKey::Empty));
        assert_eq!(ApiKey::new("a b"), Err(InvalidKey::Malformed));
        assert_eq!(ApiKey::new(r#""level":"#), Err(InvalidKey::Malformed));
        assert_eq!(ApiKey::new("a\u{7}"), Err(InvalidKey::Malformed));
    }
}
