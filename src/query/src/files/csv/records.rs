//! CSV text to records with the `csv.*` options: the `csv` crate for one-byte separators and
//! delimiters, a splitter of Strata's own for multi-byte ones.

use std::io::Read;

use crate::files::FilesError;
use crate::files::props::CsvOptions;

/// Calls `f` with each record of one CSV text after the first `skip` (header) records, until
/// `f` returns false. Header records are not checked: a header that is not valid UTF-8 is
/// skipped like any other. `bad` turns a record the reader cannot read into the error.
pub(super) fn each_record<R: Read>(
    opts: &CsvOptions,
    mut skip: usize,
    input: R,
    base: u64,
    bad: impl Fn(String) -> FilesError,
    mut f: impl FnMut(&csv::StringRecord) -> Result<bool, FilesError>,
) -> Result<(), FilesError> {
    match (&opts.separator[..], &opts.row_delimiter[..]) {
        ([sep], [delim]) => {
            let mut reader = single_byte_reader(opts, *sep, *delim, input);
            // One record, reused: no allocation per row.
            let mut rec = csv::StringRecord::new();
            loop {
                let res = reader.read_record(&mut rec);
                if skip > 0 {
                    skip -= 1;
                    if matches!(res, Ok(false)) {
                        break;
                    }
                    continue;
                }
                if !res.map_err(|e| bad(csv_error(&e, base)))? || !f(&rec)? {
                    break;
                }
            }
        }
        _ => {
            let records = MultiByteRecords {
                input: std::io::BufReader::with_capacity(1 << 16, input),
                pending: Vec::new(),
                start: 0,
                eof: false,
                separator: opts.separator.clone(),
                delimiter: opts.row_delimiter.clone(),
                trim: opts.trim_space,
            };
            for rec in records.skip(skip) {
                if !f(&rec.map_err(&bad)?)? {
                    break;
                }
            }
        }
    }
    Ok(())
}

type Rec = Result<csv::StringRecord, String>;

/// A CSV reader's error, its position counted from the start of the file (`base` is where
/// the text the reader read begins). Line and record numbers are left out: a reader over one
/// chunk of a file cannot know them.
fn csv_error(e: &csv::Error, base: u64) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { pos: Some(p), err } => {
            format!(
                "invalid UTF-8 in column {} (${}) of the record at byte {} of the file, {} bytes \
                 into the field",
                err.field() + 1,
                err.field() + 1,
                base + p.byte(),
                err.valid_up_to()
            )
        }
        _ => e.to_string(),
    }
}

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
