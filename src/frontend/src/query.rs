//! SELECT (and EXPLAIN): resolve tables, name columns as MySQL does, plan and run on DataFusion.

use std::sync::Arc;
use std::time::Duration;

use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_query::ResolvedTables;
use strata_query::files::FilesSource;
use strata_sql::sqlparser::ast::{Expr, Ident, SelectItem, SetExpr, Statement};
use strata_sql::{FILES_SCHEMA, take_files_calls};

use crate::resolve::{fix_column_case, resolve_tables};
use crate::{Frontend, FrontendError, Result};

mod collation;

/// Gives unaliased, non-column projections of the outermost SELECT their SQL text as name,
/// as MySQL does (`SELECT 1` names its column `1`, not DataFusion's `Int64(1)`).
pub(crate) fn name_projections(stmt: &mut Statement) {
    let Statement::Query(q) = stmt else {
        return;
    };
    let SetExpr::Select(select) = q.body.as_mut() else {
        return;
    };
    let mut seen: Vec<String> = Vec::new();
    for item in &mut select.projection {
        let name = match item {
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => i.value.clone(),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                parts.last().map(|i| i.value.clone()).unwrap_or_default()
            }
            SelectItem::UnnamedExpr(expr) => expr.to_string(),
            SelectItem::ExprWithAlias { alias, .. } => {
                seen.push(alias.value.clone());
                continue;
            }
            _ => continue,
        };
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        // MySQL allows two result columns with one name; DataFusion does not, so a repeated
        // name gets a numbered suffix.
        let mut alias = name.clone();
        let mut n = 1;
        while seen.contains(&alias) {
            alias = format!("{name}_{n}");
            n += 1;
        }
        seen.push(alias.clone());
        if alias != name || !matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias: Ident::with_quote('`', alias),
            };
        }
    }
}

/// A planned statement.
pub(crate) struct Planned {
    pub ctx: SessionContext,
    pub plan: LogicalPlan,
    /// The statement's FILES() calls, by the table name they are planned as.
    pub sources: Vec<(String, Arc<FilesSource>)>,
}

/// How a statement will run: a load lists files while it loads them; a query lists first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlanFor {
    Query,
    Load,
}

/// Plans a statement whose tables are resolved into a fresh context.
pub(crate) async fn plan(
    fe: &Frontend,
    session: &Session,
    stmt: Statement,
    purpose: PlanFor,
) -> Result<Planned> {
    plan_with(fe, session, stmt, purpose, Vec::new()).await
}

/// [`plan`], with the statement's first FILES() calls already resolved (`given`, in order
/// of the calls): a Broker Load step reads exactly the files it was given.
pub(crate) async fn plan_with(
    fe: &Frontend,
    session: &Session,
    mut stmt: Statement,
    purpose: PlanFor,
    given: Vec<Arc<FilesSource>>,
) -> Result<Planned> {
    crate::view_stmt::expand(fe, session, &mut stmt, None)?;
    let mut resolved = ResolvedTables::default();
    let calls = take_files_calls(&mut stmt)?;
    let mut sources = Vec::new();
    let mut given = given.into_iter();
    for call in calls {
        fe.access.check(&call.properties)?;
        if let Some(source) = given.next() {
            resolved.add(FILES_SCHEMA, &call.table, source.table());
            sources.push((call.table.clone(), source));
            continue;
        }
        if FilesSource::lists_only(&call.properties) {
            resolved.add(
                FILES_SCHEMA,
                &call.table,
                FilesSource::list_table(&call.properties).await?,
            );
            continue;
        }
        let source =
            Arc::new(FilesSource::resolve(&call.properties, purpose == PlanFor::Load).await?);
        resolved.add(FILES_SCHEMA, &call.table, source.table());
        sources.push((call.table.clone(), source));
    }
    let resolved = resolve_tables(fe, session, &stmt, resolved)?;
    fix_column_case(&mut stmt, &resolved.column_names());
    name_projections(&mut stmt);
    collation::information_schema_ignores_case(&mut stmt, session.database.as_deref());
    strata_sql::starrocks_functions(&mut stmt);
    let ctx = fe.engine.context(session, resolved)?;
    let plan = ctx
        .state()
        .statement_to_plan(DfStatement::Statement(Box::new(stmt)))
        .await?;
    Ok(Planned { ctx, plan, sources })
}

/// The result's schema with each column's table and database in its field metadata (from the
/// plan's qualifiers), which the protocol puts in the column definitions drivers read.
fn with_origins(
    schema: &datafusion::common::DFSchema,
    session: &Session,
) -> arrow::datatypes::SchemaRef {
    use strata_common::types::field_meta::{SCHEMA_KEY, TABLE_KEY};
    let fields: Vec<arrow::datatypes::Field> = schema
        .iter()
        .map(|(qualifier, f)| {
            let Some(q) = qualifier.filter(|q| q.schema() != Some(FILES_SCHEMA)) else {
                return f.as_ref().clone();
            };
            let mut md = f.metadata().clone();
            md.insert(TABLE_KEY.to_string(), q.table().to_string());
            let db = q
                .schema()
                .or(session.database.as_deref())
                .unwrap_or_default();
            md.insert(SCHEMA_KEY.to_string(), db.to_string());
            f.as_ref().clone().with_metadata(md)
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new(fields))
}

/// The statement timeout of a session, in seconds.
pub(crate) fn timeout_secs(session: &Session, var: &str) -> u64 {
    session
        .vars
        .get(var)
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .unwrap_or(300)
}

pub(crate) async fn run_query(
    fe: &Frontend,
    session: &mut Session,
    stmt: Statement,
) -> Result<Output> {
    let secs = timeout_secs(session, "query_timeout");
    let work = async {
        let Planned { ctx, plan, .. } = plan(fe, session, stmt, PlanFor::Query).await?;
        let df = ctx.execute_logical_plan(plan).await?;
        let schema = with_origins(df.schema(), session);
        let batches = df.collect().await?;
        Ok::<_, FrontendError>(Output::Rows { schema, batches })
    };
    let cancel = fe.processes.token(session.conn_id);
    tokio::select! {
        res = tokio::time::timeout(Duration::from_secs(secs), work) => match res {
            Ok(r) => r,
            Err(_) => Err(FrontendError::new(
                StatusCode::Cancelled,
                format!(
                    "Query reached its timeout of {secs} seconds, please increase the 'query_timeout' session variable and retry"
                ),
            )),
        },
        () = cancel.cancelled() => Err(crate::load::interrupted()),
    }
}
