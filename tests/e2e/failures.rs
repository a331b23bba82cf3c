//! Every upstream failure of every OpenPhone tool ends as a clear tool result.
//!
//! For `send-message`, `bulk-messages`, `create-contact`, `fetch-messages` and
//! `fetch-call-transcripts`, each failure the API can produce — a rejected key
//! (401), no credits (402), not allowed (403), not found (404), rate limiting
//! (429, after the host's retries for a read), a server error (5xx, likewise)
//! and no answer in time — is driven through the real host binary against the
//! simulator. Each result must be `isError: true` with a human explanation of
//! that failure, quote no raw JSON body, and leak the API key neither in the
//! result nor in any log line. Writes are sent once (a bulk send re-sends only
//! what the API refused with 429, which it did not process), and say when
//! their outcome is unknown; reads are retried on 429, 5xx and timeouts, then
//! give up.

use openphone_sim::{
    ALICE, BOB, BUSINESS_KEY, DAVE, Fault, NO_CREDITS_KEY, NO_CREDITS_PHONE_ID, RecordedRequest,
    SALES_PHONE_ID, Simulator,
};
use serde_json::{Value, json};

use crate::harness::{self, Server};
use crate::http_rules::Session;

/// A key the simulator has no workspace for: it answers `401` to it.
const UNKNOWN_KEY: &str = "sim-unknown-key-9999999999999999";

/// Attempts the host makes for a read before giving up, the first included.
const READ_ATTEMPTS: usize = 4;

/// Attempts `bulk-messages` makes for a send refused with 429, the first included.
const BULK_RATE_LIMITED_ATTEMPTS: usize = 4;

/// The host's per-request time limit in these tests, and a slower answer.
const UPSTREAM_TIMEOUT_SECS: &str = "1";
const SLOW_ANSWER_MS: u64 = 2_500;

/// Traces of an API error body quoted as-is instead of explained.
const RAW_BODY_MARKERS: [&str; 5] = [
    "{\"",
    "\"message\":",
    "\"code\":",
    "\"status\":",
    "\"docs\":",
];

