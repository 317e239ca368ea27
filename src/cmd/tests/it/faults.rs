//! Every named fault point (`strata_common::fault::POINTS`), armed in turn in the real binary
//! (`STRATA_FAULTS`) during each load method that passes it — INSERT from FILES(), CTAS, a
//! Broker Load job of three steps and a pipe of three batches — once to fail (`error`) and once
//! to kill the process on the spot (`crash`, what `kill -9` leaves at that instant). After each,
//! the server is restarted without faults and docs/design.md's invariants are checked:
//!
//! - a load is all or nothing, and its label's state says which (FINISHED ⇔ its rows);
//! - a COMMIT whose outcome the server did not hear (`catalog.commit.after`,
//!   `catalog.stage.after`) is not taken for a failure: what the catalog says decides;
//! - Broker Load jobs and pipes a crash interrupted resume and load every row exactly once;
//! - a pipe's FINISHED files are exactly its rows, and no file is left LOADING;
//! - after a clean stop, the files on disk are exactly those the catalog references
//!   (segments, staged steps, the GC list): nothing orphaned, nothing referenced missing;
//! - the server keeps serving after an `error` fault, and starts after any fault.
#![allow(clippy::print_stdout)] // each scenario prints its name, so a failure says which

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use strata_catalog::Catalog;
use strata_common::fault::{self, CRASH_EXIT_CODE};

use crate::broker::poll;
use crate::crash::{files_on_disk, free_port, wait_connect};
use crate::s3::{AK, BUCKET, S3Server, SK, parquet, user_behavior};

/// Rows in each of the three source files.
const ROWS: u64 = 10;
const FILES: u64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Insert,
    Ctas,
    Broker,
    Pipe,
}

impl Method {
    /// The points a load of this method passes.
    fn points(self) -> &'static [&'static str] {
        use fault::*;
        match self {
            Method::Insert | Method::Ctas => &[
                SEGMENT_WRITE,
                SEGMENT_FSYNC,
                SEGMENT_DIR_FSYNC,
                COMMIT_BEFORE,
                COMMIT_AFTER,
            ],
            Method::Broker => &[
                SEGMENT_WRITE,
                SEGMENT_FSYNC,
                SEGMENT_DIR_FSYNC,
                STAGE_BEFORE,
                STAGE_AFTER,
                COMMIT_BEFORE,
                COMMIT_AFTER,
            ],
            Method::Pipe => &[
                LEDGER_LISTED,
                LEDGER_BATCH,
                SEGMENT_WRITE,
                SEGMENT_FSYNC,
                COMMIT_BEFORE,
                COMMIT_AFTER,
            ],
        }
    }
}

/// The real binary on a data directory (`<dir>/data-dir`), its stderr kept in a file.
pub(crate) struct Node {
    child: Child,
    pub(crate) port: u16,
}

impl Node {
    pub(crate) fn spawn(dir: &Path, faults: Option<&str>) -> Self {
        match faults {
            Some(f) => Self::spawn_with(dir, &[("STRATA_FAULTS", f)]),
            None => Self::spawn_with(dir, &[]),
        }
    }

    /// Starts the binary with extra environment variables.
    pub(crate) fn spawn_with(dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(dir))
            .unwrap();
        let child = cmd
            .arg("--data-dir")
            .arg(dir.join("data-dir"))
            .arg("--mysql-addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{}", free_port()))
            .env("STRATA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("strata binary starts");
        Self { child, port }
    }

    /// Waits for the process to end; its exit code.
    pub(crate) fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A graceful stop (SIGTERM), waited for.
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let code = self.wait_exit(60);
        assert_eq!(code, Some(0), "a graceful stop exits 0");
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// On a stopped server's data directory: every segment the catalog references is on disk, and
/// every file on disk is referenced (a segment, a staged Broker Load step, the GC list).
pub(crate) fn assert_files_match_catalog(data_dir: &Path, what: &str) {
    let cat = Catalog::open(&data_dir.join("meta.db")).unwrap();
    let segments: BTreeSet<String> = cat.all_segment_paths().unwrap().into_iter().collect();
    let known: BTreeSet<String> = segments
        .iter()
        .cloned()
        .chain(cat.staged_paths().unwrap())
        .chain(cat.gc_files().unwrap())
        .collect();
    let on_disk = files_on_disk(data_dir);
    assert!(
        segments.is_subset(&on_disk),
        "{what}: referenced files missing: {:?}",
        segments.difference(&on_disk).collect::<Vec<_>>()
    );
    assert!(
        on_disk.is_subset(&known),
        "{what}: orphaned files: {:?}",
        on_disk.difference(&known).collect::<Vec<_>>()
    );
}

pub(crate) fn log_path(dir: &Path) -> PathBuf {
    dir.join("server.log")
}

pub(crate) fn creds(s3: &S3Server) -> String {
    format!(
        "\"aws.s3.endpoint\" = \"{}\", \"aws.s3.access_key\" = \"{AK}\", \
         \"aws.s3.secret_key\" = \"{SK}\"",
        s3.endpoint
    )
}

