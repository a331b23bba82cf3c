//! `verify(bearer, resource)`: whether an access token authorizes a request
//! to `resource`, and for whom.
//!
//! The token's record is only the first check; the grant record must still
//! name this token as its access token in force and not be revoked, and the
//! client must not be revoked. Those records are read on every call, so a
//! revocation or rotation takes effect on the very next request.

use crate::client::ClientRecord;
use crate::crypto;
use crate::fault::Fault;
use crate::grant::{GrantRecord, TokenRecord};
use crate::records::{self, Record};
use crate::server::Server;

/// Longest bearer token considered.
const MAX_TOKEN: usize = 512;

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub grant: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// Why a token does not authorize the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a token this server issued")]
    Unknown,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued for another resource")]
    WrongResource,
    #[error("the token's grant or client was revoked")]
    Revoked,
    #[error("the token could not be checked: {0}")]
    Unavailable(String),
}

impl From<Fault> for VerifyError {
    fn from(fault: Fault) -> Self {
        VerifyError::Unavailable(fault.to_string())
    }
}

impl Server<'_> {
    /// Checks `bearer` for `resource`.
    pub fn verify(&self, bearer: &str, resource: &str) -> Result<Principal, VerifyError> {
        let bearer = bearer.trim();
        let well_formed = !bearer.is_empty()
            && bearer.len() <= MAX_TOKEN
            && bearer
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
        if !well_formed {
            return Err(VerifyError::Unknown);
        }
        let now = self.env.clock.now();
        let hash = self.settings.keys.token_hash(bearer);
        let token = records::read::<TokenRecord>(self.env.store, &records::access_key(&hash))?
            .ok_or(VerifyError::Unknown)?
            .value;
        if !token.is_live(now) {
            return Err(VerifyError::Expired);
        }
        if token.resource != resource {
            return Err(VerifyError::WrongResource);
        }
        let grant = records::read_live::<GrantRecord>(
            self.env.store,
            &records::grant_key(&token.grant),
            now,
        )?
        .ok_or(VerifyError::Revoked)?
        .value;
        let in_force = grant.access_hash.as_deref().unwrap_or("");
        if grant.revoked || !crypto::ct_eq(in_force.as_bytes(), hash.as_bytes()) {
            return Err(VerifyError::Revoked);
        }
        let client =
            records::read::<ClientRecord>(self.env.store, &records::client_key(&token.client_id))?;
        if client.is_none_or(|c| c.value.revoked || c.value.client_id != token.client_id) {
            return Err(VerifyError::Revoked);
        }
        Ok(Principal {
            grant: token.grant,
            client_id: token.client_id,
            scopes: token.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        })
    }
}
