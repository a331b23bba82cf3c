//! stdio transport: newline-delimited JSON-RPC on stdin/stdout, logs on
//! stderr.
//!
//! stdout carries protocol messages only (guests cannot write to it: their
//! stdout is discarded). Tool calls run concurrently; at end of input the
//! transport waits for calls still running, so no result is lost.

use std::sync::Arc;

use openphone_mcp_protocol::{Incoming, Session, jsonrpc};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::app::{App, Requester};
use crate::sandbox::Caller;

/// Longest line accepted on stdin.
const MAX_LINE: usize = 4 << 20;

/// Serves one client on the process's stdin and stdout until stdin closes.
pub async fn run(app: Arc<App>, caller: Caller) -> anyhow::Result<()> {
    serve(app, caller, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves one client on any pair of streams.
pub async fn serve(
    app: Arc<App>,
    caller: Caller,
    input: impl tokio::io::AsyncRead + Unpin,
    output: impl AsyncWrite + Unpin + Send + 'static,
) -> anyhow::Result<()> {
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Value>();
    let writer = tokio::spawn(write_lines(output, out_rx));
    let mut lines = BufReader::new(input).lines();
    let mut session = Session::default();
    let mut running = JoinSet::new();
    // One process serves one session: its retried requests are recognised
    // under this name.
    let session_key = Arc::new(uuid::Uuid::new_v4().to_string());
    let from = Requester {
        caller: &caller,
        scopes: None,
        session_key: &session_key,
        user_agent: None,
    };

    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_LINE {
            let _ = out_tx.send(jsonrpc::error_response_with(
                None,
                openphone_mcp_protocol::rmcp::model::ErrorCode::INVALID_REQUEST,
                "Invalid Request: message too large".into(),
            ));
            continue;
        }
        let parsed = match session.protocol_version() {
            Some(version) => jsonrpc::parse_with_version(line.as_bytes(), version),
            None => jsonrpc::parse(line.as_bytes()),
        };
        let incoming = match parsed {
            Ok(incoming) => incoming,
            Err(invalid) => {
                let _ = out_tx.send(invalid.response());
                continue;
            }
        };
        match incoming {
            Incoming::Single(message) if message.method() == Some("tools/call") => {
                // Calls do not change the session: run them concurrently.
                let (app, caller, session_key, out_tx, mut snapshot) = (
                    Arc::clone(&app),
                    caller.clone(),
                    Arc::clone(&session_key),
                    out_tx.clone(),
                    session.clone(),
                );
                running.spawn(async move {
                    let from = Requester {
                        caller: &caller,
                        scopes: None,
                        session_key: &session_key,
                        user_agent: None,
                    };
                    if let Some(reply) = app
                        .handle(&mut snapshot, message, from, Some(&out_tx))
                        .await
                    {
                        let _ = out_tx.send(reply);
                    }
                });
            }
            Incoming::Single(message) => {
                if let Some(reply) = app.handle(&mut session, message, from, Some(&out_tx)).await {
                    let _ = out_tx.send(reply);
                }
            }
            Incoming::Batch(messages) => {
                let mut replies = Vec::new();
                for message in messages {
                    if let Some(reply) =
                        app.handle(&mut session, message, from, Some(&out_tx)).await
                    {
                        replies.push(reply);
                    }
                }
                if !replies.is_empty() {
                    let _ = out_tx.send(Value::Array(replies));
                }
            }
        }
        // Reap finished calls so the set does not grow.
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    drop(out_tx);
    writer.await??;
    Ok(())
}

async fn write_lines(
    mut output: impl AsyncWrite + Unpin,
    mut messages: mpsc::UnboundedReceiver<Value>,
) -> anyhow::Result<()> {
    while let Some(message) = messages.recv().await {
        let mut line = serde_json::to_vec(&message)?;
        line.push(b'\n');
        output.write_all(&line).await?;
        output.flush().await?;
    }
    Ok(())
}
