//! Tools people point at a MySQL-compatible server, run for real: mysqldump and a reload of its
//! dump with the `mysql` client, the `starrocks` SQLAlchemy dialect with pandas, and MariaDB
//! Connector/J's DatabaseMetaData (what DBeaver and DataGrip read); plus the SHOW statements
//! GUIs poll whose values change from run to run.
//!
//! `scripts/test` installs the tools (Debian's mariadb-client, libmariadb-java and a JDK, a
//! venv named by `STRATA_PYTHON` with sqlalchemy, starrocks and pandas).

use crate::clients::{blocking, text};
use std::process::{Command, Output, Stdio};

use mysql_async::Row;
use mysql_async::prelude::Queryable;

use crate::harness::{TestServer, column_names, exec, workspace_root};

fn run(mut cmd: Command, stdin: Option<&std::path::Path>) -> Output {
    let what = format!("{cmd:?}");
    if let Some(path) = stdin {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        cmd.stdin(Stdio::from(file));
    }
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {what}: {e}. Run the tests with scripts/test, which installs the tools")
    })
}

fn client(program: &str, port: u16, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(["-h127.0.0.1", &format!("-P{port}"), "-uroot"])
        .args(args);
    c
}

async fn rows(conn: &mut mysql_async::Conn, sql: &str) -> Vec<Row> {
    conn.query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every value of every row, for comparing two results.
async fn values(conn: &mut mysql_async::Conn, sql: &str) -> Vec<Vec<mysql_async::Value>> {
    rows(conn, sql).await.into_iter().map(Row::unwrap).collect()
}

fn string(row: &Row, col: &str) -> Option<String> {
    row.get_opt::<Option<String>, _>(col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .unwrap_or_else(|e| panic!("{col}: {e}"))
}

/// `mysqldump --no-tablespaces shop` of a table with rows (NULLs, quotes, backslashes, UTF-8,
/// an ARRAY) and a view, loaded into another database with the `mysql` client: the same
/// columns, keys, comments and rows, and a view that reads the new database's table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysqldump_output_reloads_into_another_database() {
    let server = TestServer::start().await;
    let port = server.port();
    let mut c = server.conn(None).await;
    for sql in [
        "CREATE DATABASE shop",
        "CREATE TABLE shop.orders (id BIGINT NOT NULL COMMENT 'order id', \
         customer VARCHAR(32) NOT NULL DEFAULT 'anon', amount DECIMAL(10, 2), placed DATETIME, \
         day DATE, tags ARRAY<INT>) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 \
         COMMENT 'all orders'",
        "INSERT INTO shop.orders VALUES \
         (1, 'O''Brien', 12.50, '2024-03-01 10:00:00', '2024-03-01', [1, 2]), \
         (2, 'back\\\\slash', NULL, NULL, NULL, NULL), \
         (3, 'Zoë 漢字', -7.25, '2024-02-29 23:59:59', '2024-02-29', [])",
        "CREATE VIEW shop.big AS SELECT id, customer FROM shop.orders WHERE amount > 10",
        "CREATE DATABASE copy",
    ] {
        exec(&mut c, sql).await;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let dump = dir.path().join("shop.sql");
    let (out, reload, single) = blocking({
        let dump = dump.clone();
        move || {
            let mut cmd = client("mysqldump", port, &["--no-tablespaces", "shop"]);
            let out = cmd
                .output()
                .expect("mysqldump runs (scripts/test installs it)");
            std::fs::write(&dump, &out.stdout).expect("dump written");
            let reload = run(client("mysql", port, &["copy"]), Some(&dump));
            // `--single-transaction` (SET SESSION TRANSACTION ISOLATION LEVEL ..., START
            // TRANSACTION WITH CONSISTENT SNAPSHOT) and `--databases` (SHOW CREATE DATABASE).
            let single = run(
                client(
                    "mysqldump",
                    port,
                    &[
                        "--no-tablespaces",
                        "--single-transaction",
                        "--databases",
                        "shop",
                    ],
                ),
                None,
            );
            (out, reload, single)
        }
    })
    .await;
    let sql = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", text(&out));
    for expected in [
        "LOCK TABLES `orders` WRITE;",
        "/*!40000 ALTER TABLE `orders` DISABLE KEYS */;",
        "DUPLICATE KEY(`id`)",
        "(1,'O\\'Brien',12.50,'2024-03-01 10:00:00','2024-03-01','[1,2]')",
        "CREATE VIEW `big` (`id`, `customer`) AS SELECT id, customer FROM orders WHERE amount > 10",
    ] {
        assert!(
            sql.contains(expected),
            "missing {expected:?} in the dump:\n{sql}"
        );
    }
    assert!(reload.status.success(), "reload failed: {}", text(&reload));
    let single_sql = String::from_utf8_lossy(&single.stdout);
    assert!(single.status.success(), "{}", text(&single));
    assert!(
        single_sql.contains("USE `shop`;") && single_sql.contains("(3,'Zoë 漢字',-7.25,"),
        "{single_sql}"
    );

    let all = "SELECT * FROM {db}.orders ORDER BY id";
    let original = values(&mut c, &all.replace("{db}", "shop")).await;
    assert_eq!(original.len(), 3);
    assert_eq!(values(&mut c, &all.replace("{db}", "copy")).await, original);
    let create = |db: &str| format!("SHOW CREATE TABLE {db}.orders");
    let shop_ddl = string(&rows(&mut c, &create("shop")).await[0], "Create Table");
    let copy_ddl = string(&rows(&mut c, &create("copy")).await[0], "Create Table");
    assert_eq!(copy_ddl, shop_ddl);
    let columns = "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLUMN_KEY, \
                   COLUMN_COMMENT FROM information_schema.columns WHERE TABLE_SCHEMA = '{db}' \
                   AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION";
    let shop_cols = values(&mut c, &columns.replace("{db}", "shop")).await;
    assert_eq!(shop_cols.len(), 6);
    assert_eq!(
        values(&mut c, &columns.replace("{db}", "copy")).await,
        shop_cols
    );
    let status = "SELECT TABLE_COMMENT FROM information_schema.tables WHERE TABLE_SCHEMA = 'copy' \
                  AND TABLE_NAME = 'orders'";
    assert_eq!(
        rows(&mut c, status).await[0].get::<String, _>(0).as_deref(),
        Some("all orders")
    );

    // The view reads copy.orders, not shop.orders: it still answers with shop gone.
    let shop_view = values(&mut c, "SELECT * FROM shop.big ORDER BY id").await;
    exec(&mut c, "DROP DATABASE shop").await;
    assert_eq!(
        values(&mut c, "SELECT * FROM copy.big ORDER BY id").await,
        shop_view
    );
    let view_ddl = string(
        &rows(&mut c, "SHOW CREATE VIEW copy.big").await[0],
        "Create View",
    );
    let view_ddl = view_ddl.expect("a definition");
    assert!(!view_ddl.contains("shop"), "{view_ddl}");
}

/// The `starrocks` SQLAlchemy dialect reflects tables, views, columns, keys and indexes, and
/// pandas reads a query and a whole table (tests/clients/sqlalchemy_reflect.py asserts them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_dialect_reflects_and_pandas_reads() {
    let server = TestServer::start().await;
    let port = server.port();
    let script = workspace_root().join("tests/clients/sqlalchemy_reflect.py");
    let out = blocking(move || {
        let python = std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let mut cmd = Command::new(python);
        cmd.arg(script).arg(port.to_string());
        run(cmd, None)
    })
    .await;
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for expected in [
        "columns [('id', 'BIGINT', False), ('customer', 'VARCHAR(32)', False), \
         ('amount', 'DECIMAL(10, 2)', True), ('placed', 'DATETIME', True), ('day', 'DATE', True)]",
        "pk ['id'] indexes []",
        "read_sql rows 3",
        "read_sql_table rows 3",
        "\nok",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in:\n{t}");
    }
}

/// MariaDB Connector/J's DatabaseMetaData (getCatalogs, getSchemas, getTables, getColumns,
/// getPrimaryKeys, getIndexInfo, getProcedures) and a query's ResultSetMetaData.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_j_database_metadata() {
    let server = TestServer::start().await;
    let port = server.port();
    let out = crate::clients::connector_j("JdbcMetadata.java", port).await;
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let lines: Vec<&str> = t.lines().collect();
    let starting = |prefix: &str| -> Vec<&str> {
        lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(prefix))
            .collect()
    };
    // The driver shows databases as catalogs and has no schemas.
    assert_eq!(
        starting("catalog "),
        [
            "catalog TABLE_CAT=information_schema",
            "catalog TABLE_CAT=jm",
            "catalog count 2"
        ]
    );
    assert_eq!(starting("schema "), ["schema count 0"]);
    assert_eq!(
        starting("table "),
        [
            "table TABLE_CAT=jm TABLE_NAME=items TABLE_TYPE=TABLE REMARKS=stock",
            "table TABLE_CAT=jm TABLE_NAME=cheap TABLE_TYPE=VIEW REMARKS=VIEW",
            "table count 2",
        ]
    );
    assert_eq!(starting("view "), ["view TABLE_NAME=cheap", "view count 1"]);
    // NULLABLE is the driver's `IS_NULLABLE = 'yes'`: true for YES, as in MySQL.
    assert_eq!(
        starting("column "),
        [
            "column COLUMN_NAME=id DATA_TYPE=4 TYPE_NAME=INT COLUMN_SIZE=10 DECIMAL_DIGITS=0 \
             NULLABLE=0 IS_NULLABLE=NO COLUMN_DEF=null REMARKS=the id ORDINAL_POSITION=1 \
             IS_AUTOINCREMENT=NO",
            "column COLUMN_NAME=name DATA_TYPE=12 TYPE_NAME=VARCHAR COLUMN_SIZE=20 \
             DECIMAL_DIGITS=null NULLABLE=1 IS_NULLABLE=YES COLUMN_DEF=none REMARKS= \
             ORDINAL_POSITION=2 IS_AUTOINCREMENT=NO",
            "column COLUMN_NAME=price DATA_TYPE=3 TYPE_NAME=DECIMAL COLUMN_SIZE=8 \
             DECIMAL_DIGITS=3 NULLABLE=1 IS_NULLABLE=YES COLUMN_DEF=null REMARKS= \
             ORDINAL_POSITION=3 IS_AUTOINCREMENT=NO",
            "column COLUMN_NAME=at DATA_TYPE=93 TYPE_NAME=DATETIME COLUMN_SIZE=19 \
             DECIMAL_DIGITS=null NULLABLE=1 IS_NULLABLE=YES COLUMN_DEF=null REMARKS= \
             ORDINAL_POSITION=4 IS_AUTOINCREMENT=NO",
            "column COLUMN_NAME=day DATA_TYPE=91 TYPE_NAME=DATE COLUMN_SIZE=10 \
             DECIMAL_DIGITS=null NULLABLE=1 IS_NULLABLE=YES COLUMN_DEF=null REMARKS= \
             ORDINAL_POSITION=5 IS_AUTOINCREMENT=NO",
            "column count 5",
        ]
    );
    assert_eq!(
        starting("viewcolumn "),
        [
            "viewcolumn COLUMN_NAME=id TYPE_NAME=INT",
            "viewcolumn COLUMN_NAME=name TYPE_NAME=VARCHAR",
            "viewcolumn count 2",
        ]
    );
    // A Duplicate Key table has no primary key and no secondary indexes, as in StarRocks.
    assert_eq!(starting("pk "), ["pk count 0"]);
    assert_eq!(starting("index "), ["index count 0"]);
    assert_eq!(starting("procedure "), ["procedure count 0"]);
    assert_eq!(
        starting("rsmd "),
        [
            "rsmd id type=4 INTEGER class=java.lang.Integer nullable=0 precision=11 scale=0 \
             table=items catalog=jm",
            "rsmd name type=12 VARCHAR class=java.lang.String nullable=1 precision=20 scale=0 \
             table=items catalog=jm",
            "rsmd price type=3 DECIMAL class=java.math.BigDecimal nullable=1 precision=8 \
             scale=3 table=items catalog=jm",
            "rsmd at type=93 DATETIME class=java.sql.Timestamp nullable=1 precision=19 scale=0 \
             table=items catalog=jm",
            "rsmd day type=91 DATE class=java.sql.Date nullable=1 precision=10 scale=0 \
             table=items catalog=jm",
        ]
    );
    assert_eq!(
        starting("row "),
        [
            "row 1 pen 1.250 2024-05-06 07:08:09.0 2024-05-06",
            "row 2 null null null null"
        ]
    );
}

