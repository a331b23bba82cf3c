//! `bulk-messages`: send the same text from one workspace number to up to
//! [`MAX_RECIPIENTS`] recipients, each at most once.
//!
//! The component is a thin [`Guest`] over [`run::send_all`], which takes any
//! [`Api`](openphone_guest::Api) and [`Ledger`](openphone_guest::Ledger) so
//! it is unit-tested natively.
//!
//! Rules that keep a large send safe:
//!
//! - Recipients are normalised and duplicates removed (and reported) before
//!   anything is sent; a malformed number refuses the whole call, naming its
//!   position, so nothing goes out from a list the caller has to fix anyway.
//! - An `idempotencyKey` is required. Before each send the recipient gets a
//!   ledger entry "under way", after it the outcome. A run with the same key
//!   (after a timeout, a dropped connection or a restart) skips every
//!   recipient with an entry: nobody is texted twice. An "under way" or
//!   unanswered send is looked up in the inbox before it is reported, and
//!   never sent again.
//! - Every recipient gets an outcome, in input order: `sent` (message id),
//!   `failed` (OpenPhone refused it; nothing sent), `unknown` (no answer;
//!   check before resending), `duplicate`, or `not-sent` (the run stopped
//!   before it, e.g. the key was rejected or credits ran out).
//! - The host spaces requests to the API's 10 requests per second; a send
//!   the API refused with 429 was not processed and is retried after a pause.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

pub mod run;

use std::borrow::Cow;

use openphone_guest::schemars::{self, JsonSchema, Schema, SchemaGenerator, json_schema};
use openphone_guest::{
    E164, Inbox, MessageText, ToolAnnotations, ToolDescriptor, input_schema, output_schema,
};
use serde::{Deserialize, Serialize};

pub use run::send_all;

/// The tool's name, as clients call it.
pub const NAME: &str = "bulk-messages";

/// Most recipients one call takes. At the API's 10 requests per second a
/// full list takes about 20 s, well inside the host's 60 s call limit.
pub const MAX_RECIPIENTS: usize = 200;

/// Longest idempotency key accepted.
pub const MAX_KEY_CHARS: usize = 200;

/// Arguments of `bulk-messages`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BulkMessages {
    /// The workspace number to send from: its E.164 number or its OpenPhone id (PN…).
    #[schemars(example = &"+15555550100", example = &"PNabc123")]
    pub from: Inbox,
    /// The recipients, in E.164 format: 1 to 200. Duplicates are sent to once and reported.
    #[schemars(example = example_recipients())]
    pub recipients: Recipients,
    /// The text every recipient gets: 1 to 1600 characters, not only whitespace.
    #[schemars(example = &"We're closed Monday for the holiday. See you Tuesday!")]
    pub content: MessageText,
    /// A key naming this send (e.g. a UUID), required. Calling again with the same key
    /// resumes an interrupted send: only recipients without an outcome are texted.
    #[schemars(example = &"holiday-notice-2026-12")]
    pub idempotency_key: IdempotencyKey,
}

fn example_recipients() -> Vec<&'static str> {
    vec!["+15555550123", "+15555550124"]
}

/// The recipients as given (normalised), 1 to [`MAX_RECIPIENTS`].
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Vec<E164>")]
pub struct Recipients(Vec<E164>);

impl Recipients {
    /// The recipients in the order given, duplicates included.
    pub fn as_slice(&self) -> &[E164] {
        &self.0
    }
}

impl TryFrom<Vec<E164>> for Recipients {
    type Error = String;
    fn try_from(recipients: Vec<E164>) -> Result<Self, Self::Error> {
        match recipients.len() {
            0 => Err(format!(
                "no recipients given: pass 1 to {MAX_RECIPIENTS} numbers in E.164 format"
            )),
            n if n > MAX_RECIPIENTS => Err(format!(
                "{n} recipients given; one call sends to at most {MAX_RECIPIENTS}: split the list \
                 into several calls, each with its own idempotencyKey"
            )),
            _ => Ok(Recipients(recipients)),
        }
    }
}

