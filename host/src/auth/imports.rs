//! The auth component's imports besides key-value: settings, the vault,
//! client metadata fetches and logging.

use super::AuthState;
use super::wit::openphone::mcp::{audit, client_metadata, log, types, vault};
use super::wit::wasi::config0_2_0_draft_2024_09_27::store as config;
use crate::auth::client_metadata as fetcher;
use crate::auth::vault::VaultError;
use crate::secret::ApiKey;

impl types::Host for AuthState {}

impl config::Host for AuthState {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, config::Error>> {
        Ok(Ok(self
            .settings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, config::Error>> {
        Ok(Ok(self.settings.as_ref().clone()))
    }
}

fn to_wit(error: VaultError) -> vault::VaultError {
    match error {
        VaultError::KeyRejected(m) => vault::VaultError::KeyRejected(m),
        VaultError::Unavailable(m) => vault::VaultError::Unavailable(m),
        VaultError::Store(m) => vault::VaultError::Store(m),
    }
}

/// A candidate that cannot be a header value is refused as OpenPhone would.
fn parse_key(key: String) -> Result<ApiKey, vault::VaultError> {
    ApiKey::new(key)
        .map_err(|_| vault::VaultError::KeyRejected("that is not an OpenPhone API key".into()))
}

impl vault::Host for AuthState {
    async fn check(&mut self, candidate: String) -> Result<(), vault::VaultError> {
        let key = parse_key(candidate)?;
        self.vault.check(&key).await.map_err(to_wit)
    }

    fn seal(
        &mut self,
        grant: String,
        key: String,
    ) -> wasmtime::Result<Result<(), vault::VaultError>> {
        let key = match parse_key(key) {
            Ok(key) => key,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.vault.seal(&grant, &key).map_err(to_wit))
    }

    fn delete(&mut self, grant: String) -> wasmtime::Result<Result<(), vault::VaultError>> {
        Ok(self.vault.delete(&grant).map_err(to_wit))
    }
}

impl client_metadata::Host for AuthState {
    async fn fetch(&mut self, url: String) -> Result<Vec<u8>, client_metadata::FetchError> {
        fetcher::fetch(&url).await.map_err(|error| {
            // The cause is for the operator; the client learns only that it failed.
            tracing::info!(error = %error, "client metadata document not fetched");
            client_metadata::FetchError::Unreachable(fetcher::NOT_FETCHED.into())
        })
    }
}

impl log::Host for AuthState {
    fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let message = self.redactor.redact(&message);
        match level {
            log::Level::Trace => tracing::trace!(component = "auth", guest = true, "{message}"),
            log::Level::Debug => tracing::debug!(component = "auth", guest = true, "{message}"),
            log::Level::Info => tracing::info!(component = "auth", guest = true, "{message}"),
            log::Level::Warn => tracing::warn!(component = "auth", guest = true, "{message}"),
            log::Level::Error => tracing::error!(component = "auth", guest = true, "{message}"),
        }
        Ok(())
    }

    fn progress(
        &mut self,
        _progress: f64,
        _total: Option<f64>,
        _message: Option<String>,
    ) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl audit::Host for AuthState {
    fn append(&mut self, event: audit::Event) -> wasmtime::Result<()> {
        use crate::state::audit::{AuditEvent, AuditKind};
        let kind = match event.kind {
            audit::EventKind::ClientRegistered => AuditKind::ClientRegistered,
            audit::EventKind::ConsentApproved => AuditKind::ConsentApproved,
            audit::EventKind::ConsentDenied => AuditKind::ConsentDenied,
            audit::EventKind::KeyRejected => AuditKind::KeyRejected,
            audit::EventKind::TokenRefreshed => AuditKind::TokenRefreshed,
            audit::EventKind::RefreshReused => AuditKind::RefreshReused,
            audit::EventKind::CodeReplayed => AuditKind::CodeReplayed,
        };
        // Ids and scopes only; the redactor still passes over them, as over
        // everything a component writes.
        let clean = |text: String| self.redactor.redact(&text);
        let recorded = AuditEvent {
            kind: Some(kind),
            client_id: event.client_id.map(clean),
            grant: event.grant.map(clean),
            scopes: event.scopes.into_iter().map(clean).collect(),
            ..AuditEvent::default()
        };
        self.audit.append(recorded, &self.origin);
        Ok(())
    }
}
