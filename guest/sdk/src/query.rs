//! Arguments and answers of the read tools (`fetch-messages`,
//! `fetch-call-transcripts`): resolving an inbox to the workspace's
//! phone-number record, ISO 8601 date-time arguments, bounded counts, the
//! API's list-page shape and an inbox's recent conversations.

use std::borrow::Cow;
use std::fmt;

use crate::schemars::{self, JsonSchema, Schema, SchemaGenerator, json_schema};
use crate::text::shorten;
use crate::{Api, ApiError, E164, Inbox, ToolError};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

/// Most conversations a call looks at when no participant is given: one
/// `GET /v1/conversations` page, so the request count stays bounded.
pub const CONVERSATIONS_SCANNED: usize = 50;

/// Most numbers quoted in the "unknown inbox" message.
const NUMBERS_LISTED: usize = 20;

/// Maps a failed API call to a tool error: no answer stays `upstream` (the
/// host explains it), an answer becomes `failed` with the SDK's explanation
/// after `context` (what was being done).
pub fn api_failure(context: &str, error: ApiError) -> ToolError {
    match error {
        ApiError::Upstream(e) => ToolError::Upstream(e),
        e => ToolError::Failed(format!("{context}: {e}")),
    }
}

/// A message as `GET /v1/messages` lists it (the fields the tools read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedMessage {
    pub id: String,
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// `incoming` or `outgoing`, relative to the workspace number.
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One of the workspace's numbers, as `GET /v1/phone-numbers` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceNumber {
    /// OpenPhone's id for the number (PN…).
    pub id: String,
    /// The number, E.164.
    pub number: String,
    /// Its name in OpenPhone (e.g. `Sales`).
    #[serde(default)]
    pub name: Option<String>,
}

