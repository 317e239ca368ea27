//! One column chunk, built page by page: each page compressed and written with its header,
//! then the chunk's metadata, statistics, column index and offset index.

use std::cell::RefCell;
use std::cmp::Ordering;

use bytes::Bytes;
use parquet::basic::{BoundaryOrder, Compression, Encoding, EncodingMask, PageType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, OffsetIndexBuilder, PageEncodingStats,
};
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::{Encoded, STATS_TRUNCATE};

/// How statistics values of a column compare and are shortened.
#[derive(Clone, Copy)]
pub(super) enum StatKind {
    /// Little-endian `i32`.
    Int32,
    /// Little-endian `i64`.
    Int64,
    /// Bytes compared as unsigned, shortened to [`STATS_TRUNCATE`] (UTF-8 aware when `true`).
    Bytes { utf8: bool },
}

impl StatKind {
    fn cmp(self, a: &[u8], b: &[u8]) -> Ordering {
        match self {
            StatKind::Int32 => le_i32(a).cmp(&le_i32(b)),
            StatKind::Int64 => le_i64(a).cmp(&le_i64(b)),
            StatKind::Bytes { .. } => a.cmp(b),
        }
    }
}

fn le_i32(b: &[u8]) -> i32 {
    i32::from_le_bytes(b.try_into().expect("an INT32 statistic has 4 bytes"))
}

fn le_i64(b: &[u8]) -> i64 {
    i64::from_le_bytes(b.try_into().expect("an INT64 statistic has 8 bytes"))
}

/// The smallest and largest value of a page, as Parquet stores them (untruncated).
pub(super) struct MinMax<'a> {
    pub min: &'a [u8],
    pub max: &'a [u8],
}

/// A data page's contents.
pub(super) struct DataPage<'a> {
    /// Definition levels, RLE (empty for a required column).
    pub levels: &'a [u8],
    /// Encoded values, not yet compressed.
    pub values: &'a [u8],
    pub encoding: Encoding,
    /// Rows, NULLs included.
    pub rows: usize,
    pub nulls: usize,
    /// `None` when every row is NULL.
    pub stats: Option<MinMax<'a>>,
}

/// A column chunk being written.
pub(super) struct Chunk {
    descr: ColumnDescPtr,
    kind: StatKind,
    sink: TrackedWrite<Vec<u8>>,
    encodings: Vec<Encoding>,
    encoding_stats: Vec<PageEncodingStats>,
    dictionary_offset: Option<i64>,
    data_offset: Option<i64>,
    uncompressed: i64,
    compressed: i64,
    rows: i64,
    offset_index: OffsetIndexBuilder,
    column_index: ColumnIndexBuilder,
    /// Min and max of the last page with values, and whether pages so far ascend/descend.
    last: Option<(Vec<u8>, Vec<u8>)>,
    ascending: bool,
    descending: bool,
}

impl Chunk {
    /// A chunk with room for `capacity` bytes reserved up front (the caller's bound on its
    /// size), so that appending pages does not move the ones before.
    pub fn new(descr: &ColumnDescPtr, kind: StatKind, capacity: usize) -> Self {
        Self {
            descr: descr.clone(),
            kind,
            sink: TrackedWrite::new(Vec::with_capacity(capacity)),
            encodings: vec![Encoding::RLE],
            encoding_stats: Vec::new(),
            dictionary_offset: None,
            data_offset: None,
            uncompressed: 0,
            compressed: 0,
            rows: 0,
            offset_index: OffsetIndexBuilder::new(),
            column_index: ColumnIndexBuilder::new(descr.physical_type()),
            last: None,
            ascending: true,
            descending: true,
        }
    }

