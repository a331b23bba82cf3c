//! `GET /authorize` (check the request, show the consent page) and
//! `POST /authorize` (the user's decision).
//!
//! Until the client and its redirect URI are verified, every error is a
//! page: redirecting to an unverified address would make this server an
//! open redirector. After that, errors go back to the client as
//! `error`/`error_description`/`state`/`iss` on its redirect URI (RFC 6749
//! §4.1.2.1, RFC 9207).

use crate::audit::{Event, Kind};
use crate::client::{ClientError, ClientRecord};
use crate::consent::{self, CSRF_COOKIE, ConsentError, TRANSACTION_SECS, Transaction};
use crate::crypto;
use crate::fault::Fault;
use crate::form::Params;
use crate::http::{Request, Response};
use crate::log::Level;
use crate::pages::{self, ConsentView};
use crate::redirect::RedirectUri;
use crate::scope::{self, Scope};
use crate::secret::ApiKey;
use crate::server::Server;
use crate::vault::VaultError;

/// Longest `state` accepted.
const MAX_STATE: usize = 1024;
/// Longest API key accepted.
const MAX_KEY_CHARS: usize = 200;
/// Largest consent form accepted.
const MAX_FORM: usize = 16 * 1024;

/// An error page that redirects nowhere.
fn error_page(status: u16, title: &str, message: &str, support: Option<&str>) -> Response {
    Response::page(status, pages::error_page(title, message, support), "'none'")
}

