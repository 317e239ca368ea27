//! CREATE / ALTER / DROP / SHOW / DESC PIPE.

use std::sync::Arc;

use strata_catalog::{CatalogError, PipeMeta, now_string};
use strata_common::{ErrorExt, Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_sql::{AlterPipe, AlterPipeAction, CreatePipe, InsertTarget, ShowPipes, TableName};

use crate::load::pipe::{PipeOptions, masked, pipe_insert};
use crate::{Frontend, FrontendError, Result, executor::database_of, insert};

fn unknown(name: &str) -> FrontendError {
    FrontendError::new(
        StatusCode::InvalidArguments,
        format!("Unknown pipe '{name}'"),
    )
}

fn pipe_of(fe: &Frontend, session: &Session, name: &TableName) -> Result<PipeMeta> {
    let db = database_of(session, name.db.as_deref())?;
    fe.catalog
        .get_pipe(db, &name.table)?
        .ok_or_else(|| unknown(&name.table))
}

/// `CREATE [OR REPLACE] PIPE [IF NOT EXISTS] name [PROPERTIES (...)] AS INSERT ...`: the
/// INSERT is checked as a batch would run it (the path must match a file and the credentials
/// work), then the pipe is recorded RUNNING and its driver started.
pub(crate) async fn create(fe: &Frontend, session: &Session, cp: CreatePipe) -> Result<Output> {
    let db = database_of(session, cp.name.db.as_deref())?.to_string();
    if !fe.catalog.database_exists(&db)? {
        return Err(CatalogError::UnknownDatabase(db).into());
    }
    if !cp.or_replace && fe.catalog.get_pipe(&db, &cp.name.table)?.is_some() {
        if cp.if_not_exists {
            return Ok(Output::ok());
        }
        return Err(CatalogError::PipeExists(cp.name.table.clone()).into());
    }
    let props: Vec<(String, String)> = cp
        .properties
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    PipeOptions::parse(fe, &props)?;
    // The INSERT as text, with its database written in, checked for what a pipe allows.
    let mut ins = *cp.insert.clone();
    let InsertTarget::Table(target) = &mut ins.target else {
        return Err(FrontendError::new(
            StatusCode::InvalidArguments,
            "Bad pipe statement: 'the target must be a table'",
        ));
    };
    if target.db.is_none() {
        target.db = Some(db.clone());
    }
    let sql = strata_sql::insert_sql(&ins);
    // The stored text is what every batch runs: it must read back as itself (sqlparser prints
    // a backslash in a string as is, which the MySQL tokenizer reads as an escape), so that
    // it is the INSERT whose privileges were checked.
    let unstorable = || {
        FrontendError::new(
            StatusCode::Unsupported,
            "Bad pipe statement: 'its INSERT cannot be stored as text that reads back the same \
             (a string literal with a backslash?)'",
        )
    };
    if strata_sql::parse_sql(&sql).is_err() {
        return Err(unstorable());
    }
    let (ins, files_props) = pipe_insert(&sql)?;
    if strata_sql::insert_sql(&ins) != sql {
        return Err(unstorable());
    }
    fe.access.check(&files_props)?;
    if !ins.properties.is_empty() {
        return Err(FrontendError::new(
            StatusCode::InvalidArguments,
            "Bad pipe statement: 'INSERT PROPERTIES are not used by a pipe; set task.<variable> properties of the pipe instead'",
        ));
    }
    let InsertTarget::Table(target) = &ins.target else {
        unreachable!("checked above")
    };
    let table = crate::ddl::table(fe, session, target)?;
    // Plan it as a batch would, over what the path matches now (schema, columns, types). A
    // path that matches nothing yet is no error: the pipe waits for files, and its first
    // batch checks what this could not.
    match strata_query::files::FilesSource::resolve(&files_props, true).await {
        Ok(source) => {
            let strict = session
                .vars
                .get_bool("enable_insert_strict")
                .unwrap_or(true);
            let (planned, _) =
                insert::plan_load(fe, session, &ins, &table, strict, vec![Arc::new(source)])
                    .await?;
            // Rows of a batch must not depend on the other files of the batch.
            use datafusion::common::tree_node::TreeNode;
            use datafusion::logical_expr::LogicalPlan;
            let across_rows = planned.plan.exists(|n| {
                Ok(matches!(
                    n,
                    LogicalPlan::Aggregate(_)
                        | LogicalPlan::Window(_)
                        | LogicalPlan::Distinct(_)
                        | LogicalPlan::Sort(_)
                        | LogicalPlan::Limit(_)
                        | LogicalPlan::Join(_)
                        | LogicalPlan::Union(_)
                ))
            })?;
            if across_rows {
                return Err(FrontendError::new(
                    StatusCode::InvalidArguments,
                    "Bad pipe statement: 'must be a vanilla select statement'",
                ));
            }
        }
        Err(e) if e.status_code() == StatusCode::FileNotFound => {
            strata_query::files::FilesSource::check(&files_props)?;
        }
        Err(e) => return Err(e.into()),
    }
    // Credentials sealed apart; `sql` has them masked.
    let (sql, sealed_sql) = fe.sealer.keep(&sql)?;
    let meta = PipeMeta {
        db: db.clone(),
        name: cp.name.table.clone(),
        table_name: format!("{}.{}", table.db, table.name),
        sql,
        sealed_sql,
        properties: props,
        created_time: now_string(),
        owner: crate::privilege::Identity::of(session).owner_string(),
        ..Default::default()
    };
    if cp.or_replace
        && let Some(old) = fe.catalog.get_pipe(&db, &cp.name.table)?
    {
        // Stop the old pipe first: its batch must not commit after its ledger is gone (it
        // could not: the commit needs its files LOADING under its label).
        fe.catalog.set_pipe_state(old.id, "SUSPEND", None)?;
        fe.jobs.stop_pipe(old.id).await;
    }
    let id = fe.catalog.create_pipe(&meta, cp.or_replace)?;
    tracing::info!(pipe = id, name = %meta.name, "pipe created");
    fe.jobs.wake();
    Ok(Output::ok())
}

/// `DROP PIPE [IF EXISTS] name`: stops it and forgets its file history.
pub(crate) async fn drop_pipe(
    fe: &Frontend,
    session: &Session,
    name: &TableName,
    if_exists: bool,
) -> Result<Output> {
    let db = database_of(session, name.db.as_deref())?;
    match fe.catalog.get_pipe(db, &name.table)? {
        Some(p) => {
            // Not RUNNING first, so no new driver starts while this one stops.
            fe.catalog.set_pipe_state(p.id, "SUSPEND", None)?;
            fe.jobs.stop_pipe(p.id).await;
            fe.catalog.drop_pipe(db, &name.table)?;
            Ok(Output::ok())
        }
        None if if_exists => Ok(Output::ok()),
        None => Err(unknown(&name.table)),
    }
}

/// `ALTER PIPE name SUSPEND | RESUME | RETRY ALL | RETRY FILE 'f' | SET (...)`.
pub(crate) async fn alter(fe: &Frontend, session: &Session, a: AlterPipe) -> Result<Output> {
    let pipe = pipe_of(fe, session, &a.name)?;
    match a.action {
        AlterPipeAction::Suspend => {
            if pipe.state == "RUNNING" {
                fe.catalog.set_pipe_state(pipe.id, "SUSPEND", None)?;
                // The running batch is interrupted; its files load again on RESUME.
                fe.jobs.stop_pipe(pipe.id).await;
            }
        }
        AlterPipeAction::Resume => {
            fe.catalog.resume_pipe(pipe.id)?;
        }
        AlterPipeAction::RetryAll | AlterPipeAction::RetryFile(_) => {
            let file = match &a.action {
                AlterPipeAction::RetryFile(f) => Some(f.as_str()),
                _ => None,
            };
            let n = fe.catalog.retry_pipe_files(pipe.id, file)?;
            if let (Some(f), 0) = (file, n) {
                return Err(FrontendError::new(
                    StatusCode::InvalidArguments,
                    format!("file '{f}' of pipe '{}' is not in ERROR", pipe.name),
                ));
            }
            fe.catalog.resume_pipe(pipe.id)?;
        }
        AlterPipeAction::Set(props) => {
            let mut merged = pipe.properties.clone();
            for (k, v) in props {
                let k = k.to_ascii_lowercase();
                merged.retain(|(old, _)| *old != k);
                merged.push((k, v));
            }
            PipeOptions::parse(fe, &merged)?;
            fe.catalog.set_pipe_properties(pipe.id, &merged)?;
        }
    }
    fe.jobs.wake();
    Ok(Output::ok())
}

/// `DESC PIPE name`: DATABASE_ID, ID, NAME, TYPE, TABLE_NAME, SOURCE, SQL, PROPERTIES
/// (credentials masked).
pub(crate) fn desc(fe: &Frontend, session: &Session, name: &TableName) -> Result<Output> {
    let p = pipe_of(fe, session, name)?;
    let path = pipe_insert(&p.sql)
        .ok()
        .and_then(|(_, props)| {
            props
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("path"))
                .map(|(_, v)| v)
        })
        .unwrap_or_default();
    let db_id = fe.catalog.database_id(&p.db)?.unwrap_or(0);
    Ok(crate::admin::nullable_string_table(
        &[
            "DATABASE_ID",
            "ID",
            "NAME",
            "TYPE",
            "TABLE_NAME",
            "SOURCE",
            "SQL",
            "PROPERTIES",
        ],
        vec![vec![
            Some(db_id.to_string()),
            Some(p.id.to_string()),
            Some(p.name.clone()),
            Some("FILE".into()),
            Some(p.table_name.clone()),
            Some(format!("FILE_SOURCE(path={path})")),
            Some(masked(&p.sql)),
            Some(properties_json(&p.properties)),
        ]],
    ))
}

