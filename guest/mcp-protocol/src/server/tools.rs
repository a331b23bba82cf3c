//! `tools/list` (cursor pagination) and `tools/call` (parameter validation).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rmcp::model::{ErrorData, ListToolsResult, ProgressToken, RequestId, Tool};
use serde_json::{Map, Value};

use super::{ToolCall, invalid_params};
use crate::jsonrpc::parse_id;

/// Prefix inside the base64 cursor, so that arbitrary base64 of a number is
/// not mistaken for one of ours.
const CURSOR_PREFIX: &str = "offset:";

/// The opaque cursor for the page starting at `offset`.
pub(super) fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{offset}"))
}

/// The offset a cursor stands for, if it is one of ours and still points
/// inside a list of `len` tools.
fn decode_cursor(cursor: &str, len: usize) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let digits = text.strip_prefix(CURSOR_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let offset: usize = digits.parse().ok()?;
    (offset < len).then_some(offset)
}

/// Handles `tools/list`: the page of `tools` selected by `params.cursor`
/// (absent → first page), at most `page_size` long, with `nextCursor` when
/// more remain. An unreadable cursor → `-32602`.
pub(super) fn list(
    params: Option<Value>,
    tools: &[Tool],
    page_size: usize,
) -> Result<Value, ErrorData> {
    let cursor = match params {
        None => None,
        Some(Value::Object(mut p)) => match p.remove("cursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(c)) => Some(c),
            Some(_) => return Err(invalid_params("cursor must be a string", "cursor")),
        },
        Some(_) => return Err(invalid_params("params must be an object", "params")),
    };
    let start = match cursor {
        None => 0,
        Some(c) => decode_cursor(&c, tools.len())
            .ok_or_else(|| invalid_params("invalid cursor", "cursor"))?,
    };
    let end = start.saturating_add(page_size).min(tools.len());
    let mut result = ListToolsResult::with_all_items(tools[start..end].to_vec());
    // rmcp pre-fills the 2026-07-28 `resultType: "complete"` discriminator;
    // the revisions we speak do not have it (rmcp's own server strips it for
    // such peers too, via `ServerResult::strip_result_type_for_legacy_peer`).
    result.result_type = None;
    result.next_cursor = (end < tools.len()).then(|| encode_cursor(end));
    serde_json::to_value(&result).map_err(|e| {
        ErrorData::internal_error(
            format!("Internal error: tool list could not be serialized: {e}"),
            None,
        )
    })
}

/// Handles `tools/call`: validates `name`/`arguments`/`_meta`, checks the
/// tool exists, and extracts `_meta.progressToken`.
pub(super) fn call(
    id: RequestId,
    params: Option<Value>,
    tools: &[Tool],
) -> Result<ToolCall, ErrorData> {
    let mut params = match params {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(invalid_params("params must be an object", "params")),
        None => {
            return Err(invalid_params(
                "tools/call requires params with a tool name",
                "name",
            ));
        }
    };
    let name = match params.remove("name") {
        Some(Value::String(name)) => name,
        Some(_) => return Err(invalid_params("name must be a string", "name")),
        None => return Err(invalid_params("missing tool name", "name")),
    };
    let arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(arguments)) => arguments,
        Some(_) => return Err(invalid_params("arguments must be an object", "arguments")),
    };
    let meta = match params.remove("_meta") {
        None | Some(Value::Null) => None,
        Some(Value::Object(meta)) => Some(meta),
        Some(_) => return Err(invalid_params("_meta must be an object", "_meta")),
    };
    let progress_token = match meta.as_ref().and_then(|m| m.get("progressToken")) {
        None | Some(Value::Null) => None,
        Some(token) => Some(ProgressToken(parse_id(token).ok_or_else(|| {
            invalid_params(
                "_meta.progressToken must be a string or an integer",
                "_meta.progressToken",
            )
        })?)),
    };
    if !tools.iter().any(|t| t.name == name) {
        return Err(ErrorData::invalid_params(
            format!("Unknown tool: {name}"),
            Some(serde_json::json!({"field": "name"})),
        ));
    }
    Ok(ToolCall {
        id,
        name,
        arguments,
        progress_token,
        meta,
    })
}

