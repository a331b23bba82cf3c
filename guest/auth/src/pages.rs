//! The HTML pages a user sees: the consent page and error pages.
//!
//! Complete documents with inline CSS only (the CSP allows nothing else),
//! no scripts, rendered by compile-time templates (maud) that escape every
//! value they are given — client names, ids, hosts, messages — so no
//! value can become markup.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::client::ClientKind;
use crate::redirect::RedirectUri;
use crate::scope::Scope;

/// The product name on every page.
pub const BRAND: &str = "OpenPhone for AI assistants";

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;background:#f4f2fb;color:#1d1b26}\
main{max-width:480px;margin:48px auto;padding:32px;background:#fff;border-radius:16px;box-shadow:0 4px 24px rgba(40,20,90,.08)}\
.brand{display:flex;align-items:center;gap:10px;font-weight:600;color:#5b3cc4;margin-bottom:24px}\
.logo{width:28px;height:28px;border-radius:8px;background:#7c5cff;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:700}\
h1{font-size:22px;margin:0 0 8px}\
p{margin:8px 0}\
.muted{color:#6b6880;font-size:14px}\
.who{background:#f7f5ff;border:1px solid #e4ddff;border-radius:12px;padding:12px 16px;margin:16px 0}\
.warn{background:#fff4e5;border:1px solid #ffd08a;border-radius:12px;padding:12px 16px;margin:16px 0}\
fieldset{border:0;padding:0;margin:16px 0}\
legend{font-weight:600;margin-bottom:8px}\
label.scope{display:flex;gap:10px;align-items:flex-start;padding:8px 0;border-top:1px solid #eee}\
label.scope code{font-size:12px;color:#6b6880}\
label.key{display:block;font-weight:600;margin-top:16px}\
input[type=password]{width:100%;padding:10px 12px;margin-top:6px;border:1px solid #cfc8e8;border-radius:10px;font-size:16px}\
.buttons{display:flex;gap:12px;margin-top:24px}\
button{flex:1;padding:12px;border-radius:10px;font-size:16px;font-weight:600;cursor:pointer;border:1px solid #7c5cff}\
button.approve{background:#7c5cff;color:#fff}\
button.deny{background:#fff;color:#5b3cc4}";

fn document(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " · " (BRAND) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    div.brand { span.logo { "O" } (BRAND) }
                    (body)
                }
            }
        }
    }
    .into_string()
}

/// An error page: what went wrong (`message`, one sentence), what to do
/// next, and where to get help when `support` (a checked URL) is set.
pub fn error_page(title: &str, message: &str, support: Option<&str>) -> String {
    document(
        title,
        html! {
            h1 { (title) }
            p { (message) }
            p {
                strong { "What to do next:" }
                " close this window and connect again from your AI assistant."
            }
            @if let Some(url) = support {
                p.muted { "Still stuck? " a href=(url) { "Contact support" } "." }
            }
        },
    )
}

/// What the consent page shows.
#[derive(Debug)]
pub struct ConsentView<'a> {
    pub client_name: Option<&'a str>,
    pub client_id: &'a str,
    pub kind: ClientKind,
    pub redirect: &'a RedirectUri,
    /// Scopes the client asked for (one checkbox each).
    pub scopes: &'a [Scope],
    /// Scopes whose checkbox is ticked.
    pub checked: &'a [Scope],
    pub transaction: &'a str,
    pub csrf: &'a str,
    /// Why the previous submission was not accepted, if it was not.
    pub message: Option<&'a str>,
}

/// The consent page.
pub fn consent_page(view: &ConsentView<'_>) -> String {
    let name = view.client_name.unwrap_or("An unnamed application");
    let body = html! {
        h1 { "Connect " (name) " to OpenPhone" }
        div.who {
            p { strong { (name) } " wants to use your OpenPhone workspace." }
            p.muted {
                @match view.kind {
                    ClientKind::MetadataDocument => {
                        "Identified by its metadata at " strong { (view.client_id) } "."
                    }
                    ClientKind::Dynamic => {
                        "Its name is chosen by the application itself; check where it will send you."
                    }
                }
                " After you approve, you will be sent to "
                @if view.redirect.is_loopback() {
                    "an application on this computer (" strong { (view.redirect.host()) } ")"
                } @else {
                    strong { (view.redirect.host()) }
                }
                "."
            }
        }
        @if let Some(message) = view.message {
            div.warn role="alert" { (message) }
        }
        form method="post" action="/authorize" {
            input type="hidden" name="transaction" value=(view.transaction);
            input type="hidden" name="csrf" value=(view.csrf);
            fieldset {
                legend { "Allow it to:" }
                @for scope in view.scopes {
                    label.scope {
                        input type="checkbox" name="scope" value=(scope.as_str()) checked[view.checked.contains(scope)];
                        span { (scope.description()) br; code { (scope.as_str()) } }
                    }
                }
            }
            label.key for="api_key" { "Your OpenPhone API key" }
            input type="password" id="api_key" name="api_key" autocomplete="off" spellcheck="false" maxlength="200" required;
            p.muted {
                "Find it in OpenPhone under " strong { "Settings → API" } ". "
                "It is checked with OpenPhone and stored encrypted on this server; the assistant never sees it."
            }
            div.buttons {
                button type="submit" class="deny" name="action" value="deny" formnovalidate { "Deny" }
                button type="submit" class="approve" name="action" value="approve" { "Approve" }
            }
        }
    };
    document(&format!("Connect {name}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_page_escapes_the_client_and_lists_scopes() {
        let redirect = RedirectUri::parse("https://app.example.com/cb").unwrap();
        let html = consent_page(&ConsentView {
            client_name: Some("<script>alert(1)</script>"),
            client_id: "id",
            kind: ClientKind::Dynamic,
            redirect: &redirect,
            scopes: &[Scope::MessagesSend, Scope::CallsRead],
            checked: &[Scope::CallsRead],
            transaction: "tx\"><x",
            csrf: "csrf",
            message: Some("<b>bad</b>"),
        });
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;bad&lt;/b&gt;"));
        assert!(html.contains("value=\"tx&quot;&gt;&lt;x\""));
        assert!(html.contains("value=\"messages:send\">"));
        assert!(html.contains("value=\"calls:read\" checked>"));
        assert!(html.contains("app.example.com"));
        assert!(html.contains("Settings → API"));
        assert!(html.contains(BRAND));
        assert!(html.contains("type=\"password\""));
    }

    #[test]
    fn error_pages_escape_their_message() {
        let html = error_page("Oops", "client <img src=x>", None);
        assert!(html.contains("client &lt;img src=x&gt;"));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(
            !html.contains("support"),
            "no support link unless configured"
        );
    }

    #[test]
    fn error_pages_say_what_to_do_once_and_link_to_support() {
        let html = error_page(
            "This link cannot be used",
            "This application is not registered with this server.",
            Some("https://help.example.com/?a=1&b=\"2\""),
        );
        assert_eq!(html.matches("connect again").count(), 1, "{html}");
        assert!(html.contains("What to do next"));
        assert!(
            html.contains(
                "<a href=\"https://help.example.com/?a=1&amp;b=&quot;2&quot;\">Contact support</a>"
            ),
            "{html}"
        );
    }
}
