//! The MCP server proper: protocol state machine, tool catalog and sandbox,
//! independent of the transport (HTTP or stdio).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openphone_mcp_protocol::rmcp::model::{CallToolResult, ContentBlock as Content, Tool};
use openphone_mcp_protocol::{Message, Server, ServerInfo, Session, Step, ToolCall, jsonrpc};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::idempotency::{self, Claim, Settlement};
use crate::ledger::Ledger;
use crate::profiles::{self, ToolProfile};
use crate::redact::Redactor;
use crate::sandbox::wit::{CallContext, ToolDescriptor, ToolError, UpstreamError};
use crate::sandbox::{CallOutcome, CallRequest, Caller, LoadedTool, Progress, Sandbox};
use crate::store::Store;
use crate::upstream::Upstream;

/// Argument name, and `_meta` key, under which a client passes an
/// idempotency key for a call.
pub const IDEMPOTENCY_ARGUMENT: &str = "idempotencyKey";
pub const IDEMPOTENCY_META: &str = "io.github.openphone-mcp/idempotency-key";
/// `_meta` key set on a result answered from a recorded outcome.
pub const REPLAYED_META: &str = "io.github.openphone-mcp/replayed";
/// How long the outcome of a `tools/call` is kept for a retry of the same
/// JSON-RPC request (same session, same id).
pub const REQUEST_RECORD_TTL_SECS: u64 = 24 * 3600;
/// Idempotency scope shared by all tools for retried JSON-RPC requests.
const REQUEST_SCOPE: &str = "jsonrpc-request";
/// How often a call waits to see whether a running duplicate has finished.
const BUSY_POLL: Duration = Duration::from_millis(100);

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
    profiles: Vec<ToolProfile>,
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
        store: Store,
        profiles: Vec<ToolProfile>,
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
        let server = Server::new(ServerInfo {
            name: "openphone-mcp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: Some("OpenPhone".into()),
            instructions: Some(
                "Tools to text, look up and record things in an OpenPhone (Quo) workspace. Phone numbers are E.164 \
                 (+15555550123); an inbox is one of the workspace's numbers or its id (PN…)."
                    .into(),
            ),
        });
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
            redactor,
            store: Arc::new(store),
            profiles,
            boot: uuid::Uuid::new_v4().to_string(),
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
    pub fn upstream(&self) -> Arc<Upstream> {
        Arc::clone(&self.upstream)
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    pub fn redactor(&self) -> &Arc<Redactor> {
        &self.redactor
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
        let profile = profiles::select(&self.profiles, client, user_agent);
        if profile.is_none() && scopes.is_none() {
            return Cow::Borrowed(&self.catalog);
        }
        Cow::Owned(
            self.catalog
                .iter()
                .filter(|t| {
                    profile.is_none_or(|p| p.tools.iter().any(|name| name == t.name.as_ref()))
                        && scopes.is_none_or(|granted| {
                            self.scopes
                                .get(t.name.as_ref())
                                .is_some_and(|needed| granted.iter().any(|g| g == needed))
                        })
                })
                .cloned()
                .collect(),
        )
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

    /// Runs a call at most once per idempotency key: the caller's
    /// `idempotencyKey` when it gave one, else the JSON-RPC request itself
    /// (session and id), so a retried request is answered from the outcome
    /// of the first.
    async fn call_tool(
        &self,
        call: ToolCall,
        from: Requester<'_>,
        events: Option<&mpsc::UnboundedSender<Value>>,
    ) -> Value {
        let caller = from.caller;
        let explicit = call
            .arguments
            .get(IDEMPOTENCY_ARGUMENT)
            .or_else(|| call.meta.as_ref().and_then(|m| m.get(IDEMPOTENCY_META)))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let request_key = format!("{}\n{}", from.session_key, jsonrpc::id_value(&call.id));
        let (key, arguments) = match &explicit {
            Some(key) => (
                idempotency::Key {
                    subject: &caller.subject,
                    scope: &call.name,
                    key,
                    ttl_secs: idempotency::RECORD_TTL_SECS,
                },
                Value::Object(call.arguments.clone()),
            ),
            None => (
                idempotency::Key {
                    subject: &caller.subject,
                    scope: REQUEST_SCOPE,
                    key: &request_key,
                    ttl_secs: REQUEST_RECORD_TTL_SECS,
                },
                serde_json::json!({ "tool": call.name, "arguments": call.arguments }),
            ),
        };
        // Only a caller's key names a job a tool can resume from its ledger;
        // a read-only tool can simply run again.
        let read_only = self.read_only.contains(&call.name);
        let resumable = read_only || (explicit.is_some() && self.resumable.contains(&call.name));
        let refuse = |text: &str| {
            Server::tool_result(&call.id, CallToolResult::error(vec![Content::text(text)]))
        };
        match self.claim(&key, &arguments, resumable).await {
            Ok(Claim::Run { ticket, resumed }) => {
                if resumed {
                    tracing::info!(tool = %call.name, subject = %caller.subject, "resuming an interrupted call");
                }
                let ledger = explicit
                    .as_deref()
                    .map(|key| Ledger::new(Arc::clone(&self.store), &caller.subject, &call.name, key));
                let (mut result, verdict) = self
                    .run_tool(&call, caller, events, explicit.clone(), ledger)
                    .await;
                if verdict == "stopped" && resumable && !read_only {
                    result.content.push(Content::text(
                        "Call again with the same arguments and idempotencyKey to resume where it stopped: \
                         nothing already done is repeated.",
                    ));
                }
                let response = Server::tool_result(&call.id, result);
                let settlement = match verdict {
                    // Nothing can have happened upstream when the arguments were refused.
                    "invalid-arguments" | "unknown-tool" => Settlement::Release,
                    // Stopped part-way: a retry runs it again.
                    "stopped" if read_only => Settlement::Release,
                    "stopped" if resumable => Settlement::Interrupted,
                    _ => Settlement::Done(&response["result"]),
                };
                if let Err(error) = ticket.settle(settlement) {
                    tracing::error!(error = %format!("{error:#}"), tool = %call.name, "recording an outcome failed");
                }
                response
            }
            Ok(Claim::Replay(mut recorded)) => {
                tracing::info!(tool = %call.name, subject = %caller.subject, "replayed a recorded outcome");
                if let Some(object) = recorded.as_object_mut() {
                    object.insert("_meta".into(), serde_json::json!({ REPLAYED_META: true }));
                }
                jsonrpc::success_response(&call.id, recorded)
            }
            Ok(Claim::Busy) => refuse(
                "The same call is still running; wait for its result instead of calling again.",
            ),
            Ok(Claim::Conflict) if explicit.is_none() => jsonrpc::error_response_with(
                Some(&call.id),
                openphone_mcp_protocol::rmcp::model::ErrorCode::INVALID_REQUEST,
                "This request id was already used in this session for a different request; use a new id.".into(),
            ),
            Ok(Claim::Conflict) => refuse(
                "This idempotencyKey was already used with different arguments; use a new key for a different request.",
            ),
            Ok(Claim::Interrupted) => refuse(
                "An earlier attempt of this call was cut off (the server stopped or lost it) before its outcome was \
                 recorded, so whether it acted is unknown. Check first (fetch-messages shows sent texts), then repeat \
                 it as a new request, with a new idempotencyKey if you gave one.",
            ),
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), tool = %call.name, "claiming an idempotency key failed");
                refuse("The call could not be recorded, so nothing was done. Try again.")
            }
        }
    }

    /// Claims `key`; while a duplicate runs in this process, waits for its
    /// outcome (up to the call timeout) so a retry gets the same answer.
    async fn claim(
        &self,
        key: &idempotency::Key<'_>,
        arguments: &Value,
        resumable: bool,
    ) -> anyhow::Result<Claim<'_>> {
        let patience = self.sandbox.limits.call_timeout + Duration::from_secs(2);
        let started = Instant::now();
        loop {
            let claim = idempotency::claim(&self.store, &self.boot, key, arguments, resumable)?;
            if !matches!(claim, Claim::Busy) || started.elapsed() >= patience {
                return Ok(claim);
            }
            tokio::time::sleep(BUSY_POLL).await;
        }
    }

    /// Runs the call in the sandbox, forwarding progress to `events`.
    async fn run_tool(
        &self,
        call: &ToolCall,
        caller: &Caller,
        events: Option<&mpsc::UnboundedSender<Value>>,
        idempotency_key: Option<String>,
        ledger: Option<Ledger>,
    ) -> (CallToolResult, &'static str) {
        let Some(&index) = self.routes.get(&call.name) else {
            // The protocol layer only passes tools from the catalog.
            let text = format!("Unknown tool: {}", call.name);
            return (
                CallToolResult::error(vec![Content::text(text)]),
                "unknown-tool",
            );
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let arguments = Value::Object(call.arguments.clone()).to_string();
        let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<Progress>();
        let forward = call.progress_token.clone().zip(events);
        let request = CallRequest {
            tool: &call.name,
            arguments: &arguments,
            context: CallContext {
                request_id: request_id.clone(),
                idempotency_key,
            },
            caller: caller.clone(),
            progress: forward.is_some().then_some(progress_tx),
            ledger,
        };
        let started = Instant::now();
        let running = self.sandbox.call(
            &self.tools[index],
            request,
            Arc::clone(&self.upstream),
            Arc::clone(&self.redactor),
        );
        tokio::pin!(running);
        let send_progress = |progress: Progress| {
            if let Some((token, events)) = &forward {
                let _ = events.send(Server::progress_notification(
                    token,
                    progress.progress,
                    progress.total,
                    progress.message.as_deref(),
                ));
            }
        };
        let outcome = loop {
            tokio::select! {
                outcome = &mut running => break outcome,
                Some(progress) = progress_rx.recv() => send_progress(progress),
            }
        };
        // Reports sent just before the call returned.
        while let Ok(progress) = progress_rx.try_recv() {
            send_progress(progress);
        }
        let (result, verdict) = to_mcp_result(outcome);
        tracing::info!(
            request_id = %request_id,
            tool = %call.name,
            subject = %caller.subject,
            outcome = verdict,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "tool call"
        );
        (result, verdict)
    }
}

