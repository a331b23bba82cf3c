//! The audit trail: security events and write-tool calls, durable, with
//! time, request id, client address, client and grant; `admin audit` reads
//! it with the server running or stopped, and no event carries a secret or
//! a phone number.

use openphone_sim::{ALICE, BOB, BUSINESS_KEY, SALES_PHONE_ID, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{self, OAUTH, Server, admin};
use crate::oauth::{Client, hidden_inputs, mcp, open_session, tokens_of};

fn events(sim: &Simulator, server: &Server, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["--json", "audit"];
    args.extend_from_slice(filters);
    let (ok, out, err) = admin(sim, server, &args);
    assert!(ok, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["kind"], "audit", "{answer}");
    answer["value"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":arguments}})
}

#[tokio::test(flavor = "multi_thread")]
async fn security_events_and_write_calls_are_audited_without_a_secret() {
    let sim = Simulator::start().await.unwrap();
    let mut server = Server::start(&sim, OAUTH, &[]);
    let issuer = format!("http://{}", server.addr);
    let client = Client::register(&issuer, "Audited Assistant").await;

    // A key OpenPhone refuses, then consent.
    let (html, cookie) = client.consent_page(&[]).await;
    let mut form: Vec<(String, String)> = hidden_inputs(&html).into_iter().collect();
    form.extend([
        (
            "api_key".to_owned(),
            "not-a-key-openphone-knows-0000".to_owned(),
        ),
        ("action".to_owned(), "approve".to_owned()),
        ("scope".to_owned(), "messages:send".to_owned()),
    ]);
    let refused = reqwest::Client::new()
        .post(format!("{issuer}/authorize"))
        .header("cookie", &cookie)
        .header("origin", &issuer)
        .header("x-request-id", "audit-consent-1")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::OK);
    let tokens = client
        .tokens(BUSINESS_KEY, &["messages:send", "messages:read"])
        .await;
    let session = open_session(&server, &tokens.access).await;

    // Two write calls (one with a number in its key) and a read, which is not audited.
    let key = format!("remind {BOB}");
    let sent: Value = mcp(
        &server,
        Some(&tokens.access),
        Some(&session),
        call(
            2,
            "send-message",
            json!({"from": SALES_PHONE_ID, "to": BOB, "content": "audited", "idempotencyKey": key}),
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(sent["result"]["isError"], false, "{sent}");
    let bulk: Value = mcp(
        &server,
        Some(&tokens.access),
        Some(&session),
        call(
            3,
            "bulk-messages",
            json!({"from": SALES_PHONE_ID, "recipients": [BOB, ALICE, "+16285550001"],
            "content": "audited bulk", "idempotencyKey": "bulk-audit-1"}),
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(bulk["result"]["structuredContent"].is_object(), "{bulk}");
    let read = mcp(
        &server,
        Some(&tokens.access),
        Some(&session),
        call(4, "fetch-messages", json!({"inbox": SALES_PHONE_ID})),
    )
    .await;
    assert_eq!(read.status(), StatusCode::OK);

    // A refresh, then its replay: the grant is revoked.
    let (status, body) = client.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refreshed = tokens_of(&body);
    harness::plant(&refreshed.access);
    harness::plant(&refreshed.refresh);
    let (status, _) = client.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An operator revokes a second grant.
    let second = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let grants = admin(&sim, &server, &["--json", "grants"]).1;
    let grants: Value = serde_json::from_str(&grants).unwrap();
    let live: Vec<&str> = grants["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["revoked"] == false)
        .map(|g| g["grant"].as_str().unwrap())
        .collect();
    assert_eq!(live.len(), 1);
    let second_grant = live[0].to_owned();
    assert!(
        admin(&sim, &server, &["revoke-grant", &second_grant])
            .1
            .contains("revoked")
    );
    let _ = second;

    let all = events(&sim, &server, &[]);
    assert_eq!(
        kinds(&all),
        vec![
            "client-registered",
            "key-rejected",
            "consent-approved",
            "tool-call",
            "tool-call",
            "token-refreshed",
            "refresh-reused",
            "consent-approved",
            "grant-revoked"
        ],
        "{all:#?}"
    );
    let client_id = client.id();
    let first_grant = all[2]["grant"].as_str().unwrap().to_owned();
    for event in &all {
        assert!(
            event["at_ms"].as_u64().unwrap() > 1_700_000_000_000,
            "{event}"
        );
        if event["kind"] != "grant-revoked" {
            assert_eq!(event["client_id"], client_id, "{event}");
            assert_eq!(event["client_address"], "127.0.0.1", "{event}");
            assert!(event["request_id"].is_string(), "{event}");
        }
    }
    assert_eq!(all[1]["request_id"], "audit-consent-1");
    assert_eq!(all[2]["scopes"], json!(["messages:send", "messages:read"]));
    assert_eq!(
        (&all[3]["tool"], &all[3]["outcome"], &all[3]["recipients"]),
        (&json!("send-message"), &json!("ok"), &json!(1))
    );
    assert_eq!(all[3]["grant"], first_grant.as_str());
    assert!(
        !all[3]["idempotency_key"]
            .as_str()
            .unwrap()
            .contains(&BOB[2..]),
        "the number is masked: {}",
        all[3]
    );
    assert_eq!(
        (
            &all[4]["tool"],
            &all[4]["recipients"],
            &all[4]["idempotency_key"]
        ),
        (&json!("bulk-messages"), &json!(3), &json!("bulk-audit-1"))
    );
    assert_eq!(all[6]["grant"], first_grant.as_str());
    assert_eq!(all[8]["grant"], second_grant.as_str());

    // Filters.
    assert_eq!(
        kinds(&events(&sim, &server, &["--event", "tool-call"])),
        vec!["tool-call", "tool-call"]
    );
    assert_eq!(events(&sim, &server, &["--grant", &first_grant]).len(), 5);
    assert_eq!(events(&sim, &server, &["--client", client_id]).len(), 8);
    assert_eq!(events(&sim, &server, &["--since", "1h"]).len(), 9);
    assert!(events(&sim, &server, &["--since", "2999-01-01T00:00:00Z"]).is_empty());
    let (ok, _, err) = admin(&sim, &server, &["audit", "--event", "everything"]);
    assert!(!ok && err.contains("tool-call"), "{err}");
    let (ok, table, _) = admin(&sim, &server, &["audit", "--event", "consent-approved"]);
    assert!(
        ok && table.lines().count() == 2 && table.contains("scopes=messages:send"),
        "{table}"
    );

    // No secret and no number anywhere in the trail.
    let text = serde_json::to_string(&all).unwrap();
    for secret in [
        BUSINESS_KEY,
        &tokens.access,
        &tokens.refresh,
        &refreshed.access,
        "not-a-key-openphone-knows",
        &BOB[2..],
        &ALICE[2..],
        "6285550001",
    ] {
        assert!(!text.contains(secret), "the trail carries {secret}: {text}");
    }

    // Durable: the same trail with the server stopped, and after a restart.
    let (status, _) = server.wait_for_exit(server.sigterm());
    assert!(status.success());
    assert_eq!(events(&sim, &server, &[]), all);
    server.restart(&sim);
    assert_eq!(events(&sim, &server, &[]).len(), 9);
}
