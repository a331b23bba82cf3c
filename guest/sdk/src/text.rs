//! Message text, checked against what the API accepts.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Text of one SMS as `POST /v1/messages` accepts it: 1 to
/// [`MessageText::MAX_CHARS`] characters, not only whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageText(String);

impl MessageText {
    /// Longest text the API accepts, in characters (Unicode scalar values).
    pub const MAX_CHARS: usize = 1600;

    /// Checks `text`, explaining a refusal in words a model can act on.
    pub fn parse(text: String) -> Result<Self, String> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            Err("the message is empty or only whitespace; write the text to send".into())
        } else if chars > Self::MAX_CHARS {
            Err(format!(
                "the message has {chars} characters; OpenPhone accepts at most {}: shorten it or split it into several messages",
                Self::MAX_CHARS
            ))
        } else {
            Ok(MessageText(text))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MessageText {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        MessageText::parse(text)
    }
}

impl From<MessageText> for String {
    fn from(value: MessageText) -> Self {
        value.0
    }
}

impl JsonSchema for MessageText {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "MessageText".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": MessageText::MAX_CHARS,
            "pattern": r".*\S.*",
        })
    }
}

/// `text` cut to at most `max_chars` characters, with `…` when cut: for
/// quoting input or upstream messages back without flooding the reader.
pub fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max_chars).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_characters_not_bytes() {
        assert!(MessageText::parse("é".repeat(1600)).is_ok());
        let err = MessageText::parse("é".repeat(1601)).unwrap_err();
        assert!(err.contains("1601 characters"), "{err}");
    }

    #[test]
    fn shorten_counts_characters() {
        assert_eq!(shorten("héllo", 5), "héllo");
        assert_eq!(shorten("héllo", 2), "hé…");
    }

    #[test]
    fn blank_is_refused() {
        assert!(
            MessageText::parse(" \n\t".into())
                .unwrap_err()
                .contains("whitespace")
        );
        assert!(MessageText::parse(String::new()).is_err());
        assert_eq!(MessageText::parse(" hi ".into()).unwrap().as_str(), " hi ");
    }
}
