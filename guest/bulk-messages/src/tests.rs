//! Native tests against a fake API that accepts or refuses each send by
//! script, and a ledger kept in a map that survives between "calls".

use super::*;
use crate::run::{Entry, Env};
use openphone_guest::{
    ApiRequest, ApiResponse, Ledger, LedgerError, Method, RecordedSend, ToolError, ToolOutput,
    UpstreamError, parse_arguments,
};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

const SALES_ID: &str = "PNbizSales001";
const SALES: &str = "+12125550100";
/// 2026-11-22T10:00:00Z.
const NOW_MS: i64 = 1_795_341_600_000;

/// How the fake answers a `POST /v1/messages` to a recipient.
#[derive(Clone)]
enum Answer {
    Accept,
    Status(u16, &'static str),
    Fail(UpstreamError),
    /// 429 this many times, then accept.
    RateLimited(u32),
}

struct Fake {
    /// The ledger `send_recorded` writes to, shared with the run.
    ledger: Rc<MapLedger>,
    requests: RefCell<Vec<ApiRequest>>,
    answers: HashMap<String, Answer>,
    rate_limited: RefCell<HashMap<String, u32>>,
    /// Messages `GET /v1/messages` lists.
    listed: Vec<Value>,
}

impl Fake {
    fn new() -> Self {
        Fake::with_ledger(Rc::default())
    }

    fn with_ledger(ledger: Rc<MapLedger>) -> Self {
        Fake {
            ledger,
            requests: RefCell::default(),
            answers: HashMap::new(),
            rate_limited: RefCell::default(),
            listed: Vec::new(),
        }
    }

    fn answer(mut self, to: &str, answer: Answer) -> Self {
        self.answers.insert(to.to_owned(), answer);
        self
    }

    fn posts(&self) -> Vec<String> {
        self.requests
            .borrow()
            .iter()
            .filter(|r| r.method == Method::Post)
            .map(|r| {
                let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
                assert_eq!(body["from"], SALES_ID);
                body["to"][0].as_str().unwrap().to_owned()
            })
            .collect()
    }
}

fn ok(status: u16, body: Value) -> Result<ApiResponse, UpstreamError> {
    Ok(ApiResponse {
        status,
        body: body.to_string(),
    })
}

impl openphone_guest::Api for Fake {
    fn send(&self, request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
        self.requests.borrow_mut().push(request.clone());
        match (request.method, request.path.as_str()) {
            (Method::Get, "/phone-numbers") => ok(
                200,
                json!({"data": [{"id": SALES_ID, "number": SALES, "name": "Sales", "users": []}]}),
            ),
            (Method::Get, "/messages") => ok(
                200,
                json!({"data": self.listed, "totalItems": self.listed.len()}),
            ),
            (Method::Post, "/messages") => {
                let body: Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
                let to = body["to"][0].as_str().unwrap().to_owned();
                match self.answers.get(&to).cloned().unwrap_or(Answer::Accept) {
                    Answer::Accept => accept(&to),
                    Answer::Status(status, message) => {
                        ok(status, json!({"message": message, "code": "0000000"}))
                    }
                    Answer::Fail(error) => Err(error),
                    Answer::RateLimited(times) => {
                        let mut seen = self.rate_limited.borrow_mut();
                        let count = seen.entry(to.clone()).or_default();
                        *count += 1;
                        if *count <= times {
                            Err(UpstreamError::RateLimited)
                        } else {
                            accept(&to)
                        }
                    }
                }
            }
            other => panic!("unexpected request {other:?}"),
        }
    }
}

impl RecordedSend for Fake {
    fn send_recorded(
        &self,
        request: ApiRequest,
        item: &str,
        entry: &str,
    ) -> Result<ApiResponse, UpstreamError> {
        self.ledger
            .put_raw(item, entry)
            .map_err(|e| UpstreamError::InvalidRequest(format!("{e:?}")))?;
        openphone_guest::Api::send(self, request)
    }
}

fn accept(to: &str) -> Result<ApiResponse, UpstreamError> {
    ok(
        202,
        json!({"data": {"id": format!("AC-{to}"), "status": "queued", "to": [to], "from": SALES}}),
    )
}

/// A ledger in a map; `fail_puts_after` makes the store fail from then on.
#[derive(Default)]
struct MapLedger {
    entries: RefCell<HashMap<String, String>>,
    puts: Cell<usize>,
    fail_puts_after: Option<usize>,
}

impl Ledger for MapLedger {
    fn get_raw(&self, item: &str) -> Result<Option<String>, LedgerError> {
        Ok(self.entries.borrow().get(item).cloned())
    }

