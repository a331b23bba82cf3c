//! `Accept` header negotiation (RFC 9110 §12.5.1), just enough to answer
//! "is media type X acceptable?".

use http::HeaderMap;
use http::header::ACCEPT;

/// One media range from `Accept`, lowercased.
#[derive(Debug, Clone, PartialEq)]
struct MediaRange {
    kind: String,
    subtype: String,
    /// The `q` weight, 0.0..=1.0 (1.0 when absent).
    q: f32,
}

impl MediaRange {
    /// 3 for `type/subtype`, 2 for `type/*`, 1 for `*/*`, `None` when the
    /// range does not cover `kind/subtype`.
    fn specificity(&self, kind: &str, subtype: &str) -> Option<u8> {
        match (self.kind.as_str(), self.subtype.as_str()) {
            ("*", "*") => Some(1),
            (k, "*") if k == kind => Some(2),
            (k, s) if k == kind && s == subtype => Some(3),
            _ => None,
        }
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An RFC 9110 qvalue: `0`, `1`, or up to three decimals.
fn parse_q(s: &str) -> Option<f32> {
    let ok = !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let q: f32 = if ok { s.parse().ok()? } else { return None };
    (0.0..=1.0).contains(&q).then_some(q)
}

/// Parses one element of the comma-separated list; `None` for malformed
/// ranges (they are ignored, i.e. they accept nothing).
fn parse_range(element: &str) -> Option<MediaRange> {
    let mut parts = element.split(';');
    let (kind, subtype) = parts.next()?.trim().split_once('/')?;
    let (kind, subtype) = (
        kind.trim().to_ascii_lowercase(),
        subtype.trim().to_ascii_lowercase(),
    );
    if !is_token(&kind) || !is_token(&subtype) || (kind == "*" && subtype != "*") {
        return None;
    }
    let mut q = 1.0;
    for param in parts {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_q(value.trim())?;
        }
    }
    Some(MediaRange { kind, subtype, q })
}

/// Every media range across all `Accept` header lines. Values that are not
/// visible ASCII are skipped. (Quoted parameter values containing commas are
/// not supported; no MCP client sends them.)
fn ranges(headers: &HeaderMap) -> Vec<MediaRange> {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|e| !e.trim().is_empty())
        .filter_map(parse_range)
        .collect()
}

/// The weight the client gives `media_type` (`type/subtype`): that of the
/// most specific matching range (the highest among equally specific ones),
/// 0.0 when nothing matches.
fn quality(ranges: &[MediaRange], media_type: &str) -> f32 {
    let Some((kind, subtype)) = media_type.split_once('/') else {
        return 0.0;
    };
    ranges
        .iter()
        .filter_map(|r| r.specificity(kind, subtype).map(|s| (s, r.q)))
        .fold(None, |best: Option<(u8, f32)>, (s, q)| match best {
            Some((bs, bq)) if bs > s || (bs == s && bq >= q) => Some((bs, bq)),
            _ => Some((s, q)),
        })
        .map_or(0.0, |(_, q)| q)
}

/// Whether every one of `media_types` is acceptable (weight above 0).
pub(super) fn accepts_all(headers: &HeaderMap, media_types: &[&str]) -> bool {
    let ranges = ranges(headers);
    media_types.iter().all(|m| quality(&ranges, m) > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn q(accept: &str, media_type: &str) -> f32 {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_str(accept).expect("valid header"));
        quality(&ranges(&h), media_type)
    }

    #[test]
    fn weights_and_precedence() {
        assert_eq!(q("application/json", "application/json"), 1.0);
        assert_eq!(q("Application/JSON", "application/json"), 1.0);
        assert_eq!(q("application/json;q=0.5", "application/json"), 0.5);
        assert_eq!(
            q(
                "application/json ; charset=utf-8 ; q=0.25",
                "application/json"
            ),
            0.25
        );
        assert_eq!(q("text/html", "application/json"), 0.0);
        assert_eq!(q("*/*;q=0.1", "application/json"), 0.1);
        assert_eq!(q("application/*", "application/json"), 1.0);
        // The most specific range wins, whatever the order.
        assert_eq!(q("application/json;q=0, */*", "application/json"), 0.0);
        assert_eq!(q("*/*, application/json;q=0", "application/json"), 0.0);
        assert_eq!(
            q("application/*;q=0, application/json", "application/json"),
            1.0
        );
    }

    #[test]
    fn malformed_ranges_accept_nothing() {
        assert_eq!(q("application/json;q=2", "application/json"), 0.0);
        assert_eq!(q("application/json;q=abc", "application/json"), 0.0);
        assert_eq!(q("application/json;q=-1", "application/json"), 0.0);
        assert_eq!(q("*/json", "application/json"), 0.0);
        assert_eq!(q("json", "application/json"), 0.0);
        assert_eq!(q("application/json;q", "application/json"), 0.0);
        // A malformed element does not spoil its neighbours.
        assert_eq!(q("bogus, application/json", "application/json"), 1.0);
    }

    #[test]
    fn multiple_header_lines_combine() {
        let mut h = HeaderMap::new();
        h.append(ACCEPT, HeaderValue::from_static("application/json"));
        h.append(ACCEPT, HeaderValue::from_static("text/event-stream"));
        assert!(accepts_all(&h, &["application/json", "text/event-stream"]));
    }
}
