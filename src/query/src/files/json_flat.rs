//! The common shape of newline-delimited JSON, decoded straight into Arrow arrays: flat
//! objects whose values are strings, integers, floats, booleans or null.
//!
//! arrow-json first builds a tape of the whole text and then decodes the tape column by
//! column; for flat records that double pass is most of a JSON load's time. This decoder
//! reads each value once, into its column. It gives up on a chunk at the first thing outside
//! that shape — a nested value, a key the schema does not have, a key given twice, a value
//! of another type than its column's, a number that is not a plain JSON number, an escape it
//! does not know — and the chunk is then read by arrow-json, which applies its own rules and
//! reports its own errors. Whatever this decoder does decode, arrow-json decodes to the same
//! arrays (tested below against arrow-json itself).

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, SchemaRef};

/// Whether `schema` is one this decoder can produce: nullable strings, 64-bit integers,
/// doubles and booleans only.
pub(crate) fn supports(schema: &SchemaRef) -> bool {
    !schema.fields().is_empty()
        && schema.fields().iter().all(|f| {
            f.is_nullable()
                && matches!(
                    f.data_type(),
                    DataType::Utf8 | DataType::Int64 | DataType::Float64 | DataType::Boolean
                )
        })
}

/// The batches of `text` (whole JSON objects, one after another), `batch_rows` rows each
/// (the last fewer); `None` if the text is not all flat objects of `schema`'s columns.
pub(crate) fn decode(
    text: &[u8],
    schema: &SchemaRef,
    batch_rows: usize,
) -> Option<Vec<RecordBatch>> {
    let mut d = Decoder::new(schema, batch_rows);
    let mut p = Cursor { b: text, i: 0 };
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        if p.i == text.len() {
            break;
        }
        d.record(&mut p)?;
        if d.rows == batch_rows {
            out.push(d.finish(schema)?);
        }
    }
    if d.rows > 0 {
        out.push(d.finish(schema)?);
    }
    Some(out)
}

