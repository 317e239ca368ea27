//! Users, roles and privileges (StarRocks' grammar; `../shared/spec/privileges.md`).

use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{Result, eat_word, expect_word, ident, properties, table_name, word};
use crate::ast::{
    AccountStmt, AuthSpec, GrantPrivileges, GrantRoles, GrantSubject, PrivTarget, RoleSet,
    Statement, TableName, UserIdent,
};
use crate::error::ParseError;

fn account(s: AccountStmt) -> Result<Statement> {
    Ok(Statement::Account(Box::new(s)))
}

/// A name written as a word, a back-quoted identifier or a string.
fn name(p: &mut Parser) -> Result<String> {
    let t = p.next_token();
    match t.token {
        Token::Word(w) => Ok(w.value),
        // ("x" arrives as a single-quoted string: see `parse_script`.)
        Token::SingleQuotedString(s) => Ok(s),
        _ => p.expected("a name", t).map_err(Into::into),
    }
}

/// A name as an error message shows it: the first 64 characters, then how long it was.
fn shown(s: &str) -> String {
    let n = s.chars().count();
    if n <= 64 {
        s.to_string()
    } else {
        format!(
            "{}... ({n} characters)",
            s.chars().take(64).collect::<String>()
        )
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// StarRocks' user name rule: `^\w{1,64}/?[.\w-]{0,63}$` (ASCII word characters; a Kerberos
/// name may carry `/host`), at most 64 characters.
fn checked_user(name: String) -> Result<String> {
    let head = name.chars().take_while(|c| is_word_char(*c)).count();
    let rest = &name[head..];
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let ok = head >= 1
        && name.len() <= 64
        && rest
            .chars()
            .all(|c| is_word_char(c) || c == '.' || c == '-');
    if ok {
        Ok(name)
    } else {
        Err(ParseError::invalid(format!(
            "invalid user name: {} (a user name is 1 to 64 letters, digits and '_', then \
             optionally '.', '-' or one '/')",
            shown(&name)
        )))
    }
}

/// A host pattern: a name, an address or a pattern of them with `%` and `_`; `''` is `%`.
fn checked_host(host: String) -> Result<String> {
    if host.is_empty() {
        return Ok("%".to_string());
    }
    let ok = host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-%:".contains(c));
    if ok {
        Ok(host)
    } else {
        Err(ParseError::invalid(format!(
            "invalid host: {} (a host is up to 255 letters, digits and '.', '-', ':', with '%' \
             and '_' as wildcards)",
            shown(&host)
        )))
    }
}

/// StarRocks' role name rule: `^[a-zA-Z]\w{0,63}$|^_[a-zA-Z0-9]\w{0,62}$`.
fn checked_role(name: String) -> Result<String> {
    let mut chars = name.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => name.len() <= 64,
        Some('_') => chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) && name.len() <= 64,
        _ => false,
    } && name.chars().all(is_word_char);
    if ok {
        Ok(name)
    } else {
        Err(ParseError::invalid(format!(
            "invalid role format: {} (a role name is a letter, or '_' and a letter or digit, \
             then up to 64 letters, digits and '_' in all)",
            shown(&name)
        )))
    }
}

fn role_name(p: &mut Parser) -> Result<String> {
    checked_role(name(p)?)
}

/// `'name'@'host'`, `name@host`, `'name'` (host `%`); names are checked as StarRocks checks
/// them, so no statement reaches the catalog with a name it could not have created.
pub(crate) fn user_ident(p: &mut Parser) -> Result<UserIdent> {
    let u = raw_user_ident(p)?;
    Ok(UserIdent {
        name: checked_user(u.name)?,
        host: checked_host(u.host)?,
    })
}

fn raw_user_ident(p: &mut Parser) -> Result<UserIdent> {
    let t = p.next_token();
    let (user, glued_host) = match t.token {
        Token::SingleQuotedString(s) => (s, None),
        // The MySQL tokenizer reads `loader@'%'`'s `loader` as a word and may glue `@host`
        // onto it.
        Token::Word(w) => match w.value.split_once('@') {
            Some((u, h)) if w.quote_style.is_none() => (u.to_string(), Some(h.to_string())),
            _ => (w.value, None),
        },
        _ => return p.expected("a user name", t).map_err(Into::into),
    };
    if let Some(h) = glued_host {
        let host = if h.is_empty() { name(p)? } else { h };
        return Ok(UserIdent { name: user, host });
    }
    let host = match p.peek_token().token {
        Token::AtSign => {
            p.next_token();
            name(p)?
        }
        // `@'%'` and `@localhost` arrive as one word in the MySQL dialect.
        Token::Word(w) if w.value.starts_with('@') => {
            p.next_token();
            let rest = w.value.trim_start_matches('@').to_string();
            if rest.is_empty() { name(p)? } else { rest }
        }
        _ => "%".to_string(),
    };
    Ok(UserIdent { name: user, host })
}

