//! Where statements run: a runtime of their own whose threads have deep stacks.
//!
//! Parsing, planning, optimizing and executing a statement recurse over its expression tree,
//! and a statement of a few kilobytes (`SELECT 1+1+…+1` with 2,000 terms) nests thousands of
//! levels deep. On a 2 MiB tokio worker stack that ended the whole process ("stack overflow":
//! every connection and every running load with it). Statements therefore run on this
//! runtime, whose threads (workers and blocking pool alike) have [`STACK_BYTES`] of stack —
//! address space, of which only the pages a statement touches become memory — while
//! `strata_sql`'s limits (docs/design.md, "Statement limits") bound how deep a statement may
//! be. The listeners and the sessions' protocol work stay on the main runtime, so a busy
//! statement does not hold up accepting connections or answering other sessions.
//!
//! The runtime is process-wide and never dropped: a runtime cannot be dropped from one of its
//! own threads, which is where the last reference to a server may be released.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// Stack of every thread that runs statement work.
pub const STACK_BYTES: usize = 256 << 20;

/// The runtime statements run on.
pub(crate) fn handle() -> &'static Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
            Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("strata-stmt")
                .thread_stack_size(STACK_BYTES)
                .enable_all()
                .build()
                .expect("the statement runtime starts (threads can be created)")
        })
        .handle()
}
