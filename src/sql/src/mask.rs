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
    let lower = sql.to_ascii_lowercase();
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut pos = 0;
    while pos < sql.len() {
        let next = SECRET_KEYS
            .iter()
            .filter_map(|k| lower[pos..].find(k).map(|i| (pos + i, k.len())))
            .min();
        let Some((at, len)) = next else { break };
        let mut i = at + len;
        // The key's closing quote, the `=`, then the value's opening quote.
        while i < bytes.len()
            && matches!(bytes[i], b'\'' | b'"' | b'`' | b' ' | b'\t' | b'\n' | b'\r')
        {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            out.push_str(&sql[pos..at + len]);
            pos = at + len;
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || !matches!(bytes[i], b'\'' | b'"') {
            out.push_str(&sql[pos..i]);
            pos = i;
            continue;
        }
        let quote = bytes[i];
        let start = i + 1;
        let mut j = start;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                c if c == quote && bytes.get(j + 1) == Some(&quote) => j += 2,
                c if c == quote => break,
                _ => j += 1,
            }
        }
        let end = j.min(bytes.len());
        out.push_str(&sql[pos..start]);
        out.push_str("***");
        pos = end;
    }
    out.push_str(&sql[pos.min(sql.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::mask_credentials;

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
