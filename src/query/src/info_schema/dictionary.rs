//! MySQL's data dictionary views, which drivers, GUIs, BI and dump tools read: `schemata`,
//! `tables`, `columns`, `views`, `statistics` and `routines` with MySQL's full column sets,
//! and StarRocks' `tables_config`. Views are listed beside the tables they live with.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use strata_catalog::{ColumnMeta, DefaultValue, DistributionMeta, ViewMeta};
use strata_common::types::SrType;

use super::{Cell, Kind, NAME, Sources, build, s};

type Provider = Result<Arc<dyn TableProvider>, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The views the user sees.
fn views_seen(src: &Sources<'_>) -> Result<Vec<ViewMeta>, String> {
    let mut all = src.catalog.all_views().map_err(err)?;
    all.retain(|v| src.visible.table(&v.db, &v.name));
    Ok(all)
}

pub(super) fn schemata(src: &Sources<'_>) -> Provider {
    let cols = [
        ("CATALOG_NAME", Kind::Str),
        ("SCHEMA_NAME", Kind::Str),
        ("DEFAULT_CHARACTER_SET_NAME", Kind::Str),
        ("DEFAULT_COLLATION_NAME", Kind::Str),
        ("SQL_PATH", Kind::Str),
    ];
    let mut names = src.catalog.list_databases().map_err(err)?;
    names.retain(|d| src.visible.database(d));
    names.push(NAME.to_string());
    names.sort();
    let rows = names
        .into_iter()
        .map(|n| {
            vec![
                s("def"),
                s(n),
                s("utf8"),
                s("utf8_general_ci"),
                Cell::S(None),
            ]
        })
        .collect();
    build(&cols, rows)
}

pub(super) fn tables(src: &Sources<'_>) -> Provider {
    let catalog = src.catalog;
    let cols = [
        ("TABLE_CATALOG", Kind::Str),
        ("TABLE_SCHEMA", Kind::Str),
        ("TABLE_NAME", Kind::Str),
        ("TABLE_TYPE", Kind::Str),
        ("ENGINE", Kind::Str),
        ("VERSION", Kind::Int),
        ("ROW_FORMAT", Kind::Str),
        ("TABLE_ROWS", Kind::Int),
        ("AVG_ROW_LENGTH", Kind::Int),
        ("DATA_LENGTH", Kind::Int),
        ("MAX_DATA_LENGTH", Kind::Int),
        ("INDEX_LENGTH", Kind::Int),
        ("DATA_FREE", Kind::Int),
        ("AUTO_INCREMENT", Kind::Int),
        ("CREATE_TIME", Kind::Datetime),
        ("UPDATE_TIME", Kind::Datetime),
        ("CHECK_TIME", Kind::Datetime),
        ("TABLE_COLLATION", Kind::Str),
        ("CHECKSUM", Kind::Int),
        ("CREATE_OPTIONS", Kind::Str),
        ("TABLE_COMMENT", Kind::Str),
    ];
    let all = catalog.all_tables().map_err(err)?;
    let stats = catalog.table_rows().map_err(err)?;
    let bytes = catalog.table_bytes().map_err(err)?;
    let mut rows = Vec::with_capacity(all.len());
    for t in all {
        if !src.visible.table(&t.db, &t.name) {
            continue;
        }
        let n = stats.get(&t.id).copied().unwrap_or(0) as i64;
        let b = bytes.get(&t.id).copied().unwrap_or(0) as i64;
        rows.push(vec![
            s("def"),
            s(&t.db),
            s(&t.name),
            s("BASE TABLE"),
            s("StarRocks"),
            Cell::I(None),
            Cell::S(None),
            Cell::I(Some(n)),
            Cell::I(Some(if n > 0 { b / n } else { 0 })),
            Cell::I(Some(b)),
            Cell::I(Some(0)),
            Cell::I(Some(0)),
            Cell::I(Some(0)),
            Cell::I(None),
            s(&t.created_at),
            Cell::S(None),
            Cell::S(None),
            s("utf8_general_ci"),
            Cell::I(None),
            s(""),
            s(t.def.comment.clone().unwrap_or_default()),
        ]);
    }
    for v in views_seen(src)? {
        let mut row = vec![s("def"), s(&v.db), s(&v.name), s("VIEW")];
        row.extend((0..10).map(|_| Cell::I(None)));
        row[4] = Cell::S(None);
        row[6] = Cell::S(None);
        row.extend([
            s(&v.created_at),
            Cell::S(None),
            Cell::S(None),
            Cell::S(None),
            Cell::I(None),
            Cell::S(None),
            s("VIEW"),
        ]);
        rows.push(row);
    }
    sort_by_name(&mut rows);
    build(&cols, rows)
}

