//! `INSERT INTO FILES(…) SELECT …`: a query's rows unloaded to object storage (or, under
//! `--allow-local-path`, local files) as StarRocks does it; the files are written by
//! [`strata_query::files::Unloader`] (names, splitting, partitions, formats).
//!
//! An unload commits nothing to the catalog. It is all or nothing as far as it can be: a file
//! appears only once complete, and when the statement fails (a bad value, storage, KILL, the
//! timeout) the files it had already completed are deleted again.

use std::time::Duration;

use futures::StreamExt;
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_query::files::{Unloader, unload_schema};
use strata_sql::sqlparser::ast::{Expr, Query, SelectItem, SetExpr, Statement as SpStatement};
use strata_sql::{Insert, InsertTarget};

use crate::query::{PlanFor, Planned, plan, timeout_secs};
use crate::{Frontend, FrontendError, Result};

/// Runs an INSERT whose target is FILES(…).
pub(crate) async fn run(fe: &Frontend, session: &Session, ins: Insert) -> Result<Output> {
    let InsertTarget::Files(props) = &ins.target else {
        unreachable!("called for INSERT INTO FILES() only")
    };
    if ins.overwrite || ins.columns.is_some() || ins.by_name || !ins.properties.is_empty() {
        return Err(FrontendError::new(
            StatusCode::InvalidArguments,
            "INSERT INTO FILES() takes a query and FILES' own properties: no OVERWRITE, column \
             list, BY NAME or PROPERTIES clause",
        ));
    }
    fe.access.check(props)?;
    distinct_names(&ins.source)?;
    let label = match &ins.label {
        Some(l) => {
            crate::insert::check_label(l)?;
            l.clone()
        }
        None => format!("insert_{}", uuid::Uuid::new_v4()),
    };
    let secs = timeout_secs(session, "insert_timeout");
    let cancel = fe.processes.token(session.conn_id);
    let Planned { ctx, plan, .. } = plan(
        fe,
        session,
        SpStatement::Query(ins.source.clone()),
        PlanFor::Query,
    )
    .await?;
    let schema = unload_schema(plan.schema().inner());
    let mut unloader = Unloader::new(props, schema)?;
    let work = async {
        let mut stream = ctx
            .execute_logical_plan(plan)
            .await?
            .execute_stream()
            .await?;
        while let Some(batch) = stream.next().await {
            unloader.write(batch?).await?;
        }
        Ok::<_, FrontendError>(())
    };
    let outcome = tokio::select! {
        r = tokio::time::timeout(Duration::from_secs(secs), work) => match r {
            Ok(r) => r,
            Err(_) => Err(FrontendError::new(
                StatusCode::Cancelled,
                format!("Unload reached its timeout of {secs} seconds (session variable insert_timeout)"),
            )),
        },
        () = cancel.cancelled() => Err(crate::load::interrupted()),
    };
    if let Err(e) = outcome {
        unloader.abort().await;
        return Err(e);
    }
    let summary = unloader.finish().await?;
    tracing::info!(label = %label, rows = summary.rows, files = summary.files.len(), "unloaded");
    Ok(Output::Affected {
        rows: summary.rows,
        warnings: 0,
        info: format!("{{'label':'{label}', 'status':'VISIBLE'}}"),
    })
}

/// The files' columns must have distinct names (StarRocks' check and message); caught here
/// because the planner refuses the duplicate first, in its own words.
fn distinct_names(q: &Query) -> Result<()> {
    let SetExpr::Select(select) = q.body.as_ref() else {
        return Ok(());
    };
    let names: Vec<String> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(i.value.clone()),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                parts.last().map(|i| i.value.clone())
            }
            _ => None,
        })
        .collect();
    let mut dups: Vec<&String> = names
        .iter()
        .filter(|n| names.iter().filter(|m| m == n).count() > 1)
        .collect();
    dups.sort();
    dups.dedup();
    if dups.is_empty() {
        return Ok(());
    }
    let list: Vec<&str> = dups.iter().map(|d| d.as_str()).collect();
    Err(FrontendError::new(
        StatusCode::InvalidArguments,
        format!(
            "expect column names to be distinct, but got duplicate(s): [{}]",
            list.join(", ")
        ),
    ))
}
