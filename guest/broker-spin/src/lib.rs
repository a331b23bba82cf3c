//! The broker for Fermyon Spin 3.x: variables come from
//! `wasi:config/store@0.2.0-draft-2024-09-27`; ledgers, the shared API
//! budget, sealed keys and the auth component's bucket live in the
//! `default` key-value store (`wasi:keyvalue@0.2.0-draft2`), so Spin serves
//! OAuth mode too. Everything else is the shared broker.
#![forbid(unsafe_code)]

mod spin {
    wit_bindgen::generate!({
        world: "spin-settings",
        path: "../../wit",
        generate_all,
    });
}

use openphone_broker::StoreError;
use spin::wasi::config0_2_0_draft_2024_09_27::store as config;
use spin::wasi::keyvalue::{atomics, store};

/// Spin's variables and key-value store.
#[derive(Debug)]
pub struct Spin;

/// The key-value store `spin.toml` grants.
const STORE: &str = "default";

fn failed(error: store::Error) -> StoreError {
    StoreError::Failed(match error {
        store::Error::NoSuchStore => "the key-value store `default` is not granted".into(),
        store::Error::AccessDenied => "access to the key-value store was denied".into(),
        store::Error::Other(message) => message,
    })
}

fn bucket() -> Result<store::Bucket, StoreError> {
    store::open(STORE).map_err(failed)
}

/// The counter that decides who creates `key`.
fn creation_counter(key: &str) -> String {
    format!("created/{key}")
}

impl openphone_broker::Platform for Spin {
    const DURABLE: bool = true;

    fn setting(name: &str) -> Option<String> {
        config::get(name).ok().flatten().filter(|v| !v.is_empty())
    }

    fn load(key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        bucket()?.get(key).map_err(failed)
    }

    fn store(key: &str, value: &[u8]) -> Result<(), StoreError> {
        bucket()?.set(key, value).map_err(failed)
    }

    /// Also resets the key's creation counter (see `swap_if`), after the
    /// key itself: a creator racing the deletion then fails, never both win.
    fn forget(key: &str) -> Result<(), StoreError> {
        let bucket = bucket()?;
        bucket.delete(key).map_err(failed)?;
        bucket.delete(&creation_counter(key)).map_err(failed)
    }

    fn increment(key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&bucket()?, key, delta).map_err(failed)
    }

    fn keys(prefix: &str) -> Result<Vec<String>, StoreError> {
        let bucket = bucket()?;
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = bucket.list_keys(cursor.as_deref()).map_err(failed)?;
            keys.extend(page.keys.into_iter().filter(|k| k.starts_with(prefix)));
            match page.cursor {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => return Ok(keys),
            }
        }
    }

    /// Spin's compare-and-swap for an entry that exists: the handle
    /// remembers the value it read, and the swap fails if it changed since.
    /// Creation is different: Spin 3.6.3's SQLite store *upserts* an entry
    /// that was absent when read, so two requests could both create it.
    /// An entry is therefore created only by the request whose atomic
    /// increment of a counter beside it returns 1; `forget` resets it.
    fn swap_if(key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        let bucket = bucket()?;
        let Some(expected) = expected else {
            if atomics::increment(&bucket, &creation_counter(key), 1).map_err(failed)? != 1 {
                return Ok(false);
            }
            if bucket.get(key).map_err(failed)?.is_some() {
                return Ok(false);
            }
            return bucket.set(key, new).map(|()| true).map_err(failed);
        };
        let cas = atomics::Cas::new(&bucket, key).map_err(failed)?;
        if cas.current().map_err(failed)?.as_deref() != Some(expected) {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(failed(e)),
        }
    }
}

openphone_broker::export_broker!(Spin);
