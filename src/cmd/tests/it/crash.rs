//! Crash consistency: a load is all or nothing whatever fails, and nothing it wrote is left
//! behind. See docs/design.md, "Commit protocol".

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use strata::Server;
use strata_catalog::Catalog;
use strata_common::fault::{self, Action};
use strata_frontend::CompactionPolicy;
use strata_frontend::Frontend;

use crate::harness::{TestServer, connect, exec, fresh_table, start_at};

/// Makes the next hit of `point` fail.
pub(crate) fn arm(fe: &Frontend, point: &'static str) {
    fe.faults().arm(point, Action::Error, 0, 1).unwrap();
}

/// Every file under `<data dir>/data`, relative to it.
pub(crate) fn files_on_disk(data_dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_string_lossy().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    let root = data_dir.join("data");
    walk(&root, &root, &mut out);
    out
}

/// Segment files the catalog references.
fn referenced(data_dir: &Path) -> BTreeSet<String> {
    let cat = Catalog::open(&data_dir.join("meta.db")).unwrap();
    cat.all_segment_paths().unwrap().into_iter().collect()
}

async fn count(conn: &mut mysql_async::Conn, sql: &str) -> u64 {
    conn.query_first::<u64, _>(sql).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_segment_write_leaves_table_and_disk_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path()).await;
    let port = server.mysql_addr.port();
    let mut c = connect(port, None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (a INT) DISTRIBUTED BY HASH(a) BUCKETS 2",
    )
    .await;
    exec(&mut c, "INSERT INTO t VALUES (1), (2)").await;
    let before = files_on_disk(dir.path());

    arm(&server.frontend, fault::SEGMENT_WRITE);
    let err = c
        .query_drop("INSERT INTO t WITH LABEL l_fault VALUES (3), (4), (5)")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("injected fault"), "{err}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 2);
    let state: String = c
        .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_fault'")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state, "CANCELLED");
    // The label of a cancelled load is free again, and a retry commits once.
    exec(
        &mut c,
        "INSERT INTO t WITH LABEL l_fault VALUES (3), (4), (5)",
    )
    .await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 5);
    drop(c);
    server.shutdown().await;

    // Restart: whatever the failed write left is gone; referenced files are exactly those on disk.
    let server = start_at(dir.path()).await;
    let on_disk = files_on_disk(dir.path());
    assert_eq!(on_disk, referenced(dir.path()));
    assert!(before.is_subset(&on_disk));
    let mut c = connect(server.mysql_addr.port(), Some("d")).await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_commit_rolls_back_and_deletes_segments() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (a INT, b VARCHAR(10)) DISTRIBUTED BY HASH(a)",
    )
    .await;
    exec(&mut c, "INSERT INTO t VALUES (1, 'x')").await;
    let before = files_on_disk(server.dir.path());

    arm(&server.server.frontend, fault::COMMIT_BEFORE);
    let err = c
        .query_drop("INSERT INTO t WITH LABEL l_commit SELECT a + 1, b FROM t")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("injected fault"), "{err}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 1);
    // The segments written for the failed commit were removed at once.
    assert_eq!(files_on_disk(server.dir.path()), before);
    exec(
        &mut c,
        "INSERT INTO t WITH LABEL l_commit SELECT a + 1, b FROM t",
    )
    .await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 2);
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_binary(data_dir: &Path, port: u16) -> Child {
    spawn_binary_with_env(data_dir, port, &[])
}

/// Starts the real binary with extra environment variables.
pub(crate) fn spawn_binary_with_env(data_dir: &Path, port: u16, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("--data-dir")
        .arg(data_dir)
        .arg("--mysql-addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--http-addr")
        .arg(format!("127.0.0.1:{}", free_port()))
        .env("STRATA_LOG", "warn")
        .env("STRATA_SEGMENT_FLUSH_ROWS", "50000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strata binary starts")
}

