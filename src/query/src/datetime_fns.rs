//! StarRocks' (MySQL's) date functions that DataFusion lacks or spells otherwise, with MySQL's
//! `%` format specifiers (`%Y-%m-%d %H:%i:%s`, not chrono's `%Y-%m-%d %H:%M:%S`):
//!
//! * `date_format(d, fmt)` → VARCHAR. DataFusion's `date_format` is an alias of `to_char`
//!   with chrono's specifiers: this one, registered under the same name, replaces it. `d` is a
//!   DATETIME, a DATE or a string `YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]]` (or `YYYYMMDD[HHMMSS]`);
//!   a string that is no date gives NULL, as does a result over 128 bytes (StarRocks' limit).
//! * `str_to_date(s, fmt)` → DATETIME, or DATE when `fmt` is a constant with no time
//!   specifier (as StarRocks documents: `str_to_date('2014-12-21 12:34:56', '%Y-%m-%d')` is
//!   `2014-12-21`). Text after what `fmt` reads is ignored, as MySQL does; an invalid date
//!   (`2014-02-30`) or text that does not match gives NULL.
//! * `from_unixtime(n, fmt)`: seconds since the epoch (UTC, as the one-argument form and
//!   `unix_timestamp` read them) formatted as `date_format` does. The one-argument form stays
//!   DataFusion's.

use std::fmt::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{
    DataType, Date32Type, Field, FieldRef, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use arrow::temporal_conversions::{date32_to_datetime, timestamp_us_to_datetime};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::common::{Result as DfResult, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;

use crate::functions::{arrays, finish, is_string, utf8};

/// Registers the functions on a statement context (over DataFusion's of the same names).
pub(crate) fn register(ctx: &SessionContext) {
    let signature = Signature::user_defined(Volatility::Immutable);
    ctx.register_udf(ScalarUDF::new_from_impl(DateFormat {
        signature: signature.clone(),
    }));
    ctx.register_udf(ScalarUDF::new_from_impl(StrToDate {
        signature: signature.clone(),
    }));
    ctx.register_udf(ScalarUDF::new_from_impl(FromUnixtime {
        inner: datafusion::functions::datetime::from_unixtime(),
        signature,
    }));
}

/// StarRocks' longest `date_format` result; a longer one is NULL.
const MAX_FORMATTED: usize = 128;

#[rustfmt::skip]
const MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
];
#[rustfmt::skip]
const WEEKDAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn arity(name: &str, types: &[DataType], n: usize) -> DfResult<()> {
    if types.len() != n {
        return plan_err!("{name}() takes {n} arguments, got {}", types.len());
    }
    Ok(())
}

/// The type a string argument is coerced to.
fn string_arg(name: &str, t: &DataType) -> DfResult<DataType> {
    match t {
        t if is_string(t) => Ok(DataType::Utf8),
        DataType::Dictionary(_, v) if is_string(v) => Ok(DataType::Utf8),
        other => plan_err!("{name}() takes a string, not {other}"),
    }
}

/// `date_format(d, fmt)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DateFormat {
    signature: Signature,
}

impl ScalarUDFImpl for DateFormat {
    fn name(&self) -> &str {
        "date_format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn coerce_types(&self, types: &[DataType]) -> DfResult<Vec<DataType>> {
        arity(self.name(), types, 2)?;
        let date = match &types[0] {
            DataType::Timestamp(..) => DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Date32 | DataType::Date64 => DataType::Date32,
            t => string_arg(self.name(), t)?,
        };
        Ok(vec![date, string_arg(self.name(), &types[1])?])
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (a, constant) = arrays(&args.args, args.number_rows)?;
        let dates = datetimes(&a[0])?;
        let fmt = utf8(&a[1])?;
        let fmt = fmt.as_string::<i32>();
        let out: StringArray = (0..dates.len())
            .map(|i| format_checked(dates[i]?, fmt.is_valid(i).then(|| fmt.value(i))?))
            .collect();
        finish(Arc::new(out), constant)
    }
}

