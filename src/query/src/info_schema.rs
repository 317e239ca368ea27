//! `information_schema`: StarRocks' `loads` (layout A), Strata's `load_errors`, pipes and
//! processes; the MySQL dictionary views tools read are in [`dictionary`].

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::catalog::{MemTable, TableProvider};
use strata_catalog::{Catalog, LoadRecord};

use crate::{LiveLoads, Processes};

mod dictionary;

/// The schema name.
pub const NAME: &str = "information_schema";
/// Tables it has.
pub const TABLES: &[&str] = &[
    "loads",
    "load_errors",
    "load_tracking_logs",
    "processlist",
    "pipes",
    "pipe_files",
    "schemata",
    "tables",
    "columns",
    "views",
    "statistics",
    "routines",
    "tables_config",
    "materialized_views",
];

/// What `information_schema`'s tables are made from, and who is looking.
pub struct Sources<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Running loads.
    pub live: &'a LiveLoads,
    /// Open connections.
    pub processes: &'a Processes,
    /// The user asking.
    pub user: &'a str,
    /// What the user asking may see.
    pub visible: Arc<dyn Visibility>,
}

/// What the user asking may see: the rest is left out of every table, as StarRocks does.
pub trait Visibility: Send + Sync {
    /// Holds a privilege on the database or on something in it.
    fn database(&self, db: &str) -> bool;
    /// Holds a privilege on the table.
    fn table(&self, db: &str, table: &str) -> bool;
    /// Holds a privilege on the pipe.
    fn pipe(&self, db: &str, pipe: &str) -> bool;
    /// Sees everyone's connections (else the user's own).
    fn all_processes(&self) -> bool;
}

/// Sees everything (root).
pub struct SeeAll;

impl Visibility for SeeAll {
    fn database(&self, _: &str) -> bool {
        true
    }
    fn table(&self, _: &str, _: &str) -> bool {
        true
    }
    fn pipe(&self, _: &str, _: &str) -> bool {
        true
    }
    fn all_processes(&self) -> bool {
        true
    }
}

/// Whether the user sees a load: it submitted it, or sees one of its tables.
pub fn sees_load(v: &dyn Visibility, user: &str, r: &LoadRecord) -> bool {
    r.owner == user
        || r.owner.split('@').next() == Some(user)
        || r.table_name
            .split(',')
            .any(|t| v.table(&r.db_name, t.trim()))
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Datetime,
}

enum Cell {
    S(Option<String>),
    I(Option<i64>),
}

fn s(v: impl Into<String>) -> Cell {
    Cell::S(Some(v.into()))
}

fn build(cols: &[(&str, Kind)], rows: Vec<Vec<Cell>>) -> Result<Arc<dyn TableProvider>, String> {
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len());
    let mut fields = Vec::with_capacity(cols.len());
    for (i, (name, kind)) in cols.iter().enumerate() {
        let array: ArrayRef = match kind {
            Kind::Int => Arc::new(Int64Array::from_iter(rows.iter().map(|r| match &r[i] {
                Cell::I(v) => *v,
                Cell::S(_) => None,
            }))),
            Kind::Str | Kind::Datetime => {
                let a: ArrayRef =
                    Arc::new(StringArray::from_iter(rows.iter().map(|r| match &r[i] {
                        Cell::S(v) => v.clone(),
                        Cell::I(v) => v.map(|x| x.to_string()),
                    })));
                if matches!(kind, Kind::Datetime) {
                    cast(&a, &DataType::Timestamp(TimeUnit::Microsecond, None))
                        .map_err(|e| e.to_string())?
                } else {
                    a
                }
            }
        };
        fields.push(Field::new(*name, array.data_type().clone(), true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())?;
    let t = MemTable::try_new(schema, vec![vec![batch]]).map_err(|e| e.to_string())?;
    Ok(Arc::new(t))
}

/// The provider for `information_schema.<name>`, or `None` for an unknown name.
pub fn table(name: &str, src: &Sources<'_>) -> Option<Result<Arc<dyn TableProvider>, String>> {
    let res = match name.to_ascii_lowercase().as_str() {
        "loads" => loads(src),
        "load_errors" => load_errors(src),
        "load_tracking_logs" => load_tracking_logs(src),
        "processlist" => processlist(src),
        "pipes" => pipes(src),
        "pipe_files" => pipe_files(src),
        "schemata" => dictionary::schemata(src),
        "tables" => dictionary::tables(src),
        "columns" => dictionary::columns(src),
        "views" => dictionary::views(src),
        "statistics" => dictionary::statistics(src),
        "routines" => dictionary::routines(src),
        "tables_config" => dictionary::tables_config(src),
        "materialized_views" => dictionary::materialized_views(src),
        _ => return None,
    };
    Some(res)
}

/// MySQL's `information_schema.processlist`: every connection (root) or the user's own.
fn processlist(src: &Sources<'_>) -> Result<Arc<dyn TableProvider>, String> {
    let cols = [
        ("ID", Kind::Int),
        ("USER", Kind::Str),
        ("HOST", Kind::Str),
        ("DB", Kind::Str),
        ("COMMAND", Kind::Str),
        ("TIME", Kind::Int),
        ("STATE", Kind::Str),
        ("INFO", Kind::Str),
    ];
    let rows = src
        .processes
        .rows(src.user, src.visible.all_processes())
        .into_iter()
        .map(|p| {
            vec![
                Cell::I(Some(i64::from(p.id))),
                s(p.user),
                s(p.host),
                Cell::S(p.db),
                s(p.command),
                Cell::I(Some(p.time as i64)),
                s(p.state),
                Cell::S(p.info),
            ]
        })
        .collect();
    build(&cols, rows)
}

/// The uuid StarRocks shows as load id: the label's own for `insert_<uuid>`.
fn load_id(r: &LoadRecord) -> String {
    r.label
        .strip_prefix("insert_")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:08x}-0000-0000-0000-{:012x}", r.job_id, r.txn_id))
}

