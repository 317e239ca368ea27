//! StarRocks' (and MySQL's) names for functions and types DataFusion spells otherwise, written
//! in DataFusion's terms just before planning — after the result columns have been named from
//! the statement as the user wrote it, so `SELECT hour(t)` still shows a column `hour(t)`.
//!
//! Each function is a template over its arguments (`__a0`, `__a1`, …), parsed once per use; the
//! arguments are moved in as expressions, never printed and parsed again.

use std::ops::ControlFlow;

use sqlparser::ast::{
    CastKind, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart,
    SetExpr, Statement, TimezoneInfo, Value, VisitMut, VisitorMut,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

/// The template for a call of `name` with `args`, if it is one of StarRocks' names.
fn template(name: &str, args: &[Expr]) -> Option<String> {
    let part = |p: &str| format!("CAST(date_part('{p}', CAST(__a0 AS TIMESTAMP)) AS INT)");
    // `days_add(d, 3)`: DataFusion multiplies no interval by a number, so the count must be
    // written in the statement.
    let days = |sign: &str| match args.get(1) {
        Some(Expr::Value(v)) => match &v.value {
            Value::Number(n, _) if n.parse::<i64>().is_ok() => {
                Some(format!("CAST(__a0 AS TIMESTAMP) {sign} INTERVAL '{n}' DAY"))
            }
            _ => None,
        },
        _ => None,
    };
    let interval = matches!(args.get(1), Some(Expr::Interval(_)));
    Some(match (name, args.len()) {
        ("if", 3) => "CASE WHEN __a0 THEN __a1 ELSE __a2 END".to_string(),
        ("curdate", 0) => "current_date()".to_string(),
        // MySQL's (and StarRocks') synonyms; MariaDB Connector/J's getColumns() sends UCASE.
        ("ucase", 1) => "upper(__a0)".to_string(),
        ("lcase", 1) => "lower(__a0)".to_string(),
        ("locate", 2) => "strpos(__a1, __a0)".to_string(),
        ("locate", 3) => "CASE WHEN __a2 < 1 THEN 0 WHEN strpos(substr(__a1, __a2), __a0) = 0 \
                          THEN 0 ELSE strpos(substr(__a1, __a2), __a0) + __a2 - 1 END"
            .to_string(),
        // StarRocks' now() is a DATETIME of whole seconds.
        ("now" | "current_timestamp" | "localtime" | "localtimestamp", 0) => {
            "date_trunc('second', now())".to_string()
        }
        ("date", 1) => "CAST(CAST(__a0 AS TIMESTAMP) AS DATE)".to_string(),
        ("year" | "month" | "day" | "hour" | "minute" | "second", 1) => part(name),
        ("dayofmonth", 1) => part("day"),
        ("group_concat", 1) => "string_agg(__a0, ',')".to_string(),
        ("datediff", 2) => "CAST(CAST(CAST(__a0 AS TIMESTAMP) AS DATE) - \
                            CAST(CAST(__a1 AS TIMESTAMP) AS DATE) AS INT)"
            .to_string(),
        ("unix_timestamp", 0) => "to_unixtime(now())".to_string(),
        ("unix_timestamp", 1) => "to_unixtime(CAST(__a0 AS TIMESTAMP))".to_string(),
        ("date_add" | "adddate", 2) if interval => "CAST(__a0 AS TIMESTAMP) + __a1".to_string(),
        ("date_sub" | "subdate", 2) if interval => "CAST(__a0 AS TIMESTAMP) - __a1".to_string(),
        ("date_add" | "adddate" | "days_add", 2) => days("+")?,
        ("date_sub" | "subdate" | "days_sub", 2) => days("-")?,
        _ => return None,
    })
}

/// Rewrites StarRocks' function names and `DATETIME` in `stmt` into DataFusion's.
pub fn starrocks_functions(stmt: &mut Statement) {
    let _ = stmt.visit(&mut JsonValues);
    let _ = stmt.visit(&mut Rewriter);
}

/// Functions whose result is JSON (their field is marked so; `query/src/json_fns.rs`).
const GIVES_JSON: &[&str] = &[
    "parse_json",
    "json_query",
    "json_keys",
    "json_object",
    "json_array",
    "__strata_json",
];

fn gives_json(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => matches!(
            f.name.0.as_slice(),
            [ObjectNamePart::Identifier(id)] if GIVES_JSON.contains(&id.value.to_ascii_lowercase().as_str())
        ),
        _ => false,
    }
}

