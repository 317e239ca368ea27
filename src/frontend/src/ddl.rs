//! CREATE/DROP DATABASE, CREATE/DROP/TRUNCATE TABLE, DESCRIBE, SHOW CREATE TABLE, and the
//! table-maintenance statements of dump tools (`table_locks`).

use strata_catalog::CatalogError;
use strata_catalog::{ColumnMeta, DefaultValue, DistributionMeta, TableDef, TableMeta};
use strata_common::types::SrType;
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_sql::{ColumnDefault, CreateTable, Distribution, KeysKind, TableName};

use crate::admin::{config_value, nullable_string_table, string_table};
use crate::executor::database_of;
use crate::{Frontend, FrontendError, Result, insert};

mod table_locks;
pub(crate) use table_locks::{alter_table_keys, lock_tables};

const KNOWN_PROPERTIES: &[&str] = &[
    "replication_num",
    "storage_medium",
    "storage_cooldown_time",
    "compression",
    "enable_persistent_index",
    "bucket_size",
    "fast_schema_evolution",
    "replicated_storage",
    "colocate_with",
    "bloom_filter_columns",
    "partition_live_number",
    "storage_volume",
    "datacache.enable",
    "enable_async_write_back",
];

fn invalid(msg: impl Into<String>) -> FrontendError {
    FrontendError::new(StatusCode::InvalidArguments, msg)
}

pub(crate) fn create_database(fe: &Frontend, name: &str, if_not_exists: bool) -> Result<Output> {
    if name.eq_ignore_ascii_case(strata_query::info_schema::NAME) {
        return Err(FrontendError::new(
            StatusCode::DatabaseAlreadyExists,
            format!("Can't create database '{name}'; database exists"),
        ));
    }
    fe.catalog.create_database(name, if_not_exists)?;
    Ok(Output::ok())
}

pub(crate) fn drop_database(
    fe: &Frontend,
    session: &mut Session,
    name: &str,
    if_exists: bool,
) -> Result<Output> {
    fe.catalog.drop_database(name, if_exists)?;
    if session.database.as_deref() == Some(name) {
        session.database = None;
    }
    Ok(Output::ok())
}

pub(crate) fn drop_table(
    fe: &Frontend,
    session: &Session,
    name: &TableName,
    if_exists: bool,
) -> Result<Output> {
    let db = database_of(session, name.db.as_deref())?;
    fe.catalog.drop_table(db, &name.table, if_exists)?;
    Ok(Output::ok())
}

pub(crate) fn truncate_table(fe: &Frontend, session: &Session, name: &TableName) -> Result<Output> {
    let db = database_of(session, name.db.as_deref())?;
    fe.catalog.truncate_table(db, &name.table)?;
    Ok(Output::ok())
}

// Retired files are deleted by the background GC once readers' grace period has passed.

/// Looks a table up, failing with StarRocks' unknown-table error.
pub(crate) fn table(fe: &Frontend, session: &Session, name: &TableName) -> Result<TableMeta> {
    let db = database_of(session, name.db.as_deref())?;
    fe.catalog.get_table(db, &name.table)?.ok_or_else(|| {
        CatalogError::UnknownTable {
            db: db.to_string(),
            table: name.table.clone(),
        }
        .into()
    })
}

pub(crate) async fn create_table(
    fe: &Frontend,
    session: &mut Session,
    ct: CreateTable,
) -> Result<Output> {
    if ct.query.is_some() {
        return insert::run_ctas(fe, session, ct).await;
    }
    let db = database_of(session, ct.name.db.as_deref())?.to_string();
    let columns: Vec<ColumnMeta> = ct
        .columns
        .iter()
        .map(|c| ColumnMeta {
            name: c.name.clone(),
            ty: c.ty.clone(),
            nullable: c.nullable.unwrap_or(true),
            default: c.default.as_ref().map(|d| match d {
                ColumnDefault::Null => DefaultValue::Null,
                ColumnDefault::Literal(v) => DefaultValue::Literal(v.clone()),
                ColumnDefault::CurrentTimestamp => DefaultValue::CurrentTimestamp,
            }),
            comment: c.comment.clone().unwrap_or_default(),
            is_key: false,
        })
        .collect();
    let def = table_def(fe, &ct, columns)?;
    fe.catalog
        .create_table(&db, &ct.name.table, &def, ct.if_not_exists)?;
    Ok(Output::ok())
}

