//! One `tools/call`: claimed under its idempotency key, run in the
//! sandbox, settled by how it ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openphone_mcp_protocol::catalog::Refusal;
use openphone_mcp_protocol::rmcp::model::{CallToolResult, ContentBlock as Content};
use openphone_mcp_protocol::{Server, ToolCall, catalog, jsonrpc};
use serde_json::Value;
use tokio::sync::mpsc;

use super::result::to_mcp_result;
use super::{App, Requester};
use crate::sandbox::wit::CallContext;
use crate::sandbox::{CallRequest, Progress};
use crate::state::REQUEST_RECORDS;
use crate::state::audit::{AuditEvent, AuditKind, Origin};
use crate::state::idempotency::{self, Claim, Settlement};
use crate::state::ledger::Ledger;

/// Idempotency scope shared by all tools for retried JSON-RPC requests.
const REQUEST_SCOPE: &str = "jsonrpc-request";
/// How often a call waits to see whether a running duplicate has finished.
const BUSY_POLL: Duration = Duration::from_millis(100);

/// How a call ended, for the log and for what its idempotency record keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The tool returned a result.
    Ok,
    /// The tool ran and reported a failure.
    Failed,
    /// The tool refused its arguments: nothing happened upstream.
    InvalidArguments,
    /// No such tool: nothing ran.
    UnknownTool,
    /// An upstream error the tool passed through.
    UpstreamError,
    /// The host stopped the call (deadline, memory cap, trap).
    Stopped,
    /// The guest never ran (no instance, the server shutting down):
    /// nothing happened upstream.
    NotRun,
    /// No call slot came free in time: nothing ran; the client should try
    /// again shortly (HTTP answers `503` with `Retry-After`).
    Busy,
}

impl Verdict {
    /// The word logged as the call's `outcome`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Failed => "failed",
            Verdict::InvalidArguments => "invalid-arguments",
            Verdict::UnknownTool => "unknown-tool",
            Verdict::UpstreamError => "upstream-error",
            Verdict::Stopped => "stopped",
            Verdict::NotRun => "not-run",
            Verdict::Busy => "busy",
        }
    }
}

