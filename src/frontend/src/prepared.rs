//! Prepared statements — the protocol's (COM_STMT_PREPARE / EXECUTE) and SQL's (`PREPARE s
//! FROM '…'; EXECUTE s USING @a; DEALLOCATE PREPARE s`) — and the user variables `EXECUTE …
//! USING` reads (`SET @a = …`).
//!
//! A prepared statement is kept as its text. Executing it writes each bound value in place of
//! its `?` as a SQL literal ([`strata_sql::params`]) and runs the result like any statement,
//! privileges and all: a prepared statement does exactly what the same statement typed with
//! those values does.

use datafusion::common::ScalarValue;
use strata_common::{Param, Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_sql::params::{bind, literal, placeholders};
use strata_sql::sqlparser::ast::{Expr, Value};
use strata_sql::{PrepareFrom, SetAssignment, Statement};

use crate::{Frontend, FrontendError, Result};

/// The one statement `sql` prepares, with how many `?` it takes.
pub(crate) fn check(sql: &str) -> Result<(Statement, usize)> {
    let n = placeholders(sql).len();
    let bound = bind(sql, &vec!["NULL".to_string(); n])?;
    let mut stmts = strata_sql::parse_sql(&bound)?;
    if stmts.len() != 1 {
        return Err(FrontendError::new(
            StatusCode::InvalidArguments,
            format!(
                "a prepared statement is one statement; this text has {}",
                stmts.len()
            ),
        ));
    }
    let stmt = stmts.remove(0);
    if matches!(
        stmt,
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Deallocate(_)
    ) {
        return Err(FrontendError::new(
            StatusCode::Unsupported,
            "This command is not supported in the prepared statement protocol yet",
        ));
    }
    Ok((stmt, n))
}

/// `sql` with `params` bound to its `?`.
pub(crate) fn bound(sql: &str, params: &[Param]) -> Result<String> {
    let literals: Vec<String> = params.iter().map(literal).collect();
    Ok(bind(sql, &literals)?)
}

/// PREPARE name FROM 'text' | @var
pub(crate) fn prepare(session: &mut Session, name: &str, from: PrepareFrom) -> Result<Output> {
    let text = match from {
        PrepareFrom::Text(t) => t,
        PrepareFrom::Variable(v) => match session.user_vars.get(&v).map(|l| unquote(l)) {
            Some(Some(text)) => text,
            _ => {
                return Err(FrontendError::new(
                    StatusCode::InvalidArguments,
                    format!("user variable @{v} holds no statement text to prepare"),
                ));
            }
        },
    };
    check(&text)?;
    session.prepared.insert(name.to_ascii_lowercase(), text);
    Ok(Output::ok())
}

/// EXECUTE name [USING @a, …]: the statement with the variables' values bound, run as the
/// session runs any statement.
pub(crate) async fn execute(
    fe: &Frontend,
    session: &mut Session,
    name: &str,
    using: &[String],
) -> Result<Output> {
    let Some(text) = session.prepared.get(&name.to_ascii_lowercase()).cloned() else {
        return Err(unknown(name, "EXECUTE"));
    };
    let literals: Vec<String> = using
        .iter()
        .map(|v| {
            session
                .user_vars
                .get(v)
                .cloned()
                .unwrap_or_else(|| "NULL".into())
        })
        .collect();
    let sql = bind(&text, &literals)?;
    let (stmt, _) = check(&sql)?;
    Box::pin(crate::executor::execute(fe, session, stmt)).await
}

/// DEALLOCATE | DROP PREPARE name
pub(crate) fn deallocate(session: &mut Session, name: &str) -> Result<Output> {
    match session.prepared.remove(&name.to_ascii_lowercase()) {
        Some(_) => Ok(Output::ok()),
        None => Err(unknown(name, "DEALLOCATE PREPARE")),
    }
}

fn unknown(name: &str, what: &str) -> FrontendError {
    FrontendError::new(
        StatusCode::InvalidArguments,
        format!("Unknown prepared statement handler ({name}) given to {what}"),
    )
}

/// SET: user variables (`@a`) take their expression's value; a system variable set from a
/// user variable (`SET x = @saved`, as mysqldump restores them) takes that variable's value.
pub(crate) async fn set(
    fe: &Frontend,
    session: &mut Session,
    assignments: Vec<SetAssignment>,
) -> Result<Output> {
    let mut system = Vec::new();
    for mut a in assignments {
        if let Some(name) = a.name.strip_prefix('@') {
            let value = value_literal(fe, session, &a.value).await?;
            session.user_vars.insert(name.to_string(), value);
            continue;
        }
        if let Expr::Identifier(i) = &a.value
            && let Some(var) = i.value.strip_prefix('@')
            && !var.starts_with('@')
        {
            let value = session
                .user_vars
                .get(&var.to_ascii_lowercase())
                .and_then(|l| unquote(l).or_else(|| (l != "NULL").then(|| l.clone())))
                .unwrap_or_default();
            a.value = Expr::value(Value::SingleQuotedString(value));
        }
        system.push(a);
    }
    crate::admin::set_variables(session, &system)
}

/// An expression's value as a SQL literal: a literal as written, anything else evaluated.
async fn value_literal(fe: &Frontend, session: &mut Session, e: &Expr) -> Result<String> {
    if let Expr::Value(v) = e {
        match &v.value {
            Value::Number(n, _) => return Ok(n.clone()),
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                return Ok(literal(&Param::Text(s.clone().into_bytes())));
            }
            Value::Null => return Ok("NULL".into()),
            Value::Boolean(b) => return Ok(u8::from(*b).to_string()),
            _ => {}
        }
    }
    let mut stmts = strata_sql::parse_sql(&format!("SELECT {e}"))?;
    let Some(Statement::Query(q)) = stmts.pop() else {
        return Err(FrontendError::new(
            StatusCode::InvalidArguments,
            format!("cannot evaluate {e}"),
        ));
    };
    let Output::Rows { batches, .. } = crate::query::run_query(fe, session, *q).await? else {
        return Ok("NULL".into());
    };
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok("NULL".into());
    };
    let v = ScalarValue::try_from_array(batch.column(0), 0)?;
    Ok(scalar_literal(&v))
}

/// A value as a SQL literal: numbers as numbers, anything else as its text in quotes.
fn scalar_literal(v: &ScalarValue) -> String {
    if v.is_null() {
        return "NULL".into();
    }
    let numeric = v.data_type().is_numeric();
    match v {
        ScalarValue::Boolean(Some(b)) => u8::from(*b).to_string(),
        _ if numeric => {
            let s = v.to_string();
            if s.starts_with('-') {
                format!("({s})")
            } else {
                s
            }
        }
        _ => literal(&Param::Text(v.to_string().into_bytes())),
    }
}

/// The text of a string literal (`'it\'s'` is `it's`), or `None` for any other literal.
fn unquote(lit: &str) -> Option<String> {
    let e = sp_expr(lit)?;
    match e {
        Expr::Value(v) => match v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

fn sp_expr(text: &str) -> Option<Expr> {
    strata_sql::sqlparser::parser::Parser::new(&strata_sql::sqlparser::dialect::MySqlDialect {})
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()
}
