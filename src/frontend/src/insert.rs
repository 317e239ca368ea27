//! INSERT INTO/OVERWRITE and CREATE TABLE AS SELECT: both are a load [`Job`].

use std::sync::Arc;
use strata_catalog::CatalogError;

use arrow::datatypes::SchemaRef;
use strata_catalog::{ColumnMeta, CreateTableRequest, TableDef};
use strata_common::types::{SrType, VARCHAR_MAX};
use strata_common::{Session, StatusCode, Warning};
use strata_protocol_mysql::Output;
use strata_query::types::sr_type;
use strata_sql::sqlparser::ast::Statement as SpStatement;
use strata_sql::{CreateTable, Insert, InsertTarget};

use crate::executor::database_of;
use crate::load::{ColumnSource, Converter, Job, LoadOutcome, LoadSource, LoadSpec, Target};
use crate::query::{PlanFor, Planned, plan, timeout_secs};
use crate::{Frontend, FrontendError, Result, ddl};

fn internal(msg: String) -> FrontendError {
    FrontendError::new(StatusCode::Internal, msg)
}

fn invalid(msg: impl Into<String>) -> FrontendError {
    FrontendError::new(StatusCode::InvalidArguments, msg)
}

/// Load options from PROPERTIES over session variables.
pub(crate) struct LoadOptions {
    pub dry_run: bool,
    pub strict: bool,
    pub max_filter_ratio: f64,
    pub timeout_s: u64,
    /// `enable_push_down_schema`: FILES() reads the target's columns, by name and type.
    pub push_down_schema: bool,
}

pub(crate) fn bool_property(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!(
            "Invalid {key}: '{v}'. Expected true or false"
        ))),
    }
}

pub(crate) fn load_options(session: &Session, props: &[(String, String)]) -> Result<LoadOptions> {
    let mut o = LoadOptions {
        dry_run: false,
        strict: session
            .vars
            .get_bool("enable_insert_strict")
            .unwrap_or(true),
        max_filter_ratio: session
            .vars
            .get("insert_max_filter_ratio")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        timeout_s: timeout_secs(session, "insert_timeout"),
        push_down_schema: false,
    };
    for (k, v) in props {
        match k.to_ascii_lowercase().as_str() {
            "strict_mode" => o.strict = bool_property("strict_mode", v)?,
            "max_filter_ratio" => {
                o.max_filter_ratio = v
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| {
                        invalid(format!(
                            "Invalid max_filter_ratio: '{v}'. Expected values should be between 0.0 and 1.0"
                        ))
                    })?;
            }
            "timeout" => {
                o.timeout_s = v.parse::<u64>().ok().filter(|t| *t > 0).ok_or_else(|| {
                    invalid(format!(
                        "Invalid timeout: '{v}'. Expected a positive number of seconds"
                    ))
                })?;
            }
            "dry_run" => o.dry_run = bool_property("dry_run", v)?,
            "enable_push_down_schema" => {
                o.push_down_schema = bool_property("enable_push_down_schema", v)?;
            }
            other => {
                return Err(invalid(format!(
                    "Unknown property '{other}' for INSERT; supported: timeout, max_filter_ratio, strict_mode, dry_run, enable_push_down_schema"
                )));
            }
        }
    }
    Ok(o)
}

/// `enable_push_down_schema`: the FILES() calls of the source read the target's columns (or
/// those of the INSERT's column list), by name and at the target's types, as if they declared
/// them in a `schema` property; a FILES() call with its own `schema` conflicts.
fn push_down_schema(ins: &mut Insert, table: &strata_catalog::TableMeta) -> Result<()> {
    let columns: Vec<String> = table
        .def
        .columns
        .iter()
        .filter(|c| {
            ins.columns
                .as_ref()
                .is_none_or(|list| list.iter().any(|n| n.eq_ignore_ascii_case(&c.name)))
        })
        .map(|c| format!("`{}` {}", c.name.replace('`', "``"), c.ty.create_sql()))
        .collect();
    if strata_sql::add_files_property(&mut ins.source, "schema", &columns.join(", ")) > 0 {
        return Err(invalid(
            "'enable_push_down_schema' cannot be used with a FILES() that declares its own \
             'schema'",
        ));
    }
    Ok(())
}

pub(crate) fn check_label(label: &str) -> Result<()> {
    let ok = !label.is_empty()
        && label.len() <= 128
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid label '{label}': a label has 1 to 128 characters from [A-Za-z0-9_-]"
        )))
    }
}

fn info(o: &LoadOutcome) -> String {
    format!(
        "{{'label':'{}', 'status':'VISIBLE', 'txnId':'{}'}}",
        o.label, o.txn_id
    )
}

fn finish(session: &mut Session, o: LoadOutcome) -> Output {
    session.warnings = o
        .errors
        .iter()
        .take(64)
        .map(|e| Warning {
            level: "Warning".into(),
            code: 1366,
            message: e.describe(),
        })
        .collect();
    Output::Affected {
        rows: o.loaded,
        warnings: o.filtered.min(u64::from(u16::MAX)) as u16,
        info: info(&o),
    }
}

