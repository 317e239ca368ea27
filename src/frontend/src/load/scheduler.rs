//! The Broker Load scheduler: runs at most `max_broker_load_job_concurrency` jobs at once and
//! queues the rest by priority, then age.
//!
//! The queue is the catalog: every job that has not ended (PENDING, QUEUEING, LOADING) is
//! there, so a restart finds the same queue and resumes the jobs that were running. A round
//! runs whenever something changes (a submission, a job ending, CANCEL/ALTER LOAD, a config)
//! and once a second (timeouts of queued jobs).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use strata_catalog::now_string;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{Frontend, admin};

/// Why a running job was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// CANCEL LOAD.
    User = 1,
    /// Its timeout passed.
    Timeout = 2,
    /// The server is shutting down: the job stays as it is and resumes at restart.
    Shutdown = 3,
}

/// A running job's stop signal, reason and deadline.
#[derive(Clone)]
pub(crate) struct JobHandle {
    token: CancellationToken,
    reason: Arc<AtomicU8>,
    deadline: Arc<Mutex<Option<tokio::time::Instant>>>,
    ended: Arc<Notify>,
}

impl JobHandle {
    fn new() -> Self {
        Self {
            token: CancellationToken::new(),
            reason: Arc::default(),
            deadline: Arc::default(),
            ended: Arc::default(),
        }
    }

    /// Tells the job to stop; the first reason given is the one it ends with.
    pub(crate) fn stop_with(&self, stop: Stop) {
        let _ = self
            .reason
            .compare_exchange(0, stop as u8, Ordering::SeqCst, Ordering::SeqCst);
        self.token.cancel();
    }

    /// Why the job was told to stop, if it was.
    pub(crate) fn stop(&self) -> Option<Stop> {
        match self.reason.load(Ordering::SeqCst) {
            1 => Some(Stop::User),
            2 => Some(Stop::Timeout),
            3 => Some(Stop::Shutdown),
            _ => None,
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    pub(crate) async fn cancelled(&self) {
        self.token.cancelled().await
    }

    /// The token the load pipeline watches.
    pub(crate) fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    pub(crate) fn set_deadline(&self, at: tokio::time::Instant) {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    /// The job's deadline (far away until the job has set it).
    pub(crate) fn deadline(&self) -> tokio::time::Instant {
        self.deadline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86400 * 365))
    }
}

/// The running jobs and the signal that starts a round.
#[derive(Default)]
pub(crate) struct Scheduler {
    wake: Arc<Notify>,
    running: Mutex<HashMap<i64, JobHandle>>,
    /// Pipes with a driver: its stop signal and the signal that it ended.
    pipes: Mutex<HashMap<i64, (CancellationToken, Arc<Notify>)>>,
}

impl Scheduler {
    /// Asks for a round soon.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Tells a running job to stop; false when it is not running here.
    pub(crate) fn cancel(&self, job_id: i64, stop: Stop) -> bool {
        match self.lock().get(&job_id) {
            Some(h) => {
                h.stop_with(stop);
                true
            }
            None => false,
        }
    }

