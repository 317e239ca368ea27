//! SHOW statements.

use sqlparser::parser::Parser;

use super::{Result, eat_word, expect_word, ident, table_name, word};
use crate::ast::{ShowFilter, ShowLoad, Statement};
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
                return Ok(Statement::ShowCreateDatabase(ident(p)?));
            }
            expect_word(p, "TABLE")?;
            Ok(Statement::ShowCreateTable(table_name(p)?))
        }
        "COLUMNS" | "FIELDS" => {
            p.next_token();
            if !(eat_word(p, "FROM") || eat_word(p, "IN")) {
                return p
                    .expected("FROM after SHOW COLUMNS", p.peek_token())
                    .map_err(Into::into);
            }
            let mut table = table_name(p)?;
            if eat_word(p, "FROM") || eat_word(p, "IN") {
                table.db = Some(ident(p)?);
            }
            Ok(Statement::ShowColumns {
                full,
                table,
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
