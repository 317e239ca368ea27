//! Memory limits of statements: each statement's DataFusion operators (sorts, aggregations,
//! joins, repartitions) reserve what they hold from a pool of its own, bounded by the
//! session's `query_mem_limit` (else `exec_mem_limit`), and every statement's reservations
//! count against one limit for the whole server. Over either, the reservation fails and the
//! operator spills to disk where it can (sorts) or the statement fails with "Memory limit
//! exceeded" — the server goes on serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{
    GreedyMemoryPool, MemoryLimit, MemoryPool, MemoryReservation,
};

/// What all statements of the server hold at once.
#[derive(Debug)]
pub struct ServerMemory {
    limit: usize,
    used: AtomicUsize,
}

impl ServerMemory {
    /// A server limit of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// The default: 80% of the machine's memory (StarRocks' backends take 90% of theirs), or
    /// 8 GiB where that cannot be read.
    pub fn default_limit() -> usize {
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
            })
            .map(|kb| kb * 1024);
        total.map_or(8 << 30, |t| t / 10 * 8)
    }

    /// The server's limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved by running statements.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// One statement's pool: its own limit, and the server's.
#[derive(Debug)]
pub(crate) struct StatementPool {
    own: GreedyMemoryPool,
    limit: usize,
    server: Arc<ServerMemory>,
}

impl StatementPool {
    pub(crate) fn new(limit: usize, server: Arc<ServerMemory>) -> Self {
        Self {
            own: GreedyMemoryPool::new(limit),
            limit,
            server,
        }
    }
}

impl std::fmt::Display for StatementPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "statement pool: {} of {} bytes reserved (server: {} of {})",
            self.own.reserved(),
            self.limit,
            self.server.used(),
            self.server.limit
        )
    }
}

impl MemoryPool for StatementPool {
    fn name(&self) -> &str {
        "strata_statement"
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.own.grow(reservation, additional);
        self.server.used.fetch_add(additional, Ordering::Relaxed);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.own.shrink(reservation, shrink);
        self.server.used.fetch_sub(shrink, Ordering::Relaxed);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        let before = self.server.used.fetch_add(additional, Ordering::Relaxed);
        if before + additional > self.server.limit {
            self.server.used.fetch_sub(additional, Ordering::Relaxed);
            return Err(DataFusionError::ResourcesExhausted(format!(
                "Memory limit exceeded: {} needs {additional} bytes more, and the server's \
                 statements already hold {before} of its {} bytes (--mem-limit)",
                reservation.consumer().name(),
                self.server.limit
            )));
        }
        if let Err(e) = self.own.try_grow(reservation, additional) {
            self.server.used.fetch_sub(additional, Ordering::Relaxed);
            return Err(DataFusionError::ResourcesExhausted(format!(
                "Memory limit exceeded: the query needs more than its limit of {} bytes \
                 (session variable query_mem_limit, else exec_mem_limit): {}",
                self.limit,
                e.strip_backtrace()
            )));
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.own.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit.min(self.server.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::MemoryConsumer;

    #[test]
    fn statements_share_the_server_limit_and_keep_their_own() {
        let server = ServerMemory::new(100);
        let a: Arc<dyn MemoryPool> = Arc::new(StatementPool::new(80, server.clone()));
        let b: Arc<dyn MemoryPool> = Arc::new(StatementPool::new(80, server.clone()));
        let ra = MemoryConsumer::new("a").register(&a);
        let rb = MemoryConsumer::new("b").register(&b);
        ra.try_grow(60).unwrap();
        let err = rb.try_grow(60).unwrap_err().to_string();
        assert!(err.contains("--mem-limit"), "{err}");
        assert_eq!(server.used(), 60);
        let err = ra.try_grow(30).unwrap_err().to_string();
        assert!(err.contains("query_mem_limit"), "{err}");
        assert_eq!(server.used(), 60);
        ra.shrink(60);
        rb.try_grow(60).unwrap();
        assert_eq!(server.used(), 60);
        drop(rb);
        assert_eq!(server.used(), 0);
    }
}
