//! Reading FILES(): every format is read in *pieces* — a whole file, or some row groups of a
//! Parquet file — each batch in the source schema, followed by the `columns_from_path` values
//! and, for loads, each row's number within its file ([`ROW_COLUMN`]).
//!
//! Loads read pieces in parallel and so know, for every row, the file and row it came from;
//! queries read whole files in up to two partitions.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array, new_null_array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use object_store::ObjectStore;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::file::metadata::ParquetMetaData;

use crate::files::failures::{self, BadRows, ReadFailures};
use crate::files::piece::Piece;
use crate::files::props::{Codec, CsvOptions};
use crate::files::store::{Location, ResolvedStore};
use crate::files::{FilesError, FilesSource};

/// Field metadata of a CSV column a load reads as text although another type was inferred
/// for it (the value: that type).
pub const READ_AS_TEXT: &str = "strata.read_as_text";

/// The column a load's per-piece scan appends: the row's 1-based number within its file.
pub const ROW_COLUMN: &str = "__strata_row";

/// Rows per batch, in every format: fewer, larger batches cost less per row in every later
/// step (projection, conversion, bucketing, the writer) than DataFusion's usual 8192.
pub(crate) const BATCH_ROWS: usize = 32 * 1024;

/// How files are decoded.
#[derive(Debug, Clone)]
pub enum ReadKind {
    /// Parquet.
    Parquet,
    /// Delimited text.
    Csv(CsvOptions),
    /// Newline-delimited JSON.
    Json(crate::files::JsonShape),
    /// ORC.
    Orc,
    /// Avro object container files.
    Avro,
}

impl ReadKind {
    /// The format's name, as errors say it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ReadKind::Parquet => "Parquet",
            ReadKind::Csv(_) => "CSV",
            ReadKind::Json(_) => "JSON",
            ReadKind::Orc => "ORC",
            ReadKind::Avro => "Avro",
        }
    }
}

/// What every reader of one FILES() call shares.
#[derive(Debug, Clone)]
pub struct ReadSpec {
    /// Where the files are.
    pub store: ResolvedStore,
    /// Their location (for display names).
    pub location: Location,
    /// Format.
    pub kind: ReadKind,
    /// The columns read from the files (without `columns_from_path` ones).
    pub file_schema: SchemaRef,
    /// `columns_from_path` keys.
    pub path_columns: Vec<String>,
    /// `fill_mismatch_column_with = null`.
    pub fill_null: bool,
    /// CSV/JSON compression; `None`: by file suffix.
    pub compression: Option<Codec>,
    /// Rows every reader of the call has produced (before the query's filters).
    pub rows_read: Arc<std::sync::atomic::AtomicU64>,
}

impl ReadSpec {
    /// This spec with `Utf8` columns read as `Utf8View`.
    pub fn with_string_views(&self) -> Self {
        let fields: Vec<Field> = self
            .file_schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
                _ => f.as_ref().clone(),
            })
            .collect();
        Self {
            file_schema: Arc::new(Schema::new(fields)),
            ..self.clone()
        }
    }

    /// This spec with the file columns at `text` read as the text they are in the file (marked
    /// [`READ_AS_TEXT`], so that an empty field stays NULL, as it was in the inferred type).
    pub fn with_text_columns(&self, text: &[usize]) -> Self {
        let fields: Vec<Field> = self
            .file_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let f = f.as_ref().clone();
                if text.contains(&i) {
                    let mut meta = f.metadata().clone();
                    meta.insert(READ_AS_TEXT.to_string(), f.data_type().to_string());
                    f.with_data_type(DataType::Utf8).with_metadata(meta)
                } else {
                    f
                }
            })
            .collect();
        Self {
            file_schema: Arc::new(Schema::new(fields)),
            ..self.clone()
        }
    }

    /// The schema rows are produced in: file columns, path columns, and the row number when
    /// `with_row`.
    pub fn output_schema(&self, with_row: bool) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .file_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.extend(
            self.path_columns
                .iter()
                .map(|c| Field::new(c, DataType::Utf8, true)),
        );
        if with_row {
            fields.push(Field::new(ROW_COLUMN, DataType::UInt64, false));
        }
        Arc::new(Schema::new(fields))
    }
}

