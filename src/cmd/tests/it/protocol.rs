//! HTTP endpoints and protocol-level behaviour not covered by .slt files.

use mysql_async::prelude::Queryable;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{TestServer, exec};

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics() {
    let server = TestServer::start().await;
    let health = http_get(server.server.http_addr, "/api/health").await;
    assert!(health.starts_with("HTTP/1.0 200"), "{health}");
    assert!(health.contains(r#""status":"OK""#), "{health}");

    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE m").await;
    exec(&mut c, "CREATE TABLE m.t (a INT)").await;
    exec(&mut c, "INSERT INTO m.t VALUES (1), (2), (3)").await;
    let metrics = http_get(server.server.http_addr, "/metrics").await;
    assert!(metrics.contains("strata_databases 1"), "{metrics}");
    assert!(metrics.contains("strata_tables 1"), "{metrics}");
    assert!(metrics.contains("strata_load_rows_total 3"), "{metrics}");
    assert!(
        metrics.contains("strata_loads{state=\"FINISHED\"} 1"),
        "{metrics}"
    );
    let missing = http_get(server.server.http_addr, "/nope").await;
    assert!(missing.starts_with("HTTP/1.0 404"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_user_is_refused_and_data_survives_a_restart() {
    let server = TestServer::start().await;
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(server.port())
        .user(Some("mallory"))
        .prefer_socket(false);
    let err = mysql_async::Conn::new(opts).await.unwrap_err();
    assert!(
        err.to_string().contains("1045") || err.to_string().contains("ccess denied"),
        "{err}"
    );

    let mut c = server.conn(None).await;
    exec(
        &mut c,
        "ADMIN SET FRONTEND CONFIG ('label_keep_max_second' = '100')",
    )
    .await;
    exec(&mut c, "CREATE DATABASE r").await;
    exec(
        &mut c,
        "CREATE TABLE r.t (a INT, s STRING) DISTRIBUTED BY HASH(a) BUCKETS 3",
    )
    .await;
    exec(
        &mut c,
        "INSERT INTO r.t VALUES (1, 'x'), (2, 'y'), (3, NULL)",
    )
    .await;
    drop(c);
    let TestServer { server, dir } = server;
    server.shutdown().await;

    let server = crate::harness::start_at(dir.path()).await;
    let mut c = crate::harness::connect(server.mysql_addr.port(), Some("r")).await;
    let rows: Vec<(i32, Option<String>)> = c.query("SELECT a, s FROM t ORDER BY a").await.unwrap();
    assert_eq!(
        rows,
        vec![(1, Some("x".into())), (2, Some("y".into())), (3, None)]
    );
    let v: Vec<(String, String)> = c
        .query("SHOW VARIABLES LIKE 'version_comment'")
        .await
        .unwrap();
    assert_eq!(v.len(), 1);
    let cfg: Vec<mysql_async::Row> = c
        .query("ADMIN SHOW FRONTEND CONFIG LIKE 'label_keep_max_second'")
        .await
        .unwrap();
    assert_eq!(cfg[0].get::<String, _>(2).unwrap(), "100");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_load_progress_is_visible_from_another_connection() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE p").await;
    exec(
        &mut c,
        "CREATE TABLE p.t (a BIGINT) DISTRIBUTED BY HASH(a) BUCKETS 2",
    )
    .await;
    let port = server.port();
    let loader = tokio::spawn(async move {
        let mut c2 = crate::harness::connect(port, Some("p")).await;
        c2.query_drop(
            "INSERT INTO t WITH LABEL l_progress SELECT value FROM generate_series(1, 2000000)",
        )
        .await
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut seen_running = false;
    while !loader.is_finished() && std::time::Instant::now() < deadline {
        let row: Option<(String, u64, String)> = c
            .query_first(
                "SELECT STATE, SCAN_ROWS, PROGRESS FROM information_schema.loads WHERE LABEL = 'l_progress'",
            )
            .await
            .unwrap();
        if let Some((state, scanned, progress)) = row
            && state == "LOADING"
            && scanned > 0
        {
            assert!(progress.starts_with("ETL:100%; LOAD:"), "{progress}");
            seen_running = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    loader.await.unwrap().unwrap();
    assert!(seen_running, "never saw the load running with rows scanned");
    let (state, sink): (String, u64) = c
        .query_first(
            "SELECT STATE, SINK_ROWS FROM information_schema.loads WHERE LABEL = 'l_progress'",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((state.as_str(), sink), ("FINISHED", 2_000_000));
}
