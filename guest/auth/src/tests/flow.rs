//! The flows a well-behaved client and user go through.

use crate::audit::Kind;
use serde_json::json;

use super::*;
use crate::scope::ALL;
use crate::server::routes;

#[test]
fn discovery_documents() {
    let f = Fakes::new();
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = f.get(path, "");
        assert_eq!(r.status, 200);
        let doc = json_body(&r);
        assert_eq!(doc["resource"], RESOURCE);
        assert_eq!(doc["authorization_servers"], json!([ISSUER]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(
            doc["scopes_supported"],
            json!([
                "messages:send",
                "messages:read",
                "contacts:write",
                "calls:read"
            ])
        );
        assert!(doc["resource_name"].as_str().unwrap().contains("OpenPhone"));
    }
    let doc = json_body(&f.get("/.well-known/oauth-authorization-server", ""));
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(
        doc["authorization_endpoint"],
        "https://mcp.example.com/authorize"
    );
    assert_eq!(doc["token_endpoint"], "https://mcp.example.com/token");
    assert_eq!(
        doc["registration_endpoint"],
        "https://mcp.example.com/register"
    );
    assert_eq!(doc["revocation_endpoint"], "https://mcp.example.com/revoke");
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["none"])
    );
    assert_eq!(
        doc["revocation_endpoint_auth_methods_supported"],
        json!(["none"])
    );
    assert_eq!(doc["client_id_metadata_document_supported"], json!(true));
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert_eq!(doc["scopes_supported"].as_array().unwrap().len(), 4);
}

#[test]
fn routes_and_unrouted_requests() {
    let f = Fakes::new();
    let paths = routes(Some(&f.settings));
    for p in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "/register",
        "/authorize",
        "/token",
        "/revoke",
    ] {
        assert!(paths.contains(&p.to_string()), "{p}");
    }
    assert_eq!(routes(None).len(), 7);
    let other = settings_with(&[("resource", "https://mcp.example.com/v2/mcp")]);
    assert!(
        routes(Some(&other)).contains(&"/.well-known/oauth-protected-resource/v2/mcp".to_string())
    );

    assert_eq!(f.get("/nope", "").status, 404);
    let r = f.get("/token", "");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(
        f.post_json("/.well-known/oauth-authorization-server", &json!({}))
            .status,
        405
    );
}