/// The value of `key=value` path segments for each of `keys` (the deepest segment wins).
fn path_values(path: &str, keys: &[String]) -> Vec<Option<String>> {
    keys.iter()
        .map(|k| {
            path.split('/')
                .filter_map(|seg| seg.split_once('='))
                .filter(|(name, _)| name == k)
                .map(|(_, v)| v.to_string())
                .next_back()
        })
        .collect()
}

/// Appends path columns and row numbers to the batches of one piece.
/// Also takes the readers' [`BAD_COLUMN`](super::failures) off each batch, into the piece's
/// failures when a load reads it.
pub(crate) struct Decorate {
    out: SchemaRef,
    path_values: Vec<Option<String>>,
    next_row: Option<u64>,
    failures: Option<ReadFailures>,
}

impl Decorate {
    fn new(spec: &ReadSpec, piece: &Piece, with_row: bool) -> Self {
        Self {
            out: spec.output_schema(with_row),
            path_values: path_values(piece.file.location.as_ref(), &spec.path_columns),
            next_row: with_row.then_some(piece.first_row),
            failures: with_row.then(|| piece.failures.clone()),
        }
    }

    /// Whether a load reads this piece (its bad values are kept for it).
    pub(crate) fn is_load(&self) -> bool {
        self.failures.is_some()
    }

    /// A batch in the file schema (with a reader's bad-value column, perhaps) → the output
    /// schema.
    pub(crate) fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch, FilesError> {
        let batch = failures::detach(batch, self.next_row.unwrap_or(1), self.failures.as_ref());
        if self.path_values.is_empty() && self.next_row.is_none() {
            return Ok(batch);
        }
        let n = batch.num_rows();
        let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
        for v in &self.path_values {
            cols.push(Arc::new(StringArray::from(vec![v.as_deref(); n])));
        }
        if let Some(r) = &mut self.next_row {
            cols.push(Arc::new(UInt64Array::from_iter_values(*r..*r + n as u64)));
            *r += n as u64;
        }
        RecordBatch::try_new(self.out.clone(), cols)
            .map_err(|e| FilesError::InvalidFile(e.to_string()))
    }
}

/// Casts a batch read from a file to the file schema by column name. Columns not `needed`
/// are NULL; a needed column the file lacks is an error unless `fill_null`.
pub(crate) fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
    needed: Option<&[bool]>,
    display: &str,
    fill_null: bool,
) -> Result<RecordBatch, FilesError> {
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    let mut cols = Vec::with_capacity(schema.fields().len());
    let mut bad = BadRows::default();
    for (ci, f) in schema.fields().iter().enumerate() {
        if needed.is_some_and(|n| !n[ci]) {
            cols.push(new_null_array(f.data_type(), batch.num_rows()));
            continue;
        }
        let idx = batch
            .schema()
            .fields()
            .iter()
            .position(|bf| bf.name().eq_ignore_ascii_case(f.name()));
        let col = match idx {
            Some(i) => {
                let input = batch.column(i);
                let col = cast_with_options(input, f.data_type(), &opts).map_err(|e| {
                    FilesError::InvalidFile(format!("{display}: column {}: {e}", f.name()))
                })?;
                // A file whose column has another type than the sampled files gave it (a
                // string where they had integers): what does not fit is a bad value.
                if input.data_type() != f.data_type() {
                    bad.add_cast(f.name(), input.as_ref(), col.as_ref());
                }
                col
            }
            None if fill_null => new_null_array(f.data_type(), batch.num_rows()),
            None => return Err(missing_column(f.name(), display)),
        };
        cols.push(col);
    }
    RecordBatch::try_new(schema.clone(), cols)
        .and_then(|b| bad.attach(b))
        .map_err(|e| FilesError::InvalidFile(e.to_string()))
}

