//! `FILES()`: list, infer and read files in S3-compatible storage or on local disk.

mod avro;
mod csv;
mod failures;
mod guard;
mod infer;
mod json_flat;
mod json_shape;
mod list;
mod orc_json;
mod piece;
mod pooled;
mod props;
mod read;
mod store;
mod text;
mod write;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use futures::StreamExt;
use object_store::ObjectMeta;
use parquet::file::metadata::ParquetMetaData;
use strata_common::types::{SrType, VARCHAR_MAX};
use strata_common::{ErrorExt, StatusCode};

pub use failures::{ReadFailure, ReadFailures, VALUE_PREFIX_BYTES, bounded};
pub use json_shape::JsonShape;
use list::FileStream;
pub use piece::Piece;
pub use props::split_paths;
use props::{FilesOptions, Format};
use read::{FilesTable, ReadKind, ReadSpec};
pub use read::{PieceSlot, READ_AS_TEXT, ROW_COLUMN};
use store::Location;
pub use write::{UnloadSummary, Unloader, unload_schema};

use crate::types::arrow_type;

/// Why a FILES() call failed.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A property is missing or has a bad value.
    #[error("{0}")]
    InvalidProperty(String),
    /// A path cannot be used.
    #[error("{0}")]
    InvalidPath(String),
    /// Not built yet.
    #[error("{0} is not supported yet")]
    Unsupported(String),
    /// No file matched.
    #[error(
        "No files were found matching the pattern(s) or path(s): '{0}'. You should check whether there are files under the path, and make sure the process has the permission to access the path"
    )]
    NoFiles(String),
    /// The storage refused or failed.
    #[error("{0}")]
    StorageAccess(String),
    /// A file is not what its format says.
    #[error("{0}")]
    InvalidFile(String),
    /// Schemas of sampled files conflict.
    #[error("{0}")]
    SchemaConflict(String),
}

impl ErrorExt for FilesError {
    fn status_code(&self) -> StatusCode {
        match self {
            FilesError::InvalidProperty(_) | FilesError::InvalidPath(_) => {
                StatusCode::InvalidArguments
            }
            FilesError::Unsupported(_) => StatusCode::Unsupported,
            FilesError::NoFiles(_) => StatusCode::FileNotFound,
            FilesError::StorageAccess(_) => StatusCode::StorageAccessFailed,
            FilesError::InvalidFile(_) | FilesError::SchemaConflict(_) => StatusCode::InvalidFile,
        }
    }
}

/// How many files a load's listing yields before inference and loading start; the rest is
/// listed while the load runs.
const FIRST_LISTING: usize = 1000;

/// A file a listing matched.
#[derive(Debug, Clone)]
pub struct ListedFile {
    /// Its name as errors and views show it (`s3://bucket/key`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    meta: ObjectMeta,
}

impl ListedFile {
    /// Its ETag, as the listing gave it.
    pub fn etag(&self) -> Option<String> {
        self.meta.e_tag.clone()
    }

    /// Its modification time, `YYYY-MM-DD HH:MM:SS` (UTC).
    pub fn modified(&self) -> Option<String> {
        Some(
            self.meta
                .last_modified
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        )
    }
}

/// ORC files from this size on are cut into pieces at stripe boundaries (which costs a read
/// of the file's tail while the pieces are planned); smaller ones are read whole.
const ORC_SPLIT_BYTES: u64 = 16 << 20;

/// A resolved FILES() call: the files it matched and the schema a load will use.
pub struct FilesSource {
    /// Inferred columns with StarRocks types, `columns_from_path` ones last.
    pub columns: Vec<(String, SrType)>,
    /// Total rows, when the footers of all files were read (drives load PROGRESS).
    pub known_rows: Option<u64>,
    pub(crate) spec: Arc<ReadSpec>,
    /// Every file matched so far, in listing order, and the rest of a streaming listing.
    listing: tokio::sync::Mutex<Listing>,
    /// Footers read while sampling, so reading does not fetch them again.
    footers: HashMap<object_store::path::Path, Arc<ParquetMetaData>>,
    listed_files: AtomicU64,
    listed_bytes: AtomicU64,
}

struct Listing {
    files: Vec<ObjectMeta>,
    rest: Option<FileStream>,
}

