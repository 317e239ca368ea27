//! Writing a load's rows into bucketed, key-sorted Parquet segments.

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use tokio::task::JoinSet;

use crate::hash::{bucket_of, hash_columns};
use crate::{DataStore, Fault, StorageError};

/// How rows map to buckets.
#[derive(Debug, Clone)]
pub struct BucketSpec {
    /// Indices of the hash columns; empty means RANDOM distribution.
    pub hash_columns: Vec<usize>,
    /// Number of buckets.
    pub buckets: u32,
}

/// Tuning of the writer.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// A bucket's buffer is written out once it holds this many rows...
    pub flush_rows: usize,
    /// ...or this many bytes of Arrow memory.
    pub flush_bytes: usize,
    /// Rows per Parquet row group (the unit statistics prune).
    pub row_group_rows: usize,
    /// Segments encoded at the same time (bounds memory).
    pub max_in_flight: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            flush_rows: 2_000_000,
            flush_bytes: 24 << 20,
            row_group_rows: 64 * 1024,
            max_in_flight: 2,
        }
    }
}

/// A segment file written and synced, not yet visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenSegment {
    /// Bucket.
    pub bucket: u32,
    /// Path relative to the data root.
    pub path: String,
    /// Rows.
    pub rows: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Buffers rows per bucket and writes sorted segments in the background.
pub struct SegmentWriter {
    store: DataStore,
    dir: String,
    schema: SchemaRef,
    spec: BucketSpec,
    sort_columns: Vec<usize>,
    opts: WriterOptions,
    buffers: Vec<Vec<RecordBatch>>,
    buffered_rows: Vec<usize>,
    buffered_bytes: Vec<usize>,
    pending: JoinSet<Result<WrittenSegment, StorageError>>,
    written: Vec<WrittenSegment>,
    next_random: u32,
}

impl SegmentWriter {
    /// A writer for table directory `dir` (the table id) with rows of `schema`.
    pub fn new(
        store: DataStore,
        dir: impl Into<String>,
        schema: SchemaRef,
        spec: BucketSpec,
        sort_columns: Vec<usize>,
        opts: WriterOptions,
    ) -> Self {
        let n = spec.buckets.max(1) as usize;
        Self {
            store,
            dir: dir.into(),
            schema,
            spec,
            sort_columns,
            opts,
            buffers: vec![Vec::new(); n],
            buffered_rows: vec![0; n],
            buffered_bytes: vec![0; n],
            pending: JoinSet::new(),
            written: Vec::new(),
            next_random: 0,
        }
    }