fn missing_column(column: &str, display: &str) -> FilesError {
    FilesError::InvalidFile(format!(
        "Column: {column} is not found in file: {display}. Consider setting 'fill_mismatch_column_with' = 'null' property"
    ))
}

type BatchSender = tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>;

/// Reads one piece into `tx`. `needed` marks the output columns the query uses (others may be
/// produced as NULL); a closed channel ends the read quietly (the query stopped reading).
pub(crate) async fn read_piece(
    spec: &ReadSpec,
    piece: Piece,
    needed: Option<Arc<[bool]>>,
    with_row: bool,
    tx: &BatchSender,
) -> Result<(), FilesError> {
    let display = piece.display.clone();
    let format = spec.kind.name();
    let read = read_piece_unguarded(spec, piece, needed, with_row, tx);
    crate::files::guard::guarded(&display, format, read).await
}

async fn read_piece_unguarded(
    spec: &ReadSpec,
    piece: Piece,
    needed: Option<Arc<[bool]>>,
    with_row: bool,
    tx: &BatchSender,
) -> Result<(), FilesError> {
    let deco = Decorate::new(spec, &piece, with_row);
    let format_name = spec.kind.name();
    let file_needed = needed.map(|n| n[..spec.file_schema.fields().len()].to_vec());
    match &spec.kind {
        ReadKind::Parquet => read_parquet(spec, piece, file_needed, deco, tx).await,
        ReadKind::Avro => crate::files::avro::read_avro(spec, piece, file_needed, deco, tx).await,
        ReadKind::Orc => {
            crate::files::orc_json::read_orc(
                spec.store.store.clone(),
                piece,
                spec.file_schema.clone(),
                file_needed,
                spec.fill_null,
                deco,
                tx,
            )
            .await
        }
        ReadKind::Csv(_) | ReadKind::Json(_) => {
            let input = crate::files::text::open_sync(
                &spec.store,
                &piece.file,
                &piece.display,
                spec.compression,
            )
            .await?;
            let (tx, spec) = (tx.clone(), spec.clone());
            let display = piece.display.clone();
            tokio::task::spawn_blocking(move || match &spec.kind {
                ReadKind::Csv(opts) => crate::files::csv::read_file(
                    input,
                    &piece.display,
                    &spec.file_schema,
                    opts,
                    spec.fill_null,
                    deco,
                    &tx,
                ),
                ReadKind::Json(shape) => {
                    let input = shape.apply(input, &piece.display)?;
                    crate::files::orc_json::read_json(
                        input,
                        &piece.display,
                        &spec.file_schema,
                        deco,
                        &tx,
                    )
                }
                _ => unreachable!("a text format"),
            })
            .await
            .map_err(|e| match e.try_into_panic() {
                Ok(panic) => crate::files::guard::crashed(&display, format_name, panic.as_ref()),
                Err(e) => FilesError::InvalidFile(format!("file reader failed: {e}")),
            })?
        }
    }
}