/// metadata → register → authorize → consent → token → verify → refresh →
/// verify new / old refused → revoke → verify refused.
#[test]
fn full_flow() {
    let f = Fakes::new();
    assert_eq!(
        f.get("/.well-known/oauth-protected-resource/mcp", "")
            .status,
        200
    );
    assert_eq!(
        f.get("/.well-known/oauth-authorization-server", "").status,
        200
    );

    let registered = f.post_json(
        "/register",
        &json!({
            "client_name": "Claude",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "logo_uri": "https://app.example.org/logo.png"
        }),
    );
    assert_eq!(registered.status, 201);
    assert_eq!(registered.header("cache-control"), Some("no-store"));
    let client = json_body(&registered);
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    assert_eq!(client_id.len(), 22);
    assert_eq!(client["client_name"], "Claude");
    assert_eq!(client["redirect_uris"], json!([REDIRECT]));
    assert_eq!(client["token_endpoint_auth_method"], "none");
    assert_eq!(client["client_id_issued_at"], json!(START));
    assert!(client.get("logo_uri").is_none());

    // The consent page.
    let verifier = "Zk9hT2xVbm9PZ2xBbkJ0c2Q4c0pWbXlVY2dWeWdIdlN0dVc";
    let page = f.authorize(
        &client_id,
        REDIRECT,
        verifier,
        &[("scope", "messages:send calls:read")],
    );
    assert_eq!(page.status, 200);
    assert!(is_page(&page));
    let html = body_text(&page);
    assert!(html.contains("Claude"));
    assert!(html.contains("app.example.org"));
    assert!(html.contains("OpenPhone for AI assistants"));
    assert!(html.contains("Settings → API"));
    assert!(html.contains("name=\"scope\" value=\"messages:send\" checked"));
    assert!(html.contains("name=\"scope\" value=\"calls:read\" checked"));
    assert!(!html.contains("value=\"messages:read\""));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(
        page.header("content-security-policy"),
        Some(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' https://app.example.org; frame-ancestors 'none'; base-uri 'none'"
        )
    );
    let cookie = page.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-openphone-mcp-csrf="));
    assert!(cookie.contains("; Path=/;") && cookie.contains("; Secure; HttpOnly; SameSite=Strict"));

    // Consent.
    let form = consent_form(&page);
    let redirect = f.submit(
        &form,
        &[
            ("action", "approve"),
            ("api_key", &format!("  {GOOD_KEY}\n")),
            ("scope", "messages:send"),
            ("scope", "calls:read"),
        ],
    );
    assert_eq!(redirect.status, 302, "{}", body_text(&redirect));
    let location = redirect.header("location").unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}?code=opc_")));
    let params = location_params(&redirect);
    assert_eq!(params.single("state").unwrap(), Some("state-123"));
    assert_eq!(params.single("iss").unwrap(), Some(ISSUER));
    let code = params.single("code").unwrap().unwrap().to_owned();
    assert!(code.len() >= 4 + 43, "256 bits of code");
    assert_eq!(
        f.vault.sealed.borrow().values().collect::<Vec<_>>(),
        [GOOD_KEY],
        "the trimmed key is sealed"
    );

    // Token.
    let login = Login {
        client_id: client_id.clone(),
        redirect_uri: REDIRECT.into(),
        code,
        verifier: verifier.into(),
        state: "state-123".into(),
    };
    let response = f.exchange(&login);
    assert_eq!(response.status, 200, "{}", body_text(&response));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let first = tokens(&response);
    assert_eq!(first.body["token_type"], "Bearer");
    assert_eq!(first.body["expires_in"], json!(86_400));
    assert_eq!(first.body["scope"], "messages:send calls:read");
    assert!(first.access.starts_with("opa_") && first.access.len() == 47);
    let first_refresh = first.refresh.clone().unwrap();
    assert!(first_refresh.starts_with("opr_"));

    // Verify.
    let principal = f.verify(&first.access).unwrap();
    assert_eq!(principal.client_id, client_id);
    assert_eq!(principal.scopes, ["messages:send", "calls:read"]);
    let grant = principal.grant.clone();
    assert!(f.vault.sealed.borrow().contains_key(&grant));

    // Refresh: new tokens work, old ones do not.
    f.clock.advance(60);
    let refreshed = f.refresh(&client_id, &first_refresh, &[("resource", RESOURCE)]);
    assert_eq!(refreshed.status, 200, "{}", body_text(&refreshed));
    let second = tokens(&refreshed);
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(f.verify(&second.access).unwrap().grant, grant);
    assert_eq!(
        f.verify(&first.access),
        Err(VerifyError::Revoked),
        "the previous access token ends with the rotation"
    );

    // Revoke the refresh token: the whole grant ends.
    let revoked = f.post_form(
        "/revoke",
        &[
            ("token", second.refresh.as_deref().unwrap()),
            ("token_type_hint", "refresh_token"),
            ("client_id", &client_id),
        ],
        &[],
    );
    assert_eq!(revoked.status, 200);
    assert_eq!(f.verify(&second.access), Err(VerifyError::Revoked));
    assert!(
        !f.vault.sealed.borrow().contains_key(&grant),
        "the key is deleted with the grant"
    );
    assert_eq!(
        oauth_error(&f.refresh(&client_id, second.refresh.as_deref().unwrap(), &[])),
        "invalid_grant"
    );
}

