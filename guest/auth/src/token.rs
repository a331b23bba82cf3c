//! `POST /token`: the authorization-code and refresh-token grants.
//!
//! Rules beyond the RFCs' minimum:
//!
//! - A code is checked (client, redirect URI, PKCE, resource) *before* it
//!   is consumed, so someone who saw a code but lacks the verifier can
//!   neither use nor burn it. It is then consumed with an atomic counter;
//!   a second successful presentation is a replay and revokes the whole
//!   grant, including the tokens the first one got (RFC 6749 §4.1.2).
//! - Refresh tokens rotate on every use. The grant record names the one in
//!   force; presenting an older one, or losing the compare-and-swap to a
//!   concurrent use of the same one, revokes the grant (RFC 9700 §4.14.2):
//!   two parties holding one refresh token means it leaked.
//! - A refresh token presented with another client's `client_id` is
//!   refused and left alone (like `/revoke` leaves another client's tokens
//!   alone): client ids are public, so the mismatch proves nothing about
//!   who holds the token, and revoking would let a confused client log
//!   the user out of another one.

use crate::audit::{Event, Kind};
use serde_json::json;

use crate::client::ClientRecord;
use crate::crypto;
use crate::fault::Fault;
use crate::form::Params;
use crate::grant::{CodeRecord, GrantRecord, Issued, TokenRecord};
use crate::http::{Request, Response};
use crate::records;
use crate::scope::{self, Scope};
use crate::server::Server;

/// Largest token request body accepted.
const MAX_BODY: usize = 8 * 1024;

fn invalid_request(description: &str) -> Response {
    Response::oauth_error(400, "invalid_request", description)
}

fn invalid_grant(description: &str) -> Response {
    Response::oauth_error(400, "invalid_grant", description)
}

fn invalid_client(description: &str) -> Response {
    Response::oauth_error(401, "invalid_client", description)
}

fn invalid_target() -> Response {
    Response::oauth_error(
        400,
        "invalid_target",
        "the resource is not the one these tokens are for",
    )
}