/// Rows ordered by schema and name (the second and third cells).
fn sort_by_name(rows: &mut [Vec<Cell>]) {
    let key = |r: &Vec<Cell>| match (&r[1], &r[2]) {
        (Cell::S(a), Cell::S(b)) => (a.clone(), b.clone()),
        _ => (None, None),
    };
    rows.sort_by_key(key);
}

/// MySQL's description of a column type: DATA_TYPE, CHARACTER_MAXIMUM_LENGTH,
/// CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION.
fn type_facts(t: &SrType) -> (String, [Option<i64>; 5]) {
    let data_type = t
        .describe()
        .split(['(', '<'])
        .next()
        .unwrap_or("")
        .to_string();
    let num = |p: i64, sc: i64| [None, None, Some(p), Some(sc), None];
    let facts = match t {
        SrType::Boolean => num(1, 0),
        SrType::TinyInt => num(3, 0),
        SrType::SmallInt => num(5, 0),
        SrType::Int => num(10, 0),
        SrType::BigInt => num(19, 0),
        SrType::LargeInt => num(39, 0),
        SrType::Float => [None, None, Some(12), None, None],
        SrType::Double => [None, None, Some(22), None, None],
        SrType::Decimal(p, sc) => num(i64::from(*p), i64::from(*sc)),
        SrType::Date => [None; 5],
        SrType::Datetime => [None, None, None, None, Some(0)],
        SrType::Char(n) | SrType::Varchar(n) => {
            [Some(i64::from(*n)), Some(i64::from(*n)), None, None, None]
        }
        SrType::Varbinary => [Some(1_048_576), Some(1_048_576), None, None, None],
        SrType::Json | SrType::Array(_) | SrType::Map(..) | SrType::Struct(_) => [None; 5],
    };
    (data_type, facts)
}

fn default_of(c: &ColumnMeta) -> Option<String> {
    match &c.default {
        None | Some(DefaultValue::Null) => None,
        Some(DefaultValue::Literal(v)) => Some(v.clone()),
        Some(DefaultValue::CurrentTimestamp) => Some("CURRENT_TIMESTAMP".into()),
    }
}

pub(super) fn columns(src: &Sources<'_>) -> Provider {
    let cols = [
        ("TABLE_CATALOG", Kind::Str),
        ("TABLE_SCHEMA", Kind::Str),
        ("TABLE_NAME", Kind::Str),
        ("COLUMN_NAME", Kind::Str),
        ("ORDINAL_POSITION", Kind::Int),
        ("COLUMN_DEFAULT", Kind::Str),
        ("IS_NULLABLE", Kind::Str),
        ("DATA_TYPE", Kind::Str),
        ("CHARACTER_MAXIMUM_LENGTH", Kind::Int),
        ("CHARACTER_OCTET_LENGTH", Kind::Int),
        ("NUMERIC_PRECISION", Kind::Int),
        ("NUMERIC_SCALE", Kind::Int),
        ("DATETIME_PRECISION", Kind::Int),
        ("CHARACTER_SET_NAME", Kind::Str),
        ("COLLATION_NAME", Kind::Str),
        ("COLUMN_TYPE", Kind::Str),
        ("COLUMN_KEY", Kind::Str),
        ("EXTRA", Kind::Str),
        ("PRIVILEGES", Kind::Str),
        ("COLUMN_COMMENT", Kind::Str),
        ("COLUMN_SIZE", Kind::Int),
        ("DECIMAL_DIGITS", Kind::Int),
        ("GENERATION_EXPRESSION", Kind::Str),
        ("SRS_ID", Kind::Int),
    ];
    let mut relations: Vec<(String, String, Vec<ColumnMeta>)> = Vec::new();
    for t in src.catalog.all_tables().map_err(err)? {
        if src.visible.table(&t.db, &t.name) {
            relations.push((t.db, t.name, t.def.columns));
        }
    }
    for v in views_seen(src)? {
        relations.push((v.db, v.name, v.def.columns));
    }
    relations.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut rows = Vec::new();
    for (db, table, columns) in relations {
        for (i, c) in columns.iter().enumerate() {
            let (data_type, [chars, octets, precision, scale, dt_precision]) = type_facts(&c.ty);
            let text = c.ty.is_string();
            rows.push(vec![
                s("def"),
                s(&db),
                s(&table),
                s(&c.name),
                Cell::I(Some(i as i64 + 1)),
                Cell::S(default_of(c)),
                s(if c.nullable { "YES" } else { "NO" }),
                s(data_type),
                Cell::I(chars),
                Cell::I(octets),
                Cell::I(precision),
                Cell::I(scale),
                Cell::I(dt_precision),
                Cell::S(text.then(|| "utf8".to_string())),
                Cell::S(text.then(|| "utf8_general_ci".to_string())),
                s(c.ty.create_sql()),
                s(if c.is_key { "DUP" } else { "" }),
                s(""),
                s("SELECT,INSERT,UPDATE,REFERENCES"),
                s(&c.comment),
                Cell::I(precision.or(chars)),
                Cell::I(scale),
                Cell::S(None),
                Cell::I(None),
            ]);
        }
    }
    build(&cols, rows)
}

