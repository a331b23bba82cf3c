//! What an attacker (or a broken client) might try, and what they get.

use crate::audit::Kind;
use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;

use super::*;
use crate::http::Request;

// ---- bearer tokens -------------------------------------------------------

#[test]
fn forged_and_tampered_tokens_are_unknown() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    let mut tampered = t.access.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for forged in [
        tampered.as_str(),
        "opa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        t.refresh.as_deref().unwrap(),
        &login.code,
        "",
        "   ",
        "opa_x y",
        "opa_\u{0}",
        &"a".repeat(513),
        &format!("{} ", "Bearer"),
    ] {
        assert_eq!(f.verify(forged), Err(VerifyError::Unknown), "{forged:?}");
    }
    assert!(f.verify(&t.access).is_ok());
    // A token is bound to the signing key it was hashed under.
    let other = Fakes::with_settings(settings_with(&[(
        "signing_key",
        "0000000000000000000000000000000000000000000000000000000000000001",
    )]));
    *other.store.map.borrow_mut() = f.store.map.borrow().clone();
    assert_eq!(other.verify(&t.access), Err(VerifyError::Unknown));
}

#[test]
fn tokens_are_bound_to_their_resource() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    for other in [
        "https://mcp.example.com/mcp/",
        "https://evil.example.com/mcp",
        "https://mcp.example.com/other",
        "",
    ] {
        assert_eq!(
            f.server().verify(&t.access, other),
            Err(VerifyError::WrongResource),
            "{other}"
        );
    }
    let refresh = f.refresh(
        &login.client_id,
        t.refresh.as_deref().unwrap(),
        &[("resource", "https://evil.example.com/mcp")],
    );
    assert_eq!(oauth_error(&refresh), "invalid_target");

    let login2 = f.login(&login.client_id, REDIRECT);
    let r = f.post_form(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &login2.client_id),
            ("code", &login2.code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &login2.verifier),
            ("resource", "https://evil.example.com/mcp"),
        ],
        &[],
    );
    assert_eq!(oauth_error(&r), "invalid_target");

    let page = f.authorize(
        &login.client_id,
        REDIRECT,
        &"v".repeat(43),
        &[("resource", "https://evil.example.com/mcp")],
    );
    assert_eq!(page.status, 302);
    assert_eq!(
        location_params(&page).single("error").unwrap(),
        Some("invalid_target")
    );
}

// ---- codes ----------------------------------------------------------------

#[test]
fn code_replay_revokes_the_grant() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let login = f.login(&client_id, REDIRECT);
    let first = f.exchange(&login);
    assert_eq!(first.status, 200);
    let t = tokens(&first);
    let grant = f.verify(&t.access).unwrap().grant;

    let replay = f.exchange(&login);
    assert_eq!(replay.status, 400);
    assert_eq!(oauth_error(&replay), "invalid_grant");
    assert_eq!(f.verify(&t.access), Err(VerifyError::Revoked));
    assert_eq!(
        oauth_error(&f.refresh(&client_id, t.refresh.as_deref().unwrap(), &[])),
        "invalid_grant"
    );
    assert!(
        !f.vault.sealed.borrow().contains_key(&grant),
        "the key is deleted"
    );
    assert!(f.log.text().contains("used twice"));
    let replayed = f.audit.events.borrow().last().cloned().unwrap();
    assert_eq!(replayed.kind, Kind::CodeReplayed);
    assert_eq!(replayed.grant.as_deref(), Some(grant.as_str()));
    assert_eq!(replayed.client_id.as_deref(), Some(client_id.as_str()));
}

