//! Views: CREATE/ALTER/DROP VIEW and SHOW CREATE VIEW, and putting each view's query in the
//! place of its name before a statement is resolved (docs/design.md, "Views").
//!
//! A view is stored as SQL whose tables are all qualified (`db.t`, resolved against the
//! creating session's database, as StarRocks does) and whose result columns all have names,
//! with the column names, types and comments it was created with. Reading a view needs SELECT
//! on the view only; creating or altering one needs SELECT on what its query reads.

use std::collections::HashSet;
use std::ops::ControlFlow;

use strata_catalog::{ColumnMeta, ViewDef, ViewMeta, ViewWrite};
use strata_common::types::SrType;
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_sql::sqlparser::ast::{
    self as sp, Ident, ObjectName, ObjectNamePart, Query, TableAlias, TableAliasColumnDef,
    TableFactor, VisitMut, VisitorMut,
};
use strata_sql::{CreateView, TableName};

use crate::admin::string_table;
use crate::executor::database_of;
use crate::query::{PlanFor, name_projections, plan};
use crate::{Frontend, FrontendError, Result};

/// How deep views may be defined over views.
const MAX_VIEW_DEPTH: usize = 32;
/// How many view references one statement may expand to, all levels together.
const MAX_VIEW_REFERENCES: usize = 1_000;

/// CREATE [OR REPLACE] VIEW and ALTER VIEW: the query is planned (so a view that cannot be
/// read is never stored) and its result columns are recorded.
pub(crate) async fn create(fe: &Frontend, session: &Session, cv: CreateView) -> Result<Output> {
    let db = database_of(session, cv.name.db.as_deref())?.to_string();
    let name = cv.name.table.clone();
    if !strata_sql::files_paths(cv.query.as_ref()).is_empty() {
        return Err(FrontendError::new(
            StatusCode::Unsupported,
            format!(
                "view {db}.{name} reads FILES(): a view reads tables (load the files into a \
                 table, or query FILES() directly)"
            ),
        ));
    }
    let mut query = cv.query;
    if let Some(current) = session.database.as_deref() {
        qualify(&mut query, current);
    }
    let mut stmt = sp::Statement::Query(query);
    name_projections(&mut stmt);
    let mut check = stmt.clone();
    expand(fe, session, &mut check, Some((&db, &name)))?;
    let planned = plan(fe, session, stmt.clone(), PlanFor::Query).await?;
    let fields = planned.plan.schema().fields().clone();
    if !cv.columns.is_empty() && cv.columns.len() != fields.len() {
        return Err(FrontendError::new(
            StatusCode::InvalidArguments,
            format!(
                "view {db}.{name} names {} columns but its query gives {}",
                cv.columns.len(),
                fields.len()
            ),
        ));
    }
    let mut columns = Vec::with_capacity(fields.len());
    let mut seen = HashSet::new();
    for (i, f) in fields.iter().enumerate() {
        let given = cv.columns.get(i);
        let col = given.map_or_else(|| f.name().clone(), |c| c.name.clone());
        if !seen.insert(col.to_ascii_lowercase()) {
            return Err(FrontendError::new(
                StatusCode::InvalidArguments,
                format!("Duplicate column name '{col}' in view {db}.{name}"),
            ));
        }
        columns.push(ColumnMeta {
            name: col,
            ty: strata_query::types::sr_type(f.data_type()).unwrap_or(SrType::Varchar(65533)),
            nullable: f.is_nullable(),
            default: None,
            comment: given.and_then(|c| c.comment.clone()).unwrap_or_default(),
            is_key: false,
        });
    }
    let sp::Statement::Query(query) = stmt else {
        unreachable!("built as a query above")
    };
    // The stored text is what readers run: it must read back as exactly the query that was
    // planned and privilege-checked. (sqlparser prints a backslash in a string literal as
    // is, which the MySQL tokenizer reads as an escape: the text could mean another query.)
    let text = query.to_string();
    if parse_query(&text).ok().as_deref() != Some(query.as_ref()) {
        return Err(FrontendError::new(
            StatusCode::Unsupported,
            format!(
                "view {db}.{name}: its query cannot be stored as text that reads back the same \
                 (a string literal with a backslash?)"
            ),
        ));
    }
    let def = ViewDef {
        query: text,
        columns,
        comment: cv.comment.unwrap_or_default(),
    };
    let how = match (cv.alter, cv.or_replace, cv.if_not_exists) {
        (true, ..) => ViewWrite::Alter,
        (false, true, _) => ViewWrite::CreateOrReplace,
        (false, false, true) => ViewWrite::CreateIfNotExists,
        (false, false, false) => ViewWrite::Create,
    };
    fe.catalog.put_view(&db, &name, &def, how)?;
    Ok(Output::ok())
}