/// `IDENTIFIED BY 'pw' | BY PASSWORD 'hash' | WITH mysql_native_password [BY 'pw' | AS 'hash']`
fn auth_spec(p: &mut Parser) -> Result<AuthSpec> {
    expect_word(p, "IDENTIFIED")?;
    if eat_word(p, "WITH") {
        let plugin = name(p)?;
        if !plugin.eq_ignore_ascii_case("mysql_native_password") {
            return Err(ParseError::unsupported(format!(
                "authentication plugin {plugin} (mysql_native_password is supported)"
            )));
        }
        if eat_word(p, "BY") {
            return Ok(AuthSpec::Password(p.parse_literal_string()?));
        }
        if eat_word(p, "AS") {
            return Ok(AuthSpec::Hash(p.parse_literal_string()?));
        }
        return Ok(AuthSpec::None);
    }
    expect_word(p, "BY")?;
    if eat_word(p, "PASSWORD") {
        return Ok(AuthSpec::Hash(p.parse_literal_string()?));
    }
    Ok(AuthSpec::Password(p.parse_literal_string()?))
}

/// Role names, `r1, r2, ...`.
fn name_list(p: &mut Parser) -> Result<Vec<String>> {
    let mut out = vec![role_name(p)?];
    while p.consume_token(&Token::Comma) {
        out.push(role_name(p)?);
    }
    Ok(out)
}

/// `DEFAULT | NONE | ALL [EXCEPT r, ...] | r[, ...]`
fn role_set(p: &mut Parser, allow_default: bool) -> Result<RoleSet> {
    match word(p, 0).as_str() {
        "DEFAULT" if allow_default => {
            p.next_token();
            Ok(RoleSet::Default)
        }
        "NONE" => {
            p.next_token();
            Ok(RoleSet::None)
        }
        "ALL" => {
            p.next_token();
            let except = if eat_word(p, "EXCEPT") {
                name_list(p)?
            } else {
                Vec::new()
            };
            Ok(RoleSet::All(except))
        }
        _ => Ok(RoleSet::Roles(name_list(p)?)),
    }
}

/// After `CREATE`: `USER ...` or `ROLE ...`.
pub(crate) fn parse_create(p: &mut Parser) -> Result<Statement> {
    if eat_word(p, "ROLE") {
        let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
        let names = name_list(p)?;
        return account(AccountStmt::CreateRole {
            if_not_exists,
            names,
        });
    }
    expect_word(p, "USER")?;
    let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let user = user_ident(p)?;
    let auth = if word(p, 0) == "IDENTIFIED" {
        auth_spec(p)?
    } else {
        AuthSpec::None
    };
    let mut default_roles = Vec::new();
    if eat_word(p, "DEFAULT") {
        expect_word(p, "ROLE")?;
        default_roles = name_list(p)?;
    }
    let properties = if eat_word(p, "PROPERTIES") {
        properties(p)?
    } else {
        Vec::new()
    };
    account(AccountStmt::CreateUser {
        if_not_exists,
        user,
        auth,
        default_roles,
        properties,
    })
}

/// After `ALTER`: `USER [IF EXISTS] u IDENTIFIED ... | DEFAULT ROLE ...`.
pub(crate) fn parse_alter_user(p: &mut Parser) -> Result<Statement> {
    expect_word(p, "USER")?;
    let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let user = user_ident(p)?;
    let mut auth = None;
    let mut default_roles = None;
    let mut props = Vec::new();
    if word(p, 0) == "IDENTIFIED" {
        auth = Some(auth_spec(p)?);
    } else if eat_word(p, "DEFAULT") {
        expect_word(p, "ROLE")?;
        default_roles = Some(role_set(p, false)?);
    } else if eat_word(p, "SET") {
        expect_word(p, "PROPERTIES")?;
        props = properties(p)?;
    } else {
        return p
            .expected("IDENTIFIED, DEFAULT ROLE or SET PROPERTIES", p.peek_token())
            .map_err(Into::into);
    }
    account(AccountStmt::AlterUser {
        if_exists,
        user,
        auth,
        default_roles,
        properties: props,
    })
}

