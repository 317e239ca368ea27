//! The INSERT a Broker Load step runs: a clause's format, FILES() properties, source fields,
//! and its column list, SET and WHERE over exactly the step's files.

use strata_catalog::TableMeta;
use strata_common::StatusCode;
use strata_sql::sqlparser::ast as sp;
use strata_sql::{DataDesc, LoadStmt, Statement};

use super::{JobOptions, invalid};
use crate::{FrontendError, Result};

/// Format of a clause: FORMAT AS, else by the first path's suffix (CSV by default).
pub(super) fn format_of(d: &DataDesc) -> Result<String> {
    if let Some(f) = &d.format {
        let f = f.to_ascii_lowercase();
        return match f.as_str() {
            "csv" | "parquet" | "orc" | "json" | "avro" => Ok(f),
            _ => Err(invalid(format!(
                "Unknown data format '{f}' in DATA INFILE for table {}; supported: CSV, PARQUET, ORC, JSON, AVRO",
                d.table
            ))),
        };
    }
    let p = d.paths[0].to_ascii_lowercase();
    let p = [".gz", ".bz2", ".lz4", ".deflate", ".zst", ".zstd"]
        .iter()
        .find_map(|c| p.strip_suffix(c))
        .unwrap_or(&p);
    Ok(if p.ends_with(".parquet") {
        "parquet"
    } else if p.ends_with(".orc") {
        "orc"
    } else if p.ends_with(".json") || p.ends_with(".jsonl") {
        "json"
    } else if p.ends_with(".avro") {
        "avro"
    } else {
        "csv"
    }
    .to_string())
}

/// The FILES() properties that read a clause's files.
pub(super) fn files_props(
    stmt: &LoadStmt,
    d: &DataDesc,
    table: &TableMeta,
    opts: &JobOptions,
) -> Result<Vec<(String, String)>> {
    let format = format_of(d)?;
    let mut props = vec![
        ("path".to_string(), d.paths.join(",")),
        ("format".to_string(), format.clone()),
    ];
    for (k, v) in &stmt.broker_props {
        let key = k.to_ascii_lowercase();
        if !key.starts_with("aws.s3.") {
            return Err(FrontendError::new(
                StatusCode::Unsupported,
                format!(
                    "WITH BROKER property '{k}' is not supported: Strata reads S3-compatible storage (aws.s3.* keys) and local files"
                ),
            ));
        }
        props.push((key, v.clone()));
    }
    if format == "csv" {
        let sep = d.column_separator.clone().unwrap_or_else(|| "\t".into());
        props.push(("csv.column_separator".into(), sep));
        let rows = d.row_delimiter.clone().unwrap_or_else(|| "\n".into());
        props.push(("csv.row_delimiter".into(), rows));
        for (k, v) in &d.format_props {
            props.push((format!("csv.{k}"), v.clone()));
        }
    } else if d.column_separator.is_some()
        || d.row_delimiter.is_some()
        || !d.format_props.is_empty()
    {
        return Err(invalid(format!(
            "COLUMNS/ROWS TERMINATED BY and (skip_header, trim_space, enclose, escape) apply to CSV only; the clause for table {} reads {format}",
            d.table
        )));
    }
    if format == "json" {
        if opts.strip_outer_array {
            props.push(("json.strip_outer_array".into(), "true".into()));
        }
        if let Some(r) = &opts.json_root {
            props.push(("json.json_root".into(), r.clone()));
        }
        if let Some(p) = &opts.jsonpaths {
            // Each path gives the field of the column at its place in the column list (or
            // the table's columns).
            let names: Vec<String> = match &d.columns {
                Some(c) => c.clone(),
                None => table.def.columns.iter().map(|c| c.name.clone()).collect(),
            };
            props.push(("json.jsonpaths".into(), p.clone()));
            props.push(("json.jsonpath_names".into(), names.join(",")));
        }
    }
    if !d.columns_from_path.is_empty() {
        props.push(("columns_from_path".into(), d.columns_from_path.join(",")));
    }
    Ok(props)
}

fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// The source fields a clause reads: (name in SET/WHERE, file column it comes from).
/// `file_columns` are the columns of the clause's files (CSV: `$1..$n`).
pub(super) fn source_fields(
    d: &DataDesc,
    table: &TableMeta,
    csv: bool,
    file_columns: &[String],
    files: &str,
) -> Result<Vec<(String, String)>> {
    let find = |name: &str| {
        file_columns
            .iter()
            .find(|c| c.eq_ignore_ascii_case(name))
            .cloned()
    };
    let mut out = Vec::new();
    match (&d.columns, csv) {
        (Some(cols), true) => {
            for (i, c) in cols.iter().enumerate() {
                out.push((c.clone(), format!("${}", i + 1)));
            }
        }
        (None, true) => {
            for (i, c) in table.def.columns.iter().enumerate() {
                out.push((c.name.clone(), format!("${}", i + 1)));
            }
        }
        (Some(cols), false) => {
            for c in cols {
                let file_col = find(c).ok_or_else(|| {
                    FrontendError::new(
                        StatusCode::ColumnNotFound,
                        format!(
                            "Column '{c}' of the column list is not in {files} (its columns: {})",
                            file_columns.join(", ")
                        ),
                    )
                })?;
                out.push((c.clone(), file_col));
            }
        }
        (None, false) => {
            for c in &table.def.columns {
                if let Some(f) = find(&c.name) {
                    out.push((c.name.clone(), f));
                }
            }
        }
    }
    for p in &d.columns_from_path {
        out.push((p.clone(), p.clone()));
    }
    Ok(out)
}

