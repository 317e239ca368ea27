//! The metadata store: databases, tables, segments, labels and load jobs, frontend config.
//!
//! One SQLite database (WAL, `synchronous=FULL`) under the data directory. Every change that must
//! be atomic — a load's segments, its label and counters, a truncate's segment removal — is one
//! SQLite transaction, so a crash leaves either the old or the new state.

mod auth;
mod error;
mod jobs;
mod loads;
pub mod model;
mod pipes;
mod schema;
mod tables;
mod views;

use std::path::Path;
use std::sync::Mutex;
use strata_common::fault::Faults;

use rusqlite::{Connection, OptionalExtension, params};

pub use auth::{BUILTIN_ROLES, GrantRow, Grantee, UserAccount, host_matches};
pub use error::{CatalogError, Result};
pub use jobs::{QueuedJob, StagedStep, StepCounters};
pub use loads::{CommitRequest, CreateTableRequest};
pub use model::*;
pub use pipes::{ListedPipeFile, PipeBatch, PipeCounts, PipeFile, PipeMeta};
pub use schema::SCHEMA_VERSION;
pub use views::{ViewDef, ViewMeta, ViewWrite};

/// The catalog handle; cheap to share behind an `Arc`.
pub struct Catalog {
    conn: Mutex<Connection>,
    /// The server's fault points (`strata_common::fault`).
    faults: Faults,
}

/// Current local time in the `YYYY-MM-DD HH:MM:SS` form StarRocks prints.
pub fn now_string() -> String {
    chrono::Local::now().format(DATETIME_FORMAT).to_string()
}

const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats unix seconds (UTC) as `YYYY-MM-DD HH:MM:SS`.
pub fn format_unix(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format(DATETIME_FORMAT).to_string())
        .unwrap_or_default()
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| CatalogError::Open {
            path: path.display().to_string(),
            source: e,
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let mut conn = conn;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            faults: Faults::default(),
        })
    }

    /// Runs `f` with the connection locked.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Runs `f` with the connection locked and its commits not waiting for the disk
    /// (`synchronous = NORMAL`: in WAL mode still atomic, but a crash may lose the last of them).
    /// Only for writes a crash may lose without harm: a job's move to LOADING (it resumes
    /// from QUEUEING just the same), a pipe batch's files marked LOADING (start-up puts them
    /// back to UNLOADED anyway).
    fn with_relaxed<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        self.with(|c| {
            c.pragma_update(None, "synchronous", "NORMAL")?;
            let res = f(c);
            c.pragma_update(None, "synchronous", "FULL")?;
            res
        })
    }

    /// The catalog with the server's fault points.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Hits a fault point.
    pub fn hit(&self, point: &'static str) -> Result<()> {
        self.faults
            .hit(point)
            .map_err(|e| CatalogError::Injected(e.to_string()))
    }

    /// Commits `tx` between fault points `before` and `after`. An error before COMMIT has
    /// rolled everything back. An error from COMMIT, or after it, leaves the outcome unknown:
    /// `landed`, run on the same connection, then says whether the writes are there (`Ok`)
    /// or not ([`CatalogError::CommitFailed`]); if it cannot be asked either, the error is
    /// [`CatalogError::CommitUnknown`] and the caller must keep what the writes reference.
    pub(crate) fn commit<T>(
        &self,
        c: &mut Connection,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
        (before, after): (&'static str, &'static str),
        landed: impl FnOnce(&Connection) -> rusqlite::Result<bool>,
    ) -> Result<T> {
        let tx = c.transaction()?;
        let out = write(&tx)?;
        // Dropping `tx` on this error rolls every write back.
        self.hit(before)?;
        let why = match tx.commit() {
            Ok(()) => match self.faults.hit(after) {
                Ok(()) => return Ok(out),
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        };
        match landed(c) {
            Ok(true) => Ok(out),
            Ok(false) => Err(CatalogError::CommitFailed(why)),
            Err(_) => Err(CatalogError::CommitUnknown(why)),
        }
    }

    /// SQLite's `PRAGMA integrity_check`: `ok`, or what is damaged.
    pub fn integrity_check(&self) -> Result<String> {
        self.with(|c| {
            let rows: Vec<String> = c
                .prepare("PRAGMA integrity_check")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows.join("; "))
        })
    }

    /// Takes the next value of the named sequence (job ids, transaction ids, table ids).
    pub fn next_id(&self, sequence: &str) -> Result<i64> {
        self.with(|c| next_id_in(c, sequence))
    }

    /// A frontend config value set with ADMIN SET FRONTEND CONFIG.
    pub fn config(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT value FROM config WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    /// Stores a frontend config value.
    pub fn set_config(&self, key: &str, value: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO config(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    /// All stored config values.
    pub fn configs(&self) -> Result<Vec<(String, String)>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT key, value FROM config ORDER BY key")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

pub(crate) fn next_id_in(c: &Connection, sequence: &str) -> Result<i64> {
    Ok(c.query_row(
        "INSERT INTO sequences(name, value) VALUES (?1, 10001)
         ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
        [sequence],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests;
