//! Who a request to `/mcp` acts for.
//!
//! `--single-user` serves the one local user with the key from the
//! environment. Otherwise every request carries an OAuth access token: the
//! auth component verifies it for this server's resource, the vault opens
//! the grant's key, and the grant's scopes decide which tools exist for the
//! request; a verification is remembered for a few seconds, until the
//! authorization state changes anywhere (`verified.rs`). Failures are
//! answered as RFC 6750 and the MCP authorization
//! spec ask: `401` with `WWW-Authenticate` pointing at the protected-resource
//! metadata, `403 insufficient_scope` naming the scope a tool needs.

pub(crate) mod client_address;
pub(crate) mod rate_limit;
pub(crate) mod scope;
pub(crate) mod verified;
pub(crate) mod workspace;

/// Per-client tool profiles (shared with the gateway of composed hosts).
pub(crate) use openphone_mcp_protocol::profiles;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openphone_mcp_protocol::http as bearer;

use crate::auth::AuthServer;
use crate::auth::vault::Vault;
use crate::auth::wit::TokenError;
use crate::sandbox::Caller;
use crate::telemetry::{self, AuthEvent};
use workspace::WorkspaceNames;

/// How requests are authorized.
#[derive(Debug)]
pub enum Access {
    /// One local user, no tokens.
    SingleUser(Caller),
    /// OAuth bearer tokens.
    OAuth(OAuthAccess),
}

/// What token checks need.
#[derive(Debug)]
pub struct OAuthAccess {
    pub auth: Arc<AuthServer>,
    pub vault: Arc<Vault>,
    /// Names the workspace a grant's key acts for.
    pub workspaces: WorkspaceNames,
    /// The canonical `/mcp` URL tokens must be issued for.
    pub resource: String,
    /// The protected-resource metadata URL, for challenges.
    pub metadata_url: String,
    /// Where the authorization epoch is read (`verified.rs`).
    pub store: Arc<crate::state::store::Store>,
    /// Tokens verified a moment ago.
    pub verified: verified::Verified,
}

/// A request's user and what it may do.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub caller: Caller,
    /// Granted scopes; `None` is everything (single user).
    pub scopes: Option<Vec<String>>,
}

impl Authorized {
    /// True if the grant includes `scope`.
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|granted| granted.iter().any(|s| s == scope))
    }
}

impl Access {
    /// Authorizes a request from its headers, or answers it.
    pub async fn authorize(&self, headers: &HeaderMap) -> Result<Authorized, Response> {
        let oauth = match self {
            Access::SingleUser(caller) => {
                return Ok(Authorized {
                    caller: caller.clone(),
                    scopes: None,
                });
            }
            Access::OAuth(oauth) => oauth,
        };
        let Some(bearer) = bearer::bearer_token(headers) else {
            telemetry::auth_event(AuthEvent::TokenMissing);
            return Err(oauth.challenge(None));
        };
        // Read before verifying: a change made meanwhile moves it on, and
        // what this verification finds is then not reused.
        let epoch = match oauth.store.auth_epoch() {
            Ok(epoch) => epoch,
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "reading the authorization epoch failed");
                return Err(unavailable());
            }
        };
        if let Some(authorized) = oauth.verified.get(bearer, epoch) {
            telemetry::auth_event(AuthEvent::TokenAccepted);
            return Ok(authorized);
        }
        let principal = match oauth.auth.verify(bearer, &oauth.resource).await {
            Ok(Ok(principal)) => principal,
            Ok(Err(error)) => {
                let why = match &error {
                    TokenError::Unknown => "unknown",
                    TokenError::Expired => "expired",
                    TokenError::WrongResource => "wrong-resource",
                    TokenError::Revoked => "revoked",
                    TokenError::Unavailable(_) => "unavailable",
                };
                tracing::info!(reason = why, "bearer token refused");
                if let TokenError::Unavailable(message) = error {
                    tracing::error!(error = %message, "verifying a token failed");
                    return Err(unavailable());
                }
                telemetry::auth_event(AuthEvent::TokenRefused);
                return Err(oauth.challenge(Some("invalid_token")));
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "the auth component failed");
                return Err(unavailable());
            }
        };
        let key = match oauth.vault.open(&principal.grant) {
            Ok(Some(key)) => key,
            Ok(None) => {
                tracing::info!(grant = %principal.grant, "the grant has no key (revoked)");
                telemetry::auth_event(AuthEvent::TokenRefused);
                return Err(oauth.challenge(Some("invalid_token")));
            }
            Err(error) => {
                tracing::error!(error = %error, "opening a sealed key failed");
                return Err(unavailable());
            }
        };
        telemetry::auth_event(AuthEvent::TokenAccepted);
        let authorized = Authorized {
            caller: Caller {
                subject: format!("grant:{}", principal.grant),
                workspace: oauth.workspaces.name(&key),
                key,
                grant: Some(crate::sandbox::GrantOf {
                    grant: principal.grant,
                    client_id: principal.client_id,
                }),
            },
            scopes: Some(principal.scopes),
        };
        oauth.verified.put(bearer, epoch, &authorized);
        Ok(authorized)
    }

    /// `403 insufficient_scope` for a tool needing `scope`, if OAuth.
    pub fn insufficient_scope(&self, scope: &str) -> Response {
        telemetry::auth_event(AuthEvent::ScopeRefused);
        let metadata = match self {
            Access::OAuth(oauth) => oauth.metadata_url.as_str(),
            Access::SingleUser(_) => "",
        };
        challenged(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            &bearer::scope_required(scope),
            &bearer::scope_challenge(scope, metadata),
        )
    }
}

impl OAuthAccess {
    /// `401` asking for a token, pointing at the metadata.
    fn challenge(&self, error: Option<&str>) -> Response {
        challenged(
            StatusCode::UNAUTHORIZED,
            error.unwrap_or("unauthorized"),
            bearer::TOKEN_REQUIRED,
            &bearer::token_challenge(&self.metadata_url, error),
        )
    }
}

/// A JSON error answer carrying a `WWW-Authenticate` challenge.
fn challenged(status: StatusCode, error: &str, description: &str, challenge: &str) -> Response {
    let mut response = (
        status,
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// `503` with `Retry-After`: the token could not be checked just now.
fn unavailable() -> Response {
    temporarily_unavailable("the authorization state could not be read; try again")
}

/// `503` with `Retry-After` and an OAuth error body saying `description`.
pub(crate) fn temporarily_unavailable(description: &str) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": description,
        })),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(crate::auth::BUSY_RETRY_AFTER_SECS),
    );
    response
}
