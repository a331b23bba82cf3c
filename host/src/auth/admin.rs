//! Operator access to clients and grants: `openphone-mcp admin`.
//!
//! The embedded store is opened by one process at a time, so a running
//! server serves admin requests on a Unix socket in its data directory
//! (mode 0600: only the server's user can connect), and the `admin`
//! command talks to it; revocations then take effect on the server's next
//! request. With no server running, the command opens the store itself.
//! Nothing shown is secret: ids, names, scopes and dates only. `reseal`
//! wraps the data keys under the current deployment secret (`key_ring.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::auth::AuthServer;
use crate::auth::key_ring::{KeyRing, Resealed, Secrets};
use crate::auth::wit::{ClientSummary, GrantSummary};
use crate::state::audit::{self, AuditEvent, AuditFilter, AuditKind, AuditLog, Origin};
use crate::state::store::Store;

/// The most events one `admin audit` returns (narrow it with --since).
const MAX_EVENTS: usize = 100_000;

/// What admin requests act on.
#[derive(Debug)]
pub struct Admin {
    /// `None` for a server of one local user: no clients, grants or secret.
    pub auth: Option<Arc<AuthServer>>,
    pub store: Arc<Store>,
    /// The current and previous deployment secrets, for `reseal`.
    pub secrets: Option<Arc<Secrets>>,
    pub audit: Arc<AuditLog>,
}

/// File name of the admin socket in the data directory.
pub const SOCKET_FILE: &str = "admin.sock";

/// The admin socket's path for `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}

/// One client, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: u64,
    pub kind: String,
    pub revoked: bool,
}

/// One grant, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub grant: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub created_at: u64,
    pub last_used_at: u64,
    pub revoked: bool,
}

impl From<ClientSummary> for Client {
    fn from(c: ClientSummary) -> Self {
        Client {
            client_id: c.client_id,
            name: c.name,
            redirect_uris: c.redirect_uris,
            created_at: c.created_at,
            kind: c.kind,
            revoked: c.revoked,
        }
    }
}

impl From<GrantSummary> for Grant {
    fn from(g: GrantSummary) -> Self {
        Grant {
            grant: g.grant,
            client_id: g.client_id,
            scopes: g.scopes,
            created_at: g.created_at,
            last_used_at: g.last_used_at,
            revoked: g.revoked,
        }
    }
}

/// What one admin request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Clients,
    Grants,
    RevokeGrant(String),
    RevokeClient(String),
    Reseal,
    Audit(AuditFilter),
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Answer {
    Clients(Vec<Client>),
    Grants(Vec<Grant>),
    /// Whether something was revoked (false: no such id).
    Revoked(bool),
    Resealed(Resealed),
    Audit(Vec<AuditEvent>),
}

/// Runs `request` against the auth component.
pub async fn run(admin: &Admin, request: &Request) -> anyhow::Result<Answer> {
    if let Request::Audit(filter) = request {
        return Ok(Answer::Audit(audit::query(
            &admin.store,
            filter,
            MAX_EVENTS,
        )?));
    }
    if let Request::Reseal = request {
        let secrets = (admin.secrets.as_ref()).context(
            "this server serves one local user: it has no deployment secret to reseal under",
        )?;
        let resealed = KeyRing::reseal(&admin.store, secrets)?;
        tracing::info!(
            rewrapped = resealed.rewrapped,
            "admin: data keys resealed under the current deployment secret"
        );
        return Ok(Answer::Resealed(resealed));
    }
    let auth = (admin.auth.as_ref())
        .context("this server serves one local user: it has no OAuth clients or grants")?;
    let revoked = |kind: AuditKind, client_id: Option<&str>, grant: Option<&str>| {
        let event = AuditEvent {
            kind: Some(kind),
            client_id: client_id.map(str::to_owned),
            grant: grant.map(str::to_owned),
            ..AuditEvent::default()
        };
        admin.audit.append(event, &Origin::default());
    };
    let failed = |m: String| anyhow::anyhow!("the auth component refused: {m}");
    Ok(match request {
        Request::Clients => Answer::Clients(
            auth.list_clients()
                .await?
                .map_err(failed)?
                .into_iter()
                .map(Client::from)
                .collect(),
        ),
        Request::Grants => Answer::Grants(
            auth.list_grants()
                .await?
                .map_err(failed)?
                .into_iter()
                .map(Grant::from)
                .collect(),
        ),
        Request::RevokeGrant(id) => {
            let done = auth.revoke_grant(id).await?.map_err(failed)?;
            tracing::info!(grant = %id, revoked = done, "admin: revoke grant");
            if done {
                revoked(AuditKind::GrantRevoked, None, Some(id));
            }
            Answer::Revoked(done)
        }
        Request::RevokeClient(id) => {
            let done = auth.revoke_client(id).await?.map_err(failed)?;
            tracing::info!(client = %id, revoked = done, "admin: revoke client");
            if done {
                revoked(AuditKind::ClientRevoked, Some(id), None);
            }
            Answer::Revoked(done)
        }
        Request::Reseal | Request::Audit(_) => unreachable!("answered above"),
    })
}

