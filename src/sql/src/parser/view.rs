//! `CREATE [OR REPLACE] VIEW`, `ALTER VIEW`, `DROP VIEW` (StarRocks' `createViewStatement`,
//! `alterViewStatement`, `dropViewStatement`).

use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{Result, eat_word, expect_word, ident, table_name, word};
use crate::ast::{CreateView, Statement, ViewColumn};

/// After `CREATE [OR REPLACE]` (`or_replace`) or `ALTER` (`alter`): `VIEW …`.
pub(crate) fn parse_view(p: &mut Parser, or_replace: bool, alter: bool) -> Result<Statement> {
    expect_word(p, "VIEW")?;
    let if_not_exists = !alter && p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = table_name(p)?;
    let mut columns = Vec::new();
    if p.consume_token(&Token::LParen) {
        loop {
            let name = ident(p)?;
            let comment = comment(p)?;
            columns.push(ViewColumn { name, comment });
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
    }
    let comment = comment(p)?;
    // StarRocks 3.4's `SECURITY {NONE | INVOKER}`: a view is always read with the privileges
    // of whoever reads it here (docs/design.md, "Views").
    if eat_word(p, "SECURITY") && !eat_word(p, "NONE") {
        expect_word(p, "INVOKER")?;
    }
    expect_word(p, "AS")?;
    if !matches!(word(p, 0).as_str(), "SELECT" | "WITH" | "VALUES")
        && p.peek_token().token != Token::LParen
    {
        return p
            .expected("a query (SELECT or WITH) after AS", p.peek_token())
            .map_err(Into::into);
    }
    let query = p.parse_query()?;
    Ok(Statement::CreateView(Box::new(CreateView {
        alter,
        or_replace,
        if_not_exists,
        name,
        columns,
        comment,
        query,
    })))
}

/// `DROP VIEW [IF EXISTS] [db.]v [FORCE]`, after DROP.
pub(crate) fn parse_drop_view(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "VIEW")?;
    let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let name = table_name(p)?;
    eat_word(p, "FORCE");
    Ok(Statement::DropView { name, if_exists })
}

/// `[COMMENT 'text']`
fn comment(p: &mut Parser) -> Result<Option<String>> {
    if !eat_word(p, "COMMENT") {
        return Ok(None);
    }
    Ok(Some(p.parse_literal_string()?))
}
