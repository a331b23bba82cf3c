//! JSON-RPC 2.0 framing: classify a request body into messages, and build
//! response/notification values.
//!
//! # Why not rmcp's `JsonRpcMessage`
//!
//! rmcp's typed envelope (`rmcp::model::JsonRpcMessage`) is deserialized in
//! one go: when any part of a message is wrong (unknown method, bad params,
//! a float id) the whole deserialization fails and the request id is lost,
//! so we could not answer with the id the client is waiting for nor with the
//! spec's specific error code. Its id type also accepts `1.0` as the integer
//! `1`, which JSON-RPC/MCP forbid, and `JsonRpcError` omits a `null` id
//! (a 2026-07-28 rule) where the revisions we speak require `"id": null`.
//! So the envelope is parsed by hand here, field by field, keeping the id as
//! soon as it is known. We do reuse rmcp's [`RequestId`] and [`ErrorData`]
//! for the values themselves.

use rmcp::model::{ErrorCode, ErrorData, RequestId};
use serde_json::{Map, Value};

use crate::version;

/// An incoming message that could not be accepted, with the id to answer
/// (when one could be read) and the JSON-RPC error to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidMessage {
    /// The request id, if the message carried a well-formed one.
    pub id: Option<RequestId>,
    /// The error to report: `-32700` or `-32600`.
    pub error: ErrorData,
}

impl InvalidMessage {
    fn new(id: Option<RequestId>, error: ErrorData) -> Self {
        Self { id, error }
    }

    fn invalid_request(id: Option<RequestId>, detail: &str) -> Self {
        Self::new(
            id,
            ErrorData::invalid_request(format!("Invalid Request: {detail}"), None),
        )
    }

    /// The complete JSON-RPC error response for this message (`id` is `null`
    /// when unknown).
    pub fn response(&self) -> Value {
        error_response(self.id.as_ref(), &self.error)
    }
}

/// One JSON-RPC message as received from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: must be answered with a response carrying `id`.
    Request {
        id: RequestId,
        method: String,
        /// `params`, when present and not `null` (an object or an array).
        params: Option<Value>,
    },
    /// A notification: never answered.
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// A response to a request we sent (we send none, so these are accepted
    /// and ignored). `id` is `None` only for error responses with a null id.
    Response {
        id: Option<RequestId>,
        /// `Ok(result)` or `Err(error object)`, unvalidated.
        outcome: Result<Value, Value>,
    },
    /// A batch element that is not a valid message. Single invalid messages
    /// are returned as `Err` by [`parse`] instead; inside a batch each element
    /// is answered on its own, as JSON-RPC requires.
    Invalid(InvalidMessage),
}

impl Message {
    /// Whether the server must send something back for this message.
    pub fn expects_reply(&self) -> bool {
        matches!(self, Message::Request { .. } | Message::Invalid(_))
    }

    /// The method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request { method, .. } | Message::Notification { method, .. } => Some(method),
            Message::Response { .. } | Message::Invalid(_) => None,
        }
    }
}

/// A parsed request body: one message or a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Single(Message),
    /// A non-empty JSON array of messages. Only valid under protocol version
    /// 2025-03-26 (see [`parse_with_version`]).
    Batch(Vec<Message>),
}

impl Incoming {
    /// Whether the body was a JSON array.
    pub fn is_batch(&self) -> bool {
        matches!(self, Incoming::Batch(_))
    }

    /// Whether any message needs an answer (HTTP: `202 Accepted` when not).
    pub fn expects_reply(&self) -> bool {
        match self {
            Incoming::Single(m) => m.expects_reply(),
            Incoming::Batch(ms) => ms.iter().any(Message::expects_reply),
        }
    }

    /// The messages in order (one for `Single`).
    pub fn into_messages(self) -> Vec<Message> {
        match self {
            Incoming::Single(m) => vec![m],
            Incoming::Batch(ms) => ms,
        }
    }
}

/// Most messages one batch may carry: a larger batch is refused whole, so
/// one request cannot queue unbounded work.
pub const MAX_BATCH_LEN: usize = 64;

