//! Catalog errors.

use strata_common::{ErrorExt, StatusCode};

/// Result alias.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// What a catalog operation failed at.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The store could not be opened.
    #[error("cannot open the catalog at {path}: {source}")]
    Open {
        /// Path of the SQLite file.
        path: String,
        /// Cause.
        source: rusqlite::Error,
    },
    /// The store failed.
    #[error("catalog store error: {0}")]
    Store(#[from] rusqlite::Error),
    /// A stored definition cannot be decoded.
    #[error("corrupt table definition of {table}: {source}")]
    CorruptDefinition {
        /// Table.
        table: String,
        /// Cause.
        source: serde_json::Error,
    },
    /// CREATE DATABASE of an existing name.
    #[error("Can't create database '{0}'; database exists")]
    DatabaseExists(String),
    /// Unknown database.
    #[error("Unknown database '{0}'")]
    UnknownDatabase(String),
    /// CREATE TABLE of an existing name.
    #[error("Table '{0}' already exists")]
    TableExists(String),
    /// Unknown table.
    #[error("Unknown table '{db}.{table}'")]
    UnknownTable {
        /// Database.
        db: String,
        /// Table.
        table: String,
    },
    /// The label is taken by a load that was not cancelled.
    #[error("Label [{label}] has already been used, relate to txn [{txn_id}]")]
    LabelUsed {
        /// Label.
        label: String,
        /// Transaction of the earlier load.
        txn_id: i64,
    },
    /// An injected fault fired (crash-consistency tests).
    #[error("injected fault: {0}")]
    Injected(String),
    /// A load's target table was dropped or truncated while it ran.
    #[error("table {table} was dropped or changed while the load ran; nothing was committed")]
    TableChanged {
        /// Table.
        table: String,
    },
}

impl ErrorExt for CatalogError {
    fn status_code(&self) -> StatusCode {
        match self {
            CatalogError::Open { .. }
            | CatalogError::Store(_)
            | CatalogError::CorruptDefinition { .. } => StatusCode::Internal,
            CatalogError::DatabaseExists(_) => StatusCode::DatabaseAlreadyExists,
            CatalogError::UnknownDatabase(_) => StatusCode::DatabaseNotFound,
            CatalogError::TableExists(_) => StatusCode::TableAlreadyExists,
            CatalogError::UnknownTable { .. } => StatusCode::TableNotFound,
            CatalogError::LabelUsed { .. } => StatusCode::LabelAlreadyUsed,
            CatalogError::TableChanged { .. } => StatusCode::Cancelled,
            CatalogError::Injected(_) => StatusCode::Internal,
        }
    }
}
