//! Tool descriptors and tool outcomes as MCP values, the same for every
//! host: a descriptor becomes a `Tool` (scope in `_meta`), an outcome a
//! `CallToolResult` whose text a model can act on.
//!
//! The inputs are plain fields, not WIT types: each host has its own
//! bindings of the same records.

use rmcp::model::{CallToolResult, ContentBlock as Content, Tool};
use serde_json::Value;

/// `_meta` key under which a listed tool names the OAuth scope it needs.
pub const SCOPE_META: &str = "io.github.openphone-mcp/scope";

/// Every OAuth scope a grant can hold and a tool may ask for, in the order
/// `401` challenges list them.
pub const OFFERED_SCOPES: [&str; 4] = [
    "messages:send",
    "messages:read",
    "contacts:write",
    "calls:read",
];

/// Argument name, and `_meta` key, under which a client passes an
/// idempotency key for a call.
pub const IDEMPOTENCY_ARGUMENT: &str = "idempotencyKey";
pub const IDEMPOTENCY_META: &str = "io.github.openphone-mcp/idempotency-key";

/// The idempotency key a `tools/call` carries: the argument, else `_meta`.
pub fn idempotency_key<'a>(
    arguments: &'a serde_json::Map<String, Value>,
    meta: Option<&'a serde_json::Map<String, Value>>,
) -> Option<&'a str> {
    arguments
        .get(IDEMPOTENCY_ARGUMENT)
        .or_else(|| meta.and_then(|m| m.get(IDEMPOTENCY_META)))
        .and_then(Value::as_str)
}

/// A tool component's descriptor, borrowed from whichever bindings hold it.
#[derive(Debug, Clone, Copy)]
pub struct Descriptor<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub input_schema: &'a str,
    pub output_schema: Option<&'a str>,
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
    pub scope: &'a str,
}

/// A [`Descriptor`] borrowed from a `tool-descriptor` record of any host's
/// bindings (they all have the WIT record's fields).
#[macro_export]
macro_rules! descriptor_of {
    ($d:expr) => {
        $crate::catalog::Descriptor {
            name: &$d.name,
            title: &$d.title,
            description: &$d.description,
            input_schema: &$d.input_schema,
            output_schema: $d.output_schema.as_deref(),
            read_only: $d.annotations.read_only,
            destructive: $d.annotations.destructive,
            idempotent: $d.annotations.idempotent,
            open_world: $d.annotations.open_world,
            scope: &$d.scope,
        }
    };
}

/// The [`ToolFailure`] of a `&tool-error` of any host's bindings, whose
/// `tool-error` and `upstream-error` types are named by the last two
/// arguments (they all have the WIT variants' cases).
#[macro_export]
macro_rules! tool_failure_of {
    ($error:expr, $($tool:ident)::+, $($upstream:ident)::+) => {
        match $error {
            $($tool)::+::UnknownTool(name) => $crate::catalog::ToolFailure::UnknownTool(name),
            $($tool)::+::InvalidArguments(m) => $crate::catalog::ToolFailure::InvalidArguments(m),
            $($tool)::+::Failed(m) => $crate::catalog::ToolFailure::Failed(m),
            $($tool)::+::Upstream(e) => $crate::catalog::ToolFailure::Upstream(match e {
                $($upstream)::+::InvalidRequest(m) => {
                    $crate::catalog::UpstreamFailure::InvalidRequest(m)
                }
                $($upstream)::+::RateLimited => $crate::catalog::UpstreamFailure::RateLimited,
                $($upstream)::+::Timeout => $crate::catalog::UpstreamFailure::Timeout,
                $($upstream)::+::Unavailable(m) => $crate::catalog::UpstreamFailure::Unavailable(m),
                $($upstream)::+::BudgetExhausted => {
                    $crate::catalog::UpstreamFailure::BudgetExhausted
                }
            }),
        }
    };
}

/// Whether `path` is an OpenPhone API path every host may send below `/v1`:
/// starts with `/`, at most 512 bytes, letters, digits, `-`, `_`, `.` and
/// `/` only, no empty, `.` or `..` segment.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= 512
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        && path
            .split('/')
            .all(|segment| segment != "." && segment != "..")
}