#[test]
fn expired_codes_are_refused() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let login = f.login(&client_id, REDIRECT);
    f.clock.advance(600);
    let r = f.exchange(&login);
    assert_eq!(oauth_error(&r), "invalid_grant");
    assert!(
        json_body(&r)["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[test]
fn codes_are_bound_to_client_and_redirect_uri() {
    let f = Fakes::new();
    let alice = f.register(&[REDIRECT, "https://app.example.org/other"]);
    let mallory = f.register(&["https://mallory.example.net/cb"]);
    let login = f.login(&alice, REDIRECT);

    let stolen = Login {
        client_id: mallory.clone(),
        redirect_uri: "https://mallory.example.net/cb".into(),
        ..login.clone()
    };
    assert_eq!(oauth_error(&f.exchange(&stolen)), "invalid_grant");
    let other_uri = Login {
        redirect_uri: "https://app.example.org/other".into(),
        ..login.clone()
    };
    assert_eq!(oauth_error(&f.exchange(&other_uri)), "invalid_grant");
    let missing_uri = f.post_form(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &alice),
            ("code", &login.code),
            ("code_verifier", &login.verifier),
        ],
        &[],
    );
    assert_eq!(oauth_error(&missing_uri), "invalid_request");

    // None of that burned the code.
    assert_eq!(f.exchange(&login).status, 200);
}

// ---- PKCE -------------------------------------------------------------------

#[test]
fn pkce_cannot_be_downgraded_or_skipped() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let verifier = "v".repeat(43);
    let cases: [&[(&str, &str)]; 6] = [
        &[("code_challenge_method", "plain")],
        &[("code_challenge_method", "")],
        &[("code_challenge_method", "s256")],
        &[("code_challenge", "")],
        &[
            ("code_challenge", &verifier),
            ("code_challenge_method", "plain"),
        ],
        &[("code_challenge", "tooshort")],
    ];
    for extra in cases {
        let r = f.authorize(&client_id, REDIRECT, &verifier, extra);
        assert_eq!(r.status, 302, "{extra:?}");
        let p = location_params(&r);
        assert_eq!(
            p.single("error").unwrap(),
            Some("invalid_request"),
            "{extra:?}"
        );
        assert_eq!(p.single("state").unwrap(), Some("state-123"));
        assert_eq!(p.single("iss").unwrap(), Some(ISSUER));
        assert!(p.single("code").unwrap().is_none());
    }

    let login = f.login(&client_id, REDIRECT);
    let with_verifier = |v: Option<&str>| {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("code", login.code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(v) = v {
            pairs.push(("code_verifier", v));
        }
        f.post_form("/token", &pairs, &[])
    };
    assert_eq!(oauth_error(&with_verifier(None)), "invalid_request");
    assert_eq!(
        oauth_error(&with_verifier(Some("short"))),
        "invalid_request"
    );
    assert_eq!(
        oauth_error(&with_verifier(Some(&"x".repeat(129)))),
        "invalid_request"
    );
    assert_eq!(
        oauth_error(&with_verifier(Some(&"w".repeat(43)))),
        "invalid_grant"
    );
    // The challenge itself is not a verifier (that would be `plain`).
    assert_eq!(
        oauth_error(&with_verifier(Some(&challenge(&login.verifier)))),
        "invalid_grant"
    );
    // Failed attempts do not burn the code for its owner.
    assert_eq!(with_verifier(Some(&login.verifier)).status, 200);
}

// ---- refresh tokens -----------------------------------------------------------

#[test]
fn reusing_a_rotated_refresh_token_revokes_the_grant() {
    let f = Fakes::new();
    let (login, t1) = f.signed_in();
    let grant = f.verify(&t1.access).unwrap().grant;
    let t2 = tokens(&f.refresh(&login.client_id, t1.refresh.as_deref().unwrap(), &[]));
    assert!(f.verify(&t2.access).is_ok());

    let replay = f.refresh(&login.client_id, t1.refresh.as_deref().unwrap(), &[]);
    assert_eq!(oauth_error(&replay), "invalid_grant");
    assert_eq!(f.verify(&t2.access), Err(VerifyError::Revoked));
    assert_eq!(
        oauth_error(&f.refresh(&login.client_id, t2.refresh.as_deref().unwrap(), &[])),
        "invalid_grant"
    );
    assert!(!f.vault.sealed.borrow().contains_key(&grant));
    let grants = f.server().list_grants().unwrap();
    assert!(grants.iter().any(|g| g.grant == grant && g.revoked));
    assert_eq!(
        f.audit.kinds(),
        vec![
            Kind::ClientRegistered,
            Kind::ConsentApproved,
            Kind::TokenRefreshed,
            Kind::RefreshReused
        ]
    );
    let events = f.audit.events.borrow();
    assert!(
        events[1..]
            .iter()
            .all(|e| e.grant.as_deref() == Some(grant.as_str()))
    );
    assert_eq!(
        events[2].scopes, events[1].scopes,
        "the refresh kept every scope"
    );
}

