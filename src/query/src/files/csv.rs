//! CSV in FILES(): streaming decode (compression by file suffix), StarRocks' `csv.*` options,
//! type inference over sampled rows, and a table that reads files without holding them whole.

use std::io::Read;
use std::sync::Arc;

use arrow::array::{ArrayRef, PrimitiveBuilder, RecordBatch, StringBuilder};
use arrow::compute::kernels::cast_utils::Parser;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, SchemaRef};
use object_store::ObjectMeta;
use strata_common::types::{SrType, VARCHAR_MAX};
use tokio_util::io::SyncIoBridge;

use crate::files::FilesError;
use crate::files::failures::{BadRows, bounded};
use crate::files::infer::promote;
use crate::files::props::{Codec, CsvOptions};
use crate::files::read::{BATCH_ROWS, Decorate, READ_AS_TEXT};
use crate::files::store::ResolvedStore;
use crate::files::text::{BOM, CHUNK_BYTES, ChunkFormat, emitter, open, read_chunked};
use crate::types::sr_type;

mod records;

use records::each_record;

/// The type one sampled value votes for. Only `true`/`false` are BOOLEAN; `1` and `0` are
/// integers, as StarRocks infers them (a one-row file `1|10.11.12.13` is `$1 bigint`).
fn vote(v: &str) -> SrType {
    let t = v;
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        SrType::Boolean
    } else if t.parse::<i64>().is_ok() {
        SrType::BigInt
    } else if !t.is_empty()
        && t.parse::<f64>().is_ok()
        && !t.eq_ignore_ascii_case("nan")
        && !t.to_ascii_lowercase().contains("inf")
    {
        SrType::Double
    } else {
        SrType::Varchar(VARCHAR_MAX)
    }
}

/// Two votes of one CSV column merged: numbers widen as elsewhere, but `true`/`false` with a
/// number is VARCHAR, which holds both as written (as BIGINT, `true` would be a bad value).
fn merge_votes(a: &SrType, b: &SrType) -> SrType {
    if (*a == SrType::Boolean) != (*b == SrType::Boolean) {
        return SrType::Varchar(VARCHAR_MAX);
    }
    promote(a, b)
}

/// Infers `$1..$n` from the first rows of one file.
pub async fn infer_file(
    store: &ResolvedStore,
    meta: &ObjectMeta,
    display: String,
    opts: &CsvOptions,
    sample_rows: usize,
    detect_types: bool,
    codec: Option<Codec>,
) -> Result<Vec<SrType>, FilesError> {
    let input = open(store, meta, &display, codec).await?;
    let opts = opts.clone();
    tokio::task::spawn_blocking(move || {
        let mut types: Vec<Option<SrType>> = Vec::new();
        let mut seen = 0;
        let bad = |e: String| {
            FilesError::InvalidFile(format!("File {display} is not readable as CSV: {e}"))
        };
        each_record(
            &opts,
            opts.skip_header,
            SyncIoBridge::new(input),
            0,
            bad,
            |rec| {
                if rec.iter().all(|f| f.is_empty()) && rec.len() <= 1 {
                    return Ok(true);
                }
                for (i, f) in rec.iter().enumerate() {
                    let t = if detect_types {
                        vote(f)
                    } else {
                        SrType::Varchar(VARCHAR_MAX)
                    };
                    if types.len() <= i {
                        types.resize(i + 1, None);
                    }
                    types[i] = Some(match &types[i] {
                        Some(prev) => merge_votes(prev, &t),
                        None => t,
                    });
                }
                seen += 1;
                Ok(seen < sample_rows)
            },
        )?;
        Ok(types
            .into_iter()
            .map(|t| t.unwrap_or(SrType::Varchar(VARCHAR_MAX)))
            .collect())
    })
    .await
    .map_err(|e| FilesError::InvalidFile(format!("CSV inference failed: {e}")))?
}