/// `dt` formatted by `fmt`, or None over [`MAX_FORMATTED`] bytes.
fn format_checked(dt: NaiveDateTime, fmt: &str) -> Option<String> {
    let mut s = String::new();
    format_datetime(&dt, fmt, &mut s);
    (s.len() <= MAX_FORMATTED).then_some(s)
}

/// The values of a `date_format` first argument (coerced) as date-times.
fn datetimes(a: &ArrayRef) -> DfResult<Vec<Option<NaiveDateTime>>> {
    Ok(match a.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => a
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| timestamp_us_to_datetime(v?))
            .collect(),
        DataType::Date32 => a
            .as_primitive::<Date32Type>()
            .iter()
            .map(|v| date32_to_datetime(v?))
            .collect(),
        _ => utf8(a)?
            .as_string::<i32>()
            .iter()
            .map(|v| parse_datetime(v?))
            .collect(),
    })
}

/// A date or date-time as StarRocks reads one from a string: `YYYY-MM-DD`, then optionally
/// ` HH:MM[:SS[.fraction]]` (or with `T`); or `YYYYMMDD[HHMMSS]`. Surrounding spaces are
/// allowed; anything else gives None.
pub(crate) fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.iter().all(u8::is_ascii_digit) && (b.len() == 8 || b.len() == 14) {
        let n = |from: usize, to: usize| s[from..to].parse::<u32>().ok();
        let date = NaiveDate::from_ymd_opt(n(0, 4)? as i32, n(4, 6)?, n(6, 8)?)?;
        let time = if b.len() == 14 {
            NaiveTime::from_hms_opt(n(8, 10)?, n(10, 12)?, n(12, 14)?)?
        } else {
            NaiveTime::MIN
        };
        return Some(date.and_time(time));
    }
    let mut c = Cursor { b, i: 0 };
    let year = c.digits(4, 4)?;
    c.eat(b'-')?;
    let month = c.digits(1, 2)?;
    c.eat(b'-')?;
    let day = c.digits(1, 2)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    if c.i == b.len() {
        return Some(date.and_time(NaiveTime::MIN));
    }
    c.eat(b'T').or_else(|| c.eat(b' '))?;
    while c.eat(b' ').is_some() {}
    let hour = c.digits(1, 2)?;
    c.eat(b':')?;
    let minute = c.digits(1, 2)?;
    let (mut second, mut micros) = (0, 0);
    if c.eat(b':').is_some() {
        second = c.digits(1, 2)?;
        if c.eat(b'.').is_some() {
            micros = c.fraction()?;
        }
    }
    if c.i != b.len() {
        return None;
    }
    Some(date.and_time(NaiveTime::from_hms_micro_opt(hour, minute, second, micros)?))
}

/// A position in a string being read.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// `byte`, if it comes next.
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&byte)).then(|| self.i += 1)
    }

    /// A number of `min..=max` digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        while self.i < self.b.len() && self.i - start < max && self.b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    /// Fractional-second digits as microseconds: at least one; past six, dropped.
    fn fraction(&mut self) -> Option<u32> {
        let start = self.i;
        let mut micros = 0;
        while let Some(d) = self.b.get(self.i).filter(|d| d.is_ascii_digit()) {
            if self.i - start < 6 {
                micros = micros * 10 + u32::from(d - b'0');
            }
            self.i += 1;
        }
        let n = self.i - start;
        (n > 0).then(|| micros * 10u32.pow(6 - n.min(6) as u32))
    }

    /// A word of `names` (full names, or their first three letters when `abbrev`), case
    /// ignored: its index.
    fn word(&mut self, names: &[&str], abbrev: bool) -> Option<usize> {
        let b = self.b;
        let rest = &b[self.i..];
        names.iter().position(|n| {
            let n = if abbrev { &n[..3] } else { n };
            let hit = rest.len() >= n.len() && rest[..n.len()].eq_ignore_ascii_case(n.as_bytes());
            if hit {
                self.i += n.len();
            }
            hit
        })
    }
}

/// MySQL's week modes, as bits (`calc_week`'s `week_behaviour`).
const MONDAY_FIRST: u8 = 1;
const WEEK_YEAR: u8 = 2;
const FIRST_WEEKDAY: u8 = 4;

