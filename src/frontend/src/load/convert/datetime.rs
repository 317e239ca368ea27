//! DATETIME and DATE text to microseconds, as a load converts it: the canonical
//! `YYYY-MM-DD HH:MM:SS` form in one inlined loop over the string buffers, every other form
//! StarRocks accepts out of line.

use arrow::array::{Array, ArrayRef, AsArray, TimestampMicrosecondArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;

/// DATETIME values of a string column: microseconds, NULL where the text is not a datetime.
pub(super) fn parse_datetimes(input: &ArrayRef) -> TimestampMicrosecondArray {
    // No datetime is this many microseconds: it marks a value that is not one until the
    // validity bitmap is made, in one pass and only if some value failed.
    const NOT_A_DATETIME: i64 = i64::MIN;
    /// A value not in the canonical form (or not a datetime at all).
    #[cold]
    #[inline(never)]
    fn other(text: &str) -> i64 {
        parse_other_datetime(text).unwrap_or(NOT_A_DATETIME)
    }
    let mut parser = DatetimeParser::default();
    // Straight from the buffers, with only the 19-byte canonical form parsed in the loop;
    // any other text goes to `other`, out of line. The text under a NULL is parsed like any
    // other and overwritten below.
    let mut values: Vec<i64> = match input.data_type() {
        DataType::Utf8View => {
            let s = input.as_string_view();
            let buffers = s.data_buffers();
            s.views()
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let at = (v >> 96) as u32 as usize;
                    let canonical = (v as u32 == 19)
                        .then(|| buffers.get((v >> 64) as u32 as usize)?.get(at..at + 19))
                        .flatten()
                        .and_then(|text| parser.parse_canonical(text));
                    canonical.unwrap_or_else(|| other(s.value(i)))
                })
                .collect()
        }
        DataType::Utf8 => {
            let s = input.as_string::<i32>();
            let data = s.value_data();
            s.value_offsets()
                .windows(2)
                .enumerate()
                .map(|(i, w)| {
                    let (start, end) = (w[0] as usize, w[1] as usize);
                    let canonical = (end.wrapping_sub(start) == 19)
                        .then(|| data.get(start..end))
                        .flatten()
                        .and_then(|text| parser.parse_canonical(text));
                    canonical.unwrap_or_else(|| other(s.value(i)))
                })
                .collect()
        }
        _ => {
            let s = input.as_string::<i64>();
            (0..s.len())
                .map(|i| parser.parse(s.value(i)).unwrap_or(NOT_A_DATETIME))
                .collect()
        }
    };
    if let Some(nulls) = input.logical_nulls().filter(|n| n.null_count() > 0) {
        for (v, valid) in values.iter_mut().zip(nulls.iter()) {
            if !valid {
                *v = NOT_A_DATETIME;
            }
        }
    }
    let mut valid = None;
    if values.contains(&NOT_A_DATETIME) {
        valid = Some(NullBuffer::from_iter(
            values.iter().map(|&v| v != NOT_A_DATETIME),
        ));
        // Zero under the NULLs, so that later casts see ordinary values there.
        values
            .iter_mut()
            .filter(|v| **v == NOT_A_DATETIME)
            .for_each(|v| *v = 0);
    }
    TimestampMicrosecondArray::new(values.into(), valid)
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

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days from 1970-01-01 to a valid proleptic Gregorian date (`None` if it is not one).
/// Howard Hinnant's `days_from_civil`: a handful of integer operations, where chrono's
/// constructor and conversion cost a tenth of a DATETIME column's load time.
fn days_from_civil(y: u32, m: u32, d: u32) -> Option<i64> {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let month_days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > month_days {
        return None;
    }
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * i64::from((m + 9) % 12) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Microseconds into a day, if `h:m:s` is a valid time of day.
fn time_micros(h: u32, m: u32, s: u32) -> Option<i64> {
    (h < 24 && m < 60 && s < 60)
        .then(|| (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * 1_000_000)
}

/// Parses DATETIME text, remembering the days of the dates it has seen: a column's values
/// mostly fall on few dates, and looking one up costs less than converting it again.
pub(crate) struct DatetimeParser {
    /// `(the date's eight digits as ASCII, days since the epoch)`, direct-mapped by a hash of
    /// the digits; 0 is no date (digits are never zero bytes).
    dates: [(u64, i64); 64],
}

impl Default for DatetimeParser {
    fn default() -> Self {
        Self {
            dates: [(0, 0); 64],
        }
    }
}

impl DatetimeParser {
    /// [`parse_datetime_micros`].
    #[inline]
    pub(crate) fn parse(&mut self, s: &str) -> Option<i64> {
        self.parse_canonical(s.as_bytes())
            .or_else(|| parse_other_datetime(s))
    }

    /// The common `YYYY-MM-DD HH:MM:SS` form, read as three overlapping 64-bit words: the
    /// separators are checked with one mask each, the digits gathered with shifts and checked
    /// and paired eight at a time, and a date seen before is not converted again. About
    /// 7 ns a value where byte-by-byte gathering took 10.
    #[inline(always)]
    fn parse_canonical(&mut self, b: &[u8]) -> Option<i64> {
        let b: &[u8; 19] = b.try_into().ok()?;
        let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let (ymd, dhm, hms) = (word(0), word(8), word(11)); // YYYY-MM- / DD HH:MM / HH:MM:SS
        // '-' at 4 and 7, ' ' at 10, ':' at 13 and 16.
        let separators = ((ymd & 0xff00_00ff_0000_0000) ^ 0x2d00_002d_0000_0000)
            | ((dhm & 0x00ff_0000) ^ 0x0020_0000)
            | ((hms & 0xff00_00ff_0000) ^ 0x3a00_003a_0000);
        if separators != 0 {
            return None;
        }
        let date = (ymd & 0xffff_ffff) | ((ymd >> 8) & 0xffff_0000_0000) | ((dhm & 0xffff) << 48);
        let slot = (date.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize;
        let days = match self.dates[slot] {
            (seen, days) if seen == date => days,
            _ => {
                let p = digit_pairs(date.to_le_bytes())?;
                let pair = |k: u32| ((p >> (16 * k)) & 0xffff) as u32;
                let days = days_from_civil(pair(0) * 100 + pair(1), pair(2), pair(3))?;
                self.dates[slot] = (date, days);
                days
            }
        };
        let time = (hms & 0xffff)
            | ((hms >> 8) & 0xffff_0000)
            | ((hms >> 16) & 0xffff_0000_0000)
            | 0x3030_0000_0000_0000;
        let t = digit_pairs(time.to_le_bytes())?;
        let pair = |k: u32| ((t >> (16 * k)) & 0xffff) as u32;
        Some(days * MICROS_PER_DAY + time_micros(pair(0), pair(1), pair(2))?)
    }
}

/// Eight ASCII digits as four two-digit numbers, one per 16-bit lane (the first pair in the
/// lowest); `None` unless all eight are digits.
#[inline]
fn digit_pairs(text: [u8; 8]) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    let w = u64::from_le_bytes(text);
    // Each byte is 0x30..=0x3f, and adding 6 keeps it below 0x40 only for 0x30..=0x39 (no
    // byte that passes the first test can carry into the next).
    if w & HIGH != ZEROS || w.wrapping_add(0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    let d = w - ZEROS;
    const LOW: u64 = 0x00ff_00ff_00ff_00ff;
    Some((d & LOW) * 10 + ((d >> 8) & LOW))
}

/// Parses the date/datetime forms StarRocks accepts: `YYYY-MM-DD[( |T)HH:MM:SS[.ffffff]]`,
/// `YYYYMMDD[HHMMSS]`, `YYYY/MM/DD ...`. Returns microseconds since the epoch, or `None`.
pub fn parse_datetime_micros(s: &str) -> Option<i64> {
    DatetimeParser::default().parse(s)
}

/// [`parse_datetime_micros`] for the forms other than `YYYY-MM-DD HH:MM:SS`.
fn parse_other_datetime(s: &str) -> Option<i64> {
    // Whitespace of any kind around the value is allowed, as `str::trim` defines it.
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| digits(b, r);
    let (days, r) = if b.len() >= 10 && (b[4] == b'-' || b[4] == b'/') && b[7] == b[4] {
        (
            days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?)?,
            &b[10..],
        )
    } else if (b.len() == 8 || b.len() == 14) && b.iter().all(u8::is_ascii_digit) {
        let days = days_from_civil(num(0..4)?, num(4..6)?, num(6..8)?)?;
        let t = if b.len() == 14 {
            time_micros(num(8..10)?, num(10..12)?, num(12..14)?)?
        } else {
            0
        };
        return Some(days * MICROS_PER_DAY + t);
    } else {
        return None;
    };
    if r.is_empty() {
        return Some(days * MICROS_PER_DAY);
    }
    if !(r[0] == b' ' || r[0] == b'T') || r.len() < 9 || r[3] != b':' || r[6] != b':' {
        return None;
    }
    let p = |x: std::ops::Range<usize>| digits(r, x);
    let mut t = time_micros(p(1..3)?, p(4..6)?, p(7..9)?)?;
    if r.len() > 9 {
        let frac = &r[10..];
        if r[9] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        // Fractions beyond microseconds are cut off, not rounded.
        let kept = &frac[..frac.len().min(6)];
        let micros = i64::from(digits(kept, 0..kept.len())?) * 10i64.pow(6 - kept.len() as u32);
        if !frac[kept.len()..].iter().all(u8::is_ascii_digit) {
            return None;
        }
        t += micros;
    }
    Some(days * MICROS_PER_DAY + t)
}
