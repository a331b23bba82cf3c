//! The audit trail: security events and write-tool calls, durable and
//! append-only, kept for the audit retention (90 days by default) and
//! queried with `openphone-mcp admin audit`.
//!
//! Each event is written in its own commit under a key that sorts by time
//! (`<unix ms, 13 digits>-<boot>-<sequence>`), never rewritten, and deleted
//! only by the sweep once its retention has passed. Events hold ids, scopes,
//! counts and outcomes: no token, code, key or full phone number (a client's
//! idempotency key passes the redactor, which masks numbers and secrets).

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::redact::Redactor;
use crate::state::store::{Store, Table};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditKind {
    ClientRegistered,
    ConsentApproved,
    ConsentDenied,
    KeyRejected,
    TokenRefreshed,
    /// A rotated refresh token was presented again: its grant was revoked.
    RefreshReused,
    /// An authorization code was used twice: its grant was revoked.
    CodeReplayed,
    /// An operator revoked a grant (`admin revoke-grant`).
    GrantRevoked,
    /// An operator revoked a client and its grants (`admin revoke-client`).
    ClientRevoked,
    /// A call of a tool that changes something (sends, creates).
    ToolCall,
}

impl AuditKind {
    pub const ALL: [AuditKind; 10] = [
        AuditKind::ClientRegistered,
        AuditKind::ConsentApproved,
        AuditKind::ConsentDenied,
        AuditKind::KeyRejected,
        AuditKind::TokenRefreshed,
        AuditKind::RefreshReused,
        AuditKind::CodeReplayed,
        AuditKind::GrantRevoked,
        AuditKind::ClientRevoked,
        AuditKind::ToolCall,
    ];

    /// Its name, as in the JSON and `--event`.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

impl FromStr for AuditKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AuditKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| {
                let names: Vec<String> = AuditKind::ALL.iter().map(|k| k.name()).collect();
                format!("`{text}` is not an event kind: one of {}", names.join(", "))
            })
    }
}

/// One event of the trail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix milliseconds.
    pub at_ms: u64,
    pub kind: Option<AuditKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// How a tool call ended (`ok`, `failed`, `replayed`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// How many recipients (or contacts) a tool call named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<u32>,
}

/// Who a request came from, as events record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

/// The longest idempotency key kept in an event.
const MAX_KEY_CHARS: usize = 200;

/// Appends events to the store.
#[derive(Debug)]
pub struct AuditLog {
    store: Arc<Store>,
    retention: Duration,
    redactor: Arc<Redactor>,
    /// Tells this process's keys apart from another's written the same ms.
    boot: u32,
    sequence: AtomicU64,
}

impl AuditLog {
    pub fn new(store: Arc<Store>, retention: Duration, redactor: Arc<Redactor>) -> Self {
        AuditLog {
            store,
            retention,
            redactor,
            boot: rand::random(),
            sequence: AtomicU64::new(0),
        }
    }

    /// Appends `event` (stamped now, from `origin`). A failure is logged,
    /// never passed on: the request it records has already happened.
    pub fn append(&self, mut event: AuditEvent, origin: &Origin) {
        event.at_ms = now_ms();
        event.request_id = origin.request_id.clone();
        event.client_address = origin.client_address.clone();
        event.idempotency_key = event.idempotency_key.map(|key| {
            let key: String = key.chars().take(MAX_KEY_CHARS).collect();
            self.redactor.redact(&key)
        });
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let key = format!("{:013}-{:08x}-{sequence:010}", event.at_ms, self.boot);
        let written = serde_json::to_vec(&event)
            .map_err(anyhow::Error::from)
            .and_then(|json| {
                self.store
                    .put(Table::Audit, &key, &json, self.retention.as_secs().max(1))
            });
        if let Err(error) = written {
            tracing::error!(error = %format!("{error:#}"), kind = ?event.kind, "writing an audit event failed");
        }
    }
}

/// Which events `admin audit` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Unix milliseconds: only events at or after it.
    pub since_ms: Option<u64>,
    pub grant: Option<String>,
    pub client_id: Option<String>,
    pub kind: Option<AuditKind>,
}

