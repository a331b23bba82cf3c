//! Rotating the deployment secret: grants made under secret A keep working
//! after a restart with B plus A as a previous secret, and, once `admin
//! reseal` has run, with B alone. Without A, a store sealed under it is
//! refused at start with the way out, never silently emptied.

use openphone_sim::{BOB, BUSINESS_KEY, SALES_PHONE_ID, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{self, OAUTH, Server, admin, free_port, path_str};
use crate::oauth::{Client, mcp, open_session, tokens_of};

fn secret_file(fill: char) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), fill.to_string().repeat(48)).unwrap();
    file
}

/// A send through `/mcp` with `token` in a new session.
async fn sends(server: &Server, token: &str, id: u64) -> bool {
    let session = open_session(server, token).await;
    let reply: Value = mcp(
        server,
        Some(token),
        Some(&session),
        json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":"send-message",
            "arguments":{"from": SALES_PHONE_ID, "to": BOB, "content": format!("rotation {id}")}}}),
    )
    .await
    .json()
    .await
    .unwrap();
    reply["result"]["isError"] == false
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_survives_rotating_the_deployment_secret() {
    let sim = Simulator::start().await.unwrap();
    let (a, b) = (secret_file('a'), secret_file('b'));
    let listen = format!("127.0.0.1:{}", free_port());
    let production = |current: &tempfile::NamedTempFile,
                      previous: Option<&tempfile::NamedTempFile>| {
        let mut args = vec![
            "--mode".to_owned(),
            "production".to_owned(),
            "--listen".to_owned(),
            listen.clone(),
            "--secret-file".to_owned(),
            path_str(current.path()).to_owned(),
        ];
        if let Some(previous) = previous {
            args.extend([
                "--previous-secret-file".to_owned(),
                path_str(previous.path()).to_owned(),
            ]);
        }
        args
    };

    let args = production(&a, None);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = Server::start(&sim, OAUTH, &args);
    let issuer = format!("http://{listen}");
    let client = Client::register(&issuer, "Rotation Assistant").await;
    let tokens = client.tokens(BUSINESS_KEY, &["messages:send"]).await;
    assert!(sends(&server, &tokens.access, 1).await);
    let (status, _) = server.wait_for_exit(server.sigterm());
    assert!(status.success());

    // B alone: refused at start, saying what to do.
    let refused = harness::command(&sim, OAUTH, server.data_dir())
        .arg("serve")
        .args(production(&b, None))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("--previous-secret-file") && err.contains("admin reseal"),
        "{err}"
    );

    // B with A as previous: the grant works, its key opens, refresh rotates.
    let args = production(&b, Some(&a));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server.restart_with(&sim, &args);
    assert!(sends(&server, &tokens.access, 2).await);
    let (status, body) = client.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refreshed = tokens_of(&body);
    harness::plant(&refreshed.access);
    harness::plant(&refreshed.refresh);

    // Resealed through the running server's admin socket.
    let (ok, out, err) = admin(&sim, &server, &["--json", "reseal"]);
    assert!(ok, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        answer,
        json!({"kind": "resealed", "value": {"rewrapped": 3, "current": 0}})
    );
    let (status, _) = server.wait_for_exit(server.sigterm());
    assert!(status.success());

    // B alone now: the grant, its key and its refresh token still work.
    let args = production(&b, None);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server.restart_with(&sim, &args);
    assert!(sends(&server, &refreshed.access, 3).await);
    let (status, body) = client.refresh(&refreshed.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sim.sent_messages().len(), 3);

    // A alone no longer opens the store (offline, with the server stopped).
    let (status, _) = server.wait_for_exit(server.sigterm());
    assert!(status.success());
    let (ok, _, err) = admin(
        &sim,
        &server,
        &[
            "--mode",
            "production",
            "--secret-file",
            path_str(a.path()),
            "grants",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("sealed under another deployment secret"),
        "{err}"
    );
    let secret = path_str(b.path());
    let (ok, out, err) = admin(
        &sim,
        &server,
        &[
            "--json",
            "--mode",
            "production",
            "--secret-file",
            secret,
            "reseal",
        ],
    );
    assert!(ok, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        answer["value"],
        json!({"rewrapped": 0, "current": 3}),
        "offline, nothing left to do"
    );
}
