//! SHOW statements answered from the catalog and the session.

use strata_catalog::CatalogError;
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_sql::ShowFilter;

use crate::admin::string_table;
use crate::executor::database_of;
use crate::{Frontend, FrontendError, Result};

/// SQL `LIKE` with `%` and `_`, case-insensitive as MySQL's default collation.
pub(crate) fn like_match(pattern: &str, s: &str) -> bool {
    fn rec(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|i| rec(&p[1..], &s[i..])),
            Some('_') => !s.is_empty() && rec(&p[1..], &s[1..]),
            Some('\\') if p.len() > 1 => !s.is_empty() && s[0] == p[1] && rec(&p[2..], &s[1..]),
            Some(c) => !s.is_empty() && s[0] == *c && rec(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let s: Vec<char> = s.to_lowercase().chars().collect();
    rec(&p, &s)
}

pub(crate) fn keep(filter: Option<&ShowFilter>, value: &str) -> bool {
    match filter {
        None => true,
        Some(ShowFilter::Like(p)) => like_match(p, value),
        // Applied to the whole result by `apply_where`.
        Some(ShowFilter::Where(_)) => true,
    }
}

/// `SHOW ... WHERE expr`: filters a SHOW result with DataFusion, over its own column names.
pub(crate) async fn apply_where(out: Output, filter: Option<&ShowFilter>) -> Result<Output> {
    let (Some(ShowFilter::Where(expr)), Output::Rows { schema, batches }) = (filter, &out) else {
        return Ok(out);
    };
    let config = datafusion::prelude::SessionConfig::new()
        .set_bool("datafusion.sql_parser.enable_ident_normalization", false);
    let ctx = datafusion::prelude::SessionContext::new_with_config(config);
    let table = datafusion::datasource::MemTable::try_new(schema.clone(), vec![batches.clone()])?;
    ctx.register_table("show_result", std::sync::Arc::new(table))?;
    let df = ctx
        .sql(&format!("SELECT * FROM show_result WHERE {expr}"))
        .await?;
    let schema = df.schema().inner().clone();
    Ok(Output::Rows {
        schema,
        batches: df.collect().await?,
    })
}

/// The databases the user holds a privilege on (or on something in), and
/// `information_schema`.
pub(crate) fn show_databases(
    fe: &Frontend,
    session: &Session,
    filter: Option<&ShowFilter>,
) -> Result<Output> {
    let visible = crate::privilege::visibility(fe, session)?;
    let mut names = fe.catalog.list_databases()?;
    names.retain(|d| visible.database(d));
    names.push(strata_query::info_schema::NAME.to_string());
    names.sort();
    let mut rows = Vec::new();
    for n in names {
        if keep(filter, &n) {
            rows.push(vec![n]);
        }
    }
    Ok(string_table(&["Database"], rows))
}

pub(crate) fn show_tables(
    fe: &Frontend,
    session: &Session,
    full: bool,
    db: Option<&str>,
    filter: Option<&ShowFilter>,
) -> Result<Output> {
    let db = database_of(session, db)?;
    let names: Vec<(String, &str)> = if db.eq_ignore_ascii_case(strata_query::info_schema::NAME) {
        strata_query::info_schema::TABLES
            .iter()
            .map(|s| (s.to_string(), "SYSTEM VIEW"))
            .collect()
    } else {
        let visible = crate::privilege::visibility(fe, session)?;
        let mut names: Vec<(String, &str)> = fe
            .catalog
            .list_tables(db)?
            .into_iter()
            .map(|t| (t, "BASE TABLE"))
            .collect();
        names.extend(
            fe.catalog
                .all_views()?
                .into_iter()
                .filter(|v| v.db == db)
                .map(|v| (v.name, "VIEW")),
        );
        names.retain(|(t, _)| visible.table(db, t));
        names.sort();
        names
    };
    let col = format!("Tables_in_{db}");
    let mut rows = Vec::new();
    for (n, kind) in names {
        if keep(filter, &n) {
            if full {
                rows.push(vec![n, kind.to_string()]);
            } else {
                rows.push(vec![n]);
            }
        }
    }
    if full {
        Ok(string_table(&[&col, "Table_type"], rows))
    } else {
        Ok(string_table(&[&col], rows))
    }
}

pub(crate) fn show_create_database(fe: &Frontend, name: &str) -> Result<Output> {
    if !fe.catalog.database_exists(name)? {
        return Err(CatalogError::UnknownDatabase(name.to_string()).into());
    }
    Ok(string_table(
        &["Database", "Create Database"],
        vec![vec![name.to_string(), format!("CREATE DATABASE `{name}`")]],
    ))
}

pub(crate) fn show_variables(session: &Session, filter: Option<&ShowFilter>) -> Result<Output> {
    let mut rows = Vec::new();
    for (k, v) in session.vars.iter() {
        if keep(filter, k) {
            rows.push(vec![k.to_string(), v.to_string()]);
        }
    }
    Ok(string_table(&["Variable_name", "Value"], rows))
}

pub(crate) fn show_warnings(session: &Session) -> Result<Output> {
    let rows = session
        .warnings
        .iter()
        .map(|w| vec![w.level.clone(), w.code.to_string(), w.message.clone()])
        .collect();
    Ok(string_table(&["Level", "Code", "Message"], rows))
}

/// SHOW [FULL] PROCESSLIST: every connection for root, the user's own for others.
pub(crate) fn show_processlist(fe: &Frontend, session: &Session) -> Result<Output> {
    let rows = fe
        .processes
        .rows(
            &session.user,
            crate::privilege::visibility(fe, session)?.all_processes(),
        )
        .into_iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.user,
                p.host,
                p.db.unwrap_or_default(),
                p.command.to_string(),
                p.time.to_string(),
                p.state.to_string(),
                p.info.unwrap_or_default(),
            ]
        })
        .collect();
    Ok(string_table(
        &[
            "Id", "User", "Host", "Db", "Command", "Time", "State", "Info",
        ],
        rows,
    ))
}