/// Validates CREATE TABLE clauses against `columns` and builds the stored definition.
pub(crate) fn table_def(
    fe: &Frontend,
    ct: &CreateTable,
    mut columns: Vec<ColumnMeta>,
) -> Result<TableDef> {
    if let Some(engine) = &ct.engine
        && !engine.eq_ignore_ascii_case("OLAP")
    {
        return Err(FrontendError::new(
            StatusCode::Unsupported,
            format!("ENGINE = {engine} is not supported; only OLAP tables exist"),
        ));
    }
    for (i, c) in columns.iter().enumerate() {
        if columns[..i]
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&c.name))
        {
            return Err(FrontendError::new(
                StatusCode::DuplicateColumn,
                format!("Duplicate column name '{}'", c.name),
            ));
        }
    }
    let key_columns = match &ct.keys {
        Some((KeysKind::Duplicate, cols)) => explicit_keys(&columns, cols)?,
        Some((kind, _)) => {
            return Err(FrontendError::new(
                StatusCode::Unsupported,
                format!("{kind} KEY tables are not supported yet; use DUPLICATE KEY"),
            ));
        }
        None => default_keys(&columns)?,
    };
    for c in &mut columns {
        c.is_key = key_columns.iter().any(|k| k == &c.name);
    }
    let (distribution, buckets) = match &ct.distribution {
        None => (DistributionMeta::Random, None),
        Some(Distribution::Random { buckets }) => (DistributionMeta::Random, *buckets),
        Some(Distribution::Hash {
            columns: cols,
            buckets,
        }) => {
            let mut names = Vec::new();
            for c in cols {
                let col = columns
                    .iter()
                    .find(|m| m.name.eq_ignore_ascii_case(c))
                    .ok_or_else(|| invalid(format!("Distribution column '{c}' does not exist")))?;
                if col.ty.is_complex()
                    || matches!(col.ty, SrType::Float | SrType::Double | SrType::Varbinary)
                {
                    return Err(invalid(format!(
                        "Distribution column '{}' cannot be of type {}",
                        col.name,
                        col.ty.describe()
                    )));
                }
                names.push(col.name.clone());
            }
            (DistributionMeta::Hash(names), *buckets)
        }
    };
    let mut properties = Vec::new();
    for (k, v) in &ct.properties {
        let key = k.to_ascii_lowercase();
        if !KNOWN_PROPERTIES.contains(&key.as_str()) && !key.starts_with("dynamic_partition.") {
            return Err(invalid(format!("Unknown properties: {{{k}={v}}}")));
        }
        if key == "replication_num" && v.trim() != "1" {
            return Err(invalid(format!(
                "Table replication num should be less than or equal to the number of available \
                 BE nodes. You can change this default by setting the replication_num table \
                 properties. Current alive backend is [1]. , table={}, default_replication_num={v}",
                ct.name.table
            )));
        }
        properties.push((key, v.clone()));
    }
    if !properties.iter().any(|(k, _)| k == "replication_num") {
        properties.push((
            "replication_num".to_string(),
            config_value(fe, "default_replication_num")?,
        ));
    }
    let storage_buckets = TableDef::storage_buckets_for(buckets, &distribution, &key_columns);
    Ok(TableDef {
        columns,
        keys_kind: "DUPLICATE".to_string(),
        key_columns,
        distribution,
        buckets,
        storage_buckets,
        properties,
        comment: ct.comment.clone(),
    })
}

fn explicit_keys(columns: &[ColumnMeta], keys: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let Some(col) = columns.get(i) else {
            return Err(invalid(format!("Key column '{k}' does not exist")));
        };
        if !col.name.eq_ignore_ascii_case(k) {
            if columns.iter().any(|c| c.name.eq_ignore_ascii_case(k)) {
                return Err(invalid(format!(
                    "Key columns should be a ordered prefix of the schema. Got key column '{k}' \
                     at position {}, where column '{}' is defined",
                    i + 1,
                    col.name
                )));
            }
            return Err(invalid(format!("Key column '{k}' does not exist")));
        }
        if col.ty.short_key_size().is_none() {
            return Err(invalid(format!(
                "Invalid data type of key column '{}': '{}'",
                col.name,
                col.ty.describe()
            )));
        }
        out.push(col.name.clone());
    }
    Ok(out)
}