#[test]
fn two_concurrent_refreshes_cannot_both_succeed() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    let refresh = t.refresh.clone().unwrap();
    let racer = f.clone();
    let racer_answer: Rc<RefCell<Option<Response>>> = Rc::default();
    let slot = Rc::clone(&racer_answer);
    let (client_id, token) = (login.client_id.clone(), refresh.clone());
    // The other request reads, issues and commits while this one is
    // between reading the grant and swapping it.
    f.store.interleave("grant/", move || {
        *slot.borrow_mut() = Some(racer.refresh(&client_id, &token, &[]));
    });
    let ours = f.refresh(&login.client_id, &refresh, &[]);
    let theirs = racer_answer
        .borrow_mut()
        .take()
        .expect("the racing request ran");

    let successes = [&ours, &theirs].iter().filter(|r| r.status == 200).count();
    assert_eq!(successes, 1, "exactly one refresh wins");
    assert_eq!(oauth_error(&ours), "invalid_grant");
    // Two uses of one refresh token means it leaked: the grant is revoked.
    assert_eq!(f.verify(&tokens(&theirs).access), Err(VerifyError::Revoked));
}

#[test]
fn another_clients_refresh_token_is_refused_and_left_alone() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    let mallory = f.register(&["https://mallory.example.net/cb"]);
    let r = f.refresh(&mallory, t.refresh.as_deref().unwrap(), &[]);
    assert_eq!(oauth_error(&r), "invalid_grant");
    assert!(f.verify(&t.access).is_ok(), "nothing revoked");
    assert_eq!(
        f.refresh(&login.client_id, t.refresh.as_deref().unwrap(), &[])
            .status,
        200
    );
}

#[test]
fn another_client_cannot_revoke_tokens() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    let mallory = f.register(&["https://mallory.example.net/cb"]);
    for (token, hint) in [
        (t.access.as_str(), "access_token"),
        (t.refresh.as_deref().unwrap(), "refresh_token"),
    ] {
        let r = f.post_form(
            "/revoke",
            &[
                ("token", token),
                ("token_type_hint", hint),
                ("client_id", &mallory),
            ],
            &[],
        );
        assert_eq!(r.status, 200, "the answer does not reveal the token exists");
    }
    assert!(f.verify(&t.access).is_ok());
    assert_eq!(
        f.refresh(&login.client_id, t.refresh.as_deref().unwrap(), &[])
            .status,
        200
    );
}

#[test]
fn public_clients_only_at_the_token_endpoint() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    let refresh = t.refresh.as_deref().unwrap();
    let with_secret = f.refresh(&login.client_id, refresh, &[("client_secret", "guess")]);
    assert_eq!(with_secret.status, 401);
    assert_eq!(oauth_error(&with_secret), "invalid_client");
    let basic = f.post_form(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &login.client_id),
            ("refresh_token", refresh),
        ],
        &[("authorization", "Basic Y2xpZW50OnNlY3JldA==")],
    );
    assert_eq!(oauth_error(&basic), "invalid_client");
    assert_eq!(
        oauth_error(&f.refresh("no-such-client", refresh, &[])),
        "invalid_client"
    );
    let no_client = f.post_form(
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        &[],
    );
    assert_eq!(oauth_error(&no_client), "invalid_request");
    assert_eq!(
        oauth_error(&f.post_form(
            "/token",
            &[("grant_type", "password"), ("client_id", &login.client_id)],
            &[]
        )),
        "unsupported_grant_type"
    );
    assert_eq!(
        oauth_error(&f.post_form("/token", &[("client_id", &login.client_id)], &[])),
        "invalid_request"
    );
    // Repeated parameters are refused, not resolved.
    let repeated = f.post_form(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &login.client_id),
            ("refresh_token", refresh),
            ("refresh_token", refresh),
        ],
        &[],
    );
    assert_eq!(oauth_error(&repeated), "invalid_request");
    // JSON bodies are not form bodies.
    let json_body = f.post_json("/token", &json!({"grant_type": "refresh_token", "client_id": login.client_id, "refresh_token": refresh}));
    assert_eq!(oauth_error(&json_body), "invalid_request");
    // The refresh token survived every refused attempt.
    assert_eq!(f.refresh(&login.client_id, refresh, &[]).status, 200);
}

