//! The statement dispatcher and the token-level helpers the sub-parsers share.

mod account;
mod compat;
mod create_table;
mod insert;
mod load;
mod pipe;
mod show;
mod types;
pub use types::parse_columns;
mod view;

use sqlparser::ast as sp;
use sqlparser::dialect::MySqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::ast::{PrepareFrom, Properties, SetAssignment, Statement, TableName};
use crate::error::ParseError;
use crate::{hints, limits};

pub(crate) type Result<T> = std::result::Result<T, ParseError>;

/// Parses a script of one or more `;`-separated statements.
pub fn parse_sql(sql: &str) -> Result<Vec<Statement>> {
    Ok(parse_script(sql)?.into_iter().map(|(s, _)| s).collect())
}

/// Session variables a statement's hints set for it alone: `(name, value)` pairs.
pub type HintedVars = Vec<(String, String)>;

/// Parses a script into its statements, each with the session variables its optimizer hints
/// set for it alone (`INSERT /*+ SET_VAR(enable_insert_strict = false) */ INTO …`).
pub fn parse_script(sql: &str) -> Result<Vec<(Statement, HintedVars)>> {
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql).tokenize_with_location()?;
    limits::check_tokens(tokens.len())?;
    // MySQL and StarRocks treat "x" as a string literal (PROPERTIES, COMMENT, FILES arguments).
    let tokens: Vec<TokenWithSpan> = tokens
        .into_iter()
        .map(|mut t| {
            if let Token::DoubleQuotedString(s) = &t.token {
                t.token = Token::SingleQuotedString(s.clone());
            }
            t
        })
        .collect();
    let hints_at: Vec<(usize, HintedVars)> = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match &t.token {
            Token::Whitespace(Whitespace::MultiLineComment(c)) => {
                c.strip_prefix('+').map(|h| (i, hints::set_vars(h)))
            }
            _ => None,
        })
        .filter(|(_, vars)| !vars.is_empty())
        .collect();
    let mut p = Parser::new(&dialect).with_tokens_with_locations(tokens);
    let mut out = Vec::new();
    loop {
        while p.consume_token(&Token::SemiColon) {}
        if p.peek_token().token == Token::EOF {
            break;
        }
        let start = p.index();
        let mut stmt = parse_statement(&mut p)?;
        limits::check(&stmt)?;
        without_dual(&mut stmt);
        let end = p.index();
        let vars = hints_at
            .iter()
            .filter(|(i, _)| (start..end).contains(i))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        out.push((stmt, vars));
        if !p.consume_token(&Token::SemiColon) && p.peek_token().token != Token::EOF {
            return p
                .expected("end of statement", p.peek_token())
                .map_err(Into::into);
        }
    }
    Ok(out)
}

/// The upper-case word at lookahead `n`, or an empty string for a non-word.
pub(crate) fn word(p: &Parser, n: usize) -> String {
    match p.peek_nth_token(n).token {
        Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        _ => String::new(),
    }
}

/// Consumes the word `w` (case-insensitive) if it is next.
pub(crate) fn eat_word(p: &mut Parser, w: &str) -> bool {
    if word(p, 0) == w {
        p.next_token();
        true
    } else {
        false
    }
}

/// Consumes the word `w` or fails with a positioned syntax error.
pub(crate) fn expect_word(p: &mut Parser, w: &str) -> Result<()> {
    if eat_word(p, w) {
        Ok(())
    } else {
        p.expected(w, p.peek_token()).map_err(Into::into)
    }
}

/// An identifier (plain, or back-quoted), returned as written.
pub(crate) fn ident(p: &mut Parser) -> Result<String> {
    Ok(p.parse_identifier()?.value)
}

/// `[db.]table`
pub(crate) fn table_name(p: &mut Parser) -> Result<TableName> {
    let first = ident(p)?;
    if p.consume_token(&Token::Period) {
        let table = ident(p)?;
        Ok(TableName {
            db: Some(first),
            table,
        })
    } else {
        Ok(TableName {
            db: None,
            table: first,
        })
    }
}

/// `(ident, ...)`
pub(crate) fn ident_list(p: &mut Parser) -> Result<Vec<String>> {
    p.expect_token(&Token::LParen)?;
    let cols = p.parse_comma_separated(|p| p.parse_identifier())?;
    p.expect_token(&Token::RParen)?;
    Ok(cols.into_iter().map(|i| i.value).collect())
}

