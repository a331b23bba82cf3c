//! The send loop: dedupe, then for each recipient consult the ledger, send
//! at most once, record the outcome.

use std::collections::HashMap;
use std::time::Duration;

use openphone_guest::query::{ListedMessage, WorkspaceNumber, parse_rfc3339, resolve_inbox};
use openphone_guest::{
    ApiError, E164, HostApi, HostLedger, Ledger, LedgerError, RecordedSend, ToolError, ToolOutput,
    UpstreamError, log,
};
use serde::{Deserialize, Serialize};

use crate::{BulkMessages, BulkResult, Outcome, RecipientOutcome};

/// Pauses before re-sending a message the API refused with 429 (which means
/// it was not processed). The host already spaces requests, so a 429 means
/// another client shares the key's budget.
const RATE_LIMIT_PAUSES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// How far before a recorded send a matching message in the inbox counts
/// as that send (clock skew between this host and OpenPhone).
const LOOKUP_SKEW_MS: i64 = 5 * 60 * 1000;

/// Messages read from the conversation when looking for an unconfirmed send.
const LOOKUP_MESSAGES: &str = "20";

/// Failures listed in the text summary; the structured result has them all.
const LISTED: usize = 20;

/// What the send loop needs from the outside world.
#[allow(missing_debug_implementations)]
pub struct Env<'a, A: RecordedSend, L: Ledger> {
    pub api: &'a A,
    pub ledger: &'a L,
    /// Milliseconds since the Unix epoch.
    pub now_ms: fn() -> i64,
    pub pause: fn(Duration),
}

impl Env<'static, HostApi, HostLedger> {
    /// The host's API and ledger, the sandbox's clock.
    pub fn host() -> Self {
        Env {
            api: &HostApi,
            ledger: &HostLedger,
            now_ms: || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0)
            },
            pause: std::thread::sleep,
        }
    }
}

/// A recipient's ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Entry {
    /// About to send (written before the POST), at this time.
    Sending {
        at_ms: i64,
    },
    Sent {
        id: String,
        status: Option<String>,
    },
    Failed {
        reason: String,
    },
    /// The POST got no answer, at this time.
    Unknown {
        reason: String,
        at_ms: i64,
    },
}

/// The API's `202` answer to `POST /v1/messages`.
#[derive(Debug, Deserialize)]
struct Accepted {
    data: AcceptedMessage,
}

#[derive(Debug, Deserialize)]
struct AcceptedMessage {
    id: String,
    #[serde(default)]
    status: Option<String>,
}

/// `GET /v1/messages`, as far as the lookup needs it.
#[derive(Debug, Deserialize)]
struct MessageList {
    data: Vec<ListedMessage>,
}

/// Why the loop stops sending before the end of the list.
enum Stop {
    /// Every further send would be refused the same way.
    Refused(String),
    /// Outcomes can no longer be recorded, so sending is unsafe.
    Ledger(LedgerError),
}

/// Sends `args.content` to every distinct recipient that has no outcome
/// under this call's idempotency key.
pub fn send_all<A: RecordedSend, L: Ledger>(
    env: &Env<'_, A, L>,
    args: BulkMessages,
) -> Result<ToolOutput, ToolError> {
    let inbox = resolve_inbox(env.api, &args.from)?;
    let content = args.content.as_str();
    let given = args.recipients.as_slice();

    // Positions of first occurrences; later ones are duplicates.
    let mut first: HashMap<&E164, usize> = HashMap::new();
    let mut outcomes: Vec<Option<RecipientOutcome>> = vec![None; given.len()];
    for (index, to) in given.iter().enumerate() {
        if let Some(&earlier) = first.get(to) {
            outcomes[index] = Some(outcome(to, Outcome::Duplicate, false).duplicate_of(earlier));
        } else {
            first.insert(to, index);
        }
    }
    let unique = first.len();

    let mut stop: Option<Stop> = None;
    let mut done = 0usize;
    for (index, to) in given.iter().enumerate() {
        if outcomes[index].is_some() {
            continue;
        }
        let result = match &stop {
            Some(Stop::Refused(reason)) => {
                outcome(to, Outcome::NotSent, false).reason(reason.clone())
            }
            Some(Stop::Ledger(error)) => outcome(to, Outcome::NotSent, false).reason(format!(
                "not sent because {}; nothing was recorded for it",
                openphone_guest::ledger::describe(error)
            )),
            None => match send_one(env, &inbox, to, content) {
                Ok((result, halt)) => {
                    stop = halt;
                    result
                }
                Err(error) => {
                    let result = outcome(to, Outcome::NotSent, false).reason(format!(
                        "not sent because {}; nothing was recorded for it",
                        openphone_guest::ledger::describe(&error)
                    ));
                    stop = Some(Stop::Ledger(error));
                    result
                }
            },
        };
        outcomes[index] = Some(result);
        done += 1;
        log::progress(
            done as f64,
            Some(unique as f64),
            Some(&format!("{done} of {unique} recipients handled")),
        );
    }
    if let Some(Stop::Ledger(LedgerError::NoKey)) = stop {
        return Err(ToolError::InvalidArguments(
            "`idempotencyKey` is required: pass any unique text (e.g. a UUID) naming this send"
                .into(),
        ));
    }
    let recipients: Vec<RecipientOutcome> = outcomes.into_iter().flatten().collect();
    Ok(summarise(&inbox, given.len(), recipients))
}

