//! The address a request comes from, for rate limits and logs.
//!
//! It is the socket peer, unless the peer is a proxy named by
//! `--trusted-proxy CIDR`: then the `Forwarded` (RFC 7239) or, without it,
//! `X-Forwarded-For` chain is read from the right, skipping trusted
//! proxies, and the first address that is not one is the client. Headers
//! from anyone else are ignored, so a client cannot pick its own address.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

/// One `--trusted-proxy` value: a CIDR block or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange(IpNet);

impl FromStr for ProxyRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(ProxyRange(net.trunc()));
        }
        text.parse::<IpAddr>()
            .map(|ip| ProxyRange(IpNet::from(ip)))
            .map_err(|_| format!("`{text}`: expected an address or CIDR block, e.g. 10.0.0.0/8"))
    }
}

impl TrustedProxies {
    pub fn new(ranges: &[ProxyRange]) -> Self {
        TrustedProxies(ranges.iter().map(|r| r.0).collect())
    }

    /// True if `address` is a trusted proxy.
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client address of a request from `peer` with `headers`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers);
        let mut nearest = peer;
        for hop in chain.iter().rev() {
            match hop {
                Some(address) if self.trusts(*address) => nearest = *address,
                Some(address) => return *address,
                // An unreadable hop: believe nothing left of it.
                None => return nearest,
            }
        }
        nearest
    }
}

/// The key an address is counted under, by rate limits and connection caps
/// alike: IPv4 whole (IPv4-mapped IPv6 as IPv4), IPv6 by its /64, since one
/// host usually holds a whole /64.
pub(crate) fn counted_as(address: IpAddr) -> String {
    match canonical(address) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The forwarding chain, left (client) to right (nearest proxy); `None` for
/// a hop that is not an address (`unknown`, an obfuscated name, garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = (headers.get_all("forwarded").iter())
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return (forwarded.iter())
            .flat_map(|line| line.split(','))
            .map(|element| {
                let node = element.split(';').find_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| value.trim())
                });
                node.and_then(parse_node)
            })
            .collect();
    }
    (headers.get_all("x-forwarded-for").iter())
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(|hop| parse_node(hop.trim()))
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse::<IpAddr>().ok().map(canonical);
    }
    let (ip, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let proxies = TrustedProxies::new(&["10.0.0.0/8".parse().unwrap()]);
        let spoofed = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=198.51.100.1"),
        ]);
        assert_eq!(
            proxies.client_address(ip("192.0.2.5"), &spoofed),
            ip("192.0.2.5")
        );
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(ip("127.0.0.1"), &spoofed),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_right_to_left() {
        let proxies =
            TrustedProxies::new(&["10.0.0.0/8".parse().unwrap(), "127.0.0.1".parse().unwrap()]);
        // The client prepended a lie; the proxies appended the truth.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.1.1.1")]);
        assert_eq!(
            proxies.client_address(ip("127.0.0.1"), &chain),
            ip("203.0.113.9")
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https, for=10.9.9.9",
        )]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), &forwarded),
            ip("2001:db8::7")
        );
        // Nothing forwarded: the proxy itself.
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        // An unreadable hop: nothing left of it is believed.
        let garbage = headers(&[("x-forwarded-for", "1.2.3.4, not-an-ip, 10.1.1.1")]);
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), &garbage),
            ip("10.1.1.1")
        );
        let mapped = headers(&[("x-forwarded-for", "203.0.113.9:5555")]);
        assert_eq!(
            proxies.client_address(ip("::ffff:10.0.0.2"), &mapped),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let (a, b, c) = (
            ip("2001:db8:1:2::1"),
            ip("2001:db8:1:2:ffff::9"),
            ip("2001:db8:1:3::1"),
        );
        assert_eq!(counted_as(a), counted_as(b));
        assert_ne!(counted_as(a), counted_as(c));
        assert_eq!(counted_as(ip("::ffff:192.0.2.7")), "192.0.2.7");
    }

    #[test]
    fn parses_proxy_ranges() {
        assert!("10.0.0.0/8".parse::<ProxyRange>().is_ok());
        assert!("::1".parse::<ProxyRange>().is_ok());
        assert!("10.0.0.1/33".parse::<ProxyRange>().is_err());
        assert!("proxy.local".parse::<ProxyRange>().is_err());
    }
}
