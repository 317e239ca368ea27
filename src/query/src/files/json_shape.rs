//! JSON that is not one flat record per line: a file that is one array (`strip_outer_array`),
//! records under a root (`json_root`), fields picked by JSON paths (`jsonpaths`). Such a file
//! is reshaped into newline-delimited records before it is inferred or read (Broker Load's
//! JSON properties; FILES() takes them as `json.strip_outer_array`, `json.json_root`,
//! `json.jsonpaths` with `json.jsonpath_names`). The reshaping holds the file in memory.

use std::io::Read;

use serde_json::Value;

use super::FilesError;

/// How a JSON file is shaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonShape {
    /// The file (or the root) is one array of records.
    pub strip_outer_array: bool,
    /// `$.a.b`: the records are under this path.
    pub root: Option<String>,
    /// (column name, `$.path`) of each field, in order.
    pub paths: Vec<(String, String)>,
}

impl JsonShape {
    /// Whether the file is read as it is.
    pub fn is_plain(&self) -> bool {
        !self.strip_outer_array && self.root.is_none() && self.paths.is_empty()
    }

    /// Parses the `json.*` properties.
    pub fn parse(
        strip: Option<&str>,
        root: Option<&str>,
        paths: Option<&str>,
        names: Option<&str>,
    ) -> Result<Self, FilesError> {
        let bad = |m: String| FilesError::InvalidProperty(m);
        let strip_outer_array = match strip.map(str::to_ascii_lowercase).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => return Err(bad(format!("Invalid strip_outer_array: '{v}'"))),
        };
        let root = match root {
            Some(r) => {
                pointer(r).ok_or_else(|| bad(format!("Invalid json_root: '{r}'")))?;
                Some(r.to_string())
            }
            None => None,
        };
        let mut out = Vec::new();
        if let Some(p) = paths {
            let list: Vec<String> = serde_json::from_str(p).map_err(|e| {
                bad(format!(
                    "Invalid jsonpaths: '{p}': it must be a JSON array of paths like [\"$.a\", \"$.b.c\"]: {e}"
                ))
            })?;
            let names: Vec<&str> = names
                .map(|n| n.split(',').map(str::trim).collect())
                .unwrap_or_default();
            if names.len() != list.len() {
                return Err(bad(format!(
                    "jsonpaths has {} paths for {} columns",
                    list.len(),
                    names.len()
                )));
            }
            for (n, path) in names.iter().zip(list) {
                pointer(&path)
                    .ok_or_else(|| bad(format!("Invalid JSON path in jsonpaths: '{path}'")))?;
                out.push((n.to_string(), path));
            }
        }
        Ok(Self {
            strip_outer_array,
            root,
            paths: out,
        })
    }

    /// `input` reshaped into newline-delimited records (or `input` itself when plain).
    pub fn apply(
        &self,
        mut input: Box<dyn Read + Send>,
        display: &str,
    ) -> Result<Box<dyn Read + Send>, FilesError> {
        if self.is_plain() {
            return Ok(input);
        }
        let mut text = Vec::new();
        input
            .read_to_end(&mut text)
            .map_err(|e| FilesError::StorageAccess(format!("reading {display}: {e}")))?;
        let mut out = Vec::with_capacity(text.len());
        let values = serde_json::Deserializer::from_slice(&text).into_iter::<Value>();
        for (i, v) in values.enumerate() {
            let v = v.map_err(|e| {
                FilesError::InvalidFile(format!(
                    "File {display} is not JSON (value {}): {e}",
                    i + 1
                ))
            })?;
            let v = match &self.root {
                Some(r) => match v.pointer(&pointer(r).unwrap_or_default()) {
                    Some(x) => x.clone(),
                    None => continue,
                },
                None => v,
            };
            let records = match v {
                Value::Array(items) if self.strip_outer_array => items,
                Value::Array(_) => {
                    return Err(FilesError::InvalidFile(format!(
                        "File {display} holds a JSON array: set strip_outer_array = true to read its elements as records"
                    )));
                }
                other => vec![other],
            };
            for rec in records {
                let rec = if self.paths.is_empty() {
                    rec
                } else {
                    let mut m = serde_json::Map::new();
                    for (name, path) in &self.paths {
                        let x = rec
                            .pointer(&pointer(path).unwrap_or_default())
                            .cloned()
                            .unwrap_or(Value::Null);
                        m.insert(name.clone(), x);
                    }
                    Value::Object(m)
                };
                serde_json::to_writer(&mut out, &rec)
                    .map_err(|e| FilesError::InvalidFile(format!("File {display}: {e}")))?;
                out.push(b'\n');
            }
        }
        Ok(Box::new(std::io::Cursor::new(out)))
    }
}

/// `$.a.b[0]` (or `$`) as a JSON pointer (`/a/b/0`).
fn pointer(path: &str) -> Option<String> {
    let rest = path.trim().strip_prefix('$')?;
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                out.push('/');
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    out.push(n);
                    chars.next();
                }
            }
            '[' => {
                out.push('/');
                let mut inner = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    inner.push(n);
                }
                out.push_str(inner.trim_matches(|c| c == '"' || c == '\''));
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reshape(shape: &JsonShape, text: &str) -> String {
        let mut out = String::new();
        shape
            .apply(
                Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
                "f",
            )
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn arrays_roots_and_paths() {
        let strip = JsonShape::parse(Some("true"), None, None, None).unwrap();
        assert_eq!(
            reshape(&strip, r#"[{"a":1},{"a":2}]"#),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        let rooted = JsonShape::parse(Some("true"), Some("$.data.rows"), None, None).unwrap();
        assert_eq!(
            reshape(&rooted, r#"{"data":{"rows":[{"a":1}]}}"#),
            "{\"a\":1}\n"
        );
        let picked = JsonShape::parse(
            None,
            None,
            Some(r#"["$.id", "$.x.y", "$.l[1]"]"#),
            Some("k, v, w"),
        )
        .unwrap();
        assert_eq!(
            reshape(
                &picked,
                "{\"id\":7,\"x\":{\"y\":\"s\"},\"l\":[1,2]}\n{\"id\":8}\n"
            ),
            "{\"k\":7,\"v\":\"s\",\"w\":2}\n{\"k\":8,\"v\":null,\"w\":null}\n"
        );
        assert!(JsonShape::parse(None, Some("a.b"), None, None).is_err());
        assert!(JsonShape::parse(None, None, Some("[\"$.a\"]"), Some("x, y")).is_err());
        let err = JsonShape::default();
        assert!(err.is_plain());
    }
}
