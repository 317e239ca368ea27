//! Storage errors.

use strata_common::{ErrorExt, StatusCode};

/// What a storage operation failed at.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A filesystem call failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The object store failed.
    #[error("data store error on {path}: {source}")]
    Store {
        /// Path.
        path: String,
        /// Cause.
        source: object_store::Error,
    },
    /// Encoding a segment failed.
    #[error("cannot encode segment {path}: {source}")]
    Encode {
        /// Path.
        path: String,
        /// Cause.
        source: parquet::errors::ParquetError,
    },
    /// Sorting, hashing or slicing a batch failed.
    #[error("cannot prepare rows for a segment: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A distribution column of a type the bucket hash does not cover.
    #[error("cannot hash-distribute a column of type {data_type}")]
    UnsupportedHashType {
        /// Arrow type.
        data_type: String,
    },
    /// A fault point fired (tests; `strata_common::fault`).
    #[error("{0}")]
    Injected(String),
    /// A background task panicked or was cancelled.
    #[error("segment writer task failed: {0}")]
    Task(String),
}

impl ErrorExt for StorageError {
    fn status_code(&self) -> StatusCode {
        match self {
            StorageError::UnsupportedHashType { .. } => StatusCode::Unsupported,
            _ => StatusCode::Internal,
        }
    }
}