    fn put_raw(&self, item: &str, entry: &str) -> Result<(), LedgerError> {
        if self.fail_puts_after.is_some_and(|n| self.puts.get() >= n) {
            return Err(LedgerError::Unavailable("store down".into()));
        }
        self.puts.set(self.puts.get() + 1);
        self.entries
            .borrow_mut()
            .insert(item.to_owned(), entry.to_owned());
        Ok(())
    }
}

thread_local! {
    static PAUSES: RefCell<Vec<Duration>> = const { RefCell::new(Vec::new()) };
}

fn run(api: &Fake, args: Value) -> Result<ToolOutput, ToolError> {
    let env = Env {
        api,
        ledger: &*api.ledger,
        now_ms: || NOW_MS,
        pause: |d| PAUSES.with(|p| p.borrow_mut().push(d)),
    };
    send_all(&env, parse_arguments(&args.to_string())?)
}

fn args(recipients: &[&str]) -> Value {
    json!({"from": SALES, "recipients": recipients, "content": "Closed Monday.", "idempotencyKey": "k1"})
}

fn result(output: &ToolOutput) -> BulkResult {
    serde_json::from_str(output.structured.as_deref().unwrap()).unwrap()
}

fn number(i: usize) -> String {
    format!("+1415555{i:04}")
}

#[test]
fn sends_once_per_distinct_recipient_and_reports_duplicates() {
    let api = Fake::new();
    let output = run(
        &api,
        args(&[
            "+14155550111",
            "+1 (415) 555-0122",
            "+14155550111",
            "+14155550122",
        ]),
    )
    .unwrap();
    assert!(!output.is_error, "{}", output.text);
    assert_eq!(api.posts(), vec!["+14155550111", "+14155550122"]);
    let r = result(&output);
    assert_eq!((r.requested, r.sent, r.duplicates), (4, 2, 2));
    let outcomes: Vec<(Outcome, Option<usize>)> = r
        .recipients
        .iter()
        .map(|o| (o.outcome, o.duplicate_of))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (Outcome::Sent, None),
            (Outcome::Sent, None),
            (Outcome::Duplicate, Some(0)),
            (Outcome::Duplicate, Some(1)),
        ]
    );
    assert_eq!(r.recipients[1].to, "+14155550122");
    assert_eq!(
        r.recipients[0].message_id.as_deref(),
        Some("AC-+14155550111")
    );
    assert!(
        output
            .text
            .starts_with("Sent to 2 of 2 recipients from Sales"),
        "{}",
        output.text
    );
    assert!(
        output.text.contains("2 duplicates skipped"),
        "{}",
        output.text
    );
}

#[test]
fn takes_two_hundred_recipients_and_refuses_more_or_malformed() {
    let many: Vec<String> = (0..MAX_RECIPIENTS).map(number).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let api = Fake::new();
    let output = run(&api, args(&refs)).unwrap();
    assert_eq!(result(&output).sent, MAX_RECIPIENTS);

    let mut too_many = refs.clone();
    too_many.push("+14155559999");
    let Err(ToolError::InvalidArguments(m)) = run(&Fake::new(), args(&too_many)) else {
        panic!("201 recipients accepted")
    };
    assert!(m.contains("at most 200"), "{m}");

    let api = Fake::new();
    let Err(ToolError::InvalidArguments(m)) = run(&api, args(&["+14155550111", "555-0123"])) else {
        panic!("malformed number accepted")
    };
    assert!(m.contains("recipients[1]"), "{m}");
    assert!(
        api.requests.borrow().is_empty(),
        "nothing may be sent from a bad list"
    );

    let Err(ToolError::InvalidArguments(m)) = run(&api, args(&[])) else {
        panic!("empty list accepted")
    };
    assert!(m.contains("no recipients"), "{m}");

    let mut no_key = args(&["+14155550111"]);
    no_key.as_object_mut().unwrap().remove("idempotencyKey");
    let Err(ToolError::InvalidArguments(m)) = run(&api, no_key) else {
        panic!("missing key accepted")
    };
    assert!(m.contains("idempotencyKey"), "{m}");
}

