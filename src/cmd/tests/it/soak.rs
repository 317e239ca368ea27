//! Load and soak: 50 client connections run queries and small labelled INSERTs against the
//! real binary while a Broker Load job and two pipes load, for `STRATA_SOAK_SECS` (default
//! 45; hours for a long run). Every statement must succeed within a minute (no error, no
//! deadlock). Afterwards the server's open files are back within 8 of what they were before
//! the clients came; its threads and resident memory need no more in the second half of the
//! soak than in the first (a leak grows with the work done): threads within 4 of the first
//! half's peak (8 at the second half's peak), memory within 96 MiB of it and under three times
//! the start. Then a
//! graceful shutdown lands in the middle of the same work: it must finish within 30 s, and
//! after a restart every acknowledged INSERT is there, the job and the pipes finish, and every
//! row is loaded once.
#![allow(clippy::print_stdout)] // the figures, for the run's log

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::broker::poll;
use crate::crash::wait_connect;
use crate::faults::{Node, creds};
use crate::s3::{BUCKET, S3Server, parquet, user_behavior};

const CLIENTS: usize = 50;
const JOB_FILES: i64 = 12;
const JOB_FILE_ROWS: i64 = 2_000;
const PIPE_FILE_ROWS: i64 = 200;
const ENV: &[(&str, &str)] = &[("STRATA_COMPACTION_INTERVAL_MS", "1000")];

/// Open files, threads and resident KiB of process `pid`.
fn usage(pid: u32) -> (usize, u64, u64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (fds, field("Threads:"), field("VmRSS:"))
}

/// The names of process `pid`'s threads, counted.
fn thread_names(pid: u32) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        *out.entry(name.trim().to_string()).or_default() += 1;
    }
    out
}

/// Labels of acknowledged INSERTs and their rows.
type Acked = Arc<Mutex<Vec<(String, u64)>>>;

