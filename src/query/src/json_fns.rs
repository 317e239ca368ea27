//! StarRocks' JSON functions, over JSON as text: Strata stores StarRocks' JSON type as a
//! string, so these take JSON text and give JSON text, which is written as StarRocks prints
//! JSON (`{"a": 1, "b": [1, 2]}`: keys in order, `, ` and `: ` between items).
//!
//! * `parse_json(s)` → JSON (NULL when `s` is no JSON); `json_string(j)` → VARCHAR, the same
//!   text.
//! * `json_query(j, path)` → the JSON at `path`, NULL if none; `json_exists(j, path)` →
//!   BOOLEAN; `json_length(j[, path])` → INT (a scalar is 1; 0 when `path` finds nothing);
//!   `json_keys(j[, path])` → the keys of the object there as a JSON array, else NULL.
//! * `get_json_string(j, path)` (alias `get_json_object`) → VARCHAR: a string unquoted, other
//!   JSON as compact text; `get_json_int` → BIGINT and `get_json_double` → DOUBLE, NULL when
//!   the value is not an integer / a number.
//! * `json_object(k1, v1, ...)` and `json_array(v, ...)` → JSON from SQL values (numbers,
//!   booleans, NULL as JSON null, strings as JSON strings, the result of another JSON function
//!   as that JSON).
//!
//! Paths are StarRocks': `$` then `.key`, `."key.with.dots"`, `[n]`, `[*]` or `[start:end]`; a
//! key applied to an array is applied to each element. A path through `[*]`, a slice or such a
//! projection gives an array of what it found. JSON text that does not parse gives NULL.
//!
//! The results of the JSON functions carry [`JSON_KEY`] in their field's metadata, so that
//! `json_object('k', json_array(1, 2))` nests the array rather than quoting its text.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::StringArray;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type, UInt64Type};
use datafusion::common::{Result as DfResult, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use serde_json::{Map, Value};

use crate::functions::{arrays, finish, utf8};

/// Field metadata marking a string column as JSON text.
pub(crate) const JSON_KEY: &str = "strata.json";

/// Registers the functions on a statement context.
pub(crate) fn register(ctx: &SessionContext) {
    for kind in [
        Kind::ParseJson,
        Kind::JsonString,
        Kind::JsonQuery,
        Kind::JsonExists,
        Kind::JsonLength,
        Kind::JsonKeys,
        Kind::GetJsonString,
        Kind::GetJsonInt,
        Kind::GetJsonDouble,
        Kind::JsonObject,
        Kind::JsonArray,
        Kind::Mark,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(JsonFn::new(kind)));
    }
}

