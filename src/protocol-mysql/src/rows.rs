//! Arrow result sets as MySQL text-protocol columns and values.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Float32Type, Float64Type, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use opensrv_mysql::{Column, ColumnFlags, ColumnType};

/// MySQL column definitions for a schema.
pub(crate) fn columns(schema: &SchemaRef) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let (coltype, unsigned) = column_type(f.data_type());
            let mut colflags = ColumnFlags::empty();
            if unsigned {
                colflags |= ColumnFlags::UNSIGNED_FLAG;
            }
            if !f.is_nullable() {
                colflags |= ColumnFlags::NOT_NULL_FLAG;
            }
            let (length, decimals, charset) = display(f);
            let meta = |k: &str| f.metadata().get(k).cloned().unwrap_or_default();
            Column {
                table: meta(TABLE_KEY),
                column: f.name().clone(),
                coltype,
                colflags,
                schema: meta(SCHEMA_KEY),
                length,
                decimals,
                charset,
            }
        })
        .collect()
}

use strata_common::types::field_meta::{SCHEMA_KEY, TABLE_KEY, TYPE_KEY};

/// MySQL's display length, decimals and collation of a column, as drivers report them in
/// ResultSetMetaData (precision, scale, display size).
fn display(f: &arrow::datatypes::Field) -> (u32, u8, u16) {
    const BINARY: u16 = 63;
    const UTF8: u16 = 33;
    // `varchar(20)` / `char(3)`: characters, three bytes each in utf8.
    let declared = f
        .metadata()
        .get(TYPE_KEY)
        .and_then(|t| t.split_once('(')?.1.strip_suffix(')')?.parse::<u32>().ok());
    let text = |n: u32| (n.saturating_mul(3), 0, UTF8);
    match f.data_type() {
        DataType::Boolean => (1, 0, BINARY),
        DataType::Int8 => (4, 0, BINARY),
        DataType::UInt8 => (3, 0, BINARY),
        DataType::Int16 => (6, 0, BINARY),
        DataType::UInt16 => (5, 0, BINARY),
        DataType::Int32 => (11, 0, BINARY),
        DataType::UInt32 => (10, 0, BINARY),
        DataType::Int64 | DataType::UInt64 => (20, 0, BINARY),
        DataType::Float16 | DataType::Float32 => (12, 31, BINARY),
        DataType::Float64 => (22, 31, BINARY),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => {
            let s = u8::try_from(*s).unwrap_or(0);
            (u32::from(*p) + 1 + u32::from(s > 0), s, BINARY)
        }
        DataType::Date32 | DataType::Date64 => (10, 0, BINARY),
        // StarRocks' DATETIME, reported as MySQL's DATETIME (microseconds, when a value has
        // them, are still sent: drivers read them from the value).
        DataType::Timestamp(..) => (19, 0, BINARY),
        DataType::Time32(_) | DataType::Time64(_) => (17, 6, BINARY),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => (1_048_576, 0, BINARY),
        _ => text(declared.unwrap_or(65533)),
    }
}

fn column_type(dt: &DataType) -> (ColumnType, bool) {
    use ColumnType::*;
    match dt {
        DataType::Boolean | DataType::Int8 => (MYSQL_TYPE_TINY, false),
        DataType::UInt8 => (MYSQL_TYPE_TINY, true),
        DataType::Int16 => (MYSQL_TYPE_SHORT, false),
        DataType::UInt16 => (MYSQL_TYPE_SHORT, true),
        DataType::Int32 => (MYSQL_TYPE_LONG, false),
        DataType::UInt32 => (MYSQL_TYPE_LONG, true),
        DataType::Int64 => (MYSQL_TYPE_LONGLONG, false),
        DataType::UInt64 => (MYSQL_TYPE_LONGLONG, true),
        DataType::Float16 | DataType::Float32 => (MYSQL_TYPE_FLOAT, false),
        DataType::Float64 => (MYSQL_TYPE_DOUBLE, false),
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => (MYSQL_TYPE_NEWDECIMAL, false),
        DataType::Date32 | DataType::Date64 => (MYSQL_TYPE_DATE, false),
        DataType::Timestamp(..) => (MYSQL_TYPE_DATETIME, false),
        // Sent as text in both protocols: the binary one has no TIME encoder here.
        DataType::Time32(_) | DataType::Time64(_) => (MYSQL_TYPE_VAR_STRING, false),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => (MYSQL_TYPE_BLOB, false),
        _ => (MYSQL_TYPE_VAR_STRING, false),
    }
}

/// Renders every row to owned text first: Arrow's formatter is not `Send`, and the protocol
/// writer awaits between rows.
pub(crate) fn render(batches: &[RecordBatch]) -> Result<Vec<Vec<Option<String>>>, String> {
    let opts = FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_date_format(Some("%Y-%m-%d"));
    let mut out = Vec::new();
    for batch in batches {
        let cols: Vec<ColumnRenderer<'_>> = batch
            .columns()
            .iter()
            .map(|c| ColumnRenderer::new(c.as_ref(), &opts))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        for row in 0..batch.num_rows() {
            out.push(cols.iter().map(|c| c.value(row)).collect());
        }
    }
    Ok(out)
}

