//! Broker Load: `LOAD LABEL … WITH BROKER` submits a job; the scheduler runs it here.
//!
//! Submission checks everything it can without reading data (database, tables, columns,
//! properties, paths) and records the job PENDING under its label with the statement, its
//! database written in. The job then runs without a session: each `DATA INFILE` clause lists
//! its files and reads them in *steps* (groups of about `broker_load_step_bytes`), each step
//! the same pipeline an `INSERT … SELECT … FROM FILES()` runs, over exactly its files. A step's
//! segments are *staged* with the job (recorded, not visible) together with its files and
//! counters, so a job stopped by a restart resumes after its last finished step. When every
//! clause is done, one catalog transaction makes every staged segment visible and the job
//! FINISHED. Failures end the job CANCELLED with `type:<TYPE>; msg:<text>`, its staged
//! segments retired.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use strata_catalog::{LoadError, LoadRecord, StagedStep, StepCounters, TableMeta, now_string};
use strata_common::{ErrorExt, Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_query::LiveLoad;
use strata_query::files::{FilesSource, ListedFile};
use strata_sql::sqlparser::ast as sp;
use strata_sql::{DataDesc, LoadStmt, Statement};

use super::scheduler::{JobHandle, Stop};
use super::{Job, LoadSource, LoadSpec, Target};
use crate::{Frontend, FrontendError, Result, admin, insert};

fn invalid(msg: impl Into<String>) -> FrontendError {
    FrontendError::new(StatusCode::InvalidArguments, msg)
}

/// A job's PROPERTIES, checked at submission.
#[derive(Debug, Clone)]
pub(crate) struct JobOptions {
    pub timeout_s: u64,
    pub max_filter_ratio: f64,
    pub strict: bool,
    pub timezone: Option<String>,
    pub priority: String,
    /// JSON: the file (or root) is one array of records.
    pub strip_outer_array: bool,
    /// JSON: `$.path` of the records.
    pub json_root: Option<String>,
    /// JSON: `["$.a", ...]`, one path per column.
    pub jsonpaths: Option<String>,
}

/// StarRocks' `max_load_timeout_second`.
const MAX_TIMEOUT_S: u64 = 259_200;

const PRIORITIES: &[&str] = &["LOWEST", "LOW", "NORMAL", "HIGH", "HIGHEST"];

/// Checks a priority name; returns it upper-case.
pub(crate) fn priority(v: &str) -> Result<String> {
    let p = v.to_ascii_uppercase();
    if PRIORITIES.contains(&p.as_str()) {
        Ok(p)
    } else {
        Err(invalid(format!(
            "priority '{v}' is invalid: it must be one of LOWEST, LOW, NORMAL, HIGH, HIGHEST"
        )))
    }
}

impl JobOptions {
    pub(crate) fn parse(fe: &Frontend, props: &[(String, String)]) -> Result<Self> {
        let default_timeout = admin::config_value(fe, "broker_load_default_timeout_second")?
            .parse()
            .unwrap_or(14400);
        let mut o = JobOptions {
            timeout_s: default_timeout,
            max_filter_ratio: 0.0,
            strict: false,
            timezone: None,
            priority: "NORMAL".into(),
            strip_outer_array: false,
            json_root: None,
            jsonpaths: None,
        };
        for (k, v) in props {
            match k.to_ascii_lowercase().as_str() {
                "timeout" => {
                    o.timeout_s = v
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|t| (1..=MAX_TIMEOUT_S).contains(t))
                        .ok_or_else(|| {
                            invalid(format!(
                                "timeout must be between 1 and {MAX_TIMEOUT_S} seconds (max_load_timeout_second): '{v}'"
                            ))
                        })?
                }
                "max_filter_ratio" => {
                    o.max_filter_ratio = v
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|r| (0.0..=1.0).contains(r))
                        .ok_or_else(|| {
                            invalid(format!("max_filter_ratio must between 0.0 and 1.0: '{v}'"))
                        })?
                }
                "strict_mode" => o.strict = insert::bool_property("strict_mode", v)?,
                "timezone" => {
                    if v.parse::<arrow::array::timezone::Tz>().is_err() {
                        return Err(invalid(format!("Unknown or incorrect time zone: '{v}'")));
                    }
                    o.timezone = Some(v.clone());
                }
                "load_mem_limit" | "exec_mem_limit" => {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| invalid(format!("{k} is not a number of bytes: '{v}'")))?;
                }
                "log_rejected_record_num" => {
                    v.trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= -1)
                        .ok_or_else(|| {
                            invalid(format!(
                                "log_rejected_record_num must be -1, 0 or a positive number: '{v}'"
                            ))
                        })?;
                }
                "priority" => o.priority = priority(v)?,
                "partial_update" => {
                    if insert::bool_property("partial_update", v)? {
                        return Err(FrontendError::new(
                            StatusCode::Unsupported,
                            "partial_update is not supported yet: Strata has no Primary Key tables",
                        ));
                    }
                }
                "strip_outer_array" => {
                    o.strip_outer_array = insert::bool_property("strip_outer_array", v)?;
                }
                "json_root" => o.json_root = Some(v.clone()),
                "jsonpaths" => o.jsonpaths = Some(v.clone()),
                "merge_condition" | "partial_update_mode" => {
                    return Err(FrontendError::new(
                        StatusCode::Unsupported,
                        format!(
                            "Broker Load property '{k}' is not supported yet: Strata has no Primary Key tables"
                        ),
                    ));
                }
                _ => return Err(invalid(format!("{k} is invalid property"))),
            }
        }
        Ok(o)
    }
}

