//! No statement shape ends the server: each deep or wide family either runs or fails with a
//! syntax error naming the limit, and the server answers `SELECT 1` afterwards.

use mysql_async::prelude::Queryable;

use crate::harness::{TestServer, exec};

/// What a statement gave: its first value as text, or the error code and message.
async fn outcome(c: &mut mysql_async::Conn, sql: &str) -> Result<Option<String>, (u16, String)> {
    match c.query_first::<mysql_async::Row, _>(sql).await {
        Ok(row) => Ok(row.and_then(|r| r.as_ref(0).cloned()).map(|v| match v {
            mysql_async::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            other => format!("{other:?}"),
        })),
        Err(mysql_async::Error::Server(e)) => Err((e.code, e.message)),
        Err(e) => panic!("{}…: connection lost: {e}", &sql[..sql.len().min(60)]),
    }
}

fn chain(n: usize, term: &str, op: &str) -> String {
    vec![term; n].join(op)
}

fn nested(n: usize, open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_and_wide_statements_run_or_fail_and_the_server_lives() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE l").await;
    exec(&mut c, "USE l").await;
    exec(&mut c, "CREATE TABLE t (k INT)").await;
    exec(&mut c, "INSERT INTO t VALUES (1), (2)").await;

    // (statement, Ok(first value) it must give, or the text its error must contain)
    let cases: Vec<(String, Result<&str, &str>)> = vec![
        // The three shapes, which ended the process.
        (format!("SELECT {}", chain(2000, "1", "+")), Ok("2000")),
        (
            format!(
                "SELECT count(*) FROM t WHERE {}",
                chain(5000, "k=1", " AND ")
            ),
            Err("maximum depth of an expression tree"),
        ),
        (
            chain(10_000, "SELECT 1", " UNION ALL "),
            Err("set operations"),
        ),
        // Under and over each limit (just under the depth limit takes DataFusion half a
        // minute in a debug build: the 2,000 terms above stand for it).
        (
            format!("SELECT {}", chain(3001, "1", "+")),
            Err("expr_depth_limit"),
        ),
        (
            format!(
                "SELECT count(*) FROM t WHERE {}",
                chain(1000, "k=1", " OR ")
            ),
            Ok("1"),
        ),
        (
            format!(
                "SELECT count(*) FROM ({}) u",
                chain(300, "SELECT 1", " UNION ALL ")
            ),
            Ok("300"),
        ),
        (format!("SELECT 3 IN ({})", chain(9000, "1", ",")), Ok("0")),
        (
            format!("SELECT 3 IN ({})", chain(20_000, "1", ",")),
            Err("expr_children_limit"),
        ),
        (
            format!("SELECT concat({})", chain(10_001, "'x'", ",")),
            Err("expr_children_limit"),
        ),
        // Nesting that sqlparser bounds at 50 levels.
        (format!("SELECT {}", nested(45, "(", "1", ")")), Ok("1")),
        (
            format!("SELECT {}", nested(5000, "(", "1", ")")),
            Err("50 levels"),
        ),
        (
            format!("SELECT {}", nested(10_000, "(", "1", ")")),
            Err("50 levels"),
        ),
        (
            format!("SELECT {}", nested(40, "CASE WHEN 1=1 THEN ", "7", " END")),
            Ok("7"),
        ),
        (
            format!(
                "SELECT {}",
                nested(3000, "CASE WHEN 1=1 THEN ", "7", " END")
            ),
            Err("syntax error"),
        ),
        // DataFusion's planning time grows steeply with nested scalar subqueries (20 levels:
        // two minutes in a debug build), a stall the runaway-statement work has to bound.
        (
            format!("SELECT {}", nested(8, "(SELECT ", "1", ")")),
            Ok("1"),
        ),
        (
            format!("SELECT {}", nested(2000, "(SELECT ", "1", ")")),
            Err("50 levels"),
        ),
        (
            format!("SELECT {}", nested(3000, "abs(", "-1", ")")),
            Err("50 levels"),
        ),
        // Many joins and a wide select list.
        (
            format!(
                "SELECT count(*) FROM t t0 {}",
                (1..20)
                    .map(|i| format!("JOIN t t{i} ON t{i}.k = t0.k"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Ok("2"),
        ),
        (
            format!("SELECT {}", chain(500, "k", ", ")) + " FROM t LIMIT 1",
            Ok("1"),
        ),
        // An INSERT whose source is deep.
        (
            format!("INSERT INTO t SELECT {}", chain(3500, "1", "+")),
            Err("expr_depth_limit"),
        ),
    ];
    for (sql, want) in &cases {
        let got = outcome(&mut c, sql).await;
        let shown = &sql[..sql.len().min(80)];
        match (want, &got) {
            (Ok(v), Ok(Some(g))) => assert_eq!(g, v, "{shown}…"),
            (Err(text), Err((code, msg))) => {
                assert_eq!(*code, 1064, "{shown}…: {msg}");
                assert!(msg.contains(text), "{shown}…: {msg}");
            }
            _ => panic!("{shown}…: wanted {want:?}, got {got:?}"),
        }
        let alive: Option<u8> = c.query_first("SELECT 1").await.unwrap();
        assert_eq!(alive, Some(1), "after {shown}…");
    }
}

/// Functions that build strings from a count are sized before they build: over the limits the
/// statement fails at once with "Memory limit exceeded", and other sessions were served all
/// along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_functions_that_would_exhaust_memory_fail_at_once() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    let started = std::time::Instant::now();
    for sql in [
        "SELECT length(repeat(repeat('x', 1000000000), 3))",
        "SELECT lpad('x', 2147483647, 'y')",
        "SELECT rpad('x', 2000000000, 'y')",
        "SELECT length(repeat('ab', 2000000000))",
    ] {
        let err = c.query_drop(sql).await.unwrap_err().to_string();
        assert!(err.contains("Memory limit exceeded"), "{sql}: {err}");
    }
    // A value of 20 MB is fine, and 5 of them: not when the query may use 64 MB.
    let n: Option<u64> = c
        .query_first("SELECT length(repeat('x', 20000000))")
        .await
        .unwrap();
    assert_eq!(n, Some(20_000_000));
    exec(&mut c, "SET query_mem_limit = 64000000").await;
    let err = c
        .query_drop("SELECT length(repeat('x', 20000000 + value)) FROM generate_series(1, 5)")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("query_mem_limit"), "{err}");
    exec(&mut c, "SET query_mem_limit = 1000000").await;
    let err = c
        .query_drop("SELECT length(repeat('x', 2000000))")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("query_mem_limit"), "{err}");
    let n: Option<u64> = c
        .query_first("SELECT length(repeat('x', 500000))")
        .await
        .unwrap();
    assert_eq!(n, Some(500_000));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// A query over its memory limit fails with "Memory limit exceeded" and the server goes on;
/// query_timeout and insert_timeout stop statements with StarRocks' messages, within seconds of
/// the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limits_and_timeouts_stop_statements() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE m").await;
    exec(&mut c, "USE m").await;
    exec(&mut c, "CREATE TABLE t (a BIGINT) DISTRIBUTED BY HASH(a)").await;

    // A hash join cannot spill: its build side over 8 MB fails the query.
    exec(&mut c, "SET query_mem_limit = 8000000").await;
    let join = "SELECT count(*) FROM generate_series(1, 1000000) a \
                JOIN generate_series(1, 1000000) b ON a.value = b.value";
    let err = c.query_drop(join).await.unwrap_err().to_string();
    assert!(err.contains("Memory limit exceeded"), "{err}");
    assert!(err.contains("query_mem_limit"), "{err}");
    exec(&mut c, "SET query_mem_limit = 0").await;
    let n: Option<u64> = c.query_first(join).await.unwrap();
    assert_eq!(n, Some(1_000_000));

    exec(&mut c, "SET query_timeout = 1").await;
    let started = std::time::Instant::now();
    let err = c
        .query_drop("SELECT count(*) FROM generate_series(1, 100000000000)")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Query reached its timeout of 1 seconds"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    exec(&mut c, "SET insert_timeout = 1").await;
    let started = std::time::Instant::now();
    let err = c
        .query_drop(
            "INSERT INTO t WITH LABEL l_slow SELECT value FROM generate_series(1, 1000000000)",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Insert reached its timeout of 1 seconds"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let state: Option<String> = c
        .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_slow'")
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("CANCELLED"));
    let rows: Option<u64> = c.query_first("SELECT count(*) FROM t").await.unwrap();
    assert_eq!(rows, Some(0));
}
