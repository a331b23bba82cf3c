//! `Origin` and `Host` validation (Streamable HTTP security warning: servers
//! MUST validate `Origin`; checking `Host` defeats DNS rebinding).
//!
//! Both headers are parsed strictly into (scheme,) host and port — never
//! matched as substrings — and normalised (lowercase; IPv6 in canonical
//! form; the scheme's default port dropped for origins) before comparison.

use std::net::Ipv6Addr;

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

use super::{Rejection, single_header};

/// Which browser origins may call the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Exact origins, `scheme://host[:port]` (case-insensitive; a default
    /// port may be written or left out; one trailing `/` is tolerated).
    /// Entries that do not parse match nothing.
    pub allowed_origins: Vec<String>,
    /// Also allow `http`/`https` origins on `localhost`, `127.0.0.1` and
    /// `[::1]`, any port.
    pub allow_loopback: bool,
}

/// Which `Host` header values the server answers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPolicy {
    /// `host` (any port) or `host:port` (that port only), case-insensitive;
    /// IPv6 in brackets. Entries that do not parse match nothing.
    pub allowed_hosts: Vec<String>,
    /// Also allow `localhost`, `127.0.0.1` and `[::1]`, any port.
    pub allow_loopback: bool,
}

/// A parsed `host[:port]`, host lowercased (IPv6 kept in canonical bracketed
/// form).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    host: String,
    port: Option<u16>,
}

/// A parsed origin with the scheme's default port removed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    authority: Authority,
}

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Authority {
    fn is_loopback(&self) -> bool {
        LOOPBACK_HOSTS.contains(&self.host.as_str())
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority.host)?;
        match self.authority.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `host[:port]` with nothing else: no userinfo (`@`), path, query,
/// fragment, whitespace or percent-encoding. A registered name or IPv4
/// address uses letters, digits, `-`, `.`, `_`; IPv6 must be bracketed and
/// valid.
fn parse_authority(s: &str) -> Option<Authority> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let ip: Ipv6Addr = inside.parse().ok()?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(after.strip_prefix(':')?)?),
        };
        (format!("[{ip}]"), port)
    } else {
        let (host, port) = match s.split_once(':') {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (s, None),
        };
        let valid = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if host.is_empty() || !valid {
            return None;
        }
        (host.to_ascii_lowercase(), port)
    };
    Some(Authority { host, port })
}

/// `scheme://host[:port]`, as RFC 6454 serialises origins.
fn parse_origin(s: &str) -> Option<Origin> {
    let (scheme, rest) = s.split_once("://")?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let mut authority = parse_authority(rest)?;
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    if authority.port.is_some() && authority.port == default_port {
        authority.port = None;
    }
    Some(Origin { scheme, authority })
}

/// Checks the `Origin` header against `policy`.
///
/// * absent → allowed (not a browser: CLI and server-side clients);
/// * present more than once, unparseable, or `null` → 403;
/// * loopback (`http`/`https`, any port) → allowed when
///   `policy.allow_loopback`;
/// * otherwise allowed only when equal to an entry of
///   `policy.allowed_origins` → else 403.
pub fn check_origin(headers: &HeaderMap, policy: &OriginPolicy) -> Result<(), Rejection> {
    let value = single_header(headers, ORIGIN)
        .map_err(|problem| Rejection::forbidden(format!("{problem} Origin header")))?;
    let Some(value) = value else { return Ok(()) };
    if value.trim() == "null" {
        return Err(Rejection::forbidden("Origin null is not allowed"));
    }
    let origin = parse_origin(value.trim())
        .ok_or_else(|| Rejection::forbidden("malformed Origin header"))?;
    let loopback = policy.allow_loopback
        && matches!(origin.scheme.as_str(), "http" | "https")
        && origin.authority.is_loopback();
    let listed = policy.allowed_origins.iter().any(|allowed| {
        let allowed = allowed.trim();
        parse_origin(allowed.strip_suffix('/').unwrap_or(allowed)).as_ref() == Some(&origin)
    });
    if loopback || listed {
        Ok(())
    } else {
        Err(Rejection::forbidden(format!(
            "Origin {origin} is not allowed"
        )))
    }
}

/// Checks a `Host` value (or, for HTTP/2, the request's `:authority`)
/// against `policy`: missing or malformed → 400, not allowed → 403.
pub fn check_host_value(host: Option<&str>, policy: &HostPolicy) -> Result<(), Rejection> {
    let Some(host) = host else {
        return Err(Rejection::bad_request("missing Host header"));
    };
    let authority = parse_authority(host.trim())
        .ok_or_else(|| Rejection::bad_request("malformed Host header"))?;
    let loopback = policy.allow_loopback && authority.is_loopback();
    let listed = policy.allowed_hosts.iter().any(|allowed| {
        parse_authority(allowed.trim()).is_some_and(|allowed| {
            allowed.host == authority.host
                && (allowed.port.is_none() || allowed.port == authority.port)
        })
    });
    if loopback || listed {
        Ok(())
    } else {
        let shown = match authority.port {
            Some(port) => format!("{}:{port}", authority.host),
            None => authority.host,
        };
        Err(Rejection::forbidden(format!("Host {shown} is not allowed")))
    }
}

