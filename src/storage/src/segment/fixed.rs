//! Integer, date and datetime columns: byte-stream-split pages.

use arrow::array::{Array, ArrayRef, AsArray, BooleanBufferBuilder};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use parquet::basic::Encoding;
use parquet::errors::ParquetError;
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::schema::types::ColumnDescPtr;

use super::chunk::{Chunk, DataPage, MinMax, StatKind};
use super::rle::{byte_stream_split, def_levels};
use super::{Encoded, PAGE_ROWS};

/// A value type stored as Parquet INT32 or INT64.
trait Fixed: Copy + Ord + Default {
    const KIND: StatKind;
    /// Smallest and largest of `values`, if any.
    fn bounds(values: &[Self]) -> Option<(Self, Self)>;
    fn le(self) -> Vec<u8>;
    fn split(values: &[Self], out: &mut Vec<u8>);
    fn statistics(min: Option<Self>, max: Option<Self>, nulls: u64) -> Statistics;
}

impl Fixed for i32 {
    const KIND: StatKind = StatKind::Int32;
    fn bounds(values: &[Self]) -> Option<(Self, Self)> {
        // By value with `fold`, which the compiler vectorises (`iter().min()` keeps
        // references and compares one at a time).
        (!values.is_empty()).then(|| {
            let lo = values.iter().copied().fold(Self::MAX, Self::min);
            let hi = values.iter().copied().fold(Self::MIN, Self::max);
            (lo, hi)
        })
    }
    fn le(self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
    fn split(values: &[Self], out: &mut Vec<u8>) {
        byte_stream_split(values, Self::to_le_bytes, out);
    }
    fn statistics(min: Option<Self>, max: Option<Self>, nulls: u64) -> Statistics {
        ValueStatistics::new(min, max, None, Some(nulls), false)
            .with_backwards_compatible_min_max(true)
            .into()
    }
}

impl Fixed for i64 {
    const KIND: StatKind = StatKind::Int64;
    fn bounds(values: &[Self]) -> Option<(Self, Self)> {
        // By value with `fold`, which the compiler vectorises (`iter().min()` keeps
        // references and compares one at a time).
        (!values.is_empty()).then(|| {
            let lo = values.iter().copied().fold(Self::MAX, Self::min);
            let hi = values.iter().copied().fold(Self::MIN, Self::max);
            (lo, hi)
        })
    }
    fn le(self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
    fn split(values: &[Self], out: &mut Vec<u8>) {
        byte_stream_split(values, Self::to_le_bytes, out);
    }
    fn statistics(min: Option<Self>, max: Option<Self>, nulls: u64) -> Statistics {
        ValueStatistics::new(min, max, None, Some(nulls), false)
            .with_backwards_compatible_min_max(true)
            .into()
    }
}

/// Encodes a column of INT, SMALLINT, TINYINT or DATE values (Parquet INT32).
pub(super) fn encode_int32(
    descr: &ColumnDescPtr,
    column: &[ArrayRef],
) -> Result<Encoded, ParquetError> {
    encode::<i32>(descr, column, |a, out| match a.data_type() {
        DataType::Int8 => extend::<Int8Type, _>(a, out, i32::from),
        DataType::Int16 => extend::<Int16Type, _>(a, out, i32::from),
        DataType::Int32 => extend::<Int32Type, _>(a, out, |v| v),
        DataType::Date32 => extend::<Date32Type, _>(a, out, |v| v),
        t => unsupported(t),
    })
}

/// Encodes a column of BIGINT or DATETIME values (Parquet INT64).
pub(super) fn encode_int64(
    descr: &ColumnDescPtr,
    column: &[ArrayRef],
) -> Result<Encoded, ParquetError> {
    encode::<i64>(descr, column, |a, out| match a.data_type() {
        DataType::Int64 => extend::<Int64Type, _>(a, out, |v| v),
        DataType::Timestamp(TimeUnit::Second, _) => extend::<TimestampSecondType, _>(a, out, |v| v),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            extend::<TimestampMillisecondType, _>(a, out, |v| v)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            extend::<TimestampMicrosecondType, _>(a, out, |v| v)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            extend::<TimestampNanosecondType, _>(a, out, |v| v)
        }
        t => unsupported(t),
    })
}

fn unsupported(t: &DataType) -> Result<(), ParquetError> {
    Err(ParquetError::General(format!(
        "segment encoder: unexpected {t} in an integer column"
    )))
}

/// Appends the non-NULL values of `a`, converted by `f`, to `out`.
fn extend<T: ArrowPrimitiveType, V>(
    a: &ArrayRef,
    out: &mut Vec<V>,
    f: impl Fn(T::Native) -> V,
) -> Result<(), ParquetError> {
    let a = a.as_primitive::<T>();
    let values = a.values();
    match a.nulls().filter(|n| n.null_count() > 0) {
        None => out.extend(values.iter().map(|&v| f(v))),
        Some(nulls) => out.extend(nulls.valid_indices().map(|i| f(values[i]))),
    }
    Ok(())
}

/// Appends each piece's validity to the page's, made on the first NULL.
fn note_validity(validity: &mut Option<BooleanBufferBuilder>, rows_before: usize, a: &ArrayRef) {
    match a.nulls().filter(|n| n.null_count() > 0) {
        Some(nulls) => validity
            .get_or_insert_with(|| {
                let mut b = BooleanBufferBuilder::new(PAGE_ROWS);
                b.append_n(rows_before, true);
                b
            })
            .append_buffer(nulls.inner()),
        None => {
            if let Some(v) = validity {
                v.append_n(a.len(), true);
            }
        }
    }
}

/// The pieces of `column` cut into pages of [`PAGE_ROWS`] rows.
pub(super) fn pages(column: &[ArrayRef], page_rows: usize) -> Vec<Vec<ArrayRef>> {
    let mut pages = Vec::new();
    let mut page: Vec<ArrayRef> = Vec::new();
    let mut rows = 0;
    for a in column {
        let mut offset = 0;
        while offset < a.len() {
            let take = (page_rows - rows).min(a.len() - offset);
            page.push(if offset == 0 && take == a.len() {
                a.clone()
            } else {
                a.slice(offset, take)
            });
            offset += take;
            rows += take;
            if rows == page_rows {
                pages.push(std::mem::take(&mut page));
                rows = 0;
            }
        }
    }
    if rows > 0 {
        pages.push(page);
    }
    pages
}

fn encode<T: Fixed>(
    descr: &ColumnDescPtr,
    column: &[ArrayRef],
    values_of: impl Fn(&ArrayRef, &mut Vec<T>) -> Result<(), ParquetError>,
) -> Result<Encoded, ParquetError> {
    let nullable = descr.max_def_level() > 0;
    let rows: usize = column.iter().map(|a| a.len()).sum();
    let mut chunk = Chunk::new(descr, T::KIND, rows * std::mem::size_of::<T>());
    let (mut min, mut max, mut nulls) = (None::<T>, None::<T>, 0u64);
    let mut values: Vec<T> = Vec::with_capacity(PAGE_ROWS);
    let (mut levels, mut encoded) = (Vec::new(), Vec::new());
    for page in pages(column, PAGE_ROWS) {
        values.clear();
        levels.clear();
        encoded.clear();
        let mut validity = None;
        let mut rows = 0;
        for a in &page {
            note_validity(&mut validity, rows, a);
            values_of(a, &mut values)?;
            rows += a.len();
        }
        let page_nulls = rows - values.len();
        if page_nulls > 0 && !nullable {
            return Err(ParquetError::General(format!(
                "segment encoder: NULL in NOT NULL column {}",
                descr.name()
            )));
        }
        if nullable {
            let validity = validity.map(|mut v| v.finish());
            def_levels(validity.as_ref(), rows, &mut levels);
        }
        let bounds = T::bounds(&values);
        if let Some((lo, hi)) = bounds {
            min = Some(min.map_or(lo, |m| m.min(lo)));
            max = Some(max.map_or(hi, |m| m.max(hi)));
        }
        nulls += page_nulls as u64;
        T::split(&values, &mut encoded);
        let (lo, hi) = bounds.map(|(lo, hi)| (lo.le(), hi.le())).unzip();
        chunk.data_page(DataPage {
            levels: &levels,
            values: &encoded,
            encoding: Encoding::BYTE_STREAM_SPLIT,
            rows,
            nulls: page_nulls,
            stats: lo
                .as_deref()
                .zip(hi.as_deref())
                .map(|(min, max)| MinMax { min, max }),
        })?;
    }
    chunk.finish(T::statistics(min, max, nulls), None)
}
