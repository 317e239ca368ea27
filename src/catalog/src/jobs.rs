//! Broker Load jobs: submission, the queue, staged progress, the final commit or cancel.
//!
//! A job is submitted PENDING (taking its label), waits QUEUEING for a slot, runs LOADING,
//! and ends FINISHED or CANCELLED. While it runs it records each finished group of files as a
//! *step*: the files, their counters and the segments written for them (`load_staged`, not
//! visible). [`Catalog::commit_job`] makes every staged segment visible and the job FINISHED in
//! one transaction; [`Catalog::cancel_job`] retires them to the GC list instead.

use rusqlite::{OptionalExtension, Transaction, params};
use strata_common::fault;

use crate::loads::{LOAD_COLUMNS, finish_job, insert_errors, job_finished, load_record};
use crate::tables::{insert_segments, table_exists_by_id};
use crate::{Catalog, CatalogError, LoadError, LoadRecord, NewSegment, Result};

/// Row counters of a step (or a whole job).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepCounters {
    /// Rows read.
    pub scan_rows: u64,
    /// Bytes read.
    pub scan_bytes: u64,
    /// Rows rejected.
    pub filtered_rows: u64,
    /// Rows dropped by WHERE.
    pub unselected_rows: u64,
    /// Rows written.
    pub sink_rows: u64,
}

impl StepCounters {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &StepCounters) {
        self.scan_rows += o.scan_rows;
        self.scan_bytes += o.scan_bytes;
        self.filtered_rows += o.filtered_rows;
        self.unselected_rows += o.unselected_rows;
        self.sink_rows += o.sink_rows;
    }
}

/// A finished group of files of one clause, with the segments written for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagedStep {
    /// Step number within the job.
    pub step: i64,
    /// The `DATA INFILE` clause (0-based).
    pub clause: usize,
    /// The files it read, as listed.
    pub files: Vec<String>,
    /// Their total size.
    pub file_bytes: u64,
    /// Its counters.
    pub counters: StepCounters,
    /// Segments written, by target table id.
    pub segments: Vec<(i64, NewSegment)>,
}

/// A job the scheduler may run: not ended, by queue order.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedJob {
    /// The job's record.
    pub record: LoadRecord,
}

/// Queue rank of a priority name (higher runs first).
pub fn priority_rank(p: &str) -> u8 {
    match p.to_ascii_uppercase().as_str() {
        "HIGHEST" => 4,
        "HIGH" => 3,
        "LOW" => 1,
        "LOWEST" => 0,
        _ => 2,
    }
}

impl Catalog {
    /// Registers a Broker Load job in state PENDING and takes its label.
    pub fn submit_job(&self, record: &LoadRecord) -> Result<i64> {
        self.register_job(record, "PENDING")
    }

