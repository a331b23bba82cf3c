//! The gateway's request handling: `/health`, `/mcp` by the native host's
//! rules (header checks, bearer tokens and scopes in OAuth mode, one message
//! or a 2025-03-26 batch per POST, `202` for notifications, `404` for an
//! unknown or expired session), and the auth component's routes.

use std::collections::HashSet;

use http::{Method, StatusCode};
use openphone_gateway_bindings::openphone::mcp::types::TokenError;
use openphone_mcp_protocol::catalog::{self, ToolFailure};
use openphone_mcp_protocol::http::{self as rules, HostPolicy, OriginPolicy, Rejection};
use openphone_mcp_protocol::profiles::{self, ToolProfile};
use openphone_mcp_protocol::rmcp::model::Tool;
use openphone_mcp_protocol::{
    Incoming, Message, Server, ServerInfo, Session, Step, jsonrpc, version,
};
use serde_json::{Value, json};

use crate::routes::{MAX_BODY, Reply, Request, Route};
use crate::{Backend, Mode, Settings, call, sealed};

/// Seconds a client is asked to wait when the authorization state could not
/// be read (as natively).
const RETRY_AFTER_SECS: &str = "2";

/// The gateway: stateless; everything per request comes from the backend.
#[derive(Debug, Clone)]
pub struct Gateway {
    server: Server,
}

impl Default for Gateway {
    fn default() -> Self {
        Self::new()
    }
}

/// The catalog of the composed tools: the MCP tools in order, and for each
/// the component that runs it and its scope.
struct Catalog {
    tools: Vec<Tool>,
    runs: Vec<call::Tool>,
    scopes: Vec<String>,
}

/// Who a request to `/mcp` acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Caller {
    /// The grant of the verified token; `None` in single-user mode.
    grant: Option<String>,
    /// The grant's scopes; `None` is everything (single user).
    scopes: Option<Vec<String>>,
}

impl Caller {
    const SINGLE_USER: Caller = Caller {
        grant: None,
        scopes: None,
    };

    fn allows(&self, scope: &str) -> bool {
        (self.scopes.as_ref()).is_none_or(|granted| granted.iter().any(|s| s == scope))
    }
}

impl Catalog {
    /// Checks what the native loader checks: unique names, JSON schemas,
    /// offered scopes. A composition that breaks them is a build mistake,
    /// answered `500` with the reason.
    fn build(backend: &dyn Backend) -> Result<Self, String> {
        let mut tools = Vec::new();
        let mut runs = Vec::new();
        let mut scopes = Vec::new();
        let mut names = HashSet::new();
        for (slot, descriptors) in backend.descriptors().into_iter().enumerate() {
            for d in descriptors {
                if !names.insert(d.name.clone()) {
                    return Err(format!("two components offer a tool named `{}`", d.name));
                }
                if !catalog::OFFERED_SCOPES.contains(&d.scope.as_str()) {
                    return Err(format!(
                        "tool `{}` asks for unknown scope `{}`",
                        d.name, d.scope
                    ));
                }
                let tool = catalog::tool(openphone_mcp_protocol::descriptor_of!(d))
                    .map_err(|e| format!("tool `{}` has a schema that is not JSON: {e}", d.name))?;
                tools.push(tool);
                runs.push(call::Tool {
                    slot,
                    read_only: d.annotations.read_only,
                    resumable: d.resumable,
                });
                scopes.push(d.scope);
            }
        }
        Ok(Self {
            tools,
            runs,
            scopes,
        })
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.tools.iter().position(|t| t.name == name)
    }

    fn tool(&self, name: &str) -> Option<&call::Tool> {
        self.runs.get(self.index(name)?)
    }

    /// The scope a `tools/call` message needs; `None` for anything else.
    fn scope_needed(&self, message: &Message) -> Option<&str> {
        let Message::Request { method, params, .. } = message else {
            return None;
        };
        if method != "tools/call" {
            return None;
        }
        let name = params.as_ref()?.get("name")?.as_str()?;
        self.scopes.get(self.index(name)?).map(String::as_str)
    }