/// A pipe's properties as the JSON object views show.
pub(crate) fn properties_json(props: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = props
        .iter()
        .map(|(k, v)| (k.to_ascii_uppercase(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// `SHOW PIPES`: information_schema.pipes' columns for one database.
pub(crate) async fn show(fe: &Frontend, session: &mut Session, s: ShowPipes) -> Result<Output> {
    let db = database_of(session, s.db.as_deref())?.to_string();
    let mut sql = format!(
        "SELECT DATABASE_NAME, PIPE_ID, PIPE_NAME, STATE, TABLE_NAME, LOAD_STATUS, LAST_ERROR, \
         CREATED_TIME FROM information_schema.pipes WHERE DATABASE_NAME = '{}'",
        crate::show::sql_string(&db)
    );
    match &s.filter {
        Some(strata_sql::ShowFilter::Like(p)) => {
            sql.push_str(&format!(
                " AND PIPE_NAME LIKE '{}'",
                crate::show::sql_string(p)
            ));
        }
        Some(strata_sql::ShowFilter::Where(w)) => {
            sql.push_str(&format!(" AND ({})", rename_name(w)));
        }
        None => {}
    }
    let order: Vec<String> = s.order_by.iter().map(ToString::to_string).collect();
    sql.push_str(&format!(
        " ORDER BY {}",
        if order.is_empty() {
            "PIPE_ID".to_string()
        } else {
            order.join(", ")
        }
    ));
    if let Some(l) = &s.limit {
        sql.push_str(&format!(" LIMIT {l}"));
    }
    if let Some(o) = &s.offset {
        sql.push_str(&format!(" OFFSET {o}"));
    }
    let stmt = match strata_sql::parse_sql(&sql)?.pop() {
        Some(strata_sql::Statement::Query(q)) => *q,
        _ => {
            return Err(FrontendError::new(
                StatusCode::Internal,
                format!("SHOW PIPES made a statement that is not a query: {sql}"),
            ));
        }
    };
    crate::query::run_query(fe, session, stmt).await
}

/// `NAME` (SHOW PIPES' name for the pipe's name) as the view's `PIPE_NAME`.
fn rename_name(w: &strata_sql::sqlparser::ast::Expr) -> String {
    use std::ops::ControlFlow;
    use strata_sql::sqlparser::ast::{Expr, visit_expressions_mut};
    let mut w = w.clone();
    let _ = visit_expressions_mut(&mut w, |e| {
        if let Expr::Identifier(i) = e
            && i.value.eq_ignore_ascii_case("name")
        {
            i.value = "PIPE_NAME".into();
            i.quote_style = None;
        }
        ControlFlow::<()>::Continue(())
    });
    strata_sql::expr_sql(&w)
}

#[cfg(test)]
mod tests {
    fn renamed(w: &str) -> String {
        let Ok(mut v) = strata_sql::parse_sql(&format!("SELECT 1 WHERE {w}")) else {
            panic!("{w}")
        };
        let Some(strata_sql::Statement::Query(q)) = v.pop() else {
            panic!()
        };
        let strata_sql::sqlparser::ast::Statement::Query(q) = *q else {
            panic!()
        };
        let strata_sql::sqlparser::ast::SetExpr::Select(s) = *q.body else {
            panic!()
        };
        super::rename_name(s.selection.as_ref().unwrap())
    }

    #[test]
    fn name_becomes_pipe_name_and_strings_stay() {
        assert_eq!(renamed("NAME = 'name'"), "PIPE_NAME = 'name'");
        assert_eq!(renamed("name LIKE 'p%'"), "PIPE_NAME LIKE 'p%'");
        assert_eq!(renamed("STATE = 'RUNNING'"), "STATE = 'RUNNING'");
    }
}
