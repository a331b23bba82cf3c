//! Redirect URI rules: which URIs a client may register, and when a
//! presented URI matches a registered one.
//!
//! A redirect URI is where the authorization code goes, so it is checked on
//! the string *as written*, before and after parsing: the `url` crate
//! normalises (lower-cases schemes, decodes hosts, resolves `..`, adds
//! slashes), and a URI that only becomes acceptable after normalisation is
//! one that another parser — the browser, the client — may read
//! differently. The rules:
//!
//! - `https://` with a host, or `http://` on a loopback host written
//!   literally (`127.0.0.1`, `[::1]`, `localhost`; RFC 8252 §7.3). The
//!   scheme must be lower case and followed by `//`: `HTTPS://…`,
//!   `https:evil.com` and `https:/evil.com` are refused.
//! - Only printable ASCII: no whitespace or control characters anywhere, no
//!   raw Unicode; no backslash, no fragment (`#`), no wildcard (`*`).
//! - No userinfo (`@` in the authority) and no `%` in the authority, so
//!   `http://localhost%25@evil.com` and `http://evil.com%2F@localhost` are
//!   refused.
//! - The URI must already be in the form the parser produces: host in lower
//!   case as the parser reads it (no `0x7f.1`, no IDNA changes), path and
//!   query unchanged by parsing (no dot segments, nothing the parser would
//!   escape).
//!
//! Matching is exact string equality, except that for an `http` loopback
//! URI the port may differ (native apps listen on an ephemeral port): then
//! everything but the port must be equal.

use url::Url;

/// Longest redirect URI accepted.
pub const MAX_LEN: usize = 2000;

/// Why a redirect URI is refused. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("the redirect URI is longer than {MAX_LEN} characters")]
    TooLong,
    #[error(
        "the redirect URI may contain only printable ASCII: no spaces, control characters or raw Unicode"
    )]
    NotPrintable,
    #[error("the redirect URI must not contain a backslash")]
    Backslash,
    #[error("the redirect URI must not contain a fragment (#)")]
    Fragment,
    #[error("the redirect URI must not contain a wildcard (*)")]
    Wildcard,
    #[error(
        "the redirect URI must start with https:// (or http:// for a loopback address), in lower case"
    )]
    Scheme,
    #[error("the redirect URI has no host")]
    NoHost,
    #[error("the redirect URI must not contain user information (@)")]
    Userinfo,
    #[error("the redirect URI's host must not contain percent-encoded characters")]
    PercentInHost,
    #[error("http:// redirect URIs are allowed only for 127.0.0.1, [::1] or localhost")]
    HttpNotLoopback,
    #[error("the redirect URI's port must be a number from 1 to 65535")]
    BadPort,
    #[error("the redirect URI is not a valid URL: {0}")]
    Unparseable(String),
    #[error(
        "the redirect URI must be written in normal form (lower-case host, no dot segments or characters that need escaping)"
    )]
    NotNormal,
}

/// The scheme of an accepted redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

/// An accepted redirect URI, with the parts matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri {
    raw: String,
    scheme: Scheme,
    /// As written: `example.com`, `127.0.0.1`, `[::1]`.
    host: String,
    port: Option<String>,
    /// Path and query as written (may be empty).
    tail: String,
}

impl RedirectUri {
    /// Checks `raw` against every rule.
    pub fn parse(raw: &str) -> Result<Self, RedirectError> {
        if raw.len() > MAX_LEN {
            return Err(RedirectError::TooLong);
        }
        if !raw.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(RedirectError::NotPrintable);
        }
        if raw.contains('\\') {
            return Err(RedirectError::Backslash);
        }
        if raw.contains('#') {
            return Err(RedirectError::Fragment);
        }
        if raw.contains('*') {
            return Err(RedirectError::Wildcard);
        }
        let (scheme, rest) = if let Some(rest) = raw.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = raw.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else {
            return Err(RedirectError::Scheme);
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(RedirectError::Userinfo);
        }
        if authority.contains('%') {
            return Err(RedirectError::PercentInHost);
        }
        let (host, port) = split_authority(authority)?;
        let loopback = is_loopback_host(host);
        if scheme == Scheme::Http && !loopback {
            return Err(RedirectError::HttpNotLoopback);
        }

        let url = Url::parse(raw).map_err(|e| RedirectError::Unparseable(e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(RedirectError::Userinfo);
        }
        let (raw_path, raw_query) = match tail.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (tail, None),
        };
        let normal = url.host_str() == Some(host.to_ascii_lowercase().as_str())
            && (raw_path.is_empty() && url.path() == "/" || raw_path == url.path())
            && raw_query == url.query();
        if !normal {
            return Err(RedirectError::NotNormal);
        }
        Ok(RedirectUri {
            raw: raw.to_owned(),
            scheme,
            host: host.to_owned(),
            port: port.map(str::to_owned),
            tail: tail.to_owned(),
        })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether this is an `http` loopback URI (RFC 8252 §7.3).
    pub fn is_loopback(&self) -> bool {
        self.scheme == Scheme::Http
    }