impl FilesSource {
    /// Lists the files and infers the schema. With `streaming`, only the first
    /// [`FIRST_LISTING`] files are listed now (inference samples among them) and the rest
    /// as readers ask for them.
    pub async fn resolve(props: &[(String, String)], streaming: bool) -> Result<Self, FilesError> {
        let (options, location, resolved) = Self::open(props)?;
        let mut listing = list::list_paths(options.paths.clone(), resolved.clone());
        let limit = if streaming { FIRST_LISTING } else { usize::MAX };
        let mut files = Vec::new();
        let mut complete = false;
        while files.len() < limit {
            match listing.next().await {
                Some(f) => files.push(f?),
                None => {
                    complete = true;
                    break;
                }
            }
        }
        if files.is_empty() {
            return Err(FilesError::NoFiles(options.paths.join(",")));
        }
        let rest = (!complete).then_some(listing);
        Self::build(options, location, resolved, files, rest, None).await
    }

    /// Every file the call's paths match, in listing order (a Broker Load job lists its
    /// files once, then reads them group by group with [`FilesSource::resolve_listed`]).
    pub async fn list(props: &[(String, String)]) -> Result<Vec<ListedFile>, FilesError> {
        let (options, location, resolved) = Self::open(props)?;
        let mut listing = list::list_paths(options.paths.clone(), resolved);
        let mut out = Vec::new();
        while let Some(f) = listing.next().await {
            let meta = f?;
            out.push(ListedFile {
                name: location.display(meta.location.as_ref()),
                size: meta.size,
                meta,
            });
        }
        if out.is_empty() {
            return Err(FilesError::NoFiles(options.paths.join(",")));
        }
        Ok(out)
    }

    /// The call over exactly `files` (from [`FilesSource::list`] with the same properties).
    /// With `csv_columns`, CSV files are read as that many text columns `$1..$n`, with no
    /// inference: the loader converts each field to its column's type.
    pub async fn resolve_listed(
        props: &[(String, String)],
        files: Vec<ListedFile>,
        csv_columns: Option<usize>,
    ) -> Result<Self, FilesError> {
        let (options, location, resolved) = Self::open(props)?;
        if files.is_empty() {
            return Err(FilesError::NoFiles(options.paths.join(",")));
        }
        let files = files.into_iter().map(|f| f.meta).collect();
        Self::build(options, location, resolved, files, None, csv_columns).await
    }

    /// The files the call's paths match, as the listing goes: a pipe records them page by
    /// page and never holds a whole listing.
    pub fn list_stream(
        props: &[(String, String)],
    ) -> Result<futures::stream::BoxStream<'static, Result<ListedFile, FilesError>>, FilesError>
    {
        let (options, location, resolved) = Self::open(props)?;
        let stream = list::list_paths(options.paths, resolved).map(move |f| {
            f.map(|meta| ListedFile {
                name: location.display(meta.location.as_ref()),
                size: meta.size,
                meta,
            })
        });
        Ok(stream.boxed())
    }

    /// A file known by name (`s3://bucket/key`), size and version, for a call with `props`
    /// (a pipe's ledger row, read again without listing).
    pub fn listed_file(
        props: &[(String, String)],
        name: &str,
        size: u64,
        version: &str,
    ) -> Result<ListedFile, FilesError> {
        let (_, location, _) = Self::open(props)?;
        let loc = Location::parse(name)?;
        if loc.store_url() != location.store_url() {
            return Err(FilesError::InvalidPath(format!(
                "{name} is not in the store of {}",
                location.store_url()
            )));
        }
        let path = object_store::path::Path::parse(&loc.key)
            .unwrap_or_else(|_| object_store::path::Path::from(loc.key.as_str()));
        Ok(ListedFile {
            name: name.to_string(),
            size,
            meta: ObjectMeta {
                location: path,
                last_modified: chrono::Utc::now(),
                size,
                e_tag: Some(version.to_string()),
                version: None,
            },
        })
    }

    /// A listed file's version from a HEAD request: its ETag, or its modification time in
    /// milliseconds where the store has none.
    pub async fn head_version(
        props: &[(String, String)],
        f: &ListedFile,
    ) -> Result<String, FilesError> {
        use object_store::ObjectStoreExt;
        let (_, _, resolved) = Self::open(props)?;
        let meta = resolved
            .store
            .head(&f.meta.location)
            .await
            .map_err(|e| FilesError::StorageAccess(format!("HEAD {}: {e}", f.name)))?;
        Ok(meta
            .e_tag
            .unwrap_or_else(|| meta.last_modified.timestamp_millis().to_string()))
    }

    /// Checks a call's properties and paths without touching storage.
    pub fn check(props: &[(String, String)]) -> Result<(), FilesError> {
        Self::open(props).map(|_| ())
    }

    fn open(
        props: &[(String, String)],
    ) -> Result<(FilesOptions, Location, store::ResolvedStore), FilesError> {
        let options = FilesOptions::parse(props)?;
        let location = Location::parse(&options.paths[0])?;
        for p in &options.paths {
            if Location::parse(p)?.store_url() != location.store_url() {
                return Err(FilesError::Unsupported(
                    "paths in more than one bucket or scheme in one FILES() call".into(),
                ));
            }
        }
        let resolved = store::resolve(&location, &options.storage)?;
        Ok((options, location, resolved))
    }

