//! Pipes and their file ledger.
//!
//! A pipe's files are keyed by (pipe, file name, version): a file listed again unchanged is
//! ignored, an overwritten one (new ETag) is a new row and is loaded again. A batch's files go
//! UNLOADED → LOADING (with the batch's label) → FINISHED in the transaction that commits the
//! batch's rows ([`crate::CommitRequest::pipe_batch`]): that transition requires the rows to be
//! LOADING under that label, so a second commit of the same file version cannot happen.

use rusqlite::{OptionalExtension, Transaction, params};
use strata_common::fault;

use crate::{Catalog, CatalogError, Result};

/// A pipe.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipeMeta {
    /// Id.
    pub id: i64,
    /// Database.
    pub db: String,
    /// Name.
    pub name: String,
    /// RUNNING, SUSPEND, FINISHED, ERROR.
    pub state: String,
    /// Target table (in `db`).
    pub table_name: String,
    /// The INSERT each batch runs (with credentials: never shown as is).
    pub sql: String,
    /// PROPERTIES as given (keys lower-case).
    pub properties: Vec<(String, String)>,
    /// Creation time.
    pub created_time: String,
    /// Unix seconds of the last listing that ended.
    pub last_poll: i64,
    /// AUTO_INGEST = FALSE: the one listing is done.
    pub listed_once: bool,
    /// Failed batch runs since the last RESUME.
    pub failures: i64,
    /// The last error and when it happened.
    pub last_error: Option<(String, String)>,
    /// Files and bytes loaded.
    pub loaded_files: u64,
    /// Bytes loaded.
    pub loaded_bytes: u64,
    /// When a batch last committed.
    pub last_loaded_time: Option<String>,
    /// Who created it (batches run as this user).
    pub owner: String,
    /// The INSERT with its credentials, sealed with the server's secrets key (`sql` then has
    /// them masked); `None`: `sql` has no secrets.
    pub sealed_sql: Option<Vec<u8>>,
}

/// A file a listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPipeFile {
    /// Full name as listed (`s3://bucket/key`).
    pub name: String,
    /// ETag (or modification time where the store has none).
    pub version: String,
    /// Bytes.
    pub size: u64,
    /// Modification time, `YYYY-MM-DD HH:MM:SS`.
    pub last_modified: Option<String>,
}

/// One row of a pipe's ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipeFile {
    /// Pipe.
    pub pipe_id: i64,
    /// Full name.
    pub name: String,
    /// Version (ETag).
    pub version: String,
    /// Bytes.
    pub size: u64,
    /// Modification time.
    pub last_modified: Option<String>,
    /// UNLOADED, LOADING, FINISHED, ERROR, SKIPPED.
    pub state: String,
    /// First seen.
    pub staged_time: Option<String>,
    /// Last batch start.
    pub start_load: Option<String>,
    /// Committed.
    pub finish_load: Option<String>,
    /// Why it is ERROR.
    pub error_msg: Option<String>,
    /// The label of the batch that loads (or loaded) it.
    pub insert_label: Option<String>,
}

/// A batch to mark FINISHED in the commit of its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeBatch {
    /// Pipe.
    pub pipe_id: i64,
    /// (name, version) of each file.
    pub files: Vec<(String, String)>,
    /// Their bytes.
    pub bytes: u64,
    /// The batch's label.
    pub label: String,
}

/// A pipe's ledger in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipeCounts {
    /// Files waiting.
    pub unloaded: u64,
    /// Their bytes.
    pub unloaded_bytes: u64,
    /// Files in the running batch.
    pub loading: u64,
    /// Files loaded.
    pub finished: u64,
    /// Files in ERROR.
    pub error: u64,
    /// Empty files skipped.
    pub skipped: u64,
    /// First-seen time of the oldest waiting file.
    pub oldest_unloaded: Option<String>,
    /// Its age in seconds (0 when nothing waits).
    pub oldest_unloaded_age_s: i64,
}

const PIPE_COLUMNS: &str = "id, db_name, name, state, table_name, sql, properties, created_time,
    last_poll, listed_once, failures, last_error, last_error_time, loaded_files, loaded_bytes,
    last_loaded_time, owner, sealed_sql";

