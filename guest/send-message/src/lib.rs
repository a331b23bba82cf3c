//! `send-message`: send one SMS from a workspace number to one recipient.
//!
//! The component is a thin [`Guest`] over [`send`], which takes any [`Api`]
//! so it is unit-tested natively. The message is POSTed exactly once per call:
//! on a timeout or connection failure the outcome is unknown and the result
//! says so instead of retrying (a blind retry could text twice).
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

use openphone_guest::schemars::{self, JsonSchema};
use openphone_guest::{
    Api, ApiError, E164, Inbox, MessageText, ToolAnnotations, ToolDescriptor, ToolError,
    ToolOutput, UpstreamError, input_schema, output_schema,
};
use serde::{Deserialize, Serialize};

/// The tool's name, as clients call it.
pub const NAME: &str = "send-message";

/// Arguments of `send-message`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendMessage {
    /// The workspace number to send from: its E.164 number or its OpenPhone id (PN…).
    #[schemars(example = &"+15555550100", example = &"PNabc123")]
    pub from: Inbox,
    /// The recipient, in E.164 format.
    #[schemars(example = &"+15555550123")]
    pub to: E164,
    /// The text to send: 1 to 1600 characters, not only whitespace.
    #[schemars(example = &"Hi Sam, your order is ready for pickup.")]
    pub content: MessageText,
    /// Optional key naming this message (e.g. a UUID). Repeating a call with the same key
    /// must not text twice.
    #[schemars(example = &"order-1042-ready")]
    pub idempotency_key: Option<String>,
}

/// What `send-message` returns as structured content.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    /// OpenPhone's id for the message (AC…).
    pub id: String,
    /// Delivery status as OpenPhone reports it (e.g. `queued`, `sent`, `delivered`).
    pub status: String,
    /// The number it was sent from.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// The OpenPhone number id it was sent from (PN…).
    pub phone_number_id: Option<String>,
    /// When OpenPhone accepted it (ISO 8601).
    pub created_at: Option<String>,
}

/// The API's `202` answer to `POST /v1/messages`.
#[derive(Debug, Deserialize)]
struct Accepted {
    data: AcceptedMessage,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcceptedMessage {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    phone_number_id: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// The descriptor listed in `tools/list`.
pub fn descriptor() -> ToolDescriptor {
    ToolDescriptor {
        name: NAME.into(),
        title: "Send a text message".into(),
        description: "Send one SMS from one of the workspace's OpenPhone numbers to one recipient. \
            Use it when the user asks to text someone. Numbers are E.164 (+15555550123); `from` may also be \
            the number's OpenPhone id (PN…). Give an `idempotencyKey` when the same message might be \
            requested again: a repeated key never texts twice. The result has the message id and status."
            .into(),
        input_schema: input_schema::<SendMessage>(),
        output_schema: Some(output_schema::<Sent>()),
        annotations: ToolAnnotations {
            read_only: false,
            destructive: false,
            idempotent: false,
            open_world: true,
        },
        scope: "messages:send".into(),
        resumable: false,
    }
}

/// Sends the message described by `args`.
pub fn send(api: &impl Api, args: SendMessage) -> Result<ToolOutput, ToolError> {
    let body = serde_json::json!({
        "content": args.content.as_str(),
        "from": args.from.as_api_value(),
        "to": [args.to.as_str()],
    });
    match api.post::<_, Accepted>("/messages", &body) {
        Ok(Accepted { data }) => {
            let sent = Sent {
                status: data.status.unwrap_or_else(|| "queued".into()),
                from: data
                    .from
                    .unwrap_or_else(|| args.from.as_api_value().to_owned()),
                to: args.to.as_str().to_owned(),
                phone_number_id: data.phone_number_id,
                created_at: data.created_at,
                id: data.id,
            };
            let text = format!(
                "Message {} to {} from {}: {}.",
                sent.id, sent.to, sent.from, sent.status
            );
            Ok(ToolOutput::success(text, &sent))
        }
        Err(ApiError::Upstream(e @ (UpstreamError::Timeout | UpstreamError::Unavailable(_)))) => {
            Err(ToolError::Failed(format!(
                "{} It is unknown whether the message was sent: check the conversation with \
                 fetch-messages before sending it again.",
                openphone_guest::explain_upstream(&e)
            )))
        }
        // A server error may come after the message was accepted.
        Err(e @ ApiError::Status(_)) if e.status().is_some_and(|s| s >= 500) => {
            Err(ToolError::Failed(format!(
                "{e} It is unknown whether the message was sent: check the conversation with \
                 fetch-messages before sending it again."
            )))
        }
        Err(ApiError::Upstream(e)) => Err(ToolError::Upstream(e)),
        Err(e) => Err(ToolError::Failed(e.to_string())),
    }
}

openphone_guest::export_single_tool!(name: NAME, descriptor: descriptor, run: send);

#[cfg(test)]
mod tests {
    use super::*;
    use openphone_guest::parse_arguments;
    use openphone_guest::{ApiRequest, ApiResponse};
    use std::cell::RefCell;

    /// Answers every request with one canned response and records what was sent.
    struct Fake {
        sent: RefCell<Vec<ApiRequest>>,
        answer: Result<ApiResponse, UpstreamError>,
    }

    impl Fake {
        fn answering(status: u16, body: &str) -> Self {
            Fake {
                sent: RefCell::default(),
                answer: Ok(ApiResponse {
                    status,
                    body: body.into(),
                }),
            }
        }
    }

    impl Api for Fake {
        fn send(&self, request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
            self.sent.borrow_mut().push(request);
            self.answer.clone()
        }
    }

    fn args(json: &str) -> SendMessage {
        parse_arguments(json).unwrap()
    }

    const ACCEPTED: &str = r#"{"data":{"id":"AC1","to":["+15555550123"],"from":"+15555550100","text":"hi","phoneNumberId":"PN1","direction":"outgoing","userId":"US1","status":"queued","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}}"#;

    #[test]
    fn sends_the_body_the_api_expects() {
        let api = Fake::answering(202, ACCEPTED);
        let out = send(
            &api,
            args(r#"{"from":"PN1","to":"+1 555 555 0123","content":"hi"}"#),
        )
        .unwrap();
        assert!(!out.is_error);
        let sent = api.sent.borrow();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].path, "/messages");
        let body: serde_json::Value =
            serde_json::from_str(sent[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"content":"hi","from":"PN1","to":["+15555550123"]})
        );
        let structured: Sent = serde_json::from_str(out.structured.as_deref().unwrap()).unwrap();
        assert_eq!(structured.id, "AC1");
        assert_eq!(structured.status, "queued");
        assert!(out.text.contains("AC1"));
    }

