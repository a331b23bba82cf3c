//! The broker's exports over a [`Platform`]: one composed instance serves
//! one HTTP request, so the call bound by `begin-call`, its write count and the
//! pacing clock live in this instance's memory.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

use crate::bindings::exports::openphone::mcp::broker::{
    self, BrokerError, ClaimDecision, ClaimKey, Deployment, Mode, SweepTurn,
};
use crate::bindings::exports::openphone::mcp::types::{
    ApiRequest, ApiResponse, LedgerError, Method, UpstreamError,
};
use crate::bindings::exports::openphone::mcp::{ledger as wit_ledger, log, upstream};
use crate::bindings::wasi::clocks0_2_6::monotonic_clock;
use crate::http::{self, Failure, Verb};
use crate::ledger::Writes;
use crate::outcomes::{self, Decision, Scope};
use crate::request::ApiBase;
use crate::session::{self, SessionKey};
use crate::vault::{self, VaultKey};
use crate::{Platform, StoreError, auth_view, ledger, pacing, redact, retention, settings};

/// Requests one tool call may make, as natively.
const REQUESTS_PER_CALL: u32 = 2_000;

/// The broker, over the settings of host family `P`.
#[derive(Debug)]
pub struct Broker<P>(PhantomData<P>);

/// The call `begin-call` bound.
#[derive(Debug)]
struct Call {
    tool: String,
    /// The key the call sends with: the deployment's, or the grant's.
    key: CallerKey,
    idempotency_key: Option<String>,
    requests: u32,
    writes: Writes,
}

/// An OpenPhone key. `Debug` prints `[redacted]`.
struct CallerKey(String);

impl CallerKey {
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CallerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallerKey([redacted])")
    }
}