fn days_in_year(year: i32) -> i64 {
    if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
        366
    } else {
        365
    }
}

/// MySQL's `calc_week`: the week of `date` under `behaviour`, and the year the week is of.
fn calc_week(date: NaiveDate, behaviour: u8) -> (i64, i32) {
    let monday_first = behaviour & MONDAY_FIRST != 0;
    let mut week_year = behaviour & WEEK_YEAR != 0;
    let first_weekday = behaviour & FIRST_WEEKDAY != 0;
    let daynr = i64::from(date.num_days_from_ce());
    let mut year = date.year();
    let Some(jan1) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return (0, year);
    };
    let mut first_daynr = i64::from(jan1.num_days_from_ce());
    let mut weekday = i64::from(if monday_first {
        jan1.weekday().num_days_from_monday()
    } else {
        jan1.weekday().num_days_from_sunday()
    });
    if date.month() == 1 && i64::from(date.day()) <= 7 - weekday {
        if !week_year && ((first_weekday && weekday != 0) || (!first_weekday && weekday >= 4)) {
            return (0, year);
        }
        week_year = true;
        year -= 1;
        let days = days_in_year(year);
        first_daynr -= days;
        weekday = (weekday + 53 * 7 - days) % 7;
    }
    let days = if (first_weekday && weekday != 0) || (!first_weekday && weekday >= 4) {
        daynr - (first_daynr + (7 - weekday))
    } else {
        daynr - (first_daynr - weekday)
    };
    if week_year && days >= 52 * 7 {
        let weekday = (weekday + days_in_year(year)) % 7;
        if (!first_weekday && weekday < 4) || (first_weekday && weekday == 0) {
            return (1, year + 1);
        }
    }
    (days / 7 + 1, year)
}

/// Appends `dt` formatted by MySQL's `DATE_FORMAT` specifiers in `fmt` to `out`. An unknown
/// specifier stands for its letter (`%Q` → `Q`), as in MySQL.
pub(crate) fn format_datetime(dt: &NaiveDateTime, fmt: &str, out: &mut String) {
    let date = dt.date();
    let (hour, minute, second) = (dt.hour(), dt.minute(), dt.second());
    let hour12 = (hour + 11) % 12 + 1;
    let ampm = if hour < 12 { "AM" } else { "PM" };
    let month = MONTHS[date.month0() as usize];
    let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    let day = date.day();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            out.push('%');
            break;
        };
        let _ = match spec {
            'a' => write!(out, "{}", &weekday[..3]),
            'b' => write!(out, "{}", &month[..3]),
            'c' => write!(out, "{}", date.month()),
            'D' => {
                let suffix = match (day % 10, day / 10 == 1) {
                    (1, false) => "st",
                    (2, false) => "nd",
                    (3, false) => "rd",
                    _ => "th",
                };
                write!(out, "{day}{suffix}")
            }
            'd' => write!(out, "{day:02}"),
            'e' => write!(out, "{day}"),
            'f' => write!(out, "{:06}", (dt.nanosecond() / 1000).min(999_999)),
            'H' => write!(out, "{hour:02}"),
            'h' | 'I' => write!(out, "{hour12:02}"),
            'i' => write!(out, "{minute:02}"),
            'j' => write!(out, "{:03}", date.ordinal()),
            'k' => write!(out, "{hour}"),
            'l' => write!(out, "{hour12}"),
            'M' => write!(out, "{month}"),
            'm' => write!(out, "{:02}", date.month()),
            'p' => write!(out, "{ampm}"),
            'r' => write!(out, "{hour12:02}:{minute:02}:{second:02} {ampm}"),
            'S' | 's' => write!(out, "{second:02}"),
            'T' => write!(out, "{hour:02}:{minute:02}:{second:02}"),
            'U' => write!(out, "{:02}", calc_week(date, FIRST_WEEKDAY).0),
            'u' => write!(out, "{:02}", calc_week(date, MONDAY_FIRST).0),
            'V' => write!(out, "{:02}", calc_week(date, WEEK_YEAR | FIRST_WEEKDAY).0),
            'v' => write!(out, "{:02}", calc_week(date, WEEK_YEAR | MONDAY_FIRST).0),
            'W' => write!(out, "{weekday}"),
            'w' => write!(out, "{}", date.weekday().num_days_from_sunday()),
            'X' => write!(out, "{:04}", calc_week(date, WEEK_YEAR | FIRST_WEEKDAY).1),
            'x' => write!(out, "{:04}", calc_week(date, WEEK_YEAR | MONDAY_FIRST).1),
            'Y' => write!(out, "{:04}", date.year()),
            'y' => write!(out, "{:02}", date.year().rem_euclid(100)),
            other => {
                out.push(other);
                Ok(())
            }
        };
    }
}

