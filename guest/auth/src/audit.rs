//! Security events for the operator's audit trail, as a trait so tests can
//! read every event. Events carry ids and scopes only: never a token, code,
//! key or `state`.

use crate::scope::Scope;

/// What happened (the WIT `event-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ClientRegistered,
    ConsentApproved,
    ConsentDenied,
    KeyRejected,
    TokenRefreshed,
    RefreshReused,
    CodeReplayed,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: Kind,
    pub client_id: Option<String>,
    pub grant: Option<String>,
    pub scopes: Vec<String>,
}

impl Event {
    /// An event about `client_id`.
    pub fn about(kind: Kind, client_id: &str) -> Self {
        Event {
            kind,
            client_id: Some(client_id.to_owned()),
            grant: None,
            scopes: Vec::new(),
        }
    }

    /// The same, about `grant` too.
    pub fn grant(mut self, grant: &str) -> Self {
        self.grant = Some(grant.to_owned());
        self
    }

    /// The same, with `scopes`.
    pub fn scopes(mut self, scopes: &[Scope]) -> Self {
        self.scopes = scopes.iter().map(|s| s.as_str().to_owned()).collect();
        self
    }
}

/// Where events go.
pub trait Audit {
    /// Appends one event; never fails the request.
    fn append(&self, event: Event);
}
