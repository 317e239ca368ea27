//! Named fault points: the places in the commit protocol where a test makes the server fail or
//! die — a segment's write and fsync, the data directory's fsync, a catalog transaction just
//! before and just after COMMIT, a Broker Load step's staging, a pipe ledger's writes, garbage
//! collection (the list is [`POINTS`], docs/design.md says what each proves).
//!
//! A server carries one [`Faults`] (its catalog and data store share it), so servers in one
//! test process do not see each other's faults. A point is armed by name with an [`Action`],
//! how many hits to let pass first and how many to fire on; the real binary is armed at start
//! from `STRATA_FAULTS` (`point=action[@skip][*times]`, `;`-separated, e.g.
//! `catalog.commit.after=crash` or `segment.fsync=error@2*1`).
//!
//! The points are compiled in only with the `faults` feature, which the test builds turn on
//! (`src/cmd`'s dev-dependencies); a release build has none: [`Faults::hit`] is then an empty
//! inline function and `STRATA_FAULTS` is refused.

#[cfg(feature = "faults")]
use std::collections::HashMap;
#[cfg(feature = "faults")]
use std::sync::{Arc, Mutex};

/// A segment file is encoded, before its fsync: as if the write failed.
pub const SEGMENT_WRITE: &str = "segment.write";
/// The fsync of a segment file.
pub const SEGMENT_FSYNC: &str = "segment.fsync";
/// The fsync of the directory a load's segments were written to.
pub const SEGMENT_DIR_FSYNC: &str = "segment.dir_fsync";
/// A load's (or Broker Load job's) commit transaction has made its writes; COMMIT is next.
pub const COMMIT_BEFORE: &str = "catalog.commit.before";
/// A load's commit transaction has committed; the caller has not heard yet.
pub const COMMIT_AFTER: &str = "catalog.commit.after";
/// A Broker Load step's segments and counters are about to be staged with the job.
pub const STAGE_BEFORE: &str = "catalog.stage.before";
/// A Broker Load step was staged; the job has not heard yet.
pub const STAGE_AFTER: &str = "catalog.stage.after";
/// A pipe's listing is about to be added to its ledger.
pub const LEDGER_LISTED: &str = "catalog.ledger.listed";
/// A pipe batch's files are about to be marked LOADING in the ledger.
pub const LEDGER_BATCH: &str = "catalog.ledger.batch";
/// Garbage collection has deleted retired files; the catalog still lists them.
pub const GC_DELETE: &str = "gc.delete";

/// Every fault point, in commit-protocol order.
pub const POINTS: &[&str] = &[
    LEDGER_LISTED,
    LEDGER_BATCH,
    SEGMENT_WRITE,
    SEGMENT_FSYNC,
    SEGMENT_DIR_FSYNC,
    STAGE_BEFORE,
    STAGE_AFTER,
    COMMIT_BEFORE,
    COMMIT_AFTER,
    GC_DELETE,
];

/// What an armed point does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The operation fails with an injected error ([`Injected`]).
    Error,
    /// The process exits at once with [`CRASH_EXIT_CODE`], running no destructor and no
    /// shutdown: what `kill -9` leaves, at a chosen instant.
    Crash,
}

/// The exit status of a process a [`Action::Crash`] point ended.
pub const CRASH_EXIT_CODE: i32 = 86;

/// The error an [`Action::Error`] point returns; callers wrap it in their own error type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("injected fault at {0}")]
pub struct Injected(pub &'static str);

#[cfg(feature = "faults")]
#[derive(Debug, Clone, Copy)]
struct Armed {
    action: Action,
    skip: u32,
    times: u32,
}

/// One server's fault points (cheap to clone; clones share the points).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    #[cfg(feature = "faults")]
    armed: Arc<Mutex<HashMap<&'static str, Armed>>>,
}