#[test]
fn metadata_document_client() {
    let f = Fakes::new();
    let url = "https://assistant.example.net/oauth/client-metadata.json";
    let redirect = "https://assistant.example.net/callback";
    f.fetcher.publish(
        url,
        &json!({
            "client_id": url,
            "client_name": "Example Assistant",
            "redirect_uris": [redirect, "http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
        }),
    );
    let page = f.authorize(url, redirect, &"v".repeat(43), &[]);
    assert_eq!(page.status, 200, "{}", body_text(&page));
    let html = body_text(&page);
    assert!(html.contains("Example Assistant"));
    assert!(
        html.contains(url),
        "the page says where the metadata came from"
    );
    assert_eq!(f.fetcher.fetched.borrow().len(), 1);

    // Cached for an hour, fetched again after.
    let login = f.login(url, redirect);
    assert_eq!(f.fetcher.fetched.borrow().len(), 1);
    let response = f.exchange(&login);
    assert_eq!(response.status, 200, "{}", body_text(&response));
    let t = tokens(&response);
    assert_eq!(f.verify(&t.access).unwrap().client_id, url);

    f.clock.advance(3601);
    assert_eq!(f.authorize(url, redirect, &"v".repeat(43), &[]).status, 200);
    assert_eq!(f.fetcher.fetched.borrow().len(), 2);

    // The loopback redirect with any port.
    assert_eq!(
        f.authorize(url, "http://127.0.0.1:49152/callback", &"v".repeat(43), &[])
            .status,
        200
    );

    let clients = f.server().list_clients().unwrap();
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0].kind, "metadata-document");
    assert_eq!(clients[0].name, "Example Assistant");
    assert_eq!(clients[0].created_at, START);
}

#[test]
fn metadata_document_problems_are_pages() {
    let f = Fakes::new();
    let url = "https://assistant.example.net/client.json";
    let redirect = "https://assistant.example.net/cb";
    let check = |expected: &str| {
        let r = f.authorize(url, redirect, &"v".repeat(43), &[]);
        assert_eq!(r.status, 400);
        assert!(is_page(&r));
        assert!(body_text(&r).contains(expected), "{}", body_text(&r));
    };
    check("404 Not Found");
    f.fetcher.publish(
        url,
        &json!({"client_id": "https://other.example.net/client.json", "redirect_uris": [redirect]}),
    );
    check("does not equal the URL");
    f.fetcher.documents.borrow_mut().insert(
        url.into(),
        Err(crate::metadata::FetchError::Refused(
            "private address".into(),
        )),
    );
    check("private address");
    f.fetcher
        .documents
        .borrow_mut()
        .insert(url.into(), Ok(b"<html>".to_vec()));
    check("not a JSON object");
    assert!(
        f.store.keys_with("cimd/").is_empty(),
        "failures are not cached"
    );
    // A good document that does not list the redirect URI.
    f.fetcher.publish(
        url,
        &json!({"client_id": url, "redirect_uris": ["https://assistant.example.net/other"]}),
    );
    check("not one this application registered");
    assert_eq!(f.store.keys_with("cimd/").len(), 1);
}

#[test]
fn loopback_clients_may_use_any_port() {
    let f = Fakes::new();
    let client_id = f.register(&["http://127.0.0.1/callback"]);
    let login = f.login(&client_id, "http://127.0.0.1:53682/callback");
    assert_eq!(login.state, "state-123");
    // The token request must repeat the redirect URI the code was sent to.
    assert_eq!(f.exchange(&login).status, 200);
}

#[test]
fn redirect_query_is_preserved() {
    let f = Fakes::new();
    let uri = "https://app.example.org/cb?tenant=42";
    let client_id = f.register(&[uri]);
    let page = f.authorize(&client_id, uri, &"v".repeat(43), &[]);
    let r = f.approve(&consent_form(&page), GOOD_KEY);
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with("https://app.example.org/cb?tenant=42&code=opc_"),
        "{location}"
    );
}

#[test]
fn deny_redirects_with_access_denied() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let page = f.authorize(&client_id, REDIRECT, &"v".repeat(43), &[]);
    let r = f.submit(&consent_form(&page), &[("action", "deny")]);
    assert_eq!(r.status, 302);
    let p = location_params(&r);
    assert_eq!(p.single("error").unwrap(), Some("access_denied"));
    assert_eq!(p.single("state").unwrap(), Some("state-123"));
    assert_eq!(p.single("iss").unwrap(), Some(ISSUER));
    assert_eq!(p.single("code").unwrap(), None);
    assert!(f.store.keys_with("grant/").is_empty());
    assert_eq!(f.vault.checks.get(), 0);
    assert_eq!(
        f.audit.kinds(),
        vec![Kind::ClientRegistered, Kind::ConsentDenied]
    );
    assert_eq!(
        f.audit.events.borrow()[1].client_id.as_deref(),
        Some(client_id.as_str())
    );
}

