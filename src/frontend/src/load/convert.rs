//! Converting source rows to a table's column types with StarRocks' rules and per-row
//! accounting: every value that does not fit is reported with its row, column and raw text.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, TimestampMicrosecondArray, new_null_array,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use strata_catalog::{ColumnMeta, DefaultValue, LoadError};
use strata_common::types::SrType;

/// Where each target column's values come from.
#[derive(Debug, Clone)]
pub enum ColumnSource {
    /// Source column index.
    Source(usize),
    /// Not in the source: the column default (or NULL).
    Default,
}

/// A converted batch and what was rejected from it.
pub struct Converted {
    /// Rows that fit, in the table schema.
    pub batch: RecordBatch,
    /// Rows rejected.
    pub rejected: u64,
    /// The first rejections (bounded by the caller's budget).
    pub errors: Vec<LoadError>,
}

/// Converts batches for one load.
#[derive(Clone)]
pub struct Converter {
    pub(crate) schema: SchemaRef,
    pub(crate) columns: Vec<ColumnMeta>,
    pub(crate) sources: Vec<ColumnSource>,
    pub(crate) strict: bool,
}

/// The numbers of a batch's rows in their source.
#[derive(Debug, Clone, Copy)]
pub enum RowNumbers<'a> {
    /// Consecutive, from this one (1-based).
    From(u64),
    /// One per row (rows read from files, numbered within their file).
    Listed(&'a [u64]),
}

impl RowNumbers<'_> {
    fn get(&self, i: usize) -> u64 {
        match self {
            RowNumbers::From(first) => first + i as u64,
            RowNumbers::Listed(rows) => rows[i],
        }
    }
}

struct Rejection {
    col: usize,
    raw: Option<String>,
    reason: String,
}

impl Converter {
    /// Converts `batch`, read from `file` (empty when the rows come from no one file), whose
    /// rows are numbered `rows`; keeps up to `error_budget` error records.
    pub fn convert(
        &self,
        batch: &RecordBatch,
        rows: RowNumbers<'_>,
        file: &str,
        error_budget: usize,
    ) -> Result<Converted, String> {
        let n = batch.num_rows();
        let mut rejected_rows: Vec<Option<Rejection>> = (0..n).map(|_| None).collect();
        let mut out: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (ci, (col, src)) in self.columns.iter().zip(&self.sources).enumerate() {
            let target = self.schema.field(ci).data_type().clone();
            let converted = match src {
                ColumnSource::Source(si) => {
                    let input = batch.column(*si);
                    let conv = convert_array(input, &col.ty, &target)?;
                    // A value present in the source but NULL after conversion did not fit.
                    // Logical nulls: a NullArray (VALUES (NULL)) has no null buffer.
                    let in_nulls = input.logical_nulls();
                    let out_nulls = conv.logical_nulls();
                    let valid_in = |row: usize| in_nulls.as_ref().is_none_or(|n| n.is_valid(row));
                    let null_out = |row: usize| out_nulls.as_ref().is_some_and(|n| n.is_null(row));
                    if input.logical_null_count() != input.len() {
                        for (row, rej) in rejected_rows.iter_mut().enumerate() {
                            if valid_in(row) && null_out(row) && rej.is_none() {
                                *rej = Some(Rejection {
                                    col: ci,
                                    raw: Some(raw_text(input, row)),
                                    reason: format!(
                                        "value cannot be converted to {}",
                                        col.ty.describe()
                                    ),
                                });
                            }
                        }
                    }
                    if self.strict {
                        conv
                    } else {
                        // Non-strict: failed conversions are loaded as NULL; only NOT NULL
                        // violations reject below.
                        for rej in rejected_rows.iter_mut() {
                            if rej.as_ref().is_some_and(|r| r.col == ci) {
                                *rej = None;
                            }
                        }
                        conv
                    }
                }
                ColumnSource::Default => default_array(col, &target, n)?,
            };
            if !col.nullable && converted.logical_null_count() > 0 {
                let nulls = converted.logical_nulls();
                for (row, rej) in rejected_rows.iter_mut().enumerate() {
                    if nulls.as_ref().is_some_and(|n| n.is_null(row)) && rej.is_none() {
                        *rej = Some(Rejection {
                            col: ci,
                            raw: None,
                            reason: "NULL value in a NOT NULL column".to_string(),
                        });
                    }
                }
            }
            out.push(converted);
        }
        let rejected = rejected_rows.iter().filter(|r| r.is_some()).count() as u64;
        if rejected == 0 {
            let batch =
                RecordBatch::try_new(self.schema.clone(), out).map_err(|e| e.to_string())?;
            return Ok(Converted {
                batch,
                rejected: 0,
                errors: Vec::new(),
            });
        }
        let mut errors = Vec::new();
        for (row, rej) in rejected_rows.iter().enumerate() {
            if errors.len() >= error_budget {
                break;
            }
            if let Some(r) = rej {
                errors.push(LoadError {
                    job_id: 0,
                    file: file.to_string(),
                    row: rows.get(row),
                    column: self.columns[r.col].name.clone(),
                    value: r.raw.clone(),
                    reason: r.reason.clone(),
                });
            }
        }
        // Rejected rows may hold NULLs in NOT NULL columns: filter the columns before they
        // meet the table schema.
        let keep = BooleanArray::from_iter(rejected_rows.iter().map(|r| Some(r.is_none())));
        let kept = out
            .iter()
            .map(|c| arrow::compute::filter(c.as_ref(), &keep))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let batch = RecordBatch::try_new(self.schema.clone(), kept).map_err(|e| e.to_string())?;
        Ok(Converted {
            batch,
            rejected,
            errors,
        })
    }
}

