//! Users, roles and grants.
//!
//! A grantee is a user account (`name` at a host pattern) or a role, kept as one key
//! ([`Grantee::key`]) in `grants` and `role_members`. A grant row names an object by type,
//! database and name, where `*` stands for every one (`ON ALL TABLES IN DATABASE d` is
//! (TABLE, d, *)) and the empty string for none (SYSTEM has neither, a DATABASE no name).
//! Dropping an object drops the grants on it in the same transaction (`drop_object_grants`),
//! so a table created again under the same name starts with none.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::{Catalog, CatalogError, Result, now_string};

/// The roles every catalog has; they cannot be dropped.
pub const BUILTIN_ROLES: &[&str] = &["root", "cluster_admin", "db_admin", "user_admin", "public"];

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    /// User name.
    pub name: String,
    /// Host pattern (`%` any; `_` one character).
    pub host: String,
    /// Hex of SHA1(SHA1(password)) (`mysql_native_password`'s stored form); empty: no password.
    pub auth: String,
    /// Creation time.
    pub created: String,
    /// The `max_user_connections` property; `None`: the server's default.
    pub max_connections: Option<u64>,
}

/// Who holds a grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grantee {
    /// A user account: name and host pattern.
    User(String, String),
    /// A role.
    Role(String),
}

impl Grantee {
    /// The key stored in the catalog.
    pub fn key(&self) -> String {
        match self {
            Grantee::User(n, h) => format!("u:{n}@{h}"),
            Grantee::Role(r) => format!("r:{r}"),
        }
    }

    fn from_key(k: &str) -> Option<Self> {
        if let Some(r) = k.strip_prefix("r:") {
            return Some(Grantee::Role(r.to_string()));
        }
        let rest = k.strip_prefix("u:")?;
        let (n, h) = rest.rsplit_once('@')?;
        Some(Grantee::User(n.to_string(), h.to_string()))
    }
}

impl std::fmt::Display for Grantee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grantee::User(n, h) => write!(f, "'{n}'@'{h}'"),
            Grantee::Role(r) => write!(f, "ROLE '{r}'"),
        }
    }
}

/// One privilege on one object (or every object of a kind, `*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantRow {
    /// SYSTEM, CATALOG, DATABASE, TABLE or PIPE.
    pub object_type: String,
    /// Database, `*` for all, empty for SYSTEM and CATALOG.
    pub db: String,
    /// Table or pipe, `*` for all, empty for SYSTEM, CATALOG and DATABASE.
    pub name: String,
    /// Upper case, as StarRocks names it (`CREATE TABLE`, `INSERT`, `ALL`...).
    pub privilege: String,
    /// WITH GRANT OPTION.
    pub grant_option: bool,
}

/// Schema step 4: accounts, roles, grants, memberships and default roles, and sealed
/// statements. `root` (no password,
/// role `root`) and the built-in roles exist from the start.
pub(crate) const V4_ACCOUNTS: &str = r#"
CREATE TABLE users (
    name    TEXT NOT NULL,
    host    TEXT NOT NULL,
    auth    TEXT NOT NULL,
    created TEXT NOT NULL,
    max_connections INTEGER,
    PRIMARY KEY (name, host)
);
CREATE TABLE roles (
    name    TEXT PRIMARY KEY,
    builtin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE grants (
    grantee      TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    db           TEXT NOT NULL,
    name         TEXT NOT NULL,
    privilege    TEXT NOT NULL,
    grant_option INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grantee, object_type, db, name, privilege)
);
CREATE INDEX grants_by_object ON grants(object_type, db, name);
CREATE TABLE role_members (
    grantee TEXT NOT NULL,
    role    TEXT NOT NULL,
    PRIMARY KEY (grantee, role)
);
CREATE TABLE default_roles (
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (user, role)
);
INSERT INTO roles(name, builtin) VALUES
    ('root', 1), ('cluster_admin', 1), ('db_admin', 1), ('user_admin', 1), ('public', 1);
