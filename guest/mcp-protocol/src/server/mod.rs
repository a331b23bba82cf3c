//! The MCP server lifecycle as a state machine: one [`Message`] in, one
//! [`Step`] out. No I/O: the host reads bodies, stores the [`Session`], runs
//! tools and writes responses.
//!
//! Served: `initialize`, `ping`, `tools/list`, `tools/call`,
//! `notifications/initialized`, `notifications/cancelled`. Every other
//! request method (including spec methods we do not offer, such as
//! `resources/list`, `prompts/list`, `logging/setLevel`,
//! `completion/complete`) is answered `-32601`; other notifications are
//! ignored, as the spec requires.

mod initialize;
mod notifications;
mod session;
mod tools;

use rmcp::model::{CallToolResult, ErrorData, ProgressToken, RequestId, Tool};
use serde_json::{Map, Value};

use crate::jsonrpc::{self, Message};

pub use session::{ClientInfo, Session};

/// Default number of tools per `tools/list` page.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// How the server introduces itself in `initialize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
    /// `serverInfo.title`, sent when set.
    pub title: Option<String>,
    /// Top-level `instructions`, sent when set.
    pub instructions: Option<String>,
}

impl ServerInfo {
    /// How openphone-mcp introduces itself, on every host.
    pub fn openphone(version: &str) -> Self {
        Self {
            name: "openphone-mcp".into(),
            version: version.into(),
            title: Some("OpenPhone".into()),
            instructions: Some(
                "Tools to text, look up and record things in an OpenPhone (Quo) workspace. Phone numbers are E.164 \
                 (+15555550123); an inbox is one of the workspace's numbers or its id (PN…)."
                    .into(),
            ),
        }
    }
}

/// What the host must do after [`Server::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this JSON-RPC response (success or error) back.
    Reply(Value),
    /// Nothing to send (a notification or a client response).
    Accepted,
    /// Run the tool, then send [`Server::tool_result`] for `ToolCall::id`.
    CallTool(ToolCall),
    /// The client cancelled `request_id` (`notifications/cancelled`): stop it
    /// if it is still running and send no response for it.
    Cancel {
        request_id: RequestId,
        reason: Option<String>,
    },
}

/// A validated `tools/call` for a tool that exists in the list passed to
/// [`Server::handle`].
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The request id the result must be sent with.
    pub id: RequestId,
    pub name: String,
    /// `params.arguments` (empty when absent); not yet validated against the
    /// tool's input schema.
    pub arguments: Map<String, Value>,
    /// `params._meta.progressToken`: progress notifications are wanted.
    pub progress_token: Option<ProgressToken>,
    /// `params._meta`, whole.
    pub meta: Option<Map<String, Value>>,
}

/// The stateless MCP server logic; all per-client state lives in [`Session`].
#[derive(Debug, Clone)]
pub struct Server {
    info: ServerInfo,
    page_size: usize,
}

/// `-32602` with a message naming `field`, which is also given in
/// `data.field`.
fn invalid_params(detail: &str, field: &str) -> ErrorData {
    ErrorData::invalid_params(
        format!("Invalid params: {detail}"),
        Some(serde_json::json!({ "field": field })),
    )
}

