//! Where an `api-request` goes: the configured API base, `/v1`, the tool's
//! path and its query, parsed once so that nothing a tool passes can change
//! the scheme or the host.

use thiserror::Error;

/// Why a request was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    /// `openphone_api_base_url` is not an `http(s)://host[:port][/prefix]` URL.
    #[error("openphone_api_base_url must be an http:// or https:// URL without query or fragment")]
    BadBase,
    /// The tool's path could leave `/v1`.
    #[error("the path must be an OpenPhone API path below /v1 (letters, digits, - _ . and /)")]
    BadPath,
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// The API base, parsed from `openphone_api_base_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBase {
    pub scheme: Scheme,
    /// `host[:port]`.
    pub authority: String,
    /// Path prefix without a trailing `/` (usually empty).
    prefix: String,
}

/// One request's destination below [`ApiBase`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    pub authority: String,
    /// `/prefix/v1/path?query`.
    pub path_with_query: String,
}

impl ApiBase {
    /// The default, `https://api.openphone.com`.
    pub const DEFAULT: &'static str = "https://api.openphone.com";

    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else {
            return Err(TargetError::BadBase);
        };
        let (authority, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let authority_ok = !authority.is_empty()
            && authority.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
            });
        let prefix = prefix.trim_end_matches('/');
        let prefix_ok = prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
        if !authority_ok || !prefix_ok {
            return Err(TargetError::BadBase);
        }
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// `base/v1{path}?query`; the same path rule as the native host.
    pub fn target(&self, path: &str, query: &[(String, String)]) -> Result<Target, TargetError> {
        let safe = openphone_mcp_protocol::catalog::is_api_path(path);
        if !safe {
            return Err(TargetError::BadPath);
        }
        let mut path_with_query = format!("{}/v1{path}", self.prefix);
        let mut separator = '?';
        for (name, value) in query {
            path_with_query.push(separator);
            path_with_query.extend(form_urlencoded::byte_serialize(name.as_bytes()));
            path_with_query.push('=');
            path_with_query.extend(form_urlencoded::byte_serialize(value.as_bytes()));
            separator = '&';
        }
        Ok(Target {
            scheme: self.scheme,
            authority: self.authority.clone(),
            path_with_query,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_below_v1_of_the_base() {
        let base = ApiBase::parse("http://127.0.0.1:8080/").expect("valid base");
        let t = base
            .target(
                "/messages",
                &[("to".into(), "+1555 0".into()), ("a".into(), "b&c".into())],
            )
            .expect("valid path");
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.path_with_query, "/v1/messages?to=%2B1555+0&a=b%26c");
        for bad in [
            "messages",
            "/../x",
            "/a//b",
            "/a?b",
            "/a#b",
            "/http://x",
            "/a/./b",
        ] {
            assert_eq!(base.target(bad, &[]), Err(TargetError::BadPath), "{bad}");
        }
    }

    #[test]
    fn bases_are_http_urls_without_query() {
        assert_eq!(
            ApiBase::parse(ApiBase::DEFAULT).map(|b| b.scheme),
            Ok(Scheme::Https)
        );
        let prefixed = ApiBase::parse("https://proxy.example/openphone").expect("valid");
        assert_eq!(
            prefixed.target("/contacts", &[]).map(|t| t.path_with_query),
            Ok("/openphone/v1/contacts".into())
        );
        for bad in [
            "ftp://x",
            "https://",
            "https://a b",
            "https://h/p?q",
            "https://h/#f",
            "https://u@h",
        ] {
            assert_eq!(ApiBase::parse(bad), Err(TargetError::BadBase), "{bad}");
        }
    }
}