impl Server<'_> {
    /// `POST /token`.
    pub(crate) fn token(&self, request: &Request) -> Result<Response, Fault> {
        if !request.has_content_type("application/x-www-form-urlencoded") {
            return Ok(invalid_request(
                "send the parameters as application/x-www-form-urlencoded",
            ));
        }
        if request.body.len() > MAX_BODY {
            return Ok(invalid_request("the request body is too large"));
        }
        let params = Params::parse(&request.body);
        if let Some(name) = params.first_repeated() {
            return Ok(invalid_request(&format!(
                "the parameter {name} is repeated"
            )));
        }
        let get = |name: &str| params.single(name).ok().flatten();
        if get("client_secret").is_some() || request.header("authorization").is_some() {
            return Ok(invalid_client(
                "this server has public clients only: send client_id without a secret",
            ));
        }
        let Some(client_id) = get("client_id") else {
            return Ok(invalid_request("client_id is required"));
        };
        let client = match self.stored_client(client_id)? {
            Some(c) if !c.revoked => c,
            Some(_) => return Ok(invalid_client("access for this client has been revoked")),
            None => return Ok(invalid_client("unknown client_id")),
        };
        let resource = get("resource");
        match get("grant_type") {
            Some("authorization_code") => self.exchange_code(&client, &params, resource),
            Some("refresh_token") => self.refresh(&client, &params, resource),
            Some(_) => Ok(Response::oauth_error(
                400,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )),
            None => Ok(invalid_request("grant_type is required")),
        }
    }

    /// The authorization-code grant.
    fn exchange_code(
        &self,
        client: &ClientRecord,
        params: &Params,
        resource: Option<&str>,
    ) -> Result<Response, Fault> {
        let get = |name: &str| params.single(name).ok().flatten();
        let (Some(code), Some(redirect_uri)) = (get("code"), get("redirect_uri")) else {
            return Ok(invalid_request("code and redirect_uri are required"));
        };
        let Some(verifier) = get("code_verifier") else {
            return Ok(invalid_request("code_verifier is required (PKCE)"));
        };
        if !crypto::is_code_verifier(verifier) {
            return Ok(invalid_request(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            ));
        }
        let now = self.env.clock.now();
        let hash = self.settings.keys.token_hash(code);
        let Some(stored) =
            records::read_live::<CodeRecord>(self.env.store, &records::code_key(&hash), now)?
        else {
            return Ok(invalid_grant(
                "the authorization code is invalid or has expired",
            ));
        };
        let code_record = stored.value;
        if code_record.client_id != client.client_id {
            return Ok(invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if code_record.redirect_uri != redirect_uri {
            return Ok(invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        if !crypto::pkce_s256_matches(verifier, &code_record.code_challenge) {
            return Ok(invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        if resource.is_some_and(|r| r != code_record.resource) {
            return Ok(invalid_target());
        }

        let uses = self
            .env
            .store
            .increment(&records::code_used_key(&hash), 1)?;
        if uses > 1 {
            self.audit(
                Event::about(Kind::CodeReplayed, &client.client_id).grant(&code_record.grant),
            );
            self.revoke_grant_logged(&code_record.grant, "its authorization code was used twice");
            return Ok(invalid_grant(
                "the authorization code was already used; the tokens issued for it have been revoked",
            ));
        }
        let Some(grant) = self.live_grant(&code_record.grant, now)? else {
            return Ok(invalid_grant("the authorization has been revoked"));
        };
        match self.issue(&grant, client, &code_record.scopes)? {
            Some(issued) => Ok(token_response(&issued)),
            None => Ok(invalid_grant(
                "the authorization changed while the code was exchanged",
            )),
        }
    }

    /// The refresh-token grant.
    fn refresh(
        &self,
        client: &ClientRecord,
        params: &Params,
        resource: Option<&str>,
    ) -> Result<Response, Fault> {
        let get = |name: &str| params.single(name).ok().flatten();
        let Some(token) = get("refresh_token") else {
            return Ok(invalid_request("refresh_token is required"));
        };
        let now = self.env.clock.now();
        let hash = self.settings.keys.token_hash(token);
        let Some(stored) =
            records::read_live::<TokenRecord>(self.env.store, &records::refresh_key(&hash), now)?
        else {
            return Ok(invalid_grant("the refresh token is invalid or has expired"));
        };
        let record = stored.value;
        if record.client_id != client.client_id {
            return Ok(invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        if resource.is_some_and(|r| r != record.resource) {
            return Ok(invalid_target());
        }
        let scopes: Vec<Scope> = match get("scope") {
            None => record.scopes.clone(),
            Some(list) => match scope::parse_list(Some(list)) {
                Ok(asked) if scope::is_subset(&asked, &record.scopes) => asked,
                Ok(_) => {
                    return Ok(Response::oauth_error(
                        400,
                        "invalid_scope",
                        "a refresh can only narrow the scopes the user granted",
                    ));
                }
                Err(e) => return Ok(Response::oauth_error(400, "invalid_scope", &e.to_string())),
            },
        };
        let Some(grant) = self.live_grant(&record.grant, now)? else {
            return Ok(invalid_grant("the authorization has been revoked"));
        };
        let current = grant.value.refresh_hash.as_deref().unwrap_or("");
        if !crypto::ct_eq(current.as_bytes(), hash.as_bytes()) {
            self.audit(Event::about(Kind::RefreshReused, &client.client_id).grant(&record.grant));
            self.revoke_grant_logged(&record.grant, "a rotated refresh token was presented again");
            return Ok(invalid_grant(
                "the refresh token was already used; the authorization has been revoked",
            ));
        }
        match self.issue(&grant, client, &scopes)? {
            Some(issued) => {
                self.audit(
                    Event::about(Kind::TokenRefreshed, &client.client_id)
                        .grant(&record.grant)
                        .scopes(&scopes),
                );
                Ok(token_response(&issued))
            }
            None => {
                self.audit(
                    Event::about(Kind::RefreshReused, &client.client_id).grant(&record.grant),
                );
                self.revoke_grant_logged(&record.grant, "one refresh token was used twice at once");
                Ok(invalid_grant(
                    "the refresh token was used concurrently; the authorization has been revoked",
                ))
            }
        }
    }

    /// The grant under `id` if it exists, has not expired and is not revoked.
    fn live_grant(
        &self,
        id: &str,
        now: u64,
    ) -> Result<Option<records::Stored<GrantRecord>>, Fault> {
        Ok(
            records::read_live::<GrantRecord>(self.env.store, &records::grant_key(id), now)?
                .filter(|g| !g.value.revoked),
        )
    }
}

/// The successful token response (RFC 6749 §5.1).
fn token_response(issued: &Issued) -> Response {
    let mut body = json!({
        "access_token": issued.access.expose(),
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": scope::join(&issued.scopes),
    });
    if let Some(refresh) = &issued.refresh {
        body["refresh_token"] = json!(refresh.expose());
    }
    Response::json(200, &body)
}