/// Renders one column's values; a row is NULL by the array's *logical* nulls, so that the
/// NULL type (`SELECT NULL`, which has no validity buffer) and dictionaries are NULL too.
struct ColumnRenderer<'a> {
    nulls: Option<NullBuffer>,
    kind: Kind<'a>,
}

enum Kind<'a> {
    /// ARRAY, MAP, STRUCT: StarRocks' text (`[1,2,null]`, `{"a":1,"b":"x"}`).
    Nested(&'a dyn Array, &'a FormatOptions<'a>),
    Bool(&'a arrow::array::BooleanArray),
    F32(&'a arrow::array::Float32Array),
    F64(&'a arrow::array::Float64Array),
    Other(ArrayFormatter<'a>),
}

impl<'a> ColumnRenderer<'a> {
    fn new(
        a: &'a dyn Array,
        opts: &'a FormatOptions<'a>,
    ) -> Result<Self, arrow::error::ArrowError> {
        let kind = match a.data_type() {
            DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::Struct(_)
            | DataType::Map(..) => Kind::Nested(a, opts),
            DataType::Boolean => Kind::Bool(a.as_boolean()),
            DataType::Float32 => Kind::F32(a.as_primitive::<Float32Type>()),
            DataType::Float64 => Kind::F64(a.as_primitive::<Float64Type>()),
            _ => Kind::Other(ArrayFormatter::try_new(a, opts)?),
        };
        Ok(Self {
            nulls: a.logical_nulls(),
            kind,
        })
    }

    fn value(&self, row: usize) -> Option<String> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            return None;
        }
        Some(match &self.kind {
            Kind::Nested(a, opts) => {
                let mut out = String::new();
                nested_text(*a, row, opts, &mut out).unwrap_or_else(|e| out = e.to_string());
                out
            }
            // MySQL clients expect booleans as TINYINT 1/0.
            Kind::Bool(a) => u8::from(a.value(row)).to_string(),
            Kind::F32(a) => a.value(row).to_string(),
            Kind::F64(a) => a.value(row).to_string(),
            Kind::Other(f) => f.value(row).to_string(),
        })
    }
}

/// Element `i` of `a` as StarRocks prints a value inside an ARRAY, MAP or STRUCT: JSON-like,
/// strings, dates and times quoted, NULL as `null`, booleans as 1 and 0, no spaces.
fn nested_text(
    a: &dyn Array,
    i: usize,
    opts: &FormatOptions<'_>,
    out: &mut String,
) -> Result<(), arrow::error::ArrowError> {
    if a.logical_nulls().is_some_and(|n| n.is_null(i)) {
        out.push_str("null");
        return Ok(());
    }
    let items = |v: &dyn Array, out: &mut String| -> Result<(), arrow::error::ArrowError> {
        out.push('[');
        for j in 0..v.len() {
            if j > 0 {
                out.push(',');
            }
            nested_text(v, j, opts, out)?;
        }
        out.push(']');
        Ok(())
    };
    match a.data_type() {
        DataType::List(_) => items(a.as_list::<i32>().value(i).as_ref(), out)?,
        DataType::LargeList(_) => items(a.as_list::<i64>().value(i).as_ref(), out)?,
        DataType::FixedSizeList(..) => items(a.as_fixed_size_list().value(i).as_ref(), out)?,
        DataType::Struct(fields) => {
            let s = a.as_struct();
            out.push('{');
            for (k, (f, c)) in fields.iter().zip(s.columns()).enumerate() {
                if k > 0 {
                    out.push(',');
                }
                quote(f.name(), out);
                out.push(':');
                nested_text(c.as_ref(), i, opts, out)?;
            }
            out.push('}');
        }
        DataType::Map(..) => {
            let entries = a.as_map().value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push(',');
                }
                nested_text(keys.as_ref(), j, opts, out)?;
                out.push(':');
                nested_text(values.as_ref(), j, opts, out)?;
            }
            out.push('}');
        }
        DataType::Boolean => out.push(if a.as_boolean().value(i) { '1' } else { '0' }),
        t => {
            let text = ArrayFormatter::try_new(a, opts)?.value(i).to_string();
            let quoted = matches!(
                t,
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
                    | DataType::Date32
                    | DataType::Date64
                    | DataType::Timestamp(..)
                    | DataType::Time32(_)
                    | DataType::Time64(_)
                    | DataType::Dictionary(..)
            );
            if quoted {
                quote(&text, out);
            } else {
                out.push_str(&text);
            }
        }
    }
    Ok(())
}

/// `s` as a JSON string.
fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}