/// Format of a clause: FORMAT AS, else by the first path's suffix (CSV by default).
fn format_of(d: &DataDesc) -> Result<String> {
    if let Some(f) = &d.format {
        let f = f.to_ascii_lowercase();
        return match f.as_str() {
            "csv" | "parquet" | "orc" | "json" => Ok(f),
            _ => Err(invalid(format!(
                "Unknown data format '{f}' in DATA INFILE for table {}; supported: CSV, PARQUET, ORC, JSON",
                d.table
            ))),
        };
    }
    let p = d.paths[0].to_ascii_lowercase();
    let p = [".gz", ".bz2", ".lz4", ".deflate", ".zst", ".zstd"]
        .iter()
        .find_map(|c| p.strip_suffix(c))
        .unwrap_or(&p);
    Ok(if p.ends_with(".parquet") {
        "parquet"
    } else if p.ends_with(".orc") {
        "orc"
    } else if p.ends_with(".json") || p.ends_with(".jsonl") {
        "json"
    } else {
        "csv"
    }
    .to_string())
}

/// The FILES() properties that read a clause's files.
fn files_props(
    stmt: &LoadStmt,
    d: &DataDesc,
    table: &TableMeta,
    opts: &JobOptions,
) -> Result<Vec<(String, String)>> {
    let format = format_of(d)?;
    let mut props = vec![
        ("path".to_string(), d.paths.join(",")),
        ("format".to_string(), format.clone()),
    ];
    for (k, v) in &stmt.broker_props {
        let key = k.to_ascii_lowercase();
        if !key.starts_with("aws.s3.") {
            return Err(FrontendError::new(
                StatusCode::Unsupported,
                format!(
                    "WITH BROKER property '{k}' is not supported: Strata reads S3-compatible storage (aws.s3.* keys) and local files"
                ),
            ));
        }
        props.push((key, v.clone()));
    }
    if format == "csv" {
        let sep = d.column_separator.clone().unwrap_or_else(|| "\t".into());
        props.push(("csv.column_separator".into(), sep));
        let rows = d.row_delimiter.clone().unwrap_or_else(|| "\n".into());
        props.push(("csv.row_delimiter".into(), rows));
        for (k, v) in &d.format_props {
            props.push((format!("csv.{k}"), v.clone()));
        }
    } else if d.column_separator.is_some()
        || d.row_delimiter.is_some()
        || !d.format_props.is_empty()
    {
        return Err(invalid(format!(
            "COLUMNS/ROWS TERMINATED BY and (skip_header, trim_space, enclose, escape) apply to CSV only; the clause for table {} reads {format}",
            d.table
        )));
    }
    if format == "json" {
        if opts.strip_outer_array {
            props.push(("json.strip_outer_array".into(), "true".into()));
        }
        if let Some(r) = &opts.json_root {
            props.push(("json.json_root".into(), r.clone()));
        }
        if let Some(p) = &opts.jsonpaths {
            // Each path gives the field of the column at its place in the column list (or
            // the table's columns).
            let names: Vec<String> = match &d.columns {
                Some(c) => c.clone(),
                None => table.def.columns.iter().map(|c| c.name.clone()).collect(),
            };
            props.push(("json.jsonpaths".into(), p.clone()));
            props.push(("json.jsonpath_names".into(), names.join(",")));
        }
    }
    if !d.columns_from_path.is_empty() {
        props.push(("columns_from_path".into(), d.columns_from_path.join(",")));
    }
    Ok(props)
}

fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// The source fields a clause reads: (name in SET/WHERE, file column it comes from).
/// `file_columns` are the columns of the clause's files (CSV: `$1..$n`).
fn source_fields(
    d: &DataDesc,
    table: &TableMeta,
    csv: bool,
    file_columns: &[String],
    files: &str,
) -> Result<Vec<(String, String)>> {
    let find = |name: &str| {
        file_columns
            .iter()
            .find(|c| c.eq_ignore_ascii_case(name))
            .cloned()
    };
    let mut out = Vec::new();
    match (&d.columns, csv) {
        (Some(cols), true) => {
            for (i, c) in cols.iter().enumerate() {
                out.push((c.clone(), format!("${}", i + 1)));
            }
        }
        (None, true) => {
            for (i, c) in table.def.columns.iter().enumerate() {
                out.push((c.name.clone(), format!("${}", i + 1)));
            }
        }
        (Some(cols), false) => {
            for c in cols {
                let file_col = find(c).ok_or_else(|| {
                    FrontendError::new(
                        StatusCode::ColumnNotFound,
                        format!(
                            "Column '{c}' of the column list is not in {files} (its columns: {})",
                            file_columns.join(", ")
                        ),
                    )
                })?;
                out.push((c.clone(), file_col));
            }
        }
        (None, false) => {
            for c in &table.def.columns {
                if let Some(f) = find(&c.name) {
                    out.push((c.name.clone(), f));
                }
            }
        }
    }
    for p in &d.columns_from_path {
        out.push((p.clone(), p.clone()));
    }
    Ok(out)
}

/// The SQL type a CSV field named after table column `ty` has inside SET and WHERE, as in
/// StarRocks where such a field is read as its column's type; `None`: it stays text.
fn typed_as(ty: &strata_common::types::SrType) -> Option<String> {
    use strata_common::types::SrType::*;
    Some(match ty {
        Boolean => "BOOLEAN".into(),
        TinyInt | SmallInt | Int | BigInt => "BIGINT".into(),
        Float | Double => "DOUBLE".into(),
        Decimal(p, s) => format!("DECIMAL({p}, {s})"),
        Date => "DATE".into(),
        Datetime => "TIMESTAMP".into(),
        _ => return None,
    })
}

