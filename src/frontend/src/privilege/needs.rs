//! What each statement needs: the privileges on which objects, read from the statement (and,
//! for jobs, the catalog), checked in one place by [`super::check_statement`].

use std::ops::ControlFlow;

use strata_common::Session;
use strata_sql::sqlparser::ast as sp;
use strata_sql::sqlparser::ast::Visit;
use strata_sql::{AccountStmt, GrantSubject, InsertTarget, Statement, TableName};

use super::{Need, Object, any, need};
use crate::{Frontend, Result};

/// The privileges `stmt` needs, from the statement (and, for jobs, the catalog).
pub(crate) fn needs(fe: &Frontend, session: &Session, stmt: &Statement) -> Result<Vec<Need>> {
    let mut out = statement_needs(fe, session, stmt)?;
    // Reading the server's own files (`file://`, under --allow-local-path) needs FILE on SYSTEM.
    if local_paths(stmt) {
        out.push(need("FILE", Object::system()));
    }
    Ok(out)
}

/// Whether `stmt` reads `file://` paths (FILES(), DESC FILES, Broker Load).
fn local_paths(stmt: &Statement) -> bool {
    let local = |p: &str| {
        strata_query::files::split_paths(p).iter().any(|x| {
            x.get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("file://"))
        })
    };
    let from_props = |props: &[(String, String)]| {
        props
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("path") && local(v))
    };
    match stmt {
        Statement::Query(q) => strata_sql::files_paths(q.as_ref()).iter().any(|p| local(p)),
        Statement::Set(assignments) => assignments
            .iter()
            .any(|a| strata_sql::files_paths(&a.value).iter().any(|p| local(p))),
        Statement::Insert(i) => {
            strata_sql::files_paths(i.source.as_ref())
                .iter()
                .any(|p| local(p))
                || matches!(&i.target, InsertTarget::Files(props) if from_props(props))
        }
        Statement::CreatePipe(c) => strata_sql::files_paths(c.insert.source.as_ref())
            .iter()
            .any(|p| local(p)),
        Statement::CreateTable(ct) => ct
            .query
            .as_ref()
            .is_some_and(|q| strata_sql::files_paths(q.as_ref()).iter().any(|p| local(p))),
        Statement::DescribeFiles(props) => from_props(props),
        Statement::Load(l) => l.data.iter().flat_map(|d| &d.paths).any(|p| local(p)),
        _ => false,
    }
}

