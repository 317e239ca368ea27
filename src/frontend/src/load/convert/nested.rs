//! ARRAY values from their text — `[1, 2]`, `["a", "b"]`, `[[1], []]`, as StarRocks prints
//! them and mysqldump writes them into a dump — read as JSON into the column's type. A text
//! that is not such an array, or whose elements do not fit, is NULL (the caller rejects it).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, new_null_array};
use arrow::compute::{cast, concat};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::json::ReaderBuilder;

/// `input` (text) as `target` (an arrow List type).
pub(super) fn arrays_from_text(input: &ArrayRef, target: &DataType) -> Result<ArrayRef, String> {
    let text = cast(input, &DataType::Utf8).map_err(|e| e.to_string())?;
    let text = text.as_string::<i32>();
    let lines: Vec<Option<&str>> = (0..text.len())
        .map(|i| text.is_valid(i).then(|| text.value(i)))
        .collect();
    // All rows at once; only when one of them does not decode, row by row.
    if let Ok(all) = decode(&lines, target) {
        return Ok(all);
    }
    let rows: Vec<ArrayRef> = lines
        .iter()
        .map(|l| decode(&[*l], target).unwrap_or_else(|_| new_null_array(target, 1)))
        .collect();
    let refs: Vec<&dyn Array> = rows.iter().map(|a| a.as_ref()).collect();
    if refs.is_empty() {
        return Ok(new_null_array(target, 0));
    }
    concat(&refs).map_err(|e| e.to_string())
}

/// Decodes `{"v": <text>}` lines; a NULL row is `{}`.
fn decode(lines: &[Option<&str>], target: &DataType) -> Result<ArrayRef, String> {
    let mut json = String::new();
    for line in lines {
        match line {
            // Only an array: a text that closes the object early makes a second row or an
            // unknown key (strict mode), and fails.
            Some(t) if t.trim_start().starts_with('[') => {
                json.push_str("{\"v\":");
                json.push_str(t);
                json.push_str("}\n");
            }
            Some(_) => return Err("not an array".into()),
            None => json.push_str("{}\n"),
        }
    }
    let schema = Arc::new(Schema::new(vec![Field::new("v", target.clone(), true)]));
    let mut decoder = ReaderBuilder::new(schema)
        .with_strict_mode(true)
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder.decode(json.as_bytes()).map_err(|e| e.to_string())?;
    match decoder.flush().map_err(|e| e.to_string())? {
        Some(batch) if batch.num_rows() == lines.len() => Ok(batch.column(0).clone()),
        _ => Err("not one value per row".into()),
    }
}

/// A list, struct or map type.
pub(super) fn is_nested(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::Struct(_)
            | DataType::Map(..)
    )
}

/// ARRAY, MAP and STRUCT values (a Parquet or ORC list, map or struct loaded into a VARCHAR or
/// JSON column) as their JSON text, as StarRocks converts them: `[1,2,null]`, `["a"]`,
/// `{"a":1,"b":"x"}`, `{"k":1}`. A NULL value stays NULL.
pub(super) fn json_text(input: &ArrayRef) -> Result<ArrayRef, String> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "v",
        input.data_type().clone(),
        true,
    )]));
    let batch = arrow::record_batch::RecordBatch::try_new(schema, vec![input.clone()])
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::LineDelimited>(&mut buf);
        w.write(&batch).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    let text = String::from_utf8(buf).map_err(|e| e.to_string())?;
    let values: arrow::array::StringArray = text
        .lines()
        .map(|line| {
            let v = line.strip_prefix("{\"v\":")?.strip_suffix('}')?;
            (v != "null").then(|| v.to_string())
        })
        .collect();
    if values.len() != input.len() {
        return Err("not one JSON value per row".into());
    }
    Ok(Arc::new(values))
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;
    use arrow::datatypes::Int32Type;

    use super::*;

    fn list_of(t: DataType) -> DataType {
        DataType::List(Arc::new(Field::new("item", t, true)))
    }

    #[test]
    fn arrays_from_their_text() {
        let input: ArrayRef = Arc::new(StringArray::from(vec![
            Some("[1, 2]"),
            None,
            Some("[]"),
            Some("[3, null]"),
            Some("oops"),
            Some("[\"a\"]"),
        ]));
        let out = arrays_from_text(&input, &list_of(DataType::Int32)).unwrap();
        let list = out.as_list::<i32>();
        assert_eq!(list.len(), 6);
        let ints = |i: usize| {
            list.value(i)
                .as_primitive::<Int32Type>()
                .iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(ints(0), vec![Some(1), Some(2)]);
        assert!(list.is_null(1));
        assert_eq!(ints(2), Vec::<Option<i32>>::new());
        assert_eq!(ints(3), vec![Some(3), None]);
        assert!(list.is_null(4), "not an array");
        assert!(list.is_null(5), "a string in an ARRAY<INT>");
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["[\"x\", \"y\\\"z\"]"]));
        let out = arrays_from_text(&strings, &list_of(DataType::Utf8)).unwrap();
        let v = out.as_list::<i32>().value(0);
        assert_eq!(v.as_string::<i32>().value(1), "y\"z");
    }

    #[test]
    fn nested_values_as_json_text() {
        let input = arrays_from_text(
            &(Arc::new(StringArray::from(vec![Some("[1, null]"), None, Some("[]")])) as ArrayRef),
            &list_of(DataType::Int32),
        )
        .unwrap();
        let text = json_text(&input).unwrap();
        let text = text.as_string::<i32>();
        assert_eq!(text.value(0), "[1,null]");
        assert!(text.is_null(1));
        assert_eq!(text.value(2), "[]");
    }
}
