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

use strata_catalog::{LoadRecord, now_string};
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_query::files::FilesSource;
use strata_sql::{LoadStmt, Statement};

use super::scheduler::Stop;
use crate::{Frontend, FrontendError, Result, admin, insert};

mod run;
mod step;

use run::cancel_job;
pub(crate) use run::{deadline_of, run_job};
use step::{files_props, format_of, source_fields, step_insert};

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
        sql: String::new(),
        priority: opts.priority,
        owner: crate::privilege::Identity::of(session).owner_string(),
        ..Default::default()
    };
    // Credentials sealed apart; `sql` has them masked.
    let (masked, sealed) = fe.sealer.keep(&text)?;
    let record = LoadRecord {
        sql: masked,
        sealed_sql: sealed,
        ..record
    };
    let job_id = fe.catalog.submit_job(&record)?;
    tracing::info!(job = job_id, label = %record.label, "broker load submitted");
    fe.jobs.wake();
    Ok(Output::ok())
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