fn statement_needs(fe: &Frontend, session: &Session, stmt: &Statement) -> Result<Vec<Need>> {
    let db_of = |db: Option<&str>| -> Result<String> {
        Ok(crate::executor::database_of(session, db)?.to_string())
    };
    let table =
        |n: &TableName| -> Result<Object> { Ok(Object::table(&db_of(n.db.as_deref())?, &n.table)) };
    let pipe =
        |n: &TableName| -> Result<Object> { Ok(Object::pipe(&db_of(n.db.as_deref())?, &n.table)) };
    let user_admin = || vec![need("GRANT", Object::system())];
    Ok(match stmt {
        Statement::Query(q) => selects(fe, session, q),
        Statement::Insert(ins) => insert_needs(fe, session, ins)?,
        Statement::CreateTable(ct) => {
            let mut v = vec![need(
                "CREATE TABLE",
                Object::database(&db_of(ct.name.db.as_deref())?),
            )];
            if let Some(q) = &ct.query {
                v.extend(selects(fe, session, q));
            }
            v
        }
        Statement::CreateDatabase { .. } => vec![need("CREATE DATABASE", Object::catalog())],
        Statement::DropDatabase { name, .. } => vec![need("DROP", Object::database(name))],
        Statement::DropTable { name, .. } => vec![need("DROP", table(name)?)],
        Statement::TruncateTable(name) => vec![need("DELETE", table(name)?)],
        Statement::Use(db) if !db.eq_ignore_ascii_case(strata_query::info_schema::NAME) => {
            vec![any(Object::database(db))]
        }
        Statement::Describe(name)
        | Statement::ShowCreateTable(name)
        | Statement::ShowIndex(name)
        | Statement::ShowColumns { table: name, .. }
            if !is_info_schema(session, name) =>
        {
            vec![any(table(name)?)]
        }
        Statement::ShowCreateDatabase(db) => vec![any(Object::database(db))],
        Statement::LockTables(names) => names
            .iter()
            .map(|n| Ok(need("SELECT", table(n)?)))
            .collect::<Result<_>>()?,
        Statement::AlterTableKeys { name, .. } => vec![need("ALTER", table(name)?)],
        Statement::ShowTriggers { db, .. } => vec![any(Object::database(&db_of(db.as_deref())?))],
        Statement::Load(l) => {
            let db = db_of(l.db.as_deref())?;
            l.data
                .iter()
                .map(|d| need("INSERT", Object::table(&db, &d.table)))
                .collect()
        }
        Statement::CancelLoad(c) => job_needs(fe, &db_of(c.db.as_deref())?, &c.label)?,
        Statement::AlterLoad(a) => job_needs(fe, &db_of(a.db.as_deref())?, &a.label)?,
        Statement::CreatePipe(c) => {
            let mut v = vec![need(
                "CREATE PIPE",
                Object::database(&db_of(c.name.db.as_deref())?),
            )];
            v.extend(insert_needs(fe, session, &c.insert)?);
            v
        }
        Statement::CreateView(cv) => {
            let db = db_of(cv.name.db.as_deref())?;
            let mut v = vec![if cv.alter {
                need("ALTER", table(&cv.name)?)
            } else {
                need("CREATE VIEW", Object::database(&db))
            }];
            // OR REPLACE of a view that exists redefines it: ALTER on it, as ALTER VIEW.
            if cv.or_replace && !cv.alter && fe.catalog.get_view(&db, &cv.name.table)?.is_some() {
                v.push(need("ALTER", table(&cv.name)?));
            }
            v.extend(selects(fe, session, &cv.query));
            v
        }
        Statement::DropView { name, .. } => vec![need("DROP", table(name)?)],
        Statement::ShowCreateView(name) => vec![any(table(name)?)],
        Statement::AlterPipe(a) => vec![need("ALTER", pipe(&a.name)?)],
        Statement::DropPipe { name, .. } => vec![need("DROP", pipe(name)?)],
        Statement::DescPipe(name) => vec![any(pipe(name)?)],
        Statement::AdminSetFrontendConfig { .. } | Statement::AdminShowFrontendConfig(_) => {
            vec![need("OPERATE", Object::system())]
        }
        Statement::Set(assignments) => {
            // `SET @a = (SELECT …)` reads tables like a query does.
            let mut v: Vec<Need> = assignments
                .iter()
                .flat_map(|a| selects(fe, session, &a.value))
                .collect();
            if assignments.iter().any(|a| a.global) {
                v.push(need("OPERATE", Object::system()));
            }
            v
        }
        Statement::Account(a) => match a.as_ref() {
            AccountStmt::CreateUser { .. }
            | AccountStmt::DropUser { .. }
            | AccountStmt::CreateRole { .. }
            | AccountStmt::DropRole { .. }
            | AccountStmt::Roles(_)
            | AccountStmt::ShowUsers
            | AccountStmt::ShowRoles => user_admin(),
            // One's own password; anyone else's needs user_admin.
            AccountStmt::AlterUser {
                user,
                default_roles: None,
                ..
            }
            | AccountStmt::SetPassword {
                user: Some(user), ..
            } if !is_self(session, user) => user_admin(),
            AccountStmt::AlterUser {
                default_roles: Some(_),
                ..
            } => user_admin(),
            AccountStmt::SetDefaultRole { users, .. }
                if users.iter().any(|u| !is_self(session, u)) =>
            {
                user_admin()
            }
            AccountStmt::ShowGrants(Some(GrantSubject::User(u))) if !is_self(session, u) => {
                user_admin()
            }
            AccountStmt::ShowGrants(Some(GrantSubject::Role(r))) if !session.roles.contains(r) => {
                user_admin()
            }
            // GRANT/REVOKE of privileges: checked per privilege in `check_statement`.
            _ => Vec::new(),
        },
        _ => Vec::new(),
    })
}