// ---- redirect URIs --------------------------------------------------------

const TRICKS: [&str; 16] = [
    "https:evil.com",
    "https:/evil.com/cb",
    "HTTPS://app.example.org/oauth/callback",
    "Https://app.example.org/oauth/callback",
    "http://localhost%25@evil.com/cb",
    "http://evil.com%2F@localhost/cb",
    "https://app.example.org/oauth/callback#frag",
    "https://user@app.example.org/oauth/callback",
    "https://app.example.org@evil.com/oauth/callback",
    " https://app.example.org/oauth/callback",
    "https://app.example.org/oauth/callback\t",
    "https://app.example.org/oauth/call back",
    "https://app.example.org\\@evil.com/cb",
    "http://evil.com/cb",
    "https://*.example.org/cb",
    "javascript:alert(document.domain)//",
];

#[test]
fn registration_refuses_redirect_uri_tricks() {
    let f = Fakes::new();
    for trick in TRICKS {
        let r = f.post_json("/register", &json!({"redirect_uris": [trick]}));
        assert_eq!(r.status, 400, "{trick:?}");
        assert_eq!(oauth_error(&r), "invalid_redirect_uri", "{trick:?}");
        assert!(
            !json_body(&r)["error_description"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    assert!(f.store.keys_with("client/").is_empty());
}

#[test]
fn authorize_with_a_tricky_or_unregistered_redirect_gets_a_page() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT, "http://127.0.0.1/cb"]);
    let unregistered = [
        "https://evil.example.com/oauth/callback",
        "https://app.example.org/oauth/callback/",
        "https://app.example.org/oauth/callback?x=1",
        "https://app.example.org:443/oauth/callback",
        "http://localhost/cb",
        "http://127.0.0.1:8080/cb/../evil",
        "https://app.example.org/oauth/callback%2F..%2Fevil",
    ];
    for uri in TRICKS.iter().chain(unregistered.iter()) {
        let r = f.authorize(&client_id, uri, &"v".repeat(43), &[]);
        assert_eq!(r.status, 400, "{uri:?}");
        assert!(is_page(&r), "{uri:?} must get a page, never a redirect");
        assert!(r.header("set-cookie").is_none());
    }
    // Even other errors are pages while the redirect URI is unverified.
    let r = f.authorize(
        &client_id,
        "https://evil.example.com/cb",
        &"v".repeat(43),
        &[("response_type", "token")],
    );
    assert!(is_page(&r));
}

#[test]
fn unknown_clients_and_missing_parameters_get_pages() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let cases: Vec<(String, String)> = vec![
        ("no-such-client".into(), REDIRECT.into()),
        (String::new(), REDIRECT.into()),
        (client_id.clone(), String::new()),
        (
            "https://unreachable.example.net/client.json".into(),
            REDIRECT.into(),
        ),
        (
            "http://insecure.example.net/client.json".into(),
            REDIRECT.into(),
        ),
        ("javascript:alert(1)".into(), REDIRECT.into()),
    ];
    for (client, redirect) in &cases {
        let r = f.authorize(client, redirect, &"v".repeat(43), &[]);
        assert_eq!(r.status, 400, "{client} {redirect}");
        assert!(is_page(&r), "{client} {redirect}");
    }
    let repeated = f.get(
        "/authorize",
        &crate::form::encode(&[
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("redirect_uri", "https://evil.example.com/cb"),
        ]),
    );
    assert!(is_page(&repeated));
    assert_eq!(
        f.fetcher.fetched.borrow().as_slice(),
        ["https://unreachable.example.net/client.json"]
    );
}