impl App {
    /// Runs a call at most once per idempotency key: the caller's
    /// `idempotencyKey` when it gave one, else the JSON-RPC request itself
    /// (session and id), so a retried request is answered from the outcome
    /// of the first. Keys belong to the workspace the call acts for. A
    /// read-only tool is never claimed nor recorded: running it again is
    /// always safe, and its results (message texts, transcripts) are not
    /// written to the store.
    pub(super) async fn call_tool(
        &self,
        call: ToolCall,
        from: Requester<'_>,
        events: Option<&mpsc::UnboundedSender<Value>>,
    ) -> Value {
        let caller = from.caller;
        let explicit =
            catalog::idempotency_key(&call.arguments, call.meta.as_ref()).map(str::to_owned);
        if self.read_only.contains(&call.name) {
            let (result, verdict) = self.run_tool(&call, &from, events, explicit, None).await;
            if verdict == Verdict::Busy {
                return busy(&call.id);
            }
            return Server::tool_result(&call.id, result);
        }
        let request_key = format!("{}\n{}", from.session_key, jsonrpc::id_value(&call.id));
        let (key, arguments) = match &explicit {
            Some(key) => (
                idempotency::Key {
                    workspace: &caller.workspace,
                    scope: &call.name,
                    key,
                    ttl_secs: self.retention.records.as_secs().max(1),
                },
                Value::Object(call.arguments.clone()),
            ),
            None => (
                idempotency::Key {
                    workspace: &caller.workspace,
                    scope: REQUEST_SCOPE,
                    key: &request_key,
                    ttl_secs: self.retention.records.min(REQUEST_RECORDS).as_secs().max(1),
                },
                serde_json::json!({ "tool": call.name, "arguments": call.arguments }),
            ),
        };
        // Only a caller's key names a job a tool can resume from its ledger.
        let resumable = explicit.is_some() && self.resumable.contains(&call.name);
        let refuse = |text: &str| {
            crate::telemetry::tool_call(&call.name, "refused", None);
            self.audit_call(&call, &from, explicit.as_deref(), "refused");
            Server::tool_result(&call.id, CallToolResult::error(vec![Content::text(text)]))
        };
        match self.claim(&key, &arguments, resumable).await {
            Ok(Claim::Run { ticket, resumed }) => {
                if resumed {
                    tracing::info!(tool = %call.name, subject = %caller.subject, "resuming an interrupted call");
                }
                let ledger = explicit.as_deref().map(|key| {
                    let store = Arc::clone(&self.store);
                    Ledger::new(
                        store,
                        &caller.workspace,
                        &call.name,
                        key,
                        ticket.expires_at(),
                    )
                });
                let (mut result, verdict) = self
                    .run_tool(&call, &from, events, explicit.clone(), ledger)
                    .await;
                if verdict == Verdict::Stopped && resumable {
                    result.content.push(Content::text(
                        "Call again with the same arguments and idempotencyKey to resume where it stopped: \
                         nothing already done is repeated.",
                    ));
                }
                let response = match verdict {
                    Verdict::Busy => busy(&call.id),
                    _ => Server::tool_result(&call.id, result),
                };
                self.audit_call(&call, &from, explicit.as_deref(), verdict.as_str());
                let settlement = settlement(verdict, resumable, &response["result"]);
                if let Err(error) = ticket.settle(settlement) {
                    tracing::error!(error = %format!("{error:#}"), tool = %call.name, "recording an outcome failed");
                }
                response
            }
            Ok(Claim::Replay(recorded)) => {
                crate::telemetry::tool_call(&call.name, "replayed", None);
                self.audit_call(&call, &from, explicit.as_deref(), "replayed");
                tracing::info!(tool = %call.name, subject = %caller.subject, "replayed a recorded outcome");
                Server::replayed_result(&call.id, recorded)
            }
            Ok(Claim::Busy) => refuse(catalog::explain_refusal(Refusal::StillRunning)),
            Ok(Claim::Conflict) if explicit.is_none() => {
                self.audit_call(&call, &from, None, "refused");
                jsonrpc::error_response_with(
                    Some(&call.id),
                    openphone_mcp_protocol::rmcp::model::ErrorCode::INVALID_REQUEST,
                    catalog::REQUEST_ID_REUSED.into(),
                )
            }
            Ok(Claim::Conflict) => refuse(catalog::explain_refusal(Refusal::KeyReused)),
            Ok(Claim::Interrupted) => refuse(catalog::explain_refusal(Refusal::Interrupted)),
            Err(error) if crate::state::store::is_unavailable(&error) => {
                tracing::error!(error = %format!("{error:#}"), tool = %call.name, "the store is unavailable: the call was not run");
                crate::telemetry::tool_call(&call.name, "refused", None);
                unavailable(&call.id)
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), tool = %call.name, "claiming an idempotency key failed");
                refuse(catalog::explain_refusal(Refusal::NotRecorded))
            }
        }
    }

    /// Appends a write-tool call to the audit trail: tool, key, outcome and
    /// how many recipients it named — never a number or a message.
    fn audit_call(&self, call: &ToolCall, from: &Requester<'_>, key: Option<&str>, outcome: &str) {
        let grant = from.caller.grant.as_ref();
        let event = AuditEvent {
            kind: Some(AuditKind::ToolCall),
            client_id: grant.map(|g| g.client_id.clone()),
            grant: grant.map(|g| g.grant.clone()),
            tool: Some(call.name.clone()),
            idempotency_key: key.map(str::to_owned),
            outcome: Some(outcome.to_owned()),
            recipients: recipient_count(&call.arguments),
            ..AuditEvent::default()
        };
        let origin = Origin {
            request_id: Some(from.request_id.to_owned()),
            client_address: from.client_address.map(str::to_owned),
        };
        self.audit.append(event, &origin);
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
        from: &Requester<'_>,
        events: Option<&mpsc::UnboundedSender<Value>>,
        idempotency_key: Option<String>,
        ledger: Option<Ledger>,
    ) -> (CallToolResult, Verdict) {
        let caller = from.caller;
        let Some(&index) = self.routes.get(&call.name) else {
            // The protocol layer only passes tools from the catalog.
            crate::telemetry::tool_call("unknown", Verdict::UnknownTool.as_str(), None);
            let text = format!("Unknown tool: {}", call.name);
            return (
                CallToolResult::error(vec![Content::text(text)]),
                Verdict::UnknownTool,
            );
        };
        let request_id = from.request_id.to_owned();
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
        crate::telemetry::tool_call(&call.name, verdict.as_str(), Some(started.elapsed()));
        tracing::info!(
            request_id = %request_id,
            tool = %call.name,
            subject = %caller.subject,
            outcome = verdict.as_str(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "tool call"
        );
        (result, verdict)
    }
}

