//! Result rows in the binary protocol (answers to COM_STMT_EXECUTE): each value encoded as its
//! column's type, where the text protocol sends every value as text.

use std::io::{self, Write};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use opensrv_mysql::{Column, ColumnFlags, ColumnType, ToMysqlValue};

/// One value, typed for its column.
#[derive(Debug)]
pub(crate) enum BinValue {
    Null,
    I8(i8),
    U8(u8),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Text(String),
}

/// The rendered rows of a result as the binary protocol sends them; an error names the value
/// that has no binary form for its column's type.
pub(crate) fn typed_rows(
    cols: &[Column],
    rows: Vec<Vec<Option<String>>>,
) -> Result<Vec<Vec<BinValue>>, String> {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .zip(cols)
                .map(|(v, c)| match v {
                    None => Ok(BinValue::Null),
                    Some(text) => typed(c, text),
                })
                .collect()
        })
        .collect()
}

fn typed(c: &Column, text: String) -> Result<BinValue, String> {
    use ColumnType::*;
    let unsigned = c.colflags.contains(ColumnFlags::UNSIGNED_FLAG);
    let bad = |e: &dyn std::fmt::Display| {
        format!(
            "value '{text}' of column '{}' cannot be sent as {:?}: {e}",
            c.column, c.coltype
        )
    };
    let v = match (c.coltype, unsigned) {
        (MYSQL_TYPE_TINY, false) => BinValue::I8(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_TINY, true) => BinValue::U8(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_SHORT, false) => BinValue::I16(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_SHORT, true) => BinValue::U16(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_LONG, false) => BinValue::I32(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_LONG, true) => BinValue::U32(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_LONGLONG, false) => BinValue::I64(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_LONGLONG, true) => BinValue::U64(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_FLOAT, _) => BinValue::F32(text.parse().map_err(|e| bad(&e))?),
        (MYSQL_TYPE_DOUBLE, _) => BinValue::F64(text.parse().map_err(|e| bad(&e))?),
        // MySQL's dates are years 0 to 9999; the binary form has no room for others.
        (MYSQL_TYPE_DATE, _) => {
            let d = NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| bad(&e))?;
            if !(0..=9999).contains(&d.year()) {
                return Err(bad(&"the year is outside 0 to 9999"));
            }
            BinValue::Date(d)
        }
        (MYSQL_TYPE_DATETIME, _) => {
            let t = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
                .map_err(|e| bad(&e))?;
            if !(0..=9999).contains(&t.year()) {
                return Err(bad(&"the year is outside 0 to 9999"));
            }
            BinValue::DateTime(t)
        }
        // Strings, decimals, blobs, JSON: bytes, as in the text protocol. TIME has a binary
        // form of its own; sent as text it keeps its value.
        _ => BinValue::Text(text),
    };
    Ok(v)
}

impl ToMysqlValue for BinValue {
    fn to_mysql_text<W: Write>(&self, w: &mut W) -> io::Result<()> {
        match self {
            BinValue::Null => None::<u8>.to_mysql_text(w),
            BinValue::I8(v) => v.to_mysql_text(w),
            BinValue::U8(v) => v.to_mysql_text(w),
            BinValue::I16(v) => v.to_mysql_text(w),
            BinValue::U16(v) => v.to_mysql_text(w),
            BinValue::I32(v) => v.to_mysql_text(w),
            BinValue::U32(v) => v.to_mysql_text(w),
            BinValue::I64(v) => v.to_mysql_text(w),
            BinValue::U64(v) => v.to_mysql_text(w),
            BinValue::F32(v) => v.to_mysql_text(w),
            BinValue::F64(v) => v.to_mysql_text(w),
            BinValue::Date(v) => v.to_mysql_text(w),
            BinValue::DateTime(v) => v.to_mysql_text(w),
            BinValue::Text(v) => v.to_mysql_text(w),
        }
    }

    fn to_mysql_bin<W: Write>(&self, w: &mut W, c: &Column) -> io::Result<()> {
        match self {
            // Written in the row's NULL bitmap, never as a value.
            BinValue::Null => Ok(()),
            BinValue::I8(v) => v.to_mysql_bin(w, c),
            BinValue::U8(v) => v.to_mysql_bin(w, c),
            BinValue::I16(v) => v.to_mysql_bin(w, c),
            BinValue::U16(v) => v.to_mysql_bin(w, c),
            BinValue::I32(v) => v.to_mysql_bin(w, c),
            BinValue::U32(v) => v.to_mysql_bin(w, c),
            BinValue::I64(v) => v.to_mysql_bin(w, c),
            BinValue::U64(v) => v.to_mysql_bin(w, c),
            BinValue::F32(v) => v.to_mysql_bin(w, c),
            BinValue::F64(v) => v.to_mysql_bin(w, c),
            BinValue::Date(v) => v.to_mysql_bin(w, c),
            BinValue::DateTime(v) => v.to_mysql_bin(w, c),
            BinValue::Text(v) => v.as_bytes().to_mysql_bin(w, c),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, BinValue::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(coltype: ColumnType, unsigned: bool) -> Column {
        Column {
            table: String::new(),
            column: "c".into(),
            coltype,
            colflags: if unsigned {
                ColumnFlags::UNSIGNED_FLAG
            } else {
                ColumnFlags::empty()
            },
            schema: String::new(),
            length: 0,
            decimals: 0,
            charset: 63,
        }
    }

    #[test]
    fn values_are_encoded_as_their_column_type() {
        let cases = [
            (col(ColumnType::MYSQL_TYPE_TINY, false), "-5", vec![0xfb]),
            (
                col(ColumnType::MYSQL_TYPE_LONG, false),
                "7",
                vec![7, 0, 0, 0],
            ),
            (
                col(ColumnType::MYSQL_TYPE_LONGLONG, true),
                "18446744073709551615",
                vec![0xff; 8],
            ),
            (
                col(ColumnType::MYSQL_TYPE_DATE, false),
                "2024-01-02",
                vec![4, 0xe8, 0x07, 1, 2],
            ),
            (
                col(ColumnType::MYSQL_TYPE_DATETIME, false),
                "2024-01-02 03:04:05",
                vec![7, 0xe8, 0x07, 1, 2, 3, 4, 5],
            ),
            (
                col(ColumnType::MYSQL_TYPE_VAR_STRING, false),
                "ab",
                vec![2, b'a', b'b'],
            ),
        ];
        for (c, text, want) in cases {
            let rows = typed_rows(std::slice::from_ref(&c), vec![vec![Some(text.into())]]).unwrap();
            let mut out = Vec::new();
            rows[0][0].to_mysql_bin(&mut out, &c).unwrap();
            assert_eq!(out, want, "{text} as {:?}", c.coltype);
        }
        let e = typed_rows(
            &[col(ColumnType::MYSQL_TYPE_DATE, false)],
            vec![vec![Some("+57385-07-08".into())]],
        )
        .unwrap_err();
        assert!(e.contains("+57385-07-08"), "{e}");
    }
}
