//! `CREATE [OR REPLACE] VIEW`, `ALTER VIEW`, `DROP VIEW` (StarRocks' `createViewStatement`,
//! `alterViewStatement`, `dropViewStatement`).

use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{Result, eat_word, expect_word, ident, table_name, word};
use crate::ast::{CreateView, Statement, ViewColumn};

/// After `CREATE [OR REPLACE]` (`or_replace`) or `ALTER` (`alter`): `VIEW …`.
pub(crate) fn parse_view(p: &mut Parser, or_replace: bool, alter: bool) -> Result<Statement> {
    mysql_view_clauses(p)?;
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

/// MySQL's `[ALGORITHM = {UNDEFINED | MERGE | TEMPTABLE}] [DEFINER = user] [SQL SECURITY
/// {DEFINER | INVOKER}]` before VIEW, which mysqldump writes for every view. Accepted and
/// dropped: Strata always merges a view's query into the query that reads it, and reads a view
/// with the SELECT privilege on the view itself, whoever defined it.
fn mysql_view_clauses(p: &mut Parser) -> Result<()> {
    if eat_word(p, "ALGORITHM") {
        p.expect_token(&Token::Eq)?;
        if !["UNDEFINED", "MERGE", "TEMPTABLE"]
            .iter()
            .any(|w| eat_word(p, w))
        {
            return p
                .expected("UNDEFINED, MERGE or TEMPTABLE", p.peek_token())
                .map_err(Into::into);
        }
    }
    if eat_word(p, "DEFINER") {
        p.expect_token(&Token::Eq)?;
        if !eat_word(p, "CURRENT_USER") {
            // `user`@`host`, 'user'@'host' or user: the tokenizer may glue `@host` into a word.
            ident_or_string(p)?;
            if let Token::Word(w) = p.peek_token().token
                && w.value.starts_with('@')
            {
                p.next_token();
            } else if p.consume_token(&Token::AtSign) {
                ident_or_string(p)?;
            }
        } else if p.consume_token(&Token::LParen) {
            p.expect_token(&Token::RParen)?;
        }
    }
    if eat_word(p, "SQL") {
        expect_word(p, "SECURITY")?;
        if !eat_word(p, "DEFINER") {
            expect_word(p, "INVOKER")?;
        }
    }
    Ok(())
}

fn ident_or_string(p: &mut Parser) -> Result<()> {
    let t = p.next_token();
    match t.token {
        Token::Word(_) | Token::SingleQuotedString(_) => Ok(()),
        _ => p.expected("a user name", t).map_err(Into::into),
    }
}

/// `[COMMENT 'text']`
fn comment(p: &mut Parser) -> Result<Option<String>> {
    if !eat_word(p, "COMMENT") {
        return Ok(None);
    }
    Ok(Some(p.parse_literal_string()?))
}
