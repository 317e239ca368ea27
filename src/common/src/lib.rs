//! Shared vocabulary of every Strata crate: the closed [`StatusCode`] set that errors map to,
//! the [`ErrorExt`] trait, and the session state a connection carries between statements.

pub mod fault;
pub mod fuzz;
mod param;
mod session;
mod status_code;
pub mod types;

pub use param::Param;
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

/// Returns the value of the first environment variable in `names` that is set and not empty.
pub fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}