#[derive(Debug, Clone, Copy)]
enum Tool {
    SendMessage,
    BulkMessages,
    CreateContact,
    FetchMessages,
    FetchCallTranscripts,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::SendMessage => "send-message",
            Tool::BulkMessages => "bulk-messages",
            Tool::CreateContact => "create-contact",
            Tool::FetchMessages => "fetch-messages",
            Tool::FetchCallTranscripts => "fetch-call-transcripts",
        }
    }

    fn arguments(self) -> Value {
        match self {
            Tool::SendMessage => {
                json!({ "from": SALES_PHONE_ID, "to": BOB, "content": "Your order is ready" })
            }
            Tool::BulkMessages => json!({
                "from": SALES_PHONE_ID, "recipients": [BOB], "content": "Closed Monday",
                "idempotencyKey": "failures-1"
            }),
            Tool::CreateContact => {
                json!({ "contacts": [{ "firstName": "Bo", "lastName": "Lee", "company": "Acme" }] })
            }
            Tool::FetchMessages => {
                json!({ "inbox": SALES_PHONE_ID, "participant": ALICE, "maxResults": 5 })
            }
            Tool::FetchCallTranscripts => {
                json!({ "inbox": SALES_PHONE_ID, "participant": ALICE, "maxCalls": 2 })
            }
        }
    }

    /// The request that carries the tool's work, where faults are injected.
    fn request(self) -> (&'static str, &'static str) {
        match self {
            Tool::SendMessage | Tool::BulkMessages => ("POST", "/v1/messages"),
            Tool::CreateContact => ("POST", "/v1/contacts"),
            Tool::FetchMessages => ("GET", "/v1/messages"),
            Tool::FetchCallTranscripts => ("GET", "/v1/calls"),
        }
    }

    fn is_write(self) -> bool {
        self.request().0 == "POST"
    }

    /// What a write says when the API may have acted on it without saying so.
    fn outcome_unknown(self) -> Option<&'static str> {
        match self {
            Tool::SendMessage => Some("unknown whether the message was sent"),
            Tool::BulkMessages => Some("unknown whether this message was sent"),
            Tool::CreateContact => Some("may have been created"),
            Tool::FetchMessages | Tool::FetchCallTranscripts => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Failure {
    KeyRejected,
    NoCredits,
    Forbidden,
    NotFound,
    RateLimited,
    UpstreamDown,
    Timeout,
}

impl Failure {
    fn name(self) -> &'static str {
        match self {
            Failure::KeyRejected => "401 key rejected",
            Failure::NoCredits => "402 no credits",
            Failure::Forbidden => "403 not allowed",
            Failure::NotFound => "404 not found",
            Failure::RateLimited => "429 rate limited",
            Failure::UpstreamDown => "503 upstream down",
            Failure::Timeout => "timeout",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Failure::KeyRejected => UNKNOWN_KEY,
            _ => BUSINESS_KEY,
        }
    }

    fn server_args(self) -> &'static [&'static str] {
        match self {
            Failure::Timeout => &["--upstream-timeout-secs", UPSTREAM_TIMEOUT_SECS],
            _ => &[],
        }
    }

    /// The status the simulator answers on the tool's request.
    fn status(self) -> Option<u16> {
        match self {
            Failure::KeyRejected => Some(401),
            Failure::NoCredits => Some(402),
            Failure::Forbidden => Some(403),
            Failure::NotFound => Some(404),
            Failure::RateLimited => Some(429),
            Failure::UpstreamDown => Some(503),
            Failure::Timeout => None,
        }
    }

    /// Whether the host retries a read that failed this way.
    fn retried_on_reads(self) -> bool {
        matches!(
            self,
            Failure::RateLimited | Failure::UpstreamDown | Failure::Timeout
        )
    }

    /// The fault that produces this failure on `tool`'s request, enough of it
    /// to outlast the host's retries.
    fn fault(self, tool: Tool) -> Option<Fault> {
        let (method, path) = tool.request();
        let fault = match self {
            Failure::KeyRejected => return None,
            Failure::Timeout => Fault::delay(SLOW_ANSWER_MS),
            _ => Fault::status(self.status()?),
        };
        Some(fault.on(method, path).times(self.attempts(tool) as u32))
    }

    /// Requests `tool` makes for its work when the API fails this way.
    fn attempts(self, tool: Tool) -> usize {
        match (tool, self) {
            (Tool::BulkMessages, Failure::RateLimited) => BULK_RATE_LIMITED_ATTEMPTS,
            _ if !tool.is_write() && self.retried_on_reads() => READ_ATTEMPTS,
            _ => 1,
        }
    }

    /// Phrases the explanation must contain: each disappears if the mapping
    /// of this failure breaks.
    fn phrases(self, tool: Tool) -> Vec<&'static str> {
        let mut phrases = match self {
            Failure::KeyRejected => vec!["rejected the API key"],
            Failure::NoCredits => vec!["enough credits"],
            Failure::Forbidden => vec!["refused this for the connected user"],
            Failure::NotFound => vec!["found no such resource"],
            Failure::RateLimited => vec!["rate-limiting"],
            Failure::UpstreamDown if tool.is_write() => vec!["server error"],
            Failure::UpstreamDown => vec!["unavailable", "HTTP 503"],
            Failure::Timeout => vec!["did not answer in time"],
        };
        if matches!(self, Failure::UpstreamDown | Failure::Timeout) {
            phrases.extend(tool.outcome_unknown());
        }
        phrases
    }
}

