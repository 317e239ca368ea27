//! The StarRocks column type system and its two renderings (DESCRIBE and SHOW CREATE TABLE).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest VARCHAR StarRocks 2.1–4.1 accepts, and the length of inferred strings.
pub const VARCHAR_MAX: u32 = 1_048_576;
/// The length `STRING` stands for.
pub const STRING_LEN: u32 = 65_533;
/// Largest DECIMAL precision.
pub const DECIMAL_MAX_PRECISION: u8 = 38;

/// A StarRocks column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SrType {
    /// BOOLEAN
    Boolean,
    /// TINYINT (1 byte)
    TinyInt,
    /// SMALLINT (2 bytes)
    SmallInt,
    /// INT (4 bytes)
    Int,
    /// BIGINT (8 bytes)
    BigInt,
    /// LARGEINT (16 bytes)
    LargeInt,
    /// FLOAT
    Float,
    /// DOUBLE
    Double,
    /// DECIMAL(precision, scale)
    Decimal(u8, u8),
    /// DATE
    Date,
    /// DATETIME (microsecond precision)
    Datetime,
    /// CHAR(n)
    Char(u32),
    /// VARCHAR(n); `STRING` is VARCHAR(65533)
    Varchar(u32),
    /// VARBINARY / BINARY
    Varbinary,
    /// JSON
    Json,
    /// ARRAY<T>
    Array(Box<SrType>),
    /// MAP<K, V>
    Map(Box<SrType>, Box<SrType>),
    /// STRUCT<name T, ...>
    Struct(Vec<(String, SrType)>),
}

impl SrType {
    /// TINYINT, SMALLINT, INT, BIGINT or LARGEINT.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            SrType::TinyInt | SrType::SmallInt | SrType::Int | SrType::BigInt | SrType::LargeInt
        )
    }

    /// The DESCRIBE rendering: lower case, no integer display widths, no spaces in decimals.
    pub fn describe(&self) -> String {
        match self {
            SrType::Boolean => "boolean".into(),
            SrType::TinyInt => "tinyint".into(),
            SrType::SmallInt => "smallint".into(),
            SrType::Int => "int".into(),
            SrType::BigInt => "bigint".into(),
            SrType::LargeInt => "largeint".into(),
            SrType::Float => "float".into(),
            SrType::Double => "double".into(),
            SrType::Decimal(p, s) => format!("decimal({p},{s})"),
            SrType::Date => "date".into(),
            SrType::Datetime => "datetime".into(),
            SrType::Char(n) => format!("char({n})"),
            SrType::Varchar(n) => format!("varchar({n})"),
            SrType::Varbinary => "varbinary".into(),
            SrType::Json => "json".into(),
            SrType::Array(t) => format!("array<{}>", t.describe()),
            SrType::Map(k, v) => format!("map<{},{}>", k.describe(), v.describe()),
            SrType::Struct(fields) => format!(
                "struct<{}>",
                fields
                    .iter()
                    .map(|(n, t)| format!("{n} {}", t.describe()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The SHOW CREATE TABLE rendering: integer display widths, `decimal(p, s)`.
    pub fn create_sql(&self) -> String {
        match self {
            SrType::TinyInt => "tinyint(4)".into(),
            SrType::SmallInt => "smallint(6)".into(),
            SrType::Int => "int(11)".into(),
            SrType::BigInt => "bigint(20)".into(),
            SrType::LargeInt => "largeint(40)".into(),
            SrType::Decimal(p, s) => format!("decimal({p}, {s})"),
            SrType::Array(t) => format!("array<{}>", t.create_sql()),
            SrType::Map(k, v) => format!("map<{},{}>", k.create_sql(), v.create_sql()),
            SrType::Struct(fields) => format!(
                "struct<{}>",
                fields
                    .iter()
                    .map(|(n, t)| format!("{n} {}", t.create_sql()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.describe(),
        }
    }

    /// Bytes this type adds to StarRocks' short key index, or `None` when it cannot be a key
    /// column (FLOAT, DOUBLE, JSON, complex types).
    pub fn short_key_size(&self) -> Option<u32> {
        match self {
            SrType::Boolean | SrType::TinyInt => Some(1),
            SrType::SmallInt => Some(2),
            SrType::Int => Some(4),
            SrType::BigInt | SrType::Datetime => Some(8),
            SrType::LargeInt => Some(16),
            SrType::Decimal(p, _) => Some(if *p <= 9 {
                4
            } else if *p <= 18 {
                8
            } else {
                16
            }),
            SrType::Date => Some(3),
            SrType::Char(_) | SrType::Varchar(_) => Some(20),
            SrType::Float
            | SrType::Double
            | SrType::Varbinary
            | SrType::Json
            | SrType::Array(_)
            | SrType::Map(..)
            | SrType::Struct(_) => None,
        }
    }

    /// True for CHAR/VARCHAR.
    pub fn is_string(&self) -> bool {
        matches!(self, SrType::Char(_) | SrType::Varchar(_))
    }

    /// True for ARRAY/MAP/STRUCT/JSON, which cannot be keys or distribution columns.
    pub fn is_complex(&self) -> bool {
        matches!(
            self,
            SrType::Array(_) | SrType::Map(..) | SrType::Struct(_) | SrType::Json
        )
    }
}

impl fmt::Display for SrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.create_sql())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_starrocks() {
        assert_eq!(SrType::Int.describe(), "int");
        assert_eq!(SrType::Int.create_sql(), "int(11)");
        assert_eq!(SrType::Decimal(38, 9).describe(), "decimal(38,9)");
        assert_eq!(SrType::Decimal(38, 9).create_sql(), "decimal(38, 9)");
        let m = SrType::Map(
            Box::new(SrType::Varchar(VARCHAR_MAX)),
            Box::new(SrType::Int),
        );
        assert_eq!(m.describe(), "map<varchar(1048576),int>");
        let s = SrType::Struct(vec![
            ("a".into(), SrType::Int),
            ("b".into(), SrType::Varchar(10)),
        ]);
        assert_eq!(s.describe(), "struct<a int, b varchar(10)>");
    }
}

/// Arrow field metadata keys that carry what a MySQL column definition reports and Arrow's
/// types do not say.
pub mod field_meta {
    /// The table (or alias) a result column comes from.
    pub const TABLE_KEY: &str = "strata.table";
    /// That table's database.
    pub const SCHEMA_KEY: &str = "strata.schema";
    /// The column's declared type where Arrow's is wider (`varchar(20)` for Utf8).
    pub const TYPE_KEY: &str = "strata.type";
}
