//! Log redaction, applied where log lines leave the process.
//!
//! Every formatted line — the host's own and the guests' — goes through
//! [`Redactor::redact`] inside the log writer, so no call site can forget it:
//! registered secrets (API keys the host holds) become `[redacted]`, bearer
//! tokens, authorization headers and OAuth-looking parameters lose their
//! values, and E.164 phone numbers keep only their ends (`+1555•••0123`).
//!
//! Nobody outside can steer it: only keys the host itself holds are
//! registered (the single user's, and keys the vault accepted or opened —
//! never a candidate a client typed), registered secrets must be API-key
//! shaped (so none can match JSON syntax such as `"level":`), and the
//! registry is bounded: past [`MAX_SECRETS`] the least recently registered
//! key is forgotten (a key in use is registered again each time the vault
//! opens it).

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{Arc, LazyLock, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Captures, Regex};

/// Secrets the redactor holds at most.
pub(crate) const MAX_SECRETS: usize = 4_096;
/// Shorter values are not registered: masking them would garble ordinary
/// text, and no real key is that short.
const MIN_SECRET_BYTES: usize = 8;

/// Removes secrets and personal data from text.
#[derive(Debug, Default)]
pub struct Redactor {
    secrets: RwLock<Secrets>,
}

/// The registered secrets and a matcher for all of them at once.
#[derive(Debug, Default)]
struct Secrets {
    /// secret → when it was last registered (a counter).
    known: HashMap<String, u64>,
    clock: u64,
    /// Rebuilt when the set changes; `None` when it is empty.
    matcher: Option<AhoCorasick>,
}

static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+[1-9]\d{6,14}\b").expect("valid regex"));
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+").expect("valid regex")
});
/// A credential-like field name at a word boundary (`code=`, `"token":`, but
/// not `…_secret:` or `zipcode=`), and its value.
static AUTH_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(^|[^A-Za-z0-9_])("?(authorization|api[_-]?key|x-api-key|access_token|refresh_token|id_token|client_secret|code_verifier|code|token|password|secret)"?\s*[:=]\s*"?)([^"\s&,;}]+)"#,
    )
    .expect("valid regex")
});

