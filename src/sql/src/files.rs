//! Finding `FILES(...)` calls inside queries.
//!
//! DataFusion cannot plan StarRocks' `FILES("k" = "v", ...)`: it constant-folds table function
//! arguments (the pairs become booleans) and its table functions are synchronous, while schema
//! inference needs I/O. So every call is cut out of the AST here and replaced by a reference to
//! a per-statement table `__strata_files.fN`, which the executor registers after inferring the
//! schema.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, Ident, ObjectName, ObjectNamePart,
    Statement, TableFactor, Value, VisitMut, VisitorMut,
};

use crate::ast::Properties;
use crate::error::ParseError;

/// Schema name the rewritten references point into.
pub const FILES_SCHEMA: &str = "__strata_files";

/// One `FILES(...)` call taken out of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesCall {
    /// Table name it was replaced by, inside [`FILES_SCHEMA`].
    pub table: String,
    /// Its properties in written order.
    pub properties: Properties,
}

/// Replaces every `FILES(...)` relation in `stmt` and returns the calls in order.
pub fn take_files_calls(stmt: &mut Statement) -> Result<Vec<FilesCall>, ParseError> {
    let mut v = FilesRewriter {
        calls: Vec::new(),
        error: None,
    };
    let _ = VisitMut::visit(stmt, &mut v);
    match v.error {
        Some(e) => Err(e),
        None => Ok(v.calls),
    }
}

struct FilesRewriter {
    calls: Vec<FilesCall>,
    error: Option<ParseError>,
}

impl VisitorMut for FilesRewriter {
    type Break = ();

    fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, args, .. } = tf else {
            return ControlFlow::Continue(());
        };
        let is_files = name.0.len() == 1
            && matches!(&name.0[0], ObjectNamePart::Identifier(i)
                if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("files"));
        let Some(fargs) = args.as_ref().filter(|_| is_files) else {
            return ControlFlow::Continue(());
        };
        match files_properties(&fargs.args) {
            Ok(properties) => {
                let table = format!("f{}", self.calls.len());
                *name = ObjectName::from(vec![Ident::new(FILES_SCHEMA), Ident::new(&table)]);
                *args = None;
                self.calls.push(FilesCall { table, properties });
                ControlFlow::Continue(())
            }
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

fn files_properties(args: &[FunctionArg]) -> Result<Properties, ParseError> {
    args.iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            })) => Ok((literal(left)?, literal(right)?)),
            other => Err(ParseError::syntax(format!(
                "FILES() arguments must be \"key\" = \"value\" pairs, found `{other}`"
            ))),
        })
        .collect()
}

fn literal(e: &Expr) -> Result<String, ParseError> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Ok(s.clone()),
            Value::Number(n, _) => Ok(n.clone()),
            Value::Boolean(b) => Ok(b.to_string()),
            other => Err(ParseError::syntax(format!(
                "FILES() keys and values must be strings, found `{other}`"
            ))),
        },
        other => Err(ParseError::syntax(format!(
            "FILES() keys and values must be strings, found `{other}`"
        ))),
    }
}