impl Server {
    /// A server with [`DEFAULT_PAGE_SIZE`] tools per page.
    pub fn new(info: ServerInfo) -> Self {
        Self {
            info,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// Sets the `tools/list` page size (at least 1).
    #[must_use]
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// Advances `session` by one message. `tools` is the full, ordered tool
    /// list this session may see (for `tools/list` and the `tools/call`
    /// existence check).
    ///
    /// Responses echo the request id exactly. Before `initialize` only
    /// `initialize` and `ping` are served (others → `-32600`); requests
    /// between `initialize` and `notifications/initialized` are served.
    pub fn handle(&self, session: &mut Session, message: Message, tools: &[Tool]) -> Step {
        match message {
            Message::Invalid(invalid) => Step::Reply(invalid.response()),
            Message::Response { .. } => Step::Accepted,
            Message::Notification { method, params } => {
                Self::notification(session, &method, params.as_ref())
            }
            Message::Request { id, method, params } => {
                match self.request(session, &id, &method, params, tools) {
                    Ok(step) => step,
                    Err(error) => Step::Reply(jsonrpc::error_response(Some(&id), &error)),
                }
            }
        }
    }

    /// The id of `message` if it asks for the first `tools/list` page of a
    /// negotiated session (no cursor): a request whose answer depends only
    /// on the tools the session may see, so a host may serve it from
    /// [`Server::first_list_page`] serialized once. Anything else is for
    /// [`Server::handle`].
    pub fn first_list_page_request<'m>(
        session: &Session,
        message: &'m Message,
    ) -> Option<&'m RequestId> {
        let Message::Request { id, method, params } = message else {
            return None;
        };
        let no_cursor = match params {
            None => true,
            Some(Value::Object(p)) => p.get("cursor").is_none_or(Value::is_null),
            Some(_) => false,
        };
        (method == "tools/list" && no_cursor && session.is_negotiated()).then_some(id)
    }

    /// The `tools/list` result for the first page of `tools`, exactly as
    /// [`Server::handle`] answers a request without a cursor.
    ///
    /// # Errors
    /// When the list cannot be serialized (it cannot for well-formed tools).
    pub fn first_list_page(&self, tools: &[Tool]) -> Result<Value, ErrorData> {
        tools::list(None, tools, self.page_size)
    }

