//! What a sealed session id carries: the negotiated protocol version, the
//! client's name and version (for logs and tool profiles), when it was
//! issued, and in OAuth mode a fingerprint of the grant that opened it (a
//! session is its creator's alone, as natively: another grant presenting
//! the id is told it does not exist). Kept small so the id stays within the
//! 256 bytes a session id may have; the broker authenticates it.

use openphone_mcp_protocol::{ClientInfo, Session};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Backend;

/// How long a session lives; past it the client is told to `initialize`
/// again (404, as for any unknown session).
pub const SESSION_LIFETIME_SECS: u64 = 24 * 60 * 60;

/// Longest client name or version kept in an id.
const MAX_CLIENT_FIELD: usize = 48;

#[derive(Debug, Serialize, Deserialize)]
struct SealedState {
    /// Protocol version.
    v: String,
    /// Client name and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<(String, String)>,
    /// Issued at, Unix seconds.
    t: u64,
    /// The grant's fingerprint (OAuth mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    g: Option<String>,
}

/// 96 bits of SHA-256 of the grant id: enough to tell one deployment's
/// grants apart, and the id itself never travels in a header.
fn fingerprint(grant: &str) -> String {
    Sha256::digest(grant.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new id for a session that has just negotiated, opened by `grant`.
pub fn seal(
    backend: &dyn Backend,
    session: &Session,
    grant: Option<&str>,
) -> Result<String, String> {
    let version = session
        .protocol_version()
        .ok_or("the session has not negotiated a version")?;
    let state = SealedState {
        v: version.to_owned(),
        c: session
            .client_info()
            .map(|c| (clip(&c.name), clip(&c.version))),
        t: backend.now(),
        g: grant.map(fingerprint),
    };
    let json = serde_json::to_string(&state).map_err(|e| e.to_string())?;
    backend.seal(&json)
}

/// The session sealed into `id`; `None` when it is not this deployment's,
/// was opened by another grant, has expired or names a version no longer
/// supported.
pub fn open(backend: &dyn Backend, id: &str, grant: Option<&str>) -> Option<Session> {
    let state: SealedState = serde_json::from_str(&backend.open(id)?).ok()?;
    if state.g != grant.map(fingerprint) {
        return None;
    }
    let age = backend.now().checked_sub(state.t)?;
    if age > SESSION_LIFETIME_SECS {
        return None;
    }
    let client = state.c.map(|(name, version)| ClientInfo {
        name,
        version,
        title: None,
    });
    Session::restored(&state.v, client)
}

fn clip(text: &str) -> String {
    let mut end = text.len().min(MAX_CLIENT_FIELD);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
