//! The consent transaction: everything `GET /authorize` checked, carried to
//! `POST /authorize` through the browser without storing anything.
//!
//! The transaction is sealed with ChaCha20-Poly1305 under a key derived
//! from `signing_key`, so the browser (or anyone) can neither read nor
//! change it, and it expires after ten minutes. It is tied to one browser by
//! a CSRF nonce: the nonce goes into a `__Host-` cookie (HttpOnly,
//! SameSite=Strict), its SHA-256 into the sealed transaction, and the form
//! carries `HMAC(csrf-key, nonce ‖ transaction)`. A forged cross-site
//! submission has neither the cookie nor a token that matches it.

use serde::{Deserialize, Serialize};

use crate::crypto::{self, Keys};
use crate::random::{self, Random, RandomError};
use crate::scope::Scope;
use crate::secret::CsrfNonce;

/// How long the user has to approve: ten minutes.
pub const TRANSACTION_SECS: u64 = 600;
/// Name of the CSRF cookie. `__Host-` makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`, so a sibling subdomain cannot plant it.
pub const CSRF_COOKIE: &str = "__Host-openphone-mcp-csrf";
/// Binds sealed transactions to this use of the key.
const CONTEXT: &[u8] = b"openphone-mcp/auth/v1/consent-transaction";

/// One authorization request, as checked by `GET /authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    pub scopes: Vec<Scope>,
    pub resource: String,
    pub expires_at: u64,
    /// Hex SHA-256 of the CSRF nonce.
    pub csrf_hash: String,
}

/// What the consent page carries for one transaction.
#[derive(Debug, Clone)]
pub struct SealedForm {
    /// The hidden `transaction` field.
    pub transaction: String,
    /// The hidden `csrf` field.
    pub csrf: String,
    /// The cookie's value.
    pub nonce: CsrfNonce,
}

impl SealedForm {
    /// The `Set-Cookie` header value.
    pub fn cookie(&self) -> String {
        format!(
            "{CSRF_COOKIE}={}; Path=/; Max-Age={TRANSACTION_SECS}; Secure; HttpOnly; SameSite=Strict",
            self.nonce.expose()
        )
    }
}

/// Why a submitted consent form is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("the form was not sent with this browser's cookie")]
    MissingCookie,
    #[error("the form's security token does not match")]
    BadCsrf,
    #[error("the form's transaction is not one this server sealed")]
    Unsealable,
    #[error("the form has expired")]
    Expired,
}

impl ConsentError {
    /// Whether this looks like a cross-site or tampered submission (403)
    /// rather than a stale page (400).
    pub fn is_forbidden(self) -> bool {
        matches!(self, ConsentError::MissingCookie | ConsentError::BadCsrf)
    }
}

/// Seals `transaction` with a fresh CSRF nonce (its `csrf_hash` is set here).
pub fn seal(
    keys: &Keys,
    random: &dyn Random,
    mut transaction: Transaction,
) -> Result<SealedForm, RandomError> {
    let nonce = CsrfNonce::new(random::token::<32>(random, "")?);
    transaction.csrf_hash = hex::encode(crypto::sha256(nonce.expose().as_bytes()));
    let plain = serde_json::to_vec(&transaction).unwrap_or_default();
    let sealed = crypto::seal(&keys.transaction, random, CONTEXT, &plain)?;
    let csrf = csrf_token(keys, &nonce, &sealed);
    Ok(SealedForm {
        transaction: sealed,
        csrf,
        nonce,
    })
}

/// Checks a submitted form: cookie present, CSRF token matching cookie and
/// transaction, transaction sealed by us for this cookie, not expired.
pub fn open(
    keys: &Keys,
    now: u64,
    sealed: &str,
    csrf: &str,
    cookie: Option<&str>,
) -> Result<Transaction, ConsentError> {
    let nonce = CsrfNonce::new(
        cookie
            .filter(|c| !c.is_empty())
            .ok_or(ConsentError::MissingCookie)?,
    );
    let expected = csrf_token(keys, &nonce, sealed);
    if !crypto::ct_eq(expected.as_bytes(), csrf.as_bytes()) {
        return Err(ConsentError::BadCsrf);
    }
    let plain = crypto::open(&keys.transaction, CONTEXT, sealed).ok_or(ConsentError::Unsealable)?;
    let transaction: Transaction =
        serde_json::from_slice(&plain).map_err(|_| ConsentError::Unsealable)?;
    let nonce_hash = hex::encode(crypto::sha256(nonce.expose().as_bytes()));
    if !crypto::ct_eq(nonce_hash.as_bytes(), transaction.csrf_hash.as_bytes()) {
        return Err(ConsentError::BadCsrf);
    }
    if now >= transaction.expires_at {
        return Err(ConsentError::Expired);
    }
    Ok(transaction)
}