/// A WIT descriptor as an MCP tool.
fn to_mcp_tool(d: &ToolDescriptor) -> anyhow::Result<Tool> {
    let input: Value = serde_json::from_str(&d.input_schema)?;
    let output: Option<Value> = d
        .output_schema
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    let mut tool = serde_json::json!({
        "name": d.name,
        "title": d.title,
        "description": d.description,
        "inputSchema": input,
        "annotations": {
            "title": d.title,
            "readOnlyHint": d.annotations.read_only,
            "destructiveHint": d.annotations.destructive,
            "idempotentHint": d.annotations.idempotent,
            "openWorldHint": d.annotations.open_world,
        },
        "_meta": { "io.github.openphone-mcp/scope": d.scope },
    });
    if let Some(output) = output {
        tool["outputSchema"] = output;
    }
    Ok(serde_json::from_value(tool)?)
}

/// The MCP result for an outcome, and a one-word verdict for the log.
fn to_mcp_result(outcome: CallOutcome) -> (CallToolResult, &'static str) {
    match outcome {
        CallOutcome::Output(output) => {
            let structured = output
                .structured
                .as_deref()
                .and_then(|s| serde_json::from_str::<Value>(s).ok());
            let mut result = if output.is_error {
                CallToolResult::error(vec![Content::text(output.text)])
            } else {
                CallToolResult::success(vec![Content::text(output.text)])
            };
            result.structured_content = structured;
            (result, if output.is_error { "failed" } else { "ok" })
        }
        CallOutcome::Error(error) => {
            let (text, verdict) = match error {
                ToolError::InvalidArguments(m) => {
                    (format!("Invalid arguments: {m}"), "invalid-arguments")
                }
                ToolError::UnknownTool(name) => (format!("Unknown tool: {name}"), "unknown-tool"),
                ToolError::Upstream(e) => (explain_upstream(&e), "upstream-error"),
                ToolError::Failed(m) => (m, "failed"),
            };
            (CallToolResult::error(vec![Content::text(text)]), verdict)
        }
        CallOutcome::Contained(message) => (
            CallToolResult::error(vec![Content::text(message)]),
            "stopped",
        ),
    }
}

/// Wording for upstream errors a tool passed through unexplained.
fn explain_upstream(error: &UpstreamError) -> String {
    match error {
        UpstreamError::InvalidRequest(m) => format!("The request to OpenPhone was not sent: {m}"),
        UpstreamError::RateLimited => {
            "OpenPhone is rate-limiting this account (10 requests per second). Wait a moment and try again.".into()
        }
        UpstreamError::Timeout => "OpenPhone did not answer in time.".into(),
        UpstreamError::Unavailable(m) => format!("OpenPhone is unavailable: {m}"),
        UpstreamError::BudgetExhausted => "This call made as many OpenPhone requests as one call may.".into(),
    }
}