#[test]
fn a_second_run_with_the_same_ledger_sends_only_to_the_rest() {
    let ledger = Rc::new(MapLedger::default());
    // An earlier run got through two recipients, and had started on a third
    // when it was cut off.
    ledger
        .put(
            "+14155550001",
            &Entry::Sent {
                id: "AC1".into(),
                status: Some("delivered".into()),
            },
        )
        .unwrap();
    ledger
        .put(
            "+14155550002",
            &Entry::Failed {
                reason: "invalid number".into(),
            },
        )
        .unwrap();
    ledger
        .put(
            "+14155550003",
            &Entry::Sending {
                at_ms: NOW_MS - 60_000,
            },
        )
        .unwrap();

    let mut api = Fake::with_ledger(Rc::clone(&ledger));
    // The third did go out: it is in the conversation.
    api.listed = vec![json!({
        "id": "AC3", "to": ["+14155550003"], "from": SALES, "text": "Closed Monday.",
        "direction": "outgoing", "status": "sent", "createdAt": "2026-11-22T09:59:30.000Z"
    })];
    let output = run(
        &api,
        args(&[
            "+14155550001",
            "+14155550002",
            "+14155550003",
            "+14155550004",
        ]),
    )
    .unwrap();
    assert_eq!(
        api.posts(),
        vec!["+14155550004"],
        "only the recipient without an outcome is texted"
    );
    let r = result(&output);
    let got: Vec<(Outcome, bool)> = r
        .recipients
        .iter()
        .map(|o| (o.outcome, o.earlier_call))
        .collect();
    assert_eq!(
        got,
        vec![
            (Outcome::Sent, true),
            (Outcome::Failed, true),
            (Outcome::Sent, true),
            (Outcome::Sent, false)
        ]
    );
    assert_eq!(r.recipients[2].message_id.as_deref(), Some("AC3"));
    assert!(
        output.is_error,
        "a failed recipient is reported as an error"
    );
    assert!(output.text.contains("Failed (1)"), "{}", output.text);
    // The lookup's finding is recorded.
    assert_eq!(
        ledger.get::<Entry>("+14155550003").unwrap(),
        Some(Entry::Sent {
            id: "AC3".into(),
            status: Some("sent".into())
        })
    );
}

#[test]
fn an_unconfirmed_send_is_never_repeated() {
    let ledger = Rc::new(MapLedger::default());
    ledger
        .put("+14155550003", &Entry::Sending { at_ms: NOW_MS })
        .unwrap();
    let mut api = Fake::with_ledger(Rc::clone(&ledger));
    // Same text, but older than the attempt: not this send.
    api.listed = vec![json!({
        "id": "ACold", "to": ["+14155550003"], "from": SALES, "text": "Closed Monday.",
        "direction": "outgoing", "status": "delivered", "createdAt": "2026-11-01T09:00:00.000Z"
    })];
    let output = run(&api, args(&["+14155550003"])).unwrap();
    assert!(api.posts().is_empty());
    let r = result(&output);
    assert_eq!(r.recipients[0].outcome, Outcome::Unknown);
    assert!(output.is_error);
    assert!(
        output.text.contains("check with fetch-messages"),
        "{}",
        output.text
    );
}