INSERT INTO users(name, host, auth, created) VALUES ('root', '%', '', datetime('now'));
INSERT INTO role_members(grantee, role) VALUES ('u:root@%', 'root');
INSERT INTO default_roles(user, role) VALUES ('u:root@%', 'root');
-- Statements that run again later (Broker Load jobs, pipes) keep their credentials sealed
-- with a key kept outside the catalog; `sql` has them masked.
ALTER TABLE loads ADD COLUMN sealed_sql BLOB;
ALTER TABLE pipes ADD COLUMN sealed_sql BLOB;
"#;

/// Whether `host` matches the account pattern `pattern` (`%` any run, `_` one character).
pub fn host_matches(pattern: &str, host: &str) -> bool {
    fn go(p: &[u8], h: &[u8]) -> bool {
        match p.split_first() {
            None => h.is_empty(),
            Some((b'%', rest)) => (0..=h.len()).any(|i| go(rest, &h[i..])),
            Some((b'_', rest)) => !h.is_empty() && go(rest, &h[1..]),
            Some((c, rest)) => h
                .split_first()
                .is_some_and(|(x, hr)| x.eq_ignore_ascii_case(c) && go(rest, hr)),
        }
    }
    go(pattern.as_bytes(), host.as_bytes())
}

fn account_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserAccount> {
    Ok(UserAccount {
        name: r.get(0)?,
        host: r.get(1)?,
        auth: r.get(2)?,
        created: r.get(3)?,
        max_connections: r.get(4)?,
    })
}

fn user_key(name: &str, host: &str) -> String {
    Grantee::User(name.to_string(), host.to_string()).key()
}

