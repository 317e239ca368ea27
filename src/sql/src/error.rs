//! Parse errors.

use strata_common::{ErrorExt, StatusCode};

/// Why a statement could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not valid SQL; the message carries the line and column.
    #[error("Getting syntax error: {message}")]
    Syntax {
        /// What was expected and found, with position.
        message: String,
    },
    /// The statement or clause is StarRocks SQL that Strata does not support yet.
    #[error("{what} is not supported yet")]
    Unsupported {
        /// The construct, e.g. `PRIMARY KEY tables`.
        what: String,
    },
    /// The statement passes a limit on its size or depth (see `limits`); StarRocks reports
    /// these as syntax errors.
    #[error("Getting syntax error. Detail message: {0}.")]
    TooLarge(String),
    /// The statement parses but an argument is invalid (e.g. VARCHAR(0)).
    #[error("{message}")]
    Invalid {
        /// The description.
        message: String,
    },
}

impl ParseError {
    pub(crate) fn syntax(message: impl Into<String>) -> Self {
        ParseError::Syntax {
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(what: impl Into<String>) -> Self {
        ParseError::Unsupported { what: what.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ParseError::Invalid {
            message: message.into(),
        }
    }
}

impl From<sqlparser::parser::ParserError> for ParseError {
    fn from(e: sqlparser::parser::ParserError) -> Self {
        let message = match e {
            sqlparser::parser::ParserError::TokenizerError(m)
            | sqlparser::parser::ParserError::ParserError(m) => m,
            sqlparser::parser::ParserError::RecursionLimitExceeded => {
                "the statement nests parentheses or subqueries more than 50 levels deep".to_string()
            }
        };
        ParseError::Syntax { message }
    }
}

impl From<sqlparser::tokenizer::TokenizerError> for ParseError {
    fn from(e: sqlparser::tokenizer::TokenizerError) -> Self {
        ParseError::Syntax {
            message: e.to_string(),
        }
    }
}

impl ErrorExt for ParseError {
    fn status_code(&self) -> StatusCode {
        match self {
            ParseError::Syntax { .. } | ParseError::TooLarge(_) => StatusCode::InvalidSyntax,
            ParseError::Unsupported { .. } => StatusCode::Unsupported,
            ParseError::Invalid { .. } => StatusCode::InvalidArguments,
        }
    }
}