pub(super) fn views(src: &Sources<'_>) -> Provider {
    let cols = [
        ("TABLE_CATALOG", Kind::Str),
        ("TABLE_SCHEMA", Kind::Str),
        ("TABLE_NAME", Kind::Str),
        ("VIEW_DEFINITION", Kind::Str),
        ("CHECK_OPTION", Kind::Str),
        ("IS_UPDATABLE", Kind::Str),
        ("DEFINER", Kind::Str),
        ("SECURITY_TYPE", Kind::Str),
        ("CHARACTER_SET_CLIENT", Kind::Str),
        ("COLLATION_CONNECTION", Kind::Str),
    ];
    let rows = views_seen(src)?
        .into_iter()
        .map(|v| {
            vec![
                s("def"),
                s(v.db),
                s(v.name),
                s(v.def.query),
                s("NONE"),
                s("NO"),
                s(""),
                s(""),
                s("utf8"),
                s("utf8_general_ci"),
            ]
        })
        .collect();
    build(&cols, rows)
}

/// MySQL's index list. StarRocks' tables have no secondary indexes; the sort key is what a
/// tool reads as the table's index, as StarRocks' own `SHOW INDEX` leaves it empty.
pub(super) fn statistics(_src: &Sources<'_>) -> Provider {
    let cols = [
        ("TABLE_CATALOG", Kind::Str),
        ("TABLE_SCHEMA", Kind::Str),
        ("TABLE_NAME", Kind::Str),
        ("NON_UNIQUE", Kind::Int),
        ("INDEX_SCHEMA", Kind::Str),
        ("INDEX_NAME", Kind::Str),
        ("SEQ_IN_INDEX", Kind::Int),
        ("COLUMN_NAME", Kind::Str),
        ("COLLATION", Kind::Str),
        ("CARDINALITY", Kind::Int),
        ("SUB_PART", Kind::Int),
        ("PACKED", Kind::Str),
        ("NULLABLE", Kind::Str),
        ("INDEX_TYPE", Kind::Str),
        ("COMMENT", Kind::Str),
        ("INDEX_COMMENT", Kind::Str),
    ];
    build(&cols, Vec::new())
}

/// Stored procedures and functions: there are none.
pub(super) fn routines(_src: &Sources<'_>) -> Provider {
    let cols = [
        ("SPECIFIC_NAME", Kind::Str),
        ("ROUTINE_CATALOG", Kind::Str),
        ("ROUTINE_SCHEMA", Kind::Str),
        ("ROUTINE_NAME", Kind::Str),
        ("ROUTINE_TYPE", Kind::Str),
        ("DTD_IDENTIFIER", Kind::Str),
        ("ROUTINE_BODY", Kind::Str),
        ("ROUTINE_DEFINITION", Kind::Str),
        ("EXTERNAL_NAME", Kind::Str),
        ("EXTERNAL_LANGUAGE", Kind::Str),
        ("PARAMETER_STYLE", Kind::Str),
        ("IS_DETERMINISTIC", Kind::Str),
        ("SQL_DATA_ACCESS", Kind::Str),
        ("SQL_PATH", Kind::Str),
        ("SECURITY_TYPE", Kind::Str),
        ("CREATED", Kind::Datetime),
        ("LAST_ALTERED", Kind::Datetime),
        ("SQL_MODE", Kind::Str),
        ("ROUTINE_COMMENT", Kind::Str),
        ("DEFINER", Kind::Str),
        ("CHARACTER_SET_CLIENT", Kind::Str),
        ("COLLATION_CONNECTION", Kind::Str),
        ("DATABASE_COLLATION", Kind::Str),
    ];
    build(&cols, Vec::new())
}

