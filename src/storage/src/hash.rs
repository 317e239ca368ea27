//! The bucket hash: stable across releases, independent of the literal's integer width.
//!
//! Loads use it to place rows and queries use it to prune buckets for `col = literal`, so the
//! value `12345` must hash the same whether it arrives as INT, BIGINT or a parsed literal.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimeUnit, TimestampMicrosecondType,
};

use crate::StorageError;

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const NULL_HASH: u64 = 0x51_7cc1_b727_220a;

/// A hashable scalar, normalised so that equal SQL values hash equally.
#[derive(Debug, Clone, PartialEq)]
pub enum HashValue<'a> {
    /// NULL
    Null,
    /// Any integer, date (days), datetime (micros), boolean.
    Int(i64),
    /// DECIMAL / LARGEINT unscaled value.
    I128(i128),
    /// FLOAT/DOUBLE bits.
    Float(f64),
    /// String bytes.
    Bytes(&'a [u8]),
}

/// 64-bit mix (splitmix64 finaliser).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash of one value.
pub fn hash_value(v: &HashValue<'_>) -> u64 {
    match v {
        HashValue::Null => NULL_HASH,
        HashValue::Int(i) => mix(*i as u64 ^ SEED),
        HashValue::I128(i) => mix((*i as u64) ^ mix(((*i >> 64) as u64) ^ SEED)),
        HashValue::Float(f) => mix(f.to_bits() ^ SEED),
        HashValue::Bytes(b) => {
            // FNV-1a then mix.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for byte in *b {
                h ^= u64::from(*byte);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            mix(h ^ SEED)
        }
    }
}

/// Combines per-column hashes into a row hash.
pub fn combine(acc: u64, h: u64) -> u64 {
    mix(acc.rotate_left(5) ^ h)
}

/// Bucket of a row hash.
pub fn bucket_of(hash: u64, buckets: u32) -> u32 {
    (hash % u64::from(buckets.max(1))) as u32
}

/// [`bucket_of`] for one bucket count and many hashes, without a division per row: Lemire's
/// "faster remainder by direct computation" (a 64-bit `%` costs more than hashing the value).
#[derive(Debug, Clone, Copy)]
pub struct BucketOf {
    buckets: u64,
    magic: u128,
}

impl BucketOf {
    /// For `buckets` buckets (0 is taken as 1, as [`bucket_of`] does).
    pub fn new(buckets: u32) -> Self {
        let buckets = u64::from(buckets.max(1));
        Self {
            buckets,
            magic: (u128::MAX / u128::from(buckets)).wrapping_add(1),
        }
    }

    /// `bucket_of(hash, buckets)`.
    #[inline]
    pub fn of(&self, hash: u64) -> u32 {
        let low = self.magic.wrapping_mul(u128::from(hash));
        let d = u128::from(self.buckets);
        let bottom = ((low & u128::from(u64::MAX)) * d) >> 64;
        let top = (low >> 64) * d;
        ((bottom + top) >> 64) as u32
    }
}

