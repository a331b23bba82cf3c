//! Log lines as the host's stderr receives them: one JSON object per line,
//! with the API key, bearer values and phone numbers masked first, whatever
//! a tool wrote.

/// Longest message kept; the rest is cut (as natively).
pub const MAX_MESSAGE: usize = 2_048;

/// Masks `secrets` (each replaced by `[redacted]`), the value after
/// `Bearer `, and E.164 numbers (`+15555550123` → `+1555•••0123`).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        out = out.replace(secret, "[redacted]");
    }
    mask_bearer(&mask_phones(&out))
}

/// `{"level":…,"message":…,"tool":…}`: `message` redacted and cut to
/// [`MAX_MESSAGE`] bytes, every field JSON-escaped so the line stays one
/// line.
pub fn event(level: &str, message: &str, tool: Option<&str>, secrets: &[&str]) -> String {
    let mut message = redact(message, secrets);
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    let mut line = serde_json::json!({ "level": level, "message": message });
    if let Some(tool) = tool {
        line["tool"] = tool.into();
    }
    line.to_string()
}

fn mask_phones(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('+') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if (8..=15).contains(&digits) {
            let number = &after[..digits];
            out.push('+');
            out.push_str(&number[..4]);
            out.push_str("•••");
            out.push_str(&number[digits - 4..]);
        } else {
            out.push('+');
            out.push_str(&after[..digits]);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

fn mask_bearer(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_ignore_case(rest, "bearer ") {
        let value_start = at + "bearer ".len();
        out.push_str(&rest[..value_start]);
        let value = rest[value_start..]
            .bytes()
            .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\'' | b','))
            .count();
        if value > 0 {
            out.push_str("[redacted]");
        }
        rest = &rest[value_start + value..];
    }
    out.push_str(rest);
    out
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tokens_and_numbers_are_masked() {
        let secrets = ["sk-live-ABCDEFGH1234"];
        let text = "key sk-live-ABCDEFGH1234 to +15555550123, Authorization: Bearer tok.en-9 end";
        assert_eq!(
            redact(text, &secrets),
            "key [redacted] to +1555•••0123, Authorization: Bearer [redacted] end"
        );
        assert_eq!(
            redact("+123 and +442079460958123", &[]),
            "+123 and +4420•••8123"
        );
        // Too short to be a key: masking it would mask common words.
        assert_eq!(redact("a short key", &["short"]), "a short key");
    }

    #[test]
    fn an_event_is_one_json_line_whatever_the_message() {
        let hostile = "x\n{\"level\":\"error\",\"message\":\"forged\"}\r\u{2028}";
        let line = event("info", hostile, Some("send-message"), &[]);
        assert!(!line.contains('\n') && !line.contains('\r'));
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(parsed["level"], "info");
        assert_eq!(parsed["tool"], "send-message");
        assert_eq!(parsed["message"], hostile);
        let long = event("warn", &"é".repeat(MAX_MESSAGE), None, &[]);
        let parsed: serde_json::Value = serde_json::from_str(&long).expect("one JSON object");
        assert!(
            parsed["message"]
                .as_str()
                .is_some_and(|m| m.len() <= MAX_MESSAGE + 3)
        );
    }
}
