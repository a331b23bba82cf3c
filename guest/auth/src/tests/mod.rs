//! Native tests of the whole server with in-memory fakes: the happy paths
//! in `flow`, the attacks in `attacks`, operator actions in `admin`.

mod admin;
mod attacks;
mod fakes;
mod flow;

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};

use crate::crypto;
use crate::form::{self, Params};
use crate::http::{Request, Response};
use crate::server::{Env, Server};
use crate::settings::Settings;
use crate::verify::{Principal, VerifyError};
use fakes::{FakeClock, FakeFetcher, FakeRandom, FakeVault, MemoryAudit, MemoryLog, MemoryStore};

pub const ISSUER: &str = "https://mcp.example.com";
pub const RESOURCE: &str = "https://mcp.example.com/mcp";
pub const REDIRECT: &str = "https://app.example.org/oauth/callback";
/// The key the fake OpenPhone accepts.
pub const GOOD_KEY: &str = "opk_live_8f1c2e7a9b3d4f60a1b2c3d4e5f60718";
pub const SIGNING_KEY: &str = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9";
pub const START: u64 = 1_750_000_000;

/// Every fake, shared through `Rc` so a test can run a second request from
/// inside the first (see `MemoryStore::interleave`).
#[derive(Clone)]
pub struct Fakes {
    pub store: Rc<MemoryStore>,
    pub vault: Rc<FakeVault>,
    pub fetcher: Rc<FakeFetcher>,
    pub clock: Rc<FakeClock>,
    pub random: Rc<FakeRandom>,
    pub log: Rc<MemoryLog>,
    pub audit: Rc<MemoryAudit>,
    pub settings: Settings,
    /// Every response any request got, in order.
    pub responses: Rc<RefCell<Vec<Response>>>,
}

/// A consent form as a browser holds it.
#[derive(Debug, Clone)]
pub struct ConsentForm {
    pub transaction: String,
    pub csrf: String,
    pub cookie: String,
}

/// The result of a completed consent: the code and what the client kept.
#[derive(Debug, Clone)]
pub struct Login {
    pub client_id: String,
    pub redirect_uri: String,
    pub code: String,
    pub verifier: String,
    /// The `state` the redirect carried back.
    pub state: String,
}

/// Tokens from a token response.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
    pub body: Value,
}

pub fn settings_with(pairs: &[(&str, &str)]) -> Settings {
    let defaults = [
        ("issuer", ISSUER),
        ("resource", RESOURCE),
        ("signing_key", SIGNING_KEY),
    ];
    Settings::load(|name| {
        Ok(pairs
            .iter()
            .chain(defaults.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string()))
    })
    .unwrap()
}

impl Fakes {
    pub fn new() -> Self {
        Self::with_settings(settings_with(&[]))
    }

    pub fn with_settings(settings: Settings) -> Self {
        let vault = FakeVault::default();
        vault.accept(GOOD_KEY);
        Fakes {
            store: Rc::new(MemoryStore::default()),
            vault: Rc::new(vault),
            fetcher: Rc::new(FakeFetcher::default()),
            clock: Rc::new(FakeClock::at(START)),
            random: Rc::new(FakeRandom::default()),
            log: Rc::new(MemoryLog::default()),
            audit: Rc::new(MemoryAudit::default()),
            settings,
            responses: Rc::default(),
        }
    }

