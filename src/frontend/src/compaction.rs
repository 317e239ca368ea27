//! Background merging of small segments.
//!
//! Many small INSERTs leave many small segments per bucket. Compaction reads the small segments
//! of one bucket, sorts their rows by the table key, writes one segment, and swaps them in one
//! catalog transaction (`replace_segments`), which fails harmlessly if a concurrent TRUNCATE,
//! DROP or OVERWRITE removed any of them. Readers keep their snapshot: replaced files are only
//! retired to the GC list and deleted after a grace period.

use std::time::Duration;

use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata_catalog::{NewSegment, Segment, TableMeta};
use strata_common::StatusCode;
use strata_query::types::table_schema;
use strata_storage::{BucketSpec, SegmentWriter, WriterOptions};

use crate::{Frontend, FrontendError, Result, gc};

/// Which segments are merged, and how many at once.
///
/// Only segments a load flushed early are merged: the tail of a load, a small INSERT, a small
/// file of a pipe. Segments a load wrote at the writer's flush size are left alone: merging them
/// would only rewrite the table (a 10M-row load writes 15 segments of 7 MB; merging those
/// rewrote the whole table after every such load, with up to 1 GB resident). Each merge is
/// bounded in rows and bytes, since its input is decoded and sorted in memory.
#[derive(Debug, Clone)]
pub struct CompactionPolicy {
    /// A segment is small when its file is under this many bytes.
    pub small_bytes: u64,
    /// A bucket is merged once it has at least this many small segments...
    pub min_segments: usize,
    /// ...taking, oldest first, those that fit under this many rows in all...
    pub merge_rows: u64,
    /// ...and this many bytes on disk in all.
    pub merge_bytes: u64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            small_bytes: 1 << 20,
            min_segments: 4,
            merge_rows: 2_000_000,
            merge_bytes: 16 << 20,
        }
    }
}

impl CompactionPolicy {
    /// The small segments of one bucket to merge in one go, oldest first; empty when fewer
    /// than `min_segments` fit. Every merge turns at least `min_segments` segments into one,
    /// so rounds end even when the merged segment is small again.
    fn pick(&self, segments: Vec<Segment>) -> Vec<Segment> {
        let (mut rows, mut bytes) = (0, 0);
        let mut picked = Vec::new();
        for s in segments {
            let fits = rows + s.rows <= self.merge_rows && bytes + s.bytes <= self.merge_bytes;
            if s.bytes < self.small_bytes && fits {
                rows += s.rows;
                bytes += s.bytes;
                picked.push(s);
            }
        }
        if picked.len() < self.min_segments {
            picked.clear();
        }
        picked
    }
}

/// Time between background rounds: 10 s, or `STRATA_COMPACTION_INTERVAL_MS` (tests that want
/// compaction among other work, e.g. the crash tests' random mix).
fn interval() -> Duration {
    std::env::var("STRATA_COMPACTION_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(Duration::from_secs(10), Duration::from_millis)
}

/// Runs compaction and garbage collection rounds until shutdown (or the frontend is
/// dropped); owned by the frontend's [`crate::background::Background`].
pub(crate) async fn run(
    weak: std::sync::Weak<Frontend>,
    stop: tokio_util::sync::CancellationToken,
) {
    let policy = CompactionPolicy::default();
    let every = interval();
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => return,
        }
        let Some(fe) = weak.upgrade() else { return };
        let round = async {
            if let Err(e) = compact_once(&fe, &policy).await {
                tracing::warn!(error = %e, "compaction round failed");
            }
            if let Err(e) = gc::collect_garbage(&fe.catalog, &fe.store, false).await {
                tracing::warn!(error = %e, "garbage collection failed");
            }
        };
        // A round stops between its steps at shutdown: a merge not swapped in leaves only
        // unreferenced files, which start-up removes.
        tokio::select! {
            () = round => {}
            () = stop.cancelled() => return,
        }
    }
}

/// One compaction round over every table; returns the number of buckets merged.
pub async fn compact_once(fe: &Frontend, policy: &CompactionPolicy) -> Result<usize> {
    let candidates = fe
        .catalog
        .small_segment_buckets(policy.small_bytes, policy.min_segments)?;
    if candidates.is_empty() {
        return Ok(0);
    }
    let tables = fe.catalog.all_tables()?;
    let mut merged = 0;
    for (table_id, bucket) in candidates {
        let Some(table) = tables.iter().find(|t| t.id == table_id) else {
            continue;
        };
        let segs = policy.pick(
            fe.catalog
                .segments(table_id)?
                .into_iter()
                .filter(|s| s.bucket == bucket)
                .collect(),
        );
        if !segs.is_empty() && merge_bucket(fe, table, bucket, &segs).await? {
            merged += 1;
        }
    }
    Ok(merged)
}

async fn merge_bucket(
    fe: &Frontend,
    table: &TableMeta,
    bucket: u32,
    segs: &[Segment],
) -> Result<bool> {
    let schema = table_schema(&table.def);
    let store = fe.store.object_store();
    let mut batches = Vec::new();
    for s in segs {
        let bytes = store
            .get(&ObjectPath::from(s.path.as_str()))
            .await
            .map_err(|e| {
                FrontendError::new(
                    StatusCode::Internal,
                    format!("compaction read {}: {e}", s.path),
                )
            })?
            .bytes()
            .await
            .map_err(|e| {
                FrontendError::new(
                    StatusCode::Internal,
                    format!("compaction read {}: {e}", s.path),
                )
            })?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .map_err(|e| {
                FrontendError::new(
                    StatusCode::Internal,
                    format!("compaction decode {}: {e}", s.path),
                )
            })?;
        for b in reader {
            let b = b.map_err(|e| FrontendError::new(StatusCode::Internal, e.to_string()))?;
            // Segments carry the table schema; re-wrap in case of metadata differences.
            batches.push(
                arrow::array::RecordBatch::try_new(schema.clone(), b.columns().to_vec())
                    .map_err(|e| FrontendError::new(StatusCode::Internal, e.to_string()))?,
            );
        }
    }
    // One bucket in, one bucket out: no re-hashing, the bucket number is kept.
    let mut writer = SegmentWriter::new(
        fe.store.clone(),
        table.id.to_string(),
        schema,
        BucketSpec {
            hash_columns: Vec::new(),
            buckets: 1,
        },
        table.def.key_indices(),
        WriterOptions {
            flush_rows: usize::MAX,
            flush_bytes: usize::MAX,
            ..WriterOptions::default()
        },
    );
    for b in batches {
        writer.write(b).await?;
    }
    let written = writer.finish().await?;
    let new: Vec<NewSegment> = written
        .into_iter()
        .map(|w| crate::load::new_segment(bucket, w))
        .collect();
    let old: Vec<i64> = segs.iter().map(|s| s.id).collect();
    if fe.catalog.replace_segments(table.id, &old, &new)? {
        tracing::debug!(table = %table.name, bucket, merged = segs.len(), "compacted");
        Ok(true)
    } else {
        let paths: Vec<String> = new.into_iter().map(|s| s.path).collect();
        fe.store.delete(&paths).await?;
        Ok(false)
    }
}
