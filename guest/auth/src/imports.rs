//! The traits implemented over the component's imports: the `auth` bucket
//! (`wasi:keyvalue`), the settings (`wasi:config`), the vault, metadata
//! fetches and logging. Compiled everywhere so type errors show in native
//! builds, called only inside the sandbox.

use crate::audit::{Audit, Event, Kind};
use crate::bindings::openphone::mcp::{
    audit as wit_audit, client_metadata, log as wit_log, vault as wit_vault,
};
use crate::bindings::wasi::config0_2_0_draft_2024_09_27::store as wit_config;
use crate::bindings::wasi::keyvalue::{atomics, store as wit_store};
use crate::kv::{KeyPage, KeyValue, StoreError};
use crate::log::{Level, Log};
use crate::metadata::{FetchError, MetadataFetcher};
use crate::secret::ApiKey;
use crate::settings::{Settings, SettingsError};
use crate::vault::{Vault, VaultError};

/// The bucket the component keeps its state in.
pub const BUCKET: &str = "auth";

/// Reads the settings from `wasi:config/store`.
pub fn load_settings() -> Result<Settings, SettingsError> {
    Settings::load(|name| {
        wit_config::get(name).map_err(|e| match e {
            wit_config::Error::Upstream(m) | wit_config::Error::Io(m) => m,
        })
    })
}

fn store_error(e: wit_store::Error) -> StoreError {
    StoreError(match e {
        wit_store::Error::NoSuchStore => format!("the bucket `{BUCKET}` does not exist"),
        wit_store::Error::AccessDenied => format!("access to the bucket `{BUCKET}` was denied"),
        wit_store::Error::Other(m) => m,
    })
}

/// The `auth` bucket.
#[derive(Debug)]
pub struct HostStore {
    bucket: wit_store::Bucket,
}

impl HostStore {
    /// Opens the `auth` bucket.
    pub fn open() -> Result<Self, StoreError> {
        Ok(HostStore {
            bucket: wit_store::open(BUCKET).map_err(store_error)?,
        })
    }
}

impl KeyValue for HostStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(key).map_err(store_error)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.bucket.set(key, value).map_err(store_error)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.bucket.delete(key).map_err(store_error)
    }

    fn list_keys(&self, cursor: Option<&str>) -> Result<KeyPage, StoreError> {
        let page = self.bucket.list_keys(cursor).map_err(store_error)?;
        Ok(KeyPage {
            keys: page.keys,
            cursor: page.cursor,
        })
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.bucket, key, delta).map_err(store_error)
    }

    fn swap_if(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(store_error)?;
        if cas.current().map_err(store_error)?.as_deref() != expected {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(store_error(e)),
        }
    }
}

/// The host's vault.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostVault;

fn vault_error(e: wit_vault::VaultError) -> VaultError {
    match e {
        wit_vault::VaultError::KeyRejected(m) => VaultError::KeyRejected(m),
        wit_vault::VaultError::Unavailable(m) => VaultError::Unavailable(m),
        wit_vault::VaultError::Store(m) => VaultError::Store(m),
    }
}

impl Vault for HostVault {
    fn check(&self, candidate: &ApiKey) -> Result<(), VaultError> {
        wit_vault::check(candidate.expose()).map_err(vault_error)
    }

    fn seal(&self, grant: &str, key: &ApiKey) -> Result<(), VaultError> {
        wit_vault::seal(grant, key.expose()).map_err(vault_error)
    }

    fn delete(&self, grant: &str) -> Result<(), VaultError> {
        wit_vault::delete(grant).map_err(vault_error)
    }
}

/// Metadata documents fetched by the host.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostFetcher;

impl MetadataFetcher for HostFetcher {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        client_metadata::fetch(url).map_err(|e| match e {
            client_metadata::FetchError::Refused(m) => FetchError::Refused(m),
            client_metadata::FetchError::BadAnswer(m) => FetchError::BadAnswer(m),
            client_metadata::FetchError::Unreachable(m) => FetchError::Unreachable(m),
        })
    }
}

/// The host's log.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostLog;

impl Log for HostLog {
    fn write(&self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => wit_log::Level::Debug,
            Level::Info => wit_log::Level::Info,
            Level::Warn => wit_log::Level::Warn,
            Level::Error => wit_log::Level::Error,
        };
        wit_log::write(level, message);
    }
}

/// The host's audit trail.
#[derive(Debug)]
pub struct HostAudit;

impl Audit for HostAudit {
    fn append(&self, event: Event) {
        let kind = match event.kind {
            Kind::ClientRegistered => wit_audit::EventKind::ClientRegistered,
            Kind::ConsentApproved => wit_audit::EventKind::ConsentApproved,
            Kind::ConsentDenied => wit_audit::EventKind::ConsentDenied,
            Kind::KeyRejected => wit_audit::EventKind::KeyRejected,
            Kind::TokenRefreshed => wit_audit::EventKind::TokenRefreshed,
            Kind::RefreshReused => wit_audit::EventKind::RefreshReused,
            Kind::CodeReplayed => wit_audit::EventKind::CodeReplayed,
        };
        wit_audit::append(&wit_audit::Event {
            kind,
            client_id: event.client_id,
            grant: event.grant,
            scopes: event.scopes,
        });
    }
}