    /// Adds a batch (already in the table schema).
    pub async fn write(&mut self, batch: RecordBatch) -> Result<(), StorageError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let n = self.spec.buckets.max(1);
        if self.spec.hash_columns.is_empty() || n == 1 {
            let b = if n == 1 {
                0
            } else {
                self.next_random = (self.next_random + 1) % n;
                self.next_random
            };
            return self.push(b as usize, batch).await;
        }
        let cols: Vec<_> = self
            .spec
            .hash_columns
            .iter()
            .map(|i| batch.column(*i).clone())
            .collect();
        let hashes = hash_columns(&cols, batch.num_rows())?;
        let mut per_bucket: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
        for (row, h) in hashes.iter().enumerate() {
            per_bucket[bucket_of(*h, n) as usize].push(row as u32);
        }
        for (b, idx) in per_bucket.into_iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            let part = if idx.len() == batch.num_rows() {
                batch.clone()
            } else {
                take_record_batch(&batch, &UInt32Array::from(idx))?
            };
            self.push(b, part).await?;
        }
        Ok(())
    }

    async fn push(&mut self, bucket: usize, batch: RecordBatch) -> Result<(), StorageError> {
        self.buffered_rows[bucket] += batch.num_rows();
        self.buffered_bytes[bucket] += batch.get_array_memory_size();
        self.buffers[bucket].push(batch);
        if self.buffered_rows[bucket] >= self.opts.flush_rows
            || self.buffered_bytes[bucket] >= self.opts.flush_bytes
        {
            self.flush(bucket).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, bucket: usize) -> Result<(), StorageError> {
        let batches = std::mem::take(&mut self.buffers[bucket]);
        self.buffered_rows[bucket] = 0;
        self.buffered_bytes[bucket] = 0;
        if batches.is_empty() {
            return Ok(());
        }
        while self.pending.len() >= self.opts.max_in_flight.max(1) {
            self.join_one().await?;
        }
        let path = format!("{}/{}.parquet", self.dir, uuid::Uuid::new_v4().simple());
        let job = EncodeJob {
            store: self.store.clone(),
            schema: self.schema.clone(),
            sort_columns: self.sort_columns.clone(),
            row_group_rows: self.opts.row_group_rows,
            bucket: bucket as u32,
            path,
            batches,
        };
        self.pending.spawn(job.run());
        Ok(())
    }

    async fn join_one(&mut self) -> Result<(), StorageError> {
        if let Some(res) = self.pending.join_next().await {
            let seg = res.map_err(|e| StorageError::Task(e.to_string()))??;
            self.written.push(seg);
        }
        Ok(())
    }

    /// Writes what is buffered and waits for every segment; returns them all.
    pub async fn finish(mut self) -> Result<Vec<WrittenSegment>, StorageError> {
        let res = self.finish_inner().await;
        match res {
            Ok(()) => Ok(std::mem::take(&mut self.written)),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn finish_inner(&mut self) -> Result<(), StorageError> {
        for b in 0..self.buffers.len() {
            self.flush(b).await?;
        }
        while !self.pending.is_empty() {
            self.join_one().await?;
        }
        Ok(())
    }

    /// Stops and deletes every segment this writer produced.
    pub async fn abort(mut self) {
        // Wait for in-flight writes so their files can be removed too.
        while let Some(res) = self.pending.join_next().await {
            if let Ok(Ok(seg)) = res {
                self.written.push(seg);
            }
        }
        let paths: Vec<String> = self.written.iter().map(|s| s.path.clone()).collect();
        if let Err(e) = self.store.delete(&paths).await {
            tracing::warn!(error = %e, "could not delete segments of an aborted load; start-up GC will");
        }
    }
}

struct EncodeJob {
    store: DataStore,
    schema: SchemaRef,
    sort_columns: Vec<usize>,
    row_group_rows: usize,
    bucket: u32,
    path: String,
    batches: Vec<RecordBatch>,
}

impl EncodeJob {
    async fn run(self) -> Result<WrittenSegment, StorageError> {
        let EncodeJob {
            store,
            schema,
            sort_columns,
            row_group_rows,
            bucket,
            path,
            batches,
        } = self;
        // Encoded straight into its file, which is fsynced before the catalog may reference
        // it. No staging name is needed: a segment is invisible until its load commits, and
        // start-up GC removes files no segment references.
        let full = store.root().join(&path);
        let p = path.clone();
        let (size, rows) = tokio::task::spawn_blocking(move || {
            let res = encode_to_file(&full, &schema, &batches, &sort_columns, row_group_rows, &p);
            if res.is_err() {
                // A half-written segment is nobody's: remove it now rather than at restart.
                let _ = std::fs::remove_file(&full);
            }
            res
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))??;
        if store.take_fault(Fault::SegmentWrite) {
            return Err(StorageError::Injected(format!("segment write of {path}")));
        }
        Ok(WrittenSegment {
            bucket,
            path,
            rows: rows as u64,
            bytes: size,
        })
    }
}

/// Bytes of dictionary per column chunk before the encoder falls back to plain encoding.
const DICTIONARY_LIMIT: usize = 64 * 1024;

/// Sorts `batches` by `sort_columns` and writes them as one Parquet file at `full`, made
/// durable (file and directory entry); returns its size and rows.
fn encode_to_file(
    full: &std::path::Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    sort_columns: &[usize],
    row_group_rows: usize,
    path: &str,
) -> Result<(u64, usize), StorageError> {
    let io = |e| StorageError::Io {
        path: full.display().to_string(),
        source: e,
    };
    let enc = |e| StorageError::Encode {
        path: path.to_string(),
        source: e,
    };
    let dir = full.parent().expect("segment paths have a directory");
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = std::fs::File::create(full).map_err(io)?;
    let props = WriterProperties::builder()
        // LZ4 (StarRocks' default codec too): encoding and decoding cost far less than zstd's.
        .set_compression(Compression::LZ4_RAW)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Page)
        // A column with few distinct values still gets a dictionary; one with many gives up
        // after 64 KB instead of hashing every value into a 1 MB dictionary first.
        .set_dictionary_page_size_limit(DICTIONARY_LIMIT)
        .build();
    let mut w = ArrowWriter::try_new(file, Arc::clone(schema), Some(props)).map_err(enc)?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if sort_columns.is_empty() || rows <= 1 {
        for b in batches {
            w.write(b).map_err(enc)?;
        }
    } else {
        w.write(&sorted(batches, sort_columns)?).map_err(enc)?;
    }
    let file = w.into_inner().map_err(enc)?;
    file.sync_all().map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok((file.metadata().map_err(io)?.len(), rows))
}

/// The rows of `batches` in key order.
fn sorted(batches: &[RecordBatch], sort_columns: &[usize]) -> Result<RecordBatch, StorageError> {
    let batch = concat_batches(&batches[0].schema(), batches)?;
    let cols: Vec<SortColumn> = sort_columns
        .iter()
        .map(|&i| SortColumn {
            values: batch.column(i).clone(),
            options: None,
        })
        .collect();
    let idx = lexsort_to_indices(&cols, None)?;
    Ok(take_record_batch(&batch, &idx)?)
}
