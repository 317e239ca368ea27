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