#[test]
fn the_user_can_narrow_scopes_and_so_can_a_refresh() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let verifier = "w".repeat(43);
    let page = f.authorize(&client_id, REDIRECT, &verifier, &[("scope", "")]);
    let html = body_text(&page);
    for s in ALL {
        assert!(
            html.contains(&format!("value=\"{}\" checked", s.as_str())),
            "absent scope offers {s}"
        );
    }
    let r = f.submit(
        &consent_form(&page),
        &[
            ("action", "approve"),
            ("api_key", GOOD_KEY),
            ("scope", "messages:read"),
            ("scope", "calls:read"),
        ],
    );
    let code = location_params(&r)
        .single("code")
        .unwrap()
        .unwrap()
        .to_owned();
    let login = Login {
        client_id: client_id.clone(),
        redirect_uri: REDIRECT.into(),
        code,
        verifier,
        state: String::new(),
    };
    let t = tokens(&f.exchange(&login));
    assert_eq!(t.body["scope"], "messages:read calls:read");

    let narrower = f.refresh(
        &client_id,
        t.refresh.as_deref().unwrap(),
        &[("scope", "calls:read")],
    );
    let n = tokens(&narrower);
    assert_eq!(n.body["scope"], "calls:read");
    assert_eq!(f.verify(&n.access).unwrap().scopes, ["calls:read"]);
    // The refresh token keeps the grant's scopes.
    let back = tokens(&f.refresh(&client_id, n.refresh.as_deref().unwrap(), &[]));
    assert_eq!(back.body["scope"], "messages:read calls:read");
    // A refresh cannot widen them.
    let wider = f.refresh(
        &client_id,
        back.refresh.as_deref().unwrap(),
        &[("scope", "messages:send")],
    );
    assert_eq!(oauth_error(&wider), "invalid_scope");
    let unknown = f.refresh(
        &client_id,
        back.refresh.as_deref().unwrap(),
        &[("scope", "admin")],
    );
    assert_eq!(oauth_error(&unknown), "invalid_scope");
    assert!(
        f.verify(&back.access).is_ok(),
        "refused refreshes change nothing"
    );
}

#[test]
fn access_tokens_expire_and_refresh_still_works() {
    let f = Fakes::with_settings(settings_with(&[("access_token_ttl_secs", "3600")]));
    let (login, t) = f.signed_in();
    assert_eq!(t.body["expires_in"], json!(3600));
    f.clock.advance(3600);
    assert_eq!(f.verify(&t.access), Err(VerifyError::Expired));
    let r = f.refresh(&login.client_id, t.refresh.as_deref().unwrap(), &[]);
    assert_eq!(r.status, 200);
    assert!(f.verify(&tokens(&r).access).is_ok());
}

#[test]
fn refresh_tokens_expire() {
    let f = Fakes::with_settings(settings_with(&[
        ("access_token_ttl_secs", "600"),
        ("refresh_token_ttl_secs", "3600"),
    ]));
    let (login, t) = f.signed_in();
    f.clock.advance(3600);
    assert_eq!(
        oauth_error(&f.refresh(&login.client_id, t.refresh.as_deref().unwrap(), &[])),
        "invalid_grant"
    );
}

#[test]
fn clients_without_the_refresh_grant_get_no_refresh_token() {
    let f = Fakes::new();
    let r = f.post_json(
        "/register",
        &json!({"redirect_uris": [REDIRECT], "grant_types": ["authorization_code"]}),
    );
    let client_id = json_body(&r)["client_id"].as_str().unwrap().to_owned();
    let login = f.login(&client_id, REDIRECT);
    let t = tokens(&f.exchange(&login));
    assert!(t.refresh.is_none());
    assert!(t.body.get("refresh_token").is_none());
    assert!(f.verify(&t.access).is_ok());
}

