//! `openphone-mcp`: the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use openphone_mcp::command::{
    self, AdminRequest, ConnectionLimits, ProxyRange, RuleLimit, ServeOptions,
};
use openphone_mcp::config_file::{self, Merge};
use openphone_mcp::startup::{
    self, BASE_URL_ENV, Limits, LogFormat, Mode, Redactor, Retention, Settings, StoreLocation,
    ToolProfile,
};
use openphone_mcp::startup::{AuditFilter, AuditKind, parse_since};
use url::Url;

/// MCP server for the OpenPhone (Quo) API. Tools run as sandboxed
/// WebAssembly components; the API key never reaches them.
#[derive(Debug, Parser)]
#[command(name = "openphone-mcp", version, about)]
struct Cli {
    /// A TOML file of options under their flag names (`listen = "0.0.0.0:8787"`,
    /// `tool-profile = ["chatgpt=send-message"]`); flags and the environment
    /// win over it. `openphone-mcp config check` shows the result.
    #[arg(long, global = true, value_name = "PATH", env = "OPENPHONE_MCP_CONFIG")]
    config: Option<PathBuf>,
    /// Where state (store, compiled components, the local deployment
    /// secret, the admin socket) is kept
    /// [default: $XDG_DATA_HOME/openphone-mcp or ~/.local/share/openphone-mcp].
    #[arg(long, global = true, env = "OPENPHONE_MCP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where durable state is kept: `redb` (a file in DATA_DIR, for one
    /// process) or `redis://HOST:PORT[/DB]` / `rediss://…` (one Redis shared
    /// by every replica of a deployment).
    #[arg(
        long,
        global = true,
        value_name = "redb|redis://…",
        env = "OPENPHONE_MCP_STORE",
        default_value = "redb"
    )]
    store: StoreLocation,
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
    /// tools: CLIENT=tool,tool (commas or spaces between tools); or match the
    /// HTTP User-Agent with user-agent:TEXT=tool,tool. Repeatable (or `;`-separated in the
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
    /// Tool calls running at once, in total.
    #[arg(long, global = true, default_value_t = 32)]
    max_calls: u32,
    /// Tool calls one workspace (one API key, whatever its grants) may run
    /// at once.
    #[arg(long, global = true, default_value_t = 8)]
    calls_per_workspace: u32,
    /// Seconds a call waits for a free slot before it is refused (HTTP 503
    /// with Retry-After).
    #[arg(long, global = true, default_value_t = 10)]
    call_queue_wait_secs: u64,
    /// How long the outcome of a write call (and a bulk send's ledger) is
    /// kept for retries with its idempotencyKey, in seconds; retried
    /// JSON-RPC requests are answered from their record at most 24 h of it.
    #[arg(long, global = true, default_value_t = 7 * 24 * 3600)]
    record_ttl_secs: u64,
    /// How often expired records are deleted from the store, in seconds.
    #[arg(long, global = true, default_value_t = 60)]
    sweep_interval_secs: u64,
    /// How long audit events are kept, in days.
    #[arg(long, global = true, default_value_t = 90)]
    audit_retention_days: u64,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the `serve` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve MCP over Streamable HTTP at /mcp: for OAuth clients, or with
    /// --single-user for one local user.
    Serve(ServeArgs),
    /// Serve MCP on stdin/stdout for one local user (key from OPENPHONE_API_KEY).
    Stdio,
    /// List the loaded tools and the component each comes from.
    Tools,
    /// Check the configuration (flags, environment, --config file).
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// List or revoke OAuth clients and grants (talks to the running server
    /// on this data directory, or opens its store when none runs).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// As for `serve`; used when no server is running.
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

