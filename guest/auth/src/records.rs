//! Where state lives in the `auth` bucket, and typed access to it.
//!
//! # Key layout
//!
//! | key | value | expires |
//! | --- | --- | --- |
//! | `client/<sha256-hex(client_id)>` | [`ClientRecord`](crate::client::ClientRecord): both kinds, `revoked` and `granted` flags | 24 h after registration while no grant was made; then never |
//! | `cimd/<sha256-hex(url)>` | [`CachedDocument`](crate::metadata::CachedDocument): a fetched Client ID Metadata Document | 1 h after the fetch |
//! | `grant/<grant-id>` | [`GrantRecord`](crate::grant::GrantRecord): scopes, the one live access and refresh token hash, `revoked` | the refresh token's expiry (codes: 10 min); revoked ones are kept 7 days for `admin` |
//! | `code/<hmac-hex(code)>` | [`CodeRecord`](crate::grant::CodeRecord): grant, client, redirect URI, PKCE challenge, scopes | 10 min |
//! | `code-used/<hmac-hex(code)>` | `wasi:keyvalue/atomics` counter: > 1 means the code was replayed | with its `code/` record |
//! | `access/<hmac-hex(token)>` | [`TokenRecord`](crate::grant::TokenRecord) of an access token | `access_token_ttl_secs` |
//! | `refresh/<hmac-hex(token)>` | [`TokenRecord`](crate::grant::TokenRecord) of a refresh token; kept after rotation so a replay is recognised | `refresh_token_ttl_secs` |
//! | `meta/client-count` | `wasi:keyvalue/atomics` counter of dynamic clients held, for `max_clients` | never |
//!
//! Tokens and codes are stored only as HMAC-SHA-256 under a key derived
//! from `signing_key` (hex): a copy of the store yields nothing to present,
//! and someone who can write to the store still cannot plant a record for a
//! token of their choosing. Client ids are hashed only to keep keys short
//! and free of URL characters (a metadata-document client id is a URL).
//!
//! Every record is JSON with an `expires_at` (Unix seconds, absent for
//! clients). An expired record is treated as absent; [`crate::sweep`]
//! deletes them (and the vault keys of expired grants), driven page by page
//! by the host in the background.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto;
use crate::fault::Fault;
use crate::kv::KeyValue;

/// A JSON record in the bucket.
pub trait Record: Serialize + DeserializeOwned {
    /// Unix seconds after which the record counts as absent.
    fn expires_at(&self) -> Option<u64>;

    /// Whether the record is still in force at `now`.
    fn is_live(&self, now: u64) -> bool {
        self.expires_at().is_none_or(|at| now < at)
    }
}

/// A decoded record with the bytes it was read from (for compare-and-swap).
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub value: T,
    pub raw: Vec<u8>,
}

/// `client/…` key of a client id.
pub fn client_key(client_id: &str) -> String {
    format!(
        "client/{}",
        hex::encode(crypto::sha256(client_id.as_bytes()))
    )
}

/// `cimd/…` key of a metadata document URL.
pub fn document_key(url: &str) -> String {
    format!("cimd/{}", hex::encode(crypto::sha256(url.as_bytes())))
}

/// `grant/…` key of a grant id.
pub fn grant_key(grant: &str) -> String {
    format!("grant/{grant}")
}

/// `code/…` key of a code's hash.
pub fn code_key(hash: &str) -> String {
    format!("code/{hash}")
}

/// `code-used/…` counter key of a code's hash.
pub fn code_used_key(hash: &str) -> String {
    format!("code-used/{hash}")
}

/// `access/…` key of an access token's hash.
pub fn access_key(hash: &str) -> String {
    format!("access/{hash}")
}

/// `refresh/…` key of a refresh token's hash.
pub fn refresh_key(hash: &str) -> String {
    format!("refresh/{hash}")
}

/// The counter of dynamic clients held, checked against `max_clients`.
pub const CLIENT_COUNT_KEY: &str = "meta/client-count";

/// Reads and decodes the record under `key`, expired or not.
pub fn read<T: Record>(store: &dyn KeyValue, key: &str) -> Result<Option<Stored<T>>, Fault> {
    let Some(raw) = store.get(key)? else {
        return Ok(None);
    };
    let value = serde_json::from_slice(&raw).map_err(|e| Fault::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Some(Stored { value, raw }))
}

/// Reads the record under `key` if it exists and has not expired.
pub fn read_live<T: Record>(
    store: &dyn KeyValue,
    key: &str,
    now: u64,
) -> Result<Option<Stored<T>>, Fault> {
    Ok(read::<T>(store, key)?.filter(|s| s.value.is_live(now)))
}

/// Encodes a record.
pub fn encode<T: Record>(value: &T) -> Vec<u8> {
    // Records are plain structs of strings, numbers and lists: encoding
    // cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Stores `value` under `key`.
pub fn write<T: Record>(store: &dyn KeyValue, key: &str, value: &T) -> Result<(), Fault> {
    store.set(key, &encode(value))?;
    Ok(())
}

/// How many times [`modify`] re-reads after losing a compare-and-swap.
const ATTEMPTS: usize = 8;

/// Applies `change` to the live record under `key` with compare-and-swap,
/// re-reading and re-applying when a concurrent writer got there first.
/// Returns the record as written, or `None` when there is no live record.
pub fn modify<T: Record + Clone>(
    store: &dyn KeyValue,
    key: &str,
    now: u64,
    mut change: impl FnMut(&mut T),
) -> Result<Option<T>, Fault> {
    for _ in 0..ATTEMPTS {
        let Some(stored) = read_live::<T>(store, key, now)? else {
            return Ok(None);
        };
        let mut value = stored.value.clone();
        change(&mut value);
        if store.swap_if(key, Some(&stored.raw), &encode(&value))? {
            return Ok(Some(value));
        }
    }
    Err(Fault::Contention(key.to_owned()))
}
