//! The OAuth scopes this server offers: the one list the host uses, for the
//! scopes a `401` challenge advertises and to refuse a tool component that
//! asks for a scope no grant can hold (the list itself is the protocol
//! crate's, shared with the gateway of composed hosts). The auth component offers the same
//! four on its consent page (`guest/auth/src/scope.rs`).

/// Every scope a grant can hold, in the order challenges list them.
pub(crate) use openphone_mcp_protocol::catalog::OFFERED_SCOPES as OFFERED;

/// True if `scope` is one this server offers.
pub(crate) fn is_offered(scope: &str) -> bool {
    OFFERED.contains(&scope)
}
