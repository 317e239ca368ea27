//! What a FILES() call may reach: `file://` paths only under the directories the operator
//! allows (`--allow-local-path`), never out of them through `..` or a symlinked directory; and
//! no S3 endpoint at a link-local address (cloud metadata services), so a client cannot make
//! the server read its own files or fetch internal URLs.
//!
//! Checked where FILES() properties enter: planning a statement, DESC FILES, submitting and
//! running a Broker Load job, creating a pipe and each of its listings and batches.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use strata_common::StatusCode;

use crate::{FrontendError, Result};

/// The directories `file://` paths may read from (canonical).
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    roots: Vec<PathBuf>,
}

fn denied(msg: String) -> FrontendError {
    FrontendError::new(StatusCode::PermissionDenied, msg)
}

impl Access {
    pub(crate) fn new(roots: &[PathBuf]) -> Self {
        let roots = roots
            .iter()
            .filter_map(|r| match r.canonicalize() {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(dir = %r.display(), error = %e, "allowed local path ignored");
                    None
                }
            })
            .collect();
        Self { roots }
    }

    /// Refuses FILES() properties that reach outside what is allowed.
    pub(crate) fn check(&self, props: &[(String, String)]) -> Result<()> {
        for (k, v) in props {
            match k.to_ascii_lowercase().as_str() {
                "path" => {
                    for p in strata_query::files::split_paths(v) {
                        self.check_path(&p)?;
                    }
                }
                "aws.s3.endpoint" => check_endpoint(v)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn check_path(&self, path: &str) -> Result<()> {
        let Some(rest) = path
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("file://"))
            .map(|_| &path[7..])
        else {
            return Ok(());
        };
        if self.roots.is_empty() {
            return Err(denied(format!(
                "Access denied to {path}: this server reads no local files (start it with \
                 --allow-local-path DIR to let FILES() read files under DIR)"
            )));
        }
        if rest.split('/').any(|seg| seg == "..") {
            return Err(denied(format!(
                "Access denied to {path}: a local path may not contain '..'"
            )));
        }
        // The part before any glob, resolved through symlinks as far as it exists.
        let fixed = match rest.find(['*', '?', '[', '{']) {
            Some(i) => &rest[..rest[..i].rfind('/').map_or(0, |j| j + 1)],
            None => rest,
        };
        let mut probe = Path::new(if fixed.is_empty() { "/" } else { fixed }).to_path_buf();
        let resolved = loop {
            match probe.canonicalize() {
                Ok(c) => break c,
                Err(_) => match probe.parent() {
                    Some(p) => probe = p.to_path_buf(),
                    None => break PathBuf::from("/"),
                },
            }
        };
        if self.roots.iter().any(|r| resolved.starts_with(r)) {
            Ok(())
        } else {
            Err(denied(format!(
                "Access denied to {path}: local files are readable only under {}",
                self.roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

/// An endpoint at a link-local address (169.254.0.0/16, fe80::/10: cloud metadata services)
/// is refused.
fn check_endpoint(endpoint: &str) -> Result<()> {
    let host = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    let link_local = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_link_local(),
        Ok(IpAddr::V6(a)) => (a.segments()[0] & 0xffc0) == 0xfe80,
        Err(_) => host.eq_ignore_ascii_case("metadata.google.internal"),
    };
    if link_local {
        return Err(denied(format!(
            "Access denied to endpoint {endpoint}: link-local addresses (cloud metadata services) are not storage"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<(String, String)> {
        vec![("path".into(), p.into())]
    }

    #[test]
    fn local_paths_stay_under_their_roots() {
        let root = tempfile::tempdir().unwrap();
        let inside = root.path().join("in");
        std::fs::create_dir(&inside).unwrap();
        std::fs::write(inside.join("a.csv"), "1\n").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), inside.join("escape")).unwrap();
        let a = Access::new(std::slice::from_ref(&inside));
        let ok = |p: String| a.check(&path(&p)).is_ok();
        let d = inside.display();
        assert!(ok(format!("file://{d}/a.csv")));
        assert!(ok(format!("file://{d}/*.csv")));
        assert!(ok(format!("file://{d}/not-yet/*.csv")));
        assert!(!ok("file:///etc/passwd".into()));
        assert!(!ok(format!("file://{d}/../in/a.csv")));
        assert!(!ok(format!("file://{d}/escape/*")));
        assert!(!ok(format!("file://{d}/a.csv,file:///etc/passwd")));
        assert!(ok("s3://bucket/key".into()));
        assert!(
            Access::new(&[])
                .check(&path(&format!("file://{d}/a.csv")))
                .is_err()
        );
    }

    #[test]
    fn link_local_endpoints_are_refused() {
        let e = |v: &str| check_endpoint(v).is_ok();
        assert!(!e("http://169.254.169.254"));
        assert!(!e("http://169.254.169.254:80/latest"));
        assert!(!e("http://[fe80::1]:9000"));
        assert!(!e("http://metadata.google.internal"));
        assert!(e("http://127.0.0.1:9000"));
        assert!(e("https://s3.us-east-1.amazonaws.com"));
    }
}