/// JOB_DETAILS: compact JSON with StarRocks' keys in alphabetical order.
pub fn job_details(r: &LoadRecord) -> String {
    let id = load_id(r);
    let unfinished = if r.state == "LOADING" {
        "[10001]"
    } else {
        "[]"
    };
    format!(
        "{{\"All backends\":{{\"{id}\":[10001]}},\"FileNumber\":{},\"FileSize\":{},\
         \"InternalTableLoadBytes\":{},\"InternalTableLoadRows\":{},\"ScanBytes\":{},\
         \"ScanRows\":{},\"TaskNumber\":1,\"Unfinished backends\":{{\"{id}\":{unfinished}}}}}",
        r.file_number, r.file_size, r.sink_bytes, r.sink_rows, r.scan_bytes, r.scan_rows
    )
}

/// Java's rendering of a double, as in `max_filter_ratio:0.0`.
fn java_double(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

fn loads(src: &Sources<'_>) -> Result<Arc<dyn TableProvider>, String> {
    let (catalog, live) = (src.catalog, src.live);
    let cols = [
        ("JOB_ID", Kind::Int),
        ("LABEL", Kind::Str),
        ("DATABASE_NAME", Kind::Str),
        ("STATE", Kind::Str),
        ("PROGRESS", Kind::Str),
        ("TYPE", Kind::Str),
        ("PRIORITY", Kind::Str),
        ("SCAN_ROWS", Kind::Int),
        ("FILTERED_ROWS", Kind::Int),
        ("UNSELECTED_ROWS", Kind::Int),
        ("SINK_ROWS", Kind::Int),
        ("ETL_INFO", Kind::Str),
        ("TASK_INFO", Kind::Str),
        ("CREATE_TIME", Kind::Datetime),
        ("ETL_START_TIME", Kind::Datetime),
        ("ETL_FINISH_TIME", Kind::Datetime),
        ("LOAD_START_TIME", Kind::Datetime),
        ("LOAD_FINISH_TIME", Kind::Datetime),
        ("JOB_DETAILS", Kind::Str),
        ("ERROR_MSG", Kind::Str),
        ("TRACKING_URL", Kind::Str),
        ("TRACKING_SQL", Kind::Str),
        ("REJECTED_RECORD_PATH", Kind::Str),
    ];
    let records = catalog.list_loads().map_err(|e| e.to_string())?;
    let rows = records
        .into_iter()
        .filter(|r| sees_load(src.visible.as_ref(), src.user, r))
        .map(|mut r| {
            let progress = match r.state.as_str() {
                "FINISHED" => "ETL:100%; LOAD:100%".to_string(),
                "LOADING" => {
                    let pct = live.get(r.job_id).map(|l| {
                        r.scan_rows = l.scan_rows.load(std::sync::atomic::Ordering::Relaxed);
                        r.scan_bytes = l.scan_bytes.load(std::sync::atomic::Ordering::Relaxed);
                        r.filtered_rows =
                            l.filtered_rows.load(std::sync::atomic::Ordering::Relaxed);
                        r.sink_rows = l.sink_rows.load(std::sync::atomic::Ordering::Relaxed);
                        r.unselected_rows =
                            l.unselected_rows.load(std::sync::atomic::Ordering::Relaxed);
                        let files = l.files_total.load(std::sync::atomic::Ordering::Relaxed);
                        if files > 0 {
                            r.file_number = files;
                            r.file_size = l.bytes_total.load(std::sync::atomic::Ordering::Relaxed);
                        }
                        l.percent()
                    });
                    format!("ETL:100%; LOAD:{}%", pct.unwrap_or(0))
                }
                _ => "ETL:N/A; LOAD:N/A".to_string(),
            };
            let tracking_sql = (r.filtered_rows > 0).then(|| {
                format!(
                    "select * from information_schema.load_errors where job_id={}",
                    r.job_id
                )
            });
            vec![
                Cell::I(Some(r.job_id)),
                s(&r.label),
                s(&r.db_name),
                s(&r.state),
                s(progress),
                s(&r.load_type),
                s(if r.priority.is_empty() {
                    "NORMAL"
                } else {
                    &r.priority
                }),
                Cell::I(Some(r.scan_rows as i64)),
                Cell::I(Some(r.filtered_rows as i64)),
                Cell::I(Some(r.unselected_rows as i64)),
                Cell::I(Some(r.sink_rows as i64)),
                s(""),
                s(format!(
                    "resource:N/A; timeout(s):{}; max_filter_ratio:{}",
                    r.timeout_s,
                    java_double(r.max_filter_ratio)
                )),
                s(&r.create_time),
                Cell::S(r.load_start_time.clone()),
                Cell::S(r.load_start_time.clone()),
                Cell::S(r.load_start_time.clone()),
                Cell::S(r.load_finish_time.clone()),
                s(job_details(&r)),
                Cell::S(r.error_msg.clone()),
                Cell::S(None),
                Cell::S(tracking_sql),
                Cell::S(None),
            ]
        })
        .collect();
    build(&cols, rows)
}

fn load_errors(src: &Sources<'_>) -> Result<Arc<dyn TableProvider>, String> {
    let catalog = src.catalog;
    let cols = [
        ("JOB_ID", Kind::Int),
        ("LABEL", Kind::Str),
        ("DATABASE_NAME", Kind::Str),
        ("TABLE_NAME", Kind::Str),
        ("FILE", Kind::Str),
        ("ROW_NUMBER", Kind::Int),
        ("COLUMN_NAME", Kind::Str),
        ("VALUE", Kind::Str),
        ("REASON", Kind::Str),
    ];
    let loads = catalog.list_loads().map_err(|e| e.to_string())?;
    let jobs: std::collections::HashMap<i64, &LoadRecord> = loads
        .iter()
        .filter(|r| sees_load(src.visible.as_ref(), src.user, r))
        .map(|l| (l.job_id, l))
        .collect();
    let errors = catalog.list_load_errors().map_err(|e| e.to_string())?;
    let rows = errors
        .into_iter()
        .filter(|e| jobs.contains_key(&e.job_id))
        .map(|e| {
            let job = jobs.get(&e.job_id);
            vec![
                Cell::I(Some(e.job_id)),
                Cell::S(job.map(|j| j.label.clone())),
                Cell::S(job.map(|j| j.db_name.clone())),
                Cell::S(job.map(|j| j.table_name.clone())),
                s(e.file),
                Cell::I(Some(e.row as i64)),
                s(e.column),
                Cell::S(e.value),
                s(e.reason),
            ]
        })
        .collect();
    build(&cols, rows)
}

/// StarRocks' `load_tracking_logs` (3.x columns): one row per job that rejected rows, its
/// rejected rows as lines of text. `load_errors` has the same rows as columns.
fn load_tracking_logs(src: &Sources<'_>) -> Result<Arc<dyn TableProvider>, String> {
    let catalog = src.catalog;
    let cols = [
        ("JOB_ID", Kind::Int),
        ("LABEL", Kind::Str),
        ("DATABASE_NAME", Kind::Str),
        ("TRACKING_LOG", Kind::Str),
        ("TYPE", Kind::Str),
    ];
    let loads = catalog.list_loads().map_err(|e| e.to_string())?;
    let mut logs: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for e in catalog.list_load_errors().map_err(|e| e.to_string())? {
        let line = format!("Error: {}", e.describe());
        logs.entry(e.job_id).or_default().push(line);
    }
    let rows = loads
        .iter()
        .filter(|r| sees_load(src.visible.as_ref(), src.user, r))
        .filter_map(|l| {
            let lines = logs.remove(&l.job_id)?;
            Some(vec![
                Cell::I(Some(l.job_id)),
                s(&l.label),
                s(&l.db_name),
                s(lines.join("\n")),
                s(&l.load_type),
            ])
        })
        .collect();
    build(&cols, rows)
}

/// A pipe's LOAD_STATUS JSON: `{"loadedFiles":n,"loadedBytes":b,"loadingFiles":l,
/// "lastLoadedTime":"..."}` (the last key only once something loaded).
pub fn pipe_load_status(p: &strata_catalog::PipeMeta, loading: u64) -> String {
    // StarRocks' key order (a serde_json map would sort them).
    let mut out = format!(
        "{{\"loadedFiles\":{},\"loadedBytes\":{},\"loadingFiles\":{loading}",
        p.loaded_files, p.loaded_bytes
    );
    if let Some(t) = &p.last_loaded_time {
        out.push_str(&format!(
            ",\"lastLoadedTime\":{}",
            serde_json::Value::from(t.as_str())
        ));
    }
    out.push('}');
    out
}

/// `information_schema.pipes`: StarRocks' 3.2/3.3 columns, then Strata's backlog.
fn pipes(src: &Sources<'_>) -> Result<Arc<dyn TableProvider>, String> {
    let catalog = src.catalog;
    let cols = [
        ("DATABASE_NAME", Kind::Str),
        ("PIPE_ID", Kind::Int),
        ("PIPE_NAME", Kind::Str),
        ("STATE", Kind::Str),
        ("TABLE_NAME", Kind::Str),
        ("LOAD_STATUS", Kind::Str),
        ("LAST_ERROR", Kind::Str),
        ("CREATED_TIME", Kind::Datetime),
        ("UNLOADED_FILES", Kind::Int),
        ("UNLOADED_BYTES", Kind::Int),
        ("LOADING_FILES", Kind::Int),
        ("FINISHED_FILES", Kind::Int),
        ("ERROR_FILES", Kind::Int),
        ("SKIPPED_FILES", Kind::Int),
        ("OLDEST_UNLOADED_AGE_S", Kind::Int),
    ];
    let mut rows = Vec::new();
    for p in catalog.list_pipes().map_err(|e| e.to_string())? {
        if !src.visible.pipe(&p.db, &p.name) {
            continue;
        }
        let c = catalog.pipe_counts(p.id).map_err(|e| e.to_string())?;
        let last_error = p
            .last_error
            .as_ref()
            .map(|(m, t)| serde_json::json!({"errorMessage": m, "errorTime": t}).to_string());
        rows.push(vec![
            s(&p.db),
            Cell::I(Some(p.id)),
            s(&p.name),
            s(&p.state),
            s(&p.table_name),
            s(pipe_load_status(&p, c.loading)),
            Cell::S(last_error),
            s(&p.created_time),
            Cell::I(Some(c.unloaded as i64)),
            Cell::I(Some(c.unloaded_bytes as i64)),
            Cell::I(Some(c.loading as i64)),
            Cell::I(Some(c.finished as i64)),
            Cell::I(Some(c.error as i64)),
            Cell::I(Some(c.skipped as i64)),
            Cell::I(Some(c.oldest_unloaded_age_s)),
        ]);
    }
    build(&cols, rows)
}

/// `information_schema.pipe_files`: one row per file version a pipe has seen.
fn pipe_files(src: &Sources<'_>) -> Result<Arc<dyn TableProvider>, String> {
    let catalog = src.catalog;
    let cols = [
        ("DATABASE_NAME", Kind::Str),
        ("PIPE_ID", Kind::Int),
        ("PIPE_NAME", Kind::Str),
        ("FILE_NAME", Kind::Str),
        ("FILE_VERSION", Kind::Str),
        ("FILE_ROWS", Kind::Int),
        ("FILE_SIZE", Kind::Int),
        ("LAST_MODIFIED", Kind::Str),
        ("LOAD_STATE", Kind::Str),
        ("STAGED_TIME", Kind::Str),
        ("START_LOAD_TIME", Kind::Str),
        ("FINISH_LOAD_TIME", Kind::Str),
        ("ERROR_MSG", Kind::Str),
        ("ERROR_COUNT", Kind::Int),
        ("ERROR_LINE", Kind::Int),
    ];
    let pipes: std::collections::HashMap<i64, strata_catalog::PipeMeta> = catalog
        .list_pipes()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|p| src.visible.pipe(&p.db, &p.name))
        .map(|p| (p.id, p))
        .collect();
    let rows = catalog
        .list_pipe_files()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|f| {
            let p = pipes.get(&f.pipe_id)?;
            Some(vec![
                s(&p.db),
                Cell::I(Some(p.id)),
                s(&p.name),
                s(f.name),
                s(f.version),
                Cell::I(None),
                Cell::I(Some(f.size as i64)),
                Cell::S(f.last_modified),
                s(f.state),
                Cell::S(f.staged_time),
                Cell::S(f.start_load),
                Cell::S(f.finish_load),
                Cell::S(f.error_msg),
                Cell::I(None),
                Cell::I(None),
            ])
        })
        .collect();
    build(&cols, rows)
}