/// A position in the text.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Consumes `byte` or fails.
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    /// Consumes `word` (`null`, `true`, `false`) or fails.
    fn word(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// A string without escapes, after its opening quote; `None` if it has escapes.
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        let rest = &self.b[self.i..];
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] != b'"' {
            return None;
        }
        self.i += end + 1;
        Some(&rest[..end])
    }

    /// A string after its opening quote, unescaped and appended to `out`.
    fn string_into(&mut self, out: &mut Vec<u8>) -> Option<()> {
        loop {
            let rest = &self.b[self.i..];
            let end = memchr::memchr2(b'"', b'\\', rest)?;
            out.extend_from_slice(&rest[..end]);
            self.i += end + 1;
            if rest[end] == b'"' {
                return Some(());
            }
            let c = match *self.b.get(self.i)? {
                b'u' => {
                    self.i += 1;
                    let hi = self.hex4()?;
                    let code = if (0xD800..0xDC00).contains(&hi) {
                        self.word(b"\\u")?;
                        let lo = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return None;
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        hi
                    };
                    let c = char::from_u32(code)?;
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    continue;
                }
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 8,
                b'f' => 12,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                _ => return None,
            };
            out.push(c);
            self.i += 1;
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        let mut v = 0;
        for &c in h {
            v = v * 16 + (c as char).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }

    /// A JSON integer without fraction or exponent that fits an i64.
    fn int(&mut self) -> Option<i64> {
        let neg = self.peek()? == b'-';
        self.i += neg as usize;
        let start = self.i;
        let mut v: i64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            let d = (c - b'0') as i64;
            v = v.checked_mul(10)?;
            v = if neg {
                v.checked_sub(d)?
            } else {
                v.checked_add(d)?
            };
            self.i += 1;
        }
        let digits = self.i - start;
        // No digits, a leading zero, or a fraction or exponent: not for this decoder.
        if digits == 0 || (digits > 1 && self.b[start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        Some(v)
    }

    /// A number in JSON's grammar, as a finite double.
    fn float(&mut self) -> Option<f64> {
        let start = self.i;
        if self.peek()? == b'-' {
            self.i += 1;
        }
        let int_start = self.i;
        self.digits()?;
        if self.i - int_start > 1 && self.b[int_start] == b'0' {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digits()?;
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        text.parse::<f64>().ok().filter(|v| v.is_finite())
    }

    /// One or more digits.
    fn digits(&mut self) -> Option<()> {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        (self.i > start).then_some(())
    }
}

/// The values of one column so far.
enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Str { offsets: Vec<i32>, bytes: Vec<u8> },
}

struct Column {
    name: Box<[u8]>,
    values: Values,
    valid: Vec<bool>,
    /// The last row (1-based) this column got a value in.
    seen: usize,
}

impl Column {
    /// Parses the value at `p` into this column.
    fn value(&mut self, p: &mut Cursor) -> Option<()> {
        if p.peek()? == b'n' {
            p.word(b"null")?;
            self.push_null();
            return Some(());
        }
        match &mut self.values {
            Values::Int(v) => v.push(p.int()?),
            Values::Float(v) => v.push(p.float()?),
            Values::Bool(v) => match p.peek()? {
                b't' => p.word(b"true").map(|_| v.push(true))?,
                _ => p.word(b"false").map(|_| v.push(false))?,
            },
            Values::Str { offsets, bytes } => {
                p.expect(b'"')?;
                p.string_into(bytes)?;
                offsets.push(i32::try_from(bytes.len()).ok()?);
            }
        }
        self.valid.push(true);
        Some(())
    }

    fn push_null(&mut self) {
        match &mut self.values {
            Values::Int(v) => v.push(0),
            Values::Float(v) => v.push(0.0),
            Values::Bool(v) => v.push(false),
            Values::Str { offsets, bytes } => offsets.push(bytes.len() as i32),
        }
        self.valid.push(false);
    }

    /// The column's array, leaving it empty.
    fn finish(&mut self) -> Option<ArrayRef> {
        let valid = std::mem::take(&mut self.valid);
        let nulls = valid
            .contains(&false)
            .then(|| NullBuffer::new(BooleanBuffer::from(valid)));
        Some(match &mut self.values {
            Values::Int(v) => Arc::new(Int64Array::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Values::Float(v) => Arc::new(Float64Array::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Values::Bool(v) => Arc::new(BooleanArray::new(
                BooleanBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Values::Str { offsets, bytes } => {
                let offsets = std::mem::replace(offsets, vec![0]);
                let bytes = std::mem::take(bytes);
                // Validates the text as UTF-8: a string that is not gives the chunk to
                // arrow-json, which reports it.
                Arc::new(
                    StringArray::try_new(
                        OffsetBuffer::new(ScalarBuffer::from(offsets)),
                        bytes.into(),
                        nulls,
                    )
                    .ok()?,
                )
            }
        })
    }
}

struct Decoder {
    columns: Vec<Column>,
    /// The column each key position matched in the last record: records mostly list their
    /// keys in the same order.
    order: Vec<usize>,
    /// Rows in the current batch.
    rows: usize,
    /// Rows decoded in all, so a record's 1-based number tells which columns it set.
    total: usize,
}

impl Decoder {
    fn new(schema: &SchemaRef, batch_rows: usize) -> Self {
        let columns = schema
            .fields()
            .iter()
            .map(|f| Column {
                name: f.name().as_bytes().into(),
                values: match f.data_type() {
                    DataType::Int64 => Values::Int(Vec::with_capacity(batch_rows)),
                    DataType::Float64 => Values::Float(Vec::with_capacity(batch_rows)),
                    DataType::Boolean => Values::Bool(Vec::with_capacity(batch_rows)),
                    _ => Values::Str {
                        offsets: vec![0],
                        bytes: Vec::new(),
                    },
                },
                valid: Vec::with_capacity(batch_rows),
                seen: 0,
            })
            .collect();
        Self {
            columns,
            order: Vec::new(),
            rows: 0,
            total: 0,
        }
    }

    /// The column named `key`, the `k`-th key of its record.
    fn lookup(&mut self, key: &[u8], k: usize) -> Option<usize> {
        if let Some(&c) = self.order.get(k)
            && *self.columns[c].name == *key
        {
            return Some(c);
        }
        let c = self.columns.iter().position(|c| *c.name == *key)?;
        match self.order.get_mut(k) {
            Some(o) => *o = c,
            None => self.order.push(c),
        }
        Some(c)
    }

    /// One object, its opening brace at `p`.
    fn record(&mut self, p: &mut Cursor) -> Option<()> {
        p.expect(b'{')?;
        let row = self.total + 1;
        let mut keys = 0;
        p.skip_ws();
        if p.peek()? == b'}' {
            p.i += 1;
        } else {
            loop {
                p.expect(b'"')?;
                let key = p.plain_string()?;
                p.skip_ws();
                p.expect(b':')?;
                p.skip_ws();
                let c = self.lookup(key, keys)?;
                let col = &mut self.columns[c];
                if col.seen == row {
                    return None;
                }
                col.seen = row;
                col.value(p)?;
                keys += 1;
                p.skip_ws();
                match p.peek()? {
                    b',' => {
                        p.i += 1;
                        p.skip_ws();
                    }
                    b'}' => {
                        p.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        if keys < self.columns.len() {
            for col in &mut self.columns {
                if col.seen != row {
                    col.push_null();
                }
            }
        }
        self.rows += 1;
        self.total += 1;
        Some(())
    }

    /// The batch of the rows so far.
    fn finish(&mut self, schema: &SchemaRef) -> Option<RecordBatch> {
        let columns = self
            .columns
            .iter_mut()
            .map(Column::finish)
            .collect::<Option<Vec<_>>>()?;
        self.rows = 0;
        RecordBatch::try_new(schema.clone(), columns).ok()
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("b", DataType::Boolean, true),
            Field::new("f", DataType::Float64, true),
            Field::new("i", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]))
    }

    /// What arrow-json makes of `text`, as one batch.
    fn arrow_json(text: &str, schema: &SchemaRef) -> RecordBatch {
        let reader = arrow::json::ReaderBuilder::new(schema.clone())
            .with_batch_size(7)
            .build(text.as_bytes())
            .unwrap();
        let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
        arrow::compute::concat_batches(schema, &batches).unwrap()
    }

    fn flat(text: &str, schema: &SchemaRef) -> Option<RecordBatch> {
        let batches = decode(text.as_bytes(), schema, 3)?;
        assert!(batches.iter().all(|b| b.num_rows() <= 3));
        Some(arrow::compute::concat_batches(schema, &batches).unwrap())
    }

    #[test]
    fn decodes_what_arrow_json_decodes() {
        let s = schema();
        for text in [
            r#"{"i":1,"s":"a","f":1.5,"b":true}"#,
            "{\"i\": -9223372036854775808 , \"s\" : \"\" }\r\n\n{\"b\":false}\t{}\n",
            r#"{"s":"q\"u\\o\/t\b\f\n\r\tz","i":0}"#,
            r#"{"s":"\u00e9\u4e2d\ud83d\ude00 \u0041","i":-0}"#,
            r#"{"s":"é中😀 plain","f":-0.0}"#,
            r#"{"f":1e3}{"f":2E-3}{"f":-12.5e+2}{"f":7}{"f":0.1}{"f":123456789.123456789e-5}"#,
            r#"{"i":null,"s":null,"f":null,"b":null}"#,
            r#"{"s":"a"}{"i":2}{"f":3.0}{"b":true}{"s":"b","i":9223372036854775807}"#,
            "",
            "  \n ",
        ] {
            let got = flat(text, &s).unwrap_or_else(|| panic!("gave up on {text}"));
            let want = arrow_json(text, &s);
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn gives_up_outside_flat_records() {
        let s = schema();
        for text in [
            r#"{"i":1,"x":2}"#,             // a key the schema lacks
            r#"{"i":1,"i":2}"#,             // a key twice
            r#"{"s":{"a":1}}"#,             // nested object
            r#"{"s":[1]}"#,                 // array
            r#"{"s":1}"#,                   // number for a string
            r#"{"i":"1"}"#,                 // string for a number
            r#"{"i":1.5}"#,                 // fraction for an integer
            r#"{"i":1e2}"#,                 // exponent for an integer
            r#"{"i":01}"#,                  // leading zero
            r#"{"i":9223372036854775808}"#, // past i64
            r#"{"f":.5}"#,                  // not JSON's number grammar
            r#"{"f":1.}"#,
            r#"{"f":1e999}"#, // not finite
            r#"{"b":1}"#,
            r#"{"s":"\x"}"#,     // unknown escape
            r#"{"s":"\ud83d"}"#, // lone surrogate
            r#"{"s\n":"a"}"#,    // escaped key
            r#"{"i":1} x"#,      // trailing garbage
            r#"{"i":1"#,         // cut short
            r#"[{"i":1}]"#,      // top-level array
            r#"{"i":1,}"#,       // trailing comma
            r#"{"i":nul}"#,
        ] {
            assert!(flat(text, &s).is_none(), "decoded {text}");
        }
        // Invalid UTF-8 in a string value.
        assert!(decode(b"{\"s\":\"\xff\"}", &s, 3).is_none());
        // Types outside the fast path's, or a column that may not be null.
        let nested = Arc::new(Schema::new(vec![Field::new("d", DataType::Date32, true)]));
        assert!(!supports(&nested));
        let strict = Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, false)]));
        assert!(!supports(&strict));
        assert!(supports(&s));
    }

    /// Generated records (keys in any order, any subset, escapes, nulls, extreme numbers,
    /// odd whitespace) decode as arrow-json decodes them.
    #[test]
    fn generated_records_match_arrow_json() {
        let s = schema();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let strings = [
            "",
            "x",
            "a b",
            r#"q\"q"#,
            r#"\\"#,
            r#"\u00fc\n"#,
            "ü漢",
            r#"\ud834\udd1e"#,
        ];
        let ints = [
            "0",
            "-1",
            "42",
            "9223372036854775807",
            "-9223372036854775808",
        ];
        let floats = ["0.5", "-2.25e-3", "1E10", "3", "-0", "6.02214076e23"];
        let ws = ["", " ", "\n", "\t ", "\r\n"];
        let mut text = String::new();
        for _ in 0..500 {
            let mut fields = vec![
                ("b", ["true", "false", "null"][rand(3) as usize].to_string()),
                ("f", floats[rand(6) as usize].to_string()),
                ("i", ints[rand(5) as usize].to_string()),
                ("s", format!("\"{}\"", strings[rand(8) as usize])),
            ];
            for k in (1..fields.len()).rev() {
                fields.swap(k, rand(k as u64 + 1) as usize);
            }
            fields.truncate(rand(5) as usize);
            text.push('{');
            for (n, (k, v)) in fields.iter().enumerate() {
                if n > 0 {
                    text.push(',');
                }
                let v = if rand(10) == 0 { "null" } else { v.as_str() };
                let w: Vec<&str> = (0..4).map(|_| ws[rand(5) as usize]).collect();
                text.push_str(&format!("{}\"{k}\"{}:{}{v}{}", w[0], w[1], w[2], w[3]));
            }
            text.push('}');
            text.push_str(ws[rand(5) as usize]);
            if rand(3) == 0 {
                text.push('\n');
            }
        }
        let got = flat(&text, &s).expect("flat records");
        assert_eq!(got.num_rows(), 500);
        assert_eq!(got, arrow_json(&text, &s));
    }
}
