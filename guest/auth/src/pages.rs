//! The HTML pages a user sees: the consent page and error pages.
//!
//! Complete documents with inline CSS only (the CSP allows nothing else),
//! no scripts. Every value that did not come from this file — client names,
//! ids, hosts, messages — goes through [`escape`].

use crate::client::ClientKind;
use crate::redirect::RedirectUri;
use crate::scope::Scope;

/// The product name on every page.
pub const BRAND: &str = "OpenPhone for AI assistants";

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"same-origin\">\
         <title>{title} · {BRAND}</title><style>{STYLE}</style></head>\
         <body><main><div class=\"brand\"><span class=\"logo\">O</span>{BRAND}</div>{body}</main></body></html>\n",
        title = escape(title),
    )
}

/// An error page: what went wrong and what to do. `message` is escaped.
pub fn error_page(title: &str, message: &str) -> String {
    document(
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p class=\"muted\">You can close this window and start the connection again from your AI assistant.</p>",
            escape(title),
            escape(message)
        ),
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
    let origin = match view.kind {
        ClientKind::MetadataDocument => format!(
            "Identified by its metadata at <strong>{}</strong>.",
            escape(view.client_id)
        ),
        ClientKind::Dynamic => {
            "Its name is chosen by the application itself; check where it will send you.".to_owned()
        }
    };
    let destination = if view.redirect.is_loopback() {
        format!(
            "an application on this computer (<strong>{}</strong>)",
            escape(view.redirect.host())
        )
    } else {
        format!("<strong>{}</strong>", escape(view.redirect.host()))
    };
    let message = view
        .message
        .map(|m| format!("<div class=\"warn\" role=\"alert\">{}</div>", escape(m)))
        .unwrap_or_default();
    let scopes: String = view
        .scopes
        .iter()
        .map(|s| {
            format!(
                "<label class=\"scope\"><input type=\"checkbox\" name=\"scope\" value=\"{value}\"{checked}>\
                 <span>{desc}<br><code>{value}</code></span></label>",
                value = escape(s.as_str()),
                checked = if view.checked.contains(s) { " checked" } else { "" },
                desc = escape(s.description()),
            )
        })
        .collect();
    let body = format!(
        "<h1>Connect {name} to OpenPhone</h1>\
         <div class=\"who\"><p><strong>{name}</strong> wants to use your OpenPhone workspace.</p>\
         <p class=\"muted\">{origin} After you approve, you will be sent to {destination}.</p></div>\
         {message}\
         <form method=\"post\" action=\"/authorize\">\
         <input type=\"hidden\" name=\"transaction\" value=\"{transaction}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <fieldset><legend>Allow it to:</legend>{scopes}</fieldset>\
         <label class=\"key\" for=\"api_key\">Your OpenPhone API key</label>\
         <input type=\"password\" id=\"api_key\" name=\"api_key\" autocomplete=\"off\" spellcheck=\"false\" maxlength=\"200\" required>\
         <p class=\"muted\">Find it in OpenPhone under <strong>Settings → API</strong>. \
         It is checked with OpenPhone and stored encrypted on this server; the assistant never sees it.</p>\
         <div class=\"buttons\">\
         <button type=\"submit\" class=\"deny\" name=\"action\" value=\"deny\" formnovalidate>Deny</button>\
         <button type=\"submit\" class=\"approve\" name=\"action\" value=\"approve\">Approve</button>\
         </div></form>",
        name = escape(name),
        transaction = escape(view.transaction),
        csrf = escape(view.csrf),
    );
    document(&format!("Connect {name}"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

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
        let html = error_page("Oops", "client <img src=x>");
        assert!(html.contains("client &lt;img src=x&gt;"));
        assert!(html.starts_with("<!DOCTYPE html>"));
    }
}