/// Parses a request body.
///
/// * not JSON → `Err` with `-32700` and a null id;
/// * an array of more than [`MAX_BATCH_LEN`] elements → `Err` with `-32600`;
/// * an object that is not a valid message → `Err` with `-32600` (echoing
///   the id when it was well-formed);
/// * an empty array, or anything else that is not an object/array → `Err`
///   with `-32600`;
/// * a non-empty array → `Ok(Batch)`, invalid elements as [`Message::Invalid`].
///
/// Batches are accepted whatever the protocol version; use
/// [`parse_with_version`] to enforce the per-version rule.
pub fn parse(body: &[u8]) -> Result<Incoming, InvalidMessage> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        InvalidMessage::new(
            None,
            ErrorData::parse_error(format!("Parse error: {e}"), None),
        )
    })?;
    match value {
        Value::Array(items) if items.is_empty() => {
            Err(InvalidMessage::invalid_request(None, "empty batch"))
        }
        Value::Array(items) if items.len() > MAX_BATCH_LEN => Err(InvalidMessage::invalid_request(
            None,
            &format!("a batch carries at most {MAX_BATCH_LEN} messages"),
        )),
        Value::Array(items) => Ok(Incoming::Batch(items.into_iter().map(classify).collect())),
        Value::Object(_) => match classify(value) {
            Message::Invalid(invalid) => Err(invalid),
            message => Ok(Incoming::Single(message)),
        },
        _ => Err(InvalidMessage::invalid_request(
            None,
            "expected a JSON-RPC object or a batch array",
        )),
    }
}

/// [`parse`], then the protocol-version rules for batches: a batch is an
/// Invalid Request (`-32600`, id null) unless `protocol_version` is
/// 2025-03-26, and inside an accepted batch an `initialize` request is
/// replaced by [`Message::Invalid`] (2025-03-26: "MUST NOT be part of a
/// JSON-RPC batch").
pub fn parse_with_version(body: &[u8], protocol_version: &str) -> Result<Incoming, InvalidMessage> {
    match parse(body)? {
        Incoming::Batch(_) if !version::allows_batch(protocol_version) => {
            Err(InvalidMessage::invalid_request(
                None,
                &format!(
                    "JSON-RPC batches are not supported in protocol version {protocol_version} \
                     (only {})",
                    version::BATCH_VERSION
                ),
            ))
        }
        Incoming::Batch(messages) => Ok(Incoming::Batch(
            messages
                .into_iter()
                .map(|m| match m {
                    Message::Request { id, method, .. } if method == "initialize" => {
                        Message::Invalid(InvalidMessage::invalid_request(
                            Some(id),
                            "initialize must not be part of a batch",
                        ))
                    }
                    other => other,
                })
                .collect(),
        )),
        single => Ok(single),
    }
}

/// The `id` member as we found it.
enum IdField {
    Absent,
    Null,
    Valid(RequestId),
    Malformed,
}

/// A JSON-RPC id as MCP allows it: a string or an integer that fits `i64`.
/// Floats (even `1.0`), booleans, objects, arrays are rejected; so are
/// integers above `i64::MAX`, which rmcp's `RequestId` cannot echo exactly.
pub fn parse_id(value: &Value) -> Option<RequestId> {
    match value {
        Value::String(s) => Some(RequestId::String(s.as_str().into())),
        Value::Number(n) => n.as_i64().map(RequestId::Number),
        _ => None,
    }
}

/// Classifies one JSON value as a message; never fails (errors become
/// [`Message::Invalid`]).
fn classify(value: Value) -> Message {
    let Value::Object(mut obj) = value else {
        return Message::Invalid(InvalidMessage::invalid_request(
            None,
            "a JSON-RPC message must be an object",
        ));
    };
    let id = match obj.remove("id") {
        None => IdField::Absent,
        Some(Value::Null) => IdField::Null,
        Some(v) => parse_id(&v).map_or(IdField::Malformed, IdField::Valid),
    };
    let echo = match &id {
        IdField::Valid(id) => Some(id.clone()),
        _ => None,
    };
    let invalid =
        |detail: &str| Message::Invalid(InvalidMessage::invalid_request(echo.clone(), detail));

    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid("jsonrpc must be \"2.0\"");
    }
    match obj.remove("method") {
        Some(Value::String(method)) => {
            let params = match obj.remove("params") {
                None | Some(Value::Null) => None,
                Some(p @ (Value::Object(_) | Value::Array(_))) => Some(p),
                Some(_) => return invalid("params must be an object or an array"),
            };
            match id {
                IdField::Absent => Message::Notification { method, params },
                IdField::Valid(id) => Message::Request { id, method, params },
                IdField::Null => invalid("id must not be null"),
                IdField::Malformed => invalid("id must be a string or an integer"),
            }
        }
        Some(_) => invalid("method must be a string"),
        None => {
            classify_response(id, obj.remove("result"), obj.remove("error")).unwrap_or_else(invalid)
        }
    }
}

