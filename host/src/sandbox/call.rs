//! One tool call: a fresh instance, its limits, and the host side of its
//! imports.

use crate::telemetry::{InstanceInUse, InstanceKind};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;

use super::engine::{NoSlot, Sandbox, empty_wasi};
use super::loader::LoadedTool;
use super::wit::{
    self, ApiRequest, ApiResponse, CallContext, LedgerError, Level, ToolDescriptor, ToolError,
    ToolOutput, ToolPluginPre, UpstreamError,
};
use crate::redact::Redactor;
use crate::sandbox::upstream::Upstream;
use crate::secret::ApiKey;
use crate::state::ledger::Ledger;

/// Longest guest log line kept; the rest is cut.
const MAX_LOG_LINE: usize = 2_048;
/// Log lines and progress reports one call may emit before the rest are dropped.
const MAX_LOG_LINES: u32 = 1_000;

/// On whose behalf a call runs.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Stable identifier of the user (or grant), for logs and sessions;
    /// never a secret.
    pub subject: String,
    /// The OpenPhone workspace the key acts for (`access/workspace.rs`):
    /// what at-most-once records are scoped to, so they outlive any one grant.
    pub workspace: String,
    /// The OpenPhone key the host attaches to this caller's requests.
    pub key: ApiKey,
    /// The OAuth client and grant it acts through (`None`: the local user).
    pub grant: Option<GrantOf>,
}

/// The grant a caller acts through, and its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantOf {
    pub grant: String,
    pub client_id: String,
}

/// A progress report from a running call (already redacted).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub progress: f64,
    pub total: Option<f64>,
    pub message: Option<String>,
}

/// How a call ended.
#[derive(Debug)]
pub enum CallOutcome {
    /// The tool returned a result (which may itself report a failure).
    Output(ToolOutput),
    /// The tool reported an error.
    Error(ToolError),
    /// The host stopped or lost the instance: memory cap, deadline, trap.
    /// The message is for the client and names no internals.
    Contained(String),
    /// The guest never ran (no instance could be made, no permit): nothing
    /// can have happened upstream. The message is for the client.
    NotRun(String),
    /// No call slot came free within the queue wait (the server, or the
    /// caller's workspace, is at capacity): nothing ran; try again shortly.
    Busy,
}

/// Store data of one instance.
pub(crate) struct CallState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    memory: MemoryCap,
    upstream: Option<Arc<Upstream>>,
    caller: Option<Caller>,
    request_id: String,
    tool: String,
    progress: Option<mpsc::UnboundedSender<Progress>>,
    ledger: Option<Ledger>,
    redactor: Arc<Redactor>,
    requests_left: u32,
    log_lines_left: u32,
}

/// A memory limiter over every memory of the instance together, so the cap
/// holds per call however many memories a component declares. It remembers
/// that it refused, so a resulting trap can be reported as what it is.
struct MemoryCap {
    limit: usize,
    /// Bytes of all the instance's memories.
    used: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self.used.saturating_sub(current).saturating_add(desired);
        if after > self.limit {
            self.refused = true;
            return Ok(false);
        }
        self.used = after;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Everything a call needs besides the component.
#[derive(Debug)]
pub struct CallRequest<'a> {
    pub tool: &'a str,
    pub arguments: &'a str,
    pub context: CallContext,
    pub caller: Caller,
    pub progress: Option<mpsc::UnboundedSender<Progress>>,
    /// The ledger of the call's idempotency key, when it has one.
    pub ledger: Option<Ledger>,
}

