//! String and binary columns: a dictionary page and RLE-encoded indices while the chunk's
//! dictionary stays under [`DICTIONARY_LIMIT`], plain pages for the rest.
//!
//! Values of up to 15 bytes are interned by their bytes packed into one integer, so a
//! low-cardinality column costs one hash-table probe per value and no comparison of bytes.
//! A column that arrives dictionary-encoded is interned once per distinct value.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanBufferBuilder};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::DataType;
use parquet::basic::{Encoding, LogicalType};
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::schema::types::ColumnDescPtr;

use super::chunk::{Chunk, DataPage, MinMax, StatKind, truncated_max, truncated_min};
use super::rle::{bit_width, def_levels, encode_hybrid};
use super::{DICTIONARY_LIMIT, Encoded, PAGE_BYTES, PAGE_ROWS, STATS_TRUNCATE};

/// No id.
const NONE: u32 = u32::MAX;

/// Where an array's value bytes are.
enum Values<'a> {
    /// Offsets into one data buffer (`Utf8`, `Binary`).
    Offsets { offsets: &'a [i32], data: &'a [u8] },
    /// Views: short values inline, long ones in data buffers (`Utf8View`, `BinaryView`).
    Views {
        views: &'a [u128],
        raw: &'a [u8],
        buffers: &'a [arrow::buffer::Buffer],
    },
}

impl<'a> Values<'a> {
    fn of(a: &'a ArrayRef) -> Result<Self, ParquetError> {
        Ok(match a.data_type() {
            DataType::Utf8 => {
                let s = a.as_string::<i32>();
                Values::Offsets {
                    offsets: s.value_offsets(),
                    data: s.value_data(),
                }
            }
            DataType::Binary => {
                let b = a.as_binary::<i32>();
                Values::Offsets {
                    offsets: b.value_offsets(),
                    data: b.value_data(),
                }
            }
            DataType::Utf8View => {
                let s = a.as_string_view();
                Values::Views {
                    views: s.views(),
                    raw: s.views().inner().as_slice(),
                    buffers: s.data_buffers(),
                }
            }
            DataType::BinaryView => {
                let b = a.as_binary_view();
                Values::Views {
                    views: b.views(),
                    raw: b.views().inner().as_slice(),
                    buffers: b.data_buffers(),
                }
            }
            t => {
                return Err(ParquetError::General(format!(
                    "segment encoder: unexpected {t} in a string column"
                )));
            }
        })
    }

    /// For a view of up to 12 bytes, [`short_view_key`].
    #[inline]
    fn short_key(&self, i: usize) -> Option<u128> {
        match self {
            Values::Views { views, .. } => short_view_key(views[i]),
            Values::Offsets { .. } => None,
        }
    }

    /// The bytes of value `i`.
    #[inline(always)]
    fn get(&self, i: usize) -> &'a [u8] {
        match self {
            Values::Offsets { offsets, data } => {
                &data[offsets[i] as usize..offsets[i + 1] as usize]
            }
            Values::Views {
                views,
                raw,
                buffers,
            } => {
                let v = views[i];
                let len = v as u32 as usize;
                if len <= 12 {
                    &raw[i * 16 + 4..i * 16 + 4 + len]
                } else {
                    let buffer = (v >> 64) as u32 as usize;
                    let offset = (v >> 96) as u32 as usize;
                    &buffers[buffer][offset..offset + len]
                }
            }
        }
    }
}

/// For a view of up to 12 bytes, [`pack_short`] of its value, read off the view itself (its
/// length, then the bytes, zero-padded). Were a producer to leave the padding unzeroed, equal
/// values would only get two dictionary entries.
#[inline(always)]
fn short_view_key(v: u128) -> Option<u128> {
    let len = v as u32;
    (len <= 12).then(|| (v >> 32) | (u128::from(len) << 120))
}

