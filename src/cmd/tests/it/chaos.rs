//! Crash consistency against a reference model: the real binary runs a random mix of INSERT
//! from FILES(), INSERT VALUES, CTAS, DROP, TRUNCATE, Broker Load jobs and a pipe that new
//! files keep arriving for, with compaction running every 300 ms, and is `kill -9`ed at a
//! random instant, again and again (`STRATA_CHAOS_KILLS`, default 50; the seed is printed and
//! `STRATA_FUZZ_SEED` replays a run). After every restart, against the model of what was
//! issued and what was acknowledged:
//!
//! - every load is all or nothing, its label's state says which, and an acknowledged one is
//!   FINISHED with all its rows (a CTAS table exists with all of them; a dropped one is gone);
//! - Broker Load jobs are never lost or cancelled by a crash, and their tables hold all of
//!   their rows or none;
//! - a pipe's rows are exactly its FINISHED files' rows, and no file is in ERROR;
//! - every segment the catalog references exists.
//!
//! At the end, after a last restart, every job and every pipe file finishes with each row
//! loaded exactly once, and after a clean stop the data directory holds exactly the files the
//! catalog references.
#![allow(clippy::print_stdout)] // the seed and the tally, for the run's log

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use strata_catalog::Catalog;
use strata_common::fuzz::{self, Rng};

use crate::crash::{files_on_disk, wait_connect};
use crate::faults::{Node, assert_files_match_catalog, creds};
use crate::s3::{BUCKET, S3Server, parquet, user_behavior};

/// Rows of the FILES() source (three files).
const SOURCE_ROWS: u64 = 3 * 400;
/// Rows of an INSERT ... VALUES.
const VALUES_ROWS: u64 = 50;
/// Rows of each file that arrives for the pipe.
const PIPE_FILE_ROWS: u64 = 100;

const ENV: &[(&str, &str)] = &[
    ("STRATA_COMPACTION_INTERVAL_MS", "300"),
    // Loads write several segments, so kills land between them too.
    ("STRATA_SEGMENT_FLUSH_ROWS", "200"),
];

/// What was asked of the server, and what it acknowledged.
#[derive(Default, Clone)]
struct Model {
    /// INSERT labels and their rows (tag = label in `d.t`).
    inserts: BTreeMap<String, u64>,
    inserts_acked: BTreeSet<String>,
    /// CTAS tables and their rows.
    ctas: BTreeMap<String, u64>,
    ctas_acked: BTreeSet<String>,
    /// CTAS tables a DROP was sent for, and those it was acknowledged for.
    drops: BTreeSet<String>,
    drops_acked: BTreeSet<String>,
    /// Broker Load labels acknowledged (each loads `d.<label>`).
    jobs: BTreeSet<String>,
    /// Files put for the pipe.
    pipe_files: u64,
    next: u64,
    /// Operations the server answered OK before it was killed.
    answered: u64,
}

type Shared = Arc<Mutex<Model>>;

fn source(s3: &S3Server) -> String {
    format!(
        "FILES(\"path\" = \"s3://{BUCKET}/src/*.parquet\", \"format\" = \"parquet\", {})",
        creds(s3)
    )
}

const UB_COLUMNS: &str = "(UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, BehaviorType \
    VARCHAR(20), Timestamp VARCHAR(32))";

