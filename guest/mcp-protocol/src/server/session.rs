//! Per-client lifecycle state, owned and persisted by the host.

use serde::{Deserialize, Serialize};

use crate::version;

/// Who the client said it is in `initialize` (`clientInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// The lifecycle state of one MCP session.
///
/// `Default` is a fresh session that has not seen `initialize`. The host
/// stores it between HTTP requests (it is `Serialize`/`Deserialize`; unknown
/// or missing fields fall back to defaults so stored sessions survive
/// upgrades) and hands it to [`Server::handle`](super::Server::handle), which
/// is the only thing that changes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Session {
    protocol_version: Option<String>,
    initialized: bool,
    client_info: Option<ClientInfo>,
}

impl Session {
    /// A session that already completed the handshake at `protocol_version`,
    /// for hosts that do not keep sessions (stateless Streamable HTTP) and
    /// take the version from the `MCP-Protocol-Version` header instead.
    /// `None` when the version is not one we support.
    pub fn resumed(protocol_version: &str) -> Option<Self> {
        version::supported(protocol_version).map(|v| Self {
            protocol_version: Some(v.to_owned()),
            initialized: true,
            client_info: None,
        })
    }

    /// A session negotiated earlier at `protocol_version` by `client`, as a
    /// host that keeps sessions in their ids (sealed) restores it. `None`
    /// when the version is not one we support.
    pub fn restored(protocol_version: &str, client: Option<ClientInfo>) -> Option<Self> {
        let mut session = Self::resumed(protocol_version)?;
        session.client_info = client;
        Some(session)
    }

    /// The version agreed in `initialize`; `None` before it.
    pub fn protocol_version(&self) -> Option<&str> {
        self.protocol_version.as_deref()
    }

    /// Whether `initialize` was answered (requests other than `ping` are
    /// served from then on).
    pub fn is_negotiated(&self) -> bool {
        self.protocol_version.is_some()
    }

    /// Whether the client also sent `notifications/initialized`.
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// The client's `clientInfo`, once `initialize` was answered.
    pub fn client_info(&self) -> Option<&ClientInfo> {
        self.client_info.as_ref()
    }

    pub(super) fn record_initialize(&mut self, protocol_version: &str, client: ClientInfo) {
        self.protocol_version = Some(protocol_version.to_owned());
        self.client_info = Some(client);
    }

    pub(super) fn mark_initialized(&mut self) {
        if self.is_negotiated() {
            self.initialized = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_and_lenient_defaults() {
        let mut s = Session::default();
        s.record_initialize(
            "2025-06-18",
            ClientInfo {
                name: "c".into(),
                version: "1".into(),
                title: None,
            },
        );
        s.mark_initialized();
        let json = serde_json::to_value(&s).expect("session serializes");
        assert_eq!(json["protocolVersion"], "2025-06-18");
        assert_eq!(json["initialized"], true);
        assert_eq!(json["clientInfo"]["name"], "c");
        let back: Session = serde_json::from_value(json).expect("session deserializes");
        assert_eq!(back, s);
        let empty: Session = serde_json::from_str("{}").expect("empty object is a fresh session");
        assert_eq!(empty, Session::default());
    }

    #[test]
    fn initialized_requires_negotiation() {
        let mut s = Session::default();
        s.mark_initialized();
        assert!(!s.is_initialized());
    }

    #[test]
    fn resumed_sessions() {
        let s = Session::resumed("2025-03-26").expect("supported version");
        assert!(s.is_negotiated() && s.is_initialized());
        assert_eq!(s.protocol_version(), Some("2025-03-26"));
        assert!(Session::resumed("2024-11-05").is_none());
    }
}
