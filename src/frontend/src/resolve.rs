//! Finding and resolving the tables a query reads, before DataFusion plans it.
//!
//! Resolving up front gives MySQL's errors (no database selected, unknown database, unknown
//! table) instead of planner messages, and takes each table's segment snapshot once.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;
use strata_catalog::CatalogError;

use strata_common::{Session, StatusCode};
use strata_query::{ResolvedTables, StrataTable, info_schema};
use strata_sql::sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, Query, Statement, TableFactor, Visit, VisitMut,
    Visitor, VisitorMut,
};

use crate::executor::database_of;
use crate::{Frontend, FrontendError, Result};

struct Relations {
    names: Vec<Vec<String>>,
    ctes: HashSet<String>,
}

impl Visitor for Relations {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.clone());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        // Table functions (`generate_series(1, 10)`) are DataFusion's, not catalog tables.
        if let TableFactor::Table {
            name, args: None, ..
        } = tf
        {
            self.add(name);
        }
        ControlFlow::Continue(())
    }
}

impl Relations {
    fn add(&mut self, name: &ObjectName) {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => i.value.clone(),
                other => other.to_string(),
            })
            .collect();
        self.names.push(parts);
    }
}

/// Resolves every relation of `stmt`; `extra` providers (FILES tables) are added as given.
pub(crate) fn resolve_tables(
    fe: &Frontend,
    session: &Session,
    stmt: &Statement,
    mut resolved: ResolvedTables,
) -> Result<ResolvedTables> {
    let mut v = Relations {
        names: Vec::new(),
        ctes: HashSet::new(),
    };
    let _ = stmt.visit(&mut v);
    let mut seen = HashSet::new();
    for parts in v.names {
        let (db, table) = match parts.as_slice() {
            [t] if v.ctes.contains(t) => continue,
            [t] => (None, t.clone()),
            [d, t] => (Some(d.clone()), t.clone()),
            [c, d, t] if c.eq_ignore_ascii_case(strata_query::DEFAULT_CATALOG) => {
                (Some(d.clone()), t.clone())
            }
            _ => {
                return Err(FrontendError::new(
                    StatusCode::Unsupported,
                    format!("table name {} is not supported", parts.join(".")),
                ));
            }
        };
        if db.as_deref() == Some(strata_sql::FILES_SCHEMA) {
            continue;
        }
        if !seen.insert((db.clone(), table.clone())) {
            continue;
        }
        let db_name = database_of(session, db.as_deref())?.to_string();
        if db_name.eq_ignore_ascii_case(info_schema::NAME) {
            let provider = info_schema::table(&table, &fe.info_sources(session)?)
                .ok_or_else(|| unknown_table(&db_name, &table))?
                .map_err(|e| FrontendError::new(StatusCode::Internal, e))?;
            resolved.add(&db_name, &table, provider);
            continue;
        }
        let meta = fe
            .catalog
            .get_table(&db_name, &table)?
            .ok_or_else(|| unknown_table(&db_name, &table))?;
        let segments = fe.catalog.segments(meta.id)?;
        resolved.add(&db_name, &table, Arc::new(StrataTable::new(meta, segments)));
    }
    Ok(resolved)
}

pub(crate) fn unknown_table(db: &str, table: &str) -> FrontendError {
    CatalogError::UnknownTable {
        db: db.to_string(),
        table: table.to_string(),
    }
    .into()
}

/// StarRocks resolves column names case-insensitively; DataFusion (with normalisation off, so
/// that `UserID` keeps its case) matches exactly. Rewrites each identifier that names no
/// column exactly but exactly one column case-insensitively to that column's spelling.
pub(crate) fn fix_column_case(stmt: &mut Statement, columns: &[String]) {
    struct Fix<'a> {
        columns: &'a [String],
    }
    impl Fix<'_> {
        fn fix(&self, ident: &mut Ident) {
            if self.columns.contains(&ident.value) {
                return;
            }
            let mut matches: Vec<&String> = self
                .columns
                .iter()
                .filter(|c| c.eq_ignore_ascii_case(&ident.value))
                .collect();
            matches.sort();
            matches.dedup();
            if let [only] = matches.as_slice() {
                ident.value = (*only).clone();
            }
        }
    }
    impl VisitorMut for Fix<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(i) => self.fix(i),
                Expr::CompoundIdentifier(parts) => {
                    if let Some(last) = parts.last_mut() {
                        self.fix(last);
                    }
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let _ = VisitMut::visit(stmt, &mut Fix { columns });
}
