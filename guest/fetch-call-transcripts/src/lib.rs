//! `fetch-call-transcripts`: list the recent calls of one workspace number
//! and read each call's transcript.
//!
//! The component is a thin [`Guest`] over [`fetch`], which takes any [`Api`]
//! so it is unit-tested natively. It only reads (`GET`).
//!
//! `GET /v1/calls` takes exactly one participant, so without one the tool
//! lists the calls with each participant of the inbox's recent one-to-one
//! conversations and keeps the newest `maxCalls`. Then it asks
//! `GET /v1/call-transcripts/{id}` for each call and says, per call, whether
//! the transcript is there, still being made, or absent. Transcripts exist
//! only on the Business and Scale plans: when the first transcript request is
//! refused (`403`), it stops and says so once instead of failing each call.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

use openphone_guest::schemars::{self, JsonSchema};
use openphone_guest::{
    Api, ApiError, E164, Inbox, ToolAnnotations, ToolDescriptor, ToolError, ToolOutput,
    explain_upstream, input_schema, log, output_schema,
};
use serde::{Deserialize, Serialize};

pub use openphone_guest::query::{Count, DateTime, WorkspaceNumber};
use openphone_guest::query::{
    Page, api_failure, check_window, later_bound, recent_conversations, resolve_inbox, time_key,
};

/// The tool's name, as clients call it.
pub const NAME: &str = "fetch-call-transcripts";

/// Largest `maxResults` the API accepts per page.
const API_PAGE_MAX: usize = 100;

/// Pages read for one participant before giving up on a misbehaving cursor.
const MAX_PAGES: usize = 20;

/// The API's code for "transcripts are not on this plan".
const PLAN_CODE: &str = "0600403";

/// What is said, once, when the plan has no transcripts.
pub const PLAN_MESSAGE: &str = "This workspace's OpenPhone plan does not include call transcripts \
    (Business or Scale plan needed).";

/// Arguments of `fetch-call-transcripts`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FetchCallTranscripts {
    /// The workspace number whose calls to read: its E.164 number or its OpenPhone id (PN…).
    #[schemars(example = &"+15555550100", example = &"PNabc123")]
    pub inbox: Inbox,
    /// Only calls with this number (E.164). Without it, the calls with the participants of the
    /// inbox's most recent conversations are read.
    #[serde(default)]
    #[schemars(example = &"+15555550123")]
    pub participant: Option<E164>,
    /// Only calls started after this moment: an ISO 8601 date-time with a time zone.
    #[serde(default)]
    #[schemars(example = &"2025-11-03T00:00:00Z")]
    pub created_after: Option<DateTime>,
    /// Only calls started before this moment: an ISO 8601 date-time with a time zone.
    /// To read further back, pass the `continueBefore` of a previous result.
    #[serde(default)]
    #[schemars(example = &"2025-11-10T09:00:00-05:00")]
    pub created_before: Option<DateTime>,
    /// How many calls to return at most, newest first, each with its transcript: 1 to 50
    /// (default 10).
    #[serde(default)]
    #[schemars(example = 10)]
    pub max_calls: Count<1, 50, 10>,
}

/// What `fetch-call-transcripts` returns as structured content.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Calls {
    /// The workspace number read.
    pub inbox: WorkspaceNumber,
    /// The participant asked for, if one was.
    pub participant: Option<String>,
    /// Without a participant: the numbers whose calls were listed (from the inbox's recent
    /// conversations).
    pub participants_checked: Option<Vec<String>>,
    /// The calls, newest first, each with its transcript.
    pub calls: Vec<CallItem>,
    /// Set when no transcript could be read for the remaining calls, e.g. because the plan
    /// does not include transcripts: one explanation for all of them.
    pub transcripts_notice: Option<String>,
    /// More calls in the requested window may exist than were returned.
    pub truncated: bool,
    /// When truncated: pass this as `createdBefore` to read older calls.
    pub continue_before: Option<String>,
}

/// One call.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CallItem {
    /// OpenPhone's id for the call (AC…).
    pub id: String,
    /// `incoming` (to the inbox) or `outgoing` (from it).
    pub direction: String,
    /// The call's status (`completed`, `missed`, `no-answer`, …).
    pub status: Option<String>,
    /// The numbers on the call, the inbox's own included.
    pub participants: Vec<String>,
    /// The other party (several separated by `, `).
    pub counterpart: String,
    /// When the call started (ISO 8601).
    pub created_at: Option<String>,
    /// When it was answered, if it was.
    pub answered_at: Option<String>,
    /// When it ended, if it has.
    pub completed_at: Option<String>,
    /// Its length in seconds, when known.
    pub duration_seconds: Option<u64>,
    /// Its transcript, or why there is none.
    pub transcript: Transcript,
}