impl Sandbox {
    fn store(&self, state: CallState, deadline: Instant) -> Store<CallState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        stop_at(&mut store, deadline);
        store
    }

    fn state(&self, redactor: Arc<Redactor>, request_id: String, tool: String) -> CallState {
        let (wasi, table) = empty_wasi();
        CallState {
            wasi,
            table,
            memory: MemoryCap {
                limit: self.limits.memory_bytes,
                used: 0,
                refused: false,
            },
            upstream: None,
            caller: None,
            request_id,
            tool,
            progress: None,
            ledger: None,
            redactor,
            requests_left: self.limits.requests_per_call,
            log_lines_left: MAX_LOG_LINES,
        }
    }

    /// Calls `list` once in a throwaway instance.
    pub(crate) async fn describe(
        &self,
        pre: &ToolPluginPre<CallState>,
    ) -> anyhow::Result<Vec<ToolDescriptor>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let state = self.state(Arc::new(Redactor::new()), "load".into(), "list".into());
        let mut store = self.store(state, deadline);
        let run = async {
            let plugin = pre.instantiate_async(&mut store).await?;
            plugin.openphone_mcp_tool().call_list(&mut store).await
        };
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .context("listing the tools timed out")?
            .map_err(anyhow::Error::from)
            .context("listing the tools")
    }

    /// Runs one call in a fresh instance of `tool`.
    pub async fn call(
        &self,
        tool: &LoadedTool,
        request: CallRequest<'_>,
        upstream: Arc<Upstream>,
        redactor: Arc<Redactor>,
    ) -> CallOutcome {
        let _slot = match self
            .slots
            .take(&request.caller.workspace, self.limits.queue_wait)
            .await
        {
            Ok(slot) => slot,
            Err(NoSlot::Busy) => {
                tracing::warn!(
                    tool = request.tool,
                    "call refused: no slot came free in time"
                );
                return CallOutcome::Busy;
            }
            Err(NoSlot::Closed) => {
                return CallOutcome::NotRun(
                    "The server is shutting down, so the call was not run; nothing was done."
                        .into(),
                );
            }
        };
        let _instance = InstanceInUse::start(InstanceKind::Tool);
        let timeout = self.limits.call_timeout;
        let deadline = Instant::now() + timeout;
        let mut state = self.state(
            redactor,
            request.context.request_id.clone(),
            request.tool.to_owned(),
        );
        let stopping = Arc::clone(&upstream);
        state.upstream = Some(upstream);
        state.caller = Some(request.caller);
        state.progress = request.progress;
        state.ledger = request.ledger;
        let mut store = self.store(state, deadline);

        // An instance that could not be made (no pool slot, a start function
        // that trapped before any request) ran nothing: the caller may retry.
        let instantiated =
            tokio::time::timeout(timeout, tool.pre.instantiate_async(&mut store)).await;
        let plugin = match instantiated {
            Ok(Ok(plugin)) => plugin,
            failed if store.data().requests_left == self.limits.requests_per_call => {
                let error = match failed {
                    Ok(Err(error)) => format!("{error:#}"),
                    _ => "timed out".to_owned(),
                };
                tracing::warn!(tool = request.tool, error = %error, "tool not instantiated");
                return CallOutcome::NotRun(format!(
                    "The server could not start `{}` right now, so nothing was done. Try again in a moment.",
                    request.tool
                ));
            }
            _ => {
                tracing::warn!(tool = request.tool, "tool stopped while starting");
                return CallOutcome::Contained(format!(
                    "The tool `{}` failed unexpectedly and was stopped.",
                    request.tool
                ));
            }
        };
        let run = async {
            plugin
                .openphone_mcp_tool()
                .call_call(
                    &mut store,
                    request.tool,
                    &request.arguments.to_owned(),
                    &request.context,
                )
                .await
        };
        // The epoch callback traps at the deadline; the timeout covers time
        // spent awaiting the API, where no epoch check runs. At shutdown the
        // call is dropped between two OpenPhone requests (`shutdown.rs`).
        let shutdown = Arc::clone(&stopping);
        let result = tokio::select! {
            result = tokio::time::timeout_at(deadline + Duration::from_millis(50), run) => result,
            () = shutdown.shutdown().calls_stopped() => {
                tracing::warn!(tool = request.tool, "tool stopped: the server is shutting down");
                return CallOutcome::Contained(format!(
                    "The server is shutting down, so `{}` was stopped between two requests to OpenPhone.",
                    request.tool
                ));
            }
        };
        let memory_refused = store.data().memory.refused;
        let tool_name = request.tool;
        match result {
            Ok(Ok(Ok(output))) => CallOutcome::Output(output),
            Ok(Ok(Err(error))) => CallOutcome::Error(error),
            Ok(Err(trap)) if memory_refused => {
                tracing::warn!(tool = tool_name, error = %trap, "tool stopped: memory limit");
                CallOutcome::Contained(format!(
                    "The tool `{tool_name}` needed more than its {} MiB memory limit and was stopped.",
                    self.limits.memory_bytes >> 20
                ))
            }
            Ok(Err(trap)) if Instant::now() >= deadline => {
                tracing::warn!(tool = tool_name, error = %trap, "tool stopped: deadline");
                timed_out(tool_name, timeout)
            }
            Ok(Err(trap)) => {
                tracing::warn!(tool = tool_name, error = ?trap, "tool trapped");
                CallOutcome::Contained(format!(
                    "The tool `{tool_name}` failed unexpectedly and was stopped."
                ))
            }
            Err(_elapsed) => {
                tracing::warn!(tool = tool_name, "tool stopped: deadline");
                timed_out(tool_name, timeout)
            }
        }
    }
}

/// Makes the guest yield to the executor every epoch tick (so a busy guest
/// never starves other calls) and trap once `deadline` has passed (so a
/// guest that never returns is stopped even if nobody polls its timeout).
pub(crate) fn stop_at<T>(store: &mut Store<T>, deadline: Instant) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}

fn timed_out(tool: &str, timeout: Duration) -> CallOutcome {
    CallOutcome::Contained(format!(
        "The tool `{tool}` did not finish within {} s and was stopped.",
        timeout.as_secs()
    ))
}

