//! What each subcommand does, once the command line is parsed: the short
//! bodies `main.rs` dispatches to.

use crate::state::audit::AuditLog;
use crate::state::store::Store;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use openphone_mcp_protocol::http::{HostPolicy, OriginPolicy};
use url::Url;

use crate::access::Access;
use crate::access::client_address::TrustedProxies;
use crate::access::rate_limit::{Counters, LocalCounters, RateLimits, SharedCounters};
use crate::auth::admin;
use crate::auth::key_ring::Secrets;
use crate::redact::Redactor;
use crate::sandbox::Caller;
use crate::startup::{self, Mode, OAuthSettings, Settings};
use crate::state::sweep::Sweeper;
use crate::transport::http::{self, HttpConfig, HttpState};

pub use crate::access::client_address::ProxyRange;
pub use crate::access::rate_limit::RuleLimit;
pub use crate::auth::admin::Request as AdminRequest;
pub use crate::transport::listener::ConnectionLimits;

/// Entries the background sweep looks at per table per run.
const SWEEP_BUDGET: usize = 2_000;

/// `openphone-mcp tools`: each loaded tool, its scope and its component.
pub async fn tools(settings: &Settings, redactor: Arc<Redactor>) -> anyhow::Result<()> {
    let app = startup::build_app(settings, redactor, false).await?;
    for component in app.components() {
        for tool in &component.descriptors {
            println!("{:<28} {:<16} {}", tool.name, tool.scope, component.origin);
        }
    }
    Ok(())
}

/// `openphone-mcp admin`: asks the running server, or opens the store when
/// none runs.
pub async fn admin(
    settings: &Settings,
    redactor: Arc<Redactor>,
    request: AdminRequest,
    json: bool,
    mode: Mode,
    (secret_file, previous_secret_files): (Option<PathBuf>, Vec<PathBuf>),
) -> anyhow::Result<()> {
    let answer = match admin::ask_server(&settings.data_dir, &request).await? {
        Some(answer) => answer,
        // Reading the trail needs neither the components nor a secret.
        None if matches!(request, AdminRequest::Audit(_)) => {
            let store = Arc::new(Store::at(&settings.store, &settings.data_dir)?);
            let admin = admin::Admin {
                auth: None,
                audit: Arc::new(AuditLog::new(
                    Arc::clone(&store),
                    settings.retention.audit,
                    redactor,
                )),
                store,
                secrets: None,
            };
            admin::run(&admin, &request).await?
        }
        None => {
            let oauth = OAuthSettings {
                public_url: Url::parse("http://127.0.0.1")?,
                mode,
                secret_file,
                previous_secret_files,
                access_token_ttl: Duration::from_secs(86_400),
                refresh_token_ttl: Duration::from_secs(86_400),
                max_clients: u64::MAX,
                support_url: None,
            };
            let secrets = startup::load_secret(settings, &oauth)?;
            let app = startup::build_app(settings, Arc::clone(&redactor), true).await?;
            let access = startup::build_oauth(&oauth, &secrets, &app, redactor).await?;
            let admin = admin::Admin {
                auth: Some(access.auth),
                store: app.shared_store(),
                secrets: Some(Arc::new(secrets)),
                audit: app.audit(),
            };
            admin::run(&admin, &request).await?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        admin::print(&answer);
    }
    Ok(())
}

/// `openphone-mcp stdio`: one local user on stdin/stdout.
pub async fn stdio(settings: &Settings, redactor: Arc<Redactor>) -> anyhow::Result<()> {
    let caller = startup::local_caller(&redactor)?;
    let app = Arc::new(startup::build_app(settings, redactor, false).await?);
    Sweeper::new(app.shared_store(), SWEEP_BUDGET).spawn(settings.retention.sweep_every);
    tracing::info!(tools = app.catalog().len(), "serving MCP on stdio");
    crate::transport::stdio::run(app, caller).await
}

/// What `serve` is asked for besides the common settings.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Where Prometheus metrics are served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    pub single_user: bool,
    pub public_url: Option<Url>,
    pub mode: Mode,
    pub secret_file: Option<PathBuf>,
    /// Earlier deployment secrets still accepted while rotating.
    pub previous_secret_files: Vec<PathBuf>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub allowed_origins: Vec<String>,
    pub allowed_hosts: Vec<String>,
    /// Changes to the default rate limits.
    pub rate_limits: Vec<RuleLimit>,
    /// Proxies whose `Forwarded`/`X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ProxyRange>,
    /// Open connections and how long a client may take to send headers.
    pub connections: ConnectionLimits,
    /// How long a request's whole body may take to arrive.
    pub body_read: Duration,
    /// Dynamically registered OAuth clients held at most.
    pub max_clients: u64,
    /// Where error pages send a user for help.
    pub support_url: Option<Url>,
    /// How often expired OAuth records are swept.
    pub auth_sweep_every: Duration,
}

