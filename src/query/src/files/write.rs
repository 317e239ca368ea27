//! Unloading (`INSERT INTO FILES(…) SELECT …`): a query's rows written under a path as Parquet,
//! ORC or CSV files, named and split as StarRocks names and splits them, in bounded memory.
//!
//! - **Names.** `path` is a directory (StarRocks appends `/` when it is missing); each file is
//!   `<path>/<query_id>_0_0_<n>.<format>`, `n` counting from 0 (StarRocks'
//!   `{query_id}_{be_number}_{driver_id}_{index}`, with one writer here). With `partition_by`,
//!   rows go under `<path>/<col>=<value>/…` directories (Hive's names and escaping; NULL is
//!   `__HIVE_DEFAULT_PARTITION__`). The partition columns stay in the files too, so a file read
//!   on its own has every column.
//! - **Splitting.** A file is closed once it holds `target_max_file_size` bytes (default
//!   1 GiB) and the next batch starts a new one; `single = true` writes exactly one file.
//! - **Memory.** Each encoder writes into a buffer that is handed to the object store after
//!   every batch (multipart parts of 10 MiB); Parquet row groups are flushed at 64 MiB.
//! - **Visibility.** An object appears under its final name only when it is complete (S3
//!   multipart uploads, and the local store's write-then-rename, publish on completion). When
//!   the statement fails, the files it had already completed are deleted again.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::files::FilesError;
use crate::files::store::{Location, resolve};

/// StarRocks' default `target_max_file_size` (`connector_sink_target_max_file_size`).
const DEFAULT_TARGET_FILE_SIZE: u64 = 1 << 30;
/// Files an unload keeps open at once (one per partition value being written).
const MAX_OPEN: usize = 16;
/// Bytes of encoded rows a Parquet file buffers before it writes a row group.
const ROW_GROUP_BYTES: usize = 64 << 20;

/// The file format written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutFormat {
    Parquet,
    Orc,
    Csv,
}

impl OutFormat {
    fn suffix(self) -> &'static str {
        match self {
            OutFormat::Parquet => "parquet",
            OutFormat::Orc => "orc",
            OutFormat::Csv => "csv",
        }
    }
}

/// What an `INSERT INTO FILES(…)` asks for, checked as StarRocks checks it.
#[derive(Debug)]
struct Options {
    dir: Location,
    store: Arc<dyn ObjectStore>,
    format: OutFormat,
    compression: String,
    single: bool,
    target: u64,
    partition_by: Vec<usize>,
    separator: String,
    row_delimiter: String,
}

fn invalid(msg: impl Into<String>) -> FilesError {
    FilesError::InvalidProperty(msg.into())
}