/// Reads one CSV file (blocking; run on a blocking thread).
///
/// With one-byte separators and no `csv.escape`, the file is cut into chunks at record ends
/// ([`Cuts`]) and several chunks parse at once ([`read_chunked`]): a single large file then
/// uses more than one core. Batches still leave in file order, so row numbers and errors are what a
/// reading from start to end gives.
pub(crate) fn read_file(
    input: Box<dyn Read + Send>,
    display: &str,
    schema: &SchemaRef,
    opts: &CsvOptions,
    fill_null: bool,
    mut deco: Decorate,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let load = deco.is_load();
    let mut emit = emitter(&mut deco, tx);
    let parse = Parse {
        display: display.into(),
        schema: schema.clone(),
        opts: opts.clone(),
        fill_null,
        load,
    };
    match (&opts.separator[..], &opts.row_delimiter[..], opts.escape) {
        ([sep], [delim], None) => {
            let cuts = Cuts {
                sep: *sep,
                delim: *delim,
                enclose: opts.enclose,
            };
            let skip = opts.skip_header;
            read_chunked(input, (cuts, parse), skip, CHUNK_BYTES, display, &mut emit)
        }
        _ => parse.run(input, opts.skip_header, 0, &mut emit),
    }
}

/// How one file's records become batches in its file schema.
#[derive(Clone)]
pub(crate) struct Parse {
    display: Arc<str>,
    schema: SchemaRef,
    opts: CsvOptions,
    fill_null: bool,
    /// A load reads: a record with the wrong field count is a filtered row, not an error.
    load: bool,
}

impl Parse {
    /// Parses `input` (the text from byte `base` of the file on), skipping `skip` header
    /// records; hands each batch to `emit` until it returns false.
    fn run<R: Read>(
        &self,
        input: R,
        skip: usize,
        base: u64,
        emit: &mut dyn FnMut(RecordBatch) -> Result<bool, FilesError>,
    ) -> Result<(), FilesError> {
        let (display, opts) = (&self.display, &self.opts);
        let ncols = self.schema.fields().len();
        let mut builders: Vec<Column> = self
            .schema
            .fields()
            .iter()
            .map(|f| Column::new(f))
            .collect();
        let mut rows = 0usize;
        let mut bad_rows = BadRows::default();
        let shown = |b: &[u8]| String::from_utf8_lossy(b).escape_default().to_string();
        let bad = |e: String| {
            FilesError::InvalidFile(format!("File {display} is not readable as CSV: {e}"))
        };
        each_record(opts, skip, input, base, bad, |rec| {
            if rec.len() <= 1 && rec.iter().all(|f| f.is_empty()) {
                return Ok(true);
            }
            // With fill_mismatch_column_with = 'null' a short record gets NULLs and a long
            // one loses its extra fields; otherwise a query fails, and a load filters the row.
            if rec.len() != ncols && !self.fill_null {
                let row: Vec<&str> = rec.iter().collect();
                let row = bounded(&row.join(&String::from_utf8_lossy(&opts.separator)));
                let message = format!(
                    "Schema column count: {ncols} doesn't match source value column count: {}. \
                     Column separator: '{}', Row delimiter: '{}', Row: '{row}', File: {display}. \
                     Consider setting 'fill_mismatch_column_with' = 'null' property",
                    rec.len(),
                    shown(&opts.separator),
                    shown(&opts.row_delimiter),
                );
                if !self.load {
                    return Err(FilesError::InvalidFile(message));
                }
                bad_rows.add_row(BATCH_ROWS, rows, &row, &message);
                for b in builders.iter_mut() {
                    b.push(None);
                }
            } else {
                for (i, b) in builders.iter_mut().enumerate() {
                    let v = rec.get(i).filter(|v| *v != "\\N");
                    if !b.push(v) {
                        let f = self.schema.field(i);
                        let ty = sr_type(f.data_type()).map_or_else(String::new, |t| t.describe());
                        bad_rows.add(BATCH_ROWS, rows, f.name(), v.unwrap_or_default(), &ty);
                    }
                }
            }
            rows += 1;
            if rows < BATCH_ROWS {
                return Ok(true);
            }
            rows = 0;
            emit(self.batch(&mut builders, std::mem::take(&mut bad_rows))?)
        })?;
        if rows > 0 {
            emit(self.batch(&mut builders, bad_rows)?)?;
        }
        Ok(())
    }