/// StarRocks' default DUPLICATE KEY: up to 3 leading columns within 36 bytes of short key,
/// stopping before a type that cannot be a key and right after a string.
pub(crate) fn default_keys(columns: &[ColumnMeta]) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut size = 0u32;
    for c in columns {
        let Some(s) = c.ty.short_key_size() else {
            break;
        };
        if keys.len() == 3 || (!keys.is_empty() && size + s > 36) {
            break;
        }
        keys.push(c.name.clone());
        size += s;
        if c.ty.is_string() {
            break;
        }
    }
    if keys.is_empty() {
        let first = columns.first().map(|c| c.ty.describe()).unwrap_or_default();
        return Err(invalid(format!(
            "Data type of first column cannot be {first}"
        )));
    }
    Ok(keys)
}

/// The columns of table or view `name`.
fn columns_of(fe: &Frontend, session: &Session, name: &TableName) -> Result<Vec<ColumnMeta>> {
    let db = database_of(session, name.db.as_deref())?;
    if let Some(t) = fe.catalog.get_table(db, &name.table)? {
        return Ok(t.def.columns);
    }
    Ok(crate::view_stmt::view(fe, session, name)?.def.columns)
}

pub(crate) fn describe(fe: &Frontend, session: &Session, name: &TableName) -> Result<Output> {
    let rows = columns_of(fe, session, name)?
        .iter()
        .map(|c| {
            vec![
                Some(c.name.clone()),
                Some(c.ty.describe()),
                Some(if c.nullable { "YES" } else { "NO" }.to_string()),
                Some(if c.is_key { "true" } else { "false" }.to_string()),
                default_text(c),
                Some(String::new()),
            ]
        })
        .collect();
    Ok(nullable_string_table(
        &["Field", "Type", "Null", "Key", "Default", "Extra"],
        rows,
    ))
}

/// A column's default as DESC and SHOW COLUMNS show it (NULL for none).
fn default_text(c: &strata_catalog::ColumnMeta) -> Option<String> {
    match &c.default {
        None | Some(DefaultValue::Null) => None,
        Some(DefaultValue::Literal(v)) => Some(v.clone()),
        Some(DefaultValue::CurrentTimestamp) => Some("CURRENT_TIMESTAMP".into()),
    }
}

/// SHOW [FULL] COLUMNS: DESC's columns as MySQL lays them out (Key `YES`/`NO` as StarRocks
/// says it); FULL adds Collation, Privileges and Comment. LIKE matches the column name.
pub(crate) fn show_columns(
    fe: &Frontend,
    session: &Session,
    name: &TableName,
    full: bool,
    filter: Option<&strata_sql::ShowFilter>,
) -> Result<Output> {
    let rows = columns_of(fe, session, name)?
        .iter()
        .filter(|c| crate::show::keep(filter, &c.name))
        .map(|c| {
            let default = default_text(c);
            let text = c.ty.describe();
            let collation = (text.starts_with("varchar") || text.starts_with("char"))
                .then(|| "utf8mb4_general_ci".to_string());
            let mut row = vec![Some(c.name.clone()), Some(text)];
            if full {
                row.push(collation);
            }
            row.extend([
                Some(if c.nullable { "YES" } else { "NO" }.to_string()),
                Some(if c.is_key { "YES" } else { "NO" }.to_string()),
                default,
                Some(String::new()),
            ]);
            if full {
                row.push(Some("select,insert,update,references".to_string()));
                row.push(Some(c.comment.clone()));
            }
            row
        })
        .collect();
    let names: &[&str] = if full {
        &[
            "Field",
            "Type",
            "Collation",
            "Null",
            "Key",
            "Default",
            "Extra",
            "Privileges",
            "Comment",
        ]
    } else {
        &["Field", "Type", "Null", "Key", "Default", "Extra"]
    };
    Ok(nullable_string_table(names, rows))
}

/// DESC FILES(...): the schema a load from these files will use.
pub(crate) async fn describe_files(fe: &Frontend, props: &[(String, String)]) -> Result<Output> {
    fe.access.check(props)?;
    let source = strata_query::files::FilesSource::resolve(props, false).await?;
    let rows = source
        .columns
        .iter()
        .map(|(n, t)| vec![n.clone(), t.describe(), "YES".to_string()])
        .collect();
    Ok(string_table(&["Field", "Type", "Null"], rows))
}

