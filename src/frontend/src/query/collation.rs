//! MySQL's `information_schema` holds its text in `utf8_general_ci` columns, so a comparison
//! with a string ignores case there: `IS_NULLABLE = 'yes'` holds for `YES`. Drivers rely on it:
//! MariaDB Connector/J's `getColumns()` computes NULLABLE with exactly that test. A statement
//! that reads only `information_schema` compares its value columns to strings the same way.
//! Database and table names keep comparing exactly, as MySQL's do on Linux (and Strata's names
//! are case-sensitive): `TABLE_SCHEMA = 'D1'` does not match `d1`.

use std::ops::ControlFlow;

use strata_query::info_schema::NAME;
use strata_sql::sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    ObjectName, ObjectNamePart, Statement, TableFactor, Value, Visit, VisitMut, Visitor,
    VisitorMut,
};

/// Makes `stmt`'s comparisons of `information_schema` value columns with strings ignore case,
/// when every table it reads is in `information_schema` (`db` is the session's database).
pub(crate) fn information_schema_ignores_case(stmt: &mut Statement, db: Option<&str>) {
    if reads_only_information_schema(stmt, db) {
        let _ = stmt.visit(&mut IgnoreCase);
    }
}

fn reads_only_information_schema(stmt: &Statement, db: Option<&str>) -> bool {
    struct Tables<'a> {
        db: Option<&'a str>,
        any: bool,
        other: bool,
    }
    impl Visitor for Tables<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, .. } = tf {
                let parts: Vec<&str> = name
                    .0
                    .iter()
                    .map(|p| p.as_ident().map_or("", |i| i.value.as_str()))
                    .collect();
                let schema = match parts.as_slice() {
                    [_] => self.db,
                    [s, _] | [_, s, _] => Some(*s),
                    _ => None,
                };
                if schema.is_some_and(|s| s.eq_ignore_ascii_case(NAME)) {
                    self.any = true;
                } else {
                    self.other = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut t = Tables {
        db,
        any: false,
        other: false,
    };
    let _ = stmt.visit(&mut t);
    t.any && !t.other
}

struct IgnoreCase;

impl VisitorMut for IgnoreCase {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        use strata_sql::sqlparser::ast::BinaryOperator::{Eq, NotEq};
        match expr {
            Expr::BinaryOp {
                left,
                op: Eq | NotEq,
                right,
            } => {
                if value_column(left) && text(right) {
                    lowered(left, right);
                } else if value_column(right) && text(left) {
                    lowered(right, left);
                }
            }
            Expr::InList { expr: e, list, .. } if value_column(e) && list.iter().all(text) => {
                **e = lower(e);
                for item in list {
                    lower_literal(item);
                }
            }
            Expr::Like {
                negated,
                any: false,
                expr: e,
                pattern,
                escape_char,
            } if value_column(e) => {
                *expr = Expr::ILike {
                    negated: *negated,
                    any: false,
                    expr: e.clone(),
                    pattern: pattern.clone(),
                    escape_char: escape_char.clone(),
                };
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// A column other than a database or table name.
fn value_column(e: &Expr) -> bool {
    let name = match e {
        Expr::Identifier(i) => &i.value,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(i) => &i.value,
            None => return false,
        },
        _ => return false,
    };
    let upper = name.to_ascii_uppercase();
    !(upper.ends_with("_SCHEMA") || upper.ends_with("SCHEMA_NAME") || upper.ends_with("TABLE_NAME"))
}

fn text(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)))
}

fn lowered(column: &mut Expr, literal: &mut Expr) {
    *column = lower(column);
    lower_literal(literal);
}

fn lower_literal(e: &mut Expr) {
    if let Expr::Value(v) = e
        && let Value::SingleQuotedString(s) = &mut v.value
    {
        *s = s.to_lowercase();
    }
}

fn lower(e: &Expr) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new("lower"))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(e.clone()))],
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}
