//! Users, roles and privileges: `CREATE/ALTER/DROP USER`, `CREATE/DROP ROLE`, `GRANT`,
//! `REVOKE`, `SET ROLE`, `SET DEFAULT ROLE`, `SET PASSWORD`, `SHOW GRANTS/USERS/ROLES`.

use super::TableName;

/// `'name'@'host'` (host `%` when not given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdent {
    /// User name.
    pub name: String,
    /// Host pattern.
    pub host: String,
}

impl std::fmt::Display for UserIdent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}'@'{}'", self.name, self.host)
    }
}

/// How an account authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSpec {
    /// No password.
    None,
    /// `IDENTIFIED BY 'password'`.
    Password(String),
    /// `IDENTIFIED BY PASSWORD '*hex'`: `mysql_native_password`'s stored form.
    Hash(String),
}

/// What a privilege is granted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivTarget {
    /// `ON SYSTEM`
    System,
    /// `ON CATALOG c` / `ON ALL CATALOGS` (only `default_catalog` exists).
    Catalog,
    /// `ON DATABASE d[, ...]`
    Databases(Vec<String>),
    /// `ON ALL DATABASES`
    AllDatabases,
    /// `ON TABLE [d.]t[, ...]` / `ON d.t`
    Tables(Vec<TableName>),
    /// `ON ALL TABLES IN DATABASE d` / `ON d.*`; `None`: in all databases (`*.*`).
    AllTables(Option<String>),
    /// `ON PIPE [d.]p[, ...]`
    Pipes(Vec<TableName>),
    /// `ON ALL PIPES IN DATABASE d`; `None`: in all databases.
    AllPipes(Option<String>),
}

/// Who a grant is given to or taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantSubject {
    /// `[USER] 'u'@'h'`
    User(UserIdent),
    /// `ROLE r`
    Role(String),
}

/// `GRANT priv[, ...] ON target TO subject [WITH GRANT OPTION]` or its REVOKE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantPrivileges {
    /// REVOKE ... FROM
    pub revoke: bool,
    /// Upper case, `ALL` for `ALL [PRIVILEGES]`.
    pub privileges: Vec<String>,
    /// The objects.
    pub target: PrivTarget,
    /// The grantee.
    pub subject: GrantSubject,
    /// WITH GRANT OPTION
    pub with_grant_option: bool,
}

/// `GRANT role[, ...] TO subject` or its REVOKE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRoles {
    /// REVOKE ... FROM
    pub revoke: bool,
    /// Roles.
    pub roles: Vec<String>,
    /// The grantee.
    pub subject: GrantSubject,
}

/// Which roles `SET ROLE` / `SET DEFAULT ROLE` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSet {
    /// DEFAULT (the user's default roles; only SET ROLE).
    Default,
    /// NONE
    None,
    /// ALL [EXCEPT r, ...]
    All(Vec<String>),
    /// r[, ...]
    Roles(Vec<String>),
}

/// The account statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStmt {
    /// `CREATE USER [IF NOT EXISTS] u [IDENTIFIED ...] [DEFAULT ROLE r, ...]`
    CreateUser {
        /// IF NOT EXISTS
        if_not_exists: bool,
        /// Account.
        user: UserIdent,
        /// Password.
        auth: AuthSpec,
        /// DEFAULT ROLE: granted and made default.
        default_roles: Vec<String>,
        /// PROPERTIES (`max_user_connections`).
        properties: Vec<(String, String)>,
    },
    /// `ALTER USER [IF EXISTS] u IDENTIFIED ...` / `ALTER USER u DEFAULT ROLE ...`
    AlterUser {
        /// IF EXISTS
        if_exists: bool,
        /// Account.
        user: UserIdent,
        /// New password.
        auth: Option<AuthSpec>,
        /// New default roles.
        default_roles: Option<RoleSet>,
        /// `SET PROPERTIES (...)`.
        properties: Vec<(String, String)>,
    },
    /// `DROP USER [IF EXISTS] u`
    DropUser {
        /// IF EXISTS
        if_exists: bool,
        /// Account.
        user: UserIdent,
    },
    /// `CREATE ROLE [IF NOT EXISTS] r[, ...]`
    CreateRole {
        /// IF NOT EXISTS
        if_not_exists: bool,
        /// Roles.
        names: Vec<String>,
    },
    /// `DROP ROLE [IF EXISTS] r[, ...]`
    DropRole {
        /// IF EXISTS
        if_exists: bool,
        /// Roles.
        names: Vec<String>,
    },
    /// GRANT / REVOKE of privileges.
    Privileges(GrantPrivileges),
    /// GRANT / REVOKE of roles.
    Roles(GrantRoles),
    /// `SET ROLE ...`
    SetRole(RoleSet),
    /// `SET DEFAULT ROLE ... TO u[, ...]`
    SetDefaultRole {
        /// Roles.
        roles: RoleSet,
        /// Accounts.
        users: Vec<UserIdent>,
    },
    /// `SET PASSWORD [FOR u] = PASSWORD('x') | '*hex'`
    SetPassword {
        /// FOR u (else the current user).
        user: Option<UserIdent>,
        /// New password.
        auth: AuthSpec,
    },
    /// `SHOW GRANTS [FOR u | FOR ROLE r]`
    ShowGrants(Option<GrantSubject>),
    /// `SHOW USERS`
    ShowUsers,
    /// `SHOW ROLES`
    ShowRoles,
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::fmt::Display for AuthSpec {
    /// Never the password: a statement's text reaches logs and the process list.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthSpec::None => Ok(()),
            AuthSpec::Password(_) => f.write_str(" IDENTIFIED BY '***'"),
            AuthSpec::Hash(_) => f.write_str(" IDENTIFIED BY PASSWORD '***'"),
        }
    }
}

