//! SHOW PROCESSLIST, `information_schema.processlist` and KILL over the wire.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::harness::{TestServer, exec};

/// Waits until connection `id` runs a statement containing `text`.
async fn wait_running(c: &mut mysql_async::Conn, id: u32, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info: Option<Option<String>> = c
            .query_first(format!(
                "SELECT INFO FROM information_schema.processlist WHERE ID = {id}"
            ))
            .await
            .unwrap();
        if info.flatten().is_some_and(|i| i.contains(text)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connection {id} never ran {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the load labelled `label` has read rows.
async fn wait_streaming(c: &mut mysql_async::Conn, label: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let scanned: Option<u64> = c
            .query_first(format!(
                "SELECT SCAN_ROWS FROM information_schema.loads WHERE LABEL = '{label}'"
            ))
            .await
            .unwrap();
        if scanned.unwrap_or(0) > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "load {label} never read a row");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn server_error(e: mysql_async::Error) -> (u16, String) {
    match e {
        mysql_async::Error::Server(s) => (s.code, s.message),
        other => panic!("not a server error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_query_stops_a_query_and_a_load_which_commits_nothing() {
    let server = TestServer::start().await;
    let mut admin = server.conn(None).await;
    exec(&mut admin, "CREATE DATABASE k").await;
    exec(
        &mut admin,
        "CREATE TABLE k.t (a BIGINT) DISTRIBUTED BY HASH(a)",
    )
    .await;
    exec(&mut admin, "INSERT INTO k.t VALUES (1)").await;

    // A long query, stopped.
    let mut q = server.conn(Some("k")).await;
    let qid = q.id();
    let query = tokio::spawn(async move {
        let started = Instant::now();
        let res = q
            .query_drop("SELECT count(*) FROM generate_series(1, 100000000000)")
            .await;
        (res, started.elapsed(), q)
    });
    wait_running(&mut admin, qid, "generate_series").await;
    // Other sessions are answered while it runs (statements run on their own runtime); 5 s is
    // generous for a loaded CI machine, the answer takes milliseconds.
    for _ in 0..5 {
        let asked = Instant::now();
        let one: Option<u8> = server
            .conn(None)
            .await
            .query_first("SELECT 1")
            .await
            .unwrap();
        assert_eq!(one, Some(1));
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "{:?}",
            asked.elapsed()
        );
    }
    let list: Vec<mysql_async::Row> = admin.query("SHOW PROCESSLIST").await.unwrap();
    let ids: Vec<u32> = list.iter().map(|r| r.get::<u32, _>(0).unwrap()).collect();
    assert!(ids.contains(&qid) && ids.contains(&admin.id()), "{ids:?}");
    let killed_at = Instant::now();
    exec(&mut admin, &format!("KILL QUERY {qid}")).await;
    let (res, _, mut q) = query.await.unwrap();
    assert!(
        killed_at.elapsed() < Duration::from_secs(10),
        "{:?}",
        killed_at.elapsed()
    );
    let (code, msg) = server_error(res.unwrap_err());
    assert_eq!(code, 1317, "{msg}");
    // The connection goes on.
    let one: Option<u8> = q.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));

    // A long load, stopped: nothing committed, job CANCELLED, its label free again.
    let qid = q.id();
    let load = tokio::spawn(async move {
        let res = q
            .query_drop(
                "INSERT INTO t WITH LABEL l_killed SELECT value FROM generate_series(1, 1000000000)",
            )
            .await;
        (res, q)
    });
    wait_running(&mut admin, qid, "l_killed").await;
    wait_streaming(&mut admin, "l_killed").await;
    exec(&mut admin, &format!("KILL QUERY {qid}")).await;
    let (res, mut q) = load.await.unwrap();
    let (code, msg) = server_error(res.unwrap_err());
    assert_eq!(code, 1317, "{msg}");
    let state: Option<String> = admin
        .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_killed'")
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("CANCELLED"));
    let n: Option<u64> = admin.query_first("SELECT count(*) FROM k.t").await.unwrap();
    assert_eq!(n, Some(1));
    exec(&mut q, "INSERT INTO t WITH LABEL l_killed VALUES (2)").await;

    // Unknown ids; KILL CONNECTION closes the connection.
    let (code, _) = server_error(admin.query_drop("KILL 999999").await.unwrap_err());
    assert_eq!(code, 1094);
    let qid = q.id();
    exec(&mut admin, &format!("KILL CONNECTION {qid}")).await;
    assert!(
        q.query_drop("SELECT 1").await.is_err(),
        "the killed connection still works"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Option<u64> = admin
            .query_first(format!(
                "SELECT count(*) FROM information_schema.processlist WHERE ID = {qid}"
            ))
            .await
            .unwrap();
        if left == Some(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed connection is still listed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_mid_insert_cancels_it() {
    let server = TestServer::start().await;
    let mut admin = server.conn(None).await;
    exec(&mut admin, "CREATE DATABASE h").await;
    exec(
        &mut admin,
        "CREATE TABLE h.t (a BIGINT) DISTRIBUTED BY HASH(a)",
    )
    .await;

    // A raw connection, so that closing it closes the socket at once.
    let mut raw = crate::wire::RawConn::connect(server.port(), Some("h")).await;
    raw.pipeline(&[
        "INSERT INTO t WITH LABEL l_gone SELECT value FROM generate_series(1, 1000000000)",
    ])
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state: Option<String> = admin
            .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_gone'")
            .await
            .unwrap();
        if state.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the load never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(raw);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state: Option<String> = admin
            .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_gone'")
            .await
            .unwrap();
        if state.as_deref() == Some("CANCELLED") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the load went on without its client: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let n: Option<u64> = admin.query_first("SELECT count(*) FROM h.t").await.unwrap();
    assert_eq!(n, Some(0));
}

/// Shutdown cancels a running load (it ends CANCELLED, nothing committed) before it releases
/// the data directory, so a server opened on it next finds no load of the first one running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_running_loads_before_releasing_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::harness::start_at(dir.path()).await;
    let port = server.mysql_addr.port();
    let mut admin = crate::harness::connect(port, None).await;
    exec(&mut admin, "CREATE DATABASE sd").await;
    exec(
        &mut admin,
        "CREATE TABLE sd.t (a BIGINT) DISTRIBUTED BY HASH(a)",
    )
    .await;
    let load = tokio::spawn(async move {
        let mut c = crate::harness::connect(port, Some("sd")).await;
        c.query_drop(
            "INSERT INTO t WITH LABEL l_down SELECT value FROM generate_series(1, 1000000000)",
        )
        .await
    });
    wait_streaming(&mut admin, "l_down").await;
    drop(admin);
    let started = Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(load.await.unwrap().is_err(), "the load was not stopped");

    let server = crate::harness::start_at(dir.path()).await;
    let mut c = crate::harness::connect(server.mysql_addr.port(), None).await;
    let state: Option<String> = c
        .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_down'")
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("CANCELLED"));
    // Cancelled by the shutdown itself, not found LOADING and repaired by the next start.
    let msg: Option<String> = c
        .query_first("SELECT ERROR_MSG FROM information_schema.loads WHERE LABEL = 'l_down'")
        .await
        .unwrap();
    assert!(
        msg.as_deref().is_some_and(|m| m.contains("interrupted")),
        "{msg:?}"
    );
    let n: Option<u64> = c.query_first("SELECT count(*) FROM sd.t").await.unwrap();
    assert_eq!(n, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_query_stops_a_dry_run() {
    let server = TestServer::start().await;
    let mut admin = server.conn(None).await;
    exec(&mut admin, "CREATE DATABASE dr").await;
    exec(
        &mut admin,
        "CREATE TABLE dr.t (a BIGINT) DISTRIBUTED BY HASH(a)",
    )
    .await;
    let mut q = server.conn(Some("dr")).await;
    let qid = q.id();
    let dry = tokio::spawn(async move {
        q.query_drop(
            "INSERT INTO t PROPERTIES (\"dry_run\" = \"true\") \
             SELECT value FROM generate_series(1, 1000000000)",
        )
        .await
    });
    wait_running(&mut admin, qid, "dry_run").await;
    let killed_at = Instant::now();
    exec(&mut admin, &format!("KILL QUERY {qid}")).await;
    let (code, msg) = server_error(dry.await.unwrap().unwrap_err());
    assert_eq!(code, 1317, "{msg}");
    assert!(killed_at.elapsed() < Duration::from_secs(10));
}