async fn plan_source(
    fe: &Frontend,
    session: &Session,
    source: Box<strata_sql::sqlparser::ast::Query>,
) -> Result<(Planned, SchemaRef)> {
    let planned = plan(fe, session, SpStatement::Query(source), PlanFor::Load).await?;
    let schema = Arc::new(planned.plan.schema().as_arrow().clone());
    Ok((planned, schema))
}

/// Plans an INSERT's source and maps its columns onto `table`: what a load of it streams and
/// how each row converts. `given` are FILES() calls already resolved (a Broker Load step's).
pub(crate) async fn plan_load(
    fe: &Frontend,
    session: &Session,
    ins: &Insert,
    table: &strata_catalog::TableMeta,
    strict: bool,
    given: Vec<Arc<strata_query::files::FilesSource>>,
) -> Result<(Planned, Converter)> {
    let planned = crate::query::plan_with(
        fe,
        session,
        SpStatement::Query(ins.source.clone()),
        PlanFor::Load,
        given,
    )
    .await?;
    let src_schema = Arc::new(planned.plan.schema().as_arrow().clone());
    let sources = map_columns(&table.def, &table.name, ins, &src_schema)?;
    let converter = Converter::new(&table.def, sources, strict).map_err(internal)?;
    Ok((planned, converter))
}

pub(crate) async fn execute(
    job: Job<'_>,
    planned: Planned,
    converter: Converter,
) -> Result<LoadOutcome> {
    match LoadSource::new(planned, &converter).await {
        Ok(source) => job.run(source, converter).await,
        Err(e) => Err(job.fail(e)),
    }
}

pub(crate) async fn run_insert(
    fe: &Frontend,
    session: &mut Session,
    ins: Insert,
) -> Result<Output> {
    let InsertTarget::Table(name) = &ins.target else {
        return crate::unload::run(fe, session, ins).await;
    };
    let table = ddl::table(fe, session, name)?;
    let opts = load_options(session, &ins.properties)?;
    let mut ins = ins;
    if opts.push_down_schema {
        push_down_schema(&mut ins, &table)?;
    }
    let label = match &ins.label {
        Some(l) => {
            check_label(l)?;
            l.clone()
        }
        None => format!("insert_{}", uuid::Uuid::new_v4()),
    };
    if opts.dry_run {
        return dry_run_insert(fe, session, &ins, &table, opts.strict).await;
    }
    let spec = LoadSpec {
        label,
        target: Target::Existing(table.clone()),
        overwrite: ins.overwrite,
        strict: opts.strict,
        max_filter_ratio: opts.max_filter_ratio,
        timeout_s: opts.timeout_s,
        load_type: "INSERT",
        // Kept in the catalog: never with the credentials in it.
        sql: strata_sql::mask_credentials(&ins.to_string()),
        cancel: fe.processes.token(session.conn_id),
    };
    let job = Job::begin(fe, spec)?;
    let prepared = plan_load(fe, session, &ins, &table, opts.strict, Vec::new()).await;
    let (planned, converter) = match prepared {
        Ok(p) => p,
        Err(e) => return Err(job.fail(e)),
    };
    let mut job = job;
    job.set_sources(&planned.sources);
    let outcome = execute(job, planned, converter).await?;
    Ok(finish(session, outcome))
}

/// `PROPERTIES ("dry_run" = "true")`: reads and converts like the load, commits nothing, and
/// answers with one row per rejected row (or one summary row when none would be rejected).
async fn dry_run_insert(
    fe: &Frontend,
    session: &Session,
    ins: &Insert,
    table: &strata_catalog::TableMeta,
    strict: bool,
) -> Result<Output> {
    let (planned, converter) = plan_load(fe, session, ins, table, strict, Vec::new()).await?;
    let source = LoadSource::new(planned, &converter).await?;
    let cancel = fe.processes.token(session.conn_id);
    let r = crate::load::dry_run(source, converter, cancel).await?;
    let summary = |e: Option<&strata_catalog::LoadError>| {
        vec![
            Some(r.scanned.to_string()),
            Some(r.loadable.to_string()),
            Some(r.rejected.to_string()),
            e.map(|e| e.row.to_string()),
            e.and_then(|e| (!e.file.is_empty()).then(|| e.file.clone())),
            e.map(|e| e.column.clone()),
            e.and_then(|e| e.value.clone()),
            e.map(|e| e.reason.clone()),
        ]
    };
    let rows = if r.errors.is_empty() {
        vec![summary(None)]
    } else {
        r.errors.iter().map(|e| summary(Some(e))).collect()
    };
    Ok(crate::admin::nullable_string_table(
        &[
            "SCANNED_ROWS",
            "LOADABLE_ROWS",
            "REJECTED_ROWS",
            "ROW_NUMBER",
            "FILE",
            "COLUMN_NAME",
            "VALUE",
            "REASON",
        ],
        rows,
    ))
}

