//! Contact fields, checked while the arguments are parsed.
//!
//! Every value is a type that refuses what OpenPhone would refuse (or what is
//! certainly a mistake) during deserialization, so `parse_arguments` names the
//! exact field (`contacts[2].emails[0].value`) and nothing is sent for a batch
//! with any bad field: a refusal half-way through a batch would leave it
//! partly created.

use std::borrow::Cow;

use openphone_guest::schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use openphone_guest::text::shorten;
use serde::{Deserialize, Serialize};

use crate::NewContact;

/// Most contacts one call creates. Each is its own request, and the host
/// spaces requests to 10 per second, so 50 stay well inside one call's time.
pub const MAX_CONTACTS: usize = 50;

/// A text field of a contact (names, company, role, labels): not blank, at
/// most [`Text::MAX_CHARS`] characters, surrounding whitespace removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    /// Longest value accepted, in characters. The API documents no limit; a
    /// name or label longer than this is a pasted paragraph, not a name.
    pub const MAX_CHARS: usize = 100;

    /// Checks and trims `input`.
    pub fn parse(input: String) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(
                "is empty or only whitespace: give a value, or leave an optional field out".into(),
            );
        }
        let chars = trimmed.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "has {chars} characters; at most {} are accepted",
                Self::MAX_CHARS
            ));
        }
        Ok(Text(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Text::parse(value)
    }
}

impl From<Text> for String {
    fn from(value: Text) -> Self {
        value.0
    }
}

impl JsonSchema for Text {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": Text::MAX_CHARS,
            "pattern": r"\S",
        })
    }
}

/// An email address, checked for the mistakes that matter (a missing `@`, a
/// domain without a dot, spaces) rather than against the full RFC 5322
/// grammar, which accepts addresses no mail system delivers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Longest address that can be delivered (RFC 5321 path limit).
    pub const MAX_CHARS: usize = 254;

    /// Checks and trims `input`.
    pub fn parse(input: String) -> Result<Self, String> {
        let address = input.trim();
        let refuse = |why: &str| {
            Err(format!(
                "`{}` is not an email address: {why}; write it like sam@example.com",
                shorten(address, 60)
            ))
        };
        if address.is_empty() {
            return Err("is empty: give an email address like sam@example.com".into());
        }
        if address.chars().any(char::is_whitespace) {
            return refuse("it contains spaces");
        }
        if address.chars().count() > Self::MAX_CHARS {
            return refuse("it is longer than 254 characters");
        }
        let Some((local, domain)) = address.split_once('@') else {
            return refuse("it has no @");
        };
        if domain.contains('@') {
            return refuse("it has more than one @");
        }
        if local.is_empty() {
            return refuse("nothing comes before the @");
        }
        if !domain.contains('.') {
            return refuse("the domain after the @ has no dot");
        }
        if domain.split('.').any(str::is_empty) {
            return refuse("the domain after the @ has an empty part");
        }
        Ok(EmailAddress(address.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl JsonSchema for EmailAddress {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "EmailAddress".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "maxLength": EmailAddress::MAX_CHARS,
            "pattern": r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$",
        })
    }
}

/// A contact's id in another system, as `POST /v1/contacts` accepts it:
/// 1 to 75 characters, not blank. Sent exactly as given (it must match the
/// other system's records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    /// Longest id the API accepts (`maxLength` in the spec).
    pub const MAX_CHARS: usize = 75;

    /// Checks `input`.
    pub fn parse(input: String) -> Result<Self, String> {
        let chars = input.chars().count();
        if input.trim().is_empty() {
            Err("is empty or only whitespace: give the id, or leave externalId out".into())
        } else if chars > Self::MAX_CHARS {
            Err(format!(
                "has {chars} characters; OpenPhone accepts at most {}",
                Self::MAX_CHARS
            ))
        } else {
            Ok(ExternalId(input))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ExternalId::parse(value)
    }
}

impl From<ExternalId> for String {
    fn from(value: ExternalId) -> Self {
        value.0
    }
}

impl JsonSchema for ExternalId {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "ExternalId".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": ExternalId::MAX_CHARS,
            "pattern": r"\S",
        })
    }
}

/// Where a contact comes from, as `POST /v1/contacts` accepts it: 1 to 72
/// characters, not one of the words OpenPhone reserves for its own sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Source(String);

impl Source {
    /// Longest source the API accepts (`maxLength` in the spec).
    pub const MAX_CHARS: usize = 72;
    /// Values the API refuses (spec: "Cannot be one of the following reserved words").
    pub const RESERVED: &[&str] = &[
        "openphone",
        "device",
        "csv",
        "zapier",
        "google-people",
        "other",
    ];
    /// Prefixes the API refuses.
    pub const RESERVED_PREFIXES: &[&str] = &["openphone", "csv"];

