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
use datafusion::common::ScalarValue;
use strata_catalog::{ColumnMeta, DefaultValue, LoadError, TableDef};
use strata_common::types::SrType;
use strata_query::types::table_schema;

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
pub struct Converter {
    schema: SchemaRef,
    columns: Vec<ColumnMeta>,
    sources: Vec<ColumnSource>,
    strict: bool,
    /// Each column's default, evaluated once per load (one `CURRENT_TIMESTAMP` for all rows).
    defaults: Vec<ScalarValue>,
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

/// Why a row was rejected, and at which target column.
#[derive(Debug, Clone, Copy)]
struct Rejection {
    col: usize,
    /// True: a NULL in a NOT NULL column; false: a value that does not convert.
    not_null: bool,
}

/// Marks `row` rejected unless an earlier column already did.
fn reject(rows: &mut Option<Vec<Option<Rejection>>>, n: usize, row: usize, why: Rejection) {
    let rows = rows.get_or_insert_with(|| vec![None; n]);
    if rows[row].is_none() {
        rows[row] = Some(why);
    }
}

impl Converter {
    /// A converter into `def`'s columns, each fed by `sources`.
    pub fn new(def: &TableDef, sources: Vec<ColumnSource>, strict: bool) -> Result<Self, String> {
        let schema = table_schema(def);
        let defaults = def
            .columns
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                let one = default_array(c, f.data_type(), 1)?;
                ScalarValue::try_from_array(&one, 0).map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            schema,
            columns: def.columns.clone(),
            sources,
            strict,
            defaults,
        })
    }

    /// The table schema batches are converted to.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

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
        // Allocated at the first rejected row: most batches have none.
        let mut rejected_rows: Option<Vec<Option<Rejection>>> = None;
        let mut out: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (ci, (col, src)) in self.columns.iter().zip(&self.sources).enumerate() {
            let target = self.schema.field(ci).data_type();
            let converted = match src {
                ColumnSource::Source(si) => {
                    let input = batch.column(*si);
                    let conv = convert_array(input, &col.ty, target)?;
                    // A value present in the source but NULL after conversion did not fit.
                    // Conversion only ever adds NULLs, so equal counts mean none failed.
                    // Non-strict mode loads failed values as NULL instead of rejecting.
                    // Logical nulls: a NullArray (VALUES (NULL)) has no null buffer.
                    if self.strict && conv.logical_null_count() > input.logical_null_count() {
                        let in_nulls = input.logical_nulls();
                        let out_nulls = conv.logical_nulls();
                        for row in 0..n {
                            let valid_in = in_nulls.as_ref().is_none_or(|x| x.is_valid(row));
                            let null_out = out_nulls.as_ref().is_some_and(|x| x.is_null(row));
                            if valid_in && null_out {
                                let why = Rejection {
                                    col: ci,
                                    not_null: false,
                                };
                                reject(&mut rejected_rows, n, row, why);
                            }
                        }
                    }
                    conv
                }
                ColumnSource::Default => self.defaults[ci]
                    .to_array_of_size(n)
                    .map_err(|e| e.to_string())?,
            };
            if !col.nullable && converted.logical_null_count() > 0 {
                let nulls = converted.logical_nulls();
                for row in 0..n {
                    if nulls.as_ref().is_some_and(|x| x.is_null(row)) {
                        let why = Rejection {
                            col: ci,
                            not_null: true,
                        };
                        reject(&mut rejected_rows, n, row, why);
                    }
                }
            }
            out.push(converted);
        }
        let Some(rejected_rows) = rejected_rows else {
            let batch =
                RecordBatch::try_new(self.schema.clone(), out).map_err(|e| e.to_string())?;
            return Ok(Converted {
                batch,
                rejected: 0,
                errors: Vec::new(),
            });
        };
        let rejected = rejected_rows.iter().filter(|r| r.is_some()).count() as u64;
        // Raw text and reason only for the rows that are kept.
        let mut errors = Vec::new();
        for (row, rej) in rejected_rows.iter().enumerate() {
            if errors.len() >= error_budget {
                break;
            }
            let Some(r) = rej else { continue };
            let col = &self.columns[r.col];
            let (value, reason) = match (r.not_null, &self.sources[r.col]) {
                (false, ColumnSource::Source(si)) => (
                    Some(raw_text(batch.column(*si), row)),
                    format!("value cannot be converted to {}", col.ty.describe()),
                ),
                _ => (None, "NULL value in a NOT NULL column".to_string()),
            };
            errors.push(LoadError {
                job_id: 0,
                file: file.to_string(),
                row: rows.get(row),
                column: col.name.clone(),
                value,
                reason,
            });
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