impl wit::openphone::mcp::types::Host for CallState {}

impl wit::openphone::mcp::upstream::Host for CallState {
    async fn send(&mut self, request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
        self.dispatch(request, None).await
    }

    async fn send_recorded(
        &mut self,
        request: ApiRequest,
        item: String,
        entry: String,
    ) -> Result<ApiResponse, UpstreamError> {
        self.dispatch(request, Some((item, entry))).await
    }
}

impl CallState {
    /// Sends one request for the guest, recording `mark` in the ledger at
    /// the moment it is dispatched.
    async fn dispatch(
        &mut self,
        request: ApiRequest,
        mark: Option<(String, String)>,
    ) -> Result<ApiResponse, UpstreamError> {
        let (Some(upstream), Some(caller)) = (&self.upstream, &self.caller) else {
            return Err(UpstreamError::Unavailable(
                "the API is not available while tools are listed".into(),
            ));
        };
        if self.requests_left == 0 {
            return Err(UpstreamError::BudgetExhausted);
        }
        self.requests_left -= 1;
        let started = std::time::Instant::now();
        let ledger = &mut self.ledger;
        let record = || match mark {
            None => Ok(()),
            Some((item, entry)) => match ledger {
                None => Err("the call has no idempotencyKey to record it under".to_owned()),
                Some(ledger) => ledger.put(&item, &entry).map_err(|e| match e {
                    LedgerError::NoKey => {
                        "the call has no idempotencyKey to record it under".into()
                    }
                    LedgerError::Refused(m) | LedgerError::Unavailable(m) => {
                        format!("its record could not be written: {m}")
                    }
                }),
            },
        };
        let result = upstream.send_after(&caller.key, &request, record).await;
        tracing::debug!(
            request_id = %self.request_id,
            tool = %self.tool,
            method = ?request.method,
            path = %request.path,
            status = result.as_ref().map(|r| r.status).ok(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upstream request"
        );
        result
    }
}

impl wit::openphone::mcp::ledger::Host for CallState {
    fn get(&mut self, item: String) -> wasmtime::Result<Result<Option<String>, LedgerError>> {
        Ok(match &self.ledger {
            Some(ledger) => ledger.get(&item),
            None => Err(LedgerError::NoKey),
        })
    }

    fn put(&mut self, item: String, entry: String) -> wasmtime::Result<Result<(), LedgerError>> {
        Ok(match &mut self.ledger {
            Some(ledger) => ledger.put(&item, &entry),
            None => Err(LedgerError::NoKey),
        })
    }
}

impl wit::openphone::mcp::log::Host for CallState {
    fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if !self.take_log_line() {
            return Ok(());
        }
        let message = self.clean(&message);
        let (request_id, tool) = (&self.request_id, &self.tool);
        match level {
            Level::Trace => {
                tracing::trace!(request_id = %request_id, tool = %tool, guest = true, "{message}")
            }
            Level::Debug => {
                tracing::debug!(request_id = %request_id, tool = %tool, guest = true, "{message}")
            }
            Level::Info => {
                tracing::info!(request_id = %request_id, tool = %tool, guest = true, "{message}")
            }
            Level::Warn => {
                tracing::warn!(request_id = %request_id, tool = %tool, guest = true, "{message}")
            }
            Level::Error => {
                tracing::error!(request_id = %request_id, tool = %tool, guest = true, "{message}")
            }
        }
        Ok(())
    }

    fn progress(
        &mut self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> wasmtime::Result<()> {
        if !self.take_log_line() || !progress.is_finite() {
            return Ok(());
        }
        let message = message.map(|m| self.clean(&m));
        if let Some(sender) = &self.progress {
            let _ = sender.send(Progress {
                progress,
                total: total.filter(|t| t.is_finite()),
                message,
            });
        }
        Ok(())
    }
}

impl CallState {
    fn take_log_line(&mut self) -> bool {
        if self.log_lines_left == 0 {
            return false;
        }
        self.log_lines_left -= 1;
        true
    }

    /// Redacts and shortens guest text.
    fn clean(&self, text: &str) -> String {
        let mut text = self.redactor.redact(text);
        if text.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_cap_holds_across_memories() {
        let mib = 1 << 20;
        let mut cap = MemoryCap {
            limit: 64 * mib,
            used: 0,
            refused: false,
        };
        // Two memories of 30 MiB fit; a third does not, nor growing one past the total.
        assert!(cap.memory_growing(0, 30 * mib, None).unwrap());
        assert!(cap.memory_growing(0, 30 * mib, None).unwrap());
        assert!(!cap.memory_growing(0, 30 * mib, None).unwrap());
        assert!(cap.refused);
        assert!(!cap.memory_growing(30 * mib, 40 * mib, None).unwrap());
        assert!(cap.memory_growing(30 * mib, 34 * mib, None).unwrap());
        assert_eq!(cap.used, 64 * mib);
    }
}
