//! The component's settings (`wasi:config/store`), parsed and checked once
//! per request so a misconfiguration is reported clearly instead of
//! producing tokens for the wrong audience.

use url::Url;

use crate::crypto::Keys;
use crate::secret::KeyBytes;

/// Default lifetime of an access token: one day.
pub const DEFAULT_ACCESS_TTL: u64 = 86_400;
/// Default lifetime of a refresh token: 30 days (renewed on every rotation).
pub const DEFAULT_REFRESH_TTL: u64 = 30 * 86_400;
/// Default `max_clients`: dynamically registered clients held at most.
pub const DEFAULT_MAX_CLIENTS: u64 = 50_000;
/// Longest lifetime a setting may give a token: one year.
const MAX_TTL: u64 = 365 * 86_400;

/// A setting is missing or malformed. Never contains the signing key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the setting `{0}` is missing")]
    Missing(&'static str),
    #[error("the setting `{name}` is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("the settings could not be read: {0}")]
    Unreadable(String),
}

/// Checked settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The public base URL, without a trailing slash: `https://mcp.example.com`.
    pub issuer: String,
    /// The issuer's origin as browsers send it in `Origin`.
    pub issuer_origin: String,
    /// The canonical URL of the MCP endpoint: `https://mcp.example.com/mcp`.
    pub resource: String,
    /// Purpose keys derived from `signing_key`.
    pub keys: Keys,
    /// Lifetime of access tokens, seconds.
    pub access_ttl: u64,
    /// Lifetime of refresh tokens, seconds.
    pub refresh_ttl: u64,
    /// Dynamically registered clients held at most (`max_clients`).
    pub max_clients: u64,
    /// Whether clients may be named by a metadata document URL
    /// (`client_metadata_documents`, default `true`): `false` where the host
    /// cannot enforce the rules for fetching them, so that discovery does
    /// not advertise them.
    pub metadata_documents: bool,
    /// Where error pages send a user for help (`support_url`, optional):
    /// an `https`, `http` or `mailto` URL.
    pub support_url: Option<String>,
}

impl Settings {
    /// Reads and checks every setting through `get`.
    pub fn load(
        get: impl Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<Self, SettingsError> {
        let fetch = |name: &'static str| get(name).map_err(SettingsError::Unreadable);
        let required = |name: &'static str| fetch(name)?.ok_or(SettingsError::Missing(name));

        let issuer = required("issuer")?;
        let issuer_origin = check_issuer(&issuer)?;
        let resource = required("resource")?;
        check_resource(&resource, &issuer)?;
        let signing_key = parse_signing_key(&required("signing_key")?)?;
        let access_ttl = ttl(
            "access_token_ttl_secs",
            fetch("access_token_ttl_secs")?,
            DEFAULT_ACCESS_TTL,
        )?;
        let refresh_ttl = ttl(
            "refresh_token_ttl_secs",
            fetch("refresh_token_ttl_secs")?,
            DEFAULT_REFRESH_TTL,
        )?;
        let max_clients = match fetch("max_clients")? {
            None => DEFAULT_MAX_CLIENTS,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => return Err(invalid("max_clients", "must be a whole number above 0")),
            },
        };
        let metadata_documents = match fetch("client_metadata_documents")?
            .as_deref()
            .map(str::trim)
        {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => {
                return Err(invalid(
                    "client_metadata_documents",
                    "must be `true` or `false`",
                ));
            }
        };
        let support_url = match fetch("support_url")? {
            None => None,
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(check_support_url(text.trim())?),
        };
        Ok(Settings {
            support_url,
            issuer,
            issuer_origin,
            resource,
            keys: Keys::derive(&signing_key),
            access_ttl,
            refresh_ttl,
            max_clients,
            metadata_documents,
        })
    }

    /// The absolute URL of an endpoint path such as `/token`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The path of `resource` below the issuer (`/mcp`).
    pub fn resource_path(&self) -> &str {
        &self.resource[self.issuer.len()..]
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// The issuer must be an origin with nothing after it (the host routes the
/// endpoints at the root), HTTPS unless it is a loopback development
/// address. Returns its origin.
fn check_support_url(text: &str) -> Result<String, SettingsError> {
    let url = Url::parse(text).map_err(|e| invalid("support_url", e.to_string()))?;
    match url.scheme() {
        "https" | "http" | "mailto" => Ok(url.to_string()),
        other => Err(invalid(
            "support_url",
            format!("must be an https, http or mailto URL, not {other}:"),
        )),
    }
}

fn check_issuer(issuer: &str) -> Result<String, SettingsError> {
    let url = Url::parse(issuer).map_err(|e| invalid("issuer", e.to_string()))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(invalid(
                "issuer",
                "must be https:// (http:// only on a loopback address)",
            ));
        }
    }
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(invalid(
            "issuer",
            "must be a bare origin such as https://mcp.example.com",
        ));
    }
    let origin = url.origin().ascii_serialization();
    if origin != issuer {
        return Err(invalid(
            "issuer",
            format!("must be written as {origin} (no trailing slash, lower case, no default port)"),
        ));
    }
    Ok(origin)
}