    /// The records `builders` hold, cast to the file schema, with the values that did not
    /// fit it (`bad`, and those the cast loses) in the readers' bad-value column.
    fn batch(&self, builders: &mut [Column], mut bad: BadRows) -> Result<RecordBatch, FilesError> {
        let opts = CastOptions {
            safe: true,
            ..Default::default()
        };
        let mut cols = Vec::with_capacity(builders.len());
        for (b, f) in builders.iter_mut().zip(self.schema.fields()) {
            let text = b.finish();
            let col = cast_with_options(&text, f.data_type(), &opts)
                .map_err(|e| FilesError::InvalidFile(e.to_string()))?;
            if text.data_type() != f.data_type() {
                bad.add_cast(f.name(), text.as_ref(), col.as_ref());
            }
            cols.push(col);
        }
        RecordBatch::try_new(self.schema.clone(), cols)
            .and_then(|b| bad.attach(b))
            .map_err(|e| FilesError::InvalidFile(e.to_string()))
    }
}

/// One column of the records being parsed. BIGINT and DOUBLE fields are parsed as they are
/// read, by the parser a cast from text uses, instead of being copied into a string column
/// and cast as a whole. A field that does not parse is NULL in the batch and reported to the
/// caller, which records it as a bad value (a load's strict mode rejects the row). An empty
/// field of a column of another type than VARCHAR is NULL, as `\N` is.
enum Column {
    Text(StringBuilder),
    /// Text cast to a type of its own (BOOLEAN) once the batch is complete.
    Cast(StringBuilder),
    BigInt(PrimitiveBuilder<Int64Type>),
    Double(PrimitiveBuilder<Float64Type>),
}

impl Column {
    fn new(field: &Field) -> Self {
        match field.data_type() {
            DataType::Int64 => Column::BigInt(PrimitiveBuilder::new()),
            DataType::Float64 => Column::Double(PrimitiveBuilder::new()),
            // Text of a column inferred as another type: its empty fields stay NULL.
            _ if field.metadata().contains_key(READ_AS_TEXT) => Column::Cast(StringBuilder::new()),
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
                Column::Text(StringBuilder::new())
            }
            _ => Column::Cast(StringBuilder::new()),
        }
    }

    /// Appends `v`; false when it is a value that does not parse as the column's type.
    #[inline]
    fn push(&mut self, v: Option<&str>) -> bool {
        match self {
            Column::Text(b) => b.append_option(v),
            Column::Cast(b) => b.append_option(v.filter(|v| !v.is_empty())),
            Column::BigInt(b) => match v.filter(|v| !v.is_empty()) {
                None => b.append_null(),
                Some(v) => {
                    let parsed = Int64Type::parse(v);
                    b.append_option(parsed);
                    return parsed.is_some();
                }
            },
            Column::Double(b) => match v.filter(|v| !v.is_empty()) {
                None => b.append_null(),
                Some(v) => {
                    let parsed = Float64Type::parse(v);
                    b.append_option(parsed);
                    return parsed.is_some();
                }
            },
        }
        true
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Text(b) | Column::Cast(b) => Arc::new(b.finish()),
            Column::BigInt(b) => Arc::new(b.finish()),
            Column::Double(b) => Arc::new(b.finish()),
        }
    }
}

/// Where CSV text may be cut between records without parsing it: after a row delimiter that
/// is not inside an enclosed field. The reader's own rules decide what is enclosed: the
/// enclose character opens a field only at the field's start (else it is a literal), and
/// inside one a doubled enclose character is a literal. Only enclose characters are
/// visited, so text with few of them is scanned at memchr's speed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cuts {
    sep: u8,
    delim: u8,
    enclose: Option<u8>,
}

impl Cuts {
    /// The end of the last whole record in `text`, which starts at a record's start.
    fn last(&self, text: &[u8]) -> Option<usize> {
        let Some(q) = self.enclose else {
            return memchr::memrchr(self.delim, text).map(|i| i + 1);
        };
        // A field starts after a separator or a record end (with '\n' rows, '\r' ends
        // one too), and at the start of the text or after the file's byte order mark.
        let starts_field = |i: usize| {
            i == 0 || (i == BOM.len() && text.starts_with(BOM)) || {
                let b = text[i - 1];
                b == self.sep || self.ends_record(b)
            }
        };
        let mut best = None;
        let mut plain_from = 0; // start of the stretch outside enclosed fields
        let mut at = 0;
        while let Some(i) = memchr::memchr(q, &text[at..]).map(|i| at + i) {
            if !starts_field(i) {
                at = i + 1;
                continue;
            }
            if let Some(d) = self.last_end(&text[plain_from..i]) {
                best = Some(plain_from + d + 1);
            }
            // Find the closing enclose character (a doubled one is a literal).
            let mut j = i + 1;
            loop {
                match memchr::memchr(q, &text[j..]) {
                    None => return best,
                    Some(k) if text.get(j + k + 1) == Some(&q) => j += k + 2,
                    Some(k) if j + k + 1 == text.len() => return best,
                    Some(k) => {
                        j += k + 1;
                        break;
                    }
                }
            }
            plain_from = j;
            at = j;
        }
        self.last_end(&text[plain_from..])
            .map(|d| plain_from + d + 1)
            .or(best)
    }

