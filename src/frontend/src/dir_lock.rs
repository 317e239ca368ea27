//! One server per data directory: an exclusive lock taken before anything reads or changes it.
//!
//! Start-up repairs what a crash left (cancels `LOADING` jobs, deletes files no segment row
//! references). Run by a second server while the first is alive, that repair would cancel the
//! first server's running loads and delete the segments they were about to commit. So the
//! very first thing `Frontend::open` does is take `<data dir>/LOCK` with `flock(LOCK_EX)`,
//! without waiting: the kernel releases it when the holder exits, even on `kill -9`, so a stale
//! lock cannot outlive its process. The holder writes its pid into the file so that a refused
//! server can name it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use strata_common::StatusCode;

use crate::error::{FrontendError, Result};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "LOCK";

/// The held lock on a data directory; released by [`DirLock::release`] or when dropped.
pub(crate) struct DirLock {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl DirLock {
    /// Takes the lock on `dir` or fails at once, naming the directory and the process that holds
    /// it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let io_err = |what: &str, e: std::io::Error| {
            FrontendError::new(
                StatusCode::Internal,
                format!("cannot {what} {}: {e}", path.display()),
            )
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err("open the lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "another process".to_string(),
                    pid => format!("process {pid}"),
                };
                return Err(FrontendError::new(
                    StatusCode::Internal,
                    format!(
                        "the data directory {} is in use by {holder} (it holds {}); \
                         one server per data directory: stop that server or choose another \
                         --data-dir",
                        dir.display(),
                        path.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", e)),
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{pid}"))
            .and_then(|()| file.flush())
            .map_err(|e| io_err("write the lock file", e))?;
        Ok(Self {
            path,
            file: Mutex::new(Some(file)),
        })
    }

    /// Releases the lock (a server that has shut down, so that another may open the directory
    /// in the same process, as restart tests do).
    pub(crate) fn release(&self) {
        let file = self.file.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(file) = file {
            let _ = file.set_len(0);
            let _ = file.unlock();
            tracing::debug!(path = %self.path.display(), "data directory lock released");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_named_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path())
            .err()
            .expect("second lock refused");
        let msg = err.to_string();
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        assert!(
            msg.contains(&format!("process {}", std::process::id())),
            "{msg}"
        );
        first.release();
        let again = DirLock::acquire(dir.path()).unwrap();
        drop(again);
        DirLock::acquire(dir.path()).unwrap();
    }
}