#[test]
fn other_bad_requests_go_back_to_the_verified_redirect() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("response_type", "")], "unsupported_response_type"),
        (&[("scope", "messages:send admin")], "invalid_scope"),
        (&[("state", "")], "invalid_request"),
        (&[("state", "a\u{1}b")], "invalid_request"),
        (&[("nonce", "1"), ("prompt", "x")], ""),
    ];
    for (extra, error) in cases {
        let r = f.authorize(&client_id, REDIRECT, &"v".repeat(43), extra);
        if error.is_empty() {
            assert_eq!(r.status, 200, "unknown parameters are ignored");
            continue;
        }
        assert_eq!(r.status, 302, "{extra:?}");
        assert!(r.header("location").unwrap().starts_with(REDIRECT));
        assert_eq!(
            location_params(&r).single("error").unwrap(),
            Some(error),
            "{extra:?}"
        );
    }
    let challenge = challenge(&"v".repeat(43));
    let repeated = f.get(
        "/authorize",
        &crate::form::encode(&[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s"),
            ("scope", "calls:read"),
            ("scope", "messages:send"),
        ]),
    );
    assert_eq!(
        location_params(&repeated).single("error").unwrap(),
        Some("invalid_request")
    );
}

// ---- the consent form -----------------------------------------------------

fn consent_fixture() -> (Fakes, ConsentForm) {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let page = f.authorize(&client_id, REDIRECT, &"v".repeat(43), &[]);
    let form = consent_form(&page);
    (f, form)
}

const APPROVE: [(&str, &str); 3] = [
    ("action", "approve"),
    ("api_key", GOOD_KEY),
    ("scope", "calls:read"),
];

fn assert_refused(f: &Fakes, r: &Response, status: u16) {
    assert_eq!(r.status, status, "{}", body_text(r));
    assert!(is_page(r));
    assert!(f.store.keys_with("grant/").is_empty());
    assert!(f.store.keys_with("code/").is_empty());
    assert_eq!(f.vault.checks.get(), 0, "the key is not even checked");
}

#[test]
fn consent_needs_this_sites_origin() {
    let (f, form) = consent_fixture();
    for origin in [
        None,
        Some("https://evil.example.com"),
        Some("null"),
        Some("https://mcp.example.com.evil.com"),
        Some("http://mcp.example.com"),
    ] {
        let r = f.submit_with(&form, &APPROVE, origin, Some(&form.cookie));
        assert_refused(&f, &r, 403);
    }
    // Two Origin headers are not trusted either.
    let r = f.handle(Request {
        method: "POST".into(),
        path: "/authorize".into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("origin".into(), ISSUER.into()),
            ("origin".into(), "https://evil.example.com".into()),
            (
                "cookie".into(),
                format!("__Host-openphone-mcp-csrf={}", form.cookie),
            ),
        ],
        body: crate::form::encode(&[
            ("transaction", &form.transaction),
            ("csrf", &form.csrf),
            ("action", "approve"),
            ("api_key", GOOD_KEY),
            ("scope", "calls:read"),
        ])
        .into_bytes(),
        ..Request::default()
    });
    assert_refused(&f, &r, 403);
}

