//! ORC (orc-rust, stripe by stripe over ranged GETs) and newline-delimited JSON (arrow-json over
//! the streaming, suffix-decompressed reader CSV uses) in FILES().

use std::io::BufReader;
use std::sync::Arc;

use arrow::array::RecordBatch;
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
use crate::files::props::Codec;
use crate::files::read::{Decorate, Piece, conform};
use crate::files::store::ResolvedStore;
use crate::types::sr_type;

/// The metadata of an ORC file (its tail: postscript, footer, stripe list).
pub(crate) async fn orc_metadata(
    store: &ResolvedStore,
    file: &ObjectMeta,
    display: &str,
) -> Result<orc_rust::reader::metadata::FileMetadata, FilesError> {
    let mut reader = ObjectChunkReader::new(store.store.clone(), file);
    orc_rust::reader::metadata::read_metadata_async(&mut reader)
        .await
        .map_err(|e| {
            FilesError::InvalidFile(format!("File {display} is not a valid ORC file: {e}"))
        })
}

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
    store: &ResolvedStore,
    meta: &ObjectMeta,
    display: String,
    sample_rows: usize,
    codec: Option<Codec>,
) -> Result<Vec<(String, SrType)>, FilesError> {
    let input = open(store, meta, &display, codec).await?;
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

/// Streams one ORC file's batches into `tx`.
pub(crate) async fn read_orc(
    store: Arc<dyn ObjectStore>,
    piece: Piece,
    schema: SchemaRef,
    needed: Option<Vec<bool>>,
    fill_null: bool,
    mut deco: Decorate,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let display = piece.display;
    let mut b = ArrowReaderBuilder::try_new_async(ObjectChunkReader::new(store, &piece.file))
        .await
        .map_err(|e| {
            FilesError::InvalidFile(format!("File {display} is not a valid ORC file: {e}"))
        })?;
    if let Some(r) = piece.stripes {
        b = b.with_file_byte_range(r.start as usize..r.end as usize);
    }
    // Decode only the columns the query uses, found by case-insensitive name.
    let root = b.file_metadata().root_data_type();
    let mut wanted: Vec<String> = root
        .children()
        .iter()
        .map(|c| c.name().to_string())
        .filter(|n| {
            schema.fields().iter().enumerate().any(|(i, f)| {
                f.name().eq_ignore_ascii_case(n) && needed.as_ref().is_none_or(|x| x[i])
            })
        })
        .collect();
    if wanted.is_empty() {
        // No column used (`count(*)`): one column still gives the row counts.
        wanted.extend(root.children().first().map(|c| c.name().to_string()));
    }
    let mask = orc_rust::projection::ProjectionMask::named_roots(root, &wanted);
    let mut stream = b.with_projection(mask).with_batch_size(8192).build_async();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| {
            FilesError::InvalidFile(format!("File {display}: corrupt ORC data: {e}"))
        })?;
        let batch = conform(&batch, &schema, needed.as_deref(), &display, fill_null)?;
        let batch = deco.apply(batch)?;
        if tx.send(Ok(batch)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads one JSON-lines file (blocking; run on a blocking thread).
pub(crate) fn read_json(
    input: Box<dyn std::io::Read + Send>,
    display: &str,
    schema: &SchemaRef,
    mut deco: Decorate,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let reader = BufReader::new(input);
    let rdr = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(8192)
        .build(reader)
        .map_err(|e| FilesError::InvalidFile(format!("File {display}: {e}")))?;
    for batch in rdr {
        let batch =
            batch.map_err(|e| FilesError::InvalidFile(format!("File {display}: bad JSON: {e}")))?;
        let batch = deco.apply(batch)?;
        if tx.blocking_send(Ok(batch)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}