/// How the deployment secret is found (`serve`, and `admin` when no
/// server is running).
#[derive(Debug, Clone, Args)]
struct SecretArgs {
    /// `local` generates the deployment secret in the data directory;
    /// `production` requires OPENPHONE_MCP_SECRET or --secret-file.
    #[arg(long, value_enum, default_value = "local", env = "OPENPHONE_MCP_MODE")]
    mode: Mode,
    /// File holding the deployment secret (at least 32 bytes).
    #[arg(long, env = "OPENPHONE_MCP_SECRET_FILE")]
    secret_file: Option<PathBuf>,
    /// A file holding an earlier deployment secret, still accepted while
    /// rotating: what was sealed under it keeps working until `openphone-mcp
    /// admin reseal` has wrapped everything under the current one.
    /// Repeatable (or `,`-separated in the environment).
    #[arg(
        long = "previous-secret-file",
        value_name = "PATH",
        env = "OPENPHONE_MCP_PREVIOUS_SECRET_FILES",
        value_delimiter = ','
    )]
    previous_secret_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Serve Prometheus metrics at http://ADDR/metrics, on a listener of
    /// their own (never the public one) [default: no metrics].
    #[arg(long, value_name = "ADDR", env = "OPENPHONE_MCP_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// One local user, no authorization: the key comes from
    /// OPENPHONE_API_KEY. Loopback addresses only.
    #[arg(long)]
    single_user: bool,
    /// The server's public base URL, as clients reach it (https, or http on
    /// loopback) [default: http://LISTEN when it is a loopback address].
    #[arg(long, env = "OPENPHONE_MCP_PUBLIC_URL")]
    public_url: Option<Url>,
    /// Where the consent flow's error pages send a user for help (an https,
    /// http or mailto URL).
    #[arg(long, value_name = "URL", env = "OPENPHONE_MCP_SUPPORT_URL")]
    support_url: Option<Url>,
    #[command(flatten)]
    secrets: SecretArgs,
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
    /// Change a rate limit: RULE=COUNT/PERIOD (PERIOD s, min or h) or
    /// RULE=off. Rules and defaults: register=60/h, authorize=120/min,
    /// key-check=10/min, token=60/min, revoke=60/min, discovery=300/min,
    /// mcp=3000/min (per address), mcp-grant=1200/min (per grant).
    /// Repeatable (or `;`-separated in the environment).
    #[arg(
        long = "rate-limit",
        value_name = "RULE=COUNT/PERIOD",
        env = "OPENPHONE_MCP_RATE_LIMITS",
        value_delimiter = ';'
    )]
    rate_limits: Vec<RuleLimit>,
    /// A proxy (address or CIDR block) whose Forwarded / X-Forwarded-For
    /// header names the client address for rate limits; repeatable (or
    /// `,`-separated in the environment). Without one, the socket peer is
    /// the client, whatever the headers say.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "OPENPHONE_MCP_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<ProxyRange>,
    /// Open connections allowed in total.
    #[arg(long, default_value_t = 1_024)]
    max_connections: usize,
    /// Open connections allowed from one address (an IPv6 /64 counts as
    /// one; trusted proxies exempt).
    #[arg(long, default_value_t = 256)]
    max_connections_per_address: usize,
    /// Seconds a client may take to send a request's headers; a keep-alive
    /// connection idle this long is closed too.
    #[arg(long, default_value_t = 20)]
    header_read_timeout_secs: u64,
    /// Seconds a request's whole body may take to arrive.
    #[arg(long, default_value_t = 20)]
    body_read_timeout_secs: u64,
    /// Seconds calls in flight get to finish after SIGTERM or SIGINT; then
    /// they are stopped between two OpenPhone requests, recorded so that a
    /// retry with the same idempotencyKey resumes.
    #[arg(long, default_value_t = 30, env = "OPENPHONE_MCP_SHUTDOWN_GRACE_SECS")]
    shutdown_grace_secs: u64,
    /// OAuth clients registered through /register held at most; a client
    /// that never obtains a grant expires after 24 h.
    #[arg(long, default_value_t = 50_000)]
    max_clients: u64,
    /// Seconds between sweeps of expired OAuth records (codes, tokens,
    /// grants, unclaimed clients).
    #[arg(long, default_value_t = 3_600)]
    auth_sweep_interval_secs: u64,
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate the configuration `serve` would run with and print it as a
    /// --config file, each setting with where it came from; secrets are
    /// never printed, only whether one is set.
    Check(ServeArgs),
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Registered clients.
    Clients,
    /// Grants (a user's consent to a client).
    Grants,
    /// Revoke a grant: its tokens stop working and its key is deleted.
    RevokeGrant {
        /// The grant's id (ids may start with `-`).
        #[arg(allow_hyphen_values = true)]
        grant: String,
    },
    /// Revoke a client and all its grants.
    RevokeClient {
        /// The client's id (ids may start with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Show the audit trail: security events and write-tool calls, oldest
    /// first (works with the server running or stopped).
    Audit {
        /// Only events since then: a duration back (90s, 30m, 12h, 7d) or a
        /// time (2026-12-01T09:00:00Z).
        #[arg(long, value_parser = parse_since)]
        since: Option<u64>,
        /// Only events of this grant.
        #[arg(long, allow_hyphen_values = true)]
        grant: Option<String>,
        /// Only events of this OAuth client.
        #[arg(long = "client", allow_hyphen_values = true)]
        client_id: Option<String>,
        /// Only events of this kind: client-registered, consent-approved,
        /// consent-denied, key-rejected, token-refreshed, refresh-reused,
        /// code-replayed, grant-revoked, client-revoked, tool-call.
        #[arg(long = "event")]
        kind: Option<AuditKind>,
    },
    /// Seal the store's data keys under the current deployment secret, so
    /// that --previous-secret-file can be dropped (see README: rotating the
    /// deployment secret).
    Reseal,
}

