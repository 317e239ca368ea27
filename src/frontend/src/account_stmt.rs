//! Users, roles and grants: CREATE/ALTER/DROP USER, CREATE/DROP ROLE, GRANT, REVOKE, SET
//! ROLE, SET DEFAULT ROLE, SET PASSWORD, SHOW GRANTS/USERS/ROLES. Who may run which is
//! decided in [`crate::privilege`], before any of this runs.

use strata_catalog::{BUILTIN_ROLES, CatalogError, GrantRow, Grantee};
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_sql::{AccountStmt, AuthSpec, GrantSubject, RoleSet, UserIdent};

use crate::admin::{nullable_string_table, string_table};
use crate::privilege::{Kind, Object, grant_objects};
use crate::secrets::{Sealer, to_hex};
use crate::{Frontend, FrontendError, Result};

fn failed(msg: impl Into<String>) -> FrontendError {
    FrontendError::new(StatusCode::AccountOperationFailed, msg)
}

fn invalid(msg: impl Into<String>) -> FrontendError {
    FrontendError::new(StatusCode::InvalidArguments, msg)
}

/// The stored form of a password: hex of SHA1(SHA1(password)) sealed with the secrets key
/// (`crate::secrets`), or empty for none.
pub(crate) fn stored_auth(sealer: &Sealer, auth: &AuthSpec) -> Result<String> {
    let hash = match auth {
        AuthSpec::None => String::new(),
        AuthSpec::Password(pw) if pw.is_empty() => String::new(),
        AuthSpec::Password(pw) => to_hex(&strata_protocol_mysql::scramble_password(pw)),
        AuthSpec::Hash(h) => {
            let digits = h.strip_prefix('*').unwrap_or(h);
            if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    "Password hash should be a 41-digit hexadecimal number ('*' and 40 hex digits, \
                     as PASSWORD('...') prints it)",
                ));
            }
            digits.to_ascii_uppercase()
        }
    };
    sealer.seal_password(&hash)
}

fn grantee(s: &GrantSubject) -> Grantee {
    match s {
        GrantSubject::User(u) => Grantee::User(u.name.clone(), u.host.clone()),
        GrantSubject::Role(r) => Grantee::Role(r.clone()),
    }
}

fn require_user(fe: &Frontend, u: &UserIdent) -> Result<()> {
    let exists = fe
        .catalog
        .users()?
        .iter()
        .any(|a| a.name == u.name && a.host == u.host);
    if exists {
        Ok(())
    } else {
        Err(CatalogError::UnknownUser(u.to_string()).into())
    }
}

