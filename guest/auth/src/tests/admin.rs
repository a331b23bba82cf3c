//! The operator's listing and revocation.

use serde_json::json;

use super::*;

#[test]
fn listings_show_ids_names_and_dates_only() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    f.clock.advance(100);
    let t2 = tokens(&f.refresh(&login.client_id, t.refresh.as_deref().unwrap(), &[]));

    let clients = f.server().list_clients().unwrap();
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0].client_id, login.client_id);
    assert_eq!(clients[0].name, "Test Client");
    assert_eq!(clients[0].redirect_uris, [REDIRECT]);
    assert_eq!(clients[0].kind, "dynamic");
    assert_eq!(clients[0].created_at, START);
    assert!(!clients[0].revoked);

    let grants = f.server().list_grants().unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].client_id, login.client_id);
    assert_eq!(
        grants[0].scopes,
        [
            "messages:send",
            "messages:read",
            "contacts:write",
            "calls:read"
        ]
    );
    assert_eq!(grants[0].created_at, START);
    assert_eq!(grants[0].last_used_at, START + 100);
    assert!(!grants[0].revoked);

    let shown = format!("{clients:?}{grants:?}");
    for secret in [
        GOOD_KEY,
        &t.access,
        &t2.access,
        t2.refresh.as_deref().unwrap(),
        &login.code,
    ] {
        assert!(!shown.contains(secret));
    }
}

#[test]
fn revoking_a_grant_takes_effect_on_the_next_verify() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    let grant = f.verify(&t.access).unwrap().grant;
    assert!(f.server().admin_revoke_grant(&grant).unwrap());
    assert_eq!(f.verify(&t.access), Err(VerifyError::Revoked));
    assert!(f.vault.sealed.borrow().is_empty());
    assert_eq!(
        oauth_error(&f.refresh(&login.client_id, t.refresh.as_deref().unwrap(), &[])),
        "invalid_grant"
    );
    assert!(f.server().list_grants().unwrap()[0].revoked);
    assert!(
        f.server().admin_revoke_grant(&grant).unwrap(),
        "revoking again is fine"
    );
    assert!(!f.server().admin_revoke_grant("no-such-grant").unwrap());
    assert!(!f.server().admin_revoke_grant("").unwrap());
    // Revoked grants are listed for a week, then swept.
    f.clock.advance(7 * 86_400);
    f.get("/.well-known/oauth-authorization-server", "");
    assert!(f.server().list_grants().unwrap().is_empty());
}

#[test]
fn revoking_a_client_revokes_its_grants_and_locks_it_out() {
    let f = Fakes::new();
    let (login, t) = f.signed_in();
    let second = f.login(&login.client_id, REDIRECT);
    let t2 = tokens(&f.exchange(&second));
    let (other_login, other) = f.signed_in();

    assert!(f.server().revoke_client(&login.client_id).unwrap());
    assert_eq!(f.verify(&t.access), Err(VerifyError::Revoked));
    assert_eq!(f.verify(&t2.access), Err(VerifyError::Revoked));
    assert!(
        f.verify(&other.access).is_ok(),
        "other clients are untouched"
    );
    assert_eq!(f.vault.sealed.borrow().len(), 1);

    let page = f.authorize(&login.client_id, REDIRECT, &"v".repeat(43), &[]);
    assert!(is_page(&page));
    assert!(body_text(&page).contains("revoked"));
    assert_eq!(
        oauth_error(&f.refresh(&login.client_id, t.refresh.as_deref().unwrap(), &[])),
        "invalid_client"
    );
    let clients = f.server().list_clients().unwrap();
    assert!(
        clients
            .iter()
            .find(|c| c.client_id == login.client_id)
            .unwrap()
            .revoked
    );
    assert!(
        !clients
            .iter()
            .find(|c| c.client_id == other_login.client_id)
            .unwrap()
            .revoked
    );
    assert!(!f.server().revoke_client("no-such-client").unwrap());
}

#[test]
fn a_revoked_metadata_document_client_stays_revoked() {
    let f = Fakes::new();
    let url = "https://assistant.example.net/client.json";
    let redirect = "https://assistant.example.net/cb";
    f.fetcher.publish(
        url,
        &json!({"client_id": url, "client_name": "A", "redirect_uris": [redirect]}),
    );
    let login = f.login(url, redirect);
    let t = tokens(&f.exchange(&login));
    assert!(f.server().revoke_client(url).unwrap());
    assert_eq!(f.verify(&t.access), Err(VerifyError::Revoked));
    f.clock.advance(3601);
    let page = f.authorize(url, redirect, &"v".repeat(43), &[]);
    assert_eq!(page.status, 400);
    assert!(body_text(&page).contains("revoked"));
    assert_eq!(
        f.fetcher.fetched.borrow().len(),
        1,
        "a revoked client's document is not fetched again"
    );
    assert!(f.server().list_clients().unwrap()[0].revoked);
}
