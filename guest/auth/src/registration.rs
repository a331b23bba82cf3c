//! Client metadata (RFC 7591) — the rules shared by dynamic registration
//! and Client ID Metadata Documents — and the `POST /register` endpoint.
//!
//! Only public clients are accepted (`token_endpoint_auth_method` `none`):
//! an MCP client on a user's machine cannot keep a secret, and PKCE binds
//! each code to the client that asked for it. Metadata this server does not
//! use (logos, contacts, URIs) is ignored rather than echoed, so nothing a
//! registrant sends ends up on a page but its name, which is plain text.

use crate::audit::{Event, Kind};
use serde_json::{Map, Value, json};

use crate::client::{ClientKind, ClientRecord};
use crate::fault::Fault;
use crate::http::{Request, Response};
use crate::log::Level;
use crate::records;
use crate::redirect::RedirectUri;
use crate::server::Server;
use crate::{crypto, random};

/// Largest registration body accepted.
pub const MAX_BODY: usize = 16 * 1024;
/// Most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 10;
/// Longest client name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The grant types a client may use.
const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// Why metadata is refused: the RFC 7591 error code and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
}

impl MetadataError {
    /// The RFC 7591 `error` value.
    pub fn code(&self) -> &'static str {
        match self {
            MetadataError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            MetadataError::InvalidClientMetadata(_) => "invalid_client_metadata",
        }
    }
}

fn bad(message: impl Into<String>) -> MetadataError {
    MetadataError::InvalidClientMetadata(message.into())
}

/// Checked client metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub name: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<String>,
}

impl ClientMetadata {
    /// Checks a metadata object.
    pub fn from_json(doc: &Map<String, Value>) -> Result<Self, MetadataError> {
        match doc.get("token_endpoint_auth_method") {
            None | Some(Value::Null) => {}
            Some(Value::String(m)) if m == "none" => {}
            Some(_) => {
                return Err(bad(
                    "token_endpoint_auth_method must be \"none\": this server registers public clients only (PKCE, no client secret)",
                ));
            }
        }
        let redirect_uris = redirect_uris(doc.get("redirect_uris"))?;
        let grant_types = string_list(doc, "grant_types")?
            .unwrap_or_else(|| GRANT_TYPES.iter().map(|g| g.to_string()).collect());
        if let Some(other) = grant_types
            .iter()
            .find(|g| !GRANT_TYPES.contains(&g.as_str()))
        {
            return Err(bad(format!(
                "grant type {:?} is not supported; use authorization_code and refresh_token",
                truncate(other)
            )));
        }
        if !grant_types.iter().any(|g| g == "authorization_code") {
            return Err(bad("grant_types must include authorization_code"));
        }
        if let Some(types) = string_list(doc, "response_types")?
            && (types.is_empty() || types.iter().any(|t| t != "code"))
        {
            return Err(bad("response_types must be [\"code\"]"));
        }
        let name = match doc.get("client_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => client_name(name)?,
            Some(_) => return Err(bad("client_name must be a string")),
        };
        let mut unique = Vec::new();
        for g in grant_types {
            if !unique.contains(&g) {
                unique.push(g);
            }
        }
        Ok(ClientMetadata {
            name,
            redirect_uris,
            grant_types: unique,
        })
    }
}

/// `redirect_uris`: 1 to 10 strings, each passing the redirect rules.
fn redirect_uris(value: Option<&Value>) -> Result<Vec<RedirectUri>, MetadataError> {
    let Some(Value::Array(items)) = value else {
        return Err(MetadataError::InvalidRedirectUri(
            "redirect_uris is required: a list of 1 to 10 URIs".into(),
        ));
    };
    if items.is_empty() || items.len() > MAX_REDIRECT_URIS {
        return Err(MetadataError::InvalidRedirectUri(format!(
            "redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs, not {}",
            items.len()
        )));
    }
    let mut uris: Vec<RedirectUri> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::String(raw) = item else {
            return Err(MetadataError::InvalidRedirectUri(format!(
                "redirect_uris[{i}] must be a string"
            )));
        };
        let uri = RedirectUri::parse(raw)
            .map_err(|e| MetadataError::InvalidRedirectUri(format!("redirect_uris[{i}]: {e}")))?;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    Ok(uris)
}

/// An optional list of strings.
fn string_list(
    doc: &Map<String, Value>,
    field: &str,
) -> Result<Option<Vec<String>>, MetadataError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() <= 10 => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| bad(format!("{field} must be a list of strings"))),
        Some(_) => Err(bad(format!("{field} must be a list of at most 10 strings"))),
    }
}

/// A client name is shown on the consent page, so it must be short plain
/// text: no control characters and no invisible formatting characters
/// (bidirectional overrides, zero-width characters) that could make it read
/// as another name.
fn client_name(name: &str) -> Result<Option<String>, MetadataError> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(bad(format!(
            "client_name must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    if name
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err(bad(
            "client_name must be plain text: no control or invisible formatting characters",
        ));
    }
    Ok(Some(name.to_owned()))
}

fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{00ad}')
}

/// At most 64 characters of a client-supplied value, for messages.
fn truncate(value: &str) -> String {
    value.chars().take(64).collect()
}