/// One client: small INSERTs and queries until `stop`; panics on any error or a statement
/// that takes over a minute.
async fn client(port: u16, id: usize, stop: Arc<AtomicBool>, acked: Acked, tolerate_end: bool) {
    let Ok(mut c) = tokio::time::timeout(Duration::from_secs(60), wait_connect(port)).await else {
        panic!("client {id} could not connect within a minute");
    };
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let label = format!("c{id}_{n}");
        let rows = 1 + (n % 5);
        let sql = match n % 4 {
            0 | 1 => {
                let values: Vec<String> = (0..rows).map(|i| format!("({i}, '{label}')")).collect();
                format!(
                    "INSERT INTO d.q WITH LABEL {label} VALUES {}",
                    values.join(", ")
                )
            }
            2 => "SELECT count(*), sum(k) FROM d.q".to_string(),
            _ => "SELECT LABEL, STATE FROM information_schema.loads ORDER BY CREATE_TIME DESC \
                  LIMIT 5"
                .to_string(),
        };
        let res = tokio::time::timeout(Duration::from_secs(60), c.query_drop(&sql)).await;
        match res {
            Ok(Ok(())) => {
                if n % 4 < 2 {
                    acked.lock().unwrap().push((label, rows));
                }
            }
            // A shutdown cuts connections: what was not acknowledged is not counted.
            Ok(Err(_)) if tolerate_end => return,
            Ok(Err(e)) => panic!("client {id}: {sql}: {e}"),
            Err(_) => panic!("client {id}: {sql} took over a minute (a deadlock?)"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_beside_a_job_and_two_pipes_leak_nothing_and_shut_down_cleanly() {
    let secs = strata_common::fuzz::env_count("STRATA_SOAK_SECS", 45) as u64;
    let s3 = Arc::new(S3Server::start().await);
    for i in 0..JOB_FILES {
        let rows = user_behavior(i * JOB_FILE_ROWS, JOB_FILE_ROWS);
        s3.put(&format!("job/part-{i:02}.parquet"), parquet(&[rows], 500))
            .await;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let node = Node::spawn_with(dir, ENV);
    let pid = node.pid();
    let mut c = wait_connect(node.port).await;
    let ub = "(UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, BehaviorType VARCHAR(20), \
              Timestamp VARCHAR(32)) DISTRIBUTED BY HASH(UserID)";
    let mut setup = vec![
        "CREATE DATABASE d".to_string(),
        "CREATE TABLE d.q (k BIGINT, tag VARCHAR(32)) DISTRIBUTED BY HASH(k)".into(),
        format!("CREATE TABLE d.b {ub}"),
        // A step per file: the job runs for a while, and a shutdown finds it mid-way.
        "ADMIN SET FRONTEND CONFIG ('broker_load_step_bytes' = '1')".into(),
    ];
    for p in ["p1", "p2"] {
        s3.put(
            &format!("{p}/f00000.parquet"),
            parquet(&[user_behavior(0, PIPE_FILE_ROWS)], 100),
        )
        .await;
        setup.push(format!("CREATE TABLE d.{p}t {ub}"));
        setup.push(format!(
            "CREATE PIPE d.{p} PROPERTIES (\"POLL_INTERVAL\" = \"1\") AS INSERT INTO d.{p}t \
             SELECT * FROM FILES(\"path\" = \"s3://{BUCKET}/{p}/*.parquet\", \"format\" = \
             \"parquet\", {})",
            creds(&s3)
        ));
    }
    for sql in &setup {
        c.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let job = |label: &str| {
        format!(
            "LOAD LABEL d.{label} (DATA INFILE(\"s3://{BUCKET}/job/*.parquet\") INTO TABLE b \
             FORMAT AS \"parquet\") WITH BROKER ({})",
            creds(&s3)
        )
    };
    // Files keep arriving for both pipes.
    let files_put = Arc::new(AtomicU64::new(1));
    let feeding = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (s3, put, stop) = (s3.clone(), files_put.clone(), feeding.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let n = put.load(Ordering::SeqCst);
                for p in ["p1", "p2"] {
                    let rows = user_behavior(n as i64 * 1000, PIPE_FILE_ROWS);
                    s3.put(&format!("{p}/f{n:05}.parquet"), parquet(&[rows], 100))
                        .await;
                }
                put.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = usage(pid);
    let threads_before = thread_names(pid);

    // The soak.
    c.query_drop(job("soak")).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Acked = Arc::default();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| tokio::spawn(client(node.port, id, stop.clone(), acked.clone(), false)))
        .collect();
    let began = Instant::now();
    // The first half's peak is what the work needs; the second half must need no more (a
    // leak grows with the work done).
    let (mut peak, mut first_half) = (before, before);
    while began.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let u = usage(pid);
        peak = (peak.0.max(u.0), peak.1.max(u.1), peak.2.max(u.2));
        if began.elapsed() < Duration::from_secs(secs / 2) {
            first_half = peak;
        }
    }
    stop.store(true, Ordering::SeqCst);
    for t in clients {
        t.await.expect("a client failed");
    }
    poll(
        &mut c,
        "SELECT STATE FROM information_schema.loads WHERE LABEL = 'soak'",
        120,
        |s| s == "FINISHED",
    )
    .await;
    // Idle threads of the runtimes' blocking pools exit after 10 s.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let after = usage(pid);
    let statements = acked.lock().unwrap().len();
    println!(
        "soak: {secs} s, {CLIENTS} clients, {statements} INSERTs acknowledged; open files \
         {} -> peak {} -> {}, threads {} -> {} -> {}, RSS {} -> {} -> {} MiB",
        before.0,
        peak.0,
        after.0,
        before.1,
        peak.1,
        after.1,
        before.2 / 1024,
        peak.2 / 1024,
        after.2 / 1024
    );
    assert!(
        statements > CLIENTS,
        "the clients got almost nothing done: {statements}"
    );
    assert!(
        after.0 <= before.0 + 8,
        "open files grew: {before:?} -> {after:?}"
    );
    // The statement runtime's blocking pool grows to what concurrent statements need and keeps
    // the threads background work (pipes polling every second, compaction) keeps waking: how
    // many depends on how the statements happened to overlap, so the bound is the concurrency
    // (one thread per client at most), not the first half's peak. A leak grows with the
    // statements run, which are many times the clients.
    assert!(
        statements > 4 * CLIENTS,
        "too few statements to tell a leak from concurrency: {statements}"
    );
    assert!(
        peak.1 <= before.1 + CLIENTS as u64 + 8 && after.1 <= peak.1,
        "threads grew: {before:?}, first half {first_half:?}, peak {peak:?}, after {after:?}: \
         {threads_before:?} -> {:?}",
        thread_names(pid)
    );
    assert!(
        after.2 <= first_half.2 + 96 * 1024 && after.2 <= before.2 * 3,
        "resident memory grew: {before:?}, first half {first_half:?}, after {after:?}"
    );

    // A graceful shutdown in the middle of the same work.
    c.query_drop(job("cut")).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            tokio::spawn(client(
                node.port,
                100 + id,
                stop.clone(),
                acked.clone(),
                true,
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(c);
    let shutting = Instant::now();
    node.stop();
    let took = shutting.elapsed();
    println!("soak: graceful shutdown under load took {took:?}");
    assert!(took < Duration::from_secs(30), "shutdown took {took:?}");
    stop.store(true, Ordering::SeqCst);
    for t in clients {
        t.await.expect("a client failed");
    }
    feeding.store(true, Ordering::SeqCst);
    feeder.await.unwrap();

    // After a restart: every acknowledged INSERT is there, the job and the pipes finish.
    let node = Node::spawn_with(dir, ENV);
    let mut c = wait_connect(node.port).await;
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    for chunk in acked.chunks(500) {
        let labels: Vec<String> = chunk.iter().map(|(l, _)| format!("'{l}'")).collect();
        let want: u64 = chunk.iter().map(|(_, r)| r).sum();
        let have: u64 = c
            .query_first(format!(
                "SELECT count(*) FROM d.q WHERE tag IN ({})",
                labels.join(", ")
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(have, want, "acknowledged INSERTs lost rows");
    }
    poll(
        &mut c,
        "SELECT STATE FROM information_schema.loads WHERE LABEL = 'cut'",
        120,
        |s| s == "FINISHED",
    )
    .await;
    let job_rows: u64 = c
        .query_first("SELECT count(*) FROM d.b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job_rows, 2 * (JOB_FILES * JOB_FILE_ROWS) as u64);
    let files = files_put.load(Ordering::SeqCst);
    for p in ["p1", "p2"] {
        poll(
            &mut c,
            &format!(
                "SELECT CAST(count(*) AS VARCHAR) FROM information_schema.pipe_files WHERE \
                 PIPE_NAME = '{p}' AND LOAD_STATE = 'FINISHED'"
            ),
            120,
            |n| n == files.to_string(),
        )
        .await;
        let rows: u64 = c
            .query_first(format!("SELECT count(*) FROM d.{p}t"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rows, files * PIPE_FILE_ROWS as u64, "pipe {p}");
    }
    drop(c);
    node.stop();
}