/// A message without `method`: a response from the client.
fn classify_response(
    id: IdField,
    result: Option<Value>,
    error: Option<Value>,
) -> Result<Message, &'static str> {
    let outcome = match (result, error) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(error),
        (Some(_), Some(_)) => return Err("a response must not carry both result and error"),
        (None, None) => {
            return Err("missing method (request/notification) or result/error (response)");
        }
    };
    let id = match id {
        IdField::Valid(id) => Some(id),
        // An error response may have a null id (the peer could not read ours).
        IdField::Null | IdField::Absent if outcome.is_err() => None,
        IdField::Malformed => return Err("id must be a string or an integer"),
        IdField::Null | IdField::Absent => return Err("a result response must carry an id"),
    };
    Ok(Message::Response { id, outcome })
}

/// `id` as a JSON value, preserving string vs number.
pub fn id_value(id: &RequestId) -> Value {
    id.clone().into_json_value()
}

/// `{"jsonrpc": "2.0", "id": id, "result": result}`.
pub fn success_response(id: &RequestId, result: Value) -> Value {
    let mut obj = Map::with_capacity(3);
    obj.insert("jsonrpc".into(), Value::from("2.0"));
    obj.insert("id".into(), id_value(id));
    obj.insert("result".into(), result);
    Value::Object(obj)
}

