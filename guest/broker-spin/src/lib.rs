//! The broker for Fermyon Spin 3.x: variables come from
//! `wasi:config/store@0.2.0-draft-2024-09-27`, ledgers and the shared API
//! budget live in the `default` key-value store
//! (`wasi:keyvalue@0.2.0-draft2`). Everything else is the shared broker.
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

impl openphone_broker::Platform for Spin {
    fn setting(name: &str) -> Option<String> {
        config::get(name).ok().flatten().filter(|v| !v.is_empty())
    }

    fn load(key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        bucket()?.get(key).map_err(failed)
    }

    fn store(key: &str, value: &[u8]) -> Result<(), StoreError> {
        bucket()?.set(key, value).map_err(failed)
    }

    fn forget(key: &str) -> Result<(), StoreError> {
        bucket()?.delete(key).map_err(failed)
    }

    fn increment(key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&bucket()?, key, delta).map_err(failed)
    }
}

openphone_broker::export_broker!(Spin);
