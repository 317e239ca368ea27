//! Starting a server in-process on free ports with a temporary data directory.

use std::path::{Path, PathBuf};

use mysql_async::prelude::Queryable;
use strata::{Config, Server};

/// A server for one test, with its data directory.
pub struct TestServer {
    pub server: Server,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server on `127.0.0.1:0` over a fresh data directory.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = start_at(dir.path()).await;
        Self { server, dir }
    }

    /// The MySQL port.
    pub fn port(&self) -> u16 {
        self.server.mysql_addr.port()
    }

    /// A connection, optionally to a database.
    pub async fn conn(&self, db: Option<&str>) -> mysql_async::Conn {
        connect(self.port(), db).await
    }
}

/// Starts a server over `dir`.
pub async fn start_at(dir: &Path) -> Server {
    let config = Config {
        data_dir: dir.to_path_buf(),
        mysql_addr: "127.0.0.1:0".into(),
        http_addr: "127.0.0.1:0".into(),
        log: "warn".into(),
        // Tests read local files from temporary directories.
        allow_local_paths: vec![std::env::temp_dir()],
        ..Default::default()
    };
    Server::start(&config).await.expect("server starts")
}

/// Connects as root with no password.
pub async fn connect(port: u16, db: Option<&str>) -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .db_name(db)
        .prefer_socket(false);
    mysql_async::Conn::new(opts).await.expect("connects")
}

/// Runs a statement, panicking with the server's message on error.
pub async fn exec(conn: &mut mysql_async::Conn, sql: &str) {
    conn.query_drop(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The workspace root (for tests/slt and scripts).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Creates database `d`, makes it current and creates one table in it.
pub async fn fresh_table(conn: &mut mysql_async::Conn, create_table: &str) {
    exec(conn, "CREATE DATABASE d").await;
    exec(conn, "USE d").await;
    exec(conn, create_table).await;
}

/// SHOW LOAD's columns, in StarRocks' order.
pub const SHOW_LOAD_COLUMNS: [&str; 20] = [
    "JobId",
    "Label",
    "State",
    "Progress",
    "Type",
    "Priority",
    "ScanRows",
    "FilteredRows",
    "UnselectedRows",
    "SinkRows",
    "EtlInfo",
    "TaskInfo",
    "ErrorMsg",
    "CreateTime",
    "EtlStartTime",
    "EtlFinishTime",
    "LoadStartTime",
    "LoadFinishTime",
    "TrackingSQL",
    "JobDetails",
];

/// The column names of a result row.
pub fn column_names(row: &mysql_async::Row) -> Vec<String> {
    row.columns_ref()
        .iter()
        .map(|c| c.name_str().to_string())
        .collect()
}