/// Runs an account statement.
pub(crate) fn run(fe: &Frontend, session: &mut Session, stmt: AccountStmt) -> Result<Output> {
    match stmt {
        AccountStmt::CreateUser {
            if_not_exists,
            user,
            auth,
            default_roles,
            properties,
        } => {
            let auth = stored_auth(&fe.sealer, &auth)?;
            let max = max_connections(&properties)?;
            let created = fe.catalog.create_user(
                &user.name,
                &user.host,
                &auth,
                &default_roles,
                if_not_exists,
            )?;
            if created && max.is_some() {
                fe.catalog
                    .set_max_connections(&user.name, &user.host, max)?;
            }
        }
        AccountStmt::AlterUser {
            if_exists,
            user,
            auth,
            default_roles,
            properties,
        } => {
            if let Err(e) = require_user(fe, &user) {
                return if if_exists { Ok(Output::ok()) } else { Err(e) };
            }
            if let Some(a) = auth {
                fe.catalog
                    .set_password(&user.name, &user.host, &stored_auth(&fe.sealer, &a)?)?;
            }
            if let Some(r) = default_roles {
                set_default_roles(fe, &user, &r)?;
            }
            if !properties.is_empty() {
                let max = max_connections(&properties)?;
                fe.catalog
                    .set_max_connections(&user.name, &user.host, max)?;
            }
        }
        AccountStmt::DropUser { if_exists, user } => {
            if user.name == "root" {
                return Err(failed(format!(
                    "Operation DROP USER failed for {user} : root cannot be dropped"
                )));
            }
            fe.catalog.drop_user(&user.name, &user.host, if_exists)?;
        }
        AccountStmt::CreateRole {
            if_not_exists,
            names,
        } => {
            for n in &names {
                fe.catalog.create_role(n, if_not_exists)?;
            }
        }
        AccountStmt::DropRole { if_exists, names } => {
            for n in &names {
                fe.catalog.drop_role(n, if_exists)?;
            }
        }
        AccountStmt::Privileges(g) => {
            let objects = grant_objects(session, &g.target)?;
            for o in &objects {
                require_object(fe, o)?;
            }
            let rows = grant_rows(&g.privileges, &objects, g.with_grant_option)?;
            let who = grantee(&g.subject);
            if g.revoke {
                fe.catalog.revoke(&who, &rows)?;
            } else {
                fe.catalog.grant(&who, &rows)?;
            }
        }
        AccountStmt::Roles(g) => {
            let who = grantee(&g.subject);
            for r in &g.roles {
                if g.revoke {
                    if !fe.catalog.role_exists(r)? {
                        return Err(CatalogError::UnknownRole(r.clone()).into());
                    }
                    fe.catalog.revoke_role(r, &who)?;
                } else {
                    fe.catalog.grant_role(r, &who)?;
                }
            }
        }
        AccountStmt::SetRole(set) => {
            let me = UserIdent {
                name: session.user.clone(),
                host: session.host.clone(),
            };
            session.roles = match set {
                RoleSet::Default => fe.catalog.default_roles(&me.name, &me.host)?,
                other => resolve_roles(fe, &me, &other)?,
            };
        }
        AccountStmt::SetDefaultRole { roles, users } => {
            for u in &users {
                set_default_roles(fe, u, &roles)?;
            }
        }
        AccountStmt::SetPassword { user, auth } => {
            let user = user.unwrap_or_else(|| UserIdent {
                name: session.user.clone(),
                host: session.host.clone(),
            });
            if !fe
                .catalog
                .set_password(&user.name, &user.host, &stored_auth(&fe.sealer, &auth)?)?
            {
                return Err(CatalogError::UnknownUser(user.to_string()).into());
            }
        }
        AccountStmt::ShowGrants(who) => return show_grants(fe, session, who),
        AccountStmt::ShowUsers => {
            let rows = fe
                .catalog
                .users()?
                .into_iter()
                .map(|u| vec![format!("'{}'@'{}'", u.name, u.host)])
                .collect();
            return Ok(string_table(&["User"], rows));
        }
        AccountStmt::ShowRoles => {
            let rows = fe
                .catalog
                .roles()?
                .into_iter()
                .map(|r| {
                    let builtin = BUILTIN_ROLES.contains(&r.as_str());
                    vec![r, builtin.to_string(), String::new()]
                })
                .collect();
            return Ok(string_table(&["Name", "Builtin", "Comment"], rows));
        }
    }
    Ok(Output::ok())
}

/// A user's PROPERTIES: `max_user_connections` (a positive number) is the one there is.
fn max_connections(props: &[(String, String)]) -> Result<Option<u64>> {
    let mut max = None;
    for (k, v) in props {
        if !k.eq_ignore_ascii_case("max_user_connections") {
            return Err(invalid(format!(
                "Unknown user property '{k}': max_user_connections is the one there is"
            )));
        }
        match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => max = Some(n),
            _ => {
                return Err(invalid(format!(
                    "max_user_connections must be a positive number, not '{v}'"
                )));
            }
        }
    }
    Ok(max)
}

/// The roles a [`RoleSet`] names for `user`, each granted to them.
fn resolve_roles(fe: &Frontend, user: &UserIdent, set: &RoleSet) -> Result<Vec<String>> {
    let granted = fe
        .catalog
        .granted_roles(&Grantee::User(user.name.clone(), user.host.clone()))?;
    Ok(match set {
        RoleSet::Default => fe.catalog.default_roles(&user.name, &user.host)?,
        RoleSet::None => Vec::new(),
        RoleSet::All(except) => granted
            .into_iter()
            .filter(|r| !except.contains(r))
            .collect(),
        RoleSet::Roles(list) => {
            for r in list {
                if !granted.contains(r) {
                    return Err(CatalogError::RoleNotGranted(r.clone(), user.to_string()).into());
                }
            }
            list.clone()
        }
    })
}

fn set_default_roles(fe: &Frontend, user: &UserIdent, set: &RoleSet) -> Result<()> {
    require_user(fe, user)?;
    let roles = resolve_roles(fe, user, set)?;
    fe.catalog
        .set_default_roles(&user.name, &user.host, &roles)?;
    Ok(())
}

