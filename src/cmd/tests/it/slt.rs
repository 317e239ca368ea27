//! Runs the `.slt` files under `tests/slt/<area>/` over the MySQL protocol.
//!
//! Each file runs against a fresh database named after it. Set `STRATA_SLT_REWRITE=1` to
//! rewrite expected results in place.
//!
//! Connections log in as root. `LOGIN user 'password'` — a directive of this runner, not SQL —
//! logs the connection it runs on in again as another user (no current database): with
//! sqllogictest's `connection <name>` records a file runs statements as several users, and
//! `statement error` on a LOGIN tests a refused login.

use std::path::Path;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use sqllogictest::{DBOutput, DefaultColumnType};

use crate::harness::{TestServer, connect, exec, workspace_root};

/// Variables of the areas run so far, for the environment of `system` commands.
static COMMAND_ENV: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

struct MysqlDb {
    conn: mysql_async::Conn,
    port: u16,
}

/// `LOGIN user 'password'`: the user and password, if `sql` is that directive.
fn login_directive(sql: &str) -> Option<(String, String)> {
    let rest = sql.trim().strip_prefix("LOGIN ")?;
    let (user, pw) = rest.trim().split_once(' ')?;
    let pw = pw.trim().trim_end_matches(';').trim();
    let pw = pw.strip_prefix('\'')?.strip_suffix('\'')?;
    Some((user.to_string(), pw.to_string()))
}