/// A call's transcript, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Transcript {
    /// `completed` (dialogue below), `in-progress` (not ready yet), `absent` (none exists),
    /// `not-on-plan` (the plan has no transcripts), `error` (this one could not be read) or
    /// `not-fetched` (not asked for: see `transcriptsNotice`).
    pub state: TranscriptState,
    /// The transcript status OpenPhone reported (`completed`, `in-progress`, `absent`,
    /// `failed`), when it sent one.
    pub api_status: Option<String>,
    /// Why there is no dialogue, in words.
    pub detail: Option<String>,
    /// What was said, in order.
    pub dialogue: Option<Vec<Utterance>>,
}

/// Whether a call's transcript could be read.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TranscriptState {
    Completed,
    InProgress,
    Absent,
    NotOnPlan,
    Error,
    NotFetched,
}

/// One stretch of speech.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Utterance {
    /// The speaker's phone number.
    pub identifier: String,
    /// The speaker's OpenPhone user id (US…) when a workspace user spoke.
    pub user_id: Option<String>,
    /// Seconds from the start of the call.
    pub start: f64,
    /// Seconds from the start of the call.
    pub end: f64,
    /// What was said.
    pub content: String,
}

/// A call as `GET /v1/calls` lists it (the fields this tool reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiCall {
    id: String,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    participants: Vec<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    answered_at: Option<String>,
    #[serde(default)]
    completed_at: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct TranscriptEnvelope {
    data: ApiTranscript,
}

