//! Broker Load beyond what `.slt` files can show: a job resumed after `kill -9` that reads only
//! the files it had not finished and commits every row once; live counters read from another
//! connection; SHOW LOAD's columns; the target table dropped while the job runs; a data
//! directory written before Broker Load existed.
#![allow(clippy::print_stdout)] // the tests print what a run shows (seed, files read) for its log

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use strata_catalog::Catalog;

use crate::crash::{free_port, spawn_binary_with_env, wait_connect};
use crate::fault_proxy::FaultProxy;
use crate::harness::{TestServer, exec, fresh_table, start_at, workspace_root};
use crate::s3::{AK, BUCKET, S3Server, SK};

/// `files` CSV files `<prefix>/part-<i>.csv` of `rows` rows each (`id,name`, ids unique).
async fn put_parts(s3: &S3Server, prefix: &str, files: usize, rows: usize) {
    for f in 0..files {
        let body: String = (0..rows)
            .map(|r| format!("{},name-{f}-{r}\n", f * rows + r))
            .collect();
        s3.put(&format!("{prefix}/part-{f}.csv"), body.into_bytes())
            .await;
    }
}

fn load_sql(label: &str, prefix: &str, endpoint: &str) -> String {
    format!(
        "LOAD LABEL {label} (DATA INFILE('s3://{BUCKET}/{prefix}/part-*.csv') INTO TABLE t \
         COLUMNS TERMINATED BY ',') WITH BROKER ('aws.s3.endpoint' = '{endpoint}', \
         'aws.s3.access_key' = '{AK}', 'aws.s3.secret_key' = '{SK}')"
    )
}