/// In a VALUES column where some row has a JSON function's result, wraps the other rows'
/// values in `__strata_json(…)` (the value unchanged, marked as JSON): DataFusion refuses a
/// VALUES list whose rows' fields differ in metadata, so `INSERT INTO t VALUES
/// (parse_json('{}')), (NULL)` failed.
struct JsonValues;

impl VisitorMut for JsonValues {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut sqlparser::ast::Query) -> ControlFlow<()> {
        fn walk(body: &mut SetExpr) {
            match body {
                SetExpr::Values(v) => {
                    let cols = v.rows.iter().map(|r| r.content.len()).max().unwrap_or(0);
                    for c in 0..cols {
                        if !v
                            .rows
                            .iter()
                            .any(|r| r.content.get(c).is_some_and(gives_json))
                        {
                            continue;
                        }
                        for row in &mut v.rows {
                            if let Some(cell) = row.content.get_mut(c)
                                && !gives_json(cell)
                            {
                                let inner = std::mem::replace(cell, Expr::value(Value::Null));
                                *cell = mark_json(inner);
                            }
                        }
                    }
                }
                SetExpr::SetOperation { left, right, .. } => {
                    walk(left);
                    walk(right);
                }
                _ => {}
            }
        }
        walk(q.body.as_mut());
        ControlFlow::Continue(())
    }
}

/// `__strata_json(e)`.
fn mark_json(e: Expr) -> Expr {
    use sqlparser::ast::{Function, FunctionArgumentList, Ident, ObjectName};
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(
            "__strata_json",
        ))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(e))],
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

struct Rewriter;

