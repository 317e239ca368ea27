//! The metadata model: what the catalog stores about tables, segments and loads.

use serde::{Deserialize, Serialize};
use strata_common::types::SrType;

/// A column as stored in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMeta {
    /// Name, case as created.
    pub name: String,
    /// Type.
    pub ty: SrType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default value.
    pub default: Option<DefaultValue>,
    /// Comment (empty when none).
    pub comment: String,
    /// Part of the key.
    pub is_key: bool,
}

/// A column default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefaultValue {
    /// `DEFAULT NULL`
    Null,
    /// A literal, kept as text and cast on use.
    Literal(String),
    /// `DEFAULT CURRENT_TIMESTAMP`
    CurrentTimestamp,
}

/// How rows are spread over buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DistributionMeta {
    /// `HASH(columns)`
    Hash(Vec<String>),
    /// `RANDOM`
    Random,
}

/// Everything CREATE TABLE fixed about a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDef {
    /// Columns in order.
    pub columns: Vec<ColumnMeta>,
    /// `DUPLICATE` (the only model built so far).
    pub keys_kind: String,
    /// Key columns, a prefix of `columns`.
    pub key_columns: Vec<String>,
    /// Distribution.
    pub distribution: DistributionMeta,
    /// Bucket count as written (`None` = automatic).
    pub buckets: Option<u32>,
    /// Bucket count the table's segments were written with, fixed when it was created. Tables
    /// stored before this field existed were written with 8 automatic buckets.
    #[serde(default = "TableDef::legacy_buckets")]
    pub storage_buckets: u32,
    /// PROPERTIES as given plus defaults, in order.
    pub properties: Vec<(String, String)>,
    /// Table comment.
    pub comment: Option<String>,
}

impl TableDef {
    /// Bucket count when none was written: what StarRocks picks on a one-BE cluster (two per
    /// backend, `CatalogUtils.calBucketNumAccordingToBackends`).
    pub const AUTO_BUCKETS: u32 = 2;

    fn legacy_buckets() -> u32 {
        8
    }

    /// The buckets a new table's segments are split into, for `buckets` written (or not).
    ///
    /// One when the distribution columns lead the sort key (`DUPLICATE KEY(a, b)
    /// DISTRIBUTED BY HASH(a)`, the usual shape): every segment is then sorted by them, so
    /// row-group and page statistics already narrow `a = v` to a page of each segment, as a
    /// bucket would, and splitting rows by hash would cost each load a hash and a copy of
    /// every row (11% of a Parquet load's CPU at two buckets) for nothing. Otherwise the
    /// count written, or StarRocks' one-BE count.
    pub fn storage_buckets_for(
        buckets: Option<u32>,
        distribution: &DistributionMeta,
        key_columns: &[String],
    ) -> u32 {
        if let DistributionMeta::Hash(cols) = distribution
            && !cols.is_empty()
            && cols.len() <= key_columns.len()
            && cols
                .iter()
                .zip(key_columns)
                .all(|(c, k)| c.eq_ignore_ascii_case(k))
        {
            return 1;
        }
        buckets.unwrap_or(Self::AUTO_BUCKETS)
    }

    /// The effective bucket count.
    pub fn bucket_count(&self) -> u32 {
        self.storage_buckets
    }

    /// Index of a column by case-insensitive name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Indices of the key columns (the sort order of every segment).
    pub fn key_indices(&self) -> Vec<usize> {
        self.key_columns
            .iter()
            .filter_map(|c| self.column_index(c))
            .collect()
    }

    /// Indices of the hash distribution columns; empty for RANDOM distribution.
    pub fn hash_indices(&self) -> Vec<usize> {
        match &self.distribution {
            DistributionMeta::Hash(cols) => {
                cols.iter().filter_map(|c| self.column_index(c)).collect()
            }
            DistributionMeta::Random => Vec::new(),
        }
    }
}

/// A table in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    /// Catalog-wide id, also the name of its data directory.
    pub id: i64,
    /// Database name.
    pub db: String,
    /// Table name.
    pub name: String,
    /// Definition.
    pub def: TableDef,
    /// Creation time, `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
}

/// A visible, immutable data file of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Id (order of creation).
    pub id: i64,
    /// Owning table.
    pub table_id: i64,
    /// Hash bucket its rows belong to.
    pub bucket: u32,
    /// Path relative to the data root.
    pub path: String,
    /// Rows.
    pub rows: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

/// A segment written by a load, not yet visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSegment {
    /// Hash bucket.
    pub bucket: u32,
    /// Path relative to the data root.
    pub path: String,
    /// Rows.
    pub rows: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

/// One load job as shown by `information_schema.loads` (layout A) plus Strata's extras.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadRecord {
    /// Job id.
    pub job_id: i64,
    /// Label.
    pub label: String,
    /// Database of the target table.
    pub db_name: String,
    /// Target table.
    pub table_name: String,
    /// `LOADING`, `FINISHED`, `CANCELLED`, ...
    pub state: String,
    /// `INSERT`, `BROKER`, ...
    pub load_type: String,
    /// Rows read from the source.
    pub scan_rows: u64,
    /// Bytes read from the source.
    pub scan_bytes: u64,
    /// Rows rejected.
    pub filtered_rows: u64,
    /// Rows dropped by WHERE.
    pub unselected_rows: u64,
    /// Rows written.
    pub sink_rows: u64,
    /// Bytes written.
    pub sink_bytes: u64,
    /// Files read.
    pub file_number: u64,
    /// Bytes of the files read.
    pub file_size: u64,
    /// Timeout in seconds.
    pub timeout_s: u64,
    /// max_filter_ratio.
    pub max_filter_ratio: f64,
    /// Submit time.
    pub create_time: String,
    /// Start of loading.
    pub load_start_time: Option<String>,
    /// End, success or not.
    pub load_finish_time: Option<String>,
    /// `type:<TYPE>; msg:<text>` on failure.
    pub error_msg: Option<String>,
    /// Transaction id of the commit.
    pub txn_id: i64,
    /// The statement text.
    pub sql: String,
    /// Queue priority: LOWEST, LOW, NORMAL, HIGH, HIGHEST (empty: NORMAL).
    pub priority: String,
    /// The user who submitted the job.
    pub owner: String,
    /// The statement with its credentials, sealed with the server's secrets key (`sql` then has
    /// them masked); `None`: `sql` has no secrets.
    pub sealed_sql: Option<Vec<u8>>,
}

/// A rejected row, queryable as `information_schema.load_errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Job.
    pub job_id: i64,
    /// File the row came from (empty for a query source).
    pub file: String,
    /// 1-based row number within the file (or the source).
    pub row: u64,
    /// Target column.
    pub column: String,
    /// The raw value, as text.
    pub value: Option<String>,
    /// Why it was rejected.
    pub reason: String,
}

impl LoadError {
    /// The rejected row as people read it: `file F, row N, column 'c', value 'v': reason`
    /// (`row N: reason` for a row that could not be read at all, with no column).
    pub fn describe(&self) -> String {
        let file = if self.file.is_empty() {
            String::new()
        } else {
            format!("file {}, ", self.file)
        };
        if self.column.is_empty() {
            return format!("{file}row {}: {}", self.row, self.reason);
        }
        let value = self
            .value
            .as_ref()
            .map_or_else(|| "NULL".to_string(), |v| format!("'{v}'"));
        format!(
            "{file}row {}, column '{}', value {value}: {}",
            self.row, self.column, self.reason
        )
    }
}
