//! Reading and converting a load's source: one task for a stream, several workers over the
//! pieces of a FILES() call, each converting (and bucketing) what it reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::UInt64Type;
use futures::StreamExt;
use strata_catalog::LoadError;
use strata_common::StatusCode;
use strata_query::LiveLoad;
use strata_query::files::ReadFailure;
use strata_storage::{Bucketed, Bucketer};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::convert::{self, Converted, RowNumbers};
use super::source::FilesLoad;
use super::{Converter, LoadSource};
use crate::{FrontendError, Result};

/// How many pieces a load reads and converts at once.
fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4)
}

/// A converted batch, split into the target's buckets when it is to be written.
pub(super) struct Ready {
    /// Rows that fit.
    pub rows: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// The first rejections.
    pub errors: Vec<LoadError>,
    /// The rows that fit, by bucket (empty in a dry run).
    pub buckets: Bucketed,
}

pub(super) type ReadyRx = mpsc::Receiver<Result<Ready>>;

/// Reads and converts `source`: one task for a stream, [`workers`] tasks for file pieces.
/// With a live load (its counters and the writer's bucketer), the tasks also split each
/// batch into buckets. Batches, or the first error, arrive on the channel in no particular
/// order (row numbers travel with the rows). Dropping the returned set stops the tasks.
pub(super) fn convert_source(
    source: LoadSource,
    converter: &Arc<Converter>,
    live: Option<(Arc<LiveLoad>, Bucketer)>,
    budget: usize,
) -> (ReadyRx, JoinSet<()>) {
    let (live, bucketer) = live.unzip();
    let (tx, rx) = mpsc::channel::<Result<Ready>>(4);
    let mut tasks = JoinSet::new();
    let kept = Arc::new(AtomicUsize::new(0));
    let step = Step {
        converter: converter.clone(),
        live,
        bucketer,
        kept,
        budget,
    };
    match source {
        LoadSource::Stream(mut stream) => {
            tasks.spawn(async move {
                let mut row = 1u64;
                while let Some(batch) = stream.next().await {
                    let res = batch.map_err(FrontendError::from).and_then(|b| {
                        let out = step.convert(&b, RowNumbers::From(row), "", &[]);
                        row += b.num_rows() as u64;
                        out
                    });
                    if !forward(&tx, res).await {
                        return;
                    }
                }
            });
        }
        LoadSource::Files(load) => {
            let load: Arc<FilesLoad> = Arc::from(load);
            let pieces = Arc::new(tokio::sync::Mutex::new(load.files.pieces()));
            // From object storage a worker spends much of its time waiting for its piece's
            // bytes: twice as many keep the cores busy meanwhile.
            let n = if load.files.is_remote() {
                2 * workers()
            } else {
                workers()
            };
            for _ in 0..n {
                let (load, pieces, tx, step) =
                    (load.clone(), pieces.clone(), tx.clone(), step.clone());
                tasks.spawn(async move {
                    let reader = match load.worker().await {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    };
                    loop {
                        let piece = pieces.lock().await.recv().await;
                        let piece = match piece {
                            None => return,
                            Some(Ok(p)) => p,
                            Some(Err(e)) => {
                                let _ = tx.send(Err(e.into())).await;
                                return;
                            }
                        };
                        let file: Arc<str> = piece.display.as_str().into();
                        let failures = piece.failures.clone();
                        let stream = match reader.read(piece) {
                            Ok(s) => s,
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                        };
                        // Two batches convert at once, so even a load of one big file
                        // (one piece) converts on both cores while the file is read; their
                        // results go on in file order, so the first rejected row a strict
                        // load stops at is the piece's first.
                        // The reader records a batch's bad values before it hands the
                        // batch on, so those of its rows are known when it arrives here.
                        let mut converted = stream
                            .map(|batch| {
                                let (step, file) = (step.clone(), file.clone());
                                let fails = match &batch {
                                    Ok(b) => last_row(b)
                                        .map(|r| failures.take_through(r))
                                        .unwrap_or_default(),
                                    Err(_) => Vec::new(),
                                };
                                tokio::spawn(async move {
                                    batch
                                        .map_err(FrontendError::from)
                                        .and_then(|b| step.convert_numbered(&b, &file, fails))
                                })
                            })
                            .buffered(2);
                        while let Some(res) = converted.next().await {
                            let res = res.unwrap_or_else(|e| {
                                Err(FrontendError::new(StatusCode::Internal, e.to_string()))
                            });
                            if !forward(&tx, res).await {
                                return;
                            }
                        }
                        // Bad values of rows after the last one the query kept.
                        let rest = failures.take_all();
                        if !rest.is_empty() && !forward(&tx, Ok(step.unread(&rest, &file))).await {
                            return;
                        }
                    }
                });
            }
        }
    }
    (rx, tasks)
}

