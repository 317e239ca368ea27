//! Progress of loads that are still running, readable from other connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters of one running load, updated by the load path as it goes.
#[derive(Debug, Default)]
pub struct LiveLoad {
    /// Rows read from the source.
    pub scan_rows: AtomicU64,
    /// Bytes read from the source.
    pub scan_bytes: AtomicU64,
    /// Rows rejected so far.
    pub filtered_rows: AtomicU64,
    /// Rows converted and handed to the writer.
    pub sink_rows: AtomicU64,
    /// Total source rows when known in advance (0 = unknown), for PROGRESS.
    pub expected_rows: AtomicU64,
}

impl LiveLoad {
    /// Load progress in percent (`LOAD:<n>%`), capped at 99 while running.
    pub fn percent(&self) -> u64 {
        let expected = self.expected_rows.load(Ordering::Relaxed);
        if expected == 0 {
            return 0;
        }
        (self.scan_rows.load(Ordering::Relaxed) * 100 / expected).min(99)
    }
}

/// The registry of running loads by job id.
#[derive(Debug, Clone, Default)]
pub struct LiveLoads {
    inner: Arc<Mutex<HashMap<i64, Arc<LiveLoad>>>>,
}

impl LiveLoads {
    /// Registers a job and returns its counters.
    pub fn start(&self, job_id: i64) -> Arc<LiveLoad> {
        let l = Arc::new(LiveLoad::default());
        self.lock().insert(job_id, l.clone());
        l
    }

    /// Removes a finished job.
    pub fn finish(&self, job_id: i64) {
        self.lock().remove(&job_id);
    }

    /// Counters of a running job.
    pub fn get(&self, job_id: i64) -> Option<Arc<LiveLoad>> {
        self.lock().get(&job_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<LiveLoad>>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_capped_until_the_commit() {
        let l = LiveLoad::default();
        assert_eq!(l.percent(), 0);
        l.expected_rows.store(200, Ordering::Relaxed);
        l.scan_rows.store(50, Ordering::Relaxed);
        assert_eq!(l.percent(), 25);
        l.scan_rows.store(200, Ordering::Relaxed);
        assert_eq!(l.percent(), 99);
    }
}