/// After `DROP`: `USER [IF EXISTS] u` or `ROLE [IF EXISTS] r[, ...]`.
pub(crate) fn parse_drop(p: &mut Parser) -> Result<Statement> {
    if eat_word(p, "ROLE") {
        let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let names = name_list(p)?;
        return account(AccountStmt::DropRole { if_exists, names });
    }
    expect_word(p, "USER")?;
    let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let user = user_ident(p)?;
    account(AccountStmt::DropUser { if_exists, user })
}

/// `GRANT ...` / `REVOKE ...`
pub(crate) fn parse_grant(p: &mut Parser) -> Result<Statement> {
    let revoke = word(p, 0) == "REVOKE";
    p.next_token();
    // The privilege (or role) list: words up to ON (privileges) or TO / FROM (roles).
    let mut items: Vec<String> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let to_word = if revoke { "FROM" } else { "TO" };
    loop {
        let w = word(p, 0);
        if w == "ON" || w == to_word {
            break;
        }
        let t = p.next_token();
        match t.token {
            Token::Comma if !current.is_empty() => {
                items.push(std::mem::take(&mut current).join(" "))
            }
            Token::Word(w) => current.push(w.value),
            Token::SingleQuotedString(s) => current.push(s),
            _ => return p.expected("a privilege or role", t).map_err(Into::into),
        }
    }
    if current.is_empty() {
        return p
            .expected("a privilege or role", p.peek_token())
            .map_err(Into::into);
    }
    items.push(current.join(" "));
    if eat_word(p, to_word) {
        let subject = subject(p)?;
        let roles = items
            .into_iter()
            .map(checked_role)
            .collect::<Result<Vec<_>>>()?;
        return account(AccountStmt::Roles(GrantRoles {
            revoke,
            roles,
            subject,
        }));
    }
    expect_word(p, "ON")?;
    let target = target(p)?;
    expect_word(p, to_word)?;
    let subject = subject(p)?;
    let with_grant_option = if !revoke && eat_word(p, "WITH") {
        expect_word(p, "GRANT")?;
        expect_word(p, "OPTION")?;
        true
    } else {
        false
    };
    let privileges = items
        .into_iter()
        .map(|i| {
            let up = i.to_ascii_uppercase();
            if up == "ALL PRIVILEGES" {
                "ALL".to_string()
            } else {
                up
            }
        })
        .collect();
    account(AccountStmt::Privileges(GrantPrivileges {
        revoke,
        privileges,
        target,
        subject,
        with_grant_option,
    }))
}

/// `[USER] u` or `ROLE r`.
fn subject(p: &mut Parser) -> Result<GrantSubject> {
    if eat_word(p, "ROLE") {
        return Ok(GrantSubject::Role(role_name(p)?));
    }
    eat_word(p, "USER");
    Ok(GrantSubject::User(user_ident(p)?))
}

/// `IN DATABASE d` / `IN ALL DATABASES` after `ALL TABLES` / `ALL PIPES`.
fn in_database(p: &mut Parser) -> Result<Option<String>> {
    expect_word(p, "IN")?;
    if eat_word(p, "ALL") {
        expect_word(p, "DATABASES")?;
        return Ok(None);
    }
    expect_word(p, "DATABASE")?;
    Ok(Some(ident(p)?))
}

fn names_of(p: &mut Parser) -> Result<Vec<TableName>> {
    let mut out = vec![table_name(p)?];
    while p.consume_token(&Token::Comma) {
        out.push(table_name(p)?);
    }
    Ok(out)
}

