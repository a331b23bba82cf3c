//! `fetch-messages`: read the recent text messages of one workspace number,
//! with one participant or across the number's recent conversations.
//!
//! The component is a thin [`Guest`] over [`fetch`], which takes any [`Api`]
//! so it is unit-tested natively. It only reads (`GET`), so the host may retry
//! its requests freely.
//!
//! `GET /v1/messages` needs the participants, so without one the tool reads
//! the inbox's recent conversations (`GET /v1/conversations`) and merges their
//! messages. It returns the newest `maxResults` messages across them, not the
//! first conversation's: once it holds enough, the next conversations are
//! asked only for newer messages (`createdAfter`) and those whose last activity
//! is older are skipped, so few requests are spent.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

use openphone_guest::schemars::{self, JsonSchema};
use openphone_guest::{
    Api, E164, Inbox, ToolAnnotations, ToolDescriptor, ToolError, ToolOutput, input_schema, log,
    output_schema,
};
use serde::{Deserialize, Serialize};

use openphone_guest::query::{
    Conversation, ListedMessage, Page, api_failure, check_window, later_bound, parse_rfc3339,
    recent_conversations, resolve_inbox, time_key,
};
pub use openphone_guest::query::{Count, DateTime, WorkspaceNumber};

/// The tool's name, as clients call it.
pub const NAME: &str = "fetch-messages";

/// Largest `maxResults` the API accepts per page.
const API_PAGE_MAX: usize = 100;

/// Pages read for one participant before giving up on a misbehaving cursor.
const MAX_PAGES: usize = 20;

/// Arguments of `fetch-messages`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FetchMessages {
    /// The workspace number whose messages to read: its E.164 number or its OpenPhone id (PN…).
    #[schemars(example = &"+15555550100", example = &"PNabc123")]
    pub inbox: Inbox,
    /// Only the conversation with this number (E.164). Without it, the inbox's most recent
    /// conversations are read and their newest messages merged.
    #[serde(default)]
    #[schemars(example = &"+15555550123")]
    pub participant: Option<E164>,
    /// Only messages created after this moment: an ISO 8601 date-time with a time zone.
    #[serde(default)]
    #[schemars(example = &"2025-11-03T00:00:00Z")]
    pub created_after: Option<DateTime>,
    /// Only messages created before this moment: an ISO 8601 date-time with a time zone.
    /// To read further back, pass the `continueBefore` of a previous result.
    #[serde(default)]
    #[schemars(example = &"2025-11-10T09:00:00-05:00")]
    pub created_before: Option<DateTime>,
    /// How many messages to return at most, newest first: 1 to 100 (default 20).
    #[serde(default)]
    #[schemars(example = 20)]
    pub max_results: Count<1, 100, 20>,
}

/// What `fetch-messages` returns as structured content.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Messages {
    /// The workspace number read.
    pub inbox: WorkspaceNumber,
    /// The participant asked for, if one was.
    pub participant: Option<String>,
    /// The messages, newest first.
    pub messages: Vec<MessageItem>,
    /// Without a participant: the conversations the messages come from, most recent first.
    pub conversations: Option<Vec<ConversationIncluded>>,
    /// More messages in the requested window may exist than were returned.
    pub truncated: bool,
    /// When truncated: pass this as `createdBefore` to read the older messages.
    pub continue_before: Option<String>,
}

/// One message.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageItem {
    /// OpenPhone's id for the message (AC…).
    pub id: String,
    /// `incoming` (to the inbox) or `outgoing` (from it).
    pub direction: String,
    /// When it was created (ISO 8601).
    pub created_at: Option<String>,
    /// Delivery status (`queued`, `sent`, `delivered`, `undelivered`).
    pub status: Option<String>,
    /// The other party: the sender of an incoming message, the recipient of an outgoing one
    /// (several numbers separated by `, ` for a group message).
    pub counterpart: String,
    /// The message text.
    pub text: String,
    /// The conversation it belongs to (CN…), when read through conversations.
    pub conversation_id: Option<String>,
}

/// A conversation that contributed messages.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConversationIncluded {
    /// OpenPhone's id for the conversation (CN…).
    pub id: String,
    /// Its name in OpenPhone (usually the contact's name).
    pub name: Option<String>,
    /// The external participants.
    pub participants: Vec<String>,
    /// How many of the returned messages come from it.
    pub messages: usize,
}

/// The descriptor listed in `tools/list`.
pub fn descriptor() -> ToolDescriptor {
    ToolDescriptor {
        name: NAME.into(),
        title: "Read text messages".into(),
        description: "Read the recent text messages (SMS) of one of the workspace's OpenPhone numbers, \
            newest first. Use it to review or summarise a conversation, or to check what was sent. \
            `inbox` is the workspace number (E.164 like +15555550100, or its PN… id). Give `participant` \
            for the conversation with one number; without it, the newest messages across the inbox's \
            recent conversations are returned and the result says which conversations they come from. \
            `createdAfter`/`createdBefore` (ISO 8601, e.g. 2025-11-03T00:00:00Z) bound the period; \
            `maxResults` (1-100, default 20) caps the count. When `truncated` is true, call again with \
            `createdBefore` = `continueBefore` for older messages."
            .into(),
        input_schema: input_schema::<FetchMessages>(),
        output_schema: Some(output_schema::<Messages>()),
        annotations: ToolAnnotations {
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: true,
        },
        scope: "messages:read".into(),
        resumable: false,
    }
}

