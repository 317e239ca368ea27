//! Values a reader could not turn into the FILES() schema's type.
//!
//! FILES() reads every file into one schema, inferred from sampled files: a CSV field is
//! parsed as the BIGINT its column was inferred as, a Parquet column of an unsampled file is
//! cast to the type the sampled files gave it. A value that does not fit becomes NULL there —
//! what a query over FILES() returns, as in StarRocks. A *load* must see it, though: strict mode
//! filters such a row and names the file, row, column and the value as it was in the file, and
//! only non-strict mode keeps the NULL.
//!
//! So a reader appends to the batch it makes a hidden last column, [`BAD_COLUMN`], holding for
//! each row the first value that did not fit (column, raw text, reason), or NULL. The piece's
//! [`Decorate`](super::read) step takes that column off every batch; for a load it moves the
//! entries, numbered by their row in the file, into the piece's [`ReadFailures`], which the
//! load's converter reads as the rows go by.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// The hidden last column of a reader's batch: the row's first unconvertible value.
pub(crate) const BAD_COLUMN: &str = "__strata_bad";

/// How much of a rejected value is kept (the rest is counted, not copied).
pub const VALUE_PREFIX_BYTES: usize = 1024;

const SEP: char = '\u{1f}';

/// A value of one row that could not be read as its column's type, or (with an empty
/// `column`) a row that could not be read at all: a CSV record with the wrong number of
/// fields, which a load filters whether strict mode is on or not, as StarRocks does.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadFailure {
    /// The row's 1-based number within its file.
    pub row: u64,
    /// The FILES() column; empty when the whole row is unreadable.
    pub column: String,
    /// The value as it was in the file (at most [`VALUE_PREFIX_BYTES`], with the length noted).
    pub value: String,
    /// Why it does not fit.
    pub reason: String,
}

/// The read failures of one piece, in row order, shared between its reader and the load.
#[derive(Debug, Clone, Default)]
pub struct ReadFailures(Arc<Mutex<VecDeque<ReadFailure>>>);

impl ReadFailures {
    fn push(&self, f: ReadFailure) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(f);
    }

    /// Takes the failures of rows up to and including `row`.
    pub fn take_through(&self, row: u64) -> Vec<ReadFailure> {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = q.iter().take_while(|f| f.row <= row).count();
        q.drain(..n).collect()
    }

    /// Takes every failure recorded so far.
    pub fn take_all(&self) -> Vec<ReadFailure> {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.drain(..).collect()
    }
}

/// The first failure of each row of a batch being made; allocated at the first failure.
#[derive(Debug, Default)]
pub(crate) struct BadRows(Option<Vec<Option<String>>>);

impl BadRows {
    /// Records that `value` of `column` in row `row` (of `rows`) is not a `ty`.
    pub(crate) fn add(&mut self, rows: usize, row: usize, column: &str, value: &str, ty: &str) {
        let reason = format!("value cannot be converted to {ty}");
        self.entry(rows, row, column, value, &reason);
    }

    /// Records that row `row` (of `rows`), whose text is `record`, cannot be read at all.
    pub(crate) fn add_row(&mut self, rows: usize, row: usize, record: &str, reason: &str) {
        self.entry(rows, row, "", record, reason);
    }

    fn entry(&mut self, rows: usize, row: usize, column: &str, value: &str, reason: &str) {
        let v = self.0.get_or_insert_with(|| vec![None; rows]);
        if v.len() < rows {
            v.resize(rows, None);
        }
        if v[row].is_none() {
            v[row] = Some(format!("{column}{SEP}{}{SEP}{reason}", bounded(value)));
        }
    }