    /// Waits until job `job_id` is no longer running, up to `wait`.
    pub(crate) async fn wait_stopped(&self, job_id: i64, wait: Duration) {
        let Some(ended) = self.lock().get(&job_id).map(|h| h.ended.clone()) else {
            return;
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = ended.notified();
            if !self.lock().contains_key(&job_id) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, JobHandle>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pipes(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (CancellationToken, Arc<Notify>)>> {
        self.pipes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops pipe `id`'s driver (its running batch is interrupted and its files wait again)
    /// and waits up to 30 s for it to end. The caller first makes sure the pipe is no longer
    /// RUNNING, or a round starts a new driver.
    pub(crate) async fn stop_pipe(&self, id: i64) {
        let Some((token, ended)) = self.pipes().get(&id).cloned() else {
            return;
        };
        token.cancel();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let notified = ended.notified();
            if !self.pipes().contains_key(&id) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// Stops every running job for shutdown (they stay resumable).
    fn stop_all(&self) {
        for h in self.lock().values() {
            h.stop_with(Stop::Shutdown);
        }
    }
}

/// A running job's place in the scheduler, given up when the job's task ends.
struct Slot {
    fe: Arc<Frontend>,
    job_id: i64,
    ended: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.fe.jobs.lock().remove(&self.job_id);
        self.fe.live.finish(self.job_id);
        self.ended.notify_waiters();
        self.fe.jobs.wake();
    }
}

/// A pipe driver's place, given up when its task ends.
struct PipeSlot {
    fe: Arc<Frontend>,
    pipe_id: i64,
    ended: Arc<Notify>,
}

impl Drop for PipeSlot {
    fn drop(&mut self) {
        self.fe.jobs.pipes().remove(&self.pipe_id);
        self.ended.notify_waiters();
        self.fe.jobs.wake();
    }
}

/// Starts a driver for every RUNNING pipe that has none.
fn pipes_round(fe: &Arc<Frontend>) -> crate::Result<()> {
    let pipes = fe.catalog.list_pipes()?;
    let mut drivers = fe.jobs.pipes();
    for p in pipes {
        if p.state != "RUNNING" || drivers.contains_key(&p.id) {
            continue;
        }
        let token = fe.background.stopping().child_token();
        let ended = Arc::new(Notify::new());
        drivers.insert(p.id, (token.clone(), ended.clone()));
        let (fe2, id) = (fe.clone(), p.id);
        let spawned = fe.background.spawn("pipe driver", async move {
            let _slot = PipeSlot {
                fe: fe2.clone(),
                pipe_id: id,
                ended,
            };
            super::pipe::drive(fe2, id, token).await;
        });
        if !spawned {
            drivers.remove(&p.id);
        }
    }
    Ok(())
}

/// Jobs that may run at once: the config, or one per core.
fn concurrency(fe: &Frontend) -> usize {
    let n = admin::config_value(fe, "max_broker_load_job_concurrency")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if n > 0 {
        n as usize
    } else {
        std::thread::available_parallelism().map_or(2, |c| c.get())
    }
}

/// The scheduler's loop, owned by the frontend's [`crate::background::Background`].
pub(crate) async fn run(fe: Weak<Frontend>, stop: CancellationToken) {
    let mut last_purge = tokio::time::Instant::now() - Duration::from_secs(3600);
    loop {
        let Some(strong) = fe.upgrade() else { return };
        if let Err(e) = round(&strong) {
            tracing::warn!(error = %e, "load scheduler round failed");
        }
        if let Err(e) = pipes_round(&strong) {
            tracing::warn!(error = %e, "pipe round failed");
        }
        if last_purge.elapsed() >= Duration::from_secs(60) {
            purge_history(&strong);
            last_purge = tokio::time::Instant::now();
        }
        let notify = strong.jobs.wake.clone();
        drop(strong);
        tokio::select! {
            () = notify.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = stop.cancelled() => {
                if let Some(fe) = fe.upgrade() {
                    fe.jobs.stop_all();
                }
                return;
            }
        }
    }
}

/// Forgets ended jobs beyond `label_keep_max_second` / `label_keep_max_num`.
pub(crate) fn purge_history(fe: &Frontend) {
    let secs = admin::config_value(fe, "label_keep_max_second")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(259_200);
    let num = admin::config_value(fe, "label_keep_max_num")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    match fe.catalog.purge_load_history(secs, num, &now_string()) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            jobs = n,
            "forgot ended load jobs past label_keep_max_second/num"
        ),
        Err(e) => tracing::warn!(error = %e, "could not purge load history"),
    }
}

fn round(fe: &Arc<Frontend>) -> crate::Result<()> {
    let limit = concurrency(fe);
    // Under the lock: a job that ends meanwhile is off the list before it leaves `running`.
    let mut running = fe.jobs.lock();
    let jobs = fe.catalog.runnable_jobs()?;
    // Deadlines of running jobs.
    let now = tokio::time::Instant::now();
    for h in running.values() {
        if now >= h.deadline() && !h.is_cancelled() {
            h.stop_with(Stop::Timeout);
        }
    }
    let mut free = limit.saturating_sub(running.len());
    for job in jobs {
        let r = &job.record;
        if running.contains_key(&r.job_id) {
            continue;
        }
        // A job whose timeout passed while it waited starts at once, to end as TIMEOUT.
        let expired = tokio::time::Instant::now() >= super::broker::deadline_of(r);
        if free > 0 || expired {
            free = free.saturating_sub(1);
            let handle = JobHandle::new();
            running.insert(r.job_id, handle.clone());
            let (fe2, id) = (fe.clone(), r.job_id);
            let spawned = fe.background.spawn("broker load job", async move {
                // Frees the slot however the job ends, a panic included.
                let _slot = Slot {
                    fe: fe2.clone(),
                    job_id: id,
                    ended: handle.ended.clone(),
                };
                super::broker::run_job(fe2, id, handle).await;
            });
            if !spawned {
                running.remove(&r.job_id);
            }
        } else if r.state != "QUEUEING" {
            fe.catalog
                .set_job_state(r.job_id, "QUEUEING", &now_string())?;
        }
    }
    Ok(())
}