/// Whether `fmt` reads or writes a time of day (else `str_to_date` gives a DATE).
pub(crate) fn has_time_part(fmt: &str) -> bool {
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c == '%'
            && chars.next().is_some_and(|s| {
                matches!(
                    s,
                    'H' | 'k' | 'h' | 'I' | 'l' | 'i' | 's' | 'S' | 'f' | 'p' | 'T' | 'r'
                )
            })
        {
            return true;
        }
    }
    false
}

/// A two-digit year as MySQL reads one: 70–99 are 19xx, 00–69 20xx.
fn year_2000(year: u32, digits: usize) -> u32 {
    match (digits <= 2, year) {
        (true, 0..=69) => year + 2000,
        (true, 70..=99) => year + 1900,
        _ => year,
    }
}

/// `s` read by MySQL's `STR_TO_DATE` format `fmt`: spaces before each part of `s` and spaces
/// in `fmt` are skipped, other characters of `fmt` must match, and text left after `fmt` is
/// ignored. The year must be given; a month or day not given is 1. None when `s` does not
/// match, `fmt` is not all read, or the date or time is invalid.
pub(crate) fn parse_with_format(s: &str, fmt: &str) -> Option<NaiveDateTime> {
    // %T and %r are shorthands.
    let fmt = fmt
        .replace("%%", "\u{0}")
        .replace("%T", "%H:%i:%S")
        .replace("%r", "%I:%i:%S %p")
        .replace('\u{0}', "%%");
    let f = fmt.as_bytes();
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let (mut year, mut month, mut day) = (None, None, None);
    let (mut hour, mut minute, mut second, mut micros) = (0, 0, 0, 0);
    let (mut twelve_hour, mut pm) = (false, false);
    let (mut yearday, mut weekday, mut week) = (None, None, None);
    // (week number, Sunday first, strict %V/%v), and %X/%x's (year, Sunday first).
    let mut week_year: Option<(i32, bool)> = None;
    let mut j = 0;
    while j < f.len() && c.i < c.b.len() {
        while c.b.get(c.i).is_some_and(u8::is_ascii_whitespace) {
            c.i += 1;
        }
        if c.i == c.b.len() {
            break;
        }
        if f[j] != b'%' || j + 1 == f.len() {
            if !f[j].is_ascii_whitespace() {
                c.eat(f[j])?;
            }
            j += 1;
            continue;
        }
        let spec = f[j + 1];
        j += 2;
        match spec {
            b'Y' => {
                let start = c.i;
                let y = c.digits(1, 4)?;
                year = Some(year_2000(y, c.i - start) as i32);
            }
            b'y' => year = Some(year_2000(c.digits(1, 2)?, 2) as i32),
            b'm' | b'c' => month = Some(c.digits(1, 2)?),
            b'M' => month = Some(c.word(&MONTHS, false)? as u32 + 1),
            b'b' => month = Some(c.word(&MONTHS, true)? as u32 + 1),
            b'd' | b'e' => day = Some(c.digits(1, 2)?),
            b'D' => {
                day = Some(c.digits(1, 2)?);
                c.i = (c.i + 2).min(c.b.len());
            }
            b'H' | b'k' => hour = c.digits(1, 2)?,
            b'h' | b'I' | b'l' => {
                hour = c.digits(1, 2)?;
                twelve_hour = true;
            }
            b'i' => minute = c.digits(1, 2)?,
            b's' | b'S' => second = c.digits(1, 2)?,
            b'f' => micros = c.fraction()?,
            b'p' => pm = c.word(&["AM", "PM"], false)? == 1,
            b'W' => weekday = Some(c.word(&WEEKDAYS, false)? as u32 + 1),
            b'a' => weekday = Some(c.word(&WEEKDAYS, true)? as u32 + 1),
            b'w' => {
                let w = c.digits(1, 1)?;
                weekday = Some(if w == 0 { 7 } else { w });
            }
            b'j' => yearday = Some(c.digits(1, 3)?),
            b'U' | b'u' | b'V' | b'v' => {
                let n = c.digits(1, 2)?;
                week = Some((n, matches!(spec, b'U' | b'V'), matches!(spec, b'V' | b'v')));
            }
            b'X' | b'x' => week_year = Some((c.digits(1, 4)? as i32, spec == b'X')),
            b'%' => c.eat(b'%')?,
            _ => return None,
        }
    }
    // What is left of the format may only be spaces.
    if !f[j..].iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if twelve_hour {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let date = match (yearday, week, weekday) {
        (Some(n), _, _) => NaiveDate::from_yo_opt(year?, n)?,
        (None, Some((n, sunday_first, strict)), Some(weekday)) => {
            // %V/%v go with %X/%x (of the same first day), %U/%u with %Y.
            let base = match (strict, week_year) {
                (true, Some((y, s))) if s == sunday_first => y,
                (false, None) => year?,
                _ => return None,
            };
            let jan1 = NaiveDate::from_ymd_opt(base, 1, 1)?;
            let mut days = i64::from(jan1.num_days_from_ce());
            let n = i64::from(n);
            let weekday = i64::from(weekday);
            if sunday_first {
                let b = i64::from(jan1.weekday().num_days_from_sunday());
                days += if b == 0 { 0 } else { 7 } - b + (n - 1) * 7 + weekday % 7;
            } else {
                let b = i64::from(jan1.weekday().num_days_from_monday());
                days += if b <= 3 { 0 } else { 7 } - b + (n - 1) * 7 + (weekday - 1);
            }
            NaiveDate::from_num_days_from_ce_opt(i32::try_from(days).ok()?)?
        }
        _ => NaiveDate::from_ymd_opt(year?, month.unwrap_or(1), day.unwrap_or(1))?,
    };
    Some(date.and_time(NaiveTime::from_hms_micro_opt(hour, minute, second, micros)?))
}

/// `str_to_date(s, fmt)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct StrToDate {
    signature: Signature,
}