/// One array slice of the chunk, read row by row.
struct Rows<'a> {
    values: Values<'a>,
    /// For a dictionary array: each row's index into `values`.
    keys: Option<Vec<usize>>,
    /// The dictionary's values, to recognise the same dictionary in the next slice.
    dictionary: Option<&'a ArrayRef>,
    nulls: Option<NullBuffer>,
    len: usize,
}

impl<'a> Rows<'a> {
    fn new(a: &'a ArrayRef) -> Result<Self, ParquetError> {
        let nulls = a.logical_nulls().filter(|n| n.null_count() > 0);
        if let Some(d) = a.as_any_dictionary_opt() {
            return Ok(Self {
                values: Values::of(d.values())?,
                keys: Some(d.normalized_keys()),
                dictionary: Some(d.values()),
                nulls,
                len: a.len(),
            });
        }
        Ok(Self {
            values: Values::of(a)?,
            keys: None,
            dictionary: None,
            nulls,
            len: a.len(),
        })
    }

    /// The bytes of entry `i` (a row, or a dictionary value).
    #[inline]
    fn entry(&self, i: usize) -> &'a [u8] {
        self.values.get(i)
    }

    #[inline]
    fn valid(&self, row: usize) -> bool {
        self.nulls.as_ref().is_none_or(|n| n.is_valid(row))
    }
}

/// Folded multiply: a fast, well-mixed hash step.
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

const K1: u64 = 0x9e37_79b9_7f4a_7c15;
const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// Hasher of keys that are already integers (packed short strings, or long strings' hashes).
#[derive(Default)]
struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = mix(self.0 ^ u64::from(*b), K1);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix(v ^ K2, K1);
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = mix((v as u64) ^ K2, ((v >> 64) as u64) ^ K1);
    }
}

type IntMap<K> = HashMap<K, u32, BuildHasherDefault<IntHasher>>;