impl Server<'_> {
    /// `GET /authorize`: checks the request and shows the consent page.
    pub(crate) fn authorize_page(&self, request: &Request) -> Result<Response, Fault> {
        let params = Params::parse(request.query.as_bytes());
        let support = self.settings.support_url.as_deref();
        let bad = |message: &str| {
            Ok(error_page(
                400,
                "This link cannot be used",
                message,
                support,
            ))
        };

        let client_id = match params.single("client_id") {
            Ok(Some(id)) => id,
            Ok(None) => {
                return bad(
                    "The request does not say which application is asking (client_id is missing).",
                );
            }
            Err(_) => {
                return bad("The request names more than one application (client_id is repeated).");
            }
        };
        let client = match self.resolve_client(client_id) {
            Ok(client) => client,
            Err(ClientError::Fault(fault)) => return Err(fault),
            Err(e) => return bad(&e.to_string()),
        };
        let redirect = match params.single("redirect_uri") {
            Ok(Some(raw)) => match RedirectUri::parse(raw) {
                Ok(uri) => uri,
                Err(e) => {
                    return bad(&format!(
                        "The application's return address is not acceptable: {e}."
                    ));
                }
            },
            Ok(None) => {
                return bad("The request does not say where to return (redirect_uri is missing).");
            }
            Err(_) => {
                return bad(
                    "The request names more than one return address (redirect_uri is repeated).",
                );
            }
        };
        if !client.allowed_redirect(&redirect) {
            return bad("The return address is not one this application registered.");
        }

        // The redirect URI is verified: from here on, errors go back to it.
        let state = params.single("state").ok().flatten();
        let fail = |code: &str, description: &str| {
            Ok(self.error_redirect(&redirect, code, description, state))
        };
        if let Some(name) = params.first_repeated() {
            return fail(
                "invalid_request",
                &format!("the parameter {name} is repeated"),
            );
        }
        if params.single("response_type").ok().flatten() != Some("code") {
            return fail("unsupported_response_type", "response_type must be code");
        }
        match params.single("code_challenge_method").ok().flatten() {
            Some("S256") => {}
            None => {
                return fail(
                    "invalid_request",
                    "PKCE is required: send code_challenge with code_challenge_method=S256",
                );
            }
            Some(_) => return fail("invalid_request", "code_challenge_method must be S256"),
        }
        let Some(challenge) = params
            .single("code_challenge")
            .ok()
            .flatten()
            .filter(|c| crypto::is_s256_challenge(c))
        else {
            return fail(
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)",
            );
        };
        let Some(state) = state else {
            return fail("invalid_request", "state is required");
        };
        if state.len() > MAX_STATE || !state.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return fail(
                "invalid_request",
                "state must be at most 1024 printable ASCII characters",
            );
        }
        let scopes = match scope::parse_list(params.single("scope").ok().flatten()) {
            Ok(scopes) => scopes,
            Err(e) => return fail("invalid_scope", &e.to_string()),
        };
        if params
            .single("resource")
            .ok()
            .flatten()
            .is_some_and(|r| r != self.settings.resource)
        {
            return fail(
                "invalid_target",
                "resource must be this server's MCP endpoint",
            );
        }

        let transaction = Transaction {
            client_id: client.client_id.clone(),
            redirect_uri: redirect.as_str().to_owned(),
            state: state.to_owned(),
            code_challenge: challenge.to_owned(),
            scopes: scopes.clone(),
            resource: self.settings.resource.clone(),
            expires_at: self.env.clock.now() + TRANSACTION_SECS,
            csrf_hash: String::new(),
        };
        self.consent_response(&client, &redirect, transaction, &scopes, None)
    }

    /// `POST /authorize`: the user approved or denied.
    pub(crate) fn authorize_decision(&self, request: &Request) -> Result<Response, Fault> {
        let support = self.settings.support_url.as_deref();
        let refused = |message: &str| {
            Ok(error_page(
                403,
                "This request was refused",
                message,
                support,
            ))
        };
        if request.header("origin") != Some(self.settings.issuer_origin.as_str()) {
            return refused("The form was not sent from this server's own page.");
        }
        let bad = |message: &str| {
            Ok(error_page(
                400,
                "This form cannot be used",
                message,
                support,
            ))
        };
        if !request.has_content_type("application/x-www-form-urlencoded")
            || request.body.len() > MAX_FORM
        {
            return bad("The form was not sent the way this page sends it.");
        }
        let params = Params::parse(&request.body);
        let single = |name: &str| params.single(name);
        let (Ok(sealed), Ok(csrf), Ok(action), Ok(key)) = (
            single("transaction"),
            single("csrf"),
            single("action"),
            single("api_key"),
        ) else {
            return bad("The form was sent with repeated fields.");
        };
        let (Some(sealed), Some(csrf)) = (sealed, csrf) else {
            return refused("The form is missing its security fields.");
        };
        let now = self.env.clock.now();
        let transaction = match consent::open(
            &self.settings.keys,
            now,
            sealed,
            csrf,
            request.cookie(CSRF_COOKIE),
        ) {
            Ok(t) => t,
            Err(ConsentError::Expired) => {
                return bad("This page was open for more than 10 minutes.");
            }
            Err(e) if e.is_forbidden() => {
                return refused(
                    "The form's security check failed. Make sure cookies are enabled, then start again from your AI assistant.",
                );
            }
            Err(_) => return bad("The form was changed or is not from this server."),
        };
        let client = match self.stored_client(&transaction.client_id)? {
            Some(c) if !c.revoked => c,
            _ => return bad("Access for this application has been revoked."),
        };
        let Ok(redirect) = RedirectUri::parse(&transaction.redirect_uri) else {
            return bad("The application's return address is no longer acceptable.");
        };

        match action {
            Some("deny") => {
                self.info(&format!(
                    "the user denied access to client {}",
                    client.client_id
                ));
                self.audit(Event::about(Kind::ConsentDenied, &client.client_id));
                return Ok(self.error_redirect(
                    &redirect,
                    "access_denied",
                    "the user denied access",
                    Some(&transaction.state),
                ));
            }
            Some("approve") => {}
            _ => return bad("Choose Approve or Deny."),
        }

        let mut checked = Vec::new();
        for name in params.all("scope") {
            match Scope::parse(name) {
                Ok(s) if transaction.scopes.contains(&s) => checked.push(s),
                _ => return bad("The form asked for permissions the application did not request."),
            }
        }
        checked.sort();
        checked.dedup();
        let again = |message: &str, checked: &[Scope]| {
            self.consent_response(
                &client,
                &redirect,
                transaction.clone(),
                checked,
                Some(message),
            )
        };
        if checked.is_empty() {
            return again(
                "Choose at least one thing the assistant may do, or press Deny.",
                &transaction.scopes,
            );
        }
        let key = key.unwrap_or("").trim();
        if key.is_empty() {
            return again("Enter your OpenPhone API key to approve.", &checked);
        }
        if key.chars().count() > MAX_KEY_CHARS {
            return again(
                "That is longer than any OpenPhone API key. Copy the key again from Settings → API.",
                &checked,
            );
        }
        let key = ApiKey::new(key);
        match self.env.vault.check(&key) {
            Ok(()) => {}
            Err(VaultError::KeyRejected(_)) => {
                self.audit(Event::about(Kind::KeyRejected, &client.client_id));
                self.log(
                    Level::Info,
                    &format!(
                        "OpenPhone rejected the key offered for client {}",
                        client.client_id
                    ),
                );
                return again(
                    "OpenPhone did not accept this API key. Check that you copied all of it from Settings → API and that it has not been deleted.",
                    &checked,
                );
            }
            Err(VaultError::Unavailable(_)) => {
                return again(
                    "OpenPhone could not be reached to check the key. Please try again in a moment.",
                    &checked,
                );
            }
            Err(e @ VaultError::Store(_)) => return Err(e.into()),
        }

        let code = self.create_grant(&transaction, &checked, &key)?;
        let location = redirect.with_params(&[
            ("code", code.expose()),
            ("state", &transaction.state),
            ("iss", &self.settings.issuer),
        ]);
        Ok(Response::redirect(location))
    }

    /// The consent page for `transaction`, sealed with a fresh CSRF nonce.
    fn consent_response(
        &self,
        client: &ClientRecord,
        redirect: &RedirectUri,
        transaction: Transaction,
        checked: &[Scope],
        message: Option<&str>,
    ) -> Result<Response, Fault> {
        let scopes = transaction.scopes.clone();
        let form = consent::seal(&self.settings.keys, self.env.random, transaction)?;
        let html = pages::consent_page(&ConsentView {
            client_name: client.name.as_deref(),
            client_id: &client.client_id,
            kind: client.kind,
            redirect,
            scopes: &scopes,
            checked,
            transaction: &form.transaction,
            csrf: &form.csrf,
            message,
        });
        let form_action = format!("'self' {}", redirect.origin());
        Ok(Response::page(200, html, &form_action).with_header("set-cookie", &form.cookie()))
    }

    /// A redirect carrying an OAuth error to a verified redirect URI.
    fn error_redirect(
        &self,
        redirect: &RedirectUri,
        code: &str,
        description: &str,
        state: Option<&str>,
    ) -> Response {
        let mut params = vec![("error", code), ("error_description", description)];
        if let Some(state) = state {
            params.push(("state", state));
        }
        params.push(("iss", &self.settings.issuer));
        Response::redirect(redirect.with_params(&params))
    }
}