async fn read_parquet(
    spec: &ReadSpec,
    piece: Piece,
    needed: Option<Vec<bool>>,
    mut deco: Decorate,
    tx: &BatchSender,
) -> Result<(), FilesError> {
    let display = piece.display.clone();
    // Parquet pieces always come from `parquet_pieces`, with the footer already read.
    let Some((meta, groups)) = piece.row_groups else {
        return Err(FilesError::InvalidFile(format!(
            "File {display}: a Parquet piece without its footer"
        )));
    };
    // Project the columns the query uses, found by case-insensitive name.
    let file_fields = meta.schema().fields().clone();
    let mut roots = Vec::new();
    for (ci, f) in spec.file_schema.fields().iter().enumerate() {
        if needed.as_ref().is_some_and(|n| !n[ci]) {
            continue;
        }
        match file_fields
            .iter()
            .position(|ff| ff.name().eq_ignore_ascii_case(f.name()))
        {
            Some(i) => roots.push(i),
            None if spec.fill_null => {}
            None => return Err(missing_column(f.name(), &display)),
        }
    }
    roots.sort_unstable();
    roots.dedup();
    let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
    let meta = with_view_hints(meta, &spec.file_schema);
    let reader = ObjectParquetReader {
        store: spec.store.store.clone(),
        path: piece.file.location.clone(),
    };
    let corrupt = |e: parquet::errors::ParquetError| {
        FilesError::InvalidFile(format!("File {display}: corrupt Parquet data: {e}"))
    };
    let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta)
        .with_projection(mask)
        .with_row_groups(groups)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(corrupt)?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(corrupt)?;
        let batch = conform(
            &batch,
            &spec.file_schema,
            needed.as_deref(),
            &display,
            spec.fill_null,
        )?;
        let batch = deco.apply(batch)?;
        if tx.send(Ok(batch)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// `meta` reading as `Utf8View` the string columns `schema` wants as views (found by
/// case-insensitive name); unchanged when none does, or when the reader refuses the hint.
fn with_view_hints(meta: ArrowReaderMetadata, schema: &SchemaRef) -> ArrowReaderMetadata {
    let wants_view = |name: &str| {
        schema
            .fields()
            .iter()
            .any(|f| f.data_type() == &DataType::Utf8View && f.name().eq_ignore_ascii_case(name))
    };
    let file = meta.schema();
    let mut changed = false;
    let fields: Vec<Field> = file
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 if wants_view(f.name()) => {
                changed = true;
                f.as_ref().clone().with_data_type(DataType::Utf8View)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    if !changed {
        return meta;
    }
    let hint = Arc::new(Schema::new_with_metadata(fields, file.metadata().clone()));
    let options = ArrowReaderOptions::new().with_schema(hint);
    ArrowReaderMetadata::try_new(meta.metadata().clone(), options).unwrap_or(meta)
}

/// Ranged reads of one object for the Parquet reader; the footer is always read beforehand
/// (and checked) by [`crate::files::infer::parquet_metadata`].
struct ObjectParquetReader {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
}

impl AsyncFileReader for ObjectParquetReader {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            crate::files::pooled::get_range(self.store.as_ref(), &self.path, range)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async {
            Err(parquet::errors::ParquetError::General(
                "the Parquet footer is read before the data".into(),
            ))
        }
        .boxed()
    }
}

fn external(e: FilesError) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(e))
}

/// Where a table's partitions get their pieces.
#[derive(Debug, Clone)]
enum Feed {
    /// The piece last put in a [`PieceSlot`]: a load's worker plans once and runs the plan
    /// again for each piece it takes.
    Slot(PieceSlot),
    /// Every piece of a FILES() call, shared by one scan's partitions as they ask.
    Queue(Arc<PieceQueue>),
}

/// What a [`FilesTable`] reads.
enum TableFeed {
    Files(Arc<FilesSource>),
    Slot(PieceSlot),
}

impl std::fmt::Debug for TableFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableFeed::Files(_) => f.write_str("Files"),
            TableFeed::Slot(_) => f.write_str("Slot"),
        }
    }
}

/// The piece a load worker's plan reads when it next runs.
#[derive(Debug, Clone, Default)]
pub struct PieceSlot(Arc<std::sync::Mutex<Option<Piece>>>);

impl PieceSlot {
    /// Makes `piece` the one the plan reads when next executed.
    pub fn set(&self, piece: Piece) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(piece);
    }

    fn get(&self) -> Option<Piece> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The pieces of a FILES() call for one scan, listed and split when its first partition asks.
pub(crate) struct PieceQueue {
    source: Arc<FilesSource>,
    rx: tokio::sync::Mutex<Option<PieceRx>>,
}

type PieceRx = tokio::sync::mpsc::Receiver<Result<Piece, FilesError>>;

impl std::fmt::Debug for PieceQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PieceQueue")
    }
}

impl PieceQueue {
    async fn next(&self) -> Option<Result<Piece, FilesError>> {
        let mut rx = self.rx.lock().await;
        rx.get_or_insert_with(|| self.source.pieces()).recv().await
    }
}

