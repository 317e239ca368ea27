//! Strata's statement AST: StarRocks-only statements as our own nodes, queries as sqlparser's.

use std::fmt;

use sqlparser::ast as sp;
use strata_common::types::SrType;

mod account;
mod load;
mod pipe;
mod view;
pub use account::{
    AccountStmt, AuthSpec, GrantPrivileges, GrantRoles, GrantSubject, PrivTarget, RoleSet,
    UserIdent,
};
pub use load::{AlterLoad, CancelLoad, DataDesc, LoadStmt, expr_sql};
pub use pipe::{AlterPipe, AlterPipeAction, CreatePipe, ShowPipes};
pub use view::{CreateView, ViewColumn};

/// A `[db.]table` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    /// The database, when written.
    pub db: Option<String>,
    /// The table.
    pub table: String,
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.db {
            Some(db) => write!(f, "`{db}`.`{}`", self.table),
            None => write!(f, "`{}`", self.table),
        }
    }
}

/// Ordered `"key" = "value"` pairs (PROPERTIES, FILES arguments, frontend config).
pub type Properties = Vec<(String, String)>;

fn fmt_props(f: &mut fmt::Formatter<'_>, props: &Properties) -> fmt::Result {
    let body: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("'{}' = '{}'", escape(k), escape(v)))
        .collect();
    write!(f, "({})", body.join(", "))
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Where PREPARE takes a statement's text from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareFrom {
    /// `FROM 'SELECT ?'`
    Text(String),
    /// `FROM @var` (name without `@`)
    Variable(String),
}

/// A server list SHOW reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerList {
    /// SHOW [GLOBAL|SESSION] STATUS
    Status,
    /// SHOW [STORAGE] ENGINES
    Engines,
    /// SHOW CHARSET | CHARACTER SET
    Charset,
    /// SHOW COLLATION
    Collation,
}

impl fmt::Display for ServerList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerList::Status => "STATUS",
            ServerList::Engines => "ENGINES",
            ServerList::Charset => "CHARSET",
            ServerList::Collation => "COLLATION",
        })
    }
}

/// `LIKE 'pattern'` or `WHERE expr` after a SHOW statement.
#[derive(Debug, Clone, PartialEq)]
pub enum ShowFilter {
    /// `LIKE 'pattern'`
    Like(String),
    /// `WHERE expr`
    Where(Box<sp::Expr>),
}

impl fmt::Display for ShowFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShowFilter::Like(p) => write!(f, " LIKE '{}'", escape(p)),
            ShowFilter::Where(e) => write!(f, " WHERE {e}"),
        }
    }
}

/// A column's DEFAULT clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnDefault {
    /// `DEFAULT NULL`
    Null,
    /// `DEFAULT 'text'` (numbers are kept as their text too)
    Literal(String),
    /// `DEFAULT CURRENT_TIMESTAMP`
    CurrentTimestamp,
}

impl fmt::Display for ColumnDefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnDefault::Null => f.write_str("NULL"),
            ColumnDefault::Literal(v) => write!(f, "\"{v}\""),
            ColumnDefault::CurrentTimestamp => f.write_str("CURRENT_TIMESTAMP"),
        }
    }
}

/// One column of CREATE TABLE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Name as written (case kept).
    pub name: String,
    /// Type.
    pub ty: SrType,
    /// `Some(false)` for NOT NULL, `Some(true)` for NULL, `None` when not written.
    pub nullable: Option<bool>,
    /// DEFAULT clause.
    pub default: Option<ColumnDefault>,
    /// COMMENT text.
    pub comment: Option<String>,
}

impl fmt::Display for ColumnDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.name, self.ty.create_sql())?;
        match self.nullable {
            Some(false) => f.write_str(" NOT NULL")?,
            Some(true) => f.write_str(" NULL")?,
            None => {}
        }
        if let Some(d) = &self.default {
            write!(f, " DEFAULT {d}")?;
        }
        if let Some(c) = &self.comment {
            write!(f, " COMMENT '{}'", escape(c))?;
        }
        Ok(())
    }
}

/// The table model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysKind {
    /// DUPLICATE KEY
    Duplicate,
    /// PRIMARY KEY
    Primary,
    /// UNIQUE KEY
    Unique,
    /// AGGREGATE KEY
    Aggregate,
}

