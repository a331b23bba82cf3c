//! The OAuth scopes this server grants: one per kind of thing a tool does
//! in OpenPhone, so a user can let an assistant read without letting it
//! send.

use std::fmt;

/// One scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    MessagesSend,
    MessagesRead,
    ContactsWrite,
    CallsRead,
}

/// Every scope, in the order pages list them.
pub const ALL: [Scope; 4] = [
    Scope::MessagesSend,
    Scope::MessagesRead,
    Scope::ContactsWrite,
    Scope::CallsRead,
];

/// A scope string that is not one of [`ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scope `{0}`; this server offers messages:send, messages:read, contacts:write and calls:read"
)]
pub struct UnknownScope(pub String);

impl Scope {
    /// The wire name, e.g. `messages:send`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MessagesSend => "messages:send",
            Scope::MessagesRead => "messages:read",
            Scope::ContactsWrite => "contacts:write",
            Scope::CallsRead => "calls:read",
        }
    }

    /// One line for the consent page, saying what the assistant could do.
    pub fn description(self) -> &'static str {
        match self {
            Scope::MessagesSend => "Send text messages from your OpenPhone numbers",
            Scope::MessagesRead => "Read your text message conversations",
            Scope::ContactsWrite => "Create contacts in your OpenPhone workspace",
            Scope::CallsRead => "Read your call transcripts",
        }
    }

    /// Parses one wire name.
    pub fn parse(name: &str) -> Result<Scope, UnknownScope> {
        ALL.into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| UnknownScope(name.chars().take(64).collect()))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a space-separated scope list (RFC 6749 §3.3) into a sorted set
/// without repeats. An absent or blank list means every scope.
pub fn parse_list(list: Option<&str>) -> Result<Vec<Scope>, UnknownScope> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return Ok(ALL.to_vec());
    };
    let mut scopes = list
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(Scope::parse)
        .collect::<Result<Vec<_>, _>>()?;
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

/// The space-separated wire form of `scopes`.
pub fn join(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The wire names of `scopes`.
pub fn names(scopes: &[Scope]) -> Vec<String> {
    scopes.iter().map(|s| s.as_str().to_owned()).collect()
}

/// Whether every scope of `inner` is in `outer`.
pub fn is_subset(inner: &[Scope], outer: &[Scope]) -> bool {
    inner.iter().all(|s| outer.contains(s))
}

/// Serde support: scopes are stored by wire name.
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Scope::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_blank_means_all() {
        assert_eq!(parse_list(None).unwrap(), ALL.to_vec());
        assert_eq!(parse_list(Some("  ")).unwrap(), ALL.to_vec());
    }

    #[test]
    fn lists_are_sorted_and_deduplicated() {
        let s = parse_list(Some("calls:read messages:send  calls:read")).unwrap();
        assert_eq!(s, vec![Scope::MessagesSend, Scope::CallsRead]);
        assert_eq!(join(&s), "messages:send calls:read");
    }

    #[test]
    fn unknown_scopes_are_refused() {
        assert!(parse_list(Some("messages:send admin")).is_err());
        assert!(parse_list(Some("MESSAGES:SEND")).is_err());
        assert!(Scope::parse("openid").is_err());
    }

    #[test]
    fn subsets() {
        assert!(is_subset(&[Scope::CallsRead], &ALL));
        assert!(!is_subset(&ALL, &[Scope::CallsRead]));
        assert!(is_subset(&[], &[Scope::CallsRead]));
    }

    #[test]
    fn serde_by_wire_name() {
        let json = serde_json::to_string(&vec![Scope::ContactsWrite]).unwrap();
        assert_eq!(json, r#"["contacts:write"]"#);
        let back: Vec<Scope> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, vec![Scope::ContactsWrite]);
        assert!(serde_json::from_str::<Vec<Scope>>(r#"["root"]"#).is_err());
    }
}