impl std::fmt::Display for RoleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoleSet::Default => f.write_str("DEFAULT"),
            RoleSet::None => f.write_str("NONE"),
            RoleSet::All(ex) if ex.is_empty() => f.write_str("ALL"),
            RoleSet::All(ex) => write!(f, "ALL EXCEPT {}", list(ex)),
            RoleSet::Roles(r) => f.write_str(&list(r)),
        }
    }
}

impl std::fmt::Display for GrantSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrantSubject::User(u) => write!(f, "USER {u}"),
            GrantSubject::Role(r) => write!(f, "ROLE `{r}`"),
        }
    }
}

impl std::fmt::Display for PrivTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: &[TableName]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let within = |db: &Option<String>| match db {
            Some(d) => format!("IN DATABASE `{d}`"),
            None => "IN ALL DATABASES".to_string(),
        };
        match self {
            PrivTarget::System => f.write_str("SYSTEM"),
            PrivTarget::Catalog => f.write_str("CATALOG default_catalog"),
            PrivTarget::Databases(d) => write!(f, "DATABASE {}", list(d)),
            PrivTarget::AllDatabases => f.write_str("ALL DATABASES"),
            PrivTarget::Tables(t) => write!(f, "TABLE {}", names(t)),
            PrivTarget::AllTables(db) => write!(f, "ALL TABLES {}", within(db)),
            PrivTarget::Pipes(p) => write!(f, "PIPE {}", names(p)),
            PrivTarget::AllPipes(db) => write!(f, "ALL PIPES {}", within(db)),
        }
    }
}

impl std::fmt::Display for AccountStmt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountStmt::CreateUser {
                if_not_exists,
                user,
                auth,
                default_roles,
                properties,
            } => {
                let ine = if *if_not_exists { "IF NOT EXISTS " } else { "" };
                write!(f, "CREATE USER {ine}{user}{auth}")?;
                if !default_roles.is_empty() {
                    write!(f, " DEFAULT ROLE {}", list(default_roles))?;
                }
                if !properties.is_empty() {
                    f.write_str(" PROPERTIES")?;
                    super::fmt_props(f, properties)?;
                }
                Ok(())
            }
            AccountStmt::AlterUser {
                if_exists,
                user,
                auth,
                default_roles,
                properties,
            } => {
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "ALTER USER {ie}{user}")?;
                if let Some(a) = auth {
                    write!(f, "{a}")?;
                }
                if let Some(r) = default_roles {
                    write!(f, " DEFAULT ROLE {r}")?;
                }
                if !properties.is_empty() {
                    f.write_str(" SET PROPERTIES")?;
                    super::fmt_props(f, properties)?;
                }
                Ok(())
            }
            AccountStmt::DropUser { if_exists, user } => {
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP USER {ie}{user}")
            }
            AccountStmt::CreateRole {
                if_not_exists,
                names,
            } => {
                let ine = if *if_not_exists { "IF NOT EXISTS " } else { "" };
                write!(f, "CREATE ROLE {ine}{}", list(names))
            }
            AccountStmt::DropRole { if_exists, names } => {
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP ROLE {ie}{}", list(names))
            }
            AccountStmt::Privileges(g) => {
                let (verb, prep) = if g.revoke {
                    ("REVOKE", "FROM")
                } else {
                    ("GRANT", "TO")
                };
                write!(
                    f,
                    "{verb} {} ON {} {prep} {}",
                    g.privileges.join(", "),
                    g.target,
                    g.subject
                )?;
                if g.with_grant_option {
                    f.write_str(" WITH GRANT OPTION")?;
                }
                Ok(())
            }
            AccountStmt::Roles(g) => {
                let (verb, prep) = if g.revoke {
                    ("REVOKE", "FROM")
                } else {
                    ("GRANT", "TO")
                };
                write!(f, "{verb} {} {prep} {}", list(&g.roles), g.subject)
            }
            AccountStmt::SetRole(r) => write!(f, "SET ROLE {r}"),
            AccountStmt::SetDefaultRole { roles, users } => {
                let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
                write!(f, "SET DEFAULT ROLE {roles} TO {}", users.join(", "))
            }
            AccountStmt::SetPassword { user, .. } => {
                f.write_str("SET PASSWORD ")?;
                if let Some(u) = user {
                    write!(f, "FOR {u} ")?;
                }
                f.write_str("= '***'")
            }
            AccountStmt::ShowGrants(who) => {
                f.write_str("SHOW GRANTS")?;
                if let Some(w) = who {
                    write!(f, " FOR {w}")?;
                }
                Ok(())
            }
            AccountStmt::ShowUsers => f.write_str("SHOW USERS"),
            AccountStmt::ShowRoles => f.write_str("SHOW ROLES"),
        }
    }
}