/// Sends `res`; false when the work should stop (the receiver left, or `res` is an error).
async fn forward(tx: &mpsc::Sender<Result<Ready>>, res: Result<Ready>) -> bool {
    let failed = res.is_err();
    tx.send(res).await.is_ok() && !failed
}

/// One conversion worker's share of a load.
#[derive(Clone)]
struct Step {
    converter: Arc<Converter>,
    live: Option<Arc<LiveLoad>>,
    bucketer: Option<Bucketer>,
    kept: Arc<AtomicUsize>,
    budget: usize,
}

impl Step {
    fn convert(
        &self,
        batch: &RecordBatch,
        rows: RowNumbers<'_>,
        file: &str,
        read_failures: &[(usize, ReadFailure)],
    ) -> Result<Ready> {
        if let Some(live) = &self.live {
            live.scan_rows
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            live.scan_bytes
                .fetch_add(batch.get_array_memory_size() as u64, Ordering::Relaxed);
        }
        // Every batch keeps at least its first rejected row: batches convert two at a time,
        // and a later one that spent the budget first must not leave the earlier one (whose
        // first row the error names) with none. `numbered` cuts the list back to the budget.
        let left = self
            .budget
            .saturating_sub(self.kept.load(Ordering::Relaxed))
            .max(1);
        let out = self
            .converter
            .convert(batch, rows, file, left, read_failures)
            .map_err(|e| FrontendError::new(StatusCode::InvalidValue, e))?;
        self.kept.fetch_add(out.errors.len(), Ordering::Relaxed);
        let Converted {
            batch,
            rejected,
            errors,
        } = out;
        let rows = batch.num_rows() as u64;
        let buckets = match &self.bucketer {
            Some(b) => b.split(batch)?,
            None => Vec::new(),
        };
        Ok(Ready {
            rows,
            rejected,
            errors,
            buckets,
        })
    }

    /// Converts a piece's batch, whose last column numbers its rows within `file`, given the
    /// bad values its reader found up to its last row (`failures`, in row order).
    fn convert_numbered(
        &self,
        batch: &RecordBatch,
        file: &str,
        failures: Vec<ReadFailure>,
    ) -> Result<Ready> {
        let last = batch.num_columns() - 1;
        let rows = batch
            .column(last)
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| FrontendError::new(StatusCode::Internal, "row numbers missing"))?
            .clone();
        let data = batch
            .project(&(0..last).collect::<Vec<_>>())
            .map_err(|e| FrontendError::new(StatusCode::Internal, e.to_string()))?;
        // A piece's query keeps its rows in file order: find each failure's row in the batch.
        // A row that is not there was read and then removed by the query's WHERE.
        let (mut here, mut gone) = (Vec::new(), Vec::new());
        for f in failures {
            match rows.values().binary_search(&f.row) {
                Ok(i) => here.push((i, f)),
                Err(_) => gone.push(f),
            }
        }
        let mut ready = self.convert(&data, RowNumbers::Listed(rows.values()), file, &here)?;
        if !gone.is_empty() {
            let unread = self.unread(&gone, file);
            ready.rejected += unread.rejected;
            ready.errors.extend(unread.errors);
        }
        Ok(ready)
    }

    /// The bad values of rows the query removed (WHERE): in strict mode still rejected rows,
    /// as StarRocks' scan rejects a value that does not convert before any predicate.
    fn unread(&self, failures: &[ReadFailure], file: &str) -> Ready {
        let mut ready = Ready {
            rows: 0,
            rejected: 0,
            errors: Vec::new(),
            buckets: Vec::new(),
        };
        let strict = self.converter.strict();
        let failures: Vec<&ReadFailure> = failures
            .iter()
            .filter(|f| strict || f.whole_row())
            .collect();
        if failures.is_empty() {
            return ready;
        }
        let mut rows: Vec<u64> = failures.iter().map(|f| f.row).collect();
        rows.dedup();
        ready.rejected = rows.len() as u64;
        if let Some(live) = &self.live {
            live.scan_rows.fetch_add(ready.rejected, Ordering::Relaxed);
            live.unread_rows
                .fetch_add(ready.rejected, Ordering::Relaxed);
        }
        let left = self
            .budget
            .saturating_sub(self.kept.load(Ordering::Relaxed));
        let mut seen = None;
        for f in failures {
            if ready.errors.len() >= left {
                break;
            }
            if seen != Some(f.row) {
                ready.errors.push(convert::read_error(file, f));
                seen = Some(f.row);
            }
        }
        self.kept.fetch_add(ready.errors.len(), Ordering::Relaxed);
        ready
    }
}

/// The number of a piece batch's last row (its last column numbers the rows).
fn last_row(batch: &RecordBatch) -> Option<u64> {
    let rows = batch.columns().last()?.as_primitive_opt::<UInt64Type>()?;
    (!rows.is_empty()).then(|| rows.value(rows.len() - 1))
}
