//! RFC 6750 bearer tokens on `/mcp`: reading the token, and the
//! `WWW-Authenticate` challenges the MCP authorization spec asks for (`401`
//! pointing at the protected-resource metadata, `403 insufficient_scope`
//! naming the scope a tool needs). Shared by every host, so that clients
//! meet the same answers everywhere.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::catalog::OFFERED_SCOPES;

/// The token of an `Authorization: Bearer …` header (scheme in any case).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The protected-resource metadata URL of the server whose OAuth issuer is
/// `issuer` (RFC 9728, for the `/mcp` resource).
pub fn resource_metadata_url(issuer: &str) -> String {
    format!("{issuer}/.well-known/oauth-protected-resource/mcp")
}

/// The `401` challenge: where to find the metadata, every offered scope,
/// and `error` (`invalid_token`) when a token was presented.
pub fn token_challenge(metadata_url: &str, error: Option<&str>) -> String {
    let mut challenge = format!(
        "Bearer resource_metadata=\"{metadata_url}\", scope=\"{}\"",
        OFFERED_SCOPES.join(" ")
    );
    if let Some(error) = error {
        challenge.push_str(&format!(", error=\"{error}\""));
    }
    challenge
}

/// The `403` challenge for a tool needing `scope`.
pub fn scope_challenge(scope: &str, metadata_url: &str) -> String {
    format!(
        "Bearer error=\"insufficient_scope\", scope=\"{scope}\", resource_metadata=\"{metadata_url}\", \
         error_description=\"this tool needs the {scope} scope\""
    )
}

/// What a `401` body says.
pub const TOKEN_REQUIRED: &str =
    "authorize with OAuth: see the resource_metadata in WWW-Authenticate";

/// What a `403` body says for a tool needing `scope`.
pub fn scope_required(scope: &str) -> String {
    format!("this tool needs the {scope} scope; authorize again granting it")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn reads_bearer_tokens_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        for (value, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearerabc", None),
        ] {
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer_token(&headers), token, "{value}");
        }
    }

    #[test]
    fn challenges_point_at_the_metadata() {
        let url = resource_metadata_url("https://mcp.example.com");
        assert_eq!(
            url,
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        let challenge = token_challenge(&url, Some("invalid_token"));
        assert!(challenge.starts_with(&format!("Bearer resource_metadata=\"{url}\"")));
        assert!(challenge.contains("messages:send"));
        assert!(challenge.ends_with(", error=\"invalid_token\""));
        assert!(!token_challenge(&url, None).contains("error="));
        let scope = scope_challenge("contacts:write", &url);
        assert!(scope.contains("error=\"insufficient_scope\", scope=\"contacts:write\""));
    }
}