/// StarRocks' `materialized_views`: Strata has no materialized views (CREATE MATERIALIZED VIEW
/// is refused), so it has StarRocks' columns and no rows. Tools read it to tell a view from a
/// materialized one (the `starrocks` SQLAlchemy dialect, for every view it reflects).
pub(super) fn materialized_views(_src: &Sources<'_>) -> Provider {
    let names = [
        "MATERIALIZED_VIEW_ID",
        "TABLE_SCHEMA",
        "TABLE_NAME",
        "REFRESH_TYPE",
        "IS_ACTIVE",
        "INACTIVE_REASON",
        "PARTITION_TYPE",
        "TASK_ID",
        "TASK_NAME",
        "LAST_REFRESH_START_TIME",
        "LAST_REFRESH_FINISHED_TIME",
        "LAST_REFRESH_DURATION",
        "LAST_REFRESH_STATE",
        "LAST_REFRESH_FORCE_REFRESH",
        "LAST_REFRESH_START_PARTITION",
        "LAST_REFRESH_END_PARTITION",
        "LAST_REFRESH_BASE_REFRESH_PARTITIONS",
        "LAST_REFRESH_MV_REFRESH_PARTITIONS",
        "LAST_REFRESH_ERROR_CODE",
        "LAST_REFRESH_ERROR_MESSAGE",
        "TABLE_ROWS",
        "MATERIALIZED_VIEW_DEFINITION",
        "EXTRA_MESSAGE",
        "QUERY_REWRITE_STATUS",
        "CREATOR",
    ];
    let cols: Vec<(&str, Kind)> = names.iter().map(|n| (*n, Kind::Str)).collect();
    build(&cols, Vec::new())
}

/// StarRocks' `tables_config`: each table's model, keys, distribution and properties.
pub(super) fn tables_config(src: &Sources<'_>) -> Provider {
    let cols = [
        ("TABLE_SCHEMA", Kind::Str),
        ("TABLE_NAME", Kind::Str),
        ("TABLE_ENGINE", Kind::Str),
        ("TABLE_MODEL", Kind::Str),
        ("PRIMARY_KEY", Kind::Str),
        ("PARTITION_KEY", Kind::Str),
        ("DISTRIBUTE_KEY", Kind::Str),
        ("DISTRIBUTE_TYPE", Kind::Str),
        ("DISTRIBUTE_BUCKET", Kind::Int),
        ("SORT_KEY", Kind::Str),
        ("PROPERTIES", Kind::Str),
        ("TABLE_ID", Kind::Int),
    ];
    let quoted = |cols: &[String]| {
        cols.iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut rows = Vec::new();
    for t in src.catalog.all_tables().map_err(err)? {
        if !src.visible.table(&t.db, &t.name) {
            continue;
        }
        let (dist_key, dist_type) = match &t.def.distribution {
            DistributionMeta::Hash(cols) => (quoted(cols), "HASH"),
            DistributionMeta::Random => (String::new(), "RANDOM"),
        };
        let props: serde_json::Map<String, serde_json::Value> = t
            .def
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        rows.push(vec![
            s(&t.db),
            s(&t.name),
            s("OLAP"),
            // StarRocks' KeysType names.
            s(match t.def.keys_kind.to_ascii_uppercase().as_str() {
                "DUPLICATE" => "DUP_KEYS".to_string(),
                "AGGREGATE" => "AGG_KEYS".to_string(),
                other => format!("{other}_KEYS"),
            }),
            s(quoted(&t.def.key_columns)),
            s(""),
            s(dist_key),
            s(dist_type),
            Cell::I(Some(i64::from(
                t.def
                    .buckets
                    .unwrap_or(strata_catalog::TableDef::AUTO_BUCKETS),
            ))),
            s(quoted(&t.def.key_columns)),
            s(serde_json::Value::Object(props).to_string()),
            Cell::I(Some(t.id)),
        ]);
    }
    build(&cols, rows)
}
