//! Frontend errors: every failure a statement can end with, each with its status code.

use datafusion::error::DataFusionError;
use strata_common::{ErrorExt, StatusCode};

/// Result alias.
pub type Result<T, E = FrontendError> = std::result::Result<T, E>;

/// What a statement failed at.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    /// Parsing.
    #[error(transparent)]
    Parse(#[from] strata_sql::ParseError),
    /// Catalog.
    #[error(transparent)]
    Catalog(#[from] strata_catalog::CatalogError),
    /// Table storage.
    #[error(transparent)]
    Storage(#[from] strata_storage::StorageError),
    /// FILES(): listing, credentials, formats.
    #[error(transparent)]
    Files(#[from] strata_query::files::FilesError),
    /// Planning or execution in DataFusion.
    #[error("{}", df_message(.0))]
    Query(#[from] DataFusionError),
    /// Anything with its own status code and message.
    #[error("{message}")]
    Plain {
        /// Status.
        code: StatusCode,
        /// Message.
        message: String,
    },
}

impl FrontendError {
    /// An error with a status code and message.
    pub fn new(code: StatusCode, message: impl Into<String>) -> Self {
        FrontendError::Plain {
            code,
            message: message.into(),
        }
    }
}

/// DataFusion's message without its internal prefixes, with context kept.
fn df_message(e: &DataFusionError) -> String {
    match e {
        DataFusionError::Context(ctx, inner) => format!("{ctx}: {}", df_message(inner)),
        DataFusionError::ArrowError(a, _) => a.to_string(),
        DataFusionError::External(x) => x.to_string(),
        DataFusionError::Shared(x) => df_message(x),
        DataFusionError::Diagnostic(_, inner) => df_message(inner),
        DataFusionError::Collection(v) => v.first().map(df_message).unwrap_or_default(),
        other => {
            let s = other.strip_backtrace();
            for prefix in [
                "Error during planning: ",
                "Schema error: ",
                "SQL error: ",
                "This feature is not implemented: ",
                "Execution error: ",
            ] {
                if let Some(rest) = s.strip_prefix(prefix) {
                    return rest.to_string();
                }
            }
            s
        }
    }
}

fn df_status(e: &DataFusionError) -> StatusCode {
    match e {
        DataFusionError::SchemaError(se, _) => match se.as_ref() {
            datafusion::common::SchemaError::FieldNotFound { .. } => StatusCode::ColumnNotFound,
            datafusion::common::SchemaError::DuplicateQualifiedField { .. }
            | datafusion::common::SchemaError::DuplicateUnqualifiedField { .. } => {
                StatusCode::DuplicateColumn
            }
            _ => StatusCode::InvalidArguments,
        },
        DataFusionError::SQL(..) => StatusCode::InvalidSyntax,
        DataFusionError::NotImplemented(_) => StatusCode::Unsupported,
        DataFusionError::Plan(_) => StatusCode::InvalidArguments,
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            df_status(inner)
        }
        DataFusionError::Collection(v) => v.first().map(df_status).unwrap_or(StatusCode::Internal),
        DataFusionError::Shared(inner) => df_status(inner),
        DataFusionError::ResourcesExhausted(_) => StatusCode::Internal,
        // A FILES() reader's error keeps its own status (a file's fault is not an internal
        // error: a pipe pins it on the file).
        DataFusionError::External(x) => x
            .downcast_ref::<strata_query::files::FilesError>()
            .map(|f| f.status_code())
            .unwrap_or(StatusCode::Internal),
        DataFusionError::ArrowError(..) | DataFusionError::Execution(_) => {
            StatusCode::InvalidArguments
        }
        _ => StatusCode::Internal,
    }
}

impl ErrorExt for FrontendError {
    fn status_code(&self) -> StatusCode {
        match self {
            FrontendError::Parse(e) => e.status_code(),
            FrontendError::Catalog(e) => e.status_code(),
            FrontendError::Storage(e) => e.status_code(),
            FrontendError::Files(e) => e.status_code(),
            FrontendError::Query(e) => df_status(e),
            FrontendError::Plain { code, .. } => *code,
        }
    }
}
