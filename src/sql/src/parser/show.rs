//! SHOW statements.

use sqlparser::parser::Parser;

use super::{Result, eat_word, expect_word, ident, table_name, word};
use crate::ast::{ServerList, ShowFilter, ShowLoad, Statement};
use crate::error::ParseError;

pub(crate) fn parse_show(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "SHOW")?;
    let full = eat_word(p, "FULL");
    // Scope words are accepted and ignored: there is one node, so GLOBAL == SESSION view.
    let _ = eat_word(p, "GLOBAL") || eat_word(p, "SESSION");
    match word(p, 0).as_str() {
        "GRANTS" | "USERS" | "ROLES" => super::account::parse_show(p),
        "DATABASES" | "SCHEMAS" => {
            p.next_token();
            if eat_word(p, "FROM") {
                ident(p)?;
            }
            Ok(Statement::ShowDatabases(filter(p)?))
        }
        "TABLES" => {
            p.next_token();
            let db = if eat_word(p, "FROM") || eat_word(p, "IN") {
                Some(ident(p)?)
            } else {
                None
            };
            Ok(Statement::ShowTables {
                full,
                db,
                filter: filter(p)?,
            })
        }
        "CREATE" => {
            p.next_token();
            if eat_word(p, "DATABASE") || eat_word(p, "SCHEMA") {
                // mysqldump asks `SHOW CREATE DATABASE IF NOT EXISTS db`.
                let _ = p.parse_keywords(&[
                    sqlparser::keywords::Keyword::IF,
                    sqlparser::keywords::Keyword::NOT,
                    sqlparser::keywords::Keyword::EXISTS,
                ]);
                return Ok(Statement::ShowCreateDatabase(ident(p)?));
            }
            if eat_word(p, "VIEW") {
                return Ok(Statement::ShowCreateView(table_name(p)?));
            }
            expect_word(p, "TABLE")?;
            Ok(Statement::ShowCreateTable(table_name(p)?))
        }
        "COLUMNS" | "FIELDS" => {
            p.next_token();
            let table = from_table(p, "COLUMNS")?;
            Ok(Statement::ShowColumns {
                full,
                table,
                filter: filter(p)?,
            })
        }
        "TABLE" if word(p, 1) == "STATUS" => {
            p.next_token();
            p.next_token();
            Ok(Statement::ShowTableStatus {
                db: from_db(p)?,
                filter: filter(p)?,
            })
        }
        "INDEX" | "INDEXES" | "KEYS" => {
            p.next_token();
            Ok(Statement::ShowIndex(from_table(p, "INDEX")?))
        }
        "STATUS" | "ENGINES" | "STORAGE" | "CHARSET" | "CHARACTER" | "COLLATION" => {
            let list = match word(p, 0).as_str() {
                "STATUS" => ServerList::Status,
                "ENGINES" => ServerList::Engines,
                "STORAGE" => {
                    p.next_token();
                    if word(p, 0) != "ENGINES" {
                        return p.expected("ENGINES", p.peek_token()).map_err(Into::into);
                    }
                    ServerList::Engines
                }
                "CHARSET" => ServerList::Charset,
                "CHARACTER" => {
                    p.next_token();
                    if word(p, 0) != "SET" {
                        return p.expected("SET", p.peek_token()).map_err(Into::into);
                    }
                    ServerList::Charset
                }
                _ => ServerList::Collation,
            };
            p.next_token();
            Ok(Statement::ShowList {
                list,
                filter: filter(p)?,
            })
        }
        "VARIABLES" => {
            p.next_token();
            Ok(Statement::ShowVariables(filter(p)?))
        }
        "WARNINGS" | "ERRORS" => {
            p.next_token();
            if eat_word(p, "LIMIT") {
                p.parse_literal_uint()?;
            }
            Ok(Statement::ShowWarnings)
        }
        "PIPES" => {
            p.next_token();
            show_pipes(p)
        }
        "TRIGGERS" => {
            p.next_token();
            Ok(Statement::ShowTriggers {
                db: from_db(p)?,
                filter: filter(p)?,
            })
        }
        "PROCESSLIST" => {
            p.next_token();
            Ok(Statement::ShowProcesslist)
        }
        "LOAD" => {
            p.next_token();
            show_load(p)
        }
        "" => p
            .expected("what to SHOW", p.peek_token())
            .map_err(Into::into),
        other => Err(ParseError::unsupported(format!("SHOW {other}"))),
    }
}

