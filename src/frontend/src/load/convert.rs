//! Converting source rows to a table's column types with StarRocks' rules and per-row
//! accounting: every value that does not fit is reported with its row, column and raw text.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, RecordBatch, TimestampMicrosecondArray,
    new_null_array,
};
use arrow::buffer::NullBuffer;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::ScalarValue;
use strata_catalog::{ColumnMeta, DefaultValue, LoadError, TableDef};
use strata_common::types::SrType;
use strata_query::files::{READ_AS_TEXT, ReadFailure, bounded};
use strata_query::types::table_schema;

mod datetime;
mod nested;

pub use datetime::parse_datetime_micros;
use datetime::parse_datetimes;

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
    /// A value the file's reader could not read as its FILES() column's type: the index of
    /// its failure among those given to [`Converter::convert`].
    read: Option<usize>,
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

    /// The schema of converted columns: the table's, but for strings kept as views.
    fn schema_of(&self, columns: &[ArrayRef]) -> SchemaRef {
        let same = self
            .schema
            .fields()
            .iter()
            .zip(columns)
            .all(|(f, c)| f.data_type() == c.data_type());
        if same {
            return self.schema.clone();
        }
        let fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .zip(columns)
            .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The type of the target column source column `si` feeds, if it feeds one.
    pub fn target_of(&self, si: usize) -> Option<&SrType> {
        self.sources
            .iter()
            .position(|s| matches!(s, ColumnSource::Source(i) if *i == si))
            .map(|ci| &self.columns[ci].ty)
    }

    /// Whether conversion failures reject rows (else they load as NULL).
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// Converts `batch`, read from `file` (empty when the rows come from no one file), whose
    /// rows are numbered `rows`; keeps up to `error_budget` error records. `read_failures`
    /// are values of the batch's rows (by index) that the file's reader could not read as
    /// their FILES() column's type: NULL in the batch, rejected in strict mode like any
    /// value that does not convert; a row the reader could not read at all (wrong field
    /// count) is rejected in either mode.
    pub fn convert(
        &self,
        batch: &RecordBatch,
        rows: RowNumbers<'_>,
        file: &str,
        error_budget: usize,
        read_failures: &[(usize, ReadFailure)],
    ) -> Result<Converted, String> {
        let n = batch.num_rows();
        // Allocated at the first rejected row: most batches have none.
        let mut rejected_rows: Option<Vec<Option<Rejection>>> = None;
        for (i, (row, f)) in read_failures.iter().enumerate() {
            if self.strict || f.whole_row() {
                let why = Rejection {
                    col: 0,
                    not_null: false,
                    read: Some(i),
                };
                reject(&mut rejected_rows, n, *row, why);
            }
        }
        let mut out: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (ci, (col, src)) in self.columns.iter().zip(&self.sources).enumerate() {
            let target = self.schema.field(ci).data_type();
            let converted = match src {
                ColumnSource::Source(si) => {
                    let input = batch.column(*si);
                    let read_as_text = batch
                        .schema()
                        .field(*si)
                        .metadata()
                        .get(READ_AS_TEXT)
                        .cloned();
                    let conv = match read_as_text.as_deref() {
                        Some("Float64" | "Float32") if col.ty.is_integer() => {
                            int_from_double_text(input, target)?
                        }
                        _ => convert_array(input, &col.ty, target)?,
                    };
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
                                    read: None,
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
                            read: None,
                        };
                        reject(&mut rejected_rows, n, row, why);
                    }
                }
            }
            out.push(converted);
        }
        let Some(rejected_rows) = rejected_rows else {
            let batch =
                RecordBatch::try_new(self.schema_of(&out), out).map_err(|e| e.to_string())?;
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
            if let Some(i) = r.read {
                errors.push(read_error(file, &read_failures[i].1));
                continue;
            }
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
        let batch = RecordBatch::try_new(self.schema_of(&kept), kept).map_err(|e| e.to_string())?;
        Ok(Converted {
            batch,
            rejected,
            errors,
        })
    }
}

