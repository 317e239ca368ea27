//! Background merging of small segments.
//!
//! Many small INSERTs leave many small segments per bucket. Compaction reads the small segments
//! of one bucket, sorts their rows by the table key, writes one segment, and swaps them in one
//! catalog transaction (`replace_segments`), which fails harmlessly if a concurrent TRUNCATE,
//! DROP or OVERWRITE removed any of them. Readers keep their snapshot: replaced files are only
//! retired to the GC list and deleted after a grace period.

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata_catalog::{NewSegment, Segment, TableMeta};
use strata_common::StatusCode;
use strata_query::types::table_schema;
use strata_storage::{BucketSpec, SegmentWriter, WriterOptions};

use crate::{Frontend, FrontendError, Result, gc};

/// A bucket is compacted when it has at least this many segments...
const MIN_SEGMENTS: usize = 4;
/// ...of which only those smaller than this are merged.
const SMALL_ROWS: u64 = 1_000_000;
/// Seconds between background rounds.
const INTERVAL: Duration = Duration::from_secs(10);

/// Runs compaction and garbage collection rounds until the frontend is dropped.
pub(crate) fn spawn_background(fe: &Arc<Frontend>) {
    let weak = Arc::downgrade(fe);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(INTERVAL).await;
            let Some(fe) = weak.upgrade() else { return };
            if let Err(e) = compact_once(&fe).await {
                tracing::warn!(error = %e, "compaction round failed");
            }
            if let Err(e) = gc::collect_garbage(&fe.catalog, &fe.store, false).await {
                tracing::warn!(error = %e, "garbage collection failed");
            }
        }
    });
}

/// One compaction round over every table; returns the number of buckets merged.
pub async fn compact_once(fe: &Frontend) -> Result<usize> {
    let candidates = fe.catalog.small_segment_buckets(SMALL_ROWS, MIN_SEGMENTS)?;
    if candidates.is_empty() {
        return Ok(0);
    }
    let tables = fe.catalog.all_tables()?;
    let mut merged = 0;
    for (table_id, bucket) in candidates {
        let Some(table) = tables.iter().find(|t| t.id == table_id) else {
            continue;
        };
        let segs: Vec<Segment> = fe
            .catalog
            .segments(table_id)?
            .into_iter()
            .filter(|s| s.bucket == bucket && s.rows < SMALL_ROWS)
            .collect();
        if segs.len() >= MIN_SEGMENTS && merge_bucket(fe, table, bucket, &segs).await? {
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