fn parse(props: &[(String, String)], schema: &SchemaRef) -> Result<Options, FilesError> {
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut dups: Vec<&str> = names
        .iter()
        .filter(|n| names.iter().filter(|m| m == n).count() > 1)
        .copied()
        .collect();
    dups.dedup();
    if !dups.is_empty() {
        return Err(invalid(format!(
            "expect column names to be distinct, but got duplicate(s): [{}]",
            dups.join(", ")
        )));
    }
    let single = match get("single")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(invalid(format!(
                "got invalid parameter \"single\" = \"{}\", expect a boolean value (true or false).",
                get("single").unwrap_or_default()
            )));
        }
    };
    let Some(mut path) = get("path") else {
        return Err(invalid(
            "path is a mandatory property. \"path\" = \"s3://path/to/your/location/\"",
        ));
    };
    if !path.ends_with('/') {
        path.push('/');
    }
    let Some(format) = get("format") else {
        return Err(invalid(
            "format is a mandatory property. Use any of (parquet, orc, csv)",
        ));
    };
    let format = match format.to_ascii_lowercase().as_str() {
        "parquet" => OutFormat::Parquet,
        "orc" => OutFormat::Orc,
        "csv" => OutFormat::Csv,
        _ => {
            return Err(invalid(format!(
                "Unsupported format {format}. Use any of (parquet, orc, csv)"
            )));
        }
    };
    let target = match get("target_max_file_size") {
        None => DEFAULT_TARGET_FILE_SIZE,
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                invalid(format!(
                    "Invalid target_max_file_size: '{v}'. Expected a positive number of bytes"
                ))
            })?,
    };
    let compression = get("compression")
        .unwrap_or_else(|| "uncompressed".into())
        .to_ascii_lowercase();
    let supported: &[&str] = match format {
        OutFormat::Parquet => &["uncompressed", "snappy", "lz4", "zstd", "gzip"],
        OutFormat::Orc => &["uncompressed", "snappy", "lz4", "zstd", "zlib"],
        OutFormat::Csv => &["uncompressed"],
    };
    if !supported.contains(&compression.as_str()) {
        return Err(invalid(format!(
            "Unsupported compression codec {compression} for {} unloading. Use any of ({})",
            format.suffix(),
            supported.join(", ")
        )));
    }
    if single && get("partition_by").is_some() {
        return Err(invalid(
            "cannot use partition_by and single simultaneously.",
        ));
    }
    let mut partition_by = Vec::new();
    if let Some(cols) = get("partition_by") {
        let mut wanted: Vec<String> = cols.split(',').map(|c| c.trim().to_string()).collect();
        wanted.dedup();
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|c| !names.contains(&c.as_str()))
            .collect();
        if !missing.is_empty() {
            return Err(invalid(format!(
                "partition columns expected to be a subset of {names:?}, but got extra columns: \
                 {missing:?}"
            )));
        }
        for c in &wanted {
            let i = names.iter().position(|n| n == c).unwrap_or_default();
            let t = schema.field(i).data_type();
            let ok = t.is_integer()
                || matches!(
                    t,
                    DataType::Boolean
                        | DataType::Date32
                        | DataType::Date64
                        | DataType::Timestamp(..)
                        | DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                );
            if !ok {
                return Err(invalid(format!(
                    "partition column does not support type of {}",
                    crate::types::sr_type(t).map_or_else(|| t.to_string(), |s| s.describe())
                )));
            }
            partition_by.push(i);
        }
    }
    let dir = Location::parse(&path)?;
    let storage: std::collections::BTreeMap<String, String> = props
        .iter()
        .filter(|(k, _)| {
            crate::files::props::STORAGE_KEYS.contains(&k.to_ascii_lowercase().as_str())
        })
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let store = resolve(&dir, &storage)?.store;
    Ok(Options {
        dir,
        store,
        format,
        compression,
        single,
        target,
        partition_by,
        separator: get("csv.column_separator").unwrap_or_else(|| "\t".into()),
        row_delimiter: get("csv.row_delimiter").unwrap_or_else(|| "\n".into()),
    })
}

/// A `Write` whose bytes are taken out after each batch and handed to the object store.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Encodes batches into one file's bytes.
enum Encoder {
    Parquet(Box<parquet::arrow::ArrowWriter<Shared>>),
    Orc(Box<orc_rust::arrow_writer::ArrowWriter<Shared>>),
    Csv { separator: Vec<u8>, row: Vec<u8> },
}

/// One file being written.
struct OpenFile {
    path: Path,
    sink: BufWriter,
    encoder: Encoder,
    buffer: Shared,
    /// Bytes handed to the store so far.
    sent: u64,
}

fn storage(path: &Path, e: impl std::fmt::Display) -> FilesError {
    FilesError::StorageAccess(format!("writing {path}: {e}"))
}

impl OpenFile {
    fn new(opts: &Options, schema: &SchemaRef, path: Path) -> Result<Self, FilesError> {
        let buffer = Shared::default();
        let encode_err = |e: &dyn std::fmt::Display| {
            FilesError::Unsupported(format!(
                "{} unloading of this result ({e})",
                opts.format.suffix()
            ))
        };
        let encoder = match opts.format {
            OutFormat::Parquet => {
                use parquet::basic::{Compression, GzipLevel, ZstdLevel};
                let codec = match opts.compression.as_str() {
                    "snappy" => Compression::SNAPPY,
                    "lz4" => Compression::LZ4_RAW,
                    "zstd" => Compression::ZSTD(ZstdLevel::default()),
                    "gzip" => Compression::GZIP(GzipLevel::default()),
                    _ => Compression::UNCOMPRESSED,
                };
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(codec)
                    .build();
                let w = parquet::arrow::ArrowWriter::try_new(
                    buffer.clone(),
                    schema.clone(),
                    Some(props),
                )
                .map_err(|e| encode_err(&e))?;
                Encoder::Parquet(Box::new(w))
            }
            OutFormat::Orc => {
                use orc_rust::compression::CompressionType as C;
                orc_types(schema)?;
                let mut b =
                    orc_rust::arrow_writer::ArrowWriterBuilder::new(buffer.clone(), schema.clone());
                let codec = match opts.compression.as_str() {
                    "snappy" => Some(C::Snappy),
                    "lz4" => Some(C::Lz4),
                    "zstd" => Some(C::Zstd),
                    "zlib" => Some(C::Zlib),
                    _ => None,
                };
                if let Some(c) = codec {
                    b = b.with_compression(c);
                }
                Encoder::Orc(Box::new(b.try_build().map_err(|e| encode_err(&e))?))
            }
            OutFormat::Csv => Encoder::Csv {
                separator: opts.separator.as_bytes().to_vec(),
                row: opts.row_delimiter.as_bytes().to_vec(),
            },
        };
        Ok(Self {
            sink: BufWriter::new(opts.store.clone(), path.clone()),
            path,
            encoder,
            buffer,
            sent: 0,
        })
    }

