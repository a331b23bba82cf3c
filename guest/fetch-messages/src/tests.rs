//! Native tests against a small fake of the API: numbers, conversations and
//! message threads, answering `GET /v1/messages` with filtering and cursors
//! the way the API documents them.

use super::*;
use openphone_guest::parse_arguments;
use openphone_guest::{ApiRequest, ApiResponse, UpstreamError};
use serde_json::{Value, json};
use std::cell::RefCell;

const SALES_ID: &str = "PNbizSales001";
const SALES: &str = "+12125550100";
const ALICE: &str = "+14155550111";
const BOB: &str = "+14155550122";
const CAROL: &str = "+14155550133";
const DAVE: &str = "+14155550144";

/// `minute` minutes after 2025-11-01T00:00Z, as the API writes timestamps.
fn ts(minute: u32) -> String {
    format!(
        "2025-11-{:02}T{:02}:{:02}:00.000Z",
        1 + minute / 1440,
        minute / 60 % 24,
        minute % 60
    )
}

/// A thread: the participants and the minutes its messages were sent at.
struct Thread {
    participants: Vec<&'static str>,
    minutes: Vec<u32>,
}

/// The fake workspace, and every request it received.
struct Fake {
    sent: RefCell<Vec<ApiRequest>>,
    conversations: Vec<Value>,
    threads: Vec<Thread>,
    /// The most items a page holds, whatever `maxResults` asks.
    page_cap: usize,
    /// Answers every request to this path with this instead.
    fail: Option<(&'static str, Result<ApiResponse, UpstreamError>)>,
}

impl Fake {
    fn new(threads: Vec<Thread>) -> Self {
        Fake {
            sent: RefCell::default(),
            conversations: Vec::new(),
            threads,
            page_cap: 100,
            fail: None,
        }
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

fn ok(body: Value) -> Result<ApiResponse, UpstreamError> {
    Ok(ApiResponse {
        status: 200,
        body: body.to_string(),
    })
}

fn message_json(participant: &str, minute: u32, index: usize) -> Value {
    let (direction, from, to) = if index.is_multiple_of(2) {
        ("outgoing", SALES, participant)
    } else {
        ("incoming", participant, SALES)
    };
    json!({
        "id": format!("ACmsg{minute:05}"),
        "to": [to],
        "from": from,
        "text": format!("text at {minute}"),
        "phoneNumberId": SALES_ID,
        "direction": direction,
        "userId": "USbizOwner001",
        "status": "delivered",
        "createdAt": ts(minute),
        "updatedAt": ts(minute),
    })
}

impl Api for Fake {
    fn send(&self, request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
        self.sent.borrow_mut().push(request.clone());
        if let Some((path, answer)) = &self.fail
            && *path == request.path
        {
            return answer.clone();
        }
        match request.path.as_str() {
            "/phone-numbers" => ok(json!({"data": [
                {"id": SALES_ID, "number": SALES, "name": "Sales", "users": []},
                {"id": "PNbizSupport2", "number": "+12125550101", "name": "Support", "users": []},
            ]})),
            "/conversations" => ok(json!({
                "data": self.conversations,
                "totalItems": self.conversations.len(),
                "nextPageToken": null,
            })),
            "/messages" => {
                let mut wanted = query(&request, "participants");
                wanted.sort_unstable();
                let thread = self.threads.iter().find(|t| {
                    let mut p = t.participants.clone();
                    p.sort_unstable();
                    p == wanted
                });
                let time = |key| query(&request, key).first().and_then(|t| parse_rfc3339(t));
                let (after, before) = (time("createdAfter"), time("createdBefore"));
                let mut items: Vec<(u32, usize)> = thread
                    .map(|t| t.minutes.iter().copied().enumerate().map(|(i, m)| (m, i)))
                    .into_iter()
                    .flatten()
                    .filter(|(m, _)| {
                        let ms = parse_rfc3339(&ts(*m)).unwrap();
                        after.is_none_or(|a| ms > a) && before.is_none_or(|b| ms < b)
                    })
                    .collect();
                items.sort_unstable_by(|a, b| b.cmp(a));
                let start: usize = query(&request, "pageToken")
                    .first()
                    .map_or(0, |t| t.parse().unwrap());
                let size: usize = query(&request, "maxResults")[0].parse().unwrap();
                let end = (start + size.min(self.page_cap)).min(items.len());
                let who = thread.map_or(ALICE, |t| t.participants[0]);
                let data: Vec<Value> = items[start..end]
                    .iter()
                    .map(|(m, i)| message_json(who, *m, *i))
                    .collect();
                let next = (end < items.len()).then(|| end.to_string());
                ok(json!({"data": data, "totalItems": items.len(), "nextPageToken": next}))
            }
            other => panic!("unexpected request to {other}"),
        }
    }
}

fn args(json: &str) -> FetchMessages {
    parse_arguments(json).unwrap()
}

fn structured(out: &ToolOutput) -> Messages {
    serde_json::from_str(out.structured.as_deref().unwrap()).unwrap()
}

fn conversation(id: &str, name: &str, participants: &[&str], last: u32) -> Value {
    json!({
        "assignedTo": null, "createdAt": ts(0), "deletedAt": null, "id": id,
        "lastActivityAt": ts(last), "lastActivityId": null, "mutedUntil": null,
        "name": name, "participants": participants, "phoneNumberId": SALES_ID,
        "snoozedUntil": null, "updatedAt": ts(last),
    })
}

#[test]
fn reads_one_participant_newest_first() {
    let api = Fake::new(vec![Thread {
        participants: vec![ALICE],
        minutes: vec![10, 20, 30, 40, 50],
    }]);
    let out = fetch(
        &api,
        args(r#"{"inbox":"+1 212 555 0100","participant":"+14155550111"}"#),
    )
    .unwrap();
    assert!(!out.is_error);
    let sent = api.sent.borrow();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].path, "/phone-numbers");
    assert_eq!(sent[1].path, "/messages");
    assert_eq!(
        sent[1].query,
        [
            ("phoneNumberId", SALES_ID),
            ("participants", ALICE),
            ("maxResults", "20")
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    let result = structured(&out);
    assert_eq!(result.inbox.id, SALES_ID);
    assert_eq!(result.participant.as_deref(), Some(ALICE));
    let times: Vec<_> = result
        .messages
        .iter()
        .map(|m| m.created_at.clone().unwrap())
        .collect();
    assert_eq!(times, [50, 40, 30, 20, 10].map(ts));
    assert!(result.messages.iter().all(|m| m.counterpart == ALICE));
    assert_eq!(result.messages[0].direction, "outgoing");
    assert_eq!(result.messages[1].direction, "incoming");
    assert!(!result.truncated);
    assert_eq!(result.continue_before, None);
    assert_eq!(result.conversations, None);
    assert!(
        out.text
            .starts_with("5 messages between Sales (+12125550100) and +14155550111, newest first."),
        "{}",
        out.text
    );
    assert!(
        out.text.contains(&format!(
            "[{}] Sales → +14155550111 (delivered): text at 50",
            ts(50)
        )),
        "{}",
        out.text
    );
    assert!(
        out.text
            .contains(&format!("[{}] +14155550111 → Sales: text at 40", ts(40))),
        "{}",
        out.text
    );
}

#[test]
fn follows_page_tokens_until_enough() {
    let mut api = Fake::new(vec![Thread {
        participants: vec![ALICE],
        minutes: (0..120).map(|i| i * 47).collect(),
    }]);
    api.page_cap = 7;
    let out = fetch(
        &api,
        args(r#"{"inbox":"PNbizSales001","participant":"+14155550111","maxResults":30}"#),
    )
    .unwrap();
    let pages = api.requests("/messages");
    let sizes: Vec<&str> = pages.iter().map(|r| query(r, "maxResults")[0]).collect();
    assert_eq!(sizes, ["30", "23", "16", "9", "2"]);
    let tokens: Vec<Vec<&str>> = pages.iter().map(|r| query(r, "pageToken")).collect();
    assert_eq!(tokens[0], Vec::<&str>::new());
    assert_eq!(tokens[1], ["7"]);
    let result = structured(&out);
    assert_eq!(result.messages.len(), 30);
    assert!(result.truncated);
    // The 30th newest of 120: index 90.
    assert_eq!(result.continue_before, Some(ts(90 * 47)));
    assert!(
        out.text
            .contains(&format!("call again with createdBefore={}", ts(90 * 47))),
        "{}",
        out.text
    );
}

#[test]
fn the_window_is_sent_raw_and_checked_first() {
    let api = Fake::new(vec![Thread {
        participants: vec![ALICE],
        minutes: vec![10, 20, 30, 40, 50],
    }]);
    let out = fetch(
        &api,
        args(&format!(
            r#"{{"inbox":"PNbizSales001","participant":"+14155550111","createdAfter":"{}","createdBefore":"2025-11-01T00:45:00+00:00"}}"#,
            ts(15)
        )),
    )
    .unwrap();
    let request = &api.requests("/messages")[0];
    assert_eq!(query(request, "createdAfter"), [ts(15).as_str()]);
    assert_eq!(
        query(request, "createdBefore"),
        ["2025-11-01T00:45:00+00:00"]
    );
    assert_eq!(structured(&out).messages.len(), 3);

    let api = Fake::new(Vec::new());
    let err = fetch(
        &api,
        args(r#"{"inbox":"PNbizSales001","createdAfter":"2025-11-05T00:00:00Z","createdBefore":"2025-11-05T00:00:00+02:00"}"#),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ToolError::InvalidArguments(m) if m.contains("`createdAfter`") && m.contains("`createdBefore`")),
        "{err:?}"
    );
    assert!(api.sent.borrow().is_empty());
}

#[test]
fn an_unknown_inbox_lists_the_workspace_numbers() {
    for inbox in ["+15555550100", "PNnope"] {
        let api = Fake::new(Vec::new());
        let err = fetch(&api, args(&format!(r#"{{"inbox":"{inbox}"}}"#))).unwrap_err();
        let ToolError::InvalidArguments(message) = &err else {
            panic!("{err:?}")
        };
        assert!(message.starts_with("`inbox`"), "{message}");
        assert!(message.contains(inbox), "{message}");
        assert!(
            message.contains(
                "Sales +12125550100 (PNbizSales001), Support +12125550101 (PNbizSupport2)"
            ),
            "{message}"
        );
        assert_eq!(api.sent.borrow().len(), 1);
    }
}

#[test]
fn merges_the_newest_messages_across_conversations() {
    let mut api = Fake::new(vec![
        Thread {
            participants: vec![BOB],
            minutes: vec![981, 992, 1000],
        },
        Thread {
            participants: vec![DAVE],
            minutes: vec![10, 999],
        },
        Thread {
            participants: vec![ALICE],
            minutes: (0..200).map(|i| i * 5).collect(),
        },
        Thread {
            participants: vec![CAROL],
            minutes: vec![500],
        },
    ]);
    api.conversations = vec![
        conversation("CNbob", "Bob Brown", &[BOB], 1000),
        conversation("CNdave", "", &[DAVE], 999),
        conversation("CNalice", "Alice Adams", &[ALICE], 995),
        conversation("CNcarol", "Carol Chen", &[CAROL], 500),
    ];
    let out = fetch(&api, args(r#"{"inbox":"+12125550100","maxResults":5}"#)).unwrap();

    let listed = &api.requests("/conversations")[0];
    assert_eq!(query(listed, "phoneNumbers"), [SALES_ID]);
    assert_eq!(query(listed, "maxResults"), ["50"]);
    assert!(query(listed, "updatedAfter").is_empty());

    let reads = api.requests("/messages");
    let asked: Vec<&str> = reads.iter().map(|r| query(r, "participants")[0]).collect();
    // Carol's conversation went quiet before the oldest message kept: not read.
    assert_eq!(asked, [BOB, DAVE, ALICE]);
    // Once five were held, Alice was asked only for messages newer than the fifth.
    assert!(query(&reads[1], "createdAfter").is_empty());
    assert_eq!(query(&reads[2], "createdAfter"), [ts(10).as_str()]);

    let result = structured(&out);
    let got: Vec<(String, String)> = result
        .messages
        .iter()
        .map(|m| (m.created_at.clone().unwrap(), m.counterpart.clone()))
        .collect();
    let expected: Vec<(String, String)> = [
        (1000, BOB),
        (999, DAVE),
        (995, ALICE),
        (992, BOB),
        (990, ALICE),
    ]
    .iter()
    .map(|(m, who)| (ts(*m), (*who).to_owned()))
    .collect();
    assert_eq!(got, expected);
    assert_eq!(result.messages[0].conversation_id.as_deref(), Some("CNbob"));
    let included: Vec<(&str, usize)> = result
        .conversations
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| (c.id.as_str(), c.messages))
        .collect();
    assert_eq!(included, [("CNbob", 2), ("CNdave", 1), ("CNalice", 2)]);
    assert!(result.truncated);
    assert_eq!(result.continue_before, Some(ts(990)));
    assert!(
        out.text.contains(
            "From conversations with Bob Brown (+14155550122): 2; +14155550144: 1; Alice Adams (+14155550111): 2."
        ),
        "{}",
        out.text
    );
}

#[test]
fn conversations_are_narrowed_to_the_window_and_groups_keep_every_participant() {
    let mut api = Fake::new(vec![Thread {
        participants: vec![ALICE, BOB],
        minutes: vec![100, 200],
    }]);
    api.conversations = vec![conversation("CNgroup", "", &[ALICE, BOB], 200)];
    let out = fetch(
        &api,
        args(&format!(
            r#"{{"inbox":"PNbizSales001","createdAfter":"{}"}}"#,
            ts(50)
        )),
    )
    .unwrap();
    let listed = &api.requests("/conversations")[0];
    assert_eq!(query(listed, "updatedAfter"), [ts(50).as_str()]);
    let read = &api.requests("/messages")[0];
    assert_eq!(query(read, "participants"), [ALICE, BOB]);
    assert_eq!(query(read, "createdAfter"), [ts(50).as_str()]);
    let result = structured(&out);
    assert_eq!(result.messages.len(), 2);
    assert!(!result.truncated);
    assert_eq!(result.conversations.unwrap()[0].participants, [ALICE, BOB]);
}

#[test]
fn an_empty_inbox_says_so() {
    let api = Fake::new(Vec::new());
    let out = fetch(&api, args(r#"{"inbox":"PNbizSales001"}"#)).unwrap();
    assert!(!out.is_error);
    assert_eq!(
        out.text,
        "No messages on Sales (+12125550100) in the requested period."
    );
    let result = structured(&out);
    assert!(result.messages.is_empty());
    assert_eq!(result.conversations, Some(Vec::new()));
}

#[test]
fn api_refusals_become_clear_failures() {
    let mut api = Fake::new(Vec::new());
    api.fail = Some((
        "/messages",
        Ok(ApiResponse {
            status: 401,
            body: r#"{"message":"Unauthorized","code":"0200401","status":401}"#.into(),
        }),
    ));
    let err = fetch(
        &api,
        args(r#"{"inbox":"PNbizSales001","participant":"+14155550111"}"#),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ToolError::Failed(m) if m.contains("Could not read the messages between Sales (+12125550100) and +14155550111") && m.contains("API key") && m.contains("0200401")),
        "{err:?}"
    );

    let mut api = Fake::new(Vec::new());
    api.fail = Some((
        "/phone-numbers",
        Ok(ApiResponse {
            status: 403,
            body: r#"{"error":{"message":"Forbidden","key":"0400403"}}"#.into(),
        }),
    ));
    let err = fetch(&api, args(r#"{"inbox":"PNbizSales001"}"#)).unwrap_err();
    assert!(
        matches!(&err, ToolError::Failed(m) if m.contains("(403)") && m.contains("0400403")),
        "{err:?}"
    );

    let mut api = Fake::new(Vec::new());
    api.fail = Some(("/conversations", Err(UpstreamError::RateLimited)));
    let err = fetch(&api, args(r#"{"inbox":"PNbizSales001"}"#)).unwrap_err();
    assert_eq!(err, ToolError::Upstream(UpstreamError::RateLimited));
}

#[test]
fn arguments_are_checked_naming_the_field() {
    let refused = |json: &str, field: &str, needle: &str| {
        let err = parse_arguments::<FetchMessages>(json)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("`{field}`")) && err.contains(needle),
            "{json}: {err}"
        );
    };
    for bad in ["0", "101", "2.5", "\"20\"", "-1"] {
        refused(
            &format!(r#"{{"inbox":"PN1","maxResults":{bad}}}"#),
            "maxResults",
            "whole number from 1 to 100",
        );
    }
    refused(
        r#"{"inbox":"PN1","createdAfter":"2025-11-03"}"#,
        "createdAfter",
        "2025-11-03T00:00:00Z",
    );
    refused(
        r#"{"inbox":"PN1","createdBefore":"yesterday"}"#,
        "createdBefore",
        "ISO 8601",
    );
    refused(
        r#"{"inbox":"PN1","participant":"4155550111"}"#,
        "participant",
        "E.164",
    );
    refused(r#"{"inbox":"sales"}"#, "inbox", "PN");
    let err = parse_arguments::<FetchMessages>(r#"{"inbox":"PN1","limit":5}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `limit`"), "{err}");

    assert_eq!(args(r#"{"inbox":"PN1"}"#).max_results.get(), 20);
    assert_eq!(
        args(r#"{"inbox":"PN1","maxResults":100.0}"#)
            .max_results
            .get(),
        100
    );
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
    assert_eq!(schema["additionalProperties"], json!(false));
    let max = &props["maxResults"];
    assert_eq!(
        (&max["minimum"], &max["maximum"], &max["default"]),
        (&json!(1), &json!(100), &json!(20))
    );
    assert_eq!(props["createdAfter"]["format"], "date-time");
    let output: Value = serde_json::from_str(d.output_schema.as_deref().unwrap()).unwrap();
    assert_eq!(output["type"], "object");
    assert_eq!(d.scope, "messages:read");
    assert!(d.annotations.read_only && d.annotations.idempotent && d.annotations.open_world);
    assert!(!d.annotations.destructive);
}