impl fmt::Display for KeysKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeysKind::Duplicate => "DUPLICATE",
            KeysKind::Primary => "PRIMARY",
            KeysKind::Unique => "UNIQUE",
            KeysKind::Aggregate => "AGGREGATE",
        })
    }
}

/// `DISTRIBUTED BY ...`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distribution {
    /// `HASH(cols) [BUCKETS n]`
    Hash {
        /// Distribution columns.
        columns: Vec<String>,
        /// Bucket count, when written.
        buckets: Option<u32>,
    },
    /// `RANDOM [BUCKETS n]`
    Random {
        /// Bucket count, when written.
        buckets: Option<u32>,
    },
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buckets = match self {
            Distribution::Hash { columns, buckets } => {
                let cols: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
                write!(f, "DISTRIBUTED BY HASH({})", cols.join(", "))?;
                buckets
            }
            Distribution::Random { buckets } => {
                f.write_str("DISTRIBUTED BY RANDOM")?;
                buckets
            }
        };
        if let Some(b) = buckets {
            write!(f, " BUCKETS {b}")?;
        }
        Ok(())
    }
}

/// CREATE TABLE, with or without AS query.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    /// IF NOT EXISTS
    pub if_not_exists: bool,
    /// Target.
    pub name: TableName,
    /// Column definitions (empty for CTAS).
    pub columns: Vec<ColumnDef>,
    /// CTAS column renames `CREATE TABLE t (a, b) AS ...`.
    pub column_names: Vec<String>,
    /// `ENGINE = x`
    pub engine: Option<String>,
    /// Key model and columns.
    pub keys: Option<(KeysKind, Vec<String>)>,
    /// Table COMMENT.
    pub comment: Option<String>,
    /// DISTRIBUTED BY.
    pub distribution: Option<Distribution>,
    /// ORDER BY (sort key) columns.
    pub order_by: Vec<String>,
    /// PROPERTIES.
    pub properties: Properties,
    /// The AS query of CTAS.
    pub query: Option<Box<sp::Query>>,
}

impl fmt::Display for CreateTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE TABLE ")?;
        if self.if_not_exists {
            f.write_str("IF NOT EXISTS ")?;
        }
        write!(f, "{}", self.name)?;
        if !self.columns.is_empty() {
            let cols: Vec<String> = self.columns.iter().map(|c| c.to_string()).collect();
            write!(f, " ({})", cols.join(", "))?;
        } else if !self.column_names.is_empty() {
            let cols: Vec<String> = self.column_names.iter().map(|c| format!("`{c}`")).collect();
            write!(f, " ({})", cols.join(", "))?;
        }
        if let Some(e) = &self.engine {
            write!(f, " ENGINE = {e}")?;
        }
        if let Some((kind, cols)) = &self.keys {
            let cols: Vec<String> = cols.iter().map(|c| format!("`{c}`")).collect();
            write!(f, " {kind} KEY({})", cols.join(", "))?;
        }
        if let Some(c) = &self.comment {
            write!(f, " COMMENT '{}'", escape(c))?;
        }
        if let Some(d) = &self.distribution {
            write!(f, " {d}")?;
        }
        if !self.order_by.is_empty() {
            let cols: Vec<String> = self.order_by.iter().map(|c| format!("`{c}`")).collect();
            write!(f, " ORDER BY({})", cols.join(", "))?;
        }
        if !self.properties.is_empty() {
            f.write_str(" PROPERTIES ")?;
            fmt_props(f, &self.properties)?;
        }
        if let Some(q) = &self.query {
            write!(f, " AS {q}")?;
        }
        Ok(())
    }
}

/// Where INSERT writes.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertTarget {
    /// A table.
    Table(TableName),
    /// `FILES(...)` (unload).
    Files(Properties),
}

/// INSERT INTO / INSERT OVERWRITE.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// OVERWRITE instead of INTO.
    pub overwrite: bool,
    /// Target.
    pub target: InsertTarget,
    /// `WITH LABEL l`
    pub label: Option<String>,
    /// Target column list.
    pub columns: Option<Vec<String>>,
    /// `BY NAME`
    pub by_name: bool,
    /// `PROPERTIES (...)`
    pub properties: Properties,
    /// The source: a query or VALUES.
    pub source: Box<sp::Query>,
}

