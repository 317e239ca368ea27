//! A pipe loading the seed's 57-file folder while the real binary is `kill -9`ed at random
//! moments: after every restart the table holds every row of each FINISHED file exactly once
//! and nothing of the others, and in the end all 57 files are loaded once. `/metrics` shows
//! the backlog falling to zero.
#![allow(clippy::print_stdout)] // the tests print what a run shows (seed, files read) for its log

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::crash::{free_port, wait_connect};
use crate::fault_proxy::FaultProxy;
use crate::harness::exec;
use crate::s3::{AK, BUCKET, S3Server, SK};

/// Rows in each fixture file of `pipe57/`.
const ROWS_PER_FILE: u64 = 20;
const FILES: u64 = 57;

fn spawn(dir: &std::path::Path, port: u16, http: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--mysql-addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--http-addr")
        .arg(format!("127.0.0.1:{http}"))
        .env("STRATA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strata binary starts")
}

/// A tiny xorshift generator: the kill moments follow from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// (rows in the table, FINISHED files in the ledger).
async fn state(c: &mut mysql_async::Conn) -> (u64, u64) {
    c.query_first(
        "SELECT (SELECT count(*) FROM d.t), (SELECT count(*) FROM information_schema.pipe_files \
         WHERE PIPE_NAME = 'p' AND LOAD_STATE = 'FINISHED')",
    )
    .await
    .unwrap()
    .unwrap()
}

/// The pipe's backlog bytes from `/metrics`.
async fn backlog(http: u16) -> Option<u64> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", http))
        .await
        .ok()?;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    body.lines()
        .find(|l| l.starts_with("strata_pipe_backlog_bytes{pipe=\"d.p\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_while_a_pipe_loads_never_loads_a_file_twice() {
    let kills: usize = std::env::var("STRATA_PIPE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("STRATA_PIPE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("pipe kill test: seed {seed} (STRATA_PIPE_SEED to repeat), {kills} kills");
    let mut rng = Rng(seed);

    let s3 = S3Server::start().await;
    s3.load_pipe_fixtures();
    let proxy = FaultProxy::start(&s3.endpoint).await;
    // Each GET waits a little: batches take long enough to be killed in the middle.
    proxy.delay_gets(90);

    let dir = tempfile::tempdir().unwrap();
    let (port, http) = (free_port(), free_port());
    let mut child = spawn(dir.path(), port, http);
    let mut c = wait_connect(port).await;
    exec(&mut c, "CREATE DATABASE d").await;
    exec(
        &mut c,
        "CREATE TABLE d.t (UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, \
         BehaviorType VARCHAR(10), Timestamp DATETIME) DISTRIBUTED BY HASH(UserID) BUCKETS 2",
    )
    .await;
    exec(
        &mut c,
        &format!(
            "CREATE PIPE d.p PROPERTIES ('POLL_INTERVAL' = '1', 'BATCH_FILES' = '3') AS \
             INSERT INTO d.t SELECT * FROM FILES('path' = 's3://{BUCKET}/pipe57/*', \
             'format' = 'parquet', 'aws.s3.endpoint' = '{}', 'aws.s3.access_key' = '{AK}', \
             'aws.s3.secret_key' = '{SK}')",
            proxy.endpoint
        ),
    )
    .await;
    // Credentials never come back: not in DESC PIPE, not in SHOW PIPES.
    for sql in ["DESC PIPE d.p", "SHOW PIPES FROM d"] {
        let rows: Vec<mysql_async::Row> = c.query(sql).await.unwrap();
        let text = format!("{rows:?}");
        assert!(!text.contains(SK) && !text.contains(AK), "{sql}: {text}");
    }
    let shown: Vec<mysql_async::Row> = c.query("SHOW PIPES FROM d").await.unwrap();
    let names: Vec<String> = shown[0]
        .columns_ref()
        .iter()
        .map(|c| c.name_str().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "DATABASE_NAME",
            "PIPE_ID",
            "PIPE_NAME",
            "STATE",
            "TABLE_NAME",
            "LOAD_STATUS",
            "LAST_ERROR",
            "CREATED_TIME"
        ]
    );
    let mut backlogs = Vec::new();
    let mut progress = Vec::new();
    for k in 0..kills {
        let wait = Duration::from_millis(200 + rng.next() % 1000);
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if let Some(b) = backlog(http).await {
                backlogs.push(b);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        child = spawn(dir.path(), port, http);
        let mut c = wait_connect(port).await;
        let (rows, finished) = state(&mut c).await;
        assert_eq!(
            rows,
            finished * ROWS_PER_FILE,
            "after kill {k}: the table must hold exactly the FINISHED files' rows"
        );
        progress.push(finished);
    }
    println!("pipe kill test: files FINISHED after each restart: {progress:?}");
    // Left alone, the pipe finishes the folder.
    let mut c = wait_connect(port).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(b) = backlog(http).await {
            backlogs.push(b);
        }
        let (rows, finished) = state(&mut c).await;
        assert_eq!(rows, finished * ROWS_PER_FILE);
        if finished == FILES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{finished} of {FILES} files loaded in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let labels: u64 = c
        .query_first(
            "SELECT count(DISTINCT LABEL) FROM information_schema.loads \
             WHERE LABEL LIKE 'pipe-p-task-%' AND STATE = 'FINISHED'",
        )
        .await
        .unwrap()
        .unwrap();
    println!(
        "pipe kill test: {FILES} files, {} rows, {labels} committed batches; backlog seen {:?}",
        FILES * ROWS_PER_FILE,
        backlogs.iter().max()
    );
    // The backlog fell to zero, from above zero.
    assert!(
        backlogs.iter().any(|b| *b > 0),
        "backlog never seen: {backlogs:?}"
    );
    let end = loop {
        if let Some(b) = backlog(http).await {
            break b;
        }
    };
    assert_eq!(end, 0);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}