fn raw_text(a: &ArrayRef, row: usize) -> String {
    ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())
        .map(|f| f.value(row).to_string())
        .unwrap_or_default()
}

/// Casts one column; values that do not fit become NULL (the caller accounts for them).
pub(crate) fn convert_array(
    input: &ArrayRef,
    ty: &SrType,
    target: &DataType,
) -> Result<ArrayRef, String> {
    let is_string_input = matches!(
        input.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let cast_opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    let out = match ty {
        SrType::Datetime | SrType::Date if is_string_input => {
            let s =
                cast_with_options(input, &DataType::Utf8, &cast_opts).map_err(|e| e.to_string())?;
            let s = s.as_string::<i32>();
            let micros: TimestampMicrosecondArray = s
                .iter()
                .map(|v| v.and_then(parse_datetime_micros))
                .collect();
            let ts: ArrayRef = Arc::new(micros);
            if matches!(ty, SrType::Date) {
                cast_with_options(&ts, target, &cast_opts).map_err(|e| e.to_string())?
            } else {
                ts
            }
        }
        _ => match cast_with_options(input, target, &cast_opts) {
            Ok(a) => a,
            Err(e) => {
                return Err(format!(
                    "cannot convert {} to {}: {e}",
                    input.data_type(),
                    ty.describe()
                ));
            }
        },
    };
    Ok(match ty {
        SrType::Varchar(n) | SrType::Char(n) => enforce_length(out, *n as usize),
        _ => out,
    })
}

/// Strings longer than the column's byte length do not fit: they become NULL.
fn enforce_length(a: ArrayRef, max: usize) -> ArrayRef {
    let s = a.as_string::<i32>();
    if s.iter().all(|v| v.is_none_or(|v| v.len() <= max)) {
        return a;
    }
    let fixed: arrow::array::StringArray = s.iter().map(|v| v.filter(|v| v.len() <= max)).collect();
    Arc::new(fixed)
}

fn default_array(col: &ColumnMeta, target: &DataType, n: usize) -> Result<ArrayRef, String> {
    match &col.default {
        None | Some(DefaultValue::Null) => Ok(new_null_array(target, n)),
        Some(DefaultValue::Literal(v)) => {
            let one: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![v.as_str(); n]));
            convert_array(&one, &col.ty, target)
        }
        Some(DefaultValue::CurrentTimestamp) => {
            let now = chrono::Local::now()
                .naive_local()
                .and_utc()
                .timestamp_micros();
            let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![now; n]));
            cast_with_options(&ts, target, &CastOptions::default()).map_err(|e| e.to_string())
        }
    }
}

/// The decimal number in `b[r]`, if those bytes are all digits.
fn digits(b: &[u8], r: std::ops::Range<usize>) -> Option<u32> {
    let part = b.get(r)?;
    if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        part.iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
    )
}

/// Parses the date/datetime forms StarRocks accepts: `YYYY-MM-DD[( |T)HH:MM:SS[.ffffff]]`,
/// `YYYYMMDD[HHMMSS]`, `YYYY/MM/DD ...`. Returns microseconds since the epoch, or `None`.
pub fn parse_datetime_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| digits(b, r);
    let (date, rest) = if b.len() >= 10 && (b[4] == b'-' || b[4] == b'/') && b[7] == b[4] {
        (
            NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?,
            &s[10..],
        )
    } else if (b.len() == 8 || b.len() == 14) && b.iter().all(u8::is_ascii_digit) {
        let d = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(4..6)?, num(6..8)?)?;
        let t = if b.len() == 14 {
            NaiveTime::from_hms_opt(num(8..10)?, num(10..12)?, num(12..14)?)?
        } else {
            NaiveTime::MIN
        };
        return Some(NaiveDateTime::new(d, t).and_utc().timestamp_micros());
    } else {
        return None;
    };
    let time = if rest.is_empty() {
        NaiveTime::MIN
    } else {
        let r = rest.as_bytes();
        if !(r[0] == b' ' || r[0] == b'T') || r.len() < 9 || r[3] != b':' || r[6] != b':' {
            return None;
        }
        let p = |x: std::ops::Range<usize>| digits(r, x);
        let (h, m, sec) = (p(1..3)?, p(4..6)?, p(7..9)?);
        let mut micros = 0u32;
        if r.len() > 9 {
            if r[9] != b'.' || r.len() == 10 {
                return None;
            }
            let frac = &rest[10..];
            if frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let mut digits = frac.to_string();
            digits.truncate(6);
            while digits.len() < 6 {
                digits.push('0');
            }
            micros = digits.parse().ok()?;
        }
        NaiveTime::from_hms_micro_opt(h, m, sec, micros)?
    };
    Some(NaiveDateTime::new(date, time).and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_forms() {
        let base = parse_datetime_micros("2017-11-25 01:21:25").unwrap();
        assert_eq!(parse_datetime_micros("2017-11-25T01:21:25"), Some(base));
        assert_eq!(parse_datetime_micros("20171125012125"), Some(base));
        assert_eq!(
            parse_datetime_micros("2017-11-25 01:21:25.5"),
            Some(base + 500_000)
        );
        assert_eq!(
            parse_datetime_micros("2017-11-25"),
            parse_datetime_micros("2017-11-25 00:00:00")
        );
        for bad in [
            "abc",
            "",
            "2024-13-01",
            "2021-02-29",
            "2017-11-25 25:00:00",
            "2017-11-25x",
        ] {
            assert_eq!(parse_datetime_micros(bad), None, "{bad}");
        }
    }
}
