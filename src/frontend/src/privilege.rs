//! Privileges: what a statement needs, computed from the statement in one place
//! ([`needs`]), and whether an identity holds it ([`Privileges`]).
//!
//! The executor checks every statement here before running it; Broker Load jobs and pipe
//! batches check their INSERT here too, as the user who created them, each time they run.
//! What a user may *see* (SHOW DATABASES/TABLES, `information_schema`, SHOW LOAD/PIPES) is
//! filtered by the same [`Privileges`]. Rules: `../shared/spec/privileges.md`.

use strata_catalog::{Catalog, GrantRow, Grantee};
use strata_common::{ErrorExt, Session, StatusCode};
use strata_sql::{AccountStmt, PrivTarget, Statement, TableName};

use crate::{Frontend, FrontendError, Result};

mod needs;
pub(crate) use needs::needs;

/// The kinds of object privileges are granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    System,
    Catalog,
    Database,
    Table,
    Pipe,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::System => "SYSTEM",
            Kind::Catalog => "CATALOG",
            Kind::Database => "DATABASE",
            Kind::Table => "TABLE",
            Kind::Pipe => "PIPE",
        }
    }

    /// The privileges that exist on this kind of object (besides ALL).
    pub(crate) fn privileges(self) -> &'static [&'static str] {
        match self {
            Kind::System => &[
                "NODE",
                "GRANT",
                "OPERATE",
                "CREATE RESOURCE GROUP",
                "CREATE RESOURCE",
                "CREATE EXTERNAL CATALOG",
                "REPOSITORY",
                "BLACKLIST",
                "FILE",
                "PLUGIN",
                "CREATE STORAGE VOLUME",
            ],
            Kind::Catalog => &["USAGE", "CREATE DATABASE", "DROP", "ALTER"],
            Kind::Database => &[
                "ALTER",
                "DROP",
                "CREATE TABLE",
                "CREATE VIEW",
                "CREATE FUNCTION",
                "CREATE MATERIALIZED VIEW",
                "CREATE PIPE",
            ],
            Kind::Table => &[
                "ALTER", "DROP", "SELECT", "INSERT", "UPDATE", "EXPORT", "DELETE",
            ],
            Kind::Pipe => &["ALTER", "DROP", "USAGE"],
        }
    }
}

/// One object: SYSTEM, the catalog, a database, or a table or pipe in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Object {
    pub kind: Kind,
    pub db: String,
    pub name: String,
}

impl Object {
    pub(crate) fn system() -> Self {
        Self {
            kind: Kind::System,
            db: String::new(),
            name: String::new(),
        }
    }

    pub(crate) fn catalog() -> Self {
        Self {
            kind: Kind::Catalog,
            db: String::new(),
            name: String::new(),
        }
    }

    pub(crate) fn database(db: &str) -> Self {
        Self {
            kind: Kind::Database,
            db: db.to_string(),
            name: String::new(),
        }
    }

    pub(crate) fn table(db: &str, t: &str) -> Self {
        Self {
            kind: Kind::Table,
            db: db.to_string(),
            name: t.to_string(),
        }
    }

    pub(crate) fn pipe(db: &str, p: &str) -> Self {
        Self {
            kind: Kind::Pipe,
            db: db.to_string(),
            name: p.to_string(),
        }
    }

    /// As StarRocks' message names it: `TABLE user_behavior`, `SYSTEM`.
    fn describe(&self) -> String {
        match self.kind {
            Kind::System => "SYSTEM".into(),
            Kind::Catalog => "CATALOG default_catalog".into(),
            Kind::Database => format!("DATABASE {}", self.db),
            Kind::Table | Kind::Pipe => format!("{} {}", self.kind.name(), self.name),
        }
    }
}

/// What a statement needs: one of `privileges` on `object` (an empty list: any privilege on
/// it, or on anything in it for a database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Need {
    pub privileges: Vec<&'static str>,
    pub object: Object,
}

fn need(privilege: &'static str, object: Object) -> Need {
    Need {
        privileges: vec![privilege],
        object,
    }
}

fn any(object: Object) -> Need {
    Need {
        privileges: Vec::new(),
        object,
    }
}

