//! StarRocks CREATE TABLE and CTAS.

use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::types::parse_type;
use super::{Result, eat_word, expect_word, ident, ident_list, properties, table_name, word};
use crate::ast::{ColumnDef, ColumnDefault, CreateTable, Distribution, KeysKind, Statement};
use crate::error::ParseError;

pub(crate) fn parse_create_table(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "TABLE")?;
    let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = table_name(p)?;
    let mut ct = CreateTable {
        if_not_exists,
        name,
        columns: Vec::new(),
        column_names: Vec::new(),
        engine: None,
        keys: None,
        comment: None,
        distribution: None,
        order_by: Vec::new(),
        properties: Vec::new(),
        query: None,
    };
    if p.peek_token().token == Token::LParen {
        // `(a INT, ...)` defines columns; `(a, b) AS ...` renames CTAS columns.
        let is_rename_list = matches!(p.peek_nth_token(2).token, Token::Comma | Token::RParen);
        if is_rename_list {
            ct.column_names = ident_list(p)?;
        } else {
            p.expect_token(&Token::LParen)?;
            loop {
                if matches!(
                    word(p, 0).as_str(),
                    "INDEX" | "KEY" | "PRIMARY" | "CONSTRAINT"
                ) {
                    return Err(ParseError::unsupported("index definitions in CREATE TABLE"));
                }
                ct.columns.push(column_def(p)?);
                if !p.consume_token(&Token::Comma) {
                    break;
                }
            }
            p.expect_token(&Token::RParen)?;
        }
    }
    table_clauses(p, &mut ct)?;
    if p.parse_keyword(Keyword::AS) {
        ct.query = Some(p.parse_query()?);
    } else if ct.columns.is_empty() {
        return p
            .expected("a column list or AS query", p.peek_token())
            .map_err(Into::into);
    }
    Ok(Statement::CreateTable(Box::new(ct)))
}

fn table_clauses(p: &mut Parser, ct: &mut CreateTable) -> Result<()> {
    loop {
        match word(p, 0).as_str() {
            "ENGINE" => {
                p.next_token();
                let _ = p.consume_token(&Token::Eq);
                ct.engine = Some(ident(p)?.to_ascii_uppercase());
            }
            "DUPLICATE" | "PRIMARY" | "UNIQUE" | "AGGREGATE" => {
                let kind = match word(p, 0).as_str() {
                    "DUPLICATE" => KeysKind::Duplicate,
                    "PRIMARY" => KeysKind::Primary,
                    "UNIQUE" => KeysKind::Unique,
                    _ => KeysKind::Aggregate,
                };
                p.next_token();
                expect_word(p, "KEY")?;
                ct.keys = Some((kind, ident_list(p)?));
            }
            "COMMENT" => {
                p.next_token();
                ct.comment = Some(p.parse_literal_string()?);
            }
            "PARTITION" => return Err(ParseError::unsupported("PARTITION BY")),
            "DISTRIBUTED" => {
                p.next_token();
                expect_word(p, "BY")?;
                ct.distribution = Some(distribution(p)?);
            }
            "ORDER" => {
                p.next_token();
                expect_word(p, "BY")?;
                ct.order_by = ident_list(p)?;
            }
            "PROPERTIES" => {
                p.next_token();
                ct.properties = properties(p)?;
            }
            "ROLLUP" | "BROKER" => {
                return Err(ParseError::unsupported(format!("{} clause", word(p, 0))));
            }
            _ => return Ok(()),
        }
    }
}

fn distribution(p: &mut Parser) -> Result<Distribution> {
    let d = if eat_word(p, "HASH") {
        let columns = ident_list(p)?;
        Distribution::Hash {
            columns,
            buckets: None,
        }
    } else if eat_word(p, "RANDOM") {
        Distribution::Random { buckets: None }
    } else {
        return p
            .expected("HASH or RANDOM", p.peek_token())
            .map_err(Into::into);
    };
    let buckets = if eat_word(p, "BUCKETS") {
        if eat_word(p, "AUTO") {
            None
        } else {
            let n = p.parse_literal_uint()?;
            if n == 0 || n > 1024 {
                return Err(ParseError::invalid(format!(
                    "Number of buckets must be between 1 and 1024, got {n}"
                )));
            }
            Some(n as u32)
        }
    } else {
        None
    };
    Ok(match d {
        Distribution::Hash { columns, .. } => Distribution::Hash { columns, buckets },
        Distribution::Random { .. } => Distribution::Random { buckets },
    })
}

fn column_def(p: &mut Parser) -> Result<ColumnDef> {
    let name = ident(p)?;
    let ty = parse_type(p)?;
    let mut col = ColumnDef {
        name,
        ty,
        nullable: None,
        default: None,
        comment: None,
    };
    loop {
        match word(p, 0).as_str() {
            "KEY" => {
                p.next_token();
            }
            "SUM"
            | "MAX"
            | "MIN"
            | "REPLACE"
            | "REPLACE_IF_NOT_NULL"
            | "HLL_UNION"
            | "BITMAP_UNION"
            | "PERCENTILE_UNION" => {
                return Err(ParseError::unsupported(
                    "aggregate columns (AGGREGATE KEY tables)",
                ));
            }
            "NOT" => {
                p.next_token();
                expect_word(p, "NULL")?;
                col.nullable = Some(false);
            }
            "NULL" => {
                p.next_token();
                col.nullable = Some(true);
            }
            "DEFAULT" => {
                p.next_token();
                col.default = Some(default_value(p)?);
            }
            "AUTO_INCREMENT" => return Err(ParseError::unsupported("AUTO_INCREMENT columns")),
            "AS" => return Err(ParseError::unsupported("generated columns")),
            "COMMENT" => {
                p.next_token();
                col.comment = Some(p.parse_literal_string()?);
            }
            _ => return Ok(col),
        }
    }
}

fn default_value(p: &mut Parser) -> Result<ColumnDefault> {
    let t = p.next_token();
    match t.token {
        Token::SingleQuotedString(s) => Ok(ColumnDefault::Literal(s)),
        Token::Number(n, _) => Ok(ColumnDefault::Literal(n)),
        Token::Minus => match p.next_token().token {
            Token::Number(n, _) => Ok(ColumnDefault::Literal(format!("-{n}"))),
            _ => p.expected("a number", p.peek_token()).map_err(Into::into),
        },
        Token::Word(w) if w.value.eq_ignore_ascii_case("NULL") => Ok(ColumnDefault::Null),
        Token::Word(w)
            if w.value.eq_ignore_ascii_case("CURRENT_TIMESTAMP")
                || w.value.eq_ignore_ascii_case("NOW") =>
        {
            if p.consume_token(&Token::LParen) {
                p.expect_token(&Token::RParen)?;
            }
            Ok(ColumnDefault::CurrentTimestamp)
        }
        Token::LParen => Err(ParseError::unsupported("expression defaults")),
        _ => p.expected("a default value", t).map_err(Into::into),
    }
}
