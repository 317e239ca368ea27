//! `LOAD LABEL … WITH BROKER`, `CANCEL LOAD`, `ALTER LOAD` (StarRocks' `loadStatement`,
//! `dataDesc`, `cancelLoadStatement`, `alterLoadStatement`).

use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{Result, eat_word, expect_word, ident, ident_list, properties, word};
use crate::ast::{AlterLoad, CancelLoad, DataDesc, LoadStmt, Properties, Statement};
use crate::error::ParseError;

/// `[db.]label`
fn label(p: &mut Parser) -> Result<(Option<String>, String)> {
    let first = ident(p)?;
    if p.consume_token(&Token::Period) {
        Ok((Some(first), ident(p)?))
    } else {
        Ok((None, first))
    }
}

fn string(p: &mut Parser) -> Result<String> {
    let t = p.next_token();
    match t.token {
        Token::SingleQuotedString(s) => Ok(s),
        _ => p.expected("a string literal", t).map_err(Into::into),
    }
}

pub(crate) fn parse_load(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "LOAD")?;
    expect_word(p, "LABEL")?;
    let (db, label) = label(p)?;
    p.expect_token(&Token::LParen)?;
    let mut data = Vec::new();
    loop {
        data.push(data_desc(p)?);
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen)?;
    if word(p, 0) == "WITH" && word(p, 1) == "RESOURCE" {
        return Err(ParseError::unsupported(
            "LOAD ... WITH RESOURCE (Spark Load)",
        ));
    }
    expect_word(p, "WITH")?;
    expect_word(p, "BROKER")?;
    let broker = match p.peek_token().token {
        Token::Word(w) if !w.value.eq_ignore_ascii_case("PROPERTIES") => {
            p.next_token();
            Some(w.value)
        }
        Token::SingleQuotedString(s) => {
            p.next_token();
            Some(s)
        }
        _ => None,
    };
    let broker_props = if p.peek_token().token == Token::LParen {
        properties(p)?
    } else {
        Vec::new()
    };
    let props = if eat_word(p, "PROPERTIES") {
        properties(p)?
    } else {
        Vec::new()
    };
    Ok(Statement::Load(Box::new(LoadStmt {
        db,
        label,
        data,
        broker,
        broker_props,
        properties: props,
    })))
}

