//! Turning configuration into a running [`App`]: logging, data directory,
//! sandbox, components, store.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tracing_subscriber::EnvFilter;
use url::Url;

pub use crate::access::profiles::ToolProfile;
use crate::access::workspace::WorkspaceNames;
use crate::app::App;
use crate::redact::RedactingStderr;
pub use crate::redact::Redactor;
pub use crate::sandbox::Limits;
use crate::sandbox::budget::Budget;
use crate::sandbox::upstream::{Upstream, UpstreamConfig};
use crate::sandbox::{Caller, Sandbox, ToolSource};
use crate::secret::ApiKey;
pub use crate::state::Retention;
pub use crate::state::audit::{AuditFilter, AuditKind, parse_since};
pub use crate::state::store::Location as StoreLocation;
use crate::state::store::Store;

/// Environment variable holding the local user's OpenPhone API key.
pub(crate) const API_KEY_ENV: &str = "OPENPHONE_API_KEY";
/// Environment variable overriding the OpenPhone API root.
pub const BASE_URL_ENV: &str = "OPENPHONE_API_BASE_URL";

/// How log lines are formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON when stderr is not a terminal, text otherwise.
    Auto,
    Json,
    Text,
}

/// Installs the global subscriber: redacted, to stderr.
pub fn init_logging(format: LogFormat, redactor: Arc<Redactor>) {
    let filter = EnvFilter::try_from_env("OPENPHONE_MCP_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Auto => !std::io::stderr().is_terminal(),
        LogFormat::Json => true,
        LogFormat::Text => false,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr::new(redactor));
    if json {
        // The current span (the request and its id) is enough; the list of
        // every enclosing span would repeat it.
        builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

/// The default data directory: `$XDG_DATA_HOME/openphone-mcp`, else
/// `~/.local/share/openphone-mcp`.
pub fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("openphone-mcp");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/openphone-mcp");
    }
    PathBuf::from(".openphone-mcp")
}

/// Settings common to every subcommand.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Compiled-component cache.
    pub cache_dir: PathBuf,
    pub plugins: Option<PathBuf>,
    pub base_url: Url,
    pub limits: Limits,
    pub upstream_timeout: Duration,
    /// Per-client tool profiles.
    pub profiles: Vec<ToolProfile>,
    /// How long records are kept, how often the expired are swept.
    pub retention: Retention,
    /// Where durable state lives (`--store`).
    pub store: crate::state::store::Location,
}

/// Reads the local user's key from the environment.
pub(crate) fn local_caller(redactor: &Redactor) -> anyhow::Result<Caller> {
    let Some(raw) = std::env::var_os(API_KEY_ENV) else {
        bail!(
            "{API_KEY_ENV} is not set: set it to your OpenPhone API key (OpenPhone → Settings → API), \
             or to a simulator key when testing against openphone-sim"
        );
    };
    let raw = raw
        .into_string()
        .map_err(|_| anyhow::anyhow!("{API_KEY_ENV} is not valid UTF-8"))?;
    let key = ApiKey::new(raw).with_context(|| format!("{API_KEY_ENV} is not usable"))?;
    redactor.register(key.expose());
    Ok(Caller {
        subject: "local".into(),
        workspace: WorkspaceNames::local().name(&key),
        key,
        grant: None,
    })
}

/// Loads the components and opens the store.
pub(crate) async fn build_app(
    settings: &Settings,
    redactor: Arc<Redactor>,
    persistent: bool,
) -> anyhow::Result<App> {
    let sandbox = Sandbox::new(settings.limits.clone(), Some(&settings.cache_dir))?;
    let mut sources = ToolSource::embedded();
    if let Some(dir) = &settings.plugins {
        sources.extend(ToolSource::from_dir(dir)?);
    }
    let tools = sandbox.load(sources).await?;
    let store = Arc::new(if persistent {
        Store::at(&settings.store, &settings.data_dir)?
    } else {
        Store::in_memory()?
    });
    let mut upstream = Upstream::new(
        UpstreamConfig {
            base_url: settings.base_url.clone(),
            request_timeout: settings.upstream_timeout,
            ..UpstreamConfig::default()
        },
        Arc::clone(&redactor),
    )?;
    if let Some(redis) = store.shared() {
        upstream = upstream.with_budget(Budget::shared(redis));
    }
    App::new(
        sandbox,
        tools,
        Arc::new(upstream),
        redactor,
        store,
        settings.profiles.clone(),
        settings.retention,
    )
}