/// The SQL type a CSV field named after table column `ty` has inside SET and WHERE, as in
/// StarRocks where such a field is read as its column's type; `None`: it stays text.
fn typed_as(ty: &strata_common::types::SrType) -> Option<String> {
    use strata_common::types::SrType::*;
    Some(match ty {
        Boolean => "BOOLEAN".into(),
        TinyInt | SmallInt | Int | BigInt => "BIGINT".into(),
        Float | Double => "DOUBLE".into(),
        Decimal(p, s) => format!("DECIMAL({p}, {s})"),
        Date => "DATE".into(),
        Datetime => "TIMESTAMP".into(),
        _ => return None,
    })
}

/// SET and WHERE of a CSV clause see text fields; StarRocks reads a field named after a
/// table column as that column's type, and takes other (temporary) fields as numbers where
/// arithmetic needs them. So: a field named after a numeric, date or boolean column becomes
/// `TRY_CAST(field AS <type>)`, and a temporary field that is an operand of arithmetic
/// `TRY_CAST(field AS DOUBLE)`. A value that does not convert is NULL there; the field itself,
/// loaded into its own column, is still checked (and rejected in strict mode) by the load.
fn typed_fields(expr: &mut sp::Expr, table: &TableMeta, fields: &[(String, String)]) {
    use std::ops::ControlFlow;
    use strata_sql::sqlparser::ast::{BinaryOperator, visit_expressions_mut};

    let is_field = |e: &sp::Expr| match e {
        sp::Expr::Identifier(i) => fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&i.value))
            .map(|(n, _)| n.clone()),
        _ => None,
    };
    let cast = |name: &str, ty: &str| -> sp::Expr {
        let sql = format!("TRY_CAST({} AS {ty})", quote_ident(name));
        strata_sql::sqlparser::parser::Parser::new(&strata_sql::sqlparser::dialect::MySqlDialect {})
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_expr())
            .unwrap_or_else(|_| sp::Expr::Identifier(sp::Ident::new(name)))
    };
    let _ = visit_expressions_mut(expr, |e| {
        if let sp::Expr::BinaryOp { left, op, right } = e
            && matches!(
                op,
                BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Divide
                    | BinaryOperator::Modulo
            )
        {
            for side in [left, right] {
                if let Some(name) = is_field(side)
                    && table.def.column_index(&name).is_none()
                {
                    **side = cast(&name, "DOUBLE");
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(expr, |e| {
        if let Some(name) = is_field(e)
            && let Some(i) = table.def.column_index(&name)
            && let Some(ty) = typed_as(&table.def.columns[i].ty)
        {
            *e = cast(&name, &ty);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The INSERT one step of a clause runs: the clause's columns, SET and WHERE over a FILES()
/// call that [`strata_query::files::FilesSource::resolve_listed`] resolves to the step's files.
pub(super) fn step_insert(
    db: &str,
    d: &DataDesc,
    table: &TableMeta,
    fields: &[(String, String)],
    csv: bool,
) -> Result<strata_sql::Insert> {
    let mut d = d.clone();
    if csv {
        for (_, e) in &mut d.set {
            typed_fields(e, table, fields);
        }
        if let Some(w) = &mut d.filter {
            typed_fields(w, table, fields);
        }
    }
    let d = &d;
    let inner: Vec<String> = fields
        .iter()
        .map(|(name, col)| format!("{} AS {}", quote_ident(col), quote_ident(name)))
        .collect();
    let mut targets = Vec::new();
    let mut outer = Vec::new();
    for c in &d.set {
        if table.def.column_index(&c.0).is_none() {
            return Err(FrontendError::new(
                StatusCode::ColumnNotFound,
                format!(
                    "Unknown column '{}' in SET of the clause for table '{}'",
                    c.0, table.name
                ),
            ));
        }
    }
    for col in &table.def.columns {
        if let Some((_, e)) = d
            .set
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(&col.name))
        {
            targets.push(quote_ident(&col.name));
            outer.push(strata_sql::expr_sql(e));
        } else if let Some((name, _)) = fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&col.name))
        {
            targets.push(quote_ident(&col.name));
            outer.push(format!("`__src`.{}", quote_ident(name)));
        }
    }
    if targets.is_empty() {
        return Err(invalid(format!(
            "the clause for table '{}' loads none of its columns: name them in the column list or SET",
            table.name
        )));
    }
    let filter = d
        .filter
        .as_ref()
        .map(|w| format!(" WHERE {}", strata_sql::expr_sql(w)))
        .unwrap_or_default();
    let sql = format!(
        "INSERT INTO {}.{} ({}) SELECT {} FROM (SELECT {} FROM FILES('path' = 'listed')) AS `__src`{filter}",
        quote_ident(db),
        quote_ident(&table.name),
        targets.join(", "),
        outer.join(", "),
        inner.join(", "),
    );
    let mut stmts = strata_sql::parse_sql(&sql).map_err(FrontendError::from)?;
    match (stmts.pop(), stmts.is_empty()) {
        (Some(Statement::Insert(ins)), true) => Ok(*ins),
        _ => Err(FrontendError::new(
            StatusCode::Internal,
            "a Broker Load step did not plan as an INSERT",
        )),
    }
}
