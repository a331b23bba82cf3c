//! The auth component: the OAuth authorization server, run in the sandbox.
//!
//! The component owns the OAuth logic; the host gives it exactly its world:
//! the vault (seal, delete, check — never read back), host-checked client
//! metadata fetches, redacted logging, the `auth` key-value bucket over the
//! store, and its settings — among them a signing key derived for it alone
//! from the deployment secret. Each request runs in a fresh instance.

pub(crate) mod admin;
pub(crate) mod client_metadata;
pub(crate) mod deployment_secret;
pub(crate) mod key_ring;
pub(crate) mod vault;
pub(crate) mod wit;

mod imports;
mod keyvalue;

use crate::state::audit::{AuditLog, Origin};
use crate::telemetry::{InstanceInUse, InstanceKind};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Store as WasmStore, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::auth::vault::Vault;
use crate::redact::Redactor;
use crate::sandbox::Sandbox;
use crate::state::store::Store;
use wit::{
    AuthComponent as Bindings, AuthComponentPre, ClientSummary, GrantSummary, HttpRequest,
    HttpResponse, Principal, SweepProgress, TokenError,
};

/// Time one auth request may take (a key check and a metadata fetch included).
const DEADLINE: Duration = Duration::from_secs(20);
/// Memory one auth request may use.
const MEMORY_BYTES: usize = 64 << 20;
/// OAuth endpoint and admin requests answered at once.
const ENDPOINT_SLOTS: usize = 12;
/// Bearer checks answered at once: their own slots, so slow endpoint
/// requests (a metadata document fetch, a key check) never hold them up.
const VERIFY_SLOTS: usize = 16;
/// How long a request waits for a slot before it is refused as busy.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// The auth component had no slot free in time: answer `503` with
/// `Retry-After` ([`BUSY_RETRY_AFTER_SECS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the authorization server is at capacity")]
pub struct AuthBusy;

/// Seconds a client refused with [`AuthBusy`] is told to wait.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// Which slots a request takes.
#[derive(Debug, Clone, Copy)]
enum Work {
    Endpoint,
    Verify,
}

/// Settings handed to the component through `wasi:config/store`.
#[derive(Clone)]
pub struct AuthSettings {
    /// Public base URL, no trailing slash (`https://mcp.example.com`).
    pub issuer: String,
    /// Canonical MCP endpoint URL (`https://mcp.example.com/mcp`).
    pub resource: String,
    /// Hex of the signing key derived for the component.
    pub signing_key_hex: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Dynamically registered clients held at most.
    pub max_clients: u64,
    /// Where error pages send a user for help.
    pub support_url: Option<String>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .field("signing_key_hex", &"[redacted]")
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("refresh_token_ttl_secs", &self.refresh_token_ttl_secs)
            .field("max_clients", &self.max_clients)
            .finish()
    }
}

impl AuthSettings {
    fn pairs(&self) -> Vec<(String, String)> {
        vec![
            ("issuer".into(), self.issuer.clone()),
            ("resource".into(), self.resource.clone()),
            ("signing_key".into(), self.signing_key_hex.clone()),
            (
                "access_token_ttl_secs".into(),
                self.access_token_ttl_secs.to_string(),
            ),
            (
                "refresh_token_ttl_secs".into(),
                self.refresh_token_ttl_secs.to_string(),
            ),
            ("max_clients".into(), self.max_clients.to_string()),
        ]
        .into_iter()
        .chain((self.support_url.clone()).map(|url| ("support_url".into(), url)))
        .collect()
    }
}

/// Store data of one auth instance.
pub(crate) struct AuthState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    store: Arc<Store>,
    vault: Arc<Vault>,
    settings: Arc<Vec<(String, String)>>,
    redactor: Arc<Redactor>,
    audit: Arc<AuditLog>,
    /// Who the request being answered came from, for audit events.
    origin: Origin,
}

