//! Parquet's RLE / bit-packing hybrid (definition levels and dictionary indices) and the
//! byte-stream-split layout of fixed-width values.

use arrow::buffer::BooleanBuffer;

/// Appends `v` as an unsigned LEB128 varint.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Definition levels of a flat nullable column (bit width 1): one run when the page is all
/// values or all NULLs, else the validity bits themselves as one bit-packed run.
pub(super) fn def_levels(validity: Option<&BooleanBuffer>, rows: usize, out: &mut Vec<u8>) {
    let nulls = validity.map_or(0, |v| rows - v.count_set_bits());
    if nulls == 0 || nulls == rows {
        varint(out, (rows as u64) << 1);
        out.push(u8::from(nulls == 0));
        return;
    }
    let bits = validity.expect("a page with NULLs has a validity buffer");
    let groups = rows.div_ceil(8);
    varint(out, ((groups as u64) << 1) | 1);
    let start = out.len();
    out.resize(start + groups, 0);
    let packed = &mut out[start..];
    // Bit-packed level runs are least-significant bit first, as Arrow's validity bits are.
    for (i, chunk) in bits.bit_chunks().iter_padded().enumerate() {
        let bytes = chunk.to_le_bytes();
        let at = i * 8;
        let n = (groups - at).min(8);
        packed[at..at + n].copy_from_slice(&bytes[..n]);
    }
}