impl fmt::Display for Insert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.overwrite {
            "INSERT OVERWRITE "
        } else {
            "INSERT INTO "
        })?;
        match &self.target {
            InsertTarget::Table(t) => write!(f, "{t}")?,
            InsertTarget::Files(p) => {
                f.write_str("FILES")?;
                fmt_props(f, p)?;
            }
        }
        if let Some(l) = &self.label {
            write!(f, " WITH LABEL `{l}`")?;
        }
        if let Some(cols) = &self.columns {
            let cols: Vec<String> = cols.iter().map(|c| format!("`{c}`")).collect();
            write!(f, " ({})", cols.join(", "))?;
        }
        if self.by_name {
            f.write_str(" BY NAME")?;
        }
        if !self.properties.is_empty() {
            f.write_str(" PROPERTIES ")?;
            fmt_props(f, &self.properties)?;
        }
        write!(f, " {}", self.source)
    }
}

/// An INSERT as text that this parser reads back to the same statement (string literals of its
/// query keep their backslashes: see [`expr_sql`]).
pub fn insert_sql(ins: &Insert) -> String {
    use std::ops::ControlFlow;
    let mut ins = ins.clone();
    let _ = sp::visit_expressions_mut(&mut ins.source, |e| {
        if let sp::Expr::Value(v) = e
            && let sp::Value::SingleQuotedString(s) | sp::Value::DoubleQuotedString(s) =
                &mut v.value
        {
            *s = s.replace('\\', "\\\\");
        }
        ControlFlow::<()>::Continue(())
    });
    ins.to_string()
}

/// One assignment of a SET statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SetAssignment {
    /// True for GLOBAL.
    pub global: bool,
    /// Variable name, lower-cased, without `@@` or scope prefix.
    pub name: String,
    /// The value expression.
    pub value: sp::Expr,
}

/// `SHOW LOAD`: load jobs of one database, StarRocks' columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowLoad {
    /// FROM db (else the current database).
    pub db: Option<String>,
    /// WHERE over `LABEL` and `STATE` (`LABEL LIKE 'x'` matches a substring, as in StarRocks).
    pub filter: Option<sp::Expr>,
    /// ORDER BY over the shown columns (default `JobId`).
    pub order_by: Vec<sp::OrderByExpr>,
    /// LIMIT n.
    pub limit: Option<sp::Expr>,
    /// OFFSET m (or `LIMIT m, n`).
    pub offset: Option<sp::Expr>,
}

impl fmt::Display for ShowLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW LOAD")?;
        if let Some(db) = &self.db {
            write!(f, " FROM `{db}`")?;
        }
        if let Some(w) = &self.filter {
            write!(f, " WHERE {w}")?;
        }
        fmt_order_limit(f, &self.order_by, &self.limit, &self.offset)
    }
}

/// ` ORDER BY … LIMIT n OFFSET m` of SHOW LOAD / SHOW PIPES.
fn fmt_order_limit(
    f: &mut fmt::Formatter<'_>,
    order_by: &[sp::OrderByExpr],
    limit: &Option<sp::Expr>,
    offset: &Option<sp::Expr>,
) -> fmt::Result {
    if !order_by.is_empty() {
        let o: Vec<String> = order_by.iter().map(ToString::to_string).collect();
        write!(f, " ORDER BY {}", o.join(", "))?;
    }
    if let Some(l) = limit {
        write!(f, " LIMIT {l}")?;
    }
    if let Some(o) = offset {
        write!(f, " OFFSET {o}")?;
    }
    Ok(())
}