    /// One job by id.
    pub fn load_job(&self, job_id: i64) -> Result<Option<LoadRecord>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {LOAD_COLUMNS} FROM loads WHERE job_id = ?1"),
                [job_id],
                load_record,
            )
            .optional()?)
        })
    }

    /// The newest job of `db` with `label`.
    pub fn find_job(&self, db: &str, label: &str) -> Result<Option<LoadRecord>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {LOAD_COLUMNS} FROM loads WHERE db_name = ?1 AND label = ?2
                     ORDER BY job_id DESC LIMIT 1"
                ),
                params![db, label],
                load_record,
            )
            .optional()?)
        })
    }

    /// Broker jobs that have not ended, in queue order: priority, then age.
    pub fn runnable_jobs(&self) -> Result<Vec<QueuedJob>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {LOAD_COLUMNS} FROM loads
                 WHERE type = 'BROKER' AND state IN ('PENDING', 'QUEUEING', 'LOADING')
                 ORDER BY job_id"
            ))?;
            let rows = st.query_map([], load_record)?;
            let mut jobs: Vec<QueuedJob> = rows
                .map(|r| r.map(|record| QueuedJob { record }))
                .collect::<rusqlite::Result<_>>()?;
            // Stable: equal priorities keep job (submission) order.
            jobs.sort_by_key(|j| std::cmp::Reverse(priority_rank(&j.record.priority)));
            Ok(jobs)
        })
    }

    /// Moves a job that has not ended to `state` (QUEUEING, LOADING), setting its load start
    /// time when it starts loading. False when the job has ended meanwhile.
    pub fn set_job_state(&self, job_id: i64, state: &str, now: &str) -> Result<bool> {
        // Lost in a crash, the job is still unended and resumes: no need to wait for the disk.
        self.with_relaxed(|c| {
            let n = c.execute(
                "UPDATE loads SET state = ?2,
                    load_start_time = CASE WHEN ?2 = 'LOADING'
                        THEN coalesce(load_start_time, ?3) ELSE load_start_time END
                 WHERE job_id = ?1 AND state IN ('PENDING', 'QUEUEING', 'LOADING')",
                params![job_id, state, now],
            )?;
            Ok(n == 1)
        })
    }

    /// Changes the priority of a job that has not ended. False when it has.
    pub fn set_job_priority(&self, job_id: i64, priority: &str) -> Result<bool> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE loads SET priority = ?2
                 WHERE job_id = ?1 AND state IN ('PENDING', 'QUEUEING', 'LOADING')",
                params![job_id, priority],
            )?;
            Ok(n == 1)
        })
    }

    /// Records a finished step of a LOADING job: its files, counters, staged segments and
    /// rejected rows, in one transaction. Fails (writing nothing) when the job is no longer
    /// LOADING, e.g. it was cancelled meanwhile: the caller then deletes the segments.
    pub fn stage_step(&self, job_id: i64, step: &StagedStep, errors: &[LoadError]) -> Result<()> {
        let write = |tx: &Transaction<'_>| {
            require_loading(tx, job_id, &job_id.to_string())?;
            let files = serde_json::to_string(&step.files).unwrap_or_default();
            let k = &step.counters;
            tx.execute(
                "INSERT INTO load_steps(job_id, step, clause, files, file_bytes, scan_rows,
                    scan_bytes, filtered_rows, unselected_rows, sink_rows)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    job_id,
                    step.step,
                    step.clause as i64,
                    files,
                    step.file_bytes as i64,
                    k.scan_rows as i64,
                    k.scan_bytes as i64,
                    k.filtered_rows as i64,
                    k.unselected_rows as i64,
                    k.sink_rows as i64
                ],
            )?;
            let mut st = tx.prepare(
                "INSERT INTO load_staged(job_id, step, table_id, bucket, path, rows, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (table_id, s) in &step.segments {
                st.execute(params![
                    job_id,
                    step.step,
                    table_id,
                    s.bucket,
                    s.path,
                    s.rows as i64,
                    s.bytes as i64
                ])?;
            }
            drop(st);
            insert_errors(tx, job_id, errors)
        };
        // An unconfirmed COMMIT landed if the step is listed.
        let landed = |c: &rusqlite::Connection| {
            c.query_row(
                "SELECT count(*) FROM load_steps WHERE job_id = ?1 AND step = ?2",
                params![job_id, step.step],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
        };
        let points = (fault::STAGE_BEFORE, fault::STAGE_AFTER);
        self.with(|c| self.commit(c, write, points, landed))
    }

    /// The steps a job has finished, in order, with their staged segments.
    pub fn staged_steps(&self, job_id: i64) -> Result<Vec<StagedStep>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT step, clause, files, file_bytes, scan_rows, scan_bytes, filtered_rows,
                    unselected_rows, sink_rows
                 FROM load_steps WHERE job_id = ?1 ORDER BY step",
            )?;
            let mut steps: Vec<StagedStep> = st
                .query_map([job_id], |r| {
                    let files: String = r.get(2)?;
                    Ok(StagedStep {
                        step: r.get(0)?,
                        clause: r.get::<_, i64>(1)? as usize,
                        files: serde_json::from_str(&files).unwrap_or_default(),
                        file_bytes: r.get::<_, i64>(3)? as u64,
                        counters: StepCounters {
                            scan_rows: r.get::<_, i64>(4)? as u64,
                            scan_bytes: r.get::<_, i64>(5)? as u64,
                            filtered_rows: r.get::<_, i64>(6)? as u64,
                            unselected_rows: r.get::<_, i64>(7)? as u64,
                            sink_rows: r.get::<_, i64>(8)? as u64,
                        },
                        segments: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut st = c.prepare(
                "SELECT step, table_id, bucket, path, rows, bytes FROM load_staged
                 WHERE job_id = ?1 ORDER BY rowid",
            )?;
            let segs = st.query_map([job_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    NewSegment {
                        bucket: r.get(2)?,
                        path: r.get(3)?,
                        rows: r.get::<_, i64>(4)? as u64,
                        bytes: r.get::<_, i64>(5)? as u64,
                    },
                ))
            })?;
            for seg in segs {
                let (step, table_id, s) = seg?;
                if let Some(st) = steps.iter_mut().find(|x| x.step == step) {
                    st.segments.push((table_id, s));
                }
            }
            Ok(steps)
        })
    }

    /// Makes a job visible: every staged segment and those of its `last` step (not staged)
    /// join their tables, the job becomes FINISHED with `record`'s counters, and the rejected
    /// rows are kept — one transaction. Fails, changing nothing, when a target table was
    /// dropped or the job is no longer LOADING. Returns the transaction id.
    pub fn commit_job(
        &self,
        job_id: i64,
        tables: &[(i64, String)],
        record: &LoadRecord,
        last: Option<&StagedStep>,
        errors: &[LoadError],
    ) -> Result<i64> {
        let write = |tx: &Transaction<'_>| {
            require_loading(tx, job_id, &record.label)?;
            for (id, name) in tables {
                if !table_exists_by_id(tx, *id)? {
                    return Err(CatalogError::TableChanged {
                        table: format!("{}.{name}", record.db_name),
                    });
                }
            }
            // Staged segments must belong to those tables: a table dropped (and perhaps
            // created again under its name) between a step and a restart has a new id.
            let strays: i64 = {
                let mut st =
                    tx.prepare("SELECT DISTINCT table_id FROM load_staged WHERE job_id = ?1")?;
                let ids = st.query_map([job_id], |r| r.get::<_, i64>(0))?;
                let mut n = 0;
                for id in ids {
                    let id = id?;
                    if !tables.iter().any(|(t, _)| *t == id) || !table_exists_by_id(tx, id)? {
                        n += 1;
                    }
                }
                n
            };
            let last_strays = last.map_or(0, |l| {
                l.segments
                    .iter()
                    .filter(|(t, _)| !tables.iter().any(|(id, _)| id == t))
                    .count()
            });
            if strays > 0 || last_strays > 0 {
                return Err(CatalogError::TableChanged {
                    table: format!("{}.{}", record.db_name, record.table_name),
                });
            }
            let txn_id = crate::next_id_in(tx, "txn")?;
            let staged_bytes: i64 = tx.query_row(
                "SELECT coalesce(sum(bytes), 0) FROM load_staged WHERE job_id = ?1",
                [job_id],
                |r| r.get(0),
            )?;
            let last_bytes: u64 = last.map_or(0, |l| l.segments.iter().map(|(_, s)| s.bytes).sum());
            let sink_bytes = staged_bytes + last_bytes as i64;
            let record = LoadRecord {
                sink_bytes: sink_bytes as u64,
                ..record.clone()
            };
            tx.execute(
                "INSERT INTO segments(table_id, bucket, path, rows, bytes, txn_id)
                 SELECT table_id, bucket, path, rows, bytes, ?2 FROM load_staged
                 WHERE job_id = ?1 ORDER BY rowid",
                params![job_id, txn_id],
            )?;
            if let Some(l) = last {
                for (table_id, seg) in &l.segments {
                    insert_segments(tx, *table_id, std::slice::from_ref(seg), txn_id)?;
                }
            }
            forget_steps(tx, job_id)?;
            finish_job(tx, job_id, &record, "FINISHED", txn_id)?;
            insert_errors(tx, job_id, errors)?;
            Ok(txn_id)
        };
        let points = (fault::COMMIT_BEFORE, fault::COMMIT_AFTER);
        self.with(|c| self.commit(c, write, points, |c| job_finished(c, job_id)))
    }

    /// Ends a job that has not ended as CANCELLED with `record`'s error and counters; its
    /// staged segments go to the GC list (returned, for the caller to delete) and its label
    /// becomes free. `None` (changing nothing) when it had already ended.
    pub fn cancel_job(
        &self,
        job_id: i64,
        record: &LoadRecord,
        errors: &[LoadError],
    ) -> Result<Option<Vec<String>>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let live: bool = tx.query_row(
                "SELECT count(*) FROM loads WHERE job_id = ?1
                    AND state IN ('PENDING', 'QUEUEING', 'LOADING')",
                [job_id],
                |r| r.get::<_, i64>(0).map(|n| n == 1),
            )?;
            if !live {
                return Ok(None);
            }
            let retired: Vec<String> = {
                let mut st = tx.prepare("SELECT path FROM load_staged WHERE job_id = ?1")?;
                let rows = st.query_map([job_id], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            tx.execute(
                "INSERT OR IGNORE INTO gc_files(path) SELECT path FROM load_staged WHERE job_id = ?1",
                [job_id],
            )?;
            forget_steps(&tx, job_id)?;
            finish_job(&tx, job_id, record, "CANCELLED", 0)?;
            insert_errors(&tx, job_id, errors)?;
            tx.commit()?;
            Ok(Some(retired))
        })
    }

    /// How many rejected rows a job has kept so far.
    pub fn job_error_count(&self, job_id: i64) -> Result<usize> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM load_errors WHERE job_id = ?1",
                [job_id],
                |r| r.get::<_, i64>(0),
            )? as usize)
        })
    }

    /// Every staged (not yet visible) segment path: start-up clean-up keeps these files.
    pub fn staged_paths(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT path FROM load_staged")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Forgets ended jobs: those that ended more than `keep_secs` ago, and all but the newest
    /// `keep_num` ended ones. Their labels become free. Returns how many were forgotten.
    pub fn purge_load_history(&self, keep_secs: i64, keep_num: i64, now: &str) -> Result<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS purge(job_id INTEGER PRIMARY KEY);
                 DELETE FROM temp.purge;",
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO temp.purge
                 SELECT job_id FROM loads WHERE state IN ('FINISHED', 'CANCELLED')
                    AND load_finish_time IS NOT NULL
                    AND unixepoch(load_finish_time) <= unixepoch(?1) - ?2",
                params![now, keep_secs],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO temp.purge
                 SELECT job_id FROM loads WHERE state IN ('FINISHED', 'CANCELLED')
                 ORDER BY job_id DESC LIMIT -1 OFFSET ?1",
                [keep_num.max(0)],
            )?;
            tx.execute(
                "DELETE FROM load_errors WHERE job_id IN (SELECT job_id FROM temp.purge)",
                [],
            )?;
            let n = tx.execute(
                "DELETE FROM loads WHERE job_id IN (SELECT job_id FROM temp.purge)",
                [],
            )?;
            tx.execute("DELETE FROM temp.purge", [])?;
            tx.commit()?;
            Ok(n)
        })
    }
}

/// Fails with [`CatalogError::LoadEnded`] unless the job is LOADING (a job cancelled or
/// committed meanwhile stages and commits nothing).
fn require_loading(tx: &Transaction<'_>, job_id: i64, label: &str) -> Result<()> {
    let state: Option<String> = tx
        .query_row("SELECT state FROM loads WHERE job_id = ?1", [job_id], |r| {
            r.get(0)
        })
        .optional()?;
    if state.as_deref() == Some("LOADING") {
        return Ok(());
    }
    Err(CatalogError::LoadEnded {
        label: label.to_string(),
        state: state.unwrap_or_else(|| "gone".into()),
    })
}

fn forget_steps(tx: &Transaction<'_>, job_id: i64) -> Result<()> {
    tx.execute("DELETE FROM load_staged WHERE job_id = ?1", [job_id])?;
    tx.execute("DELETE FROM load_steps WHERE job_id = ?1", [job_id])?;
    Ok(())
}
