//! Client ID Metadata Documents: a client whose `client_id` is an HTTPS URL
//! publishes its metadata there, and this server fetches it (through the
//! host, which enforces HTTPS, public addresses, 5 KiB and 5 s) instead of
//! asking it to register.
//!
//! The document's `client_id` must equal the URL exactly, and its metadata
//! passes the same rules as a registration. A parsed document is cached for
//! one hour under `cimd/…`; the client's permanent record (`client/…`:
//! first seen, revoked or not) is created on the first successful fetch and
//! refreshed with each later one, never un-revoked.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{ClientKind, ClientRecord};
use crate::fault::Fault;
use crate::records::{self, Record};
use crate::redirect::RedirectUri;
use crate::registration::ClientMetadata;
use crate::server::Server;

/// How long a fetched document is used before it is fetched again.
pub const CACHE_SECS: u64 = 3600;
/// Largest document accepted (the host enforces the same limit).
pub const MAX_DOCUMENT: usize = 5 * 1024;

/// Why a document could not be fetched (see `wit/auth.wit`,
/// `interface client-metadata`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the URL breaks a fetch rule: {0}")]
    Refused(String),
    #[error("the server did not answer with a usable document: {0}")]
    BadAnswer(String),
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
}

/// Fetches Client ID Metadata Documents.
pub trait MetadataFetcher {
    /// The body of the document at `url`.
    fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError>;
}

/// Why a client id URL or its document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error(
        "the client_id is not a valid metadata document URL (https://, a path, no query, fragment or user information)"
    )]
    BadUrl,
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("the document is not a JSON object of at most 5 KiB")]
    NotJson,
    #[error("the document's client_id does not equal the URL it was fetched from")]
    ClientIdMismatch,
    #[error("the document must not contain a client secret")]
    HasSecret,
    #[error("{0}")]
    Metadata(String),
}

/// A fetched and checked document, cached under `cimd/…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedDocument {
    pub client_id: String,
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub fetched_at: u64,
    pub expires_at: u64,
}

impl Record for CachedDocument {
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Whether a `client_id` is meant as a document URL (anything that starts
/// like a URL is treated as one, and then checked strictly).
pub fn looks_like_document_url(client_id: &str) -> bool {
    let lower = client_id.get(..8).unwrap_or(client_id).to_ascii_lowercase();
    lower.starts_with("https:") || lower.starts_with("http:") || client_id.contains("://")
}

/// Checks a document URL: an `https` URL in normal form with a path other
/// than `/`, no query, fragment or user information (the same character
/// rules as redirect URIs).
pub fn check_document_url(url: &str) -> Result<(), DocumentError> {
    let parsed = RedirectUri::parse(url).map_err(|_| DocumentError::BadUrl)?;
    let path = url
        .strip_prefix("https://")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    let dot_segment = path.split('/').any(|s| s == "." || s == "..");
    if parsed.is_loopback() || path.len() < 2 || url.contains('?') || dot_segment {
        return Err(DocumentError::BadUrl);
    }
    Ok(())
}

/// Parses a fetched document for `url`.
pub fn parse_document(url: &str, body: &[u8]) -> Result<ClientMetadata, DocumentError> {
    if body.len() > MAX_DOCUMENT {
        return Err(DocumentError::NotJson);
    }
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
        return Err(DocumentError::NotJson);
    };
    if doc.get("client_id").and_then(Value::as_str) != Some(url) {
        return Err(DocumentError::ClientIdMismatch);
    }
    if doc.contains_key("client_secret") || doc.contains_key("client_secret_expires_at") {
        return Err(DocumentError::HasSecret);
    }
    ClientMetadata::from_json(&doc).map_err(|e| DocumentError::Metadata(e.to_string()))
}

impl Server<'_> {
    /// The client described by the document at `url`, from the cache or
    /// freshly fetched.
    pub(crate) fn document_client(
        &self,
        url: &str,
    ) -> Result<ClientRecord, crate::client::ClientError> {
        check_document_url(url)?;
        if !self.settings.metadata_documents {
            return Err(DocumentError::from(FetchError::Refused(
                "this server does not accept metadata documents; register the client (POST /register)"
                    .into(),
            ))
            .into());
        }
        // A revoked client's document is not fetched again: no egress on
        // behalf of a client the operator shut out.
        if let Some(known) = self.stored_client(url)?
            && known.revoked
        {
            return Ok(known);
        }
        let now = self.env.clock.now();
        let doc_key = records::document_key(url);
        let cached = records::read_live::<CachedDocument>(self.env.store, &doc_key, now)?
            .map(|s| s.value)
            .filter(|d| d.client_id == url);
        let document = match cached {
            Some(d) => d,
            None => {
                let body = self.env.fetcher.fetch(url).map_err(DocumentError::from)?;
                let metadata = parse_document(url, &body)?;
                let document = CachedDocument {
                    client_id: url.to_owned(),
                    name: metadata.name,
                    redirect_uris: metadata
                        .redirect_uris
                        .iter()
                        .map(|u| u.as_str().to_owned())
                        .collect(),
                    grant_types: metadata.grant_types,
                    fetched_at: now,
                    expires_at: now + CACHE_SECS,
                };
                records::write(self.env.store, &doc_key, &document)?;
                self.info("fetched a client metadata document");
                document
            }
        };
        Ok(self.remember_document_client(&document, now)?)
    }