/// SHOW CREATE TABLE text in StarRocks' layout.
pub(crate) fn create_table_sql(t: &TableMeta) -> String {
    let mut s = format!("CREATE TABLE `{}` (\n", t.name);
    let cols: Vec<String> = t
        .def
        .columns
        .iter()
        .map(|c| {
            let mut line = format!(
                "  `{}` {} {}",
                c.name,
                c.ty.create_sql(),
                if c.nullable { "NULL" } else { "NOT NULL" }
            );
            match &c.default {
                Some(DefaultValue::Literal(v)) => line.push_str(&format!(" DEFAULT \"{v}\"")),
                Some(DefaultValue::CurrentTimestamp) => line.push_str(" DEFAULT CURRENT_TIMESTAMP"),
                Some(DefaultValue::Null) | None => {}
            }
            line.push_str(&format!(" COMMENT \"{}\"", c.comment.replace('"', "\\\"")));
            line
        })
        .collect();
    s.push_str(&cols.join(",\n"));
    s.push_str("\n) ENGINE=OLAP \n");
    let keys: Vec<String> = t.def.key_columns.iter().map(|k| format!("`{k}`")).collect();
    s.push_str(&format!("DUPLICATE KEY({})\n", keys.join(", ")));
    let comment = t.def.comment.clone().unwrap_or_else(|| "OLAP".to_string());
    s.push_str(&format!("COMMENT \"{}\"\n", comment.replace('"', "\\\"")));
    match &t.def.distribution {
        DistributionMeta::Hash(cols) => {
            let cols: Vec<String> = cols.iter().map(|c| format!("`{c}`")).collect();
            s.push_str(&format!("DISTRIBUTED BY HASH({})", cols.join(", ")));
        }
        DistributionMeta::Random => s.push_str("DISTRIBUTED BY RANDOM"),
    }
    if let Some(b) = t.def.buckets {
        s.push_str(&format!(" BUCKETS {b}"));
    }
    s.push_str(" \nPROPERTIES (\n");
    let mut props = t.def.properties.clone();
    props.sort();
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
        .collect();
    s.push_str(&props.join(",\n"));
    s.push_str("\n);");
    s
}

pub(crate) fn show_create_table(
    fe: &Frontend,
    session: &Session,
    name: &TableName,
) -> Result<Output> {
    let db = database_of(session, name.db.as_deref())?;
    if fe.catalog.get_table(db, &name.table)?.is_none()
        && fe.catalog.get_view(db, &name.table)?.is_some()
    {
        return crate::view_stmt::show_create(fe, session, name);
    }
    let t = table(fe, session, name)?;
    Ok(string_table(
        &["Table", "Create Table"],
        vec![vec![t.name.clone(), create_table_sql(&t)]],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: SrType) -> ColumnMeta {
        ColumnMeta {
            name: name.into(),
            ty,
            nullable: true,
            default: None,
            comment: String::new(),
            is_key: false,
        }
    }

    #[test]
    fn default_key_rule_matches_observed_starrocks() {
        use strata_common::types::VARCHAR_MAX;
        let v = SrType::Varchar(VARCHAR_MAX);
        let cols = vec![
            col("$1", SrType::BigInt),
            col("$2", v.clone()),
            col("$3", SrType::Double),
        ];
        assert_eq!(default_keys(&cols).unwrap(), vec!["$1", "$2"]);
        let cols = vec![
            col("c1", SrType::BigInt),
            col("c2", SrType::Decimal(38, 9)),
            col("c3", v.clone()),
        ];
        assert_eq!(default_keys(&cols).unwrap(), vec!["c1", "c2"]);
        let m = SrType::Map(Box::new(SrType::Int), Box::new(SrType::Int));
        let cols = vec![
            col("col_int", SrType::Int),
            col("m", m),
            col("s", v.clone()),
        ];
        assert_eq!(default_keys(&cols).unwrap(), vec!["col_int"]);
        let cols = vec![
            col("UserID", SrType::BigInt),
            col("ItemID", SrType::BigInt),
            col("CategoryID", SrType::BigInt),
            col("BehaviorType", v),
        ];
        assert_eq!(
            default_keys(&cols).unwrap(),
            vec!["UserID", "ItemID", "CategoryID"]
        );
        assert!(default_keys(&[col("d", SrType::Double)]).is_err());
    }
}
