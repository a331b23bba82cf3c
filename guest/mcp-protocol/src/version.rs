//! MCP protocol revisions this crate speaks, and version negotiation.
//!
//! Versions are plain strings (`YYYY-MM-DD`) on the wire. We keep them as
//! `&'static str` here and convert to [`rmcp::model::ProtocolVersion`] only
//! when building rmcp result payloads ([`to_rmcp`]).

use rmcp::model::ProtocolVersion;

/// The newest revision we implement; the answer to an unsupported request.
pub const LATEST: &str = "2025-11-25";

/// The revision a Streamable HTTP server must assume when a request carries
/// no `MCP-Protocol-Version` header and no version was negotiated (spec
/// 2025-06-18, "Protocol Version Header": backwards compatibility).
pub const HTTP_DEFAULT: &str = "2025-03-26";

/// Every revision we implement, newest first.
pub const SUPPORTED: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// The only supported revision that allows JSON-RPC batches (they were
/// removed in 2025-06-18).
pub const BATCH_VERSION: &str = "2025-03-26";

/// The supported revision equal to `requested`, if any.
///
/// Returns the crate's `'static` copy so callers can hold it without
/// allocating.
pub fn supported(requested: &str) -> Option<&'static str> {
    SUPPORTED.iter().copied().find(|v| *v == requested)
}

/// Version negotiation as the server side of `initialize`: echo the client's
/// version when we support it, otherwise answer with [`LATEST`] (the client
/// then decides whether it can continue).
pub fn negotiate(requested: &str) -> &'static str {
    supported(requested).unwrap_or(LATEST)
}

/// Whether a JSON-RPC batch is acceptable under `version`.
pub fn allows_batch(version: &str) -> bool {
    version == BATCH_VERSION
}

/// The rmcp constant for one of our supported versions (any other string is
/// passed through unchanged, which rmcp also supports).
pub fn to_rmcp(version: &str) -> ProtocolVersion {
    match version {
        "2025-11-25" => ProtocolVersion::V_2025_11_25,
        "2025-06-18" => ProtocolVersion::V_2025_06_18,
        "2025-03-26" => ProtocolVersion::V_2025_03_26,
        // Not reachable for negotiated versions; rmcp's deserializer keeps
        // unknown strings, so round-trip through serde instead of panicking.
        other => serde_json::from_value(serde_json::Value::String(other.to_owned()))
            .unwrap_or(ProtocolVersion::V_2025_11_25),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_is_first_supported() {
        assert_eq!(SUPPORTED[0], LATEST);
        assert!(SUPPORTED.contains(&HTTP_DEFAULT));
    }

    #[test]
    fn negotiation_echoes_supported_and_falls_back_to_latest() {
        assert_eq!(negotiate("2025-06-18"), "2025-06-18");
        assert_eq!(negotiate("2025-03-26"), "2025-03-26");
        assert_eq!(negotiate("2024-11-05"), LATEST);
        assert_eq!(negotiate("2099-01-01"), LATEST);
        assert_eq!(negotiate(""), LATEST);
    }

    #[test]
    fn only_2025_03_26_allows_batches() {
        assert!(allows_batch("2025-03-26"));
        assert!(!allows_batch("2025-06-18"));
        assert!(!allows_batch("2025-11-25"));
    }

    #[test]
    fn rmcp_conversion_round_trips() {
        for v in SUPPORTED {
            assert_eq!(to_rmcp(v).as_str(), *v);
        }
    }
}