impl ScalarUDFImpl for StrToDate {
    fn name(&self) -> &str {
        "str_to_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let date_only = match args.scalar_arguments.get(1) {
            Some(Some(
                ScalarValue::Utf8(Some(f))
                | ScalarValue::LargeUtf8(Some(f))
                | ScalarValue::Utf8View(Some(f)),
            )) => !has_time_part(f),
            _ => false,
        };
        let t = if date_only {
            DataType::Date32
        } else {
            DataType::Timestamp(TimeUnit::Microsecond, None)
        };
        Ok(Arc::new(Field::new(self.name(), t, true)))
    }

    fn coerce_types(&self, types: &[DataType]) -> DfResult<Vec<DataType>> {
        arity(self.name(), types, 2)?;
        types.iter().map(|t| string_arg(self.name(), t)).collect()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (a, constant) = arrays(&args.args, args.number_rows)?;
        let (s, fmt) = (utf8(&a[0])?, utf8(&a[1])?);
        let (s, fmt) = (s.as_string::<i32>(), fmt.as_string::<i32>());
        let parsed = s
            .iter()
            .zip(fmt.iter())
            .map(|(s, f)| parse_with_format(s?, f?));
        let out: ArrayRef = if args.return_type() == &DataType::Date32 {
            Arc::new(
                parsed
                    .map(|d| Some(d?.date().num_days_from_ce() - 719_163))
                    .collect::<Date32Array>(),
            )
        } else {
            Arc::new(
                parsed
                    .map(|d| Some(d?.and_utc().timestamp_micros()))
                    .collect::<TimestampMicrosecondArray>(),
            )
        };
        finish(out, constant)
    }
}