impl JsonSchema for Recipients {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Recipients".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_RECIPIENTS,
            "items": generator.subschema_for::<E164>(),
        })
    }
}

/// A non-blank idempotency key of at most [`MAX_KEY_CHARS`] characters.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = String;
    fn try_from(key: String) -> Result<Self, Self::Error> {
        if key.trim().is_empty() {
            return Err("the idempotencyKey is blank: pass any unique text, e.g. a UUID".into());
        }
        let chars = key.chars().count();
        if chars > MAX_KEY_CHARS {
            return Err(format!(
                "the idempotencyKey has {chars} characters; at most {MAX_KEY_CHARS}"
            ));
        }
        Ok(IdempotencyKey(key))
    }
}

impl JsonSchema for IdempotencyKey {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "IdempotencyKey".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS })
    }
}

/// What happened to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// OpenPhone accepted the message.
    Sent,
    /// OpenPhone refused it; nothing was sent.
    Failed,
    /// No answer was received, and the message is not in the inbox: it may or
    /// may not have gone out. Not sent again; check before resending.
    Unknown,
    /// The number appears earlier in the list; sent to once.
    Duplicate,
    /// Not attempted: the send stopped before this recipient (see `reason`).
    NotSent,
}

/// One recipient's outcome, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientOutcome {
    /// The recipient, normalised to E.164.
    pub to: String,
    /// What happened.
    pub outcome: Outcome,
    /// OpenPhone's id for the message, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Delivery status as OpenPhone reported it, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why it failed, is unknown or was not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a duplicate: the position (from 0) of its first occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<usize>,
    /// The outcome was recorded by an earlier call with the same idempotencyKey.
    pub earlier_call: bool,
}

/// What `bulk-messages` returns as structured content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    /// The number sent from.
    pub from: String,
    /// Its OpenPhone id (PN…).
    pub phone_number_id: String,
    /// Recipients given, duplicates included.
    pub requested: usize,
    /// Messages OpenPhone accepted (this call and earlier ones with the same key).
    pub sent: usize,
    /// Recipients OpenPhone refused.
    pub failed: usize,
    /// Recipients whose outcome is unknown.
    pub unknown: usize,
    /// Duplicates skipped.
    pub duplicates: usize,
    /// Recipients not attempted.
    pub not_sent: usize,
    /// Every recipient, in input order.
    pub recipients: Vec<RecipientOutcome>,
}

/// The descriptor listed in `tools/list`.
pub fn descriptor() -> ToolDescriptor {
    ToolDescriptor {
        name: NAME.into(),
        title: "Send a text to many recipients".into(),
        description: format!(
            "Send the same SMS from one of the workspace's OpenPhone numbers to up to {MAX_RECIPIENTS} \
             recipients (E.164, e.g. +15555550123), each texted at most once. Use it for announcements \
             and reminders to a list; for one recipient use send-message. Duplicates are removed and \
             reported. `idempotencyKey` is required: if the call is interrupted or its result is lost, \
             call again with the same key and arguments — only recipients without an outcome are \
             texted. The result lists every recipient's outcome (sent with message id, failed with \
             reason, unknown, duplicate, not sent). Sending takes about 1 s per 10 recipients."
        ),
        input_schema: input_schema::<BulkMessages>(),
        output_schema: Some(output_schema::<BulkResult>()),
        annotations: ToolAnnotations {
            read_only: false,
            destructive: false,
            idempotent: true,
            open_world: true,
        },
        scope: "messages:send".into(),
        resumable: true,
    }
}

/// The component (exported only when built for the sandbox).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

impl openphone_guest::Guest for Component {
    fn list() -> Vec<ToolDescriptor> {
        vec![descriptor()]
    }

    fn call(
        name: String,
        arguments: String,
        _context: openphone_guest::CallContext,
    ) -> Result<openphone_guest::ToolOutput, openphone_guest::ToolError> {
        if name != NAME {
            return Err(openphone_guest::ToolError::UnknownTool(name));
        }
        let args = openphone_guest::parse_arguments(&arguments)?;
        send_all(&run::Env::host(), args)
    }
}

openphone_guest::export_tool!(Component);

#[cfg(test)]
mod tests;
