//! Writing a load's rows into bucketed, key-sorted Parquet segments.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use arrow::array::AsArray;
use arrow::array::{DynComparator, RecordBatch, UInt32Array, make_comparator};
use arrow::compute::{
    SortColumn, SortOptions, cast, concat_batches, lexsort_to_indices, take_record_batch,
};
use arrow::datatypes::{DataType, Int32Type, Int64Type, SchemaRef};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::hash::{BucketOf, hash_columns};
use crate::segment;
use strata_common::fault;

use crate::{DataStore, StorageError};

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
    sort_columns: Vec<usize>,
    opts: WriterOptions,
    buffers: Vec<Vec<RecordBatch>>,
    buffered_rows: Vec<usize>,
    buffered_bytes: Vec<usize>,
    /// One permit per segment being encoded: bounds the rows held by encoders. A segment's
    /// fsync runs after its permit is returned, so a slow disk never idles the cores.
    encode_slots: Arc<Semaphore>,
    pending: JoinSet<Result<WrittenSegment, StorageError>>,
    written: Vec<WrittenSegment>,
    bucketer: Bucketer,
    /// Set once the load's input has ended: segment jobs then encode columns on two threads.
    input_done: Arc<AtomicBool>,
}

/// A batch's rows by bucket: `(bucket, rows)`, no bucket twice, no empty batch.
pub type Bucketed = Vec<(u32, RecordBatch)>;

/// Splits batches into buckets: by the hash of the distribution columns, or round-robin
/// for RANDOM distribution.
#[derive(Debug, Clone)]
pub struct Bucketer {
    spec: BucketSpec,
    next_random: Arc<AtomicU32>,
}