/// Maps each target column to a source column (positional, listed, or by name).
fn map_columns(
    def: &TableDef,
    table: &str,
    ins: &Insert,
    src: &SchemaRef,
) -> Result<Vec<ColumnSource>> {
    let mut sources = vec![ColumnSource::Default; def.columns.len()];
    let unknown = |c: &str| {
        FrontendError::new(
            StatusCode::ColumnNotFound,
            format!("Unknown column '{c}' in '{table}'"),
        )
    };
    let mismatch = |target: usize, source: usize| {
        FrontendError::new(
            StatusCode::ColumnCountMismatch,
            format!(
                "Inserted target column count: {target} doesn't match select/value column count: {source}"
            ),
        )
    };
    if ins.by_name {
        for (si, f) in src.fields().iter().enumerate() {
            let ti = def
                .column_index(f.name())
                .ok_or_else(|| unknown(f.name()))?;
            sources[ti] = ColumnSource::Source(si);
        }
        return Ok(sources);
    }
    let targets: Vec<usize> = match &ins.columns {
        None => (0..def.columns.len()).collect(),
        Some(cols) => {
            let mut v = Vec::new();
            for c in cols {
                let ti = def.column_index(c).ok_or_else(|| unknown(c))?;
                if v.contains(&ti) {
                    return Err(FrontendError::new(
                        StatusCode::DuplicateColumn,
                        format!("Column '{c}' specified twice"),
                    ));
                }
                v.push(ti);
            }
            v
        }
    };
    if targets.len() != src.fields().len() {
        return Err(mismatch(targets.len(), src.fields().len()));
    }
    for (si, ti) in targets.into_iter().enumerate() {
        sources[ti] = ColumnSource::Source(si);
    }
    Ok(sources)
}

/// CTAS column type: StarRocks turns FLOAT/DOUBLE into DECIMAL(38,9).
fn ctas_type(t: SrType) -> SrType {
    match t {
        SrType::Float | SrType::Double => SrType::Decimal(38, 9),
        SrType::Varchar(_) => SrType::Varchar(VARCHAR_MAX),
        other => other,
    }
}

pub(crate) async fn run_ctas(
    fe: &Frontend,
    session: &mut Session,
    ct: CreateTable,
) -> Result<Output> {
    let db = database_of(session, ct.name.db.as_deref())?.to_string();
    if fe.catalog.get_table(&db, &ct.name.table)?.is_some() {
        if ct.if_not_exists {
            return Ok(Output::ok());
        }
        return Err(CatalogError::TableExists(ct.name.table.clone()).into());
    }
    let query = ct
        .query
        .clone()
        .expect("run_ctas is only called for CREATE TABLE ... AS");
    let (planned, src_schema) = plan_source(fe, session, query).await?;
    if !ct.column_names.is_empty() && ct.column_names.len() != src_schema.fields().len() {
        return Err(FrontendError::new(
            StatusCode::ColumnCountMismatch,
            format!(
                "Number of columns don't equal number of SELECT statement's select list: {} vs {}",
                ct.column_names.len(),
                src_schema.fields().len()
            ),
        ));
    }
    let mut columns = Vec::with_capacity(src_schema.fields().len());
    for (i, f) in src_schema.fields().iter().enumerate() {
        let name = ct
            .column_names
            .get(i)
            .cloned()
            .unwrap_or_else(|| f.name().clone());
        let ty = sr_type(f.data_type()).ok_or_else(|| {
            FrontendError::new(
                StatusCode::Unsupported,
                format!(
                    "column '{name}' has type {} which tables cannot store",
                    f.data_type()
                ),
            )
        })?;
        columns.push(ColumnMeta {
            name,
            ty: ctas_type(ty),
            nullable: true,
            default: None,
            comment: String::new(),
            is_key: false,
        });
    }
    let def = ddl::table_def(fe, &ct, columns)?;
    let table_id = fe.catalog.next_id("table")?;
    let opts = load_options(session, &[])?;
    let spec = LoadSpec {
        label: format!("insert_{}", uuid::Uuid::new_v4()),
        target: Target::Create(
            CreateTableRequest {
                db,
                name: ct.name.table.clone(),
                def: def.clone(),
            },
            table_id,
        ),
        overwrite: false,
        strict: opts.strict,
        max_filter_ratio: opts.max_filter_ratio,
        timeout_s: opts.timeout_s,
        load_type: "INSERT",
        sql: strata_sql::mask_credentials(&ct.to_string()),
        cancel: fe.processes.token(session.conn_id),
    };
    let mut job = Job::begin(fe, spec)?;
    job.set_sources(&planned.sources);
    let sources = (0..def.columns.len()).map(ColumnSource::Source).collect();
    let converter = Converter::new(&def, sources, opts.strict).map_err(internal)?;
    let outcome = execute(job, planned, converter).await?;
    Ok(finish(session, outcome))
}