/// DROP VIEW [IF EXISTS]: a table of that name is not dropped.
pub(crate) fn drop_view(
    fe: &Frontend,
    session: &Session,
    name: &TableName,
    if_exists: bool,
) -> Result<Output> {
    let db = database_of(session, name.db.as_deref())?;
    if fe.catalog.get_table(db, &name.table)?.is_some() {
        return Err(not_a_view(db, &name.table));
    }
    fe.catalog.drop_view(db, &name.table, if_exists)?;
    Ok(Output::ok())
}

/// The view `name`, or MySQL's error when there is none.
pub(crate) fn view(fe: &Frontend, session: &Session, name: &TableName) -> Result<ViewMeta> {
    let db = database_of(session, name.db.as_deref())?;
    if let Some(v) = fe.catalog.get_view(db, &name.table)? {
        return Ok(v);
    }
    if fe.catalog.get_table(db, &name.table)?.is_some() {
        return Err(not_a_view(db, &name.table));
    }
    Err(crate::resolve::unknown_table(db, &name.table))
}

fn not_a_view(db: &str, name: &str) -> FrontendError {
    FrontendError::new(
        StatusCode::InvalidArguments,
        format!("'{db}.{name}' is not VIEW"),
    )
}

/// SHOW CREATE VIEW (and SHOW CREATE TABLE of a view), in StarRocks' layout.
pub(crate) fn show_create(fe: &Frontend, session: &Session, name: &TableName) -> Result<Output> {
    let v = view(fe, session, name)?;
    Ok(string_table(
        &[
            "View",
            "Create View",
            "character_set_client",
            "collation_connection",
        ],
        vec![vec![
            v.name.clone(),
            create_view_sql(&v),
            "utf8".into(),
            "utf8_general_ci".into(),
        ]],
    ))
}

/// The CREATE VIEW statement that makes `v` again.
pub(crate) fn create_view_sql(v: &ViewMeta) -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let cols: Vec<String> = v
        .def
        .columns
        .iter()
        .map(|c| {
            if c.comment.is_empty() {
                format!("`{}`", c.name)
            } else {
                format!("`{}` COMMENT \"{}\"", c.name, quote(&c.comment))
            }
        })
        .collect();
    let comment = if v.def.comment.is_empty() {
        String::new()
    } else {
        format!(" COMMENT \"{}\"", quote(&v.def.comment))
    };
    // As MySQL prints a view: tables of the view's own database without it, so the statement
    // makes the same view in another database (a dump loaded under a new name).
    let query = match parse_query(&v.def.query) {
        Ok(mut q) => {
            unqualify(&mut q, &v.db);
            q.to_string()
        }
        Err(_) => v.def.query.clone(),
    };
    format!(
        "CREATE VIEW `{}` ({}){comment} AS {query}",
        v.name,
        cols.join(", "),
    )
}

/// Drops the `db.` of `q`'s tables in `db` whose names no CTE takes (the inverse of
/// [`qualify`]).
fn unqualify(q: &mut Query, db: &str) {
    for_each_table(q, |name| {
        if let [ObjectNamePart::Identifier(d), ObjectNamePart::Identifier(_)] = name.0.as_slice()
            && d.value == db
        {
            name.0.remove(0);
        }
    });
}

/// Calls `f` on the name of each table `q` reads (not table functions, not its CTEs).
fn for_each_table(q: &mut Query, f: impl FnMut(&mut ObjectName)) {
    struct Tables<F> {
        f: F,
        ctes: HashSet<String>,
    }
    impl<F: FnMut(&mut ObjectName)> VisitorMut for Tables<F> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
            note_ctes(q, &mut self.ctes);
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name, args: None, ..
            } = tf
                && !matches!(name.0.as_slice(), [ObjectNamePart::Identifier(t)] if self.ctes.contains(&t.value))
            {
                (self.f)(name);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = q.visit(&mut Tables {
        f,
        ctes: HashSet::new(),
    });
}

/// Puts each view `stmt` reads in the place of its name, as a derived table of the view's
/// name and columns; views over views are expanded in turn, at most [`MAX_VIEW_DEPTH`] deep.
/// `defining` is a view being created: its query may not read the view itself.
pub(crate) fn expand(
    fe: &Frontend,
    session: &Session,
    stmt: &mut sp::Statement,
    defining: Option<(&str, &str)>,
) -> Result<()> {
    let mut total = 0usize;
    for _ in 0..=MAX_VIEW_DEPTH {
        let mut v = Expand {
            fe,
            session,
            defining,
            ctes: HashSet::new(),
            expanded: 0,
            error: None,
        };
        let _ = stmt.visit(&mut v);
        if let Some(e) = v.error {
            return Err(e);
        }
        if v.expanded == 0 {
            return Ok(());
        }
        // Views that each read another view twice double at every level: the statement
        // would grow without bound long before the depth limit.
        total += v.expanded;
        if total > MAX_VIEW_REFERENCES {
            return Err(FrontendError::new(
                StatusCode::InvalidArguments,
                format!(
                    "the statement's views expand to more than {MAX_VIEW_REFERENCES} view \
                     references"
                ),
            ));
        }
    }
    Err(FrontendError::new(
        StatusCode::InvalidArguments,
        format!("views are nested more than {MAX_VIEW_DEPTH} deep (does a view read itself?)"),
    ))
}