    #[test]
    fn refuses_bad_content() {
        for (content, needle) in [("   ", "only whitespace"), ("", "empty")] {
            let json = format!(r#"{{"from":"PN1","to":"+15555550123","content":"{content}"}}"#);
            let err = parse_arguments::<SendMessage>(&json)
                .unwrap_err()
                .to_string();
            assert!(err.contains("`content`") && err.contains(needle), "{err}");
        }
        let json = format!(
            r#"{{"from":"PN1","to":"+15555550123","content":"{}"}}"#,
            "é".repeat(1601)
        );
        let err = parse_arguments::<SendMessage>(&json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1601 characters"), "{err}");
        let json = format!(
            r#"{{"from":"PN1","to":"+15555550123","content":"{}"}}"#,
            "é".repeat(1600)
        );
        assert!(parse_arguments::<SendMessage>(&json).is_ok());
    }

    #[test]
    fn refuses_bad_numbers() {
        let err = parse_arguments::<SendMessage>(r#"{"from":"PN1","to":"5550123","content":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`to`") && err.contains("E.164"), "{err}");
        let err =
            parse_arguments::<SendMessage>(r#"{"from":"sales","to":"+15555550123","content":"x"}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("`from`"), "{err}");
    }

    #[test]
    fn api_refusals_become_clear_failures() {
        let api = Fake::answering(
            402,
            r#"{"message":"Not Enough Credits","code":"0200402","status":402}"#,
        );
        let err = send(
            &api,
            args(r#"{"from":"PN1","to":"+15555550123","content":"hi"}"#),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ToolError::Failed(m) if m.contains("credits") && m.contains("0200402")),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_outcome_is_said_not_retried() {
        let api = Fake {
            sent: RefCell::default(),
            answer: Err(UpstreamError::Timeout),
        };
        let err = send(
            &api,
            args(r#"{"from":"PN1","to":"+15555550123","content":"hi"}"#),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ToolError::Failed(m) if m.contains("unknown whether")),
            "{err:?}"
        );
        assert_eq!(api.sent.borrow().len(), 1);

        // A server error may follow an accepted message: unknown too, no "try again".
        let api = Fake::answering(503, r#"{"message":"Service Unavailable","code":"0200503"}"#);
        let err = send(
            &api,
            args(r#"{"from":"PN1","to":"+15555550123","content":"hi"}"#),
        )
        .unwrap_err();
        let ToolError::Failed(m) = &err else {
            panic!("{err:?}")
        };
        assert!(
            m.contains("server error (503)") && m.contains("unknown whether"),
            "{m}"
        );
        assert!(!m.to_lowercase().contains("try again"), "{m}");
    }

    #[test]
    fn descriptor_schema_documents_every_field() {
        let d = descriptor();
        let schema: serde_json::Value = serde_json::from_str(&d.input_schema).unwrap();
        let props = schema["properties"].as_object().unwrap();
        for (name, prop) in props {
            assert!(
                prop.get("description").is_some(),
                "{name} has no description"
            );
            assert!(prop.get("examples").is_some(), "{name} has no example");
        }
        assert_eq!(
            schema["required"],
            serde_json::json!(["from", "to", "content"])
        );
        assert_eq!(d.scope, "messages:send");
    }
}