fn main() -> ExitCode {
    let command = Cli::command();
    let (argv, file_keys) = match config_file::merge(&command, std::env::args_os().collect()) {
        Ok(merged) => merged,
        Err(Merge::Cli(error)) => error.exit(),
        Err(Merge::Config(error)) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let matches = command.clone().get_matches_from(argv);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let settings = config_file::effective(&command, &matches, &file_keys);
    if let Command::Config {
        action: ConfigAction::Check(serve),
    } = &cli.command
    {
        return check_config(&cli, serve, &settings);
    }
    let redactor = Arc::new(Redactor::new());
    startup::init_logging(cli.log_format, Arc::clone(&redactor));
    if matches!(cli.command, Command::Serve(_)) {
        tracing::info!(settings = %one_line(&settings), "effective settings");
    }
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
    let settings = cli.settings();
    match cli.command {
        Command::Tools => command::tools(&settings, redactor).await,
        Command::Admin {
            action,
            json,
            secrets,
        } => {
            let request = match action {
                AdminAction::Clients => AdminRequest::Clients,
                AdminAction::Grants => AdminRequest::Grants,
                AdminAction::RevokeGrant { grant } => AdminRequest::RevokeGrant(grant),
                AdminAction::RevokeClient { client_id } => AdminRequest::RevokeClient(client_id),
                AdminAction::Reseal => AdminRequest::Reseal,
                AdminAction::Audit {
                    since,
                    grant,
                    client_id,
                    kind,
                } => AdminRequest::Audit(AuditFilter {
                    since_ms: since,
                    grant,
                    client_id,
                    kind,
                }),
            };
            let files = (secrets.secret_file, secrets.previous_secret_files);
            command::admin(&settings, redactor, request, json, secrets.mode, files).await
        }
        Command::Stdio => command::stdio(&settings, redactor).await,
        Command::Config { .. } => Ok(()),
        Command::Serve(serve) => command::serve(&settings, redactor, serve.options()).await,
    }
}

impl Cli {
    /// The settings every subcommand shares.
    fn settings(&self) -> Settings {
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(startup::default_data_dir);
        Settings {
            cache_dir: self
                .cache_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("cache")),
            data_dir,
            store: self.store.clone(),
            plugins: self.plugins.clone(),
            base_url: self.api_base_url.clone(),
            limits: Limits {
                memory_bytes: self.memory_mib.max(1) << 20,
                call_timeout: Duration::from_secs(self.call_timeout_secs.max(1)),
                concurrent_calls: self.max_calls.max(1),
                calls_per_workspace: self.calls_per_workspace.max(1),
                queue_wait: Duration::from_secs(self.call_queue_wait_secs),
                ..Limits::default()
            },
            upstream_timeout: Duration::from_secs(self.upstream_timeout_secs.max(1)),
            profiles: self.tool_profiles.clone(),
            retention: Retention {
                records: Duration::from_secs(self.record_ttl_secs.max(1)),
                sweep_every: Duration::from_secs(self.sweep_interval_secs.max(1)),
                audit: Duration::from_secs(self.audit_retention_days.max(1) * 86_400),
            },
        }
    }
}