    /// Whether `presented` may be used where `self` was registered: the
    /// same string, or for loopback URIs the same but for the port.
    pub fn allows(&self, presented: &RedirectUri) -> bool {
        if self.raw == presented.raw {
            return true;
        }
        self.is_loopback()
            && presented.is_loopback()
            && self.host == presented.host
            && self.tail == presented.tail
    }

    /// `scheme://host[:port]`, for the consent page's `form-action`.
    pub fn origin(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        match &self.port {
            Some(port) => format!("{scheme}://{}:{port}", self.host),
            None => format!("{scheme}://{}", self.host),
        }
    }

    /// The host to show the user, e.g. `claude.ai` or `127.0.0.1`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// This URI with `params` added to its query (any query it had is kept).
    pub fn with_params(&self, params: &[(&str, &str)]) -> String {
        let encoded = crate::form::encode(params);
        let separator = match self.raw.find('?') {
            None => "?",
            Some(_) if self.raw.ends_with('?') || self.raw.ends_with('&') => "",
            Some(_) => "&",
        };
        format!("{}{separator}{encoded}", self.raw)
    }
}

/// Whether `host` (as written) is one of the loopback names RFC 8252 allows.
fn is_loopback_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

/// Splits `host[:port]` / `[v6][:port]`, checking the port.
fn split_authority(authority: &str) -> Result<(&str, Option<&str>), RedirectError> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or(RedirectError::NoHost)?;
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or(RedirectError::BadPort)?),
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(RedirectError::NoHost);
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p != 0);
        if !valid {
            return Err(RedirectError::BadPort);
        }
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> RedirectUri {
        RedirectUri::parse(raw).unwrap_or_else(|e| panic!("{raw} refused: {e}"))
    }

    fn refused(raw: &str) -> RedirectError {
        match RedirectUri::parse(raw) {
            Ok(_) => panic!("{raw:?} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_https_and_loopback_http() {
        for raw in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://example.com",
            "https://example.com/",
            "https://example.com:8443/cb?x=1&y=2",
            "https://Example.COM/cb",
            "https://192.0.2.1/cb",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:33418/callback",
            "http://localhost:8080/oauth/callback",
            "http://[::1]:9000/cb",
            "https://example.com/cb?",
            "https://example.com/a%20b",
        ] {
            ok(raw);
        }
    }

    #[test]
    fn scheme_must_be_lower_case_https_or_loopback_http_with_slashes() {
        for raw in [
            "HTTPS://example.com/cb",
            "Https://example.com/cb",
            "HTTP://127.0.0.1/cb",
            "https:evil.com",
            "https:/evil.com/cb",
            "https:///evil.com/cb",
            "//evil.com/cb",
            "evil.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "ftp://example.com/cb",
            "com.example.app:/callback",
            "",
        ] {
            let e = refused(raw);
            assert!(
                matches!(
                    e,
                    RedirectError::Scheme | RedirectError::NoHost | RedirectError::NotPrintable
                ),
                "{raw}: {e:?}"
            );
        }
    }

    #[test]
    fn http_only_on_literal_loopback() {
        for raw in [
            "http://example.com/cb",
            "http://localhost.evil.com/cb",
            "http://127.0.0.1.nip.io/cb",
            "http://127.1/cb",
            "http://0x7f000001/cb",
            "http://2130706433/cb",
            "http://[::ffff:127.0.0.1]/cb",
            "http://LOCALHOST/cb",
            "http://0.0.0.0/cb",
        ] {
            assert_eq!(refused(raw), RedirectError::HttpNotLoopback, "{raw}");
        }
    }

    #[test]
    fn no_userinfo_or_percent_in_the_host() {
        assert_eq!(
            refused("http://localhost%25@evil.com/cb"),
            RedirectError::Userinfo
        );
        assert_eq!(
            refused("http://evil.com%2F@localhost/cb"),
            RedirectError::Userinfo
        );
        assert_eq!(
            refused("https://user:pass@example.com/cb"),
            RedirectError::Userinfo
        );
        assert_eq!(
            refused("https://example.com@evil.com/cb"),
            RedirectError::Userinfo
        );
        assert_eq!(
            refused("http://localhost%2eevil.com/cb"),
            RedirectError::PercentInHost
        );
        assert_eq!(
            refused("https://ex%61mple.com/cb"),
            RedirectError::PercentInHost
        );
    }

    #[test]
    fn no_fragments_backslashes_or_wildcards() {
        assert_eq!(
            refused("https://example.com/cb#frag"),
            RedirectError::Fragment
        );
        assert_eq!(refused("https://example.com/cb#"), RedirectError::Fragment);
        assert_eq!(
            refused("https://example.com\\@evil.com/cb"),
            RedirectError::Backslash
        );
        assert_eq!(refused("https:\\\\evil.com/cb"), RedirectError::Backslash);
        assert_eq!(refused("https://*.example.com/cb"), RedirectError::Wildcard);
        assert_eq!(refused("https://example.com/*"), RedirectError::Wildcard);
    }

    #[test]
    fn no_whitespace_control_or_unicode_anywhere() {
        for raw in [
            " https://example.com/cb",
            "https://example.com/cb ",
            "https://example.com/c b",
            "https://example.com/cb\n",
            "https://example.com/cb\r\nLocation: x",
            "https://exa\tmple.com/cb",
            "https://example.com/\u{0}",
            "https://example.com/\u{7f}",
            "https://exämple.com/cb",
            "https://example.com/\u{a0}",
            "https://example.com/\u{2028}",
        ] {
            assert_eq!(refused(raw), RedirectError::NotPrintable, "{raw:?}");
        }
    }

    #[test]
    fn must_be_written_in_normal_form() {
        for raw in [
            "https://example.com/a/../cb",
            "https://example.com/./cb",
            "https://example.com/a\"b",
            "https://example.com/a<b>",
            "https://example.com/cb?q='",
            "https://example.com/a`b",
        ] {
            assert_eq!(refused(raw), RedirectError::NotNormal, "{raw}");
        }
        assert!(matches!(
            refused("https://exa_mple..com:99999/cb"),
            RedirectError::BadPort
        ));
    }

    #[test]
    fn ports_and_hosts() {
        for raw in [
            "https://example.com:/cb",
            "https://example.com:0/cb",
            "https://example.com:65536/cb",
            "https://example.com:8o/cb",
            "http://[::1]x/cb",
        ] {
            assert_eq!(refused(raw), RedirectError::BadPort, "{raw}");
        }
        assert_eq!(refused("https:///cb"), RedirectError::NoHost);
        assert_eq!(refused("https://:443/cb"), RedirectError::NoHost);
        assert_eq!(refused("http://[]/cb"), RedirectError::NoHost);
        assert!(matches!(
            refused("https://exa mple.com"),
            RedirectError::NotPrintable
        ));
        assert!(matches!(refused("http://[::1/cb"), RedirectError::NoHost));
        assert!(matches!(
            refused(&format!("https://example.com/{}", "a".repeat(MAX_LEN))),
            RedirectError::TooLong
        ));
    }

    #[test]
    fn matching_is_exact_for_https() {
        let registered = ok("https://example.com/cb");
        assert!(registered.allows(&ok("https://example.com/cb")));
        for other in [
            "https://example.com/cb/",
            "https://example.com/CB",
            "https://example.com/cb?x=1",
            "https://example.com:443/cb",
            "https://example.com:8443/cb",
            "https://Example.com/cb",
            "https://evil.com/cb",
        ] {
            assert!(!registered.allows(&ok(other)), "{other}");
        }
    }

    #[test]
    fn loopback_matching_ignores_only_the_port() {
        let registered = ok("http://127.0.0.1/callback");
        assert!(registered.allows(&ok("http://127.0.0.1:51234/callback")));
        assert!(ok("http://127.0.0.1:1/callback").allows(&ok("http://127.0.0.1:2/callback")));
        assert!(ok("http://[::1]:1/cb").allows(&ok("http://[::1]:2/cb")));
        assert!(!registered.allows(&ok("http://localhost:51234/callback")));
        assert!(!registered.allows(&ok("http://127.0.0.1:51234/callback2")));
        assert!(!registered.allows(&ok("http://127.0.0.1:51234/callback?x=1")));
        assert!(!registered.allows(&ok("https://127.0.0.1:51234/callback")));
        // https loopback is not RFC 8252 loopback: exact match only.
        assert!(!ok("https://localhost:1/cb").allows(&ok("https://localhost:2/cb")));
    }

    #[test]
    fn adds_parameters_keeping_the_query() {
        let p = [("code", "c1"), ("state", "a b&c")];
        assert_eq!(
            ok("https://e.com/cb").with_params(&p),
            "https://e.com/cb?code=c1&state=a+b%26c"
        );
        assert_eq!(
            ok("https://e.com/cb?x=1").with_params(&p),
            "https://e.com/cb?x=1&code=c1&state=a+b%26c"
        );
        assert_eq!(
            ok("https://e.com/cb?").with_params(&p),
            "https://e.com/cb?code=c1&state=a+b%26c"
        );
    }

    #[test]
    fn origin_and_host() {
        assert_eq!(ok("https://e.com/cb").origin(), "https://e.com");
        assert_eq!(
            ok("http://127.0.0.1:8080/cb").origin(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(ok("http://[::1]:8080/cb").origin(), "http://[::1]:8080");
        assert_eq!(ok("http://[::1]:8080/cb").host(), "[::1]");
    }
}
