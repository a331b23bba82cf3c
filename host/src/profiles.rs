//! Per-client tool profiles: an operator can show some clients fewer tools.
//!
//! Every client sees every tool unless a profile matches it. A profile
//! matches when its `client` text occurs, case-insensitively, in the name the
//! client gave in `initialize` (`clientInfo.name`); the first match wins.
//! Tools outside the profile are neither listed nor callable for that client.

use std::str::FromStr;

/// `CLIENT=tool,tool`: clients whose name contains CLIENT see only these tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolProfile {
    pub client: String,
    pub tools: Vec<String>,
}

impl FromStr for ToolProfile {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (client, tools) = text.split_once('=').ok_or_else(|| {
            format!(
                "`{text}`: expected CLIENT=tool,tool (e.g. chatgpt=send-message,fetch-messages)"
            )
        })?;
        let client = client.trim().to_lowercase();
        if client.is_empty() {
            return Err(format!("`{text}`: the client part before `=` is empty"));
        }
        let tools: Vec<String> = tools
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if tools.is_empty() {
            return Err(format!("`{text}`: name at least one tool after `=`"));
        }
        Ok(ToolProfile { client, tools })
    }
}

/// The profile for a client named `client_name`, if any matches.
pub fn select<'a>(
    profiles: &'a [ToolProfile],
    client_name: Option<&str>,
) -> Option<&'a ToolProfile> {
    let name = client_name?.to_lowercase();
    profiles.iter().find(|p| name.contains(&p.client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let p: ToolProfile = "ChatGPT = send-message, fetch-messages ,".parse().unwrap();
        assert_eq!(p.client, "chatgpt");
        assert_eq!(p.tools, vec!["send-message", "fetch-messages"]);
        for bad in ["chatgpt", "=send-message", "chatgpt=", "chatgpt= , "] {
            assert!(bad.parse::<ToolProfile>().is_err(), "{bad}");
        }
    }

    #[test]
    fn first_match_by_name_wins() {
        let profiles: Vec<ToolProfile> =
            vec!["chatgpt=a".parse().unwrap(), "gpt=b".parse().unwrap()];
        assert_eq!(
            select(&profiles, Some("openai-ChatGPT-connector"))
                .unwrap()
                .tools,
            vec!["a"]
        );
        assert_eq!(select(&profiles, Some("my-gpt")).unwrap().tools, vec!["b"]);
        assert!(select(&profiles, Some("claude-ai")).is_none());
        assert!(select(&profiles, None).is_none());
    }
}