fn data_desc(p: &mut Parser) -> Result<DataDesc> {
    expect_word(p, "DATA")?;
    if word(p, 0) == "FROM" {
        return Err(ParseError::unsupported(
            "DATA FROM TABLE (a Spark Load clause)",
        ));
    }
    expect_word(p, "INFILE")?;
    p.expect_token(&Token::LParen)?;
    let mut paths = vec![string(p)?];
    while p.consume_token(&Token::Comma) {
        paths.push(string(p)?);
    }
    p.expect_token(&Token::RParen)?;
    if eat_word(p, "NEGATIVE") {
        return Err(ParseError::unsupported(
            "NEGATIVE in a Broker Load (it needs AGGREGATE tables whose value columns are all SUM)",
        ));
    }
    expect_word(p, "INTO")?;
    expect_word(p, "TABLE")?;
    let table = ident(p)?;
    if matches!(
        word(p, 0).as_str(),
        "PARTITION" | "PARTITIONS" | "TEMPORARY"
    ) {
        return Err(ParseError::unsupported(
            "PARTITION / TEMPORARY PARTITION in a Broker Load (Strata tables have no partitions)",
        ));
    }
    let mut d = DataDesc {
        paths,
        table,
        column_separator: None,
        row_delimiter: None,
        format: None,
        format_props: Vec::new(),
        columns: None,
        columns_from_path: Vec::new(),
        set: Vec::new(),
        filter: None,
    };
    if word(p, 0) == "COLUMNS" && word(p, 1) == "TERMINATED" {
        p.next_token();
        p.next_token();
        expect_word(p, "BY")?;
        d.column_separator = Some(string(p)?);
    }
    if word(p, 0) == "ROWS" && word(p, 1) == "TERMINATED" {
        p.next_token();
        p.next_token();
        expect_word(p, "BY")?;
        d.row_delimiter = Some(string(p)?);
    }
    if word(p, 0) == "FORMAT" && word(p, 1) == "AS" {
        p.next_token();
        p.next_token();
        let t = p.next_token();
        d.format = Some(match t.token {
            Token::SingleQuotedString(s) => s,
            Token::Word(w) => w.value,
            _ => return p.expected("a format name", t).map_err(Into::into),
        });
    }
    if p.peek_token().token == Token::LParen && is_format_prop(&word(p, 1)) {
        d.format_props = format_props(p)?;
    }
    if p.peek_token().token == Token::LParen {
        d.columns = Some(ident_list(p)?);
    }
    if word(p, 0) == "COLUMNS" && word(p, 1) == "FROM" {
        p.next_token();
        p.next_token();
        expect_word(p, "PATH")?;
        expect_word(p, "AS")?;
        d.columns_from_path = ident_list(p)?;
    }
    if eat_word(p, "SET") {
        p.expect_token(&Token::LParen)?;
        loop {
            let col = ident(p)?;
            p.expect_token(&Token::Eq)?;
            let expr = p.parse_expr()?;
            d.set.push((col, expr));
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
    }
    if eat_word(p, "WHERE") {
        d.filter = Some(p.parse_expr()?);
    }
    Ok(d)
}

fn is_format_prop(w: &str) -> bool {
    matches!(w, "SKIP_HEADER" | "TRIM_SPACE" | "ENCLOSE" | "ESCAPE")
}

/// `(skip_header = 1 trim_space = true enclose = '"' escape = '\\')`, space separated.
fn format_props(p: &mut Parser) -> Result<Properties> {
    p.expect_token(&Token::LParen)?;
    let mut out = Vec::new();
    while is_format_prop(&word(p, 0)) {
        let key = word(p, 0).to_ascii_lowercase();
        p.next_token();
        p.expect_token(&Token::Eq)?;
        let t = p.next_token();
        let value = match t.token {
            Token::SingleQuotedString(s) => s,
            Token::Number(n, _) => n,
            Token::Word(w) => w.value,
            _ => return p.expected("a value", t).map_err(Into::into),
        };
        out.push((key, value));
        let _ = p.consume_token(&Token::Comma);
    }
    p.expect_token(&Token::RParen)?;
    Ok(out)
}

/// `CANCEL LOAD [FROM db] WHERE LABEL = 'l'`
pub(crate) fn parse_cancel(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "CANCEL")?;
    if !eat_word(p, "LOAD") {
        return Err(ParseError::unsupported(format!("CANCEL {}", word(p, 0))));
    }
    let db = if eat_word(p, "FROM") || eat_word(p, "IN") {
        Some(ident(p)?)
    } else {
        None
    };
    expect_word(p, "WHERE")?;
    if !eat_word(p, "LABEL") || !p.consume_token(&Token::Eq) {
        return Err(ParseError::invalid(
            "CANCEL LOAD takes WHERE LABEL = 'label'",
        ));
    }
    let label = string(p)?;
    Ok(Statement::CancelLoad(CancelLoad { db, label }))
}

/// `ALTER LOAD FOR [db.]label PROPERTIES (...)`
pub(crate) fn parse_alter(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "ALTER")?;
    if word(p, 0) == "PIPE" {
        return super::pipe::parse_alter_pipe(p);
    }
    if word(p, 0) == "USER" {
        return super::account::parse_alter_user(p);
    }
    if word(p, 0) == "VIEW" {
        return super::view::parse_view(p, false, true);
    }
    if word(p, 0) == "TABLE" {
        return super::compat::parse_alter_table(p);
    }
    if !eat_word(p, "LOAD") {
        return Err(ParseError::unsupported(format!("ALTER {}", word(p, 0))));
    }
    expect_word(p, "FOR")?;
    let (db, label) = label(p)?;
    expect_word(p, "PROPERTIES")?;
    let properties = properties(p)?;
    Ok(Statement::AlterLoad(AlterLoad {
        db,
        label,
        properties,
    }))
}
