//! Server-Sent Events framing for Streamable HTTP responses.

use serde_json::Value;

/// One SSE `message` event carrying `data` as compact JSON:
///
/// ```text
/// id: <id>\n            (only when `id` is given)
/// event: message\n
/// data: <json>\n
/// \n
/// ```
///
/// Compact JSON never contains a raw line break (they are escaped inside
/// strings), so the payload is always a single `data:` line. CR, LF and NUL
/// are removed from `id`, since they would end the field early or make
/// clients ignore it.
pub fn sse_event(data: &Value, id: Option<&str>) -> String {
    let json = data.to_string();
    let mut out = String::with_capacity(json.len() + 40);
    if let Some(id) = id {
        out.push_str("id: ");
        out.extend(id.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')));
        out.push('\n');
    }
    out.push_str("event: message\ndata: ");
    out.push_str(&json);
    out.push_str("\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn format_without_and_with_id() {
        let v = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
        // Key order depends on serde_json features, so compare with its own output.
        assert_eq!(
            sse_event(&v, None),
            format!("event: message\ndata: {v}\n\n")
        );
        assert!(!v.to_string().contains('\n'));
        assert_eq!(
            sse_event(&json!(1), Some("s1-7")),
            "id: s1-7\nevent: message\ndata: 1\n\n"
        );
    }

    #[test]
    fn newlines_cannot_break_the_frame() {
        let event = sse_event(&json!({"text": "a\nb\r\nc"}), Some("x\ny\rz\0"));
        assert_eq!(
            event,
            "id: xyz\nevent: message\ndata: {\"text\":\"a\\nb\\r\\nc\"}\n\n"
        );
        // Exactly one blank line: at the end.
        assert_eq!(event.matches("\n\n").count(), 1);
        assert!(event.ends_with("\n\n"));
    }
}