fn pipe_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PipeMeta> {
    let props: String = r.get(6)?;
    let err: Option<String> = r.get(11)?;
    let err_time: Option<String> = r.get(12)?;
    Ok(PipeMeta {
        id: r.get(0)?,
        db: r.get(1)?,
        name: r.get(2)?,
        state: r.get(3)?,
        table_name: r.get(4)?,
        sql: r.get(5)?,
        properties: serde_json::from_str(&props).unwrap_or_default(),
        created_time: r.get(7)?,
        last_poll: r.get(8)?,
        listed_once: r.get::<_, i64>(9)? != 0,
        failures: r.get(10)?,
        last_error: err.map(|e| (e, err_time.unwrap_or_default())),
        loaded_files: r.get::<_, i64>(13)? as u64,
        loaded_bytes: r.get::<_, i64>(14)? as u64,
        last_loaded_time: r.get(15)?,
        owner: r.get(16)?,
        sealed_sql: r.get(17)?,
    })
}

const FILE_COLUMNS: &str = "pipe_id, file_name, file_version, file_size, last_modified, state,
    staged_time, start_load, finish_load, error_msg, insert_label";

fn file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PipeFile> {
    Ok(PipeFile {
        pipe_id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        last_modified: r.get(4)?,
        state: r.get(5)?,
        staged_time: r.get(6)?,
        start_load: r.get(7)?,
        finish_load: r.get(8)?,
        error_msg: r.get(9)?,
        insert_label: r.get(10)?,
    })
}

pub(crate) fn delete_pipe(tx: &Transaction<'_>, id: i64) -> Result<()> {
    tx.execute("DELETE FROM pipe_files WHERE pipe_id = ?1", [id])?;
    tx.execute("DELETE FROM pipes WHERE id = ?1", [id])?;
    Ok(())
}

/// Marks a committed batch's files FINISHED and counts them in their pipe; part of the
/// batch's commit transaction. Fails unless every file is LOADING under the batch's label.
pub(crate) fn finish_batch(tx: &Transaction<'_>, b: &PipeBatch, now: &str) -> Result<()> {
    let mut st = tx.prepare(
        "UPDATE pipe_files SET state = 'FINISHED', finish_load = ?5, error_msg = NULL
         WHERE pipe_id = ?1 AND file_name = ?2 AND file_version = ?3 AND state = 'LOADING'
            AND insert_label = ?4",
    )?;
    for (name, version) in &b.files {
        if st.execute(params![b.pipe_id, name, version, b.label, now])? != 1 {
            return Err(CatalogError::PipeLedger(format!(
                "file {name} (version {version}) is not loading under {}; the batch is not committed",
                b.label
            )));
        }
    }
    tx.execute(
        "UPDATE pipes SET loaded_files = loaded_files + ?2, loaded_bytes = loaded_bytes + ?3,
            last_loaded_time = ?4, failures = 0
         WHERE id = ?1",
        params![b.pipe_id, b.files.len() as i64, b.bytes as i64, now],
    )?;
    Ok(())
}

