//! ORC (orc-rust, stripe by stripe over ranged GETs) and newline-delimited JSON (arrow-json over
//! the streaming, suffix-decompressed reader CSV uses) in FILES().

use std::io::BufReader;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use orc_rust::ArrowReaderBuilder;
use orc_rust::reader::AsyncChunkReader;
use strata_common::types::{SrType, VARCHAR_MAX};
use tokio_util::io::SyncIoBridge;

use crate::files::FilesError;
use crate::files::csv::open;
use crate::types::sr_type;

/// Ranged reads of one object, as orc-rust asks for them.
pub struct ObjectChunkReader {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    size: u64,
}

impl ObjectChunkReader {
    /// A reader over `meta`.
    pub fn new(store: Arc<dyn ObjectStore>, meta: &ObjectMeta) -> Self {
        Self {
            store,
            path: meta.location.clone(),
            size: meta.size,
        }
    }
}

impl AsyncChunkReader for ObjectChunkReader {
    fn len(&mut self) -> BoxFuture<'_, std::io::Result<u64>> {
        let n = self.size;
        async move { Ok(n) }.boxed()
    }

    fn get_bytes(&mut self, offset: u64, length: u64) -> BoxFuture<'_, std::io::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, offset..offset + length)
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
        }
        .boxed()
    }
}

/// ORC types map one to one (TINYINT and SMALLINT are kept, unlike Parquet's INT32).
fn orc_type(dt: &arrow::datatypes::DataType) -> SrType {
    sr_type(dt).unwrap_or(SrType::Varchar(VARCHAR_MAX))
}

/// Columns of one ORC file.
pub async fn infer_orc(
    store: &Arc<dyn ObjectStore>,
    meta: &ObjectMeta,
    display: &str,
) -> Result<Vec<(String, SrType)>, FilesError> {
    if meta.size == 0 {
        return Err(FilesError::InvalidFile(format!(
            "File {display} is empty (0 bytes), not an ORC file"
        )));
    }
    let b = ArrowReaderBuilder::try_new_async(ObjectChunkReader::new(store.clone(), meta))
        .await
        .map_err(|e| {
            FilesError::InvalidFile(format!(
                "File {display} is not a valid ORC file ({} bytes): {e}",
                meta.size
            ))
        })?;
    Ok(b.schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), orc_type(f.data_type())))
        .collect())
}

/// Columns of one JSON-lines file, from its first `sample_rows` records.
pub async fn infer_json(
    store: &Arc<dyn ObjectStore>,
    meta: &ObjectMeta,
    display: String,
    sample_rows: usize,
) -> Result<Vec<(String, SrType)>, FilesError> {
    let input = open(store, meta, &display).await?;
    tokio::task::spawn_blocking(move || {
        let reader = BufReader::new(SyncIoBridge::new(input));
        let (schema, _) = arrow::json::reader::infer_json_schema(reader, Some(sample_rows))
            .map_err(|e| {
                FilesError::InvalidFile(format!(
                    "File {display} is not newline-delimited JSON: {e}"
                ))
            })?;
        Ok(schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), orc_type(f.data_type())))
            .collect())
    })
    .await
    .map_err(|e| FilesError::InvalidFile(format!("JSON inference failed: {e}")))?
}

/// Casts a batch read from a file to the table schema, by column name (missing → NULL).
pub fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
    display: &str,
    fill_null: bool,
) -> Result<RecordBatch, FilesError> {
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    let mut cols = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let idx = batch
            .schema()
            .fields()
            .iter()
            .position(|bf| bf.name().eq_ignore_ascii_case(f.name()));
        let col = match idx {
            Some(i) => cast_with_options(batch.column(i), f.data_type(), &opts).map_err(|e| {
                FilesError::InvalidFile(format!("{display}: column {}: {e}", f.name()))
            })?,
            None if fill_null => arrow::array::new_null_array(f.data_type(), batch.num_rows()),
            None => {
                return Err(FilesError::InvalidFile(format!(
                    "Column: {} is not found in file: {display}. Consider setting 'fill_mismatch_column_with' = 'null' property",
                    f.name()
                )));
            }
        };
        cols.push(col);
    }
    RecordBatch::try_new(schema.clone(), cols).map_err(|e| FilesError::InvalidFile(e.to_string()))
}

/// Streams one ORC file's batches into `tx`.
pub async fn read_orc(
    store: Arc<dyn ObjectStore>,
    meta: ObjectMeta,
    display: String,
    schema: SchemaRef,
    fill_null: bool,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let b = ArrowReaderBuilder::try_new_async(ObjectChunkReader::new(store, &meta))
        .await
        .map_err(|e| {
            FilesError::InvalidFile(format!("File {display} is not a valid ORC file: {e}"))
        })?;
    let mut stream = b.with_batch_size(8192).build_async();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| {
            FilesError::InvalidFile(format!("File {display}: corrupt ORC data: {e}"))
        })?;
        let batch = conform(&batch, &schema, &display, fill_null)?;
        if tx.send(Ok(batch)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads one JSON-lines file (blocking; run on a blocking thread).
pub fn read_json(
    input: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    display: &str,
    schema: &SchemaRef,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let reader = BufReader::new(SyncIoBridge::new(input));
    let rdr = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(8192)
        .build(reader)
        .map_err(|e| FilesError::InvalidFile(format!("File {display}: {e}")))?;
    for batch in rdr {
        let batch =
            batch.map_err(|e| FilesError::InvalidFile(format!("File {display}: bad JSON: {e}")))?;
        if tx.blocking_send(Ok(batch)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}