/// Row hash of literal values, equal to what [`hash_columns`] gives a row holding them.
pub fn hash_row(values: &[HashValue<'_>]) -> u64 {
    values
        .iter()
        .fold(SEED, |acc, v| combine(acc, hash_value(v)))
}

/// Per-row hashes of `columns` combined in order.
pub fn hash_columns(columns: &[ArrayRef], rows: usize) -> Result<Vec<u64>, StorageError> {
    let mut out = vec![SEED; rows];
    for col in columns {
        hash_array(col, &mut out)?;
    }
    Ok(out)
}

/// Combines each row's value hash into `out`; NULL rows get [`NULL_HASH`]. `value(i)` is only
/// called for non-NULL rows.
fn combine_each(out: &mut [u64], nulls: Option<&NullBuffer>, value: impl Fn(usize) -> u64) {
    match nulls.filter(|n| n.null_count() > 0) {
        None => {
            for (i, acc) in out.iter_mut().enumerate() {
                *acc = combine(*acc, value(i));
            }
        }
        Some(n) => {
            for (i, acc) in out.iter_mut().enumerate() {
                let h = if n.is_null(i) { NULL_HASH } else { value(i) };
                *acc = combine(*acc, h);
            }
        }
    }
}

fn hash_array(col: &ArrayRef, out: &mut [u64]) -> Result<(), StorageError> {
    let nulls = col.nulls();
    let int = |v: i64| hash_value(&HashValue::Int(v));
    match col.data_type() {
        DataType::Int8 => {
            let a = col.as_primitive::<Int8Type>();
            combine_each(out, nulls, |i| int(i64::from(a.value(i))));
        }
        DataType::Int16 => {
            let a = col.as_primitive::<Int16Type>();
            combine_each(out, nulls, |i| int(i64::from(a.value(i))));
        }
        DataType::Int32 => {
            let a = col.as_primitive::<Int32Type>();
            combine_each(out, nulls, |i| int(i64::from(a.value(i))));
        }
        DataType::Int64 => {
            let a = col.as_primitive::<Int64Type>();
            combine_each(out, nulls, |i| int(a.value(i)));
        }
        DataType::Date32 => {
            let a = col.as_primitive::<Date32Type>();
            combine_each(out, nulls, |i| int(i64::from(a.value(i))));
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let a = col.as_primitive::<TimestampMicrosecondType>();
            combine_each(out, nulls, |i| int(a.value(i)));
        }
        DataType::Boolean => {
            let a = col.as_boolean();
            combine_each(out, nulls, |i| int(i64::from(a.value(i))));
        }
        DataType::Decimal128(..) => {
            let a = col.as_primitive::<Decimal128Type>();
            combine_each(out, nulls, |i| hash_value(&HashValue::I128(a.value(i))));
        }
        DataType::Float32 => {
            let a = col.as_primitive::<Float32Type>();
            combine_each(out, nulls, |i| {
                hash_value(&HashValue::Float(f64::from(a.value(i))))
            });
        }
        DataType::Float64 => {
            let a = col.as_primitive::<Float64Type>();
            combine_each(out, nulls, |i| hash_value(&HashValue::Float(a.value(i))));
        }
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            combine_each(out, nulls, |i| {
                hash_value(&HashValue::Bytes(a.value(i).as_bytes()))
            });
        }
        // A load of Parquet strings carries them as views: the same text, the same hash.
        DataType::Utf8View => {
            let a = col.as_string_view();
            combine_each(out, nulls, |i| {
                hash_value(&HashValue::Bytes(a.value(i).as_bytes()))
            });
        }
        other => {
            return Err(StorageError::UnsupportedHashType {
                data_type: other.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, Int64Array};

    use super::*;

    #[test]
    fn bucket_of_without_division_agrees_with_remainder() {
        let mut x: u64 = 0x1234_5678_9abc_def0;
        let edges = [
            0,
            1,
            2,
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
            (1 << 63) - 1,
            1 << 32,
        ];
        let counts = (0..=300).chain([1023, 1024, 65_535, 65_536, u32::MAX - 1, u32::MAX]);
        for buckets in counts {
            let fast = BucketOf::new(buckets);
            for i in 0..2_000 {
                x = mix(x.wrapping_add(i));
                for h in edges.into_iter().chain([x, x >> 7, x >> 40]) {
                    assert_eq!(fast.of(h), bucket_of(h, buckets), "{h} % {buckets}");
                }
            }
        }
    }

    #[test]
    fn string_views_hash_as_strings() {
        let texts = ["pv", "a value longer than twelve bytes", ""];
        let a: ArrayRef = Arc::new(arrow::array::StringArray::from(texts.to_vec()));
        let b: ArrayRef = Arc::new(arrow::array::StringViewArray::from(texts.to_vec()));
        assert_eq!(
            hash_columns(&[a], 3).unwrap(),
            hash_columns(&[b], 3).unwrap()
        );
    }

    #[test]
    fn width_does_not_change_the_bucket() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![12345]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![12345]));
        assert_eq!(
            hash_columns(&[a], 1).unwrap(),
            hash_columns(&[b], 1).unwrap()
        );
        let lit = combine(SEED, hash_value(&HashValue::Int(12345)));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![12345]));
        assert_eq!(hash_columns(&[b], 1).unwrap()[0], lit);
    }
}
