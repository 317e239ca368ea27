//! Broker Load: `LOAD LABEL`, `CANCEL LOAD`, `ALTER LOAD`.

use std::fmt;

use sqlparser::ast as sp;

use super::{Properties, escape, fmt_props};

/// `LOAD LABEL [db.]label (data_desc, ...) WITH BROKER [name] [(...)] [PROPERTIES (...)]`
#[derive(Debug, Clone, PartialEq)]
pub struct LoadStmt {
    /// The label's database, when written (else the session's).
    pub db: Option<String>,
    /// Label.
    pub label: String,
    /// The `DATA INFILE` clauses, loaded in one transaction.
    pub data: Vec<DataDesc>,
    /// `WITH BROKER name`: parsed and ignored (loads are broker-less).
    pub broker: Option<String>,
    /// `WITH BROKER (...)`: storage credentials, the keys FILES() takes.
    pub broker_props: Properties,
    /// Job `PROPERTIES (...)`.
    pub properties: Properties,
}

/// One `DATA INFILE (...) INTO TABLE t ...` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct DataDesc {
    /// File paths and globs.
    pub paths: Vec<String>,
    /// Target table (in the label's database).
    pub table: String,
    /// `COLUMNS TERMINATED BY`
    pub column_separator: Option<String>,
    /// `ROWS TERMINATED BY`
    pub row_delimiter: Option<String>,
    /// `FORMAT AS`, as written.
    pub format: Option<String>,
    /// CSV options after FORMAT AS: `skip_header`, `trim_space`, `enclose`, `escape`
    /// (keys lower-case).
    pub format_props: Properties,
    /// The source fields: positional for CSV, by name for Parquet/ORC/JSON.
    pub columns: Option<Vec<String>>,
    /// `COLUMNS FROM PATH AS (...)`
    pub columns_from_path: Vec<String>,
    /// `SET (col = expr, ...)`
    pub set: Vec<(String, sp::Expr)>,
    /// `WHERE expr`
    pub filter: Option<sp::Expr>,
}

/// `CANCEL LOAD [FROM db] WHERE LABEL = 'l'`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelLoad {
    /// FROM db (else the current database).
    pub db: Option<String>,
    /// Label.
    pub label: String,
}

/// `ALTER LOAD FOR [db.]label PROPERTIES ("priority" = "...")`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterLoad {
    /// Database, when written.
    pub db: Option<String>,
    /// Label.
    pub label: String,
    /// Properties (only `priority`).
    pub properties: Properties,
}

/// `expr` as SQL text that this parser reads back to the same expression. sqlparser prints a
/// string literal with only its quotes doubled, while the MySQL tokenizer reads `\` as an
/// escape: a literal holding a backslash would come back changed (or end early), so its
/// backslashes are doubled first.
pub fn expr_sql(expr: &sp::Expr) -> String {
    use std::ops::ControlFlow;
    let mut e = expr.clone();
    let _ = sp::visit_expressions_mut(&mut e, |e| {
        if let sp::Expr::Value(v) = e
            && let sp::Value::SingleQuotedString(s) | sp::Value::DoubleQuotedString(s) =
                &mut v.value
        {
            *s = s.replace('\\', "\\\\");
        }
        ControlFlow::<()>::Continue(())
    });
    e.to_string()
}

fn quoted(s: &str) -> String {
    format!("'{}'", escape(s))
}

fn idents(names: &[String]) -> String {
    names
        .iter()
        .map(|c| format!("`{}`", c.replace('`', "``")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for DataDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<String> = self.paths.iter().map(|p| quoted(p)).collect();
        write!(
            f,
            "DATA INFILE ({}) INTO TABLE `{}`",
            paths.join(", "),
            self.table.replace('`', "``")
        )?;
        if let Some(s) = &self.column_separator {
            write!(f, " COLUMNS TERMINATED BY {}", quoted(s))?;
        }
        if let Some(s) = &self.row_delimiter {
            write!(f, " ROWS TERMINATED BY {}", quoted(s))?;
        }
        if let Some(s) = &self.format {
            write!(f, " FORMAT AS {}", quoted(s))?;
        }
        if !self.format_props.is_empty() {
            let parts: Vec<String> = self
                .format_props
                .iter()
                .map(|(k, v)| format!("{k} = {}", quoted(v)))
                .collect();
            write!(f, " ({})", parts.join(" "))?;
        }
        if let Some(cols) = &self.columns {
            write!(f, " ({})", idents(cols))?;
        }
        if !self.columns_from_path.is_empty() {
            write!(
                f,
                " COLUMNS FROM PATH AS ({})",
                idents(&self.columns_from_path)
            )?;
        }
        if !self.set.is_empty() {
            let parts: Vec<String> = self
                .set
                .iter()
                .map(|(c, e)| format!("`{}` = {}", c.replace('`', "``"), expr_sql(e)))
                .collect();
            write!(f, " SET ({})", parts.join(", "))?;
        }
        if let Some(w) = &self.filter {
            write!(f, " WHERE {}", expr_sql(w))?;
        }
        Ok(())
    }
}

impl fmt::Display for LoadStmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LOAD LABEL ")?;
        if let Some(db) = &self.db {
            write!(f, "`{}`.", db.replace('`', "``"))?;
        }
        write!(f, "`{}` (", self.label.replace('`', "``"))?;
        for (i, d) in self.data.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str(") WITH BROKER")?;
        if let Some(b) = &self.broker {
            write!(f, " `{}`", b.replace('`', "``"))?;
        }
        if !self.broker_props.is_empty() {
            f.write_str(" ")?;
            fmt_props(f, &self.broker_props)?;
        }
        if !self.properties.is_empty() {
            f.write_str(" PROPERTIES ")?;
            fmt_props(f, &self.properties)?;
        }
        Ok(())
    }
}

impl fmt::Display for CancelLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CANCEL LOAD")?;
        if let Some(db) = &self.db {
            write!(f, " FROM `{db}`")?;
        }
        write!(f, " WHERE LABEL = {}", quoted(&self.label))
    }
}

impl fmt::Display for AlterLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ALTER LOAD FOR ")?;
        if let Some(db) = &self.db {
            write!(f, "`{db}`.")?;
        }
        write!(f, "`{}` PROPERTIES ", self.label)?;
        fmt_props(f, &self.properties)
    }
}
