//! Credentials that must outlive a statement — a Broker Load job's and a pipe's, which run
//! again after a restart — sealed with a key kept outside the catalog.
//!
//! The catalog keeps such a statement twice: its text with credentials masked (`sql`, what
//! every view shows) and the whole text sealed with AES-256-GCM (`sealed_sql`: a 12-byte
//! random nonce, then the ciphertext and tag). The key is 32 random bytes in a file of its own
//! (`<data dir>/secrets.key` unless `--secrets-key-file` names another place), created 0600 at
//! the first start. Account passwords' hashes are sealed the same way (`users.auth` is
//! `sealed:` and the hex of the sealed hash): `mysql_native_password` can only check a login
//! against SHA1(SHA1(password)), which cannot be salted and lets whoever holds it log in, so it
//! is never kept in the clear. A copy of the catalog alone, a backup or a support bundle,
//! reveals no credential.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use strata_catalog::Catalog;
use strata_common::StatusCode;

use crate::{FrontendError, Result};

fn internal(msg: impl Into<String>) -> FrontendError {
    FrontendError::new(StatusCode::Internal, msg)
}

/// Seals and opens statements with the server's secrets key.
pub(crate) struct Sealer {
    key: LessSafeKey,
    path: PathBuf,
    rng: SystemRandom,
}

impl Sealer {
    /// Reads the key at `path`, or creates it (owner-only) when there is none.
    pub(crate) fn open_or_create(path: &Path) -> Result<Self> {
        let rng = SystemRandom::new();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut b = [0u8; 32];
                rng.fill(&mut b)
                    .map_err(|_| internal("cannot draw a secrets key"))?;
                write_new(path, &b)?;
                tracing::info!(path = %path.display(), "secrets key created");
                b.to_vec()
            }
            Err(e) => {
                return Err(internal(format!(
                    "cannot read the secrets key {}: {e}",
                    path.display()
                )));
            }
        };
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| {
            internal(format!(
                "the secrets key {} is not 32 bytes ({} found)",
                path.display(),
                bytes.len()
            ))
        })?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            path: path.to_path_buf(),
            rng,
        })
    }

    /// `text` sealed: nonce, then ciphertext and tag.
    pub(crate) fn seal(&self, text: &str) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| internal("cannot draw a nonce"))?;
        let mut out = text.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut out)
            .map_err(|_| internal("cannot seal a statement"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        Ok(sealed)
    }

    /// The text `sealed` holds; fails when it was sealed with another key or was altered.
    pub(crate) fn open(&self, sealed: &[u8]) -> Result<String> {
        let fail = || {
            internal(format!(
                "the statement's credentials cannot be unsealed with the secrets key {} (was \
                 the key file replaced, or the data directory moved without it?)",
                self.path.display()
            ))
        };
        if sealed.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .map_err(|_| fail())?;
        String::from_utf8(plain.to_vec()).map_err(|_| fail())
    }

    /// A password hash (hex) as the catalog keeps it: sealed, each time under a new nonce, so
    /// equal passwords look unrelated. No password stays empty.
    pub(crate) fn seal_password(&self, hash_hex: &str) -> Result<String> {
        if hash_hex.is_empty() || hash_hex.starts_with(SEALED) {
            return Ok(hash_hex.to_string());
        }
        Ok(format!("{SEALED}{}", to_hex(&self.seal(hash_hex)?)))
    }

    /// The password hash (hex) a stored `users.auth` holds.
    pub(crate) fn open_password(&self, stored: &str) -> Result<String> {
        match stored.strip_prefix(SEALED) {
            Some(h) => self.open(&from_hex(h).ok_or_else(|| {
                internal("a stored password is damaged (its sealed form is not hex)")
            })?),
            None => Ok(stored.to_string()),
        }
    }

    /// A statement to keep: its masked text, and the sealed original when masking changed it.
    pub(crate) fn keep(&self, text: &str) -> Result<(String, Option<Vec<u8>>)> {
        let masked = strata_sql::mask_credentials(text);
        if masked == text {
            return Ok((masked, None));
        }
        Ok((masked, Some(self.seal(text)?)))
    }

    /// The statement to run: the sealed original, or the stored text when it had no secrets.
    pub(crate) fn statement(&self, sql: &str, sealed: Option<&[u8]>) -> Result<String> {
        match sealed {
            Some(s) => self.open(s),
            None => Ok(sql.to_string()),
        }
    }
}

const SEALED: &str = "sealed:";

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        internal(format!(
            "cannot create the secrets key {}: {e}",
            path.display()
        ))
    })?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| {
        internal(format!(
            "cannot write the secrets key {}: {e}",
            path.display()
        ))
    })
}

/// Seals the credentials stored before sealing existed: jobs that may still run and pipes keep
/// them sealed, ended jobs keep only the masked text; password hashes are sealed.
pub(crate) fn seal_stored(catalog: &Catalog, sealer: &Sealer) -> Result<()> {
    let mut n = 0;
    for r in catalog.list_loads()? {
        if r.sealed_sql.is_some() {
            continue;
        }
        let (masked, sealed) = sealer.keep(&r.sql)?;
        if masked == r.sql {
            continue;
        }
        let live = matches!(r.state.as_str(), "PENDING" | "QUEUEING" | "LOADING");
        let sealed = if live { sealed } else { None };
        catalog.reseal_statement("load", r.job_id, &masked, sealed.as_deref())?;
        n += 1;
    }
    for p in catalog.list_pipes()? {
        if p.sealed_sql.is_some() {
            continue;
        }
        let (masked, sealed) = sealer.keep(&p.sql)?;
        if masked != p.sql {
            catalog.reseal_statement("pipe", p.id, &masked, sealed.as_deref())?;
            n += 1;
        }
    }
    for u in catalog.users()? {
        let sealed = sealer.seal_password(&u.auth)?;
        if sealed != u.auth {
            catalog.set_password(&u.name, &u.host, &sealed)?;
            n += 1;
        }
    }
    if n > 0 {
        tracing::info!(credentials = n, "stored credentials sealed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let s = Sealer::open_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let text = "LOAD ... ('aws.s3.secret_key' = 'TOPSECRET')";
        let sealed = s.seal(text).unwrap();
        assert!(!sealed.windows(9).any(|w| w == b"TOPSECRET"));
        assert_eq!(s.open(&sealed).unwrap(), text);
        // The same key read back opens it; a changed byte or another key does not.
        let again = Sealer::open_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), text);
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(s.open(&bad).is_err());
        let other = Sealer::open_or_create(&dir.path().join("other.key")).unwrap();
        assert!(other.open(&sealed).is_err());
        let (masked, kept) = s.keep(text).unwrap();
        assert_eq!(masked, "LOAD ... ('aws.s3.secret_key' = '***')");
        assert_eq!(s.statement(&masked, kept.as_deref()).unwrap(), text);
        assert_eq!(s.keep("SELECT 1").unwrap(), ("SELECT 1".to_string(), None));
    }
}