    /// The file's size so far, counting what the encoder still holds.
    fn size(&self) -> u64 {
        let held = match &self.encoder {
            Encoder::Parquet(w) => w.in_progress_size() as u64,
            _ => 0,
        };
        self.sent + held
    }

    async fn write(&mut self, batch: &RecordBatch) -> Result<(), FilesError> {
        match &mut self.encoder {
            Encoder::Parquet(w) => {
                w.write(batch)
                    .map_err(|e| FilesError::InvalidFile(format!("encoding Parquet: {e}")))?;
                if w.in_progress_size() > ROW_GROUP_BYTES {
                    w.flush()
                        .map_err(|e| FilesError::InvalidFile(format!("encoding Parquet: {e}")))?;
                }
            }
            Encoder::Orc(w) => w
                .write(batch)
                .map_err(|e| FilesError::InvalidFile(format!("encoding ORC: {e}")))?,
            Encoder::Csv { separator, row } => {
                let text = csv_rows(batch, separator, row)?;
                let mut b = self.buffer.clone();
                let _ = b.write(&text);
            }
        }
        self.send().await
    }

    async fn send(&mut self) -> Result<(), FilesError> {
        let bytes = self.buffer.take();
        if bytes.is_empty() {
            return Ok(());
        }
        self.sent += bytes.len() as u64;
        self.sink
            .put(bytes::Bytes::from(bytes))
            .await
            .map_err(|e| storage(&self.path, e))
    }

    /// Completes the file: it becomes visible under its name.
    async fn finish(mut self) -> Result<Path, FilesError> {
        let encoder = std::mem::replace(
            &mut self.encoder,
            Encoder::Csv {
                separator: Vec::new(),
                row: Vec::new(),
            },
        );
        match encoder {
            Encoder::Parquet(w) => {
                w.close()
                    .map_err(|e| FilesError::InvalidFile(format!("encoding Parquet: {e}")))?;
            }
            Encoder::Orc(w) => w
                .close()
                .map_err(|e| FilesError::InvalidFile(format!("encoding ORC: {e}")))?,
            Encoder::Csv { .. } => {}
        }
        self.send().await?;
        use tokio::io::AsyncWriteExt;
        self.sink
            .shutdown()
            .await
            .map_err(|e| storage(&self.path, e))?;
        Ok(self.path)
    }
}

/// The ORC writer takes numbers, booleans, strings, binaries, dates and timestamps; any other
/// column is refused by name before anything is written (the writer would panic on it).
fn orc_types(schema: &SchemaRef) -> Result<(), FilesError> {
    for f in schema.fields() {
        let t = f.data_type();
        let ok = matches!(
            t,
            DataType::Boolean
                | DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Float32
                | DataType::Float64
                | DataType::Date32
                | DataType::Timestamp(..)
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Binary
                | DataType::LargeBinary
        );
        if !ok {
            let shown = crate::types::sr_type(t).map_or_else(|| t.to_string(), |s| s.describe());
            return Err(FilesError::Unsupported(format!(
                "ORC unloading of column '{}' of type {shown} (CAST it to VARCHAR or DOUBLE, or \
                 unload Parquet)",
                f.name()
            )));
        }
    }
    Ok(())
}