    /// Records the rows where `output` (a cast of `input` to `ty`) lost a value.
    pub(crate) fn add_cast(&mut self, column: &str, input: &dyn Array, output: &dyn Array) {
        if output.logical_null_count() <= input.logical_null_count() {
            return;
        }
        let (in_nulls, out_nulls) = (input.logical_nulls(), output.logical_nulls());
        let Ok(fmt) = ArrayFormatter::try_new(input, &FormatOptions::default()) else {
            return;
        };
        let ty = crate::types::sr_type(output.data_type())
            .map_or_else(|| output.data_type().to_string(), |t| t.describe());
        let rows = input.len();
        for row in 0..rows {
            let lost = in_nulls.as_ref().is_none_or(|n| n.is_valid(row))
                && out_nulls.as_ref().is_some_and(|n| n.is_null(row));
            if lost {
                self.add(rows, row, column, &fmt.value(row).to_string(), &ty);
            }
        }
    }

    /// `batch` with the [`BAD_COLUMN`] appended when a row failed.
    pub(crate) fn attach(
        self,
        batch: RecordBatch,
    ) -> Result<RecordBatch, arrow::error::ArrowError> {
        let Some(mut bad) = self.0 else {
            return Ok(batch);
        };
        bad.resize(batch.num_rows(), None);
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(BAD_COLUMN, DataType::Utf8, true));
        let mut cols = batch.columns().to_vec();
        cols.push(Arc::new(StringArray::from(bad)) as ArrayRef);
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
    }
}

impl ReadFailure {
    /// Whether the whole row is unreadable (rejected in non-strict mode too).
    pub fn whole_row(&self) -> bool {
        self.column.is_empty()
    }
}

/// Takes the [`BAD_COLUMN`] off `batch`; with a sink, its entries go there numbered from
/// `first_row`.
pub(crate) fn detach(
    batch: RecordBatch,
    first_row: u64,
    sink: Option<&ReadFailures>,
) -> RecordBatch {
    let last = batch.num_columns().saturating_sub(1);
    if batch.num_columns() == 0 || batch.schema().field(last).name() != BAD_COLUMN {
        return batch;
    }
    if let Some(sink) = sink
        && let Some(bad) = batch.column(last).as_any().downcast_ref::<StringArray>()
    {
        for (i, entry) in bad.iter().enumerate() {
            let Some(entry) = entry else { continue };
            let mut parts = entry.splitn(3, SEP);
            let (column, value, reason) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            sink.push(ReadFailure {
                row: first_row + i as u64,
                column: column.to_string(),
                value: value.to_string(),
                reason: reason.to_string(),
            });
        }
    }
    let mut batch = batch;
    batch.remove_column(last);
    batch
}

/// `value`, or its first [`VALUE_PREFIX_BYTES`] with its length noted.
pub fn bounded(value: &str) -> String {
    if value.len() <= VALUE_PREFIX_BYTES {
        return value.to_string();
    }
    let mut end = VALUE_PREFIX_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &value[..end], value.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

    #[test]
    fn bad_rows_travel_with_the_batch_and_come_off_numbered() {
        let batch = RecordBatch::try_from_iter([(
            "a",
            Arc::new(Int64Array::from(vec![Some(1), None, None])) as ArrayRef,
        )])
        .unwrap();
        let mut bad = BadRows::default();
        bad.add(3, 1, "a", "x", "bigint");
        bad.add(3, 1, "b", "y", "bigint");
        bad.add(3, 2, "a", &"z".repeat(5000), "bigint");
        let with = bad.attach(batch.clone()).unwrap();
        assert_eq!(with.num_columns(), 2);
        let sink = ReadFailures::default();
        let back = detach(with, 10, Some(&sink));
        assert_eq!(back, batch);
        let got = sink.take_through(11);
        assert_eq!(
            got,
            vec![ReadFailure {
                row: 11,
                column: "a".into(),
                value: "x".into(),
                reason: "value cannot be converted to bigint".into(),
            }]
        );
        let rest = sink.take_all();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].row, 12);
        assert!(
            rest[0].value.ends_with("… (5000 bytes in all)"),
            "{}",
            rest[0].value
        );
        assert!(rest[0].value.len() < 1100);
        // Without a sink (a query), the column only comes off.
        let mut bad = BadRows::default();
        bad.add(3, 0, "a", "x", "bigint");
        assert_eq!(detach(bad.attach(batch.clone()).unwrap(), 1, None), batch);
    }
}
