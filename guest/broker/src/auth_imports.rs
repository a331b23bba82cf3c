//! The auth component's imports, as the broker exports them: the vault,
//! client metadata fetches (refused), the audit trail (as log lines), and
//! views of the host's settings and store (see [`crate::auth_view`]).

use std::marker::PhantomData;

use crate::bindings::exports::openphone::mcp::audit::{self, EventKind};
use crate::bindings::exports::openphone::mcp::broker::BrokerError;
use crate::bindings::exports::openphone::mcp::client_metadata::{self, FetchError};
use crate::bindings::exports::openphone::mcp::vault::{self, VaultError};
use crate::bindings::exports::wasi::config0_2_0_draft_2024_09_27::store as config;
use crate::bindings::exports::wasi::keyvalue::atomics::{self, Cas, CasError};
use crate::bindings::exports::wasi::keyvalue::store::{self, Bucket, BucketBorrow, KeyResponse};
use crate::bindings::wasi::random0_2_6::random;
use crate::exports::{KeyCheck, auth_settings, check_key, emit, vault_key};
use crate::vault::{self as sealed, NONCE_BYTES};
use crate::{Broker, Platform, StoreError, auth_view};

fn broker_message(error: BrokerError) -> String {
    match error {
        BrokerError::Misconfigured(m) | BrokerError::Unavailable(m) => m,
        BrokerError::NoKey => "the grant has no key".into(),
    }
}

impl<P: Platform> vault::Guest for Broker<P> {
    fn check(candidate: String) -> Result<(), VaultError> {
        check_key::<P>(&candidate).map_err(|e| match e {
            KeyCheck::Rejected(status) => {
                VaultError::KeyRejected(format!("OpenPhone answered {status}"))
            }
            KeyCheck::Unavailable(m) => VaultError::Unavailable(m),
        })
    }

    fn seal(grant: String, key: String) -> Result<(), VaultError> {
        if !openphone_mcp_protocol::catalog::is_api_key_shaped(&key) {
            return Err(VaultError::KeyRejected("not an API key".into()));
        }
        let vault = vault_key::<P>().map_err(|e| VaultError::Store(broker_message(e)))?;
        let mut nonce = [0u8; NONCE_BYTES];
        let random = random::get_random_bytes(NONCE_BYTES as u64);
        if random.len() != NONCE_BYTES {
            return Err(VaultError::Store(
                "the host gave too few random bytes".into(),
            ));
        }
        nonce.copy_from_slice(&random);
        let value = vault.seal(&grant, &key, nonce);
        P::store(&sealed::entry_key(&grant), &value).map_err(|e| VaultError::Store(e.to_string()))
    }

    fn delete(grant: String) -> Result<(), VaultError> {
        P::forget(&sealed::entry_key(&grant)).map_err(|e| VaultError::Store(e.to_string()))
    }
}

/// Why metadata documents are not fetched here.
const NO_METADATA_FETCHES: &str = "this deployment cannot enforce the rules for fetching client \
     metadata documents (public addresses only); register the client with dynamic registration \
     (POST /register) instead";

impl<P: Platform> client_metadata::Guest for Broker<P> {
    /// Refused: a guest cannot see where a name resolves, so the rule that
    /// a document be fetched from public addresses only (no loopback or
    /// private networks) cannot be kept; clients register dynamically.
    fn fetch(_url: String) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::Refused(NO_METADATA_FETCHES.into()))
    }
}

impl<P: Platform> audit::Guest for Broker<P> {
    /// One log line an event (`audit: {...}`): these hosts have no query
    /// for a store, so the trail is the host's log (Spin's, `wasmtime
    /// serve`'s stderr), kept as long as the operator keeps logs.
    fn append(event: audit::Event) {
        let kind = match event.kind {
            EventKind::ClientRegistered => "client-registered",
            EventKind::ConsentApproved => "consent-approved",
            EventKind::ConsentDenied => "consent-denied",
            EventKind::KeyRejected => "key-rejected",
            EventKind::TokenRefreshed => "token-refreshed",
            EventKind::RefreshReused => "refresh-reused",
            EventKind::CodeReplayed => "code-replayed",
        };
        let line = serde_json::json!({
            "kind": kind,
            "client_id": event.client_id,
            "grant": event.grant,
            "scopes": event.scopes,
        });
        emit::<P>("info", &format!("audit: {line}"));
    }
}