/// A named object of a GRANT must exist (`*` stands for all, existing or not).
fn require_object(fe: &Frontend, o: &Object) -> Result<()> {
    let db_known = o.db == "*" || fe.catalog.database_exists(&o.db)?;
    match o.kind {
        Kind::System | Kind::Catalog => Ok(()),
        Kind::Database if !db_known => Err(CatalogError::UnknownDatabase(o.db.clone()).into()),
        Kind::Table | Kind::Pipe if !db_known => {
            Err(CatalogError::UnknownDatabase(o.db.clone()).into())
        }
        Kind::Table
            if o.name != "*"
                && fe.catalog.get_table(&o.db, &o.name)?.is_none()
                && fe.catalog.get_view(&o.db, &o.name)?.is_none() =>
        {
            Err(CatalogError::UnknownTable {
                db: o.db.clone(),
                table: o.name.clone(),
            }
            .into())
        }
        Kind::Pipe if o.name != "*" && fe.catalog.get_pipe(&o.db, &o.name)?.is_none() => {
            Err(FrontendError::new(
                StatusCode::InvalidArguments,
                format!("Unknown pipe '{}'", o.name),
            ))
        }
        _ => Ok(()),
    }
}

/// Grant rows for `privileges` on `objects`: each privilege must exist on the object's kind;
/// ALL stands for every one of them (so one can be revoked afterwards).
fn grant_rows(
    privileges: &[String],
    objects: &[Object],
    grant_option: bool,
) -> Result<Vec<GrantRow>> {
    let mut out = Vec::new();
    for o in objects {
        let valid = o.kind.privileges();
        for p in privileges {
            let expanded: Vec<&str> = if p == "ALL" {
                valid.to_vec()
            } else if let Some(v) = valid.iter().find(|v| **v == p.as_str()) {
                vec![*v]
            } else {
                return Err(invalid(format!(
                    "{p} is not a privilege on {} objects; they have {}, or ALL",
                    o.kind.name(),
                    valid.join(", ")
                )));
            };
            for e in expanded {
                out.push(GrantRow {
                    object_type: o.kind.name().to_string(),
                    db: o.db.clone(),
                    name: o.name.clone(),
                    privilege: e.to_string(),
                    grant_option,
                });
            }
        }
    }
    Ok(out)
}

/// `SHOW GRANTS [FOR u | FOR ROLE r]`: StarRocks' columns, one GRANT statement per object.
fn show_grants(fe: &Frontend, session: &Session, who: Option<GrantSubject>) -> Result<Output> {
    let who = who.unwrap_or_else(|| {
        GrantSubject::User(UserIdent {
            name: session.user.clone(),
            host: session.host.clone(),
        })
    });
    let g = grantee(&who);
    let (head, shown) = match &who {
        GrantSubject::User(u) => {
            require_user(fe, u)?;
            ("UserIdentity", u.to_string())
        }
        GrantSubject::Role(r) => {
            if !fe.catalog.role_exists(r)? {
                return Err(CatalogError::UnknownRole(r.clone()).into());
            }
            ("RoleName", r.clone())
        }
    };
    let to = match &who {
        GrantSubject::User(u) => format!("USER {u}"),
        GrantSubject::Role(r) => format!("ROLE '{r}'"),
    };
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let roles = fe.catalog.granted_roles(&g)?;
    if !roles.is_empty() {
        let list: Vec<String> = roles.iter().map(|r| format!("'{r}'")).collect();
        rows.push(vec![
            Some(shown.clone()),
            None,
            Some(format!("GRANT {} TO {to}", list.join(", "))),
        ]);
    }
    // Grants of one object (and grant option) in one statement.
    let mut groups: Vec<(GrantRow, Vec<String>)> = Vec::new();
    for (_, row) in fe.catalog.grants_of(std::slice::from_ref(&g))? {
        let key = GrantRow {
            privilege: String::new(),
            ..row.clone()
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, privs)) => privs.push(row.privilege),
            None => groups.push((key, vec![row.privilege])),
        }
    }
    for (k, privs) in groups {
        let on = match k.object_type.as_str() {
            "SYSTEM" => "SYSTEM".to_string(),
            "CATALOG" => "CATALOG default_catalog".to_string(),
            "DATABASE" if k.db == "*" => "ALL DATABASES".to_string(),
            "DATABASE" => format!("DATABASE {}", k.db),
            kind => {
                let plural = if kind == "TABLE" { "TABLES" } else { "PIPES" };
                match (k.db.as_str(), k.name.as_str()) {
                    ("*", _) => format!("ALL {plural} IN ALL DATABASES"),
                    (db, "*") => format!("ALL {plural} IN DATABASE {db}"),
                    (db, name) => format!("{kind} {db}.{name}"),
                }
            }
        };
        let catalog = (k.object_type != "SYSTEM").then(|| "default_catalog".to_string());
        let option = if k.grant_option {
            " WITH GRANT OPTION"
        } else {
            ""
        };
        rows.push(vec![
            Some(shown.clone()),
            catalog,
            Some(format!(
                "GRANT {} ON {on} TO {to}{option}",
                privs.join(", ")
            )),
        ]);
    }
    Ok(nullable_string_table(&[head, "Catalog", "Grants"], rows))
}
