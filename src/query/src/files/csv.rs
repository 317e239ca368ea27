//! CSV in FILES(): streaming decode (compression by file suffix), StarRocks' `csv.*` options,
//! type inference over sampled rows, and a table that reads files without holding them whole.

use std::io::Read;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::SchemaRef;
use async_compression::tokio::bufread::{
    BzDecoder, GzipDecoder, Lz4Decoder, XzDecoder, ZlibDecoder, ZstdDecoder,
};
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStoreExt};
use strata_common::types::{SrType, VARCHAR_MAX};
use tokio::io::AsyncRead;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::files::FilesError;
use crate::files::infer::promote;
use crate::files::list::storage_error;
use crate::files::props::{Codec, CsvOptions};
use crate::files::read::Decorate;
use crate::files::store::ResolvedStore;

const BATCH_ROWS: usize = 8192;

/// Opens an object as a decompressed byte stream, with `codec` or else the one its suffix
/// implies.
pub(crate) async fn open(
    store: &ResolvedStore,
    meta: &ObjectMeta,
    display: &str,
    codec: Option<Codec>,
) -> Result<Box<dyn AsyncRead + Send + Unpin>, FilesError> {
    let res = store
        .store
        .get(&meta.location)
        .await
        .map_err(|e| storage_error(e, &format!("reading {display}"), store))?;
    let stream = res
        .into_stream()
        .map_err(|e| std::io::Error::other(e.to_string()));
    let raw = tokio::io::BufReader::new(StreamReader::new(stream));
    let codec = codec.unwrap_or_else(|| Codec::by_suffix(meta.location.as_ref()));
    Ok(match codec {
        Codec::Plain => Box::new(raw),
        Codec::Gzip => Box::new(GzipDecoder::new(raw)),
        Codec::Bzip2 => Box::new(BzDecoder::new(raw)),
        Codec::Zstd => Box::new(ZstdDecoder::new(raw)),
        Codec::Xz => Box::new(XzDecoder::new(raw)),
        Codec::Deflate => Box::new(ZlibDecoder::new(raw)),
        Codec::Lz4 => Box::new(Lz4Decoder::new(raw)),
    })
}

/// The records of one CSV file, after the header rows.
fn records<R: Read + 'static>(opts: &CsvOptions, input: R) -> Box<dyn Iterator<Item = Rec>> {
    let rows: Box<dyn Iterator<Item = Rec>> = match (&opts.separator[..], &opts.row_delimiter[..]) {
        ([sep], [delim]) => Box::new(
            single_byte_reader(opts, *sep, *delim, input)
                .into_records()
                .map(|r| r.map_err(|e| e.to_string())),
        ),
        _ => Box::new(MultiByteRecords {
            input: std::io::BufReader::with_capacity(1 << 16, input),
            pending: Vec::new(),
            start: 0,
            eof: false,
            separator: opts.separator.clone(),
            delimiter: opts.row_delimiter.clone(),
            trim: opts.trim_space,
        }),
    };
    Box::new(rows.skip(opts.skip_header))
}

type Rec = Result<csv::StringRecord, String>;

fn single_byte_reader<R: Read>(opts: &CsvOptions, sep: u8, delim: u8, input: R) -> csv::Reader<R> {
    let mut b = csv::ReaderBuilder::new();
    b.has_headers(false)
        .flexible(true)
        .delimiter(sep)
        .terminator(if delim == b'\n' {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(delim)
        })
        .quoting(opts.enclose.is_some())
        .quote(opts.enclose.unwrap_or(b'"'))
        .double_quote(true)
        .escape(opts.escape)
        .trim(if opts.trim_space {
            csv::Trim::Fields
        } else {
            csv::Trim::None
        });
    b.from_reader(input)
}

/// Records split by a multi-byte row delimiter and column separator (StarRocks allows up to
/// 50 bytes each, e.g. `||` or `\x01\x02`). Fields are taken as written: `csv.enclose` and
/// `csv.escape` apply only with one-byte separators.
struct MultiByteRecords<R> {
    input: std::io::BufReader<R>,
    pending: Vec<u8>,
    start: usize,
    eof: bool,
    separator: Vec<u8>,
    delimiter: Vec<u8>,
    trim: bool,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl<R: Read> MultiByteRecords<R> {
    fn record(&self, bytes: &[u8]) -> Rec {
        let text =
            std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8 in a record: {e}"))?;
        let sep = std::str::from_utf8(&self.separator).ok();
        let fields: Vec<&str> = match sep {
            Some(sep) => text.split(sep).collect(),
            None => vec![text],
        };
        let fields = fields
            .into_iter()
            .map(|f| if self.trim { f.trim_matches(' ') } else { f });
        Ok(csv::StringRecord::from(fields.collect::<Vec<_>>()))
    }
}

impl<R: Read> Iterator for MultiByteRecords<R> {
    type Item = Rec;

