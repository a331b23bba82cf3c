//! Fetching OAuth Client ID Metadata Documents for the auth component.
//!
//! A `client_id` that is a URL is fetched from the open internet at a
//! client's request, which makes it a classic server-side request forgery
//! vector. The rules are enforced here, whatever the component asks: HTTPS
//! only, no redirects, every address the name resolves to must be public
//! (the connection is pinned to the checked address, so a second DNS answer
//! cannot point it elsewhere, and no proxy from the environment is used),
//! a 5 s limit and a 5 KiB body. The component — and so the client — only
//! learns that the document could not be fetched ([`NOT_FETCHED`]); why is
//! for the operator's log, so the endpoint is no scanner of addresses and
//! ports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use futures::StreamExt as _;
use url::Url;

/// All a client is told when a document could not be fetched.
pub const NOT_FETCHED: &str = "the client's metadata document could not be fetched";

/// Largest document accepted.
pub const MAX_BYTES: usize = 5 * 1024;
/// Time allowed for the whole fetch, name lookup included.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a document could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("unusable answer: {0}")]
    BadAnswer(String),
    #[error("unreachable: {0}")]
    Unreachable(String),
}

/// Fetches one document under the rules above.
pub async fn fetch(url: &str) -> Result<Vec<u8>, FetchError> {
    tokio::time::timeout(TIMEOUT, fetch_checked(url))
        .await
        .map_err(|_| FetchError::Unreachable(format!("no answer within {} s", TIMEOUT.as_secs())))?
}

async fn fetch_checked(url: &str) -> Result<Vec<u8>, FetchError> {
    let parsed = Url::parse(url).map_err(|e| FetchError::Refused(format!("not a URL: {e}")))?;
    if parsed.scheme() != "https" {
        return Err(FetchError::Refused("only https URLs are fetched".into()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| FetchError::Refused("the URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| FetchError::Unreachable(format!("name lookup failed: {e}")))?
        .collect();
    let Some(&first) = addresses.first() else {
        return Err(FetchError::Unreachable("the name has no address".into()));
    };
    if let Some(private) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(FetchError::Refused(format!(
            "{host} resolves to a non-public address ({})",
            private.ip()
        )));
    }
    fetch_pinned(parsed, &host, first).await
}

/// Fetches `url` from `address` (already checked), whatever proxies the
/// environment names.
async fn fetch_pinned(url: Url, host: &str, address: SocketAddr) -> Result<Vec<u8>, FetchError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host, address)
        .timeout(TIMEOUT)
        .user_agent(concat!("openphone-mcp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Unreachable(format!("{e}")))?;
    let response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| FetchError::Unreachable(format!("{e}")))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(FetchError::BadAnswer(format!(
            "HTTP {}",
            response.status().as_u16()
        )));
    }
    let json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if !json {
        return Err(FetchError::BadAnswer("the document is not JSON".into()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BYTES as u64)
    {
        return Err(FetchError::BadAnswer(format!(
            "larger than {MAX_BYTES} bytes"
        )));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FetchError::Unreachable(format!("{e}")))?;
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(FetchError::BadAnswer(format!(
                "larger than {MAX_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// True for addresses on the public internet; false for loopback, private,
/// link-local, shared, documentation, multicast, reserved and unspecified
/// ranges, and for IPv6 forms that embed an IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 // NAT64 and local-use translation
        || first == 0x0100 // discard-only
        || first == 0 // IPv4-compatible and other reserved forms
        || first == 0x2002) // 6to4 embeds IPv4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "2002:a00:1::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn refuses_non_https_and_private_targets() {
        assert!(matches!(
            fetch("http://example.com/client.json").await,
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            fetch("https://127.0.0.1/client.json").await,
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            fetch("https://[::1]:8443/client.json").await,
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            fetch("https://localhost/client.json").await,
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            fetch("not a url").await,
            Err(FetchError::Refused(_))
        ));
    }

    /// Run by [`proxies_in_the_environment_are_not_used`] in a child
    /// process whose environment names a proxy.
    #[tokio::test]
    #[ignore = "run by proxies_in_the_environment_are_not_used"]
    async fn pinned_fetch_goes_direct() {
        let pinned = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = pinned.local_addr().unwrap();
        let url = Url::parse("https://metadata.example/client.json").unwrap();
        let fetch =
            tokio::spawn(async move { fetch_pinned(url, "metadata.example", address).await });
        let accepted = tokio::time::timeout(Duration::from_secs(5), pinned.accept()).await;
        assert!(
            accepted.is_ok(),
            "the fetch connected to the pinned address itself"
        );
        drop(accepted);
        assert!(
            fetch.await.unwrap().is_err(),
            "no TLS there: the fetch fails"
        );
    }

    #[test]
    fn proxies_in_the_environment_are_not_used() {
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        proxy.set_nonblocking(true).unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "auth::client_metadata::tests::pinned_fetch_goes_direct",
                "--ignored",
                "--quiet",
            ])
            .env("HTTPS_PROXY", &proxy_url)
            .env("https_proxy", &proxy_url)
            .env("ALL_PROXY", &proxy_url)
            .output()
            .unwrap();
        assert!(
            child.status.success(),
            "the child test failed: {}",
            String::from_utf8_lossy(&child.stdout)
        );
        assert!(
            proxy.accept().is_err(),
            "the proxy named in the environment was contacted"
        );
    }
}