    /// Creates or refreshes the permanent record of a document client,
    /// keeping its first-seen time and its revocation.
    fn remember_document_client(
        &self,
        document: &CachedDocument,
        now: u64,
    ) -> Result<ClientRecord, Fault> {
        let key = records::client_key(&document.client_id);
        let fresh = |created_at: u64, revoked: bool, granted: bool| ClientRecord {
            client_id: document.client_id.clone(),
            kind: ClientKind::MetadataDocument,
            name: document.name.clone(),
            redirect_uris: document.redirect_uris.clone(),
            grant_types: document.grant_types.clone(),
            created_at,
            revoked,
            granted,
        };
        for _ in 0..8 {
            let existing = records::read::<ClientRecord>(self.env.store, &key)?;
            let record = match &existing {
                Some(s) if s.value.client_id == document.client_id && s.value.is_live(now) => {
                    fresh(s.value.created_at, s.value.revoked, s.value.granted)
                }
                _ => fresh(now, false, false),
            };
            if existing.as_ref().is_some_and(|s| s.value == record) {
                return Ok(record);
            }
            let expected = existing.as_ref().map(|s| s.raw.as_slice());
            if self
                .env
                .store
                .swap_if(&key, expected, &records::encode(&record))?
            {
                return Ok(record);
            }
        }
        Err(Fault::Contention(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "https://app.example.com/oauth/client.json";

    #[test]
    fn document_urls() {
        assert!(check_document_url(URL).is_ok());
        for bad in [
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/client?x=1",
            "https://app.example.com/client#x",
            "https://user@app.example.com/client",
            "http://app.example.com/client",
            "http://127.0.0.1/client",
            "HTTPS://app.example.com/client",
            "https://app.example.com/a/../client",
            "https://app.example.com/a/./client",
        ] {
            assert_eq!(check_document_url(bad), Err(DocumentError::BadUrl), "{bad}");
        }
        assert!(looks_like_document_url("HTTPS://x"));
        assert!(looks_like_document_url("ftp://x/y"));
        assert!(!looks_like_document_url("abcDEF123_-"));
    }

    #[test]
    fn documents_must_name_themselves() {
        let doc = |v: Value| parse_document(URL, v.to_string().as_bytes());
        let good = doc(json!({"client_id": URL, "client_name": "App", "redirect_uris": ["https://app.example.com/cb"]})).unwrap();
        assert_eq!(good.name.as_deref(), Some("App"));
        assert_eq!(
            doc(
                json!({"client_id": "https://app.example.com/oauth/client.json/", "redirect_uris": ["https://app.example.com/cb"]})
            ),
            Err(DocumentError::ClientIdMismatch)
        );
        assert_eq!(
            doc(json!({"redirect_uris": ["https://app.example.com/cb"]})),
            Err(DocumentError::ClientIdMismatch)
        );
        assert_eq!(
            doc(
                json!({"client_id": URL, "redirect_uris": ["https://app.example.com/cb"], "client_secret": "s"})
            ),
            Err(DocumentError::HasSecret)
        );
        assert!(matches!(
            doc(json!({"client_id": URL, "redirect_uris": ["https:evil.com"]})),
            Err(DocumentError::Metadata(_))
        ));
        assert!(matches!(
            doc(json!({"client_id": URL})),
            Err(DocumentError::Metadata(_))
        ));
        assert_eq!(parse_document(URL, b"[1]"), Err(DocumentError::NotJson));
        assert_eq!(
            parse_document(URL, &vec![b' '; MAX_DOCUMENT + 1]),
            Err(DocumentError::NotJson)
        );
    }
}
