//! `INSERT (INTO|OVERWRITE) target {WITH LABEL l | (cols) | BY NAME}* [PROPERTIES (...)] source`

use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{Result, eat_word, expect_word, ident, ident_list, properties, table_name, word};
use crate::ast::{Insert, InsertTarget, Statement};
use crate::error::ParseError;

pub(crate) fn parse_insert(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "INSERT")?;
    let overwrite = if eat_word(p, "OVERWRITE") {
        true
    } else {
        expect_word(p, "INTO")?;
        false
    };
    eat_word(p, "TABLE");
    let target = if word(p, 0) == "FILES" && p.peek_nth_token(1).token == Token::LParen {
        p.next_token();
        InsertTarget::Files(properties(p)?)
    } else {
        InsertTarget::Table(table_name(p)?)
    };
    if matches!(
        word(p, 0).as_str(),
        "PARTITION" | "PARTITIONS" | "TEMPORARY"
    ) {
        return Err(ParseError::unsupported("INSERT into named partitions"));
    }
    let (mut label, mut columns, mut by_name) = (None, None, false);
    loop {
        if word(p, 0) == "WITH" && word(p, 1) == "LABEL" {
            p.next_token();
            p.next_token();
            label = Some(ident(p)?);
        } else if word(p, 0) == "BY" && word(p, 1) == "NAME" {
            p.next_token();
            p.next_token();
            by_name = true;
        } else if p.peek_token().token == Token::LParen && !starts_query(p) {
            columns = Some(ident_list(p)?);
        } else {
            break;
        }
    }
    if by_name && columns.is_some() {
        return Err(ParseError::invalid(
            "BY NAME cannot be used together with a column list",
        ));
    }
    let properties = if eat_word(p, "PROPERTIES") {
        properties(p)?
    } else {
        Vec::new()
    };
    let source = p.parse_query()?;
    Ok(Statement::Insert(Box::new(Insert {
        overwrite,
        target,
        label,
        columns,
        by_name,
        properties,
        source,
    })))
}

/// True when the `(` ahead opens a query, e.g. `INSERT INTO t (SELECT ...)`.
fn starts_query(p: &Parser) -> bool {
    matches!(
        p.peek_nth_token(1).token,
        Token::Word(ref w) if w.quote_style.is_none()
            && matches!(w.value.to_ascii_uppercase().as_str(), "SELECT" | "WITH" | "VALUES")
    )
}
