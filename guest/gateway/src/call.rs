//! One `tools/call`: bound to its caller, claimed under its idempotency key
//! (or its JSON-RPC request), run in its component, settled by how it ended
//! — the native host's rules, with the records kept by the broker.

use openphone_gateway_bindings::openphone::mcp::types::{CallContext, ToolError, UpstreamError};
use openphone_mcp_protocol::catalog::{self, Refusal};
use openphone_mcp_protocol::rmcp::model::{CallToolResult, ErrorCode};
use openphone_mcp_protocol::{Server, ToolCall, jsonrpc};
use serde_json::{Value, json};

use crate::{Backend, CallRefusal, Claim, ClaimKey};

/// Who a call acts for and where it came from.
pub struct Origin<'a> {
    /// The grant of the verified token; `None` in single-user mode.
    pub grant: Option<&'a str>,
    /// The session the request belongs to, if any.
    pub session_id: Option<&'a str>,
}

/// What the call needs to know of its tool.
pub struct Tool {
    pub slot: usize,
    /// Read-only tools are never claimed nor recorded: running one again is
    /// always safe, and what it returns (message texts) is not stored.
    pub read_only: bool,
    /// Tools that keep per-item ledgers resume an interrupted run.
    pub resumable: bool,
}

/// Runs `call` on `tool` and returns its JSON-RPC response.
pub fn run(backend: &dyn Backend, tool: &Tool, origin: &Origin<'_>, call: &ToolCall) -> Value {
    let explicit = catalog::idempotency_key(&call.arguments, call.meta.as_ref());
    if let Err(refusal) = backend.begin_call(&call.name, origin.grant, explicit) {
        let text = match refusal {
            CallRefusal::NoKey => "This grant holds no OpenPhone key any more (it was revoked); \
                 authorize again. Nothing was done."
                .to_owned(),
            CallRefusal::Failed(message) => {
                format!("The server could not run this call; nothing was done: {message}")
            }
        };
        return Server::tool_result(&call.id, catalog::failure(text));
    }
    let request_key;
    let (key, arguments) = match (explicit, origin.session_id) {
        _ if tool.read_only => return invoke(backend, tool, call, explicit).0,
        (Some(key), _) => (
            ClaimKey::IdempotencyKey(key),
            Value::Object(call.arguments.clone()).to_string(),
        ),
        (None, Some(session)) => {
            request_key = format!("{session}\n{}", jsonrpc::id_value(&call.id));
            (
                ClaimKey::Request(&request_key),
                json!({"tool": call.name, "arguments": call.arguments}).to_string(),
            )
        }
        (None, None) => return invoke(backend, tool, call, explicit).0,
    };
    // Only a caller's key names a job a tool can resume from its ledger.
    let resumable = explicit.is_some() && tool.resumable;
    let refuse = |refusal| {
        Server::tool_result(
            &call.id,
            catalog::failure(catalog::explain_refusal(refusal).to_owned()),
        )
    };
    match backend.claim(key, &arguments, resumable) {
        Ok(Claim::Run { .. }) => {
            let (response, released) = invoke(backend, tool, call, explicit);
            let outcome = (!released).then(|| response["result"].to_string());
            // A record that could not be written leaves the claim: a retry
            // is then told the outcome is unknown, never run twice.
            let _ = backend.settle(key, outcome.as_deref());
            response
        }
        Ok(Claim::Unrecorded) => invoke(backend, tool, call, explicit).0,
        Ok(Claim::Replay(recorded)) => match serde_json::from_str::<Value>(&recorded) {
            Ok(recorded) => Server::replayed_result(&call.id, recorded),
            Err(_) => refuse(Refusal::Interrupted),
        },
        Ok(Claim::Busy) => refuse(Refusal::StillRunning),
        Ok(Claim::Conflict) if explicit.is_none() => jsonrpc::error_response_with(
            Some(&call.id),
            ErrorCode::INVALID_REQUEST,
            catalog::REQUEST_ID_REUSED.into(),
        ),
        Ok(Claim::Conflict) => refuse(Refusal::KeyReused),
        Ok(Claim::Interrupted) => refuse(Refusal::Interrupted),
        Err(_) => refuse(Refusal::NotRecorded),
    }
}

/// Calls the component; the response, and whether nothing can have
/// happened upstream (the arguments or the tool name were refused), so the
/// claim is released rather than recorded.
fn invoke(
    backend: &dyn Backend,
    tool: &Tool,
    call: &ToolCall,
    idempotency_key: Option<&str>,
) -> (Value, bool) {
    let context = CallContext {
        request_id: jsonrpc::id_value(&call.id).to_string(),
        idempotency_key: idempotency_key.map(str::to_owned),
    };
    let arguments = Value::Object(call.arguments.clone()).to_string();
    let (result, released): (CallToolResult, bool) =
        match backend.call(tool.slot, &call.name, &arguments, &context) {
            Ok(output) => (
                catalog::output(output.text, output.structured.as_deref(), output.is_error),
                false,
            ),
            Err(error) => {
                let released = matches!(
                    error,
                    ToolError::InvalidArguments(_) | ToolError::UnknownTool(_)
                );
                let text = catalog::explain(openphone_mcp_protocol::tool_failure_of!(
                    &error,
                    ToolError,
                    UpstreamError
                ));
                (catalog::failure(text), released)
            }
        };
    (Server::tool_result(&call.id, result), released)
}
