//! Encoding a segment: rows, already in key order, into one Parquet file.
//!
//! The common column types — integers, dates, datetimes and strings — are encoded here, page
//! by page, by code written for exactly these types; any other type goes through arrow-rs's
//! column writer. Both produce standard Parquet (data pages v2, LZ4_RAW, page statistics
//! with a column and offset index), read back by the same reader. docs/design.md says why
//! ("Segment encoding") and what was measured.

mod chunk;
mod fixed;
mod rle;
mod strings;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnWriter, compute_leaves};
use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedRowGroupWriter;
use parquet::schema::types::{ColumnDescPtr, ColumnPath};

/// Rows per data page (arrow-rs' default limit too): a point query reads one page of a row
/// group, found through the page index.
const PAGE_ROWS: usize = 20_000;

/// Bytes of values per data page before a new one starts (for long strings).
const PAGE_BYTES: usize = 1 << 20;

/// Bytes of dictionary per column chunk before its values are stored plain instead: a column
/// with many distinct values gives up after 64 KB rather than hashing every value into a
/// large dictionary first.
const DICTIONARY_LIMIT: usize = 64 * 1024;

/// Longest min/max kept in statistics and the column index for strings.
const STATS_TRUNCATE: usize = 64;

/// How one column of the table is encoded.
enum Plan {
    /// 32-bit integers (INT, SMALLINT, TINYINT, DATE): byte-stream-split.
    Int32(ColumnDescPtr),
    /// 64-bit integers (BIGINT, DATETIME): byte-stream-split.
    Int64(ColumnDescPtr),
    /// Strings and binary: a dictionary while it stays small, then plain.
    Bytes(ColumnDescPtr),
    /// Anything else: arrow-rs' column writer, over this many leaf columns.
    Arrow(usize),
}

/// Writer properties of segments; arrow-rs' writer uses them for the columns it encodes,
/// and the file's metadata names them.
pub(crate) fn writer_properties(schema: &SchemaRef, row_group_rows: usize) -> WriterProperties {
    let mut props = WriterProperties::builder()
        // LZ4 (StarRocks' default codec too): encoding and decoding cost far less than zstd's.
        .set_compression(Compression::LZ4_RAW)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(false)
        .set_dictionary_page_size_limit(DICTIONARY_LIMIT);
    for f in schema.fields() {
        let col = ColumnPath::from(f.name().as_str());
        match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => {
                props = props.set_column_dictionary_enabled(col, true);
            }
            DataType::Float32 | DataType::Float64 => {
                props = props.set_column_encoding(col, Encoding::BYTE_STREAM_SPLIT);
            }
            _ => {}
        }
    }
    props.build()
}

/// Writes the rows of `batches`, in this order, to `out` as one Parquet file of row groups of
/// `row_group_rows` rows; returns `out`. While `spread` is set (looked at row group by row
/// group), a row group's columns are encoded on two threads: the writer sets it when a load's
/// input has ended, so that its last segments do not finish on one core while the other idles.
pub(crate) fn write_segment<W: Write + Send>(
    out: W,
    schema: &SchemaRef,
    batches: &[&RecordBatch],
    row_group_rows: usize,
    spread: &AtomicBool,
) -> Result<W, ParquetError> {
    let props = writer_properties(schema, row_group_rows);
    let (mut file, factory) =
        ArrowWriter::try_new(out, Arc::clone(schema), Some(props))?.into_serialized_writer()?;
    let plans = plan(schema, file.schema_descr().columns());
    let mut slices: Vec<RecordBatch> = Vec::new();
    let mut rows = 0;
    let mut row_group = 0;
    let mut flush = |slices: &mut Vec<RecordBatch>, row_group: &mut usize| {
        let mut rg = file.next_row_group()?;
        let arrow_writers = if plans.iter().any(|p| matches!(p, Plan::Arrow(_))) {
            Some(factory.create_column_writers(*row_group)?)
        } else {
            None
        };
        let parallel = spread.load(Ordering::Relaxed);
        write_row_group(&mut rg, schema, &plans, slices, arrow_writers, parallel)?;
        rg.close()?;
        slices.clear();
        *row_group += 1;
        Ok::<_, ParquetError>(())
    };
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (row_group_rows - rows).min(batch.num_rows() - offset);
            slices.push(batch.slice(offset, take));
            offset += take;
            rows += take;
            if rows == row_group_rows {
                flush(&mut slices, &mut row_group)?;
                rows = 0;
            }
        }
    }
    if rows > 0 {
        flush(&mut slices, &mut row_group)?;
    }
    file.into_inner()
}