fn is_self(session: &Session, u: &strata_sql::UserIdent) -> bool {
    u.name == session.user && u.host == session.host
}

fn is_info_schema(session: &Session, n: &TableName) -> bool {
    n.db.as_deref()
        .or(session.database.as_deref())
        .is_some_and(|d| d.eq_ignore_ascii_case(strata_query::info_schema::NAME))
}

/// INSERT on the target, SELECT on the tables the source reads.
fn insert_needs(fe: &Frontend, session: &Session, ins: &strata_sql::Insert) -> Result<Vec<Need>> {
    let mut v = Vec::new();
    if let InsertTarget::Table(t) = &ins.target {
        let db = crate::executor::database_of(session, t.db.as_deref())?;
        v.push(need("INSERT", Object::table(db, &t.table)));
    }
    v.extend(selects(fe, session, &ins.source));
    Ok(v)
}

/// INSERT on a load job's tables (CANCEL LOAD, ALTER LOAD).
fn job_needs(fe: &Frontend, db: &str, label: &str) -> Result<Vec<Need>> {
    Ok(match fe.catalog.find_job(db, label)? {
        Some(job) => job
            .table_name
            .split(',')
            .map(|t| need("INSERT", Object::table(db, t.trim())))
            .collect(),
        // The statement reports the unknown label itself.
        None => Vec::new(),
    })
}

/// Whether `db` has a table or view named `name` (in any case, as a CTE name matches).
fn names_relation(fe: &Frontend, db: &str, name: &str) -> bool {
    let tables = fe.catalog.list_tables(db).unwrap_or_default();
    let views = fe.catalog.all_views().unwrap_or_default();
    tables.iter().any(|t| t.eq_ignore_ascii_case(name))
        || views
            .iter()
            .any(|v| v.db == db && v.name.eq_ignore_ascii_case(name))
}

/// SELECT on every table a query reads: not CTEs, not table functions (FILES()), not
/// `information_schema`.
fn selects<V: Visit>(fe: &Frontend, session: &Session, q: &V) -> Vec<Need> {
    struct Tables {
        ctes: Vec<String>,
        found: Vec<sp::ObjectName>,
    }
    impl sp::Visitor for Tables {
        type Break = ();
        fn pre_visit_query(&mut self, q: &sp::Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                self.ctes
                    .extend(with.cte_tables.iter().map(|c| c.alias.name.value.clone()));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, tf: &sp::TableFactor) -> ControlFlow<()> {
            if let sp::TableFactor::Table {
                name, args: None, ..
            } = tf
            {
                self.found.push(name.clone());
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Tables {
        ctes: Vec::new(),
        found: Vec::new(),
    };
    let _ = q.visit(&mut v);
    let mut out: Vec<Need> = Vec::new();
    for name in v.found {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
            .collect();
        let (db, t) = match parts.as_slice() {
            // A CTE's name needs nothing, unless a table or view of the session's database has
            // it too: which of the two a reference means depends on scoping the checks here
            // do not model, so the real one must be readable.
            [t] if v.ctes.iter().any(|c| c.eq_ignore_ascii_case(t))
                && !session
                    .database
                    .as_deref()
                    .is_some_and(|d| names_relation(fe, d, t)) =>
            {
                continue;
            }
            [t] => match session.database.as_deref() {
                Some(d) => (d.to_string(), t.clone()),
                None => continue,
            },
            [.., d, t] => (d.clone(), t.clone()),
            [] => continue,
        };
        if db.eq_ignore_ascii_case(strata_query::info_schema::NAME) {
            continue;
        }
        let n = need("SELECT", Object::table(&db, &t));
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}