/// Checks the `Host` header against `policy` (DNS-rebinding protection):
/// missing, repeated or malformed → 400; not allowed → 403.
pub fn check_host(headers: &HeaderMap, policy: &HostPolicy) -> Result<(), Rejection> {
    let value = single_header(headers, HOST)
        .map_err(|problem| Rejection::bad_request(format!("{problem} Host header")))?;
    check_host_value(value, policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(name: http::header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            name,
            HeaderValue::from_str(value).expect("valid header value"),
        );
        h
    }

    fn origin_policy() -> OriginPolicy {
        OriginPolicy {
            allowed_origins: vec![
                "https://app.example.com".into(),
                "http://tools.internal:8080/".into(),
            ],
            allow_loopback: true,
        }
    }

    fn status(r: Result<(), Rejection>) -> u16 {
        r.err().map_or(200, |e| e.status)
    }

    #[test]
    fn origin_absent_is_allowed() {
        assert_eq!(
            status(check_origin(&HeaderMap::new(), &OriginPolicy::default())),
            200
        );
    }

    #[test]
    fn origin_allowed_list_and_normalisation() {
        let p = origin_policy();
        for ok in [
            "https://app.example.com",
            "HTTPS://APP.EXAMPLE.COM",
            "https://app.example.com:443",
            "http://tools.internal:8080",
        ] {
            assert_eq!(status(check_origin(&with(ORIGIN, ok), &p)), 200, "{ok}");
        }
        for bad in [
            "https://evil.com",
            "http://app.example.com",       // scheme differs
            "https://app.example.com:8443", // port differs
            "https://app.example.com.evil.com",
            "https://evil.com/https://app.example.com",
            "https://app.example.com@evil.com",
            "http://tools.internal",
        ] {
            assert_eq!(status(check_origin(&with(ORIGIN, bad), &p)), 403, "{bad}");
        }
    }

    #[test]
    fn origin_loopback_and_tricks() {
        let p = origin_policy();
        for ok in [
            "http://localhost",
            "http://localhost:5173",
            "https://LOCALHOST:1",
            "HTTP://127.0.0.1:3000",
            "http://[::1]:8080",
            "http://[0:0:0:0:0:0:0:1]",
        ] {
            assert_eq!(status(check_origin(&with(ORIGIN, ok), &p)), 200, "{ok}");
        }
        for bad in [
            "null",
            "http://localhost.evil.com",
            "http://127.0.0.1@evil.com",
            "http://localhost@evil.com",
            "http://evil.com#@localhost",
            "http://127.0.0.1.nip.io",
            "http://localhost:3000/path",
            "http://localhost:99999",
            "http://localhost:",
            "file://localhost",
            "localhost",
            "http://",
            "http://local host",
        ] {
            let r = check_origin(&with(ORIGIN, bad), &p);
            assert_eq!(status(r.clone()), 403, "{bad}");
            assert_eq!(
                r.err().map(|e| e.body["id"].clone()),
                Some(serde_json::Value::Null)
            );
        }
        let no_loopback = OriginPolicy {
            allow_loopback: false,
            ..origin_policy()
        };
        assert_eq!(
            status(check_origin(
                &with(ORIGIN, "http://localhost:3000"),
                &no_loopback
            )),
            403
        );
    }

    #[test]
    fn repeated_origin_is_forbidden() {
        let mut h = with(ORIGIN, "https://app.example.com");
        h.append(ORIGIN, HeaderValue::from_static("https://app.example.com"));
        assert_eq!(status(check_origin(&h, &origin_policy())), 403);
    }

    #[test]
    fn rejection_messages_say_what_was_wrong() {
        let e = check_origin(&with(ORIGIN, "https://EVIL.com:443"), &origin_policy()).err();
        assert_eq!(
            e.map(|e| e.body["error"]["message"].clone()),
            Some("Forbidden: Origin https://evil.com is not allowed".into())
        );
    }

    fn host_policy() -> HostPolicy {
        HostPolicy {
            allowed_hosts: vec!["mcp.example.com".into(), "api.example.com:8443".into()],
            allow_loopback: true,
        }
    }

    #[test]
    fn host_checks() {
        let p = host_policy();
        for ok in [
            "mcp.example.com",
            "MCP.Example.COM:443",
            "api.example.com:8443",
            "localhost:8080",
            "127.0.0.1",
            "[::1]:3000",
        ] {
            assert_eq!(status(check_host(&with(HOST, ok), &p)), 200, "{ok}");
        }
        for forbidden in [
            "evil.com",
            "api.example.com",
            "api.example.com:443",
            "localhost.evil.com",
            "mcp.example.com.evil.com",
            "127.0.0.2",
        ] {
            assert_eq!(
                status(check_host(&with(HOST, forbidden), &p)),
                403,
                "{forbidden}"
            );
        }
        for malformed in ["127.0.0.1@evil.com", "evil.com/x", "host:port", "[::1", ""] {
            assert_eq!(
                status(check_host(&with(HOST, malformed), &p)),
                400,
                "{malformed}"
            );
        }
        assert_eq!(status(check_host(&HeaderMap::new(), &p)), 400);
        let mut twice = with(HOST, "localhost");
        twice.append(HOST, HeaderValue::from_static("evil.com"));
        assert_eq!(status(check_host(&twice, &p)), 400);
        let strict = HostPolicy {
            allow_loopback: false,
            ..host_policy()
        };
        assert_eq!(
            status(check_host(&with(HOST, "localhost:8080"), &strict)),
            403
        );
        assert_eq!(
            status(check_host_value(Some("mcp.example.com"), &strict)),
            200
        );
        assert_eq!(status(check_host_value(None, &strict)), 400);
    }
}