fn role_exists(c: &Connection, role: &str) -> Result<bool> {
    Ok(
        c.query_row("SELECT 1 FROM roles WHERE name = ?1", [role], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

fn user_exists(c: &Connection, name: &str, host: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM users WHERE name = ?1 AND host = ?2",
        params![name, host],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

fn grantee_exists(c: &Connection, g: &Grantee) -> Result<bool> {
    match g {
        Grantee::User(n, h) => user_exists(c, n, h),
        Grantee::Role(r) => role_exists(c, r),
    }
}

fn unknown(g: &Grantee) -> CatalogError {
    match g {
        Grantee::User(n, h) => CatalogError::UnknownUser(format!("'{n}'@'{h}'")),
        Grantee::Role(r) => CatalogError::UnknownRole(r.clone()),
    }
}

/// Deletes the grants on one object (or, for a database, on it and everything in it).
pub(crate) fn drop_object_grants(
    tx: &Transaction<'_>,
    object_type: &str,
    db: &str,
    name: &str,
) -> Result<()> {
    if object_type == "DATABASE" {
        tx.execute(
            "DELETE FROM grants WHERE db = ?1 AND object_type IN ('DATABASE', 'TABLE', 'PIPE')",
            [db],
        )?;
    } else {
        tx.execute(
            "DELETE FROM grants WHERE object_type = ?1 AND db = ?2 AND name = ?3",
            params![object_type, db, name],
        )?;
    }
    Ok(())
}

impl Catalog {
    /// Replaces a job's (`load`) or pipe's (`pipe`) statement by its masked text and sealed
    /// original (start-up sealing of statements stored before sealing existed).
    pub fn reseal_statement(
        &self,
        kind: &str,
        id: i64,
        masked: &str,
        sealed: Option<&[u8]>,
    ) -> Result<()> {
        let sql = match kind {
            "load" => "UPDATE loads SET sql = ?2, sealed_sql = ?3 WHERE job_id = ?1",
            _ => "UPDATE pipes SET sql = ?2, sealed_sql = ?3 WHERE id = ?1",
        };
        self.with(|c| {
            c.execute(sql, params![id, masked, sealed])?;
            Ok(())
        })
    }

    /// Every account, by name and host.
    pub fn users(&self) -> Result<Vec<UserAccount>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT name, host, auth, created, max_connections FROM users ORDER BY name, host",
            )?;
            let rows = st.query_map([], account_of)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The account `name` logs in with from `client_host`: an exact host first, then the
    /// most specific pattern that matches (fewest wildcards, longest), as MySQL picks.
    pub fn find_account(&self, name: &str, client_host: &str) -> Result<Option<UserAccount>> {
        let mut found: Vec<UserAccount> = self.with(|c| {
            let mut st = c.prepare(
                "SELECT name, host, auth, created, max_connections FROM users WHERE name = ?1",
            )?;
            let rows = st.query_map([name], account_of)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        found.retain(|a| host_matches(&a.host, client_host));
        found.sort_by_key(|a| {
            let wild = a.host.bytes().filter(|b| matches!(b, b'%' | b'_')).count();
            (wild, std::cmp::Reverse(a.host.len()))
        });
        Ok(found.into_iter().next())
    }

    /// Creates an account. False when it existed and `if_not_exists` was set.
    pub fn create_user(
        &self,
        name: &str,
        host: &str,
        auth: &str,
        default_roles: &[String],
        if_not_exists: bool,
    ) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            if user_exists(&tx, name, host)? {
                return if if_not_exists {
                    Ok(false)
                } else {
                    Err(CatalogError::UserExists(format!("'{name}'@'{host}'")))
                };
            }
            tx.execute(
                "INSERT INTO users(name, host, auth, created) VALUES (?1, ?2, ?3, ?4)",
                params![name, host, auth, now_string()],
            )?;
            let key = user_key(name, host);
            for r in default_roles {
                if !role_exists(&tx, r)? {
                    return Err(CatalogError::UnknownRole(r.clone()));
                }
                tx.execute(
                    "INSERT OR IGNORE INTO role_members(grantee, role) VALUES (?1, ?2)",
                    params![key, r],
                )?;
                tx.execute(
                    "INSERT OR IGNORE INTO default_roles(user, role) VALUES (?1, ?2)",
                    params![key, r],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    /// Sets an account's password (stored form). False when there is no such account.
    pub fn set_password(&self, name: &str, host: &str, auth: &str) -> Result<bool> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE users SET auth = ?3 WHERE name = ?1 AND host = ?2",
                params![name, host, auth],
            )?;
            Ok(n > 0)
        })
    }

    /// Sets an account's `max_user_connections` (`None`: the server's default). False when
    /// there is no such account.
    pub fn set_max_connections(&self, name: &str, host: &str, max: Option<u64>) -> Result<bool> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE users SET max_connections = ?3 WHERE name = ?1 AND host = ?2",
                params![
                    name,
                    host,
                    max.map(|m| i64::try_from(m).unwrap_or(i64::MAX))
                ],
            )?;
            Ok(n > 0)
        })
    }

    /// Drops an account with its grants, memberships and default roles. False when there was
    /// none and `if_exists` was set.
    pub fn drop_user(&self, name: &str, host: &str, if_exists: bool) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            if !user_exists(&tx, name, host)? {
                return if if_exists {
                    Ok(false)
                } else {
                    Err(CatalogError::UnknownUser(format!("'{name}'@'{host}'")))
                };
            }
            let key = user_key(name, host);
            tx.execute(
                "DELETE FROM users WHERE name = ?1 AND host = ?2",
                params![name, host],
            )?;
            tx.execute("DELETE FROM grants WHERE grantee = ?1", [&key])?;
            tx.execute("DELETE FROM role_members WHERE grantee = ?1", [&key])?;
            tx.execute("DELETE FROM default_roles WHERE user = ?1", [&key])?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Role names, sorted.
    pub fn roles(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT name FROM roles ORDER BY name")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// True when the role exists.
    pub fn role_exists(&self, role: &str) -> Result<bool> {
        self.with(|c| role_exists(c, role))
    }

    /// Creates a role. False when it existed and `if_not_exists` was set.
    pub fn create_role(&self, role: &str, if_not_exists: bool) -> Result<bool> {
        self.with(|c| {
            if role_exists(c, role)? {
                return if if_not_exists {
                    Ok(false)
                } else {
                    Err(CatalogError::RoleExists(role.to_string()))
                };
            }
            c.execute("INSERT INTO roles(name) VALUES (?1)", [role])?;
            Ok(true)
        })
    }

    /// Drops a role with its grants and memberships (both ways). Built-in roles stay.
    pub fn drop_role(&self, role: &str, if_exists: bool) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let builtin: Option<bool> = tx
                .query_row("SELECT builtin FROM roles WHERE name = ?1", [role], |r| {
                    r.get(0)
                })
                .optional()?;
            match builtin {
                None if if_exists => return Ok(false),
                None => return Err(CatalogError::UnknownRole(role.to_string())),
                Some(true) => return Err(CatalogError::BuiltinRole(role.to_string())),
                Some(false) => {}
            }
            let key = Grantee::Role(role.to_string()).key();
            tx.execute("DELETE FROM roles WHERE name = ?1", [role])?;
            tx.execute("DELETE FROM grants WHERE grantee = ?1", [&key])?;
            tx.execute(
                "DELETE FROM role_members WHERE grantee = ?1 OR role = ?2",
                params![key, role],
            )?;
            tx.execute("DELETE FROM default_roles WHERE role = ?1", [role])?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Grants `rows` to `to` (a grant already held is kept; WITH GRANT OPTION is added).
    pub fn grant(&self, to: &Grantee, rows: &[GrantRow]) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            if !grantee_exists(&tx, to)? {
                return Err(unknown(to));
            }
            let key = to.key();
            for g in rows {
                tx.execute(
                    "INSERT INTO grants(grantee, object_type, db, name, privilege, grant_option)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT DO UPDATE SET grant_option = max(grant_option, excluded.grant_option)",
                    params![key, g.object_type, g.db, g.name, g.privilege, g.grant_option],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Revokes `rows` from `from`; returns how many grants were removed.
    pub fn revoke(&self, from: &Grantee, rows: &[GrantRow]) -> Result<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            if !grantee_exists(&tx, from)? {
                return Err(unknown(from));
            }
            let key = from.key();
            let mut n = 0;
            for g in rows {
                n += tx.execute(
                    "DELETE FROM grants WHERE grantee = ?1 AND object_type = ?2 AND db = ?3
                        AND name = ?4 AND privilege = ?5",
                    params![key, g.object_type, g.db, g.name, g.privilege],
                )?;
            }
            tx.commit()?;
            Ok(n)
        })
    }

    /// Makes `to` a member of `role`. A role cannot end up inside itself.
    pub fn grant_role(&self, role: &str, to: &Grantee) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            if !role_exists(&tx, role)? {
                return Err(CatalogError::UnknownRole(role.to_string()));
            }
            if !grantee_exists(&tx, to)? {
                return Err(unknown(to));
            }
            if let Grantee::Role(inner) = to
                && (inner == role || roles_within(&tx, role)?.contains(inner))
            {
                return Err(CatalogError::RoleCycle(role.to_string(), inner.clone()));
            }
            tx.execute(
                "INSERT OR IGNORE INTO role_members(grantee, role) VALUES (?1, ?2)",
                params![to.key(), role],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Takes `role` from `from` (and from its default roles).
    pub fn revoke_role(&self, role: &str, from: &Grantee) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            if !grantee_exists(&tx, from)? {
                return Err(unknown(from));
            }
            let key = from.key();
            let n = tx.execute(
                "DELETE FROM role_members WHERE grantee = ?1 AND role = ?2",
                params![key, role],
            )?;
            tx.execute(
                "DELETE FROM default_roles WHERE user = ?1 AND role = ?2",
                params![key, role],
            )?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    /// The roles granted to `g` directly.
    pub fn granted_roles(&self, g: &Grantee) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT role FROM role_members WHERE grantee = ?1 ORDER BY role")?;
            let rows = st.query_map([g.key()], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// `roles` and every role granted to them, transitively.
    pub fn expand_roles(&self, roles: &[String]) -> Result<Vec<String>> {
        self.with(|c| {
            let mut out = Vec::new();
            for r in roles {
                if !out.contains(r) {
                    out.push(r.clone());
                }
                for inner in roles_within(c, r)? {
                    if !out.contains(&inner) {
                        out.push(inner);
                    }
                }
            }
            out.sort();
            Ok(out)
        })
    }

    /// A user's default roles (active at login).
    pub fn default_roles(&self, name: &str, host: &str) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT role FROM default_roles WHERE user = ?1 ORDER BY role")?;
            let rows = st.query_map([user_key(name, host)], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Replaces a user's default roles; each must be granted to the user.
    pub fn set_default_roles(&self, name: &str, host: &str, roles: &[String]) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            if !user_exists(&tx, name, host)? {
                return Err(CatalogError::UnknownUser(format!("'{name}'@'{host}'")));
            }
            let key = user_key(name, host);
            let granted = member_roles(&tx, &Grantee::User(name.into(), host.into()))?;
            for r in roles {
                if !granted.contains(r) {
                    return Err(CatalogError::RoleNotGranted(
                        r.clone(),
                        format!("'{name}'@'{host}'"),
                    ));
                }
            }
            tx.execute("DELETE FROM default_roles WHERE user = ?1", [&key])?;
            for r in roles {
                tx.execute(
                    "INSERT INTO default_roles(user, role) VALUES (?1, ?2)",
                    params![key, r],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The grants held by any of `grantees` directly (not through their roles).
    pub fn grants_of(&self, grantees: &[Grantee]) -> Result<Vec<(Grantee, GrantRow)>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT grantee, object_type, db, name, privilege, grant_option FROM grants
                 WHERE grantee = ?1 ORDER BY object_type, db, name, privilege",
            )?;
            let mut out = Vec::new();
            for g in grantees {
                let rows = st.query_map([g.key()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        GrantRow {
                            object_type: r.get(1)?,
                            db: r.get(2)?,
                            name: r.get(3)?,
                            privilege: r.get(4)?,
                            grant_option: r.get(5)?,
                        },
                    ))
                })?;
                for row in rows {
                    let (k, g) = row?;
                    if let Some(who) = Grantee::from_key(&k) {
                        out.push((who, g));
                    }
                }
            }
            Ok(out)
        })
    }
}

/// The roles granted to `role`, transitively (not `role` itself).
fn roles_within(c: &Connection, role: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut todo = member_roles(c, &Grantee::Role(role.to_string()))?;
    while let Some(r) = todo.pop() {
        if out.contains(&r) {
            continue;
        }
        todo.extend(member_roles(c, &Grantee::Role(r.clone()))?);
        out.push(r);
    }
    Ok(out)
}

/// The roles granted directly to `g`.
fn member_roles(c: &Connection, g: &Grantee) -> Result<Vec<String>> {
    let mut st = c.prepare("SELECT role FROM role_members WHERE grantee = ?1")?;
    let rows = st.query_map([g.key()], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::host_matches;

    #[test]
    fn host_patterns() {
        assert!(host_matches("%", "10.0.0.1"));
        assert!(host_matches("10.0.%", "10.0.3.4"));
        assert!(!host_matches("10.0.%", "10.1.3.4"));
        assert!(host_matches("127.0.0._", "127.0.0.1"));
        assert!(!host_matches("127.0.0._", "127.0.0.10"));
        assert!(host_matches("localhost", "LOCALHOST"));
        assert!(!host_matches("", "x"));
    }
}
