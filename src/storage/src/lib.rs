//! Table data: immutable Parquet segment files under `<data dir>/data/<table id>/`.
//!
//! This crate writes segments (invisible until the catalog commits them), deletes files the
//! catalog has retired, and lists what is on disk for start-up garbage collection. It knows
//! nothing of SQL or of the catalog; see docs/design.md for the commit protocol.

mod error;
pub mod hash;
mod segment;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

pub use error::StorageError;
pub use writer::{BucketSpec, Bucketed, Bucketer, SegmentWriter, WriterOptions, WrittenSegment};

/// URL under which the data store is registered with the query engine.
pub const DATA_STORE_URL: &str = "strata://data";

/// Fault points for crash-consistency tests (set through [`DataStore::inject_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail the next segment write after its file is put but before it is synced.
    SegmentWrite,
}

/// Handle to the table data directory.
#[derive(Clone)]
pub struct DataStore {
    root: PathBuf,
    store: Arc<LocalFileSystem>,
    fault: Arc<std::sync::Mutex<Option<Fault>>>,
}

impl DataStore {
    /// Opens `<dir>` as the data root, creating it.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let root = dir.canonicalize().map_err(|e| StorageError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let store = LocalFileSystem::new_with_prefix(&root).map_err(|e| StorageError::Store {
            path: root.display().to_string(),
            source: e,
        })?;
        Ok(Self {
            root,
            store: Arc::new(store),
            fault: Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// The object store rooted at the data directory.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// Absolute directory on disk.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Arms a fault for the next matching operation (tests only).
    pub fn inject_fault(&self, fault: Option<Fault>) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    pub(crate) fn take_fault(&self, f: Fault) -> bool {
        let mut g = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        if *g == Some(f) {
            *g = None;
            true
        } else {
            false
        }
    }

    /// Deletes files by relative path; files already gone count as deleted.
    pub async fn delete(&self, paths: &[String]) -> Result<(), StorageError> {
        for p in paths {
            match self.store.delete(&ObjectPath::from(p.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(StorageError::Store {
                        path: p.clone(),
                        source: e,
                    });
                }
            }
        }
        Ok(())
    }

    /// Every `.parquet` file under the root (relative paths), plus leftover temp files.
    pub async fn list_files(&self) -> Result<Vec<String>, StorageError> {
        let metas: Vec<_> =
            self.store
                .list(None)
                .try_collect()
                .await
                .map_err(|e| StorageError::Store {
                    path: self.root.display().to_string(),
                    source: e,
                })?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }
}
