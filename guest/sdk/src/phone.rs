//! Phone numbers and inboxes, parsed once at the edge.
//!
//! The OpenPhone API takes numbers in E.164 (`+` then 2–15 digits, no leading
//! zero) and phone-number ids (`PN…`). Arguments are parsed into these types
//! during deserialization, so a tool never handles an unchecked number.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::text::shorten;

/// Why a phone number or inbox was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error(
        "`{0}` is not an E.164 phone number: write + then the country code and number, digits only, e.g. +15555550123"
    )]
    NotE164(String),
    #[error(
        "`{0}` is neither an E.164 phone number (e.g. +15555550123) nor an OpenPhone phone number id (PN…)"
    )]
    NotInbox(String),
}

/// A phone number in E.164 form, e.g. `+15555550123`.
///
/// Spaces, dashes, dots and parentheses between digits are accepted and
/// removed (`+1 (555) 555-0123`); a number without `+` and country code is
/// refused rather than guessed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Parses and normalises `input`.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let refuse = || PhoneError::NotE164(shorten(trimmed, 40));
        let rest = trimmed.strip_prefix('+').ok_or_else(refuse)?;
        let digits: String = rest
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let valid = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(E164(format!("+{digits}")))
        } else {
            Err(refuse())
        }
    }

    /// The number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden (`+1555•••0123`), for messages and
    /// logs that should not carry a full number.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        if digits.len() <= 6 {
            return format!("+{}•••", &digits[..digits.len().min(2)]);
        }
        format!("+{}•••{}", &digits[..4], &digits[digits.len() - 4..])
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        E164::parse(&value)
    }
}

impl From<E164> for String {
    fn from(value: E164) -> Self {
        value.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.masked())
    }
}

impl JsonSchema for E164 {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "E164".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": r"^\+[1-9]\d{1,14}$",
            "description": "Phone number in E.164 format: + then country code and number, digits only."
        })
    }
}

/// One of the workspace's OpenPhone numbers, named by its E.164 number or
/// its id (`PN…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Inbox {
    Id(String),
    Number(E164),
}

impl Inbox {
    /// Parses `PN…` ids and E.164 numbers.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if let Some(rest) = trimmed.strip_prefix("PN") {
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Ok(Inbox::Id(trimmed.to_owned()));
            }
        } else if trimmed.starts_with('+') {
            return E164::parse(trimmed).map(Inbox::Number);
        }
        Err(PhoneError::NotInbox(shorten(trimmed, 40)))
    }

    /// The value the API accepts as `from` (either form is accepted there).
    pub fn as_api_value(&self) -> &str {
        match self {
            Inbox::Id(id) => id,
            Inbox::Number(n) => n.as_str(),
        }
    }
}

impl TryFrom<String> for Inbox {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Inbox::parse(&value)
    }
}

impl From<Inbox> for String {
    fn from(value: Inbox) -> Self {
        match value {
            Inbox::Id(id) => id,
            Inbox::Number(n) => n.into(),
        }
    }
}

impl JsonSchema for Inbox {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Inbox".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": r"^(PN[A-Za-z0-9]+|\+[1-9]\d{1,14})$",
            "description": "An OpenPhone number of this workspace: its E.164 number or its id (PN…)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_and_normalises() {
        assert_eq!(
            E164::parse("+15555550123").unwrap().as_str(),
            "+15555550123"
        );
        assert_eq!(
            E164::parse(" +1 (555) 555-0123 ").unwrap().as_str(),
            "+15555550123"
        );
        assert_eq!(
            E164::parse("+44.20.7946.0958").unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn e164_refuses_what_it_cannot_know() {
        for bad in [
            "5555550123",
            "+0123456",
            "+1",
            "+1555abc0123",
            "",
            "+1234567890123456",
            "++1555",
        ] {
            assert!(
                matches!(E164::parse(bad), Err(PhoneError::NotE164(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn e164_masks_the_middle() {
        assert_eq!(
            E164::parse("+15555550123").unwrap().masked(),
            "+1555•••0123"
        );
        assert!(!format!("{:?}", E164::parse("+15555550123").unwrap()).contains("5550123"));
    }

    #[test]
    fn inbox_parses_both_forms() {
        assert_eq!(
            Inbox::parse("PNabc123").unwrap(),
            Inbox::Id("PNabc123".into())
        );
        assert_eq!(
            Inbox::parse("+15555550123").unwrap().as_api_value(),
            "+15555550123"
        );
        assert!(matches!(Inbox::parse("PN"), Err(PhoneError::NotInbox(_))));
        assert!(matches!(
            Inbox::parse("sales"),
            Err(PhoneError::NotInbox(_))
        ));
        assert!(matches!(Inbox::parse("+1"), Err(PhoneError::NotE164(_))));
    }

    #[test]
    fn long_input_is_truncated_in_messages() {
        let long = "x".repeat(500);
        let msg = Inbox::parse(&long).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
    }
}
