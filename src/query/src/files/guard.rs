//! A reader that panics on a damaged file fails that file, by name.
//!
//! The format libraries (parquet and arrow-ipc for a Parquet footer's embedded Arrow schema,
//! orc-rust for ORC streams) panic on some corrupt inputs instead of returning an error: a
//! bit width of 4,194,368, an index past a stream's end. The statement runtime would catch
//! the panic, but only as "an internal error" that names no file. Every file's reading and
//! inference therefore runs under [`guarded`], which turns a panic into
//! `FilesError::InvalidFile` naming the file, the format and what the library said.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use super::FilesError;

/// Runs `work` on file `display`; a panic inside it becomes an error naming the file.
pub(crate) async fn guarded<T>(
    display: &str,
    format: &str,
    work: impl Future<Output = Result<T, FilesError>>,
) -> Result<T, FilesError> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(res) => res,
        Err(panic) => Err(crashed(display, format, panic.as_ref())),
    }
}

/// The error for a reader that panicked on file `display`.
pub(crate) fn crashed(display: &str, format: &str, panic: &(dyn Any + Send)) -> FilesError {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    FilesError::InvalidFile(format!(
        "File {display} cannot be read as {format}: the {format} reader failed on it ({}); \
         the file is damaged or not {format}",
        super::bounded(&what)
    ))
}
