//! The one load path: source stream → convert (per-row accounting) → segments → one commit.
//!
//! INSERT, CTAS — and later Broker Load and Pipe batches — all run a [`Job`]: it takes the
//! label when it begins (so a duplicate label fails before any work), streams the source
//! through the [`Converter`] into a [`SegmentWriter`], and publishes segments, label state,
//! counters and rejected rows in one catalog transaction. Any failure deletes the segments
//! already written and records the job as CANCELLED with its error.

pub(crate) mod broker;
pub mod convert;
pub(crate) mod pipe;
mod pipeline;
pub(crate) mod scheduler;
pub mod source;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use strata_catalog::{
    CatalogError, CommitRequest, CreateTableRequest, LoadError, LoadRecord, NewSegment, TableMeta,
    now_string,
};
use strata_common::StatusCode;
use strata_query::LiveLoad;
use strata_query::files::FilesSource;
use strata_storage::{BucketSpec, SegmentWriter, WriterOptions, WrittenSegment};
use tokio_util::sync::CancellationToken;

pub use convert::{ColumnSource, Converter};
use pipeline::{ReadyRx, convert_source};
pub use source::LoadSource;

use crate::{Frontend, FrontendError, Result};

/// How many rejected rows a job keeps for `information_schema.load_errors`.
pub(crate) const ERROR_BUDGET: usize = 1000;

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

    /// (database, table name).
    fn name(&self) -> (&str, &str) {
        match self {
            Target::Existing(t) => (&t.db, &t.name),
            Target::Create(c, _) => (&c.db, &c.name),
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
    /// Cancelled by `KILL QUERY` or the client going away: the job ends CANCELLED, its
    /// segments deleted and its label free.
    pub cancel: CancellationToken,
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
    /// The FILES() calls read; a listing goes on while the load runs, and FileNumber and
    /// FileSize grow with it.
    listing: Vec<Arc<FilesSource>>,
    /// Whether the rows it streams are all of the job's, so that `max_filter_ratio` can be
    /// checked when they end (a Broker Load step checks only its own rejections at zero
    /// tolerance; the job checks the ratio over every step).
    whole_job: bool,
    /// When the rows must be in (else the spec's timeout from when they start).
    deadline: Option<tokio::time::Instant>,
    /// A pipe batch: its files become FINISHED in the commit.
    pipe_batch: Option<strata_catalog::PipeBatch>,
}

impl<'a> Job<'a> {
    /// Registers the job and takes its label.
    pub fn begin(fe: &'a Frontend, spec: LoadSpec) -> Result<Self> {
        let now = now_string();
        let record = LoadRecord {
            label: spec.label.clone(),
            db_name: spec.target.name().0.to_string(),
            table_name: spec.target.name().1.to_string(),
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
            listing: Vec::new(),
            whole_job: true,
            deadline: None,
            pipe_batch: None,
        })
    }

    /// The pipeline of a job the catalog already has, for part of its rows (a Broker Load
    /// step): [`Job::write`] streams them into segments; registering, committing and failing
    /// are the owner's.
    pub(crate) fn attach(
        fe: &'a Frontend,
        spec: LoadSpec,
        job_id: i64,
        live: Arc<LiveLoad>,
    ) -> Self {
        Self {
            fe,
            spec,
            job_id,
            live,
            record: LoadRecord::default(),
            listing: Vec::new(),
            whole_job: false,
            deadline: None,
            pipe_batch: None,
        }
    }

    /// Makes the job a pipe batch: its commit also marks `batch`'s files FINISHED.
    pub(crate) fn set_pipe_batch(&mut self, batch: strata_catalog::PipeBatch) {
        self.pipe_batch = Some(batch);
    }

    /// The instant the rows of [`Job::write`] must be in by (a Broker Load job's deadline).
    pub(crate) fn set_deadline(&mut self, at: tokio::time::Instant) {
        self.deadline = Some(at);
    }

    /// Streams `source` into segments of the target, which stay invisible; `errors` gets the
    /// rejected rows. On failure (a rejected row at zero tolerance, cancellation, the
    /// deadline) the segments already written are deleted.
    pub(crate) async fn write(
        &mut self,
        source: LoadSource,
        converter: Converter,
        errors: &mut Vec<LoadError>,
    ) -> Result<Vec<NewSegment>> {
        let converter = Arc::new(converter);
        let secs = self.spec.timeout_s.max(1);
        let deadline = self
            .deadline
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(secs));
        match tokio::time::timeout_at(
            deadline + Duration::from_secs(5),
            self.load(source, &converter, errors, deadline),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(timed_out(secs)),
        }
    }

    /// Records the FILES() calls the source reads: their listings give JOB_DETAILS
    /// FileNumber/FileSize, and their row counts, when every call knows it, PROGRESS.
    pub fn set_sources(&mut self, sources: &[(String, Arc<FilesSource>)]) {
        self.listing = sources.iter().map(|(_, s)| s.clone()).collect();
        let rows: Option<u64> = self.listing.iter().map(|s| s.known_rows).sum();
        if let Some(r) = rows.filter(|_| !self.listing.is_empty()) {
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
        let errors = numbered(errors.to_vec(), self.job_id);
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
        let listed = self.listing.iter().map(|f| f.listed());
        (self.record.file_number, self.record.file_size) =
            listed.fold((0, 0), |(n, b), (fn_, fb)| (n + fn_, b + fb));
        self.record.scan_rows = self.live.scan_rows.load(Ordering::Relaxed);
        self.record.scan_bytes = self.live.scan_bytes.load(Ordering::Relaxed);
        self.record.filtered_rows = self.live.filtered_rows.load(Ordering::Relaxed);
        self.record.sink_rows = self.live.sink_rows.load(Ordering::Relaxed);
    }

    /// Streams `source` into the target and commits; on any failure nothing is visible.
    pub async fn run(mut self, source: LoadSource, converter: Converter) -> Result<LoadOutcome> {
        let converter = Arc::new(converter);
        let secs = self.spec.timeout_s.max(1);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        let mut errors = Vec::new();
        // The deadline and cancellation are watched while rows stream (`drain`), where the
        // writer can delete what it wrote; this outer bound only catches a load stuck
        // elsewhere, a little later.
        let res = tokio::time::timeout_at(
            deadline + Duration::from_secs(5),
            self.load(source, &converter, &mut errors, deadline),
        )
        .await;
        let res = match res {
            Ok(r) => r,
            Err(_) => Err(timed_out(secs)),
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
        source: LoadSource,
        converter: &Arc<Converter>,
        errors: &mut Vec<LoadError>,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<NewSegment>> {
        let def = self.spec.target.def();
        let mut writer = SegmentWriter::new(
            self.fe.store.clone(),
            self.spec.target.table_id().to_string(),
            converter.schema().clone(),
            BucketSpec {
                hash_columns: def.hash_indices(),
                buckets: def.bucket_count(),
            },
            def.key_indices(),
            writer_options(),
        );
        let res = self
            .pump(source, converter, &mut writer, errors, deadline)
            .await;
        if let Err(e) = res {
            writer.abort().await;
            return Err(e);
        }
        let written = writer.finish().await?;
        Ok(written
            .into_iter()
            .map(|w| new_segment(w.bucket, w))
            .collect())
    }

    async fn pump(
        &mut self,
        source: LoadSource,
        converter: &Arc<Converter>,
        writer: &mut SegmentWriter,
        errors: &mut Vec<LoadError>,
        deadline: tokio::time::Instant,
    ) -> Result<()> {
        let budget = ERROR_BUDGET.saturating_sub(errors.len());
        let (mut rx, tasks) = convert_source(
            source,
            converter,
            Some((self.live.clone(), writer.bucketer())),
            budget,
        );
        let res = self.drain(&mut rx, writer, errors, deadline).await;
        // Dropping the tasks stops readers and converters still running after a failure.
        drop(rx);
        drop(tasks);
        res
    }

    async fn drain(
        &mut self,
        rx: &mut ReadyRx,
        writer: &mut SegmentWriter,
        errors: &mut Vec<LoadError>,
        deadline: tokio::time::Instant,
    ) -> Result<()> {
        let cancel = self.spec.cancel.clone();
        loop {
            let next = tokio::select! {
                next = rx.recv() => next,
                () = cancel.cancelled() => return Err(interrupted()),
                () = tokio::time::sleep_until(deadline) => {
                    return Err(timed_out(self.spec.timeout_s.max(1)));
                }
            };
            let Some(ready) = next else { break };
            let ready = ready?;
            if ready.rejected > 0 {
                self.live
                    .filtered_rows
                    .fetch_add(ready.rejected, Ordering::Relaxed);
                errors.extend(ready.errors);
                // With no tolerance the load is lost at the first rejected row: stop early.
                if self.spec.max_filter_ratio == 0.0 {
                    return Err(self.filtered_error(errors));
                }
            }
            self.live.sink_rows.fetch_add(ready.rows, Ordering::Relaxed);
            writer.write_bucketed(ready.buckets).await?;
        }
        let total = self.live.scan_rows.load(Ordering::Relaxed);
        let filtered = self.live.filtered_rows.load(Ordering::Relaxed);
        if self.whole_job
            && filtered > 0
            && (filtered as f64) > self.spec.max_filter_ratio * total as f64
        {
            return Err(self.filtered_error(errors));
        }
        Ok(())
    }

    fn filtered_error(&self, errors: &[LoadError]) -> FrontendError {
        // Pieces convert in parallel: of the rows seen, name the first in listing order.
        let first = errors
            .iter()
            .min_by(|a, b| (&a.file, a.row).cmp(&(&b.file, b.row)))
            .map(|e| format!(". First rejected row: {}", e.describe()))
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
        let errors = numbered(errors, self.job_id);
        let table_id = self.spec.target.table_id();
        let create_table = match &self.spec.target {
            Target::Existing(_) => None,
            Target::Create(req, _) => Some(req.clone()),
        };
        let req = CommitRequest {
            job_id: self.job_id,
            table_id,
            create_table,
            overwrite: self.spec.overwrite,
            segments: segments.clone(),
            record: self.record.clone(),
            errors: errors.clone(),
            pipe_batch: self.pipe_batch.clone(),
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
            // The catalog cannot say whether the commit landed: the files stay (start-up GC
            // deletes them if they are nobody's) and the job LOADING, for start-up to settle.
            Err(e @ CatalogError::CommitUnknown(_)) => {
                tracing::error!(job = self.job_id, error = %e, "a load's commit cannot be confirmed");
                Err(e.into())
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

/// The error of a load stopped by `KILL QUERY` (or its client going away).
pub(crate) fn interrupted() -> FrontendError {
    FrontendError::new(StatusCode::Cancelled, "Query execution was interrupted")
}

fn timed_out(secs: u64) -> FrontendError {
    FrontendError::new(
        StatusCode::Cancelled,
        format!(
            "Insert reached its timeout of {secs} seconds, please increase the 'insert_timeout' session variable"
        ),
    )
}

/// The catalog's record of a segment the writer finished, in `bucket`.
pub(crate) fn new_segment(bucket: u32, w: WrittenSegment) -> NewSegment {
    NewSegment {
        bucket,
        path: w.path,
        rows: w.rows,
        bytes: w.bytes,
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
/// `KILL QUERY` (`cancel`) stops it like a load.
pub async fn dry_run(
    source: LoadSource,
    converter: Converter,
    cancel: CancellationToken,
) -> Result<DryRunReport> {
    let converter = Arc::new(converter);
    let mut report = DryRunReport::default();
    let (mut rx, _tasks) = convert_source(source, &converter, None, ERROR_BUDGET);
    loop {
        let next = tokio::select! {
            next = rx.recv() => next,
            () = cancel.cancelled() => return Err(interrupted()),
        };
        let Some(ready) = next else { break };
        let ready = ready?;
        report.scanned += ready.rows + ready.rejected;
        report.rejected += ready.rejected;
        report.loadable += ready.rows;
        report.errors.extend(ready.errors);
    }
    report.errors = numbered(report.errors, 0);
    Ok(report)
}

/// Rejected rows of job `job_id` in source order: by file (files are read in listing order,
/// which is key order), then row.
pub(crate) fn numbered(mut errors: Vec<LoadError>, job_id: i64) -> Vec<LoadError> {
    errors.sort_by(|a, b| a.file.cmp(&b.file).then(a.row.cmp(&b.row)));
    errors.truncate(ERROR_BUDGET);
    for e in &mut errors {
        e.job_id = job_id;
    }
    errors
}