/// Whom `serve` serves.
enum Users {
    /// `--single-user`: the key from the environment.
    Local(Caller),
    /// OAuth clients, their keys sealed under the deployment secret.
    OAuth(OAuthSettings, Secrets),
}

/// `openphone-mcp serve`: Streamable HTTP for one local user or for OAuth
/// clients, until SIGINT or SIGTERM.
pub async fn serve(
    settings: &Settings,
    redactor: Arc<Redactor>,
    mut options: ServeOptions,
) -> anyhow::Result<()> {
    check_serve_options(settings, &options)?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    let local = listener.local_addr()?;
    if let Some(address) = options.metrics_listen {
        serve_metrics(address).await?;
    }
    // Configuration errors (no key, no secret) are found before the
    // components are compiled.
    let users = if options.single_user {
        Users::Local(startup::local_caller(&redactor)?)
    } else {
        let oauth = oauth_settings(&mut options, local)?;
        let secrets = startup::load_secret(settings, &oauth)?;
        Users::OAuth(oauth, secrets)
    };
    let app = Arc::new(startup::build_app(settings, Arc::clone(&redactor), true).await?);
    Sweeper::new(app.shared_store(), SWEEP_BUDGET).spawn(settings.retention.sweep_every);
    let (access, auth, admin, mcp_url) = match users {
        Users::Local(caller) => {
            let admin = admin::Admin {
                auth: None,
                store: app.shared_store(),
                secrets: None,
                audit: app.audit(),
            };
            (
                Access::SingleUser(caller),
                None,
                admin,
                format!("http://{local}/mcp"),
            )
        }
        Users::OAuth(oauth, secrets) => {
            let access = startup::build_oauth(&oauth, &secrets, &app, redactor).await?;
            let auth = Arc::clone(&access.auth);
            auth.spawn_sweeper(options.auth_sweep_every);
            let admin = admin::Admin {
                auth: Some(Arc::clone(&auth)),
                store: app.shared_store(),
                secrets: Some(Arc::new(secrets)),
                audit: app.audit(),
            };
            tracing::info!(issuer = %oauth.issuer(), "OAuth authorization server ready");
            let resource = oauth.resource();
            (Access::OAuth(access), Some(auth), admin, resource)
        }
    };
    // `admin` reaches a running server here: the store is open in it.
    #[cfg(unix)]
    admin::serve_socket(&settings.data_dir, Arc::new(admin)).await?;
    let state = Arc::new(http_state(Arc::clone(&app), access, auth, options, mcp_url));
    tracing::info!(
        address = %local,
        tools = app.catalog().len(),
        data_dir = %settings.data_dir.display(),
        "serving MCP at http://{local}/mcp"
    );
    http::serve(state, listener, shutdown_signal()).await
}

/// The checks of `serve`'s options that need neither a socket nor the
/// components (also `config check`'s): loopback for a single user, a usable
/// public URL and, in production, a usable deployment secret.
pub fn check_serve_options(settings: &Settings, options: &ServeOptions) -> anyhow::Result<()> {
    if options.single_user {
        if !options.listen.ip().is_loopback() {
            bail!(
                "--single-user serves one local user without authorization, so it only listens on loopback \
                 addresses (127.0.0.1, ::1), not {}",
                options.listen
            );
        }
        return Ok(());
    }
    if let Some(url) = &options.support_url
        && !matches!(url.scheme(), "https" | "http" | "mailto")
    {
        bail!("--support-url must be an https, http or mailto URL, not {url}");
    }
    let mut oauth_options = options.clone();
    let oauth = oauth_settings(&mut oauth_options, options.listen)?;
    if oauth.mode == Mode::Production {
        startup::load_secret(settings, &oauth)?;
    }
    Ok(())
}