/// `FROM t [FROM db]` (or IN) after SHOW COLUMNS / SHOW INDEX.
fn from_table(p: &mut Parser, what: &str) -> Result<crate::ast::TableName> {
    if !(eat_word(p, "FROM") || eat_word(p, "IN")) {
        return p
            .expected(&format!("FROM after SHOW {what}"), p.peek_token())
            .map_err(Into::into);
    }
    let mut table = table_name(p)?;
    if let Some(db) = from_db(p)? {
        table.db = Some(db);
    }
    Ok(table)
}

/// `[FROM db]` (or IN).
fn from_db(p: &mut Parser) -> Result<Option<String>> {
    if eat_word(p, "FROM") || eat_word(p, "IN") {
        return Ok(Some(ident(p)?));
    }
    Ok(None)
}

fn filter(p: &mut Parser) -> Result<Option<ShowFilter>> {
    if eat_word(p, "LIKE") {
        return Ok(Some(ShowFilter::Like(p.parse_literal_string()?)));
    }
    if eat_word(p, "WHERE") {
        return Ok(Some(ShowFilter::Where(Box::new(p.parse_expr()?))));
    }
    Ok(None)
}

/// ORDER BY and LIMIT of SHOW LOAD / SHOW PIPES.
type Tail = (
    Vec<sqlparser::ast::OrderByExpr>,
    Option<sqlparser::ast::Expr>,
    Option<sqlparser::ast::Expr>,
);

fn order_and_limit(p: &mut Parser) -> Result<Tail> {
    let order_by = if eat_word(p, "ORDER") {
        expect_word(p, "BY")?;
        p.parse_comma_separated(Parser::parse_order_by_expr)?
    } else {
        Vec::new()
    };
    let (mut limit, mut offset) = (None, None);
    if eat_word(p, "LIMIT") {
        let first = p.parse_expr()?;
        if p.consume_token(&sqlparser::tokenizer::Token::Comma) {
            offset = Some(first);
            limit = Some(p.parse_expr()?);
        } else {
            limit = Some(first);
            if eat_word(p, "OFFSET") {
                offset = Some(p.parse_expr()?);
            }
        }
    }
    Ok((order_by, limit, offset))
}

/// The rest of `SHOW PIPES [FROM db] [LIKE 'p' | WHERE …] [ORDER BY …] [LIMIT …]`.
fn show_pipes(p: &mut Parser) -> Result<Statement> {
    let db = if eat_word(p, "FROM") || eat_word(p, "IN") {
        Some(ident(p)?)
    } else {
        None
    };
    let filter = filter(p)?;
    let (order_by, limit, offset) = order_and_limit(p)?;
    Ok(Statement::ShowPipes(Box::new(crate::ast::ShowPipes {
        db,
        filter,
        order_by,
        limit,
        offset,
    })))
}

/// The rest of `SHOW LOAD [ALL] [FROM db] [WHERE …] [ORDER BY …] [LIMIT [m,] n | LIMIT n
/// OFFSET m]`.
fn show_load(p: &mut Parser) -> Result<Statement> {
    let _ = eat_word(p, "ALL");
    let db = if eat_word(p, "FROM") || eat_word(p, "IN") {
        Some(ident(p)?)
    } else {
        None
    };
    let filter = if eat_word(p, "WHERE") {
        Some(p.parse_expr()?)
    } else {
        None
    };
    let (order_by, limit, offset) = order_and_limit(p)?;
    Ok(Statement::ShowLoad(Box::new(ShowLoad {
        db,
        filter,
        order_by,
        limit,
        offset,
    })))
}
