//! SHOW LOAD and `information_schema.load_tracking_logs` for INSERT jobs.

use mysql_async::prelude::Queryable;

use crate::harness::{TestServer, exec, fresh_table};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_load_lists_a_databases_jobs_in_starrocks_columns() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE sl").await;
    exec(&mut c, "CREATE DATABASE other").await;
    exec(&mut c, "USE sl").await;
    exec(
        &mut c,
        "CREATE TABLE t (a INT, d DATETIME) DISTRIBUTED BY HASH(a)",
    )
    .await;
    exec(
        &mut c,
        "CREATE TABLE other.t (a INT) DISTRIBUTED BY HASH(a)",
    )
    .await;
    exec(
        &mut c,
        "INSERT INTO t WITH LABEL first_ok VALUES (1, '2024-01-01')",
    )
    .await;
    assert!(
        c.query_drop("INSERT INTO t WITH LABEL second_bad VALUES (2, 'junk')")
            .await
            .is_err()
    );
    exec(&mut c, "INSERT INTO t WITH LABEL third_ok VALUES (3, NULL)").await;
    exec(
        &mut c,
        "INSERT INTO other.t WITH LABEL elsewhere VALUES (4)",
    )
    .await;

    let rows: Vec<mysql_async::Row> = c.query("SHOW LOAD").await.unwrap();
    assert_eq!(
        crate::harness::column_names(&rows[0]),
        crate::harness::SHOW_LOAD_COLUMNS
    );
    let labels = |rows: &[mysql_async::Row]| -> Vec<String> {
        rows.iter()
            .map(|r| r.get::<String, _>(1).unwrap())
            .collect()
    };
    assert_eq!(labels(&rows), ["first_ok", "second_bad", "third_ok"]);
    assert_eq!(rows[0].get::<String, _>(2).unwrap(), "FINISHED");
    assert_eq!(rows[0].get::<String, _>(3).unwrap(), "ETL:100%; LOAD:100%");
    assert_eq!(rows[0].get::<String, _>(4).unwrap(), "INSERT");
    assert_eq!(rows[1].get::<String, _>(2).unwrap(), "CANCELLED");
    assert!(
        rows[1]
            .get::<String, _>(12)
            .unwrap()
            .contains("Insert has filtered data"),
        "{:?}",
        rows[1]
    );

    let got: Vec<mysql_async::Row> = c
        .query("SHOW LOAD WHERE LABEL LIKE 'ok' ORDER BY JobId DESC")
        .await
        .unwrap();
    assert_eq!(labels(&got), ["third_ok", "first_ok"]);
    let got: Vec<mysql_async::Row> = c
        .query("SHOW LOAD WHERE STATE = 'CANCELLED'")
        .await
        .unwrap();
    assert_eq!(labels(&got), ["second_bad"]);
    let got: Vec<mysql_async::Row> = c.query("SHOW LOAD LIMIT 1, 1").await.unwrap();
    assert_eq!(labels(&got), ["second_bad"]);
    let got: Vec<mysql_async::Row> = c
        .query("SHOW LOAD FROM other WHERE LABEL = 'elsewhere'")
        .await
        .unwrap();
    assert_eq!(labels(&got), ["elsewhere"]);

    let log: Option<(String, String)> = c
        .query_first(
            "SELECT l.LABEL, t.TRACKING_LOG FROM information_schema.load_tracking_logs t \
             JOIN information_schema.loads l ON t.JOB_ID = l.JOB_ID",
        )
        .await
        .unwrap();
    let (label, text) = log.unwrap();
    assert_eq!(label, "second_bad");
    assert!(text.contains("row 1, column 'd', value 'junk'"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_keeps_no_credentials_of_an_insert_and_the_data_dir_is_private() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (a INT) DISTRIBUTED BY HASH(a) BUCKETS 1",
    )
    .await;
    let secret = "s3cr3t/KEY/never-stored";
    // The load fails (no such server), but its job and statement are recorded.
    let _ = c
        .query_drop(format!(
            "INSERT INTO t WITH LABEL with_keys SELECT 1 FROM FILES('path' = 's3://b/k.csv', \
             'format' = 'csv', 'aws.s3.endpoint' = 'http://127.0.0.1:9', \
             'aws.s3.access_key' = 'AKIDSTORED', 'aws.s3.secret_key' = '{secret}')"
        ))
        .await;
    let dir = server.dir.path();
    drop(c);
    let stored: Vec<String> = strata_catalog::Catalog::open(&dir.join("meta.db"))
        .unwrap()
        .list_loads()
        .unwrap()
        .into_iter()
        .map(|l| l.sql)
        .collect();
    assert!(!stored.is_empty());
    for sql in &stored {
        assert!(
            !sql.contains(secret) && !sql.contains("AKIDSTORED"),
            "{sql}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir), 0o700);
        assert_eq!(mode(&dir.join("meta.db")), 0o600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_reads_local_files_only_where_the_operator_allows() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = tempfile::tempdir().unwrap();
    std::fs::write(allowed.path().join("ok.csv"), "1\n2\n").unwrap();
    let config = strata::Config {
        data_dir: dir.path().to_path_buf(),
        mysql_addr: "127.0.0.1:0".into(),
        http_addr: "127.0.0.1:0".into(),
        log: "warn".into(),
        allow_local_paths: vec![allowed.path().to_path_buf()],
        ..Default::default()
    };
    let server = strata::Server::start(&config).await.unwrap();
    let mut c = crate::harness::connect(server.mysql_addr.port(), None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (a INT) DISTRIBUTED BY HASH(a) BUCKETS 1",
    )
    .await;
    let ok = format!("file://{}/ok.csv", allowed.path().display());
    let n: u64 = c
        .query_first(format!(
            "SELECT count(*) FROM FILES('path' = '{ok}', 'format' = 'csv')"
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 2);
    let escape = format!("file://{}/../../etc/passwd", allowed.path().display());
    for sql in [
        "SELECT * FROM FILES('path' = 'file:///etc/passwd', 'format' = 'csv')".to_string(),
        format!("SELECT * FROM FILES('path' = '{escape}', 'format' = 'csv')"),
        "DESC FILES('path' = 'file:///etc/passwd', 'format' = 'csv')".to_string(),
        "LOAD LABEL l1 (DATA INFILE('file:///etc/passwd') INTO TABLE t) WITH BROKER".to_string(),
        "CREATE PIPE p AS INSERT INTO t SELECT $1 FROM FILES('path' = 'file:///etc/*', 'format' = 'csv')".to_string(),
        "SELECT * FROM FILES('path' = 's3://b/k', 'format' = 'csv', 'aws.s3.endpoint' = 'http://169.254.169.254')".to_string(),
    ] {
        let e = c.query_drop(&sql).await.unwrap_err();
        assert!(e.to_string().contains("Access denied"), "{sql}: {e}");
    }
    drop(c);
    server.shutdown().await;
}
