//! Running a Broker Load job: its listing, its steps (each staged with the job), the final
//! check and the one commit; or its end as CANCELLED.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use strata_catalog::{
    CatalogError, LoadError, LoadRecord, StagedStep, StepCounters, TableMeta, now_string,
};
use strata_common::{ErrorExt, Session, StatusCode};
use strata_query::LiveLoad;
use strata_query::files::{FilesSource, ListedFile};
use strata_sql::{DataDesc, Statement};

use super::JobOptions;
use super::step::{files_props, format_of, source_fields, step_insert};
use crate::load::scheduler::{JobHandle, Stop};
use crate::load::{ERROR_BUDGET, Job, LoadSource, LoadSpec, Target, numbered};
use crate::{Frontend, FrontendError, Result, admin, insert};

/// How a job ended badly: the ERROR_MSG type and text.
struct Failure {
    kind: &'static str,
    msg: String,
    /// Rejected rows that caused it, kept with the cancelled job.
    errors: Vec<LoadError>,
}

impl Failure {
    fn new(kind: &'static str, msg: impl Into<String>) -> Self {
        Self {
            kind,
            msg: msg.into(),
            errors: Vec::new(),
        }
    }
}

/// Ends a job that has not ended as CANCELLED with `r` and deletes what it had staged.
pub(super) async fn cancel_job(
    fe: &Frontend,
    r: &LoadRecord,
    errors: &[LoadError],
) -> Result<bool> {
    let Some(retired) = fe.catalog.cancel_job(r.job_id, r, errors)? else {
        return Ok(false);
    };
    // No reader ever saw staged segments: delete them now rather than after the GC grace.
    if !retired.is_empty() {
        fe.store.delete(&retired).await?;
        fe.catalog.forget_gc_files(&retired)?;
    }
    Ok(true)
}

/// Runs job `job_id` to its end (or until shutdown stops it, leaving it to resume).
pub(crate) async fn run_job(fe: Arc<Frontend>, job_id: i64, handle: JobHandle) {
    let live = fe.live.start(job_id);
    let mut run = Run {
        fe: fe.clone(),
        job_id,
        handle,
        live: live.clone(),
        errors_kept: 0,
    };
    let outcome = run.run().await;
    let record = match fe.catalog.load_job(job_id) {
        Ok(Some(r)) => r,
        _ => {
            fe.live.finish(job_id);
            return;
        }
    };
    match outcome {
        Ok(()) => {}
        Err(_) if run.handle.stop() == Some(Stop::Shutdown) => {
            tracing::info!(
                job = job_id,
                "broker load stopped by shutdown; it resumes at restart"
            );
        }
        Err(f) => {
            let mut r = record;
            run.counters_into(&mut r);
            r.load_finish_time = Some(now_string());
            r.error_msg = Some(format!("type:{}; msg:{}", f.kind, f.msg));
            match cancel_job(&fe, &r, &f.errors).await {
                Ok(true) => tracing::info!(job = job_id, error = %f.msg, "broker load cancelled"),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(job = job_id, error = %e, "could not record a cancelled broker load")
                }
            }
        }
    }
    fe.live.finish(job_id);
}

struct Run {
    fe: Arc<Frontend>,
    job_id: i64,
    handle: JobHandle,
    live: Arc<LiveLoad>,
    errors_kept: usize,
}

impl Run {
    fn counters_into(&self, r: &mut LoadRecord) {
        let l = &self.live;
        r.scan_rows = l.scan_rows.load(Ordering::Relaxed);
        r.scan_bytes = l.scan_bytes.load(Ordering::Relaxed);
        r.filtered_rows = l.filtered_rows.load(Ordering::Relaxed);
        r.unselected_rows = l.unselected_rows.load(Ordering::Relaxed);
        r.sink_rows = l.sink_rows.load(Ordering::Relaxed);
    }

    fn counters(&self) -> StepCounters {
        let l = &self.live;
        StepCounters {
            scan_rows: l.scan_rows.load(Ordering::Relaxed),
            scan_bytes: l.scan_bytes.load(Ordering::Relaxed),
            filtered_rows: l.filtered_rows.load(Ordering::Relaxed),
            unselected_rows: l.unselected_rows.load(Ordering::Relaxed),
            sink_rows: l.sink_rows.load(Ordering::Relaxed),
        }
    }