#[test]
fn consent_needs_the_csrf_cookie_and_token() {
    let (f, form) = consent_fixture();
    assert_refused(&f, &f.submit_with(&form, &APPROVE, Some(ISSUER), None), 403);
    assert_refused(
        &f,
        &f.submit_with(&form, &APPROVE, Some(ISSUER), Some("attacker-nonce")),
        403,
    );
    let no_token = ConsentForm {
        csrf: String::new(),
        ..form.clone()
    };
    assert_refused(&f, &f.submit(&no_token, &APPROVE), 403);
    let forged = ConsentForm {
        csrf: "A".repeat(43),
        ..form.clone()
    };
    assert_refused(&f, &f.submit(&forged, &APPROVE), 403);

    // A form and cookie the attacker got from their own visit do not fit
    // the victim's transaction, and vice versa.
    let client_id = f.register(&[REDIRECT]);
    let theirs = consent_form(&f.authorize(&client_id, REDIRECT, &"v".repeat(43), &[]));
    let mixed = ConsentForm {
        transaction: form.transaction.clone(),
        ..theirs.clone()
    };
    assert_refused(&f, &f.submit(&mixed, &APPROVE), 403);

    // A tampered transaction does not open.
    let mut raw = crypto::unb64(&form.transaction).unwrap();
    raw[20] ^= 1;
    let tampered = ConsentForm {
        transaction: crypto::b64(&raw),
        ..form.clone()
    };
    let r = f.submit(&tampered, &APPROVE);
    assert!(r.status == 403 || r.status == 400);
    assert_refused(&f, &r, r.status);

    // The genuine form still works.
    assert_eq!(f.submit(&form, &APPROVE).status, 302);
}

#[test]
fn consent_expires_after_ten_minutes() {
    let (f, form) = consent_fixture();
    f.clock.advance(600);
    let r = f.submit(&form, &APPROVE);
    assert_refused(&f, &r, 400);
    assert!(body_text(&r).contains("10 minutes"));
}

#[test]
fn consent_cannot_add_scopes_the_client_did_not_ask_for() {
    let f = Fakes::new();
    let client_id = f.register(&[REDIRECT]);
    let page = f.authorize(
        &client_id,
        REDIRECT,
        &"v".repeat(43),
        &[("scope", "calls:read")],
    );
    let form = consent_form(&page);
    let r = f.submit(
        &form,
        &[
            ("action", "approve"),
            ("api_key", GOOD_KEY),
            ("scope", "calls:read"),
            ("scope", "messages:send"),
        ],
    );
    assert_refused(&f, &r, 400);
    let r = f.submit(
        &form,
        &[
            ("action", "approve"),
            ("api_key", GOOD_KEY),
            ("scope", "root"),
        ],
    );
    assert_refused(&f, &r, 400);
    let r = f.submit(
        &form,
        &[
            ("action", "maybe"),
            ("api_key", GOOD_KEY),
            ("scope", "calls:read"),
        ],
    );
    assert_refused(&f, &r, 400);
}

#[test]
fn client_names_cannot_inject_markup() {
    let f = Fakes::new();
    let r = f.post_json(
        "/register",
        &json!({"client_name": "<img src=x onerror=alert(1)>\"'", "redirect_uris": [REDIRECT]}),
    );
    let client_id = json_body(&r)["client_id"].as_str().unwrap().to_owned();
    let html = body_text(&f.authorize(&client_id, REDIRECT, &"v".repeat(43), &[]));
    assert!(!html.contains("<img"));
    // Attributes are always double-quoted, so `'` cannot end one.
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;&quot;'"));
}

#[test]
fn registration_limits() {
    let f = Fakes::new();
    let confidential = f.post_json(
        "/register",
        &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
    );
    assert_eq!(oauth_error(&confidential), "invalid_client_metadata");
    let no_uris = f.post_json("/register", &json!({"client_name": "x"}));
    assert_eq!(oauth_error(&no_uris), "invalid_redirect_uri");
    let not_json = f.handle(Request {
        method: "POST".into(),
        path: "/register".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: b"{not json".to_vec(),
        ..Request::default()
    });
    assert_eq!(oauth_error(&not_json), "invalid_client_metadata");
    let huge = f.post_json(
        "/register",
        &json!({"redirect_uris": [REDIRECT], "client_uri": "x".repeat(20_000)}),
    );
    assert_eq!(oauth_error(&huge), "invalid_client_metadata");
    let form = f.post_form("/register", &[("redirect_uris", REDIRECT)], &[]);
    assert_eq!(oauth_error(&form), "invalid_client_metadata");
    assert!(f.store.keys_with("client/").is_empty());
}

