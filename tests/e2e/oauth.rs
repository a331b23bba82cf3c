//! OAuth through the real server: discovery, registration, the consent
//! page, PKCE, tokens, refresh rotation, scopes, revocation — and the
//! attacks each of them must stop. Every key, token and code the tests see
//! is planted (`harness::plant`): no server of the suite may log one.

use std::collections::HashMap;

use base64::Engine as _;
use openphone_sim::{BOB, BUSINESS_KEY, SALES_PHONE_ID, Simulator};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{self, OAUTH, Server};

const REDIRECT: &str = "http://127.0.0.1:47123/callback";
const VERIFIER: &str = "a-long-random-verifier-string-of-at-least-43-characters-0123456789";

/// Where a server's `/mcp` is: the native server's, or another host's
/// (`spin.rs`), so the helpers below serve both.
pub(crate) trait Endpoint {
    fn mcp_url(&self) -> String;
}

impl Endpoint for Server {
    fn mcp_url(&self) -> String {
        self.url()
    }
}

impl<T: Endpoint> Endpoint for std::sync::Arc<T> {
    fn mcp_url(&self) -> String {
        T::mcp_url(self)
    }
}

/// A public OAuth client talking to one server, without a browser.
pub(crate) struct Client {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
}

/// Tokens from the token endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `name` → `value` of the hidden inputs of an HTML page.
pub(crate) fn hidden_inputs(html: &str) -> HashMap<String, String> {
    let input =
        regex::Regex::new(r#"<input type="hidden" name="([^"]+)" value="([^"]*)">"#).unwrap();
    input
        .captures_iter(html)
        .map(|c| {
            (
                c[1].to_owned(),
                c[2].replace("&amp;", "&").replace("&quot;", "\""),
            )
        })
        .collect()
}

fn query_of(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

impl Client {
    pub(crate) async fn register(issuer: &str, name: &str) -> Client {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = http
            .post(format!("{issuer}/register"))
            .json(&json!({"redirect_uris": [REDIRECT], "client_name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        Client {
            http,
            issuer: issuer.to_owned(),
            client_id: body["client_id"].as_str().unwrap().to_owned(),
        }
    }

    /// The `client_id` the server issued.
    pub(crate) fn id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!("{}/authorize", self.issuer)).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", REDIRECT)
                .append_pair("code_challenge", &challenge(VERIFIER))
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", "st-123")
                .append_pair("resource", &format!("{}/mcp", self.issuer));
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        url.into()
    }

    /// The consent page: its HTML and the CSRF cookie it set.
    pub(crate) async fn consent_page(&self, extra: &[(&str, &str)]) -> (String, String) {
        let response = self
            .http
            .get(self.authorize_url(extra))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        (response.text().await.unwrap(), cookie)
    }

    /// Submits the consent form; returns the response.
    pub(crate) async fn consent(
        &self,
        html: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
        key: &str,
        scopes: &[&str],
    ) -> reqwest::Response {
        let mut form: Vec<(String, String)> = hidden_inputs(html).into_iter().collect();
        form.push(("api_key".into(), key.into()));
        form.push(("action".into(), "approve".into()));
        for scope in scopes {
            form.push(("scope".into(), (*scope).into()));
        }
        let mut request = self
            .http
            .post(format!("{}/authorize", self.issuer))
            .form(&form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send().await.unwrap()
    }

    /// Consents with `key` and `scopes`; returns the code.
    pub(crate) async fn code(&self, key: &str, scopes: &[&str]) -> String {
        let (html, cookie) = self.consent_page(&[]).await;
        let response = self
            .consent(&html, Some(&cookie), Some(&self.issuer), key, scopes)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::FOUND,
            "{}",
            response.text().await.unwrap()
        );
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT), "{location}");
        let query = query_of(&location);
        assert_eq!(query["state"], "st-123");
        assert_eq!(query["iss"], self.issuer);
        harness::plant(&query["code"]);
        query["code"].clone()
    }

    pub(crate) async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store");
        let types: Vec<_> = response.headers().get_all("content-type").iter().collect();
        assert_eq!(types, vec!["application/json"], "one JSON content type");
        (response.status(), response.json().await.unwrap())
    }

    pub(crate) async fn exchange(&self, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", &self.client_id),
            ("code_verifier", verifier),
        ])
        .await
    }

    pub(crate) async fn refresh(&self, refresh: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &self.client_id),
        ])
        .await
    }

    /// Revokes `token` as this client (RFC 7009).
    pub(crate) async fn revoke(&self, token: &str) -> StatusCode {
        self.http
            .post(format!("{}/revoke", self.issuer))
            .form(&[("token", token), ("client_id", self.client_id.as_str())])
            .send()
            .await
            .unwrap()
            .status()
    }

    pub(crate) async fn tokens(&self, key: &str, scopes: &[&str]) -> Tokens {
        let code = self.code(key, scopes).await;
        let (status, body) = self.exchange(&code, VERIFIER).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tokens_of(&body)
    }
}