impl WorkspaceNumber {
    /// `Sales (+12125550100)`, or the bare number when it has no name.
    pub fn label(&self) -> String {
        match self.name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => format!("{name} ({})", self.number),
            _ => self.number.clone(),
        }
    }

    /// Whether `number` is this inbox's own number (as opposed to a participant).
    pub fn is_own(&self, number: &str) -> bool {
        number == self.number
            || E164::parse(number)
                .ok()
                .zip(E164::parse(&self.number).ok())
                .is_some_and(|(a, b)| a == b)
    }

    fn matches(&self, inbox: &Inbox) -> bool {
        match inbox {
            Inbox::Id(id) => self.id == *id,
            Inbox::Number(n) => self.is_own(n.as_str()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct NumberList {
    data: Vec<WorkspaceNumber>,
}

/// Finds `inbox` among the workspace's numbers (`GET /v1/phone-numbers`, not
/// paginated). Done for ids too: list endpoints need the `PN…` id, the output
/// needs the number and name, and an unknown inbox gets one clear message
/// listing the numbers that do exist instead of a bare `404` later.
pub fn resolve_inbox(api: &impl Api, inbox: &Inbox) -> Result<WorkspaceNumber, ToolError> {
    let list: NumberList = api.get("/phone-numbers", &[]).map_err(|e| {
        api_failure(
            "Could not look up the workspace's phone numbers to find `inbox`",
            e,
        )
    })?;
    if let Some(found) = list.data.iter().find(|pn| pn.matches(inbox)) {
        return Ok(found.clone());
    }
    let given = inbox.as_api_value();
    if list.data.is_empty() {
        return Err(ToolError::InvalidArguments(format!(
            "`inbox`: {given} is not available: the connected user has no OpenPhone numbers in this workspace"
        )));
    }
    let mut known: Vec<String> = list
        .data
        .iter()
        .take(NUMBERS_LISTED)
        .map(|pn| match pn.name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => format!("{name} {} ({})", pn.number, pn.id),
            _ => format!("{} ({})", pn.number, pn.id),
        })
        .collect();
    if list.data.len() > NUMBERS_LISTED {
        known.push(format!("and {} more", list.data.len() - NUMBERS_LISTED));
    }
    Err(ToolError::InvalidArguments(format!(
        "`inbox`: {given} is not one of this workspace's OpenPhone numbers. Use one of: {}",
        known.join(", ")
    )))
}

/// A page of a list endpoint: `{data, totalItems, nextPageToken}`
/// (`totalItems` is documented as inaccurate, so it is not read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// A conversation as `GET /v1/conversations` lists it (the fields the tools read;
/// `fetch-call-transcripts` needs only the participants).
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The external numbers (the inbox's own number is not among them).
    #[serde(default)]
    pub participants: Vec<String>,
    #[serde(default)]
    pub last_activity_at: Option<String>,
}

/// The inbox's most recent conversations, most recent first: one page of at
/// most [`CONVERSATIONS_SCANNED`], and whether more exist.
///
/// `phoneNumbers` takes the `PN…` id or the number; the id is sent because it
/// is what the inbox was resolved to. With `active_after`, conversations whose
/// last activity is older are left out (`updatedAfter`): they cannot hold a
/// newer message.
pub fn recent_conversations(
    api: &impl Api,
    inbox: &WorkspaceNumber,
    active_after: Option<&DateTime>,
) -> Result<(Vec<Conversation>, bool), ToolError> {
    let max = CONVERSATIONS_SCANNED.to_string();
    let mut query = vec![
        ("phoneNumbers", inbox.id.as_str()),
        ("maxResults", max.as_str()),
    ];
    if let Some(after) = active_after {
        query.push(("updatedAfter", after.as_str()));
    }
    let page: Page<Conversation> = api
        .get("/conversations", &query)
        .map_err(|e| api_failure("Could not list the inbox's recent conversations", e))?;
    Ok((page.data, page.next_page_token.is_some()))
}

/// The later of the caller's lower bound and `cutoff` (an API timestamp), as
/// the value for `createdAfter`. Once a call holds as many items as asked, the
/// next conversations are asked only for items newer than the oldest it keeps.
pub fn later_bound(user_after: Option<&DateTime>, cutoff: Option<&str>) -> Option<String> {
    let cutoff = cutoff.and_then(|c| parse_rfc3339(c).map(|ms| (c, ms)));
    match (user_after, cutoff) {
        (Some(user), Some((c, ms))) if ms > user.millis() => Some(c.to_owned()),
        (Some(user), _) => Some(user.as_str().to_owned()),
        (None, Some((c, _))) => Some(c.to_owned()),
        (None, None) => None,
    }
}

/// Sort key for API timestamps, newest first once reversed; unreadable ones last.
pub fn time_key(created_at: Option<&str>) -> (i64, String) {
    let text = created_at.unwrap_or_default();
    (parse_rfc3339(text).unwrap_or(i64::MIN), text.to_owned())
}

/// An ISO 8601 / RFC 3339 date-time argument with a time zone, e.g.
/// `2025-11-03T14:00:00Z` or `2025-11-03T09:00:00-05:00`.
///
/// Checked when the arguments are parsed, so a bad value is reported naming
/// its field, and kept as milliseconds so two bounds can be compared. The
/// API receives the text (with `T` and `Z` upper-cased).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DateTime {
    text: String,
    ms: i64,
}

impl DateTime {
    /// Parses `input`, explaining a refusal in words a model can act on.
    pub fn parse(input: &str) -> Result<Self, String> {
        let text = input.trim().to_ascii_uppercase();
        if let Some(ms) = parse_rfc3339(&text) {
            return Ok(DateTime { text, ms });
        }
        let shown = shorten(input.trim(), 40);
        let b = text.as_bytes();
        let date_like = b.len() >= 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b[..10]
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        Err(if date_like && b.len() == 10 {
            format!(
                "`{shown}` is a date without a time: write a date-time such as {shown}T00:00:00Z"
            )
        } else if date_like && parse_rfc3339(&format!("{text}Z")).is_some() {
            format!(
                "`{shown}` has no time zone: add Z for UTC ({text}Z) or an offset such as -05:00"
            )
        } else {
            format!(
                "`{shown}` is not an ISO 8601 date-time: write e.g. 2025-11-03T14:00:00Z, or with an offset 2025-11-03T09:00:00-05:00"
            )
        })
    }

    /// The text sent to the API.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(&self) -> i64 {
        self.ms
    }
}

impl TryFrom<String> for DateTime {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DateTime::parse(&value)
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateTime({})", self.text)
    }
}