/// Installs the metrics recorder and serves `/metrics` on `address` for as
/// long as the process lives (scrapes go on while a shutdown drains).
async fn serve_metrics(address: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for metrics on {address}"))?;
    let local = listener.local_addr()?;
    let handle = crate::telemetry::install().context("installing the metrics recorder")?;
    tracing::info!(address = %local, "serving Prometheus metrics at http://{local}/metrics");
    tokio::spawn(async move {
        if let Err(error) = crate::telemetry::serve(listener, handle, std::future::pending()).await
        {
            tracing::error!(error = %format!("{error:#}"), "the metrics listener stopped");
        }
    });
    Ok(())
}

/// The HTTP transport's state: rate limits (their idle counters swept
/// every minute), connection limits and the Host and Origin policies.
fn http_state(
    app: Arc<crate::app::App>,
    access: Access,
    auth: Option<Arc<crate::auth::AuthServer>>,
    options: ServeOptions,
    mcp_url: String,
) -> HttpState {
    let counters: Arc<dyn Counters> = match app.store().shared() {
        Some(redis) => Arc::new(SharedCounters::new(redis, &options.rate_limits)),
        None => Arc::new(LocalCounters::new(&options.rate_limits)),
    };
    let limits = RateLimits::new(counters);
    limits.spawn_sweeper(Duration::from_secs(60));
    HttpState {
        app,
        config: HttpConfig {
            connections: options.connections,
            body_read: options.body_read,
            // In production only the public origin and `--allowed-origin`
            // may drive `/mcp` from a browser, not any page on loopback.
            origins: OriginPolicy {
                allowed_origins: options.allowed_origins,
                allow_loopback: options.single_user || options.mode != Mode::Production,
            },
            hosts: HostPolicy {
                allowed_hosts: options.allowed_hosts,
                allow_loopback: true,
            },
        },
        access,
        auth,
        limits,
        proxies: TrustedProxies::new(&options.trusted_proxies),
        draining: std::sync::atomic::AtomicBool::new(false),
        mcp_url,
    }
}

/// The OAuth settings of `serve`; the public origin joins the allowed
/// origins and hosts.
fn oauth_settings(options: &mut ServeOptions, local: SocketAddr) -> anyhow::Result<OAuthSettings> {
    let public_url = public_url_for(options.public_url.clone(), local)?;
    options
        .allowed_origins
        .push(public_url.origin().ascii_serialization());
    if let Some(host) = public_url.host_str() {
        options.allowed_hosts.push(match public_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        });
    }
    Ok(OAuthSettings {
        public_url,
        mode: options.mode,
        secret_file: options.secret_file.clone(),
        previous_secret_files: options.previous_secret_files.clone(),
        access_token_ttl: options.access_token_ttl.max(Duration::from_secs(60)),
        refresh_token_ttl: options.refresh_token_ttl.max(Duration::from_secs(60)),
        max_clients: options.max_clients.max(1),
        support_url: options.support_url.clone(),
    })
}

/// The public URL: as given (https, or http on loopback), else derived from
/// a loopback listen address.
fn public_url_for(given: Option<Url>, local: SocketAddr) -> anyhow::Result<Url> {
    let url = match given {
        Some(url) => url,
        None if local.ip().is_loopback() => Url::parse(&format!("http://{local}"))?,
        None => bail!(
            "serving OAuth clients on {local} needs --public-url: the https URL clients reach this server at \
             (e.g. https://mcp.example.com, behind a TLS-terminating proxy)"
        ),
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        bail!("--public-url must be https (http only for loopback addresses), not {url}");
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        bail!("--public-url must be a bare origin such as https://mcp.example.com, not {url}");
    }
    Ok(url)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_https_or_loopback_origins() {
        let local: SocketAddr = "127.0.0.1:8787".parse().unwrap();
        assert_eq!(
            public_url_for(None, local).unwrap().as_str(),
            "http://127.0.0.1:8787/"
        );
        let wide: SocketAddr = "0.0.0.0:8787".parse().unwrap();
        assert!(public_url_for(None, wide).is_err());
        for bad in [
            "http://mcp.example.com",
            "https://mcp.example.com/mcp",
            "https://mcp.example.com/?a=1",
        ] {
            assert!(
                public_url_for(Some(Url::parse(bad).unwrap()), wide).is_err(),
                "{bad}"
            );
        }
        assert!(public_url_for(Some(Url::parse("https://mcp.example.com").unwrap()), wide).is_ok());
        assert!(public_url_for(Some(Url::parse("http://localhost:9000").unwrap()), wide).is_ok());
    }
}