#[derive(Debug, Deserialize)]
struct ApiTranscript {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    dialogue: Option<Vec<ApiUtterance>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiUtterance {
    #[serde(default)]
    content: String,
    #[serde(default)]
    start: f64,
    #[serde(default)]
    end: f64,
    #[serde(default)]
    identifier: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

/// The descriptor listed in `tools/list`.
pub fn descriptor() -> ToolDescriptor {
    ToolDescriptor {
        name: NAME.into(),
        title: "Read call transcripts".into(),
        description: "List the recent calls of one of the workspace's OpenPhone numbers, newest first, \
            with each call's transcript (who said what, with timings). Use it to review or summarise \
            phone calls. `inbox` is the workspace number (E.164 like +15555550100, or its PN… id). Give \
            `participant` for the calls with one number; without it, the calls with the participants of \
            the inbox's recent conversations are read. `createdAfter`/`createdBefore` (ISO 8601, e.g. \
            2025-11-03T00:00:00Z) bound the period; `maxCalls` (1-50, default 10) caps the count. Each \
            call says whether its transcript is completed, in progress or absent. Transcripts need the \
            Business or Scale plan: on other plans the calls are listed and `transcriptsNotice` says so."
            .into(),
        input_schema: input_schema::<FetchCallTranscripts>(),
        output_schema: Some(output_schema::<Calls>()),
        annotations: ToolAnnotations {
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: true,
        },
        scope: "calls:read".into(),
        resumable: false,
    }
}

/// Progress across both phases (listing, then transcripts), always increasing.
#[derive(Debug, Default)]
struct Progress {
    done: f64,
}

impl Progress {
    fn step(&mut self, total: Option<f64>, message: &str) {
        self.done += 1.0;
        log::progress(self.done, total, Some(message));
    }
}

/// The period and size every call listing shares.
struct Window<'a> {
    after: Option<&'a DateTime>,
    before: Option<&'a DateTime>,
    limit: usize,
}

/// Lists the calls described by `args` and reads their transcripts.
pub fn fetch(api: &impl Api, args: FetchCallTranscripts) -> Result<ToolOutput, ToolError> {
    check_window(args.created_after.as_ref(), args.created_before.as_ref())?;
    let inbox = resolve_inbox(api, &args.inbox)?;
    let window = Window {
        after: args.created_after.as_ref(),
        before: args.created_before.as_ref(),
        limit: args.max_calls.get(),
    };
    let mut progress = Progress::default();
    let (calls, participants_checked, groups_skipped, truncated) = match &args.participant {
        Some(participant) => {
            let (calls, more) = list_calls(api, &inbox, participant.as_str(), None, &window)?;
            progress.step(None, "listed the calls");
            (calls, None, 0, more)
        }
        None => {
            let (participants, groups_skipped, more_conversations) =
                call_participants(api, &inbox)?;
            let (calls, more) = calls_with(api, &inbox, &participants, &window, &mut progress)?;
            (
                calls,
                Some(participants),
                groups_skipped,
                more || more_conversations,
            )
        }
    };
    let (calls, transcripts_notice) = read_transcripts(api, &inbox, calls, &mut progress);
    let continue_before = if truncated {
        calls.last().and_then(|c| c.created_at.clone())
    } else {
        None
    };
    let result = Calls {
        participant: args.participant.map(String::from),
        inbox,
        participants_checked,
        calls,
        transcripts_notice,
        truncated,
        continue_before,
    };
    Ok(ToolOutput::success(
        render(&result, groups_skipped),
        &result,
    ))
}

/// The participants of the inbox's recent one-to-one conversations, most
/// recent first, without repeats; how many group conversations were left out
/// (the calls endpoint takes one participant); whether more conversations exist.
///
/// The conversations are not narrowed to the window (`updatedAfter`): whether a
/// call counts as a conversation's activity is not documented.
fn call_participants(
    api: &impl Api,
    inbox: &WorkspaceNumber,
) -> Result<(Vec<String>, usize, bool), ToolError> {
    let (conversations, more) = recent_conversations(api, inbox, None)?;
    let mut participants: Vec<String> = Vec::new();
    let mut groups = 0;
    for conversation in conversations {
        match conversation.participants.as_slice() {
            [one] => {
                if !participants.contains(one) {
                    participants.push(one.clone());
                }
            }
            [] => {}
            _ => groups += 1,
        }
    }
    Ok((participants, groups, more))
}

/// The newest `window.limit` calls with any of `participants`. Once that many
/// are held, the next participants are asked only for newer calls.
fn calls_with(
    api: &impl Api,
    inbox: &WorkspaceNumber,
    participants: &[String],
    window: &Window<'_>,
    progress: &mut Progress,
) -> Result<(Vec<ApiCall>, bool), ToolError> {
    let mut kept: Vec<ApiCall> = Vec::new();
    let mut truncated = false;
    for (index, participant) in participants.iter().enumerate() {
        let cutoff = (kept.len() >= window.limit)
            .then(|| kept.last().and_then(|c| c.created_at.clone()))
            .flatten();
        let after = later_bound(window.after, cutoff.as_deref());
        let (calls, more) = list_calls(api, inbox, participant, after, window)?;
        truncated |= more;
        kept.extend(calls);
        sort_newest_first(&mut kept);
        if kept.len() > window.limit {
            kept.truncate(window.limit);
            truncated = true;
        }
        progress.step(
            None,
            &format!(
                "listed calls for participant {} of {}",
                index + 1,
                participants.len()
            ),
        );
    }
    Ok((kept, truncated))
}

/// Up to `window.limit` calls with `participant`, newest first, following
/// `nextPageToken`; `after` overrides the window's lower bound. Returns them
/// and whether more exist.
fn list_calls(
    api: &impl Api,
    inbox: &WorkspaceNumber,
    participant: &str,
    after: Option<String>,
    window: &Window<'_>,
) -> Result<(Vec<ApiCall>, bool), ToolError> {
    let after = after.or_else(|| window.after.map(|a| a.as_str().to_owned()));
    let mut got: Vec<ApiCall> = Vec::new();
    let mut token: Option<String> = None;
    let mut more = true;
    for _ in 0..MAX_PAGES {
        let page_size = (window.limit - got.len()).min(API_PAGE_MAX).to_string();
        let mut query: Vec<(&str, &str)> = vec![
            ("phoneNumberId", inbox.id.as_str()),
            ("participants", participant),
            ("maxResults", &page_size),
        ];
        if let Some(after) = &after {
            query.push(("createdAfter", after));
        }
        if let Some(before) = window.before {
            query.push(("createdBefore", before.as_str()));
        }
        if let Some(token) = &token {
            query.push(("pageToken", token));
        }
        let page: Page<ApiCall> = api.get("/calls", &query).map_err(|e| {
            api_failure(
                &format!(
                    "Could not list the calls between {} and {participant}",
                    inbox.label()
                ),
                e,
            )
        })?;
        let empty = page.data.is_empty();
        got.extend(page.data);
        match page.next_page_token {
            Some(next) if got.len() < window.limit && !empty && token.as_ref() != Some(&next) => {
                token = Some(next);
            }
            Some(_) => break,
            None => {
                more = false;
                break;
            }
        }
    }
    sort_newest_first(&mut got);
    if got.len() > window.limit {
        got.truncate(window.limit);
        more = true;
    }
    Ok((got, more))
}

fn sort_newest_first(calls: &mut [ApiCall]) {
    calls.sort_by_cached_key(|c| std::cmp::Reverse(time_key(c.created_at.as_deref())));
}

/// Reads each call's transcript, in order. Returns the calls and, when
/// transcripts stopped being read (no plan, no answer), one notice saying why.
fn read_transcripts(
    api: &impl Api,
    inbox: &WorkspaceNumber,
    calls: Vec<ApiCall>,
    progress: &mut Progress,
) -> (Vec<CallItem>, Option<String>) {
    let count = calls.len();
    let total = Some(progress.done + count as f64);
    let mut notice: Option<String> = None;
    let mut not_on_plan = false;
    let mut items = Vec::with_capacity(count);
    for (index, call) in calls.into_iter().enumerate() {
        let transcript = if not_on_plan {
            Transcript::without(TranscriptState::NotOnPlan, None)
        } else if notice.is_some() {
            Transcript::without(TranscriptState::NotFetched, None)
        } else {
            let (transcript, stop) = read_transcript(api, &call.id, index == 0);
            progress.step(total, &format!("read transcript {} of {count}", index + 1));
            if let Some(stop) = stop {
                not_on_plan = matches!(stop, Stop::Plan(_));
                notice = Some(match stop {
                    Stop::Plan(m) | Stop::Failing(m) => m,
                });
            }
            transcript
        };
        items.push(to_item(call, inbox, transcript));
    }
    (items, notice)
}

/// Why no further transcript is asked for.
enum Stop {
    /// The plan has no transcripts.
    Plan(String),
    /// The API stopped answering usefully; asking again per call would only wait.
    Failing(String),
}

/// One call's transcript, and whether to stop asking for the others.
fn read_transcript(api: &impl Api, call_id: &str, first: bool) -> (Transcript, Option<Stop>) {
    // The id comes from the API; it becomes a path segment, so it must be one.
    if call_id.is_empty() || !call_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return (
            Transcript::without(
                TranscriptState::Error,
                Some("OpenPhone listed this call with an id this tool cannot look up.".into()),
            ),
            None,
        );
    }
    match api.get::<TranscriptEnvelope>(&format!("/call-transcripts/{call_id}"), &[]) {
        Ok(TranscriptEnvelope { data }) => (from_api(data), None),
        Err(e) if e.status() == Some(404) => (
            Transcript::without(
                TranscriptState::Absent,
                Some("OpenPhone has no transcript for this call.".into()),
            ),
            None,
        ),
        Err(e) if e.status() == Some(403) && (first || e.code() == Some(PLAN_CODE)) => {
            let message = if e.code() == Some(PLAN_CODE) {
                PLAN_MESSAGE.to_owned()
            } else {
                format!("{PLAN_MESSAGE} ({e})")
            };
            (
                Transcript::without(TranscriptState::NotOnPlan, None),
                Some(Stop::Plan(message)),
            )
        }
        Err(e) => {
            let reason = match &e {
                ApiError::Upstream(u) => explain_upstream(u),
                other => other.to_string(),
            };
            // No answer, a refused key or a server error will not change for the next call.
            let stop = matches!(e, ApiError::Upstream(_))
                || matches!(e.status(), Some(401 | 429 | 500..=599));
            let transcript = Transcript::without(TranscriptState::Error, Some(reason.clone()));
            let stop = stop.then(|| {
                Stop::Failing(format!(
                    "Transcripts could not be read: {reason} The calls after it were not checked."
                ))
            });
            (transcript, stop)
        }
    }
}

