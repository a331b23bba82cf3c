//! Notifications: reading `notifications/cancelled` from the client and
//! building `notifications/progress` for it.

use rmcp::model::{ProgressToken, RequestId};
use serde_json::{Map, Number, Value};

use crate::jsonrpc::{self, parse_id};

/// `notifications/cancelled` params: `requestId` (string or integer) and an
/// optional `reason`. `None` when `requestId` is missing or malformed — a
/// notification cannot be answered, so the caller just ignores it.
pub(super) fn cancelled(params: Option<&Value>) -> Option<(RequestId, Option<String>)> {
    let params = params?.as_object()?;
    let id = parse_id(params.get("requestId")?)?;
    let reason = params
        .get("reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((id, reason))
}

/// A JSON number for `value`, or `None` when it is NaN/infinite (JSON has no
/// such numbers).
fn finite(value: f64) -> Option<Value> {
    Number::from_f64(value).map(Value::Number)
}

/// `notifications/progress` for `token`. `progress` should increase with
/// each notification (the caller's duty); a non-finite `progress` is sent as
/// `0` and a non-finite `total` is left out, so the value is always valid
/// JSON-RPC. `message` is included when given (2025-03-26 and later).
pub(super) fn progress(
    token: &ProgressToken,
    progress: f64,
    total: Option<f64>,
    message: Option<&str>,
) -> Value {
    let mut params = Map::with_capacity(4);
    params.insert("progressToken".into(), jsonrpc::id_value(&token.0));
    params.insert(
        "progress".into(),
        finite(progress).unwrap_or_else(|| Value::from(0)),
    );
    if let Some(total) = total.and_then(finite) {
        params.insert("total".into(), total);
    }
    if let Some(message) = message {
        params.insert("message".into(), Value::from(message));
    }
    jsonrpc::notification("notifications/progress", Some(Value::Object(params)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;
    use serde_json::json;

    #[test]
    fn cancelled_params() {
        assert_eq!(
            cancelled(Some(&json!({"requestId": "r1", "reason": "user"}))),
            Some((RequestId::String("r1".into()), Some("user".into())))
        );
        assert_eq!(
            cancelled(Some(&json!({"requestId": 4}))),
            Some((RequestId::Number(4), None))
        );
        assert_eq!(cancelled(Some(&json!({"requestId": 4.5}))), None);
        assert_eq!(cancelled(Some(&json!({}))), None);
        assert_eq!(cancelled(None), None);
    }

    #[test]
    fn progress_shapes() {
        let token = ProgressToken(NumberOrString::String("t".into()));
        assert_eq!(
            progress(&token, 1.0, Some(4.0), Some("sending")),
            json!({"jsonrpc": "2.0", "method": "notifications/progress",
                   "params": {"progressToken": "t", "progress": 1.0, "total": 4.0, "message": "sending"}})
        );
        let token = ProgressToken(NumberOrString::Number(9));
        assert_eq!(
            progress(&token, f64::NAN, Some(f64::INFINITY), None),
            json!({"jsonrpc": "2.0", "method": "notifications/progress",
                   "params": {"progressToken": 9, "progress": 0}})
        );
    }
}