/// Polls `sql` (one string value) until `done` holds for it, up to `secs`.
pub(crate) async fn poll(
    c: &mut mysql_async::Conn,
    sql: &str,
    secs: u64,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v: Option<Option<String>> = c.query_first(sql).await.unwrap();
        let v = v.flatten().unwrap_or_default();
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{sql}: still {v:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The LOAD percentage of a PROGRESS string (`ETL:100%; LOAD:37%`).
fn load_percent(progress: &str) -> u64 {
    progress
        .rsplit("LOAD:")
        .next()
        .and_then(|p| p.trim_end_matches('%').parse().ok())
        .unwrap_or(0)
}

/// The `part-<i>` files the proxy saw GETs for.
fn parts_read(gets: &[String]) -> BTreeSet<String> {
    gets.iter()
        .filter_map(|g| {
            let i = g.find("part-")?;
            let rest = &g[i..];
            Some(rest[..rest.find(".csv")?].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_a_broker_job_loads_resumes_it_and_commits_every_row_once() {
    const FILES: usize = 8;
    const ROWS: usize = 500;
    let s3 = S3Server::start().await;
    put_parts(&s3, "resume", FILES, ROWS).await;
    let proxy = FaultProxy::start(&s3.endpoint).await;
    // Each GET waits: the job takes seconds, and the kill lands between its steps.
    proxy.delay_gets(300);

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_binary_with_env(dir.path(), port, &[]);
    let mut c = wait_connect(port).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (id BIGINT, name VARCHAR(40)) DISTRIBUTED BY HASH(id) BUCKETS 2",
    )
    .await;
    // One file per step: each finished file is a checkpoint.
    exec(
        &mut c,
        "ADMIN SET FRONTEND CONFIG ('broker_load_step_bytes' = '1')",
    )
    .await;
    exec(&mut c, &load_sql("resume_1", "resume", &proxy.endpoint)).await;
    let job_id: i64 = c
        .query_first("SELECT JOB_ID FROM information_schema.loads WHERE LABEL = 'resume_1'")
        .await
        .unwrap()
        .unwrap();
    let progress = "SELECT PROGRESS FROM information_schema.loads WHERE LABEL = 'resume_1'";
    // Kill once at least three of the eight files are staged.
    poll(&mut c, progress, 120, |p| load_percent(p) >= 37).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    // What the killed server had staged, read from its catalog.
    let staged: usize = {
        let cat = Catalog::open(&dir.path().join("meta.db")).unwrap();
        let steps = cat.staged_steps(job_id).unwrap();
        assert_eq!(
            cat.load_job(job_id).unwrap().unwrap().state,
            "LOADING",
            "the job was killed while it loaded"
        );
        steps.iter().map(|s| s.files.len()).sum()
    };
    assert!((3..FILES).contains(&staged), "{staged} files staged");
    proxy.take_gets();
    proxy.delay_gets(0);

    let mut child = spawn_binary_with_env(dir.path(), port, &[]);
    let mut c = wait_connect(port).await;
    let state = "SELECT STATE FROM information_schema.loads WHERE LABEL = 'resume_1'";
    poll(&mut c, state, 120, |s| s == "FINISHED").await;
    let read_after = parts_read(&proxy.take_gets());
    println!(
        "resumed job: {staged} of {FILES} files were staged at the kill; {} read after the restart: {read_after:?}",
        read_after.len()
    );
    assert_eq!(
        read_after.len(),
        FILES - staged,
        "the restarted job read only the files it had not finished"
    );
    let (n, distinct): (u64, u64) = c
        .query_first("SELECT count(*), count(DISTINCT id) FROM d.t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (n, distinct),
        ((FILES * ROWS) as u64, (FILES * ROWS) as u64)
    );
    let (scan, sink): (u64, u64) = c
        .query_first(
            "SELECT SCAN_ROWS, SINK_ROWS FROM information_schema.loads WHERE LABEL = 'resume_1'",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((scan, sink), ((FILES * ROWS) as u64, (FILES * ROWS) as u64));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_grow_while_a_job_runs_and_a_dropped_table_cancels_it() {
    let s3 = S3Server::start().await;
    put_parts(&s3, "live", 6, 200).await;
    let proxy = FaultProxy::start(&s3.endpoint).await;
    proxy.delay_gets(250);
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (id BIGINT, name VARCHAR(40)) DISTRIBUTED BY HASH(id) BUCKETS 2",
    )
    .await;
    exec(
        &mut c,
        "ADMIN SET FRONTEND CONFIG ('broker_load_step_bytes' = '1')",
    )
    .await;
    exec(&mut c, &load_sql("live_1", "live", &proxy.endpoint)).await;
    // From another connection: SCAN_ROWS grows while the job is LOADING.
    let mut other = server.conn(Some("d")).await;
    let scanned = poll(
        &mut other,
        "SELECT concat(STATE, ' ', SCAN_ROWS) FROM information_schema.loads WHERE LABEL = 'live_1'",
        60,
        |v| {
            v.strip_prefix("LOADING ")
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n > 0 && n < 1200)
        },
    )
    .await;
    println!("while loading: {scanned}");
    let state = "SELECT STATE FROM information_schema.loads WHERE LABEL = 'live_1'";
    poll(&mut other, state, 60, |s| s == "FINISHED").await;

    // SHOW LOAD: StarRocks' 20 columns, in order.
    let rows: Vec<mysql_async::Row> = other
        .query("SHOW LOAD WHERE LABEL = 'live_1'")
        .await
        .unwrap();
    assert_eq!(
        crate::harness::column_names(&rows[0]),
        crate::harness::SHOW_LOAD_COLUMNS
    );
    let etl: String = rows[0].get("EtlInfo").unwrap();
    assert_eq!(
        etl,
        "unselected.rows=0; dpp.abnorm.ALL=0; dpp.norm.ALL=1200"
    );
    let details: String = rows[0].get("JobDetails").unwrap();
    assert!(
        details.contains("\"FileNumber\":6,") && details.contains("\"ScanRows\":1200,"),
        "{details}"
    );

    // The table dropped while the job runs: CANCELLED, naming the table.
    exec(&mut c, &load_sql("live_2", "live", &proxy.endpoint)).await;
    poll(
        &mut other,
        "SELECT concat(STATE, ' ', SCAN_ROWS) FROM information_schema.loads WHERE LABEL = 'live_2'",
        60,
        |v| v.starts_with("LOADING ") && !v.ends_with(" 0"),
    )
    .await;
    exec(&mut c, "DROP TABLE t").await;
    let err = poll(
        &mut other,
        "SELECT concat(STATE, ' ', ERROR_MSG) FROM information_schema.loads WHERE LABEL = 'live_2'",
        60,
        |v| v.starts_with("CANCELLED"),
    )
    .await;
    assert!(
        err.starts_with("CANCELLED type:LOAD_RUN_FAIL; msg:") && err.contains("d.t"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_from_before_broker_load_opens_with_every_table_row_and_label() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = workspace_root().join("tests/fixtures/datadir-unversioned");
    copy_dir(&fixture, dir.path());
    let server = start_at(dir.path()).await;
    let mut c = crate::harness::connect(server.mysql_addr.port(), Some("legacy")).await;
    let rows: Vec<(i64, Option<String>)> = c
        .query("SELECT id, name FROM events ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, Some("a".into())),
            (2, Some("b".into())),
            (3, None),
            (4, Some("d".into()))
        ]
    );
    let copied: u64 = c
        .query_first("SELECT count(*) FROM copy")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copied, 2);
    let labels: Vec<(String, String, String)> = c
        .query("SELECT LABEL, STATE, PRIORITY FROM information_schema.loads WHERE LABEL = 'legacy_label_1'")
        .await
        .unwrap();
    assert_eq!(
        labels,
        vec![("legacy_label_1".into(), "FINISHED".into(), "NORMAL".into())]
    );
    // The old label is still taken, by INSERT and by Broker Load alike.
    let e = c
        .query_drop("INSERT INTO events WITH LABEL legacy_label_1 VALUES (5, 'e', NULL)")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("has already been used"), "{e}");
    // A Broker Load job runs in the upgraded directory.
    let csv = dir.path().join("more.csv");
    std::fs::write(
        &csv,
        "10\tj\t2024-02-01 00:00:00\n11\tk\t2024-02-02 00:00:00\n",
    )
    .unwrap();
    exec(
        &mut c,
        &format!(
            "LOAD LABEL upgraded_1 (DATA INFILE('file://{}') INTO TABLE events) WITH BROKER",
            csv.display()
        ),
    )
    .await;
    poll(
        &mut c,
        "SELECT STATE FROM information_schema.loads WHERE LABEL = 'upgraded_1'",
        60,
        |s| s == "FINISHED",
    )
    .await;
    let n: u64 = c
        .query_first("SELECT count(*) FROM events")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 6);
    drop(c);
    server.shutdown().await;
    let cat = Catalog::open(&dir.path().join("meta.db")).unwrap();
    assert_eq!(cat.list_loads().unwrap().len(), 4);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_segment_write_cancels_the_job_and_truncate_does_not_lose_its_rows() {
    let s3 = S3Server::start().await;
    put_parts(&s3, "trunc", 4, 200).await;
    let proxy = FaultProxy::start(&s3.endpoint).await;
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (id BIGINT, name VARCHAR(40)) DISTRIBUTED BY HASH(id) BUCKETS 2",
    )
    .await;
    exec(&mut c, "INSERT INTO t VALUES (-1, 'kept')").await;

    // The disk refuses a segment (as a full disk does): CANCELLED, naming the write; the
    // table keeps its row and nothing of the job.
    crate::crash::arm(&server.server.frontend, strata_common::fault::SEGMENT_WRITE);
    exec(&mut c, &load_sql("full_1", "trunc", &s3.endpoint)).await;
    let err = poll(
        &mut c,
        "SELECT concat(STATE, ' ', ERROR_MSG) FROM information_schema.loads WHERE LABEL = 'full_1'",
        60,
        |v| v.starts_with("CANCELLED"),
    )
    .await;
    assert!(
        err.starts_with("CANCELLED type:LOAD_RUN_FAIL; msg:") && err.contains("injected fault"),
        "{err}"
    );
    let n: u64 = c
        .query_first("SELECT count(*) FROM t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);

    // TRUNCATE while a job loads: the table is emptied then, and the job's rows, all of them,
    // arrive with its commit.
    proxy.delay_gets(250);
    exec(
        &mut c,
        "ADMIN SET FRONTEND CONFIG ('broker_load_step_bytes' = '1')",
    )
    .await;
    exec(&mut c, &load_sql("trunc_1", "trunc", &proxy.endpoint)).await;
    poll(
        &mut c,
        "SELECT concat(STATE, ' ', SCAN_ROWS) FROM information_schema.loads WHERE LABEL = 'trunc_1'",
        60,
        |v| v.starts_with("LOADING ") && !v.ends_with(" 0"),
    )
    .await;
    exec(&mut c, "TRUNCATE TABLE t").await;
    poll(
        &mut c,
        "SELECT STATE FROM information_schema.loads WHERE LABEL = 'trunc_1'",
        60,
        |s| s == "FINISHED",
    )
    .await;
    let (n, distinct): (u64, u64) = c
        .query_first("SELECT count(*), count(DISTINCT id) FROM t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((n, distinct), (800, 800));
}
