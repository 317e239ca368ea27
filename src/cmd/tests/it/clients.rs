//! Real clients end to end: the mysql CLI, pymysql and mysql-connector-python.
//!
//! `scripts/test` installs them (Debian's mariadb-client, a venv named by `STRATA_PYTHON`).

use std::process::{Command, Output, Stdio};

use crate::harness::{TestServer, workspace_root};

fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    let what = format!("{cmd:?}");
    if let Some(path) = stdin {
        cmd.stdin(Stdio::from(
            std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}")),
        ));
    }
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {what}: {e}. Run the tests with scripts/test, which installs the clients"
        )
    })
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("client task")
}

fn mysql(port: u16, args: &[&str]) -> Command {
    let mut c = Command::new("mysql");
    c.args(["-h127.0.0.1", &format!("-P{port}"), "-uroot"])
        .args(args);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_cli_runs_the_seed_script() {
    let server = TestServer::start().await;
    let port = server.port();
    let script = workspace_root().join("tests/clients/seed.sql");
    let out = blocking(move || run(mysql(port, &["-t"]), Some(script.to_str().unwrap()))).await;
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for expected in [
        "| UserID       | int            | YES  | true  | NULL    |       |",
        "| BehaviorType | varchar(65533) | YES  | false | NULL    |       |",
        "| Tables_in_mydatabase",
        "| after_truncate |",
        "|              0 |",
        "FINISHED",
        "DUPLICATE KEY(`UserID`, `ItemID`)",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in:\n{t}");
    }
    // Join + aggregate result of the script: user 1 has 2 pv rows.
    assert!(t.contains("|      1 |    2 | 2 |"), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_cli_dash_e_vertical_and_database_flag() {
    let server = TestServer::start().await;
    let port = server.port();
    let out = blocking(move || {
        let a = run(mysql(port, &["-e", "CREATE DATABASE cli_db"]), None);
        let b = run(mysql(port, &["-e", "SELECT 1 AS one, 'x' AS two\\G"]), None);
        let c = run(
            mysql(port, &["-D", "cli_db", "-e", "SELECT DATABASE()"]),
            None,
        );
        let d = run(mysql(port, &["-e", "SELECT * FROM missing_db.t"]), None);
        let e = run(
            mysql(
                port,
                &[
                    "-t",
                    "-e",
                    "SELECT NULL AS n, CAST(NULL AS DATE) AS dt, concat('a', NULL) AS c",
                ],
            ),
            None,
        );
        let f = run(mysql(port, &["-D", "cli_db", "-e", "status"]), None);
        (a, b, c, d, e, f)
    })
    .await;
    // The CLI's `status` reads the character sets (and the server's version) from the server.
    let f = text(&out.5);
    assert!(out.5.status.success(), "{f}");
    assert!(
        f.contains("Db     characterset:\tutf8mb4") && f.contains("Current database:\tcli_db"),
        "{f}"
    );
    // The CLI prints NULL for a NULL (it printed an empty string, as if it were '').
    let e = text(&out.4);
    assert!(e.contains("| NULL | NULL | NULL |"), "{e}");
    assert!(out.0.status.success(), "{}", text(&out.0));
    let b = text(&out.1);
    assert!(b.contains("one: 1") && b.contains("two: x"), "{b}");
    let c = text(&out.2);
    assert!(c.contains("cli_db"), "{c}");
    let d = text(&out.3);
    assert!(!out.3.status.success(), "{d}");
    assert!(
        d.contains("ERROR 1049 (42000)") && d.contains("Unknown database 'missing_db'"),
        "{d}"
    );
}

fn python() -> String {
    std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

async fn python_script(script: &str) {
    let server = TestServer::start().await;
    let port = server.port();
    let path = workspace_root().join("tests/clients").join(script);
    let out = blocking(move || {
        let mut c = Command::new(python());
        c.arg(path).arg(port.to_string());
        run(c, None)
    })
    .await;
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymysql_end_to_end() {
    python_script("pymysql_e2e.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_connector_end_to_end() {
    python_script("connector_e2e.py").await;
}

/// The interactive `mysql` client (no `-A`, under a terminal made by `script`): `USE db` reads
/// every table's columns with COM_FIELD_LIST for completion, which used to hang it; a column
/// name typed in part and completed with TAB then runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_cli_interactive_use_and_tab_completion() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    crate::harness::exec(&mut c, "CREATE DATABASE tty").await;
    crate::harness::exec(
        &mut c,
        "CREATE TABLE tty.z (zebra_col INT, other VARCHAR(5))",
    )
    .await;
    crate::harness::exec(&mut c, "INSERT INTO tty.z VALUES (42, 'x')").await;
    let port = server.port();
    let out = blocking(move || {
        let mut cmd = Command::new("timeout");
        cmd.args([
            "60",
            "script",
            "-qec",
            &format!("mysql -h127.0.0.1 -P{port} -uroot"),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("script runs");
        let mut stdin = child.stdin.take().expect("stdin");
        // Typed as a person would: readline sees each line once the previous one is done.
        for line in ["USE tty;\n", "SELECT zebr\t FROM z;\n", "exit\n"] {
            std::io::Write::write_all(&mut stdin, line.as_bytes()).expect("typed");
            std::thread::sleep(std::time::Duration::from_millis(800));
        }
        drop(stdin);
        child.wait_with_output().expect("script ends")
    })
    .await;
    let t = text(&out);
    assert!(out.status.success(), "the client hung or failed:\n{t}");
    assert!(t.contains("Database changed"), "{t}");
    assert!(
        t.contains("| zebra_col |"),
        "TAB did not complete the column:\n{t}"
    );
    assert!(t.contains("|        42 |"), "{t}");
}

/// Runs `tests/clients/<source>` (a single-file Java program) with MariaDB Connector/J
/// against the server on `port`.
pub(crate) async fn connector_j(source: &str, port: u16) -> Output {
    let source = workspace_root().join("tests/clients").join(source);
    blocking(move || {
        let mut cmd = Command::new("java");
        cmd.args(["-cp", "/usr/share/java/mariadb-java-client.jar"])
            .arg(source)
            .arg(port.to_string());
        run(cmd, None)
    })
    .await
}

/// MariaDB Connector/J's `executeBatch` sends the batch's statements before reading any answer
/// (`useBatchMultiSend`): all ten rows arrive and every count is 1. Before, the server ran only
/// the last of the pipelined commands and answered the others with an empty OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_j_execute_batch_stores_every_row() {
    let server = TestServer::start().await;
    let port = server.port();
    let out = crate::clients::connector_j("JdbcBatch.java", port).await;
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("counts [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"), "{t}");
    assert!(t.contains("rows 10 sum 55"), "{t}");
    assert!(t.contains("nulls null null"), "{t}");
}

/// Server-side prepared statements, as each driver uses them: values bound to `?` (quotes,
/// NULL, dates, decimals, big integers), binary result rows decoded to the right types, a
/// statement executed again with new values, errors as errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_connector_prepared_cursor() {
    python_script("connector_prepared.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_mysql2_execute() {
    let server = TestServer::start().await;
    let port = server.port();
    let script = workspace_root().join("tests/clients/mysql2_prepared.js");
    let out = blocking(move || {
        let mut cmd = Command::new("node");
        // scripts/test installs mysql2 there.
        let modules = std::env::var("STRATA_NODE_PATH").unwrap_or_else(|_| {
            format!(
                "{}/.cache/strata-node/node_modules",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        cmd.env("NODE_PATH", modules)
            .arg(script)
            .arg(port.to_string());
        run(cmd, None)
    })
    .await;
    let t = text(&out);
    assert!(out.status.success() && t.contains("ok"), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_j_server_prepared_statements() {
    let server = TestServer::start().await;
    let port = server.port();
    let out = crate::clients::connector_j("JdbcPrepared.java", port).await;
    let t = text(&out);
    assert!(out.status.success() && t.contains("ok"), "{t}");
}