/// Who a statement or a job runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub user: String,
    pub host: String,
    /// Active roles.
    pub roles: Vec<String>,
}

impl Identity {
    pub(crate) fn of(session: &Session) -> Self {
        Self {
            user: session.user.clone(),
            host: session.host.clone(),
            roles: session.roles.clone(),
        }
    }

    /// The owner of a Broker Load job or a pipe (`name` or `name@host`), with every role
    /// granted to them: a job cannot SET ROLE, and revoking a role or a privilege still
    /// stops it at its next run.
    pub(crate) fn owner(catalog: &Catalog, owner: &str) -> Result<Self> {
        let (user, host) = split_owner(owner);
        let roles = catalog.granted_roles(&Grantee::User(user.clone(), host.clone()))?;
        Ok(Self { user, host, roles })
    }

    /// How a job records who created it: the name, with `@host` unless the host is `%`.
    pub(crate) fn owner_string(&self) -> String {
        if self.host == "%" {
            self.user.clone()
        } else {
            format!("{}@{}", self.user, self.host)
        }
    }

    fn grantee(&self) -> Grantee {
        Grantee::User(self.user.clone(), self.host.clone())
    }
}

fn split_owner(owner: &str) -> (String, String) {
    match owner.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (u.to_string(), h.to_string()),
        _ => (owner.to_string(), "%".to_string()),
    }
}

/// What one identity holds: its grants and those of its active roles (transitively) and
/// of `public`, loaded once per statement.
pub(crate) struct Privileges {
    identity: Identity,
    /// The `root` user or the `root` role: everything.
    all: bool,
    /// Active roles and the roles inside them.
    roles: Vec<String>,
    grants: Vec<GrantRow>,
    /// Roles granted to the user but not active (for the error message).
    inactive: Vec<String>,
}

impl Privileges {
    pub(crate) fn load(catalog: &Catalog, identity: &Identity) -> Result<Self> {
        // A role revoked (or its user dropped) after a session activated it no longer counts.
        let granted = catalog.granted_roles(&identity.grantee())?;
        let mut active: Vec<String> = identity
            .roles
            .iter()
            .filter(|r| granted.contains(r))
            .cloned()
            .collect();
        active.push("public".to_string());
        let roles = catalog.expand_roles(&active)?;
        let all = identity.user == "root" || roles.iter().any(|r| r == "root");
        let grants = if all {
            Vec::new()
        } else {
            let mut who = vec![identity.grantee()];
            who.extend(roles.iter().map(|r| Grantee::Role(r.clone())));
            catalog
                .grants_of(&who)?
                .into_iter()
                .map(|(_, g)| g)
                .collect()
        };
        let inactive = granted
            .into_iter()
            .filter(|r| !identity.roles.contains(r))
            .collect();
        Ok(Self {
            identity: identity.clone(),
            all,
            roles,
            grants,
            inactive,
        })
    }

    /// What the built-in roles hold, beyond grant rows.
    fn builtin(&self, privilege: &str, o: &Object) -> bool {
        let has = |r: &str| self.roles.iter().any(|x| x == r);
        match o.kind {
            Kind::System => {
                (has("user_admin") && privilege == "GRANT")
                    || (has("cluster_admin") && matches!(privilege, "NODE" | "OPERATE"))
            }
            Kind::Catalog | Kind::Database | Kind::Table | Kind::Pipe => has("db_admin"),
        }
    }