impl JsonSchema for DateTime {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "DateTime".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
        })
    }
}

/// Refuses a window that cannot contain anything.
pub fn check_window(after: Option<&DateTime>, before: Option<&DateTime>) -> Result<(), ToolError> {
    match (after, before) {
        (Some(a), Some(b)) if a.millis() >= b.millis() => {
            Err(ToolError::InvalidArguments(format!(
                "`createdAfter` ({}) must be earlier than `createdBefore` ({})",
                a.as_str(),
                b.as_str()
            )))
        }
        _ => Ok(()),
    }
}

/// A whole number from `MIN` to `MAX`, `DEFAULT` when omitted: checked when
/// the arguments are parsed, so the error names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count<const MIN: u32, const MAX: u32, const DEFAULT: u32>(u32);

impl<const MIN: u32, const MAX: u32, const DEFAULT: u32> Count<MIN, MAX, DEFAULT> {
    /// The number.
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

impl<const MIN: u32, const MAX: u32, const DEFAULT: u32> Default for Count<MIN, MAX, DEFAULT> {
    fn default() -> Self {
        Count(DEFAULT)
    }
}

impl<'de, const MIN: u32, const MAX: u32, const DEFAULT: u32> Deserialize<'de>
    for Count<MIN, MAX, DEFAULT>
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        // `20.0` is a whole number too; JSON does not tell them apart.
        let whole = match &value {
            serde_json::Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(MAX))
                    .map(|f| f as u64)
            }),
            _ => None,
        };
        match whole {
            Some(n) if (u64::from(MIN)..=u64::from(MAX)).contains(&n) => Ok(Count(n as u32)),
            _ => Err(D::Error::custom(format!(
                "expected a whole number from {MIN} to {MAX}, got {}",
                shorten(&value.to_string(), 40)
            ))),
        }
    }
}

impl<const MIN: u32, const MAX: u32, const DEFAULT: u32> JsonSchema for Count<MIN, MAX, DEFAULT> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Count{MIN}To{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": MIN,
            "maximum": MAX,
            "default": DEFAULT,
        })
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time with a time
/// zone (`2025-11-03T14:00:00Z`, `…T14:00:00.123+02:00`; upper-case `T`/`Z`).
/// `None` when it is not one, including impossible dates (February 30).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis += i64::from(b[i] - b'0') * [100, 10, 1][i - start];
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_minutes = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && at(i + 3, b':') => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
        - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_reads_utc_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(
            parse_rfc3339("2025-11-03T14:00:00.000Z"),
            parse_rfc3339("2025-11-03T09:00:00-05:00")
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        for bad in [
            "2025-11-03",
            "2025-11-03T14:00:00",
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-11-03T24:00:00Z",
            "2025-11-03T14:00:00.Z",
            "2025-11-03T14:00:00+0500",
            "2025-11-03T14:00:00Zjunk",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_time_refusals_say_what_to_write() {
        let err = DateTime::parse("2025-11-03").unwrap_err();
        assert!(err.contains("2025-11-03T00:00:00Z"), "{err}");
        let err = DateTime::parse("2025-11-03T14:00:00").unwrap_err();
        assert!(err.contains("no time zone"), "{err}");
        let err = DateTime::parse("last tuesday").unwrap_err();
        assert!(err.contains("not an ISO 8601 date-time"), "{err}");
        let ok = DateTime::parse(" 2025-11-03t14:00:00z ").unwrap();
        assert_eq!(ok.as_str(), "2025-11-03T14:00:00Z");
    }

    #[test]
    fn later_bound_picks_the_later_moment() {
        let user = DateTime::parse("2025-11-03T00:00:00Z").unwrap();
        assert_eq!(
            later_bound(Some(&user), Some("2025-11-04T00:00:00.000Z")).as_deref(),
            Some("2025-11-04T00:00:00.000Z")
        );
        assert_eq!(
            later_bound(Some(&user), Some("2025-11-02T00:00:00.000Z")).as_deref(),
            Some("2025-11-03T00:00:00Z")
        );
        assert_eq!(later_bound(None, None), None);
        assert_eq!(later_bound(None, Some("garbage")), None);
    }
}