/// Sends to one recipient unless the ledger has an outcome for it. The
/// second value, when set, is why no later send should be attempted. An
/// error means nothing was sent to this recipient.
fn send_one<A: RecordedSend, L: Ledger>(
    env: &Env<'_, A, L>,
    inbox: &WorkspaceNumber,
    to: &E164,
    content: &str,
) -> Result<(RecipientOutcome, Option<Stop>), LedgerError> {
    let item = to.as_str();
    match env.ledger.get::<Entry>(item)? {
        Some(Entry::Sent { id, status }) => {
            return Ok((sent(to, id, status, true), None));
        }
        Some(Entry::Failed { reason }) => {
            return Ok((outcome(to, Outcome::Failed, true).reason(reason), None));
        }
        Some(Entry::Sending { at_ms }) | Some(Entry::Unknown { at_ms, .. }) => {
            return Ok(confirm(env, inbox, to, content, at_ms));
        }
        None => {}
    }
    if inbox.is_own(item) {
        let reason = "this is the number the message is sent from".to_owned();
        env.ledger.put(
            item,
            &Entry::Failed {
                reason: reason.clone(),
            },
        )?;
        return Ok((outcome(to, Outcome::Failed, false).reason(reason), None));
    }

    let body = serde_json::json!({
        "content": content,
        "from": inbox.id,
        "to": [item],
    });
    let mut pauses = RATE_LIMIT_PAUSES.iter();
    let at_ms = (env.now_ms)();
    // "Sending" is recorded by the host as the request goes out: a call
    // stopped while waiting for the rate budget leaves no trace.
    let sending = Entry::Sending { at_ms };
    let answer = loop {
        match env
            .api
            .post_recorded::<_, _, Accepted>("/messages", &body, item, &sending)
        {
            Err(ApiError::Upstream(UpstreamError::RateLimited)) => match pauses.next() {
                Some(&pause) => (env.pause)(pause),
                None => break Err(ApiError::Upstream(UpstreamError::RateLimited)),
            },
            // The host could not record the attempt, so it did not send it.
            Err(ApiError::Upstream(UpstreamError::InvalidRequest(m))) => {
                return Err(LedgerError::Unavailable(m));
            }
            other => break other,
        }
    };
    let (entry, result, halt) = match answer {
        Ok(Accepted { data }) => (
            Entry::Sent {
                id: data.id.clone(),
                status: data.status.clone(),
            },
            sent(to, data.id, data.status, false),
            None,
        ),
        Err(ApiError::Upstream(e @ (UpstreamError::Timeout | UpstreamError::Unavailable(_)))) => {
            let reason = format!(
                "{} It is unknown whether this message was sent; it will not be sent again \
                 with this idempotencyKey.",
                openphone_guest::explain_upstream(&e)
            );
            (
                Entry::Unknown {
                    reason: reason.clone(),
                    at_ms,
                },
                outcome(to, Outcome::Unknown, false).reason(reason),
                None,
            )
        }
        Err(ApiError::Status(status)) if status.status >= 500 => {
            let reason = format!(
                "{} It is unknown whether this message was sent; it will not be sent again \
                 with this idempotencyKey.",
                status.explain()
            );
            (
                Entry::Unknown {
                    reason: reason.clone(),
                    at_ms,
                },
                outcome(to, Outcome::Unknown, false).reason(reason),
                None,
            )
        }
        Err(error) => {
            let reason = error.to_string();
            // A rejected key, no credits or an exhausted request budget
            // fails every later send the same way.
            let halt = matches!(
                &error,
                ApiError::Status(s) if matches!(s.status, 401 | 402)
            ) || matches!(
                &error,
                ApiError::Upstream(UpstreamError::BudgetExhausted | UpstreamError::RateLimited)
            );
            (
                Entry::Failed {
                    reason: reason.clone(),
                },
                outcome(to, Outcome::Failed, false).reason(reason.clone()),
                halt.then(|| {
                    Stop::Refused(format!(
                        "not attempted after an earlier send failed: {reason}"
                    ))
                }),
            )
        }
    };
    // The message may be out: report it whatever happens to the record, but
    // send nothing more once outcomes cannot be kept.
    match env.ledger.put(item, &entry) {
        Ok(()) => Ok((result, halt)),
        Err(error) => Ok((result, Some(Stop::Ledger(error)))),
    }
}

