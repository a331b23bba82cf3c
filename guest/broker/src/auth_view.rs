//! What the auth component sees of the host: three settings and one bucket.
//!
//! The auth component imports `wasi:config/store` and `wasi:keyvalue`; the
//! broker exports them as views, so that the auth component never reads the
//! deployment's own settings (`deployment_secret`, `openphone_api_key`) and
//! never reaches the store's other entries (ledgers, sealed keys, budgets).

/// The one bucket the auth component may open.
pub const BUCKET: &str = "auth";

/// Where the bucket's entries live in the host's store.
const PREFIX: &str = "auth/";

/// The host-store key of the bucket's `key`.
pub fn stored_key(key: &str) -> String {
    format!("{PREFIX}{key}")
}

/// The bucket key of a host-store key, if it is one of the bucket's.
pub fn bucket_key(stored: &str) -> Option<&str> {
    stored.strip_prefix(PREFIX)
}

/// Keys the bucket lists per page: the auth component's sweep loads each,
/// so a page bounds one request's work.
pub const PAGE: usize = 256;

/// The page of `keys` (the bucket's, in any order) after `cursor` (the last
/// key of the previous page), sorted, and the cursor of the next page.
pub fn page(mut keys: Vec<String>, cursor: Option<&str>) -> (Vec<String>, Option<String>) {
    keys.sort_unstable();
    keys.retain(|k| cursor.is_none_or(|c| k.as_str() > c));
    let more = keys.len() > PAGE;
    keys.truncate(PAGE);
    let next = more.then(|| keys.last().cloned()).flatten();
    (keys, next)
}

/// The origin in `public_url`: `scheme://authority`, a trailing `/` dropped;
/// `Err` says what is wrong (the value itself is never repeated).
pub fn public_origin(url: &str) -> Result<String, &'static str> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, authority) = url
        .split_once("://")
        .ok_or("public_url must be an http:// or https:// origin")?;
    if !matches!(scheme, "http" | "https") {
        return Err("public_url must be an http:// or https:// origin");
    }
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return Err("public_url must be an origin, e.g. https://mcp.example.com, without a path");
    }
    Ok(url.to_owned())
}

/// The auth component's settings (`wasi:config/store`), derived from the
/// deployment's.
#[derive(Clone)]
pub struct AuthSettings {
    issuer: String,
    signing_key: String,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("issuer", &self.issuer)
            .field("signing_key", &"[redacted]")
            .finish()
    }
}

impl AuthSettings {
    /// The settings of the deployment at `origin` (see [`public_origin`])
    /// with `secret`.
    pub fn new(origin: &str, secret: &str) -> Self {
        Self {
            issuer: origin.to_owned(),
            signing_key: crate::vault::auth_signing_key(secret),
        }
    }

    /// Every setting the auth component can read; the lifetimes and the
    /// client cap keep the component's defaults. Metadata documents are off:
    /// a guest cannot see where a name resolves, so the native rule that
    /// they be fetched from public addresses only cannot be kept.
    pub fn all(&self) -> Vec<(String, String)> {
        vec![
            ("issuer".into(), self.issuer.clone()),
            ("resource".into(), format!("{}/mcp", self.issuer)),
            ("signing_key".into(), self.signing_key.clone()),
            ("client_metadata_documents".into(), "false".into()),
        ]
    }

    /// The setting `name`; `None` for any other name.
    pub fn get(&self, name: &str) -> Option<String> {
        self.all()
            .into_iter()
            .find_map(|(n, value)| (n == name).then_some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_is_a_prefix_of_the_store() {
        assert_eq!(stored_key("grant/1"), "auth/grant/1");
        assert_eq!(bucket_key("auth/grant/1"), Some("grant/1"));
        assert_eq!(bucket_key("vault/g1"), None);
        assert_eq!(bucket_key("ledger/x"), None);
    }

    #[test]
    fn the_bucket_lists_in_bounded_pages() {
        let keys: Vec<String> = (0..PAGE * 2 + 3)
            .rev()
            .map(|i| format!("k{i:04}"))
            .collect();
        let (first, cursor) = page(keys.clone(), None);
        assert_eq!(first.len(), PAGE);
        assert_eq!(first[0], "k0000");
        let (second, cursor) = page(keys.clone(), cursor.as_deref());
        assert_eq!(second.len(), PAGE);
        assert!(second[0] > first[PAGE - 1]);
        let (third, cursor) = page(keys.clone(), cursor.as_deref());
        assert_eq!(third.len(), 3);
        assert_eq!(cursor, None, "the last page says so");
        assert_eq!(page(Vec::new(), None), (Vec::new(), None));
    }

    #[test]
    fn public_url_is_an_origin() {
        assert_eq!(
            public_origin("https://mcp.example.com/").as_deref(),
            Ok("https://mcp.example.com")
        );
        assert_eq!(
            public_origin("http://127.0.0.1:3000").as_deref(),
            Ok("http://127.0.0.1:3000")
        );
        for bad in [
            "mcp.example.com",
            "ftp://mcp.example.com",
            "https://",
            "https://mcp.example.com/mcp",
            "https://mcp.example.com?x=1",
            "https://user@mcp.example.com",
        ] {
            assert!(public_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_auth_component_reads_derived_settings_only() {
        let secret = "a-deployment-secret-of-32-characters!";
        let settings = AuthSettings::new("https://mcp.example.com", secret);
        assert_eq!(
            settings.get("issuer").as_deref(),
            Some("https://mcp.example.com")
        );
        assert_eq!(
            settings.get("resource").as_deref(),
            Some("https://mcp.example.com/mcp")
        );
        let signing = settings.get("signing_key").expect("derived");
        assert_eq!(
            settings.get("client_metadata_documents").as_deref(),
            Some("false")
        );
        assert_eq!(signing.len(), 64);
        for name in [
            "deployment_secret",
            "openphone_api_key",
            "access_token_ttl_secs",
        ] {
            assert_eq!(settings.get(name), None, "{name}");
        }
        assert!(
            settings
                .all()
                .iter()
                .all(|(_, value)| !value.contains(secret))
        );
        assert!(!format!("{settings:?}").contains(&signing));
    }
}
