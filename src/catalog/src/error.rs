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
    /// The catalog was written by a newer Strata.
    #[error(
        "the data directory's catalog has schema version {found}, newer than this build knows ({known}); run the Strata release that wrote it"
    )]
    NewerSchema {
        /// Version found.
        found: usize,
        /// Newest version this build knows.
        known: usize,
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
    #[error("{}", label_used(label, *txn_id, *job_id, state))]
    LabelUsed {
        /// Label.
        label: String,
        /// Transaction of the earlier load (0 while it runs).
        txn_id: i64,
        /// The earlier job.
        job_id: i64,
        /// Its state.
        state: String,
    },
    /// CREATE PIPE of a name in use.
    #[error("Pipe exists")]
    PipeExists(String),
    /// A pipe batch's files are not in the state its commit needs.
    #[error("{0}")]
    PipeLedger(String),
    /// No load job has the label.
    #[error("Load job with label [{label}] does not exist in database {db}")]
    UnknownLoad {
        /// Database.
        db: String,
        /// Label.
        label: String,
    },
    /// CANCEL LOAD of a job that already ended.
    #[error("Load job [{label}] is already {state} and cannot be cancelled")]
    LoadEnded {
        /// Label.
        label: String,
        /// FINISHED or CANCELLED.
        state: String,
    },
    /// CREATE USER of an account that exists.
    #[error("Operation CREATE USER failed for {0} : user already exists")]
    UserExists(String),
    /// No such account.
    #[error("Operation failed for {0} : user does not exist")]
    UnknownUser(String),
    /// CREATE ROLE of a role that exists.
    #[error("Operation CREATE ROLE failed for {0} : role already exists")]
    RoleExists(String),
    /// No such role.
    #[error("Role {0} does not exist")]
    UnknownRole(String),
    /// DROP ROLE of a built-in role.
    #[error("{0} is a built-in role and cannot be dropped")]
    BuiltinRole(String),
    /// GRANT of a role that would contain itself.
    #[error("cannot grant role {0} to role {1}: {1} would then contain itself")]
    RoleCycle(String, String),
    /// SET DEFAULT ROLE of a role the user was not granted.
    #[error("Role {0} is not granted to {1}")]
    RoleNotGranted(String, String),
    /// A fault point fired (tests; `strata_common::fault`).
    #[error("{0}")]
    Injected(String),
    /// COMMIT failed and the transaction did not land.
    #[error("the catalog transaction did not commit ({0})")]
    CommitFailed(String),
    /// COMMIT failed or went unconfirmed, and the catalog cannot say whether it landed: the
    /// caller must not delete what the transaction references.
    #[error("the catalog could not confirm a commit ({0})")]
    CommitUnknown(String),
    /// A load's target table was dropped or truncated while it ran.
    #[error("table {table} was dropped or changed while the load ran; nothing was committed")]
    TableChanged {
        /// Table.
        table: String,
    },
}

/// StarRocks' texts: `Label [l] has already been used, relate to txn [n]` for a committed
/// load, `Label [l] has already been used.` otherwise; Strata adds the holding job and its state.
fn label_used(label: &str, txn_id: i64, job_id: i64, state: &str) -> String {
    if txn_id > 0 {
        format!(
            "Label [{label}] has already been used, relate to txn [{txn_id}]. Load job {job_id} holding it is {state}"
        )
    } else {
        format!("Label [{label}] has already been used. Load job {job_id} holding it is {state}")
    }
}

impl ErrorExt for CatalogError {
    fn status_code(&self) -> StatusCode {
        match self {
            CatalogError::Open { .. }
            | CatalogError::NewerSchema { .. }
            | CatalogError::Store(_)
            | CatalogError::CorruptDefinition { .. } => StatusCode::Internal,
            CatalogError::DatabaseExists(_) => StatusCode::DatabaseAlreadyExists,
            CatalogError::UnknownDatabase(_) => StatusCode::DatabaseNotFound,
            CatalogError::TableExists(_) => StatusCode::TableAlreadyExists,
            CatalogError::UnknownTable { .. } => StatusCode::TableNotFound,
            CatalogError::LabelUsed { .. } => StatusCode::LabelAlreadyUsed,
            CatalogError::UnknownLoad { .. } => StatusCode::InvalidArguments,
            CatalogError::PipeExists(_) => StatusCode::InvalidArguments,
            CatalogError::PipeLedger(_) => StatusCode::Internal,
            CatalogError::LoadEnded { .. } => StatusCode::InvalidArguments,
            CatalogError::TableChanged { .. } => StatusCode::Cancelled,
            CatalogError::Injected(_)
            | CatalogError::CommitFailed(_)
            | CatalogError::CommitUnknown(_) => StatusCode::Internal,
            CatalogError::UserExists(_)
            | CatalogError::UnknownUser(_)
            | CatalogError::RoleExists(_)
            | CatalogError::UnknownRole(_)
            | CatalogError::BuiltinRole(_)
            | CatalogError::RoleCycle(..)
            | CatalogError::RoleNotGranted(..) => StatusCode::AccountOperationFailed,
        }
    }
}