// ---- secrets never show -----------------------------------------------------

/// Runs every flow, collecting each secret the server handed out, then
/// checks that the store, the log and every response hold none of them in
/// clear — except the one response that delivered each to its owner.
#[test]
fn no_secret_is_stored_logged_or_echoed() {
    let f = Fakes::new();
    let wrong_key = "opk_live_REJECTED_99999999999999999999999";
    let mut issued: Vec<String> = Vec::new();

    let client_id = f.register(&[REDIRECT]);
    let verifier = "s".repeat(43);
    let page = f.authorize(&client_id, REDIRECT, &verifier, &[]);
    let form = consent_form(&page);
    issued.push(form.cookie.clone());
    let again = f.submit(
        &form,
        &[
            ("action", "approve"),
            ("api_key", wrong_key),
            ("scope", "calls:read"),
        ],
    );
    let form = consent_form(&again);
    issued.push(form.cookie.clone());
    let redirect = f.submit(
        &form,
        &[
            ("action", "approve"),
            ("api_key", GOOD_KEY),
            ("scope", "calls:read"),
        ],
    );
    let code = location_params(&redirect)
        .single("code")
        .unwrap()
        .unwrap()
        .to_owned();
    issued.push(code.clone());
    let login = Login {
        client_id: client_id.clone(),
        redirect_uri: REDIRECT.into(),
        code,
        verifier,
        state: String::new(),
    };
    let t1 = tokens(&f.exchange(&login));
    issued.extend([t1.access.clone(), t1.refresh.clone().unwrap()]);
    f.exchange(&login); // a replay: errors must not echo the code
    let (login2, t2) = f.signed_in();
    issued.extend([
        login2.code.clone(),
        t2.access.clone(),
        t2.refresh.clone().unwrap(),
    ]);
    let t3 = tokens(&f.refresh(&login2.client_id, t2.refresh.as_deref().unwrap(), &[]));
    issued.extend([t3.access.clone(), t3.refresh.clone().unwrap()]);
    f.refresh(&login2.client_id, t2.refresh.as_deref().unwrap(), &[]);
    f.post_form(
        "/revoke",
        &[("token", &t3.access), ("client_id", &login2.client_id)],
        &[],
    );
    let _ = f.verify(&t3.access);
    f.server().list_grants().unwrap();

    let store = f.store.dump();
    let log = f.log.text();
    let responses: Vec<String> = f
        .responses
        .borrow()
        .iter()
        .map(|r| format!("{:?}\n{}", r.headers, body_text(r)))
        .collect();
    for key in [GOOD_KEY, wrong_key] {
        assert!(!store.contains(key), "the store holds an API key");
        assert!(!log.contains(key), "the log holds an API key");
        assert!(
            responses.iter().all(|r| !r.contains(key)),
            "a response holds an API key"
        );
    }
    assert!(!store.contains(&login.verifier));
    for secret in &issued {
        assert!(!store.contains(secret.as_str()), "the store holds {secret}");
        assert!(!log.contains(secret.as_str()), "the log holds {secret}");
        let shown = responses
            .iter()
            .filter(|r| r.contains(secret.as_str()))
            .count();
        assert_eq!(
            shown, 1,
            "{secret} appears in {shown} responses; only the one that delivered it may"
        );
    }
    // Stored under keyed hashes only.
    for key in f
        .store
        .keys_with("access/")
        .iter()
        .chain(&f.store.keys_with("refresh/"))
        .chain(&f.store.keys_with("code/"))
    {
        let hash = key.split('/').nth(1).unwrap();
        assert_eq!(hash.len(), 64);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // The fake vault is the only place the key lives.
    assert!(f.vault.sealed.borrow().values().all(|k| k == GOOD_KEY));
}