    pub fn server(&self) -> Server<'_> {
        Server::new(
            Env {
                store: &*self.store,
                vault: &*self.vault,
                fetcher: &*self.fetcher,
                clock: &*self.clock,
                random: &*self.random,
                log: &*self.log,
                audit: &*self.audit,
            },
            self.settings.clone(),
        )
    }

    pub fn handle(&self, request: Request) -> Response {
        let response = self.server().handle(&request);
        self.responses.borrow_mut().push(response.clone());
        response
    }

    pub fn get(&self, path: &str, query: &str) -> Response {
        self.handle(Request {
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            ..Request::default()
        })
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.handle(Request {
            method: "POST".into(),
            path: path.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            ..Request::default()
        })
    }

    pub fn post_form(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Response {
        let mut all_headers = vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        all_headers.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        self.handle(Request {
            method: "POST".into(),
            path: path.into(),
            headers: all_headers,
            body: form::encode(pairs).into_bytes(),
            ..Request::default()
        })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, VerifyError> {
        self.server().verify(token, RESOURCE)
    }

    /// Registers a client with `redirect_uris`; returns its id.
    pub fn register(&self, redirect_uris: &[&str]) -> String {
        let r = self.post_json(
            "/register",
            &json!({"client_name": "Test Client", "redirect_uris": redirect_uris}),
        );
        assert_eq!(r.status, 201, "{}", body_text(&r));
        json_body(&r)["client_id"].as_str().unwrap().to_owned()
    }

    /// `GET /authorize` with the standard parameters, `extra` replacing or
    /// adding to them (an empty value removes a parameter).
    pub fn authorize(
        &self,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
        extra: &[(&str, &str)],
    ) -> Response {
        let challenge = challenge(verifier);
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "state-123"),
            ("resource", RESOURCE),
        ];
        for (name, value) in extra {
            params.retain(|(n, _)| n != name);
            if !value.is_empty() {
                params.push((name, value));
            }
        }
        self.get("/authorize", &form::encode(&params))
    }

    /// Submits a consent form the way the browser would (right Origin and
    /// cookie) with `fields` added.
    pub fn submit(&self, form: &ConsentForm, fields: &[(&str, &str)]) -> Response {
        self.submit_with(form, fields, Some(ISSUER), Some(&form.cookie))
    }

    pub fn submit_with(
        &self,
        form: &ConsentForm,
        fields: &[(&str, &str)],
        origin: Option<&str>,
        cookie: Option<&str>,
    ) -> Response {
        let mut pairs = vec![
            ("transaction", form.transaction.as_str()),
            ("csrf", form.csrf.as_str()),
        ];
        pairs.extend_from_slice(fields);
        let mut headers = Vec::new();
        if let Some(origin) = origin {
            headers.push(("origin", origin));
        }
        let cookie_header = cookie.map(|c| format!("__Host-openphone-mcp-csrf={c}"));
        if let Some(c) = &cookie_header {
            headers.push(("cookie", c.as_str()));
        }
        self.post_form("/authorize", &pairs, &headers)
    }

    /// Approves with every scope and `key`.
    pub fn approve(&self, form: &ConsentForm, key: &str) -> Response {
        self.submit(
            form,
            &[
                ("action", "approve"),
                ("api_key", key),
                ("scope", "messages:send"),
                ("scope", "messages:read"),
                ("scope", "contacts:write"),
                ("scope", "calls:read"),
            ],
        )
    }

    /// Authorize page → consent → code, for `client_id`.
    pub fn login(&self, client_id: &str, redirect_uri: &str) -> Login {
        let verifier = crypto::b64(&crate::random::bytes::<32>(&*self.random).unwrap());
        let page = self.authorize(client_id, redirect_uri, &verifier, &[]);
        assert_eq!(page.status, 200, "{}", body_text(&page));
        let form = consent_form(&page);
        let redirect = self.approve(&form, GOOD_KEY);
        assert_eq!(redirect.status, 302, "{}", body_text(&redirect));
        let params = location_params(&redirect);
        Login {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            code: params.single("code").unwrap().unwrap().to_owned(),
            verifier,
            state: params.single("state").unwrap().unwrap().to_owned(),
        }
    }

    /// Exchanges a login's code.
    pub fn exchange(&self, login: &Login) -> Response {
        self.post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &login.client_id),
                ("code", &login.code),
                ("redirect_uri", &login.redirect_uri),
                ("code_verifier", &login.verifier),
                ("resource", RESOURCE),
            ],
            &[],
        )
    }

    pub fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
        extra: &[(&str, &str)],
    ) -> Response {
        let mut pairs = vec![
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ];
        pairs.extend_from_slice(extra);
        self.post_form("/token", &pairs, &[])
    }

    /// Registration, login and code exchange: a client with tokens.
    pub fn signed_in(&self) -> (Login, Tokens) {
        let client_id = self.register(&[REDIRECT]);
        let login = self.login(&client_id, REDIRECT);
        let response = self.exchange(&login);
        assert_eq!(response.status, 200, "{}", body_text(&response));
        (login, tokens(&response))
    }
}

/// The S256 challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    crypto::b64(&crypto::sha256(verifier.as_bytes()))
}

pub fn body_text(response: &Response) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

pub fn json_body(response: &Response) -> Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|_| panic!("not JSON: {}", body_text(response)))
}

/// The `error` of an OAuth JSON error.
pub fn oauth_error(response: &Response) -> String {
    json_body(response)["error"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

pub fn tokens(response: &Response) -> Tokens {
    let body = json_body(response);
    Tokens {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().map(str::to_owned),
        body,
    }
}

/// The value of hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The consent form in a consent page response.
pub fn consent_form(page: &Response) -> ConsentForm {
    let html = body_text(page);
    let cookie = page
        .header("set-cookie")
        .expect("consent pages set the CSRF cookie")
        .strip_prefix("__Host-openphone-mcp-csrf=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    ConsentForm {
        transaction: hidden(&html, "transaction"),
        csrf: hidden(&html, "csrf"),
        cookie,
    }
}

/// The query parameters of a redirect's `Location`.
pub fn location_params(response: &Response) -> Params {
    let location = response.header("location").expect("a Location header");
    Params::parse(
        location
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .as_bytes(),
    )
}

/// Whether a response is an HTML page (never a redirect).
pub fn is_page(response: &Response) -> bool {
    response.header("location").is_none()
        && response.header("content-type") == Some("text/html; charset=utf-8")
        && body_text(response).starts_with("<!DOCTYPE html>")
}