/// An earlier run started sending to `to` but recorded no answer: looks for
/// the message in the conversation. Found, it is `sent`; otherwise
/// `unknown` — never sent again.
fn confirm<A: RecordedSend, L: Ledger>(
    env: &Env<'_, A, L>,
    inbox: &WorkspaceNumber,
    to: &E164,
    content: &str,
    at_ms: i64,
) -> (RecipientOutcome, Option<Stop>) {
    let query = [
        ("phoneNumberId", inbox.id.as_str()),
        ("participants", to.as_str()),
        ("maxResults", LOOKUP_MESSAGES),
    ];
    let found = match env.api.get::<MessageList>("/messages", &query) {
        Ok(list) => list.data.into_iter().find(|m| {
            m.direction.as_deref() == Some("outgoing")
                && m.text.as_deref() == Some(content)
                && m.created_at
                    .as_deref()
                    .and_then(parse_rfc3339)
                    .is_some_and(|created| created >= at_ms - LOOKUP_SKEW_MS)
        }),
        Err(error) => {
            let reason = format!(
                "An earlier call with this idempotencyKey sent this message but got no answer, and \
                 checking the inbox failed ({}). It will not be sent again with this key; check the \
                 conversation with fetch-messages.",
                error
            );
            return (outcome(to, Outcome::Unknown, true).reason(reason), None);
        }
    };
    let (entry, result) = match found {
        Some(message) => (
            Entry::Sent {
                id: message.id.clone(),
                status: message.status.clone(),
            },
            sent(to, message.id, message.status, true),
        ),
        None => {
            let reason = "An earlier call with this idempotencyKey sent this message but got no \
                answer, and it is not in the conversation. It may not have gone out; it will not be \
                sent again with this key. Check with fetch-messages, then send it with a new key if \
                needed."
                .to_owned();
            (
                Entry::Unknown {
                    reason: reason.clone(),
                    at_ms,
                },
                outcome(to, Outcome::Unknown, true).reason(reason),
            )
        }
    };
    match env.ledger.put(to.as_str(), &entry) {
        Ok(()) => (result, None),
        Err(error) => (result, Some(Stop::Ledger(error))),
    }
}

fn outcome(to: &E164, outcome: Outcome, earlier_call: bool) -> RecipientOutcome {
    RecipientOutcome {
        to: to.as_str().to_owned(),
        outcome,
        message_id: None,
        status: None,
        reason: None,
        duplicate_of: None,
        earlier_call,
    }
}

fn sent(to: &E164, id: String, status: Option<String>, earlier_call: bool) -> RecipientOutcome {
    RecipientOutcome {
        message_id: Some(id),
        status: Some(status.unwrap_or_else(|| "queued".into())),
        ..outcome(to, Outcome::Sent, earlier_call)
    }
}

impl RecipientOutcome {
    fn reason(mut self, reason: String) -> Self {
        self.reason = Some(reason);
        self
    }

    fn duplicate_of(mut self, index: usize) -> Self {
        self.duplicate_of = Some(index);
        self
    }
}

/// The result: counts, every outcome, and a text that leads with what needs
/// attention.
fn summarise(
    inbox: &WorkspaceNumber,
    requested: usize,
    recipients: Vec<RecipientOutcome>,
) -> ToolOutput {
    let count = |o: Outcome| recipients.iter().filter(|r| r.outcome == o).count();
    let result = BulkResult {
        from: inbox.number.clone(),
        phone_number_id: inbox.id.clone(),
        requested,
        sent: count(Outcome::Sent),
        failed: count(Outcome::Failed),
        unknown: count(Outcome::Unknown),
        duplicates: count(Outcome::Duplicate),
        not_sent: count(Outcome::NotSent),
        recipients,
    };
    let unique = requested - result.duplicates;
    let earlier = result
        .recipients
        .iter()
        .filter(|r| r.outcome == Outcome::Sent && r.earlier_call)
        .count();
    let mut text = format!(
        "Sent to {} of {} recipients from {}.",
        result.sent,
        unique,
        inbox.label()
    );
    if earlier > 0 {
        text.push_str(&format!(
            " {earlier} of those were sent by an earlier call with this idempotencyKey and not sent again."
        ));
    }
    if result.duplicates > 0 {
        text.push_str(&format!(
            " {} duplicate{} skipped.",
            result.duplicates,
            if result.duplicates == 1 { "" } else { "s" }
        ));
    }
    for (kind, label, advice) in [
        (
            Outcome::Failed,
            "Failed",
            "OpenPhone refused these; nothing was sent to them.",
        ),
        (
            Outcome::Unknown,
            "Unknown",
            "No answer from OpenPhone: check with fetch-messages before resending.",
        ),
        (
            Outcome::NotSent,
            "Not sent",
            "Send to these with a new idempotencyKey once the cause is fixed.",
        ),
    ] {
        let listed: Vec<&RecipientOutcome> = result
            .recipients
            .iter()
            .filter(|r| r.outcome == kind)
            .collect();
        if listed.is_empty() {
            continue;
        }
        text.push_str(&format!("\n{label} ({}): {advice}", listed.len()));
        for r in listed.iter().take(LISTED) {
            text.push_str(&format!(
                "\n- {}: {}",
                r.to,
                r.reason.as_deref().unwrap_or("no reason given")
            ));
        }
        if listed.len() > LISTED {
            text.push_str(&format!("\n- and {} more", listed.len() - LISTED));
        }
    }
    let trouble = result.failed + result.unknown + result.not_sent;
    if trouble == 0 {
        ToolOutput::success(text, &result)
    } else {
        ToolOutput::failure(text, Some(&result))
    }
}