/// FILES() as a table: partitions read pieces and produce the output schema (with
/// [`ROW_COLUMN`] for a load's piece), reading only the columns the plan projects.
#[derive(Debug)]
pub struct FilesTable {
    spec: Arc<ReadSpec>,
    /// The files of a query's table (each scan gets its own queue of their pieces), or the
    /// slot of a load worker's.
    feed: TableFeed,
    with_row: bool,
    partitions: usize,
    schema: SchemaRef,
}

impl FilesTable {
    /// A query's table over every file of `source`: two partitions share the pieces.
    pub fn query(source: Arc<FilesSource>) -> Self {
        let spec = source.spec.clone();
        Self {
            schema: spec.output_schema(false),
            spec,
            feed: TableFeed::Files(source),
            with_row: false,
            partitions: 2,
        }
    }

    /// A load worker's table over the piece in `slot`, [`ROW_COLUMN`] last.
    pub fn piece(spec: Arc<ReadSpec>, slot: PieceSlot) -> Self {
        Self {
            schema: spec.output_schema(true),
            spec,
            feed: TableFeed::Slot(slot),
            with_row: true,
            partitions: 1,
        }
    }
}

#[derive(Debug)]
struct FilesPartition {
    spec: Arc<ReadSpec>,
    feed: Feed,
    with_row: bool,
    schema: SchemaRef,
    needed: Arc<[bool]>,
}

impl PartitionStream for FilesPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let (spec, feed, needed, with_row) = (
            self.spec.clone(),
            self.feed.clone(),
            self.needed.clone(),
            self.with_row,
        );
        tokio::spawn(async move {
            let res = match feed {
                Feed::Slot(slot) => match slot.get() {
                    Some(piece) => read_piece(&spec, piece, Some(needed), with_row, &tx).await,
                    None => Ok(()),
                },
                Feed::Queue(queue) => loop {
                    let piece = match queue.next().await {
                        None => break Ok(()),
                        Some(Err(e)) => break Err(e),
                        Some(Ok(p)) => p,
                    };
                    let res = read_piece(&spec, piece, Some(needed.clone()), with_row, &tx).await;
                    if res.is_err() || tx.is_closed() {
                        break res;
                    }
                },
            };
            if let Err(e) = res {
                let _ = tx.send(Err(external(e))).await;
            }
        });
        let read = self.spec.rows_read.clone();
        let counted = futures::stream::poll_fn(move |cx| {
            let next = rx.poll_recv(cx);
            if let std::task::Poll::Ready(Some(Ok(b))) = &next {
                read.fetch_add(b.num_rows() as u64, std::sync::atomic::Ordering::Relaxed);
            }
            next
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), counted))
    }
}

#[async_trait]
impl TableProvider for FilesTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let n = self.schema.fields().len();
        let needed: Arc<[bool]> = match projection {
            Some(p) => (0..n).map(|i| p.contains(&i)).collect(),
            None => vec![true; n].into(),
        };
        let feed = match &self.feed {
            TableFeed::Slot(slot) => Feed::Slot(slot.clone()),
            TableFeed::Files(source) => Feed::Queue(Arc::new(PieceQueue {
                source: source.clone(),
                rx: tokio::sync::Mutex::new(None),
            })),
        };
        let partitions = (0..self.partitions)
            .map(|_| {
                Arc::new(FilesPartition {
                    spec: self.spec.clone(),
                    feed: feed.clone(),
                    with_row: self.with_row,
                    schema: self.schema.clone(),
                    needed: needed.clone(),
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        Ok(Arc::new(StreamingTableExec::try_new(
            self.schema.clone(),
            partitions,
            projection,
            Vec::new(),
            false,
            limit,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_path() {
        let keys = vec!["dt".to_string(), "city".to_string(), "x".to_string()];
        assert_eq!(
            path_values("t/dt=2024-01-01/city=paris/part-0.parquet", &keys),
            vec![Some("2024-01-01".into()), Some("paris".into()), None]
        );
    }
}
