//! Secrets as newtypes.
//!
//! Every value that grants something — the user's OpenPhone key, access and
//! refresh tokens, authorization codes, the CSRF nonce and the signing key —
//! is wrapped so that `Debug` (and therefore any `{:?}` in a log line or a
//! panic message) prints `[redacted]`. The clear text is reachable only
//! through [`expose`](ApiKey::expose), which makes every use greppable.

use std::fmt;

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The clear text. Only for hashing, sealing or handing the value
            /// to the one party that must receive it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_string!(
    /// A user's OpenPhone API key, held only between the consent form and
    /// `vault.seal`.
    ApiKey
);
secret_string!(
    /// An opaque access token (`opa_…`); the store knows only its keyed hash.
    AccessToken
);
secret_string!(
    /// An opaque refresh token (`opr_…`); the store knows only its keyed hash.
    RefreshToken
);
secret_string!(
    /// An authorization code (`opc_…`); the store knows only its keyed hash.
    AuthCode
);
secret_string!(
    /// The random value in the consent page's CSRF cookie.
    CsrfNonce
);

/// A 32-byte key (the `signing_key` setting or a key derived from it).
#[derive(Clone)]
pub struct KeyBytes([u8; 32]);

impl KeyBytes {
    /// Wraps raw key material.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for a MAC or cipher.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?}",
            ApiKey::new("sk-live-123456"),
            AccessToken::new("opa_abcdef"),
            RefreshToken::new("opr_abcdef"),
            AuthCode::new("opc_abcdef"),
            CsrfNonce::new("nonce-value"),
            KeyBytes::new([7; 32]),
        );
        for secret in ["sk-live", "opa_", "opr_", "opc_", "nonce-value", "7, 7"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(shown.matches("[redacted]").count(), 6);
    }

    #[test]
    fn expose_returns_the_value() {
        assert_eq!(ApiKey::new("k").expose(), "k");
        assert_eq!(KeyBytes::new([1; 32]).expose(), &[1; 32]);
    }
}
