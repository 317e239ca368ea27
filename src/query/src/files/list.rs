//! Path patterns → files: Hadoop-style globs per path segment (`* ? [] [^] {a,b}`).

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use crate::files::FilesError;
use crate::files::store::{Location, ResolvedStore};

const GLOB_CHARS: &[char] = &['*', '?', '[', '{', '\\'];

/// Expands `{a,b}` alternatives (nested and repeated) into plain glob patterns.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let bytes = pattern.as_bytes();
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt = &pattern[w[0] + 1..w[1]];
        out.extend(expand_braces(&format!("{head}{alt}{tail}")));
    }
    out
}

/// A compiled pattern set for one path.
pub struct Matcher {
    patterns: Vec<glob::Pattern>,
}

impl Matcher {
    /// Compiles `pattern` (a key, possibly with globs).
    pub fn new(pattern: &str) -> Result<Self, FilesError> {
        let patterns = expand_braces(pattern)
            .into_iter()
            .map(|p| {
                // Hadoop negates a class with `^`, the glob crate with `!`.
                glob::Pattern::new(&p.replace("[^", "[!"))
                    .map_err(|e| FilesError::InvalidPath(format!("invalid pattern {pattern}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// True when `key` matches; `*` and `?` do not cross `/`.
    pub fn matches(&self, key: &str) -> bool {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.patterns.iter().any(|p| p.matches_with(key, opts))
    }
}

/// Turns an object store failure into an error that says what was tried.
pub fn storage_error(e: object_store::Error, what: &str, store: &ResolvedStore) -> FilesError {
    let text = e.to_string();
    let hint = if text.contains("SignatureDoesNotMatch") {
        " The secret key does not match the access key."
    } else if text.contains("InvalidAccessKeyId") {
        " The access key is unknown to the server."
    } else if text.contains("NoSuchBucket") {
        " The bucket does not exist."
    } else if text.contains("PermanentRedirect") || text.contains("AuthorizationHeaderMalformed") {
        " The bucket is in another region."
    } else if matches!(e, object_store::Error::PermissionDenied { .. }) || text.contains("403") {
        " Access was denied (HTTP 403)."
    } else {
        ""
    };
    FilesError::StorageAccess(format!(
        "Access storage error while {what}.{hint} Using {}. Storage answered: {text}",
        store.context
    ))
}

/// Lists the files a path (one element of `path`) matches, in key order.
pub async fn list(
    path: &str,
    loc: &Location,
    store: &ResolvedStore,
) -> Result<Vec<ObjectMeta>, FilesError> {
    let key = loc.key.as_str();
    let Some(first_glob) = key.find(GLOB_CHARS) else {
        // A plain key: the file itself. A directory (or a missing key) matches nothing.
        if key.is_empty() || key.ends_with('/') {
            return Ok(Vec::new());
        }
        return match store.store.head(&ObjectPath::from(key)).await {
            Ok(m) => Ok(vec![m]),
            Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e @ object_store::Error::PermissionDenied { .. }) => {
                // A HEAD answer has no body, so it cannot say why access was denied; a
                // one-byte GET carries S3's error code (SignatureDoesNotMatch, ...).
                let diag = store.store.get_range(&ObjectPath::from(key), 0..1).await;
                let e = diag.err().unwrap_or(e);
                Err(storage_error(e, &format!("reading {path}"), store))
            }
            Err(e) => Err(storage_error(e, &format!("reading {path}"), store)),
        };
    };
    let prefix = &key[..key[..first_glob].rfind('/').map(|i| i + 1).unwrap_or(0)];
    let matcher = Matcher::new(key)?;
    let prefix_path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.trim_end_matches('/')));
    let mut out: Vec<ObjectMeta> = store
        .store
        .list(prefix_path.as_ref())
        .try_filter(|m| futures::future::ready(matcher.matches(m.location.as_ref())))
        .try_collect()
        .await
        .map_err(|e| storage_error(e, &format!("listing {path}"), store))?;
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let m = Matcher::new("dir/*.parquet").unwrap();
        assert!(m.matches("dir/a.parquet"));
        assert!(!m.matches("dir/sub/a.parquet"));
        let m = Matcher::new("dt=2024*/{a,b}?.csv").unwrap();
        assert!(m.matches("dt=20240101/a1.csv"));
        assert!(m.matches("dt=2024/b2.csv"));
        assert!(!m.matches("dt=2024/c2.csv"));
        let m = Matcher::new("f[^x].csv").unwrap();
        assert!(m.matches("fa.csv") && !m.matches("fx.csv"));
        assert_eq!(expand_braces("{a,{b,c}}x"), vec!["ax", "bx", "cx"]);
    }
}