/// The period and size every thread read shares.
struct Window<'a> {
    after: Option<&'a DateTime>,
    before: Option<&'a DateTime>,
    limit: usize,
}

/// Reads the messages described by `args`.
pub fn fetch(api: &impl Api, args: FetchMessages) -> Result<ToolOutput, ToolError> {
    check_window(args.created_after.as_ref(), args.created_before.as_ref())?;
    let inbox = resolve_inbox(api, &args.inbox)?;
    let window = Window {
        after: args.created_after.as_ref(),
        before: args.created_before.as_ref(),
        limit: args.max_results.get(),
    };
    let (messages, conversations, truncated) = match &args.participant {
        Some(participant) => {
            let participants = [participant.as_str().to_owned()];
            let mut report = |got: usize| {
                log::progress(
                    got as f64,
                    Some(window.limit as f64),
                    Some(&format!("read {got} of up to {} messages", window.limit)),
                );
            };
            let (items, more) =
                read_thread(api, &inbox, &participants, None, &window, &mut report)?;
            let messages = items
                .into_iter()
                .map(|m| to_item(m, &inbox, &participants, None))
                .collect();
            (messages, None, more)
        }
        None => {
            let (messages, conversations, truncated) = read_conversations(api, &inbox, &window)?;
            (messages, Some(conversations), truncated)
        }
    };
    let continue_before = if truncated {
        messages
            .last()
            .and_then(|m: &MessageItem| m.created_at.clone())
    } else {
        None
    };
    let result = Messages {
        participant: args.participant.map(String::from),
        inbox,
        messages,
        conversations,
        truncated,
        continue_before,
    };
    Ok(ToolOutput::success(render(&result), &result))
}

/// Reads up to `window.limit` messages with `participants`, newest first,
/// following `nextPageToken`; `after` overrides the window's lower bound.
/// Returns them and whether more exist.
fn read_thread(
    api: &impl Api,
    inbox: &WorkspaceNumber,
    participants: &[String],
    after: Option<String>,
    window: &Window<'_>,
    report: &mut impl FnMut(usize),
) -> Result<(Vec<ListedMessage>, bool), ToolError> {
    let after = after.or_else(|| window.after.map(|a| a.as_str().to_owned()));
    let mut got: Vec<ListedMessage> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page_size = (window.limit - got.len()).min(API_PAGE_MAX).to_string();
        let mut query: Vec<(&str, &str)> = vec![("phoneNumberId", inbox.id.as_str())];
        // An array parameter: the key repeats, one value per participant.
        query.extend(participants.iter().map(|p| ("participants", p.as_str())));
        query.push(("maxResults", &page_size));
        if let Some(after) = &after {
            query.push(("createdAfter", after));
        }
        if let Some(before) = window.before {
            query.push(("createdBefore", before.as_str()));
        }
        if let Some(token) = &token {
            query.push(("pageToken", token));
        }
        let page: Page<ListedMessage> = api.get("/messages", &query).map_err(|e| {
            api_failure(
                &format!(
                    "Could not read the messages between {} and {}",
                    inbox.label(),
                    participants.join(", ")
                ),
                e,
            )
        })?;
        let empty = page.data.is_empty();
        got.extend(page.data);
        report(got.len().min(window.limit));
        match page.next_page_token {
            Some(next) if got.len() < window.limit && !empty && token.as_ref() != Some(&next) => {
                token = Some(next);
            }
            Some(_) => return Ok(finish(got, window.limit, true)),
            None => return Ok(finish(got, window.limit, false)),
        }
    }
    Ok(finish(got, window.limit, true))
}

/// Newest first, at most `limit`; `more` also when the API sent extra.
fn finish(
    mut messages: Vec<ListedMessage>,
    limit: usize,
    more: bool,
) -> (Vec<ListedMessage>, bool) {
    sort_newest_first(&mut messages);
    let extra = messages.len() > limit;
    messages.truncate(limit);
    (messages, more || extra)
}

fn sort_newest_first(messages: &mut [ListedMessage]) {
    messages.sort_by_cached_key(|m| std::cmp::Reverse(time_key(m.created_at.as_deref())));
}