#[test]
fn revoking_an_access_token_leaves_the_refresh_token() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    let r = f.post_form(
        "/revoke",
        &[("token", &t.access), ("client_id", &login.client_id)],
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(f.verify(&t.access), Err(VerifyError::Unknown));
    let again = f.refresh(&login.client_id, t.refresh.as_deref().unwrap(), &[]);
    assert_eq!(again.status, 200);
    assert!(f.verify(&tokens(&again).access).is_ok());
}

#[test]
fn revoking_unknown_tokens_is_fine() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let r = f.post_form(
        "/revoke",
        &[("token", "opa_nothing"), ("client_id", &client_id)],
        &[],
    );
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(
        oauth_error(&f.post_form("/revoke", &[("client_id", &client_id)], &[])),
        "invalid_request"
    );
    assert_eq!(
        oauth_error(&f.post_form("/revoke", &[("token", "x")], &[])),
        "invalid_request"
    );
}

#[test]
fn rejected_key_then_right_key() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let page = f.authorize(&client_id, REDIRECT, &"v".repeat(43), &[]);
    let first = consent_form(&page);
    let wrong = "opk_live_WRONG_0000000000000000000000000000";
    let again = f.submit(
        &first,
        &[
            ("action", "approve"),
            ("api_key", wrong),
            ("scope", "calls:read"),
        ],
    );
    assert_eq!(again.status, 200);
    let html = body_text(&again);
    assert!(html.contains("OpenPhone did not accept this API key"));
    assert!(!html.contains(wrong), "the key is never echoed");
    assert!(html.contains("value=\"calls:read\" checked"));
    assert!(
        !html.contains("value=\"messages:send\" checked"),
        "the user's choice is kept"
    );
    let second = consent_form(&again);
    assert_ne!(second.csrf, first.csrf, "a fresh CSRF token");
    assert_ne!(second.cookie, first.cookie);
    assert!(f.store.keys_with("grant/").is_empty());
    assert_eq!(
        f.audit.kinds(),
        vec![Kind::ClientRegistered, Kind::KeyRejected]
    );
    // No event carries the key, nor anything else secret.
    assert!(!format!("{:?}", f.audit.events.borrow()).contains(wrong));

    // The old form is dead: its token belongs to the old cookie.
    let stale = f.submit_with(
        &first,
        &[("action", "approve"), ("api_key", GOOD_KEY)],
        Some(ISSUER),
        Some(&second.cookie),
    );
    assert_eq!(stale.status, 403);

    let ok = f.submit(
        &second,
        &[
            ("action", "approve"),
            ("api_key", GOOD_KEY),
            ("scope", "calls:read"),
        ],
    );
    assert_eq!(ok.status, 302);
}

#[test]
fn consent_form_input_problems_re_render() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let page = f.authorize(&client_id, REDIRECT, &"v".repeat(43), &[]);
    let form = consent_form(&page);
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("action", "approve"), ("api_key", GOOD_KEY)],
            "Choose at least one",
        ),
        (
            &[
                ("action", "approve"),
                ("api_key", "   "),
                ("scope", "calls:read"),
            ],
            "Enter your OpenPhone API key",
        ),
        (
            &[
                ("action", "approve"),
                ("api_key", &"k".repeat(201)),
                ("scope", "calls:read"),
            ],
            "longer than any OpenPhone API key",
        ),
    ];
    for (fields, message) in cases {
        let r = f.submit(&form, fields);
        assert_eq!(r.status, 200);
        assert!(body_text(&r).contains(message), "{message}");
        assert!(!body_text(&r).contains(&"k".repeat(201)));
    }
    f.vault.unavailable.set(true);
    let r = f.submit(
        &form,
        &[
            ("action", "approve"),
            ("api_key", GOOD_KEY),
            ("scope", "calls:read"),
        ],
    );
    assert!(body_text(&r).contains("could not be reached"));
    assert_eq!(f.vault.checks.get(), 1, "only well-formed keys are checked");
    assert!(f.store.keys_with("grant/").is_empty());
}