/// The error record of a value a file's reader could not read as its column's type.
pub(crate) fn read_error(file: &str, f: &ReadFailure) -> LoadError {
    LoadError {
        job_id: 0,
        file: file.to_string(),
        row: f.row,
        column: f.column.clone(),
        value: Some(f.value.clone()),
        reason: if f.whole_row() {
            f.reason.clone()
        } else {
            format!("{} (the type FILES() gave the column)", f.reason)
        },
    }
}

/// The rejected value as text, at most `VALUE_PREFIX_BYTES` (1 KB) of it (a 10 MB cell must not
/// become a 10 MB error message and `load_errors` row).
fn raw_text(a: &ArrayRef, row: usize) -> String {
    // A list, struct or map as the JSON text it would have loaded as, not Arrow's rendering.
    if nested::is_nested(a.data_type())
        && let Ok(text) = nested::json_text(&a.slice(row, 1))
        && let Some(v) = text.as_string::<i32>().iter().next().flatten()
    {
        return bounded(v);
    }
    ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())
        .map(|f| bounded(&f.value(row).to_string()))
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
            let micros = parse_datetimes(input);
            let ts: ArrayRef = Arc::new(micros);
            if matches!(ty, SrType::Date) {
                cast_with_options(&ts, target, &cast_opts).map_err(|e| e.to_string())?
            } else {
                ts
            }
        }
        // Strings read as views (Parquet loads) stay views: copying them into a `Utf8` array
        // costs as much as reading them did. The segment encoder takes either.
        SrType::Varchar(_) | SrType::Char(_) if input.data_type() == &DataType::Utf8View => {
            input.clone()
        }
        SrType::Array(_) if is_string_input => nested::arrays_from_text(input, target)?,
        SrType::Varchar(_) | SrType::Char(_) | SrType::Json
            if nested::is_nested(input.data_type()) =>
        {
            nested::json_text(input)?
        }
        _ if input.data_type() == &DataType::Int64 && target == &DataType::Int32 => {
            narrow_int64(input, &cast_opts)?
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

/// An integer column from the text of a CSV column FILES() typed DOUBLE: a value written as an
/// integer converts exactly (past 2^53 too, where the DOUBLE would round it); any other
/// converts as the DOUBLE it was inferred as (`2.5` → 2, `1e3` → 1000, as StarRocks' INSERT
/// from FILES() does), and one that is neither, or does not fit, is NULL.
fn int_from_double_text(input: &ArrayRef, target: &DataType) -> Result<ArrayRef, String> {
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    let exact = cast_with_options(input, target, &opts).map_err(|e| e.to_string())?;
    if exact.logical_null_count() == input.logical_null_count() {
        return Ok(exact);
    }
    let double = cast_with_options(input, &DataType::Float64, &opts).map_err(|e| e.to_string())?;
    let via_double = cast_with_options(&double, target, &opts).map_err(|e| e.to_string())?;
    let is_exact = arrow::compute::is_not_null(exact.as_ref()).map_err(|e| e.to_string())?;
    arrow::compute::kernels::zip::zip(&is_exact, &exact, &via_double).map_err(|e| e.to_string())
}

/// BIGINT → INT: when every value fits, a plain narrowing copy; otherwise the checked cast,
/// which makes the misfits NULL.
fn narrow_int64(input: &ArrayRef, opts: &CastOptions) -> Result<ArrayRef, String> {
    let a = input.as_primitive::<Int64Type>();
    // Narrowed and checked in one vectorised pass over the input, not a second pass over
    // both: a value that does not fit (or the arbitrary value under a NULL) sends the batch
    // to the checked cast.
    let values = a.values();
    let mut changed = 0i64;
    let narrow: Vec<i32> = values
        .iter()
        .map(|&v| {
            changed |= v ^ i64::from(v as i32);
            v as i32
        })
        .collect();
    if changed == 0 {
        return Ok(Arc::new(Int32Array::new(narrow.into(), a.nulls().cloned())));
    }
    cast_with_options(input, &DataType::Int32, opts).map_err(|e| e.to_string())
}

/// Strings longer than the column's byte length do not fit: they become NULL.
fn enforce_length(a: ArrayRef, max: usize) -> ArrayRef {
    if a.data_type() == &DataType::Utf8View {
        let s = a.as_string_view();
        // A view's low 32 bits are the value's length.
        if s.views().iter().all(|v| *v as u32 as usize <= max) {
            return a;
        }
        let fits = NullBuffer::from_iter(s.views().iter().map(|v| *v as u32 as usize <= max));
        let nulls = NullBuffer::union(s.nulls(), Some(&fits));
        let (views, buffers, _) = s.clone().into_parts();
        return Arc::new(arrow::array::StringViewArray::new(views, buffers, nulls));
    }
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

#[cfg(test)]
mod tests {
    use super::datetime::DatetimeParser;
    use super::*;

    /// A huge rejected value is kept as a bounded prefix with its length noted.
    #[test]
    fn rejected_values_are_bounded() {
        let big = "v".repeat(10 << 20);
        let a: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![big.as_str(), "ok"]));
        let shown = raw_text(&a, 0);
        assert!(
            shown.len() < strata_query::files::VALUE_PREFIX_BYTES + 64,
            "{}",
            shown.len()
        );
        assert!(
            shown.ends_with(&format!("({} bytes in all)", 10 << 20)),
            "{shown:.40}"
        );
        assert_eq!(raw_text(&a, 1), "ok");
    }

    /// An integer from the text of a DOUBLE-typed CSV column: exact when written as an integer,
    /// as the DOUBLE otherwise, NULL when neither or out of range.
    #[test]
    fn integers_from_double_text() {
        let text = [
            Some("9007199254740993"),
            Some("2.5"),
            Some("1e3"),
            Some("-0"),
            Some("x"),
            Some("9223372036854775808"),
            None,
        ];
        let a: ArrayRef = Arc::new(arrow::array::StringArray::from(text.to_vec()));
        let out = int_from_double_text(&a, &DataType::Int64).unwrap();
        let got: Vec<Option<i64>> = out.as_primitive::<Int64Type>().iter().collect();
        assert_eq!(
            got,
            [
                Some(9007199254740993),
                Some(2),
                Some(1000),
                Some(0),
                None,
                None,
                None
            ]
        );
        let out = int_from_double_text(&a, &DataType::Int32).unwrap();
        assert_eq!(out.null_count(), 4, "{out:?}");
    }

    /// BIGINT → INT agrees with the checked cast, in range or not, and with NULLs.
    #[test]
    fn narrowing_agrees_with_the_checked_cast() {
        let opts = CastOptions {
            safe: true,
            ..Default::default()
        };
        for values in [
            vec![
                Some(1i64),
                None,
                Some(-5),
                Some(i64::from(i32::MAX)),
                Some(i64::from(i32::MIN)),
            ],
            vec![Some(1), Some(i64::from(i32::MAX) + 1), None, Some(i64::MIN)],
            vec![None, None],
        ] {
            let a: ArrayRef = Arc::new(arrow::array::Int64Array::from(values));
            let want = cast_with_options(&a, &DataType::Int32, &opts).unwrap();
            assert_eq!(narrow_int64(&a, &opts).unwrap().as_ref(), want.as_ref());
        }
    }

    /// Strings of every layout parse to the same datetimes, NULL where they are not one.
    #[test]
    fn datetimes_from_every_string_layout() {
        let texts = vec![
            Some("2017-11-25 01:21:25"),
            None,
            Some("20171125"),
            Some(""),
            Some("2017-11-25 01:21:25.250000 and more"),
            Some("2017-11-26"),
            // 19 bytes, as the canonical form, but not in it: parsed by the general parser.
            Some("2017-11-25T01:21:25"),
            Some("2017-11-25 01:21:2x"),
        ];
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(arrow::array::StringArray::from(texts.clone())),
            Arc::new(arrow::array::StringViewArray::from(texts.clone())),
            Arc::new(arrow::array::LargeStringArray::from(texts.clone())),
        ];
        let want: Vec<Option<i64>> = texts
            .iter()
            .map(|t| t.and_then(parse_datetime_micros))
            .collect();
        for a in &arrays {
            let got: Vec<Option<i64>> = parse_datetimes(a).iter().collect();
            assert_eq!(got, want, "{}", a.data_type());
        }
        assert!(want[0].is_some() && want[2].is_some() && want[4].is_none());
        assert!(want[6].is_some() && want[7].is_none());
    }

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
        assert_eq!(
            parse_datetime_micros("\u{a0}2017-11-25 01:21:25\u{3000}\x0b"),
            Some(base)
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

    /// The hand-written calendar agrees with chrono's on every day of four centuries and on
    /// the edges of the DATETIME range.
    #[test]
    fn datetime_matches_chrono() {
        let mut day = chrono::NaiveDate::from_ymd_opt(1899, 1, 1).unwrap();
        let end = chrono::NaiveDate::from_ymd_opt(2301, 1, 1).unwrap();
        let mut shared = DatetimeParser::default();
        while day < end {
            let s = format!("{} 23:59:58.123456789", day.format("%Y-%m-%d"));
            let want = day
                .and_hms_micro_opt(23, 59, 58, 123_456)
                .unwrap()
                .and_utc()
                .timestamp_micros();
            assert_eq!(parse_datetime_micros(&s), Some(want), "{s}");
            // The canonical form, through one parser that remembers the dates it saw.
            for s in [
                format!("{} 23:59:58", day.format("%Y-%m-%d")),
                format!("{} 00:00:01", day.format("%Y-%m-%d")),
            ] {
                let want = chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S")
                    .unwrap()
                    .and_utc()
                    .timestamp_micros();
                assert_eq!(shared.parse(&s), Some(want), "{s}");
            }
            day = day.succ_opt().unwrap();
        }
        for (s, want) in [
            (
                "0000-01-01 00:00:00",
                chrono::NaiveDate::from_ymd_opt(0, 1, 1),
            ),
            ("9999-12-31", chrono::NaiveDate::from_ymd_opt(9999, 12, 31)),
            ("2000-02-29", chrono::NaiveDate::from_ymd_opt(2000, 2, 29)),
        ] {
            let want = want.unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
            assert_eq!(
                parse_datetime_micros(s),
                Some(want.timestamp_micros()),
                "{s}"
            );
        }
        for bad in [
            "1900-02-29",
            "2017-11-31",
            "2017-00-10",
            "2017-11-00",
            "2017-11-25 23:60:00",
            "2017-11-25 23:59:60",
            "2017-11-25 01:21:25.",
            "2017-11-25 01:21:25.1234567x",
            "2017-11-25 01:21:25,5",
            "2017-11-2: 00:00:00",
            "2017-11-25 00:00:0/",
            "2017-1\u{0}-25 00:00:00",
            "2O17-11-25 00:00:00",
            "2017-11-25 00:00:?0",
        ] {
            assert_eq!(parse_datetime_micros(bad), None, "{bad}");
        }
        // A date the parser remembers does not make a wrong one on another slot's key valid.
        let mut shared = DatetimeParser::default();
        assert!(shared.parse("2021-02-28 00:00:00").is_some());
        assert!(shared.parse("2021-02-29 00:00:00").is_none());
        assert!(shared.parse("2021-01-29 00:00:00").is_some());
        assert!(shared.parse("2021-02-29 00:00:00").is_none());
        assert!(shared.parse("2020-02-29 00:00:00").is_some());
    }
}
