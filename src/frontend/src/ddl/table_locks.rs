//! The MySQL table-maintenance statements mysqldump sends and writes into its dumps, answered
//! as a server with nothing to lock or rebuild answers them.

use strata_catalog::CatalogError;
use strata_common::{Session, Warning};
use strata_protocol_mysql::Output;
use strata_sql::TableName;

use crate::executor::database_of;
use crate::{Frontend, Result};

/// `LOCK TABLES`: each table or view must exist (the privilege check asked for SELECT on it).
/// Nothing is locked: a query reads one committed snapshot of each table and a load publishes
/// its rows in one commit, so there is no half-written state a lock would keep a reader from
/// seeing; StarRocks has no table locks either.
pub(crate) fn lock_tables(fe: &Frontend, session: &Session, names: &[TableName]) -> Result<()> {
    for name in names {
        let db = database_of(session, name.db.as_deref())?;
        if fe.catalog.get_table(db, &name.table)?.is_none()
            && fe.catalog.get_view(db, &name.table)?.is_none()
        {
            return Err(CatalogError::UnknownTable {
                db: db.to_string(),
                table: name.table.clone(),
            }
            .into());
        }
    }
    Ok(())
}

/// `ALTER TABLE t {DISABLE | ENABLE} KEYS`: the table must exist. Strata's tables have no
/// secondary indexes whose upkeep could be deferred, so, as MySQL does for an InnoDB table, it
/// succeeds with note 1031.
pub(crate) fn alter_table_keys(
    fe: &Frontend,
    session: &mut Session,
    name: &TableName,
) -> Result<Output> {
    crate::ddl::table(fe, session, name)?;
    // `sql_notes = 0` (dumps set it) keeps notes out of the warnings, as in MySQL.
    if session.vars.get_bool("sql_notes") == Some(false) {
        return Ok(Output::ok());
    }
    session.warnings = vec![Warning {
        level: "Note".into(),
        code: 1031,
        message: format!(
            "Table storage engine for '{}' doesn't have this option",
            name.table
        ),
    }];
    Ok(Output::Affected {
        rows: 0,
        warnings: 1,
        info: String::new(),
    })
}
