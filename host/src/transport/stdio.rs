//! stdio transport: newline-delimited JSON-RPC on stdin/stdout, logs on
//! stderr.
//!
//! stdout carries protocol messages only (guests cannot write to it: their
//! stdout is discarded). Tool calls run concurrently; at end of input the
//! transport waits for calls still running, so no result is lost.

use std::sync::Arc;

use openphone_mcp_protocol::{Incoming, Session, jsonrpc};
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::request_id::RequestId;
use crate::app::{App, Requester};
use crate::sandbox::Caller;
use tracing::Instrument as _;

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
    let mut input = BufReader::new(input);
    let mut session = Session::default();
    let mut running = JoinSet::new();
    // One process serves one session: its retried requests are recognised
    // under this name.
    let session_key = Arc::new(uuid::Uuid::new_v4().to_string());

    loop {
        let line = match next_line(&mut input, MAX_LINE).await? {
            Line::End => break,
            Line::TooLong => {
                let _ = out_tx.send(jsonrpc::error_response_with(
                    None,
                    openphone_mcp_protocol::rmcp::model::ErrorCode::INVALID_REQUEST,
                    format!("Invalid Request: a message is at most {MAX_LINE} bytes"),
                ));
                continue;
            }
            Line::Text(line) => line,
        };
        if line.trim_ascii().is_empty() {
            continue;
        }
        let line = String::from_utf8_lossy(&line);
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
        // Each line is one request: its log lines carry its id.
        let request_id = RequestId::generate();
        let span = tracing::info_span!("request", request_id = %request_id);
        let from = Requester {
            caller: &caller,
            scopes: None,
            session_key: &session_key,
            user_agent: None,
            request_id: request_id.as_str(),
            client_address: None,
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
                running.spawn(
                    async move {
                        let from = Requester {
                            caller: &caller,
                            scopes: None,
                            session_key: &session_key,
                            user_agent: None,
                            request_id: request_id.as_str(),
                            client_address: None,
                        };
                        if let Some(reply) = app
                            .handle(&mut snapshot, message, from, Some(&out_tx))
                            .await
                        {
                            let _ = out_tx.send(reply);
                        }
                    }
                    .instrument(span),
                );
            }
            Incoming::Single(message) => {
                let handled = app.handle(&mut session, message, from, Some(&out_tx));
                if let Some(reply) = handled.instrument(span).await {
                    let _ = out_tx.send(reply);
                }
            }
            Incoming::Batch(messages) => {
                let mut replies = Vec::new();
                for message in messages {
                    let handled = app.handle(&mut session, message, from, Some(&out_tx));
                    if let Some(reply) = handled.instrument(span.clone()).await {
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

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line (without its newline) of at most the limit.
    Text(Vec<u8>),
    /// A line over the limit, skipped to its end without being kept.
    TooLong,
    /// End of input.
    End,
}

/// Reads the next line, keeping at most `max` bytes of it: a longer line is
/// read through to its newline and dropped as it comes, so its size never
/// reaches memory.
async fn next_line(input: &mut (impl AsyncBufRead + Unpin), max: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buffered = input.fill_buf().await?;
        if buffered.is_empty() {
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::End,
                (false, false) => Line::Text(line),
            });
        }
        let newline = buffered.iter().position(|&b| b == b'\n');
        let chunk = &buffered[..newline.unwrap_or(buffered.len())];
        if !too_long {
            if line.len() + chunk.len() > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = newline.map_or(buffered.len(), |at| at + 1);
        input.consume(used);
        if newline.is_some() {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            });
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncReadExt as _, ReadBuf};

    /// `left` bytes of `x` then a newline, made as they are read (never
    /// held whole).
    struct Generated {
        left: usize,
        ended: bool,
    }

    impl AsyncRead for Generated {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if self.left > 0 {
                let n = self.left.min(buf.remaining()).min(64 << 10);
                buf.put_slice(&[b'x'; 64 << 10][..n]);
                self.left -= n;
            } else if !self.ended {
                buf.put_slice(b"\n");
                self.ended = true;
            }
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_skipped_not_kept() {
        let ten_mib = Generated {
            left: 10 << 20,
            ended: false,
        };
        let input = "short\n"
            .as_bytes()
            .chain(ten_mib)
            .chain("{\"after\":1}\n".as_bytes());
        let mut input = BufReader::with_capacity(8 << 10, input);
        assert_eq!(
            next_line(&mut input, 1 << 20).await.unwrap(),
            Line::Text(b"short".to_vec())
        );
        assert_eq!(next_line(&mut input, 1 << 20).await.unwrap(), Line::TooLong);
        assert_eq!(
            next_line(&mut input, 1 << 20).await.unwrap(),
            Line::Text(br#"{"after":1}"#.to_vec())
        );
        assert_eq!(next_line(&mut input, 1 << 20).await.unwrap(), Line::End);
    }

    #[tokio::test]
    async fn the_last_line_needs_no_newline() {
        let mut input = BufReader::new("a\nb".as_bytes());
        assert_eq!(
            next_line(&mut input, 10).await.unwrap(),
            Line::Text(b"a".to_vec())
        );
        assert_eq!(
            next_line(&mut input, 10).await.unwrap(),
            Line::Text(b"b".to_vec())
        );
        assert_eq!(next_line(&mut input, 10).await.unwrap(), Line::End);
    }
}
