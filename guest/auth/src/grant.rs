//! Grants — one user's consent to one client, with their key sealed in the
//! vault — and the codes and tokens issued for them.
//!
//! The grant record is the single source of truth for what is in force: it
//! names the one live access token and the one live refresh token (by hash),
//! and its `revoked` flag overrides everything. Changing it always goes
//! through compare-and-swap, so a revocation and a refresh racing each
//! other cannot both win, and two refreshes with the same token cannot both
//! issue tokens.

use crate::audit::{Event, Kind};
use serde::{Deserialize, Serialize};

use crate::client::ClientRecord;
use crate::consent::Transaction;
use crate::crypto;
use crate::fault::Fault;
use crate::log::Level;
use crate::random;
use crate::records::{self, Record, Stored};
use crate::scope::Scope;
use crate::secret::{AccessToken, ApiKey, AuthCode, RefreshToken};
use crate::server::Server;

/// Lifetime of an authorization code: ten minutes.
pub const CODE_SECS: u64 = 600;
/// How long a revoked grant stays listed by `admin` before it is swept.
pub const REVOKED_KEEP_SECS: u64 = 7 * 86_400;

/// A grant, under `grant/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub grant: String,
    pub client_id: String,
    pub scopes: Vec<Scope>,
    pub resource: String,
    pub created_at: u64,
    pub last_used_at: u64,
    pub expires_at: u64,
    pub revoked: bool,
    /// Hash of the one access token in force.
    pub access_hash: Option<String>,
    /// Hash of the one refresh token in force; older ones are replays.
    pub refresh_hash: Option<String>,
}

impl Record for GrantRecord {
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// An authorization code, under `code/<hash>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    pub grant: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scopes: Vec<Scope>,
    pub resource: String,
    pub expires_at: u64,
}

impl Record for CodeRecord {
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// An access or refresh token, under `access/<hash>` or `refresh/<hash>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub grant: String,
    pub client_id: String,
    pub scopes: Vec<Scope>,
    pub resource: String,
    pub expires_at: u64,
}

impl Record for TokenRecord {
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Tokens just issued, for the token response.
#[derive(Debug)]
pub struct Issued {
    pub access: AccessToken,
    pub refresh: Option<RefreshToken>,
    pub expires_in: u64,
    pub scopes: Vec<Scope>,
}

impl Server<'_> {
    /// After consent: creates the grant, seals the user's key for it and
    /// mints an authorization code for the transaction.
    pub(crate) fn create_grant(
        &self,
        transaction: &Transaction,
        scopes: &[Scope],
        key: &ApiKey,
    ) -> Result<AuthCode, Fault> {
        let now = self.env.clock.now();
        let grant = crypto::b64(&random::bytes::<16>(self.env.random)?);
        let record = GrantRecord {
            grant: grant.clone(),
            client_id: transaction.client_id.clone(),
            scopes: scopes.to_vec(),
            resource: transaction.resource.clone(),
            created_at: now,
            last_used_at: now,
            // Until tokens are issued, the grant lives as long as its code.
            expires_at: now + CODE_SECS,
            revoked: false,
            access_hash: None,
            refresh_hash: None,
        };
        let grant_key = records::grant_key(&grant);
        if !self
            .env
            .store
            .swap_if(&grant_key, None, &records::encode(&record))?
        {
            return Err(Fault::Contention(grant_key));
        }
        if let Err(e) = self.env.vault.seal(&grant, key) {
            self.env.store.delete(&grant_key)?;
            return Err(e.into());
        }
        // A client with a grant is kept for good (unclaimed ones expire).
        records::modify::<ClientRecord>(
            self.env.store,
            &records::client_key(&transaction.client_id),
            now,
            |client| client.granted = true,
        )?;

        let code = AuthCode::new(random::token::<32>(self.env.random, "opc_")?);
        let hash = self.settings.keys.token_hash(code.expose());
        let code_record = CodeRecord {
            grant: grant.clone(),
            client_id: transaction.client_id.clone(),
            redirect_uri: transaction.redirect_uri.clone(),
            code_challenge: transaction.code_challenge.clone(),
            scopes: scopes.to_vec(),
            resource: transaction.resource.clone(),
            expires_at: now + CODE_SECS,
        };
        records::write(self.env.store, &records::code_key(&hash), &code_record)?;
        self.info(&format!(
            "grant {grant} created for client {}",
            transaction.client_id
        ));
        self.audit(
            Event::about(Kind::ConsentApproved, &transaction.client_id)
                .grant(&grant)
                .scopes(scopes),
        );
        Ok(code)
    }

