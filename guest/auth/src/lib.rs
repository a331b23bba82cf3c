//! `openphone-auth`: the OAuth 2.1 authorization server of openphone-mcp,
//! as a WebAssembly component (world `auth-component`).
//!
//! It serves the discovery documents (RFC 9728, RFC 8414), dynamic client
//! registration (RFC 7591) and Client ID Metadata Documents, the consent
//! page where a user approves a client with their OpenPhone API key, the
//! token endpoint (authorization code with PKCE S256, rotating refresh
//! tokens) and revocation (RFC 7009), and it verifies bearer tokens for the
//! host. The user's key goes to the host's vault once, at consent; tokens
//! and codes are opaque random strings stored only as keyed hashes.
//!
//! The component is a thin [`Component`] over [`Server`], which takes its
//! store, vault, metadata fetcher, clock, randomness and log as traits
//! ([`server::Env`]), so the whole flow — and every attack on it — is
//! unit-tested natively with in-memory fakes. [`records`] documents the
//! key layout in the `auth` bucket.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod authorize;
pub mod client;
pub mod clock;
pub mod consent;
pub mod crypto;
pub mod discovery;
pub mod fault;
pub mod form;
pub mod grant;
pub mod http;
pub mod imports;
pub mod kv;
pub mod log;
pub mod metadata;
pub mod pages;
pub mod random;
pub mod records;
pub mod redirect;
pub mod registration;
pub mod revoke;
pub mod scope;
pub mod secret;
pub mod server;
pub mod settings;
pub mod sweep;
pub mod token;
pub mod vault;
pub mod verify;

pub use server::{Env, Server};

/// The generated bindings (world `auth-component`).
pub use openphone_auth_bindings as bindings;

use bindings::exports::openphone::mcp::admin::{
    self as wit_admin, ClientSummary, GrantSummary, SweepProgress,
};
use bindings::exports::openphone::mcp::authorization_server;
use bindings::openphone::mcp::types::{HttpRequest, HttpResponse, Principal, TokenError};
use fault::Fault;
use verify::VerifyError;

/// Runs `f` with a server over the host's imports.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn with_server<R>(f: impl FnOnce(&Server<'_>) -> R) -> Result<R, Fault> {
    let settings = imports::load_settings()?;
    let store = imports::HostStore::open()?;
    let env = Env {
        store: &store,
        vault: &imports::HostVault,
        fetcher: &imports::HostFetcher,
        clock: &clock::SystemClock,
        random: &random::OsRandom,
        log: &imports::HostLog,
        audit: &imports::HostAudit,
    };
    Ok(f(&Server::new(env, settings)))
}

/// Logs a failure to set up the server (settings, bucket).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn log_fault(context: &str, fault: &Fault) {
    use log::Log as _;
    imports::HostLog.write(log::Level::Error, &format!("{context}: {fault}"));
}

/// The component (exported only when built for the sandbox).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

impl authorization_server::Guest for Component {
    fn routes() -> Vec<String> {
        server::routes(imports::load_settings().ok().as_ref())
    }

    fn handle(request: HttpRequest) -> HttpResponse {
        let request = http::Request {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            body: request.body,
        };
        let response = with_server(|server| server.handle(&request)).unwrap_or_else(|fault| {
            log_fault(&format!("{} {}", request.method, request.path), &fault);
            server::fault_response(&request.path, None)
        });
        HttpResponse {
            status: response.status,
            headers: response.headers,
            body: response.body,
        }
    }

    fn verify(bearer: String, resource: String) -> Result<Principal, TokenError> {
        let outcome = with_server(|server| server.verify(&bearer, &resource))
            .unwrap_or_else(|fault| Err(VerifyError::Unavailable(fault.to_string())));
        match outcome {
            Ok(p) => Ok(Principal {
                grant: p.grant,
                client_id: p.client_id,
                scopes: p.scopes,
            }),
            Err(VerifyError::Unknown) => Err(TokenError::Unknown),
            Err(VerifyError::Expired) => Err(TokenError::Expired),
            Err(VerifyError::WrongResource) => Err(TokenError::WrongResource),
            Err(VerifyError::Revoked) => Err(TokenError::Revoked),
            Err(VerifyError::Unavailable(m)) => Err(TokenError::Unavailable(m)),
        }
    }
}

impl wit_admin::Guest for Component {
    fn list_clients() -> Result<Vec<ClientSummary>, String> {
        let clients = with_server(|s| s.list_clients())
            .and_then(|r| r)
            .map_err(|e| e.to_string())?;
        Ok(clients
            .into_iter()
            .map(|c| ClientSummary {
                client_id: c.client_id,
                name: c.name,
                redirect_uris: c.redirect_uris,
                created_at: c.created_at,
                kind: c.kind,
                revoked: c.revoked,
            })
            .collect())
    }

    fn list_grants() -> Result<Vec<GrantSummary>, String> {
        let grants = with_server(|s| s.list_grants())
            .and_then(|r| r)
            .map_err(|e| e.to_string())?;
        Ok(grants
            .into_iter()
            .map(|g| GrantSummary {
                grant: g.grant,
                client_id: g.client_id,
                scopes: g.scopes,
                created_at: g.created_at,
                last_used_at: g.last_used_at,
                revoked: g.revoked,
            })
            .collect())
    }

    fn revoke_grant(grant: String) -> Result<bool, String> {
        with_server(|s| s.admin_revoke_grant(&grant))
            .and_then(|r| r)
            .map_err(|e| e.to_string())
    }

    fn revoke_client(client_id: String) -> Result<bool, String> {
        with_server(|s| s.revoke_client(&client_id))
            .and_then(|r| r)
            .map_err(|e| e.to_string())
    }

    fn sweep(cursor: Option<String>) -> Result<SweepProgress, String> {
        let (removed, cursor) = with_server(|s| s.sweep_page(cursor.as_deref()))
            .and_then(|r| r)
            .map_err(|e| e.to_string())?;
        Ok(SweepProgress {
            removed: u32::try_from(removed).unwrap_or(u32::MAX),
            cursor,
        })
    }
}

openphone_auth_bindings::export_auth!(Component);

#[cfg(test)]
mod tests;
