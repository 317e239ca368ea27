//! Optimizer hints: `/*+ SET_VAR(name = value, ...) */` after a statement's first keyword sets
//! session variables for that statement alone, as in StarRocks (statement PROPERTIES still
//! win over them).

/// The `name = value` pairs of every `SET_VAR(...)` in a hint's text (after its `+`); names
/// lower-cased, quotes taken off values. Anything else in a hint is ignored, as StarRocks
/// ignores hints it does not know.
pub(crate) fn set_vars(hint: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = hint;
    while let Some(at) = find_ci(rest, "set_var") {
        rest = rest[at + "set_var".len()..].trim_start();
        let Some(body) = rest.strip_prefix('(') else {
            continue;
        };
        let Some(close) = body.find(')') else {
            break;
        };
        for pair in body[..close].split(',') {
            if let Some((k, v)) = pair.split_once('=') {
                let v = v.trim().trim_matches(|c| c == '\'' || c == '"');
                out.push((k.trim().to_ascii_lowercase(), v.to_string()));
            }
        }
        rest = &body[close + 1..];
    }
    out
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

#[cfg(test)]
mod tests {
    use super::set_vars;

    #[test]
    fn set_var_pairs() {
        assert_eq!(
            set_vars(" SET_VAR(enable_insert_strict = false, insert_max_filter_ratio = 0.5) "),
            vec![
                ("enable_insert_strict".to_string(), "false".to_string()),
                ("insert_max_filter_ratio".to_string(), "0.5".to_string())
            ]
        );
        assert_eq!(
            set_vars("set_var(query_timeout='60') SET_VAR(A = 1)"),
            vec![
                ("query_timeout".to_string(), "60".to_string()),
                ("a".to_string(), "1".to_string())
            ]
        );
        assert!(set_vars(" USE_INDEX(x) ").is_empty());
    }
}