/// Chooses each column's encoder from its Arrow type and Parquet leaf.
fn plan(schema: &SchemaRef, leaves: &[ColumnDescPtr]) -> Vec<Plan> {
    let mut next = 0;
    schema
        .fields()
        .iter()
        .map(|f| {
            let n = leaf_count(f.data_type());
            let leaf = &leaves[next];
            next += n;
            let physical = leaf.physical_type();
            match f.data_type() {
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Date32
                    if physical == PhysicalType::INT32 =>
                {
                    Plan::Int32(leaf.clone())
                }
                DataType::Int64 | DataType::Timestamp(..) if physical == PhysicalType::INT64 => {
                    Plan::Int64(leaf.clone())
                }
                DataType::Utf8 | DataType::Binary if physical == PhysicalType::BYTE_ARRAY => {
                    Plan::Bytes(leaf.clone())
                }
                _ => Plan::Arrow(n),
            }
        })
        .collect()
}

/// Parquet leaf columns of an Arrow type.
fn leaf_count(t: &DataType) -> usize {
    match t {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => leaf_count(f.data_type()),
        DataType::Struct(fields) => fields.iter().map(|f| leaf_count(f.data_type())).sum(),
        _ => 1,
    }
}

fn write_row_group<W: Write + Send>(
    rg: &mut SerializedRowGroupWriter<'_, W>,
    schema: &SchemaRef,
    plans: &[Plan],
    slices: &[RecordBatch],
    arrow_writers: Option<Vec<ArrowColumnWriter>>,
    parallel: bool,
) -> Result<(), ParquetError> {
    let columns: Vec<Vec<ArrayRef>> = (0..plans.len())
        .map(|ci| slices.iter().map(|b| b.column(ci).clone()).collect())
        .collect();
    // Our own plans encode each column on its own; with `parallel` a second thread takes every
    // other column. The chunks are appended in column order either way.
    let encode = |ci: usize| -> Result<Option<Encoded>, ParquetError> {
        match &plans[ci] {
            Plan::Int32(descr) => fixed::encode_int32(descr, &columns[ci]).map(Some),
            Plan::Int64(descr) => fixed::encode_int64(descr, &columns[ci]).map(Some),
            Plan::Bytes(descr) => strings::encode(descr, &columns[ci]).map(Some),
            Plan::Arrow(_) => Ok(None),
        }
    };
    let encoded: Vec<Option<Encoded>> = if parallel && plans.len() > 1 {
        let (even, odd) = std::thread::scope(|s| {
            let helper = s.spawn(|| (1..plans.len()).step_by(2).map(encode).collect::<Vec<_>>());
            let even: Vec<_> = (0..plans.len()).step_by(2).map(encode).collect();
            (even, helper.join())
        });
        let odd = odd.map_err(|_| ParquetError::General("a column encoder panicked".into()))?;
        let (mut even, mut odd) = (even.into_iter(), odd.into_iter());
        (0..plans.len())
            .map(|ci| if ci % 2 == 0 { even.next() } else { odd.next() })
            .map(|r| r.expect("one result per column"))
            .collect::<Result<_, _>>()?
    } else {
        (0..plans.len()).map(encode).collect::<Result<_, _>>()?
    };
    let mut arrow_writers = arrow_writers.map(Vec::into_iter);
    for ((ci, p), own) in plans.iter().enumerate().zip(encoded) {
        if !matches!(p, Plan::Arrow(_)) {
            // arrow-rs made a writer for every leaf: this one's is not used.
            arrow_writers.as_mut().map(Iterator::next);
        }
        if let Plan::Arrow(n) = p {
            let writers = arrow_writers
                .as_mut()
                .expect("arrow-rs writers are made when a plan needs them");
            let mut mine: Vec<ArrowColumnWriter> = writers.by_ref().take(*n).collect();
            let field = schema.field(ci);
            for a in &columns[ci] {
                for (w, leaf) in mine.iter_mut().zip(compute_leaves(field, a)?) {
                    w.write(&leaf)?;
                }
            }
            for w in mine {
                w.close()?.append_to_row_group(rg)?;
            }
        }
        if let Some((bytes, close)) = own {
            rg.append_column(&bytes, close)?;
        }
    }
    Ok(())
}

/// A column chunk encoded here: its bytes and what closing it reports.
type Encoded = (Bytes, parquet::column::writer::ColumnCloseResult);

#[cfg(test)]
mod tests;
