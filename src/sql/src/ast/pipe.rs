//! Pipes: `CREATE [OR REPLACE] PIPE`, `ALTER PIPE`, `DROP PIPE`, `SHOW PIPES`, `DESC PIPE`.

use std::fmt;

use sqlparser::ast as sp;

use super::{Insert, Properties, ShowFilter, TableName, fmt_props};

/// `CREATE [OR REPLACE] PIPE [IF NOT EXISTS] [db.]name [PROPERTIES (...)] AS INSERT ...`
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePipe {
    /// OR REPLACE: the old pipe and its file history are dropped.
    pub or_replace: bool,
    /// IF NOT EXISTS
    pub if_not_exists: bool,
    /// `[db.]name`
    pub name: TableName,
    /// PROPERTIES
    pub properties: Properties,
    /// The INSERT each batch runs.
    pub insert: Box<Insert>,
}

/// What ALTER PIPE does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterPipeAction {
    /// SUSPEND
    Suspend,
    /// RESUME
    Resume,
    /// RETRY ALL
    RetryAll,
    /// RETRY FILE 'name'
    RetryFile(String),
    /// SET (...)
    Set(Properties),
}

/// `ALTER PIPE [db.]name <action>`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPipe {
    /// `[db.]name`
    pub name: TableName,
    /// The action.
    pub action: AlterPipeAction,
}

/// `SHOW PIPES [FROM db] [LIKE 'p' | WHERE expr] [ORDER BY ...] [LIMIT ...]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowPipes {
    /// FROM db (else the current database).
    pub db: Option<String>,
    /// LIKE / WHERE
    pub filter: Option<ShowFilter>,
    /// ORDER BY over the shown columns.
    pub order_by: Vec<sp::OrderByExpr>,
    /// LIMIT n.
    pub limit: Option<sp::Expr>,
    /// OFFSET m.
    pub offset: Option<sp::Expr>,
}

impl fmt::Display for CreatePipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE ")?;
        if self.or_replace {
            f.write_str("OR REPLACE ")?;
        }
        f.write_str("PIPE ")?;
        if self.if_not_exists {
            f.write_str("IF NOT EXISTS ")?;
        }
        write!(f, "{}", self.name)?;
        if !self.properties.is_empty() {
            f.write_str(" PROPERTIES ")?;
            fmt_props(f, &self.properties)?;
        }
        write!(f, " AS {}", super::insert_sql(&self.insert))
    }
}

impl fmt::Display for AlterPipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ALTER PIPE {} ", self.name)?;
        match &self.action {
            AlterPipeAction::Suspend => f.write_str("SUSPEND"),
            AlterPipeAction::Resume => f.write_str("RESUME"),
            AlterPipeAction::RetryAll => f.write_str("RETRY ALL"),
            AlterPipeAction::RetryFile(name) => {
                write!(f, "RETRY FILE '{}'", super::escape(name))
            }
            AlterPipeAction::Set(p) => {
                f.write_str("SET ")?;
                fmt_props(f, p)
            }
        }
    }
}

impl fmt::Display for ShowPipes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW PIPES")?;
        if let Some(db) = &self.db {
            write!(f, " FROM `{}`", db.replace('`', "``"))?;
        }
        if let Some(flt) = &self.filter {
            write!(f, "{flt}")?;
        }
        super::fmt_order_limit(f, &self.order_by, &self.limit, &self.offset)
    }
}