    fn rows_on<'a>(&'a self, o: &'a Object) -> impl Iterator<Item = &'a GrantRow> + 'a {
        self.grants.iter().filter(move |g| {
            g.object_type == o.kind.name()
                && (g.db == "*" || g.db == o.db)
                && (g.name == "*" || g.name == o.name)
        })
    }

    /// Holds `privilege` on `o` (ALL counts).
    pub(crate) fn has(&self, privilege: &str, o: &Object) -> bool {
        self.all
            || self.builtin(privilege, o)
            || self
                .rows_on(o)
                .any(|g| g.privilege == privilege || g.privilege == "ALL")
    }

    /// Holds `privilege` on `o` with the right to grant it.
    fn can_grant(&self, privilege: &str, o: &Object) -> bool {
        self.all
            || self.has("GRANT", &Object::system())
            || self
                .rows_on(o)
                .any(|g| g.grant_option && (g.privilege == privilege || g.privilege == "ALL"))
    }

    /// Holds any privilege on `o`, or — for a database — on anything in it.
    pub(crate) fn sees(&self, o: &Object) -> bool {
        if self.all || self.builtin("", o) {
            return true;
        }
        match o.kind {
            Kind::Database => self.grants.iter().any(|g| {
                matches!(g.object_type.as_str(), "DATABASE" | "TABLE" | "PIPE")
                    && (g.db == "*" || g.db == o.db)
            }),
            _ => self.rows_on(o).next().is_some(),
        }
    }

    /// May see others' connections and stop their statements.
    pub(crate) fn operates(&self) -> bool {
        self.has("OPERATE", &Object::system())
    }

    /// Fails with StarRocks' message unless every need is met.
    pub(crate) fn check(&self, needs: &[Need]) -> Result<()> {
        for n in needs {
            let ok = if n.privileges.is_empty() {
                self.sees(&n.object)
            } else {
                n.privileges.iter().any(|p| self.has(p, &n.object))
            };
            if !ok {
                return Err(self.denied(n));
            }
        }
        Ok(())
    }

    fn denied(&self, n: &Need) -> FrontendError {
        let what = if n.privileges.is_empty() {
            "ANY".to_string()
        } else {
            n.privileges.join(", ")
        };
        denied(
            &what,
            &n.object.describe(),
            &self.identity.roles,
            &self.inactive,
        )
    }
}

/// StarRocks' ERR_ACCESS_DENIED text.
fn denied(privileges: &str, object: &str, active: &[String], inactive: &[String]) -> FrontendError {
    let list = |v: &[String]| {
        if v.is_empty() {
            "NONE".to_string()
        } else {
            v.join(", ")
        }
    };
    FrontendError::new(
        StatusCode::PermissionDenied,
        format!(
            "Access denied; you need (at least one of) the {privileges} privilege(s) on {object} \
             for this operation. Please ask the admin to grant permission(s) or try activating \
             existing roles using <set [default] role>. Current role(s): {}. \
             Inactivated role(s): {}.",
            list(active),
            list(inactive)
        ),
    )
}

impl strata_query::info_schema::Visibility for Privileges {
    fn database(&self, db: &str) -> bool {
        self.sees(&Object::database(db))
    }
    fn table(&self, db: &str, table: &str) -> bool {
        self.sees(&Object::table(db, table))
    }
    fn pipe(&self, db: &str, pipe: &str) -> bool {
        self.sees(&Object::pipe(db, pipe))
    }
    fn all_processes(&self) -> bool {
        self.operates()
    }
}

/// What the session's user may see, for `information_schema` and SHOW.
pub(crate) fn visibility(
    fe: &Frontend,
    session: &Session,
) -> Result<std::sync::Arc<dyn strata_query::info_schema::Visibility>> {
    if session.user == "root" {
        return Ok(std::sync::Arc::new(strata_query::info_schema::SeeAll));
    }
    Ok(std::sync::Arc::new(Privileges::load(
        &fe.catalog,
        &Identity::of(session),
    )?))
}

/// The database, table or pipe `stmt` creates, when it does not exist yet and the user is
/// not root: its creator is given every privilege on it once it exists.
pub(crate) fn to_be_created(
    fe: &Frontend,
    session: &Session,
    stmt: &Statement,
) -> Result<Option<Object>> {
    if session.user == "root" {
        return Ok(None);
    }
    let db_of =
        |n: &TableName| crate::executor::database_of(session, n.db.as_deref()).map(str::to_string);
    Ok(match stmt {
        Statement::CreateDatabase { name, .. } if !fe.catalog.database_exists(name)? => {
            Some(Object::database(name))
        }
        Statement::CreateTable(ct) => {
            let db = db_of(&ct.name)?;
            fe.catalog
                .get_table(&db, &ct.name.table)?
                .is_none()
                .then(|| Object::table(&db, &ct.name.table))
        }
        Statement::CreateView(cv) if !cv.alter => {
            let db = db_of(&cv.name)?;
            fe.catalog
                .get_view(&db, &cv.name.table)?
                .is_none()
                .then(|| Object::table(&db, &cv.name.table))
        }
        Statement::CreatePipe(c) => {
            let db = db_of(&c.name)?;
            fe.catalog
                .get_pipe(&db, &c.name.table)?
                .is_none()
                .then(|| Object::pipe(&db, &c.name.table))
        }
        _ => None,
    })
}