/// How many recipients (or contacts) a call's arguments name: `to` is one,
/// `recipients` and `contacts` are lists.
fn recipient_count(arguments: &serde_json::Map<String, Value>) -> Option<u32> {
    let listed = |name: &str| {
        arguments
            .get(name)?
            .as_array()
            .map(|items| items.len() as u32)
    };
    listed("recipients")
        .or_else(|| listed("contacts"))
        .or_else(|| arguments.get("to").map(|_| 1))
}

/// JSON-RPC error code of a call refused because the server is at capacity.
pub(crate) const BUSY_CODE: i32 = -32001;
/// Seconds a client refused as busy is told to wait.
pub(crate) const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// The answer to a call that found no slot: a JSON-RPC error (the call did
/// not run, so there is no tool result), which HTTP sends as `503` with
/// `Retry-After` ([`busy_retry_after`]).
fn busy(id: &openphone_mcp_protocol::rmcp::model::RequestId) -> Value {
    retry_later(
        id,
        format!(
            "The server is at capacity; nothing was done. Try again in {BUSY_RETRY_AFTER_SECS} s."
        ),
    )
}

/// A JSON-RPC error answering `id` that HTTP sends as `503` with
/// `Retry-After` ([`busy_retry_after`]): the call did not run.
fn retry_later(id: &openphone_mcp_protocol::rmcp::model::RequestId, message: String) -> Value {
    let error = openphone_mcp_protocol::rmcp::model::ErrorData::new(
        openphone_mcp_protocol::rmcp::model::ErrorCode(BUSY_CODE),
        message,
        Some(serde_json::json!({ "retryAfter": BUSY_RETRY_AFTER_SECS })),
    );
    jsonrpc::error_response(Some(id), &error)
}

/// What a client is told when the store cannot be reached.
pub(crate) const STORE_UNAVAILABLE: &str = "This server's store cannot be reached just now; nothing was done. \
     Try again in a few seconds: a retried call with the same idempotencyKey runs at most once.";

/// The answer to a call that could not be claimed because the store is
/// down: like [`busy`], a JSON-RPC error HTTP sends as `503`.
fn unavailable(id: &openphone_mcp_protocol::rmcp::model::RequestId) -> Value {
    retry_later(id, STORE_UNAVAILABLE.to_owned())
}

/// `Some(seconds)` if `reply` is the answer to a call refused as busy.
pub(crate) fn busy_retry_after(reply: &Value) -> Option<u64> {
    let error = reply.get("error")?;
    (error.get("code")?.as_i64()? == i64::from(BUSY_CODE))
        .then(|| error.get("data")?.get("retryAfter")?.as_u64())
        .flatten()
}

/// What the idempotency record keeps of a call that ended with `verdict`
/// (`result` is its `CallToolResult` JSON).
fn settlement(verdict: Verdict, resumable: bool, result: &Value) -> Settlement<'_> {
    match verdict {
        // Nothing can have happened upstream: the arguments were refused, or
        // the guest never ran. A retry runs afresh.
        Verdict::InvalidArguments | Verdict::UnknownTool | Verdict::NotRun | Verdict::Busy => {
            Settlement::Release
        }
        // Stopped part-way: a retry resumes from the ledger.
        Verdict::Stopped if resumable => Settlement::Interrupted,
        Verdict::Ok | Verdict::Failed | Verdict::UpstreamError | Verdict::Stopped => {
            Settlement::Done(result)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_that_may_have_acted_keep_their_outcome() {
        let result = serde_json::json!({"isError": true});
        for verdict in [
            Verdict::InvalidArguments,
            Verdict::UnknownTool,
            Verdict::NotRun,
            Verdict::Busy,
        ] {
            for resumable in [false, true] {
                assert!(
                    matches!(settlement(verdict, resumable, &result), Settlement::Release),
                    "{verdict:?}"
                );
            }
        }
        assert!(matches!(
            settlement(Verdict::Stopped, true, &result),
            Settlement::Interrupted
        ));
        for verdict in [
            Verdict::Ok,
            Verdict::Failed,
            Verdict::UpstreamError,
            Verdict::Stopped,
        ] {
            assert!(
                matches!(settlement(verdict, false, &result), Settlement::Done(_)),
                "{verdict:?}"
            );
        }
    }
}
