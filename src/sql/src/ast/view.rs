//! Views: `CREATE [OR REPLACE] VIEW`, `ALTER VIEW`, `DROP VIEW`, `SHOW CREATE VIEW`.

use std::fmt;

use sqlparser::ast as sp;

use super::{TableName, escape};

/// `CREATE [OR REPLACE] VIEW [IF NOT EXISTS] [db.]v [(col [COMMENT 'c'], ...)] [COMMENT 'c']
/// AS query`, or `ALTER VIEW [db.]v [(col, ...)] AS query` (`alter`).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateView {
    /// ALTER VIEW: the view must exist and is redefined.
    pub alter: bool,
    /// OR REPLACE
    pub or_replace: bool,
    /// IF NOT EXISTS
    pub if_not_exists: bool,
    /// `[db.]name`
    pub name: TableName,
    /// The column list: names and comments (empty: the query's own names).
    pub columns: Vec<ViewColumn>,
    /// COMMENT
    pub comment: Option<String>,
    /// The query.
    pub query: Box<sp::Query>,
}

/// A column of a view's column list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewColumn {
    /// Name.
    pub name: String,
    /// COMMENT
    pub comment: Option<String>,
}

impl fmt::Display for CreateView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.alter {
            f.write_str("ALTER VIEW ")?;
        } else {
            f.write_str("CREATE ")?;
            if self.or_replace {
                f.write_str("OR REPLACE ")?;
            }
            f.write_str("VIEW ")?;
            if self.if_not_exists {
                f.write_str("IF NOT EXISTS ")?;
            }
        }
        write!(f, "{}", self.name)?;
        if !self.columns.is_empty() {
            let cols: Vec<String> = self
                .columns
                .iter()
                .map(|c| match &c.comment {
                    Some(cm) => format!("`{}` COMMENT '{}'", c.name, escape(cm)),
                    None => format!("`{}`", c.name),
                })
                .collect();
            write!(f, " ({})", cols.join(", "))?;
        }
        if let Some(c) = &self.comment {
            write!(f, " COMMENT '{}'", escape(c))?;
        }
        write!(f, " AS {}", self.query)
    }
}
