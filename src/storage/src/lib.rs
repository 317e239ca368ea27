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
use strata_common::fault::Faults;
pub use writer::{BucketSpec, Bucketed, Bucketer, SegmentWriter, WriterOptions, WrittenSegment};

/// URL under which the data store is registered with the query engine.
pub const DATA_STORE_URL: &str = "strata://data";

/// Handle to the table data directory.
#[derive(Clone)]
pub struct DataStore {
    root: PathBuf,
    store: Arc<LocalFileSystem>,
    faults: Faults,
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
            faults: Faults::default(),
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

    /// The store with the server's fault points (`strata_common::fault`).
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Hits a fault point.
    pub(crate) fn hit(&self, point: &'static str) -> Result<(), StorageError> {
        self.faults
            .hit(point)
            .map_err(|e| StorageError::Injected(e.to_string()))
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