thread_local! {
    static CALL: RefCell<Option<Call>> = const { RefCell::new(None) };
    static LAST_SENT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The deployment's mode and the secret its sessions are sealed with.
fn mode<P: Platform>() -> Result<(Mode, String), BrokerError> {
    if let Some(key) = P::setting(settings::API_KEY) {
        if !openphone_mcp_protocol::catalog::is_api_key_shaped(&key) {
            return Err(BrokerError::Misconfigured(
                "openphone_api_key holds characters an API key cannot have".into(),
            ));
        }
        return Ok((Mode::SingleUser, key));
    }
    match P::setting(settings::DEPLOYMENT_SECRET) {
        Some(_) if !P::DURABLE => Err(BrokerError::Misconfigured(
            "OAuth (deployment_secret) needs a host with a key-value store, such as Spin; \
             this host serves single-user mode only: set openphone_api_key"
                .into(),
        )),
        Some(secret) if secret.len() >= 32 => {
            if P::setting(settings::PUBLIC_URL).is_none() {
                return Err(BrokerError::Misconfigured(
                    "OAuth (deployment_secret) needs public_url, the origin clients reach".into(),
                ));
            }
            Ok((Mode::Oauth, secret))
        }
        Some(_) => Err(BrokerError::Misconfigured(
            "deployment_secret must be at least 32 characters".into(),
        )),
        None => Err(BrokerError::Misconfigured(
            "set openphone_api_key (single-user) or deployment_secret (OAuth)".into(),
        )),
    }
}

/// The deployment's public origin (`public_url`), when set.
fn public_origin<P: Platform>() -> Result<Option<String>, BrokerError> {
    P::setting(settings::PUBLIC_URL)
        .map(|url| auth_view::public_origin(&url))
        .transpose()
        .map_err(|e| BrokerError::Misconfigured(e.into()))
}

/// The auth component's settings: OAuth mode only.
pub(crate) fn auth_settings<P: Platform>() -> Result<auth_view::AuthSettings, BrokerError> {
    match (mode::<P>()?, public_origin::<P>()?) {
        ((Mode::Oauth, secret), Some(origin)) => Ok(auth_view::AuthSettings::new(&origin, &secret)),
        _ => Err(BrokerError::Misconfigured(
            "the authorization server is served in OAuth mode only".into(),
        )),
    }
}

/// The vault's key: OAuth mode only.
pub(crate) fn vault_key<P: Platform>() -> Result<VaultKey, BrokerError> {
    match mode::<P>()? {
        (Mode::Oauth, secret) => Ok(VaultKey::derive(&secret)),
        (Mode::SingleUser, _) => Err(BrokerError::Misconfigured(
            "the vault is used in OAuth mode only".into(),
        )),
    }
}

/// The key sealed for `grant`.
fn grant_key<P: Platform>(grant: &str) -> Result<CallerKey, BrokerError> {
    let vault = vault_key::<P>()?;
    match P::load(&vault::entry_key(grant)) {
        Ok(Some(value)) => vault
            .open(grant, &value)
            .map(CallerKey)
            .map_err(|e| BrokerError::Unavailable(e.to_string())),
        Ok(None) => Err(BrokerError::NoKey),
        Err(e) => Err(BrokerError::Unavailable(e.to_string())),
    }
}

/// Secrets to mask in every log line and error body.
fn secrets<P: Platform>() -> Vec<String> {
    let mut secrets: Vec<String> = [settings::API_KEY, settings::DEPLOYMENT_SECRET]
        .into_iter()
        .filter_map(P::setting)
        .collect();
    if let Some(key) = CALL.with_borrow(|call| call.as_ref().map(|c| c.key.expose().to_owned())) {
        secrets.push(key);
    }
    secrets
}

pub(crate) fn emit<P: Platform>(level: &str, message: &str) {
    let secrets = secrets::<P>();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let tool = CALL.with_borrow(|call| call.as_ref().map(|c| c.tool.clone()));
    eprintln!(
        "{}",
        redact::event(level, message, tool.as_deref(), &secrets)
    );
}

impl<P: Platform> broker::Guest for Broker<P> {
    fn settings() -> Result<Deployment, BrokerError> {
        let (mode, _) = mode::<P>()?;
        Ok(Deployment {
            mode,
            public_url: public_origin::<P>()?,
            tool_profiles: P::setting(settings::TOOL_PROFILES),
        })
    }

    fn begin_call(
        tool: String,
        grant: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<(), BrokerError> {
        let key = match (mode::<P>()?, grant) {
            ((Mode::SingleUser, key), None) => CallerKey(key),
            ((Mode::Oauth, _), Some(grant)) => grant_key::<P>(&grant)?,
            ((Mode::SingleUser, _), Some(_)) => {
                return Err(BrokerError::Misconfigured(
                    "a grant was given in single-user mode".into(),
                ));
            }
            ((Mode::Oauth, _), None) => {
                return Err(BrokerError::Misconfigured(
                    "a call without a grant in OAuth mode".into(),
                ));
            }
        };
        CALL.set(Some(Call {
            tool,
            key,
            idempotency_key,
            requests: 0,
            writes: Writes::default(),
        }));
        Ok(())
    }

    fn claim(
        key: ClaimKey,
        arguments: String,
        resumable: bool,
    ) -> Result<ClaimDecision, BrokerError> {
        if !P::DURABLE {
            return Ok(ClaimDecision::Unrecorded);
        }
        let (record, scope) = claim_record(&key)?;
        let scope = scope.as_scope();
        // A lost compare-and-swap means another request claimed or settled
        // the key meanwhile: decide again on what it wrote.
        for _ in 0..4 {
            let stored = P::load(&record).map_err(store_failed)?;
            match outcomes::decide(stored.as_deref(), &arguments, now_secs(), scope, resumable) {
                Decision::Claim {
                    record: claim,
                    resumed,
                } => {
                    if P::swap_if(&record, stored.as_deref(), &claim.to_bytes())
                        .map_err(store_failed)?
                    {
                        match retention::after_claim::<P>(now_secs()) {
                            Ok(0) => {}
                            Ok(n) => emit::<P>("info", &format!("deleted {n} expired records")),
                            Err(e) => {
                                emit::<P>("warn", &format!("sweeping expired records failed: {e}"))
                            }
                        }
                        return Ok(ClaimDecision::Run(resumed));
                    }
                }
                Decision::Replay(outcome) => return Ok(ClaimDecision::Replay(outcome)),
                Decision::Busy => return Ok(ClaimDecision::Busy),
                Decision::Conflict => return Ok(ClaimDecision::Conflict),
                Decision::Interrupted => return Ok(ClaimDecision::Interrupted),
            }
        }
        Ok(ClaimDecision::Busy)
    }

    fn settle(key: ClaimKey, outcome: Option<String>) -> Result<(), BrokerError> {
        if !P::DURABLE {
            return Ok(());
        }
        let (record, _) = claim_record(&key)?;
        let Some(outcome) = outcome else {
            return P::forget(&record).map_err(store_failed);
        };
        let stored = P::load(&record).map_err(store_failed)?;
        match stored
            .as_deref()
            .and_then(|s| outcomes::settled(s, &outcome))
        {
            Some(value) => P::store(&record, &value).map_err(store_failed),
            None => Err(BrokerError::Unavailable(
                "the claim was gone when its outcome was recorded".into(),
            )),
        }
    }

    fn sweep_due() -> SweepTurn {
        if !P::DURABLE || !matches!(mode::<P>(), Ok((Mode::Oauth, _))) {
            return SweepTurn::NotDue;
        }
        match P::increment(SWEEP_REQUESTS, 1) {
            Ok(n) if n % AUTH_SWEEP_EVERY == 0 => match P::load(SWEEP_CURSOR) {
                Ok(Some(cursor)) => match String::from_utf8(cursor) {
                    Ok(cursor) => SweepTurn::Resume(cursor),
                    Err(_) => SweepTurn::FromStart,
                },
                Ok(None) => SweepTurn::FromStart,
                Err(_) => SweepTurn::NotDue,
            },
            _ => SweepTurn::NotDue,
        }
    }

    fn sweep_done(next: Option<String>) {
        let stored = match &next {
            Some(cursor) => P::store(SWEEP_CURSOR, cursor.as_bytes()),
            None => P::forget(SWEEP_CURSOR),
        };
        if let Err(e) = stored {
            emit::<P>("warn", &format!("the sweep cursor was not stored: {e}"));
        }
    }

    fn seal_session(state: String) -> Result<String, BrokerError> {
        let (_, secret) = mode::<P>()?;
        SessionKey::derive(&secret)
            .seal(&state)
            .map_err(|e| BrokerError::Unavailable(e.to_string()))
    }

    fn open_session(id: String) -> Option<String> {
        let (_, secret) = mode::<P>().ok()?;
        SessionKey::derive(&secret).open(&id)
    }
}

impl<P: Platform> upstream::Guest for Broker<P> {
    fn send(request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
        dispatch::<P>(request, None)
    }

    fn send_recorded(
        request: ApiRequest,
        item: String,
        entry: String,
    ) -> Result<ApiResponse, UpstreamError> {
        dispatch::<P>(request, Some((item, entry)))
    }
}

impl<P: Platform> wit_ledger::Guest for Broker<P> {
    fn get(item: String) -> Result<Option<String>, LedgerError> {
        ledger_get::<P>(&item)
    }

    fn put(item: String, entry: String) -> Result<(), LedgerError> {
        ledger_put::<P>(&item, &entry)
    }
}

impl<P: Platform> log::Guest for Broker<P> {
    fn write(level: log::Level, message: String) {
        let level = match level {
            log::Level::Trace => "trace",
            log::Level::Debug => "debug",
            log::Level::Info => "info",
            log::Level::Warn => "warn",
            log::Level::Error => "error",
        };
        emit::<P>(level, &message);
    }

    /// Progress is not streamed on composed hosts (each answer is one JSON
    /// body); it is dropped.
    fn progress(_: f64, _: Option<f64>, _: Option<String>) {}
}

/// Where the bound call's ledger is: `None` without a call or an
/// idempotency key; else the durable key prefix parts (workspace, tool,
/// idempotency key).
fn ledger_scope() -> Option<(String, String, String)> {
    CALL.with_borrow(|call| {
        let call = call.as_ref()?;
        Some((
            session::workspace_name(call.key.expose()),
            call.tool.clone(),
            call.idempotency_key.clone()?,
        ))
    })
}

/// Requests to the auth component's routes, counted to pace its sweep.
const SWEEP_REQUESTS: &str = "auth-sweep/requests";
/// Where the next page of the auth component's sweep starts.
const SWEEP_CURSOR: &str = "auth-sweep/cursor";
/// One auth request in this many runs a sweep page.
const AUTH_SWEEP_EVERY: i64 = 20;

/// The scope of a claim, owned.
enum ClaimScope {
    Tool(String),
    Request,
}

impl ClaimScope {
    fn as_scope(&self) -> Scope<'_> {
        match self {
            ClaimScope::Tool(tool) => Scope::Tool(tool),
            ClaimScope::Request => Scope::Request,
        }
    }
}

/// Where the record of `key` for the bound call lives, and its scope.
fn claim_record(key: &ClaimKey) -> Result<(String, ClaimScope), BrokerError> {
    CALL.with_borrow(|call| {
        let call = call
            .as_ref()
            .ok_or_else(|| BrokerError::Misconfigured("a claim before begin-call".into()))?;
        let workspace = session::workspace_name(call.key.expose());
        let (scope, key) = match key {
            ClaimKey::IdempotencyKey(key) => (ClaimScope::Tool(call.tool.clone()), key),
            ClaimKey::Request(key) => (ClaimScope::Request, key),
        };
        Ok((
            outcomes::record_key(&workspace, scope.as_scope(), key),
            scope,
        ))
    })
}

fn store_failed(error: StoreError) -> BrokerError {
    BrokerError::Unavailable(error.to_string())
}

/// A host that keeps nothing between requests cannot record an outcome
/// for a retry, so a tool that needs a ledger does not act.
fn no_store() -> LedgerError {
    LedgerError::Unavailable(
        "this host keeps no state between requests, so no outcome can be recorded for a retry \
         (bulk sends need the native server or Spin)"
            .into(),
    )
}

fn refused(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Refused(e.to_string())
}

fn ledger_get<P: Platform>(item: &str) -> Result<Option<String>, LedgerError> {
    let (workspace, tool, key) = ledger_scope().ok_or(LedgerError::NoKey)?;
    ledger::check_item(item).map_err(refused)?;
    match P::load(&ledger::durable_key(&workspace, &tool, &key, item)) {
        Ok(stored) => Ok(stored.and_then(|s| ledger::unexpired(&s, now_secs()))),
        Err(StoreError::Absent) => Err(no_store()),
        Err(StoreError::Failed(m)) => Err(LedgerError::Unavailable(m)),
    }
}

fn ledger_put<P: Platform>(item: &str, entry: &str) -> Result<(), LedgerError> {
    let (workspace, tool, key) = ledger_scope().ok_or(LedgerError::NoKey)?;
    CALL.with_borrow_mut(|call| match call {
        Some(call) => call.writes.count(item, entry).map_err(refused),
        None => Err(LedgerError::NoKey),
    })?;
    let stored = ledger::stored(entry, now_secs());
    match P::store(&ledger::durable_key(&workspace, &tool, &key, item), &stored) {
        Ok(()) => Ok(()),
        Err(StoreError::Absent) => Err(no_store()),
        Err(StoreError::Failed(m)) => Err(LedgerError::Unavailable(m)),
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Waits for a slot in the key's budget: 10 requests in any wall-clock
/// second, counted in the host's store where it has one (so concurrent
/// requests share it), else spaced 100 ms apart within this request.
fn acquire<P: Platform>(api_key: &str) {
    let fingerprint = session::workspace_name(api_key);
    loop {
        let second = now_secs();
        match P::increment(&format!("budget/{fingerprint}/{second}"), 1) {
            Ok(count) if count <= pacing::PER_SECOND => {
                // Best effort: windows two seconds old are no longer read.
                let _ = P::forget(&format!(
                    "budget/{fingerprint}/{}",
                    second.saturating_sub(2)
                ));
                return;
            }
            Ok(_) => sleep(pacing::until_next_second(wall_nanos())),
            Err(StoreError::Absent) => {
                sleep(pacing::wait(LAST_SENT.get(), monotonic_clock::now()));
                return;
            }
            Err(StoreError::Failed(m)) => {
                emit::<P>(
                    "warn",
                    &format!("the shared API budget is unavailable: {m}"),
                );
                sleep(pacing::wait(LAST_SENT.get(), monotonic_clock::now()));
                return;
            }
        }
    }
}

fn wall_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// The key of the bound call's caller.
fn key_for_call() -> Result<String, UpstreamError> {
    CALL.with_borrow(|call| call.as_ref().map(|c| c.key.expose().to_owned()))
        .ok_or_else(|| UpstreamError::InvalidRequest("no tool call is under way".into()))
}

/// The configured API base (`openphone_api_base_url`, else OpenPhone's).
fn api_base<P: Platform>() -> Result<ApiBase, String> {
    let base = P::setting(settings::API_BASE_URL).unwrap_or_else(|| ApiBase::DEFAULT.into());
    ApiBase::parse(&base).map_err(|e| e.to_string())
}

/// Why a candidate key could not be checked.
pub(crate) enum KeyCheck {
    /// OpenPhone answered 401 or 403.
    Rejected(u16),
    /// No usable answer; the message says why (never the key).
    Unavailable(String),
}

/// Checks `candidate` with one read as that key (`GET /v1/phone-numbers`),
/// as the native vault does; within the key's budget like any request.
pub(crate) fn check_key<P: Platform>(candidate: &str) -> Result<(), KeyCheck> {
    if !openphone_mcp_protocol::catalog::is_api_key_shaped(candidate) {
        return Err(KeyCheck::Rejected(401));
    }
    let target = api_base::<P>()
        .map_err(KeyCheck::Unavailable)?
        .target("/phone-numbers", &[])
        .map_err(|e| KeyCheck::Unavailable(e.to_string()))?;
    acquire::<P>(candidate);
    LAST_SENT.set(Some(monotonic_clock::now()));
    let headers = [("authorization", candidate), ("accept", "application/json")];
    match http::exchange(Verb::Get, &target, &headers, None) {
        Ok(answer) if (200..300).contains(&answer.status) => Ok(()),
        Ok(answer) if matches!(answer.status, 401 | 403) => Err(KeyCheck::Rejected(answer.status)),
        Ok(answer) => Err(KeyCheck::Unavailable(format!(
            "OpenPhone answered {}",
            answer.status
        ))),
        Err(failure) => Err(KeyCheck::Unavailable(format!(
            "OpenPhone could not be reached: {failure}"
        ))),
    }
}

fn dispatch<P: Platform>(
    request: ApiRequest,
    mut record: Option<(String, String)>,
) -> Result<ApiResponse, UpstreamError> {
    let key = key_for_call()?;
    let target = api_base::<P>()
        .map_err(UpstreamError::Unavailable)?
        .target(&request.path, &request.query)
        .map_err(|e| UpstreamError::InvalidRequest(e.to_string()))?;
    if let Some(body) = &request.body {
        serde_json::from_str::<serde_json::Value>(body).map_err(|e| {
            UpstreamError::InvalidRequest(format!("the body is not valid JSON: {e}"))
        })?;
    }
    let over_budget = CALL.with_borrow_mut(|call| match call {
        Some(call) => {
            call.requests += 1;
            call.requests > REQUESTS_PER_CALL
        }
        None => true,
    });
    if over_budget {
        return Err(UpstreamError::BudgetExhausted);
    }
    let verb = match request.method {
        Method::Get => Verb::Get,
        Method::Post => Verb::Post,
        Method::Patch => Verb::Patch,
        Method::Delete => Verb::Delete,
    };
    let is_read = verb == Verb::Get;
    let attempts = if is_read { pacing::READ_ATTEMPTS } else { 1 };
    let mut headers = vec![
        ("authorization", key.as_str()),
        ("accept", "application/json"),
    ];
    if request.body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let mut last = UpstreamError::Unavailable("no attempt made".into());
    for attempt in 0..attempts {
        if attempt > 0 {
            sleep(pacing::backoff(attempt));
        }
        acquire::<P>(&key);
        if let Some((item, entry)) = record.take() {
            ledger_put::<P>(&item, &entry).map_err(|e| {
                UpstreamError::InvalidRequest(format!("the entry was not recorded: {e:?}"))
            })?;
        }
        LAST_SENT.set(Some(monotonic_clock::now()));
        match http::exchange(
            verb,
            &target,
            &headers,
            request.body.as_deref().map(str::as_bytes),
        ) {
            Ok(answer) if answer.status == 429 => {
                emit::<P>(
                    "warn",
                    &format!(
                        "OpenPhone rate-limited {} (attempt {attempt})",
                        request.path
                    ),
                );
                last = UpstreamError::RateLimited;
            }
            Ok(answer) if answer.status >= 500 && is_read => {
                emit::<P>(
                    "warn",
                    &format!("OpenPhone answered {} to {}", answer.status, request.path),
                );
                last = UpstreamError::Unavailable(format!(
                    "OpenPhone answered HTTP {}",
                    answer.status
                ));
            }
            Ok(answer) => {
                let body = String::from_utf8(answer.body).map_err(|_| {
                    UpstreamError::Unavailable("OpenPhone sent an answer that is not UTF-8".into())
                })?;
                // An error body may quote the key back: never passed on.
                let body = if answer.status >= 400 {
                    redact::redact(&body, &[key.as_str()])
                } else {
                    body
                };
                return Ok(ApiResponse {
                    status: answer.status,
                    body,
                });
            }
            Err(failure) => {
                emit::<P>(
                    "warn",
                    &format!("OpenPhone request to {} failed: {failure}", request.path),
                );
                last = match failure {
                    Failure::Timeout => UpstreamError::Timeout,
                    Failure::Denied => UpstreamError::Unavailable(
                        "this host does not allow requests to the configured API base".into(),
                    ),
                    Failure::Connection(m) => UpstreamError::Unavailable(m),
                };
                if !is_read {
                    break;
                }
            }
        }
    }
    Err(last)
}

fn sleep(ns: u64) {
    if ns > 0 {
        monotonic_clock::subscribe_duration(ns).block();
    }
}