pub(crate) async fn wait_connect(port: u16) -> mysql_async::Conn {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .user(Some("root"))
            .prefer_socket(false);
        match mysql_async::Conn::new(opts).await {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("server did not come up: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The real binary on `dir` and a connection to it, with an empty `d.big` in four buckets.
async fn binary_with_big_table(dir: &Path) -> (Child, u16, mysql_async::Conn) {
    let port = free_port();
    let child = spawn_binary(dir, port);
    let mut c = wait_connect(port).await;
    fresh_table(
        &mut c,
        "CREATE TABLE big (a BIGINT, b VARCHAR(40)) DISTRIBUTED BY HASH(a) BUCKETS 4",
    )
    .await;
    (child, port, c)
}

/// Starts `INSERT INTO d.big WITH LABEL <label>` of `rows` generated rows on a connection of
/// its own.
fn load_big(
    port: u16,
    label: &'static str,
    rows: u64,
) -> tokio::task::JoinHandle<Result<(), mysql_async::Error>> {
    tokio::spawn(async move {
        let mut c2 = connect(port, Some("d")).await;
        c2.query_drop(format!(
            "INSERT INTO big WITH LABEL {label} SELECT value, concat('row-', value) \
             FROM generate_series(1, {rows})"
        ))
        .await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_insert_select_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, mut c) = binary_with_big_table(dir.path()).await;
    exec(&mut c, "INSERT INTO big VALUES (-1, 'base'), (-2, 'base')").await;
    let committed = referenced(dir.path());

    const ROWS: u64 = 3_000_000;
    let loader = load_big(port, "l_big", ROWS);
    // Kill once the load has written segments that are not committed yet.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let uncommitted = files_on_disk(dir.path()).difference(&committed).count();
        if uncommitted >= 2 || loader.is_finished() {
            break;
        }
        assert!(Instant::now() < deadline, "load wrote no segment in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let _ = loader.await;

    let mut child = spawn_binary(dir.path(), port);
    let mut c = wait_connect(port).await;
    let n = count(&mut c, "SELECT count(*) FROM d.big").await;
    assert!(n == 2 || n == 2 + ROWS, "partial load visible: {n} rows");
    let state: String = c
        .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_big'")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state, if n == 2 { "CANCELLED" } else { "FINISHED" });
    // Start-up removed every file of the interrupted write.
    assert_eq!(files_on_disk(dir.path()), referenced(dir.path()));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

/// A server on a fresh directory with `d.t (k INT, v VARCHAR(10))` in one bucket, and a
/// connection to it: every segment lands in the same bucket, where compaction merges.
async fn one_bucket_table() -> (tempfile::TempDir, Server, mysql_async::Conn) {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path()).await;
    let mut c = connect(server.mysql_addr.port(), None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (k INT, v VARCHAR(10)) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1",
    )
    .await;
    (dir, server, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_merges_small_segments_and_keeps_every_row() {
    let (dir, server, mut c) = one_bucket_table().await;
    for i in 0..5 {
        exec(
            &mut c,
            &format!("INSERT INTO t VALUES ({}, 'a'), ({}, 'b')", 10 - i, i),
        )
        .await;
    }
    let table = server
        .frontend
        .catalog()
        .get_table("d", "t")
        .unwrap()
        .unwrap();
    assert_eq!(
        server.frontend.catalog().segments(table.id).unwrap().len(),
        5
    );
    let before: Vec<(i32, String)> = c.query("SELECT k, v FROM t ORDER BY k, v").await.unwrap();

    let merged = strata_frontend::compact_once(&server.frontend, &CompactionPolicy::default())
        .await
        .unwrap();
    assert_eq!(merged, 1);
    let segs = server.frontend.catalog().segments(table.id).unwrap();
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].rows, 10);
    let after: Vec<(i32, String)> = c.query("SELECT k, v FROM t ORDER BY k, v").await.unwrap();
    assert_eq!(before, after);
    // Replaced files wait out the grace period for readers of older snapshots...
    assert_eq!(files_on_disk(dir.path()).len(), 6);
    drop(c);
    server.shutdown().await;
    // ...and are gone after a restart.
    let _server = start_at(dir.path()).await;
    assert_eq!(files_on_disk(dir.path()), referenced(dir.path()));
    assert_eq!(files_on_disk(dir.path()).len(), 1);
}

/// Segments at a load's flush size are never rewritten, and one merge takes only as many small
/// segments as fit its bounds: rounds stop once fewer than `min_segments` small ones are left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_leaves_large_segments_and_bounds_each_merge() {
    let (_dir, server, mut c) = one_bucket_table().await;
    exec(
        &mut c,
        "INSERT INTO t SELECT value, 'big' FROM generate_series(1, 20000)",
    )
    .await;
    for i in 0..6 {
        exec(
            &mut c,
            &format!("INSERT INTO t SELECT value, 's{i}' FROM generate_series(1, 10)"),
        )
        .await;
    }
    let catalog = server.frontend.catalog();
    let table = catalog.get_table("d", "t").unwrap().unwrap();
    let segs = catalog.segments(table.id).unwrap();
    assert_eq!(segs.len(), 7);
    let large = segs[0].clone();
    assert_eq!(large.rows, 20000);
    assert!(segs[1..].iter().all(|s| s.bytes < large.bytes));
    let before: Vec<(i32, String)> = c.query("SELECT k, v FROM t ORDER BY k, v").await.unwrap();

    // The 20000-row segment is not small; of the six small ones, four fit a merge of 40 rows.
    let policy = CompactionPolicy {
        small_bytes: large.bytes,
        min_segments: 4,
        merge_rows: 40,
        merge_bytes: u64::MAX,
    };
    let merged = strata_frontend::compact_once(&server.frontend, &policy)
        .await
        .unwrap();
    assert_eq!(merged, 1);
    let segs = catalog.segments(table.id).unwrap();
    let rows: Vec<u64> = segs.iter().map(|s| s.rows).collect();
    assert_eq!(rows, [20000, 10, 10, 40]);
    assert_eq!(segs[0], large);
    // Three small segments are left, under `min_segments`: the next round merges nothing.
    let merged = strata_frontend::compact_once(&server.frontend, &policy)
        .await
        .unwrap();
    assert_eq!(merged, 0);
    let after: Vec<(i32, String)> = c.query("SELECT k, v FROM t ORDER BY k, v").await.unwrap();
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_query_reads_only_its_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_at(dir.path()).await;
    let mut c = connect(server.mysql_addr.port(), None).await;
    // Distributed by a column that is not the sort key: rows are split into the 4 buckets.
    fresh_table(
        &mut c,
        "CREATE TABLE t (v INT, k INT) DUPLICATE KEY(v) DISTRIBUTED BY HASH(k) BUCKETS 4",
    )
    .await;
    exec(
        &mut c,
        "INSERT INTO t SELECT value * 2, value FROM generate_series(1, 1000)",
    )
    .await;
    let table = server
        .frontend
        .catalog()
        .get_table("d", "t")
        .unwrap()
        .unwrap();
    let segs = server.frontend.catalog().segments(table.id).unwrap();
    assert_eq!(segs.len(), 4, "one segment per bucket");
    // The bucket holding k = 123 is the one whose missing file breaks the point query; with
    // every other bucket's file removed the point query still answers: it never opens them.
    let target_bucket = {
        let mut found = None;
        for s in &segs {
            let path = dir.path().join("data").join(&s.path);
            let bytes = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            let r: Result<Option<i32>, _> = c.query_first("SELECT v FROM t WHERE k = 123").await;
            std::fs::write(&path, bytes).unwrap();
            if r.is_err() {
                found = Some(s.bucket);
            }
        }
        found.expect("some bucket holds k = 123")
    };
    for s in segs.iter().filter(|s| s.bucket != target_bucket) {
        std::fs::remove_file(dir.path().join("data").join(&s.path)).unwrap();
    }
    let v: Option<i32> = c
        .query_first("SELECT v FROM t WHERE k = 123")
        .await
        .unwrap();
    assert_eq!(v, Some(246));
    // A full scan needs the missing files and fails.
    assert!(c.query_drop("SELECT sum(v) FROM t").await.is_err());
    // Distributed by the sort key: one bucket, since statistics prune as well as buckets.
    exec(
        &mut c,
        "CREATE TABLE s (k INT, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 4",
    )
    .await;
    exec(
        &mut c,
        "INSERT INTO s SELECT value, value * 2 FROM generate_series(1, 1000)",
    )
    .await;
    let s_table = server
        .frontend
        .catalog()
        .get_table("d", "s")
        .unwrap()
        .unwrap();
    let segs = server.frontend.catalog().segments(s_table.id).unwrap();
    assert_eq!(segs.len(), 1, "one bucket");
    let show: (String, String) = c.query_first("SHOW CREATE TABLE s").await.unwrap().unwrap();
    assert!(show.1.contains("BUCKETS 4"), "{}", show.1);
    let v: Option<i32> = c
        .query_first("SELECT v FROM s WHERE k = 123")
        .await
        .unwrap();
    assert_eq!(v, Some(246));
}

/// A second `strata` on a data directory in use — with the same command line (its port is
/// taken) or another port — refuses to start, naming the directory and the process holding it,
/// and changes nothing: the first server's running load still commits every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_a_live_data_dir_refuses_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, mut c) = binary_with_big_table(dir.path()).await;

    const ROWS: u64 = 1_000_000;
    let loader = load_big(port, "l_live", ROWS);
    let deadline = Instant::now() + Duration::from_secs(120);
    while files_on_disk(dir.path()).is_empty() {
        assert!(!loader.is_finished(), "load ended before writing a segment");
        assert!(Instant::now() < deadline, "load wrote no segment in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let written = files_on_disk(dir.path());

    for second_port in [port, free_port()] {
        let data_dir = dir.path().to_path_buf();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_strata"))
                .arg("--data-dir")
                .arg(&data_dir)
                .arg("--mysql-addr")
                .arg(format!("127.0.0.1:{second_port}"))
                .arg("--http-addr")
                .arg(format!("127.0.0.1:{}", free_port()))
                .env("STRATA_LOG", "warn")
                .output()
                .expect("second strata runs")
        })
        .await
        .unwrap();
        assert!(!out.status.success(), "a second server started");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains(&format!(
                "{} is in use by process {}",
                dir.path().display(),
                child.id()
            )),
            "{said}"
        );
        assert!(
            !said.contains('\x1b'),
            "colour codes in a log that is not a terminal: {said}"
        );
    }
    // Nothing the first server wrote was deleted, and its load commits every row.
    assert!(written.is_subset(&files_on_disk(dir.path())));
    loader
        .await
        .unwrap()
        .expect("the first server's load commits");
    assert_eq!(count(&mut c, "SELECT count(*) FROM d.big").await, ROWS);
    let state: String = c
        .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_live'")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state, "FINISHED");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}