    /// Whether `b` ends a record (outside an enclosed field).
    fn ends_record(&self, b: u8) -> bool {
        b == self.delim || (self.delim == b'\n' && b == b'\r')
    }

    /// The position of the last byte of `text` that ends a record, if `text` has no enclosed
    /// field.
    fn last_end(&self, text: &[u8]) -> Option<usize> {
        if self.delim == b'\n' {
            memchr::memrchr2(b'\n', b'\r', text)
        } else {
            memchr::memrchr(self.delim, text)
        }
    }

    /// The records in `text` (whole records from a record's start), as the reader counts
    /// them: blank lines are none, and record ends inside enclosed fields do not count.
    fn records(&self, text: &[u8]) -> usize {
        let text = text.strip_prefix(BOM).unwrap_or(text);
        let (mut count, mut blank, mut field_start, mut quoted) = (0, true, true, false);
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            i += 1;
            if quoted {
                if Some(b) == self.enclose {
                    if text.get(i) == self.enclose.as_ref() {
                        i += 1;
                    } else {
                        quoted = false;
                    }
                }
                continue;
            }
            if self.ends_record(b) {
                count += usize::from(!blank);
                (blank, field_start) = (true, true);
                continue;
            }
            quoted = field_start && Some(b) == self.enclose;
            field_start = b == self.sep;
            blank = false;
        }
        count + usize::from(!blank)
    }
}

impl ChunkFormat for (Cuts, Parse) {
    fn cut(&self, text: &[u8], skip: usize) -> Option<usize> {
        let (cuts, _) = self;
        cuts.last(text)
            .filter(|&i| skip == 0 || cuts.records(&text[..i]) >= skip)
    }

    fn parse_stream(
        &self,
        input: &mut dyn Read,
        skip: usize,
        base: u64,
        emit: &mut dyn FnMut(RecordBatch) -> Result<bool, FilesError>,
    ) -> Result<(), FilesError> {
        self.1.run(input, skip, base, emit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_byte_separators() {
        let opts = CsvOptions {
            separator: b"||".to_vec(),
            row_delimiter: b"\r\n".to_vec(),
            skip_header: 1,
            enclose: None,
            escape: None,
            trim_space: true,
        };
        let input: &'static [u8] = b"h1||h2\r\n1|| a \r\n2||b|c\r\n\r\n3";
        let mut got: Vec<Vec<String>> = Vec::new();
        each_record(
            &opts,
            opts.skip_header,
            input,
            0,
            FilesError::InvalidFile,
            |r| {
                got.push(r.iter().map(str::to_string).collect());
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                vec!["1".to_string(), "a".to_string()],
                vec!["2".to_string(), "b|c".to_string()],
                vec![String::new()],
                vec!["3".to_string()],
            ]
        );
    }

    /// Reads `text` whole and in chunks of many sizes; the batches must be the same.
    async fn chunked_like_whole(text: String, enclose: Option<u8>, skip: usize, rows: usize) {
        let parse = Parse {
            display: "t.csv".into(),
            schema: Arc::new(arrow::datatypes::Schema::new(vec![
                arrow::datatypes::Field::new("$1", arrow::datatypes::DataType::Int64, true),
                arrow::datatypes::Field::new("$2", arrow::datatypes::DataType::Utf8, true),
            ])),
            opts: CsvOptions {
                separator: b",".to_vec(),
                row_delimiter: b"\n".to_vec(),
                skip_header: skip,
                enclose,
                escape: None,
                trim_space: false,
            },
            fill_null: false,
            load: false,
        };
        let cuts = Cuts {
            sep: b',',
            delim: b'\n',
            enclose,
        };
        let read = move |chunk: Option<usize>| {
            let (text, parse) = (text.clone(), parse.clone());
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                let mut emit = |b: RecordBatch| {
                    out.push(b);
                    Ok(true)
                };
                match chunk {
                    Some(n) => read_chunked(
                        text.as_bytes(),
                        (cuts, parse.clone()),
                        skip,
                        n,
                        "t",
                        &mut emit,
                    ),
                    None => parse.run(text.as_bytes(), skip, 0, &mut emit),
                }
                .unwrap();
                let schema = parse.schema.clone();
                arrow::compute::concat_batches(&schema, &out).unwrap()
            })
        };
        let whole = read(None).await.unwrap();
        assert_eq!(whole.num_rows(), rows);
        for n in [1, 2, 3, 7, 64, 1000] {
            assert_eq!(read(Some(n)).await.unwrap(), whole, "chunks of {n} bytes");
        }
    }