/// The newest `window.limit` messages across the inbox's recent conversations.
fn read_conversations(
    api: &impl Api,
    inbox: &WorkspaceNumber,
    window: &Window<'_>,
) -> Result<(Vec<MessageItem>, Vec<ConversationIncluded>, bool), ToolError> {
    let (conversations, more_conversations) = recent_conversations(api, inbox, window.after)?;
    let total = conversations.len();
    let mut kept: Vec<(ListedMessage, usize)> = Vec::new();
    let mut truncated = more_conversations;
    for (index, conversation) in conversations.iter().enumerate() {
        log::progress(
            index as f64,
            Some(total as f64),
            Some(&format!("reading conversation {} of {total}", index + 1)),
        );
        if conversation.participants.is_empty() {
            continue;
        }
        let cutoff = (kept.len() >= window.limit)
            .then(|| kept.last().and_then(|(m, _)| m.created_at.clone()))
            .flatten();
        if let Some(cutoff) = &cutoff {
            // Its last activity is older than every message kept: nothing it
            // holds would make the cut.
            let last = conversation
                .last_activity_at
                .as_deref()
                .and_then(parse_rfc3339);
            if last.zip(parse_rfc3339(cutoff)).is_some_and(|(l, c)| l < c) {
                truncated = true;
                continue;
            }
        }
        let after = later_bound(window.after, cutoff.as_deref());
        let (messages, more) = read_thread(
            api,
            inbox,
            &conversation.participants,
            after,
            window,
            &mut |_| {},
        )?;
        truncated |= more;
        kept.extend(messages.into_iter().map(|m| (m, index)));
        kept.sort_by_cached_key(|(m, _)| std::cmp::Reverse(time_key(m.created_at.as_deref())));
        if kept.len() > window.limit {
            kept.truncate(window.limit);
            truncated = true;
        }
    }
    log::progress(total as f64, Some(total as f64), Some("done"));
    let mut counts = vec![0_usize; total];
    for (_, index) in &kept {
        counts[*index] += 1;
    }
    let included = conversations
        .iter()
        .zip(&counts)
        .filter(|(_, count)| **count > 0)
        .map(|(c, count)| ConversationIncluded {
            id: c.id.clone(),
            name: c.name.clone(),
            participants: c.participants.clone(),
            messages: *count,
        })
        .collect();
    let messages = kept
        .into_iter()
        .map(|(m, index)| {
            let conversation: &Conversation = &conversations[index];
            to_item(
                m,
                inbox,
                &conversation.participants,
                Some(conversation.id.clone()),
            )
        })
        .collect();
    Ok((messages, included, truncated))
}

fn to_item(
    message: ListedMessage,
    inbox: &WorkspaceNumber,
    participants: &[String],
    conversation_id: Option<String>,
) -> MessageItem {
    let direction = message.direction.unwrap_or_else(|| {
        // Not expected (the field is required); infer it from the sender.
        match &message.from {
            Some(from) if inbox.is_own(from) => "outgoing".into(),
            _ => "incoming".into(),
        }
    });
    let others: Vec<String> = if direction == "outgoing" {
        message
            .to
            .into_iter()
            .filter(|n| !inbox.is_own(n))
            .collect()
    } else {
        message.from.into_iter().collect()
    };
    let counterpart = if others.is_empty() {
        participants.join(", ")
    } else {
        others.join(", ")
    };
    MessageItem {
        id: message.id,
        direction,
        created_at: message.created_at,
        status: message.status,
        counterpart,
        text: message.text.unwrap_or_default(),
        conversation_id,
    }
}

/// A compact transcript, newest first, for a model to read or summarise.
fn render(result: &Messages) -> String {
    let inbox = result.inbox.label();
    let scope = match &result.participant {
        Some(p) => format!("between {inbox} and {p}"),
        None => format!("on {inbox}"),
    };
    let mut out = if result.messages.is_empty() {
        format!("No messages {scope} in the requested period.")
    } else {
        format!(
            "{} message{} {scope}, newest first.",
            result.messages.len(),
            if result.messages.len() == 1 { "" } else { "s" }
        )
    };
    if let Some(conversations) = result.conversations.as_ref().filter(|c| !c.is_empty()) {
        let list: Vec<String> = conversations
            .iter()
            .map(|c| {
                let who = c.participants.join(", ");
                match c.name.as_deref().filter(|n| !n.trim().is_empty()) {
                    Some(name) => format!("{name} ({who}): {}", c.messages),
                    None => format!("{who}: {}", c.messages),
                }
            })
            .collect();
        out.push_str(&format!(" From conversations with {}.", list.join("; ")));
    }
    if let Some(before) = &result.continue_before {
        out.push_str(&format!(
            " More exist: call again with createdBefore={before} for older messages."
        ));
    } else if result.truncated {
        out.push_str(" More may exist.");
    }
    let own = result
        .inbox
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("us");
    for m in &result.messages {
        let when = m.created_at.as_deref().unwrap_or("(time unknown)");
        let (from, to) = if m.direction == "outgoing" {
            (own, m.counterpart.as_str())
        } else {
            (m.counterpart.as_str(), own)
        };
        let status = match (m.direction.as_str(), m.status.as_deref()) {
            ("outgoing", Some(status)) => format!(" ({status})"),
            _ => String::new(),
        };
        let text = if m.text.is_empty() {
            "(no text)".to_owned()
        } else {
            m.text.replace('\n', "\n    ")
        };
        out.push_str(&format!("\n[{when}] {from} → {to}{status}: {text}"));
    }
    out
}

openphone_guest::export_single_tool!(name: NAME, descriptor: descriptor, run: fetch);

#[cfg(test)]
mod tests;