    fn request(
        &self,
        session: &mut Session,
        id: &RequestId,
        method: &str,
        params: Option<Value>,
        tools: &[Tool],
    ) -> Result<Step, ErrorData> {
        let reply = |result| Ok(Step::Reply(jsonrpc::success_response(id, result)));
        match method {
            "ping" => reply(Value::Object(Map::new())),
            "initialize" => reply(initialize::handle(&self.info, session, params)?),
            _ if !session.is_negotiated() => Err(ErrorData::invalid_request(
                format!(
                    "Invalid Request: send initialize first ({method} received before initialize)"
                ),
                None,
            )),
            "tools/list" => reply(tools::list(params, tools, self.page_size)?),
            "tools/call" => Ok(Step::CallTool(tools::call(id.clone(), params, tools)?)),
            _ => Err(ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                format!("Method not found: {method}"),
                None,
            )),
        }
    }

    fn notification(session: &mut Session, method: &str, params: Option<&Value>) -> Step {
        match method {
            "notifications/initialized" => {
                session.mark_initialized();
                Step::Accepted
            }
            "notifications/cancelled" => match notifications::cancelled(params) {
                Some((request_id, reason)) => Step::Cancel { request_id, reason },
                None => Step::Accepted,
            },
            _ => Step::Accepted,
        }
    }

    /// The response to a [`ToolCall`] with id `id`.
    ///
    /// rmcp's `CallToolResult` constructors pre-fill the 2026-07-28
    /// `resultType: "complete"`; it is removed here because the revisions we
    /// negotiate do not define it. Should serialization fail (it cannot for
    /// well-formed values), a `-32603` error response is returned instead.
    pub fn tool_result(id: &RequestId, mut result: CallToolResult) -> Value {
        result.result_type.take_if(|t| t.is_complete());
        match serde_json::to_value(&result) {
            Ok(value) => jsonrpc::success_response(id, value),
            Err(e) => jsonrpc::error_response(
                Some(id),
                &ErrorData::internal_error(
                    format!("Internal error: tool result could not be serialized: {e}"),
                    None,
                ),
            ),
        }
    }

    /// The response to a call answered from an earlier call's record:
    /// `recorded` (the `CallToolResult` JSON kept then) marked with
    /// `_meta[`[`catalog::REPLAYED_META`]`]`, so a client can tell nothing ran.
    pub fn replayed_result(id: &RequestId, mut recorded: Value) -> Value {
        if let Some(object) = recorded.as_object_mut() {
            let mut meta = Map::new();
            meta.insert(crate::catalog::REPLAYED_META.into(), Value::Bool(true));
            object.insert("_meta".into(), Value::Object(meta));
        }
        jsonrpc::success_response(id, recorded)
    }

    /// A `notifications/progress` message for a call that carried `token`
    /// (see [`ToolCall::progress_token`]). Non-finite numbers are made valid:
    /// `progress` becomes `0`, `total` is dropped.
    pub fn progress_notification(
        token: &ProgressToken,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
    ) -> Value {
        notifications::progress(token, progress, total, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{Incoming, parse};

    #[test]
    fn a_replayed_result_is_marked_and_keeps_its_content() {
        let recorded = json!({"content": [{"type": "text", "text": "Sent"}], "isError": false});
        let response = Server::replayed_result(&NumberOrString::Number(7), recorded.clone());
        assert_eq!(response["id"], 7);
        assert_eq!(response["result"]["content"], recorded["content"]);
        assert_eq!(response["result"]["isError"], false);
        assert_eq!(
            response["result"]["_meta"],
            json!({"io.github.openphone-mcp/replayed": true})
        );
    }
    use rmcp::model::{ContentBlock, InitializeResult, ListToolsResult, NumberOrString};
    use serde_json::json;

    fn server() -> Server {
        Server::new(ServerInfo {
            name: "openphone-mcp".into(),
            version: "0.1.0".into(),
            title: Some("OpenPhone".into()),
            instructions: None,
        })
    }

    fn msg(v: Value) -> Message {
        match parse(v.to_string().as_bytes()) {
            Ok(Incoming::Single(m)) => m,
            other => panic!("not a single valid message: {other:?}"),
        }
    }

    fn request(id: Value, method: &str, params: Option<Value>) -> Message {
        let mut v = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let (Some(p), Value::Object(o)) = (params, &mut v) {
            o.insert("params".into(), p);
        }
        msg(v)
    }

    fn reply(step: Step) -> Value {
        match step {
            Step::Reply(v) => v,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn error_code(step: Step) -> i64 {
        let v = reply(step);
        v["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("not an error: {v}"))
    }

    fn tools(n: usize) -> Vec<Tool> {
        const NAMES: [&str; 5] = ["t0", "t1", "t2", "t3", "t4"];
        NAMES[..n].iter().map(|n| tools::test_tool(n)).collect()
    }

    /// A session that went through initialize + notifications/initialized.
    fn ready(s: &Server, version: &str) -> Session {
        let mut session = Session::default();
        let init = request(
            json!(0),
            "initialize",
            Some(initialize::example_params(version)),
        );
        reply(s.handle(&mut session, init, &[]));
        let note = msg(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert_eq!(s.handle(&mut session, note, &[]), Step::Accepted);
        assert!(session.is_initialized());
        session
    }

    #[test]
    fn the_first_list_page_served_from_bytes_is_what_handle_answers() {
        let s = server();
        let mut session = ready(&s, "2025-11-25");
        let tools = tools(3);
        for params in [None, Some(json!({})), Some(json!({"cursor": null}))] {
            let message = request(json!("r-1"), "tools/list", params);
            let id = Server::first_list_page_request(&session, &message).unwrap();
            let page = serde_json::to_vec(&s.first_list_page(&tools).unwrap()).unwrap();
            let spliced: Value =
                serde_json::from_slice(&jsonrpc::success_response_bytes(id, &page)).unwrap();
            let handled = reply(s.handle(&mut session, message, &tools));
            assert_eq!(spliced, handled);
        }
        let not_first = [
            request(
                json!(1),
                "tools/list",
                Some(json!({"cursor": "b2Zmc2V0OjI"})),
            ),
            request(json!(1), "tools/list", Some(json!([1]))),
            request(json!(1), "tools/call", None),
            msg(json!({"jsonrpc": "2.0", "method": "tools/list"})),
        ];
        for message in &not_first {
            assert!(Server::first_list_page_request(&session, message).is_none());
        }
        let fresh = Session::default();
        let message = request(json!(1), "tools/list", None);
        assert!(Server::first_list_page_request(&fresh, &message).is_none());
    }

    #[test]
    fn version_negotiation() {
        let s = server();
        for (asked, answered) in [
            ("2025-11-25", "2025-11-25"),
            ("2025-06-18", "2025-06-18"),
            ("2025-03-26", "2025-03-26"),
            ("2024-11-05", "2025-11-25"),
            ("1999-01-01", "2025-11-25"),
        ] {
            let mut session = Session::default();
            let v = reply(s.handle(
                &mut session,
                request(
                    json!(1),
                    "initialize",
                    Some(initialize::example_params(asked)),
                ),
                &[],
            ));
            assert_eq!(v["result"]["protocolVersion"], answered, "{asked}");
            assert_eq!(session.protocol_version(), Some(answered));
            assert!(
                !session.is_initialized(),
                "initialized needs the notification"
            );
        }
        // Missing protocolVersion → -32602 naming it, session untouched.
        let mut session = Session::default();
        let v = reply(s.handle(
            &mut session,
            request(
                json!(1),
                "initialize",
                Some(json!({"capabilities": {}, "clientInfo": {"name": "c", "version": "1"}})),
            ),
            &[],
        ));
        assert_eq!(v["error"]["code"], -32602);
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("protocolVersion"))
        );
        assert!(!session.is_negotiated());
    }

    #[test]
    fn second_initialize_is_invalid_request() {
        let s = server();
        let mut session = ready(&s, "2025-06-18");
        let again = request(
            json!(2),
            "initialize",
            Some(initialize::example_params("2025-03-26")),
        );
        assert_eq!(error_code(s.handle(&mut session, again, &[])), -32600);
        assert_eq!(session.protocol_version(), Some("2025-06-18"));
    }

    #[test]
    fn requests_before_initialize() {
        let s = server();
        let mut session = Session::default();
        let v = reply(s.handle(&mut session, request(json!("p"), "ping", None), &[]));
        assert_eq!(v, json!({"jsonrpc": "2.0", "id": "p", "result": {}}));
        for method in ["tools/list", "tools/call", "resources/list", "no/such"] {
            let v = reply(s.handle(&mut session, request(json!(3), method, None), &tools(1)));
            assert_eq!(v["error"]["code"], -32600, "{method}");
            assert_eq!(v["id"], 3);
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("send initialize first"))
            );
        }
        // Notifications before initialize are ignored and do not initialize.
        let note = msg(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert_eq!(s.handle(&mut session, note, &[]), Step::Accepted);
        assert!(!session.is_initialized());
    }

    #[test]
    fn lenient_between_initialize_and_initialized() {
        let s = server();
        let mut session = Session::default();
        let init = request(
            json!(0),
            "initialize",
            Some(initialize::example_params("2025-11-25")),
        );
        reply(s.handle(&mut session, init, &[]));
        let v = reply(s.handle(
            &mut session,
            request(json!(1), "tools/list", None),
            &tools(1),
        ));
        assert_eq!(v["result"]["tools"][0]["name"], "t0");
    }

    #[test]
    fn ids_are_echoed_exactly() {
        let s = server();
        let mut session = ready(&s, "2025-11-25");
        for id in [
            json!("1"),
            json!(1),
            json!("abc-\u{e9}"),
            json!(-7),
            json!(i64::MAX),
        ] {
            let ok = reply(s.handle(&mut session, request(id.clone(), "ping", None), &[]));
            assert_eq!(ok["id"], id);
            let err = reply(s.handle(&mut session, request(id.clone(), "nope", None), &[]));
            assert_eq!(err["id"], id);
        }
        // String "1" and number 1 stay distinct on the wire.
        let v = reply(s.handle(&mut session, request(json!("1"), "ping", None), &[]));
        assert!(v["id"].is_string());
    }

    #[test]
    fn unknown_and_unsupported_methods() {
        let s = server();
        let mut session = ready(&s, "2025-06-18");
        for method in [
            "resources/list",
            "resources/read",
            "prompts/list",
            "prompts/get",
            "logging/setLevel",
            "completion/complete",
            "frobnicate",
        ] {
            let v = reply(s.handle(
                &mut session,
                request(json!(1), method, Some(json!({}))),
                &[],
            ));
            assert_eq!(v["error"]["code"], -32601, "{method}");
            assert_eq!(v["error"]["message"], format!("Method not found: {method}"));
        }
        let note = msg(json!({"jsonrpc": "2.0", "method": "notifications/whatever", "params": {}}));
        assert_eq!(s.handle(&mut session, note, &[]), Step::Accepted);
        let resp = msg(json!({"jsonrpc": "2.0", "id": 5, "result": {}}));
        assert_eq!(s.handle(&mut session, resp, &[]), Step::Accepted);
    }

    #[test]
    fn invalid_batch_elements_are_answered() {
        let s = server();
        let mut session = Session::default();
        let Ok(Incoming::Batch(ms)) = parse(br#"[{"jsonrpc":"2.0","id":"q","method":9}]"#) else {
            panic!("batch")
        };
        let v = reply(s.handle(&mut session, ms[0].clone(), &[]));
        assert_eq!(v["id"], "q");
        assert_eq!(v["error"]["code"], -32600);
    }

    #[test]
    fn pagination_three_pages_of_two() {
        let s = server().with_page_size(2);
        let mut session = ready(&s, "2025-11-25");
        let all = tools(5);
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let params = cursor.as_ref().map(|c| json!({"cursor": c}));
            let v = reply(s.handle(
                &mut session,
                request(json!(pages), "tools/list", params),
                &all,
            ));
            let result = &v["result"];
            let page = result["tools"].as_array().expect("tools array");
            assert!(page.len() <= 2);
            names.extend(
                page.iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_owned)),
            );
            pages += 1;
            match result.get("nextCursor") {
                Some(Value::String(c)) => cursor = Some(c.clone()),
                None => break,
                Some(other) => panic!("bad nextCursor {other}"),
            }
            assert!(pages < 10, "pagination does not terminate");
        }
        assert_eq!(pages, 3);
        assert_eq!(names, ["t0", "t1", "t2", "t3", "t4"]);

        let bogus = request(json!(9), "tools/list", Some(json!({"cursor": "bogus!!"})));
        let v = reply(s.handle(&mut session, bogus, &all));
        assert_eq!(v["error"]["code"], -32602);
        assert_eq!(v["id"], 9);
    }

    #[test]
    fn page_size_is_at_least_one() {
        assert_eq!(server().with_page_size(0).page_size(), 1);
        assert_eq!(server().page_size(), DEFAULT_PAGE_SIZE);
    }

    #[test]
    fn tools_call_steps_and_errors() {
        let s = server();
        let mut session = ready(&s, "2025-06-18");
        let all = tools(2);

        let call = request(
            json!("c1"),
            "tools/call",
            Some(json!({"name": "t1", "arguments": {"a": 1}, "_meta": {"progressToken": "pt"}})),
        );
        match s.handle(&mut session, call, &all) {
            Step::CallTool(c) => {
                assert_eq!(c.id, RequestId::String("c1".into()));
                assert_eq!(c.name, "t1");
                assert_eq!(c.arguments.get("a"), Some(&json!(1)));
                assert_eq!(
                    c.progress_token,
                    Some(ProgressToken(NumberOrString::String("pt".into())))
                );
            }
            other => panic!("expected CallTool, got {other:?}"),
        }
        let call = request(
            json!(2),
            "tools/call",
            Some(json!({"name": "t0", "_meta": {"progressToken": 17}})),
        );
        match s.handle(&mut session, call, &all) {
            Step::CallTool(c) => {
                assert!(c.arguments.is_empty());
                assert_eq!(
                    c.progress_token,
                    Some(ProgressToken(NumberOrString::Number(17)))
                );
            }
            other => panic!("expected CallTool, got {other:?}"),
        }

        for params in [
            None,
            Some(json!({})),
            Some(json!({"name": 1})),
            Some(json!({"name": "t0", "arguments": 3})),
        ] {
            let v = reply(s.handle(
                &mut session,
                request(json!(3), "tools/call", params.clone()),
                &all,
            ));
            assert_eq!(v["error"]["code"], -32602, "{params:?}");
            assert_eq!(v["id"], 3);
        }
        let v = reply(s.handle(
            &mut session,
            request(json!(4), "tools/call", Some(json!({"name": "ghost"}))),
            &all,
        ));
        assert_eq!(v["error"]["code"], -32602);
        assert_eq!(v["error"]["message"], "Unknown tool: ghost");
    }

    #[test]
    fn cancellation() {
        let s = server();
        let mut session = ready(&s, "2025-11-25");
        let note = msg(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "c1", "reason": "bored"}}),
        );
        assert_eq!(
            s.handle(&mut session, note, &[]),
            Step::Cancel {
                request_id: RequestId::String("c1".into()),
                reason: Some("bored".into())
            }
        );
        let note = msg(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}),
        );
        assert_eq!(
            s.handle(&mut session, note, &[]),
            Step::Cancel {
                request_id: RequestId::Number(3),
                reason: None
            }
        );
        let note =
            msg(json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}}));
        assert_eq!(s.handle(&mut session, note, &[]), Step::Accepted);
    }

    #[test]
    fn tool_result_and_progress() {
        let v = Server::tool_result(
            &RequestId::Number(5),
            CallToolResult::success(vec![ContentBlock::text("sent")]),
        );
        assert_eq!(
            v,
            json!({"jsonrpc": "2.0", "id": 5, "result": {
                "content": [{"type": "text", "text": "sent"}], "isError": false}})
        );
        let v = Server::tool_result(
            &RequestId::String("x".into()),
            CallToolResult::error(vec![ContentBlock::text("failed")]),
        );
        assert_eq!(v["id"], "x");
        assert_eq!(v["result"]["isError"], true);
        assert!(v["result"].get("resultType").is_none());

        let p = Server::progress_notification(
            &ProgressToken(NumberOrString::Number(1)),
            0.5,
            Some(1.0),
            Some("half"),
        );
        assert_eq!(p["method"], "notifications/progress");
        assert_eq!(
            p["params"],
            json!({"progressToken": 1, "progress": 0.5, "total": 1.0, "message": "half"})
        );
        assert!(p.get("id").is_none());
    }

    #[test]
    fn results_deserialize_into_rmcp_types() {
        let s = Server::new(ServerInfo {
            name: "openphone-mcp".into(),
            version: "0.1.0".into(),
            title: Some("OpenPhone".into()),
            instructions: Some("Send SMS with send-message.".into()),
        })
        .with_page_size(2);
        let mut session = Session::default();
        let v = reply(s.handle(
            &mut session,
            request(
                json!(1),
                "initialize",
                Some(initialize::example_params("2025-06-18")),
            ),
            &[],
        ));
        let init: InitializeResult =
            serde_json::from_value(v["result"].clone()).expect("valid InitializeResult");
        assert_eq!(init.protocol_version.as_str(), "2025-06-18");
        assert_eq!(init.server_info.name, "openphone-mcp");
        assert_eq!(init.server_info.title.as_deref(), Some("OpenPhone"));
        assert_eq!(
            init.instructions.as_deref(),
            Some("Send SMS with send-message.")
        );
        assert_eq!(
            init.capabilities.tools.and_then(|t| t.list_changed),
            Some(false)
        );
        assert!(init.capabilities.resources.is_none());

        let all = tools(3);
        let v = reply(s.handle(&mut session, request(json!(2), "tools/list", None), &all));
        let list: ListToolsResult =
            serde_json::from_value(v["result"].clone()).expect("valid ListToolsResult");
        assert_eq!(list.tools, all[..2].to_vec());
        assert!(list.next_cursor.is_some());
        assert!(list.result_type.is_none());
    }
}