struct Expand<'a> {
    fe: &'a Frontend,
    session: &'a Session,
    defining: Option<(&'a str, &'a str)>,
    ctes: HashSet<String>,
    expanded: usize,
    error: Option<FrontendError>,
}

impl Expand<'_> {
    /// The view `name` names, if it names one.
    fn view_of(&self, name: &ObjectName) -> Result<Option<ViewMeta>> {
        let parts: Vec<&str> = name
            .0
            .iter()
            .map(|p| p.as_ident().map_or("", |i| i.value.as_str()))
            .collect();
        let (db, table) = match parts.as_slice() {
            [t] if self.ctes.contains(*t) => return Ok(None),
            [t] => match self.session.database.as_deref() {
                Some(d) => (d, *t),
                None => return Ok(None),
            },
            [d, t] => (*d, *t),
            [c, d, t] if c.eq_ignore_ascii_case(strata_query::DEFAULT_CATALOG) => (*d, *t),
            _ => return Ok(None),
        };
        if db == strata_sql::FILES_SCHEMA
            || db.eq_ignore_ascii_case(strata_query::info_schema::NAME)
        {
            return Ok(None);
        }
        if self.defining == Some((db, table)) {
            return Err(FrontendError::new(
                StatusCode::InvalidArguments,
                format!("view {db}.{table} cannot read itself"),
            ));
        }
        Ok(self.fe.catalog.get_view(db, table)?)
    }

    fn replace(&mut self, tf: &mut TableFactor) -> Result<()> {
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = tf
        else {
            return Ok(());
        };
        let Some(view) = self.view_of(name)? else {
            return Ok(());
        };
        let mut subquery = parse_query(&view.def.query).map_err(|e| {
            FrontendError::new(
                StatusCode::Internal,
                format!("view {}.{} cannot be read: {e}", view.db, view.name),
            )
        })?;
        // Tables the stored query leaves unqualified are the view's database's.
        qualify(&mut subquery, &view.db);
        let alias = match alias.take() {
            Some(a) if !a.columns.is_empty() => a,
            other => TableAlias {
                explicit: true,
                name: other.map_or_else(|| Ident::with_quote('`', &view.name), |a| a.name),
                columns: view
                    .def
                    .columns
                    .iter()
                    .map(|c| TableAliasColumnDef {
                        name: Ident::with_quote('`', &c.name),
                        data_type: None,
                    })
                    .collect(),
                at: None,
            },
        };
        *tf = TableFactor::Derived {
            lateral: false,
            subquery,
            alias: Some(alias),
            sample: None,
        };
        self.expanded += 1;
        Ok(())
    }
}

impl VisitorMut for Expand<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        note_ctes(q, &mut self.ctes);
        ControlFlow::Continue(())
    }

    // After the children: a view's query put in place is expanded in the next pass, so a
    // view that reads itself ends at the depth limit instead of recursing without bound.
    fn post_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
        match self.replace(tf) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

/// Adds the names of `q`'s CTEs to `ctes`: a name a CTE takes is not a view's.
fn note_ctes(q: &Query, ctes: &mut HashSet<String>) {
    if let Some(with) = &q.with {
        ctes.extend(with.cte_tables.iter().map(|c| c.alias.name.value.clone()));
    }
}

/// A stored view query, parsed.
fn parse_query(sql: &str) -> std::result::Result<Box<Query>, String> {
    let mut stmts = strata_sql::parse_sql(sql).map_err(|e| e.to_string())?;
    match (stmts.pop(), stmts.is_empty()) {
        (Some(strata_sql::Statement::Query(q)), true) => match *q {
            sp::Statement::Query(q) => Ok(q),
            other => Err(format!("not a query: {other}")),
        },
        _ => Err("not one query".into()),
    }
}

/// Qualifies the unqualified tables of `q` (not its CTEs) with `db`.
fn qualify(q: &mut Query, db: &str) {
    for_each_table(q, |name| {
        if let [ObjectNamePart::Identifier(t)] = name.0.as_slice()
            && !t.value.eq_ignore_ascii_case("dual")
        {
            name.0
                .insert(0, ObjectNamePart::Identifier(Ident::with_quote('`', db)));
        }
    });
}
