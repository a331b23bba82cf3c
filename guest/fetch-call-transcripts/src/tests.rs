//! Native tests against a small fake of the API, seeded like the test
//! simulator's Business workspace (Sales ↔ Alice: four calls whose transcripts
//! are completed, in progress, absent and missing).

use super::*;
use openphone_guest::parse_arguments;
use openphone_guest::query::parse_rfc3339;
use openphone_guest::{ApiRequest, ApiResponse, UpstreamError};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::HashMap;

const SALES_ID: &str = "PNbizSales001";
const SALES: &str = "+12125550100";
const ALICE: &str = "+14155550111";
const BOB: &str = "+14155550122";
const CAROL: &str = "+14155550133";

/// (id, participant, direction, status, createdAt, duration)
type CallRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u64,
);

const CALLS: &[CallRow] = &[
    (
        "ACbizCall0001",
        ALICE,
        "outgoing",
        "completed",
        "2025-11-05T15:00:00.000Z",
        184,
    ),
    (
        "ACbizCall0002",
        ALICE,
        "incoming",
        "completed",
        "2026-01-20T17:00:00.000Z",
        95,
    ),
    (
        "ACbizCall0003",
        ALICE,
        "incoming",
        "completed",
        "2025-11-10T11:30:00.000Z",
        42,
    ),
    (
        "ACbizCall0004",
        ALICE,
        "incoming",
        "missed",
        "2025-11-12T08:15:00.000Z",
        0,
    ),
    (
        "ACbizCall0005",
        BOB,
        "outgoing",
        "completed",
        "2025-12-02T10:00:00.000Z",
        300,
    ),
    (
        "ACbizCall0006",
        CAROL,
        "incoming",
        "completed",
        "2026-01-13T09:45:00.000Z",
        61,
    ),
];

fn call_json((id, participant, direction, status, created, duration): &CallRow) -> Value {
    let participants = if *direction == "outgoing" {
        [SALES, participant]
    } else {
        [participant, SALES]
    };
    json!({
        "answeredAt": null, "answeredBy": null, "initiatedBy": null,
        "direction": direction, "status": status, "completedAt": null,
        "createdAt": created, "duration": duration, "forwardedFrom": null,
        "forwardedTo": null, "id": id, "phoneNumberId": SALES_ID,
        "participants": participants, "updatedAt": created, "userId": "USbizOwner001",
    })
}

fn transcript(id: &str, status: &str, dialogue: Value) -> Value {
    json!({"data": {"callId": id, "createdAt": "2025-11-05T15:05:00.000Z",
        "dialogue": dialogue, "duration": 180.0, "status": status}})
}

fn answer(status: u16, body: Value) -> Result<ApiResponse, UpstreamError> {
    Ok(ApiResponse {
        status,
        body: body.to_string(),
    })
}

/// The transcripts the simulator's Business workspace has.
fn business_transcripts() -> HashMap<&'static str, Result<ApiResponse, UpstreamError>> {
    let line = |content: &str, start: f64, who: &str, user: Option<&str>| json!({"content": content, "start": start, "end": start + 2.0, "identifier": who, "userId": user});
    HashMap::from([
        (
            "ACbizCall0001",
            answer(
                200,
                transcript(
                    "ACbizCall0001",
                    "completed",
                    json!([
                        line(
                            "Hi Alice, this is Olivia from Acme sales.",
                            0.0,
                            SALES,
                            Some("USbizOwner001")
                        ),
                        line("Hi Olivia! Thanks for calling back.", 3.5, ALICE, None),
                    ]),
                ),
            ),
        ),
        (
            "ACbizCall0002",
            answer(200, transcript("ACbizCall0002", "in-progress", Value::Null)),
        ),
        (
            "ACbizCall0003",
            answer(200, transcript("ACbizCall0003", "absent", Value::Null)),
        ),
        (
            "ACbizCall0005",
            answer(
                200,
                transcript(
                    "ACbizCall0005",
                    "completed",
                    json!([line("Sure, go ahead.", 3.0, BOB, None)]),
                ),
            ),
        ),
        (
            "ACbizCall0006",
            answer(200, transcript("ACbizCall0006", "failed", Value::Null)),
        ),
    ])
}