/// Which JSON function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    ParseJson,
    JsonString,
    JsonQuery,
    JsonExists,
    JsonLength,
    JsonKeys,
    GetJsonString,
    GetJsonInt,
    GetJsonDouble,
    JsonObject,
    JsonArray,
    /// `__strata_json(text)`: the text unchanged, marked as JSON. The SQL rewrite wraps the
    /// other cells of a VALUES column that holds a JSON function's result in it, because
    /// DataFusion refuses a VALUES list whose rows' fields carry different metadata
    /// (`VALUES (parse_json('{}')), (NULL)`).
    Mark,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ParseJson => "parse_json",
            Kind::JsonString => "json_string",
            Kind::JsonQuery => "json_query",
            Kind::JsonExists => "json_exists",
            Kind::JsonLength => "json_length",
            Kind::JsonKeys => "json_keys",
            Kind::GetJsonString => "get_json_string",
            Kind::GetJsonInt => "get_json_int",
            Kind::GetJsonDouble => "get_json_double",
            Kind::JsonObject => "json_object",
            Kind::JsonArray => "json_array",
            Kind::Mark => "__strata_json",
        }
    }

    /// How many arguments the function takes (None: any number).
    fn arity(self) -> Option<std::ops::RangeInclusive<usize>> {
        match self {
            Kind::ParseJson | Kind::JsonString | Kind::Mark => Some(1..=1),
            Kind::JsonLength | Kind::JsonKeys => Some(1..=2),
            Kind::JsonObject | Kind::JsonArray => None,
            _ => Some(2..=2),
        }
    }

    fn return_type(self) -> DataType {
        match self {
            Kind::JsonExists => DataType::Boolean,
            Kind::JsonLength => DataType::Int32,
            Kind::GetJsonInt => DataType::Int64,
            Kind::GetJsonDouble => DataType::Float64,
            _ => DataType::Utf8,
        }
    }

    /// Whether the result is JSON (else a SQL value).
    fn gives_json(self) -> bool {
        matches!(
            self,
            Kind::ParseJson
                | Kind::JsonQuery
                | Kind::JsonKeys
                | Kind::JsonObject
                | Kind::JsonArray
                | Kind::Mark
        )
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonFn {
    kind: Kind,
    aliases: Vec<String>,
    signature: Signature,
}

impl JsonFn {
    fn new(kind: Kind) -> Self {
        let aliases = match kind {
            Kind::GetJsonString => vec!["get_json_object".to_string()],
            _ => Vec::new(),
        };
        Self {
            kind,
            aliases,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The type a `json_object` / `json_array` value is coerced to: one a JSON value is made of.
fn value_type(t: &DataType) -> DataType {
    match t {
        DataType::Boolean | DataType::Null | DataType::UInt64 => t.clone(),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => DataType::Int64,
        t if t.is_floating() || t.is_numeric() => DataType::Float64,
        _ => DataType::Utf8,
    }
}

impl ScalarUDFImpl for JsonFn {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(self.kind.return_type())
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let field = Field::new(self.name(), self.kind.return_type(), true);
        Ok(Arc::new(if self.kind.gives_json() {
            field.with_metadata(HashMap::from([(JSON_KEY.to_string(), "true".to_string())]))
        } else {
            field
        }))
    }

    fn coerce_types(&self, types: &[DataType]) -> DfResult<Vec<DataType>> {
        if let Some(arity) = self.kind.arity()
            && !arity.contains(&types.len())
        {
            return plan_err!(
                "{}() takes {} to {} arguments, got {}",
                self.name(),
                arity.start(),
                arity.end(),
                types.len()
            );
        }
        Ok(types
            .iter()
            .enumerate()
            .map(|(i, t)| match self.kind {
                Kind::JsonArray => value_type(t),
                Kind::JsonObject if i % 2 == 1 => value_type(t),
                _ => DataType::Utf8,
            })
            .collect())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (a, constant) = arrays(&args.args, args.number_rows)?;
        let rows = if constant { 1 } else { args.number_rows };
        if matches!(self.kind, Kind::JsonObject | Kind::JsonArray) {
            let is_json: Vec<bool> = args
                .arg_fields
                .iter()
                .map(|f| f.metadata().contains_key(JSON_KEY))
                .collect();
            let out: StringArray = (0..rows)
                .map(|row| build(self.kind, &a, &is_json, row).map(|v| sr_text(&v)))
                .collect();
            return finish(Arc::new(out), constant);
        }
        let strings = a.iter().map(utf8).collect::<DfResult<Vec<_>>>()?;
        let strings: Vec<_> = strings.iter().map(|s| s.as_string::<i32>()).collect();
        // Each row's arguments, None when any is NULL (then the result is NULL).
        let row_args = |row: usize| -> Option<(Value, Option<&str>)> {
            if strings.iter().any(|s| s.is_null(row)) {
                return None;
            }
            let doc = serde_json::from_str(strings[0].value(row)).ok()?;
            Some((doc, strings.get(1).map(|p| p.value(row))))
        };
        // The value at a row's path (the document without one), None if the path is invalid
        // or finds nothing.
        let at = |row: usize| -> Option<Value> {
            let (doc, path) = row_args(row)?;
            match path {
                None => Some(doc),
                Some(p) => select(&doc, &parse_path(p)?).map(Cow::into_owned),
            }
        };
        let out: ArrayRef = match self.kind {
            Kind::Mark => Arc::new(strings[0].clone()),
            Kind::ParseJson | Kind::JsonString | Kind::JsonQuery => Arc::new(
                (0..rows)
                    .map(|r| at(r).map(|v| sr_text(&v)))
                    .collect::<StringArray>(),
            ),
            Kind::GetJsonString => Arc::new(
                (0..rows)
                    .map(|r| match at(r)? {
                        Value::Null => None,
                        Value::String(s) => Some(s),
                        v => Some(v.to_string()),
                    })
                    .collect::<StringArray>(),
            ),
            Kind::GetJsonInt => {
                Arc::new((0..rows).map(|r| at(r)?.as_i64()).collect::<Int64Array>())
            }
            Kind::GetJsonDouble => {
                Arc::new((0..rows).map(|r| at(r)?.as_f64()).collect::<Float64Array>())
            }
            Kind::JsonExists => Arc::new(
                (0..rows)
                    .map(|r| {
                        let (doc, path) = row_args(r)?;
                        Some(select(&doc, &parse_path(path?)?).is_some())
                    })
                    .collect::<BooleanArray>(),
            ),
            Kind::JsonLength => Arc::new(
                (0..rows)
                    .map(|r| {
                        let (doc, path) = row_args(r)?;
                        let v = match path {
                            None => Cow::Borrowed(&doc),
                            Some(p) => match parse_path(p).and_then(|p| select(&doc, &p)) {
                                Some(v) => v,
                                None => return Some(0),
                            },
                        };
                        Some(length(&v))
                    })
                    .collect::<Int32Array>(),
            ),
            Kind::JsonKeys => Arc::new(
                (0..rows)
                    .map(|r| {
                        let v = at(r)?;
                        let keys = v.as_object()?.keys().cloned().map(Value::String);
                        Some(sr_text(&Value::Array(keys.collect())))
                    })
                    .collect::<StringArray>(),
            ),
            Kind::JsonObject | Kind::JsonArray => unreachable!("built above"),
        };
        finish(out, constant)
    }
}

/// `json_length` of a value: its elements or members, 1 for a scalar.
fn length(v: &Value) -> i32 {
    let n = match v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 1,
    };
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Row `row` of a `json_object` / `json_array` call over (coerced) arguments `a`; None when a
/// key is NULL.
fn build(kind: Kind, a: &[ArrayRef], is_json: &[bool], row: usize) -> Option<Value> {
    let value = |i: usize| -> Value {
        let Some(col) = a.get(i).filter(|c| !c.is_null(row)) else {
            return Value::Null;
        };
        match col.data_type() {
            DataType::Boolean => Value::Bool(col.as_boolean().value(row)),
            DataType::Int64 => Value::from(col.as_primitive::<Int64Type>().value(row)),
            DataType::UInt64 => Value::from(col.as_primitive::<UInt64Type>().value(row)),
            DataType::Float64 => Value::from(col.as_primitive::<Float64Type>().value(row)),
            DataType::Utf8 => {
                let s = col.as_string::<i32>().value(row);
                match is_json[i] {
                    true => serde_json::from_str(s).unwrap_or_else(|_| Value::from(s)),
                    false => Value::from(s),
                }
            }
            _ => Value::Null,
        }
    };
    if kind == Kind::JsonArray {
        return Some(Value::Array((0..a.len()).map(value).collect()));
    }
    let mut object = Map::new();
    for i in (0..a.len()).step_by(2) {
        if a[i].is_null(row) {
            return None;
        }
        let key = a[i].as_string::<i32>().value(row).to_string();
        object.insert(key, value(i + 1));
    }
    Some(Value::Object(object))
}

/// `v` as StarRocks prints JSON: `{"a": 1, "b": [1, 2]}`.
pub(crate) fn sr_text(v: &Value) -> String {
    let mut out = String::new();
    write_sr(v, &mut out);
    out
}

fn write_sr(v: &Value, out: &mut String) {
    match v {
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_sr(e, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, e)) in o.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push_str(": ");
                write_sr(e, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// `.key` or `."key"`.
    Key(String),
    /// `[n]`.
    Index(usize),
    /// `[*]`.
    All,
    /// `[start:end]`, `end` excluded.
    Slice(usize, usize),
}

/// A StarRocks JSON path: `$` (which may be left out) and then steps. None if malformed.
pub(crate) fn parse_path(path: &str) -> Option<Vec<Step>> {
    let p: Vec<char> = path.trim().chars().collect();
    let mut steps = Vec::new();
    let mut i = match p.first() {
        Some('$') => 1,
        None | Some('.') | Some('[') => 0,
        Some(_) => {
            let (k, next) = key(&p, 0)?;
            steps.push(Step::Key(k));
            next
        }
    };
    while i < p.len() {
        match p[i] {
            '.' => {
                let (k, next) = key(&p, i + 1)?;
                steps.push(Step::Key(k));
                i = next;
            }
            '[' => {
                let close = i + p[i..].iter().position(|&c| c == ']')?;
                let inside: String = p[i + 1..close].iter().collect();
                let inside = inside.trim();
                let num = |s: &str| s.trim().parse::<usize>().ok();
                steps.push(if inside == "*" {
                    Step::All
                } else if let Some((from, to)) = inside.split_once(':') {
                    Step::Slice(num(from)?, num(to)?)
                } else {
                    Step::Index(num(inside)?)
                });
                i = close + 1;
            }
            c if c.is_whitespace() => i += 1,
            _ => return None,
        }
    }
    Some(steps)
}

/// The key starting at `p[i]` (quoted, or up to the next `.` or `[`, `\` escaping one
/// character) and where it ends.
fn key(p: &[char], i: usize) -> Option<(String, usize)> {
    if p.get(i) == Some(&'"') {
        let close = i + 1 + p[i + 1..].iter().position(|&c| c == '"')?;
        return Some((p[i + 1..close].iter().collect(), close + 1));
    }
    let mut k = String::new();
    let mut j = i;
    while j < p.len() && p[j] != '.' && p[j] != '[' {
        if p[j] == '\\' && j + 1 < p.len() {
            j += 1;
        }
        k.push(p[j]);
        j += 1;
    }
    let k = k.trim_end();
    (!k.is_empty()).then(|| (k.to_string(), j))
}

/// What `steps` find in `root`: one value, or an array of those found through `[*]`, a slice
/// or a key applied to an array. None if nothing is found.
pub(crate) fn select<'a>(root: &'a Value, steps: &[Step]) -> Option<Cow<'a, Value>> {
    let mut found = vec![root];
    let mut many = false;
    for step in steps {
        let mut next = Vec::new();
        for v in found {
            match (step, v) {
                (Step::Key(k), Value::Object(o)) => next.extend(o.get(k)),
                (Step::Key(k), Value::Array(a)) => {
                    many = true;
                    next.extend(a.iter().filter_map(|e| e.as_object()?.get(k)));
                }
                (Step::Index(n), Value::Array(a)) => next.extend(a.get(*n)),
                (Step::All, Value::Array(a)) => next.extend(a),
                (Step::Slice(from, to), Value::Array(a)) => {
                    next.extend(a.iter().take(*to).skip(*from))
                }
                _ => {}
            }
        }
        many |= matches!(step, Step::All | Step::Slice(..));
        found = next;
    }
    if many {
        (!found.is_empty()).then(|| Cow::Owned(Value::Array(found.into_iter().cloned().collect())))
    } else {
        found.first().map(|v| Cow::Borrowed(*v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(doc: &str, path: &str) -> Option<String> {
        let doc: Value = serde_json::from_str(doc).unwrap();
        select(&doc, &parse_path(path)?).map(|v| sr_text(&v))
    }

    #[test]
    fn parses_paths() {
        use Step::*;
        assert_eq!(parse_path("$"), Some(vec![]));
        assert_eq!(
            parse_path("$.a.b[0]"),
            Some(vec![Key("a".into()), Key("b".into()), Index(0)])
        );
        assert_eq!(
            parse_path(r#"$."my.key"[1]"#),
            Some(vec![Key("my.key".into()), Index(1)])
        );
        assert_eq!(parse_path(r"a\.1"), Some(vec![Key("a.1".into())]));
        assert_eq!(
            parse_path("$.people [ * ].name"),
            Some(vec![Key("people".into()), All, Key("name".into())])
        );
        assert_eq!(parse_path("$[0: 2]"), Some(vec![Slice(0, 2)]));
        assert_eq!(parse_path("$."), None);
        assert_eq!(parse_path("$[x]"), None);
        assert_eq!(parse_path("$[-1]"), None);
        assert_eq!(parse_path("$.a[0"), None);
        assert_eq!(parse_path(r#"$."a"#), None);
    }

    #[test]
    fn selects_like_starrocks() {
        // StarRocks' documented examples (get_json_string, json_query, the path overview).
        assert_eq!(
            get(r#"{"k1":"v1", "k2":"v2"}"#, "$.k1").as_deref(),
            Some(r#""v1""#)
        );
        assert_eq!(
            get(
                r#"[{"a":"123", "b": "456"},{"a":"23", "b": "56"}]"#,
                "$[0].a"
            )
            .as_deref(),
            Some(r#""123""#)
        );
        assert_eq!(
            get(r#"{"k1.key":{"k2":["v1", "v2"]}}"#, r#"$."k1.key".k2[0]"#).as_deref(),
            Some(r#""v1""#)
        );
        assert_eq!(
            get(
                r#"[{"k1":"v1"}, {"k2":"v2"}, {"k1":"v3"}, {"k1":"v4"}]"#,
                "$.k1"
            )
            .as_deref(),
            Some(r#"["v1", "v3", "v4"]"#)
        );
        assert_eq!(get(r#"{"a": {"b": 1}}"#, "$.a.c"), None);
        assert_eq!(get(r#"{"a": [1,2,3]}"#, "$.a[3]"), None);
        let people = r#"{"people": [{"name": "Daniel", "surname": "Smith"},
            {"name": "Lily", "surname": "Smith", "active": true}]}"#;
        assert_eq!(
            get(people, "$.people[*].name").as_deref(),
            Some(r#"["Daniel", "Lily"]"#)
        );
        assert_eq!(
            get(people, "$.people[0:1].name").as_deref(),
            Some(r#"["Daniel"]"#)
        );
        assert_eq!(
            get(people, "$.people[0]").as_deref(),
            Some(r#"{"name": "Daniel", "surname": "Smith"}"#)
        );
        assert_eq!(get(r#"[[1, 2], [3, 4]]"#, "$[1][0]").as_deref(), Some("3"));
        assert_eq!(get(r#"{"a": 1}"#, "$").as_deref(), Some(r#"{"a": 1}"#));
        assert_eq!(get(r#"{"a": []}"#, "$.a[*]"), None);
    }

    #[test]
    fn prints_like_starrocks() {
        let v: Value =
            serde_json::from_str(r#"{"b":[1,2.5,"x\"y"],"a":{"c":null,"d":true}}"#).unwrap();
        assert_eq!(
            sr_text(&v),
            r#"{"a": {"c": null, "d": true}, "b": [1, 2.5, "x\"y"]}"#
        );
        assert_eq!(length(&Value::from(1)), 1);
        assert_eq!(length(&serde_json::json!([1, 2, [3, 4]])), 3);
    }
}
