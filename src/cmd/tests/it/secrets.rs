//! A known secret key, used by all three load methods (INSERT + FILES(), Broker Load, a
//! pipe) against the real binary logging at `debug`, is found nowhere afterwards: not in the
//! server log, any SHOW output, any `information_schema` table, `/metrics`, nor the catalog
//! files on disk (where a job's and a pipe's credentials are kept sealed). A user's password
//! and the hash `mysql_native_password` checks logins against are not in them either.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::crash::{free_port, wait_connect};
use crate::harness::exec;
use crate::s3::{BUCKET, S3Server, parquet, user_behavior};

const KEY_ID: &str = "AKIDKNOWNSECRET00001";
const SECRET: &str = "Known/Secret+Key/that/must/never/appear/0001";
const PASSWORD: &str = "Known-Password-never-shown-0001";

/// SHA1(SHA1(PASSWORD)) in hex, as MySQL prints it and `mysql_native_password` needs it.
fn password_hash() -> String {
    strata_protocol_mysql::scramble_password(PASSWORD)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

async fn rows_text(c: &mut mysql_async::Conn, sql: &str) -> String {
    let rows: Vec<mysql_async::Row> = c.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    format!("{rows:?}")
}

async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    body
}

fn assert_clean(what: &str, text: &str) {
    let hash = password_hash();
    let lower = hash.to_ascii_lowercase();
    for needle in [SECRET, KEY_ID, PASSWORD, hash.as_str(), lower.as_str()] {
        assert!(
            !text.contains(needle),
            "{what} shows a credential ({needle}):\n{}",
            &text[text.find(needle).unwrap().saturating_sub(200)..]
                .chars()
                .take(400)
                .collect::<String>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_secret_key_appears_nowhere_after_all_three_load_methods() {
    let s3 = S3Server::start_with(KEY_ID, SECRET, BUCKET).await;
    s3.put("ub/a.parquet", parquet(&[user_behavior(0, 20)], 1000))
        .await;
    s3.put("pipe/1.parquet", parquet(&[user_behavior(100, 5)], 1000))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let data = dir.path().join("data");
    let (port, http) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--mysql-addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--http-addr")
        .arg(format!("127.0.0.1:{http}"))
        .arg("--log")
        .arg("debug")
        .stdout(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("stderr.log")).unwrap(),
        ))
        .spawn()
        .expect("strata binary starts");
    let mut c = wait_connect(port).await;
    let creds = format!(
        "\"aws.s3.endpoint\" = \"{}\", \"aws.s3.access_key\" = \"{KEY_ID}\", \
         \"aws.s3.secret_key\" = \"{SECRET}\"",
        s3.endpoint
    );
    for sql in [
        "CREATE DATABASE d".to_string(),
        "USE d".to_string(),
        "CREATE TABLE t (UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, BehaviorType \
         VARCHAR(20), Timestamp VARCHAR(32)) DISTRIBUTED BY HASH(UserID)"
            .to_string(),
        format!("CREATE USER loader IDENTIFIED BY '{PASSWORD}'"),
        "GRANT SELECT ON TABLE d.t TO USER loader".to_string(),
        format!(
            "INSERT INTO t WITH LABEL ins SELECT * FROM FILES(\"path\" = \
             \"s3://{BUCKET}/ub/a.parquet\", \"format\" = \"parquet\", {creds})"
        ),
        format!(
            "LOAD LABEL d.brk (DATA INFILE(\"s3://{BUCKET}/ub/a.parquet\") INTO TABLE t \
             FORMAT AS \"parquet\") WITH BROKER ({creds})"
        ),
        format!(
            "CREATE PIPE p PROPERTIES (\"AUTO_INGEST\" = \"TRUE\", \"POLL_INTERVAL\" = \"1\") AS \
             INSERT INTO t SELECT * FROM FILES(\"path\" = \"s3://{BUCKET}/pipe/*.parquet\", \
             \"format\" = \"parquet\", {creds})"
        ),
    ] {
        exec(&mut c, &sql).await;
    }
    // A failing one too: its error message must not carry the key either.
    let _ = c
        .query_drop(format!(
            "INSERT INTO t SELECT * FROM FILES(\"path\" = \"s3://{BUCKET}/none/*.parquet\", \
             \"format\" = \"parquet\", {creds})"
        ))
        .await
        .map_err(|e| assert_clean("an error message", &e.to_string()));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: u64 = c
            .query_first("SELECT count(*) FROM t")
            .await
            .unwrap()
            .unwrap();
        if n == 45 {
            break;
        }
        assert!(Instant::now() < deadline, "loads did not finish: {n} rows");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The sealed hash still checks the password, and only the password.
    let mut l = crate::privileges::login(port, "loader", PASSWORD)
        .await
        .expect("loader logs in with its password");
    let n: u64 = l
        .query_first("SELECT count(*) FROM d.t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 45);
    drop(l);
    let wrong = crate::privileges::login(port, "loader", "not-it").await;
    assert!(wrong.is_err_and(|e| e.contains("Access denied")));

    let mut shown = String::new();
    for sql in [
        "SHOW LOAD",
        "SHOW PIPES",
        "DESC PIPE p",
        "SHOW PROCESSLIST",
        "SHOW CREATE TABLE t",
        "SHOW VARIABLES",
        "ADMIN SHOW FRONTEND CONFIG",
    ] {
        shown.push_str(&rows_text(&mut c, sql).await);
    }
    let tables: Vec<String> = c
        .query("SHOW TABLES FROM information_schema")
        .await
        .unwrap();
    assert!(tables.len() >= 9, "{tables:?}");
    for t in tables {
        shown.push_str(&rows_text(&mut c, &format!("SELECT * FROM information_schema.{t}")).await);
    }
    assert!(shown.contains("brk") && shown.contains("ins"), "{shown}");
    assert_clean("SHOW and information_schema", &shown);
    assert_clean("/metrics", &http_get(http, "/metrics").await);

    drop(c);
    let _ = child.kill();
    let _ = child.wait();
    let mut log = std::fs::read_to_string(&log_path).unwrap_or_default();
    log.push_str(&std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default());
    assert!(log.len() > 1000, "the debug log is nearly empty: {log}");
    assert_clean("the server log", &log);
    for f in ["meta.db", "meta.db-wal"] {
        let bytes = std::fs::read(data.join(f)).unwrap_or_default();
        assert_clean(f, &String::from_utf8_lossy(&bytes));
    }
}