#[test]
fn write_failures_are_per_recipient_and_unknowns_are_not_resent() {
    let api = Fake::new()
        .answer("+14155550002", Answer::Status(400, "Invalid phone number"))
        .answer("+14155550003", Answer::Fail(UpstreamError::Timeout))
        .answer("+14155550004", Answer::Status(503, "down"));
    let recipients = [
        "+14155550001",
        "+14155550002",
        "+14155550003",
        "+14155550004",
        "+14155550005",
    ];
    let output = run(&api, args(&recipients)).unwrap();
    let r = result(&output);
    let got: Vec<Outcome> = r.recipients.iter().map(|o| o.outcome).collect();
    assert_eq!(
        got,
        vec![
            Outcome::Sent,
            Outcome::Failed,
            Outcome::Unknown,
            Outcome::Unknown,
            Outcome::Sent
        ]
    );
    assert!(
        r.recipients[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("Invalid phone number")
    );
    assert!(
        r.recipients[2]
            .reason
            .as_deref()
            .unwrap()
            .contains("unknown whether")
    );
    assert_eq!((r.sent, r.failed, r.unknown), (2, 1, 2));
    assert!(output.is_error);

    // Run again with the same key: nobody is texted again.
    let again = Fake::with_ledger(Rc::clone(&api.ledger));
    let output = run(&again, args(&recipients)).unwrap();
    assert!(again.posts().is_empty(), "{:?}", again.posts());
    let r = result(&output);
    assert!(r.recipients.iter().all(|o| o.earlier_call));
    assert_eq!((r.sent, r.failed, r.unknown), (2, 1, 2));
}

#[test]
fn no_credits_stops_the_rest_without_a_record() {
    let api = Fake::new().answer("+14155550002", Answer::Status(402, "Not enough credits"));
    let recipients = [
        "+14155550001",
        "+14155550002",
        "+14155550003",
        "+14155550004",
    ];
    let output = run(&api, args(&recipients)).unwrap();
    assert_eq!(api.posts(), vec!["+14155550001", "+14155550002"]);
    let got: Vec<Outcome> = result(&output)
        .recipients
        .iter()
        .map(|o| o.outcome)
        .collect();
    assert_eq!(
        got,
        vec![
            Outcome::Sent,
            Outcome::Failed,
            Outcome::NotSent,
            Outcome::NotSent
        ]
    );
    assert!(output.text.contains("Not sent (2)"), "{}", output.text);
    assert!(
        output.text.to_lowercase().contains("credits"),
        "{}",
        output.text
    );
    assert_eq!(
        api.ledger.get_raw("+14155550003").unwrap(),
        None,
        "not attempted, not recorded"
    );
}

#[test]
fn a_rate_limited_send_is_retried_after_a_pause() {
    PAUSES.with(|p| p.borrow_mut().clear());
    let api = Fake::new().answer("+14155550001", Answer::RateLimited(2));
    let output = run(&api, args(&["+14155550001"])).unwrap();
    assert!(!output.is_error, "{}", output.text);
    assert_eq!(api.posts().len(), 3);
    PAUSES.with(|p| {
        assert_eq!(
            *p.borrow(),
            vec![Duration::from_secs(1), Duration::from_secs(2)]
        );
    });

    let api = Fake::new().answer("+14155550001", Answer::RateLimited(10));
    let output = run(&api, args(&["+14155550001", "+14155550002"])).unwrap();
    assert_eq!(api.posts().len(), 4, "three pauses, then give up");
    let got: Vec<Outcome> = result(&output)
        .recipients
        .iter()
        .map(|o| o.outcome)
        .collect();
    assert_eq!(got, vec![Outcome::Failed, Outcome::NotSent]);
}

#[test]
fn stops_when_outcomes_cannot_be_recorded() {
    // Room for the first recipient's two entries and the second's "sending".
    let api = Fake::with_ledger(Rc::new(MapLedger {
        fail_puts_after: Some(3),
        ..MapLedger::default()
    }));
    let output = run(
        &api,
        args(&["+14155550001", "+14155550002", "+14155550003"]),
    )
    .unwrap();
    assert_eq!(api.posts(), vec!["+14155550001", "+14155550002"]);
    let r = result(&output);
    let got: Vec<Outcome> = r.recipients.iter().map(|o| o.outcome).collect();
    // The second was sent even though its outcome could not be recorded.
    assert_eq!(got, vec![Outcome::Sent, Outcome::Sent, Outcome::NotSent]);
    assert!(
        r.recipients[2]
            .reason
            .as_deref()
            .unwrap()
            .contains("could not be kept")
    );
}

#[test]
fn refuses_an_unknown_inbox_before_sending() {
    let api = Fake::new();
    let mut a = args(&["+14155550001"]);
    a["from"] = json!("+19995550100");
    let Err(ToolError::InvalidArguments(m)) = run(&api, a) else {
        panic!()
    };
    assert!(m.contains("not one of this workspace's"), "{m}");
    assert!(api.posts().is_empty());
}

#[test]
fn descriptor_is_resumable_and_documents_every_field() {
    let d = descriptor();
    assert!(d.resumable);
    assert_eq!(d.scope, "messages:send");
    let schema: Value = serde_json::from_str(&d.input_schema).unwrap();
    assert_eq!(
        schema["properties"]["recipients"]["maxItems"],
        MAX_RECIPIENTS
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["from", "recipients", "content", "idempotencyKey"] {
        assert!(required.contains(&field), "{field} required");
        let property = &schema["properties"][field];
        assert!(property.get("description").is_some(), "{field} documented");
        assert!(property.get("examples").is_some(), "{field} has an example");
    }
}

#[test]
fn nothing_is_sent_when_the_attempt_cannot_be_recorded() {
    // Room for the first recipient's two entries only.
    let api = Fake::with_ledger(Rc::new(MapLedger {
        fail_puts_after: Some(2),
        ..MapLedger::default()
    }));
    let output = run(
        &api,
        args(&["+14155550001", "+14155550002", "+14155550003"]),
    )
    .unwrap();
    assert_eq!(api.posts(), vec!["+14155550001"]);
    let got: Vec<Outcome> = result(&output)
        .recipients
        .iter()
        .map(|o| o.outcome)
        .collect();
    assert_eq!(got, vec![Outcome::Sent, Outcome::NotSent, Outcome::NotSent]);
    assert!(output.is_error);
}