/// A minimal tool descriptor, for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn test_tool(name: &'static str) -> Tool {
    let mut schema = Map::new();
    schema.insert("type".into(), Value::from("object"));
    Tool::new(name, "a tool", schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;
    use serde_json::json;

    fn tool(name: &'static str) -> Tool {
        test_tool(name)
    }

    #[test]
    fn cursor_round_trip_and_rejections() {
        assert_eq!(decode_cursor(&encode_cursor(4), 10), Some(4));
        assert_eq!(decode_cursor(&encode_cursor(10), 10), None, "past the end");
        assert_eq!(decode_cursor("not base64!", 10), None);
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("4"), 10),
            None,
            "no prefix"
        );
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("offset:+4"), 10),
            None
        );
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("offset:"), 10), None);
        assert_eq!(decode_cursor("", 10), None);
    }

    #[test]
    fn list_rejects_bad_params() {
        let tools = [tool("a")];
        for params in [json!([]), json!({"cursor": 3}), json!({"cursor": "bogus"})] {
            let err = list(Some(params.clone()), &tools, 2).expect_err("bad params");
            assert_eq!(err.code.0, -32602, "{params}");
        }
        // Null cursor means the first page.
        let v = list(Some(json!({"cursor": null})), &tools, 2).expect("valid");
        assert_eq!(v["tools"][0]["name"], "a");
        assert!(v.get("resultType").is_none());
    }

    #[test]
    fn empty_tool_list() {
        let v = list(None, &[], 2).expect("valid");
        assert_eq!(v, json!({"tools": []}));
    }

    #[test]
    fn call_param_errors() {
        let tools = [tool("send")];
        let id = || RequestId::Number(1);
        let cases = [
            (None, "name"),
            (Some(json!("x")), "params"),
            (Some(json!({})), "name"),
            (Some(json!({"name": 5})), "name"),
            (Some(json!({"name": "send", "arguments": [1]})), "arguments"),
            (
                Some(json!({"name": "send", "arguments": "{}"})),
                "arguments",
            ),
            (Some(json!({"name": "send", "_meta": 1})), "_meta"),
            (
                Some(json!({"name": "send", "_meta": {"progressToken": 1.5}})),
                "_meta.progressToken",
            ),
            (
                Some(json!({"name": "send", "_meta": {"progressToken": true}})),
                "_meta.progressToken",
            ),
            (Some(json!({"name": "nope"})), "name"),
        ];
        for (params, field) in cases {
            let err = call(id(), params.clone(), &tools).expect_err("invalid");
            assert_eq!(err.code.0, -32602, "{params:?}");
            assert_eq!(err.data, Some(json!({"field": field})), "{params:?}");
        }
        let err = call(id(), Some(json!({"name": "nope"})), &tools).expect_err("unknown");
        assert_eq!(err.message, "Unknown tool: nope");
    }

    #[test]
    fn call_extracts_arguments_and_tokens() {
        let tools = [tool("send")];
        let c = call(RequestId::Number(1), Some(json!({"name": "send"})), &tools).expect("valid");
        assert!(c.arguments.is_empty());
        assert_eq!(c.progress_token, None);
        assert_eq!(c.meta, None);

        let c = call(
            RequestId::Number(2),
            Some(json!({"name": "send", "arguments": {"to": "+1"}, "_meta": {"progressToken": "tok", "x": 1}})),
            &tools,
        )
        .expect("valid");
        assert_eq!(c.arguments.get("to"), Some(&json!("+1")));
        assert_eq!(
            c.progress_token,
            Some(ProgressToken(NumberOrString::String("tok".into())))
        );
        assert_eq!(c.meta.as_ref().and_then(|m| m.get("x")), Some(&json!(1)));

        let c = call(
            RequestId::Number(3),
            Some(json!({"name": "send", "_meta": {"progressToken": 42}})),
            &tools,
        )
        .expect("valid");
        assert_eq!(
            c.progress_token,
            Some(ProgressToken(NumberOrString::Number(42)))
        );
    }
}
