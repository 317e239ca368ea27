//! The closed set of outcomes an operation can have, shared by every layer.

/// What went wrong, independent of the protocol that reports it.
///
/// The MySQL layer maps each code to one error number and SQLSTATE in a single exhaustive match,
/// so adding a variant forces a decision there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// A statement could not be parsed.
    InvalidSyntax,
    /// The statement or clause is recognised but not supported (yet).
    Unsupported,
    /// Arguments or properties are invalid.
    InvalidArguments,
    /// No database is selected and the statement needs one.
    NoDatabaseSelected,
    /// The named database does not exist.
    DatabaseNotFound,
    /// The named database already exists.
    DatabaseAlreadyExists,
    /// The named table does not exist.
    TableNotFound,
    /// The named table already exists.
    TableAlreadyExists,
    /// The named column does not exist.
    ColumnNotFound,
    /// A column name is used twice.
    DuplicateColumn,
    /// Target and source column counts differ.
    ColumnCountMismatch,
    /// A value cannot be converted to the column's type.
    InvalidValue,
    /// A load rejected more rows than allowed.
    LoadFiltered,
    /// The label was already used by a successful load.
    LabelAlreadyUsed,
    /// No file matched a path pattern.
    FileNotFound,
    /// The object store refused or failed an access (credentials, bucket, region, network).
    StorageAccessFailed,
    /// A file is not readable as the declared format.
    InvalidFile,
    /// The user or password is wrong.
    AccessDenied,
    /// The user lacks a privilege.
    PermissionDenied,
    /// A user or role cannot be created, dropped or changed (exists, unknown, built in).
    AccountOperationFailed,
    /// A configuration key is unknown or not mutable.
    ConfigNotFound,
    /// `KILL` named a connection that does not exist.
    UnknownThread,
    /// The statement was cancelled or timed out.
    Cancelled,
    /// The server is shutting down and takes no new statement.
    ShuttingDown,
    /// An unexpected internal failure.
    Internal,
}

impl StatusCode {
    /// Whether the same request may succeed when tried again: the storage was unreachable,
    /// refused for a while or answered short. Wrong data, SQL or credentials stay wrong.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StatusCode::StorageAccessFailed)
    }

    /// A short stable name, used in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            StatusCode::InvalidSyntax => "InvalidSyntax",
            StatusCode::Unsupported => "Unsupported",
            StatusCode::InvalidArguments => "InvalidArguments",
            StatusCode::NoDatabaseSelected => "NoDatabaseSelected",
            StatusCode::DatabaseNotFound => "DatabaseNotFound",
            StatusCode::DatabaseAlreadyExists => "DatabaseAlreadyExists",
            StatusCode::TableNotFound => "TableNotFound",
            StatusCode::TableAlreadyExists => "TableAlreadyExists",
            StatusCode::ColumnNotFound => "ColumnNotFound",
            StatusCode::DuplicateColumn => "DuplicateColumn",
            StatusCode::ColumnCountMismatch => "ColumnCountMismatch",
            StatusCode::InvalidValue => "InvalidValue",
            StatusCode::LoadFiltered => "LoadFiltered",
            StatusCode::LabelAlreadyUsed => "LabelAlreadyUsed",
            StatusCode::AccountOperationFailed => "AccountOperationFailed",
            StatusCode::FileNotFound => "FileNotFound",
            StatusCode::StorageAccessFailed => "StorageAccessFailed",
            StatusCode::InvalidFile => "InvalidFile",
            StatusCode::AccessDenied => "AccessDenied",
            StatusCode::PermissionDenied => "PermissionDenied",
            StatusCode::ConfigNotFound => "ConfigNotFound",
            StatusCode::UnknownThread => "UnknownThread",
            StatusCode::Cancelled => "Cancelled",
            StatusCode::ShuttingDown => "ShuttingDown",
            StatusCode::Internal => "Internal",
        }
    }
}
