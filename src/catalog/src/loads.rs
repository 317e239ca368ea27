//! Load jobs, labels and the commit that makes a load visible.

use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use strata_common::fault;

use crate::tables::{insert_segments, insert_table, retire_segments, table_exists_by_id};
use crate::{Catalog, CatalogError, LoadError, LoadRecord, NewSegment, Result, TableDef};

/// A table that a CTAS creates in the same transaction as its data.
#[derive(Debug, Clone)]
pub struct CreateTableRequest {
    /// Database.
    pub db: String,
    /// Name.
    pub name: String,
    /// Definition.
    pub def: TableDef,
}

/// Everything one load publishes atomically.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    /// The job, registered with [`Catalog::begin_load`].
    pub job_id: i64,
    /// Target table id (pre-allocated for CTAS).
    pub table_id: i64,
    /// CTAS: create the table in the same transaction.
    pub create_table: Option<CreateTableRequest>,
    /// INSERT OVERWRITE: retire the existing segments in the same transaction.
    pub overwrite: bool,
    /// New segments.
    pub segments: Vec<NewSegment>,
    /// Final counters; state and times are set by the commit.
    pub record: LoadRecord,
    /// Rejected rows to keep.
    pub errors: Vec<LoadError>,
    /// A pipe batch: its files become FINISHED in this transaction.
    pub pipe_batch: Option<crate::PipeBatch>,
}

impl Catalog {
    /// Load jobs by state: (state, jobs, sink rows, filtered rows), in one query.
    pub fn load_totals(&self) -> Result<Vec<(String, u64, u64, u64)>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT state, count(*), sum(sink_rows), sum(filtered_rows) FROM loads GROUP BY state",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, i64>(3)? as u64,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Registers a job in state LOADING and takes its label. Fails with
    /// [`CatalogError::LabelUsed`] when a job that was not cancelled holds the label.
    pub fn begin_load(&self, record: &LoadRecord) -> Result<i64> {
        self.register_job(record, "LOADING")
    }

