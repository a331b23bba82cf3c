//! `wasi:keyvalue@0.2.0-draft2` (store and atomics) over the host's store.
//!
//! The auth component has one bucket, `auth`; its keys live in the store's
//! `Auth` table as `auth/KEY`. `increment` and compare-and-swap are single
//! store transactions, so they are atomic across concurrent calls.

use wasmtime::component::Resource;

use super::AuthState;
use super::wit::wasi::keyvalue::{atomics, store};
use crate::state::store::Table;

/// The only bucket the auth component may open.
pub const BUCKET: &str = "auth";
/// Keys returned per `list-keys` page.
const PAGE: usize = 500;

/// An open bucket (the `bucket` resource).
#[derive(Debug)]
pub struct Bucket {
    prefix: String,
}

/// A compare-and-swap in progress: the value seen when it began.
#[derive(Debug)]
pub struct Cas {
    key: String,
    seen: Option<Vec<u8>>,
}

fn other(error: anyhow::Error) -> store::Error {
    tracing::error!(error = %format!("{error:#}"), "auth store failed");
    store::Error::Other("the server's store failed".into())
}

impl AuthState {
    fn bucket(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<&Bucket> {
        Ok(self.table.get(bucket)?)
    }

    fn full_key(&self, bucket: &Resource<Bucket>, key: &str) -> wasmtime::Result<String> {
        Ok(format!("{}{key}", self.bucket(bucket)?.prefix))
    }
}

impl store::Host for AuthState {
    fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, store::Error>> {
        if identifier != BUCKET {
            return Ok(Err(store::Error::NoSuchStore));
        }
        let bucket = self.table.push(Bucket {
            prefix: format!("{BUCKET}/"),
        })?;
        Ok(Ok(bucket))
    }
}

impl store::HostBucket for AuthState {
    fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        let key = self.full_key(&bucket, &key)?;
        Ok(self.store.get(Table::Auth, &key).map_err(other))
    }

    fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let key = self.full_key(&bucket, &key)?;
        Ok(self.store.put(Table::Auth, &key, &value, 0).map_err(other))
    }

    fn delete(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let key = self.full_key(&bucket, &key)?;
        Ok(self
            .store
            .remove(Table::Auth, &key)
            .map(|_| ())
            .map_err(other))
    }

    fn exists(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, store::Error>> {
        let key = self.full_key(&bucket, &key)?;
        Ok(self
            .store
            .get(Table::Auth, &key)
            .map(|v| v.is_some())
            .map_err(other))
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        let prefix = self.bucket(&bucket)?.prefix.clone();
        let after = cursor.map(|c| format!("{prefix}{c}"));
        let keys = match self
            .store
            .keys_with_prefix(Table::Auth, &prefix, after.as_deref(), PAGE)
        {
            Ok(keys) => keys,
            Err(error) => return Ok(Err(other(error))),
        };
        let keys: Vec<String> = keys
            .into_iter()
            .map(|k| k[prefix.len()..].to_owned())
            .collect();
        let cursor = (keys.len() == PAGE).then(|| keys[PAGE - 1].clone());
        Ok(Ok(store::KeyResponse { keys, cursor }))
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for AuthState {
    fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, store::Error>> {
        let key = self.full_key(&bucket, &key)?;
        Ok(self
            .store
            .increment(Table::Auth, &key, delta)
            .map_err(other))
    }

    fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let Cas { key, seen } = self.table.delete(cas)?;
        let swapped = match &seen {
            None => self.store.put_if_absent(Table::Auth, &key, &value, 0),
            Some(seen) => self
                .store
                .compare_and_put(Table::Auth, &key, seen, &value, 0),
        };
        match swapped {
            Ok(true) => Ok(Ok(())),
            Ok(false) => {
                let seen = match self.store.get(Table::Auth, &key) {
                    Ok(seen) => seen,
                    Err(error) => return Ok(Err(atomics::CasError::StoreError(other(error)))),
                };
                let retry = self.table.push(Cas { key, seen })?;
                Ok(Err(atomics::CasError::CasFailed(retry)))
            }
            Err(error) => Ok(Err(atomics::CasError::StoreError(other(error)))),
        }
    }
}

impl atomics::HostCas for AuthState {
    fn new(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<Cas>, store::Error>> {
        let key = self.full_key(&bucket, &key)?;
        let seen = match self.store.get(Table::Auth, &key) {
            Ok(seen) => seen,
            Err(error) => return Ok(Err(other(error))),
        };
        Ok(Ok(self.table.push(Cas { key, seen })?))
    }

    fn current(
        &mut self,
        cas: Resource<Cas>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(Ok(self.table.get(&cas)?.seen.clone()))
    }

    fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}
