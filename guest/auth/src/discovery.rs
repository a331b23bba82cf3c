//! The metadata documents clients discover this server by: RFC 9728
//! (protected resource) and RFC 8414 (authorization server).

use serde_json::json;

use crate::http::Response;
use crate::pages::BRAND;
use crate::scope;
use crate::server::Server;

impl Server<'_> {
    /// `GET /.well-known/oauth-protected-resource[/mcp]`.
    pub(crate) fn protected_resource_metadata(&self) -> Response {
        Response::public_json(&json!({
            "resource": self.settings.resource,
            "authorization_servers": [self.settings.issuer],
            "scopes_supported": scope::names(&scope::ALL),
            "bearer_methods_supported": ["header"],
            "resource_name": BRAND,
        }))
    }

    /// `GET /.well-known/oauth-authorization-server`.
    pub(crate) fn authorization_server_metadata(&self) -> Response {
        let s = &self.settings;
        Response::public_json(&json!({
            "issuer": s.issuer,
            "authorization_endpoint": s.endpoint("/authorize"),
            "token_endpoint": s.endpoint("/token"),
            "registration_endpoint": s.endpoint("/register"),
            "revocation_endpoint": s.endpoint("/revoke"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": scope::names(&scope::ALL),
            "client_id_metadata_document_supported": s.metadata_documents,
            "authorization_response_iss_parameter_supported": true,
        }))
    }
}
