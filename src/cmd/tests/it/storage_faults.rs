//! Storage that misbehaves, from a fault-injecting proxy in front of the local S3 server
//! (`fault_proxy.rs`): 503 SlowDown and 500 InternalError, connections reset mid-body, 403,
//! requests that are never answered, listings that lag behind writes. Loads retry what is retryable (`files/store.rs`'
//! `retry_config`) and otherwise fail naming the path and the store's error; nothing commits
//! half; pipes and Broker Load jobs recover when the store does.

use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::broker::poll;
use crate::fault_proxy::{Fault, FaultProxy};
use crate::harness::{TestServer, exec};
use crate::s3::{AK, BUCKET, S3Server, SK, parquet, user_behavior};

const FILE_ROWS: u64 = 400;

async fn store(prefix: &str, files: i64) -> (S3Server, FaultProxy) {
    let s3 = S3Server::start().await;
    for i in 0..files {
        let rows = user_behavior(i * FILE_ROWS as i64, FILE_ROWS as i64);
        s3.put(&format!("{prefix}/part-{i}.parquet"), parquet(&[rows], 100))
            .await;
    }
    let proxy = FaultProxy::start(&s3.endpoint).await;
    (s3, proxy)
}

fn files(proxy: &FaultProxy, prefix: &str) -> String {
    format!(
        "FILES(\"path\" = \"s3://{BUCKET}/{prefix}/*.parquet\", \"format\" = \"parquet\", \
         \"aws.s3.endpoint\" = \"{}\", \"aws.s3.access_key\" = \"{AK}\", \
         \"aws.s3.secret_key\" = \"{SK}\")",
        proxy.endpoint
    )
}

async fn table(c: &mut mysql_async::Conn, name: &str) {
    exec(
        c,
        &format!(
            "CREATE TABLE {name} (UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, BehaviorType \
             VARCHAR(20), Timestamp VARCHAR(32)) DISTRIBUTED BY HASH(UserID)"
        ),
    )
    .await;
}

async fn count(c: &mut mysql_async::Conn, sql: &str) -> u64 {
    c.query_first(sql).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_and_persistent_ones_fail_naming_path_and_error() {
    let (_s3, proxy) = store("sf", 3).await;
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE d").await;
    exec(&mut c, "USE d").await;
    table(&mut c, "t").await;

    // SlowDown twice, an internal error and a reset mid-body: retried, every row once.
    proxy.inject("part-1", Fault::Status(503), 2);
    proxy.inject("part-2", Fault::Status(500), 1);
    proxy.inject("part-0", Fault::Reset, 1);
    exec(
        &mut c,
        &format!(
            "INSERT INTO t WITH LABEL ok1 SELECT * FROM {}",
            files(&proxy, "sf")
        ),
    )
    .await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 3 * FILE_ROWS);

    // A store that keeps answering SlowDown: the load fails naming the file and the error,
    // and commits nothing.
    proxy.inject("part-1", Fault::Status(503), 1000);
    let err = c
        .query_drop(format!(
            "INSERT INTO t WITH LABEL slow SELECT * FROM {}",
            files(&proxy, "sf")
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("part-1.parquet"), "{err}");
    assert!(err.contains("503") || err.contains("SlowDown"), "{err}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 3 * FILE_ROWS);
    let state: String = c
        .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'slow'")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state, "CANCELLED");

    // Access denied is not retried: it fails the same way.
    proxy.inject("part-1", Fault::Status(403), 1000);
    let err = c
        .query_drop(format!(
            "INSERT INTO t SELECT * FROM {}",
            files(&proxy, "sf")
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("part-1.parquet"), "{err}");

    // The store recovers: the label the failure freed loads, once.
    proxy.heal();
    exec(
        &mut c,
        &format!(
            "INSERT INTO t WITH LABEL slow SELECT * FROM {}",
            files(&proxy, "sf")
        ),
    )
    .await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 6 * FILE_ROWS);

    // A Broker Load job through SlowDowns and resets finishes with every row.
    table(&mut c, "b").await;
    proxy.inject("part-0", Fault::Status(503), 3);
    proxy.inject("part-2", Fault::Reset, 2);
    exec(
        &mut c,
        &format!(
            "LOAD LABEL d.bl (DATA INFILE(\"s3://{BUCKET}/sf/*.parquet\") INTO TABLE b FORMAT AS \
             \"parquet\") WITH BROKER (\"aws.s3.endpoint\" = \"{}\", \"aws.s3.access_key\" = \
             \"{AK}\", \"aws.s3.secret_key\" = \"{SK}\")",
            proxy.endpoint
        ),
    )
    .await;
    poll(
        &mut c,
        "SELECT STATE FROM information_schema.loads WHERE LABEL = 'bl'",
        60,
        |s| s == "FINISHED",
    )
    .await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM b").await, 3 * FILE_ROWS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_recovers_when_its_store_does_and_a_lagging_listing_loses_nothing() {
    let (s3, proxy) = store("pf", 3).await;
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE d").await;
    exec(&mut c, "USE d").await;
    table(&mut c, "t").await;

    // The listing lags: the newest file shows up two listings late; and reads of another
    // fail more often than one batch's requests retry them.
    proxy.inject("part-2", Fault::Hide, 3);
    exec(
        &mut c,
        &format!(
            "CREATE PIPE p PROPERTIES (\"POLL_INTERVAL\" = \"1\", \"BATCH_FILES\" = \"1\") AS \
             INSERT INTO t SELECT * FROM {}",
            files(&proxy, "pf")
        ),
    )
    .await;
    proxy.inject("part-2.parquet", Fault::Status(500), 8);
    poll(&mut c, FINISHED, 90, |n| n == "3").await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 3 * FILE_ROWS);

    // Listings fail: the pipe says why, and a new file waits.
    proxy.inject("list-type", Fault::Status(503), 100_000);
    s3.put(
        "pf/part-3.parquet",
        parquet(&[user_behavior(10_000, FILE_ROWS as i64)], 100),
    )
    .await;
    let err = poll(
        &mut c,
        "SELECT LAST_ERROR FROM information_schema.pipes WHERE PIPE_NAME = 'p'",
        60,
        |e| e.contains("503"),
    )
    .await;
    assert!(err.contains("list"), "{err}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 3 * FILE_ROWS);

    // The store recovers: the new file loads, once.
    proxy.heal();
    poll(&mut c, FINISHED, 60, |n| n == "4").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 4 * FILE_ROWS);
}

const FINISHED: &str = "SELECT CAST(count(*) AS VARCHAR) FROM information_schema.pipe_files \
    WHERE PIPE_NAME = 'p' AND LOAD_STATE = 'FINISHED'";

/// A read the store never answers is given up after object_store's 30 s request timeout and
/// tried again: the load finishes with every row (it takes those 30 s, in parallel with the
/// other tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_read_times_out_and_is_retried() {
    let (_s3, proxy) = store("st", 2).await;
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE d").await;
    exec(&mut c, "USE d").await;
    table(&mut c, "t").await;
    proxy.inject("part-1.parquet", Fault::Stall, 1);
    exec(
        &mut c,
        &format!("INSERT INTO t SELECT * FROM {}", files(&proxy, "st")),
    )
    .await;
    assert_eq!(count(&mut c, "SELECT count(*) FROM t").await, 2 * FILE_ROWS);
    assert!(proxy.spent("part-1.parquet"), "the stall never happened");
}
