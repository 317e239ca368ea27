//! `CREATE [OR REPLACE] PIPE`, `ALTER PIPE`, `DROP PIPE`, `DESC PIPE` (StarRocks'
//! `createPipeStatement`, `alterPipeStatement`, `dropPipeStatement`, `descPipeStatement`).

use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{Result, eat_word, expect_word, properties, table_name, word};
use crate::ast::{AlterPipe, AlterPipeAction, CreatePipe, Statement};
use crate::error::ParseError;

/// After `CREATE [OR REPLACE]`: `PIPE [IF NOT EXISTS] name [PROPERTIES (...)] AS INSERT ...`.
pub(crate) fn parse_create_pipe(p: &mut Parser, or_replace: bool) -> Result<Statement> {
    expect_word(p, "PIPE")?;
    let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = table_name(p)?;
    let properties = if eat_word(p, "PROPERTIES") {
        properties(p)?
    } else {
        Vec::new()
    };
    expect_word(p, "AS")?;
    if word(p, 0) != "INSERT" {
        return Err(ParseError::invalid(
            "Bad pipe statement: 'must be an INSERT INTO ... SELECT ... FROM FILES(...)'",
        ));
    }
    let Statement::Insert(insert) = super::insert::parse_insert(p)? else {
        unreachable!("parse_insert returns an INSERT")
    };
    Ok(Statement::CreatePipe(Box::new(CreatePipe {
        or_replace,
        if_not_exists,
        name,
        properties,
        insert,
    })))
}

/// `ALTER PIPE name SUSPEND | RESUME | RETRY ALL | RETRY FILE 'f' | SET (...)`, after ALTER.
pub(crate) fn parse_alter_pipe(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "PIPE")?;
    let name = table_name(p)?;
    let action = match word(p, 0).as_str() {
        "SUSPEND" => {
            p.next_token();
            AlterPipeAction::Suspend
        }
        "RESUME" => {
            p.next_token();
            AlterPipeAction::Resume
        }
        "RETRY" => {
            p.next_token();
            if eat_word(p, "ALL") {
                AlterPipeAction::RetryAll
            } else {
                expect_word(p, "FILE")?;
                let t = p.next_token();
                match t.token {
                    Token::SingleQuotedString(s) => AlterPipeAction::RetryFile(s),
                    _ => return p.expected("a file name", t).map_err(Into::into),
                }
            }
        }
        "SET" => {
            p.next_token();
            // Docs write `SET PROPERTY (...)`; the parser has no such word, but it costs
            // nothing to accept it.
            eat_word(p, "PROPERTY");
            AlterPipeAction::Set(properties(p)?)
        }
        _ => {
            return p
                .expected("SUSPEND, RESUME, RETRY or SET", p.peek_token())
                .map_err(Into::into);
        }
    };
    Ok(Statement::AlterPipe(AlterPipe { name, action }))
}

/// `DROP PIPE [IF EXISTS] name`, after DROP.
pub(crate) fn parse_drop_pipe(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "PIPE")?;
    let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let name = table_name(p)?;
    Ok(Statement::DropPipe { name, if_exists })
}

/// `DESC PIPE name`, after DESC.
pub(crate) fn parse_desc_pipe(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "PIPE")?;
    Ok(Statement::DescPipe(table_name(p)?))
}
