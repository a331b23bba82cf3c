//! Per-client tool profiles: an operator can show some clients fewer tools.
//!
//! Every client sees every tool unless a profile matches it. A profile
//! matches by client identity — its text occurs, case-insensitively, in the
//! name the client gave in `initialize` (`clientInfo.name`) — or, written
//! `user-agent:TEXT`, by the HTTP `User-Agent` of the request. The first
//! matching profile wins. Tools outside it are neither listed nor callable
//! for that client.

use std::fmt;
use std::str::FromStr;

/// What a profile matches on (lower-cased text, found as a substring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// `clientInfo.name` from `initialize`.
    ClientName(String),
    /// The HTTP `User-Agent` header (never present over stdio).
    UserAgent(String),
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::ClientName(text) => write!(f, "client {text}"),
            Matcher::UserAgent(text) => write!(f, "user-agent:{text}"),
        }
    }
}

/// `[client:|user-agent:]TEXT=tool,tool` (commas or spaces between tools):
/// matching clients see only these tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolProfile {
    pub matcher: Matcher,
    pub tools: Vec<String>,
}

impl FromStr for ToolProfile {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (client, tools) = text.split_once('=').ok_or_else(|| {
            format!(
                "`{text}`: expected CLIENT=tool,tool or user-agent:TEXT=tool,tool \
                 (e.g. chatgpt=send-message,fetch-messages)"
            )
        })?;
        let client = client.trim().to_lowercase();
        let matcher = if let Some(agent) = client.strip_prefix("user-agent:") {
            Matcher::UserAgent(agent.trim().to_owned())
        } else {
            Matcher::ClientName(
                client
                    .strip_prefix("client:")
                    .unwrap_or(&client)
                    .trim()
                    .to_owned(),
            )
        };
        if matches!(&matcher, Matcher::ClientName(t) | Matcher::UserAgent(t) if t.is_empty()) {
            return Err(format!("`{text}`: the part before `=` names no client"));
        }
        // Commas or spaces (`wasmtime serve -S` splits its values at commas).
        let tools: Vec<String> = tools
            .split([',', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if tools.is_empty() {
            return Err(format!("`{text}`: name at least one tool after `=`"));
        }
        Ok(ToolProfile { matcher, tools })
    }
}

/// Profiles written one after another, `;`-separated (the form of
/// `OPENPHONE_MCP_TOOL_PROFILES` and of the composed hosts' `tool_profiles`);
/// blank parts are skipped.
pub fn parse_list(text: &str) -> Result<Vec<ToolProfile>, String> {
    text.split(';')
        .filter(|part| !part.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// The profile for a client named `client_name` that sent `user_agent`, if
/// any matches.
pub fn select<'a>(
    profiles: &'a [ToolProfile],
    client_name: Option<&str>,
    user_agent: Option<&str>,
) -> Option<&'a ToolProfile> {
    let name = client_name.map(str::to_lowercase);
    let agent = user_agent.map(str::to_lowercase);
    profiles.iter().find(|p| {
        let (seen, text) = match &p.matcher {
            Matcher::ClientName(text) => (&name, text),
            Matcher::UserAgent(text) => (&agent, text),
        };
        seen.as_deref().is_some_and(|s| s.contains(text.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let p: ToolProfile = "ChatGPT = send-message, fetch-messages ,".parse().unwrap();
        assert_eq!(p.matcher, Matcher::ClientName("chatgpt".into()));
        assert_eq!(p.tools, vec!["send-message", "fetch-messages"]);
        let p: ToolProfile = "chatgpt=send-message  fetch-messages".parse().unwrap();
        assert_eq!(p.tools, vec!["send-message", "fetch-messages"]);
        let p: ToolProfile = "client:Cursor=a".parse().unwrap();
        assert_eq!(p.matcher, Matcher::ClientName("cursor".into()));
        let p: ToolProfile = "User-Agent: openai-mcp/1=a".parse().unwrap();
        assert_eq!(p.matcher, Matcher::UserAgent("openai-mcp/1".into()));
        for bad in [
            "chatgpt",
            "=send-message",
            "chatgpt=",
            "chatgpt= , ",
            "user-agent:=a",
            "client: =a",
        ] {
            assert!(bad.parse::<ToolProfile>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_are_semicolon_separated() {
        let list = parse_list("chatgpt=a,b; ;user-agent:curl=c;").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].matcher, Matcher::UserAgent("curl".into()));
        assert!(parse_list("").unwrap().is_empty());
        assert!(parse_list("chatgpt=a;broken").is_err());
    }

    #[test]
    fn first_match_by_name_wins() {
        let profiles: Vec<ToolProfile> =
            vec!["chatgpt=a".parse().unwrap(), "gpt=b".parse().unwrap()];
        assert_eq!(
            select(&profiles, Some("openai-ChatGPT-connector"), None)
                .unwrap()
                .tools,
            vec!["a"]
        );
        assert_eq!(
            select(&profiles, Some("my-gpt"), None).unwrap().tools,
            vec!["b"]
        );
        assert!(select(&profiles, Some("claude-ai"), None).is_none());
        assert!(select(&profiles, None, None).is_none());
    }

    #[test]
    fn matches_by_user_agent() {
        let profiles: Vec<ToolProfile> = vec![
            "user-agent:openai-mcp=a".parse().unwrap(),
            "cursor=b".parse().unwrap(),
        ];
        let pick = |name, agent| select(&profiles, name, agent).map(|p| p.tools[0].as_str());
        assert_eq!(pick(Some("x"), Some("OpenAI-MCP/1.0 (ChatGPT)")), Some("a"));
        assert_eq!(pick(Some("Cursor"), Some("node")), Some("b"));
        // A user-agent profile never matches on the client name, nor the reverse.
        assert_eq!(pick(Some("openai-mcp"), None), None);
        assert_eq!(pick(None, Some("cursor/1")), None);
    }
}
