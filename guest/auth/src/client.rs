//! OAuth clients: the stored record of each, and finding the client a
//! request names — a dynamically registered id, or an HTTPS URL naming a
//! Client ID Metadata Document.

use serde::{Deserialize, Serialize};

use crate::fault::Fault;
use crate::metadata::{self, DocumentError};
use crate::records::{self, Record};
use crate::redirect::RedirectUri;
use crate::server::Server;

/// How a client came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// Registered through `POST /register` (RFC 7591).
    Dynamic,
    /// Its `client_id` is the URL of its metadata document.
    MetadataDocument,
}

impl ClientKind {
    /// The name `admin` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Dynamic => "dynamic",
            ClientKind::MetadataDocument => "metadata-document",
        }
    }
}

/// How long a client that never obtained a grant is kept.
pub const UNCLAIMED_CLIENT_SECS: u64 = 86_400;

/// A client, as stored under `client/…`. One that never obtained a grant
/// expires [`UNCLAIMED_CLIENT_SECS`] after it was registered (so anonymous
/// registrations cannot fill the store); one that did never expires. A
/// revoked client stays revoked, including a metadata-document client whose
/// document is fetched again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub client_id: String,
    pub kind: ClientKind,
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub created_at: u64,
    pub revoked: bool,
    /// Whether a user ever consented to it. Records written before this
    /// field existed count as granted: they are never expired by surprise.
    #[serde(default = "granted_by_default")]
    pub granted: bool,
}

fn granted_by_default() -> bool {
    true
}

impl Record for ClientRecord {
    fn expires_at(&self) -> Option<u64> {
        (!self.granted && !self.revoked).then(|| self.created_at + UNCLAIMED_CLIENT_SECS)
    }
}

impl ClientRecord {
    /// The registered redirect URI that allows `presented`, if any.
    pub fn allowed_redirect(&self, presented: &RedirectUri) -> bool {
        self.redirect_uris
            .iter()
            .filter_map(|raw| RedirectUri::parse(raw).ok())
            .any(|registered| registered.allows(presented))
    }

    /// Whether the client may use refresh tokens.
    pub fn uses_refresh_tokens(&self) -> bool {
        self.grant_types.iter().any(|g| g == "refresh_token")
    }
}

/// Why the client of an authorization request cannot be used. Shown on an
/// error page, never as a redirect.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("This application is not registered with this server.")]
    Unknown,
    #[error("Access for this application has been revoked by the server's operator.")]
    Revoked,
    #[error("The application's metadata document could not be used: {0}")]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// Longest `client_id` accepted.
pub const MAX_CLIENT_ID: usize = 2000;

impl Server<'_> {
    /// The stored record of `client_id` (no fetching): what `/token`,
    /// `/revoke` and `verify` use.
    pub(crate) fn stored_client(&self, client_id: &str) -> Result<Option<ClientRecord>, Fault> {
        if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
            return Ok(None);
        }
        let key = records::client_key(client_id);
        let now = self.env.clock.now();
        Ok(
            records::read_live::<ClientRecord>(self.env.store, &key, now)?
                .map(|s| s.value)
                .filter(|c| c.client_id == client_id),
        )
    }

    /// The client an authorization request names: a registered one, or the
    /// one described by the metadata document at `client_id` (fetched, or
    /// from the one-hour cache).
    pub(crate) fn resolve_client(&self, client_id: &str) -> Result<ClientRecord, ClientError> {
        if client_id.len() > MAX_CLIENT_ID {
            return Err(ClientError::Unknown);
        }
        if metadata::looks_like_document_url(client_id) {
            let client = self.document_client(client_id)?;
            return if client.revoked {
                Err(ClientError::Revoked)
            } else {
                Ok(client)
            };
        }
        match self.stored_client(client_id)? {
            Some(c) if c.kind == ClientKind::Dynamic && !c.revoked => Ok(c),
            Some(c) if c.revoked => Err(ClientError::Revoked),
            _ => Err(ClientError::Unknown),
        }
    }
}
