//! The server: its dependencies as traits, and the routing of requests to
//! the endpoint modules.

use serde_json::json;

use crate::audit::{Audit, Event};
use crate::clock::Clock;
use crate::http::{Request, Response};
use crate::kv::KeyValue;
use crate::log::{Level, Log};
use crate::metadata::MetadataFetcher;
use crate::pages;
use crate::random::Random;
use crate::settings::Settings;
use crate::vault::Vault;

/// Everything the server uses from outside: in the sandbox the host's
/// imports, in tests in-memory fakes.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub store: &'a dyn KeyValue,
    pub vault: &'a dyn Vault,
    pub fetcher: &'a dyn MetadataFetcher,
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
    pub log: &'a dyn Log,
    pub audit: &'a dyn Audit,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Env")
    }
}

/// The authorization server for one request.
#[derive(Debug)]
pub struct Server<'a> {
    pub(crate) env: Env<'a>,
    pub(crate) settings: Settings,
}

/// RFC 9728 metadata path of the protected resource at the root.
pub const PROTECTED_RESOURCE: &str = "/.well-known/oauth-protected-resource";
/// RFC 8414 metadata path.
pub const AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";

/// The paths `handle` answers. Without settings, the fixed ones (the
/// resource's own metadata path is then assumed to be `/mcp`'s).
pub fn routes(settings: Option<&Settings>) -> Vec<String> {
    let mut paths: Vec<String> = [
        PROTECTED_RESOURCE,
        "/.well-known/oauth-protected-resource/mcp",
        AUTHORIZATION_SERVER,
        "/register",
        "/authorize",
        "/token",
        "/revoke",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    if let Some(s) = settings {
        let own = format!("{PROTECTED_RESOURCE}{}", s.resource_path());
        if !paths.contains(&own) {
            paths.insert(2, own);
        }
    }
    paths
}

impl<'a> Server<'a> {
    /// A server over `env` with `settings`.
    pub fn new(env: Env<'a>, settings: Settings) -> Self {
        Server { env, settings }
    }

    /// Answers one request. Server faults become a `500` (a page for the
    /// browser endpoint, `server_error` JSON for the others) and a log line.
    pub fn handle(&self, request: &Request) -> Response {
        let path = request.path.as_str();
        let method = request.method.as_str();
        let outcome = match (path, method) {
            (p, "GET") if p == PROTECTED_RESOURCE || self.is_resource_metadata_path(p) => {
                Ok(self.protected_resource_metadata())
            }
            (AUTHORIZATION_SERVER, "GET") => Ok(self.authorization_server_metadata()),
            ("/register", "POST") => self.register(request),
            ("/authorize", "GET") => self.authorize_page(request),
            ("/authorize", "POST") => self.authorize_decision(request),
            ("/token", "POST") => self.token(request),
            ("/revoke", "POST") => self.revoke(request),
            _ => return not_routed(path, &self.routes()),
        };
        outcome.unwrap_or_else(|fault| {
            self.log(Level::Error, &format!("{method} {path} failed: {fault}"));
            fault_response(path, self.settings.support_url.as_deref())
        })
    }

    /// The paths this server answers.
    pub fn routes(&self) -> Vec<String> {
        routes(Some(&self.settings))
    }

    fn is_resource_metadata_path(&self, path: &str) -> bool {
        path.strip_prefix(PROTECTED_RESOURCE)
            .is_some_and(|rest| rest == "/mcp" || rest == self.settings.resource_path())
    }

    pub(crate) fn log(&self, level: Level, message: &str) {
        self.env.log.write(level, message);
    }

    pub(crate) fn info(&self, message: &str) {
        self.log(Level::Info, message);
    }

    /// Appends a security event to the audit trail.
    pub(crate) fn audit(&self, event: Event) {
        self.env.audit.append(event);
    }
}

/// The answer when the server failed: a page for the browser endpoint,
/// `server_error` JSON for the others. It names no internals.
pub fn fault_response(path: &str, support: Option<&str>) -> Response {
    if path == "/authorize" {
        Response::page(
            500,
            pages::error_page(
                "Something went wrong",
                "The server could not complete this step.",
                support,
            ),
            "'none'",
        )
    } else {
        Response::oauth_error(
            500,
            "server_error",
            "the server could not complete the request; try again",
        )
    }
}

/// `404` for a path this server does not serve, `405` for a known path with
/// the wrong method.
fn not_routed(path: &str, routes: &[String]) -> Response {
    if !routes.iter().any(|r| r == path) {
        return Response::json(404, &json!({ "error": "not_found" }));
    }
    let allow = match path {
        "/authorize" => "GET, POST",
        "/register" | "/token" | "/revoke" => "POST",
        _ => "GET",
    };
    Response::json(
        405,
        &json!({ "error": "method_not_allowed", "error_description": format!("use {allow}") }),
    )
    .with_header("allow", allow)
}
