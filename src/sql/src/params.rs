//! Prepared statements' `?` placeholders: where they are in a statement's text, and that text
//! with the bound values written in their place as SQL literals. The bound text is parsed and
//! run like any other statement, so a prepared statement means exactly what the same
//! statement typed with the values does.

use strata_common::Param;

use crate::error::ParseError;

/// Byte offsets of the `?` placeholders of `sql`: not those in strings, quoted names or
/// comments.
pub fn placeholders(sql: &str) -> Vec<usize> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    // A backslash escapes the next character in strings (not in `names`).
                    if b[i] == b'\\' && q != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'#' => i = line_end(b, i),
            // A comment only when whitespace follows, by the tokenizer's own test
            // (`char::is_whitespace`: Unicode spaces too); at the end of the text there is
            // nothing left to scan either way.
            b'-' if b.get(i + 1) == Some(&b'-')
                && sql
                    .get(i + 2..)
                    .is_some_and(|rest| rest.chars().next().is_none_or(char::is_whitespace)) =>
            {
                i = line_end(b, i)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'?' => {
                out.push(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn line_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    i
}

/// `p` as a SQL literal.
pub fn literal(p: &Param) -> String {
    match p {
        Param::Null => "NULL".into(),
        // Negative numbers in parentheses: `1-?` must not become the comment `1--3`.
        Param::Int(v) if *v < 0 => format!("({v})"),
        Param::Int(v) => v.to_string(),
        Param::UInt(v) => v.to_string(),
        Param::Double(v) if v.is_finite() && *v < 0.0 => format!("({v:?})"),
        Param::Double(v) if v.is_finite() => format!("{v:?}"),
        Param::Double(_) => "NULL".into(),
        Param::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(s) => {
                let mut out = String::with_capacity(s.len() + 2);
                out.push('\'');
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\'' => out.push_str("\\'"),
                        '\0' => out.push_str("\\0"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
                out
            }
            Err(_) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
                format!("X'{hex}'")
            }
        },
    }
}

/// `sql` with `literals` in place of its placeholders, in order; MySQL's error when the counts
/// differ.
pub fn bind(sql: &str, literals: &[String]) -> Result<String, ParseError> {
    let at = placeholders(sql);
    if at.len() != literals.len() {
        return Err(ParseError::invalid(format!(
            "Incorrect arguments to EXECUTE: the statement has {} parameters, {} were given",
            at.len(),
            literals.len()
        )));
    }
    let mut out =
        String::with_capacity(sql.len() + literals.iter().map(String::len).sum::<usize>());
    let mut from = 0;
    for (pos, lit) in at.iter().zip(literals) {
        out.push_str(&sql[from..*pos]);
        out.push_str(lit);
        from = pos + 1;
    }
    out.push_str(&sql[from..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_strings_names_and_comments() {
        let sql =
            "SELECT ?, '?', \"a\\\"?\", `?`, 'it''s ?' -- ?\n, ? # ?\n /* ? */ FROM t WHERE a = ?";
        let at = placeholders(sql);
        assert_eq!(at.len(), 3, "{at:?}");
        assert!(at.iter().all(|i| &sql[*i..=*i] == "?"));
        assert_eq!(placeholders("SELECT 1--?"), vec![10]);
        // `--` and a Unicode space is a comment to the tokenizer: its `?` is not a parameter.
        assert!(placeholders("SELECT ? --\u{a0}?").len() == 1);
    }

    #[test]
    fn binding_writes_literals_that_parse_back() {
        let lits: Vec<String> = [
            Param::Int(-3),
            Param::Text(b"it's a \\ 'test'".to_vec()),
            Param::Null,
            Param::Double(1.5),
            Param::Text(vec![0xff, 0x00]),
        ]
        .iter()
        .map(literal)
        .collect();
        let sql = bind("SELECT ?, ?, ?, ?, ?", &lits).unwrap();
        assert_eq!(
            sql,
            "SELECT (-3), 'it\\'s a \\\\ \\'test\\'', NULL, 1.5, X'FF00'"
        );
        let parsed = crate::parse_sql(&sql).unwrap();
        assert_eq!(parsed.len(), 1);
        let e = bind("SELECT ?", &[]).unwrap_err();
        assert!(
            e.to_string().contains("Incorrect arguments to EXECUTE"),
            "{e}"
        );
    }
}