/// `base64url(HMAC(csrf-key, nonce ‖ transaction))`.
fn csrf_token(keys: &Keys, nonce: &CsrfNonce, sealed: &str) -> String {
    crypto::b64(&crypto::hmac(
        &keys.csrf,
        &[nonce.expose().as_bytes(), sealed.as_bytes()],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;
    use crate::secret::KeyBytes;

    fn keys() -> Keys {
        Keys::derive(&KeyBytes::new([3; 32]))
    }

    fn transaction() -> Transaction {
        Transaction {
            client_id: "c".into(),
            redirect_uri: "https://a.example/cb".into(),
            state: "s".into(),
            code_challenge: "x".repeat(43),
            scopes: vec![Scope::CallsRead],
            resource: "https://mcp.example.com/mcp".into(),
            expires_at: 1000,
            csrf_hash: String::new(),
        }
    }

    #[test]
    fn round_trip() {
        let form = seal(&keys(), &OsRandom, transaction()).unwrap();
        let back = open(
            &keys(),
            999,
            &form.transaction,
            &form.csrf,
            Some(form.nonce.expose()),
        )
        .unwrap();
        assert_eq!(back.client_id, "c");
        assert_eq!(back.scopes, vec![Scope::CallsRead]);
        assert!(form.cookie().starts_with("__Host-openphone-mcp-csrf="));
        assert!(
            form.cookie()
                .ends_with("; Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Strict")
        );
        assert!(!form.transaction.contains("a.example"));
    }

    #[test]
    fn refusals() {
        let k = keys();
        let form = seal(&k, &OsRandom, transaction()).unwrap();
        let nonce = form.nonce.expose();
        assert_eq!(
            open(&k, 0, &form.transaction, &form.csrf, None),
            Err(ConsentError::MissingCookie)
        );
        assert_eq!(
            open(&k, 0, &form.transaction, &form.csrf, Some("")),
            Err(ConsentError::MissingCookie)
        );
        assert_eq!(
            open(&k, 0, &form.transaction, &form.csrf, Some("other")),
            Err(ConsentError::BadCsrf)
        );
        assert_eq!(
            open(&k, 0, &form.transaction, "forged", Some(nonce)),
            Err(ConsentError::BadCsrf)
        );
        assert_eq!(
            open(&k, 1000, &form.transaction, &form.csrf, Some(nonce)),
            Err(ConsentError::Expired)
        );

        // Another form's token and cookie do not fit this transaction.
        let other = seal(&k, &OsRandom, transaction()).unwrap();
        assert_eq!(
            open(
                &k,
                0,
                &form.transaction,
                &other.csrf,
                Some(other.nonce.expose())
            ),
            Err(ConsentError::BadCsrf)
        );

        // A transaction sealed under another signing key does not open, even
        // with a token computed for it under our CSRF key.
        let foreign = seal(
            &Keys::derive(&KeyBytes::new([4; 32])),
            &OsRandom,
            transaction(),
        )
        .unwrap();
        let token = csrf_token(&k, &foreign.nonce, &foreign.transaction);
        assert_eq!(
            open(
                &k,
                0,
                &foreign.transaction,
                &token,
                Some(foreign.nonce.expose())
            ),
            Err(ConsentError::Unsealable)
        );

        // A valid transaction paired with a self-made nonce and token: the
        // sealed nonce hash does not match.
        let attacker_nonce = CsrfNonce::new("attacker");
        let token = csrf_token(&k, &attacker_nonce, &form.transaction);
        assert_eq!(
            open(&k, 0, &form.transaction, &token, Some("attacker")),
            Err(ConsentError::BadCsrf)
        );
    }
}