impl WasiView for AuthState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The loaded auth component.
pub struct AuthServer {
    engine: wasmtime::Engine,
    pre: AuthComponentPre<AuthState>,
    store: Arc<Store>,
    vault: Arc<Vault>,
    settings: Arc<Vec<(String, String)>>,
    redactor: Arc<Redactor>,
    audit: Arc<AuditLog>,
    routes: Vec<String>,
    endpoint_slots: tokio::sync::Semaphore,
    verify_slots: tokio::sync::Semaphore,
}

impl std::fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServer")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl AuthServer {
    /// Compiles and links the component `bytes`.
    pub async fn load(
        sandbox: &Sandbox,
        bytes: &[u8],
        store: Arc<Store>,
        vault: Arc<Vault>,
        settings: &AuthSettings,
        redactor: Arc<Redactor>,
        audit: Arc<AuditLog>,
    ) -> anyhow::Result<Self> {
        // Its own engine and pool: tool calls and OAuth requests never take
        // each other's instances.
        let engine =
            sandbox.separate_engine((ENDPOINT_SLOTS + VERIFY_SLOTS + 4) as u32, MEMORY_BYTES)?;
        let component = Component::new(&engine, bytes)
            .map_err(anyhow::Error::from)
            .context("compiling the auth component")?;
        let mut linker = Linker::<AuthState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking WASI")?;
        Bindings::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)
            .context("linking the auth imports")?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("the auth component imports something outside its world")?;
        let pre = AuthComponentPre::new(instance_pre).map_err(anyhow::Error::from)?;
        let mut server = AuthServer {
            engine,
            pre,
            store,
            vault,
            settings: Arc::new(settings.pairs()),
            redactor,
            audit,
            routes: Vec::new(),
            endpoint_slots: tokio::sync::Semaphore::new(ENDPOINT_SLOTS),
            verify_slots: tokio::sync::Semaphore::new(VERIFY_SLOTS),
        };
        server.routes = server
            .run(Work::Endpoint, |bindings, store| {
                Box::pin(async move {
                    bindings
                        .openphone_mcp_authorization_server()
                        .call_routes(store)
                        .await
                })
            })
            .await
            .context("listing the auth routes")?;
        Ok(server)
    }

    /// The paths the component answers.
    pub fn routes(&self) -> &[String] {
        &self.routes
    }

    /// Answers one request to an auth route from `origin`.
    pub async fn handle(
        &self,
        request: HttpRequest,
        origin: Origin,
    ) -> anyhow::Result<HttpResponse> {
        self.run_from(Work::Endpoint, origin, move |bindings, store| {
            Box::pin(async move {
                bindings
                    .openphone_mcp_authorization_server()
                    .call_handle(store, &request)
                    .await
            })
        })
        .await
    }

    /// Checks a bearer token presented to `resource`.
    pub async fn verify(
        &self,
        bearer: &str,
        resource: &str,
    ) -> anyhow::Result<Result<Principal, TokenError>> {
        let (bearer, resource) = (bearer.to_owned(), resource.to_owned());
        self.run(Work::Verify, move |bindings, store| {
            Box::pin(async move {
                bindings
                    .openphone_mcp_authorization_server()
                    .call_verify(store, &bearer, &resource)
                    .await
            })
        })
        .await
    }

    pub async fn list_clients(&self) -> anyhow::Result<Result<Vec<ClientSummary>, String>> {
        self.run(Work::Endpoint, |bindings, store| {
            Box::pin(async move {
                bindings
                    .openphone_mcp_admin()
                    .call_list_clients(store)
                    .await
            })
        })
        .await
    }

    pub async fn list_grants(&self) -> anyhow::Result<Result<Vec<GrantSummary>, String>> {
        self.run(Work::Endpoint, |bindings, store| {
            Box::pin(async move { bindings.openphone_mcp_admin().call_list_grants(store).await })
        })
        .await
    }

    pub async fn revoke_grant(&self, grant: &str) -> anyhow::Result<Result<bool, String>> {
        let grant = grant.to_owned();
        self.run(Work::Endpoint, move |bindings, store| {
            Box::pin(async move {
                bindings
                    .openphone_mcp_admin()
                    .call_revoke_grant(store, &grant)
                    .await
            })
        })
        .await
    }

    pub async fn revoke_client(&self, client: &str) -> anyhow::Result<Result<bool, String>> {
        let client = client.to_owned();
        self.run(Work::Endpoint, move |bindings, store| {
            Box::pin(async move {
                bindings
                    .openphone_mcp_admin()
                    .call_revoke_client(store, &client)
                    .await
            })
        })
        .await
    }

    /// One page of the expired-record sweep (see the WIT `admin.sweep`).
    pub async fn sweep(
        &self,
        cursor: Option<String>,
    ) -> anyhow::Result<Result<SweepProgress, String>> {
        self.run(Work::Endpoint, move |bindings, store| {
            Box::pin(async move {
                bindings
                    .openphone_mcp_admin()
                    .call_sweep(store, cursor.as_deref())
                    .await
            })
        })
        .await
    }

    /// Sweeps expired auth records every `every`, in the background, page
    /// after page: never inside a request, so a sweep cannot fail or slow
    /// one down (each page waits for a slot like any endpoint request).
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration) {
        let auth = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                auth.sweep_once().await;
            }
        });
    }

    /// One whole pass over the auth records.
    async fn sweep_once(&self) {
        let (mut removed, mut pages) = (0u64, 0u64);
        let mut cursor = None;
        loop {
            match self.sweep(cursor.take()).await {
                Ok(Ok(progress)) => {
                    removed += u64::from(progress.removed);
                    pages += 1;
                    match progress.cursor {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
                Ok(Err(message)) => {
                    tracing::warn!(error = %message, "auth sweep stopped; it goes on at its next run");
                    return;
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "auth sweep stopped; it goes on at its next run");
                    return;
                }
            }
        }
        tracing::info!(removed, pages, "auth sweep done");
    }

    /// Runs `f` against a fresh instance, under the deadline and memory
    /// cap, once a slot for `work` is free (at most [`QUEUE_WAIT`], else
    /// [`AuthBusy`]).
    async fn run<T>(
        &self,
        work: Work,
        f: impl for<'a> FnOnce(
            &'a Bindings,
            &'a mut WasmStore<AuthState>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = wasmtime::Result<T>> + Send + 'a>,
        >,
    ) -> anyhow::Result<T> {
        self.run_from(work, Origin::default(), f).await
    }

    /// [`AuthServer::run`] for a request from `origin`.
    async fn run_from<T>(
        &self,
        work: Work,
        origin: Origin,
        f: impl for<'a> FnOnce(
            &'a Bindings,
            &'a mut WasmStore<AuthState>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = wasmtime::Result<T>> + Send + 'a>,
        >,
    ) -> anyhow::Result<T> {
        let slots = match work {
            Work::Endpoint => &self.endpoint_slots,
            Work::Verify => &self.verify_slots,
        };
        let _slot = match tokio::time::timeout(QUEUE_WAIT, slots.acquire()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) | Err(_) => {
                tracing::warn!(work = ?work, "auth request refused: no slot came free in time");
                return Err(AuthBusy.into());
            }
        };
        let _instance = InstanceInUse::start(InstanceKind::Auth);
        let (wasi, table) = crate::sandbox::empty_wasi();
        let state = AuthState {
            wasi,
            table,
            limits: StoreLimitsBuilder::new().memory_size(MEMORY_BYTES).build(),
            store: Arc::clone(&self.store),
            vault: Arc::clone(&self.vault),
            settings: Arc::clone(&self.settings),
            redactor: Arc::clone(&self.redactor),
            audit: Arc::clone(&self.audit),
            origin,
        };
        let mut store = WasmStore::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        crate::sandbox::stop_at(&mut store, Instant::now() + DEADLINE);
        let run = async {
            let bindings = self.pre.instantiate_async(&mut store).await?;
            f(&bindings, &mut store).await
        };
        tokio::time::timeout(DEADLINE + Duration::from_millis(50), run)
            .await
            .context("the auth component did not answer in time")?
            .map_err(anyhow::Error::from)
            .context("the auth component failed")
    }
}
