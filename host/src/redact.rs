//! Log redaction, applied where log lines leave the process.
//!
//! Every formatted line — the host's own and the guests' — goes through
//! [`Redactor::redact`] inside the log writer, so no call site can forget it:
//! registered secrets (API keys the host holds) become `[redacted]`, bearer
//! tokens, authorization headers and OAuth-looking parameters lose their
//! values, and E.164 phone numbers keep only their ends (`+1555•••0123`).

use std::io::{self, Write};
use std::sync::{Arc, LazyLock, RwLock};

use regex::{Captures, Regex};

/// Removes secrets and personal data from text.
#[derive(Debug, Default)]
pub struct Redactor {
    secrets: RwLock<Vec<String>>,
}

static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+[1-9]\d{6,14}\b").expect("valid regex"));
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+").expect("valid regex")
});
static AUTH_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)("?(?:authorization|api[_-]?key|x-api-key|access_token|refresh_token|id_token|client_secret|code_verifier|code|token|password|secret)"?\s*[:=]\s*"?)([^"\s&,;}]+)"#,
    )
    .expect("valid regex")
});

impl Redactor {
    /// A redactor with no registered secrets.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Registers a secret that must never appear in output. Short values
    /// (under 8 bytes) are ignored: masking them would garble ordinary text,
    /// and no real key is that short.
    pub fn register(&self, secret: &str) {
        if secret.len() < 8 {
            return;
        }
        if let Ok(mut secrets) = self.secrets.write()
            && !secrets.iter().any(|s| s == secret)
        {
            secrets.push(secret.to_owned());
            // Longest first, so a secret containing another is removed whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every secret and phone number masked.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if let Ok(secrets) = self.secrets.read() {
            for secret in secrets.iter() {
                if out.contains(secret.as_str()) {
                    out = out.replace(secret.as_str(), "[redacted]");
                }
            }
        }
        let out = BEARER.replace_all(&out, |c: &Captures<'_>| format!("{} [redacted]", &c[1]));
        let out = AUTH_FIELD.replace_all(&out, |c: &Captures<'_>| format!("{}[redacted]", &c[1]));
        let out = PHONE.replace_all(&out, |c: &Captures<'_>| mask_phone(&c[0]));
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
        let redacted = self.redactor.redact(&text);
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
}
