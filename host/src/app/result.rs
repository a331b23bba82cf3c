//! Turning WIT values into MCP ones: descriptors into tools, call outcomes
//! into results.

use openphone_mcp_protocol::rmcp::model::{CallToolResult, ContentBlock as Content, Tool};
use serde_json::Value;

use super::call::Verdict;
use crate::sandbox::CallOutcome;
use crate::sandbox::wit::{ToolDescriptor, ToolError, UpstreamError};

/// A WIT descriptor as an MCP tool.
pub(super) fn to_mcp_tool(d: &ToolDescriptor) -> anyhow::Result<Tool> {
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

/// The MCP result for an outcome, and how the call ended.
pub(super) fn to_mcp_result(outcome: CallOutcome) -> (CallToolResult, Verdict) {
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
            let verdict = if output.is_error {
                Verdict::Failed
            } else {
                Verdict::Ok
            };
            (result, verdict)
        }
        CallOutcome::Error(error) => {
            let (text, verdict) = match error {
                ToolError::InvalidArguments(m) => {
                    (format!("Invalid arguments: {m}"), Verdict::InvalidArguments)
                }
                ToolError::UnknownTool(name) => {
                    (format!("Unknown tool: {name}"), Verdict::UnknownTool)
                }
                ToolError::Upstream(e) => (explain_upstream(&e), Verdict::UpstreamError),
                ToolError::Failed(m) => (m, Verdict::Failed),
            };
            (CallToolResult::error(vec![Content::text(text)]), verdict)
        }
        CallOutcome::Busy => (
            CallToolResult::error(vec![Content::text(
                "The server is at capacity and could not run this call; nothing was done. Try again shortly.",
            )]),
            Verdict::Busy,
        ),
        CallOutcome::NotRun(message) => (
            CallToolResult::error(vec![Content::text(message)]),
            Verdict::NotRun,
        ),
        CallOutcome::Contained(message) => (
            CallToolResult::error(vec![Content::text(message)]),
            Verdict::Stopped,
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
