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
            Column {
                table: String::new(),
                column: f.name().clone(),
                coltype,
                colflags,
            }
        })
        .collect()
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
        DataType::Time32(_) | DataType::Time64(_) => (MYSQL_TYPE_TIME, false),
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
            // MySQL clients expect booleans as TINYINT 1/0.
            Kind::Bool(a) => u8::from(a.value(row)).to_string(),
            Kind::F32(a) => a.value(row).to_string(),
            Kind::F64(a) => a.value(row).to_string(),
            Kind::Other(f) => f.value(row).to_string(),
        })
    }
}
