//! StarRocks column types: `INT(11)`, `VARCHAR(65533)`, `DECIMAL(10, 2)`, `ARRAY<MAP<INT,STRING>>`.

use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;
use strata_common::types::{DECIMAL_MAX_PRECISION, STRING_LEN, SrType, VARCHAR_MAX};

use super::{Result, word};
use crate::error::ParseError;

/// Parses types; remembers a half-consumed `>>` token inside nested angle brackets.
pub(crate) struct TypeParser {
    pending_gt: usize,
}

/// Parses a column list, `name TYPE [, name TYPE …]` (FILES()' `schema` property).
pub fn parse_columns(text: &str) -> Result<Vec<(String, SrType)>> {
    let dialect = sqlparser::dialect::MySqlDialect {};
    let tokens = sqlparser::tokenizer::Tokenizer::new(&dialect, text).tokenize_with_location()?;
    let mut p = Parser::new(&dialect).with_tokens_with_locations(tokens);
    let mut out: Vec<(String, SrType)> = Vec::new();
    loop {
        let name = p.parse_identifier()?.value;
        if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return Err(ParseError::invalid(format!(
                "Duplicate column name '{name}'"
            )));
        }
        out.push((name, parse_type(&mut p)?));
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    if p.peek_token().token != Token::EOF {
        return p
            .expected("',' or the end of the column list", p.peek_token())
            .map_err(Into::into);
    }
    Ok(out)
}

/// Parses one column type.
pub(crate) fn parse_type(p: &mut Parser) -> Result<SrType> {
    let mut tp = TypeParser { pending_gt: 0 };
    let t = tp.ty(p)?;
    if tp.pending_gt > 0 {
        return Err(ParseError::syntax("unbalanced '>' in type"));
    }
    Ok(t)
}

impl TypeParser {
    fn ty(&mut self, p: &mut Parser) -> Result<SrType> {
        let name = word(p, 0);
        if name.is_empty() {
            return p
                .expected("a column type", p.peek_token())
                .map_err(Into::into);
        }
        p.next_token();
        let t = match name.as_str() {
            "BOOLEAN" | "BOOL" => SrType::Boolean,
            "TINYINT" => int_width(p, SrType::TinyInt)?,
            "SMALLINT" => int_width(p, SrType::SmallInt)?,
            "INT" | "INTEGER" => int_width(p, SrType::Int)?,
            "BIGINT" => int_width(p, SrType::BigInt)?,
            "LARGEINT" => int_width(p, SrType::LargeInt)?,
            "FLOAT" => SrType::Float,
            "DOUBLE" => SrType::Double,
            "DECIMAL" | "DECIMALV2" | "DECIMAL32" | "DECIMAL64" | "DECIMAL128" | "NUMERIC" => {
                decimal(p)?
            }
            "DATE" => SrType::Date,
            "DATETIME" | "TIMESTAMP" => SrType::Datetime,
            "CHAR" => {
                let n = opt_len(p)?.unwrap_or(1);
                if !(1..=255).contains(&n) {
                    return Err(ParseError::invalid(format!(
                        "Char length {n} is out of range, it must be between 1 and 255"
                    )));
                }
                SrType::Char(n)
            }
            "VARCHAR" => {
                let n = opt_len(p)?.unwrap_or(1);
                if !(1..=VARCHAR_MAX).contains(&n) {
                    return Err(ParseError::invalid(format!(
                        "Varchar length {n} is out of range, it must be between 1 and {VARCHAR_MAX}"
                    )));
                }
                SrType::Varchar(n)
            }
            "STRING" | "TEXT" => SrType::Varchar(STRING_LEN),
            "BINARY" | "VARBINARY" => {
                opt_len(p)?;
                SrType::Varbinary
            }
            "JSON" => SrType::Json,
            "ARRAY" => {
                p.expect_token(&Token::Lt)?;
                let inner = self.ty(p)?;
                self.gt(p)?;
                SrType::Array(Box::new(inner))
            }
            "MAP" => {
                p.expect_token(&Token::Lt)?;
                let k = self.ty(p)?;
                p.expect_token(&Token::Comma)?;
                let v = self.ty(p)?;
                self.gt(p)?;
                SrType::Map(Box::new(k), Box::new(v))
            }
            "STRUCT" => {
                p.expect_token(&Token::Lt)?;
                let mut fields = Vec::new();
                loop {
                    let n = p.parse_identifier()?.value;
                    let t = self.ty(p)?;
                    fields.push((n, t));
                    if self.pending_gt > 0 || !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
                self.gt(p)?;
                SrType::Struct(fields)
            }
            "HLL" | "BITMAP" | "PERCENTILE" => {
                return Err(ParseError::unsupported(format!("column type {name}")));
            }
            _ => {
                p.prev_token();
                return p
                    .expected("a column type", p.peek_token())
                    .map_err(Into::into);
            }
        };
        Ok(t)
    }

    /// Consumes one closing `>`, splitting a `>>` token across two calls.
    fn gt(&mut self, p: &mut Parser) -> Result<()> {
        if self.pending_gt > 0 {
            self.pending_gt -= 1;
            return Ok(());
        }
        let t = p.next_token();
        match t.token {
            Token::Gt => Ok(()),
            Token::ShiftRight => {
                self.pending_gt += 1;
                Ok(())
            }
            _ => p.expected(">", t).map_err(Into::into),
        }
    }
}

/// `(n)` after an integer type: parsed and ignored, as StarRocks does.
fn int_width(p: &mut Parser, t: SrType) -> Result<SrType> {
    opt_len(p)?;
    Ok(t)
}

fn opt_len(p: &mut Parser) -> Result<Option<u32>> {
    if !p.consume_token(&Token::LParen) {
        return Ok(None);
    }
    let n = p.parse_literal_uint()?;
    p.expect_token(&Token::RParen)?;
    u32::try_from(n)
        .map(Some)
        .map_err(|_| ParseError::invalid(format!("type length {n} is too large")))
}

fn decimal(p: &mut Parser) -> Result<SrType> {
    let (mut prec, mut scale) = (10u64, 0u64);
    if p.consume_token(&Token::LParen) {
        prec = p.parse_literal_uint()?;
        scale = 0;
        if p.consume_token(&Token::Comma) {
            scale = p.parse_literal_uint()?;
        }
        p.expect_token(&Token::RParen)?;
    }
    if prec == 0 || prec > u64::from(DECIMAL_MAX_PRECISION) {
        return Err(ParseError::invalid(format!(
            "DECIMAL precision {prec} is out of range, it must be between 1 and 38"
        )));
    }
    if scale > prec {
        return Err(ParseError::invalid(format!(
            "DECIMAL scale {scale} must not be greater than precision {prec}"
        )));
    }
    // Both fit in u8: checked against 38 above.
    Ok(SrType::Decimal(prec as u8, scale as u8))
}
