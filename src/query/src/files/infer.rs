//! Schema inference with StarRocks' rules: sample files, read their schemas, merge by name.

use std::sync::Arc;

use arrow::datatypes::DataType;
use object_store::ObjectMeta;
use parquet::arrow::parquet_to_arrow_schema;
use parquet::basic::{ConvertedType, LogicalType};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use strata_common::types::{SrType, VARCHAR_MAX};

use crate::files::list::storage_error;
use crate::files::store::{Location, ResolvedStore};
use crate::files::{FilesError, FilesOptions, Format};
use crate::types::sr_type;

/// Which files to sample: none; only the last; or first, evenly spaced, and last.
pub fn sample(total: usize, n: usize) -> Vec<usize> {
    if n == 0 || total == 0 {
        return Vec::new();
    }
    if n == 1 || total == 1 {
        return vec![total - 1];
    }
    if n >= total {
        return (0..total).collect();
    }
    let mut out: Vec<usize> = (0..n - 1)
        .map(|i| ((i * (total - 1)) as f64 / (n - 1) as f64).round() as usize)
        .collect();
    out.push(total - 1);
    out.dedup();
    out
}

/// The StarRocks type FILES() infers for an Arrow type read from a file.
pub fn files_type(dt: &DataType) -> SrType {
    match dt {
        // Parquet INT32 (any annotation) is INT: StarRocks never infers TINYINT/SMALLINT.
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            SrType::Int
        }
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            SrType::Array(Box::new(files_type(f.data_type())))
        }
        DataType::Struct(fields) => SrType::Struct(
            fields
                .iter()
                .map(|f| (f.name().clone(), files_type(f.data_type())))
                .collect(),
        ),
        other => sr_type(other).unwrap_or(SrType::Varchar(VARCHAR_MAX)),
    }
}

/// The common type of two inferred types.
pub fn promote(a: &SrType, b: &SrType) -> SrType {
    use SrType::*;
    let rank = |t: &SrType| match t {
        Boolean => Some(0),
        TinyInt => Some(1),
        SmallInt => Some(2),
        Int => Some(3),
        BigInt => Some(4),
        LargeInt => Some(5),
        _ => None,
    };
    if a == b {
        return a.clone();
    }
    if let (Some(x), Some(y)) = (rank(a), rank(b)) {
        return if x >= y { a.clone() } else { b.clone() };
    }
    let numeric = |t: &SrType| rank(t).is_some() || matches!(t, Float | Double | Decimal(..));
    if numeric(a) && numeric(b) {
        return Double;
    }
    Varchar(VARCHAR_MAX)
}

/// Merges per-file column lists by case-insensitive name, keeping first-appearance order.
pub fn merge(
    schemas: Vec<(String, Vec<(String, SrType)>)>,
) -> Result<Vec<(String, SrType)>, FilesError> {
    let mut out: Vec<(String, SrType)> = Vec::new();
    for (file, cols) in schemas {
        for (i, (name, _)) in cols.iter().enumerate() {
            if let Some((other, _)) = cols[..i]
                .iter()
                .find(|(o, _)| o.eq_ignore_ascii_case(name) && o != name)
            {
                return Err(FilesError::SchemaConflict(format!(
                    "Identical names in upper/lower cases, file: [{file}]: '{other}' and '{name}'"
                )));
            }
        }
        for (name, ty) in cols {
            match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                Some((_, t)) => *t = promote(t, &ty),
                None => out.push((name, ty)),
            }
        }
    }
    Ok(out)
}

/// Inferred columns, and the total row count when every file's footer was read.
pub struct Inferred {
    /// Columns.
    pub columns: Vec<(String, SrType)>,
    /// Rows in all files, when known without reading them (Parquet, all files sampled).
    pub rows: Option<u64>,
    /// The Parquet footers read for sampling, by object path (reading needs them again).
    pub footers: Vec<(object_store::path::Path, Arc<ParquetMetaData>)>,
}

/// Infers the columns of `files`.
pub async fn infer(
    opts: &FilesOptions,
    loc: &Location,
    store: &ResolvedStore,
    files: &[ObjectMeta],
) -> Result<Inferred, FilesError> {
    let picked = sample(files.len(), opts.sample_files.max(1));
    let mut rows = (picked.len() == files.len() && opts.format == Format::Parquet).then_some(0u64);
    let mut schemas = Vec::with_capacity(picked.len());
    let mut footers = Vec::new();
    for i in picked {
        let f = &files[i];
        let display = loc.display(f.location.as_ref());
        let format = opts.format.name();
        let cols = crate::files::guard::guarded(&display, format, async {
            Ok(match opts.format {
                Format::Parquet => {
                    let md = parquet_metadata(store, f, &display).await?;
                    rows = rows.map(|r| r + md.file_metadata().num_rows().max(0) as u64);
                    let cols = parquet_columns(&md, f, &display)?;
                    footers.push((f.location.clone(), md));
                    cols
                }
                Format::Orc => crate::files::orc_json::infer_orc(&store.store, f, &display).await?,
                Format::Avro => crate::files::avro::infer_avro(store, f, &display).await?,
                Format::Json => {
                    crate::files::orc_json::infer_json(
                        store,
                        f,
                        display.clone(),
                        opts.sample_rows,
                        opts.compression,
                        &opts.json,
                    )
                    .await?
                }
                Format::Csv => {
                    let types = crate::files::csv::infer_file(
                        store,
                        f,
                        display.clone(),
                        &opts.csv,
                        opts.sample_rows,
                        opts.detect_types,
                        opts.compression,
                    )
                    .await?;
                    types
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| (format!("${}", i + 1), t))
                        .collect()
                }
            })
        })
        .await?;
        schemas.push((display, cols));
    }
    let columns = merge(schemas)?;
    if columns.is_empty() {
        return Err(FilesError::InvalidFile(format!(
            "No columns could be inferred from {}: the sampled files hold no rows",
            loc.display(files[files.len() - 1].location.as_ref())
        )));
    }
    Ok(Inferred {
        columns,
        rows,
        footers,
    })
}

