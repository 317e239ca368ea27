//! MySQL statements dump tools send and write into their dumps: `LOCK TABLES`,
//! `UNLOCK TABLES`, `ALTER TABLE t {DISABLE | ENABLE} KEYS`, savepoints and
//! `SET [SESSION] TRANSACTION ISOLATION LEVEL …`.

use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{Result, eat_word, expect_word, table_name, word};
use crate::ast::{SetAssignment, Statement};
use crate::error::ParseError;

/// `LOCK {TABLE | TABLES} t [[AS] alias] {READ [LOCAL] | [LOW_PRIORITY] WRITE}, ...`
pub(crate) fn parse_lock(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "LOCK")?;
    if !eat_word(p, "TABLES") {
        expect_word(p, "TABLE")?;
    }
    let mut tables = Vec::new();
    loop {
        tables.push(table_name(p)?);
        if eat_word(p, "AS") || !matches!(word(p, 0).as_str(), "READ" | "WRITE" | "LOW_PRIORITY") {
            p.parse_identifier()?;
        }
        if eat_word(p, "READ") {
            eat_word(p, "LOCAL");
        } else {
            eat_word(p, "LOW_PRIORITY");
            expect_word(p, "WRITE")?;
        }
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    Ok(Statement::LockTables(tables))
}

/// `UNLOCK {TABLE | TABLES}`
pub(crate) fn parse_unlock(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "UNLOCK")?;
    if !eat_word(p, "TABLES") {
        expect_word(p, "TABLE")?;
    }
    Ok(Statement::UnlockTables)
}

/// After ALTER: `TABLE t {DISABLE | ENABLE} KEYS`; other ALTER TABLE forms are not built.
pub(crate) fn parse_alter_table(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "TABLE")?;
    let name = table_name(p)?;
    let enable = match word(p, 0).as_str() {
        "ENABLE" => true,
        "DISABLE" => false,
        _ => return Err(ParseError::unsupported("ALTER TABLE")),
    };
    if word(p, 1) != "KEYS" {
        return Err(ParseError::unsupported("ALTER TABLE"));
    }
    p.next_token();
    p.next_token();
    Ok(Statement::AlterTableKeys { name, enable })
}

/// Whether a savepoint statement is next (not a plain ROLLBACK).
pub(crate) fn savepoint_next(p: &Parser) -> bool {
    match word(p, 0).as_str() {
        "SAVEPOINT" => true,
        "ROLLBACK" => word(p, 1) == "TO" || (word(p, 1) == "WORK" && word(p, 2) == "TO"),
        "RELEASE" => word(p, 1) == "SAVEPOINT",
        _ => false,
    }
}

/// `SAVEPOINT s`, `RELEASE SAVEPOINT s` or `ROLLBACK [WORK] TO [SAVEPOINT] s`.
pub(crate) fn parse_savepoint(p: &mut Parser) -> Result<Statement> {
    let verb = match (
        word(p, 0).as_str(),
        word(p, 1).as_str(),
        word(p, 2).as_str(),
    ) {
        ("SAVEPOINT", ..) => {
            p.next_token();
            "SAVEPOINT"
        }
        ("RELEASE", "SAVEPOINT", _) => {
            p.next_token();
            p.next_token();
            "RELEASE SAVEPOINT"
        }
        ("ROLLBACK", "TO", _) | ("ROLLBACK", "WORK", "TO") => {
            p.next_token();
            eat_word(p, "WORK");
            p.next_token();
            eat_word(p, "SAVEPOINT");
            "ROLLBACK TO SAVEPOINT"
        }
        _ => {
            return p
                .expected("a savepoint statement", p.peek_token())
                .map_err(Into::into);
        }
    };
    let name = super::ident(p)?;
    Ok(Statement::Savepoint {
        verb: verb.to_string(),
        name,
    })
}

/// After SET: `[GLOBAL | SESSION] TRANSACTION {ISOLATION LEVEL level | READ ONLY | READ WRITE}
/// [, ...]`, as assignments of `transaction_isolation` and `transaction_read_only`, if next.
pub(crate) fn parse_set_transaction(p: &mut Parser) -> Result<Option<Statement>> {
    let scoped = matches!(word(p, 0).as_str(), "GLOBAL" | "SESSION");
    if word(p, usize::from(scoped)) != "TRANSACTION" {
        return Ok(None);
    }
    let global = eat_word(p, "GLOBAL");
    eat_word(p, "SESSION");
    expect_word(p, "TRANSACTION")?;
    let mut out = Vec::new();
    loop {
        // Each under its current name and MySQL 5.7's (`tx_isolation`, `tx_read_only`).
        let (names, value) = if eat_word(p, "ISOLATION") {
            expect_word(p, "LEVEL")?;
            let level = match (word(p, 0).as_str(), word(p, 1).as_str()) {
                ("READ", "UNCOMMITTED") => "READ-UNCOMMITTED",
                ("READ", "COMMITTED") => "READ-COMMITTED",
                ("REPEATABLE", "READ") => "REPEATABLE-READ",
                ("SERIALIZABLE", _) => "SERIALIZABLE",
                _ => {
                    return p
                        .expected("an isolation level", p.peek_token())
                        .map_err(Into::into);
                }
            };
            p.next_token();
            if level != "SERIALIZABLE" {
                p.next_token();
            }
            (["transaction_isolation", "tx_isolation"], level)
        } else {
            expect_word(p, "READ")?;
            let read_only = eat_word(p, "ONLY");
            if !read_only {
                expect_word(p, "WRITE")?;
            }
            (
                ["transaction_read_only", "tx_read_only"],
                if read_only { "1" } else { "0" },
            )
        };
        for name in names {
            out.push(SetAssignment {
                global,
                name: name.to_string(),
                value: sqlparser::ast::Expr::value(sqlparser::ast::Value::SingleQuotedString(
                    value.to_string(),
                )),
            });
        }
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    Ok(Some(Statement::Set(out)))
}