    fn next(&mut self) -> Option<Rec> {
        let mut searched = self.start;
        loop {
            let from = searched
                .saturating_sub(self.delimiter.len())
                .max(self.start);
            if let Some(i) = find(&self.pending[from..], &self.delimiter) {
                let end = from + i;
                let rec = self.record(&self.pending[self.start..end]);
                self.start = end + self.delimiter.len();
                return Some(rec);
            }
            if self.eof {
                if self.start >= self.pending.len() {
                    return None;
                }
                let rec = self.record(&self.pending[self.start..]);
                self.start = self.pending.len();
                return Some(rec);
            }
            searched = self.pending.len();
            if self.start > 0 && self.start * 2 > self.pending.len() {
                self.pending.drain(..self.start);
                searched -= self.start;
                self.start = 0;
            }
            let mut chunk = [0u8; 1 << 16];
            match self.input.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) => {
                    self.eof = true;
                    self.start = self.pending.len();
                    return Some(Err(e.to_string()));
                }
            }
        }
    }
}

/// The type one sampled value votes for.
fn vote(v: &str) -> SrType {
    let t = v;
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") || t == "0" || t == "1" {
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
        for rec in records(&opts, SyncIoBridge::new(input)) {
            let rec = rec.map_err(|e| {
                FilesError::InvalidFile(format!("File {display} is not readable as CSV: {e}"))
            })?;
            if rec.iter().all(|f| f.is_empty()) && rec.len() <= 1 {
                continue;
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
                    Some(prev) => promote(prev, &t),
                    None => t,
                });
            }
            seen += 1;
            if seen >= sample_rows {
                break;
            }
        }
        Ok(types
            .into_iter()
            .map(|t| t.unwrap_or(SrType::Varchar(VARCHAR_MAX)))
            .collect())
    })
    .await
    .map_err(|e| FilesError::InvalidFile(format!("CSV inference failed: {e}")))?
}

/// Reads one CSV file (blocking; run on a blocking thread).
pub(crate) fn read_file(
    input: Box<dyn AsyncRead + Send + Unpin>,
    display: &str,
    schema: &SchemaRef,
    opts: &CsvOptions,
    fill_null: bool,
    mut deco: Decorate,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let ncols = schema.fields().len();
    let mut builders: Vec<StringBuilder> = (0..ncols).map(|_| StringBuilder::new()).collect();
    let mut rows = 0usize;
    let shown = |b: &[u8]| String::from_utf8_lossy(b).escape_default().to_string();
    let (sep, delim) = (shown(&opts.separator), shown(&opts.row_delimiter));
    for rec in records(opts, SyncIoBridge::new(input)) {
        let rec = rec.map_err(|e| {
            FilesError::InvalidFile(format!("File {display} is not readable as CSV: {e}"))
        })?;
        if rec.len() <= 1 && rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        if rec.len() != ncols && !(fill_null && rec.len() < ncols) {
            let row: Vec<&str> = rec.iter().collect();
            return Err(FilesError::InvalidFile(format!(
                "Schema column count: {ncols} doesn't match source value column count: {}. \
                 Column separator: '{sep}', Row delimiter: '{delim}', Row: '{}', File: {display}. \
                 Consider setting 'fill_mismatch_column_with' = 'null' property",
                rec.len(),
                row.join(&String::from_utf8_lossy(&opts.separator))
            )));
        }
        for (i, b) in builders.iter_mut().enumerate() {
            match rec.get(i) {
                Some("\\N") | None => b.append_null(),
                Some(v) => b.append_value(v),
            }
        }
        rows += 1;
        if rows == BATCH_ROWS {
            send(&mut builders, schema, &mut deco, tx)?;
            rows = 0;
        }
    }
    if rows > 0 {
        send(&mut builders, schema, &mut deco, tx)?;
    }
    Ok(())
}

fn send(
    builders: &mut [StringBuilder],
    schema: &SchemaRef,
    deco: &mut Decorate,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    let cols = builders
        .iter_mut()
        .zip(schema.fields())
        .map(|(b, f)| {
            let s: ArrayRef = Arc::new(b.finish());
            cast_with_options(&s, f.data_type(), &opts)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FilesError::InvalidFile(e.to_string()))?;
    let batch = RecordBatch::try_new(schema.clone(), cols)
        .map_err(|e| FilesError::InvalidFile(e.to_string()))?;
    let batch = deco.apply(batch)?;
    // A closed channel means the query stopped reading (LIMIT): not an error.
    let _ = tx.blocking_send(Ok(batch));
    Ok(())
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
        let got: Vec<Vec<String>> = records(&opts, input)
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
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

    #[test]
    fn votes() {
        assert_eq!(vote("1"), SrType::Boolean);
        assert_eq!(vote("true"), SrType::Boolean);
        assert_eq!(vote("12"), SrType::BigInt);
        assert_eq!(vote("1.5"), SrType::Double);
        assert_eq!(vote("2024-01-01"), SrType::Varchar(VARCHAR_MAX));
        assert_eq!(vote(""), SrType::Varchar(VARCHAR_MAX));
        assert_eq!(promote(&SrType::Boolean, &SrType::BigInt), SrType::BigInt);
    }
}