    /// Writes the dictionary page (PLAIN-encoded values); it must come before any data page.
    pub fn dictionary_page(&mut self, plain: &[u8], values: usize) -> Result<(), ParquetError> {
        debug_assert!(self.data_offset.is_none());
        let buf = compressed(plain, Bytes::copy_from_slice);
        let page = Page::DictionaryPage {
            buf,
            num_values: values as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        let spec = SerializedPageWriter::new(&mut self.sink)
            .write_page(CompressedPage::new(page, plain.len()))?;
        self.dictionary_offset = Some(spec.offset as i64);
        self.note_encoding(PageType::DICTIONARY_PAGE, Encoding::PLAIN);
        self.uncompressed += spec.uncompressed_size as i64;
        self.compressed += spec.compressed_size as i64;
        Ok(())
    }

    /// Writes a data page (v2: levels uncompressed, values LZ4 unless that saves nothing).
    pub fn data_page(&mut self, p: DataPage<'_>) -> Result<(), ParquetError> {
        let (buf, is_compressed) = compressed(p.values, |body| {
            let is_compressed = body.len() < p.values.len();
            let body = if is_compressed { body } else { p.values };
            let mut buf = Vec::with_capacity(p.levels.len() + body.len());
            buf.extend_from_slice(p.levels);
            buf.extend_from_slice(body);
            (buf, is_compressed)
        });
        let page = Page::DataPageV2 {
            buf: Bytes::from(buf),
            num_values: p.rows as u32,
            encoding: p.encoding,
            num_nulls: p.nulls as u32,
            num_rows: p.rows as u32,
            def_levels_byte_len: p.levels.len() as u32,
            rep_levels_byte_len: 0,
            is_compressed,
            statistics: None,
        };
        let size = p.levels.len() + p.values.len();
        let spec = SerializedPageWriter::new(&mut self.sink)
            .write_page(CompressedPage::new(page, size))?;
        self.data_offset.get_or_insert(spec.offset as i64);
        self.note_encoding(PageType::DATA_PAGE_V2, p.encoding);
        self.uncompressed += spec.uncompressed_size as i64;
        self.compressed += spec.compressed_size as i64;
        self.rows += p.rows as i64;
        self.offset_index
            .append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
        self.offset_index.append_row_count(p.rows as i64);
        match p.stats {
            None => self
                .column_index
                .append(true, Vec::new(), Vec::new(), p.nulls as i64),
            Some(mm) => {
                self.note_bounds(&mm);
                let (min, max) = (self.truncate_min(mm.min), self.truncate_max(mm.max));
                self.column_index.append(false, min, max, p.nulls as i64);
            }
        }
        Ok(())
    }

    /// Finishes the chunk with its statistics; `byte_array_bytes` is the total length of its
    /// string values (none for other types).
    pub fn finish(
        self,
        stats: Statistics,
        byte_array_bytes: Option<i64>,
    ) -> Result<Encoded, ParquetError> {
        let Chunk {
            descr,
            sink,
            encodings,
            encoding_stats,
            dictionary_offset,
            data_offset,
            uncompressed,
            compressed,
            rows,
            offset_index,
            mut column_index,
            ascending,
            descending,
            ..
        } = self;
        let metadata = ColumnChunkMetaData::builder(descr)
            .set_compression(Compression::LZ4_RAW)
            .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
            .set_page_encoding_stats(encoding_stats)
            .set_total_compressed_size(compressed)
            .set_total_uncompressed_size(uncompressed)
            .set_num_values(rows)
            .set_data_page_offset(data_offset.unwrap_or(0))
            .set_dictionary_page_offset(dictionary_offset)
            .set_statistics(stats)
            .set_unencoded_byte_array_data_bytes(byte_array_bytes)
            .build()?;
        column_index.set_boundary_order(match (ascending, descending) {
            (true, _) => BoundaryOrder::ASCENDING,
            (false, true) => BoundaryOrder::DESCENDING,
            _ => BoundaryOrder::UNORDERED,
        });
        let column_index = if column_index.valid() {
            Some(column_index.build()?)
        } else {
            None
        };
        let bytes = Bytes::from(sink.into_inner()?);
        let close = ColumnCloseResult {
            bytes_written: bytes.len() as u64,
            rows_written: rows as u64,
            metadata,
            bloom_filter: None,
            column_index,
            offset_index: Some(offset_index.build()),
        };
        Ok((bytes, close))
    }

    fn note_encoding(&mut self, page_type: PageType, encoding: Encoding) {
        if !self.encodings.contains(&encoding) {
            self.encodings.push(encoding);
        }
        match self.encoding_stats.last_mut() {
            Some(s) if s.page_type == page_type && s.encoding == encoding => s.count += 1,
            _ => self.encoding_stats.push(PageEncodingStats {
                page_type,
                encoding,
                count: 1,
            }),
        }
    }

    /// Tracks whether page bounds ascend or descend, for the column index's boundary order.
    fn note_bounds(&mut self, mm: &MinMax<'_>) {
        if let Some((min, max)) = &self.last {
            let k = self.kind;
            if k.cmp(min, mm.min).is_gt() || k.cmp(max, mm.max).is_gt() {
                self.ascending = false;
            }
            if k.cmp(mm.min, min).is_gt() || k.cmp(mm.max, max).is_gt() {
                self.descending = false;
            }
        }
        self.last = Some((mm.min.to_vec(), mm.max.to_vec()));
    }

    /// A lower bound of at most [`STATS_TRUNCATE`] bytes.
    fn truncate_min(&self, v: &[u8]) -> Vec<u8> {
        match self.kind {
            StatKind::Bytes { utf8 } if v.len() > STATS_TRUNCATE => truncated_min(v, utf8),
            _ => v.to_vec(),
        }
    }

    /// An upper bound of at most [`STATS_TRUNCATE`] bytes, or `v` itself when no shorter
    /// one exists (as arrow-rs does).
    fn truncate_max(&self, v: &[u8]) -> Vec<u8> {
        match self.kind {
            StatKind::Bytes { utf8 } if v.len() > STATS_TRUNCATE => {
                truncated_max(v, utf8).unwrap_or_else(|| v.to_vec())
            }
            _ => v.to_vec(),
        }
    }
}

thread_local! {
    /// LZ4 output of the page being written: one buffer per encoding thread, zero-filled
    /// when it grows, not for every chunk.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `f` of `data` compressed with LZ4 (raw block).
fn compressed<R>(data: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    SCRATCH.with_borrow_mut(|scratch| {
        let bound = lz4_flex::block::get_maximum_output_size(data.len());
        if scratch.len() < bound {
            scratch.resize(bound, 0);
        }
        let n = lz4_flex::block::compress_into(data, scratch)
            .expect("the buffer holds the largest possible output");
        f(&scratch[..n])
    })
}

/// The longest prefix of `v` of at most [`STATS_TRUNCATE`] bytes (whole characters when
/// `utf8`): no greater than `v`.
pub(super) fn truncated_min(v: &[u8], utf8: bool) -> Vec<u8> {
    match std::str::from_utf8(v) {
        Ok(s) if utf8 => {
            let cut = (1..=STATS_TRUNCATE)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            v[..cut].to_vec()
        }
        _ => v[..STATS_TRUNCATE.min(v.len())].to_vec(),
    }
}

/// A value of at most [`STATS_TRUNCATE`] bytes greater than every value starting like `v`:
/// a prefix with its last character (or byte) incremented. `None` if there is none.
pub(super) fn truncated_max(v: &[u8], utf8: bool) -> Option<Vec<u8>> {
    if let (true, Ok(s)) = (utf8, std::str::from_utf8(v)) {
        let cut = (STATS_TRUNCATE.saturating_sub(3)..=STATS_TRUNCATE)
            .rev()
            .find(|&i| s.is_char_boundary(i))?;
        let prefix = &s[..cut];
        for (idx, c) in prefix.char_indices().rev() {
            if let Some(next) =
                char::from_u32(c as u32 + 1).filter(|n| n.len_utf8() == c.len_utf8())
            {
                let mut out = prefix.as_bytes()[..idx + c.len_utf8()].to_vec();
                next.encode_utf8(&mut out[idx..]);
                return Some(out);
            }
        }
        return None;
    }
    let mut out = v[..STATS_TRUNCATE.min(v.len())].to_vec();
    while let Some(last) = out.pop() {
        if last < u8::MAX {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}
