//! Path patterns → files: Hadoop-style globs per path segment (`* ? [] [^] {a,b}`).

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
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

/// Files, in listing order, as the listing proceeds.
pub type FileStream = BoxStream<'static, Result<ObjectMeta, FilesError>>;

/// The files every path of a FILES() call matches, path after path, as the listing proceeds:
/// a load can start on the first page of a long S3 listing.
pub fn list_paths(paths: Vec<String>, store: ResolvedStore) -> FileStream {
    futures::stream::iter(paths)
        .map(move |p| list_one(p, store.clone()))
        .flatten()
        .boxed()
}

/// The files one path matches. S3 lists keys in order, page by page; a local directory is
/// listed whole and sorted.
fn list_one(path: String, store: ResolvedStore) -> FileStream {
    let loc = match Location::parse(&path) {
        Ok(l) => l,
        Err(e) => return futures::stream::once(async { Err(e) }).boxed(),
    };
    let key = loc.key.clone();
    let Some(first_glob) = key.find(GLOB_CHARS) else {
        return futures::stream::once(async move { head(&path, &key, &store).await })
            .map(|r| futures::stream::iter(r.transpose()))
            .flatten()
            .boxed();
    };
    let matcher = match Matcher::new(&key) {
        Ok(m) => m,
        Err(e) => return futures::stream::once(async { Err(e) }).boxed(),
    };
    let prefix = &key[..key[..first_glob].rfind('/').map(|i| i + 1).unwrap_or(0)];
    let prefix_path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.trim_end_matches('/')));
    let listing = store
        .store
        .list(prefix_path.as_ref())
        .try_filter(move |m| futures::future::ready(matcher.matches(m.location.as_ref())))
        .map_err(move |e| storage_error(e, &format!("listing {path}"), &store));
    if loc.scheme == "file" {
        futures::stream::once(async move {
            let mut files: Vec<ObjectMeta> = listing.try_collect().await?;
            files.sort_by(|a, b| a.location.cmp(&b.location));
            Ok::<_, FilesError>(files)
        })
        .map(|r| match r {
            Ok(files) => futures::stream::iter(files.into_iter().map(Ok)).boxed(),
            Err(e) => futures::stream::once(async { Err(e) }).boxed(),
        })
        .flatten()
        .boxed()
    } else {
        listing.boxed()
    }
}

/// A plain key names the file itself; a directory (or a missing key) matches nothing.
async fn head(
    path: &str,
    key: &str,
    store: &ResolvedStore,
) -> Result<Option<ObjectMeta>, FilesError> {
    if key.is_empty() || key.ends_with('/') {
        return Ok(None);
    }
    match store.store.head(&ObjectPath::from(key)).await {
        Ok(m) => Ok(Some(m)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => {
            // A HEAD answer has no body, so it cannot say why it was refused; a one-byte GET
            // carries S3's error code (SignatureDoesNotMatch, AuthorizationHeaderMalformed...).
            let diag = store.store.get_range(&ObjectPath::from(key), 0..1).await;
            let e = diag.err().unwrap_or(e);
            Err(storage_error(e, &format!("reading {path}"), store))
        }
    }
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

/// One entry of a `list_files_only` listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key (a directory's without its trailing `/`).
    pub key: String,
    /// Bytes (0 for a directory).
    pub size: u64,
    /// A directory: a key prefix other keys are below.
    pub is_dir: bool,
    /// Last modified (none for a directory, which object stores do not keep).
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// What `list_files_only` shows for `path` (a key or glob): the files and directories it
/// matches, segment by segment as FILES() matches files (`dir/*` lists one level); with
/// `recursive`, a matched directory also brings everything below it. Object stores keep no
/// directories: a directory is a prefix some key is below.
pub async fn list_entries(
    path: &str,
    store: &ResolvedStore,
    recursive: bool,
) -> Result<Vec<Entry>, FilesError> {
    let loc = Location::parse(path)?;
    let key = loc.key.trim_end_matches('/').to_string();
    let matcher = Matcher::new(&key)?;
    let plain = !key.contains(GLOB_CHARS);
    let first_glob = key.find(GLOB_CHARS).unwrap_or(key.len());
    let prefix = &key[..key[..first_glob].rfind('/').map(|i| i + 1).unwrap_or(0)];
    let prefix_path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.trim_end_matches('/')));
    let objects: Vec<ObjectMeta> = store
        .store
        .list(prefix_path.as_ref())
        .try_collect()
        .await
        .map_err(|e| storage_error(e, &format!("listing {path}"), store))?;
    let mut all: std::collections::BTreeMap<String, Entry> = Default::default();
    for o in &objects {
        let k = o.location.as_ref().to_string();
        let mut at = 0;
        while let Some(i) = k[at..].find('/') {
            let dir = k[..at + i].to_string();
            all.entry(dir.clone()).or_insert(Entry {
                key: dir,
                size: 0,
                is_dir: true,
                modified: None,
            });
            at += i + 1;
        }
        all.insert(
            k.clone(),
            Entry {
                key: k,
                size: o.size,
                is_dir: false,
                modified: Some(o.last_modified),
            },
        );
    }
    let matched: Vec<String> = all
        .keys()
        .filter(|k| {
            if plain {
                **k == key
            } else {
                matcher.matches(k)
            }
        })
        .cloned()
        .collect();
    let mut out: std::collections::BTreeMap<String, Entry> = Default::default();
    for m in matched {
        let entry = all[&m].clone();
        if recursive && entry.is_dir {
            let below = format!("{m}/");
            for (k, e) in all.range(below.clone()..) {
                if !k.starts_with(&below) {
                    break;
                }
                out.insert(k.clone(), e.clone());
            }
        }
        out.insert(m, entry);
    }
    Ok(out.into_values().collect())
}