/// SHOW LOAD: the database's load jobs in StarRocks' 20 columns, as a query over
/// `information_schema.loads` (one source for both; the current database unless FROM names
/// one). `LABEL LIKE 'x'` without wildcards matches a substring, as StarRocks' does.
/// `s` as the inside of a single-quoted SQL string for this parser (whose tokenizer reads
/// backslash escapes).
pub(crate) fn sql_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

pub(crate) async fn show_load(
    fe: &Frontend,
    session: &mut Session,
    mut show: strata_sql::ShowLoad,
) -> Result<Output> {
    use std::ops::ControlFlow;
    use strata_sql::sqlparser::ast::{Expr, Value, visit_expressions_mut};

    let db = crate::executor::database_of(session, show.db.as_deref())?.to_string();
    if let Some(filter) = &mut show.filter {
        let _ = visit_expressions_mut(filter, |e| {
            if let Expr::Like { pattern, .. } | Expr::ILike { pattern, .. } = e
                && let Expr::Value(v) = pattern.as_mut()
                && let Value::SingleQuotedString(p) = &mut v.value
                && !p.contains(['%', '_'])
            {
                *p = format!("%{p}%");
            }
            ControlFlow::<()>::Continue(())
        });
    }
    let columns = [
        ("JOB_ID", "JobId"),
        ("LABEL", "Label"),
        ("STATE", "State"),
        ("PROGRESS", "Progress"),
        ("TYPE", "Type"),
        ("PRIORITY", "Priority"),
        ("SCAN_ROWS", "ScanRows"),
        ("FILTERED_ROWS", "FilteredRows"),
        ("UNSELECTED_ROWS", "UnselectedRows"),
        ("SINK_ROWS", "SinkRows"),
        ("ETL_INFO", "EtlInfo"),
        ("TASK_INFO", "TaskInfo"),
        ("ERROR_MSG", "ErrorMsg"),
        ("CREATE_TIME", "CreateTime"),
        ("ETL_START_TIME", "EtlStartTime"),
        ("ETL_FINISH_TIME", "EtlFinishTime"),
        ("LOAD_START_TIME", "LoadStartTime"),
        ("LOAD_FINISH_TIME", "LoadFinishTime"),
        ("TRACKING_SQL", "TrackingSQL"),
        ("JOB_DETAILS", "JobDetails"),
    ];
    let select: Vec<String> = columns
        .iter()
        .map(|(c, shown)| match *c {
            // SHOW LOAD renders a Broker Load's counters here; the view leaves it empty.
            "ETL_INFO" => format!(
                "CASE WHEN TYPE = 'BROKER' THEN concat('unselected.rows=', UNSELECTED_ROWS, \
                 '; dpp.abnorm.ALL=', FILTERED_ROWS, '; dpp.norm.ALL=', SINK_ROWS) \
                 ELSE ETL_INFO END AS `{shown}`"
            ),
            _ => format!("{c} AS `{shown}`"),
        })
        .collect();
    let mut sql = format!(
        "SELECT {} FROM information_schema.loads WHERE DATABASE_NAME = '{}'",
        select.join(", "),
        sql_string(&db)
    );
    if let Some(filter) = &show.filter {
        sql.push_str(&format!(" AND ({filter})"));
    }
    let order: Vec<String> = show.order_by.iter().map(ToString::to_string).collect();
    let order = if order.is_empty() {
        "`JobId`".to_string()
    } else {
        order.join(", ")
    };
    sql.push_str(&format!(" ORDER BY {order}"));
    if let Some(limit) = &show.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    if let Some(offset) = &show.offset {
        sql.push_str(&format!(" OFFSET {offset}"));
    }
    let stmt = match strata_sql::parse_sql(&sql)?.pop() {
        Some(strata_sql::Statement::Query(q)) => *q,
        _ => {
            return Err(FrontendError::new(
                StatusCode::Internal,
                format!("SHOW LOAD made a statement that is not a query: {sql}"),
            ));
        }
    };
    crate::query::run_query(fe, session, stmt).await
}

#[cfg(test)]
mod tests {
    use super::like_match;

    #[test]
    fn like_patterns() {
        assert!(like_match("a%", "abc"));
        assert!(like_match("%b%", "abc"));
        assert!(like_match("a_c", "ABC"));
        assert!(!like_match("a_c", "abbc"));
        assert!(like_match("%", ""));
    }
}