/// Whether `key` has the shape of an OpenPhone API key as every host
/// accepts one: the whole credential of an `Authorization` header, so a
/// token68 (RFC 7235: letters, digits and `-._~+/=`), 1 to 512 bytes.
pub fn is_api_key_shaped(key: &str) -> bool {
    (1..=512).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

/// The descriptor as an MCP tool; `Err` when a schema is not JSON.
pub fn tool(d: Descriptor<'_>) -> Result<Tool, serde_json::Error> {
    let input: Value = serde_json::from_str(d.input_schema)?;
    let output: Option<Value> = d.output_schema.map(serde_json::from_str).transpose()?;
    let mut tool = serde_json::json!({
        "name": d.name,
        "title": d.title,
        "description": d.description,
        "inputSchema": input,
        "annotations": {
            "title": d.title,
            "readOnlyHint": d.read_only,
            "destructiveHint": d.destructive,
            "idempotentHint": d.idempotent,
            "openWorldHint": d.open_world,
        },
        "_meta": { SCOPE_META: d.scope },
    });
    if let Some(output) = output {
        tool["outputSchema"] = output;
    }
    serde_json::from_value(tool)
}

/// A tool's own result: `text` for the model, `structured` (JSON text, kept
/// when it parses) for programs; `is_error` when the tool ran but failed.
pub fn output(text: String, structured: Option<&str>, is_error: bool) -> CallToolResult {
    let structured = structured.and_then(|s| serde_json::from_str::<Value>(s).ok());
    let mut result = if is_error {
        CallToolResult::error(vec![Content::text(text)])
    } else {
        CallToolResult::success(vec![Content::text(text)])
    };
    result.structured_content = structured;
    result
}

/// A call that failed before producing output, reported with `isError`.
pub fn failure(text: String) -> CallToolResult {
    CallToolResult::error(vec![Content::text(text)])
}

/// Why the API could not be used, as `upstream-error` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure<'a> {
    InvalidRequest(&'a str),
    RateLimited,
    Timeout,
    Unavailable(&'a str),
    BudgetExhausted,
}

/// Why a tool call produced no output, as `tool-error` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolFailure<'a> {
    UnknownTool(&'a str),
    InvalidArguments(&'a str),
    Upstream(UpstreamFailure<'a>),
    Failed(&'a str),
}

/// The `_meta` key marking a result replayed from an earlier call's record.
pub const REPLAYED_META: &str = "io.github.openphone-mcp/replayed";

/// Why a call with an idempotency key (or a retried JSON-RPC request) was
/// not run. A request id reused for another request is not here: it is a
/// JSON-RPC error ([`REQUEST_ID_REUSED`]), not a tool result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A call with this key is running.
    StillRunning,
    /// The key was used with other arguments.
    KeyReused,
    /// An earlier attempt was cut off before its outcome was recorded.
    Interrupted,
    /// The claim could not be written, so nothing ran.
    NotRecorded,
}

/// The JSON-RPC error message for a request id reused in a session for a
/// different request.
pub const REQUEST_ID_REUSED: &str =
    "This request id was already used in this session for a different request; use a new id.";

/// The text a model is shown for a [`Refusal`].
pub fn explain_refusal(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::StillRunning => {
            "The same call is still running; wait for its result instead of calling again."
        }
        Refusal::KeyReused => {
            "This idempotencyKey was already used with different arguments; use a new key for a different request."
        }
        Refusal::Interrupted => {
            "An earlier attempt of this call was cut off (the server stopped or lost it) before its outcome was \
             recorded, so whether it acted is unknown. Check first (fetch-messages shows sent texts), then repeat \
             it as a new request, with a new idempotencyKey if you gave one."
        }
        Refusal::NotRecorded => "The call could not be recorded, so nothing was done. Try again.",
    }
}

/// The text a model is shown for a [`ToolFailure`].
pub fn explain(failure: ToolFailure<'_>) -> String {
    match failure {
        ToolFailure::InvalidArguments(m) => format!("Invalid arguments: {m}"),
        ToolFailure::UnknownTool(name) => format!("Unknown tool: {name}"),
        ToolFailure::Upstream(e) => explain_upstream(e),
        ToolFailure::Failed(m) => m.to_owned(),
    }
}

/// Wording for upstream errors a tool passed through unexplained.
pub fn explain_upstream(error: UpstreamFailure<'_>) -> String {
    match error {
        UpstreamFailure::InvalidRequest(m) => format!("The request to OpenPhone was not sent: {m}"),
        UpstreamFailure::RateLimited => {
            "OpenPhone is rate-limiting this account (10 requests per second). Wait a moment and try again.".into()
        }
        UpstreamFailure::Timeout => "OpenPhone did not answer in time.".into(),
        UpstreamFailure::Unavailable(m) => format!("OpenPhone is unavailable: {m}"),
        UpstreamFailure::BudgetExhausted => {
            "This call made as many OpenPhone requests as one call may.".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_become_tools_with_their_scope() {
        let tool = tool(Descriptor {
            name: "send-message",
            title: "Send a text",
            description: "Sends one SMS.",
            input_schema: r#"{"type":"object"}"#,
            output_schema: Some(r#"{"type":"object"}"#),
            read_only: false,
            destructive: false,
            idempotent: false,
            open_world: true,
            scope: "messages:send",
        })
        .expect("valid schemas");
        let json = serde_json::to_value(&tool).expect("serializes");
        assert_eq!(json["name"], "send-message");
        assert_eq!(json["annotations"]["openWorldHint"], true);
        assert_eq!(json["_meta"][SCOPE_META], "messages:send");
        assert_eq!(json["outputSchema"]["type"], "object");
    }

    #[test]
    fn api_keys_are_token68_and_bounded() {
        assert!(is_api_key_shaped("sk-live_AB.c~d+e/f=="));
        for bad in ["", "a b", "key\n", "k\"ey", "k:ey"] {
            assert!(!is_api_key_shaped(bad), "{bad:?}");
        }
        assert!(is_api_key_shaped(&"k".repeat(512)));
        assert!(!is_api_key_shaped(&"k".repeat(513)));
    }

    #[test]
    fn api_paths_stay_below_v1() {
        for good in ["/messages", "/contacts/CT1", "/call-transcripts/AC.1_x"] {
            assert!(is_api_path(good), "{good}");
        }
        for bad in [
            "messages", "/../x", "/a//b", "/a?b", "/a#b", "/a/./b", "/a b", "/%2e%2e",
        ] {
            assert!(!is_api_path(bad), "{bad}");
        }
        assert!(!is_api_path(&format!("/{}", "a".repeat(512))));
    }

    #[test]
    fn outputs_keep_structured_json_and_the_error_flag() {
        let ok = output("sent".into(), Some(r#"{"id":"AC1"}"#), false);
        assert_eq!(ok.is_error, Some(false));
        assert_eq!(
            ok.structured_content,
            Some(serde_json::json!({"id": "AC1"}))
        );
        let failed = output("refused".into(), Some("not json"), true);
        assert_eq!(failed.is_error, Some(true));
        assert_eq!(failed.structured_content, None);
        assert!(explain_upstream(UpstreamFailure::Unavailable("down")).contains("down"));
    }
}
