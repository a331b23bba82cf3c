//! The MCP server proper: protocol state machine, tool catalog and sandbox,
//! independent of the transport (HTTP or stdio).

mod call;
mod result;

pub(crate) use call::{BUSY_CODE, BUSY_RETRY_AFTER_SECS, STORE_UNAVAILABLE, busy_retry_after};

use crate::state::audit::AuditLog;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use openphone_mcp_protocol::rmcp::model::Tool;
use openphone_mcp_protocol::{Message, Server, ServerInfo, Session, Step};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::access::profiles::{self, ToolProfile};
use crate::redact::Redactor;
use crate::sandbox::upstream::Upstream;
use crate::sandbox::{Caller, LoadedTool, Sandbox};
use crate::state::Retention;
use crate::state::store::Store;
use result::to_mcp_tool;

/// Argument name, and `_meta` key, under which a client passes an
/// idempotency key for a call.
pub use openphone_mcp_protocol::catalog::IDEMPOTENCY_ARGUMENT;

/// Who sent a message, over which session.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub caller: &'a Caller,
    /// Scopes granted to the caller; `None` is every scope (single user).
    pub scopes: Option<&'a [String]>,
    /// Stable, non-secret name of the session (a hash of its id), under
    /// which a retried request is recognised.
    pub session_key: &'a str,
    /// The HTTP `User-Agent`, for tool profiles.
    pub user_agent: Option<&'a str>,
    /// The request's id (`X-Request-ID`), which the tool's context and log
    /// lines carry.
    pub request_id: &'a str,
    /// The client's address (HTTP), for the audit trail.
    pub client_address: Option<&'a str>,
}

/// Everything a request needs, shared by all connections.
pub struct App {
    server: Server,
    sandbox: Sandbox,
    tools: Vec<LoadedTool>,
    catalog: Vec<Tool>,
    /// tool name → index into `tools`.
    routes: HashMap<String, usize>,
    /// Tools whose descriptor says they resume from their ledger.
    resumable: HashSet<String>,
    /// Tools that change nothing upstream: running one again is always safe.
    read_only: HashSet<String>,
    /// tool name → the OAuth scope it needs.
    scopes: HashMap<String, String>,
    upstream: Arc<Upstream>,
    redactor: Arc<Redactor>,
    store: Arc<Store>,
    /// Write-tool calls and security events (`state/audit.rs`).
    audit: Arc<AuditLog>,
    profiles: Vec<ToolProfile>,
    /// First `tools/list` pages, serialized once per set of visible tools
    /// (one flag per catalog entry): what a list costs is a lookup.
    list_pages: std::sync::Mutex<HashMap<Vec<bool>, Arc<[u8]>>>,
    /// How long records are kept.
    retention: Retention,
    /// Unique to this process run: claims it holds carry it, so claims left
    /// by an earlier run are recognised as interrupted.
    boot: String,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("tools", &self.tools)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Assembles the server from loaded components.
    pub fn new(
        sandbox: Sandbox,
        tools: Vec<LoadedTool>,
        upstream: Arc<Upstream>,
        redactor: Arc<Redactor>,
        store: Arc<Store>,
        profiles: Vec<ToolProfile>,
        retention: Retention,
    ) -> anyhow::Result<Self> {
        let mut catalog = Vec::new();
        let mut routes = HashMap::new();
        let mut resumable = HashSet::new();
        let mut read_only = HashSet::new();
        let mut scopes = HashMap::new();
        for (index, tool) in tools.iter().enumerate() {
            for descriptor in &tool.descriptors {
                catalog.push(to_mcp_tool(descriptor)?);
                routes.insert(descriptor.name.clone(), index);
                if descriptor.resumable {
                    resumable.insert(descriptor.name.clone());
                }
                if descriptor.annotations.read_only {
                    read_only.insert(descriptor.name.clone());
                }
                scopes.insert(descriptor.name.clone(), descriptor.scope.clone());
            }
        }
        let server = Server::new(ServerInfo::openphone(env!("CARGO_PKG_VERSION")));
        let boot = uuid::Uuid::new_v4().to_string();
        // On a shared store, other replicas must see this run's claims as
        // held while it lives.
        store.keep_alive(&boot);
        for profile in &profiles {
            if let Some(unknown) = profile
                .tools
                .iter()
                .find(|t| !routes.contains_key(t.as_str()))
            {
                anyhow::bail!(
                    "the tool profile for `{}` names `{unknown}`, which no component offers",
                    profile.matcher
                );
            }
        }
        Ok(App {
            server,
            sandbox,
            tools,
            catalog,
            routes,
            resumable,
            read_only,
            scopes,
            upstream,
            audit: Arc::new(AuditLog::new(
                Arc::clone(&store),
                retention.audit,
                Arc::clone(&redactor),
            )),
            redactor,
            store,
            profiles,
            list_pages: std::sync::Mutex::default(),
            retention,
            boot,
        })
    }

    /// The loaded components, for `openphone-mcp tools`.
    pub fn components(&self) -> &[LoadedTool] {
        &self.tools
    }

