//! `GET /`: what this server is and which mode it runs in, then copy-paste
//! setup for the MCP clients people use, filled in with this server's own
//! `/mcp` URL. A compile-time template (maud) escapes every value; no
//! script, no external resource, so the page's CSP allows only its own
//! inline style.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The page's Content-Security-Policy: its own inline style, nothing else.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                              form-action 'none'; frame-ancestors 'none'";

/// Whom the server serves, as the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Serving {
    /// `--single-user`: one local user, no sign-in.
    LocalUser,
    /// OAuth clients, each user signing in with their own API key.
    OAuth,
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.55 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;background:#f4f2fb;color:#1d1b26}\
main{max-width:760px;margin:40px auto;padding:32px;background:#fff;border-radius:16px;box-shadow:0 4px 24px rgba(40,20,90,.08)}\
.brand{display:flex;align-items:center;gap:10px;font-weight:600;color:#5b3cc4;margin-bottom:16px}\
.logo{width:28px;height:28px;border-radius:8px;background:#7c5cff;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:700}\
h1{font-size:24px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px}\
.mode{background:#f7f5ff;border:1px solid #e4ddff;border-radius:12px;padding:12px 16px;margin:16px 0}\
pre{background:#1d1b26;color:#f4f2fb;padding:12px 16px;border-radius:10px;overflow-x:auto;font-size:14px}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}\
.muted{color:#6b6880;font-size:14px}";

/// The page for a server whose MCP endpoint is `mcp_url`.
pub(crate) fn render(mcp_url: &str, serving: Serving, version: &str) -> Markup {
    let desktop = format!(
        "{{\n  \"mcpServers\": {{\n    \"openphone\": {{\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"mcp-remote\", \"{mcp_url}\"]\n    }}\n  }}\n}}"
    );
    let cursor = format!(
        "{{\n  \"mcpServers\": {{\n    \"openphone\": {{ \"url\": \"{mcp_url}\" }}\n  }}\n}}"
    );
    let vscode = format!(
        "{{\n  \"servers\": {{\n    \"openphone\": {{ \"type\": \"http\", \"url\": \"{mcp_url}\" }}\n  }}\n}}"
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { "openphone-mcp · OpenPhone for AI assistants" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    div.brand { span.logo { "O" } "OpenPhone for AI assistants" }
                    h1 { "openphone-mcp" }
                    p {
                        "An MCP server that lets AI assistants text, look up and record things in an "
                        "OpenPhone (Quo) workspace. Its MCP endpoint is "
                        code #endpoint { (mcp_url) } "."
                    }
                    div.mode #mode {
                        @match serving {
                            Serving::LocalUser => {
                                strong { "Local mode." }
                                " This server acts for one local user with the API key it was started with; "
                                "it listens on loopback only and asks clients for no sign-in."
                            }
                            Serving::OAuth => {
                                strong { "Sign-in mode (OAuth 2.1)." }
                                " Each user connects their own client and approves it once with their "
                                "OpenPhone API key on this server's consent page; the key is sealed here "
                                "and never given to the client."
                            }
                        }
                    }
                    h2 { "Claude Desktop" }
                    p { "In " code { "claude_desktop_config.json" } " (Settings → Developer → Edit Config):" }
                    pre { code { (desktop) } }
                    p.muted { "Or Settings → Connectors → Add custom connector, with the URL above." }
                    h2 { "Claude Code" }
                    pre { code { "claude mcp add --transport http openphone " (mcp_url) } }
                    h2 { "Cursor" }
                    p { "In " code { "~/.cursor/mcp.json" } ":" }
                    pre { code { (cursor) } }
                    h2 { "VS Code" }
                    p { "In " code { ".vscode/mcp.json" } ":" }
                    pre { code { (vscode) } }
                    h2 { "ChatGPT" }
                    p {
                        "Settings → Connectors → Create, with the connector URL "
                        code { (mcp_url) } ". ChatGPT reaches servers on the public internet over HTTPS only."
                    }
                    h2 { "MCP Inspector" }
                    pre { code { "npx @modelcontextprotocol/inspector" } }
                    p { "Transport " em { "Streamable HTTP" } ", URL " code { (mcp_url) } "." }
                    p.muted { "openphone-mcp " (version) " · health: " code { "/health" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setup_names_this_servers_url_and_the_mode() {
        let page = render("https://mcp.example.com/mcp", Serving::OAuth, "1.2.3").into_string();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert_eq!(
            page.matches("https://mcp.example.com/mcp").count(),
            7,
            "{page}"
        );
        assert!(
            page.contains("claude mcp add --transport http openphone https://mcp.example.com/mcp")
        );
        assert!(page.contains("Sign-in mode"));
        let local = render("http://127.0.0.1:8787/mcp", Serving::LocalUser, "1.2.3").into_string();
        assert!(local.contains("Local mode"));
        assert!(!page.contains("<script"), "no scripts: the CSP allows none");
    }

    #[test]
    fn values_are_escaped() {
        let page = render(
            "https://x.example/mcp\"><script>alert(1)</script>",
            Serving::OAuth,
            "1",
        )
        .into_string();
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
    }
}