fn hash_bytes(v: &[u8]) -> u64 {
    let mut h = K2 ^ v.len() as u64;
    let mut words = v.chunks_exact(8);
    for w in &mut words {
        h = mix(h ^ u64::from_le_bytes(w.try_into().expect("8 bytes")), K1);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    mix(h ^ u64::from_le_bytes(tail), K1)
}

/// A value of up to 15 bytes and its length as one integer (the length in the top byte).
/// Built from overlapping word loads: copying the bytes into a buffer and reading it back
/// whole stalls on store forwarding, which cost more than the hash-table probe.
#[inline(always)]
fn pack_short(v: &[u8]) -> u128 {
    let n = v.len();
    debug_assert!(n < 16);
    let word = |at: usize| u64::from_le_bytes(v[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            v[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    let (lo, hi) = match n {
        8.. => (
            word(0),
            word(n - 8).checked_shr((16 - n as u32) * 8).unwrap_or(0),
        ),
        4.. => (half(0) | (half(n - 4) << ((n - 4) * 8)), 0),
        // One to three bytes: the first, the middle and the last, which overlap when there
        // are fewer; three loads rather than a loop over the bytes.
        1.. => (
            u64::from(v[0])
                | u64::from(v[n / 2]) << (n / 2 * 8)
                | u64::from(v[n - 1]) << ((n - 1) * 8),
            0,
        ),
        0 => (0, 0),
    };
    u128::from(lo) | (u128::from(hi) << 64) | ((n as u128) << 120)
}

/// Slots of [`Dict::recent`].
const RECENT: usize = 64;

/// A column chunk's dictionary: its PLAIN page and an index of its values.
struct Dict {
    page: Vec<u8>,
    /// Start and length of each value in `page`.
    spans: Vec<(u32, u32)>,
    /// Short values seen last, direct-mapped by a hash of their packed form: a
    /// low-cardinality column (the common case for strings worth a dictionary) finds its
    /// values here with one multiply and one comparison.
    recent: [(u128, u32); RECENT],
    /// Values of up to 15 bytes, packed with their length.
    short: IntMap<u128>,
    /// Longer values by hash: the last id with that hash; `chain` leads to earlier ones.
    long: IntMap<u64>,
    chain: Vec<u32>,
}

impl Default for Dict {
    fn default() -> Self {
        Self {
            page: Vec::new(),
            spans: Vec::new(),
            recent: [(0, NONE); RECENT],
            short: IntMap::default(),
            long: IntMap::default(),
            chain: Vec::new(),
        }
    }
}

impl Dict {
    fn value(&self, id: u32) -> &[u8] {
        let (start, len) = self.spans[id as usize];
        &self.page[start as usize..(start + len) as usize]
    }

    fn push(&mut self, v: &[u8]) -> u32 {
        let id = self.spans.len() as u32;
        self.page.extend_from_slice(&(v.len() as u32).to_le_bytes());
        self.spans.push((self.page.len() as u32, v.len() as u32));
        self.page.extend_from_slice(v);
        self.chain.push(NONE);
        id
    }

    /// The id of the value `v()`, whose [`pack_short`] form is `key`. Inlined into the row
    /// loops: the common case is one multiply, one load and one comparison, and the value's
    /// bytes are only looked up for a value not among the recent ones.
    #[inline(always)]
    fn intern_short<'v>(&mut self, key: u128, v: impl FnOnce() -> &'v [u8]) -> u32 {
        let slot = ((key as u64 ^ (key >> 64) as u64).wrapping_mul(K1) >> 58) as usize;
        let (seen, id) = self.recent[slot];
        if seen == key && id != NONE {
            return id;
        }
        self.intern_short_slow(slot, key, v())
    }

    /// [`Self::intern_short`] of a value not among the recent ones.
    #[inline(never)]
    fn intern_short_slow(&mut self, slot: usize, key: u128, v: &[u8]) -> u32 {
        let id = match self.short.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.push(v);
                self.short.insert(key, id);
                id
            }
        };
        self.recent[slot] = (key, id);
        id
    }

    #[inline(always)]
    fn intern(&mut self, v: &[u8]) -> u32 {
        if v.len() < 16 {
            return self.intern_short(pack_short(v), || v);
        }
        self.intern_long(v)
    }

    /// [`Self::intern`] of a value of 16 bytes or more.
    #[inline(never)]
    fn intern_long(&mut self, v: &[u8]) -> u32 {
        let h = hash_bytes(v);
        let head = self.long.get(&h).copied().unwrap_or(NONE);
        let mut id = head;
        while id != NONE {
            if self.value(id) == v {
                return id;
            }
            id = self.chain[id as usize];
        }
        let id = self.push(v);
        self.chain[id as usize] = head;
        self.long.insert(h, id);
        id
    }
}

/// Min and max of byte strings.
#[derive(Default)]
struct Bounds {
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
}

impl Bounds {
    fn add(&mut self, v: &[u8]) {
        let replace = |slot: &mut Option<Vec<u8>>| match slot {
            Some(m) => {
                m.clear();
                m.extend_from_slice(v);
            }
            None => *slot = Some(v.to_vec()),
        };
        if self.min.as_deref().is_none_or(|m| v < m) {
            replace(&mut self.min);
        }
        if self.max.as_deref().is_none_or(|m| v > m) {
            replace(&mut self.max);
        }
    }

    fn merge(&mut self, other: &Bounds) {
        if let (Some(lo), Some(hi)) = (&other.min, &other.max) {
            self.add(lo);
            self.add(hi);
        }
    }

    fn min_max(&self) -> Option<MinMax<'_>> {
        Some(MinMax {
            min: self.min.as_deref()?,
            max: self.max.as_deref()?,
        })
    }
}

/// What the first pass over a chunk found.
struct Interned {
    dict: Dict,
    /// The id of every non-NULL row before `dict_rows`.
    ids: Vec<u32>,
    /// Rows encoded with the dictionary; the rest are stored plain.
    dict_rows: usize,
    /// Validity of every row, if any is NULL.
    validity: Option<BooleanBuffer>,
    rows: usize,
    /// Total bytes of the non-NULL values.
    value_bytes: i64,
}