fn target(p: &mut Parser) -> Result<PrivTarget> {
    match word(p, 0).as_str() {
        "SYSTEM" => {
            p.next_token();
            Ok(PrivTarget::System)
        }
        "CATALOG" => {
            p.next_token();
            let c = ident(p)?;
            if !c.eq_ignore_ascii_case("default_catalog") {
                return Err(ParseError::invalid(format!(
                    "Unknown catalog '{c}': only default_catalog exists"
                )));
            }
            Ok(PrivTarget::Catalog)
        }
        "DATABASE" => {
            p.next_token();
            let mut out = vec![ident(p)?];
            while p.consume_token(&Token::Comma) {
                out.push(ident(p)?);
            }
            Ok(PrivTarget::Databases(out))
        }
        // A view is a table object here: SELECT, ALTER and DROP on it are a table's.
        "TABLE" | "VIEW" => {
            p.next_token();
            Ok(PrivTarget::Tables(names_of(p)?))
        }
        "PIPE" => {
            p.next_token();
            Ok(PrivTarget::Pipes(names_of(p)?))
        }
        "ALL" => {
            p.next_token();
            match word(p, 0).as_str() {
                "CATALOGS" => {
                    p.next_token();
                    Ok(PrivTarget::Catalog)
                }
                "DATABASES" => {
                    p.next_token();
                    Ok(PrivTarget::AllDatabases)
                }
                "TABLES" | "VIEWS" => {
                    p.next_token();
                    Ok(PrivTarget::AllTables(in_database(p)?))
                }
                "PIPES" => {
                    p.next_token();
                    Ok(PrivTarget::AllPipes(in_database(p)?))
                }
                _ => p
                    .expected("DATABASES, TABLES or PIPES after ALL", p.peek_token())
                    .map_err(Into::into),
            }
        }
        // The brief forms: `*.*`, `db.*`, `db.t`, `t`.
        _ => {
            if p.consume_token(&Token::Mul) {
                p.expect_token(&Token::Period)?;
                p.expect_token(&Token::Mul)?;
                return Ok(PrivTarget::AllTables(None));
            }
            let first = ident(p)?;
            if p.consume_token(&Token::Period) {
                if p.consume_token(&Token::Mul) {
                    return Ok(PrivTarget::AllTables(Some(first)));
                }
                let table = ident(p)?;
                return Ok(PrivTarget::Tables(vec![TableName {
                    db: Some(first),
                    table,
                }]));
            }
            Ok(PrivTarget::Tables(vec![TableName {
                db: None,
                table: first,
            }]))
        }
    }
}

/// After `SET`: `ROLE ...`, `DEFAULT ROLE ... TO u`, `PASSWORD [FOR u] = ...`; `None` when
/// the SET is something else.
pub(crate) fn parse_set(p: &mut Parser) -> Result<Option<Statement>> {
    match (word(p, 0).as_str(), word(p, 1).as_str()) {
        ("ROLE", _) => {
            p.next_token();
            Ok(Some(account(AccountStmt::SetRole(role_set(p, true)?))?))
        }
        ("DEFAULT", "ROLE") => {
            p.next_token();
            p.next_token();
            let roles = role_set(p, false)?;
            expect_word(p, "TO")?;
            let mut users = vec![user_ident(p)?];
            while p.consume_token(&Token::Comma) {
                users.push(user_ident(p)?);
            }
            Ok(Some(account(AccountStmt::SetDefaultRole { roles, users })?))
        }
        ("PASSWORD", _) => {
            p.next_token();
            let user = if eat_word(p, "FOR") {
                Some(user_ident(p)?)
            } else {
                None
            };
            p.expect_token(&Token::Eq)?;
            let auth = if eat_word(p, "PASSWORD") {
                p.expect_token(&Token::LParen)?;
                let pw = p.parse_literal_string()?;
                p.expect_token(&Token::RParen)?;
                AuthSpec::Password(pw)
            } else {
                AuthSpec::Hash(p.parse_literal_string()?)
            };
            Ok(Some(account(AccountStmt::SetPassword { user, auth })?))
        }
        _ => Ok(None),
    }
}

/// After `SHOW`: `GRANTS [FOR ...]`, `USERS`, `ROLES`.
pub(crate) fn parse_show(p: &mut Parser) -> Result<Statement> {
    match word(p, 0).as_str() {
        "USERS" => {
            p.next_token();
            account(AccountStmt::ShowUsers)
        }
        "ROLES" => {
            p.next_token();
            account(AccountStmt::ShowRoles)
        }
        _ => {
            expect_word(p, "GRANTS")?;
            let who = if eat_word(p, "FOR") {
                Some(subject(p)?)
            } else {
                None
            };
            account(AccountStmt::ShowGrants(who))
        }
    }
}