impl Catalog {
    /// Creates a pipe RUNNING. With `replace`, a pipe of that name is dropped first, file
    /// history and all, in the same transaction. Fails with [`CatalogError::PipeExists`].
    pub fn create_pipe(&self, p: &PipeMeta, replace: bool) -> Result<i64> {
        self.with(|c| {
            let tx = c.transaction()?;
            let old: Option<i64> = tx
                .query_row(
                    "SELECT id FROM pipes WHERE db_name = ?1 AND name = ?2",
                    params![p.db, p.name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = old {
                if !replace {
                    return Err(CatalogError::PipeExists(p.name.clone()));
                }
                delete_pipe(&tx, id)?;
            }
            let id = crate::next_id_in(&tx, "pipe")?;
            tx.execute(
                "INSERT INTO pipes(id, db_name, name, state, table_name, sql, properties,
                    created_time, owner, sealed_sql)
                 VALUES (?1, ?2, ?3, 'RUNNING', ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    p.db,
                    p.name,
                    p.table_name,
                    p.sql,
                    serde_json::to_string(&p.properties).unwrap_or_default(),
                    p.created_time,
                    p.owner,
                    p.sealed_sql
                ],
            )?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// Drops a pipe and its ledger; false when there is none.
    pub fn drop_pipe(&self, db: &str, name: &str) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM pipes WHERE db_name = ?1 AND name = ?2",
                    params![db, name],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else { return Ok(false) };
            delete_pipe(&tx, id)?;
            crate::auth::drop_object_grants(&tx, "PIPE", db, name)?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// A pipe by database and name.
    pub fn get_pipe(&self, db: &str, name: &str) -> Result<Option<PipeMeta>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {PIPE_COLUMNS} FROM pipes WHERE db_name = ?1 AND name = ?2"),
                params![db, name],
                pipe_row,
            )
            .optional()?)
        })
    }

    /// A pipe by id.
    pub fn pipe(&self, id: i64) -> Result<Option<PipeMeta>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {PIPE_COLUMNS} FROM pipes WHERE id = ?1"),
                [id],
                pipe_row,
            )
            .optional()?)
        })
    }

    /// Every pipe, by id.
    pub fn list_pipes(&self) -> Result<Vec<PipeMeta>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("SELECT {PIPE_COLUMNS} FROM pipes ORDER BY id"))?;
            let rows = st.query_map([], pipe_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Sets a pipe's state; `error` also records LAST_ERROR.
    pub fn set_pipe_state(&self, id: i64, state: &str, error: Option<(&str, &str)>) -> Result<()> {
        self.with(|c| {
            match error {
                Some((msg, at)) => c.execute(
                    "UPDATE pipes SET state = ?2, last_error = ?3, last_error_time = ?4 WHERE id = ?1",
                    params![id, state, msg, at],
                )?,
                None => c.execute(
                    "UPDATE pipes SET state = ?2 WHERE id = ?1",
                    params![id, state],
                )?,
            };
            Ok(())
        })
    }

    /// RESUME: a SUSPEND or ERROR pipe runs again with its failure count reset. False when
    /// it was neither.
    pub fn resume_pipe(&self, id: i64) -> Result<bool> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE pipes SET state = 'RUNNING', failures = 0
                 WHERE id = ?1 AND state IN ('SUSPEND', 'ERROR')",
                [id],
            )? == 1)
        })
    }

    /// Records an error of a pipe (LAST_ERROR) and counts a failed run; returns the count.
    pub fn pipe_failed(&self, id: i64, msg: &str, at: &str, count: bool) -> Result<i64> {
        self.with(|c| {
            c.execute(
                "UPDATE pipes SET last_error = ?2, last_error_time = ?3,
                    failures = failures + ?4 WHERE id = ?1",
                params![id, msg, at, i64::from(count)],
            )?;
            Ok(
                c.query_row("SELECT failures FROM pipes WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?,
            )
        })
    }

    /// Replaces a pipe's properties.
    pub fn set_pipe_properties(&self, id: i64, props: &[(String, String)]) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE pipes SET properties = ?2 WHERE id = ?1",
                params![id, serde_json::to_string(props).unwrap_or_default()],
            )?;
            Ok(())
        })
    }

    /// Records that a listing of the pipe ended at `unix` (and, with AUTO_INGEST = FALSE,
    /// that it was the one listing).
    pub fn pipe_polled(&self, id: i64, unix: i64, once: bool) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE pipes SET last_poll = ?2, listed_once = max(listed_once, ?3) WHERE id = ?1",
                params![id, unix, i64::from(once)],
            )?;
            Ok(())
        })
    }

    /// Adds the files of a listing page that the ledger does not have (same name and
    /// version); empty files are SKIPPED. Returns how many were new.
    pub fn record_listed(
        &self,
        pipe_id: i64,
        files: &[ListedPipeFile],
        now: &str,
    ) -> Result<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut n = 0;
            {
                let mut st = tx.prepare(
                    "INSERT OR IGNORE INTO pipe_files(pipe_id, file_name, file_version,
                        file_size, last_modified, state, staged_time)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for f in files {
                    let state = if f.size == 0 { "SKIPPED" } else { "UNLOADED" };
                    n += st.execute(params![
                        pipe_id,
                        f.name,
                        f.version,
                        f.size as i64,
                        f.last_modified,
                        state,
                        now
                    ])?;
                }
            }
            self.hit(fault::LEDGER_LISTED)?;
            tx.commit()?;
            Ok(n)
        })
    }

    /// The version the ledger holds for a file of this name, size and modification time (for
    /// stores whose listings carry no ETag).
    pub fn pipe_file_version(
        &self,
        pipe_id: i64,
        name: &str,
        size: u64,
        last_modified: Option<&str>,
    ) -> Result<Option<String>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT file_version FROM pipe_files WHERE pipe_id = ?1 AND file_name = ?2
                    AND file_size = ?3 AND last_modified IS ?4
                 ORDER BY rowid DESC LIMIT 1",
                params![pipe_id, name, size as i64, last_modified],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// The next batch: UNLOADED files by name, at most `max_files`, stopping after the file
    /// that brings the total to `max_bytes` or more.
    pub fn next_batch(
        &self,
        pipe_id: i64,
        max_files: usize,
        max_bytes: u64,
    ) -> Result<Vec<PipeFile>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {FILE_COLUMNS} FROM pipe_files WHERE pipe_id = ?1 AND state = 'UNLOADED'
                 ORDER BY file_name, file_version LIMIT ?2"
            ))?;
            let rows = st.query_map(params![pipe_id, max_files as i64], file_row)?;
            let mut out = Vec::new();
            let mut bytes = 0u64;
            for r in rows {
                let f = r?;
                bytes += f.size;
                out.push(f);
                if bytes >= max_bytes {
                    break;
                }
            }
            Ok(out)
        })
    }

    /// Marks files LOADING under `label` (a batch starts).
    pub fn start_batch(
        &self,
        pipe_id: i64,
        files: &[PipeFile],
        label: &str,
        now: &str,
    ) -> Result<()> {
        self.hit(fault::LEDGER_BATCH)?;
        self.set_files(pipe_id, files, "LOADING", Some(label), None, now)
    }

    /// Puts files back to UNLOADED (a batch to be split, or interrupted).
    pub fn unload_files(&self, pipe_id: i64, files: &[PipeFile]) -> Result<()> {
        self.set_files(pipe_id, files, "UNLOADED", None, None, "")
    }

    /// Marks files ERROR with `msg`.
    pub fn fail_files(&self, pipe_id: i64, files: &[PipeFile], msg: &str) -> Result<()> {
        self.set_files(pipe_id, files, "ERROR", None, Some(msg), "")
    }

    fn set_files(
        &self,
        pipe_id: i64,
        files: &[PipeFile],
        state: &str,
        label: Option<&str>,
        error: Option<&str>,
        now: &str,
    ) -> Result<()> {
        let write = |c: &mut rusqlite::Connection| -> Result<()> {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare(
                    "UPDATE pipe_files SET state = ?4,
                        insert_label = coalesce(?5, insert_label),
                        error_msg = ?6,
                        start_load = CASE WHEN ?4 = 'LOADING' THEN ?7 ELSE start_load END
                     WHERE pipe_id = ?1 AND file_name = ?2 AND file_version = ?3
                        AND state <> 'FINISHED'",
                )?;
                for f in files {
                    st.execute(params![
                        pipe_id, f.name, f.version, state, label, error, now
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        };
        // LOADING and UNLOADED both mean "not committed": a crash that loses this write
        // changes nothing (start-up puts LOADING back to UNLOADED). ERROR must last.
        if state == "ERROR" {
            self.with(write)
        } else {
            self.with_relaxed(write)
        }
    }

    /// RETRY ALL (`file` None) or RETRY FILE: ERROR files become UNLOADED. Returns how many.
    pub fn retry_pipe_files(&self, pipe_id: i64, file: Option<&str>) -> Result<usize> {
        self.with(|c| {
            Ok(match file {
                None => c.execute(
                    "UPDATE pipe_files SET state = 'UNLOADED', error_msg = NULL
                     WHERE pipe_id = ?1 AND state = 'ERROR'",
                    [pipe_id],
                )?,
                Some(f) => c.execute(
                    "UPDATE pipe_files SET state = 'UNLOADED', error_msg = NULL
                     WHERE pipe_id = ?1 AND state = 'ERROR' AND file_name = ?2",
                    params![pipe_id, f],
                )?,
            })
        })
    }

    /// After a restart: files left LOADING whose batch committed are FINISHED already (the
    /// commit marks them); the others load again. Returns how many were put back.
    pub fn recover_pipe_files(&self) -> Result<usize> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE pipe_files SET state = 'UNLOADED' WHERE state = 'LOADING'",
                [],
            )?)
        })
    }

    /// A pipe's ledger in numbers.
    pub fn pipe_counts(&self, pipe_id: i64) -> Result<PipeCounts> {
        self.with(|c| {
            let mut counts = PipeCounts::default();
            let mut st = c.prepare(
                "SELECT state, count(*), sum(file_size), min(staged_time),
                    max(0, unixepoch('now', 'localtime') - unixepoch(min(staged_time)))
                 FROM pipe_files WHERE pipe_id = ?1 GROUP BY state",
            )?;
            let rows = st.query_map([pipe_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, Option<i64>>(2)?.unwrap_or(0) as u64,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                ))
            })?;
            for row in rows {
                let (state, n, bytes, oldest, age) = row?;
                match state.as_str() {
                    "UNLOADED" => {
                        counts.unloaded = n;
                        counts.unloaded_bytes = bytes;
                        counts.oldest_unloaded = oldest;
                        counts.oldest_unloaded_age_s = age;
                    }
                    "LOADING" => counts.loading = n,
                    "FINISHED" => counts.finished = n,
                    "ERROR" => counts.error = n,
                    "SKIPPED" => counts.skipped = n,
                    _ => {}
                }
            }
            Ok(counts)
        })
    }

    /// Every pipe's ledger rows, by pipe then file name.
    pub fn list_pipe_files(&self) -> Result<Vec<PipeFile>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {FILE_COLUMNS} FROM pipe_files ORDER BY pipe_id, file_name, file_version"
            ))?;
            let rows = st.query_map([], file_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
