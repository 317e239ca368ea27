//! The one load path: source stream → convert (per-row accounting) → segments → one commit.
//!
//! INSERT, CTAS — and later Broker Load and Pipe batches — all run a [`Job`]: it takes the
//! label when it begins (so a duplicate label fails before any work), streams the source
//! through the [`Converter`] into a [`SegmentWriter`], and publishes segments, label state,
//! counters and rejected rows in one catalog transaction. Any failure deletes the segments
//! already written and records the job as CANCELLED with its error.

pub mod convert;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use strata_catalog::{
    CommitRequest, CreateTableRequest, DistributionMeta, LoadError, LoadRecord, NewSegment,
    TableMeta, now_string,
};
use strata_common::StatusCode;
use strata_query::LiveLoad;
use strata_storage::{BucketSpec, SegmentWriter, WriterOptions};

pub use convert::{ColumnSource, Converter};

use crate::{Frontend, FrontendError, Result};

/// How many rejected rows a job keeps for `information_schema.load_errors`.
const ERROR_BUDGET: usize = 1000;

/// Segment writer settings; `STRATA_SEGMENT_FLUSH_ROWS` lowers the rows per segment (tests
/// use it to have a long load write many segments before it commits).
fn writer_options() -> WriterOptions {
    let mut o = WriterOptions::default();
    if let Some(n) = std::env::var("STRATA_SEGMENT_FLUSH_ROWS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        o.flush_rows = n;
    }
    o
}

/// The table a job writes.
#[derive(Debug, Clone)]
pub enum Target {
    /// An existing table.
    Existing(TableMeta),
    /// A table created by the commit (CTAS), with its pre-allocated id.
    Create(CreateTableRequest, i64),
}

impl Target {
    fn table_id(&self) -> i64 {
        match self {
            Target::Existing(t) => t.id,
            Target::Create(_, id) => *id,
        }
    }

    fn def(&self) -> &strata_catalog::TableDef {
        match self {
            Target::Existing(t) => &t.def,
            Target::Create(c, _) => &c.def,
        }
    }
}

/// What a job is asked to do.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Label (already generated when the user gave none).
    pub label: String,
    /// Database of the target.
    pub db: String,
    /// Target table name.
    pub table_name: String,
    /// Target.
    pub target: Target,
    /// Replace the table's rows.
    pub overwrite: bool,
    /// Strict mode: conversion failures reject rows.
    pub strict: bool,
    /// Largest tolerated share of rejected rows.
    pub max_filter_ratio: f64,
    /// Timeout in seconds.
    pub timeout_s: u64,
    /// `INSERT`, `BROKER`, ...
    pub load_type: &'static str,
    /// Statement text.
    pub sql: String,
}

/// What a committed job reports.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// Label.
    pub label: String,
    /// Commit transaction.
    pub txn_id: i64,
    /// Rows loaded.
    pub loaded: u64,
    /// Rows rejected.
    pub filtered: u64,
    /// The first rejected rows.
    pub errors: Vec<LoadError>,
}

/// A running load.
pub struct Job<'a> {
    fe: &'a Frontend,
    spec: LoadSpec,
    job_id: i64,
    live: Arc<LiveLoad>,
    record: LoadRecord,
}

impl<'a> Job<'a> {
    /// Registers the job and takes its label.
    pub fn begin(fe: &'a Frontend, spec: LoadSpec) -> Result<Self> {
        let now = now_string();
        let record = LoadRecord {
            label: spec.label.clone(),
            db_name: spec.db.clone(),
            table_name: spec.table_name.clone(),
            state: "LOADING".into(),
            load_type: spec.load_type.into(),
            timeout_s: spec.timeout_s,
            max_filter_ratio: spec.max_filter_ratio,
            create_time: now.clone(),
            load_start_time: Some(now),
            sql: spec.sql.clone(),
            ..Default::default()
        };
        let job_id = fe.catalog.begin_load(&record)?;
        let live = fe.live.start(job_id);
        Ok(Self {
            fe,
            spec,
            job_id,
            live,
            record,
        })
    }

    /// The job id.
    pub fn id(&self) -> i64 {
        self.job_id
    }

    /// Records the files the source reads (JOB_DETAILS FileNumber/FileSize) and, when known,
    /// their row count (PROGRESS).
    pub fn set_files(&mut self, files: u64, bytes: u64, rows: Option<u64>) {
        self.record.file_number = files;
        self.record.file_size = bytes;
        if let Some(r) = rows {
            self.live.expected_rows.store(r, Ordering::Relaxed);
        }
    }

    /// Records the job as CANCELLED with `err` and returns `err`.
    pub fn fail(mut self, err: FrontendError) -> FrontendError {
        self.fail_with(&err, &[]);
        err
    }