impl Server<'_> {
    /// `POST /register`.
    pub(crate) fn register(&self, request: &Request) -> Result<Response, Fault> {
        let refuse = |e: MetadataError| {
            Response::json(
                400,
                &json!({ "error": e.code(), "error_description": e.to_string() }),
            )
        };
        if !request.has_content_type("application/json") {
            return Ok(refuse(bad("send the client metadata as application/json")));
        }
        if request.body.len() > MAX_BODY {
            return Ok(refuse(bad(format!(
                "the metadata must be at most {MAX_BODY} bytes"
            ))));
        }
        let doc = match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(doc)) => doc,
            Ok(_) => return Ok(refuse(bad("the metadata must be a JSON object"))),
            Err(e) => return Ok(refuse(bad(format!("the metadata is not valid JSON: {e}")))),
        };
        let metadata = match ClientMetadata::from_json(&doc) {
            Ok(m) => m,
            Err(e) => return Ok(refuse(e)),
        };

        let now = self.env.clock.now();
        let client_id = crypto::b64(&random::bytes::<16>(self.env.random)?);
        let record = ClientRecord {
            client_id: client_id.clone(),
            kind: ClientKind::Dynamic,
            name: metadata.name.clone(),
            redirect_uris: metadata
                .redirect_uris
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect(),
            grant_types: metadata.grant_types.clone(),
            created_at: now,
            revoked: false,
            granted: false,
        };
        // A place under `max_clients`, given back if anything below fails
        // (or, once registered, when the client expires unclaimed).
        let held = self.env.store.increment(records::CLIENT_COUNT_KEY, 1)?;
        if u64::try_from(held).unwrap_or(0) > self.settings.max_clients {
            self.env.store.increment(records::CLIENT_COUNT_KEY, -1)?;
            self.log(
                Level::Warn,
                &format!(
                    "registration refused: {} clients are registered, the most this server holds",
                    self.settings.max_clients
                ),
            );
            return Ok(Response::json(
                503,
                &json!({
                    "error": "temporarily_unavailable",
                    "error_description": format!(
                        "this server holds as many registered clients as it accepts ({}); registrations \
                         that never obtain a grant expire after 24 hours, so try again later",
                        self.settings.max_clients
                    ),
                }),
            ));
        }
        let key = records::client_key(&client_id);
        if !self
            .env
            .store
            .swap_if(&key, None, &records::encode(&record))?
        {
            self.env.store.increment(records::CLIENT_COUNT_KEY, -1)?;
            return Err(Fault::Contention(key));
        }
        self.info(&format!("registered client {client_id}"));

        let mut answer = json!({
            "client_id": client_id,
            "client_id_issued_at": now,
            "redirect_uris": record.redirect_uris,
            "grant_types": record.grant_types,
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        if let Some(name) = &record.name {
            answer["client_name"] = json!(name);
        }
        self.audit(Event::about(Kind::ClientRegistered, &client_id));
        Ok(Response::json(201, &answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(doc: Value) -> Result<ClientMetadata, MetadataError> {
        ClientMetadata::from_json(doc.as_object().unwrap())
    }

    #[test]
    fn minimal_metadata_gets_defaults() {
        let m = check(json!({"redirect_uris": ["https://a.example/cb"]})).unwrap();
        assert_eq!(m.name, None);
        assert_eq!(m.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(m.redirect_uris[0].as_str(), "https://a.example/cb");
    }

    #[test]
    fn confidential_clients_are_refused() {
        for method in [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ] {
            let e = check(json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": method}))
                .unwrap_err();
            assert_eq!(e.code(), "invalid_client_metadata");
        }
        assert!(check(json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none"})).is_ok());
    }

    #[test]
    fn redirect_uris_are_required_and_checked() {
        for doc in [
            json!({}),
            json!({"redirect_uris": []}),
            json!({"redirect_uris": "https://a.example/cb"}),
            json!({"redirect_uris": [1]}),
            json!({"redirect_uris": ["https:evil.com"]}),
            json!({"redirect_uris": ["https://a.example/cb", "http://evil.example/cb"]}),
            json!({"redirect_uris": (0..11).map(|i| format!("https://a.example/{i}")).collect::<Vec<_>>()}),
        ] {
            assert_eq!(
                check(doc.clone()).unwrap_err().code(),
                "invalid_redirect_uri",
                "{doc}"
            );
        }
    }

    #[test]
    fn grant_and_response_types_are_limited() {
        let base = |extra: Value| {
            let mut doc = json!({"redirect_uris": ["https://a.example/cb"]});
            for (k, v) in extra.as_object().unwrap() {
                doc[k] = v.clone();
            }
            check(doc)
        };
        assert!(base(json!({"grant_types": ["implicit"]})).is_err());
        assert!(base(json!({"grant_types": ["client_credentials"]})).is_err());
        assert!(base(json!({"grant_types": ["refresh_token"]})).is_err());
        assert!(base(json!({"response_types": ["token"]})).is_err());
        assert!(base(json!({"response_types": []})).is_err());
        assert_eq!(
            base(json!({"grant_types": ["authorization_code"]}))
                .unwrap()
                .grant_types,
            ["authorization_code"]
        );
        assert!(base(json!({"response_types": ["code"]})).is_ok());
    }

    #[test]
    fn client_names_are_short_plain_text() {
        let named = |name: &str| {
            check(json!({"redirect_uris": ["https://a.example/cb"], "client_name": name}))
        };
        assert_eq!(named("  Claude  ").unwrap().name.as_deref(), Some("Claude"));
        assert_eq!(
            named("<b>Tags</b> are escaped later")
                .unwrap()
                .name
                .as_deref(),
            Some("<b>Tags</b> are escaped later")
        );
        assert_eq!(named("").unwrap().name, None);
        assert!(named(&"x".repeat(101)).is_err());
        assert!(named("Good\u{202e}lanigiro").is_err());
        assert!(named("a\u{200b}b").is_err());
        assert!(named("line\nbreak").is_err());
        assert!(
            check(json!({"redirect_uris": ["https://a.example/cb"], "client_name": 5})).is_err()
        );
    }
}