    /// The tools that exist for `caller` with `profile`: those its scopes
    /// allow and the profile (if any) names.
    fn visible(&self, caller: &Caller, profile: Option<&ToolProfile>) -> Vec<Tool> {
        (self.tools.iter().zip(&self.scopes))
            .filter(|(tool, scope)| {
                caller.allows(scope)
                    && profile.is_none_or(|p| p.tools.iter().any(|name| name == tool.name.as_ref()))
            })
            .map(|(tool, _)| tool.clone())
            .collect()
    }

    /// A profile naming a tool no component offers is a configuration
    /// mistake (the native server refuses to start with one).
    fn check_profiles(&self, profiles: &[ToolProfile]) -> Result<(), String> {
        for profile in profiles {
            if let Some(unknown) = (profile.tools.iter()).find(|name| self.index(name).is_none()) {
                return Err(format!(
                    "tool_profiles: the profile for `{}` names `{unknown}`, which no component offers",
                    profile.matcher
                ));
            }
        }
        Ok(())
    }
}

/// One POST's messages and the session they belong to.
struct Exchange {
    session: Session,
    /// The session's id; `None` for `initialize`.
    session_id: Option<String>,
    is_initialize: bool,
    batch: bool,
    messages: Vec<Message>,
}

impl Gateway {
    pub fn new() -> Self {
        Self {
            server: Server::new(ServerInfo::openphone(env!("CARGO_PKG_VERSION"))),
        }
    }

    /// Answers one request.
    pub fn handle(&self, backend: &dyn Backend, request: &Request) -> Reply {
        let reply = match Route::of(&request.path) {
            Route::Health => health(backend, request),
            Route::Mcp => match backend.settings() {
                Ok(settings) => self.mcp(backend, &settings, request),
                Err(message) => Reply::rejected(&Rejection::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the server is not configured: {message}"),
                )),
            },
            Route::Other => auth_route(backend, request),
        };
        // The native host's security headers; the consent page sets its own
        // Referrer-Policy (`same-origin`, for its CSRF check).
        reply
            .with_only_header("x-content-type-options", "nosniff")
            .with_only_header("x-frame-options", "DENY")
            .with_default_header("referrer-policy", "no-referrer")
            .with_default_header("cache-control", "no-store")
    }

    fn mcp(&self, backend: &dyn Backend, settings: &Settings, request: &Request) -> Reply {
        if let Err(rejection) = check_transport(settings, request) {
            let reply = Reply::rejected(&rejection);
            return if rejection.status == 405 {
                reply.with_header("allow", "POST")
            } else {
                reply
            };
        }
        if request.body.len() > MAX_BODY {
            return Reply::rejected(&Rejection::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than 1 MiB",
            ));
        }
        let caller = match authorize(backend, settings, request) {
            Ok(caller) => caller,
            Err(reply) => return reply,
        };
        let catalog = match Catalog::build(backend) {
            Ok(catalog) => catalog,
            Err(message) => {
                return Reply::rejected(&Rejection::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("the composed tools are not usable: {message}"),
                ));
            }
        };
        if let Err(message) = catalog.check_profiles(&settings.profiles) {
            return Reply::rejected(&Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the server is not configured: {message}"),
            ));
        }
        let exchange = match open_exchange(backend, request, caller.grant.as_deref()) {
            Ok(exchange) => exchange,
            Err(reply) => return reply,
        };
        // A tool outside the grant's scopes is refused before anything runs.
        let refused = (exchange.messages.iter())
            .filter_map(|message| catalog.scope_needed(message))
            .find(|scope| !caller.allows(scope));
        if let Some(scope) = refused {
            return insufficient_scope(settings, scope);
        }
        let user_agent =
            (request.headers.get(http::header::USER_AGENT)).and_then(|v| v.to_str().ok());
        let client = exchange.session.client_info().map(|c| c.name.as_str());
        let profile = profiles::select(&settings.profiles, client, user_agent);
        let tools = catalog.visible(&caller, profile);
        self.answer(backend, &catalog, &tools, &caller, exchange)
    }

    fn answer(
        &self,
        backend: &dyn Backend,
        catalog: &Catalog,
        tools: &[Tool],
        caller: &Caller,
        exchange: Exchange,
    ) -> Reply {
        let Exchange {
            mut session,
            session_id,
            is_initialize,
            batch,
            messages,
        } = exchange;
        let expects_reply = messages.iter().any(Message::expects_reply);
        let mut replies = Vec::new();
        for message in messages {
            match self.server.handle(&mut session, message, tools) {
                Step::Reply(reply) => replies.push(reply),
                Step::Accepted | Step::Cancel { .. } => {}
                Step::CallTool(call) => {
                    let origin = call::Origin {
                        grant: caller.grant.as_deref(),
                        session_id: session_id.as_deref(),
                    };
                    replies.push(match catalog.tool(&call.name) {
                        Some(tool) => call::run(backend, tool, &origin, &call),
                        None => Server::tool_result(
                            &call.id,
                            catalog::failure(catalog::explain(ToolFailure::UnknownTool(
                                &call.name,
                            ))),
                        ),
                    });
                }
            }
        }
        if !expects_reply {
            return Reply::empty(StatusCode::ACCEPTED);
        }
        let body = if batch {
            Value::Array(replies)
        } else {
            replies.pop().unwrap_or(Value::Null)
        };
        let reply = Reply::json(StatusCode::OK, &body);
        if !(is_initialize && session.is_negotiated()) {
            return reply;
        }
        match sealed::seal(backend, &session, caller.grant.as_deref()) {
            Ok(id) => reply.with_header(rules::SESSION_ID_HEADER, id),
            Err(message) => Reply::rejected(&Rejection::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the session could not be created: {message}"),
            )),
        }
    }
}

