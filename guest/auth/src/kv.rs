//! The key-value store, as a trait with the semantics of
//! `wasi:keyvalue/store` and `wasi:keyvalue/atomics@0.2.0-draft2`: plain
//! get/set/delete, paged key listing, an atomic counter and a
//! compare-and-swap. The sandbox implements it over the `auth` bucket; tests
//! over a map.

/// The store failed. The message comes from the host and names no secret
/// (keys are hashes or random ids).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the auth store failed: {0}")]
pub struct StoreError(pub String);

/// One page of keys from [`KeyValue::list_keys`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPage {
    pub keys: Vec<String>,
    /// Pass back to get the next page; `None` when this was the last.
    pub cursor: Option<String>,
}

/// A bucket of byte values under string keys.
pub trait KeyValue {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` under `key`, replacing any value.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;

    /// Removes `key`; absent is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// One page of keys, in no particular order.
    fn list_keys(&self, cursor: Option<&str>) -> Result<KeyPage, StoreError>;

    /// Atomically adds `delta` to the counter under `key` (created at
    /// `delta` when absent) and returns the new value. Counter keys hold the
    /// host's encoding: they are never read with [`get`](KeyValue::get).
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;

    /// Atomically replaces the value under `key` with `new`, but only if it
    /// is still `expected` (`None`: still absent). `Ok(false)` means someone
    /// else changed it first and nothing was written.
    fn swap_if(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError>;
}

/// Every key in the bucket that starts with `prefix`, across all pages.
pub fn keys_with_prefix(store: &dyn KeyValue, prefix: &str) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_keys(cursor.as_deref())?;
        found.extend(page.keys.into_iter().filter(|k| k.starts_with(prefix)));
        match page.cursor {
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            _ => return Ok(found),
        }
    }
}
