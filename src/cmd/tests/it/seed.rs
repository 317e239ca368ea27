//! The FILES() issue's user story, verbatim, against a local S3-compatible server reached
//! through `AWS_ENDPOINT_URL`: the same SQL a user runs against AWS.

use mysql_async::prelude::Queryable;

use crate::crash::{free_port, spawn_binary_with_env, wait_connect};
use crate::s3::{S3Server, parquet, user_behavior};

const FILES: &str = r#"FILES
(
    "path" = "s3://starrocks-examples/user-behavior-10-million-rows.parquet",
    "format" = "parquet",
    "aws.s3.region" = "us-east-1",
    "aws.s3.access_key" = "AAAAAAAAAAAAAAAAAAAA",
    "aws.s3.secret_key" = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
)"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_statements_run_unchanged_against_aws_endpoint_url() {
    let s3 = S3Server::start_with(
        "AAAAAAAAAAAAAAAAAAAA",
        "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        "starrocks-examples",
    )
    .await;
    s3.put(
        "user-behavior-10-million-rows.parquet",
        parquet(&[user_behavior(0, 3000)], 1000),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_binary_with_env(dir.path(), port, &[("AWS_ENDPOINT_URL", &s3.endpoint)]);
    let mut c = wait_connect(port).await;
    for sql in [
        "ADMIN SET FRONTEND CONFIG ('default_replication_num' = \"1\")",
        "CREATE DATABASE IF NOT EXISTS mydatabase",
        "USE mydatabase",
    ] {
        c.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let rows: Vec<mysql_async::Row> = c
        .query(format!("SELECT * FROM {FILES} LIMIT 3"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);

    c.query_drop(format!(
        "CREATE TABLE user_behavior_inferred AS SELECT * FROM {FILES}"
    ))
    .await
    .unwrap();
    let desc: Vec<(String, String, String, String)> = c
        .query("SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.columns WHERE TABLE_NAME = 'user_behavior_inferred' ORDER BY ORDINAL_POSITION")
        .await
        .unwrap();
    let types: Vec<&str> = desc.iter().map(|d| d.1.as_str()).collect();
    assert_eq!(
        types,
        [
            "bigint(20)",
            "bigint(20)",
            "bigint(20)",
            "varchar(1048576)",
            "varchar(1048576)"
        ]
    );

    c.query_drop(
        "CREATE TABLE user_behavior_declared (UserID int(11), ItemID int(11), CategoryID int(11), \
         BehaviorType varchar(65533), Timestamp datetime) ENGINE = OLAP DUPLICATE KEY(UserID) \
         DISTRIBUTED BY HASH(UserID)",
    )
    .await
    .unwrap();
    c.query_drop(format!(
        "INSERT INTO user_behavior_declared SELECT * FROM {FILES}"
    ))
    .await
    .unwrap();
    // The OK packet (affected rows, info string) is checked with pymysql and the mysql CLI.
    let n: u64 = c
        .query_first("SELECT count(*) FROM user_behavior_declared")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 3000);
    let loads: Vec<(String, String, u64)> = c
        .query("SELECT LABEL, STATE, SINK_ROWS FROM information_schema.loads ORDER BY JOB_ID DESC")
        .await
        .unwrap();
    assert_eq!(loads.len(), 2);
    assert!(
        loads.iter().all(|l| l.1 == "FINISHED" && l.2 == 3000),
        "{loads:?}"
    );
    let label = &loads[0].0;
    let one: Vec<mysql_async::Row> = c
        .query(format!(
            "SELECT * FROM information_schema.loads WHERE LABEL = '{label}'"
        ))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].len(), 23);
    child.kill().unwrap();
    let _ = child.wait();
}