    fn fail_with(&mut self, err: &FrontendError, errors: &[LoadError]) {
        self.sync_counters();
        self.record.state = "CANCELLED".into();
        self.record.load_finish_time = Some(now_string());
        self.record.error_msg = Some(format!("type:LOAD_RUN_FAIL; msg:{err}"));
        let errors: Vec<LoadError> = errors
            .iter()
            .cloned()
            .map(|mut e| {
                e.job_id = self.job_id;
                e
            })
            .collect();
        if let Err(e) = self
            .fe
            .catalog
            .fail_load(self.job_id, &self.record, &errors)
        {
            tracing::error!(job = self.job_id, error = %e, "could not record a failed load");
        }
        self.fe.live.finish(self.job_id);
    }

    fn sync_counters(&mut self) {
        self.record.scan_rows = self.live.scan_rows.load(Ordering::Relaxed);
        self.record.scan_bytes = self.live.scan_bytes.load(Ordering::Relaxed);
        self.record.filtered_rows = self.live.filtered_rows.load(Ordering::Relaxed);
        self.record.sink_rows = self.live.sink_rows.load(Ordering::Relaxed);
    }

    /// Streams `source` into the target and commits; on any failure nothing is visible.
    pub async fn run(
        mut self,
        source: SendableRecordBatchStream,
        converter: Converter,
    ) -> Result<LoadOutcome> {
        let secs = self.spec.timeout_s.max(1);
        let mut errors = Vec::new();
        let res = tokio::time::timeout(
            Duration::from_secs(secs),
            self.load(source, &converter, &mut errors),
        )
        .await;
        let res = match res {
            Ok(r) => r,
            Err(_) => Err(FrontendError::new(
                StatusCode::Cancelled,
                format!(
                    "Insert reached its timeout of {secs} seconds, please increase the 'insert_timeout' session variable"
                ),
            )),
        };
        match res {
            Ok(segments) => self.commit(segments, errors).await,
            Err(e) => {
                self.fail_with(&e, &errors);
                Err(e)
            }
        }
    }

    async fn load(
        &mut self,
        source: SendableRecordBatchStream,
        converter: &Converter,
        errors: &mut Vec<LoadError>,
    ) -> Result<Vec<NewSegment>> {
        let def = self.spec.target.def();
        let hash_columns = match &def.distribution {
            DistributionMeta::Hash(cols) => {
                cols.iter().filter_map(|c| def.column_index(c)).collect()
            }
            DistributionMeta::Random => Vec::new(),
        };
        let sort_columns = def
            .key_columns
            .iter()
            .filter_map(|c| def.column_index(c))
            .collect();
        let mut writer = SegmentWriter::new(
            self.fe.store.clone(),
            self.spec.target.table_id().to_string(),
            converter.schema.clone(),
            BucketSpec {
                hash_columns,
                buckets: def.bucket_count(),
            },
            sort_columns,
            writer_options(),
        );
        let res = self.pump(source, converter, &mut writer, errors).await;
        if let Err(e) = res {
            writer.abort().await;
            return Err(e);
        }
        let written = writer.finish().await?;
        Ok(written
            .into_iter()
            .map(|w| NewSegment {
                bucket: w.bucket,
                path: w.path,
                rows: w.rows,
                bytes: w.bytes,
            })
            .collect())
    }

    async fn pump(
        &mut self,
        source: SendableRecordBatchStream,
        converter: &Converter,
        writer: &mut SegmentWriter,
        errors: &mut Vec<LoadError>,
    ) -> Result<()> {
        // Conversion runs in its own task, one batch ahead of the writer (hashing, bucketing)
        // and the background encoders, so the stages overlap on both cores. Row numbers stay
        // in source order: there is one converter.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<convert::Converted>>(4);
        let mut stream = source;
        let conv = converter.clone();
        let live = self.live.clone();
        let budget_left = ERROR_BUDGET.saturating_sub(errors.len());
        let task = tokio::spawn(async move {
            let mut row = 1u64;
            let mut kept_errors = 0usize;
            while let Some(batch) = stream.next().await {
                let res = batch.map_err(FrontendError::from).and_then(|batch| {
                    let n = batch.num_rows() as u64;
                    live.scan_rows.fetch_add(n, Ordering::Relaxed);
                    live.scan_bytes
                        .fetch_add(batch.get_array_memory_size() as u64, Ordering::Relaxed);
                    let budget = budget_left.saturating_sub(kept_errors);
                    let out = conv
                        .convert(&batch, row, budget)
                        .map_err(|e| FrontendError::new(StatusCode::InvalidValue, e))?;
                    row += n;
                    kept_errors += out.errors.len();
                    Ok(out)
                });
                let failed = res.is_err();
                if tx.send(res).await.is_err() || failed {
                    return;
                }
            }
        });
        let res = self.drain(&mut rx, writer, errors).await;
        drop(rx);
        let _ = task.await;
        res
    }