impl Transcript {
    fn without(state: TranscriptState, detail: Option<String>) -> Self {
        Transcript {
            state,
            api_status: None,
            detail,
            dialogue: None,
        }
    }
}

/// Reads the API's transcript: only a `completed` one with dialogue has
/// anything to show; `absent`/`failed` (or no dialogue) mean there is none.
fn from_api(transcript: ApiTranscript) -> Transcript {
    let status = transcript.status;
    let (state, detail) = match (status.as_deref(), &transcript.dialogue) {
        (Some("in-progress"), _) => (
            TranscriptState::InProgress,
            Some("OpenPhone is still transcribing this call; try again later.".to_owned()),
        ),
        (Some("failed"), _) => (
            TranscriptState::Absent,
            Some("OpenPhone could not transcribe this call.".to_owned()),
        ),
        (Some("absent"), _) => (
            TranscriptState::Absent,
            Some("OpenPhone has no transcript for this call.".to_owned()),
        ),
        (_, Some(lines)) if lines.is_empty() => (
            TranscriptState::Completed,
            Some("The transcript is empty.".to_owned()),
        ),
        (_, Some(_)) => (TranscriptState::Completed, None),
        (_, None) => (
            TranscriptState::Absent,
            Some("OpenPhone sent no dialogue for this call.".to_owned()),
        ),
    };
    let dialogue = (state == TranscriptState::Completed).then(|| {
        transcript
            .dialogue
            .unwrap_or_default()
            .into_iter()
            .map(|line| Utterance {
                identifier: line.identifier.unwrap_or_default(),
                user_id: line.user_id,
                start: line.start,
                end: line.end,
                content: line.content,
            })
            .collect()
    });
    Transcript {
        state,
        api_status: status,
        detail,
        dialogue,
    }
}