/// Every statement Strata executes.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// A query (SELECT, WITH, VALUES, EXPLAIN ...), planned by DataFusion.
    Query(Box<sp::Statement>),
    /// Users, roles, grants.
    Account(Box<AccountStmt>),
    /// CREATE DATABASE
    CreateDatabase {
        /// Name.
        name: String,
        /// IF NOT EXISTS
        if_not_exists: bool,
    },
    /// DROP DATABASE
    DropDatabase {
        /// Name.
        name: String,
        /// IF EXISTS
        if_exists: bool,
    },
    /// USE db
    Use(String),
    /// CREATE TABLE [AS]
    CreateTable(Box<CreateTable>),
    /// DROP TABLE
    DropTable {
        /// Table.
        name: TableName,
        /// IF EXISTS
        if_exists: bool,
    },
    /// TRUNCATE TABLE
    TruncateTable(TableName),
    /// SHOW DATABASES
    ShowDatabases(Option<ShowFilter>),
    /// SHOW [FULL] TABLES [FROM db]
    ShowTables {
        /// FULL
        full: bool,
        /// FROM db
        db: Option<String>,
        /// LIKE/WHERE
        filter: Option<ShowFilter>,
    },
    /// SHOW CREATE TABLE
    ShowCreateTable(TableName),
    /// SHOW CREATE DATABASE
    ShowCreateDatabase(String),
    /// SHOW [GLOBAL|SESSION] VARIABLES
    ShowVariables(Option<ShowFilter>),
    /// SHOW WARNINGS / SHOW ERRORS
    ShowWarnings,
    /// SHOW PROCESSLIST
    ShowProcesslist,
    /// DESC table
    Describe(TableName),
    /// SHOW [FULL] COLUMNS|FIELDS FROM t [FROM db] [LIKE|WHERE]
    ShowColumns {
        /// FULL: also Collation, Privileges and Comment.
        full: bool,
        /// The table.
        table: TableName,
        /// LIKE/WHERE
        filter: Option<ShowFilter>,
    },
    /// DESC FILES(...)
    DescribeFiles(Properties),
    /// INSERT
    Insert(Box<Insert>),
    /// ADMIN SET FRONTEND CONFIG ("k" = "v")
    AdminSetFrontendConfig {
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// ADMIN SHOW FRONTEND CONFIG [LIKE]
    AdminShowFrontendConfig(Option<String>),
    /// SET ...
    Set(Vec<SetAssignment>),
    /// BEGIN / COMMIT / ROLLBACK: accepted, no multi-statement transactions.
    TransactionControl(String),
    /// `SYNC`: waits for metadata to reach every frontend; one node has nothing to wait for.
    Sync,
    /// SHOW LOAD [ALL] [FROM db] [WHERE ...] [ORDER BY ...] [LIMIT [offset,] n]
    ShowLoad(Box<ShowLoad>),
    /// LOAD LABEL ... WITH BROKER (Broker Load)
    Load(Box<LoadStmt>),
    /// CANCEL LOAD [FROM db] WHERE LABEL = 'l'
    CancelLoad(CancelLoad),
    /// ALTER LOAD FOR [db.]label PROPERTIES (...)
    AlterLoad(AlterLoad),
    /// CREATE [OR REPLACE] PIPE ... AS INSERT ...
    CreatePipe(Box<CreatePipe>),
    /// ALTER PIPE name SUSPEND | RESUME | RETRY ... | SET (...)
    AlterPipe(AlterPipe),
    /// DROP PIPE [IF EXISTS] name
    DropPipe {
        /// `[db.]name`
        name: TableName,
        /// IF EXISTS
        if_exists: bool,
    },
    /// SHOW PIPES
    ShowPipes(Box<ShowPipes>),
    /// DESC PIPE name
    DescPipe(TableName),
    /// CREATE [OR REPLACE] VIEW / ALTER VIEW
    CreateView(Box<CreateView>),
    /// DROP VIEW [IF EXISTS] [db.]v
    DropView {
        /// `[db.]name`
        name: TableName,
        /// IF EXISTS
        if_exists: bool,
    },
    /// SHOW CREATE VIEW [db.]v
    ShowCreateView(TableName),
    /// SHOW TABLE STATUS [FROM db] [LIKE|WHERE]
    ShowTableStatus {
        /// FROM db
        db: Option<String>,
        /// LIKE/WHERE
        filter: Option<ShowFilter>,
    },
    /// SHOW INDEX|INDEXES|KEYS FROM t [FROM db]
    ShowIndex(TableName),
    /// SHOW STATUS | ENGINES | CHARSET | COLLATION [LIKE|WHERE]: the server's fixed lists.
    ShowList {
        /// Which list.
        list: ServerList,
        /// LIKE/WHERE
        filter: Option<ShowFilter>,
    },
    /// SHOW [FULL] TRIGGERS [FROM db] [LIKE|WHERE]: StarRocks has no triggers; its answer is
    /// the column layout with no rows (dump tools ask for every table).
    ShowTriggers {
        /// FROM db
        db: Option<String>,
        /// LIKE/WHERE
        filter: Option<ShowFilter>,
    },
    /// `LOCK TABLES t READ [LOCAL] | [LOW_PRIORITY] WRITE, ...` (mysqldump sends it): the
    /// tables must exist and be readable; Strata has no table locks to take.
    LockTables(Vec<TableName>),
    /// UNLOCK TABLES
    UnlockTables,
    /// `ALTER TABLE t {DISABLE | ENABLE} KEYS` (mysqldump writes it around a table's rows).
    AlterTableKeys {
        /// The table.
        name: TableName,
        /// ENABLE (else DISABLE).
        enable: bool,
    },
    /// `SAVEPOINT s`, `RELEASE SAVEPOINT s`, `ROLLBACK [WORK] TO [SAVEPOINT] s` (mysqldump
    /// `--single-transaction` sends them around each table).
    Savepoint {
        /// `SAVEPOINT`, `RELEASE SAVEPOINT` or `ROLLBACK TO SAVEPOINT`.
        verb: String,
        /// The savepoint.
        name: String,
    },
    /// PREPARE name FROM 'sql' | @var
    Prepare {
        /// The statement's name.
        name: String,
        /// Its text.
        from: PrepareFrom,
    },
    /// EXECUTE name [USING @a, ...]
    Execute {
        /// The prepared statement's name.
        name: String,
        /// The user variables bound to its `?`, in order (names without `@`).
        using: Vec<String>,
    },
    /// DEALLOCATE | DROP PREPARE name
    Deallocate(String),
    /// KILL [CONNECTION | QUERY] id
    Kill {
        /// QUERY: stop the statement, keep the connection.
        query_only: bool,
        /// Connection id.
        id: u64,
    },
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Query(q) => write!(f, "{q}"),
            Statement::Account(a) => write!(f, "{a}"),
            Statement::CreateDatabase {
                name,
                if_not_exists,
            } => {
                let ine = if *if_not_exists { "IF NOT EXISTS " } else { "" };
                write!(f, "CREATE DATABASE {ine}`{name}`")
            }
            Statement::DropDatabase { name, if_exists } => {
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP DATABASE {ie}`{name}`")
            }
            Statement::Use(db) => write!(f, "USE `{db}`"),
            Statement::CreateTable(ct) => write!(f, "{ct}"),
            Statement::DropTable { name, if_exists } => {
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP TABLE {ie}{name}")
            }
            Statement::TruncateTable(t) => write!(f, "TRUNCATE TABLE {t}"),
            Statement::ShowDatabases(filter) => {
                f.write_str("SHOW DATABASES")?;
                fmt_filter(f, filter)
            }
            Statement::ShowTables { full, db, filter } => {
                f.write_str(if *full {
                    "SHOW FULL TABLES"
                } else {
                    "SHOW TABLES"
                })?;
                if let Some(db) = db {
                    write!(f, " FROM `{db}`")?;
                }
                fmt_filter(f, filter)
            }
            Statement::ShowCreateTable(t) => write!(f, "SHOW CREATE TABLE {t}"),
            Statement::ShowCreateDatabase(d) => write!(f, "SHOW CREATE DATABASE `{d}`"),
            Statement::ShowVariables(filter) => {
                f.write_str("SHOW VARIABLES")?;
                fmt_filter(f, filter)
            }
            Statement::ShowWarnings => f.write_str("SHOW WARNINGS"),
            Statement::ShowProcesslist => f.write_str("SHOW PROCESSLIST"),
            Statement::Describe(t) => write!(f, "DESC {t}"),
            Statement::ShowColumns {
                full,
                table,
                filter,
            } => {
                let full = if *full { "FULL " } else { "" };
                write!(f, "SHOW {full}COLUMNS FROM {table}")?;
                fmt_filter(f, filter)
            }
            Statement::DescribeFiles(p) => {
                f.write_str("DESC FILES")?;
                fmt_props(f, p)
            }
            Statement::Insert(i) => write!(f, "{i}"),
            Statement::AdminSetFrontendConfig { key, value } => write!(
                f,
                "ADMIN SET FRONTEND CONFIG ('{}' = '{}')",
                escape(key),
                escape(value)
            ),
            Statement::AdminShowFrontendConfig(like) => {
                f.write_str("ADMIN SHOW FRONTEND CONFIG")?;
                if let Some(l) = like {
                    write!(f, " LIKE '{}'", escape(l))?;
                }
                Ok(())
            }
            Statement::Set(assignments) => {
                let parts: Vec<String> = assignments
                    .iter()
                    .map(|a| {
                        let scope = if a.global { "GLOBAL " } else { "" };
                        format!("{scope}{} = {}", a.name, a.value)
                    })
                    .collect();
                write!(f, "SET {}", parts.join(", "))
            }
            Statement::TransactionControl(w) => f.write_str(w),
            Statement::Sync => f.write_str("SYNC"),
            Statement::ShowLoad(s) => write!(f, "{s}"),
            Statement::Load(l) => write!(f, "{l}"),
            Statement::CancelLoad(c) => write!(f, "{c}"),
            Statement::AlterLoad(a) => write!(f, "{a}"),
            Statement::CreatePipe(c) => write!(f, "{c}"),
            Statement::AlterPipe(a) => write!(f, "{a}"),
            Statement::DropPipe { name, if_exists } => {
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP PIPE {ie}{name}")
            }
            Statement::ShowPipes(s) => write!(f, "{s}"),
            Statement::DescPipe(n) => write!(f, "DESC PIPE {n}"),
            Statement::CreateView(v) => write!(f, "{v}"),
            Statement::DropView { name, if_exists } => {
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP VIEW {ie}{name}")
            }
            Statement::ShowCreateView(n) => write!(f, "SHOW CREATE VIEW {n}"),
            Statement::ShowTableStatus { db, filter } => {
                f.write_str("SHOW TABLE STATUS")?;
                if let Some(db) = db {
                    write!(f, " FROM `{db}`")?;
                }
                fmt_filter(f, filter)
            }
            Statement::ShowIndex(t) => write!(f, "SHOW INDEX FROM {t}"),
            Statement::ShowList { list, filter } => {
                write!(f, "SHOW {list}")?;
                fmt_filter(f, filter)
            }
            Statement::ShowTriggers { db, filter } => {
                f.write_str("SHOW TRIGGERS")?;
                if let Some(db) = db {
                    write!(f, " FROM `{db}`")?;
                }
                fmt_filter(f, filter)
            }
            Statement::LockTables(tables) => {
                let t: Vec<String> = tables.iter().map(|t| format!("{t} READ")).collect();
                write!(f, "LOCK TABLES {}", t.join(", "))
            }
            Statement::UnlockTables => f.write_str("UNLOCK TABLES"),
            Statement::Savepoint { verb, name } => write!(f, "{verb} `{name}`"),
            Statement::AlterTableKeys { name, enable } => {
                let what = if *enable { "ENABLE" } else { "DISABLE" };
                write!(f, "ALTER TABLE {name} {what} KEYS")
            }
            Statement::Prepare { name, from } => match from {
                PrepareFrom::Text(t) => write!(f, "PREPARE `{name}` FROM '{}'", escape(t)),
                PrepareFrom::Variable(v) => write!(f, "PREPARE `{name}` FROM @{v}"),
            },
            Statement::Execute { name, using } => {
                write!(f, "EXECUTE `{name}`")?;
                if !using.is_empty() {
                    let vars: Vec<String> = using.iter().map(|v| format!("@{v}")).collect();
                    write!(f, " USING {}", vars.join(", "))?;
                }
                Ok(())
            }
            Statement::Deallocate(name) => write!(f, "DEALLOCATE PREPARE `{name}`"),
            Statement::Kill { query_only, id } => {
                let what = if *query_only { "QUERY" } else { "CONNECTION" };
                write!(f, "KILL {what} {id}")
            }
        }
    }
}

fn fmt_filter(f: &mut fmt::Formatter<'_>, filter: &Option<ShowFilter>) -> fmt::Result {
    match filter {
        Some(flt) => write!(f, "{flt}"),
        None => Ok(()),
    }
}