impl Bucketer {
    /// The rows of `batch` by bucket.
    pub fn split(&self, batch: RecordBatch) -> Result<Bucketed, StorageError> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        let n = self.spec.buckets.max(1);
        if self.spec.hash_columns.is_empty() || n == 1 {
            let b = if n == 1 {
                0
            } else {
                self.next_random.fetch_add(1, Ordering::Relaxed) % n
            };
            return Ok(vec![(b, batch)]);
        }
        let cols: Vec<_> = self
            .spec
            .hash_columns
            .iter()
            .map(|i| batch.column(*i).clone())
            .collect();
        let of = BucketOf::new(n);
        let buckets: Vec<u32> = hash_columns(&cols, batch.num_rows())?
            .into_iter()
            .map(|h| of.of(h))
            .collect();
        let mut sizes = vec![0usize; n as usize];
        for &b in &buckets {
            sizes[b as usize] += 1;
        }
        let mut per_bucket: Vec<Vec<u32>> = sizes.iter().map(|&s| Vec::with_capacity(s)).collect();
        for (row, &b) in buckets.iter().enumerate() {
            per_bucket[b as usize].push(row as u32);
        }
        let mut parts = Vec::new();
        for (b, idx) in per_bucket.into_iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            let part = if idx.len() == batch.num_rows() {
                batch.clone()
            } else {
                take_record_batch(&batch, &UInt32Array::from(idx))?
            };
            parts.push((b as u32, part));
        }
        Ok(parts)
    }
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
        let encode_slots = Arc::new(Semaphore::new(opts.max_in_flight.max(1)));
        Self {
            store,
            dir: dir.into(),
            schema,
            sort_columns,
            opts,
            buffers: vec![Vec::new(); n],
            buffered_rows: vec![0; n],
            buffered_bytes: vec![0; n],
            encode_slots,
            pending: JoinSet::new(),
            written: Vec::new(),
            bucketer: Bucketer {
                spec,
                next_random: Arc::new(AtomicU32::new(1)),
            },
            input_done: Arc::new(AtomicBool::new(false)),
        }
    }

    /// What splits batches into this writer's buckets; clones can run on other tasks, so
    /// that hashing and splitting use every core the load's workers use.
    pub fn bucketer(&self) -> Bucketer {
        self.bucketer.clone()
    }

    /// Adds a batch (already in the table schema).
    pub async fn write(&mut self, batch: RecordBatch) -> Result<(), StorageError> {
        let parts = self.bucketer.split(batch)?;
        self.write_bucketed(parts).await
    }

    /// Adds the parts of a batch that [`Bucketer::split`] made.
    pub async fn write_bucketed(&mut self, parts: Bucketed) -> Result<(), StorageError> {
        for (bucket, batch) in parts {
            self.push(bucket as usize, batch).await?;
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
        let slot = Arc::clone(&self.encode_slots)
            .acquire_owned()
            .await
            .expect("the writer never closes its semaphore");
        // Segments already done are collected here, so that a failed one stops the load now.
        while let Some(res) = self.pending.try_join_next() {
            self.written.push(joined(res)?);
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
            spread: self.input_done.clone(),
        };
        self.pending.spawn(job.run(slot));
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
        // No rows come after these: the readers' cores are free for the last segments.
        self.input_done.store(true, Ordering::Relaxed);
        for b in 0..self.buffers.len() {
            self.flush(b).await?;
        }
        while let Some(res) = self.pending.join_next().await {
            self.written.push(joined(res)?);
        }
        if self.written.is_empty() {
            return Ok(());
        }
        // Each segment file was fsynced by its job; their directory entries are made durable
        // here, once for all of them.
        let dir = self.store.root().join(&self.dir);
        self.store.hit(fault::SEGMENT_DIR_FSYNC)?;
        blocking(move || {
            let synced = std::fs::File::open(&dir).and_then(|d| d.sync_all());
            synced.map_err(|e| io_error(&dir, e))
        })
        .await
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
    spread: Arc<AtomicBool>,
}

impl EncodeJob {
    async fn run(self, slot: OwnedSemaphorePermit) -> Result<WrittenSegment, StorageError> {
        let EncodeJob {
            store,
            schema,
            sort_columns,
            row_group_rows,
            bucket,
            path,
            batches,
            spread,
        } = self;
        // Encoded straight into its file, which is fsynced before the catalog may reference
        // it. No staging name is needed: a segment is invisible until its load commits, and
        // start-up GC removes files no segment references.
        let full = store.root().join(&path);
        let encoded = {
            let (full, path) = (full.clone(), path.clone());
            blocking(move || {
                encode_to_file(
                    &full,
                    &schema,
                    &batches,
                    &sort_columns,
                    row_group_rows,
                    &path,
                    &spread,
                )
            })
            .await
        };
        // The rows are encoded: another segment may start while this one reaches the disk.
        drop(slot);
        let synced = match encoded {
            Ok((file, size, rows)) => match store
                .hit(fault::SEGMENT_WRITE)
                .and_then(|()| store.hit(fault::SEGMENT_FSYNC))
            {
                Err(e) => Err(e),
                Ok(()) => {
                    let full = full.clone();
                    blocking(move || file.sync_all().map_err(|e| io_error(&full, e)))
                        .await
                        .map(|()| (size, rows))
                }
            },
            Err(e) => Err(e),
        };
        let (size, rows) = match synced {
            Ok(done) => done,
            Err(e) => {
                // A half-written segment is nobody's: remove it now rather than at restart.
                let _ = std::fs::remove_file(&full);
                return Err(e);
            }
        };
        Ok(WrittenSegment {
            bucket,
            path,
            rows: rows as u64,
            bytes: size,
        })
    }
}

/// Runs file work on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
}

/// A segment job's result; a job that panicked or was cancelled is an error too.
fn joined(
    res: Result<Result<WrittenSegment, StorageError>, tokio::task::JoinError>,
) -> Result<WrittenSegment, StorageError> {
    res.map_err(|e| StorageError::Task(e.to_string()))?
}

