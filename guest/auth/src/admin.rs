//! The operator's view (`openphone-mcp admin`): clients and grants by id,
//! name and date — never a token, code or key — and revocation.

use crate::client::ClientRecord;
use crate::fault::Fault;
use crate::grant::GrantRecord;
use crate::kv;
use crate::records::{self, Record};
use crate::server::Server;

/// One client, for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSummary {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: u64,
    pub kind: String,
    pub revoked: bool,
}

/// One grant, for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSummary {
    pub grant: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub created_at: u64,
    pub last_used_at: u64,
    pub revoked: bool,
}

impl Server<'_> {
    /// Every known client, oldest first.
    pub fn list_clients(&self) -> Result<Vec<ClientSummary>, Fault> {
        let mut clients: Vec<ClientSummary> = self
            .all::<ClientRecord>("client/")?
            .into_iter()
            .map(|c| ClientSummary {
                name: c.name.unwrap_or_default(),
                kind: c.kind.as_str().to_owned(),
                client_id: c.client_id,
                redirect_uris: c.redirect_uris,
                created_at: c.created_at,
                revoked: c.revoked,
            })
            .collect();
        clients.sort_by(|a, b| (a.created_at, &a.client_id).cmp(&(b.created_at, &b.client_id)));
        Ok(clients)
    }

    /// Every grant that has not expired (revoked ones are kept a week),
    /// oldest first.
    pub fn list_grants(&self) -> Result<Vec<GrantSummary>, Fault> {
        let mut grants: Vec<GrantSummary> = self
            .all::<GrantRecord>("grant/")?
            .into_iter()
            .map(|g| GrantSummary {
                scopes: g.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                grant: g.grant,
                client_id: g.client_id,
                created_at: g.created_at,
                last_used_at: g.last_used_at,
                revoked: g.revoked,
            })
            .collect();
        grants.sort_by(|a, b| (a.created_at, &a.grant).cmp(&(b.created_at, &b.grant)));
        Ok(grants)
    }

    /// Revokes one grant (tokens and vault key). False if there is none.
    pub fn admin_revoke_grant(&self, grant: &str) -> Result<bool, Fault> {
        if grant.is_empty() || grant.contains('/') {
            return Ok(false);
        }
        self.revoke_grant(grant, "revoked by the operator")
    }

    /// Revokes a client and every grant it holds. False if there is no such
    /// client.
    pub fn revoke_client(&self, client_id: &str) -> Result<bool, Fault> {
        if self.stored_client(client_id)?.is_none() {
            return Ok(false);
        }
        let now = self.env.clock.now();
        records::modify::<ClientRecord>(
            self.env.store,
            &records::client_key(client_id),
            now,
            |c| {
                c.revoked = true;
            },
        )?;
        self.info(&format!("client {client_id} revoked by the operator"));
        for grant in self.all::<GrantRecord>("grant/")? {
            if grant.client_id == client_id && !grant.revoked {
                self.revoke_grant(&grant.grant, "its client was revoked by the operator")?;
            }
        }
        Ok(true)
    }

    /// Every live record under `prefix`.
    fn all<T: Record>(&self, prefix: &str) -> Result<Vec<T>, Fault> {
        let now = self.env.clock.now();
        let mut found = Vec::new();
        for key in kv::keys_with_prefix(self.env.store, prefix)? {
            if let Some(stored) = records::read_live::<T>(self.env.store, &key, now)? {
                found.push(stored.value);
            }
        }
        Ok(found)
    }
}
