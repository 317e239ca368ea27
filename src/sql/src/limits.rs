//! How large and deep a statement may be, checked right after parsing, before anything else
//! walks it (docs/design.md, "Statement limits").
//!
//! StarRocks bounds statements by `parse_tokens_limit` (3,500,000 tokens), `expr_children_limit`
//! (10,000 expressions in one list) and, in its 2.x releases, `expr_depth_limit` (3,000 levels).
//! Strata checks the same three, plus the depth of chained set operations (`UNION ALL` ×
//! 10,000 nests as deep as an expression). sqlparser itself refuses more than 50 nested
//! parentheses or subqueries ("recursion limit exceeded"), so the deep shapes that reach this
//! check are left-leaning chains: `1+1+…`, `a AND b AND …`, `… UNION ALL …`.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, SetExpr, Visit, Visitor};

use crate::ast::{ShowFilter, Statement};
use crate::error::ParseError;

/// Tokens in one script (StarRocks' `parse_tokens_limit` default).
pub const MAX_TOKENS: usize = 3_500_000;
/// Levels of nested expressions (StarRocks' `expr_depth_limit`).
pub const MAX_EXPR_DEPTH: usize = 3_000;
/// Expressions in one list: `IN (…)`, function arguments, a VALUES row (StarRocks'
/// `expr_children_limit`).
pub const MAX_EXPR_CHILDREN: usize = 10_000;
/// Set operations chained in one query (`SELECT … UNION ALL SELECT …`).
pub const MAX_SET_OPERATIONS: usize = 3_000;

/// Fails when the script has more tokens than StarRocks allows.
pub(crate) fn check_tokens(tokens: usize) -> Result<(), ParseError> {
    if tokens > MAX_TOKENS {
        return Err(ParseError::TooLarge(format!(
            "Statement exceeds maximum length limit ({tokens} tokens, at most {MAX_TOKENS}), \
             please consider modify 'parse_tokens_limit' session variable"
        )));
    }
    Ok(())
}

/// Fails when `stmt` nests deeper or lists more than the limits allow.
pub(crate) fn check(stmt: &Statement) -> Result<(), ParseError> {
    let mut v = Limits::default();
    let flow = match stmt {
        Statement::Query(s) => s.visit(&mut v),
        Statement::Insert(ins) => ins.source.visit(&mut v),
        Statement::CreateView(cv) => cv.query.visit(&mut v),
        Statement::CreateTable(ct) => match &ct.query {
            Some(q) => q.visit(&mut v),
            None => ControlFlow::Continue(()),
        },
        Statement::Set(assignments) => {
            let mut flow = ControlFlow::Continue(());
            for a in assignments {
                flow = a.value.visit(&mut v);
                if flow.is_break() {
                    break;
                }
            }
            flow
        }
        Statement::ShowDatabases(Some(ShowFilter::Where(e)))
        | Statement::ShowVariables(Some(ShowFilter::Where(e)))
        | Statement::ShowTables {
            filter: Some(ShowFilter::Where(e)),
            ..
        }
        | Statement::ShowColumns {
            filter: Some(ShowFilter::Where(e)),
            ..
        }
        | Statement::ShowTableStatus {
            filter: Some(ShowFilter::Where(e)),
            ..
        }
        | Statement::ShowList {
            filter: Some(ShowFilter::Where(e)),
            ..
        } => e.visit(&mut v),
        _ => ControlFlow::Continue(()),
    };
    match flow {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Counts the expression depth on the way down and stops the walk as soon as a limit is
/// passed, so the walk itself never recurses deeper than the limits.
#[derive(Default)]
struct Limits {
    depth: usize,
}

impl Visitor for Limits {
    type Break = ParseError;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<ParseError> {
        // Set operations nest to the left; walk the chain without recursion.
        let mut ops = 0;
        let mut body = query.body.as_ref();
        while let SetExpr::SetOperation { left, .. } = body {
            ops += 1;
            body = left.as_ref();
        }
        if ops > MAX_SET_OPERATIONS {
            return ControlFlow::Break(ParseError::TooLarge(format!(
                "The query chains {ops} set operations (UNION/INTERSECT/EXCEPT), exceeding \
                 the maximum of {MAX_SET_OPERATIONS}"
            )));
        }
        if let SetExpr::Values(values) = query.body.as_ref()
            && let Some(row) = values.rows.iter().find(|r| r.len() > MAX_EXPR_CHILDREN)
        {
            return ControlFlow::Break(children_error(
                "The number of children in expr are",
                row.len(),
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<ParseError> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return ControlFlow::Break(ParseError::TooLarge(format!(
                "Exceeded the maximum depth of an expression tree ({MAX_EXPR_DEPTH}, \
                 'expr_depth_limit'): the expression nests deeper, as a long chain of \
                 operators such as a+b+c+… or x AND y AND … does"
            )));
        }
        let children = match expr {
            Expr::InList { list, .. } => list.len(),
            Expr::Tuple(items) => items.len(),
            Expr::Function(f) => match &f.args {
                sqlparser::ast::FunctionArguments::List(l) => l.args.len(),
                _ => 0,
            },
            Expr::Case { conditions, .. } => conditions.len(),
            _ => 0,
        };
        if children > MAX_EXPR_CHILDREN {
            return ControlFlow::Break(children_error("The number of exprs are", children));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<ParseError> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }
}

fn children_error(what: &str, n: usize) -> ParseError {
    ParseError::TooLarge(format!(
        "{what} {n} exceeded the maximum limit {MAX_EXPR_CHILDREN}, please consider modify \
         'expr_children_limit' in FE conf"
    ))
}