/// `from_unixtime(n[, fmt])`: DataFusion's with one argument, with two formatted as
/// `date_format` does.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FromUnixtime {
    inner: Arc<ScalarUDF>,
    signature: Signature,
}

/// StarRocks' largest `from_unixtime` argument (9999-12-31 23:59:59 UTC); past it, NULL.
const MAX_UNIXTIME: i64 = 253_402_300_799;

impl ScalarUDFImpl for FromUnixtime {
    fn name(&self) -> &str {
        "from_unixtime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(if arg_types.len() == 2 {
            DataType::Utf8
        } else {
            DataType::Timestamp(TimeUnit::Second, None)
        })
    }

    fn coerce_types(&self, types: &[DataType]) -> DfResult<Vec<DataType>> {
        if !(1..=2).contains(&types.len()) {
            return plan_err!(
                "from_unixtime() takes 1 or 2 arguments, got {}",
                types.len()
            );
        }
        let n = match &types[0] {
            t if t.is_numeric() || is_string(t) => DataType::Int64,
            other => return plan_err!("from_unixtime() takes a number, not {other}"),
        };
        let mut out = vec![n];
        if let Some(t) = types.get(1) {
            out.push(string_arg(self.name(), t)?);
        }
        Ok(out)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        if args.args.len() == 1 {
            return self.inner.invoke_with_args(args);
        }
        let (a, constant) = arrays(&args.args, args.number_rows)?;
        let n = arrow::compute::cast(&a[0], &DataType::Int64)?;
        let fmt = utf8(&a[1])?;
        let out: StringArray = n
            .as_primitive::<Int64Type>()
            .iter()
            .zip(fmt.as_string::<i32>().iter())
            .map(|(n, f)| {
                let n = n.filter(|n| (0..=MAX_UNIXTIME).contains(n))?;
                format_checked(DateTime::from_timestamp(n, 0)?.naive_utc(), f?)
            })
            .collect();
        finish(Arc::new(out), constant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(s: &str, f: &str) -> String {
        let mut out = String::new();
        format_datetime(&parse_datetime(s).unwrap(), f, &mut out);
        out
    }

    fn parse(s: &str, f: &str) -> Option<String> {
        parse_with_format(s, f).map(|d| d.format("%Y-%m-%d %H:%M:%S%.f").to_string())
    }

    #[test]
    fn formats_like_mysql() {
        // MySQL's and StarRocks' documented examples.
        assert_eq!(
            fmt("2009-10-04 22:23:00", "%W %M %Y"),
            "Sunday October 2009"
        );
        assert_eq!(fmt("2007-10-04 22:23:00", "%H:%i:%s"), "22:23:00");
        assert_eq!(
            fmt("1900-10-04 22:23:00", "%D %y %a %d %m %b %j"),
            "4th 00 Thu 04 10 Oct 277"
        );
        assert_eq!(
            fmt("1997-10-04 22:23:00", "%H %k %I %r %T %S %w"),
            "22 22 10 10:23:00 PM 22:23:00 00 6"
        );
        assert_eq!(fmt("1999-01-01", "%X %V"), "1998 52");
        assert_eq!(fmt("2006-06-01", "%d"), "01");
        assert_eq!(fmt("2006-06-01", "%%%d"), "%01");
        assert_eq!(
            fmt("2021-02-20 08:30:45.5", "%f %e %c %l %p %h"),
            "500000 20 2 8 AM 08"
        );
        assert_eq!(fmt("2011-11-11T00:05:09", "%D %k %l %Q%"), "11th 0 12 Q%");
        assert_eq!(fmt("2021-01-02", "%D %D"), "2nd 2nd");
    }

    #[test]
    fn weeks_like_mysql() {
        // 2008-01-01 is a Tuesday; 2000-01-01 a Saturday.
        assert_eq!(
            fmt("2008-01-01", "%U %u %V %v %X %x"),
            "00 01 52 01 2007 2008"
        );
        assert_eq!(
            fmt("2000-01-01", "%U %u %V %v %X %x"),
            "00 00 52 52 1999 1999"
        );
        assert_eq!(
            fmt("2008-12-31", "%U %u %V %v %X %x"),
            "52 53 52 01 2008 2009"
        );
        assert_eq!(fmt("2024-06-15", "%U %u %v"), "23 24 24");
    }

    #[test]
    fn reads_date_strings() {
        assert!(parse_datetime("2024-02-30").is_none());
        assert!(parse_datetime("hello").is_none());
        assert!(parse_datetime("2024-01-01 10").is_none());
        assert_eq!(
            parse_datetime(" 2024-1-2 3:04 ").unwrap().to_string(),
            "2024-01-02 03:04:00"
        );
        assert_eq!(
            parse_datetime("20240102235959").unwrap().to_string(),
            "2024-01-02 23:59:59"
        );
        assert_eq!(
            parse_datetime("2024-01-02T03:04:05.1234567")
                .unwrap()
                .to_string(),
            "2024-01-02 03:04:05.123456"
        );
    }

    #[test]
    fn parses_like_mysql() {
        assert_eq!(
            parse("2014-12-21 12:34:56", "%Y-%m-%d %H:%i:%s").as_deref(),
            Some("2014-12-21 12:34:56")
        );
        // Trailing text is ignored.
        assert_eq!(
            parse("2014-12-21 12:34:56", "%Y-%m-%d").as_deref(),
            Some("2014-12-21 00:00:00")
        );
        assert_eq!(
            parse("20141221", "%Y%m%d").as_deref(),
            Some("2014-12-21 00:00:00")
        );
        assert_eq!(
            parse("200442 Monday", "%X%V %W").as_deref(),
            Some("2004-10-18 00:00:00")
        );
        assert_eq!(
            parse("August 10 2017 3:05:01 pm", "%M %e %Y %h:%i:%s %p").as_deref(),
            Some("2017-08-10 15:05:01")
        );
        assert_eq!(
            parse("12:00:00 AM 17-Aug-05", "%r %y-%b-%d").as_deref(),
            Some("2017-08-05 00:00:00")
        );
        assert_eq!(
            parse("2017-08-10 01:02:03.45", "%Y-%m-%d %T.%f").as_deref(),
            Some("2017-08-10 01:02:03.450")
        );
        assert_eq!(
            parse("2017 100", "%Y %j").as_deref(),
            Some("2017-04-10 00:00:00")
        );
        assert_eq!(parse("2023", "%Y").as_deref(), Some("2023-01-01 00:00:00"));
        assert_eq!(
            parse("5th 1 2020", "%D %c %Y").as_deref(),
            Some("2020-01-05 00:00:00")
        );
        assert_eq!(
            parse("99-1-2", "%y-%m-%d").as_deref(),
            Some("1999-01-02 00:00:00")
        );
        assert_eq!(
            parse("100%", "%Y%%").as_deref(),
            Some("0100-01-01 00:00:00")
        );
        // Invalid dates and times, text that does not match, a format not all read.
        assert_eq!(parse("2014-02-30", "%Y-%m-%d"), None);
        assert_eq!(parse("2014-12-21 25:00:00", "%Y-%m-%d %H:%i:%s"), None);
        assert_eq!(parse("13:00 PM 2014", "%h:%i %p %Y"), None);
        assert_eq!(parse("2014/12/21", "%Y-%m-%d"), None);
        assert_eq!(parse("2014", "%Y-%m-%d"), None);
        assert_eq!(parse("12:34:56", "%H:%i:%s"), None);
        assert_eq!(parse("2014-12-21", "%Y-%m-%d %Q"), None);
    }

    #[test]
    fn date_only_formats() {
        assert!(!has_time_part("%Y-%m-%d"));
        assert!(!has_time_part("%%H %X%V %W"));
        assert!(has_time_part("%Y-%m-%d %T"));
        assert!(has_time_part("%p"));
    }
}
