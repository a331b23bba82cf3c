//! The broker of composed deployments: the one component with capabilities.
//!
//! On hosts that cannot provide the `openphone:mcp` interfaces (Spin, stock
//! `wasmtime serve`), the tools' `upstream`, `ledger` and `log` imports and
//! the gateway's `broker` import are plugged into this component at build
//! time. It holds the API key (read from the host's settings, never handed
//! to a tool), sends to the configured API base only, spaces requests to the
//! API's 10 per second, retries only reads, and redacts every log line.
//!
//! In OAuth mode it also stands between the auth component and the host:
//! it seals users' keys in the vault, and exports the auth component's
//! settings and bucket as views (see [`auth_view`]).
//!
//! What differs per host family is where settings come from: a broker crate
//! per host implements [`Platform`] and calls [`export_broker!`].
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
mod auth_imports;
pub mod auth_view;
pub mod bindings;
#[cfg(target_arch = "wasm32")]
mod exports;
#[cfg(target_arch = "wasm32")]
mod http;
pub mod ledger;
pub mod outcomes;
pub mod pacing;
pub mod redact;
pub mod request;
pub mod retention;
pub mod session;
pub mod vault;

#[cfg(target_arch = "wasm32")]
pub use exports::Broker;

/// Setting names, valid Spin variable names (`[a-z0-9_]`).
pub mod settings {
    /// The OpenPhone API key: single-user mode when set.
    pub const API_KEY: &str = "openphone_api_key";
    /// The API base, `https://api.openphone.com` when unset.
    pub const API_BASE_URL: &str = "openphone_api_base_url";
    /// The deployment secret: OAuth mode when set (and no API key).
    pub const DEPLOYMENT_SECRET: &str = "deployment_secret";
    /// The server's public origin.
    pub const PUBLIC_URL: &str = "public_url";
    /// Per-client tool profiles, `;`-separated.
    pub const TOOL_PROFILES: &str = "tool_profiles";
}

/// Why the host's key-value store could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// This host keeps no state between requests.
    #[error("this host has no durable store")]
    Absent,
    /// The store failed; the message says how.
    #[error("the store failed: {0}")]
    Failed(String),
}

/// What a host family supplies: settings, and a durable key-value store
/// where it has one (ledgers then survive the request, and the API budget
/// is shared by concurrent requests).
pub trait Platform: 'static {
    /// True if the store below keeps its entries between requests (OAuth
    /// mode needs one; without one it is refused as misconfigured).
    const DURABLE: bool = false;

    /// The setting `name` (see [`settings`]); `None` when unset or empty.
    fn setting(name: &str) -> Option<String>;

    /// The value under `key`; `Ok(None)` when absent.
    fn load(_key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::Absent)
    }

    /// Stores `value` under `key`; durable once it returns `Ok`.
    fn store(_key: &str, _value: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::Absent)
    }

    /// Forgets `key` (absent is not an error).
    fn forget(_key: &str) -> Result<(), StoreError> {
        Err(StoreError::Absent)
    }

    /// Adds `delta` to the counter under `key` atomically; the new value.
    fn increment(_key: &str, _delta: i64) -> Result<i64, StoreError> {
        Err(StoreError::Absent)
    }

    /// Every key starting with `prefix`.
    fn keys(_prefix: &str) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Absent)
    }

    /// Stores `new` under `key` if its value is `expected` (`None`: absent),
    /// atomically; false (nothing written) if it was not.
    fn swap_if(_key: &str, _expected: Option<&[u8]>, _new: &[u8]) -> Result<bool, StoreError> {
        Err(StoreError::Absent)
    }
}

/// Exports `Broker<$platform>` as the component's broker exports.
#[macro_export]
macro_rules! export_broker {
    ($platform:ty) => {
        #[cfg(target_arch = "wasm32")]
        type Component = $crate::Broker<$platform>;
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export!(Component with_types_in $crate::bindings);
    };
}