    async fn build(
        options: FilesOptions,
        location: Location,
        resolved: store::ResolvedStore,
        files: Vec<ObjectMeta>,
        rest: Option<FileStream>,
        csv_columns: Option<usize>,
    ) -> Result<Self, FilesError> {
        let complete = rest.is_none();
        // A declared `schema` is the columns: nothing is inferred, and a column a file lacks
        // is NULL.
        let declared = options.schema.is_some();
        let inferred = match (&options.schema, csv_columns) {
            (Some(cols), _) => infer::Inferred {
                columns: cols.clone(),
                rows: None,
                footers: Vec::new(),
            },
            (None, csv_columns) => match csv_columns {
                Some(n) if options.format == Format::Csv => infer::Inferred {
                    columns: (1..=n)
                        .map(|i| (format!("${i}"), SrType::Varchar(VARCHAR_MAX)))
                        .collect(),
                    rows: None,
                    footers: Vec::new(),
                },
                _ => infer::infer(&options, &location, &resolved, &files).await?,
            },
        };
        let file_schema = schema_of(&inferred.columns);
        let mut columns = inferred.columns;
        for c in &options.columns_from_path {
            if columns.iter().any(|(n, _)| n.eq_ignore_ascii_case(c)) {
                return Err(FilesError::InvalidProperty(format!(
                    "duplicated name in columns from path, a column with same name already exists in the file table: {c}"
                )));
            }
            columns.push((c.clone(), SrType::Varchar(VARCHAR_MAX)));
        }
        let kind = match &options.format {
            Format::Parquet => ReadKind::Parquet,
            Format::Csv => ReadKind::Csv(options.csv.clone()),
            Format::Json => ReadKind::Json(options.json.clone()),
            Format::Orc => ReadKind::Orc,
            Format::Avro => ReadKind::Avro,
        };
        let spec = Arc::new(ReadSpec {
            store: resolved,
            location,
            kind,
            file_schema,
            path_columns: options.columns_from_path,
            fill_null: options.fill_mismatch_null || declared,
            compression: options.compression,
            rows_read: Arc::default(),
        });
        Ok(Self {
            known_rows: inferred.rows.filter(|_| complete),
            listed_files: AtomicU64::new(files.len() as u64),
            listed_bytes: AtomicU64::new(files.iter().map(|f| f.size).sum()),
            listing: tokio::sync::Mutex::new(Listing { files, rest }),
            footers: inferred.footers.into_iter().collect(),
            columns,
            spec,
        })
    }

    /// Rows the readers have produced so far, before any filter of the query.
    pub fn rows_read(&self) -> u64 {
        self.spec.rows_read.load(Ordering::Relaxed)
    }

    /// Files and bytes listed so far (all of them once the listing is done).
    pub fn listed(&self) -> (u64, u64) {
        (
            self.listed_files.load(Ordering::Relaxed),
            self.listed_bytes.load(Ordering::Relaxed),
        )
    }

    /// The `i`-th matched file, listing further when needed. Every reader walks the same
    /// list, so a FILES() call scanned twice (a self-join) reads every file both times.
    async fn file_at(&self, i: usize) -> Result<Option<ObjectMeta>, FilesError> {
        let mut listing = self.listing.lock().await;
        while listing.files.len() <= i {
            let Some(rest) = listing.rest.as_mut() else {
                return Ok(None);
            };
            match rest.next().await {
                Some(f) => {
                    let f = f?;
                    self.listed_files.fetch_add(1, Ordering::Relaxed);
                    self.listed_bytes.fetch_add(f.size, Ordering::Relaxed);
                    listing.files.push(f);
                }
                None => listing.rest = None,
            }
        }
        Ok(Some(listing.files[i].clone()))
    }

    /// Whether a FILES() call only lists (`"list_files_only" = "true"`).
    pub fn lists_only(props: &[(String, String)]) -> bool {
        FilesOptions::parse(props).is_ok_and(|o| o.list_files_only)
    }

    /// The table of a `list_files_only` call: `PATH`, `SIZE`, `IS_DIR`, `MODIFICATION_TIME`
    /// of what its paths match, by path.
    pub async fn list_table(
        props: &[(String, String)],
    ) -> Result<Arc<dyn TableProvider>, FilesError> {
        use arrow::array::TimestampMicrosecondArray;
        use arrow::array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};