    /// The tools as listed to clients.
    pub fn catalog(&self) -> &[Tool] {
        &self.catalog
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, shared (the vault and the auth component use it too).
    pub fn shared_store(&self) -> Arc<Store> {
        Arc::clone(&self.store)
    }

    /// The OpenPhone client, shared (the vault checks keys with it).
    /// The audit trail.
    pub fn audit(&self) -> Arc<AuditLog> {
        Arc::clone(&self.audit)
    }

    pub fn upstream(&self) -> Arc<Upstream> {
        Arc::clone(&self.upstream)
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Handles one message from `from`. Returns the response to send, if
    /// any. Notifications produced while a tool runs (progress) go to
    /// `events`; without it, progress is dropped.
    pub async fn handle(
        &self,
        session: &mut Session,
        message: Message,
        from: Requester<'_>,
        events: Option<&mpsc::UnboundedSender<Value>>,
    ) -> Option<Value> {
        let client = session.client_info().map(|c| c.name.clone());
        let catalog = self.catalog_for(client.as_deref(), from.user_agent, from.scopes);
        match self.server.handle(session, message, &catalog) {
            Step::Reply(reply) => Some(reply),
            Step::Accepted => None,
            Step::Cancel { request_id, .. } => {
                // Calls are short and a send must not be cut off half-way:
                // a cancelled call runs to completion and its result is dropped.
                tracing::debug!(request = %request_id, "client cancelled a request");
                None
            }
            Step::CallTool(call) => Some(self.call_tool(call, from, events).await),
        }
    }

    /// The tools a client of that name and user agent, holding `scopes`
    /// (`None`: all), may see and call.
    pub fn catalog_for(
        &self,
        client: Option<&str>,
        user_agent: Option<&str>,
        scopes: Option<&[String]>,
    ) -> Cow<'_, [Tool]> {
        let visible = self.visible(client, user_agent, scopes);
        if visible.iter().all(|v| *v) {
            return Cow::Borrowed(&self.catalog);
        }
        Cow::Owned(self.tools_in(&visible))
    }

    /// One flag per catalog entry: may a client of that name and user
    /// agent, holding `scopes` (`None`: all), see it.
    fn visible(
        &self,
        client: Option<&str>,
        user_agent: Option<&str>,
        scopes: Option<&[String]>,
    ) -> Vec<bool> {
        let profile = profiles::select(&self.profiles, client, user_agent);
        (self.catalog.iter())
            .map(|t| {
                profile.is_none_or(|p| p.tools.iter().any(|name| name == t.name.as_ref()))
                    && scopes.is_none_or(|granted| {
                        self.scopes
                            .get(t.name.as_ref())
                            .is_some_and(|needed| granted.iter().any(|g| g == needed))
                    })
            })
            .collect()
    }

    fn tools_in(&self, visible: &[bool]) -> Vec<Tool> {
        (self.catalog.iter().zip(visible))
            .filter(|(_, visible)| **visible)
            .map(|(tool, _)| tool.clone())
            .collect()
    }

    /// The whole answer to `message` when it asks for the first
    /// `tools/list` page (the request clients repeat most), spliced from
    /// bytes serialized once per set of tools a caller may see; `None`
    /// for every other message, which [`App::handle`] answers.
    pub fn list_reply(
        &self,
        session: &Session,
        message: &Message,
        from: &Requester<'_>,
    ) -> Option<Vec<u8>> {
        /// Sets of visible tools kept; profiles × scope sets stay far below.
        const MAX_PAGES: usize = 256;
        let id = Server::first_list_page_request(session, message)?;
        let client = session.client_info().map(|c| c.name.as_str());
        let visible = self.visible(client, from.user_agent, from.scopes);
        let cached = (self.list_pages.lock())
            .unwrap_or_else(|p| p.into_inner())
            .get(&visible)
            .cloned();
        let page = match cached {
            Some(page) => page,
            None => {
                let result = self.server.first_list_page(&self.tools_in(&visible)).ok()?;
                let page: Arc<[u8]> = serde_json::to_vec(&result).ok()?.into();
                let mut pages = self.list_pages.lock().unwrap_or_else(|p| p.into_inner());
                if pages.len() < MAX_PAGES {
                    pages.insert(visible, Arc::clone(&page));
                }
                page
            }
        };
        Some(openphone_mcp_protocol::jsonrpc::success_response_bytes(
            id, &page,
        ))
    }

    /// The scope a message needs when it calls a tool this server offers.
    pub fn scope_needed(&self, message: &Message) -> Option<&str> {
        let Message::Request { method, params, .. } = message else {
            return None;
        };
        if method != "tools/call" {
            return None;
        }
        let name = params.as_ref()?.get("name")?.as_str()?;
        self.scopes.get(name).map(String::as_str)
    }

    /// True if `message` is a `tools/call` that asked for progress.
    pub fn wants_progress(message: &Message) -> bool {
        matches!(message, Message::Request { method, params, .. }
            if method == "tools/call"
                && params.as_ref().and_then(|p| p.get("_meta")).and_then(|m| m.get("progressToken")).is_some())
    }
}