/// SHOW TABLE STATUS (rows and creation times change from run to run, so not in an .slt file)
/// and SHOW STATUS' connection count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_table_status_and_threads_connected() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    for sql in [
        "CREATE DATABASE st",
        "CREATE TABLE st.a (k INT NOT NULL) DISTRIBUTED BY HASH(k) COMMENT 'table a'",
        "INSERT INTO st.a VALUES (1), (2), (3)",
        "CREATE TABLE st.b (k INT NOT NULL) DISTRIBUTED BY HASH(k)",
        "CREATE VIEW st.v AS SELECT k FROM st.a",
    ] {
        exec(&mut c, sql).await;
    }
    let status = rows(&mut c, "SHOW TABLE STATUS FROM st").await;
    assert_eq!(
        column_names(&status[0])[..5],
        ["Name", "Engine", "Version", "Row_format", "Rows"]
    );
    // Name, Engine, Rows and Comment of each row.
    let summary: Vec<Vec<Option<String>>> = status
        .iter()
        .map(|r| {
            ["Name", "Engine", "Rows", "Comment"]
                .map(|col| string(r, col))
                .to_vec()
        })
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        summary,
        [
            [s("a"), s("StarRocks"), s("3"), s("table a")],
            [s("b"), s("StarRocks"), s("0"), s("")],
            [s("v"), None, None, s("VIEW")],
        ]
    );
    for r in &status {
        assert!(string(r, "Create_time").is_some(), "{r:?}");
    }
    let like = rows(&mut c, "SHOW TABLE STATUS FROM st LIKE 'b'").await;
    assert_eq!(like.len(), 1);
    assert_eq!(string(&like[0], "Name").as_deref(), Some("b"));

    let threads = |rows: Vec<Row>| -> String {
        assert_eq!(rows.len(), 1, "one row");
        assert_eq!(
            string(&rows[0], "Variable_name").as_deref(),
            Some("Threads_connected")
        );
        string(&rows[0], "Value").expect("a value")
    };
    let one = threads(rows(&mut c, "SHOW STATUS LIKE 'Threads_connected'").await);
    assert_eq!(one, "1");
    let mut second = server.conn(Some("st")).await;
    let two = threads(rows(&mut second, "SHOW GLOBAL STATUS LIKE 'Threads_connected'").await);
    assert_eq!(two, "2");
    second.disconnect().await.expect("disconnects");
}
