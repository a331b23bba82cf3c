//! The deployment secret, and the keys derived from it.
//!
//! One secret per deployment seals users' OpenPhone keys (the vault) and
//! keys the auth component's signatures. There is no fallback: production
//! mode refuses to start without a configured secret of at least 32 bytes;
//! local mode generates a random one once, stores it with mode 0600 in the
//! data directory, and says where. Each use gets its own key, derived with
//! HKDF-SHA256 and a purpose label, so the auth component never holds the
//! key that opens the vault.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::Sha256;

/// Shortest secret accepted.
pub const MIN_SECRET_BYTES: usize = 32;
/// Environment variable holding the secret in production.
pub const SECRET_ENV: &str = "OPENPHONE_MCP_SECRET";
/// File name of the generated local secret, in the data directory.
pub const LOCAL_SECRET_FILE: &str = "deployment-secret";

/// The deployment secret. `Debug` prints `[redacted]`; the bytes never
/// leave this module: only derived keys do.
pub struct DeploymentSecret(Vec<u8>);

/// What a derived key is for; the label is part of the derivation.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// The AEAD key sealing users' OpenPhone keys.
    Vault,
    /// The auth component's signing key (CSRF tokens, sealed consent state).
    AuthSigning,
    /// The HMAC key naming workspaces by their API key (`access/workspace.rs`).
    Workspace,
    /// The key wrapping the data keys of the three above (`key_ring.rs`).
    KeyWrap,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Vault => b"openphone-mcp vault v1",
            Purpose::AuthSigning => b"openphone-mcp auth signing v1",
            Purpose::Workspace => b"openphone-mcp workspace names v1",
            Purpose::KeyWrap => b"openphone-mcp data key wrapping v1",
        }
    }
}

/// A 32-byte key derived for one purpose. `Debug` prints `[redacted]`.
pub struct DerivedKey([u8; 32]);

impl DerivedKey {
    /// A key opened from the store (`key_ring.rs`).
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        DerivedKey(bytes)
    }

    /// The raw key, for the one place that uses it.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey([redacted])")
    }
}

impl fmt::Debug for DeploymentSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeploymentSecret([redacted])")
    }
}

impl DeploymentSecret {
    /// Parses a configured secret: its text as given (at least 32 bytes
    /// after trimming; a long random string, or hex or base64 of random bytes).
    pub fn from_text(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.len() < MIN_SECRET_BYTES {
            bail!(
                "the deployment secret is {} bytes; at least {MIN_SECRET_BYTES} are required \
                 (e.g. `openssl rand -hex 32`)",
                text.len()
            );
        }
        Ok(DeploymentSecret(text.as_bytes().to_vec()))
    }

    /// The secret for production: from `file` when given, else from
    /// [`SECRET_ENV`]. Refuses to go on without one.
    pub fn configured(file: Option<&Path>) -> anyhow::Result<Self> {
        let text = match file {
            Some(path) => std::fs::read_to_string(path).with_context(|| {
                format!("reading the deployment secret from {}", path.display())
            })?,
            None => std::env::var(SECRET_ENV).map_err(|_| {
                anyhow::anyhow!(
                    "production mode needs a deployment secret: set {SECRET_ENV} or --secret-file \
                     to at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`)"
                )
            })?,
        };
        DeploymentSecret::from_text(&text)
    }

    /// The local secret in `data_dir`, generated (32 random bytes, hex,
    /// mode 0600) on first use. Returns it and its path.
    pub fn local(data_dir: &Path) -> anyhow::Result<(Self, PathBuf)> {
        let path = data_dir.join(LOCAL_SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                check_private(&path)?;
                return Ok((DeploymentSecret::from_text(&text)?, path));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", path.display()));
            }
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let text = hex::encode(bytes);
        write_private(&path, text.as_bytes())?;
        tracing::info!(path = %path.display(), "generated a deployment secret for local mode");
        Ok((DeploymentSecret(text.into_bytes()), path))
    }

    /// The key for `purpose`.
    pub fn derive(&self, purpose: Purpose) -> DerivedKey {
        let hkdf = Hkdf::<Sha256>::new(None, &self.0);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 8160.
        let _ = hkdf.expand(purpose.label(), &mut key);
        DerivedKey(key)
    }
}

/// Creates `path` with mode 0600 (never readable by others, even briefly).
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// Refuses a secret file others can read.
fn check_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_short_secrets_and_never_prints_one() {
        assert!(DeploymentSecret::from_text("too short").is_err());
        let secret = DeploymentSecret::from_text(&"s".repeat(32)).unwrap();
        assert_eq!(format!("{secret:?}"), "DeploymentSecret([redacted])");
        assert_eq!(
            format!("{:?}", secret.derive(Purpose::Vault)),
            "DerivedKey([redacted])"
        );
    }

    #[test]
    fn purposes_get_different_stable_keys() {
        let secret = DeploymentSecret::from_text(&"s".repeat(40)).unwrap();
        let vault = secret.derive(Purpose::Vault);
        let signing = secret.derive(Purpose::AuthSigning);
        assert_ne!(vault.expose(), signing.expose());
        assert_eq!(vault.expose(), secret.derive(Purpose::Vault).expose());
        let other = DeploymentSecret::from_text(&"t".repeat(40)).unwrap();
        assert_ne!(vault.expose(), other.derive(Purpose::Vault).expose());
    }

    #[test]
    fn local_secret_is_generated_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let (first, path) = DeploymentSecret::local(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, _) = DeploymentSecret::local(dir.path()).unwrap();
        assert_eq!(
            first.derive(Purpose::Vault).expose(),
            again.derive(Purpose::Vault).expose()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = DeploymentSecret::local(dir.path()).unwrap_err();
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
    }
}