/// A string literal, or a number written without quotes (PROPERTIES values).
pub(crate) fn string_or_number(p: &mut Parser) -> Result<String> {
    let t = p.next_token();
    match t.token {
        Token::SingleQuotedString(s) => Ok(s),
        Token::Number(n, _) => Ok(n),
        Token::Word(w) if w.quote_style.is_none() => Ok(w.value),
        _ => p.expected("a string literal", t).map_err(Into::into),
    }
}

/// `("k" = "v", ...)` as used by PROPERTIES and FILES.
pub(crate) fn properties(p: &mut Parser) -> Result<Properties> {
    p.expect_token(&Token::LParen)?;
    let mut out = Vec::new();
    if p.consume_token(&Token::RParen) {
        return Ok(out);
    }
    loop {
        let k = string_or_number(p)?;
        p.expect_token(&Token::Eq)?;
        let v = string_or_number(p)?;
        out.push((k, v));
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen)?;
    Ok(out)
}

fn parse_statement(p: &mut Parser) -> Result<Statement> {
    match word(p, 0).as_str() {
        "CREATE" => parse_create(p),
        "DROP" => parse_drop(p),
        "TRUNCATE" => {
            p.next_token();
            eat_word(p, "TABLE");
            Ok(Statement::TruncateTable(table_name(p)?))
        }
        "SHOW" => show::parse_show(p),
        "DESC" | "DESCRIBE" => parse_describe(p),
        "USE" => {
            p.next_token();
            let name = ident(p)?;
            // `USE catalog.db`: only the default catalog exists.
            if p.consume_token(&Token::Period) {
                return Ok(Statement::Use(ident(p)?));
            }
            Ok(Statement::Use(name))
        }
        "ADMIN" => parse_admin(p),
        "INSERT" => insert::parse_insert(p),
        "SET" => parse_set(p),
        _ if compat::savepoint_next(p) => compat::parse_savepoint(p),
        "BEGIN" | "COMMIT" | "ROLLBACK" | "START" => {
            let w = word(p, 0);
            while !matches!(p.peek_token().token, Token::SemiColon | Token::EOF) {
                p.next_token();
            }
            Ok(Statement::TransactionControl(w))
        }
        "LOAD" => load::parse_load(p),
        "CANCEL" => load::parse_cancel(p),
        "ALTER" => load::parse_alter(p),
        "SYNC" => {
            p.next_token();
            Ok(Statement::Sync)
        }
        "KILL" => {
            p.next_token();
            let query_only = eat_word(p, "QUERY");
            if !query_only {
                eat_word(p, "CONNECTION");
            }
            let tok = p.next_token();
            match &tok.token {
                Token::Number(n, _) => match n.parse::<u64>() {
                    Ok(id) => Ok(Statement::Kill { query_only, id }),
                    Err(_) => p.expected("a connection id", tok).map_err(Into::into),
                },
                _ => p.expected("a connection id", tok).map_err(Into::into),
            }
        }
        "GRANT" | "REVOKE" => account::parse_grant(p),
        "LOCK" => compat::parse_lock(p),
        "UNLOCK" => compat::parse_unlock(p),
        "PREPARE" => {
            p.next_token();
            let name = ident(p)?;
            expect_word(p, "FROM")?;
            let t = p.next_token();
            let from = match t.token {
                Token::SingleQuotedString(s) => PrepareFrom::Text(s),
                Token::Word(w) if w.value.starts_with('@') && !w.value.starts_with("@@") => {
                    PrepareFrom::Variable(w.value[1..].to_ascii_lowercase())
                }
                _ => return p.expected("a string or @variable", t).map_err(Into::into),
            };
            Ok(Statement::Prepare { name, from })
        }
        "EXECUTE" => {
            p.next_token();
            let name = ident(p)?;
            let mut using = Vec::new();
            if eat_word(p, "USING") {
                loop {
                    let t = p.next_token();
                    match t.token {
                        Token::Word(w)
                            if w.value.starts_with('@') && !w.value.starts_with("@@") =>
                        {
                            using.push(w.value[1..].to_ascii_lowercase())
                        }
                        _ => return p.expected("an @variable", t).map_err(Into::into),
                    }
                    if !p.consume_token(&Token::Comma) {
                        break;
                    }
                }
            }
            Ok(Statement::Execute { name, using })
        }
        "DEALLOCATE" => {
            p.next_token();
            expect_word(p, "PREPARE")?;
            Ok(Statement::Deallocate(ident(p)?))
        }
        "UPDATE" | "DELETE" => Err(ParseError::unsupported(format!("{} statement", word(p, 0)))),
        _ => {
            let stmt = p.parse_statement()?;
            match stmt {
                sp::Statement::Query(_) | sp::Statement::Explain { .. } => {
                    Ok(Statement::Query(Box::new(stmt)))
                }
                other => Err(ParseError::unsupported(format!(
                    "statement `{}`",
                    truncate(&other.to_string(), 60)
                ))),
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

fn parse_create(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    match word(p, 0).as_str() {
        "DATABASE" | "SCHEMA" => {
            p.next_token();
            let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
            let name = ident(p)?;
            // `catalog.db`: only the default catalog exists.
            let name = if p.consume_token(&Token::Period) {
                ident(p)?
            } else {
                name
            };
            if eat_word(p, "PROPERTIES") {
                properties(p)?;
            }
            Ok(Statement::CreateDatabase {
                name,
                if_not_exists,
            })
        }
        "TABLE" => create_table::parse_create_table(p),
        "TEMPORARY" | "EXTERNAL" => Err(ParseError::unsupported(format!(
            "CREATE {} TABLE",
            word(p, 0)
        ))),
        "PIPE" => pipe::parse_create_pipe(p, false),
        "OR" => {
            p.next_token();
            expect_word(p, "REPLACE")?;
            if matches!(
                word(p, 0).as_str(),
                "VIEW" | "ALGORITHM" | "DEFINER" | "SQL"
            ) {
                return view::parse_view(p, true, false);
            }
            pipe::parse_create_pipe(p, true)
        }
        "VIEW" => view::parse_view(p, false, false),
        // MySQL's view clauses, as mysqldump writes them: `CREATE ALGORITHM=… DEFINER=… SQL
        // SECURITY … VIEW`.
        "ALGORITHM" | "DEFINER" | "SQL" => view::parse_view(p, false, false),
        "MATERIALIZED" => Err(ParseError::unsupported("CREATE MATERIALIZED VIEW")),
        "USER" | "ROLE" => account::parse_create(p),
        other => p
            .expected("DATABASE or TABLE after CREATE", p.peek_token())
            .map_err(|e| {
                if other.is_empty() {
                    e.into()
                } else {
                    ParseError::unsupported(format!("CREATE {other}"))
                }
            }),
    }
}

fn parse_drop(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    let what = word(p, 0);
    match what.as_str() {
        "DATABASE" | "SCHEMA" => {
            p.next_token();
            let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
            let name = ident(p)?;
            eat_word(p, "FORCE");
            Ok(Statement::DropDatabase { name, if_exists })
        }
        "TABLE" => {
            p.next_token();
            let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
            let name = table_name(p)?;
            eat_word(p, "FORCE");
            Ok(Statement::DropTable { name, if_exists })
        }
        "PIPE" => pipe::parse_drop_pipe(p),
        "VIEW" => view::parse_drop_view(p),
        "PREPARE" => {
            p.next_token();
            Ok(Statement::Deallocate(ident(p)?))
        }
        "USER" | "ROLE" => account::parse_drop(p),
        "" => p
            .expected("DATABASE or TABLE", p.peek_token())
            .map_err(Into::into),
        other => Err(ParseError::unsupported(format!("DROP {other}"))),
    }
}

fn parse_describe(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    if word(p, 0) == "FILES" && p.peek_nth_token(1).token == Token::LParen {
        p.next_token();
        return Ok(Statement::DescribeFiles(properties(p)?));
    }
    if word(p, 0) == "PIPE" {
        return pipe::parse_desc_pipe(p);
    }
    if matches!(word(p, 0).as_str(), "SELECT" | "WITH" | "INSERT") {
        return Err(ParseError::unsupported("DESC of a query (use EXPLAIN)"));
    }
    let name = table_name(p)?;
    eat_word(p, "ALL");
    Ok(Statement::Describe(name))
}

fn parse_admin(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    if eat_word(p, "SET") {
        expect_word(p, "FRONTEND")?;
        expect_word(p, "CONFIG")?;
        let props = properties(p)?;
        if eat_word(p, "WITH") {
            expect_word(p, "PERSISTENT")?;
        }
        let mut it = props.into_iter();
        return match (it.next(), it.next()) {
            (Some((key, value)), None) => Ok(Statement::AdminSetFrontendConfig { key, value }),
            _ => Err(ParseError::invalid(
                "ADMIN SET FRONTEND CONFIG takes exactly one \"key\" = \"value\" pair",
            )),
        };
    }
    if eat_word(p, "SHOW") {
        expect_word(p, "FRONTEND")?;
        expect_word(p, "CONFIG")?;
        let like = if eat_word(p, "LIKE") {
            Some(p.parse_literal_string()?)
        } else {
            None
        };
        return Ok(Statement::AdminShowFrontendConfig(like));
    }
    Err(ParseError::unsupported(format!("ADMIN {}", word(p, 0))))
}

fn parse_set(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    // `SET NAMES x [COLLATE y]` and `SET CHARACTER SET x`: accepted, utf8mb4 is the only charset.
    if word(p, 0) == "NAMES" || (word(p, 0) == "CHARACTER" && word(p, 1) == "SET") {
        while !matches!(p.peek_token().token, Token::SemiColon | Token::EOF) {
            p.next_token();
        }
        return Ok(Statement::Set(Vec::new()));
    }
    if let Some(stmt) = compat::parse_set_transaction(p)? {
        return Ok(stmt);
    }
    if let Some(stmt) = account::parse_set(p)? {
        return Ok(stmt);
    }
    let mut out = Vec::new();
    loop {
        out.push(set_assignment(p)?);
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    Ok(Statement::Set(out))
}

fn set_assignment(p: &mut Parser) -> Result<SetAssignment> {
    let mut global = false;
    match word(p, 0).as_str() {
        "GLOBAL" => {
            global = true;
            p.next_token();
        }
        "SESSION" | "LOCAL" => {
            p.next_token();
        }
        _ => {}
    }
    // `@@session.x`, `@@global.x`, `@@x`, `@x`: the tokenizer glues `@@x` into one word in the
    // MySQL dialect, so scope prefixes arrive as part of the word.
    let t = p.next_token();
    let raw = match t.token {
        Token::Word(w) => w.value,
        _ => return p.expected("a variable name", t).map_err(Into::into),
    };
    // `@name` is a user variable: kept with its `@`, in lower case, never scoped.
    if raw.starts_with('@') && !raw.starts_with("@@") {
        if !p.consume_token(&Token::Eq) && !p.consume_token(&Token::Assignment) {
            return p.expected("=", p.peek_token()).map_err(Into::into);
        }
        return Ok(SetAssignment {
            global: false,
            name: raw.to_ascii_lowercase(),
            value: p.parse_expr()?,
        });
    }
    let mut name = raw.trim_start_matches('@').to_string();
    while p.consume_token(&Token::Period) {
        name.push('.');
        name.push_str(&ident(p)?);
    }
    let lower = name.to_ascii_lowercase();
    let name = if let Some(rest) = lower.strip_prefix("global.") {
        global = true;
        rest.to_string()
    } else if let Some(rest) = lower.strip_prefix("session.") {
        rest.to_string()
    } else if let Some(rest) = lower.strip_prefix("local.") {
        rest.to_string()
    } else {
        lower
    };
    if !p.consume_token(&Token::Eq) && !p.consume_token(&Token::Assignment) {
        return p.expected("=", p.peek_token()).map_err(Into::into);
    }
    let value = p.parse_expr()?;
    Ok(SetAssignment {
        global,
        name,
        value,
    })
}

#[cfg(test)]
mod tests;

/// `SELECT … FROM DUAL` (MySQL's and StarRocks' dummy table) is a SELECT without FROM.
fn without_dual(stmt: &mut Statement) {
    use std::ops::ControlFlow;

    use sqlparser::ast::{SetExpr, TableFactor, TableWithJoins, VisitMut, VisitorMut};

    /// `FROM dual`: one unquoted, unaliased table of that name, nothing joined.
    fn is_dual(from: &[TableWithJoins]) -> bool {
        let [only] = from else { return false };
        let TableFactor::Table {
            name,
            alias: None,
            args: None,
            ..
        } = &only.relation
        else {
            return false;
        };
        let [part] = name.0.as_slice() else {
            return false;
        };
        only.joins.is_empty()
            && part
                .as_ident()
                .is_some_and(|i| i.quote_style.is_none() && i.value.eq_ignore_ascii_case("dual"))
    }

    fn strip(body: &mut SetExpr) {
        match body {
            SetExpr::Select(s) if is_dual(&s.from) => s.from.clear(),
            SetExpr::SetOperation { left, right, .. } => {
                strip(left);
                strip(right);
            }
            _ => {}
        }
    }
    struct NoDual;
    impl VisitorMut for NoDual {
        type Break = ();
        fn pre_visit_query(&mut self, q: &mut sqlparser::ast::Query) -> ControlFlow<()> {
            strip(q.body.as_mut());
            ControlFlow::Continue(())
        }
    }
    match stmt {
        Statement::Query(q) => {
            let _ = q.visit(&mut NoDual);
        }
        Statement::CreateView(v) => {
            let _ = v.query.visit(&mut NoDual);
        }
        _ => {}
    }
}