fn io_error(path: &std::path::Path, source: std::io::Error) -> StorageError {
    StorageError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Sorts `batches` by `sort_columns` and writes them as one Parquet file at `full`; returns
/// the file, not yet synced, with its size and rows.
fn encode_to_file(
    full: &std::path::Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    sort_columns: &[usize],
    row_group_rows: usize,
    path: &str,
    spread: &AtomicBool,
) -> Result<(std::fs::File, u64, usize), StorageError> {
    let io = |e| io_error(full, e);
    let enc = |e| StorageError::Encode {
        path: path.to_string(),
        source: e,
    };
    let dir = full.parent().expect("segment paths have a directory");
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = std::fs::File::create(full).map_err(io)?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    // Rows often arrive in key order already (files sorted by the key, as exports and
    // earlier loads are), in batches that the load's workers interleave: then putting the
    // batches in order of their first key is enough, and the sort and its copy are skipped.
    let sorted_batch;
    let ordered: Vec<&RecordBatch> = if sort_columns.is_empty() || rows <= 1 {
        batches.iter().collect()
    } else if let Some(order) = batch_order(batches, sort_columns)? {
        order.into_iter().map(|i| &batches[i]).collect()
    } else {
        sorted_batch = sorted(schema, batches, sort_columns)?;
        vec![&sorted_batch]
    };
    // Column chunks (mostly larger than the buffer) go straight to the file; the buffer
    // gathers the many small writes of page headers' and indexes' Thrift.
    let out = std::io::BufWriter::with_capacity(64 << 10, file);
    let out = segment::write_segment(out, schema, &ordered, row_group_rows, spread).map_err(enc)?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    let size = file.metadata().map_err(io)?.len();
    Ok((file, size, rows))
}

/// Whether the rows of `batches`, in turn, are already in key order (the order `sorted`
/// gives: ascending, NULLs first). Batches whose keys cannot be compared (strings as views in
/// some, not in others) are taken as out of order.
fn in_key_order(batches: &[RecordBatch], sort_columns: &[usize]) -> Result<bool, StorageError> {
    let comparators = |a: &RecordBatch, b: &RecordBatch| {
        sort_columns
            .iter()
            .map(|&c| make_comparator(a.column(c), b.column(c), SortOptions::default()))
            .collect::<Result<Vec<DynComparator>, _>>()
    };
    let ordered = |cmps: &[DynComparator], i: usize, j: usize| {
        cmps.iter()
            .map(|c| c(i, j))
            .find(|o| o.is_ne())
            .is_none_or(|o| o.is_lt())
    };
    for (n, b) in batches.iter().enumerate() {
        if b.num_rows() == 0 {
            continue;
        }
        match sorted_by_integer_key(b, sort_columns) {
            Some(true) => {}
            Some(false) => return Ok(false),
            None => {
                let Ok(within) = comparators(b, b) else {
                    return Ok(false);
                };
                if !(1..b.num_rows()).all(|r| ordered(&within, r - 1, r)) {
                    return Ok(false);
                }
            }
        }
        if let Some(prev) = batches[..n].iter().rev().find(|p| p.num_rows() > 0) {
            let Ok(across) = comparators(prev, b) else {
                return Ok(false);
            };
            if !ordered(&across, prev.num_rows() - 1, 0) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether `b` is in key order, told from the values alone when the key is one integer
/// column without NULLs (a comparison per row through `make_comparator`'s boxed closure cost
/// a percent of a load); `None` when the key is of another kind.
fn sorted_by_integer_key(b: &RecordBatch, sort_columns: &[usize]) -> Option<bool> {
    fn ascending<T: Copy + PartialOrd>(v: &[T]) -> bool {
        // Without an early exit, so that the compiler vectorises it.
        v.windows(2).fold(true, |ok, w| ok & (w[0] <= w[1]))
    }
    let [c] = sort_columns else { return None };
    let col = b.column(*c);
    if col.null_count() > 0 {
        return None;
    }
    match col.data_type() {
        DataType::Int32 => Some(ascending(col.as_primitive::<Int32Type>().values())),
        DataType::Int64 => Some(ascending(col.as_primitive::<Int64Type>().values())),
        _ => None,
    }
}

/// The order of `batches` that puts all their rows in key order, if there is one (each batch
/// already sorted, their key ranges not interleaved).
fn batch_order(
    batches: &[RecordBatch],
    sort_columns: &[usize],
) -> Result<Option<Vec<usize>>, StorageError> {
    let batches: Vec<(usize, &RecordBatch)> = batches
        .iter()
        .enumerate()
        .filter(|(_, b)| b.num_rows() > 0)
        .collect();
    let mut order: Vec<usize> = (0..batches.len()).collect();
    if batches.len() > 1 {
        let firsts = sort_columns
            .iter()
            .map(|&c| {
                // Heads in one type (a string key may be a view in some batches).
                let ty = batches[0].1.schema().field(c).data_type().clone();
                let heads: Vec<_> = batches
                    .iter()
                    .map(|(_, b)| cast(&b.column(c).slice(0, 1), &ty))
                    .collect::<Result<_, _>>()?;
                let heads: Vec<&dyn arrow::array::Array> =
                    heads.iter().map(|a| a.as_ref()).collect();
                Ok(SortColumn {
                    values: arrow::compute::concat(&heads)?,
                    options: None,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let idx = lexsort_to_indices(&firsts, None)?;
        order = idx.values().iter().map(|&i| i as usize).collect();
    }
    let ordered: Vec<RecordBatch> = order.iter().map(|&i| batches[i].1.clone()).collect();
    Ok(
        in_key_order(&ordered, sort_columns)?
            .then(|| order.iter().map(|&i| batches[i].0).collect()),
    )
}

/// The rows of `batches` in key order, in the types of `schema`.
fn sorted(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    sort_columns: &[usize],
) -> Result<RecordBatch, StorageError> {
    let batches = batches
        .iter()
        .map(|b| {
            let cols = b
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RecordBatch::try_new(schema.clone(), cols)?)
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    let batch = concat_batches(schema, &batches)?;
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

#[cfg(test)]
mod tests {
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::hash::bucket_of;

    fn batch(k: &[Option<i32>], v: &[&str]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int32, true),
            Field::new("v", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(k.to_vec())),
                Arc::new(StringArray::from(v.to_vec())),
            ],
        )
        .unwrap()
    }

    #[test]
    fn key_order_is_checked_within_and_across_batches() {
        let a = batch(&[None, Some(1), Some(1)], &["a", "b", "c"]);
        let b = batch(&[Some(1), Some(5)], &["c", "a"]);
        let empty = batch(&[], &[]);
        assert!(in_key_order(&[a.clone(), empty.clone(), b.clone()], &[0]).unwrap());
        assert!(in_key_order(&[a.clone(), b.clone()], &[0, 1]).unwrap());
        // Out of order only across the boundary of two batches, or only on the second key.
        assert!(!in_key_order(&[b.clone(), empty, a.clone()], &[0]).unwrap());
        let c = batch(&[Some(1), Some(1)], &["b", "a"]);
        assert!(in_key_order(std::slice::from_ref(&c), &[0]).unwrap());
        assert!(!in_key_order(&[c], &[0, 1]).unwrap());
        // One integer key without NULLs is checked on its values.
        let sorted = batch(&[Some(1), Some(1), Some(2)], &["c", "b", "a"]);
        assert!(in_key_order(std::slice::from_ref(&sorted), &[0]).unwrap());
        let unsorted = batch(&[Some(1), Some(3), Some(2)], &["a", "b", "c"]);
        assert!(!in_key_order(std::slice::from_ref(&unsorted), &[0]).unwrap());
        assert_eq!(sorted_by_integer_key(&unsorted, &[0]), Some(false));
        assert_eq!(sorted_by_integer_key(&unsorted, &[0, 1]), None);
        // NULLs sort first, as in `sorted`.
        assert!(!in_key_order(&[batch(&[Some(1), None], &["a", "b"])], &[0]).unwrap());
    }

    #[test]
    fn interleaved_sorted_batches_are_put_in_order() {
        let a = batch(&[Some(1), Some(2)], &["a", "b"]);
        let b = batch(&[Some(3), Some(4)], &["a", "b"]);
        let c = batch(&[Some(5)], &["a"]);
        let empty = batch(&[], &[]);
        let order = batch_order(&[c.clone(), empty, a.clone(), b.clone()], &[0]).unwrap();
        assert_eq!(order, Some(vec![2, 3, 0]));
        // Overlapping ranges need the full sort.
        let d = batch(&[Some(0), Some(3)], &["a", "b"]);
        assert_eq!(batch_order(&[a, d, b], &[0]).unwrap(), None);
    }

    #[test]
    fn split_puts_each_row_in_its_bucket_once() {
        let keys: Vec<Option<i32>> = (0..100).map(|i| (i % 7 != 0).then_some(i)).collect();
        let names: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let b = batch(&keys, &names);
        let bucketer = Bucketer {
            spec: BucketSpec {
                hash_columns: vec![0],
                buckets: 4,
            },
            next_random: Arc::new(AtomicU32::new(1)),
        };
        let parts = bucketer.split(b.clone()).unwrap();
        let mut seen = Vec::new();
        for (bucket, part) in &parts {
            let hashes =
                hash_columns(std::slice::from_ref(part.column(0)), part.num_rows()).unwrap();
            assert!(hashes.iter().all(|h| bucket_of(*h, 4) == *bucket));
            let v = part
                .column(1)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            seen.extend(v.iter().map(|s| s.unwrap().to_string()));
        }
        assert_eq!(
            parts.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        seen.sort();
        let mut all: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        all.sort();
        assert_eq!(seen, all);
    }

    #[test]
    fn sorted_agrees_with_in_key_order() {
        let batches = [
            batch(&[Some(3), None, Some(1)], &["x", "y", "z"]),
            batch(&[Some(1), Some(2)], &["a", "b"]),
        ];
        let s = sorted(&batches[0].schema(), &batches, &[0, 1]).unwrap();
        assert!(in_key_order(std::slice::from_ref(&s), &[0, 1]).unwrap());
        assert_eq!(s.num_rows(), 5);
    }
}