/// The effective settings on one line, for the start-up log.
fn one_line(settings: &std::collections::BTreeMap<String, config_file::Setting>) -> String {
    settings
        .iter()
        .filter(|(_, setting)| !setting.values.is_empty())
        .map(|(key, setting)| format!("{key}={}", setting.values.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `config check`: the checks `serve` makes before it binds, then the
/// settings as a --config file.
fn check_config(
    cli: &Cli,
    serve: &ServeArgs,
    settings: &std::collections::BTreeMap<String, config_file::Setting>,
) -> ExitCode {
    let options = serve.clone().options();
    if let Err(error) = command::check_serve_options(&cli.settings(), &options) {
        eprintln!("error: {error:#}");
        return ExitCode::from(2);
    }
    print!("{}", config_file::render(settings));
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let secret = match (
        &serve.secrets.secret_file,
        set("OPENPHONE_MCP_SECRET"),
        serve.secrets.mode,
    ) {
        (_, _, Mode::Local) => "DATA_DIR/deployment-secret (generated on first start)".to_owned(),
        (Some(path), _, _) => format!("read from {} (checked, not shown)", path.display()),
        (None, _, _) => "OPENPHONE_MCP_SECRET (checked, not shown)".to_owned(),
    };
    println!("# deployment secret: {secret}");
    let key = if set("OPENPHONE_API_KEY") {
        "set (not shown)"
    } else {
        "not set"
    };
    println!("# OPENPHONE_API_KEY: {key}");
    ExitCode::SUCCESS
}

impl ServeArgs {
    fn options(self) -> ServeOptions {
        ServeOptions {
            listen: self.listen,
            metrics_listen: self.metrics_listen,
            single_user: self.single_user,
            public_url: self.public_url,
            mode: self.secrets.mode,
            secret_file: self.secrets.secret_file,
            previous_secret_files: self.secrets.previous_secret_files,
            access_token_ttl: Duration::from_secs(self.access_token_ttl_secs),
            refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl_secs),
            allowed_origins: self.allowed_origins,
            allowed_hosts: self.allowed_hosts,
            rate_limits: self.rate_limits,
            trusted_proxies: self.trusted_proxies,
            connections: ConnectionLimits {
                total: self.max_connections.max(1),
                per_address: self.max_connections_per_address.max(1),
                header_read: Duration::from_secs(self.header_read_timeout_secs.max(1)),
                shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            },
            body_read: Duration::from_secs(self.body_read_timeout_secs.max(1)),
            max_clients: self.max_clients,
            support_url: self.support_url,
            auth_sweep_every: Duration::from_secs(self.auth_sweep_interval_secs.max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_may_start_with_a_hyphen() {
        // Client and grant ids are base64url: a quarter of them start with `-` or `_`.
        for (action, id) in [("revoke-client", "-J5xk2"), ("revoke-grant", "-abc")] {
            let cli = Cli::try_parse_from(["openphone-mcp", "admin", action, id])
                .unwrap_or_else(|e| panic!("{action} {id}: {e}"));
            let Command::Admin { action, .. } = cli.command else {
                panic!("not admin")
            };
            let parsed = match action {
                AdminAction::RevokeClient { client_id } => client_id,
                AdminAction::RevokeGrant { grant } => grant,
                other => panic!("{other:?}"),
            };
            assert_eq!(parsed, id);
        }
    }
}