pub(crate) fn tokens_of(body: &Value) -> Tokens {
    assert_eq!(body["token_type"], "Bearer");
    let tokens = Tokens {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    };
    harness::plant(&tokens.access);
    harness::plant(&tokens.refresh);
    tokens
}

/// POSTs one JSON-RPC message to `/mcp` with `token`.
pub(crate) async fn mcp(
    server: &(dyn Endpoint + Sync),
    token: Option<&str>,
    session: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.send().await.unwrap()
}

/// A `ping` to `/mcp` with `token` (and `session`): what the server lets through.
pub(crate) async fn ping(
    server: &(dyn Endpoint + Sync),
    token: Option<&str>,
    session: Option<&str>,
) -> reqwest::Response {
    mcp(
        server,
        token,
        session,
        json!({"jsonrpc":"2.0","id":1,"method":"ping"}),
    )
    .await
}

/// Opens an MCP session with `token`; returns its id.
pub(crate) async fn open_session(server: &(dyn Endpoint + Sync), token: &str) -> String {
    let response = mcp(
        server,
        Some(token),
        None,
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e-oauth","version":"1"}}}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let ack = mcp(
        server,
        Some(token),
        Some(&id),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    )
    .await;
    assert_eq!(ack.status(), StatusCode::ACCEPTED);
    id
}

pub(crate) async fn tool_names(
    server: &(dyn Endpoint + Sync),
    token: &str,
    session: &str,
) -> Vec<String> {
    let reply: Value = mcp(
        server,
        Some(token),
        Some(session),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
    )
    .await
    .json()
    .await
    .unwrap();
    crate::http_rules::tool_names(&reply)
}

pub(crate) fn www_authenticate(headers: &HeaderMap) -> String {
    headers["www-authenticate"].to_str().unwrap().to_owned()
}

pub(crate) async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json().await.unwrap()
}