fn render(v: &mysql_async::Value) -> String {
    use mysql_async::Value;
    match v {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => {
            let s = String::from_utf8_lossy(b).to_string();
            if s.is_empty() { "(empty)".into() } else { s }
        }
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for MysqlDb {
    type Error = mysql_async::Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Self::Error> {
        if let Some((user, password)) = login_directive(sql) {
            let opts = mysql_async::OptsBuilder::default()
                .ip_or_hostname("127.0.0.1")
                .tcp_port(self.port)
                .user(Some(user))
                .pass(Some(password))
                .prefer_socket(false);
            self.conn = mysql_async::Conn::new(opts).await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let mut result = self.conn.query_iter(sql).await?;
        let columns = result.columns();
        let has_columns = columns.as_ref().is_some_and(|c| !c.is_empty());
        let ncols = columns.as_ref().map(|c| c.len()).unwrap_or(0);
        let rows: Vec<mysql_async::Row> = result.collect().await?;
        let affected = result.affected_rows();
        drop(result);
        if !has_columns {
            return Ok(DBOutput::StatementComplete(affected));
        }
        let rows = rows
            .into_iter()
            .map(|r| {
                (0..ncols)
                    .map(|i| render(r.as_ref(i).unwrap_or(&mysql_async::Value::NULL)))
                    .collect()
            })
            .collect();
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; ncols],
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "strata"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }

    /// `system ok` commands see the area's variables in their environment (sqllogictest
    /// substitutes them in SQL only): `cp $S3_DIR/a $S3_DIR/b`.
    async fn run_command(
        mut command: std::process::Command,
    ) -> std::io::Result<std::process::Output> {
        let env = COMMAND_ENV.lock().unwrap().clone();
        command.envs(env);
        tokio::process::Command::from(command).output().await
    }
}

/// Like the default validator, but a value holding newlines (SHOW CREATE TABLE) spans lines.
fn multiline_validator(
    normalizer: sqllogictest::Normalizer,
    actual: &[Vec<String>],
    expected: &[String],
) -> bool {
    let actual: Vec<String> = actual
        .iter()
        .flat_map(|row| {
            // A value's own last line break (an EXPLAIN plan's) opens no line.
            row.join(" ")
                .trim_end_matches('\n')
                .split('\n')
                .map(|l| normalizer(&l.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: Vec<String> = expected.iter().map(normalizer).collect();
    actual == expected
}

async fn run_file(port: u16, path: &Path, vars: &[(String, String)]) {
    let stem = path
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .replace('-', "_");
    let db = format!("slt_{stem}");
    let mut admin = connect(port, None).await;
    exec(&mut admin, &format!("CREATE DATABASE IF NOT EXISTS {db}")).await;
    let make = move || {
        let db = db.clone();
        async move {
            Ok::<_, mysql_async::Error>(MysqlDb {
                conn: connect(port, Some(&db)).await,
                port,
            })
        }
    };
    let mut runner = sqllogictest::Runner::new(make);
    runner.with_validator(multiline_validator);
    for (k, v) in vars {
        runner.set_var(k.clone(), v.clone());
    }
    if std::env::var("STRATA_SLT_REWRITE").is_ok() {
        runner
            .update_test_file(
                path,
                " ",
                multiline_validator,
                sqllogictest::default_normalizer,
                sqllogictest::default_column_validator,
            )
            .await
            .unwrap_or_else(|e| panic!("rewriting {}: {e}", path.display()));
        return;
    }
    if let Err(e) = runner.run_file_async(path).await {
        panic!("{}:\n{}", path.display(), e.display(true));
    }
}

async fn run_area(area: &str) {
    run_area_with(area, &[]).await;
}

async fn run_area_with(area: &str, vars: &[(String, String)]) {
    COMMAND_ENV.lock().unwrap().extend(vars.iter().cloned());
    let dir = workspace_root().join("tests/slt").join(area);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    let server = TestServer::start().await;
    for f in files {
        run_file(server.port(), &f, vars).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_ddl() {
    run_area("ddl").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_query() {
    run_area("query").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_insert() {
    run_area("insert").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_errors() {
    run_area("errors").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_mysql_compat() {
    run_area("mysql_compat").await;
}

/// Users and privileges, with loads against a real S3-compatible server (and `${BLACK_HOLE}`
/// to hold a job running).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_privileges() {
    let s3 = crate::s3::S3Server::start().await;
    s3.load_fixtures().await;
    let mut vars = s3_vars(&s3);
    vars.push((
        "BLACK_HOLE".to_string(),
        crate::fault_proxy::black_hole().await,
    ));
    run_area_with("privileges", &vars).await;
}

/// The variables an area over the S3 server uses: `${S3_ENDPOINT}`, `${S3_AK}`, `${S3_SK}`,
/// `${S3_BUCKET}`.
fn s3_vars(s3: &crate::s3::S3Server) -> Vec<(String, String)> {
    vec![
        ("S3_ENDPOINT".to_string(), s3.endpoint.clone()),
        ("S3_AK".to_string(), crate::s3::AK.to_string()),
        ("S3_SK".to_string(), crate::s3::SK.to_string()),
        ("S3_BUCKET".to_string(), crate::s3::BUCKET.to_string()),
    ]
}

/// FILES() against a real S3-compatible server; files use `${S3_ENDPOINT}`, `${S3_AK}`,
/// `${S3_SK}` and `${S3_BUCKET}` (with `control substitution on`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_files() {
    let s3 = crate::s3::S3Server::start().await;
    s3.load_fixtures().await;
    let vars = s3_vars(&s3);
    run_area_with("files", &vars).await;
}

/// Broker Load against a real S3-compatible server, plus `${BLACK_HOLE}`: an endpoint that
/// never answers, for jobs that must stay running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_broker() {
    let s3 = crate::s3::S3Server::start().await;
    s3.load_fixtures().await;
    let mut vars = s3_vars(&s3);
    vars.push((
        "BLACK_HOLE".to_string(),
        crate::fault_proxy::black_hole().await,
    ));
    run_area_with("broker", &vars).await;
}

/// Pipes against a real S3-compatible server; `${S3_DIR}` is the bucket's directory, where
/// `system ok` commands put files as uploads would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_pipe() {
    let s3 = crate::s3::S3Server::start().await;
    s3.load_fixtures().await;
    s3.load_pipe_fixtures();
    let mut vars = s3_vars(&s3);
    vars.push(("S3_DIR".to_string(), s3.bucket_dir().display().to_string()));
    run_area_with("pipe", &vars).await;
}
