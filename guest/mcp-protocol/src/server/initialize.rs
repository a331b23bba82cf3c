//! The `initialize` request: parameter validation, version negotiation and
//! the result payload (built with rmcp's `InitializeResult`).

use rmcp::model::{
    ErrorData, Implementation, InitializeResult, ServerCapabilities, ToolsCapability,
};
use serde_json::{Map, Value};

use super::session::{ClientInfo, Session};
use super::{ServerInfo, invalid_params};
use crate::version;

/// What `initialize` params must contain.
struct InitializeParams {
    protocol_version: String,
    client: ClientInfo,
}

/// Validates `params`; the error names the offending field (message and
/// `data.field`).
fn parse_params(params: Option<Value>) -> Result<InitializeParams, ErrorData> {
    let Some(Value::Object(params)) = params else {
        return Err(invalid_params(
            "initialize requires params (protocolVersion, capabilities, clientInfo)",
            "params",
        ));
    };
    let protocol_version = match params.get("protocolVersion") {
        Some(Value::String(v)) => v.clone(),
        Some(_) => {
            return Err(invalid_params(
                "protocolVersion must be a string",
                "protocolVersion",
            ));
        }
        None => return Err(invalid_params("missing protocolVersion", "protocolVersion")),
    };
    match params.get("capabilities") {
        Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(invalid_params(
                "capabilities must be an object",
                "capabilities",
            ));
        }
        None => return Err(invalid_params("missing capabilities", "capabilities")),
    }
    let client = match params.get("clientInfo") {
        Some(Value::Object(info)) => parse_client_info(info)?,
        Some(_) => return Err(invalid_params("clientInfo must be an object", "clientInfo")),
        None => return Err(invalid_params("missing clientInfo", "clientInfo")),
    };
    Ok(InitializeParams {
        protocol_version,
        client,
    })
}

/// Longest `clientInfo` field kept, in bytes: the session stores it.
pub const MAX_CLIENT_FIELD: usize = 256;

/// `text` as kept: control characters removed, cut to [`MAX_CLIENT_FIELD`]
/// bytes at a character boundary.
fn bounded(text: &str) -> String {
    let mut kept = String::with_capacity(text.len().min(MAX_CLIENT_FIELD));
    for c in text.chars().filter(|c| !c.is_control()) {
        if kept.len() + c.len_utf8() > MAX_CLIENT_FIELD {
            break;
        }
        kept.push(c);
    }
    kept
}

fn parse_client_info(info: &Map<String, Value>) -> Result<ClientInfo, ErrorData> {
    let field = |name: &'static str, path: &'static str| match info.get(name) {
        Some(Value::String(s)) => Ok(bounded(s)),
        Some(_) => Err(invalid_params(&format!("{path} must be a string"), path)),
        None => Err(invalid_params(&format!("missing {path}"), path)),
    };
    Ok(ClientInfo {
        name: field("name", "clientInfo.name")?,
        version: field("version", "clientInfo.version")?,
        title: info.get("title").and_then(Value::as_str).map(bounded),
    })
}

/// The result for a negotiated version, via rmcp's typed `InitializeResult`.
fn result(info: &ServerInfo, protocol_version: &str) -> Result<Value, ErrorData> {
    // `ServerCapabilities::builder()` needs rmcp's `server` feature (tokio
    // runtime bits we do not want in a wasm guest), and the structs are
    // `#[non_exhaustive]`, so start from `Default` and set fields.
    let mut tools = ToolsCapability::default();
    tools.list_changed = Some(false);
    let mut capabilities = ServerCapabilities::default();
    capabilities.tools = Some(tools);

    let mut implementation = Implementation::new(info.name.clone(), info.version.clone());
    implementation.title = info.title.clone();

    let mut result = InitializeResult::new(capabilities)
        .with_protocol_version(version::to_rmcp(protocol_version))
        .with_server_info(implementation);
    result.instructions = info.instructions.clone();
    serde_json::to_value(&result).map_err(|e| {
        ErrorData::internal_error(
            format!("Internal error: initialize result could not be serialized: {e}"),
            None,
        )
    })
}