fn to_item(call: ApiCall, inbox: &WorkspaceNumber, transcript: Transcript) -> CallItem {
    let counterpart = call
        .participants
        .iter()
        .filter(|n| !inbox.is_own(n))
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    CallItem {
        id: call.id,
        direction: call.direction.unwrap_or_default(),
        status: call.status,
        participants: call.participants,
        counterpart,
        created_at: call.created_at,
        answered_at: call.answered_at,
        completed_at: call.completed_at,
        duration_seconds: call
            .duration
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| d.round() as u64),
        transcript,
    }
}

/// `42s`, `3m04s`, `1h02m03s`.
fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// A readable account: one paragraph per call, dialogue indented.
fn render(result: &Calls, groups_skipped: usize) -> String {
    let inbox = result.inbox.label();
    let scope = match (&result.participant, &result.participants_checked) {
        (Some(p), _) => format!("between {inbox} and {p}"),
        (None, Some(checked)) => format!(
            "on {inbox} with the participants of its recent conversations ({} checked)",
            checked.len()
        ),
        (None, None) => format!("on {inbox}"),
    };
    let mut out = if result.calls.is_empty() {
        format!("No calls {scope} in the requested period.")
    } else {
        format!(
            "{} call{} {scope}, newest first.",
            result.calls.len(),
            if result.calls.len() == 1 { "" } else { "s" }
        )
    };
    if groups_skipped > 0 {
        out.push_str(&format!(
            " {groups_skipped} group conversation(s) were not checked: calls are listed per single participant."
        ));
    }
    if let Some(before) = &result.continue_before {
        out.push_str(&format!(
            " More exist: call again with createdBefore={before} for older calls."
        ));
    } else if result.truncated {
        out.push_str(" More may exist.");
    }
    if let Some(notice) = &result.transcripts_notice {
        out.push_str(&format!("\n{notice}"));
    }
    let own = result
        .inbox
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("us");
    for call in &result.calls {
        let with = match call.direction.as_str() {
            "incoming" => format!("incoming from {}", call.counterpart),
            "outgoing" => format!("outgoing to {}", call.counterpart),
            other => format!("{other} with {}", call.counterpart),
        };
        let mut facts = vec![with];
        facts.extend(call.created_at.clone());
        facts.extend(call.duration_seconds.map(duration));
        facts.extend(call.status.clone());
        out.push_str(&format!("\n\nCall {}: {}.", call.id, facts.join(", ")));
        let t = &call.transcript;
        let detail = t.detail.as_deref().unwrap_or_default();
        match (t.state, &t.dialogue) {
            (TranscriptState::Completed, Some(lines)) if !lines.is_empty() => {
                out.push_str(" Transcript:");
                for line in lines {
                    let speaker = if inbox_spoke(&result.inbox, &line.identifier) {
                        own.to_owned()
                    } else if line.identifier.is_empty() {
                        line.user_id.clone().unwrap_or_else(|| "unknown".into())
                    } else {
                        line.identifier.clone()
                    };
                    let at = line.start.max(0.0) as u64;
                    out.push_str(&format!(
                        "\n  [{}:{:02}] {speaker}: {}",
                        at / 60,
                        at % 60,
                        line.content.replace('\n', " ")
                    ));
                }
            }
            (TranscriptState::InProgress, _) => {
                out.push_str(&format!(" Transcript in progress: {detail}"));
            }
            (TranscriptState::NotOnPlan | TranscriptState::NotFetched, _) => {}
            (TranscriptState::Error, _) => {
                out.push_str(&format!(" Transcript could not be read: {detail}"));
            }
            _ => out.push_str(&format!(" No transcript: {detail}")),
        }
    }
    out
}

fn inbox_spoke(inbox: &WorkspaceNumber, identifier: &str) -> bool {
    !identifier.is_empty() && inbox.is_own(identifier)
}

openphone_guest::export_single_tool!(name: NAME, descriptor: descriptor, run: fetch);

#[cfg(test)]
mod tests;