    /// Issues a new access token (with `scopes`) and, if the client uses
    /// them, a new refresh token for `grant`, making them the grant's only
    /// tokens in force. `None` when the grant changed since it was read (a
    /// concurrent refresh or revocation): nothing was issued.
    pub(crate) fn issue(
        &self,
        grant: &Stored<GrantRecord>,
        client: &ClientRecord,
        scopes: &[Scope],
    ) -> Result<Option<Issued>, Fault> {
        let now = self.env.clock.now();
        let s = &self.settings;
        let g = &grant.value;
        let record = |scopes: &[Scope], expires_at| TokenRecord {
            grant: g.grant.clone(),
            client_id: g.client_id.clone(),
            scopes: scopes.to_vec(),
            resource: g.resource.clone(),
            expires_at,
        };

        let access = AccessToken::new(random::token::<32>(self.env.random, "opa_")?);
        let access_hash = s.keys.token_hash(access.expose());
        let access_key = records::access_key(&access_hash);
        records::write(
            self.env.store,
            &access_key,
            &record(scopes, now + s.access_ttl),
        )?;
        let mut expires_at = now + s.access_ttl;

        let mut refresh = None;
        let mut refresh_hash = None;
        if client.uses_refresh_tokens() {
            let token = RefreshToken::new(random::token::<32>(self.env.random, "opr_")?);
            let hash = s.keys.token_hash(token.expose());
            records::write(
                self.env.store,
                &records::refresh_key(&hash),
                &record(&g.scopes, now + s.refresh_ttl),
            )?;
            expires_at = expires_at.max(now + s.refresh_ttl);
            refresh = Some(token);
            refresh_hash = Some(hash);
        }

        let updated = GrantRecord {
            last_used_at: now,
            expires_at,
            access_hash: Some(access_hash),
            refresh_hash: refresh_hash.clone(),
            ..g.clone()
        };
        let key = records::grant_key(&g.grant);
        if !self
            .env
            .store
            .swap_if(&key, Some(&grant.raw), &records::encode(&updated))?
        {
            self.env.store.delete(&access_key)?;
            if let Some(hash) = refresh_hash {
                self.env.store.delete(&records::refresh_key(&hash))?;
            }
            return Ok(None);
        }
        // The previous access token stops working with the rotation (the
        // grant no longer names it); its record and the previous refresh
        // token's stay until they expire, so a replay is recognised.
        Ok(Some(Issued {
            access,
            refresh,
            expires_in: s.access_ttl,
            scopes: scopes.to_vec(),
        }))
    }

    /// Revokes `grant`: no token of it works from the next request on, and
    /// its key is deleted from the vault. False when there is no such grant.
    pub(crate) fn revoke_grant(&self, grant: &str, reason: &str) -> Result<bool, Fault> {
        let now = self.env.clock.now();
        let updated =
            records::modify::<GrantRecord>(self.env.store, &records::grant_key(grant), now, |g| {
                // Token records stay until they expire, so `verify` can say
                // `revoked` rather than `unknown`; the grant no longer names
                // them, which is what makes them invalid.
                g.access_hash = None;
                g.refresh_hash = None;
                if !g.revoked {
                    g.revoked = true;
                    g.expires_at = now + REVOKED_KEEP_SECS;
                }
            })?;
        // Delete the key even when the record is gone (expired, not yet
        // swept): deleting an absent key is not an error.
        self.env.vault.delete(grant)?;
        if updated.is_some() {
            self.log(Level::Info, &format!("grant {grant} revoked: {reason}"));
        }
        Ok(updated.is_some())
    }

    /// Revokes `grant` on a path where the caller is refused anyway: a
    /// failure is logged, not reported to the client.
    pub(crate) fn revoke_grant_logged(&self, grant: &str, reason: &str) {
        if let Err(fault) = self.revoke_grant(grant, reason) {
            self.log(
                Level::Error,
                &format!("revoking grant {grant} ({reason}) failed: {fault}"),
            );
        }
    }
}