    /// Registers a job in `state` and takes its label.
    pub(crate) fn register_job(&self, record: &LoadRecord, state: &str) -> Result<i64> {
        self.with(|c| {
            let tx = c.transaction()?;
            let job_id = crate::next_id_in(&tx, "job")?;
            let priority = if record.priority.is_empty() {
                "NORMAL"
            } else {
                &record.priority
            };
            let owner = if record.owner.is_empty() {
                "root"
            } else {
                &record.owner
            };
            let res = tx.execute(
                "INSERT INTO loads(job_id, label, db_name, table_name, state, type, timeout_s,
                    max_filter_ratio, create_time, load_start_time, sql, priority, owner,
                    sealed_sql)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    job_id,
                    record.label,
                    record.db_name,
                    record.table_name,
                    state,
                    record.load_type,
                    record.timeout_s as i64,
                    record.max_filter_ratio,
                    record.create_time,
                    record.load_start_time,
                    record.sql,
                    priority,
                    owner,
                    record.sealed_sql
                ],
            );
            if let Err(rusqlite::Error::SqliteFailure(e, _)) = &res
                && e.code == ErrorCode::ConstraintViolation
            {
                let (job_id, state, txn_id) = label_holder(&tx, &record.db_name, &record.label)?;
                return Err(CatalogError::LabelUsed {
                    label: record.label.clone(),
                    txn_id,
                    job_id,
                    state,
                });
            }
            res?;
            tx.commit()?;
            Ok(job_id)
        })
    }

    /// Publishes a load: segments, label state, counters and rejected rows in one transaction.
    /// Returns the transaction id.
    pub fn commit_load(&self, req: &CommitRequest) -> Result<i64> {
        let write = |tx: &Transaction<'_>| {
            let txn_id = crate::next_id_in(tx, "txn")?;
            if let Some(ct) = &req.create_table {
                insert_table(tx, req.table_id, &ct.db, &ct.name, &ct.def)?;
            } else if !table_exists_by_id(tx, req.table_id)? {
                return Err(CatalogError::TableChanged {
                    table: format!("{}.{}", req.record.db_name, req.record.table_name),
                });
            }
            if req.overwrite {
                retire_segments(tx, req.table_id)?;
            }
            insert_segments(tx, req.table_id, &req.segments, txn_id)?;
            finish_job(tx, req.job_id, &req.record, "FINISHED", txn_id)?;
            insert_errors(tx, req.job_id, &req.errors)?;
            if let Some(b) = &req.pipe_batch {
                crate::pipes::finish_batch(tx, b, &crate::now_string())?;
            }
            Ok(txn_id)
        };
        let points = (fault::COMMIT_BEFORE, fault::COMMIT_AFTER);
        self.with(|c| self.commit(c, write, points, |c| job_finished(c, req.job_id)))
    }

    /// Marks a job CANCELLED with its error and counters; its label becomes reusable.
    pub fn fail_load(&self, job_id: i64, record: &LoadRecord, errors: &[LoadError]) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            finish_job(&tx, job_id, record, "CANCELLED", 0)?;
            insert_errors(&tx, job_id, errors)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Statement loads (INSERT, CTAS) left LOADING by a crash become CANCELLED: their session
    /// is gone (their files are orphans, removed by GC). Broker jobs resume instead
    /// ([`Catalog::runnable_jobs`]).
    pub fn cancel_interrupted_loads(&self, now: &str) -> Result<usize> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE loads SET state = 'CANCELLED', load_finish_time = ?1,
                    error_msg = 'type:LOAD_RUN_FAIL; msg:the server stopped while the load ran; nothing was committed'
                 WHERE state = 'LOADING' AND type <> 'BROKER'",
                [now],
            )?)
        })
    }

    /// Every load job, newest first.
    pub fn list_loads(&self) -> Result<Vec<LoadRecord>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {LOAD_COLUMNS} FROM loads ORDER BY job_id DESC"
            ))?;
            let rows = st.query_map([], load_record)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Rejected rows of every job, by job then order of detection.
    pub fn list_load_errors(&self) -> Result<Vec<LoadError>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT job_id, file, row_num, column_name, value, reason FROM load_errors
                 ORDER BY job_id DESC, seq",
            )?;
            let rows = st.query_map([], |r| {
                Ok(LoadError {
                    job_id: r.get(0)?,
                    file: r.get(1)?,
                    row: r.get::<_, i64>(2)? as u64,
                    column: r.get(3)?,
                    value: r.get(4)?,
                    reason: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// The job holding a label: (job id, state, transaction id).
fn label_holder(c: &Connection, db: &str, label: &str) -> Result<(i64, String, i64)> {
    Ok(c.query_row(
        "SELECT job_id, state, txn_id FROM loads
         WHERE db_name = ?1 AND label = ?2 AND state <> 'CANCELLED'",
        params![db, label],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?
    .unwrap_or((0, String::new(), 0)))
}

/// A `loads` row selected with [`LOAD_COLUMNS`].
pub(crate) fn load_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<LoadRecord> {
    Ok(LoadRecord {
        job_id: r.get(0)?,
        label: r.get(1)?,
        db_name: r.get(2)?,
        table_name: r.get(3)?,
        state: r.get(4)?,
        load_type: r.get(5)?,
        scan_rows: r.get::<_, i64>(6)? as u64,
        scan_bytes: r.get::<_, i64>(7)? as u64,
        filtered_rows: r.get::<_, i64>(8)? as u64,
        unselected_rows: r.get::<_, i64>(9)? as u64,
        sink_rows: r.get::<_, i64>(10)? as u64,
        sink_bytes: r.get::<_, i64>(11)? as u64,
        file_number: r.get::<_, i64>(12)? as u64,
        file_size: r.get::<_, i64>(13)? as u64,
        timeout_s: r.get::<_, i64>(14)? as u64,
        max_filter_ratio: r.get(15)?,
        create_time: r.get(16)?,
        load_start_time: r.get(17)?,
        load_finish_time: r.get(18)?,
        error_msg: r.get(19)?,
        txn_id: r.get(20)?,
        sql: r.get(21)?,
        priority: r.get(22)?,
        owner: r.get(23)?,
        sealed_sql: r.get(24)?,
    })
}

/// The columns [`load_record`] reads, in order.
pub(crate) const LOAD_COLUMNS: &str = "job_id, label, db_name, table_name, state, type, scan_rows,
    scan_bytes, filtered_rows, unselected_rows, sink_rows, sink_bytes, file_number, file_size,
    timeout_s, max_filter_ratio, create_time, load_start_time, load_finish_time, error_msg,
    txn_id, sql, priority, owner, sealed_sql";

pub(crate) fn finish_job(
    tx: &Transaction<'_>,
    job_id: i64,
    r: &LoadRecord,
    state: &str,
    txn_id: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE loads SET state = ?2, scan_rows = ?3, scan_bytes = ?4, filtered_rows = ?5,
            unselected_rows = ?6, sink_rows = ?7, sink_bytes = ?8, file_number = ?9,
            file_size = ?10, load_start_time = COALESCE(?11, load_start_time),
            load_finish_time = ?12, error_msg = ?13, txn_id = ?14
         WHERE job_id = ?1",
        params![
            job_id,
            state,
            r.scan_rows as i64,
            r.scan_bytes as i64,
            r.filtered_rows as i64,
            r.unselected_rows as i64,
            r.sink_rows as i64,
            r.sink_bytes as i64,
            r.file_number as i64,
            r.file_size as i64,
            r.load_start_time,
            r.load_finish_time,
            r.error_msg,
            txn_id
        ],
    )?;
    Ok(())
}

/// Appends rejected rows to a job's (a resumed job records them step by step).
pub(crate) fn insert_errors(tx: &Transaction<'_>, job_id: i64, errors: &[LoadError]) -> Result<()> {
    let first: i64 = tx.query_row(
        "SELECT coalesce(max(seq) + 1, 0) FROM load_errors WHERE job_id = ?1",
        [job_id],
        |r| r.get(0),
    )?;
    let mut st = tx.prepare(
        "INSERT INTO load_errors(job_id, seq, file, row_num, column_name, value, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (i, e) in errors.iter().enumerate() {
        st.execute(params![
            job_id,
            first + i as i64,
            e.file,
            e.row as i64,
            e.column,
            e.value,
            e.reason
        ])?;
    }
    Ok(())
}

/// Whether job `job_id` is FINISHED (a load's commit landed).
pub(crate) fn job_finished(c: &Connection, job_id: i64) -> rusqlite::Result<bool> {
    let state: Option<String> = c
        .query_row("SELECT state FROM loads WHERE job_id = ?1", [job_id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(state.as_deref() == Some("FINISHED"))
}