    /// Checks `input`. Reserved words are compared without regard to case:
    /// the spec does not say whether the API does, and refusing here costs
    /// less than a refusal half-way through a batch.
    pub fn parse(input: String) -> Result<Self, String> {
        let chars = input.chars().count();
        let lower = input.trim().to_lowercase();
        if lower.is_empty() {
            return Err("is empty or only whitespace: give a source, or leave it out (OpenPhone then records `public-api`)".into());
        }
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "has {chars} characters; OpenPhone accepts at most {}",
                Self::MAX_CHARS
            ));
        }
        if Self::RESERVED.contains(&lower.as_str())
            || Self::RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p))
        {
            return Err(format!(
                "`{}` is reserved by OpenPhone (reserved: {}; nor may it start with {}): use a name of your own, e.g. custom-crm",
                shorten(&input, 60),
                Self::RESERVED.join(", "),
                Self::RESERVED_PREFIXES.join(" or ")
            ));
        }
        Ok(Source(input))
    }

    /// The source.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Source {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Source::parse(value)
    }
}

impl From<Source> for String {
    fn from(value: Source) -> Self {
        value.0
    }
}

impl JsonSchema for Source {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Source".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": Source::MAX_CHARS,
            "pattern": r"\S",
        })
    }
}

/// The contacts of one call: 1 to [`MAX_CONTACTS`].
#[derive(Debug, Deserialize)]
#[serde(try_from = "Vec<NewContact>")]
pub struct ContactList(Vec<NewContact>);

impl ContactList {
    /// The contacts, in the order given.
    pub fn as_slice(&self) -> &[NewContact] {
        &self.0
    }
}

impl TryFrom<Vec<NewContact>> for ContactList {
    type Error = String;
    fn try_from(contacts: Vec<NewContact>) -> Result<Self, Self::Error> {
        match contacts.len() {
            0 => Err(format!(
                "no contacts given: pass 1 to {MAX_CONTACTS} contacts, each with at least a firstName"
            )),
            n if n > MAX_CONTACTS => Err(format!(
                "{n} contacts given; one call creates at most {MAX_CONTACTS}: split them into several calls"
            )),
            _ => Ok(ContactList(contacts)),
        }
    }
}

impl JsonSchema for ContactList {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "ContactList".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CONTACTS,
            "items": generator.subschema_for::<NewContact>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(Text::parse("  Sam ".into()).unwrap().as_str(), "Sam");
        assert!(
            Text::parse(" \t".into())
                .unwrap_err()
                .contains("whitespace")
        );
        assert!(Text::parse("é".repeat(100)).is_ok());
        assert!(
            Text::parse("é".repeat(101))
                .unwrap_err()
                .contains("101 characters")
        );
    }

    #[test]
    fn email_addresses() {
        for good in ["sam@example.com", " a.b+c@mail.example.co.uk ", "x@y.z"] {
            assert!(EmailAddress::parse(good.into()).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("sam.example.com", "no @"),
            ("sam@@example.com", "more than one @"),
            ("a@b@example.com", "more than one @"),
            ("@example.com", "before the @"),
            ("sam@localhost", "no dot"),
            ("sam@example.", "empty part"),
            ("sam@.com", "empty part"),
            ("sam lee@example.com", "spaces"),
            ("", "empty"),
        ] {
            let err = EmailAddress::parse(bad.into()).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn external_ids_follow_the_spec() {
        assert_eq!(
            ExternalId::parse(" crm-1".into()).unwrap().as_str(),
            " crm-1"
        );
        assert!(ExternalId::parse("x".repeat(75)).is_ok());
        assert!(
            ExternalId::parse("x".repeat(76))
                .unwrap_err()
                .contains("at most 75")
        );
        assert!(ExternalId::parse("  ".into()).is_err());
    }

    #[test]
    fn sources_follow_the_spec() {
        assert!(Source::parse("custom-hubspot".into()).is_ok());
        assert!(Source::parse("public-api".into()).is_ok());
        assert!(Source::parse("x".repeat(72)).is_ok());
        assert!(Source::parse("x".repeat(73)).is_err());
        for reserved in [
            "csv",
            "Zapier",
            "other",
            "openphone-sync",
            "csv-2024",
            "device",
        ] {
            let err = Source::parse(reserved.into()).unwrap_err();
            assert!(err.contains("reserved"), "{reserved}: {err}");
        }
        assert!(Source::parse("".into()).is_err());
    }
}