fn parquet_columns(
    md: &ParquetMetaData,
    f: &ObjectMeta,
    display: &str,
) -> Result<Vec<(String, SrType)>, FilesError> {
    let schema = parquet_to_arrow_schema(
        md.file_metadata().schema_descr(),
        md.file_metadata().key_value_metadata(),
    )
    .map_err(|e| {
        FilesError::InvalidFile(format!(
            "File {display} is not a valid Parquet file ({} bytes): unsupported schema: {e}",
            f.size
        ))
    })?;
    // Arrow reads a JSON-annotated byte array as a string: the annotation says it is JSON,
    // which StarRocks infers as `json`.
    let json: Vec<String> = md
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .filter(|f| {
            let info = f.get_basic_info();
            matches!(info.logical_type_ref(), Some(LogicalType::Json))
                || info.converted_type() == ConvertedType::JSON
        })
        .map(|f| f.name().to_string())
        .collect();
    Ok(schema
        .fields()
        .iter()
        .map(|f| {
            let ty = if json.iter().any(|j| j == f.name()) {
                SrType::Json
            } else {
                files_type(f.data_type())
            };
            (f.name().clone(), ty)
        })
        .collect())
}

/// Bytes read from the end of a Parquet file in the first GET.
const FOOTER_GUESS: u64 = 64 * 1024;

/// Reads and checks one Parquet file's footer, saying precisely what is wrong with a file
/// that is empty, truncated or not Parquet at all.
pub async fn parquet_metadata(
    store: &ResolvedStore,
    f: &ObjectMeta,
    display: &str,
) -> Result<Arc<ParquetMetaData>, FilesError> {
    if f.size == 0 {
        return Err(FilesError::InvalidFile(format!(
            "File {display} is empty (0 bytes), not a Parquet file"
        )));
    }
    let invalid = |why: String| {
        FilesError::InvalidFile(format!(
            "File {display} is not a valid Parquet file ({} bytes): {why}",
            f.size
        ))
    };
    if f.size < 12 {
        return Err(invalid("too short to hold a Parquet footer".into()));
    }
    let fetch = |range: std::ops::Range<u64>| async move {
        crate::files::pooled::get_exact(store.store.as_ref(), &f.location, range, None)
            .await
            .map_err(|e| storage_error(e, &format!("reading {display}"), store))
    };
    // One GET for the tail usually holds the whole footer; a longer footer costs a second.
    let tail_len = f.size.min(FOOTER_GUESS);
    let tail = fetch(f.size - tail_len..f.size).await?;
    let n = tail.len();
    if &tail[n - 4..] != b"PAR1" {
        return Err(invalid(
            "it does not end with the Parquet magic bytes 'PAR1' (truncated, or another format)"
                .into(),
        ));
    }
    let len_bytes = [tail[n - 8], tail[n - 7], tail[n - 6], tail[n - 5]];
    let meta_len = u64::from(u32::from_le_bytes(len_bytes));
    if meta_len + 12 > f.size {
        return Err(invalid(format!(
            "its footer claims {meta_len} bytes of metadata, more than the file holds"
        )));
    }
    let footer = if meta_len + 8 <= tail_len {
        tail.slice(n - 8 - meta_len as usize..n - 8)
    } else {
        fetch(f.size - 8 - meta_len..f.size - 8).await?
    };
    let md = ParquetMetaDataReader::decode_metadata(&footer)
        .map_err(|e| invalid(format!("corrupt footer: {e}")))?;
    Ok(Arc::new(md))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_like_starrocks() {
        assert_eq!(sample(10, 1), vec![9]);
        assert_eq!(sample(10, 2), vec![0, 9]);
        assert_eq!(sample(10, 3), vec![0, 5, 9]);
        assert_eq!(sample(2, 5), vec![0, 1]);
        assert!(sample(0, 2).is_empty());
    }

    #[test]
    fn merging_and_promotion() {
        let a = vec![
            ("k".to_string(), SrType::Int),
            ("s".to_string(), SrType::Varchar(5)),
        ];
        let b = vec![
            ("K".to_string(), SrType::BigInt),
            ("x".to_string(), SrType::Double),
        ];
        let m = merge(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(
            m,
            vec![
                ("k".to_string(), SrType::BigInt),
                ("s".to_string(), SrType::Varchar(5)),
                ("x".to_string(), SrType::Double)
            ]
        );
        assert_eq!(promote(&SrType::Int, &SrType::Double), SrType::Double);
        assert_eq!(
            promote(&SrType::Date, &SrType::Datetime),
            SrType::Varchar(VARCHAR_MAX)
        );
        let dup = vec![
            ("a".to_string(), SrType::Int),
            ("A".to_string(), SrType::Int),
        ];
        assert!(merge(vec![("f".into(), dup)]).is_err());
        assert_eq!(files_type(&DataType::Int16), SrType::Int);
        assert_eq!(
            files_type(&DataType::Utf8View),
            SrType::Varchar(VARCHAR_MAX)
        );
    }
}
