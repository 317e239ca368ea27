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
    /// Total source rows when known in advance (0 = unknown), for PROGRESS; in a job read
    /// in steps, the current step's rows.
    pub expected_rows: AtomicU64,
    /// Rows removed by the load's WHERE.
    pub unselected_rows: AtomicU64,
    /// Rejected rows the source query never produced (removed by its WHERE, or unreadable).
    pub unread_rows: AtomicU64,
    /// A job read in steps: how many files it reads...
    pub files_total: AtomicU64,
    /// ...bytes of all its files (0 = not such a job)...
    pub bytes_total: AtomicU64,
    /// ...bytes of the files of its finished steps...
    pub bytes_done: AtomicU64,
    /// ...bytes of the files of the running step...
    pub step_bytes: AtomicU64,
    /// ...and `scan_rows` when the running step began.
    pub step_scan_base: AtomicU64,
}

impl LiveLoad {
    /// Load progress in percent (`LOAD:<n>%`), capped at 99 while running.
    pub fn percent(&self) -> u64 {
        let expected = self.expected_rows.load(Ordering::Relaxed);
        let scanned = self.scan_rows.load(Ordering::Relaxed);
        let total = self.bytes_total.load(Ordering::Relaxed);
        if total > 0 {
            // By bytes of files finished, plus the running step's share by its rows.
            let mut done = self.bytes_done.load(Ordering::Relaxed) as u128;
            let base = self.step_scan_base.load(Ordering::Relaxed);
            if expected > 0 {
                let step = self.step_bytes.load(Ordering::Relaxed) as u128;
                let rows = scanned.saturating_sub(base).min(expected) as u128;
                done += step * rows / expected as u128;
            }
            return ((done * 100 / total as u128) as u64).min(99);
        }
        if expected == 0 {
            return 0;
        }
        (scanned * 100 / expected).min(99)
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

    #[test]
    fn percent_of_a_job_in_steps_counts_bytes() {
        let l = LiveLoad::default();
        l.bytes_total.store(1000, Ordering::Relaxed);
        l.bytes_done.store(400, Ordering::Relaxed);
        assert_eq!(l.percent(), 40);
        // The running step: 200 bytes, half its 100 rows read since it began at row 50.
        l.step_bytes.store(200, Ordering::Relaxed);
        l.step_scan_base.store(50, Ordering::Relaxed);
        l.expected_rows.store(100, Ordering::Relaxed);
        l.scan_rows.store(100, Ordering::Relaxed);
        assert_eq!(l.percent(), 50);
    }
}
