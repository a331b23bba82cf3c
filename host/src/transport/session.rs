//! MCP sessions over HTTP: created by `initialize`, named by
//! `Mcp-Session-Id`, kept in the store under hashes of their owner and id
//! (so they survive a restart and the store never holds a usable id), owned
//! by the subject that created them, ended by DELETE or after a day idle.
//! One subject holds at most [`MAX_PER_SUBJECT`] sessions: opening another
//! ends its least recently used one.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use openphone_mcp_protocol::Session;
use openphone_mcp_protocol::http::{self as rules, Rejection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::http::{HttpState, internal, reject};
use crate::access::Authorized;
use crate::state::store::{Store, Table};

/// How long an idle session is kept.
const SESSION_TTL_SECS: u64 = 24 * 3600;
/// Sessions one subject (a grant, or the single user) may hold.
pub(crate) const MAX_PER_SUBJECT: usize = 64;

/// What the store keeps per session.
#[derive(Debug, Serialize, Deserialize)]
struct StoredSession {
    session: Session,
    subject: String,
    /// Unix microseconds of its last use.
    #[serde(default)]
    touched: u64,
}

/// The session a request names, looked up for its authorized caller.
#[derive(Debug)]
pub(crate) enum NamedSession {
    /// No `Mcp-Session-Id` header.
    Absent,
    /// A well-formed id that names no live session of this caller (expired,
    /// ended, or someone else's: the two are not told apart).
    Unknown,
    /// The caller's own session.
    Owned(OwnedSession),
}

/// A session the caller owns, as loaded.
#[derive(Debug)]
pub(crate) struct OwnedSession {
    pub id: String,
    pub session: Session,
    /// Unix microseconds of its last save.
    pub touched: u64,
}

impl NamedSession {
    /// The owned session, or the answer for a request that needs one.
    // The error is the answer itself, as axum rejections are.
    #[allow(clippy::result_large_err)]
    pub(crate) fn required(self) -> Result<OwnedSession, Response> {
        match self {
            NamedSession::Owned(owned) => Ok(owned),
            NamedSession::Absent => Err(reject(Rejection::new(
                StatusCode::BAD_REQUEST,
                "Mcp-Session-Id header required",
            ))),
            NamedSession::Unknown => Err(unknown()),
        }
    }
}

/// `404`: the client must start a new session.
pub(crate) fn unknown() -> Response {
    reject(Rejection::new(
        StatusCode::NOT_FOUND,
        "unknown or expired session",
    ))
}

impl FromRequestParts<Arc<HttpState>> for NamedSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<HttpState>,
    ) -> Result<Self, Response> {
        let authorized = Authorized::from_request_parts(parts, state).await?;
        let Some(id) = rules::session_id(&parts.headers).map_err(reject)? else {
            return Ok(NamedSession::Absent);
        };
        match load(state.app.store(), &authorized.caller.subject, id).map_err(internal)? {
            Some(stored) if stored.subject == authorized.caller.subject => {
                Ok(NamedSession::Owned(OwnedSession {
                    id: id.to_owned(),
                    session: stored.session,
                    touched: stored.touched,
                }))
            }
            _ => Ok(NamedSession::Unknown),
        }
    }
}

/// A new session id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Stable, non-secret name of a session, under which its retried requests
/// are recognised.
pub(crate) fn key(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Where `subject`'s sessions are stored: a prefix of their keys.
fn owner_prefix(subject: &str) -> String {
    format!("{}/", &key(subject)[..32])
}

fn store_key(subject: &str, id: &str) -> String {
    format!("{}{}", owner_prefix(subject), key(id))
}

fn load(store: &Store, subject: &str, id: &str) -> anyhow::Result<Option<StoredSession>> {
    let Some(bytes) = store.get(Table::Sessions, &store_key(subject, id))? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

/// Stores `session` under `id` for `subject`, restarting its idle clock.
pub(crate) fn save(
    store: &Store,
    id: &str,
    session: &Session,
    subject: &str,
) -> anyhow::Result<()> {
    let stored = StoredSession {
        session: session.clone(),
        subject: subject.to_owned(),
        touched: now_micros(),
    };
    store.put(
        Table::Sessions,
        &store_key(subject, id),
        &serde_json::to_vec(&stored)?,
        SESSION_TTL_SECS,
    )
}

/// How stale a session's last-use time may get before a request that
/// changed nothing saves it anyway: it keeps the session from expiring idle
/// and orders sessions for the per-subject limit, and neither needs it to
/// the second.
const TOUCH_EVERY_MICROS: u64 = 60 * 1_000_000;

/// Saves `session` after a request, but only if the request changed it (a
/// negotiation step) or its last-use time is over [`TOUCH_EVERY_MICROS`]
/// old: most requests (lists, calls, pings) leave a session as it was, and
/// then cost no write.
pub(crate) fn save_if_changed(
    store: &Store,
    loaded: &OwnedSession,
    session: &Session,
    subject: &str,
) -> anyhow::Result<()> {
    let fresh = now_micros().saturating_sub(loaded.touched) < TOUCH_EVERY_MICROS;
    if *session == loaded.session && fresh {
        return Ok(());
    }
    save(store, &loaded.id, session, subject)
}

/// Stores a new session, first ending `subject`'s least recently used one
/// if it already holds [`MAX_PER_SUBJECT`].
pub(crate) fn create(
    store: &Store,
    id: &str,
    session: &Session,
    subject: &str,
) -> anyhow::Result<()> {
    let prefix = owner_prefix(subject);
    let held = store.keys_with_prefix(Table::Sessions, &prefix, None, MAX_PER_SUBJECT + 1)?;
    if held.len() >= MAX_PER_SUBJECT {
        let touched = |k: &String| {
            store
                .get(Table::Sessions, k)
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice::<StoredSession>(&b).ok())
                .map_or(0, |s| s.touched)
        };
        if let Some(oldest) = held.iter().min_by_key(|k| touched(k)) {
            store.remove(Table::Sessions, oldest)?;
            tracing::info!(
                subject,
                "session limit reached: ended the least recently used session"
            );
        }
    }
    save(store, id, session, subject)
}

/// Ends `subject`'s session `id`; false if it was not live.
pub(crate) fn remove(store: &Store, subject: &str, id: &str) -> anyhow::Result<bool> {
    store.remove(Table::Sessions, &store_key(subject, id))
}