fn health(backend: &dyn Backend, request: &Request) -> Reply {
    if request.method != Method::GET {
        return Reply::empty(StatusCode::METHOD_NOT_ALLOWED).with_header("allow", "GET");
    }
    match backend.settings() {
        Ok(settings) => {
            let mode = match settings.mode {
                Mode::SingleUser => "single-user",
                Mode::OAuth => "oauth",
            };
            Reply::json(StatusCode::OK, &json!({"status": "ok", "mode": mode}))
        }
        Err(message) => Reply::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "misconfigured", "error": message}),
        ),
    }
}

/// `scheme://authority` of `public_url`, and its authority.
fn public_origin(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| (format!("{scheme}://{authority}"), authority.to_owned()))
}

/// What every `/mcp` and OAuth request passes first (DNS rebinding and
/// cross-origin browsers): `Host`, then `Origin`.
fn check_guard(settings: &Settings, request: &Request) -> Result<(), Rejection> {
    let public = settings.public_url.as_deref().and_then(public_origin);
    let hosts = HostPolicy {
        allowed_hosts: public.iter().map(|(_, a)| a.clone()).collect(),
        allow_loopback: true,
    };
    let origins = OriginPolicy {
        allowed_origins: public.iter().map(|(o, _)| o.clone()).collect(),
        allow_loopback: true,
    };
    rules::check_host(&request.headers, &hosts)?;
    rules::check_origin(&request.headers, &origins)
}

/// The Streamable HTTP checks, in the native order.
fn check_transport(settings: &Settings, request: &Request) -> Result<(), Rejection> {
    check_guard(settings, request)?;
    rules::check_method(&request.method, &[Method::POST])?;
    rules::check_post_accept(&request.headers)?;
    rules::check_content_type(&request.headers)
}

/// An OAuth endpoint or page, in OAuth mode; `404` for any other path.
fn auth_route(backend: &dyn Backend, request: &Request) -> Reply {
    let not_found = || Reply::json(StatusCode::NOT_FOUND, &json!({"error": "not found"}));
    let Ok(settings) = backend.settings() else {
        return not_found();
    };
    if settings.mode != Mode::OAuth || !backend.auth_routes().contains(&request.path) {
        return not_found();
    }
    if let Err(rejection) = check_guard(&settings, request) {
        return Reply::rejected(&rejection);
    }
    if request.method != Method::GET && request.method != Method::POST {
        return Reply::empty(StatusCode::METHOD_NOT_ALLOWED).with_header("allow", "GET, POST");
    }
    let reply = backend.auth_handle(request);
    backend.after_auth_request();
    reply
}