struct Fake {
    sent: RefCell<Vec<ApiRequest>>,
    conversations: Vec<Value>,
    /// Answers by call id; a call without one answers `404`.
    transcripts: HashMap<&'static str, Result<ApiResponse, UpstreamError>>,
    /// Replaces every transcript answer.
    every_transcript: Option<Result<ApiResponse, UpstreamError>>,
    /// Replaces the `/calls` answer.
    calls_answer: Option<Result<ApiResponse, UpstreamError>>,
}

impl Fake {
    fn new() -> Self {
        Fake {
            sent: RefCell::default(),
            conversations: Vec::new(),
            transcripts: business_transcripts(),
            every_transcript: None,
            calls_answer: None,
        }
    }

    fn paths(&self) -> Vec<String> {
        self.sent.borrow().iter().map(|r| r.path.clone()).collect()
    }

    fn requests(&self, path: &str) -> Vec<ApiRequest> {
        self.sent
            .borrow()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

fn query<'a>(request: &'a ApiRequest, key: &str) -> Vec<&'a str> {
    request
        .query
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

impl Api for Fake {
    fn send(&self, request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
        self.sent.borrow_mut().push(request.clone());
        let path = request.path.as_str();
        if path == "/phone-numbers" {
            return answer(
                200,
                json!({"data": [
                    {"id": SALES_ID, "number": SALES, "name": "Sales"},
                    {"id": "PNbizSupport2", "number": "+12125550101", "name": "Support"},
                ]}),
            );
        }
        if path == "/conversations" {
            return answer(
                200,
                json!({"data": self.conversations, "totalItems": 0, "nextPageToken": null}),
            );
        }
        if path == "/calls" {
            if let Some(answer) = &self.calls_answer {
                return answer.clone();
            }
            let participants = query(&request, "participants");
            assert_eq!(participants.len(), 1, "the API takes one participant");
            let time = |key| query(&request, key).first().and_then(|t| parse_rfc3339(t));
            let (after, before) = (time("createdAfter"), time("createdBefore"));
            let mut rows: Vec<&CallRow> = CALLS
                .iter()
                .filter(|row| row.1 == participants[0])
                .filter(|row| {
                    let ms = parse_rfc3339(row.4).unwrap();
                    after.is_none_or(|a| ms > a) && before.is_none_or(|b| ms < b)
                })
                .collect();
            rows.sort_by(|a, b| b.4.cmp(a.4));
            let size: usize = query(&request, "maxResults")[0].parse().unwrap();
            let next = (rows.len() > size).then_some("more");
            let data: Vec<Value> = rows.iter().take(size).map(|r| call_json(r)).collect();
            return answer(
                200,
                json!({"data": data, "totalItems": 0, "nextPageToken": next}),
            );
        }
        if let Some(id) = path.strip_prefix("/call-transcripts/") {
            if let Some(every) = &self.every_transcript {
                return every.clone();
            }
            return self.transcripts.get(id).cloned().unwrap_or_else(|| {
                answer(
                    404,
                    json!({"message": format!("No transcript exists for call {id}"), "code": "0600404", "status": 404}),
                )
            });
        }
        panic!("unexpected request to {path}");
    }
}

fn args(json: &str) -> FetchCallTranscripts {
    parse_arguments(json).unwrap()
}

fn structured(out: &ToolOutput) -> Calls {
    serde_json::from_str(out.structured.as_deref().unwrap()).unwrap()
}

fn states(result: &Calls) -> Vec<(&str, TranscriptState)> {
    result
        .calls
        .iter()
        .map(|c| (c.id.as_str(), c.transcript.state))
        .collect()
}

const ALICE_ARGS: &str = r#"{"inbox":"+12125550100","participant":"+14155550111"}"#;

#[test]
fn reads_each_calls_transcript_and_says_its_state() {
    let api = Fake::new();
    let out = fetch(&api, args(ALICE_ARGS)).unwrap();
    assert!(!out.is_error);
    assert_eq!(
        api.paths(),
        [
            "/phone-numbers",
            "/calls",
            "/call-transcripts/ACbizCall0002",
            "/call-transcripts/ACbizCall0004",
            "/call-transcripts/ACbizCall0003",
            "/call-transcripts/ACbizCall0001",
        ]
    );
    assert_eq!(
        api.requests("/calls")[0].query,
        [
            ("phoneNumberId", SALES_ID),
            ("participants", ALICE),
            ("maxResults", "10")
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    let result = structured(&out);
    use TranscriptState::*;
    assert_eq!(
        states(&result),
        [
            ("ACbizCall0002", InProgress),
            ("ACbizCall0004", Absent),
            ("ACbizCall0003", Absent),
            ("ACbizCall0001", Completed),
        ]
    );
    assert_eq!(result.transcripts_notice, None);
    assert!(!result.truncated);
    let completed = &result.calls[3];
    assert_eq!(completed.counterpart, ALICE);
    assert_eq!(completed.participants, [SALES, ALICE]);
    assert_eq!(completed.duration_seconds, Some(184));
    assert_eq!(
        completed.transcript.api_status.as_deref(),
        Some("completed")
    );
    let dialogue = completed.transcript.dialogue.as_ref().unwrap();
    assert_eq!(dialogue.len(), 2);
    assert_eq!(dialogue[0].identifier, SALES);
    assert_eq!(dialogue[0].user_id.as_deref(), Some("USbizOwner001"));
    assert_eq!(dialogue[1].start, 3.5);
    assert_eq!(
        result.calls[2].transcript.api_status.as_deref(),
        Some("absent")
    );
    assert_eq!(result.calls[1].transcript.api_status, None);
    assert!(result.calls[0].transcript.dialogue.is_none());

    let text = &out.text;
    assert!(
        text.starts_with("4 calls between Sales (+12125550100) and +14155550111, newest first."),
        "{text}"
    );
    for needle in [
        "Call ACbizCall0002: incoming from +14155550111, 2026-01-20T17:00:00.000Z, 1m35s, completed. Transcript in progress",
        "Call ACbizCall0004: incoming from +14155550111, 2025-11-12T08:15:00.000Z, 0s, missed. No transcript: OpenPhone has no transcript for this call.",
        "Call ACbizCall0001: outgoing to +14155550111, 2025-11-05T15:00:00.000Z, 3m04s, completed. Transcript:",
        "\n  [0:00] Sales: Hi Alice, this is Olivia from Acme sales.",
        "\n  [0:03] +14155550111: Hi Olivia! Thanks for calling back.",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
}

#[test]
fn a_plan_without_transcripts_is_said_once() {
    let mut api = Fake::new();
    api.every_transcript = Some(answer(
        403,
        json!({"message": "Call transcripts are only available on the Business and Scale plans",
            "code": "0600403", "status": 403, "title": "Forbidden"}),
    ));
    let out = fetch(&api, args(ALICE_ARGS)).unwrap();
    assert!(!out.is_error);
    let transcript_requests = api
        .paths()
        .iter()
        .filter(|p| p.starts_with("/call-transcripts/"))
        .count();
    assert_eq!(transcript_requests, 1);
    let result = structured(&out);
    assert_eq!(result.calls.len(), 4);
    assert!(
        result
            .calls
            .iter()
            .all(|c| c.transcript.state == TranscriptState::NotOnPlan
                && c.transcript.detail.is_none())
    );
    assert_eq!(result.transcripts_notice.as_deref(), Some(PLAN_MESSAGE));
    assert_eq!(
        out.text.matches("plan does not include").count(),
        1,
        "{}",
        out.text
    );
    assert!(!out.text.contains("could not be read"), "{}", out.text);

    // Any 403 on the first transcript counts, quoting what OpenPhone said.
    let mut api = Fake::new();
    api.every_transcript = Some(answer(
        403,
        json!({"error": {"message": "Forbidden", "key": "0000403"}}),
    ));
    let result = structured(&fetch(&api, args(ALICE_ARGS)).unwrap());
    let notice = result.transcripts_notice.unwrap();
    assert!(
        notice.starts_with(PLAN_MESSAGE) && notice.contains("0000403"),
        "{notice}"
    );
}

#[test]
fn a_later_refusal_concerns_only_its_call() {
    let mut api = Fake::new();
    api.transcripts.insert(
        "ACbizCall0003",
        answer(
            403,
            json!({"message": "Not allowed", "code": "0000403", "status": 403}),
        ),
    );
    let result = structured(&fetch(&api, args(ALICE_ARGS)).unwrap());
    use TranscriptState::*;
    assert_eq!(
        states(&result),
        [
            ("ACbizCall0002", InProgress),
            ("ACbizCall0004", Absent),
            ("ACbizCall0003", Error),
            ("ACbizCall0001", Completed),
        ]
    );
    assert!(
        result.calls[2]
            .transcript
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("(403)")),
        "{:?}",
        result.calls[2]
    );
    assert_eq!(result.transcripts_notice, None);
}

#[test]
fn no_answer_stops_asking_for_more_transcripts() {
    let mut api = Fake::new();
    api.transcripts
        .insert("ACbizCall0004", Err(UpstreamError::Timeout));
    let out = fetch(&api, args(ALICE_ARGS)).unwrap();
    let result = structured(&out);
    use TranscriptState::*;
    assert_eq!(
        states(&result),
        [
            ("ACbizCall0002", InProgress),
            ("ACbizCall0004", Error),
            ("ACbizCall0003", NotFetched),
            ("ACbizCall0001", NotFetched),
        ]
    );
    assert_eq!(api.paths().len(), 4);
    let notice = result.transcripts_notice.unwrap();
    assert!(
        notice.contains("did not answer in time") && notice.contains("not checked"),
        "{notice}"
    );
    assert!(out.text.contains(&notice), "{}", out.text);
}

#[test]
fn without_a_participant_the_recent_conversations_give_the_participants() {
    let mut api = Fake::new();
    let conversation = |id: &str, participants: &[&str]| {
        json!({"id": id, "participants": participants, "name": null, "phoneNumberId": SALES_ID,
            "lastActivityAt": "2026-01-01T00:00:00.000Z"})
    };
    api.conversations = vec![
        conversation("CN1", &[BOB]),
        conversation("CN2", &[ALICE]),
        conversation("CN3", &[ALICE, CAROL]),
        conversation("CN4", &[ALICE]),
        conversation("CN5", &[CAROL]),
    ];
    let out = fetch(&api, args(r#"{"inbox":"PNbizSales001","maxCalls":3}"#)).unwrap();
    let listed = &api.requests("/conversations")[0];
    assert_eq!(query(listed, "phoneNumbers"), [SALES_ID]);
    assert!(query(listed, "updatedAfter").is_empty());

    let lists = api.requests("/calls");
    let asked: Vec<&str> = lists.iter().map(|r| query(r, "participants")[0]).collect();
    assert_eq!(asked, [BOB, ALICE, CAROL]);
    assert!(query(&lists[1], "createdAfter").is_empty());
    // Three calls were held by then: Carol was asked only for newer ones.
    assert_eq!(
        query(&lists[2], "createdAfter"),
        ["2025-11-12T08:15:00.000Z"]
    );

    let result = structured(&out);
    assert_eq!(
        result.participants_checked,
        Some(vec![BOB.to_owned(), ALICE.to_owned(), CAROL.to_owned()])
    );
    use TranscriptState::*;
    assert_eq!(
        states(&result),
        [
            ("ACbizCall0002", InProgress),
            ("ACbizCall0006", Absent),
            ("ACbizCall0005", Completed),
        ]
    );
    assert_eq!(
        result.calls[1].transcript.api_status.as_deref(),
        Some("failed")
    );
    assert!(result.truncated);
    assert_eq!(
        result.continue_before.as_deref(),
        Some("2025-12-02T10:00:00.000Z")
    );
    assert_eq!(
        api.paths()
            .iter()
            .filter(|p| p.starts_with("/call-transcripts/"))
            .count(),
        3
    );
    assert!(
        out.text
            .contains("1 group conversation(s) were not checked"),
        "{}",
        out.text
    );
    assert!(
        out.text
            .contains("call again with createdBefore=2025-12-02T10:00:00.000Z"),
        "{}",
        out.text
    );
}

#[test]
fn no_calls_is_said_plainly() {
    let api = Fake::new();
    let out = fetch(
        &api,
        args(r#"{"inbox":"PNbizSales001","participant":"+14155550199"}"#),
    )
    .unwrap();
    assert_eq!(
        out.text,
        "No calls between Sales (+12125550100) and +14155550199 in the requested period."
    );
    assert!(structured(&out).calls.is_empty());
}

#[test]
fn listing_failures_are_clear() {
    let mut api = Fake::new();
    api.calls_answer = Some(answer(
        401,
        json!({"message": "Unauthorized", "code": "0100401", "status": 401}),
    ));
    let err = fetch(&api, args(ALICE_ARGS)).unwrap_err();
    assert!(
        matches!(&err, ToolError::Failed(m) if m.starts_with("Could not list the calls between Sales (+12125550100) and +14155550111") && m.contains("API key")),
        "{err:?}"
    );

    let mut api = Fake::new();
    api.calls_answer = Some(Err(UpstreamError::Unavailable("connection reset".into())));
    let err = fetch(&api, args(ALICE_ARGS)).unwrap_err();
    assert_eq!(
        err,
        ToolError::Upstream(UpstreamError::Unavailable("connection reset".into()))
    );

    let api = Fake::new();
    let err = fetch(
        &api,
        args(r#"{"inbox":"+19995550100","participant":"+14155550111"}"#),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ToolError::InvalidArguments(m) if m.contains("`inbox`") && m.contains("Sales +12125550100 (PNbizSales001)")),
        "{err:?}"
    );
}

#[test]
fn arguments_are_checked_naming_the_field() {
    for bad in ["0", "51", "1.5"] {
        let err = parse_arguments::<FetchCallTranscripts>(&format!(
            r#"{{"inbox":"PN1","maxCalls":{bad}}}"#
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`maxCalls`") && err.contains("whole number from 1 to 50"),
            "{err}"
        );
    }
    assert_eq!(args(r#"{"inbox":"PN1"}"#).max_calls.get(), 10);
    let err = parse_arguments::<FetchCallTranscripts>(
        r#"{"inbox":"PN1","createdAfter":"2025-11-03T10:00:00"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`createdAfter`") && err.contains("no time zone"),
        "{err}"
    );
    let err = parse_arguments::<FetchCallTranscripts>(r#"{"inbox":"PN1","maxResults":5}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `maxResults`"), "{err}");

    let api = Fake::new();
    let err = fetch(
        &api,
        args(r#"{"inbox":"PN1","createdAfter":"2025-11-03T10:00:00Z","createdBefore":"2025-11-03T10:00:00Z"}"#),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ToolError::InvalidArguments(m) if m.contains("must be earlier")),
        "{err:?}"
    );
    assert!(api.paths().is_empty());
}

#[test]
fn descriptor_schema_documents_every_field() {
    let d = descriptor();
    let schema: Value = serde_json::from_str(&d.input_schema).unwrap();
    let props = schema["properties"].as_object().unwrap();
    assert_eq!(props.len(), 5);
    for (name, prop) in props {
        assert!(
            prop.get("description").is_some(),
            "{name} has no description"
        );
        assert!(prop.get("examples").is_some(), "{name} has no example");
    }
    assert_eq!(schema["required"], json!(["inbox"]));
    let max = &props["maxCalls"];
    assert_eq!(
        (&max["minimum"], &max["maximum"], &max["default"]),
        (&json!(1), &json!(50), &json!(10))
    );
    let output: Value = serde_json::from_str(d.output_schema.as_deref().unwrap()).unwrap();
    assert!(output.to_string().contains("not-on-plan"));
    assert_eq!(d.scope, "calls:read");
    assert!(d.annotations.read_only && d.annotations.idempotent && d.annotations.open_world);
    assert!(!d.annotations.destructive);
}
