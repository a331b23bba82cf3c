//! `POST /revoke` (RFC 7009).
//!
//! Revoking a refresh token revokes its whole grant (every token, and the
//! key in the vault): that is what a client logging out means. Revoking an
//! access token ends only that token; the client may still refresh. A token
//! that belongs to another client is left alone, and the answer is `200`
//! whether or not the token was known, so the endpoint tells nobody which
//! tokens exist.

use crate::fault::Fault;
use crate::form::Params;
use crate::grant::TokenRecord;
use crate::http::{Request, Response};
use crate::log::Level;
use crate::records;
use crate::server::Server;

impl Server<'_> {
    /// `POST /revoke`.
    pub(crate) fn revoke(&self, request: &Request) -> Result<Response, Fault> {
        let invalid = |d: &str| Response::oauth_error(400, "invalid_request", d);
        if !request.has_content_type("application/x-www-form-urlencoded") {
            return Ok(invalid(
                "send the parameters as application/x-www-form-urlencoded",
            ));
        }
        if request.body.len() > 8 * 1024 {
            return Ok(invalid("the request body is too large"));
        }
        let params = Params::parse(&request.body);
        if let Some(name) = params.first_repeated() {
            return Ok(invalid(&format!("the parameter {name} is repeated")));
        }
        let get = |name: &str| params.single(name).ok().flatten();
        let Some(token) = get("token") else {
            return Ok(invalid("token is required"));
        };
        let Some(client_id) = get("client_id") else {
            return Ok(invalid(
                "client_id is required: public clients identify themselves when revoking",
            ));
        };

        let now = self.env.clock.now();
        let hash = self.settings.keys.token_hash(token);
        let refresh_first = get("token_type_hint") == Some("refresh_token");
        let kinds = if refresh_first {
            [true, false]
        } else {
            [false, true]
        };
        for is_refresh in kinds {
            let key = if is_refresh {
                records::refresh_key(&hash)
            } else {
                records::access_key(&hash)
            };
            let Some(stored) = records::read_live::<TokenRecord>(self.env.store, &key, now)? else {
                continue;
            };
            if stored.value.client_id != client_id {
                self.log(
                    Level::Warn,
                    &format!("client {client_id} tried to revoke another client's token; ignored"),
                );
                break;
            }
            if is_refresh {
                self.revoke_grant(&stored.value.grant, "the client revoked its refresh token")?;
            } else {
                self.env.store.delete(&key)?;
                self.info(&format!(
                    "an access token of grant {} was revoked by its client",
                    stored.value.grant
                ));
            }
            break;
        }
        Ok(Response::empty(200))
    }
}