impl AuditFilter {
    fn keeps(&self, event: &AuditEvent) -> bool {
        self.since_ms.is_none_or(|since| event.at_ms >= since)
            && (self.grant.is_none() || event.grant == self.grant)
            && (self.client_id.is_none() || event.client_id == self.client_id)
            && (self.kind.is_none() || event.kind == self.kind)
    }
}

/// The events `filter` keeps, oldest first, at most `limit`.
pub fn query(store: &Store, filter: &AuditFilter, limit: usize) -> anyhow::Result<Vec<AuditEvent>> {
    const PAGE: usize = 512;
    // Keys sort by time: start just before the first millisecond wanted.
    let mut after = filter
        .since_ms
        .filter(|since| *since > 0)
        .map(|since| format!("{:013}", since - 1) + "~");
    let mut events = Vec::new();
    loop {
        let keys = store.keys_with_prefix(Table::Audit, "", after.as_deref(), PAGE)?;
        for key in &keys {
            let Some(bytes) = store.get(Table::Audit, key)? else {
                continue; // swept meanwhile
            };
            let event: AuditEvent = match serde_json::from_slice(&bytes) {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(key = %key, error = %error, "an audit event does not parse");
                    continue;
                }
            };
            if filter.keeps(&event) {
                events.push(event);
                if events.len() >= limit {
                    return Ok(events);
                }
            }
        }
        match keys.last() {
            Some(last) if keys.len() == PAGE => after = Some(last.clone()),
            _ => return Ok(events),
        }
    }
}

/// One event on one line, for a terminal: time, kind, then what is set.
pub fn describe(event: &AuditEvent) -> String {
    let mut line = format!(
        "{} {:<18}",
        rfc3339(event.at_ms),
        event.kind.map(AuditKind::name).unwrap_or_default()
    );
    let mut field = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            line.push_str(&format!(" {name}={value}"));
        }
    };
    field("client", event.client_id.clone());
    field("grant", event.grant.clone());
    field(
        "scopes",
        (!event.scopes.is_empty()).then(|| event.scopes.join(",")),
    );
    field("tool", event.tool.clone());
    field("key", event.idempotency_key.clone());
    field("outcome", event.outcome.clone());
    field("recipients", event.recipients.map(|n| n.to_string()));
    field("address", event.client_address.clone());
    field("request", event.request_id.clone());
    line
}

/// Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn rfc3339(ms: u64) -> String {
    let seconds = (ms / 1_000) as i64;
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        ms % 1_000
    )
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The time `--since` names: a duration back from now (`90s`, `30m`,
/// `12h`, `7d`) or an RFC 3339 time; as Unix milliseconds.
pub fn parse_since(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let unit = |suffix: char| -> Option<u64> {
        match suffix {
            's' => Some(1),
            'm' => Some(60),
            'h' => Some(3_600),
            'd' => Some(86_400),
            _ => None,
        }
    };
    if let Some(last) = text.chars().last()
        && let Some(seconds) = unit(last)
        && let Ok(count) = text[..text.len() - 1].parse::<u64>()
    {
        return Ok(now_ms().saturating_sub(count.saturating_mul(seconds).saturating_mul(1_000)));
    }
    parse_rfc3339_ms(text).ok_or_else(|| {
        format!(
            "`{text}` is neither a duration (90s, 30m, 12h, 7d) nor a time (2026-12-01T09:00:00Z)"
        )
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` as Unix milliseconds.
fn parse_rfc3339_ms(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits: String = fraction.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        millis = format!("{digits:0<3}")[..3].parse().ok()?;
        rest = &fraction[digits.len()..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[0..1], "+" | "-") && &rest[3..4] == ":" => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (rest[1..3].parse::<i64>().ok()? * 60 + rest[4..6].parse::<i64>().ok()?)
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    u64::try_from(seconds * 1_000 + millis).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(store: &Arc<Store>) -> AuditLog {
        let redactor = Arc::new(Redactor::new());
        AuditLog::new(
            Arc::clone(store),
            Duration::from_secs(90 * 86_400),
            redactor,
        )
    }

    fn event(kind: AuditKind, grant: &str) -> AuditEvent {
        AuditEvent {
            kind: Some(kind),
            grant: Some(grant.to_owned()),
            client_id: Some("client-1".to_owned()),
            ..AuditEvent::default()
        }
    }

    #[test]
    fn events_are_kept_in_order_and_filtered() {
        let store = Arc::new(Store::in_memory().unwrap());
        let audit = log(&store);
        let origin = Origin {
            request_id: Some("req-1".into()),
            client_address: Some("192.0.2.7".into()),
        };
        for n in 0..1_200 {
            let kind = if n % 3 == 0 {
                AuditKind::ConsentApproved
            } else {
                AuditKind::TokenRefreshed
            };
            audit.append(event(kind, &format!("g{}", n % 2)), &origin);
        }
        let all = query(&store, &AuditFilter::default(), usize::MAX).unwrap();
        assert_eq!(all.len(), 1_200);
        assert!(all.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        assert_eq!(all[0].request_id.as_deref(), Some("req-1"));
        assert_eq!(all[0].client_address.as_deref(), Some("192.0.2.7"));
        let approved = AuditFilter {
            kind: Some(AuditKind::ConsentApproved),
            grant: Some("g0".into()),
            ..AuditFilter::default()
        };
        assert_eq!(query(&store, &approved, usize::MAX).unwrap().len(), 200);
        let later = AuditFilter {
            since_ms: Some(now_ms() + 60_000),
            ..AuditFilter::default()
        };
        assert!(query(&store, &later, usize::MAX).unwrap().is_empty());
        let earlier = AuditFilter {
            since_ms: Some(all[0].at_ms),
            ..AuditFilter::default()
        };
        assert_eq!(query(&store, &earlier, 10).unwrap().len(), 10);
    }

    #[test]
    fn idempotency_keys_lose_numbers_and_length() {
        let store = Arc::new(Store::in_memory().unwrap());
        let audit = log(&store);
        let mut call = event(AuditKind::ToolCall, "g");
        call.idempotency_key = Some(format!("remind +14155550111 {}", "x".repeat(500)));
        audit.append(call, &Origin::default());
        let kept = query(&store, &AuditFilter::default(), 1).unwrap();
        let key = kept[0].idempotency_key.as_deref().unwrap();
        assert!(!key.contains("4155550111"), "{key}");
        assert!(key.chars().count() <= MAX_KEY_CHARS + 8, "{key}");
    }

    #[test]
    fn events_expire_with_their_retention() {
        let store = Arc::new(Store::in_memory().unwrap());
        let audit = AuditLog::new(
            Arc::clone(&store),
            Duration::from_secs(1),
            Arc::new(Redactor::new()),
        );
        audit.append(event(AuditKind::GrantRevoked, "g"), &Origin::default());
        assert_eq!(store.len(Table::Audit).unwrap(), 1);
        std::thread::sleep(Duration::from_millis(2_100));
        assert!(
            query(&store, &AuditFilter::default(), 10)
                .unwrap()
                .is_empty(),
            "expired events are gone"
        );
    }

    #[test]
    fn since_takes_durations_and_times() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2026-12-01T09:30:00Z"),
            Some(1_796_117_400_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-12-01T10:30:00.5+01:00"),
            Some(1_796_117_400_500)
        );
        let hour_ago = parse_since("1h").unwrap();
        assert!(now_ms() - hour_ago >= 3_600_000 && now_ms() - hour_ago < 3_700_000);
        for bad in ["", "yesterday", "12x", "2026-13-01T00:00:00Z", "2026-12-01"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
        assert_eq!(
            "code-replayed".parse::<AuditKind>(),
            Ok(AuditKind::CodeReplayed)
        );
        assert_eq!(rfc3339(1_796_117_400_500), "2026-12-01T09:30:00.500Z");
        assert_eq!(
            parse_since(&rfc3339(1_796_117_400_500)),
            Ok(1_796_117_400_500)
        );
        assert!(
            "nope"
                .parse::<AuditKind>()
                .unwrap_err()
                .contains("tool-call")
        );
    }
}
