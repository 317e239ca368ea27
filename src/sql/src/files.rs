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

/// The `path` values of the FILES() calls inside `v` (a statement or a query), as written;
/// calls whose arguments do not parse are skipped (planning reports them).
pub fn files_paths<V: sqlparser::ast::Visit>(v: &V) -> Vec<String> {
    struct Paths(Vec<String>);
    impl sqlparser::ast::Visitor for Paths {
        type Break = ();
        fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name,
                args: Some(fargs),
                ..
            } = tf
                && is_files(name)
                && let Ok(props) = files_properties(&fargs.args)
            {
                self.0.extend(
                    props
                        .into_iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case("path"))
                        .map(|(_, v)| v),
                );
            }
            ControlFlow::Continue(())
        }
    }
    let mut p = Paths(Vec::new());
    let _ = v.visit(&mut p);
    p.0
}

fn is_files(name: &ObjectName) -> bool {
    name.0.len() == 1
        && matches!(&name.0[0], ObjectNamePart::Identifier(i)
            if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("files"))
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
        let files = is_files(name);
        let Some(fargs) = args.as_ref().filter(|_| files) else {
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

/// Adds `key = value` to every FILES() call of `q` that does not set `key`; returns how many
/// calls set it already (the caller decides whether that conflicts).
pub fn add_files_property(q: &mut sqlparser::ast::Query, key: &str, value: &str) -> usize {
    struct Add<'a> {
        key: &'a str,
        value: &'a str,
        had: usize,
    }
    impl VisitorMut for Add<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name,
                args: Some(args),
                ..
            } = tf
                && is_files(name)
            {
                let props = files_properties(&args.args).unwrap_or_default();
                if props.iter().any(|(k, _)| k.eq_ignore_ascii_case(self.key)) {
                    self.had += 1;
                } else {
                    let lit = |s: &str| Box::new(Expr::value(Value::SingleQuotedString(s.into())));
                    args.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(
                        Expr::BinaryOp {
                            left: lit(self.key),
                            op: BinaryOperator::Eq,
                            right: lit(self.value),
                        },
                    )));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Add { key, value, had: 0 };
    let _ = q.visit(&mut v);
    v.had
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