/// Gives the session's user every privilege on `o`, which it has just created.
pub(crate) fn grant_creator(fe: &Frontend, session: &Session, o: &Object) -> Result<()> {
    let rows: Vec<GrantRow> = o
        .kind
        .privileges()
        .iter()
        .map(|p| GrantRow {
            object_type: o.kind.name().to_string(),
            db: o.db.clone(),
            name: o.name.clone(),
            privilege: p.to_string(),
            grant_option: false,
        })
        .collect();
    fe.catalog.grant(&Identity::of(session).grantee(), &rows)?;
    Ok(())
}

/// Checks that the user a background job runs as (a Broker Load job's or a pipe's creator)
/// still holds INSERT on `tables` of `db`: checked each time the job runs or a batch starts,
/// so a REVOKE (or DROP USER) stops it with this error.
pub(crate) fn check_owner_inserts(
    fe: &Frontend,
    owner: &str,
    db: &str,
    tables: &[&str],
) -> Result<()> {
    let id = Identity::owner(&fe.catalog, owner)?;
    if id.user == "root" {
        return Ok(());
    }
    let needs: Vec<Need> = tables
        .iter()
        .map(|t| need("INSERT", Object::table(db, t)))
        .collect();
    Privileges::load(&fe.catalog, &id)?
        .check(&needs)
        .map_err(|e| {
            FrontendError::new(
                e.status_code(),
                format!("it runs as its creator {owner}, who may no longer do it: {e}"),
            )
        })
}

/// Checks that the session may run `stmt`.
pub(crate) fn check_statement(fe: &Frontend, session: &Session, stmt: &Statement) -> Result<()> {
    if session.user == "root" {
        return Ok(());
    }
    let privileges = Privileges::load(&fe.catalog, &Identity::of(session))?;
    privileges.check(&needs(fe, session, stmt)?)?;
    if let Statement::Account(a) = stmt
        && let AccountStmt::Privileges(g) = a.as_ref()
    {
        for o in grant_objects(session, &g.target)? {
            for p in &g.privileges {
                if !privileges.can_grant(p, &o) {
                    return Err(denied(
                        &format!("GRANT (or {p} WITH GRANT OPTION)"),
                        &o.describe(),
                        &session.roles,
                        &privileges.inactive,
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The objects a GRANT/REVOKE target names (`*` for every one).
pub(crate) fn grant_objects(session: &Session, t: &PrivTarget) -> Result<Vec<Object>> {
    let db_of = |n: &TableName| -> Result<String> {
        Ok(crate::executor::database_of(session, n.db.as_deref())?.to_string())
    };
    Ok(match t {
        PrivTarget::System => vec![Object::system()],
        PrivTarget::Catalog => vec![Object::catalog()],
        PrivTarget::Databases(d) => d.iter().map(|d| Object::database(d)).collect(),
        PrivTarget::AllDatabases => vec![Object::database("*")],
        PrivTarget::Tables(t) => t
            .iter()
            .map(|n| Ok(Object::table(&db_of(n)?, &n.table)))
            .collect::<Result<_>>()?,
        PrivTarget::AllTables(db) => vec![Object::table(db.as_deref().unwrap_or("*"), "*")],
        PrivTarget::Pipes(p) => p
            .iter()
            .map(|n| Ok(Object::pipe(&db_of(n)?, &n.table)))
            .collect::<Result<_>>()?,
        PrivTarget::AllPipes(db) => vec![Object::pipe(db.as_deref().unwrap_or("*"), "*")],
    })
}
