//! Turning WIT values into MCP ones: descriptors into tools, call outcomes
//! into results.

use openphone_mcp_protocol::catalog;
use openphone_mcp_protocol::rmcp::model::{CallToolResult, Tool};

use super::call::Verdict;
use crate::sandbox::CallOutcome;
use crate::sandbox::wit::{ToolDescriptor, ToolError, UpstreamError};

/// A WIT descriptor as an MCP tool.
pub(super) fn to_mcp_tool(d: &ToolDescriptor) -> anyhow::Result<Tool> {
    Ok(catalog::tool(openphone_mcp_protocol::descriptor_of!(d))?)
}

/// The MCP result for an outcome, and how the call ended.
pub(super) fn to_mcp_result(outcome: CallOutcome) -> (CallToolResult, Verdict) {
    match outcome {
        CallOutcome::Output(output) => {
            let verdict = if output.is_error {
                Verdict::Failed
            } else {
                Verdict::Ok
            };
            let result = catalog::output(output.text, output.structured.as_deref(), output.is_error);
            (result, verdict)
        }
        CallOutcome::Error(error) => {
            let verdict = match &error {
                ToolError::InvalidArguments(_) => Verdict::InvalidArguments,
                ToolError::UnknownTool(_) => Verdict::UnknownTool,
                ToolError::Upstream(_) => Verdict::UpstreamError,
                ToolError::Failed(_) => Verdict::Failed,
            };
            let text = catalog::explain(openphone_mcp_protocol::tool_failure_of!(
                &error,
                ToolError,
                UpstreamError
            ));
            (catalog::failure(text), verdict)
        }
        CallOutcome::Busy => (
            catalog::failure(
                "The server is at capacity and could not run this call; nothing was done. Try again shortly."
                    .into(),
            ),
            Verdict::Busy,
        ),
        CallOutcome::NotRun(message) => (
            catalog::failure(message),
            Verdict::NotRun,
        ),
        CallOutcome::Contained(message) => (
            catalog::failure(message),
            Verdict::Stopped,
        ),
    }
}