/// Interns rows until the dictionary passes [`DICTIONARY_LIMIT`].
fn intern(pieces: &[Rows<'_>]) -> Interned {
    let mut dict = Dict::default();
    let mut ids = Vec::new();
    let mut validity: Option<BooleanBufferBuilder> = None;
    let mut rows = 0;
    let mut dict_rows = None;
    let mut value_bytes = 0i64;
    // Dictionary value -> id, kept while consecutive pieces share one source dictionary.
    let mut remap: Vec<u32> = Vec::new();
    let mut remap_of: Option<&ArrayRef> = None;
    for p in pieces {
        match &p.nulls {
            Some(n) => validity
                .get_or_insert_with(|| {
                    let mut b = BooleanBufferBuilder::new(rows + p.len);
                    b.append_n(rows, true);
                    b
                })
                .append_buffer(n.inner()),
            None => {
                if let Some(v) = &mut validity {
                    v.append_n(p.len, true);
                }
            }
        }
        if let Some(values) = p.dictionary
            && !remap_of.is_some_and(|r| Arc::ptr_eq(r, values))
        {
            remap.clear();
            remap.resize(values.len(), NONE);
            remap_of = Some(values);
        }
        let mut start = 0;
        if p.keys.is_none() && p.nulls.is_none() && dict_rows.is_none() {
            match intern_plain(&mut dict, &mut ids, &p.values, p.len, &mut value_bytes) {
                // The rest of the piece is only counted, below.
                Some(row) => {
                    dict_rows = Some(rows + row);
                    start = row + 1;
                }
                None => start = p.len,
            }
        }
        for row in start..p.len {
            if !p.valid(row) {
                continue;
            }
            let entry = p.keys.as_ref().map_or(row, |k| k[row]);
            let v = p.entry(entry);
            value_bytes += v.len() as i64;
            if dict_rows.is_some() {
                continue;
            }
            let id = if p.keys.is_some() {
                match remap[entry] {
                    NONE => {
                        let id = dict.intern(v);
                        remap[entry] = id;
                        id
                    }
                    id => id,
                }
            } else if let Some(key) = p.values.short_key(entry) {
                dict.intern_short(key, || v)
            } else {
                dict.intern(v)
            };
            if dict.page.len() > DICTIONARY_LIMIT {
                dict_rows = Some(rows + row);
                continue;
            }
            ids.push(id);
        }
        rows += p.len;
    }
    let dict_rows = dict_rows.unwrap_or(rows);
    Interned {
        dict,
        ids,
        dict_rows,
        validity: validity.map(|mut v| v.finish()),
        rows,
        value_bytes,
    }
}

/// [`intern`]'s loop for the common piece, one without NULLs or a source dictionary: interns
/// its `len` rows, adding their lengths to `value_bytes`, and returns the row at which the
/// dictionary passed [`DICTIONARY_LIMIT`], if it did (that row's id is not pushed).
fn intern_plain(
    dict: &mut Dict,
    ids: &mut Vec<u32>,
    values: &Values<'_>,
    len: usize,
    value_bytes: &mut i64,
) -> Option<usize> {
    ids.reserve(len);
    // Keeps a row's id, unless interning it took the dictionary past its limit.
    let mut keep = |dict: &Dict, id: u32| {
        let over = dict.page.len() > DICTIONARY_LIMIT;
        if !over {
            ids.push(id);
        }
        !over
    };
    match values {
        Values::Views { views, .. } => {
            for (row, &v) in views[..len].iter().enumerate() {
                *value_bytes += i64::from(v as u32);
                let id = match short_view_key(v) {
                    Some(key) => dict.intern_short(key, || values.get(row)),
                    None => dict.intern(values.get(row)),
                };
                if !keep(dict, id) {
                    return Some(row);
                }
            }
        }
        Values::Offsets { offsets, data } => {
            for (row, w) in offsets[..=len].windows(2).enumerate() {
                let v = &data[w[0] as usize..w[1] as usize];
                *value_bytes += v.len() as i64;
                let id = dict.intern(v);
                if !keep(dict, id) {
                    return Some(row);
                }
            }
        }
    }
    None
}

/// Encodes a column chunk of strings or binary values.
pub(super) fn encode(descr: &ColumnDescPtr, column: &[ArrayRef]) -> Result<Encoded, ParquetError> {
    let utf8 = matches!(descr.logical_type_ref(), Some(LogicalType::String));
    let nullable = descr.max_def_level() > 0;
    let pieces = column
        .iter()
        .map(Rows::new)
        .collect::<Result<Vec<_>, _>>()?;
    let first = intern(&pieces);
    let nulls = first
        .validity
        .as_ref()
        .map_or(0, |v| v.len() - v.count_set_bits());
    if nulls > 0 && !nullable {
        return Err(ParquetError::General(format!(
            "segment encoder: NULL in NOT NULL column {}",
            descr.name()
        )));
    }
    // Room for every value stored plain, with its length; a dictionary's pages take less.
    let capacity = first.dict.page.len() + first.value_bytes as usize + 4 * first.rows;
    let mut chunk = Chunk::new(descr, StatKind::Bytes { utf8 }, capacity);
    let mut bounds = Bounds::default();
    let page_levels = |from: usize, rows: usize, out: &mut Vec<u8>| -> usize {
        let v = first.validity.as_ref().map(|v| v.slice(from, rows));
        if nullable {
            def_levels(v.as_ref(), rows, out);
        }
        v.map_or(rows, |v| v.count_set_bits())
    };
    if first.dict_rows > 0 {
        let dict = &first.dict;
        chunk.dictionary_page(&dict.page, dict.spans.len())?;
        let width = bit_width(dict.spans.len().saturating_sub(1) as u32);
        // Page number + 1 that last saw each id: a page's bounds come from its distinct ids.
        let mut seen = vec![0u32; dict.spans.len()];
        let (mut levels, mut values) = (Vec::new(), Vec::new());
        let mut next_id = 0;
        for (page_no, from) in (0..first.dict_rows).step_by(PAGE_ROWS).enumerate() {
            let rows = PAGE_ROWS.min(first.dict_rows - from);
            levels.clear();
            values.clear();
            let valid = page_levels(from, rows, &mut levels);
            let ids = &first.ids[next_id..next_id + valid];
            next_id += valid;
            let mut page_bounds = Bounds::default();
            let stamp = page_no as u32 + 1;
            for &id in ids {
                if seen[id as usize] != stamp {
                    seen[id as usize] = stamp;
                    page_bounds.add(dict.value(id));
                }
            }
            values.push(width);
            encode_hybrid(ids, width, &mut values);
            bounds.merge(&page_bounds);
            chunk.data_page(DataPage {
                levels: &levels,
                values: &values,
                encoding: Encoding::RLE_DICTIONARY,
                rows,
                nulls: rows - valid,
                stats: page_bounds.min_max(),
            })?;
        }
    }
    plain_pages(&pieces, &first, &mut chunk, &mut bounds, nullable)?;
    let stats = statistics(&bounds, nulls as u64, utf8);
    chunk.finish(stats, Some(first.value_bytes))
}

/// Writes the rows from `first.dict_rows` on as PLAIN pages.
fn plain_pages(
    pieces: &[Rows<'_>],
    first: &Interned,
    chunk: &mut Chunk,
    bounds: &mut Bounds,
    nullable: bool,
) -> Result<(), ParquetError> {
    if first.dict_rows == first.rows {
        return Ok(());
    }
    let (mut levels, mut values) = (Vec::new(), Vec::new());
    let mut page_bounds = Bounds::default();
    let (mut page_from, mut page_rows, mut page_nulls) = (first.dict_rows, 0, 0);
    let mut flush = |levels: &mut Vec<u8>,
                     values: &mut Vec<u8>,
                     page_bounds: &mut Bounds,
                     from: usize,
                     rows: usize,
                     nulls: usize|
     -> Result<(), ParquetError> {
        levels.clear();
        if nullable {
            let v = first.validity.as_ref().map(|v| v.slice(from, rows));
            def_levels(v.as_ref(), rows, levels);
        }
        bounds.merge(page_bounds);
        chunk.data_page(DataPage {
            levels,
            values,
            encoding: Encoding::PLAIN,
            rows,
            nulls,
            stats: page_bounds.min_max(),
        })?;
        values.clear();
        *page_bounds = Bounds::default();
        Ok(())
    };
    let mut row = 0;
    for p in pieces {
        for r in 0..p.len {
            let global = row + r;
            if global < first.dict_rows {
                continue;
            }
            if p.valid(r) {
                let v = p.entry(p.keys.as_ref().map_or(r, |k| k[r]));
                values.extend_from_slice(&(v.len() as u32).to_le_bytes());
                values.extend_from_slice(v);
                page_bounds.add(v);
            } else {
                page_nulls += 1;
            }
            page_rows += 1;
            if page_rows == PAGE_ROWS || values.len() >= PAGE_BYTES {
                flush(
                    &mut levels,
                    &mut values,
                    &mut page_bounds,
                    page_from,
                    page_rows,
                    page_nulls,
                )?;
                page_from += page_rows;
                (page_rows, page_nulls) = (0, 0);
            }
        }
        row += p.len;
    }
    if page_rows > 0 {
        flush(
            &mut levels,
            &mut values,
            &mut page_bounds,
            page_from,
            page_rows,
            page_nulls,
        )?;
    }
    Ok(())
}

/// Chunk statistics, min and max shortened to [`STATS_TRUNCATE`] bytes.
fn statistics(bounds: &Bounds, nulls: u64, utf8: bool) -> Statistics {
    let (min, max) = match (&bounds.min, &bounds.max) {
        (Some(lo), Some(hi)) => (lo.as_slice(), hi.as_slice()),
        _ => {
            return ValueStatistics::<ByteArray>::new(None, None, None, Some(nulls), false).into();
        }
    };
    let (min, min_exact) = if min.len() > STATS_TRUNCATE {
        (truncated_min(min, utf8), false)
    } else {
        (min.to_vec(), true)
    };
    // Without a shorter upper bound the value is kept whole, as arrow-rs does.
    // Only a value longer than the bound is shortened (`truncated_max` cuts at the bound).
    let shortened = (max.len() > STATS_TRUNCATE)
        .then(|| truncated_max(max, utf8))
        .flatten();
    let (max, max_exact) = match shortened {
        Some(m) => (m, false),
        None => (max.to_vec(), true),
    };
    ValueStatistics::new(
        Some(ByteArray::from(min)),
        Some(ByteArray::from(max)),
        None,
        Some(nulls),
        false,
    )
    .with_min_is_exact(min_exact)
    .with_max_is_exact(max_exact)
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_views_key_as_their_packed_bytes() {
        let texts = ["", "pv", "twelve bytes", "thirteen byte"];
        let a: ArrayRef = Arc::new(arrow::array::StringViewArray::from(texts.to_vec()));
        let values = Values::of(&a).unwrap();
        for (i, t) in texts.iter().enumerate() {
            let want = (t.len() <= 12).then(|| pack_short(t.as_bytes()));
            assert_eq!(values.short_key(i), want, "{t}");
            assert_eq!(values.get(i), t.as_bytes());
        }
    }

    #[test]
    fn short_values_pack_to_their_bytes_and_length() {
        for n in 0..16 {
            let v: Vec<u8> = (1..=n as u8).map(|b| b.wrapping_mul(37)).collect();
            let mut want = [0u8; 16];
            want[..n].copy_from_slice(&v);
            want[15] = n as u8;
            assert_eq!(pack_short(&v), u128::from_le_bytes(want), "{n} bytes");
        }
    }
}