/// Bits needed for values up to `max`.
pub(super) fn bit_width(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

/// Encodes `values` (each below `1 << width`) in the RLE / bit-packing hybrid. Values go in
/// groups of eight: a stretch of at least two groups of one repeated value becomes a run,
/// the rest is bit-packed.
pub(super) fn encode_hybrid(values: &[u32], width: u8, out: &mut Vec<u8>) {
    let groups = values.len().div_ceil(8);
    // The value every element of group `g` has, if they are all the same.
    let uniform = |g: usize| -> Option<u32> {
        let s = &values[g * 8..((g + 1) * 8).min(values.len())];
        let first = s[0];
        s.iter().all(|&v| v == first).then_some(first)
    };
    let mut g = 0;
    let mut packed_from = 0;
    while g < groups {
        let Some(v) = uniform(g) else {
            g += 1;
            continue;
        };
        // Extend a run over the following groups holding only `v`.
        let mut end = g + 1;
        while end < groups && uniform(end) == Some(v) {
            end += 1;
        }
        if end - g >= 2 {
            bit_packed(&values[packed_from * 8..g * 8], width, out);
            let count = (end * 8).min(values.len()) - g * 8;
            varint(out, (count as u64) << 1);
            let value_bytes = usize::from(width).div_ceil(8);
            out.extend_from_slice(&v.to_le_bytes()[..value_bytes]);
            packed_from = end;
        }
        g = end;
    }
    bit_packed(&values[(packed_from * 8).min(values.len())..], width, out);
}

/// One bit-packed run of `values` (the last group padded with zeros).
fn bit_packed(values: &[u32], width: u8, out: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    let groups = values.len().div_ceil(8);
    varint(out, ((groups as u64) << 1) | 1);
    if width == 0 {
        return;
    }
    let w = usize::from(width);
    out.reserve(groups * w);
    // Eight values of up to 16 bits fit one 128-bit word: shift them in, write `w` bytes.
    let word = |s: &[u32]| {
        s.iter()
            .enumerate()
            .fold(0u128, |acc, (i, &v)| acc | (u128::from(v) << (i * w)))
    };
    let whole = values.len() / 8 * 8;
    if w <= 16 {
        for g in values[..whole].chunks_exact(8) {
            out.extend_from_slice(&word(g).to_le_bytes()[..w]);
        }
    } else {
        for g in values[..whole].chunks_exact(8) {
            pack_wide(g, width, out);
        }
    }
    if whole < values.len() {
        let mut last = [0u32; 8];
        last[..values.len() - whole].copy_from_slice(&values[whole..]);
        if w <= 16 {
            out.extend_from_slice(&word(&last).to_le_bytes()[..w]);
        } else {
            pack_wide(&last, width, out);
        }
    }
}

/// Eight values of more than 16 bits, bit-packed.
fn pack_wide(group: &[u32], width: u8, out: &mut Vec<u8>) {
    let w = u32::from(width);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &v in group {
        acc |= u64::from(v) << bits;
        bits += w;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
}

/// Byte-stream-split of fixed-width values: byte `k` of every value, for each `k` in turn.
/// One sequential pass per byte position (a page's values stay in cache between passes).
pub(super) fn byte_stream_split<T: Copy, const W: usize>(
    values: &[T],
    le_bytes: impl Fn(T) -> [u8; W],
    out: &mut Vec<u8>,
) {
    out.reserve(values.len() * W);
    for k in 0..W {
        out.extend(values.iter().map(|&v| le_bytes(v)[k]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes the hybrid encoding as the Parquet spec defines it.
    fn decode(mut b: &[u8], width: u8, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let read_varint = |b: &mut &[u8]| {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let byte = b[0];
                *b = &b[1..];
                v |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte < 0x80 {
                    return v;
                }
            }
        };
        while out.len() < n {
            let h = read_varint(&mut b);
            if h & 1 == 0 {
                let nb = usize::from(width).div_ceil(8);
                let mut v = [0u8; 4];
                v[..nb].copy_from_slice(&b[..nb]);
                b = &b[nb..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (h >> 1) as usize,
                ));
            } else {
                let count = (h >> 1) as usize * 8;
                let bytes = (h >> 1) as usize * usize::from(width);
                let (mut acc, mut bits, mut pos) = (0u64, 0u32, 0);
                for _ in 0..count {
                    while bits < u32::from(width) {
                        acc |= u64::from(b[pos]) << bits;
                        pos += 1;
                        bits += 8;
                    }
                    out.push((acc & ((1u64 << width) - 1)) as u32);
                    acc >>= width;
                    bits -= u32::from(width);
                }
                b = &b[bytes..];
            }
        }
        out.truncate(n);
        out
    }

    #[test]
    fn hybrid_round_trips() {
        let mut cases: Vec<(Vec<u32>, u8)> = vec![
            (vec![0; 1], 0),
            (vec![3; 100], 2),
            ((0..1000).map(|i| i % 7).collect(), 3),
            (
                (0..1003)
                    .map(|i| if i % 50 < 30 { 5 } else { i % 9 })
                    .collect(),
                4,
            ),
            ((0..77).map(|i| i * 1000).collect(), bit_width(76_000)),
            ((0..64).map(|i| u32::MAX - i).collect(), 32),
        ];
        cases.push(((0..17).map(|i| u32::from(i >= 9)).collect(), 1));
        for (values, width) in cases {
            let mut out = Vec::new();
            encode_hybrid(&values, width, &mut out);
            assert_eq!(decode(&out, width, values.len()), values, "width {width}");
        }
        // Long runs cost a few bytes.
        let mut out = Vec::new();
        encode_hybrid(&[1; 10_000], 1, &mut out);
        assert!(out.len() < 8, "{}", out.len());
    }

    #[test]
    fn levels_round_trip() {
        let bits: Vec<bool> = (0..45).map(|i| i % 3 != 0).collect();
        let buf = BooleanBuffer::from(bits.clone()).slice(5, 33);
        let mut out = Vec::new();
        def_levels(Some(&buf), 33, &mut out);
        let want: Vec<u32> = bits[5..38].iter().map(|&b| u32::from(b)).collect();
        assert_eq!(decode(&out, 1, 33), want);
        let mut out = Vec::new();
        def_levels(None, 33, &mut out);
        assert_eq!(decode(&out, 1, 33), vec![1; 33]);
    }

    #[test]
    fn split_streams() {
        let mut out = Vec::new();
        byte_stream_split(&[0x0201u16, 0x0403, 0x0605], u16::to_le_bytes, &mut out);
        assert_eq!(out, vec![1, 3, 5, 2, 4, 6]);
    }
}
