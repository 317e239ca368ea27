//! Credentials masked out of statement text before it is shown (SHOW PROCESSLIST, DESC PIPE,
//! the `loads` rows of pipe batches).

/// Keys whose values are secrets (access key ids are masked too, as StarRocks does).
const SECRET_KEYS: &[&str] = &[
    "aws.s3.access_key",
    "aws.s3.secret_key",
    "aws.s3.session_token",
];

/// `sql` with the value of every `'<secret key>' = '<value>'` replaced by `***`. Values are
/// found as the tokenizer reads them: single- or double-quoted, with doubled quotes and
/// backslash escapes inside.
pub fn mask_credentials(sql: &str) -> String {
    mask_passwords(&mask_keys(sql))
}

/// The end (exclusive) of the quoted literal whose opening quote is at `i`.
fn literal_end(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            c if c == quote && bytes.get(j + 1) == Some(&quote) => j += 2,
            c if c == quote => break,
            _ => j += 1,
        }
    }
    j.min(bytes.len())
}

/// `sql` with the literal that `value_at` finds after each of `triggers` (matched without
/// regard to case) replaced by `***`. `value_at(bytes, at, end)` gets a trigger's span and
/// answers where its value's opening quote is, if it has one.
fn mask_after(
    sql: &str,
    triggers: &[&str],
    value_at: impl Fn(&[u8], usize, usize) -> Option<usize>,
) -> String {
    let lower = sql.to_ascii_lowercase();
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut pos = 0;
    while pos < sql.len() {
        let next = triggers
            .iter()
            .filter_map(|k| lower[pos..].find(k).map(|i| (pos + i, k.len())))
            .min();
        let Some((at, len)) = next else { break };
        match value_at(bytes, at, at + len) {
            Some(q) => {
                out.push_str(&sql[pos..=q]);
                out.push_str("***");
                pos = literal_end(bytes, q);
            }
            None => {
                out.push_str(&sql[pos..at + len]);
                pos = at + len;
            }
        }
    }
    out.push_str(&sql[pos.min(sql.len())..]);
    out
}

/// Passwords of account statements: the first literal after `IDENTIFIED` (`BY 'x'`, `BY
/// PASSWORD 'x'`, `WITH plugin AS 'x'`) or `PASSWORD` (`= 'x'`, `('x')`), when only words,
/// `=`, `(` and blanks come between.
fn mask_passwords(sql: &str) -> String {
    mask_after(sql, &["identified", "password"], |bytes, _, end| {
        let mut i = end;
        let mut words = 0;
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        while i < bytes.len() && (is_word(bytes[i]) || b"=( \t\n\r".contains(&bytes[i])) {
            words += usize::from(is_word(bytes[i]) && !is_word(bytes[i - 1]));
            i += 1;
        }
        // `BY`, `BY PASSWORD`, `WITH plugin AS`: at most three words; and never a quote
        // right after the trigger (`'password'` is a literal, not a clause).
        let quoted = i < bytes.len() && matches!(bytes[i], b'\'' | b'"');
        (i > end && words <= 3 && quoted).then_some(i)
    })
}

/// The values of `'<secret key>' = '<value>'`.
fn mask_keys(sql: &str) -> String {
    mask_after(sql, SECRET_KEYS, |bytes, _, end| {
        let mut i = end;
        // The key's closing quote, the `=`, then the value's opening quote.
        while i < bytes.len() && b"'\"` \t\n\r".contains(&bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            return None;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        (i < bytes.len() && matches!(bytes[i], b'\'' | b'"')).then_some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::mask_credentials;

    #[test]
    fn passwords_are_masked() {
        for (sql, want) in [
            (
                "CREATE USER 'u'@'%' IDENTIFIED BY 'S3cret!'",
                "CREATE USER 'u'@'%' IDENTIFIED BY '***'",
            ),
            (
                "alter user root identified with mysql_native_password as \"*AB'C\"",
                "alter user root identified with mysql_native_password as \"***\"",
            ),
            (
                "SET PASSWORD FOR u = PASSWORD('it''s')",
                "SET PASSWORD FOR u = PASSWORD('***')",
            ),
            ("SET PASSWORD = '*AB'", "SET PASSWORD = '***'"),
            ("SELECT 'password'", "SELECT 'password'"),
            (
                "SELECT password FROM t WHERE x = 'y'",
                "SELECT password FROM t WHERE x = 'y'",
            ),
        ] {
            assert_eq!(mask_credentials(sql), want, "{sql}");
        }
    }

    #[test]
    fn secrets_are_masked_however_quoted() {
        assert_eq!(
            mask_credentials(
                r#"FILES("path" = "s3://b/k", "aws.s3.secret_key" = "abc", "aws.s3.access_key"="AK")"#
            ),
            r#"FILES("path" = "s3://b/k", "aws.s3.secret_key" = "***", "aws.s3.access_key"="***")"#
        );
        // A quote inside the value, doubled or escaped, does not end it early.
        assert_eq!(
            mask_credentials("('AWS.S3.SECRET_KEY' = 'a''b\\'c', 'x' = 'y')"),
            "('AWS.S3.SECRET_KEY' = '***', 'x' = 'y')"
        );
        assert_eq!(
            mask_credentials("SELECT 'aws.s3.secret_key'"),
            "SELECT 'aws.s3.secret_key'"
        );
        assert_eq!(
            mask_credentials("'aws.s3.secret_key' = 'unterminated"),
            "'aws.s3.secret_key' = '***"
        );
    }
}
