//! `@@variables` and MySQL's session functions (`DATABASE()`, `USER()`, `VERSION()`, ...).

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::var_provider::{VarProvider, VarType};
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use strata_common::{SERVER_VERSION, Session, SessionVars};

/// Serves `@@name`, `@@session.name` and `@@global.name` from the session's variables.
#[derive(Debug)]
struct SystemVars(SessionVars);

impl SystemVars {
    fn lookup(&self, names: &[String]) -> Option<String> {
        let joined = names.join(".");
        let name = joined.trim_start_matches('@').to_ascii_lowercase();
        let name = name
            .strip_prefix("session.")
            .or_else(|| name.strip_prefix("global."))
            .or_else(|| name.strip_prefix("local."))
            .unwrap_or(&name)
            .to_string();
        self.0.get(&name).map(str::to_string)
    }
}

impl VarProvider for SystemVars {
    fn get_value(&self, var_names: Vec<String>) -> DfResult<ScalarValue> {
        match self.lookup(&var_names) {
            Some(v) => Ok(match v.parse::<i64>() {
                Ok(i) => ScalarValue::Int64(Some(i)),
                Err(_) => ScalarValue::Utf8(Some(v)),
            }),
            None => Err(datafusion::error::DataFusionError::Plan(format!(
                "Unknown system variable '{}'",
                var_names.join(".").trim_start_matches('@')
            ))),
        }
    }

    fn get_type(&self, var_names: &[String]) -> Option<DataType> {
        let v = self.lookup(var_names)?;
        Some(if v.parse::<i64>().is_ok() {
            DataType::Int64
        } else {
            DataType::Utf8
        })
    }
}

/// Serves `@name` from the session's user variables (SQL literals); an unset one is NULL, as
/// in MySQL.
#[derive(Debug)]
struct UserVars(std::collections::BTreeMap<String, String>);

impl UserVars {
    fn lookup(&self, names: &[String]) -> ScalarValue {
        let name = names.join(".").trim_start_matches('@').to_ascii_lowercase();
        self.0
            .get(&name)
            .and_then(|lit| literal_value(lit))
            .unwrap_or(ScalarValue::Utf8(None))
    }
}

/// The value of a SQL literal as [`strata_sql::params::literal`] writes them.
fn literal_value(lit: &str) -> Option<ScalarValue> {
    use strata_sql::sqlparser::ast::{Expr, UnaryOperator, Value};
    let expr = strata_sql::sqlparser::parser::Parser::new(
        &strata_sql::sqlparser::dialect::MySqlDialect {},
    )
    .try_with_sql(lit)
    .ok()?
    .parse_expr()
    .ok()?;
    let (negative, expr) = match expr {
        Expr::Nested(e) => match *e {
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => (true, *expr),
            other => (false, other),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => (true, *expr),
        other => (false, other),
    };
    let Expr::Value(v) = expr else { return None };
    Some(match v.value {
        Value::Number(n, _) => {
            let n = if negative { format!("-{n}") } else { n };
            match n.parse::<i64>() {
                Ok(i) => ScalarValue::Int64(Some(i)),
                Err(_) => ScalarValue::Float64(n.parse::<f64>().ok()),
            }
        }
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => ScalarValue::Utf8(Some(s)),
        Value::Boolean(b) => ScalarValue::Int64(Some(i64::from(b))),
        Value::HexStringLiteral(h) => ScalarValue::Binary(
            (0..h.len() / 2)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
                .collect(),
        ),
        _ => ScalarValue::Utf8(None),
    })
}

impl VarProvider for UserVars {
    fn get_value(&self, var_names: Vec<String>) -> DfResult<ScalarValue> {
        Ok(self.lookup(&var_names))
    }

    fn get_type(&self, var_names: &[String]) -> Option<DataType> {
        Some(self.lookup(var_names).data_type())
    }
}

fn constant_udf(ctx: &SessionContext, name: &str, value: Option<String>) {
    let v = ScalarValue::Utf8(value);
    let udf = create_udf(
        name,
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_| Ok(ColumnarValue::Scalar(v.clone()))),
    );
    ctx.register_udf(udf);
}

/// Registers the session's variables and functions on a statement context.
pub(crate) fn register(ctx: &SessionContext, session: &Session) {
    ctx.register_variable(VarType::System, Arc::new(SystemVars(session.vars.clone())));
    ctx.register_variable(
        VarType::UserDefined,
        Arc::new(UserVars(session.user_vars.clone())),
    );
    constant_udf(ctx, "database", session.database.clone());
    constant_udf(ctx, "schema", session.database.clone());
    // current_user(): the account ('user'@'host pattern'); user(): where the client is.
    let account = format!("'{}'@'{}'", session.user, session.host);
    let client = if session.client_host.is_empty() {
        account.clone()
    } else {
        format!("'{}'@'{}'", session.user, session.client_host)
    };
    constant_udf(ctx, "current_user", Some(account));
    constant_udf(ctx, "user", Some(client.clone()));
    constant_udf(ctx, "session_user", Some(client));
    // StarRocks: the active roles, comma-separated, or NONE.
    let roles = if session.roles.is_empty() {
        "NONE".to_string()
    } else {
        session.roles.join(", ")
    };
    constant_udf(ctx, "current_role", Some(roles));
    constant_udf(ctx, "version", Some(SERVER_VERSION.to_string()));
    constant_udf(
        ctx,
        "current_version",
        Some(env!("CARGO_PKG_VERSION").to_string()),
    );
    let conn = ScalarValue::Int64(Some(i64::from(session.conn_id)));
    ctx.register_udf(create_udf(
        "connection_id",
        vec![],
        DataType::Int64,
        Volatility::Stable,
        Arc::new(move |_| Ok(ColumnarValue::Scalar(conn.clone()))),
    ));
}
