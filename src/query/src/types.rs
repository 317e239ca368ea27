//! StarRocks types ⇄ Arrow types.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use strata_catalog::TableDef;
use strata_common::types::{SrType, VARCHAR_MAX};

/// The Arrow type a StarRocks type is stored and computed as.
pub fn arrow_type(t: &SrType) -> DataType {
    match t {
        SrType::Boolean => DataType::Boolean,
        SrType::TinyInt => DataType::Int8,
        SrType::SmallInt => DataType::Int16,
        SrType::Int => DataType::Int32,
        SrType::BigInt => DataType::Int64,
        SrType::LargeInt => DataType::Decimal128(38, 0),
        SrType::Float => DataType::Float32,
        SrType::Double => DataType::Float64,
        SrType::Decimal(p, s) => DataType::Decimal128(*p, *s as i8),
        SrType::Date => DataType::Date32,
        SrType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, None),
        SrType::Char(_) | SrType::Varchar(_) | SrType::Json => DataType::Utf8,
        SrType::Varbinary => DataType::Binary,
        SrType::Array(inner) => {
            DataType::List(Arc::new(Field::new("item", arrow_type(inner), true)))
        }
        SrType::Map(k, v) => DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", arrow_type(k), false),
                    Field::new("value", arrow_type(v), true),
                ])),
                false,
            )),
            false,
        ),
        SrType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|(n, t)| Field::new(n, arrow_type(t), true))
                .collect(),
        ),
    }
}

/// The StarRocks type an Arrow type is shown as (CTAS, FILES inference, result sets).
///
/// Strings become VARCHAR(1048576), as StarRocks infers; unsigned integers widen to the next
/// signed type that holds them.
pub fn sr_type(dt: &DataType) -> Option<SrType> {
    Some(match dt {
        DataType::Boolean => SrType::Boolean,
        DataType::Int8 => SrType::TinyInt,
        DataType::Int16 | DataType::UInt8 => SrType::SmallInt,
        DataType::Int32 | DataType::UInt16 => SrType::Int,
        DataType::Int64 | DataType::UInt32 => SrType::BigInt,
        DataType::UInt64 => SrType::LargeInt,
        DataType::Float16 | DataType::Float32 => SrType::Float,
        DataType::Float64 => SrType::Double,
        DataType::Decimal128(38, 0) => SrType::LargeInt,
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => SrType::Decimal((*p).min(38), (*s).max(0) as u8),
        DataType::Date32 | DataType::Date64 => SrType::Date,
        DataType::Timestamp(..) => SrType::Datetime,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            SrType::Varchar(VARCHAR_MAX)
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => SrType::Varbinary,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            SrType::Array(Box::new(sr_type(f.data_type())?))
        }
        DataType::Struct(fields) => SrType::Struct(
            fields
                .iter()
                .map(|f| Some((f.name().clone(), sr_type(f.data_type())?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => SrType::Map(
                Box::new(sr_type(kv[0].data_type())?),
                Box::new(sr_type(kv[1].data_type())?),
            ),
            _ => return None,
        },
        DataType::Dictionary(_, v) => return sr_type(v),
        _ => return None,
    })
}

/// The Arrow schema of a table's rows.
pub fn table_schema(def: &TableDef) -> SchemaRef {
    Arc::new(Schema::new(
        def.columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(&c.ty), c.nullable))
            .collect::<Vec<_>>(),
    ))
}