    /// Cut into chunks of a few bytes, a file gives the batches, in order, that reading it
    /// from start to end gives: across CRLF line ends, blank lines, a header, a line longer
    /// than a chunk and a missing last line end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_read_like_the_whole_file() {
        let mut text = String::from("id,name\r\n\r\n");
        for i in 0..300 {
            text.push_str(&format!("{i},n{i}\r\n"));
            if i % 50 == 0 {
                text.push_str(&format!("\n{i},{}\n", "x".repeat(100)));
            }
        }
        text.push_str("301,last");
        chunked_like_whole(text, None, 1, 307).await;
        // Lines ended by CR alone, which the reader takes as record ends too.
        let cr: String = (0..50).map(|i| format!("{i},v{i}\r")).collect();
        chunked_like_whole(format!("id,v\r{cr}"), None, 1, 50).await;
    }

    /// With an enclose character, records are cut only outside enclosed fields: not at the
    /// row delimiters and separators inside them, nor between doubled enclose characters;
    /// an enclose character in the middle of a field is a literal.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_respect_enclosed_fields() {
        let mut text = String::from("\"id\",\"name\"\n");
        for i in 0..100 {
            let name = match i % 5 {
                0 => "\"multi\nline,\r\nfield\"".to_string(),
                1 => "\"say \"\"hi\"\"\n\"".to_string(),
                2 => "5 inch\" pipe".to_string(),
                3 => "\"\"".to_string(),
                _ => format!("plain{i}"),
            };
            text.push_str(&format!("{i},{name}\n"));
        }
        chunked_like_whole(text.clone(), Some(b'"'), 1, 100).await;
        // A byte order mark before an enclosed header field that holds a separator.
        chunked_like_whole(format!("\u{feff}\"a,\",b\n{text}"), Some(b'"'), 2, 100).await;
        // Two header records, the first over three lines: the first chunk must hold both.
        let header = format!("\"h\n\n1\",x\n\"{}\",y\n", "h".repeat(40));
        chunked_like_whole(format!("{header}1,a\n2,b\n"), Some(b'"'), 2, 2).await;
    }

    #[test]
    fn cut_points() {
        let cuts = Cuts {
            sep: b',',
            delim: b'\n',
            enclose: Some(b'"'),
        };
        assert_eq!(cuts.last(b"1,a\n2,\"b\nc\"\n3"), Some(12));
        assert_eq!(cuts.last(b"1,a\n2,\"b\nc"), Some(4));
        // A closing enclose character at the end may yet be doubled: not a cut.
        assert_eq!(cuts.last(b"1,a\n2,\"b\n\""), Some(4));
        assert_eq!(cuts.last(b"1,a\"b\n2"), Some(6));
        assert_eq!(cuts.last(b"no end"), None);
    }

    /// Numbers parsed as they are read equal the text column cast as a whole.
    #[test]
    fn typed_columns_equal_text_cast() {
        let values = [
            Some("12"),
            Some("-7"),
            Some("+3"),
            Some(" 4"),
            Some("1.5"),
            Some("1e3"),
            Some("abc"),
            Some(""),
            Some("9223372036854775808"),
            Some("NaN"),
            Some("inf"),
            None,
        ];
        for ty in [DataType::Int64, DataType::Float64] {
            let mut typed = Column::new(&Field::new("c", ty.clone(), true));
            let mut text = Column::Text(StringBuilder::new());
            for v in values {
                typed.push(v);
                text.push(v);
            }
            let opts = CastOptions {
                safe: true,
                ..Default::default()
            };
            let cast = cast_with_options(&text.finish(), &ty, &opts).unwrap();
            assert_eq!(typed.finish().as_ref(), cast.as_ref(), "{ty}");
        }
    }

    /// The fast path reports a bad value exactly where the general path (text cast to the
    /// type, a non-empty value that comes out NULL) loses one.
    #[test]
    fn fast_path_reports_what_the_cast_loses() {
        let opts = CastOptions {
            safe: true,
            ..Default::default()
        };
        for ty in [DataType::Int64, DataType::Float64] {
            for v in [
                "12",
                "-7",
                "+3",
                " 4",
                "1.5",
                "1e3",
                "abc",
                "",
                "9223372036854775808",
                "-9223372036854775809",
                "NaN",
                "inf",
                "0x10",
                "1_000",
            ] {
                let mut c = Column::new(&Field::new("c", ty.clone(), true));
                let reported_bad = !c.push(Some(v));
                let text: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![v]));
                let lost =
                    !v.is_empty() && cast_with_options(&text, &ty, &opts).unwrap().is_null(0);
                assert_eq!(reported_bad, lost, "{ty} {v:?}");
            }
        }
    }

    /// A load's batches carry their bad values, numbered by row: a word and an overflow in a
    /// BIGINT column, a wrong field count (a whole-row failure); empty fields are NULL, also in
    /// a column read as text; a query's read fails on the wrong field count instead.
    #[test]
    fn a_loads_batches_carry_their_bad_values() {
        use arrow::array::Array;

        let mut text_meta = std::collections::HashMap::new();
        text_meta.insert(READ_AS_TEXT.to_string(), "Float64".to_string());
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            Field::new("$1", DataType::Int64, true),
            Field::new("$2", DataType::Float64, true),
            Field::new("$3", DataType::Utf8, true).with_metadata(text_meta),
        ]));
        let text = "1,2.5,x\nabc,1e3,\n,,y\n9223372036854775808,nan,z\n1\n";
        let parse = |load| Parse {
            display: "t.csv".into(),
            schema: schema.clone(),
            opts: CsvOptions {
                separator: b",".to_vec(),
                row_delimiter: b"\n".to_vec(),
                skip_header: 0,
                enclose: None,
                escape: None,
                trim_space: false,
            },
            fill_null: false,
            load,
        };
        let mut batches = Vec::new();
        parse(true)
            .run(text.as_bytes(), 0, 0, &mut |b| {
                batches.push(b);
                Ok(true)
            })
            .unwrap();
        let sink = crate::files::failures::ReadFailures::default();
        let batch = crate::files::failures::detach(batches.remove(0), 1, Some(&sink));
        let got: Vec<(u64, String, String)> = sink
            .take_all()
            .into_iter()
            .map(|f| (f.row, f.column, f.value))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "$1".to_string(), "abc".to_string()),
                (4, "$1".to_string(), "9223372036854775808".to_string()),
                (5, String::new(), "1".to_string()),
            ]
        );
        assert_eq!(batch.num_columns(), 3);
        // Row 3's empty fields are NULL, not bad values; the text column's too.
        assert!(batch.column(0).is_null(2) && batch.column(1).is_null(2));
        assert!(batch.column(2).is_null(1));
        assert!(
            parse(false)
                .run(text.as_bytes(), 0, 0, &mut |_| Ok(true))
                .is_err()
        );
    }

    #[test]
    fn votes() {
        assert_eq!(vote("1"), SrType::BigInt);
        assert_eq!(vote("0"), SrType::BigInt);
        assert_eq!(vote("true"), SrType::Boolean);
        assert_eq!(vote("FALSE"), SrType::Boolean);
        assert_eq!(
            merge_votes(&SrType::Boolean, &SrType::BigInt),
            SrType::Varchar(VARCHAR_MAX)
        );
        assert_eq!(
            merge_votes(&SrType::BigInt, &SrType::Double),
            SrType::Double
        );
        assert_eq!(vote("12"), SrType::BigInt);
        assert_eq!(vote("1.5"), SrType::Double);
        assert_eq!(vote("2024-01-01"), SrType::Varchar(VARCHAR_MAX));
        assert_eq!(vote(""), SrType::Varchar(VARCHAR_MAX));
        assert_eq!(promote(&SrType::Boolean, &SrType::BigInt), SrType::BigInt);
    }
}