/// The text of every content item of a `tools/call` result.
fn text_of(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Checks a failed call's result: an error, explained with `phrases`, no raw
/// body, no key. Returns its text.
fn assert_explained(case: &str, reply: &Value, phrases: &[&str], key: &str) -> String {
    assert!(
        reply["error"].is_null(),
        "{case}: a JSON-RPC error instead of a tool result: {reply}"
    );
    let result = &reply["result"];
    assert_eq!(
        result["isError"], true,
        "{case}: the result is not marked isError: {reply}"
    );
    let text = text_of(result);
    assert!(!text.trim().is_empty(), "{case}: no explanation: {reply}");
    for phrase in phrases {
        assert!(
            text.contains(phrase),
            "{case}: the explanation lacks `{phrase}`: {text}"
        );
    }
    for marker in RAW_BODY_MARKERS {
        assert!(
            !text.contains(marker),
            "{case}: the explanation quotes a raw body (`{marker}`): {text}"
        );
    }
    assert!(
        !reply.to_string().contains(key),
        "{case}: the result leaks the API key: {reply}"
    );
    text
}

/// The requests the simulator received for `method path`.
fn requests_to(sim: &Simulator, (method, path): (&str, &str)) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

/// Calls `tool` while the API fails as `failure`, and checks the result, the
/// requests the simulator saw and the server's log.
async fn prove(tool: Tool, failure: Failure) {
    let case = format!("{} on {}", tool.name(), failure.name());
    let sim = Simulator::start().await.expect("simulator starts");
    let key = failure.key();
    let server = Server::start(&sim, key, failure.server_args());
    let session = Session::open(&server.url()).await;
    if let Some(fault) = failure.fault(tool) {
        sim.inject(fault);
    }

    let reply = session
        .request(
            "tools/call",
            json!({ "name": tool.name(), "arguments": tool.arguments() }),
        )
        .await;
    let text = assert_explained(&case, &reply, &failure.phrases(tool), key);

    let seen = sim.requests();
    assert!(!seen.is_empty(), "{case}: nothing reached the simulator");
    let on_tool_request = requests_to(&sim, tool.request());
    match failure {
        Failure::KeyRejected => {
            // The unknown key went out, was refused, and was not tried again.
            assert_eq!(seen.len(), 1, "{case}: a refused key was retried: {seen:?}");
            assert!(
                seen.iter()
                    .all(|r| r.status == Some(401) && r.api_key.as_deref() == Some(UNKNOWN_KEY)),
                "{case}: the simulator did not refuse the unknown key: {seen:?}"
            );
        }
        _ => {
            let expected = failure.attempts(tool);
            let what = if let (Tool::BulkMessages, Failure::RateLimited) = (tool, failure) {
                "a send refused with 429 was not processed: re-sent after pauses, then given up"
            } else if tool.is_write() {
                "a write must be sent exactly once"
            } else if failure.retried_on_reads() {
                "a read is retried, then given up"
            } else {
                "a refused read is not retried"
            };
            assert_eq!(
                on_tool_request.len(),
                expected,
                "{case}: {what}: {on_tool_request:?}"
            );
            assert!(
                on_tool_request.iter().all(|r| r.fault.is_some()),
                "{case}: a request escaped the injected fault: {on_tool_request:?}"
            );
            if let Some(status) = failure.status() {
                assert!(
                    on_tool_request.iter().all(|r| r.status == Some(status)),
                    "{case}: the simulator did not answer {status}: {on_tool_request:?}"
                );
            }
        }
    }

    let per_item = match tool {
        Tool::CreateContact => Some(&reply["result"]["structuredContent"]["contacts"][0]["status"]),
        // A rejected key fails the inbox lookup before any recipient.
        Tool::BulkMessages if !matches!(failure, Failure::KeyRejected) => {
            Some(&reply["result"]["structuredContent"]["recipients"][0]["outcome"])
        }
        _ => None,
    };
    if let Some(outcome) = per_item {
        let expected = if matches!(failure, Failure::UpstreamDown | Failure::Timeout) {
            "unknown"
        } else {
            "failed"
        };
        assert_eq!(
            outcome, expected,
            "{case}: the item's outcome is wrong: {text}"
        );
    }

    harness::assert_no_secret(&server.logs(), &[key]);
    sim.assert_conformant();
}

macro_rules! matrix {
    ($($(#[$attr:meta])* $name:ident: $tool:ident, $failure:ident;)*) => {
        $(
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                prove(Tool::$tool, Failure::$failure).await;
            }
        )*
    };
}

matrix! {
    send_message_key_rejected: SendMessage, KeyRejected;
    send_message_no_credits: SendMessage, NoCredits;
    send_message_forbidden: SendMessage, Forbidden;
    send_message_not_found: SendMessage, NotFound;
    send_message_rate_limited: SendMessage, RateLimited;
    send_message_upstream_down: SendMessage, UpstreamDown;
    send_message_timeout: SendMessage, Timeout;

    bulk_messages_key_rejected: BulkMessages, KeyRejected;
    bulk_messages_no_credits: BulkMessages, NoCredits;
    bulk_messages_forbidden: BulkMessages, Forbidden;
    bulk_messages_not_found: BulkMessages, NotFound;
    bulk_messages_rate_limited: BulkMessages, RateLimited;
    bulk_messages_upstream_down: BulkMessages, UpstreamDown;
    bulk_messages_timeout: BulkMessages, Timeout;

    create_contact_key_rejected: CreateContact, KeyRejected;
    create_contact_no_credits: CreateContact, NoCredits;
    create_contact_forbidden: CreateContact, Forbidden;
    create_contact_not_found: CreateContact, NotFound;
    create_contact_rate_limited: CreateContact, RateLimited;
    create_contact_upstream_down: CreateContact, UpstreamDown;
    create_contact_timeout: CreateContact, Timeout;

    fetch_messages_key_rejected: FetchMessages, KeyRejected;
    fetch_messages_no_credits: FetchMessages, NoCredits;
    fetch_messages_forbidden: FetchMessages, Forbidden;
    fetch_messages_not_found: FetchMessages, NotFound;
    fetch_messages_rate_limited: FetchMessages, RateLimited;
    fetch_messages_upstream_down: FetchMessages, UpstreamDown;
    fetch_messages_timeout: FetchMessages, Timeout;

    fetch_call_transcripts_key_rejected: FetchCallTranscripts, KeyRejected;
    fetch_call_transcripts_no_credits: FetchCallTranscripts, NoCredits;
    fetch_call_transcripts_forbidden: FetchCallTranscripts, Forbidden;
    fetch_call_transcripts_not_found: FetchCallTranscripts, NotFound;
    fetch_call_transcripts_rate_limited: FetchCallTranscripts, RateLimited;
    fetch_call_transcripts_upstream_down: FetchCallTranscripts, UpstreamDown;
    fetch_call_transcripts_timeout: FetchCallTranscripts, Timeout;
}

/// The simulator's own `402`: a workspace with no credits left, no fault injected.
#[tokio::test(flavor = "multi_thread")]
async fn send_message_from_a_workspace_without_credits() {
    let case = "send-message on a workspace without credits";
    let sim = Simulator::start().await.expect("simulator starts");
    let server = Server::start(&sim, NO_CREDITS_KEY, &[]);
    let session = Session::open(&server.url()).await;
    let reply = session
        .request(
            "tools/call",
            json!({ "name": "send-message", "arguments":
                { "from": NO_CREDITS_PHONE_ID, "to": DAVE, "content": "hi" } }),
        )
        .await;
    let text = assert_explained(case, &reply, &["enough credits", "0200402"], NO_CREDITS_KEY);
    let sent = requests_to(&sim, Tool::SendMessage.request());
    assert_eq!(
        sent.len(),
        1,
        "{case}: a refused send was retried: {sent:?}"
    );
    assert!(
        sent.iter()
            .all(|r| r.status == Some(402) && r.fault.is_none()),
        "{case}: the simulator did not refuse it for credits: {sent:?}"
    );
    assert!(
        sim.sent_messages().is_empty(),
        "{case}: a message was sent: {text}"
    );
    harness::assert_no_secret(&server.logs(), &[NO_CREDITS_KEY]);
    sim.assert_conformant();
}
