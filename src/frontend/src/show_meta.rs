//! What GUIs, BI and dump tools ask before they show or dump anything: `SHOW TABLE STATUS`,
//! `SHOW INDEX`, and the server's fixed lists (`SHOW STATUS`, `ENGINES`, `CHARSET`,
//! `COLLATION`), in MySQL's layouts with StarRocks' values.

use strata_common::Session;
use strata_protocol_mysql::Output;
use strata_sql::{ServerList, ShowFilter, TableName};

use crate::admin::nullable_string_table;
use crate::executor::database_of;
use crate::show::keep;
use crate::{Frontend, Result};

/// SHOW TABLE STATUS [FROM db] [LIKE]: one row per table and view the user sees.
pub(crate) fn table_status(
    fe: &Frontend,
    session: &Session,
    db: Option<&str>,
    filter: Option<&ShowFilter>,
) -> Result<Output> {
    let db = database_of(session, db)?;
    if !fe.catalog.database_exists(db)? {
        return Err(strata_catalog::CatalogError::UnknownDatabase(db.to_string()).into());
    }
    let visible = crate::privilege::visibility(fe, session)?;
    let rows_of = fe.catalog.table_rows()?;
    let bytes_of = fe.catalog.table_bytes()?;
    let n = |v: i64| Some(v.to_string());
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    for t in fe.catalog.all_tables()? {
        if t.db != db || !visible.table(db, &t.name) || !keep(filter, &t.name) {
            continue;
        }
        let count = rows_of.get(&t.id).copied().unwrap_or(0) as i64;
        let bytes = bytes_of.get(&t.id).copied().unwrap_or(0) as i64;
        rows.push(vec![
            Some(t.name.clone()),
            Some("StarRocks".into()),
            None,
            None,
            n(count),
            n(if count > 0 { bytes / count } else { 0 }),
            n(bytes),
            None,
            None,
            None,
            None,
            Some(t.created_at.clone()),
            None,
            None,
            Some("utf8_general_ci".into()),
            None,
            Some(String::new()),
            Some(t.def.comment.clone().unwrap_or_default()),
        ]);
    }
    for v in fe.catalog.all_views()? {
        if v.db != db || !visible.table(db, &v.name) || !keep(filter, &v.name) {
            continue;
        }
        let mut row = vec![Some(v.name.clone())];
        row.extend(std::iter::repeat_n(None, 10));
        row.push(Some(v.created_at.clone()));
        row.extend(std::iter::repeat_n(None, 5));
        row.push(Some("VIEW".into()));
        rows.push(row);
    }
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    Ok(nullable_string_table(
        &[
            "Name",
            "Engine",
            "Version",
            "Row_format",
            "Rows",
            "Avg_row_length",
            "Data_length",
            "Max_data_length",
            "Index_length",
            "Data_free",
            "Auto_increment",
            "Create_time",
            "Update_time",
            "Check_time",
            "Collation",
            "Checksum",
            "Create_options",
            "Comment",
        ],
        rows,
    ))
}

/// SHOW INDEX FROM t: StarRocks' tables have no secondary indexes, and StarRocks answers with
/// no rows; the table must exist.
pub(crate) fn index(fe: &Frontend, session: &Session, name: &TableName) -> Result<Output> {
    crate::ddl::table(fe, session, name)?;
    Ok(nullable_string_table(
        &[
            "Table",
            "Non_unique",
            "Key_name",
            "Seq_in_index",
            "Column_name",
            "Collation",
            "Cardinality",
            "Sub_part",
            "Packed",
            "Null",
            "Index_type",
            "Comment",
        ],
        Vec::new(),
    ))
}

/// SHOW STATUS | ENGINES | CHARSET | COLLATION [LIKE]: LIKE matches the first column.
pub(crate) fn list(fe: &Frontend, list: ServerList, filter: Option<&ShowFilter>) -> Result<Output> {
    let (names, rows): (&[&str], Vec<Vec<String>>) = match list {
        ServerList::Status => (
            &["Variable_name", "Value"],
            vec![
                vec![
                    "Threads_connected".into(),
                    fe.processes.connections().to_string(),
                ],
                vec!["Threads_running".into(), fe.processes.running().to_string()],
                vec!["Uptime".into(), fe.started.elapsed().as_secs().to_string()],
            ],
        ),
        ServerList::Engines => (
            &[
                "Engine",
                "Support",
                "Comment",
                "Transactions",
                "XA",
                "Savepoints",
            ],
            vec![
                [
                    "OLAP",
                    "DEFAULT",
                    "Default storage engine of StarRocks",
                    "YES",
                    "NO",
                    "NO",
                ]
                .map(String::from)
                .to_vec(),
            ],
        ),
        ServerList::Charset => (
            &["Charset", "Description", "Default collation", "Maxlen"],
            vec![
                ["utf8", "UTF-8 Unicode", "utf8_general_ci", "3"]
                    .map(String::from)
                    .to_vec(),
                ["utf8mb4", "UTF-8 Unicode", "utf8mb4_general_ci", "4"]
                    .map(String::from)
                    .to_vec(),
            ],
        ),
        ServerList::Collation => (
            &[
                "Collation",
                "Charset",
                "Id",
                "Default",
                "Compiled",
                "Sortlen",
            ],
            vec![
                ["utf8_general_ci", "utf8", "33", "Yes", "Yes", "1"]
                    .map(String::from)
                    .to_vec(),
                ["utf8mb4_general_ci", "utf8mb4", "45", "Yes", "Yes", "1"]
                    .map(String::from)
                    .to_vec(),
            ],
        ),
    };
    let rows = rows
        .into_iter()
        .filter(|r| keep(filter, &r[0]))
        .map(|r| r.into_iter().map(Some).collect())
        .collect();
    Ok(nullable_string_table(names, rows))
}

/// SHOW TRIGGERS [FROM db] [LIKE|WHERE]: StarRocks has no triggers and answers with its
/// column layout and no rows; the database must exist.
pub(crate) fn triggers(fe: &Frontend, session: &Session, db: Option<&str>) -> Result<Output> {
    let db = database_of(session, db)?;
    if !db.eq_ignore_ascii_case(strata_query::info_schema::NAME)
        && !fe.catalog.database_exists(db)?
    {
        return Err(strata_catalog::CatalogError::UnknownDatabase(db.to_string()).into());
    }
    Ok(nullable_string_table(
        &[
            "Trigger",
            "Event",
            "Table",
            "Statement",
            "Timing",
            "Created",
            "sql_mode",
            "Definer",
            "character_set_client",
            "collation_connection",
            "Database Collation",
        ],
        Vec::new(),
    ))
}