fn files_sql(s3: &S3Server) -> String {
    format!(
        "FILES(\"path\" = \"s3://{BUCKET}/fp/*.parquet\", \"format\" = \"parquet\", {})",
        creds(s3)
    )
}

async fn one(c: &mut mysql_async::Conn, sql: &str) -> u64 {
    c.query_first::<u64, _>(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap()
}

/// Starts the load; returns the statement's error, if it answered one.
async fn start_load(c: &mut mysql_async::Conn, s3: &S3Server, m: Method) -> Option<String> {
    let files = files_sql(s3);
    let sql = match m {
        Method::Insert => format!("INSERT INTO d.t WITH LABEL lab SELECT * FROM {files}"),
        Method::Ctas => format!("CREATE TABLE d.c AS SELECT * FROM {files}"),
        Method::Broker => format!(
            "LOAD LABEL d.lab (DATA INFILE(\"s3://{BUCKET}/fp/*.parquet\") INTO TABLE t FORMAT \
             AS \"parquet\") WITH BROKER ({})",
            creds(s3)
        ),
        Method::Pipe => format!(
            "CREATE PIPE d.p PROPERTIES (\"POLL_INTERVAL\" = \"1\", \"BATCH_FILES\" = \"1\") AS \
             INSERT INTO d.t SELECT * FROM {files}"
        ),
    };
    c.query_drop(&sql).await.err().map(|e| e.to_string())
}

/// `finished/ended/all` files of pipe `p`.
const PIPE_SETTLED: &str = "SELECT concat(CAST(sum(CASE WHEN LOAD_STATE = 'FINISHED' THEN 1 ELSE \
    0 END) AS VARCHAR), '/', CAST(sum(CASE WHEN LOAD_STATE IN ('FINISHED', 'ERROR') THEN 1 ELSE \
    0 END) AS VARCHAR), '/', CAST(count(*) AS VARCHAR)) FROM information_schema.pipe_files \
    WHERE PIPE_NAME = 'p'";

/// Waits until the load has ended (or the server has exited): a job FINISHED or CANCELLED,
/// every pipe file FINISHED or ERROR.
async fn settle(node: &mut Node, c: &mut mysql_async::Conn, m: Method) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if node.exited() {
            return;
        }
        let done = match m {
            Method::Insert | Method::Ctas => true,
            Method::Broker => {
                let s: Option<String> = c
                    .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'lab'")
                    .await
                    .unwrap_or(None);
                matches!(s.as_deref(), Some("FINISHED" | "CANCELLED"))
            }
            Method::Pipe => {
                let s: Option<Option<String>> = c.query_first(PIPE_SETTLED).await.unwrap_or(None);
                s.flatten().is_some_and(|s| {
                    let v: Vec<&str> = s.split('/').collect();
                    v[1] == v[2] && v[2] == FILES.to_string()
                })
            }
        };
        if done {
            return;
        }
        if Instant::now() > deadline {
            let pipes: Vec<mysql_async::Row> = c
                .query("SELECT * FROM information_schema.pipe_files")
                .await
                .unwrap_or_default();
            let loads: Vec<mysql_async::Row> = c
                .query("SELECT LABEL, STATE, ERROR_MSG FROM information_schema.loads")
                .await
                .unwrap_or_default();
            panic!("{m:?}: the load did not settle: {pipes:?} {loads:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One scenario: `point` armed with `action` during a load of method `m`.
async fn scenario(s3: &S3Server, m: Method, point: &'static str, action: &str) {
    println!("== {m:?} with {point}={action}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let spec = format!("{point}={action}");
    let mut node = Node::spawn(dir, Some(&spec));
    let mut c = wait_connect(node.port).await;
    for sql in [
        "CREATE DATABASE d",
        "CREATE TABLE d.t (UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, BehaviorType \
         VARCHAR(20), Timestamp VARCHAR(32)) DISTRIBUTED BY HASH(UserID) BUCKETS 2",
        // A Broker Load step per file: two staged, the last committed with the job.
        "ADMIN SET FRONTEND CONFIG ('broker_load_step_bytes' = '1')",
    ] {
        c.query_drop(sql).await.unwrap();
    }
    let answered = start_load(&mut c, s3, m).await;
    settle(&mut node, &mut c, m).await;
    let crashed = action == "crash";
    if crashed {
        let code = node.wait_exit(60);
        assert_eq!(
            code,
            Some(CRASH_EXIT_CODE),
            "{m:?}: {point} did not crash the server"
        );
    } else {
        let log = std::fs::read_to_string(log_path(dir)).unwrap_or_default();
        assert!(
            log.contains(&format!("fault point {point}: failing")),
            "{m:?}: {point} never fired"
        );
        // The server still serves.
        assert_eq!(one(&mut c, "SELECT 1").await, 1);
    }
    drop(c);
    drop(node);

    // Restarted without faults: what the crash or failure left is settled.
    let mut node = Node::spawn(dir, None);
    let mut c = wait_connect(node.port).await;
    settle(&mut node, &mut c, m).await;
    let after = point == fault::COMMIT_AFTER || point == fault::STAGE_AFTER;
    match m {
        Method::Insert | Method::Broker => {
            let state: String = c
                .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'lab'")
                .await
                .unwrap()
                .unwrap_or_default();
            let rows = one(&mut c, "SELECT count(*) FROM d.t").await;
            // A crashed Broker Load job resumes; a committed-but-unheard load committed.
            let finished = after || (crashed && m == Method::Broker);
            let expect = if finished { "FINISHED" } else { "CANCELLED" };
            assert_eq!(state, expect, "{m:?} {point}={action}: job state");
            let want = if finished { ROWS * FILES } else { 0 };
            assert_eq!(rows, want, "{m:?} {point}={action}: rows");
            if m == Method::Insert && !crashed {
                // The client heard the truth: an error exactly when nothing committed.
                assert_eq!(answered.is_none(), finished, "{answered:?}");
            }
        }
        Method::Ctas => {
            let exists = one(
                &mut c,
                "SELECT count(*) FROM information_schema.tables WHERE TABLE_SCHEMA = 'd' AND \
                 TABLE_NAME = 'c'",
            )
            .await;
            assert_eq!(exists == 1, after, "{point}={action}: CTAS table exists");
            if after {
                assert_eq!(one(&mut c, "SELECT count(*) FROM d.c").await, ROWS * FILES);
            }
            if !crashed {
                assert_eq!(answered.is_none(), after, "{answered:?}");
            }
        }
        Method::Pipe => {
            let rows = one(&mut c, "SELECT count(*) FROM d.t").await;
            let settled = poll(&mut c, PIPE_SETTLED, 60, |_| true).await;
            let finished: u64 = settled.split('/').next().unwrap().parse().unwrap();
            assert_eq!(
                rows,
                finished * ROWS,
                "{point}={action}: rows vs FINISHED files"
            );
            if crashed || after || point.starts_with("catalog.ledger") {
                assert_eq!(finished, FILES, "{point}={action}: every file loads");
            }
        }
    }
    drop(c);
    node.stop();

    assert_files_match_catalog(&dir.join("data-dir"), &format!("{m:?} {point}={action}"));
}

async fn source() -> S3Server {
    let s3 = S3Server::start().await;
    for i in 0..FILES as i64 {
        let rows = user_behavior(i * ROWS as i64, ROWS as i64);
        s3.put(&format!("fp/part-{i}.parquet"), parquet(&[rows], 1000))
            .await;
    }
    s3
}

async fn every_point(m: Method) {
    let s3 = source().await;
    for point in m.points() {
        for action in ["error", "crash"] {
            scenario(&s3, m, point, action).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_point_during_insert_keeps_the_commit_protocol() {
    every_point(Method::Insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_point_during_ctas_keeps_the_commit_protocol() {
    every_point(Method::Ctas).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_point_during_broker_load_keeps_the_commit_protocol() {
    every_point(Method::Broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_point_during_a_pipe_keeps_the_commit_protocol() {
    every_point(Method::Pipe).await;
}

/// Garbage collection at start-up: files deleted, then a crash or failure before the GC list
/// forgets them. The next start finds them gone, which is no error, and forgets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_in_garbage_collection_loses_nothing_and_blocks_no_start() {
    let s3 = source().await;
    for action in ["error", "crash"] {
        println!("== start-up GC with gc.delete={action}");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let node = Node::spawn(dir, None);
        let mut c = wait_connect(node.port).await;
        for sql in [
            "CREATE DATABASE d".to_string(),
            "CREATE TABLE d.t (UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, BehaviorType \
             VARCHAR(20), Timestamp VARCHAR(32)) DISTRIBUTED BY HASH(UserID) BUCKETS 2"
                .to_string(),
            format!("INSERT INTO d.t SELECT * FROM {}", files_sql(&s3)),
            "CREATE TABLE d.keep (a INT) DISTRIBUTED BY HASH(a)".to_string(),
            "INSERT INTO d.keep VALUES (1), (2)".to_string(),
            "TRUNCATE TABLE d.t".to_string(),
        ] {
            c.query_drop(&sql).await.unwrap();
        }
        drop(c);
        node.stop();
        let spec = format!("gc.delete={action}");
        let mut node = Node::spawn(dir, Some(&spec));
        if action == "crash" {
            assert_eq!(node.wait_exit(60), Some(CRASH_EXIT_CODE));
        } else {
            let mut c = wait_connect(node.port).await;
            assert_eq!(one(&mut c, "SELECT count(*) FROM d.keep").await, 2);
        }
        drop(node);
        let node = Node::spawn(dir, None);
        let mut c = wait_connect(node.port).await;
        assert_eq!(one(&mut c, "SELECT count(*) FROM d.t").await, 0);
        assert_eq!(one(&mut c, "SELECT count(*) FROM d.keep").await, 2);
        drop(c);
        node.stop();
        let data_dir = dir.join("data-dir");
        let cat = Catalog::open(&data_dir.join("meta.db")).unwrap();
        assert!(cat.gc_files().unwrap().is_empty(), "the GC list is emptied");
        let segments: BTreeSet<String> = cat.all_segment_paths().unwrap().into_iter().collect();
        assert_eq!(files_on_disk(&data_dir), segments);
    }
}
