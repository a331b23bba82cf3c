//! `bulk-messages` through the real host: per-recipient outcomes, progress,
//! and the guarantee that a send interrupted half-way — by the call deadline
//! or by a crash — and resumed with the same key texts nobody twice and
//! drops nobody silently.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use openphone_sim::{A2P_UNAPPROVED_NUMBER, BUSINESS_KEY, SALES_NUMBER, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::Server;
use crate::http_rules::Session;

const CONTENT: &str = "Holiday hours: closed Monday.";

pub(crate) fn recipients(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("+1628555{i:04}")).collect()
}

pub(crate) fn bulk(key: &str, to: &[String]) -> Value {
    json!({"name": "bulk-messages", "arguments": {
        "from": SALES_NUMBER, "recipients": to, "content": CONTENT, "idempotencyKey": key}})
}

/// How many messages the simulator accepted per recipient.
fn texted(sim: &Simulator) -> HashMap<String, usize> {
    let mut count = HashMap::new();
    for message in sim.sent_messages() {
        assert_eq!(message["text"], CONTENT);
        for to in message["to"].as_array().unwrap() {
            *count.entry(to.as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    count
}

/// Checks the final outcome of a resumed send of `to`: everyone texted at
/// most once, every `sent` outcome matches a message the API accepted (with
/// its id), and whoever was not texted has an explicit `unknown` outcome.
pub(crate) fn assert_complete_without_repeats(sim: &Simulator, to: &[String], structured: &Value) {
    let texted = texted(sim);
    let twice: Vec<_> = texted.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "texted more than once: {twice:?}");
    let ids: HashMap<String, String> = sim
        .sent_messages()
        .iter()
        .map(|m| {
            (
                m["to"][0].as_str().unwrap().to_owned(),
                m["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let outcomes = structured["recipients"].as_array().unwrap();
    assert_eq!(outcomes.len(), to.len());
    for (outcome, number) in outcomes.iter().zip(to) {
        assert_eq!(outcome["to"], number.as_str());
        match outcome["outcome"].as_str().unwrap() {
            "sent" => assert_eq!(
                outcome["messageId"].as_str(),
                ids.get(number).map(String::as_str),
                "{outcome}"
            ),
            // Cut off between recording the attempt and the API's answer,
            // and the message is not in the inbox: reported, never resent.
            "unknown" => assert!(!texted.contains_key(number), "{outcome}"),
            other => panic!("unexpected outcome {other} for {number}: {outcome}"),
        }
    }
    let unknown = outcomes
        .iter()
        .filter(|o| o["outcome"] == "unknown")
        .count();
    assert!(
        unknown <= 1,
        "one interruption leaves at most one unconfirmed send: {unknown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_every_recipient_with_progress() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, BUSINESS_KEY, &[]);
    let session = Session::open(&server.url()).await;

    // 120 numbers, four of them repeated, one the API refuses.
    let mut to = recipients(115);
    to.push(A2P_UNAPPROVED_NUMBER.to_owned());
    for i in [3, 50, 99, 3] {
        to.push(to[i].replace("+1628", "+1 (628) "));
    }
    assert_eq!(to.len(), 120);
    let mut params = bulk("announce-1", &to);
    params["_meta"] = json!({"progressToken": "bulk-1"});
    let response = session
        .post(&json!({"jsonrpc":"2.0","id":"b-1","method":"tools/call","params":params}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let events = crate::http_rules::sse_events(&body);
    let (reply, progress) = events.split_last().unwrap();
    let steps: Vec<f64> = progress
        .iter()
        .map(|e| {
            assert_eq!(e["method"], "notifications/progress");
            assert_eq!(e["params"]["total"], 116.0);
            e["params"]["progress"].as_f64().unwrap()
        })
        .collect();
    assert!(steps.len() >= 10, "{} progress notifications", steps.len());
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "progress increases");
    assert_eq!(steps.last(), Some(&116.0));

    let result = &reply["result"];
    // One refused recipient: reported, and the call says so.
    assert_eq!(result["isError"], true, "{result}");
    let s = &result["structuredContent"];
    assert_eq!(
        (&s["requested"], &s["sent"], &s["failed"], &s["duplicates"]),
        (&json!(120), &json!(115), &json!(1), &json!(4))
    );
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Sent to 115 of 116 recipients"), "{text}");
    assert!(
        text.contains(A2P_UNAPPROVED_NUMBER) && text.contains("A2P"),
        "{text}"
    );
    let outcomes = s["recipients"].as_array().unwrap();
    assert_eq!(outcomes[116]["outcome"], "duplicate");
    assert_eq!(outcomes[116]["duplicateOf"], 3);
    assert_eq!(outcomes[116]["to"], to[3]);
    assert_eq!(texted(&sim).len(), 115);
    assert!(texted(&sim).values().all(|n| *n == 1));
    // The simulator answers 429 above 10 requests/s: the host's pacing kept under it.
    let limited: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.status == Some(429))
        .collect();
    assert!(limited.is_empty(), "rate limit hit: {limited:?}");

    // The same call again is answered from the record: nothing is sent.
    let again = session.request("tools/call", bulk("announce-1", &to)).await;
    assert_eq!(again["result"]["structuredContent"], *s);
    assert_eq!(
        again["result"]["_meta"]["io.github.openphone-mcp/replayed"],
        true
    );
    assert_eq!(sim.sent_messages().len(), 115);
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_stopped_at_its_deadline_resumes_with_the_same_key() {
    let sim = Simulator::start().await.unwrap();
    // 60 recipients take about 6.6 s at 10 requests per 1.1 s: a 2 s call
    // limit stops the send part-way, several times over.
    let server = Server::start(&sim, BUSINESS_KEY, &["--call-timeout-secs", "2"]);
    let session = Session::open(&server.url()).await;
    let to = recipients(60);

    let first = session.request("tools/call", bulk("resume-1", &to)).await;
    let text: String = first["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect();
    assert_eq!(first["result"]["isError"], true);
    assert!(text.contains("idempotencyKey to resume"), "{text}");
    let after_first = sim.sent_messages().len();
    assert!(
        (1..60).contains(&after_first),
        "{after_first} sent before the deadline"
    );

    let mut rounds = 1;
    let last = loop {
        let reply = session.request("tools/call", bulk("resume-1", &to)).await;
        rounds += 1;
        if reply["result"]["structuredContent"].is_object() {
            break reply;
        }
        assert!(rounds < 12, "the send never completed: {reply}");
    };
    assert!(
        rounds >= 3,
        "the limit should have stopped it more than once"
    );
    let s = &last["result"]["structuredContent"];
    assert_complete_without_repeats(&sim, &to, s);
    let earlier = s["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["earlierCall"] == true)
        .count();
    assert!(
        earlier >= after_first,
        "outcomes of earlier calls are carried over"
    );
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_cut_off_by_a_crash_resumes_after_restart() {
    let sim = Simulator::start().await.unwrap();
    let mut server = Server::start(&sim, BUSINESS_KEY, &[]);
    let to = recipients(80);

    let session = Session::open(&server.url()).await;
    let request = bulk("crash-1", &to);
    let running = tokio::spawn(async move {
        // The connection dies with the server; the answer is never read.
        let _ = session
            .post(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":request}))
            .await;
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.sent_messages().len() < 25 {
        assert!(Instant::now() < deadline, "the send did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.crash_and_restart(&sim);
    running.abort();
    let before_restart = sim.sent_messages().len();
    assert!(
        before_restart < 80,
        "the crash came too late to test anything"
    );

    let session = Session::open(&server.url()).await;
    let resumed = session.request("tools/call", bulk("crash-1", &to)).await;
    let s = &resumed["result"]["structuredContent"];
    assert!(s.is_object(), "{resumed}");
    assert_complete_without_repeats(&sim, &to, s);
    let sent_now = s["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["outcome"] == "sent" && o["earlierCall"] == false)
        .count();
    assert_eq!(
        sent_now,
        sim.sent_messages().len() - before_restart,
        "the resumed call sent only to those the first had not reached"
    );
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("resuming an interrupted call")),
        "the restart took over the claim"
    );
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_send_stops_within_the_grace_and_the_retry_texts_everyone_once() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let sim = Simulator::start().await.unwrap();
    // 40 recipients take about 8 s at 200 ms a send: SIGTERM finds the call running.
    sim.inject(
        openphone_sim::Fault::delay(200)
            .on("POST", "/v1/messages")
            .times(1_000),
    );
    let mut server = Server::start(&sim, BUSINESS_KEY, &["--shutdown-grace-secs", "2"]);
    let to = recipients(40);

    let session = Session::open(&server.url()).await;
    let request = bulk("sigterm-1", &to);
    let running = tokio::spawn(async move {
        let response = session
            .post(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":request}))
            .await;
        response.json::<Value>().await
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.sent_messages().len() < 5 {
        assert!(Instant::now() < deadline, "the send did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A request whose body is still arriving when the signal comes.
    let ping = br#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#;
    let mut late = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        ping.len()
    );
    late.write_all(head.as_bytes()).await.unwrap();
    late.write_all(&ping[..10]).await.unwrap();

    // An idle keep-alive connection and one still sending its headers hold nothing up.
    let mut idle = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let health = format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    idle.write_all(health.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 256];
    assert!(idle.read(&mut buffer).await.unwrap() > 0);
    let mut slow = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: ")
        .await
        .unwrap();

    let signalled = server.sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    late.write_all(&ping[10..]).await.unwrap();
    let mut answer = String::new();
    let _ = late.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: "),
        "{answer}"
    );

    // The call in flight is stopped once the grace is over, and told so.
    let stopped = running
        .await
        .unwrap()
        .expect("the stopped call is answered");
    let text = stopped["result"]["content"].to_string();
    assert_eq!(stopped["result"]["isError"], true, "{stopped}");
    assert!(
        text.contains("shutting down") && text.contains("resume"),
        "{text}"
    );
    let (status, took) = tokio::task::block_in_place(|| server.wait_for_exit(signalled));
    assert!(status.success(), "exit status {status}");
    assert!(
        took < Duration::from_secs(2 + 3),
        "exit {took:?} after SIGTERM, with a 2 s grace"
    );
    drop((idle, slow));
    let before_restart = sim.sent_messages().len();
    assert!(
        before_restart < 40,
        "the stop came too late to test anything"
    );
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("tool stopped: the server is shutting down")),
        "the call was stopped, not finished"
    );

    // Called again with the same key after a restart: everyone texted once.
    server.restart(&sim);
    let session = Session::open(&server.url()).await;
    let resumed = session.request("tools/call", bulk("sigterm-1", &to)).await;
    let s = &resumed["result"]["structuredContent"];
    assert_eq!(s["sent"], 40, "{resumed}");
    let texted = texted(&sim);
    assert_eq!(texted.len(), 40);
    assert!(texted.values().all(|n| *n == 1), "{texted:?}");
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("resuming an interrupted call")),
        "the retry resumed the recorded, interrupted call"
    );
    sim.assert_conformant();
}