        let options = FilesOptions::parse(props)?;
        let location = Location::parse(&options.paths[0])?;
        let resolved = store::resolve(&location, &options.storage)?;
        let mut entries = Vec::new();
        for p in &options.paths {
            let loc = Location::parse(p)?;
            for e in list::list_entries(p, &resolved, options.list_recursively).await? {
                entries.push((loc.display(&e.key), e));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        let schema = Arc::new(Schema::new(vec![
            Field::new("PATH", arrow::datatypes::DataType::Utf8, false),
            Field::new("SIZE", arrow::datatypes::DataType::Int64, false),
            Field::new("IS_DIR", arrow::datatypes::DataType::Boolean, false),
            Field::new(
                "MODIFICATION_TIME",
                arrow::datatypes::DataType::Timestamp(
                    arrow::datatypes::TimeUnit::Microsecond,
                    None,
                ),
                true,
            ),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                entries.iter().map(|(p, _)| p),
            )),
            Arc::new(Int64Array::from_iter_values(
                entries.iter().map(|(_, e)| e.size as i64),
            )),
            Arc::new(BooleanArray::from_iter(
                entries.iter().map(|(_, e)| Some(e.is_dir)),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter(
                entries
                    .iter()
                    .map(|(_, e)| e.modified.map(|t| t.timestamp_micros())),
            )),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| FilesError::InvalidFile(e.to_string()))?;
        let table = datafusion::catalog::MemTable::try_new(schema, vec![vec![batch]])
            .map_err(|e| FilesError::InvalidFile(e.to_string()))?;
        Ok(Arc::new(table))
    }

    /// A query's table over every matched file (a streaming listing goes on as it reads).
    pub fn table(self: &Arc<Self>) -> Arc<dyn TableProvider> {
        Arc::new(FilesTable::query(self.clone()))
    }

    /// Whether the files are CSV, whose inferred column types a load may read as text.
    pub fn is_csv(&self) -> bool {
        matches!(self.spec.kind, ReadKind::Csv(_))
    }

    /// Whether the files are read over the network (reads wait on it, so more can run at
    /// once than there are cores).
    pub fn is_remote(&self) -> bool {
        self.spec.location.scheme != "file"
    }

    /// A load worker's table over the piece in `slot`, with [`read::ROW_COLUMN`] last.
    /// Parquet strings come as views there: they point into the decoded pages instead of
    /// being copied, and the load keeps them so up to the segment encoder.
    ///
    /// CSV columns at `text` (indices into the file columns) are read as their text instead of
    /// the type inferred for them: a load converts that text to its target column's type itself
    /// (`12345678901234.5678` exactly into a DECIMAL, `00123` as written into a VARCHAR), as
    /// StarRocks' scan does when it reads columns as the target types. Other formats have
    /// types of their own and ignore `text`.
    pub fn piece_table(&self, slot: PieceSlot, text: &[usize]) -> Arc<dyn TableProvider> {
        let spec = match &self.spec.kind {
            ReadKind::Parquet => Arc::new(self.spec.with_string_views()),
            ReadKind::Csv(_) if !text.is_empty() => Arc::new(self.spec.with_text_columns(text)),
            _ => self.spec.clone(),
        };
        Arc::new(FilesTable::piece(spec, slot))
    }

    /// The pieces of every matched file, in listing order, produced as the listing proceeds
    /// (Parquet files are split at row-group boundaries; their footers are checked here).
    pub fn pieces(self: &Arc<Self>) -> tokio::sync::mpsc::Receiver<Result<Piece, FilesError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.produce_pieces(&tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        rx
    }

    async fn produce_pieces(
        &self,
        tx: &tokio::sync::mpsc::Sender<Result<Piece, FilesError>>,
    ) -> Result<(), FilesError> {
        let location = &self.spec.location;
        for i in 0.. {
            let Some(file) = self.file_at(i).await? else {
                break;
            };
            let pieces = match self.spec.kind {
                ReadKind::Parquet => {
                    let md = match self.footers.get(&file.location) {
                        Some(md) => md.clone(),
                        None => {
                            let display = location.display(file.location.as_ref());
                            infer::parquet_metadata(&self.spec.store, &file, &display).await?
                        }
                    };
                    piece::parquet_pieces(location, file, md)?
                }
                // A large ORC file is read stripe by stripe, by several workers.
                ReadKind::Orc if file.size >= ORC_SPLIT_BYTES => {
                    let display = location.display(file.location.as_ref());
                    let md = orc_json::orc_metadata(&self.spec.store, &file, &display).await?;
                    piece::orc_pieces(location, file, &md)
                }
                _ => vec![Piece::whole(location, file)],
            };
            for p in pieces {
                if tx.send(Ok(p)).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

fn schema_of(columns: &[(String, SrType)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, t)| Field::new(n, arrow_type(t), true))
            .collect::<Vec<_>>(),
    ))
}