#[test]
fn sweep_removes_expired_records_and_their_keys() {
    let f = Fakes::with_settings(settings_with(&[
        ("access_token_ttl_secs", "600"),
        ("refresh_token_ttl_secs", "3600"),
    ]));
    let (_, t) = f.signed_in();
    let grant = f.verify(&t.access).unwrap().grant;
    // A consent that never got its code exchanged.
    let client_id = f.register(&[REDIRECT]);
    let _abandoned = f.login(&client_id, REDIRECT);
    assert_eq!(f.vault.sealed.borrow().len(), 2);
    assert!(!f.store.keys_with("code/").is_empty());

    f.clock.advance(3601 + 3600);
    // Requests never sweep; the host's background sweep does.
    f.get("/.well-known/oauth-authorization-server", "");
    assert!(!f.store.keys_with("code/").is_empty());
    let removed = f.server().sweep().unwrap();
    assert!(removed >= 5, "{removed}");
    for prefix in ["grant/", "code/", "code-used/", "access/", "refresh/"] {
        assert!(
            f.store.keys_with(prefix).is_empty(),
            "{prefix} left: {:?}",
            f.store.keys()
        );
    }
    assert!(
        f.vault.sealed.borrow().is_empty(),
        "expired grants lose their keys"
    );
    assert!(!f.vault.sealed.borrow().contains_key(&grant));
    assert_eq!(
        f.store.keys_with("client/").len(),
        2,
        "clients with a grant stay"
    );
}

#[test]
fn clients_that_never_obtain_a_grant_expire_and_free_their_place() {
    let f = Fakes::with_settings(settings_with(&[("max_clients", "3")]));
    let used = f.register(&[REDIRECT]);
    let _consent = f.login(&used, REDIRECT);
    let idle = f.register(&[REDIRECT]);
    let _also_idle = f.register(&[REDIRECT]);
    // The cap: a clear refusal, nothing stored.
    let refused = f.post_json(
        "/register",
        &json!({"client_name": "One too many", "redirect_uris": [REDIRECT]}),
    );
    assert_eq!(refused.status, 503);
    assert_eq!(json_body(&refused)["error"], "temporarily_unavailable");
    assert!(body_text(&refused).contains("as many registered clients"));
    assert_eq!(f.store.keys_with("client/").len(), 3);

    // A day later the unclaimed ones are gone, and their places are free.
    f.clock.advance(86_401);
    let page = f.authorize(&idle, REDIRECT, &"v".repeat(43), &[]);
    assert!(
        body_text(&page).contains("not registered"),
        "expired clients are unknown"
    );
    f.server().sweep().unwrap();
    assert_eq!(
        f.store.keys_with("client/").len(),
        1,
        "the granted client stays"
    );
    f.register(&[REDIRECT]);
    f.register(&[REDIRECT]);
    let page = f.authorize(&used, REDIRECT, &"v".repeat(43), &[]);
    assert_eq!(page.status, 200, "{}", body_text(&page));
}

#[test]
fn the_sweep_goes_page_by_page() {
    let f = Fakes::new();
    for _ in 0..10 {
        f.register(&[REDIRECT]);
    }
    f.clock.advance(86_401);
    let server = f.server();
    let (removed, mut cursor) = server.sweep_page(None).unwrap();
    assert!(removed <= 3, "one page at a time");
    let mut total = removed;
    let mut pages = 1;
    while let Some(at) = cursor {
        let (more, next) = server.sweep_page(Some(&at)).unwrap();
        total += more;
        cursor = next;
        pages += 1;
    }
    assert_eq!(total, 10);
    assert!(pages >= 4, "{pages}");
    assert!(f.store.keys_with("client/").is_empty());
}

#[test]
fn store_failures_are_500s_without_details() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    f.store.fail.set(true);
    let page = f.authorize(&client_id, REDIRECT, &"v".repeat(43), &[]);
    assert_eq!(page.status, 500);
    assert!(is_page(&page));
    assert!(!body_text(&page).contains("fire"));
    let token = f.post_form(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", "x"),
        ],
        &[],
    );
    assert_eq!(token.status, 500);
    assert_eq!(oauth_error(&token), "server_error");
    assert!(matches!(f.verify("opa_x"), Err(VerifyError::Unavailable(m)) if m.contains("fire")));
    assert!(f.log.text().contains("fire"), "the cause is logged");
}