impl<P: Platform> config::Guest for Broker<P> {
    fn get(key: String) -> Result<Option<String>, config::Error> {
        let settings =
            auth_settings::<P>().map_err(|e| config::Error::Upstream(broker_message(e)))?;
        Ok(settings.get(&key))
    }

    fn get_all() -> Result<Vec<(String, String)>, config::Error> {
        let settings =
            auth_settings::<P>().map_err(|e| config::Error::Upstream(broker_message(e)))?;
        Ok(settings.all())
    }
}

fn store_error(error: StoreError) -> store::Error {
    match error {
        StoreError::Absent => store::Error::Other("this host has no durable store".into()),
        StoreError::Failed(m) => store::Error::Other(m),
    }
}

/// The `auth` bucket: a prefix of the host's store.
#[derive(Debug)]
pub struct AuthBucket<P>(PhantomData<P>);

impl<P: Platform> store::Guest for Broker<P> {
    type Bucket = AuthBucket<P>;

    fn open(identifier: String) -> Result<Bucket, store::Error> {
        if identifier != auth_view::BUCKET {
            return Err(store::Error::NoSuchStore);
        }
        Ok(Bucket::new(AuthBucket::<P>(PhantomData)))
    }
}

impl<P: Platform> store::GuestBucket for AuthBucket<P> {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, store::Error> {
        P::load(&auth_view::stored_key(&key)).map_err(store_error)
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), store::Error> {
        P::store(&auth_view::stored_key(&key), &value).map_err(store_error)
    }

    fn delete(&self, key: String) -> Result<(), store::Error> {
        P::forget(&auth_view::stored_key(&key)).map_err(store_error)
    }

    fn exists(&self, key: String) -> Result<bool, store::Error> {
        Ok(self.get(key)?.is_some())
    }

    /// Pages of [`auth_view::PAGE`] keys, in order, after `cursor`.
    fn list_keys(&self, cursor: Option<String>) -> Result<KeyResponse, store::Error> {
        let keys = P::keys(&auth_view::stored_key(""))
            .map_err(store_error)?
            .iter()
            .filter_map(|stored| auth_view::bucket_key(stored).map(str::to_owned))
            .collect();
        let (keys, cursor) = auth_view::page(keys, cursor.as_deref());
        Ok(KeyResponse { keys, cursor })
    }
}

/// A compare-and-swap handle: the key and the value it was read with.
#[derive(Debug)]
pub struct AuthCas<P> {
    key: String,
    current: Option<Vec<u8>>,
    platform: PhantomData<P>,
}

impl<P: Platform> AuthCas<P> {
    fn read(key: String) -> Result<Self, store::Error> {
        let current = P::load(&auth_view::stored_key(&key)).map_err(store_error)?;
        Ok(Self {
            key,
            current,
            platform: PhantomData,
        })
    }
}

impl<P: Platform> atomics::GuestCas for AuthCas<P> {
    fn new(_bucket: BucketBorrow<'_>, key: String) -> Result<Cas, store::Error> {
        Ok(Cas::new(Self::read(key)?))
    }

    fn current(&self) -> Result<Option<Vec<u8>>, store::Error> {
        Ok(self.current.clone())
    }
}

impl<P: Platform> atomics::Guest for Broker<P> {
    type Cas = AuthCas<P>;

    fn increment(_bucket: BucketBorrow<'_>, key: String, delta: i64) -> Result<i64, store::Error> {
        P::increment(&auth_view::stored_key(&key), delta).map_err(store_error)
    }

    fn swap(cas: Cas, value: Vec<u8>) -> Result<(), CasError> {
        let cas: AuthCas<P> = cas.into_inner();
        let stored = auth_view::stored_key(&cas.key);
        match P::swap_if(&stored, cas.current.as_deref(), &value) {
            Ok(true) => Ok(()),
            Ok(false) => match AuthCas::<P>::read(cas.key) {
                Ok(fresh) => Err(CasError::CasFailed(Cas::new(fresh))),
                Err(e) => Err(CasError::StoreError(e)),
            },
            Err(e) => {
                emit::<P>("warn", &format!("a compare-and-swap failed: {e}"));
                Err(CasError::StoreError(store_error(e)))
            }
        }
    }
}