/// How the multi-user server gets its deployment secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Generates a secret in the data directory on first start.
    Local,
    /// Requires a configured secret (OPENPHONE_MCP_SECRET or --secret-file).
    Production,
}

/// Settings of the OAuth side of `serve`.
#[derive(Debug, Clone)]
pub(crate) struct OAuthSettings {
    /// The server's public base URL (no trailing slash).
    pub public_url: Url,
    pub mode: Mode,
    pub secret_file: Option<PathBuf>,
    /// Earlier deployment secrets still accepted while rotating.
    pub previous_secret_files: Vec<PathBuf>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Dynamically registered clients held at most.
    pub max_clients: u64,
    /// Where error pages send a user for help.
    pub support_url: Option<Url>,
}

impl OAuthSettings {
    /// The issuer: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    /// The canonical MCP endpoint URL.
    pub fn resource(&self) -> String {
        format!("{}/mcp", self.issuer())
    }
}

/// The deployment secret for `oauth.mode`: configured (production) or
/// generated in the data directory (local). Checked before anything else
/// starts, so a misconfigured server fails at once.
pub(crate) fn load_secret(
    settings: &Settings,
    oauth: &OAuthSettings,
) -> anyhow::Result<crate::auth::key_ring::Secrets> {
    use crate::auth::deployment_secret::DeploymentSecret;

    let current = match oauth.mode {
        Mode::Production => DeploymentSecret::configured(oauth.secret_file.as_deref())?,
        Mode::Local => {
            let (secret, path) = DeploymentSecret::local(&settings.data_dir)?;
            tracing::info!(
                path = %path.display(),
                "local mode: the deployment secret is kept in this file (mode 0600); use --mode production \
                 with a configured secret for a shared deployment"
            );
            secret
        }
    };
    let previous = (oauth.previous_secret_files.iter())
        .map(|path| DeploymentSecret::configured(Some(path)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(crate::auth::key_ring::Secrets { current, previous })
}

/// Loads the vault and the auth component.
pub(crate) async fn build_oauth(
    oauth: &OAuthSettings,
    secrets: &crate::auth::key_ring::Secrets,
    app: &App,
    redactor: Arc<Redactor>,
) -> anyhow::Result<crate::access::OAuthAccess> {
    use crate::auth::key_ring::{DataKey, KeyRing};

    let store = app.shared_store();
    let ring = KeyRing::open(&store, secrets)?;
    let vault = Arc::new(crate::auth::vault::Vault::new(
        Arc::clone(&store),
        ring.key(DataKey::Vault),
        app.upstream(),
        Arc::clone(&redactor),
    ));
    let signing_key = hex::encode(ring.key(DataKey::AuthSigning).expose());
    redactor.register(&signing_key);
    let auth_settings = crate::auth::AuthSettings {
        issuer: oauth.issuer(),
        resource: oauth.resource(),
        signing_key_hex: signing_key,
        access_token_ttl_secs: oauth.access_token_ttl.as_secs(),
        refresh_token_ttl_secs: oauth.refresh_token_ttl.as_secs(),
        max_clients: oauth.max_clients,
        support_url: oauth.support_url.as_ref().map(Url::to_string),
    };
    let auth = crate::auth::AuthServer::load(
        app.sandbox(),
        openphone_guest_artifacts::AUTH,
        store,
        Arc::clone(&vault),
        &auth_settings,
        redactor,
        app.audit(),
    )
    .await?;
    Ok(crate::access::OAuthAccess {
        auth: Arc::new(auth),
        vault,
        workspaces: WorkspaceNames::keyed(ring.key(DataKey::Workspace)),
        metadata_url: openphone_mcp_protocol::http::resource_metadata_url(&oauth.issuer()),
        resource: oauth.resource(),
        store: app.shared_store(),
        verified: crate::access::verified::Verified::default(),
    })
}