    /// The error a stopped job ends with, by why it stopped.
    fn stopped(&self, timeout_s: u64) -> Failure {
        match self.handle.stop() {
            Some(Stop::Timeout) => Failure::new(
                "TIMEOUT",
                format!(
                    "the job reached its timeout of {timeout_s} seconds; increase the 'timeout' property"
                ),
            ),
            Some(Stop::Shutdown) => Failure::new("UNKNOWN", "the server is shutting down"),
            _ => Failure::new("USER_CANCEL", "user cancelled"),
        }
    }

    async fn run(&mut self) -> std::result::Result<(), Failure> {
        let fe = self.fe.clone();
        let job_id = self.job_id;
        let began = std::time::Instant::now();
        let record = match fe.catalog.load_job(job_id) {
            Ok(Some(r)) => r,
            Ok(None) => return Err(Failure::new("UNKNOWN", "the job vanished")),
            Err(e) => return Err(Failure::new("UNKNOWN", e.to_string())),
        };
        let text = fe
            .sealer
            .statement(&record.sql, record.sealed_sql.as_deref())
            .map_err(|e| Failure::new("ETL_SUBMIT_FAIL", e.to_string()))?;
        let stmt = match strata_sql::parse_sql(&text).as_deref() {
            Ok([Statement::Load(l)]) => (**l).clone(),
            _ => {
                return Err(Failure::new(
                    "ETL_SUBMIT_FAIL",
                    "the job's statement could not be read back",
                ));
            }
        };
        let db = stmt.db.clone().unwrap_or_else(|| record.db_name.clone());
        // The job runs as the user who submitted it, with what that user holds now.
        let tables: Vec<&str> = stmt.data.iter().map(|d| d.table.as_str()).collect();
        crate::privilege::check_owner_inserts(&fe, &record.owner, &db, &tables)
            .map_err(|e| Failure::new("ETL_RUN_FAIL", e.to_string()))?;
        let opts = JobOptions::parse(&fe, &stmt.properties)
            .map_err(|e| Failure::new("ETL_SUBMIT_FAIL", e.to_string()))?;
        let deadline = deadline_of(&record);
        self.handle.set_deadline(deadline);
        if tokio::time::Instant::now() >= deadline {
            return Err(self.stopped_as(Stop::Timeout, opts.timeout_s));
        }
        if !fe
            .catalog
            .set_job_state(job_id, "LOADING", &now_string())
            .map_err(|e| Failure::new("UNKNOWN", e.to_string()))?
        {
            // Cancelled while it waited.
            return Ok(());
        }
        let mut session = Session::new(0, record.owner.clone());
        session.database = Some(db.clone());
        if let Some(tz) = &opts.timezone {
            session.vars.set("time_zone", tz.clone());
        }
        // What earlier runs finished.
        let staged = fe
            .catalog
            .staged_steps(job_id)
            .map_err(|e| Failure::new("UNKNOWN", e.to_string()))?;
        let mut done: HashSet<(usize, String)> = HashSet::new();
        let mut restored = StepCounters::default();
        let mut next_step = 0;
        let (mut files_done, mut bytes_done) = (0u64, 0u64);
        for s in &staged {
            restored.add(&s.counters);
            for f in &s.files {
                done.insert((s.clause, f.clone()));
            }
            files_done += s.files.len() as u64;
            bytes_done += s.file_bytes;
            next_step = next_step.max(s.step + 1);
        }
        {
            let l = &self.live;
            l.scan_rows.store(restored.scan_rows, Ordering::Relaxed);
            l.scan_bytes.store(restored.scan_bytes, Ordering::Relaxed);
            l.filtered_rows
                .store(restored.filtered_rows, Ordering::Relaxed);
            l.unselected_rows
                .store(restored.unselected_rows, Ordering::Relaxed);
            l.sink_rows.store(restored.sink_rows, Ordering::Relaxed);
        }
        if !staged.is_empty() {
            tracing::info!(
                job = job_id,
                steps = staged.len(),
                files = files_done,
                "broker load resumes"
            );
        }
        let step_bytes: u64 = admin::config_value(&fe, "broker_load_step_bytes")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|b| *b > 0)
            .unwrap_or(256 << 20);
        // List every clause first: FileNumber/FileSize and PROGRESS cover the whole job.
        let mut listings = Vec::new();
        for d in &stmt.data {
            let table = fe
                .catalog
                .get_table(&db, &d.table)
                .map_err(|e| Failure::new("ETL_RUN_FAIL", e.to_string()))?
                .ok_or_else(|| {
                    Failure::new(
                        "ETL_RUN_FAIL",
                        format!(
                            "Unknown table '{db}.{}': it was dropped since the job was submitted",
                            d.table
                        ),
                    )
                })?;
            let props = files_props(&stmt, d, &table, &opts)
                .and_then(|p| fe.access.check(&p).map(|()| p))
                .map_err(|e| Failure::new("ETL_RUN_FAIL", e.to_string()))?;
            tracing::debug!(
                job = job_id,
                ms = began.elapsed().as_millis() as u64,
                "broker load: listing"
            );
            let listed = tokio::select! {
                r = FilesSource::list(&props) => r,
                () = self.handle.cancelled() => return Err(self.stopped(opts.timeout_s)),
            };
            let files = listed.map_err(|e| {
                if e.status_code() == StatusCode::FileNotFound {
                    Failure::new(
                        "ETL_RUN_FAIL",
                        format!("No source file in this table({}). {e}", d.table),
                    )
                } else {
                    Failure::new("ETL_RUN_FAIL", format!("listPath failed: {e}"))
                }
            })?;
            listings.push((table, props, files));
        }
        let total_files: u64 = listings.iter().map(|(_, _, f)| f.len() as u64).sum();
        let total_bytes: u64 = listings
            .iter()
            .flat_map(|(_, _, f)| f.iter().map(|x| x.size))
            .sum();
        self.live
            .bytes_total
            .store(total_bytes.max(1), Ordering::Relaxed);
        self.live.bytes_done.store(bytes_done, Ordering::Relaxed);
        self.live.files_total.store(total_files, Ordering::Relaxed);
        let mut tables: Vec<(i64, String)> = Vec::new();
        // Every step of every clause, in order.
        let mut plan = Vec::new();
        for (ci, (d, (table, props, files))) in stmt.data.iter().zip(listings).enumerate() {
            if !tables.iter().any(|(id, _)| *id == table.id) {
                tables.push((table.id, table.name.clone()));
            }
            let todo: Vec<ListedFile> = files
                .into_iter()
                .filter(|f| !done.contains(&(ci, f.name.clone())))
                .collect();
            for group in steps_of(todo, step_bytes) {
                plan.push((ci, d, table.clone(), props.clone(), group));
            }
        }
        // Every step but the last is staged as it ends; the last one's segments go straight
        // into the commit (one catalog transaction fewer; a crash during it re-reads only it).
        let steps = plan.len();
        let mut last = None;
        for (i, (ci, d, table, props, group)) in plan.into_iter().enumerate() {
            let ran = self
                .run_step(
                    &session,
                    &db,
                    d,
                    ci,
                    &table,
                    &props,
                    group,
                    next_step,
                    &opts,
                    i + 1 == steps,
                )
                .await?;
            last = ran.or(last);
            next_step += 1;
        }
        // The quality check over the whole job.
        let c = self.counters();
        let considered = c.scan_rows.saturating_sub(c.unselected_rows);
        if c.filtered_rows > 0
            && (c.filtered_rows as f64) > opts.max_filter_ratio * considered as f64
        {
            return Err(Failure::new(
                "ETL_QUALITY_UNSATISFIED",
                format!(
                    "quality not good enough to cancel: {} of {considered} rows were rejected, more than max_filter_ratio {} allows; see select * from information_schema.load_errors where job_id={job_id}",
                    c.filtered_rows, opts.max_filter_ratio
                ),
            ));
        }
        if self.handle.is_cancelled() {
            return Err(self.stopped(opts.timeout_s));
        }
        let mut r = record.clone();
        self.counters_into(&mut r);
        r.file_number = total_files;
        r.file_size = total_bytes;
        r.sink_bytes = 0;
        r.load_finish_time = Some(now_string());
        let (last, last_errors) = last.unwrap_or_default();
        tracing::debug!(
            job = job_id,
            ms = began.elapsed().as_millis() as u64,
            "broker load: rows written"
        );
        let committed = fe
            .catalog
            .commit_job(job_id, &tables, &r, Some(&last), &last_errors);
        if let Err(e @ CatalogError::CommitUnknown(_)) = &committed {
            // The catalog cannot say whether it landed: the files stay for start-up to settle
            // (the job resumes, or has committed).
            return Err(Failure::new("LOAD_RUN_FAIL", e.to_string()));
        }
        if committed.is_err() {
            // Not committed: the last step's segments are nobody's.
            let paths: Vec<String> = last.segments.into_iter().map(|(_, s)| s.path).collect();
            if let Err(e) = fe.store.delete(&paths).await {
                tracing::warn!(error = %e, "could not delete the segments of an uncommitted step");
            }
        }
        match committed {
            Ok(txn) => {
                tracing::info!(
                    job = job_id,
                    txn,
                    rows = r.sink_rows,
                    "broker load finished"
                );
                Ok(())
            }
            Err(strata_catalog::CatalogError::LoadEnded { .. }) => Ok(()),
            Err(e) => Err(Failure::new("LOAD_RUN_FAIL", e.to_string())),
        }
    }

    fn stopped_as(&mut self, stop: Stop, timeout_s: u64) -> Failure {
        self.handle.stop_with(stop);
        self.stopped(timeout_s)
    }

    /// Reads one group of files of clause `ci` into segments: staged with the job, or, for the
    /// job's `last` step, returned (with its rejected rows) for the commit to publish.
    #[allow(clippy::too_many_arguments)]
    async fn run_step(
        &mut self,
        session: &Session,
        db: &str,
        d: &DataDesc,
        ci: usize,
        table: &TableMeta,
        props: &[(String, String)],
        files: Vec<ListedFile>,
        step: i64,
        opts: &JobOptions,
        last: bool,
    ) -> std::result::Result<Option<(StagedStep, Vec<LoadError>)>, Failure> {
        let fe = self.fe.clone();
        if self.handle.is_cancelled() {
            return Err(self.stopped(opts.timeout_s));
        }
        let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        let file_bytes: u64 = files.iter().map(|f| f.size).sum();
        let shown = match names.as_slice() {
            [one] => one.clone(),
            [first, ..] => format!("{first} and {} more file(s)", names.len() - 1),
            [] => String::new(),
        };
        let csv = format_of(d).map_err(|e| Failure::new("ETL_RUN_FAIL", e.to_string()))? == "csv";
        let csv_columns = csv.then(|| {
            d.columns
                .as_ref()
                .map(Vec::len)
                .unwrap_or(table.def.columns.len())
        });
        let load_fail = |e: FrontendError| Failure::new("LOAD_RUN_FAIL", e.to_string());
        let source = tokio::select! {
            r = FilesSource::resolve_listed(props, files, csv_columns) => r,
            () = self.handle.cancelled() => return Err(self.stopped(opts.timeout_s)),
        };
        let source = Arc::new(source.map_err(|e| load_fail(e.into()))?);
        let file_cols: Vec<String> = source
            .columns
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| !d.columns_from_path.contains(n))
            .collect();
        let fields = source_fields(d, table, csv, &file_cols, &shown).map_err(load_fail)?;
        let ins = step_insert(db, d, table, &fields, csv).map_err(load_fail)?;
        let (planned, converter) =
            insert::plan_load(&fe, session, &ins, table, opts.strict, vec![source.clone()])
                .await
                .map_err(load_fail)?;
        let load_source = LoadSource::new(planned, &converter)
            .await
            .map_err(load_fail)?;
        // Progress of this step.
        let before = self.counters();
        let l = self.live.clone();
        l.step_bytes.store(file_bytes, Ordering::Relaxed);
        l.step_scan_base.store(before.scan_rows, Ordering::Relaxed);
        l.expected_rows
            .store(source.known_rows.unwrap_or(0), Ordering::Relaxed);
        let unread_before = l.unread_rows.load(Ordering::Relaxed);
        let remaining = self
            .handle
            .deadline()
            .saturating_duration_since(tokio::time::Instant::now())
            .as_secs()
            .max(1);
        let spec = LoadSpec {
            label: String::new(),
            target: Target::Existing(table.clone()),
            overwrite: false,
            strict: opts.strict,
            max_filter_ratio: opts.max_filter_ratio,
            timeout_s: remaining,
            load_type: "BROKER",
            sql: String::new(),
            cancel: self.handle.token(),
        };
        let mut job = Job::attach(&fe, spec, self.job_id, self.live.clone());
        job.set_deadline(self.handle.deadline());
        let mut errors: Vec<LoadError> = Vec::new();
        tracing::debug!(job = self.job_id, "broker load: step planned");
        let written = job.write(load_source, converter, &mut errors).await;
        let errors = self.keep(errors);
        let segments = match written {
            Ok(s) => s,
            Err(e) => {
                if self.handle.is_cancelled() {
                    return Err(self.stopped(opts.timeout_s));
                }
                if tokio::time::Instant::now() + std::time::Duration::from_millis(100)
                    >= self.handle.deadline()
                {
                    return Err(self.stopped_as(Stop::Timeout, opts.timeout_s));
                }
                if e.status_code() == StatusCode::LoadFiltered {
                    // A rejected row at zero tolerance: the row is named in load_errors.
                    let first = errors
                        .first()
                        .map(|e| format!("; first rejected row: {}", e.describe()))
                        .unwrap_or_default();
                    let mut f = Failure::new(
                        "ETL_QUALITY_UNSATISFIED",
                        format!(
                            "quality not good enough to cancel: rows were rejected and max_filter_ratio is {}{first}; see select * from information_schema.load_errors where job_id={}",
                            opts.max_filter_ratio, self.job_id
                        ),
                    );
                    f.errors = errors;
                    return Err(f);
                }
                return Err(load_fail(e));
            }
        };
        let after = self.counters();
        let unread = l.unread_rows.load(Ordering::Relaxed) - unread_before;
        let converted = (after.scan_rows - before.scan_rows).saturating_sub(unread);
        let unselected = source.rows_read().saturating_sub(converted + unread);
        l.unselected_rows.fetch_add(unselected, Ordering::Relaxed);
        l.scan_rows.fetch_add(unselected, Ordering::Relaxed);
        let after = self.counters();
        let counters = StepCounters {
            scan_rows: after.scan_rows - before.scan_rows,
            scan_bytes: after.scan_bytes - before.scan_bytes,
            filtered_rows: after.filtered_rows - before.filtered_rows,
            unselected_rows: after.unselected_rows - before.unselected_rows,
            sink_rows: after.sink_rows - before.sink_rows,
        };
        let staged = StagedStep {
            step,
            clause: ci,
            files: names,
            file_bytes,
            counters,
            segments: segments.iter().map(|s| (table.id, s.clone())).collect(),
        };
        if last {
            return Ok(Some((staged, errors)));
        }
        let stage = fe.catalog.stage_step(self.job_id, &staged, &errors);
        if let Err(e @ CatalogError::CommitUnknown(_)) = &stage {
            // Whether the step landed is unknown: its files stay for start-up to settle.
            return Err(Failure::new("LOAD_RUN_FAIL", e.to_string()));
        }
        if let Err(e) = stage {
            let paths: Vec<String> = segments.into_iter().map(|s| s.path).collect();
            if let Err(de) = fe.store.delete(&paths).await {
                tracing::warn!(error = %de, "could not delete the segments of an unstaged step");
            }
            return Err(match e {
                strata_catalog::CatalogError::LoadEnded { .. } => self.stopped(opts.timeout_s),
                other => Failure::new("LOAD_RUN_FAIL", other.to_string()),
            });
        }
        l.bytes_done.fetch_add(file_bytes, Ordering::Relaxed);
        l.step_bytes.store(0, Ordering::Relaxed);
        l.expected_rows.store(0, Ordering::Relaxed);
        Ok(None)
    }

    /// The rejected rows to keep of a step's, within the job's budget.
    fn keep(&mut self, errors: Vec<LoadError>) -> Vec<LoadError> {
        let mut errors = numbered(errors, self.job_id);
        errors.truncate(ERROR_BUDGET.saturating_sub(self.errors_kept));
        self.errors_kept += errors.len();
        errors
    }
}

/// When a job times out: its submission plus its timeout, as StarRocks counts it (queueing
/// and the time before a restart count too).
pub(crate) fn deadline_of(r: &LoadRecord) -> tokio::time::Instant {
    let created = chrono::NaiveDateTime::parse_from_str(&r.create_time, "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
        .map(|t| t.timestamp())
        .unwrap_or_else(|| chrono::Local::now().timestamp());
    let timeout = i64::try_from(r.timeout_s).unwrap_or(i64::MAX);
    let left = created
        .saturating_add(timeout)
        .saturating_sub(chrono::Local::now().timestamp());
    let now = tokio::time::Instant::now();
    if left <= 0 {
        now
    } else {
        now + std::time::Duration::from_secs(left as u64)
    }
}

/// Groups files, in listing order, into steps of at least `bytes` (the last may be less).
fn steps_of(files: Vec<ListedFile>, bytes: u64) -> Vec<Vec<ListedFile>> {
    let mut out = Vec::new();
    let (mut cur, mut size) = (Vec::new(), 0u64);
    for f in files {
        size += f.size;
        cur.push(f);
        if size >= bytes {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