    async fn drain(
        &mut self,
        rx: &mut tokio::sync::mpsc::Receiver<Result<convert::Converted>>,
        writer: &mut SegmentWriter,
        errors: &mut Vec<LoadError>,
    ) -> Result<()> {
        while let Some(conv) = rx.recv().await {
            let conv = conv?;
            if conv.rejected > 0 {
                self.live
                    .filtered_rows
                    .fetch_add(conv.rejected, Ordering::Relaxed);
                errors.extend(conv.errors);
                // With no tolerance the load is lost at the first rejected row: stop early.
                if self.spec.max_filter_ratio == 0.0 {
                    return Err(self.filtered_error(errors));
                }
            }
            self.live
                .sink_rows
                .fetch_add(conv.batch.num_rows() as u64, Ordering::Relaxed);
            writer.write(conv.batch).await?;
        }
        let total = self.live.scan_rows.load(Ordering::Relaxed);
        let filtered = self.live.filtered_rows.load(Ordering::Relaxed);
        if filtered > 0 && (filtered as f64) > self.spec.max_filter_ratio * total as f64 {
            return Err(self.filtered_error(errors));
        }
        Ok(())
    }

    fn filtered_error(&self, errors: &[LoadError]) -> FrontendError {
        let first = errors
            .first()
            .map(|e| {
                let file = if e.file.is_empty() {
                    String::new()
                } else {
                    format!("file {}, ", e.file)
                };
                format!(
                    ". First rejected row: {file}row {}, column '{}', value {}: {}",
                    e.row,
                    e.column,
                    e.value
                        .as_ref()
                        .map(|v| format!("'{v}'"))
                        .unwrap_or_else(|| "NULL".into()),
                    e.reason
                )
            })
            .unwrap_or_default();
        FrontendError::new(
            StatusCode::LoadFiltered,
            format!(
                "Insert has filtered data in strict mode, tracking sql = select * from \
                 information_schema.load_errors where job_id={}{first}",
                self.job_id
            ),
        )
    }

    async fn commit(
        mut self,
        segments: Vec<NewSegment>,
        errors: Vec<LoadError>,
    ) -> Result<LoadOutcome> {
        self.sync_counters();
        self.record.sink_bytes = segments.iter().map(|s| s.bytes).sum();
        self.record.load_finish_time = Some(now_string());
        let errors: Vec<LoadError> = errors
            .into_iter()
            .map(|mut e| {
                e.job_id = self.job_id;
                e
            })
            .collect();
        let (create_table, table_id) = match &self.spec.target {
            Target::Existing(t) => (None, t.id),
            Target::Create(req, id) => (Some(req.clone()), *id),
        };
        let req = CommitRequest {
            job_id: self.job_id,
            table_id,
            create_table,
            overwrite: self.spec.overwrite,
            segments: segments.clone(),
            record: self.record.clone(),
            errors: errors.clone(),
        };
        match self.fe.catalog.commit_load(&req) {
            Ok(txn_id) => {
                self.fe.live.finish(self.job_id);
                Ok(LoadOutcome {
                    label: self.spec.label.clone(),
                    txn_id,
                    loaded: self.record.sink_rows,
                    filtered: self.record.filtered_rows,
                    errors,
                })
            }
            Err(e) => {
                let paths: Vec<String> = segments.iter().map(|s| s.path.clone()).collect();
                if let Err(de) = self.fe.store.delete(&paths).await {
                    tracing::warn!(error = %de, "could not delete segments of a failed commit");
                }
                let err = FrontendError::from(e);
                self.fail_with(&err, &errors);
                Err(err)
            }
        }
    }
}

/// What a dry run found: the rows that would load and the rows that would be rejected.
#[derive(Debug, Clone, Default)]
pub struct DryRunReport {
    /// Rows read.
    pub scanned: u64,
    /// Rows that would be loaded.
    pub loadable: u64,
    /// Rows that would be rejected.
    pub rejected: u64,
    /// The first rejected rows.
    pub errors: Vec<LoadError>,
}

/// Reads and converts `source` exactly as a load would, writing and committing nothing.
/// Unlike a load it never stops early: it reports every rejected row (up to 1000).
pub async fn dry_run(
    mut source: SendableRecordBatchStream,
    converter: &Converter,
) -> Result<DryRunReport> {
    let mut report = DryRunReport::default();
    let mut row = 1u64;
    while let Some(batch) = source.next().await {
        let batch = batch?;
        let n = batch.num_rows() as u64;
        let budget = ERROR_BUDGET.saturating_sub(report.errors.len());
        let conv = converter
            .convert(&batch, row, budget)
            .map_err(|e| FrontendError::new(StatusCode::InvalidValue, e))?;
        row += n;
        report.scanned += n;
        report.rejected += conv.rejected;
        report.loadable += conv.batch.num_rows() as u64;
        report.errors.extend(conv.errors);
    }
    Ok(report)
}
