//! SHOW LOAD and `information_schema.load_tracking_logs` for INSERT jobs.

use mysql_async::prelude::Queryable;

use crate::harness::{TestServer, exec};

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