/// CSV text of `batch`: values as StarRocks prints them, NULL as `\N`, no quoting.
fn csv_rows(batch: &RecordBatch, separator: &[u8], row: &[u8]) -> Result<Vec<u8>, FilesError> {
    let opts = FormatOptions::default()
        .with_null("\\N")
        .with_date_format(Some("%Y-%m-%d"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f"));
    let columns: Vec<ArrayRef> = batch.columns().iter().map(bool_as_int).collect();
    let formatters = columns
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FilesError::Unsupported(format!("CSV unloading of this result ({e})")))?;
    let mut out = Vec::new();
    for r in 0..batch.num_rows() {
        for (i, f) in formatters.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(separator);
            }
            let _ = write!(out, "{}", f.value(r));
        }
        out.extend_from_slice(row);
    }
    Ok(out)
}

/// Booleans print as 1 and 0 in CSV, as StarRocks prints them.
fn bool_as_int(c: &ArrayRef) -> ArrayRef {
    if c.data_type() == &DataType::Boolean {
        arrow::compute::cast(c, &DataType::Int8).unwrap_or_else(|_| c.clone())
    } else {
        c.clone()
    }
}

/// Escapes a partition value as Hive does in directory names.
fn escape_path(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c.is_control() || "\"#%'*/:=?\\\x7f{[]^".contains(c) {
            for b in c.to_string().bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What an unload wrote.
#[derive(Debug, Default)]
pub struct UnloadSummary {
    /// Rows written.
    pub rows: u64,
    /// The files, as `scheme://…` paths.
    pub files: Vec<String>,
}

/// Writes a query's batches as files under a path.
pub struct Unloader {
    opts: Options,
    schema: SchemaRef,
    query_id: String,
    open: HashMap<String, OpenFile>,
    next: HashMap<String, u64>,
    done: Vec<Path>,
    rows: u64,
}

impl Unloader {
    /// An unload of rows of `schema` as `props` (FILES()' properties) ask.
    pub fn new(props: &[(String, String)], schema: SchemaRef) -> Result<Self, FilesError> {
        let opts = parse(props, &schema)?;
        Ok(Self {
            opts,
            schema,
            query_id: uuid::Uuid::new_v4().to_string(),
            open: HashMap::new(),
            next: HashMap::new(),
            done: Vec::new(),
            rows: 0,
        })
    }

    /// Writes `batch`: into its partitions' files, starting new files as they fill.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<(), FilesError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        let batch = normalize(batch, &self.schema)?;
        for (dir, part) in self.split(&batch)? {
            if !self.open.contains_key(&dir) {
                // At most MAX_OPEN files at once (each holds up to a row group and a part):
                // a partition column of many values closes files and opens new ones.
                let evicted = if self.open.len() >= MAX_OPEN {
                    let key = self.open.keys().next().cloned();
                    key.and_then(|k| self.open.remove(&k))
                } else {
                    None
                };
                if let Some(f) = evicted {
                    self.done.push(f.finish().await?);
                }
                let n = self.next.entry(dir.clone()).or_default();
                let name = format!(
                    "{}{dir}{}_0_0_{n}.{}",
                    self.opts.dir.key,
                    self.query_id,
                    self.opts.format.suffix()
                );
                *n += 1;
                // Kept as written: partition values are escaped Hive's way already, and
                // `Path::from` would escape their `%` a second time.
                let path = Path::parse(&name)
                    .map_err(|e| FilesError::InvalidPath(format!("cannot write {name}: {e}")))?;
                let file = OpenFile::new(&self.opts, &part.schema(), path)?;
                self.open.insert(dir.clone(), file);
            }
            let file = self.open.get_mut(&dir).expect("opened above");
            file.write(&part).await?;
            if !self.opts.single && file.size() >= self.opts.target {
                let file = self.open.remove(&dir).expect("present");
                self.done.push(file.finish().await?);
            }
        }
        Ok(())
    }

    /// The batch's rows by partition directory (`col=value/…/`; `""` without partitions).
    fn split(&self, batch: &RecordBatch) -> Result<Vec<(String, RecordBatch)>, FilesError> {
        if self.opts.partition_by.is_empty() {
            return Ok(vec![(String::new(), batch.clone())]);
        }
        let opts = FormatOptions::default()
            .with_null("__HIVE_DEFAULT_PARTITION__")
            .with_date_format(Some("%Y-%m-%d"))
            .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"));
        let cols: Vec<(String, ArrayRef)> = self
            .opts
            .partition_by
            .iter()
            .map(|i| {
                (
                    self.schema.field(*i).name().clone(),
                    bool_as_int(batch.column(*i)),
                )
            })
            .collect();
        let formatters = cols
            .iter()
            .map(|(_, c)| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FilesError::Unsupported(format!("partition_by of this result ({e})")))?;
        let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for r in 0..batch.num_rows() {
            let mut dir = String::new();
            for ((name, col), f) in cols.iter().zip(&formatters) {
                let v = if col.is_null(r) {
                    "__HIVE_DEFAULT_PARTITION__".to_string()
                } else {
                    escape_path(&f.value(r).to_string())
                };
                dir.push_str(&format!("{}={v}/", escape_path(name)));
            }
            let g = *index.entry(dir.clone()).or_insert_with(|| {
                groups.push((dir, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(r as u32);
        }
        groups
            .into_iter()
            .map(|(dir, rows)| {
                let idx = UInt32Array::from(rows);
                let columns = batch
                    .columns()
                    .iter()
                    .map(|c| take(c.as_ref(), &idx, None))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| FilesError::InvalidFile(e.to_string()))?;
                let part = RecordBatch::try_new(batch.schema(), columns)
                    .map_err(|e| FilesError::InvalidFile(e.to_string()))?;
                Ok((dir, part))
            })
            .collect()
    }

    /// Completes every open file.
    pub async fn finish(mut self) -> Result<UnloadSummary, FilesError> {
        let mut open: Vec<(String, OpenFile)> = self.open.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, f) in open {
            match f.finish().await {
                Ok(p) => self.done.push(p),
                Err(e) => {
                    self.abort().await;
                    return Err(e);
                }
            }
        }
        Ok(UnloadSummary {
            rows: self.rows,
            files: self
                .done
                .iter()
                .map(|p| self.opts.dir.display(p.as_ref()))
                .collect(),
        })
    }

    /// Abandons the unload: open files are never published, completed ones are deleted.
    pub async fn abort(&mut self) {
        for (_, mut f) in self.open.drain() {
            let _ = f.sink.abort().await;
        }
        for p in self.done.drain(..) {
            if let Err(e) = self.opts.store.delete(&p).await {
                tracing::warn!(path = %p, error = %e, "an unload's file could not be removed after it failed");
            }
        }
    }
}

/// The batch with the column types the writers take (view and dictionary types unpacked).
fn normalize(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, FilesError> {
    if batch.schema() == *schema {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FilesError::InvalidFile(e.to_string()))?;
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| FilesError::InvalidFile(e.to_string()))
}

/// The schema unloaded files have for rows of `schema`: string and binary views and
/// dictionaries as plain strings and binaries, which every writer takes.
pub fn unload_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8View => DataType::Utf8,
                DataType::BinaryView => DataType::Binary,
                DataType::Dictionary(_, v) => match v.as_ref() {
                    DataType::Utf8View => DataType::Utf8,
                    other => other.clone(),
                },
                other => other.clone(),
            };
            f.as_ref().clone().with_data_type(t)
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_escaping_of_partition_values() {
        assert_eq!(
            escape_path("2022-03-13 12:00:00"),
            "2022-03-13 12%3A00%3A00"
        );
        assert_eq!(escape_path("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(escape_path("plain"), "plain");
    }

    #[test]
    fn csv_rows_print_nulls_dates_and_booleans_as_starrocks() {
        use arrow::array::{BooleanArray, Date32Array, Int64Array, StringArray};
        let batch = RecordBatch::try_from_iter(vec![
            (
                "a",
                Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
            ),
            (
                "b",
                Arc::new(StringArray::from(vec![Some("x"), Some("y z")])) as ArrayRef,
            ),
            (
                "c",
                Arc::new(Date32Array::from(vec![Some(19723), None])) as ArrayRef,
            ),
            (
                "d",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false)])) as ArrayRef,
            ),
        ])
        .unwrap();
        let text = csv_rows(&batch, b"|", b"\n").unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "1|x|2024-01-01|1\n\\N|y z|\\N|0\n"
        );
    }
}