/// `{"jsonrpc": "2.0", "id": id, "result": RESULT}` as bytes, with `result`
/// already serialized: a result that is the same for many requests (the
/// first `tools/list` page) is serialized once and spliced in.
pub fn success_response_bytes(id: &RequestId, result: &[u8]) -> Vec<u8> {
    let id = id_value(id).to_string();
    let mut out = Vec::with_capacity(32 + id.len() + result.len());
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(br#","result":"#);
    out.extend_from_slice(result);
    out.push(b'}');
    out
}

/// `{"code", "message", "data"?}` for `error`.
pub fn error_object(error: &ErrorData) -> Value {
    let mut obj = Map::with_capacity(3);
    obj.insert("code".into(), Value::from(error.code.0));
    obj.insert("message".into(), Value::from(error.message.as_ref()));
    if let Some(data) = &error.data {
        obj.insert("data".into(), data.clone());
    }
    Value::Object(obj)
}

/// `{"jsonrpc": "2.0", "id": id|null, "error": {...}}`. The `id` member is
/// always present (null when unknown), as JSON-RPC 2.0 requires.
pub fn error_response(id: Option<&RequestId>, error: &ErrorData) -> Value {
    let mut obj = Map::with_capacity(3);
    obj.insert("jsonrpc".into(), Value::from("2.0"));
    obj.insert("id".into(), id.map_or(Value::Null, id_value));
    obj.insert("error".into(), error_object(error));
    Value::Object(obj)
}

/// Shorthand for [`error_response`] from a code and message.
pub fn error_response_with(id: Option<&RequestId>, code: ErrorCode, message: String) -> Value {
    error_response(id, &ErrorData::new(code, message, None))
}

/// `{"jsonrpc": "2.0", "method": method, "params"?: params}`.
pub fn notification(method: &str, params: Option<Value>) -> Value {
    let mut obj = Map::with_capacity(3);
    obj.insert("jsonrpc".into(), Value::from("2.0"));
    obj.insert("method".into(), Value::from(method));
    if let Some(params) = params {
        obj.insert("params".into(), params);
    }
    Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_value(v: Value) -> Result<Incoming, InvalidMessage> {
        parse(v.to_string().as_bytes())
    }

    fn err_code(r: Result<Incoming, InvalidMessage>) -> (i32, Option<RequestId>) {
        match r {
            Err(e) => (e.error.code.0, e.id),
            Ok(other) => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn request_with_string_and_integer_ids() {
        let r = parse_value(json!({"jsonrpc":"2.0","id":"abc","method":"ping"}));
        assert_eq!(
            r,
            Ok(Incoming::Single(Message::Request {
                id: RequestId::String("abc".into()),
                method: "ping".into(),
                params: None
            }))
        );
        let r = parse_value(
            json!({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"x"}}),
        );
        assert_eq!(
            r,
            Ok(Incoming::Single(Message::Request {
                id: RequestId::Number(7),
                method: "tools/list".into(),
                params: Some(json!({"cursor":"x"}))
            }))
        );
        // Negative ids are integers too.
        let r = parse_value(json!({"jsonrpc":"2.0","id":-3,"method":"ping"}));
        assert!(matches!(
            r,
            Ok(Incoming::Single(Message::Request {
                id: RequestId::Number(-3),
                ..
            }))
        ));
    }

    #[test]
    fn null_params_are_absent() {
        let r = parse_value(json!({"jsonrpc":"2.0","id":1,"method":"ping","params":null}));
        assert!(matches!(
            r,
            Ok(Incoming::Single(Message::Request { params: None, .. }))
        ));
    }

    #[test]
    fn notification_and_client_responses() {
        let r = parse_value(json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
        assert_eq!(
            r,
            Ok(Incoming::Single(Message::Notification {
                method: "notifications/initialized".into(),
                params: None
            }))
        );
        assert!(!r.as_ref().map(Incoming::expects_reply).unwrap_or(true));

        let r = parse_value(json!({"jsonrpc":"2.0","id":"s1","result":{}}));
        assert_eq!(
            r,
            Ok(Incoming::Single(Message::Response {
                id: Some(RequestId::String("s1".into())),
                outcome: Ok(json!({}))
            }))
        );
        let r =
            parse_value(json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}));
        assert!(matches!(
            r,
            Ok(Incoming::Single(Message::Response {
                id: None,
                outcome: Err(_)
            }))
        ));
    }

    #[test]
    fn parse_error_has_null_id() {
        let r = parse(b"{not json");
        let Err(e) = r else {
            panic!("expected parse error")
        };
        assert_eq!(e.error.code, ErrorCode::PARSE_ERROR);
        let resp = e.response();
        assert_eq!(resp["jsonrpc"], "2.0");
        assert_eq!(resp["id"], Value::Null);
        assert!(resp.as_object().is_some_and(|o| o.contains_key("id")));
        assert_eq!(resp["error"]["code"], -32700);
        assert_eq!(err_code(parse(b"")).0, -32700);
    }

    #[test]
    fn invalid_requests() {
        // Wrong or missing jsonrpc version, echoing a well-formed id.
        assert_eq!(
            err_code(parse_value(json!({"jsonrpc":"1.0","id":5,"method":"ping"}))),
            (-32600, Some(RequestId::Number(5)))
        );
        assert_eq!(
            err_code(parse_value(json!({"id":"a","method":"ping"}))),
            (-32600, Some(RequestId::String("a".into())))
        );
        // Bad ids: float, float-looking integer, null, bool, object; never echoed.
        for id in [
            json!(1.5),
            json!(1.0),
            json!(null),
            json!(true),
            json!({"a":1}),
            json!([1]),
        ] {
            assert_eq!(
                err_code(parse_value(
                    json!({"jsonrpc":"2.0","id":id,"method":"ping"})
                )),
                (-32600, None),
                "id {id}"
            );
        }
        assert_eq!(
            err_code(parse(br#"{"jsonrpc":"2.0","id":1e2,"method":"ping"}"#)).0,
            -32600
        );
        assert_eq!(
            err_code(parse(
                br#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"ping"}"#
            ))
            .0,
            -32600
        );
        // Non-string method, scalar params.
        assert_eq!(
            err_code(parse_value(json!({"jsonrpc":"2.0","id":1,"method":3}))),
            (-32600, Some(RequestId::Number(1)))
        );
        assert_eq!(
            err_code(parse_value(
                json!({"jsonrpc":"2.0","id":1,"method":"ping","params":"x"})
            ))
            .0,
            -32600
        );
        // Neither request nor response; both result and error; result without id.
        assert_eq!(
            err_code(parse_value(json!({"jsonrpc":"2.0","id":1}))).0,
            -32600
        );
        assert_eq!(
            err_code(parse_value(
                json!({"jsonrpc":"2.0","id":1,"result":{},"error":{}})
            ))
            .0,
            -32600
        );
        assert_eq!(
            err_code(parse_value(json!({"jsonrpc":"2.0","result":{}}))).0,
            -32600
        );
        // Not an object or array; empty batch.
        assert_eq!(err_code(parse(b"42")), (-32600, None));
        assert_eq!(err_code(parse(b"\"ping\"")), (-32600, None));
        assert_eq!(err_code(parse(b"[]")), (-32600, None));
    }

    #[test]
    fn batch_parsing_keeps_order_and_answers_bad_elements() {
        let body = json!([
            {"jsonrpc":"2.0","id":1,"method":"ping"},
            {"jsonrpc":"2.0","method":"notifications/initialized"},
            1,
            {"jsonrpc":"2.0","id":"x","method":7}
        ]);
        let Ok(incoming) = parse_value(body) else {
            panic!("batch should parse")
        };
        assert!(incoming.is_batch());
        assert!(incoming.expects_reply());
        let messages = incoming.into_messages();
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[0].method(), Some("ping"));
        assert!(matches!(messages[1], Message::Notification { .. }));
        assert!(matches!(&messages[2], Message::Invalid(i) if i.id.is_none()));
        assert!(matches!(
            &messages[3],
            Message::Invalid(i) if i.id == Some(RequestId::String("x".into()))
                && i.error.code == ErrorCode::INVALID_REQUEST
        ));
        let single = parse_value(json!({"jsonrpc":"2.0","id":1,"method":"ping"}));
        assert!(!single.map(|i| i.is_batch()).unwrap_or(true));
    }

    #[test]
    fn batches_only_under_2025_03_26() {
        let body = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
        let Err(e) = parse_with_version(body, "2025-06-18") else {
            panic!("batch must be rejected")
        };
        assert_eq!(e.error.code, ErrorCode::INVALID_REQUEST);
        assert_eq!(e.id, None);
        assert!(e.error.message.contains("batches are not supported"));
        assert!(parse_with_version(body, "2025-11-25").is_err());
        assert!(parse_with_version(body, "2025-03-26").is_ok_and(|i| i.is_batch()));
        // Single messages pass whatever the version.
        assert!(
            parse_with_version(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, "2025-11-25")
                .is_ok()
        );
        // initialize inside a batch is answered with its own error.
        let body = br#"[{"jsonrpc":"2.0","id":9,"method":"initialize","params":{}}]"#;
        let Ok(Incoming::Batch(ms)) = parse_with_version(body, "2025-03-26") else {
            panic!()
        };
        assert!(matches!(
            &ms[0],
            Message::Invalid(i) if i.id == Some(RequestId::Number(9))
        ));
    }

    #[test]
    fn builders() {
        assert_eq!(
            success_response(&RequestId::String("7".into()), json!({})),
            json!({"jsonrpc":"2.0","id":"7","result":{}})
        );
        assert_eq!(
            success_response(&RequestId::Number(7), json!({"a":1})),
            json!({"jsonrpc":"2.0","id":7,"result":{"a":1}})
        );
        assert_eq!(
            error_response(
                Some(&RequestId::Number(1)),
                &ErrorData::invalid_params("bad", Some(json!({"field":"name"})))
            ),
            json!({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad","data":{"field":"name"}}})
        );
        assert_eq!(
            error_response_with(None, ErrorCode::INTERNAL_ERROR, "boom".into()),
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"boom"}})
        );
        assert_eq!(
            notification("notifications/x", None),
            json!({"jsonrpc":"2.0","method":"notifications/x"})
        );
    }

    #[test]
    fn refuses_batches_longer_than_the_cap() {
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let batch = |n: usize| format!("[{}]", vec![ping; n].join(","));
        assert!(
            matches!(parse(batch(MAX_BATCH_LEN).as_bytes()), Ok(Incoming::Batch(m)) if m.len() == MAX_BATCH_LEN)
        );
        let e = parse(batch(MAX_BATCH_LEN + 1).as_bytes()).unwrap_err();
        assert_eq!(e.error.code, ErrorCode::INVALID_REQUEST);
    }
}