/// Handles `initialize`: on success the session records the negotiated
/// version and client info, and the returned value is the `result` member.
pub(super) fn handle(
    info: &ServerInfo,
    session: &mut Session,
    params: Option<Value>,
) -> Result<Value, ErrorData> {
    if session.is_negotiated() {
        return Err(ErrorData::invalid_request(
            "Invalid Request: session already initialized; initialize may be sent only once",
            None,
        ));
    }
    let params = parse_params(params)?;
    let negotiated = version::negotiate(&params.protocol_version);
    let value = result(info, negotiated)?;
    session.record_initialize(negotiated, params.client);
    Ok(value)
}

/// A valid `initialize` params object, for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn example_params(protocol_version: &str) -> Value {
    serde_json::json!({
        "protocolVersion": protocol_version,
        "capabilities": {},
        "clientInfo": {"name": "test-client", "version": "0.0.1"}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info() -> ServerInfo {
        ServerInfo {
            name: "openphone".into(),
            version: "1.2.3".into(),
            title: Some("OpenPhone".into()),
            instructions: Some("Use send-message.".into()),
        }
    }

    #[test]
    fn each_missing_or_mistyped_field_is_named() {
        let base = example_params("2025-06-18");
        let cases: [(&str, Value); 9] = [
            ("protocolVersion", json!(null)),
            ("protocolVersion", json!(20250618)),
            ("capabilities", json!(null)),
            ("capabilities", json!([])),
            ("clientInfo", json!(null)),
            ("clientInfo", json!("x")),
            ("clientInfo.name", json!({"version": "1"})),
            ("clientInfo.version", json!({"name": "c"})),
            ("clientInfo.version", json!({"name": "c", "version": 1})),
        ];
        for (field, bad) in cases {
            let mut params = base.clone();
            let top = field.split('.').next().unwrap_or(field);
            match (&mut params, bad) {
                (Value::Object(p), Value::Null) => {
                    p.remove(top);
                }
                (Value::Object(p), v) => {
                    p.insert(top.into(), v);
                }
                _ => panic!("params is an object"),
            }
            let mut session = Session::default();
            let err = handle(&info(), &mut session, Some(params)).expect_err(field);
            assert_eq!(err.code.0, -32602, "{field}");
            assert!(err.message.contains(field), "{field}: {}", err.message);
            assert_eq!(err.data, Some(json!({"field": field})));
            assert!(!session.is_negotiated());
        }
        let err = handle(&info(), &mut Session::default(), None).expect_err("no params");
        assert_eq!(err.code.0, -32602);
    }

    #[test]
    fn result_shape() {
        let mut session = Session::default();
        let v = handle(&info(), &mut session, Some(example_params("2025-03-26"))).expect("valid");
        assert_eq!(
            v,
            json!({
                "protocolVersion": "2025-03-26",
                "capabilities": {"tools": {"listChanged": false}},
                "serverInfo": {"name": "openphone", "version": "1.2.3", "title": "OpenPhone"},
                "instructions": "Use send-message."
            })
        );
        assert_eq!(session.protocol_version(), Some("2025-03-26"));
        assert_eq!(
            session.client_info().map(|c| c.name.as_str()),
            Some("test-client")
        );

        let bare = ServerInfo {
            title: None,
            instructions: None,
            ..info()
        };
        let v = handle(
            &bare,
            &mut Session::default(),
            Some(example_params("2025-11-25")),
        )
        .expect("valid");
        assert!(v.get("instructions").is_none());
        assert!(v["serverInfo"].get("title").is_none());
    }

    #[test]
    fn client_info_is_bounded_and_single_line() {
        let info = serde_json::json!({
            "name": format!("evil\nclient{}", "x".repeat(10_000)),
            "version": "1\r\n2",
            "title": "é".repeat(1_000),
        });
        let client = parse_client_info(info.as_object().unwrap()).unwrap();
        assert!(client.name.starts_with("evilclientx"));
        assert_eq!(client.name.len(), MAX_CLIENT_FIELD);
        assert_eq!(client.version, "12");
        let title = client.title.unwrap();
        assert!(title.len() <= MAX_CLIENT_FIELD && title.chars().all(|c| c == 'é'));
    }
}