fn issuer_of(server: &Server) -> String {
    format!("http://{}", server.addr)
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_points_a_client_at_the_authorization_server() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let issuer = issuer_of(&server);

    let unauthorized = ping(&server, None, None).await;
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(unauthorized.headers());
    let metadata_url = format!("{issuer}/.well-known/oauth-protected-resource/mcp");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"messages:send messages:read contacts:write calls:read\""),
        "{challenge}"
    );

    let http = reqwest::Client::new();
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let resource = get_json(&http, &format!("{issuer}{path}")).await;
        assert_eq!(resource["resource"], format!("{issuer}/mcp"), "{path}");
        assert_eq!(resource["authorization_servers"], json!([issuer]));
    }
    let server_metadata = get_json(
        &http,
        &format!("{issuer}/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(server_metadata["issuer"], issuer);
    assert_eq!(
        server_metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        server_metadata["client_id_metadata_document_supported"],
        true
    );
    assert_eq!(
        server_metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        server_metadata["registration_endpoint"],
        format!("{issuer}/register")
    );

    // Local mode generated the deployment secret, private, and said where.
    let secret = server.data_dir().join("deployment-secret");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("deployment secret") && l.contains(harness::path_str(&secret))),
        "the log says where the secret is"
    );
    harness::plant(std::fs::read_to_string(&secret).unwrap().trim());

    // A token that was never issued.
    let forged = ping(&server, Some("forged-token"), None).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(forged.headers()).contains("error=\"invalid_token\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_works_with_its_grant_and_refresh_rotates() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let issuer = issuer_of(&server);
    let client = Client::register(&issuer, "E2E Assistant").await;

    let (html, _) = client.consent_page(&[]).await;
    assert!(
        html.contains("E2E Assistant") && html.contains("127.0.0.1"),
        "{html}"
    );

    // Granted reading only: sending is neither listed nor callable.
    let reader = client
        .tokens(BUSINESS_KEY, &["messages:read", "calls:read"])
        .await;
    let session = open_session(&server, &reader.access).await;
    assert_eq!(
        tool_names(&server, &reader.access, &session).await,
        vec!["fetch-messages", "fetch-call-transcripts"]
    );
    let send = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"send-message",
        "arguments":{"from": SALES_PHONE_ID, "to": BOB, "content": "hi"}}});
    let refused = mcp(&server, Some(&reader.access), Some(&session), send.clone()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = www_authenticate(refused.headers());
    assert!(
        challenge.contains("error=\"insufficient_scope\"") && challenge.contains("messages:send"),
        "{challenge}"
    );
    assert!(sim.sent_messages().is_empty());

    // A grant with sending: the tool runs with the key the user entered.
    let writer = client.tokens(BUSINESS_KEY, &["messages:send"]).await;
    // A session belongs to the grant that opened it.
    let borrowed = mcp(&server, Some(&writer.access), Some(&session), send.clone()).await;
    assert_eq!(borrowed.status(), StatusCode::NOT_FOUND);
    let session = open_session(&server, &writer.access).await;
    let reply: Value = mcp(&server, Some(&writer.access), Some(&session), send.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].api_key.as_deref(), Some(BUSINESS_KEY));

    // Refresh rotates: the new pair works, the old access token does not.
    let (status, body) = client.refresh(&writer.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = tokens_of(&body);
    assert_ne!(rotated.refresh, writer.refresh);
    let session = open_session(&server, &rotated.access).await;
    assert_eq!(
        tool_names(&server, &rotated.access, &session).await,
        vec!["send-message", "bulk-messages"]
    );

    // A tampered token (one character changed) is refused.
    let mut tampered = rotated.access.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let refused = ping(&server, Some(&tampered), None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // Reusing the old refresh token revokes the whole grant.
    let (status, body) = client.refresh(&writer.refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let after = mcp(&server, Some(&rotated.access), Some(&session), send).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        client.refresh(&rotated.refresh).await.0,
        StatusCode::BAD_REQUEST
    );

    // The reader's grant is untouched.
    let session = open_session(&server, &reader.access).await;
    assert_eq!(tool_names(&server, &reader.access, &session).await.len(), 2);

    let planted = [
        BUSINESS_KEY,
        reader.access.as_str(),
        reader.refresh.as_str(),
        writer.access.as_str(),
        writer.refresh.as_str(),
        rotated.access.as_str(),
        rotated.refresh.as_str(),
    ];
    harness::assert_no_secret(&server.logs(), &planted);
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_pkce_redirects_and_csrf_hold_against_attacks() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let issuer = issuer_of(&server);
    let client = Client::register(&issuer, "E2E Assistant").await;
    let http = &client.http;

    // Redirect-URI tricks are refused at registration.
    for bad in [
        "https:evil.com",
        "http://localhost%25@evil.com/cb",
        "HTTPS://example.com/cb",
        "https://example.com/cb#frag",
        "https://user@example.com/cb",
        "http://example.com/cb",
        " https://example.com/cb",
        "javascript:alert(1)",
    ] {
        let response = http
            .post(format!("{issuer}/register"))
            .json(&json!({"redirect_uris": [bad]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_redirect_uri", "{bad}");
    }

    // An unknown client or an unregistered redirect gets a page, never a redirect.
    for url in [
        client
            .authorize_url(&[])
            .replace(&client.client_id, "no-such-client"),
        client
            .authorize_url(&[])
            .replace("127.0.0.1%3A47123%2Fcallback", "evil.example%2Fcallback"),
    ] {
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(response.headers().get(LOCATION).is_none(), "{url}");
        assert!(response.text().await.unwrap().contains("<html"));
    }

    // PKCE: `plain` is refused (by redirect, the redirect URI being verified).
    let response = http
        .get(
            client
                .authorize_url(&[])
                .replace("code_challenge_method=S256", "code_challenge_method=plain"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        query_of(&location)["error"],
        "invalid_request",
        "{location}"
    );

    // PKCE: a request without a challenge is refused too.
    let no_challenge = client
        .authorize_url(&[])
        .split('&')
        .filter(|p| !p.starts_with("code_challenge"))
        .collect::<Vec<_>>()
        .join("&");
    let response = http.get(&no_challenge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        query_of(&location)["error"],
        "invalid_request",
        "{location}"
    );

    // A token for another resource cannot be asked for.
    let other_resource = client.authorize_url(&[]).replace("%2Fmcp", "%2Fother");
    let response = http.get(&other_resource).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(query_of(&location)["error"], "invalid_target", "{location}");

    // CSRF: no cookie, or a foreign Origin, and nothing is granted.
    let (html, cookie) = client.consent_page(&[]).await;
    let no_cookie = client
        .consent(&html, None, Some(&issuer), BUSINESS_KEY, &["messages:read"])
        .await;
    assert_eq!(no_cookie.status(), StatusCode::FORBIDDEN);
    let foreign = client
        .consent(
            &html,
            Some(&cookie),
            Some("https://evil.example"),
            BUSINESS_KEY,
            &["messages:read"],
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    // A key OpenPhone rejects: the page comes back, without the key.
    let wrong_key = "not-a-real-openphone-key-0000";
    harness::plant(wrong_key);
    let rejected = client
        .consent(
            &html,
            Some(&cookie),
            Some(&issuer),
            wrong_key,
            &["messages:read"],
        )
        .await;
    assert_eq!(rejected.status(), StatusCode::OK);
    let page = rejected.text().await.unwrap();
    assert!(!page.contains(wrong_key));

    // A wrong verifier fails; the right one works once; a replay revokes the grant.
    let code = client.code(BUSINESS_KEY, &["messages:read"]).await;
    let (status, body) = client.exchange(&code, &format!("{VERIFIER}x")).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_grant"))
    );
    let (status, body) = client.exchange(&code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = tokens_of(&body);
    let session = open_session(&server, &first.access).await;
    let (status, body) = client.exchange(&code, VERIFIER).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_grant"))
    );
    let revoked = ping(&server, Some(&first.access), Some(&session)).await;
    assert_eq!(
        revoked.status(),
        StatusCode::UNAUTHORIZED,
        "a replayed code must revoke its grant"
    );

    // Another client cannot refresh or revoke this client's tokens.
    let other = Client::register(&issuer, "Other").await;
    let victim = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let (status, _) = other.refresh(&victim.refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(other.revoke(&victim.access).await, StatusCode::OK);
    open_session(&server, &victim.access).await;
    // Its own client can revoke it; it stops working at once.
    assert_eq!(client.revoke(&victim.refresh).await, StatusCode::OK);
    let gone = ping(&server, Some(&victim.access), None).await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);

    harness::assert_no_secret(
        &server.logs(),
        &[
            BUSINESS_KEY,
            wrong_key,
            &code,
            &first.access,
            &first.refresh,
            &victim.access,
            &victim.refresh,
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_lists_and_revokes_grants_while_the_server_runs() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let issuer = issuer_of(&server);
    let client = Client::register(&issuer, "Admin Test Client").await;
    let tokens = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    open_session(&server, &tokens.access).await;

    let admin = |args: &[&str]| {
        let (ok, out, err) = harness::admin(&sim, &server, args);
        assert!(ok, "{err}");
        out
    };
    let clients: Value = serde_json::from_str(&admin(&["--json", "clients"])).unwrap();
    assert_eq!(clients["value"][0]["name"], "Admin Test Client");
    let grants: Value = serde_json::from_str(&admin(&["--json", "grants"])).unwrap();
    let grant = grants["value"][0]["grant"].as_str().unwrap().to_owned();
    let listing = admin(&["grants"]);
    assert!(listing.contains(&grant));
    for secret in [
        BUSINESS_KEY,
        tokens.access.as_str(),
        tokens.refresh.as_str(),
    ] {
        assert!(!listing.contains(secret) && !grants.to_string().contains(secret));
    }

    assert!(admin(&["revoke-grant", &grant]).contains("revoked"));
    let after = ping(&server, Some(&tokens.access), None).await;
    assert_eq!(
        after.status(),
        StatusCode::UNAUTHORIZED,
        "revocation takes effect on the next request"
    );
    assert!(admin(&["revoke-grant", "no-such-grant"]).contains("nothing revoked"));

    // Revoking a client ends all its grants, and it can start no new flow.
    let second = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    open_session(&server, &second.access).await;
    assert!(admin(&["revoke-client", &client.client_id]).contains("revoked"));
    let after = ping(&server, Some(&second.access), None).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let page = client
        .http
        .get(client.authorize_url(&[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.headers().get(LOCATION).is_none());
    let clients: Value = serde_json::from_str(&admin(&["--json", "clients"])).unwrap();
    assert_eq!(clients["value"][0]["revoked"], true);
}

/// Approves `authorize_url` on the consent page as a user would (with the
/// form, its cookie and the issuer's Origin); returns the redirect location.
async fn approve(issuer: &str, authorize_url: &str, key: &str, scopes: &[&str]) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let mut form: Vec<(String, String)> = hidden_inputs(&html).into_iter().collect();
    form.push(("api_key".into(), key.into()));
    form.push(("action".into(), "approve".into()));
    for scope in scopes {
        form.push(("scope".into(), (*scope).into()));
    }
    let response = http
        .post(format!("{issuer}/authorize"))
        .header("cookie", cookie)
        .header("origin", issuer)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_rmcp_client_discovers_registers_authorizes_and_refreshes() {
    use rmcp::ServiceExt as _;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::auth::{AuthClient, AuthorizationRequest, OAuthState};
    use rmcp::transport::streamable_http_client::{
        StreamableHttpClientTransport, StreamableHttpClientTransportConfig,
    };

    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let issuer = issuer_of(&server);

    // Discovery from the MCP URL, dynamic registration, PKCE: all the SDK's.
    let mut state = OAuthState::new(server.url(), None).await.unwrap();
    state
        .start_authorization(
            AuthorizationRequest::new(REDIRECT)
                .with_client_name("rmcp e2e client")
                .with_scopes(["messages:read", "contacts:write"]),
        )
        .await
        .unwrap();
    let url = state.get_authorization_url().await.unwrap();
    assert!(url.starts_with(&format!("{issuer}/authorize?")), "{url}");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let location = approve(
        &issuer,
        &url,
        BUSINESS_KEY,
        &["messages:read", "contacts:write"],
    )
    .await;
    let code = query_of(&location)["code"].clone();
    harness::plant(&code);
    state.handle_callback_url(&location).await.unwrap();

    let manager = state.into_authorization_manager().unwrap();
    let first = manager.get_access_token().await.unwrap();
    manager.refresh_token().await.unwrap();
    let second = manager.get_access_token().await.unwrap();
    harness::plant(&first);
    harness::plant(&second);
    assert_ne!(first, second, "refresh issues a new access token");
    // The rotated-out token no longer works.
    let old = ping(&server, Some(&first), None).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);

    let client = AuthClient::new(reqwest::Client::default(), manager);
    let transport = StreamableHttpClientTransport::with_client(
        client,
        StreamableHttpClientTransportConfig::with_uri(server.url()),
    );
    let service = ().serve(transport).await.unwrap();
    let mut names: Vec<String> = service
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["create-contact", "fetch-messages"]);
    let result = service
        .call_tool(
            CallToolRequestParams::new("fetch-messages").with_arguments(
                json!({"inbox": SALES_PHONE_ID, "participant": BOB, "maxResults": 2})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let read = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/messages")
        .count();
    assert!(read >= 1);
    service.cancel().await.unwrap();
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_holds_across_grants_of_one_workspace() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let issuer = issuer_of(&server);
    let send = |from: &str| {
        json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"send-message","arguments":{
            "from": from, "to": BOB, "content": "Your order is ready", "idempotencyKey": "order-7"}}})
    };
    let call = |client: Client, key: &'static str, from: &'static str| {
        let (server, send) = (&server, &send);
        async move {
            let tokens = client.tokens(key, &["messages:send"]).await;
            let session = open_session(server, &tokens.access).await;
            let reply: Value = mcp(server, Some(&tokens.access), Some(&session), send(from))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(reply["result"]["isError"], false, "{reply}");
            reply["result"]["structuredContent"]["id"].clone()
        }
    };
    // One user authorizes twice (a second device, a re-consent): two grants
    // for one API key, one idempotency key, one text.
    let first = call(
        Client::register(&issuer, "device one").await,
        BUSINESS_KEY,
        SALES_PHONE_ID,
    )
    .await;
    let second = call(
        Client::register(&issuer, "device two").await,
        BUSINESS_KEY,
        SALES_PHONE_ID,
    )
    .await;
    assert_eq!(
        first, second,
        "the second grant is answered from the record"
    );
    assert_eq!(sim.sent_messages().len(), 1);
    // Another workspace using the same idempotency key sends its own text.
    let other = call(
        Client::register(&issuer, "another workspace").await,
        openphone_sim::STANDARD_KEY,
        openphone_sim::STANDARD_MAIN_PHONE_ID,
    )
    .await;
    assert_ne!(other, first);
    assert_eq!(sim.sent_messages().len(), 2);
    sim.assert_conformant();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typed_key_cannot_steer_the_logs() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let client = Client::register(&issuer_of(&server), "log steering").await;
    let request_id = server
        .logs()
        .iter()
        .find_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            v["span"]["request_id"].as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| "8f14e45f-ceea-467a-9f4e-5c1d3b0b0a2d".to_owned());
    let hostile = [
        r#""level":"#.to_owned(),
        r#""message":"#.to_owned(),
        r#"","level":"ERROR"#.to_owned(),
        "INFO".to_owned(),
        request_id,
        client.client_id.clone(),
        "serving MCP at".to_owned(),
    ];
    for candidate in &hostile {
        let (html, cookie) = client.consent_page(&[]).await;
        let response = client
            .consent(
                &html,
                Some(&cookie),
                Some(&client.issuer),
                candidate,
                &["messages:read"],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "the form is shown again");
        let page = response.text().await.unwrap();
        assert!(page.contains("API key"), "{page}");
    }
    // A later request logs as usual: every line stays JSON with its fields
    // (checked for every line when the server stops), and the ordinary
    // words are not masked.
    let tokens = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    open_session(&server, &tokens.access).await;
    let logs = server.logs();
    harness::assert_json_lines(&logs);
    assert!(
        logs.iter().any(|l| l.contains(r#""level":"INFO""#)),
        "levels are not masked"
    );
    assert!(
        !logs.iter().any(|l| l.contains("[redacted]\"INFO")),
        "no line is garbled"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_grant_over_its_limit_leaves_another_served() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &["--rate-limit", "mcp-grant=5/min"]);
    let issuer = issuer_of(&server);
    let busy = Client::register(&issuer, "busy").await;
    let busy = busy.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let calm = Client::register(&issuer, "calm").await;
    let calm = calm.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let busy_session = open_session(&server, &busy.access).await;
    let calm_session = open_session(&server, &calm.access).await;
    for _ in 0..3 {
        let response = ping(&server, Some(&busy.access), Some(&busy_session)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Opening the session took two requests, the pings three: the sixth is over.
    let limited = ping(&server, Some(&busy.access), Some(&busy_session)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32000, "{body}");
    let response = ping(&server, Some(&calm.access), Some(&calm_session)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn key_checks_on_the_consent_form_are_limited() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &["--rate-limit", "key-check=3/min"]);
    let client = Client::register(&issuer_of(&server), "key oracle").await;
    for n in 0..3 {
        let (html, cookie) = client.consent_page(&[]).await;
        let key = format!("wrong-key-{n:04}-000000000000");
        let response = client
            .consent(
                &html,
                Some(&cookie),
                Some(&client.issuer),
                &key,
                &["messages:read"],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "the form again");
    }
    let (html, cookie) = client.consent_page(&[]).await;
    let response = client
        .consent(
            &html,
            Some(&cookie),
            Some(&client.issuer),
            "wrong-key-9999-000000000000",
            &["messages:read"],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert!(response.text().await.unwrap().contains("Too many attempts"));
    // Only key checks reached OpenPhone: three, not four.
    let checks = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/phone-numbers"))
        .count();
    assert_eq!(checks, 3);
    // The page itself, and a decision without a key, are still served.
    let (html, cookie) = client.consent_page(&[]).await;
    let mut form: Vec<(String, String)> = hidden_inputs(&html).into_iter().collect();
    form.push(("action".into(), "deny".into()));
    let denied = client
        .http
        .post(format!("{}/authorize", client.issuer))
        .header("cookie", cookie)
        .header("origin", &client.issuer)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_workspace_flooding_slow_calls_leaves_another_served() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &["--call-queue-wait-secs", "3"]);
    let issuer = issuer_of(&server);
    let flood = Client::register(&issuer, "flood").await;
    let flood = flood.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let other = Client::register(&issuer, "other").await;
    let other = other
        .tokens(openphone_sim::STANDARD_KEY, &["calls:read"])
        .await;
    let flood_session = open_session(&server, &flood.access).await;
    let other_session = open_session(&server, &other.access).await;
    // Every message read is slow; the flooding workspace waits on its own
    // 10 requests/s budget besides.
    sim.inject(
        openphone_sim::Fault::delay(1_500)
            .on("GET", "/v1/messages")
            .times(500),
    );
    let server = std::sync::Arc::new(server);
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..64 {
        let (server, token, session, finished) = (
            std::sync::Arc::clone(&server),
            flood.access.clone(),
            flood_session.clone(),
            std::sync::Arc::clone(&finished),
        );
        calls.spawn(async move {
            let call = json!({"jsonrpc":"2.0","id":100 + n,"method":"tools/call","params":{
                "name":"fetch-messages","arguments":{"inbox": SALES_PHONE_ID, "participant": BOB, "maxResults": 1}}});
            let response = mcp(&server, Some(&token), Some(&session), call).await;
            finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let status = response.status();
            let retry_after = response.headers().contains_key("retry-after");
            let body: Value = response.json().await.unwrap();
            (status, retry_after, body)
        });
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let reply: Value = mcp(
        &server,
        Some(&other.access),
        Some(&other_session),
        json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{
            "name":"fetch-call-transcripts","arguments":{"inbox": openphone_sim::STANDARD_MAIN_PHONE_ID, "maxCalls": 1}}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(reply["result"]["content"].is_array(), "served: {reply}");
    // Each flood call takes at least 1.5 s: the other workspace's call did
    // not queue behind any of them.
    assert_eq!(
        finished.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the other workspace was served before any of the flood's calls ended"
    );
    let (mut served, mut busy) = (0, 0);
    while let Some(done) = calls.join_next().await {
        let (status, retry_after, body) = done.unwrap();
        match status {
            StatusCode::OK => {
                assert!(body["result"].is_object(), "{body}");
                served += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry_after, "a busy answer says when to retry");
                assert_eq!(body["error"]["code"], -32001, "{body}");
                busy += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(served >= 8, "{served} served");
    assert!(busy > 0, "waits are bounded: some of the flood was refused");
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_consent_checks_never_hold_up_bearer_checks() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &["--rate-limit", "key-check=off"]);
    let client = Client::register(&issuer_of(&server), "slow checks").await;
    let tokens = client.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let session = open_session(&server, &tokens.access).await;
    let mut forms = Vec::new();
    for n in 0..40 {
        let (html, cookie) = client.consent_page(&[]).await;
        let mut form: Vec<(String, String)> = hidden_inputs(&html).into_iter().collect();
        form.push(("api_key".into(), format!("wrong-key-{n:04}-0000000000")));
        form.push(("action".into(), "approve".into()));
        form.push(("scope".into(), "messages:read".into()));
        forms.push((form, cookie));
    }
    // Every key check now takes 3 s at OpenPhone.
    sim.inject(
        openphone_sim::Fault::delay(3_000)
            .on("GET", "/v1/phone-numbers")
            .times(40),
    );
    let mut submissions = tokio::task::JoinSet::new();
    for (form, cookie) in forms {
        let (http, issuer) = (client.http.clone(), client.issuer.clone());
        submissions.spawn(async move {
            let response = http
                .post(format!("{issuer}/authorize"))
                .header("cookie", cookie)
                .header("origin", &issuer)
                .form(&form)
                .send()
                .await
                .unwrap();
            (
                response.status(),
                response.headers().contains_key("retry-after"),
            )
        });
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Bearer checks have their own capacity: served at once.
    for _ in 0..5 {
        let response = ping(&server, Some(&tokens.access), Some(&session)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (mut answered, mut busy) = (0, 0);
    while let Some(done) = submissions.join_next().await {
        match done.unwrap() {
            (StatusCode::OK, _) => answered += 1,
            (StatusCode::SERVICE_UNAVAILABLE, true) => busy += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(answered >= 12, "{answered} answered");
    assert!(busy > 0, "waits for the consent form are bounded");
}

#[tokio::test(flavor = "multi_thread")]
async fn registrations_by_the_thousand_are_swept_without_touching_tokens() {
    use futures::StreamExt as _;
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(
        &sim,
        OAUTH,
        &[
            "--rate-limit",
            "register=off",
            "--rate-limit",
            "token=off",
            "--auth-sweep-interval-secs",
            "1",
        ],
    );
    let issuer = issuer_of(&server);
    let user = Client::register(&issuer, "a real user").await;
    let mut tokens = user.tokens(BUSINESS_KEY, &["messages:read"]).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let (issuer, done) = (issuer.clone(), std::sync::Arc::clone(&done));
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let registered = futures::stream::iter(0..20_000)
                .map(|n| {
                    let (http, issuer) = (http.clone(), issuer.clone());
                    async move {
                        let response = http
                            .post(format!("{issuer}/register"))
                            .json(&json!({"redirect_uris": [REDIRECT], "client_name": format!("flood {n}")}))
                            .send()
                            .await
                            .unwrap();
                        response.status()
                    }
                })
                .buffer_unordered(16)
                .filter(|status| std::future::ready(*status == StatusCode::CREATED))
                .count()
                .await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            registered
        })
    };
    // The user refreshes all along, while the sweeps run: every answer is a
    // fresh pair of tokens.
    let mut refreshes = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let (status, body) = user.refresh(&tokens.refresh).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tokens = tokens_of(&body);
        refreshes += 1;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(flood.await.unwrap(), 20_000);
    assert!(refreshes > 0);
    // A whole sweep over the 20 000 clients completes, page by page.
    let swept = |logs: &[String]| {
        logs.iter().any(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_default();
            v["message"] == "auth sweep done" && v["pages"].as_u64().unwrap_or(0) >= 40
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !swept(&server.logs()) {
        assert!(std::time::Instant::now() < deadline, "no sweep completed");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let (status, body) = user.refresh(&tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tokens = tokens_of(&body);
    assert_eq!(
        ping(&server, Some(&tokens.access), None).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_metadata_document_that_cannot_be_fetched_tells_nothing_about_why() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start(&sim, OAUTH, &[]);
    let issuer = issuer_of(&server);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut pages = Vec::new();
    // A private address, a closed loopback port and a plain-http URL are told apart
    // nowhere a client can see.
    for client_id in [
        "https://10.3.4.5/client.json",
        "https://127.0.0.1:9/client.json",
        "https://[fd00::7]/client.json",
    ] {
        let mut url = url::Url::parse(&format!("{issuer}/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", "https://client.example/cb")
            .append_pair("code_challenge", &challenge(VERIFIER))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "s");
        let response = http.get(url.as_str()).send().await.unwrap();
        assert!(response.headers().get(LOCATION).is_none());
        let page = response.text().await.unwrap();
        for detail in ["10.3.4.5", "non-public", "refused", "fd00", ":9"] {
            assert!(!page.contains(detail), "`{detail}` in {page}");
        }
        assert!(page.contains("could not be fetched"), "{page}");
        pages.push(page.replace(client_id, ""));
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]), "the pages differ");
}

#[tokio::test(flavor = "multi_thread")]
async fn production_serves_browsers_only_from_its_own_origin() {
    let sim = Simulator::start().await.unwrap();
    let server = Server::start_with_env(
        &sim,
        OAUTH,
        &[
            "--mode",
            "production",
            "--public-url",
            "https://mcp.example.test",
        ],
        &[(
            "OPENPHONE_MCP_SECRET",
            "0123456789abcdef0123456789abcdef-production",
        )],
    );
    let post = |origin: &'static str| {
        reqwest::Client::new()
            .post(server.url())
            .header("host", "mcp.example.test")
            .header("origin", origin)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
            .send()
    };
    // A page on any loopback port is no longer trusted...
    for foreign in ["http://localhost:5173", "http://127.0.0.1:8080"] {
        assert_eq!(
            post(foreign).await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{foreign}"
        );
    }
    // ...the server's own origin is (and then needs a token).
    assert_eq!(
        post("https://mcp.example.test").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