/// The resource must live under the issuer, so its RFC 9728 metadata is
/// served by this host.
fn check_resource(resource: &str, issuer: &str) -> Result<(), SettingsError> {
    let url = Url::parse(resource).map_err(|e| invalid("resource", e.to_string()))?;
    let under_issuer = resource
        .strip_prefix(issuer)
        .is_some_and(|path| path.starts_with('/') && path.len() > 1);
    if !under_issuer
        || url.query().is_some()
        || url.fragment().is_some()
        || url.as_str() != resource
    {
        return Err(invalid(
            "resource",
            "must be a URL below the issuer such as https://mcp.example.com/mcp",
        ));
    }
    Ok(())
}

fn parse_signing_key(text: &str) -> Result<KeyBytes, SettingsError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key)
        .map_err(|_| invalid("signing_key", "must be 64 hex digits"))?;
    Ok(KeyBytes::new(key))
}

fn ttl(name: &'static str, value: Option<String>, default: u64) -> Result<u64, SettingsError> {
    let Some(text) = value else {
        return Ok(default);
    };
    match text.trim().parse::<u64>() {
        Ok(secs) if (60..=MAX_TTL).contains(&secs) => Ok(secs),
        _ => Err(invalid(
            name,
            format!("must be a number of seconds from 60 to {MAX_TTL}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(|k| Ok(map.get(k).cloned()))
    }

    const KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

    #[test]
    fn defaults_and_derived_values() {
        let s = load(&[
            ("issuer", "https://mcp.example.com"),
            ("resource", "https://mcp.example.com/mcp"),
            ("signing_key", KEY),
        ])
        .unwrap();
        assert_eq!(s.access_ttl, DEFAULT_ACCESS_TTL);
        assert_eq!(s.refresh_ttl, DEFAULT_REFRESH_TTL);
        assert_eq!(s.issuer_origin, "https://mcp.example.com");
        assert_eq!(s.resource_path(), "/mcp");
        assert_eq!(s.endpoint("/token"), "https://mcp.example.com/token");
        assert!(s.metadata_documents);
        assert!(!format!("{s:?}").contains(KEY));
        let base = [
            ("issuer", "https://mcp.example.com"),
            ("resource", "https://mcp.example.com/mcp"),
            ("signing_key", KEY),
        ];
        let off = load(&[&base[..], &[("client_metadata_documents", "false")]].concat()).unwrap();
        assert!(!off.metadata_documents);
        assert!(load(&[&base[..], &[("client_metadata_documents", "no")]].concat()).is_err());
    }

    #[test]
    fn a_support_url_is_optional_and_checked() {
        let base = [
            ("issuer", "https://mcp.example.com"),
            ("resource", "https://mcp.example.com/mcp"),
            ("signing_key", KEY),
        ];
        assert_eq!(load(&base).unwrap().support_url, None);
        let with = |url: &'static str| load(&[&base[..], &[("support_url", url)]].concat());
        assert_eq!(
            with("https://help.example.com/openphone")
                .unwrap()
                .support_url
                .as_deref(),
            Some("https://help.example.com/openphone")
        );
        assert!(with("mailto:support@example.com").is_ok());
        for bad in [
            "javascript:alert(1)",
            "help.example.com",
            "data:text/html,x",
        ] {
            assert!(with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_http_issuer_with_port() {
        let s = load(&[
            ("issuer", "http://127.0.0.1:8787"),
            ("resource", "http://127.0.0.1:8787/mcp"),
            ("signing_key", KEY),
            ("access_token_ttl_secs", "3600"),
            ("refresh_token_ttl_secs", "7200"),
        ])
        .unwrap();
        assert_eq!(s.issuer_origin, "http://127.0.0.1:8787");
        assert_eq!((s.access_ttl, s.refresh_ttl), (3600, 7200));
    }

    #[test]
    fn refuses_bad_settings() {
        let base = [
            ("issuer", "https://mcp.example.com"),
            ("resource", "https://mcp.example.com/mcp"),
            ("signing_key", KEY),
        ];
        let with = |name: &str, value: &'static str| {
            let mut pairs: Vec<(&str, &str)> =
                base.iter().copied().filter(|(k, _)| *k != name).collect();
            pairs.push((name, value));
            load(&pairs)
        };
        for issuer in [
            "https://mcp.example.com/",
            "https://mcp.example.com/base",
            "http://mcp.example.com",
            "HTTPS://mcp.example.com",
            "https://mcp.example.com:443",
            "ftp://mcp.example.com",
        ] {
            assert!(with("issuer", issuer).is_err(), "{issuer}");
        }
        for resource in [
            "https://other.example.com/mcp",
            "https://mcp.example.com",
            "https://mcp.example.com/",
            "https://mcp.example.com/mcp#x",
        ] {
            assert!(with("resource", resource).is_err(), "{resource}");
        }
        assert!(matches!(
            with("signing_key", "abcd"),
            Err(SettingsError::Invalid {
                name: "signing_key",
                ..
            })
        ));
        assert!(with("access_token_ttl_secs", "0").is_err());
        assert!(with("refresh_token_ttl_secs", "soon").is_err());
        assert_eq!(
            load(&[("issuer", "https://mcp.example.com")]).unwrap_err(),
            SettingsError::Missing("resource")
        );
    }
}
