//! The bucket hash: stable across releases, independent of the literal's integer width.
//!
//! Loads use it to place rows and queries use it to prune buckets for `col = literal`, so the
//! value `12345` must hash the same whether it arrives as INT, BIGINT or a parsed literal.

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, TimestampMicrosecondArray,
};
use arrow::datatypes::DataType;

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

macro_rules! hash_ints {
    ($arr:expr, $ty:ty, $out:expr) => {{
        let a = $arr
            .as_any()
            .downcast_ref::<$ty>()
            .expect("type checked by match");
        for (i, acc) in $out.iter_mut().enumerate() {
            let h = if a.is_null(i) {
                NULL_HASH
            } else {
                hash_value(&HashValue::Int(a.value(i) as i64))
            };
            *acc = combine(*acc, h);
        }
    }};
}

fn hash_array(col: &ArrayRef, out: &mut [u64]) -> Result<(), StorageError> {
    match col.data_type() {
        DataType::Int8 => hash_ints!(col, Int8Array, out),
        DataType::Int16 => hash_ints!(col, Int16Array, out),
        DataType::Int32 => hash_ints!(col, Int32Array, out),
        DataType::Int64 => hash_ints!(col, Int64Array, out),
        DataType::Date32 => hash_ints!(col, Date32Array, out),
        DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _) => {
            hash_ints!(col, TimestampMicrosecondArray, out)
        }
        DataType::Boolean => {
            let a = col
                .as_any()
                .downcast_ref::<BooleanArray>()
                .expect("type checked by match");
            for (i, acc) in out.iter_mut().enumerate() {
                let h = if a.is_null(i) {
                    NULL_HASH
                } else {
                    hash_value(&HashValue::Int(i64::from(a.value(i))))
                };
                *acc = combine(*acc, h);
            }
        }
        DataType::Decimal128(..) => {
            let a = col
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .expect("type checked by match");
            for (i, acc) in out.iter_mut().enumerate() {
                let h = if a.is_null(i) {
                    NULL_HASH
                } else {
                    hash_value(&HashValue::I128(a.value(i)))
                };
                *acc = combine(*acc, h);
            }
        }
        DataType::Float32 => {
            let a = col
                .as_any()
                .downcast_ref::<Float32Array>()
                .expect("type checked by match");
            for (i, acc) in out.iter_mut().enumerate() {
                let h = if a.is_null(i) {
                    NULL_HASH
                } else {
                    hash_value(&HashValue::Float(f64::from(a.value(i))))
                };
                *acc = combine(*acc, h);
            }
        }
        DataType::Float64 => {
            let a = col
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("type checked by match");
            for (i, acc) in out.iter_mut().enumerate() {
                let h = if a.is_null(i) {
                    NULL_HASH
                } else {
                    hash_value(&HashValue::Float(a.value(i)))
                };
                *acc = combine(*acc, h);
            }
        }
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            for (i, acc) in out.iter_mut().enumerate() {
                let h = if a.is_null(i) {
                    NULL_HASH
                } else {
                    hash_value(&HashValue::Bytes(a.value(i).as_bytes()))
                };
                *acc = combine(*acc, h);
            }
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

    use super::*;

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