/// SET and WHERE of a CSV clause see text fields; StarRocks reads a field named after a
/// table column as that column's type, and takes other (temporary) fields as numbers where
/// arithmetic needs them. So: a field named after a numeric, date or boolean column becomes
/// `TRY_CAST(field AS <type>)`, and a temporary field that is an operand of arithmetic
/// `TRY_CAST(field AS DOUBLE)`. A value that does not convert is NULL there; the field itself,
/// loaded into its own column, is still checked (and rejected in strict mode) by the load.
fn typed_fields(expr: &mut sp::Expr, table: &TableMeta, fields: &[(String, String)]) {
    use std::ops::ControlFlow;
    use strata_sql::sqlparser::ast::{BinaryOperator, visit_expressions_mut};

    let is_field = |e: &sp::Expr| match e {
        sp::Expr::Identifier(i) => fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&i.value))
            .map(|(n, _)| n.clone()),
        _ => None,
    };
    let cast = |name: &str, ty: &str| -> sp::Expr {
        let sql = format!("TRY_CAST({} AS {ty})", quote_ident(name));
        strata_sql::sqlparser::parser::Parser::new(&strata_sql::sqlparser::dialect::MySqlDialect {})
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_expr())
            .unwrap_or_else(|_| sp::Expr::Identifier(sp::Ident::new(name)))
    };
    let _ = visit_expressions_mut(expr, |e| {
        if let sp::Expr::BinaryOp { left, op, right } = e
            && matches!(
                op,
                BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Divide
                    | BinaryOperator::Modulo
            )
        {
            for side in [left, right] {
                if let Some(name) = is_field(side)
                    && table.def.column_index(&name).is_none()
                {
                    **side = cast(&name, "DOUBLE");
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(expr, |e| {
        if let Some(name) = is_field(e)
            && let Some(i) = table.def.column_index(&name)
            && let Some(ty) = typed_as(&table.def.columns[i].ty)
        {
            *e = cast(&name, &ty);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The INSERT one step of a clause runs: the clause's columns, SET and WHERE over a FILES()
/// call that [`FilesSource::resolve_listed`] resolves to the step's files.
fn step_insert(
    db: &str,
    d: &DataDesc,
    table: &TableMeta,
    fields: &[(String, String)],
    csv: bool,
) -> Result<strata_sql::Insert> {
    let mut d = d.clone();
    if csv {
        for (_, e) in &mut d.set {
            typed_fields(e, table, fields);
        }
        if let Some(w) = &mut d.filter {
            typed_fields(w, table, fields);
        }
    }
    let d = &d;
    let inner: Vec<String> = fields
        .iter()
        .map(|(name, col)| format!("{} AS {}", quote_ident(col), quote_ident(name)))
        .collect();
    let mut targets = Vec::new();
    let mut outer = Vec::new();
    for c in &d.set {
        if table.def.column_index(&c.0).is_none() {
            return Err(FrontendError::new(
                StatusCode::ColumnNotFound,
                format!(
                    "Unknown column '{}' in SET of the clause for table '{}'",
                    c.0, table.name
                ),
            ));
        }
    }
    for col in &table.def.columns {
        if let Some((_, e)) = d
            .set
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(&col.name))
        {
            targets.push(quote_ident(&col.name));
            outer.push(strata_sql::expr_sql(e));
        } else if let Some((name, _)) = fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&col.name))
        {
            targets.push(quote_ident(&col.name));
            outer.push(format!("`__src`.{}", quote_ident(name)));
        }
    }
    if targets.is_empty() {
        return Err(invalid(format!(
            "the clause for table '{}' loads none of its columns: name them in the column list or SET",
            table.name
        )));
    }
    let filter = d
        .filter
        .as_ref()
        .map(|w| format!(" WHERE {}", strata_sql::expr_sql(w)))
        .unwrap_or_default();
    let sql = format!(
        "INSERT INTO {}.{} ({}) SELECT {} FROM (SELECT {} FROM FILES('path' = 'listed')) AS `__src`{filter}",
        quote_ident(db),
        quote_ident(&table.name),
        targets.join(", "),
        outer.join(", "),
        inner.join(", "),
    );
    let mut stmts = strata_sql::parse_sql(&sql).map_err(FrontendError::from)?;
    match (stmts.pop(), stmts.is_empty()) {
        (Some(Statement::Insert(ins)), true) => Ok(*ins),
        _ => Err(FrontendError::new(
            StatusCode::Internal,
            "a Broker Load step did not plan as an INSERT",
        )),
    }
}

/// `LOAD LABEL`: checks the statement, records the job PENDING and returns at once.
pub(crate) async fn submit(fe: &Frontend, session: &Session, mut stmt: LoadStmt) -> Result<Output> {
    let db = crate::executor::database_of(session, stmt.db.as_deref())?.to_string();
    if !fe.catalog.database_exists(&db)? {
        return Err(strata_catalog::CatalogError::UnknownDatabase(db).into());
    }
    insert::check_label(&stmt.label)?;
    let opts = JobOptions::parse(fe, &stmt.properties)?;
    let mut tables: Vec<String> = Vec::new();
    for d in &stmt.data {
        let table = fe.catalog.get_table(&db, &d.table)?.ok_or_else(|| {
            strata_catalog::CatalogError::UnknownTable {
                db: db.clone(),
                table: d.table.clone(),
            }
        })?;
        let props = files_props(&stmt, d, &table, &opts)?;
        fe.access.check(&props)?;
        FilesSource::check(&props)?;
        // The INSERT of a step must plan; checked here with the columns the files would
        // have, so a bad SET or WHERE is refused now rather than when the job runs.
        let csv = format_of(d)? == "csv";
        if csv || d.columns.is_some() {
            let names: Vec<String> = match &d.columns {
                Some(c) => (1..=c.len()).map(|i| format!("${i}")).collect(),
                None => (1..=table.def.columns.len())
                    .map(|i| format!("${i}"))
                    .collect(),
            };
            let file_cols = if csv {
                names
            } else {
                d.columns.clone().unwrap_or_default()
            };
            let fields = source_fields(d, &table, csv, &file_cols, "the files")?;
            step_insert(&db, d, &table, &fields, csv)?;
        }
        if !tables.contains(&table.name) {
            tables.push(table.name.clone());
        }
    }
    stmt.db = Some(db.clone());
    // The job is kept as its statement's text and read back when it runs (and after a
    // restart): it must read back as exactly this statement.
    let text = stmt.to_string();
    match strata_sql::parse_sql(&text).as_deref() {
        Ok([Statement::Load(back)]) if **back == stmt => {}
        _ => {
            return Err(FrontendError::new(
                StatusCode::Internal,
                "this LOAD statement cannot be stored for its job (it does not read back as itself); please report it",
            ));
        }
    }
    let record = LoadRecord {
        label: stmt.label.clone(),
        db_name: db,
        table_name: tables.join(","),
        state: "PENDING".into(),
        load_type: "BROKER".into(),
        timeout_s: opts.timeout_s,
        max_filter_ratio: opts.max_filter_ratio,
        create_time: now_string(),
        sql: text,
        priority: opts.priority,
        owner: session.user.clone(),
        ..Default::default()
    };
    let job_id = fe.catalog.submit_job(&record)?;
    tracing::info!(job = job_id, label = %record.label, "broker load submitted");
    fe.jobs.wake();
    Ok(Output::ok())
}

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
async fn cancel_job(fe: &Frontend, r: &LoadRecord, errors: &[LoadError]) -> Result<bool> {
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
        let stmt = match strata_sql::parse_sql(&record.sql).as_deref() {
            Ok([Statement::Load(l)]) => (**l).clone(),
            _ => {
                return Err(Failure::new(
                    "ETL_SUBMIT_FAIL",
                    "the job's statement could not be read back",
                ));
            }
        };
        let db = stmt.db.clone().unwrap_or_else(|| record.db_name.clone());
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
            listings.push((props, files));
        }
        let total_files: u64 = listings.iter().map(|(_, f)| f.len() as u64).sum();
        let total_bytes: u64 = listings
            .iter()
            .flat_map(|(_, f)| f.iter().map(|x| x.size))
            .sum();
        self.live
            .bytes_total
            .store(total_bytes.max(1), Ordering::Relaxed);
        self.live.bytes_done.store(bytes_done, Ordering::Relaxed);
        self.live.files_total.store(total_files, Ordering::Relaxed);
        let mut tables: Vec<(i64, String)> = Vec::new();
        // Every step of every clause, in order.
        let mut plan = Vec::new();
        for (ci, (d, (props, files))) in stmt.data.iter().zip(listings).enumerate() {
            let table = fe
                .catalog
                .get_table(&db, &d.table)
                .map_err(|e| Failure::new("LOAD_RUN_FAIL", e.to_string()))?
                .ok_or_else(|| {
                    Failure::new(
                        "LOAD_RUN_FAIL",
                        format!(
                            "table {db}.{} was dropped while the job ran; nothing was committed",
                            d.table
                        ),
                    )
                })?;
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
        if let Err(e) = fe.catalog.stage_step(self.job_id, &staged, &errors) {
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
        let mut errors = super::numbered(errors, self.job_id);
        errors.truncate(super::ERROR_BUDGET.saturating_sub(self.errors_kept));
        self.errors_kept += errors.len();
        errors
    }
}

/// When a job times out: its submission plus its timeout, as StarRocks counts it (queueing
/// and the time before a restart count too).
pub(super) fn deadline_of(r: &LoadRecord) -> tokio::time::Instant {
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

/// `CANCEL LOAD [FROM db] WHERE LABEL = 'l'`.
pub(crate) async fn cancel(
    fe: &Frontend,
    session: &Session,
    c: strata_sql::CancelLoad,
) -> Result<Output> {
    let db = crate::executor::database_of(session, c.db.as_deref())?.to_string();
    let job = fe.catalog.find_job(&db, &c.label)?.ok_or_else(|| {
        strata_catalog::CatalogError::UnknownLoad {
            db: db.clone(),
            label: c.label.clone(),
        }
    })?;
    if matches!(job.state.as_str(), "FINISHED" | "CANCELLED") || job.load_type != "BROKER" {
        return Err(strata_catalog::CatalogError::LoadEnded {
            label: c.label,
            state: job.state,
        }
        .into());
    }
    if fe.jobs.cancel(job.job_id, Stop::User) {
        // Running: it stops, deletes what it wrote and records itself CANCELLED.
        fe.jobs
            .wait_stopped(job.job_id, std::time::Duration::from_secs(10))
            .await;
        return Ok(Output::ok());
    }
    let mut r = job.clone();
    r.load_finish_time = Some(now_string());
    r.error_msg = Some("type:USER_CANCEL; msg:user cancelled".into());
    if !cancel_job(fe, &r, &[]).await? {
        return Err(strata_catalog::CatalogError::LoadEnded {
            label: c.label,
            state: "FINISHED".into(),
        }
        .into());
    }
    Ok(Output::ok())
}

/// `ALTER LOAD FOR [db.]label PROPERTIES ("priority" = "...")`.
pub(crate) fn alter(fe: &Frontend, session: &Session, a: strata_sql::AlterLoad) -> Result<Output> {
    let db = crate::executor::database_of(session, a.db.as_deref())?.to_string();
    let job = fe.catalog.find_job(&db, &a.label)?.ok_or_else(|| {
        strata_catalog::CatalogError::UnknownLoad {
            db: db.clone(),
            label: a.label.clone(),
        }
    })?;
    for (k, v) in &a.properties {
        if !k.eq_ignore_ascii_case("priority") {
            return Err(invalid(format!(
                "{k} is invalid property; ALTER LOAD changes priority only"
            )));
        }
        let p = priority(v)?;
        if !fe.catalog.set_job_priority(job.job_id, &p)? {
            return Err(strata_catalog::CatalogError::LoadEnded {
                label: a.label.clone(),
                state: job.state.clone(),
            }
            .into());
        }
    }
    fe.jobs.wake();
    Ok(Output::ok())
}
