//! Requests and responses as plain values (the WIT records, without the
//! generated types), and the headers every kind of answer carries.

/// One request to an endpoint of this server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path without the query, e.g. `/token`.
    pub path: String,
    /// Raw query string without `?`.
    pub query: String,
    /// Lower-case names, values as received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The only value of header `name`; `None` when it is absent or repeated
    /// (a repeated `Origin` or `Content-Type` is never trusted).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }

    /// Whether the media type of `Content-Type` is `media_type` (parameters
    /// such as `charset` ignored).
    pub fn has_content_type(&self, media_type: &str) -> bool {
        self.header("content-type").is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(media_type)
        })
    }

    /// The value of cookie `name`; `None` when absent or set more than once.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v);
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }
}

/// One answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON answer that may be cached by nobody (tokens, errors,
    /// registrations).
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Response {
            status,
            headers: vec![
                header("content-type", "application/json"),
                header("cache-control", "no-store"),
                header("pragma", "no-cache"),
            ],
            body: value.to_string().into_bytes(),
        }
    }

    /// An OAuth error (RFC 6749 §5.2): `{"error", "error_description"}`.
    pub fn oauth_error(status: u16, code: &str, description: &str) -> Self {
        Response::json(
            status,
            &serde_json::json!({ "error": code, "error_description": description }),
        )
    }

    /// A public JSON document (the metadata endpoints).
    pub fn public_json(value: &serde_json::Value) -> Self {
        Response {
            status: 200,
            headers: vec![
                header("content-type", "application/json"),
                header("cache-control", "public, max-age=3600"),
            ],
            body: value.to_string().into_bytes(),
        }
    }

    /// An HTML page with the headers that keep it from being framed,
    /// cached, or used to send form data anywhere but `form_action`.
    pub fn page(status: u16, html: String, form_action: &str) -> Self {
        Response {
            status,
            headers: vec![
                header("content-type", "text/html; charset=utf-8"),
                header("cache-control", "no-store"),
                header("x-frame-options", "DENY"),
                header("x-content-type-options", "nosniff"),
                // Not `no-referrer`: under it a browser sends the form's POST
                // with `Origin: null`, which the CSRF check must refuse.
                // `same-origin` still sends nothing to other sites.
                header("referrer-policy", "same-origin"),
                header(
                    "content-security-policy",
                    &format!(
                        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
                    ),
                ),
            ],
            body: html.into_bytes(),
        }
    }

    /// A `302` to `location` that leaks nothing through `Referer`.
    pub fn redirect(location: String) -> Self {
        Response {
            status: 302,
            headers: vec![
                header("location", &location),
                header("cache-control", "no-store"),
                header("referrer-policy", "no-referrer"),
            ],
            body: Vec::new(),
        }
    }

    /// An empty answer.
    pub fn empty(status: u16) -> Self {
        Response {
            status,
            headers: vec![header("cache-control", "no-store")],
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(header(name, value));
        self
    }

    /// The first value of header `name` (tests and callers that inspect
    /// answers).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Request::default()
        }
    }

    #[test]
    fn repeated_headers_are_not_trusted() {
        let r = request(&[("origin", "https://a"), ("origin", "https://b")]);
        assert_eq!(r.header("origin"), None);
        assert_eq!(
            request(&[("origin", "https://a")]).header("origin"),
            Some("https://a")
        );
    }

    #[test]
    fn content_type_ignores_parameters_and_case() {
        let r = request(&[("content-type", "Application/JSON; charset=utf-8")]);
        assert!(r.has_content_type("application/json"));
        assert!(!r.has_content_type("application/x-www-form-urlencoded"));
    }

    #[test]
    fn cookies_across_headers() {
        let r = request(&[("cookie", "a=1; b=2"), ("cookie", "c=3")]);
        assert_eq!(r.cookie("b"), Some("2"));
        assert_eq!(r.cookie("c"), Some("3"));
        assert_eq!(r.cookie("d"), None);
        let twice = request(&[("cookie", "a=1"), ("cookie", "a=2")]);
        assert_eq!(twice.cookie("a"), None);
    }

    #[test]
    fn pages_carry_the_security_headers() {
        let p = Response::page(200, "<p>hi</p>".into(), "'none'");
        assert_eq!(p.header("x-frame-options"), Some("DENY"));
        assert_eq!(p.header("cache-control"), Some("no-store"));
        assert_eq!(p.header("referrer-policy"), Some("same-origin"));
        assert!(
            p.header("content-security-policy")
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
}