/// Serves the admin API on the socket in `data_dir` until the process ends.
#[cfg(unix)]
pub async fn serve_socket(data_dir: &Path, admin: Arc<Admin>) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;

    let path = socket_path(data_dir);
    // A socket left by a crashed server would make bind fail.
    if path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("listening on {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let router = Router::new()
        .route("/clients", get(|s: AuthState| answer(s, Request::Clients)))
        .route("/grants", get(|s: AuthState| answer(s, Request::Grants)))
        .route(
            "/grants/{id}/revoke",
            post(|s: AuthState, UrlPath(id): UrlPath<String>| answer(s, Request::RevokeGrant(id))),
        )
        .route(
            "/clients/{id}/revoke",
            post(|s: AuthState, UrlPath(id): UrlPath<String>| answer(s, Request::RevokeClient(id))),
        )
        .route("/reseal", post(|s: AuthState| answer(s, Request::Reseal)))
        .route(
            "/audit",
            post(|s: AuthState, Json(filter): Json<AuditFilter>| answer(s, Request::Audit(filter))),
        )
        .with_state(admin);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(error = %error, "the admin socket stopped");
        }
    });
    tracing::info!(path = %path.display(), "admin socket ready");
    Ok(())
}

type AuthState = State<Arc<Admin>>;

async fn answer(State(admin): AuthState, request: Request) -> Response {
    match run(&admin, &request).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "admin request failed");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")).into_response()
        }
    }
}

/// Sends `request` to the server running on `data_dir`; `None` when no
/// server answers there.
#[cfg(unix)]
pub async fn ask_server(data_dir: &Path, request: &Request) -> anyhow::Result<Option<Answer>> {
    let path = socket_path(data_dir);
    if !path.exists() {
        return Ok(None);
    }
    let client = reqwest::Client::builder()
        .unix_socket(path.clone())
        .build()?;
    let (method, url) = match request {
        Request::Clients => (reqwest::Method::GET, "http://admin/clients".to_owned()),
        Request::Grants => (reqwest::Method::GET, "http://admin/grants".to_owned()),
        Request::RevokeGrant(id) => (
            reqwest::Method::POST,
            format!("http://admin/grants/{}/revoke", encode(id)),
        ),
        Request::RevokeClient(id) => (
            reqwest::Method::POST,
            format!("http://admin/clients/{}/revoke", encode(id)),
        ),
        Request::Reseal => (reqwest::Method::POST, "http://admin/reseal".to_owned()),
        Request::Audit(_) => (reqwest::Method::POST, "http://admin/audit".to_owned()),
    };
    let mut sending = client.request(method, url);
    if let Request::Audit(filter) = request {
        sending = sending.json(filter);
    }
    let response = match sending.send().await {
        Ok(response) => response,
        // A socket file with nobody listening: the server is gone.
        Err(error) if error.is_connect() => return Ok(None),
        Err(error) => return Err(error).context("asking the running server"),
    };
    if !response.status().is_success() {
        bail!(
            "the running server refused: {}",
            response.text().await.unwrap_or_default()
        );
    }
    Ok(Some(
        response
            .json()
            .await
            .context("reading the server's answer")?,
    ))
}

fn encode(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// Prints an answer for a terminal.
pub fn print(answer: &Answer) {
    match answer {
        Answer::Clients(clients) if clients.is_empty() => println!("no clients"),
        Answer::Clients(clients) => {
            println!(
                "{:<40} {:<10} {:<8} {:<12} NAME / REDIRECT URIS",
                "CLIENT", "KIND", "REVOKED", "CREATED"
            );
            for c in clients {
                println!(
                    "{:<40} {:<10} {:<8} {:<12} {} {}",
                    c.client_id,
                    c.kind,
                    c.revoked,
                    c.created_at,
                    c.name,
                    c.redirect_uris.join(" ")
                );
            }
        }
        Answer::Grants(grants) if grants.is_empty() => println!("no grants"),
        Answer::Grants(grants) => {
            println!(
                "{:<36} {:<40} {:<8} {:<12} {:<12} SCOPES",
                "GRANT", "CLIENT", "REVOKED", "CREATED", "LAST USED"
            );
            for g in grants {
                println!(
                    "{:<36} {:<40} {:<8} {:<12} {:<12} {}",
                    g.grant,
                    g.client_id,
                    g.revoked,
                    g.created_at,
                    g.last_used_at,
                    g.scopes.join(" ")
                );
            }
        }
        Answer::Revoked(true) => println!("revoked"),
        Answer::Revoked(false) => println!("no such id: nothing revoked"),
        Answer::Audit(events) if events.is_empty() => println!("no events"),
        Answer::Audit(events) => {
            for event in events {
                println!("{}", audit::describe(event));
            }
        }
        Answer::Resealed(Resealed { rewrapped, current }) => println!(
            "data keys: {rewrapped} resealed under the current deployment secret, {current} already were; \
             the previous secrets are no longer needed"
        ),
    }
}
