//! The one owner of every background task: the load scheduler and its jobs, compaction and
//! garbage collection. Shutdown stops them all and waits until each has ended.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Background tasks and the signal that stops them.
#[derive(Default)]
pub(crate) struct Background {
    stop: CancellationToken,
    tasks: Mutex<JoinSet<()>>,
}

impl Background {
    /// Runs `task` until it ends or shutdown; `task` should watch [`Background::stopping`] to
    /// end cleanly (a job records where it stopped), and is aborted if it has not when
    /// shutdown's wait runs out. False (the task dropped unrun) once shutdown has begun.
    pub(crate) fn spawn(
        &self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> bool {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        // Reap tasks that ended, so the set holds only live ones.
        while tasks.try_join_next().is_some() {}
        if self.stop.is_cancelled() {
            return false;
        }
        // On the statement runtime: a job plans and runs statements, which need its deep
        // stacks.
        tasks.spawn_on(
            async move {
                task.await;
                tracing::debug!(task = name, "background task ended");
            },
            crate::runner::handle(),
        );
        true
    }

    /// Cancelled when the server shuts down.
    pub(crate) fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops every task and waits up to `wait` for them to end; the rest are aborted.
    pub(crate) async fn shutdown(&self, wait: Duration) {
        self.stop.cancel();
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(wait, all).await.is_err() {
            tracing::warn!("background tasks did not stop in time; aborting them");
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }
}
