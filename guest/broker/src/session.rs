//! Sealed session ids: the session's state travels in its id, authenticated
//! with HMAC-SHA256 under a key derived from the deployment's secret, so a
//! host without a durable store can still keep MCP sessions.
//!
//! The state is not secret (protocol version, client name), so it is
//! authenticated, not encrypted. An id that fails the check is simply not a
//! session of this deployment.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Largest state `seal` accepts.
pub const MAX_STATE: usize = 4 * 1024;

const PURPOSE: &[u8] = b"openphone-mcp/session-id/v1";

/// Why a state could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a session state is at most 4 KiB")]
pub struct TooLarge;

/// The per-deployment key sessions are sealed with.
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

impl SessionKey {
    /// Derives the key from the deployment's secret (the API key in
    /// single-user mode, the deployment secret in OAuth mode).
    pub fn derive(secret: &str) -> Self {
        let mut mac = mac(secret.as_bytes());
        mac.update(PURPOSE);
        Self(mac.finalize().into_bytes().into())
    }

    /// `base64url(state).base64url(tag)`.
    pub fn seal(&self, state: &str) -> Result<String, TooLarge> {
        if state.len() > MAX_STATE {
            return Err(TooLarge);
        }
        let body = URL_SAFE_NO_PAD.encode(state);
        let mut mac = mac(&self.0);
        mac.update(body.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(format!("{body}.{tag}"))
    }

    /// The state sealed into `id`, if this key sealed it (checked in
    /// constant time).
    pub fn open(&self, id: &str) -> Option<String> {
        if id.len() > MAX_STATE * 2 {
            return None;
        }
        let (body, tag) = id.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = mac(&self.0);
        mac.update(body.as_bytes());
        mac.verify_slice(&tag).ok()?;
        String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

/// A stable, non-secret name of the workspace an API key belongs to (what
/// ledgers and the shared budget are keyed by): HMAC-SHA256 of a fixed
/// label under the key, 128 bits in hex.
pub fn workspace_name(api_key: &str) -> String {
    let mut mac = mac(api_key.as_bytes());
    mac.update(b"openphone-mcp/workspace/v1");
    mac.finalize().into_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_state_opens_only_under_its_key_and_unchanged() {
        let key = SessionKey::derive("deployment-secret-1");
        let id = key
            .seal(r#"{"protocolVersion":"2025-06-18"}"#)
            .expect("small state");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        );
        assert_eq!(
            key.open(&id).as_deref(),
            Some(r#"{"protocolVersion":"2025-06-18"}"#)
        );
        assert_eq!(SessionKey::derive("deployment-secret-2").open(&id), None);
        let (body, tag) = id.split_once('.').expect("two parts");
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(r#"{"protocolVersion":"2025-03-26"}"#)
        );
        assert_eq!(key.open(&forged), None);
        assert_eq!(key.open(body), None);
        assert_eq!(key.open(""), None);
        assert_eq!(key.seal(&"x".repeat(MAX_STATE + 1)), Err(TooLarge));
        assert_eq!(format!("{key:?}"), "SessionKey([redacted])");
        let name = workspace_name("sk-1");
        assert_eq!(name.len(), 32);
        assert_eq!(name, workspace_name("sk-1"));
        assert_ne!(name, workspace_name("sk-2"));
    }
}