impl VisitorMut for Rewriter {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        // MySQL's `CONVERT(x, type)` is `CAST(x AS type)`; `CONVERT(x USING utf8mb4)` is `x`
        // (utf8 is the one character set). MariaDB Connector/J's getColumns() sends the first.
        if let Expr::Convert {
            is_try: false,
            expr: inner,
            data_type,
            charset,
            styles,
            ..
        } = expr
            && styles.is_empty()
        {
            // A type wins over a character set (`CONVERT(x, CHAR CHARACTER SET utf8)`).
            let _ = charset;
            *expr = match data_type.take() {
                Some(data_type) => Expr::Cast {
                    kind: CastKind::Cast,
                    expr: inner.clone(),
                    data_type,
                    array: false,
                    format: None,
                },
                _ => Expr::Nested(inner.clone()),
            };
        }
        match expr {
            // An integer literal past BIGINT (a LARGEINT value): DataFusion would read it as a
            // DOUBLE and lose its last digits; StarRocks keeps it exact.
            Expr::Value(v)
                if matches!(&v.value, Value::Number(n, _)
                    if n.len() <= 38
                        && n.bytes().all(|b| b.is_ascii_digit())
                        && n.parse::<i64>().is_err()) =>
            {
                let Value::Number(n, _) = &v.value else {
                    unreachable!("matched above")
                };
                *expr = Expr::Cast {
                    kind: CastKind::Cast,
                    expr: Box::new(Expr::value(Value::SingleQuotedString(n.clone()))),
                    data_type: DataType::Decimal(
                        sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, 0),
                    ),
                    array: false,
                    format: None,
                };
            }
            Expr::Cast {
                kind,
                data_type,
                expr: inner,
                ..
            } => {
                // StarRocks' CAST gives NULL for a value it cannot convert (`CAST('abc' AS
                // INT)`, `CAST('2017-02-30' AS DATE)`); DataFusion's fails the statement.
                if matches!(kind, CastKind::Cast | CastKind::DoubleColon) {
                    *kind = CastKind::TryCast;
                }
                // DataFusion has no DATETIME: StarRocks' DATETIME is a timestamp without zone.
                match data_type {
                    DataType::Datetime(_) => {
                        *data_type = DataType::Timestamp(None, TimezoneInfo::None);
                    }
                    // MySQL's `SIGNED [INTEGER]` and `UNSIGNED [INTEGER]` are 64-bit.
                    DataType::Signed | DataType::SignedInteger => {
                        *data_type = DataType::BigInt(None);
                    }
                    DataType::Unsigned | DataType::UnsignedInteger => {
                        *data_type = DataType::BigIntUnsigned(None);
                    }
                    _ => {}
                }
                // `CAST(20240102 AS DATE)` reads the digits as YYYYMMDD[HHMMSS], as StarRocks
                // does (DataFusion would count days since 1970).
                if matches!(data_type, DataType::Date | DataType::Timestamp(..))
                    && let Expr::Value(v) = inner.as_mut()
                    && let Value::Number(n, _) = &v.value
                    && n.bytes().all(|b| b.is_ascii_digit())
                {
                    let text = match n.len() {
                        8 => format!("{}-{}-{}", &n[..4], &n[4..6], &n[6..]),
                        14 => format!(
                            "{}-{}-{} {}:{}:{}",
                            &n[..4],
                            &n[4..6],
                            &n[6..8],
                            &n[8..10],
                            &n[10..12],
                            &n[12..]
                        ),
                        // Not a date's digits: NULL, as StarRocks gives.
                        _ => n.clone(),
                    };
                    v.value = Value::SingleQuotedString(text);
                }
            }
            Expr::Function(f) => {
                let [ObjectNamePart::Identifier(id)] = f.name.0.as_slice() else {
                    return ControlFlow::Continue(());
                };
                let args: Vec<Expr> = match &f.args {
                    FunctionArguments::None => Vec::new(),
                    FunctionArguments::List(l)
                        if l.duplicate_treatment.is_none() && l.clauses.is_empty() =>
                    {
                        let plain: Option<Vec<Expr>> = l
                            .args
                            .iter()
                            .map(|a| match a {
                                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                                _ => None,
                            })
                            .collect();
                        match plain {
                            Some(a) => a,
                            None => return ControlFlow::Continue(()),
                        }
                    }
                    _ => return ControlFlow::Continue(()),
                };
                if f.filter.is_some() || f.over.is_some() {
                    return ControlFlow::Continue(());
                }
                let Some(text) = template(&id.value.to_ascii_lowercase(), &args) else {
                    return ControlFlow::Continue(());
                };
                let Ok(mut new) = Parser::new(&MySqlDialect {})
                    .try_with_sql(&text)
                    .and_then(|mut p| p.parse_expr())
                else {
                    return ControlFlow::Continue(());
                };
                let _ = new.visit(&mut Fill(&args));
                // The template's own casts are StarRocks' too: `date('bad')` is NULL.
                let _ = new.visit(&mut NullOnFailure);
                *expr = new;
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Makes a template's casts give NULL for what they cannot convert, as StarRocks' do.
struct NullOnFailure;

impl VisitorMut for NullOnFailure {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Cast { kind, .. } = expr
            && *kind == CastKind::Cast
        {
            *kind = CastKind::TryCast;
        }
        ControlFlow::Continue(())
    }
}

/// Puts the call's arguments where a template says `__aN`.
struct Fill<'a>(&'a [Expr]);

impl VisitorMut for Fill<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Identifier(i) = expr
            && let Some(n) = i.value.strip_prefix("__a")
            && let Ok(n) = n.parse::<usize>()
            && let Some(arg) = self.0.get(n)
        {
            *expr = arg.clone();
        }
        ControlFlow::Continue(())
    }
}