async fn one(c: &mut mysql_async::Conn, sql: &str) -> u64 {
    c.query_first::<u64, _>(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or(0)
}

async fn text(c: &mut mysql_async::Conn, sql: &str) -> Option<String> {
    c.query_first::<Option<String>, _>(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .flatten()
}

/// One random operation on its own connection; acknowledgements go into the model.
async fn operate(port: u16, s3: Arc<S3Server>, model: Shared, pick: usize, n: u64) {
    let mut c = wait_connect(port).await;
    match pick {
        0 | 1 => {
            let (label, sql, rows) = if pick == 0 {
                let l = format!("i{n}");
                let sql = format!(
                    "INSERT INTO d.t WITH LABEL {l} SELECT UserID, '{l}' FROM {}",
                    source(&s3)
                );
                (l, sql, SOURCE_ROWS)
            } else {
                let l = format!("v{n}");
                let values: Vec<String> =
                    (0..VALUES_ROWS).map(|i| format!("({i}, '{l}')")).collect();
                let sql = format!(
                    "INSERT INTO d.t WITH LABEL {l} VALUES {}",
                    values.join(", ")
                );
                (l, sql, VALUES_ROWS)
            };
            model.lock().unwrap().inserts.insert(label.clone(), rows);
            if c.query_drop(&sql).await.is_ok() {
                let mut m = model.lock().unwrap();
                m.inserts_acked.insert(label);
                m.answered += 1;
            }
        }
        2 => {
            let name = format!("c{n}");
            model.lock().unwrap().ctas.insert(name.clone(), SOURCE_ROWS);
            let sql = format!(
                "CREATE TABLE d.{name} AS SELECT UserID FROM {}",
                source(&s3)
            );
            if c.query_drop(&sql).await.is_ok() {
                let mut m = model.lock().unwrap();
                m.ctas_acked.insert(name);
                m.answered += 1;
            }
        }
        3 => {
            let victim = {
                let m = model.lock().unwrap();
                m.ctas_acked.difference(&m.drops).next().cloned()
            };
            if let Some(v) = victim {
                model.lock().unwrap().drops.insert(v.clone());
                if c.query_drop(format!("DROP TABLE d.{v}")).await.is_ok() {
                    let mut m = model.lock().unwrap();
                    m.drops_acked.insert(v);
                    m.answered += 1;
                }
            }
        }
        4 => {
            let label = format!("b{n}");
            let ok = c
                .query_drop(format!(
                    "CREATE TABLE d.{label} {UB_COLUMNS} DISTRIBUTED BY HASH(UserID)"
                ))
                .await
                .is_ok()
                && c.query_drop(format!(
                    "LOAD LABEL d.{label} (DATA INFILE(\"s3://{BUCKET}/src/*.parquet\") INTO TABLE \
                     {label} FORMAT AS \"parquet\") WITH BROKER ({})",
                    creds(&s3)
                ))
                .await
                .is_ok();
            if ok {
                let mut m = model.lock().unwrap();
                m.jobs.insert(label);
                m.answered += 1;
            }
        }
        5 => {
            let values: Vec<String> = (0..VALUES_ROWS).map(|i| format!("({i})")).collect();
            if c.query_drop(format!("INSERT INTO d.x VALUES {}", values.join(", ")))
                .await
                .is_ok()
            {
                model.lock().unwrap().answered += 1;
            }
        }
        _ => {
            if c.query_drop("TRUNCATE TABLE d.x").await.is_ok() {
                model.lock().unwrap().answered += 1;
            }
        }
    }
}

/// Checks the model's invariants against a freshly restarted server; `restarted` is when it
/// was started (files written before then must all be referenced: start-up removed the rest).
async fn check(
    c: &mut mysql_async::Conn,
    m: &Model,
    data_dir: &std::path::Path,
    restarted: std::time::SystemTime,
    when: &str,
) {
    // INSERT jobs do not resume (start-up cancels what a crash interrupted), so their labels
    // and rows hold still while this reads them: two queries, whatever the model's size.
    let states: BTreeMap<String, String> = c
        .query::<(String, String), _>(
            "SELECT LABEL, STATE FROM information_schema.loads WHERE TYPE = 'INSERT'",
        )
        .await
        .unwrap()
        .into_iter()
        .collect();
    let counts: BTreeMap<String, u64> = c
        .query::<(String, u64), _>("SELECT tag, count(*) FROM d.t GROUP BY tag")
        .await
        .unwrap()
        .into_iter()
        .collect();
    for (label, rows) in &m.inserts {
        let state = states.get(label);
        let have = counts.get(label).copied().unwrap_or(0);
        let finished = state.map(String::as_str) == Some("FINISHED");
        assert_eq!(
            have,
            if finished { *rows } else { 0 },
            "{when}: load {label} ({state:?})"
        );
        if m.inserts_acked.contains(label) {
            assert!(finished, "{when}: acknowledged load {label} is {state:?}");
        }
    }
    let tables: BTreeSet<String> = c
        .query::<String, _>(
            "SELECT TABLE_NAME FROM information_schema.tables WHERE TABLE_SCHEMA = 'd'",
        )
        .await
        .unwrap()
        .into_iter()
        .collect();
    for (name, rows) in &m.ctas {
        let exists = tables.contains(name);
        if m.drops_acked.contains(name) {
            assert!(!exists, "{when}: dropped table {name} exists");
            continue;
        }
        if m.ctas_acked.contains(name) && !m.drops.contains(name) {
            assert!(exists, "{when}: acknowledged CTAS {name} is missing");
        }
        if exists {
            assert_eq!(
                one(c, &format!("SELECT count(*) FROM d.{name}")).await,
                *rows,
                "{when}: {name}"
            );
        }
    }
    // A resumed job may commit while this looks: a reading counts when its state is the same
    // before and after its rows are counted (rows and state commit together).
    let state_of =
        |label: &str| format!("SELECT STATE FROM information_schema.loads WHERE LABEL = '{label}'");
    for label in &m.jobs {
        let (state, have) = loop {
            let state = text(c, &state_of(label)).await.unwrap_or_default();
            let have = one(c, &format!("SELECT count(*) FROM d.{label}")).await;
            if text(c, &state_of(label)).await.unwrap_or_default() == state {
                break (state, have);
            }
        };
        assert!(
            matches!(
                state.as_str(),
                "PENDING" | "QUEUEING" | "LOADING" | "FINISHED"
            ),
            "{when}: job {label} is {state}"
        );
        let want = if state == "FINISHED" { SOURCE_ROWS } else { 0 };
        assert_eq!(have, want, "{when}: job {label} ({state})");
    }
    // Batches commit while this looks: a reading counts only when the FINISHED count is the
    // same before and after the rows are counted (a batch commits its rows and its files'
    // states together).
    let files = |state: &str| {
        format!(
            "SELECT count(*) FROM information_schema.pipe_files WHERE PIPE_NAME = 'p' AND \
             LOAD_STATE = '{state}'"
        )
    };
    let mut stable = false;
    for _ in 0..50 {
        let before = one(c, &files("FINISHED")).await;
        let rows = one(c, "SELECT count(*) FROM d.pt").await;
        if one(c, &files("FINISHED")).await == before {
            assert_eq!(
                rows,
                before * PIPE_FILE_ROWS,
                "{when}: pipe rows vs FINISHED files"
            );
            stable = true;
            break;
        }
    }
    assert!(stable, "{when}: the pipe never held still");
    assert_eq!(
        one(c, &files("ERROR")).await,
        0,
        "{when}: pipe files in ERROR"
    );
    let cat = Catalog::open(&data_dir.join("meta.db")).unwrap();
    assert_eq!(
        cat.integrity_check().unwrap(),
        "ok",
        "{when}: the catalog is damaged"
    );
    let on_disk = files_on_disk(data_dir);
    for p in cat.all_segment_paths().unwrap() {
        assert!(
            on_disk.contains(&p),
            "{when}: referenced segment {p} is missing"
        );
    }
    // Read after the files were listed, so a file committed meanwhile is known.
    let known: BTreeSet<String> = cat
        .all_segment_paths()
        .unwrap()
        .into_iter()
        .chain(cat.staged_paths().unwrap())
        .chain(cat.gc_files().unwrap())
        .collect();
    for p in on_disk.difference(&known) {
        let modified = std::fs::metadata(data_dir.join("data").join(p)).and_then(|m| m.modified());
        // Gone meanwhile (compaction's GC), or written by this server since it started.
        if let Ok(t) = modified {
            assert!(
                t >= restarted,
                "{when}: {p}, written before the restart, is orphaned"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_work_killed_at_random_instants_keeps_every_promise() {
    let seed = fuzz::seed();
    let kills = fuzz::env_count("STRATA_CHAOS_KILLS", 50);
    println!("chaos: seed {seed}, {kills} kills");
    let mut rng = Rng::new(seed);
    let s3 = Arc::new(S3Server::start().await);
    for i in 0..3 {
        s3.put(
            &format!("src/part-{i}.parquet"),
            parquet(&[user_behavior(i * 400, 400)], 100),
        )
        .await;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data_dir = dir.join("data-dir");
    let model: Shared = Arc::default();
    {
        let node = Node::spawn_with(dir, ENV);
        let mut c = wait_connect(node.port).await;
        for sql in [
            "CREATE DATABASE d".to_string(),
            "CREATE TABLE d.t (k BIGINT, tag VARCHAR(32)) DISTRIBUTED BY HASH(k) BUCKETS 2".into(),
            "CREATE TABLE d.x (a INT) DISTRIBUTED BY HASH(a)".into(),
            format!("CREATE TABLE d.pt {UB_COLUMNS} DISTRIBUTED BY HASH(UserID)"),
            "ADMIN SET FRONTEND CONFIG ('broker_load_step_bytes' = '1')".into(),
            format!(
                "CREATE PIPE d.p PROPERTIES (\"POLL_INTERVAL\" = \"1\", \"BATCH_FILES\" = \"2\") \
                 AS INSERT INTO d.pt SELECT * FROM FILES(\"path\" = \
                 \"s3://{BUCKET}/pipe/*.parquet\", \"format\" = \"parquet\", {})",
                creds(&s3)
            ),
        ] {
            c.query_drop(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        node.stop();
    }
    let mut ops_sent = 0;
    for k in 0..kills {
        let restarted = std::time::SystemTime::now();
        let node = Node::spawn_with(dir, ENV);
        let mut c = wait_connect(node.port).await;
        let snapshot = model.lock().unwrap().clone();
        check(
            &mut c,
            &snapshot,
            &data_dir,
            restarted,
            &format!("after kill {k}"),
        )
        .await;
        // New work: a file for the pipe now and then, and one to three statements at once.
        if rng.below(3) == 0 {
            let n = {
                let mut m = model.lock().unwrap();
                m.pipe_files += 1;
                m.pipe_files
            };
            let rows = user_behavior(100_000 + n as i64 * 1000, PIPE_FILE_ROWS as i64);
            s3.put(&format!("pipe/f{n:05}.parquet"), parquet(&[rows], 100))
                .await;
        }
        let mut tasks = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let n = {
                let mut m = model.lock().unwrap();
                m.next += 1;
                m.next
            };
            let pick = rng.below(7);
            ops_sent += 1;
            tasks.push(tokio::spawn(operate(
                node.port,
                s3.clone(),
                model.clone(),
                pick,
                n,
            )));
        }
        // The kill lands anywhere from before the statements arrive to after they finish.
        tokio::time::sleep(Duration::from_millis(rng.below(300) as u64)).await;
        drop(c);
        drop(node);
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }

    // A last start: every job and pipe file finishes; rows are loaded exactly once.
    let restarted = std::time::SystemTime::now();
    let node = Node::spawn_with(dir, ENV);
    let mut c = wait_connect(node.port).await;
    let m = std::mem::take(&mut *model.lock().unwrap());
    check(&mut c, &m, &data_dir, restarted, "after the last restart").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut jobs_done = 0;
        for label in &m.jobs {
            let state = text(
                &mut c,
                &format!("SELECT STATE FROM information_schema.loads WHERE LABEL = '{label}'"),
            )
            .await;
            jobs_done += u64::from(state.as_deref() == Some("FINISHED"));
        }
        let files_done = one(
            &mut c,
            "SELECT count(*) FROM information_schema.pipe_files WHERE PIPE_NAME = 'p' AND \
             LOAD_STATE = 'FINISHED'",
        )
        .await;
        if jobs_done == m.jobs.len() as u64 && files_done == m.pipe_files {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs {jobs_done}/{}, pipe files {files_done}/{}",
            m.jobs.len(),
            m.pipe_files
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check(&mut c, &m, &data_dir, restarted, "at the end").await;
    assert_eq!(
        one(&mut c, "SELECT count(*) FROM d.pt").await,
        m.pipe_files * PIPE_FILE_ROWS
    );
    drop(c);
    node.stop();
    assert_files_match_catalog(&data_dir, "at the end");
    println!(
        "chaos: {kills} kills, {ops_sent} operations ({} answered OK before their kill); loads \
         {} ({} acknowledged), CTAS {} ({}), drops {}, Broker Load jobs {}, pipe files {}",
        m.answered,
        m.inserts.len(),
        m.inserts_acked.len(),
        m.ctas.len(),
        m.ctas_acked.len(),
        m.drops_acked.len(),
        m.jobs.len(),
        m.pipe_files
    );
}
