//! Shared vocabulary of every Strata crate: the closed [`StatusCode`] set that errors map to,
//! the [`ErrorExt`] trait, and the session state a connection carries between statements.

mod session;
mod status_code;
pub mod types;

pub use session::{SERVER_VERSION, Session, SessionVars, Warning};
pub use status_code::StatusCode;

/// An error that knows which [`StatusCode`] it maps to.
///
/// Every crate's error enum implements this; the MySQL protocol layer turns the status code into
/// an error number and SQLSTATE in exactly one place.
pub trait ErrorExt: std::error::Error + Send + Sync + 'static {
    /// The status code this error maps to.
    fn status_code(&self) -> StatusCode;
}

/// A boxed error that crosses a crate boundary.
pub type BoxedError = Box<dyn ErrorExt>;

/// A plain error carrying a status code and a user-facing message.
///
/// Used where no richer, action-specific variant exists (for example when an upper layer wraps
/// a message it built itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainError {
    /// The status code.
    pub code: StatusCode,
    /// The user-facing message.
    pub message: String,
}

impl PlainError {
    /// Creates a plain error.
    pub fn new(code: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PlainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlainError {}

impl ErrorExt for PlainError {
    fn status_code(&self) -> StatusCode {
        self.code
    }
}

impl From<PlainError> for BoxedError {
    fn from(e: PlainError) -> Self {
        Box::new(e)
    }
}

/// Returns the value of the first environment variable in `names` that is set and not empty.
pub fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}