/// Who the request acts for: the single user, or the grant of a bearer
/// token the auth component verified for this server's `/mcp`.
// The error is the answer itself.
#[allow(clippy::result_large_err)]
fn authorize(
    backend: &dyn Backend,
    settings: &Settings,
    request: &Request,
) -> Result<Caller, Reply> {
    if settings.mode == Mode::SingleUser {
        return Ok(Caller::SINGLE_USER);
    }
    let Some(issuer) = settings.public_url.as_deref() else {
        return Err(Reply::rejected(&Rejection::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is not configured: OAuth needs public_url",
        )));
    };
    let metadata = rules::resource_metadata_url(issuer);
    let Some(token) = rules::bearer_token(&request.headers) else {
        return Err(challenged(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            rules::TOKEN_REQUIRED,
            &rules::token_challenge(&metadata, None),
        ));
    };
    match backend.verify(token, &format!("{issuer}/mcp")) {
        Ok(principal) => Ok(Caller {
            grant: Some(principal.grant),
            scopes: Some(principal.scopes),
        }),
        Err(TokenError::Unavailable(_)) => Err(Reply::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({
                "error": "temporarily_unavailable",
                "error_description": "the authorization state could not be read; try again",
            }),
        )
        .with_header("retry-after", RETRY_AFTER_SECS)),
        Err(
            TokenError::Unknown
            | TokenError::Expired
            | TokenError::WrongResource
            | TokenError::Revoked,
        ) => Err(challenged(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            rules::TOKEN_REQUIRED,
            &rules::token_challenge(&metadata, Some("invalid_token")),
        )),
    }
}

/// `403 insufficient_scope` for a tool needing `scope`.
fn insufficient_scope(settings: &Settings, scope: &str) -> Reply {
    let metadata = rules::resource_metadata_url(settings.public_url.as_deref().unwrap_or_default());
    challenged(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        &rules::scope_required(scope),
        &rules::scope_challenge(scope, &metadata),
    )
}

/// An OAuth error body with its `WWW-Authenticate` challenge.
fn challenged(status: StatusCode, error: &str, description: &str, challenge: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
    .with_header("www-authenticate", challenge)
}

/// Parses the body and resolves its session: a new one for `initialize`,
/// else the one sealed into `Mcp-Session-Id` for the same grant.
fn open_exchange(
    backend: &dyn Backend,
    request: &Request,
    grant: Option<&str>,
) -> Result<Exchange, Reply> {
    let bad_message = |invalid: jsonrpc::InvalidMessage| {
        Reply::json(StatusCode::BAD_REQUEST, &invalid.response())
    };
    let incoming = jsonrpc::parse(&request.body).map_err(bad_message)?;
    let is_initialize =
        matches!(&incoming, Incoming::Single(m) if m.method() == Some("initialize"));
    let mut session_id = None;
    let session = if is_initialize {
        Session::default()
    } else {
        let id = rules::session_id(&request.headers)
            .map_err(|r| Reply::rejected(&r))?
            .ok_or_else(|| {
                Reply::rejected(&Rejection::new(
                    StatusCode::BAD_REQUEST,
                    "Mcp-Session-Id header required",
                ))
            })?;
        session_id = Some(id.to_owned());
        sealed::open(backend, id, grant).ok_or_else(|| {
            Reply::rejected(&Rejection::new(
                StatusCode::NOT_FOUND,
                "unknown or expired session",
            ))
        })?
    };
    let negotiated = session.protocol_version().map(str::to_owned);
    if !is_initialize {
        rules::check_protocol_version(&request.headers, negotiated.as_deref())
            .map_err(|r| Reply::rejected(&r))?;
    }
    let incoming = if incoming.is_batch() {
        let version = negotiated.as_deref().unwrap_or(version::LATEST);
        jsonrpc::parse_with_version(&request.body, version).map_err(bad_message)?
    } else {
        incoming
    };
    Ok(Exchange {
        session,
        session_id,
        is_initialize,
        batch: incoming.is_batch(),
        messages: incoming.into_messages(),
    })
}

#[cfg(test)]
mod tests;