/// True for a value the registry accepts: API-key shaped (RFC 7235
/// token68 characters), at least [`MIN_SECRET_BYTES`] long.
fn registrable(secret: &str) -> bool {
    secret.len() >= MIN_SECRET_BYTES
        && secret.len() <= 512
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

impl Redactor {
    /// A redactor with no registered secrets.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Registers a secret the host holds, which must never appear in output.
    /// Values that are not API-key shaped are ignored (see [`registrable`]).
    pub fn register(&self, secret: &str) {
        if !registrable(secret) {
            return;
        }
        let Ok(mut secrets) = self.secrets.write() else {
            return;
        };
        secrets.clock += 1;
        let now = secrets.clock;
        if let Some(seen) = secrets.known.get_mut(secret) {
            *seen = now;
            return;
        }
        if secrets.known.len() >= MAX_SECRETS
            && let Some(oldest) = (secrets.known.iter())
                .min_by_key(|(_, seen)| **seen)
                .map(|(s, _)| s.clone())
        {
            secrets.known.remove(&oldest);
        }
        secrets.known.insert(secret.to_owned(), now);
        secrets.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(secrets.known.keys())
            .ok();
    }

    /// How many secrets are registered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.secrets.read().map(|s| s.known.len()).unwrap_or(0)
    }

    /// `text` with every secret and phone number masked.
    pub fn redact(&self, text: &str) -> String {
        let out = self.redact_secrets(text);
        PHONE
            .replace_all(&out, |c: &Captures<'_>| mask_phone(&c[0]))
            .into_owned()
    }

    /// `text` with secrets masked but phone numbers kept: for what OpenPhone
    /// says in an error, which reaches the client (who knows the numbers it
    /// sent) and must never carry a key or token.
    pub fn redact_secrets(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        match self.secrets.read().as_deref().map(|s| s.matcher.as_ref()) {
            Ok(Some(matcher)) => matcher.replace_all_with(text, &mut out, |_, _, dst| {
                dst.push_str("[redacted]");
                true
            }),
            _ => out.push_str(text),
        }
        let out = BEARER.replace_all(&out, |c: &Captures<'_>| format!("{} [redacted]", &c[1]));
        let out = AUTH_FIELD.replace_all(&out, |c: &Captures<'_>| {
            // OpenPhone's error codes (`"code": "0206400"`) are not secrets.
            if c[3].eq_ignore_ascii_case("code") && c[4].bytes().all(|b| b.is_ascii_digit()) {
                return c[0].to_owned();
            }
            format!("{}{}[redacted]", &c[1], &c[2])
        });
        out.into_owned()
    }
}

/// `+15555550123` → `+1555•••0123`.
pub fn mask_phone(number: &str) -> String {
    let digits = number.trim_start_matches('+');
    if digits.len() <= 8 {
        return format!("+{}•••", &digits[..2.min(digits.len())]);
    }
    format!("+{}•••{}", &digits[..4], &digits[digits.len() - 4..])
}

/// One event as exactly one line: control characters inside it (a newline
/// or an ANSI escape in a client-chosen value, in the text format) are
/// written escaped, so nothing can forge a log line or a terminal sequence.
fn one_line(event: &str) -> String {
    let body = event.strip_suffix('\n').unwrap_or(event);
    let mut out = String::with_capacity(body.len() + 1);
    for c in body.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// A `tracing_subscriber` writer that redacts each formatted event before
/// writing it to stderr. The fmt layer hands over one whole event per write
/// batch; lines are redacted as they are completed.
#[derive(Debug, Clone)]
pub struct RedactingStderr {
    redactor: Arc<Redactor>,
}

impl RedactingStderr {
    pub fn new(redactor: Arc<Redactor>) -> Self {
        RedactingStderr { redactor }
    }
}

/// Buffers one event and writes it redacted on drop.
#[derive(Debug)]
pub struct RedactingLine {
    redactor: Arc<Redactor>,
    buffer: Vec<u8>,
}

impl Write for RedactingLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let redacted = one_line(&self.redactor.redact(&text));
        let mut stderr = io::stderr().lock();
        let _ = stderr.write_all(redacted.as_bytes());
        let _ = stderr.flush();
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine {
            redactor: Arc::clone(&self.redactor),
            buffer: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phone_numbers() {
        let r = Redactor::new();
        assert_eq!(r.redact("to +15555550123 ok"), "to +1555•••0123 ok");
        assert_eq!(r.redact("[\"+442079460958\"]"), "[\"+4420•••0958\"]");
        assert_eq!(r.redact("version 1.2.3 and +12"), "version 1.2.3 and +12");
    }

    #[test]
    fn removes_registered_secrets_and_tokens() {
        let r = Redactor::new();
        r.register("sk-live-0123456789");
        r.register("short");
        let line =
            r.redact("key sk-live-0123456789 and short and Authorization: Bearer abc.def-ghi");
        assert!(!line.contains("0123456789"), "{line}");
        assert!(!line.contains("abc.def"), "{line}");
        assert!(line.contains("short"), "{line}");
        let line = r.redact(
            r#"{"access_token":"tok123","code":"xyz","refresh_token": "r1"} ?code=abc&state=1"#,
        );
        for leaked in ["tok123", "xyz", "r1", "abc"] {
            assert!(!line.contains(leaked), "{leaked} in {line}");
        }
        assert!(line.contains("state=1"), "{line}");
    }

    #[test]
    fn field_names_need_a_left_boundary() {
        let r = Redactor::new();
        let line =
            r.redact("openphone_mcp::auth::deployment_secret: generated a secret; zipcode=12345");
        assert!(line.contains("deployment_secret: generated"), "{line}");
        assert!(line.contains("zipcode=12345"), "{line}");
        // OpenPhone's numeric error codes stay; OAuth codes go.
        let line = r.redact(r#"{"code":"0206400","message":"x"} code=Xy7-abc"#);
        assert!(line.contains(r#""code":"0206400""#), "{line}");
        assert!(!line.contains("Xy7-abc"), "{line}");
    }

    #[test]
    fn only_key_shaped_values_are_registered() {
        let r = Redactor::new();
        for hostile in [
            r#""level":"#,
            r#""message":"#,
            "a b c d e f g h",
            "{\"x\":1}",
        ] {
            r.register(hostile);
        }
        assert_eq!(r.len(), 0);
        let line = r#"{"level":"INFO","message":"hello","fields":{}}"#;
        assert_eq!(r.redact(line), line);
    }

    #[test]
    fn the_registry_is_bounded_and_keeps_recent_keys() {
        let r = Redactor::new();
        r.register("kept-key-00000000");
        for n in 0..MAX_SECRETS + 500 {
            r.register(&format!("other-key-{n:08}"));
            if n % 100 == 0 {
                // In use: registered again each time the vault opens it.
                r.register("kept-key-00000000");
            }
        }
        assert_eq!(r.len(), MAX_SECRETS);
        assert_eq!(r.redact("x kept-key-00000000 y"), "x [redacted] y");
        let last = format!("other-key-{:08}", MAX_SECRETS + 499);
        assert_eq!(r.redact(&last), "[redacted]");
        // The oldest were forgotten.
        assert_eq!(r.redact("other-key-00000001"), "other-key-00000001");
    }

    #[test]
    fn an_event_is_one_line_whatever_its_fields_hold() {
        assert_eq!(one_line("a\n"), "a\n");
        assert_eq!(
            one_line("client x\n2026-01-01 INFO forged\r\u{1b}[2J\n"),
            "client x\\n2026-01-01 INFO forged\\r\\u{1b}[2J\n"
        );
    }

    #[test]
    fn error_text_keeps_numbers_but_not_secrets() {
        let r = Redactor::new();
        r.register("sk-live-0123456789");
        let text = r.redact_secrets(
            "key sk-live-0123456789 refused for +14155550199, Authorization: Bearer abc.def",
        );
        assert!(text.contains("+14155550199"), "{text}");
        assert!(
            !text.contains("0123456789") && !text.contains("abc.def"),
            "{text}"
        );
    }
}
