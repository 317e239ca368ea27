//! The one place where a [`StatusCode`] becomes a MySQL error number and SQLSTATE.

use opensrv_mysql::ErrorKind;
use strata_common::StatusCode;

/// MySQL error kind (number + SQLSTATE) for a status code.
pub fn mysql_error(code: StatusCode) -> ErrorKind {
    match code {
        StatusCode::InvalidSyntax => ErrorKind::ER_PARSE_ERROR,
        StatusCode::Unsupported => ErrorKind::ER_NOT_SUPPORTED_YET,
        StatusCode::InvalidArguments => ErrorKind::ER_WRONG_ARGUMENTS,
        StatusCode::NoDatabaseSelected => ErrorKind::ER_NO_DB_ERROR,
        StatusCode::DatabaseNotFound => ErrorKind::ER_BAD_DB_ERROR,
        StatusCode::DatabaseAlreadyExists => ErrorKind::ER_DB_CREATE_EXISTS,
        StatusCode::TableNotFound => ErrorKind::ER_NO_SUCH_TABLE,
        StatusCode::TableAlreadyExists => ErrorKind::ER_TABLE_EXISTS_ERROR,
        StatusCode::ColumnNotFound => ErrorKind::ER_BAD_FIELD_ERROR,
        StatusCode::DuplicateColumn => ErrorKind::ER_DUP_FIELDNAME,
        StatusCode::ColumnCountMismatch => ErrorKind::ER_WRONG_VALUE_COUNT_ON_ROW,
        StatusCode::InvalidValue => ErrorKind::ER_TRUNCATED_WRONG_VALUE_FOR_FIELD,
        StatusCode::LoadFiltered => ErrorKind::ER_TRUNCATED_WRONG_VALUE_FOR_FIELD,
        StatusCode::LabelAlreadyUsed => ErrorKind::ER_DUP_ENTRY,
        StatusCode::FileNotFound => ErrorKind::ER_FILE_NOT_FOUND,
        StatusCode::StorageAccessFailed => ErrorKind::ER_CANT_OPEN_FILE,
        StatusCode::InvalidFile => ErrorKind::ER_ERROR_ON_READ,
        StatusCode::AccessDenied => ErrorKind::ER_ACCESS_DENIED_ERROR,
        StatusCode::PermissionDenied => ErrorKind::ER_SPECIFIC_ACCESS_DENIED_ERROR,
        StatusCode::AccountOperationFailed => ErrorKind::ER_CANNOT_USER,
        StatusCode::ConfigNotFound => ErrorKind::ER_UNKNOWN_SYSTEM_VARIABLE,
        StatusCode::UnknownThread => ErrorKind::ER_NO_SUCH_THREAD,
        StatusCode::Cancelled => ErrorKind::ER_QUERY_INTERRUPTED,
        StatusCode::ShuttingDown => ErrorKind::ER_SERVER_SHUTDOWN,
        StatusCode::Internal => ErrorKind::ER_UNKNOWN_ERROR,
    }
}
