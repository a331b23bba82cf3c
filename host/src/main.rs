//! `openphone-mcp`: the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use openphone_mcp::access::Access;
use openphone_mcp::admin;
use openphone_mcp::http::{self, HttpConfig, HttpState};
use openphone_mcp::profiles::ToolProfile;
use openphone_mcp::redact::Redactor;
use openphone_mcp::sandbox::Limits;
use openphone_mcp::startup::{self, BASE_URL_ENV, LogFormat, OAuthSettings, Settings};
use openphone_mcp_protocol::http::{HostPolicy, OriginPolicy};
use url::Url;

/// MCP server for the OpenPhone (Quo) API. Tools run as sandboxed
/// WebAssembly components; the API key never reaches them.
#[derive(Debug, Parser)]
#[command(name = "openphone-mcp", version, about)]
struct Cli {
    /// Where state (store, compiled components, the local deployment
    /// secret, the admin socket) is kept
    /// [default: $XDG_DATA_HOME/openphone-mcp or ~/.local/share/openphone-mcp].
    #[arg(long, global = true, env = "OPENPHONE_MCP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where compiled components are cached [default: DATA_DIR/cache].
    #[arg(long, global = true, env = "OPENPHONE_MCP_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Also load every `*.wasm` tool component in this directory.
    #[arg(long, global = true, env = "OPENPHONE_MCP_PLUGINS")]
    plugins: Option<PathBuf>,
    /// OpenPhone API root (without /v1); point it at openphone-sim to test.
    #[arg(long, global = true, env = BASE_URL_ENV, default_value = "https://api.openphone.com")]
    api_base_url: Url,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    log_format: LogFormat,
    /// Show clients whose name (clientInfo.name) contains CLIENT only these
    /// tools: CLIENT=tool,tool; or match the HTTP User-Agent with
    /// user-agent:TEXT=tool,tool. Repeatable (or `;`-separated in the
    /// environment); the first match wins; other clients see every tool.
    #[arg(
        long = "tool-profile",
        global = true,
        value_name = "CLIENT=TOOLS",
        env = "OPENPHONE_MCP_TOOL_PROFILES",
        value_delimiter = ';'
    )]
    tool_profiles: Vec<ToolProfile>,
    /// Memory one tool call may use, in MiB.
    #[arg(long, global = true, default_value_t = 64)]
    memory_mib: usize,
    /// Time one tool call may take, in seconds.
    #[arg(long, global = true, default_value_t = 60)]
    call_timeout_secs: u64,
    /// Time one OpenPhone request may take, in seconds.
    #[arg(long, global = true, default_value_t = 20)]
    upstream_timeout_secs: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve MCP over Streamable HTTP at /mcp: for OAuth clients, or with
    /// --single-user for one local user.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        /// One local user, no authorization: the key comes from
        /// OPENPHONE_API_KEY. Loopback addresses only.
        #[arg(long)]
        single_user: bool,
        /// The server's public base URL, as clients reach it (https, or http on
        /// loopback) [default: http://LISTEN when it is a loopback address].
        #[arg(long, env = "OPENPHONE_MCP_PUBLIC_URL")]
        public_url: Option<Url>,
        /// `local` generates the deployment secret in the data directory;
        /// `production` requires OPENPHONE_MCP_SECRET or --secret-file.
        #[arg(long, value_enum, default_value = "local", env = "OPENPHONE_MCP_MODE")]
        mode: startup::Mode,
        /// File holding the deployment secret (at least 32 bytes).
        #[arg(long, env = "OPENPHONE_MCP_SECRET_FILE")]
        secret_file: Option<PathBuf>,
        /// Lifetime of an access token, in seconds.
        #[arg(long, default_value_t = 86_400)]
        access_token_ttl_secs: u64,
        /// Lifetime of a refresh token, in seconds (each use rotates it).
        #[arg(long, default_value_t = 30 * 86_400)]
        refresh_token_ttl_secs: u64,
        /// Browser origins allowed besides loopback ones (scheme://host[:port]); repeatable.
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
        /// Host header values allowed besides loopback names; repeatable.
        #[arg(long = "allowed-host")]
        allowed_hosts: Vec<String>,
    },
    /// Serve MCP on stdin/stdout for one local user (key from OPENPHONE_API_KEY).
    Stdio,
    /// List the loaded tools and the component each comes from.
    Tools,
    /// List or revoke OAuth clients and grants (talks to the running server
    /// on this data directory, or opens its store when none runs).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// As for `serve`, when no server is running: how to find the
        /// deployment secret.
        #[arg(long, value_enum, default_value = "local", env = "OPENPHONE_MCP_MODE")]
        mode: startup::Mode,
        /// As for `serve`, when no server is running.
        #[arg(long, env = "OPENPHONE_MCP_SECRET_FILE")]
        secret_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Registered clients.
    Clients,
    /// Grants (a user's consent to a client).
    Grants,
    /// Revoke a grant: its tokens stop working and its key is deleted.
    RevokeGrant { grant: String },
    /// Revoke a client and all its grants.
    RevokeClient { client_id: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let redactor = Arc::new(Redactor::new());
    startup::init_logging(cli.log_format, Arc::clone(&redactor));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, redactor)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "exiting");
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli, redactor: Arc<Redactor>) -> anyhow::Result<()> {
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(startup::default_data_dir);
    let settings = Settings {
        cache_dir: cli
            .cache_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("cache")),
        data_dir,
        plugins: cli.plugins.clone(),
        base_url: cli.api_base_url.clone(),
        limits: Limits {
            memory_bytes: cli.memory_mib.max(1) << 20,
            call_timeout: Duration::from_secs(cli.call_timeout_secs.max(1)),
            ..Limits::default()
        },
        upstream_timeout: Duration::from_secs(cli.upstream_timeout_secs.max(1)),
        profiles: cli.tool_profiles.clone(),
    };
    match cli.command {
        Command::Tools => {
            let app = startup::build_app(&settings, redactor, false).await?;
            for component in app.components() {
                for tool in &component.descriptors {
                    println!("{:<28} {:<16} {}", tool.name, tool.scope, component.origin);
                }
            }
            Ok(())
        }
        Command::Admin {
            action,
            json,
            mode,
            secret_file,
        } => {
            let request = match action {
                AdminAction::Clients => admin::Request::Clients,
                AdminAction::Grants => admin::Request::Grants,
                AdminAction::RevokeGrant { grant } => admin::Request::RevokeGrant(grant),
                AdminAction::RevokeClient { client_id } => admin::Request::RevokeClient(client_id),
            };
            let answer = match admin::ask_server(&settings.data_dir, &request).await? {
                Some(answer) => answer,
                None => {
                    let oauth = OAuthSettings {
                        public_url: Url::parse("http://127.0.0.1")?,
                        mode,
                        secret_file,
                        access_token_ttl: Duration::from_secs(86_400),
                        refresh_token_ttl: Duration::from_secs(86_400),
                    };
                    let secret = startup::load_secret(&settings, &oauth)?;
                    let app = startup::build_app(&settings, Arc::clone(&redactor), true).await?;
                    let access = startup::build_oauth(&oauth, &secret, &app, redactor).await?;
                    admin::run(&access.auth, &request).await?
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else {
                admin::print(&answer);
            }
            Ok(())
        }
        Command::Stdio => {
            let caller = startup::local_caller(&redactor)?;
            let app = Arc::new(startup::build_app(&settings, redactor, false).await?);
            tracing::info!(tools = app.catalog().len(), "serving MCP on stdio");
            openphone_mcp::stdio::run(app, caller).await
        }
        Command::Serve {
            listen,
            single_user,
            public_url,
            mode,
            secret_file,
            access_token_ttl_secs,
            refresh_token_ttl_secs,
            mut allowed_origins,
            mut allowed_hosts,
        } => {
            if single_user && !listen.ip().is_loopback() {
                bail!(
                    "--single-user serves one local user without authorization, so it only listens on loopback \
                     addresses (127.0.0.1, ::1), not {listen}"
                );
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let local = listener.local_addr()?;
            let (access, auth, app) = if single_user {
                let caller = startup::local_caller(&redactor)?;
                let app = Arc::new(startup::build_app(&settings, redactor, true).await?);
                (Access::SingleUser(caller), None, app)
            } else {
                let public_url = public_url_for(public_url, local)?;
                allowed_origins.push(public_url.origin().ascii_serialization());
                if let Some(host) = public_url.host_str() {
                    allowed_hosts.push(match public_url.port() {
                        Some(port) => format!("{host}:{port}"),
                        None => host.to_owned(),
                    });
                }
                let oauth = OAuthSettings {
                    public_url,
                    mode,
                    secret_file,
                    access_token_ttl: Duration::from_secs(access_token_ttl_secs.max(60)),
                    refresh_token_ttl: Duration::from_secs(refresh_token_ttl_secs.max(60)),
                };
                let secret = startup::load_secret(&settings, &oauth)?;
                let app =
                    Arc::new(startup::build_app(&settings, Arc::clone(&redactor), true).await?);
                let access = startup::build_oauth(&oauth, &secret, &app, redactor).await?;
                let auth = Arc::clone(&access.auth);
                #[cfg(unix)]
                admin::serve_socket(&settings.data_dir, Arc::clone(&auth)).await?;
                tracing::info!(issuer = %oauth.issuer(), "OAuth authorization server ready");
                (Access::OAuth(access), Some(auth), app)
            };
            let state = Arc::new(HttpState {
                app: Arc::clone(&app),
                config: HttpConfig {
                    listen: local,
                    origins: OriginPolicy {
                        allowed_origins,
                        allow_loopback: true,
                    },
                    hosts: HostPolicy {
                        allowed_hosts,
                        allow_loopback: true,
                    },
                },
                access,
                auth,
            });
            tracing::info!(
                address = %local,
                tools = app.catalog().len(),
                data_dir = %settings.data_dir.display(),
                "serving MCP at http://{local}/mcp"
            );
            http::serve(state, listener, shutdown_signal()).await
        }
    }
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