impl Faults {
    /// Faults armed by a `STRATA_FAULTS`-style spec; an empty spec arms nothing.
    pub fn from_spec(spec: &str) -> Result<Self, String> {
        let faults = Self::default();
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, rest) = part
                .split_once('=')
                .ok_or_else(|| format!("fault '{part}': expected point=action"))?;
            let point = POINTS.iter().find(|p| **p == name.trim()).ok_or_else(|| {
                format!(
                    "unknown fault point '{}' (known: {})",
                    name.trim(),
                    POINTS.join(", ")
                )
            })?;
            let (rest, times) = match rest.split_once('*') {
                Some((r, t)) => (r, number(t, part)?),
                None => (rest, 1),
            };
            let (action, skip) = match rest.split_once('@') {
                Some((a, s)) => (a, number(s, part)?),
                None => (rest, 0),
            };
            let action = match action.trim() {
                "error" => Action::Error,
                "crash" => Action::Crash,
                other => return Err(format!("fault '{part}': unknown action '{other}'")),
            };
            faults.arm(point, action, skip, times)?;
        }
        Ok(faults)
    }

    /// Arms `point`: after `skip` hits pass, the next `times` hits do `action`.
    pub fn arm(
        &self,
        point: &'static str,
        action: Action,
        skip: u32,
        times: u32,
    ) -> Result<(), String> {
        #[cfg(feature = "faults")]
        {
            let armed = Armed {
                action,
                skip,
                times,
            };
            self.lock().insert(point, armed);
            Ok(())
        }
        #[cfg(not(feature = "faults"))]
        {
            let _ = (action, skip, times);
            Err(format!(
                "fault point {point} cannot be armed: this build has no fault points (they are \
                 compiled in for tests, with the `faults` feature)"
            ))
        }
    }

    /// Disarms every point.
    pub fn clear(&self) {
        #[cfg(feature = "faults")]
        self.lock().clear();
    }

    /// Hits `point`: `Err` when it is armed to fail now; never returns when armed to crash.
    #[cfg(feature = "faults")]
    // The line goes straight to stderr: a crash leaves no time for the log's writer.
    #[allow(clippy::print_stderr)]
    pub fn hit(&self, point: &'static str) -> Result<(), Injected> {
        let action = {
            let mut armed = self.lock();
            let Some(a) = armed.get_mut(point) else {
                return Ok(());
            };
            if a.skip > 0 {
                a.skip -= 1;
                return Ok(());
            }
            let action = a.action;
            a.times -= 1;
            if a.times == 0 {
                armed.remove(point);
            }
            action
        };
        match action {
            Action::Error => {
                eprintln!("fault point {point}: failing");
                Err(Injected(point))
            }
            Action::Crash => {
                eprintln!("fault point {point}: crashing");
                std::process::exit(CRASH_EXIT_CODE);
            }
        }
    }

    /// Hits `point`: nothing, in a build without fault points.
    #[cfg(not(feature = "faults"))]
    #[inline(always)]
    pub fn hit(&self, _point: &'static str) -> Result<(), Injected> {
        Ok(())
    }

    #[cfg(feature = "faults")]
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Armed>> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn number(s: &str, part: &str) -> Result<u32, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("fault '{part}': '{s}' is not a count"))
}

#[cfg(all(test, feature = "faults"))]
mod tests {
    use super::*;

    #[test]
    fn a_point_fires_after_its_skips_for_its_times() {
        let f = Faults::from_spec("segment.fsync=error@1*2").unwrap();
        assert_eq!(f.hit(SEGMENT_FSYNC), Ok(()));
        assert_eq!(f.hit(SEGMENT_FSYNC), Err(Injected(SEGMENT_FSYNC)));
        assert_eq!(f.hit(SEGMENT_FSYNC), Err(Injected(SEGMENT_FSYNC)));
        assert_eq!(f.hit(SEGMENT_FSYNC), Ok(()));
        assert_eq!(f.hit(SEGMENT_WRITE), Ok(()));
    }

    #[test]
    fn clones_share_points_and_bad_specs_are_refused() {
        let f = Faults::default();
        let g = f.clone();
        f.arm(COMMIT_BEFORE, Action::Error, 0, 1).unwrap();
        assert!(g.hit(COMMIT_BEFORE).is_err());
        assert!(
            Faults::from_spec("nope=error")
                .unwrap_err()
                .contains("unknown fault point")
        );
        assert!(Faults::from_spec("gc.delete=explode").is_err());
        assert!(Faults::from_spec("gc.delete=error@x").is_err());
    }
}
