//! Users, roles and privileges over the wire: the walk-through, with a loader that
//! can load `user_behavior` by INSERT + FILES(), Broker Load and a pipe and do nothing else;
//! root's password at first start; wrong passwords, locking, and what SHOW shows.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::harness::{TestServer, exec};
use crate::s3::{AK, BUCKET, S3Server, SK, parquet, user_behavior};

pub(crate) async fn login(
    port: u16,
    user: &str,
    password: &str,
) -> Result<mysql_async::Conn, String> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(password))
        .prefer_socket(false);
    mysql_async::Conn::new(opts)
        .await
        .map_err(|e| e.to_string())
}

async fn err(c: &mut mysql_async::Conn, sql: &str) -> String {
    match c.query_drop(sql).await {
        Ok(()) => panic!("{sql}: succeeded, expected a refusal"),
        Err(e) => e.to_string(),
    }
}

async fn count(c: &mut mysql_async::Conn, sql: &str) -> u64 {
    c.query_first(sql).await.unwrap().unwrap()
}

async fn strings(c: &mut mysql_async::Conn, sql: &str) -> Vec<String> {
    c.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn creds(s3: &S3Server) -> String {
    format!(
        "\"aws.s3.endpoint\" = \"{}\", \"aws.s3.access_key\" = \"{AK}\", \"aws.s3.secret_key\" = \"{SK}\"",
        s3.endpoint
    )
}

async fn wait_state(c: &mut mysql_async::Conn, sql: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: Option<String> = c.query_first(sql).await.unwrap();
        if got.as_deref() == Some(want) || Instant::now() > deadline {
            return got.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loader_loads_its_table_three_ways_and_nothing_else() {
    let s3 = S3Server::start().await;
    s3.put("ub/a.parquet", parquet(&[user_behavior(0, 20)], 1000))
        .await;
    let server = TestServer::start().await;
    let port = server.port();
    let mut root = server.conn(None).await;
    for sql in [
        "CREATE DATABASE mydatabase",
        "USE mydatabase",
        "CREATE TABLE user_behavior (UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, \
         BehaviorType VARCHAR(20), Timestamp VARCHAR(32)) DISTRIBUTED BY HASH(UserID)",
        "CREATE TABLE other (UserID BIGINT, ItemID BIGINT, CategoryID BIGINT, \
         BehaviorType VARCHAR(20), Timestamp VARCHAR(32)) DISTRIBUTED BY HASH(UserID)",
        "CREATE DATABASE secret_db",
        "CREATE USER 'loader'@'%' IDENTIFIED BY 'S3cret!'",
        "CREATE ROLE etl",
        "GRANT INSERT, SELECT ON TABLE mydatabase.user_behavior TO ROLE etl",
        "GRANT CREATE PIPE ON DATABASE mydatabase TO USER 'loader'@'%'",
        "GRANT etl TO USER 'loader'@'%'",
        "SET DEFAULT ROLE etl TO 'loader'@'%'",
    ] {
        exec(&mut root, sql).await;
    }
    let grants: Vec<(String, Option<String>, String)> =
        root.query("SHOW GRANTS FOR 'loader'@'%'").await.unwrap();
    let texts: Vec<&str> = grants.iter().map(|g| g.2.as_str()).collect();
    assert_eq!(
        texts,
        [
            "GRANT 'etl' TO USER 'loader'@'%'",
            "GRANT CREATE PIPE ON DATABASE mydatabase TO USER 'loader'@'%'"
        ]
    );
    let users = strings(&mut root, "SHOW USERS").await;
    assert_eq!(users, ["'loader'@'%'", "'root'@'%'"]);

    // A wrong password: MySQL's 1045, naming the client's host.
    let e = login(port, "loader", "wrong").await.unwrap_err();
    assert!(
        e.contains("1045")
            && e.contains("Access denied for user 'loader'@'127.0.0.1' (using password: YES)"),
        "{e}"
    );
    let mut l = login(port, "loader", "S3cret!").await.unwrap();
    exec(&mut l, "USE mydatabase").await;
    let role: String = l
        .query_first("SELECT current_role()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role, "etl");
    let me: String = l
        .query_first("SELECT current_user()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me, "'loader'@'%'");

    // INSERT + FILES() into its table works; into another, refused with StarRocks' message.
    let files = format!(
        "FILES(\"path\" = \"s3://{BUCKET}/ub/*.parquet\", \"format\" = \"parquet\", {})",
        creds(&s3)
    );
    exec(
        &mut l,
        &format!("INSERT INTO user_behavior SELECT * FROM {files}"),
    )
    .await;
    assert_eq!(
        count(&mut l, "SELECT count(*) FROM user_behavior").await,
        20
    );
    let e = err(&mut l, &format!("INSERT INTO other SELECT * FROM {files}")).await;
    assert!(
        e.contains(
            "Access denied; you need (at least one of) the INSERT privilege(s) on TABLE other \
             for this operation. Please ask the admin to grant permission(s) or try activating \
             existing roles using <set [default] role>. Current role(s): etl. Inactivated role(s): NONE."
        ),
        "{e}"
    );
    assert!(e.contains("1227"), "{e}");
    for sql in [
        "SELECT * FROM other",
        "SELECT * FROM user_behavior u JOIN other o ON u.UserID = o.UserID",
        "WITH x AS (SELECT * FROM mydatabase.other) SELECT * FROM x",
        "DROP TABLE user_behavior",
        "TRUNCATE TABLE user_behavior",
        "CREATE TABLE t2 (a INT) DISTRIBUTED BY HASH(a)",
        "CREATE DATABASE mine",
        "USE secret_db",
        "DESC other",
        "CREATE USER x IDENTIFIED BY 'y'",
        "GRANT SELECT ON TABLE mydatabase.other TO USER 'loader'@'%'",
        "SHOW USERS",
        "ADMIN SET FRONTEND CONFIG (\"label_keep_max_num\" = \"5\")",
    ] {
        let e = err(&mut l, sql).await;
        assert!(e.contains("Access denied"), "{sql}: {e}");
    }
    assert_eq!(
        count(&mut root, "SELECT count(*) FROM mydatabase.other").await,
        0
    );
    // The server's own files need FILE on SYSTEM, besides --allow-local-path.
    let e = err(
        &mut l,
        &format!(
            "SELECT * FROM FILES(\"path\" = \"file://{}/x.csv\", \"format\" = \"csv\")",
            std::env::temp_dir().display()
        ),
    )
    .await;
    assert!(e.contains("FILE privilege(s) on SYSTEM"), "{e}");

    // What it sees: its database and table only.
    assert_eq!(
        strings(&mut l, "SHOW DATABASES").await,
        ["information_schema", "mydatabase"]
    );
    assert_eq!(strings(&mut l, "SHOW TABLES").await, ["user_behavior"]);
    assert_eq!(
        strings(
            &mut l,
            "SELECT TABLE_NAME FROM information_schema.tables WHERE TABLE_SCHEMA = 'mydatabase'"
        )
        .await,
        ["user_behavior"]
    );

    // Broker Load: into its table, FINISHED; into another, refused at submission.
    exec(
        &mut l,
        &format!(
            "LOAD LABEL mydatabase.by_loader (DATA INFILE(\"s3://{BUCKET}/ub/a.parquet\") \
             INTO TABLE user_behavior FORMAT AS \"parquet\") WITH BROKER ({})",
            creds(&s3)
        ),
    )
    .await;
    let st = wait_state(
        &mut l,
        "SELECT STATE FROM information_schema.loads WHERE LABEL = 'by_loader'",
        "FINISHED",
    )
    .await;
    assert_eq!(st, "FINISHED");
    let e = err(
        &mut l,
        &format!(
            "LOAD LABEL mydatabase.nope (DATA INFILE(\"s3://{BUCKET}/ub/a.parquet\") \
             INTO TABLE other FORMAT AS \"parquet\") WITH BROKER ({})",
            creds(&s3)
        ),
    )
    .await;
    assert!(e.contains("INSERT privilege(s) on TABLE other"), "{e}");
    // Root's job on another table: neither shown to the loader nor cancellable by it.
    exec(
        &mut root,
        &format!(
            "LOAD LABEL mydatabase.roots (DATA INFILE(\"s3://{BUCKET}/ub/a.parquet\") \
             INTO TABLE other FORMAT AS \"parquet\") WITH BROKER ({})",
            creds(&s3)
        ),
    )
    .await;
    let e = err(&mut l, "CANCEL LOAD FROM mydatabase WHERE LABEL = 'roots'").await;
    assert!(e.contains("INSERT privilege(s) on TABLE other"), "{e}");
    assert_eq!(
        count(
            &mut l,
            "SELECT count(*) FROM information_schema.loads WHERE LABEL = 'roots'"
        )
        .await,
        0
    );

    // A pipe on its table runs as the loader; one on another table is refused.
    s3.put("pipe/1.parquet", parquet(&[user_behavior(100, 5)], 1000))
        .await;
    exec(
        &mut l,
        &format!(
            "CREATE PIPE p PROPERTIES (\"AUTO_INGEST\" = \"TRUE\", \"POLL_INTERVAL\" = \"1\") AS \
             INSERT INTO user_behavior SELECT * FROM FILES(\"path\" = \"s3://{BUCKET}/pipe/*.parquet\", \
             \"format\" = \"parquet\", {})",
            creds(&s3)
        ),
    )
    .await;
    let e = err(
        &mut l,
        &format!(
            "CREATE PIPE p2 AS INSERT INTO other SELECT * FROM FILES(\"path\" = \
             \"s3://{BUCKET}/pipe/*.parquet\", \"format\" = \"parquet\", {})",
            creds(&s3)
        ),
    )
    .await;
    assert!(e.contains("INSERT privilege(s) on TABLE other"), "{e}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&mut l, "SELECT count(*) FROM user_behavior").await < 45 {
        assert!(Instant::now() < deadline, "the pipe did not load");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pipes: Vec<mysql_async::Row> = l.query("SHOW PIPES").await.unwrap();
    assert_eq!(pipes.len(), 1);

    // SET ROLE NONE: the role's privileges are gone for the session, and the message says how
    // to get them back.
    exec(&mut l, "SET ROLE NONE").await;
    let e = err(&mut l, "SELECT count(*) FROM user_behavior").await;
    assert!(
        e.contains("Current role(s): NONE. Inactivated role(s): etl."),
        "{e}"
    );
    exec(&mut l, "SET ROLE etl").await;
    assert_eq!(
        count(&mut l, "SELECT count(*) FROM user_behavior").await,
        45
    );

    // Revoking INSERT stops the pipe at its next batch, with a clear LAST_ERROR, and nothing
    // more is loaded.
    exec(
        &mut root,
        "REVOKE INSERT ON TABLE mydatabase.user_behavior FROM ROLE etl",
    )
    .await;
    s3.put("pipe/2.parquet", parquet(&[user_behavior(200, 5)], 1000))
        .await;
    let st = wait_state(
        &mut root,
        "SELECT STATE FROM information_schema.pipes WHERE PIPE_NAME = 'p'",
        "ERROR",
    )
    .await;
    assert_eq!(st, "ERROR");
    let last: String = root
        .query_first("SELECT LAST_ERROR FROM information_schema.pipes WHERE PIPE_NAME = 'p'")
        .await
        .unwrap()
        .unwrap();
    assert!(
        last.contains("loader") && last.contains("INSERT privilege(s) on TABLE user_behavior"),
        "{last}"
    );
    assert_eq!(
        count(&mut root, "SELECT count(*) FROM mydatabase.user_behavior").await,
        45
    );
    let e = err(
        &mut l,
        &format!("INSERT INTO user_behavior SELECT * FROM {files}"),
    )
    .await;
    assert!(
        e.contains("INSERT privilege(s) on TABLE user_behavior"),
        "{e}"
    );

    // Dropping a table drops its grants; dropping the user ends its logins.
    exec(&mut root, "DROP TABLE mydatabase.user_behavior").await;
    let role_grants: Vec<(String, Option<String>, String)> =
        root.query("SHOW GRANTS FOR ROLE etl").await.unwrap();
    assert!(role_grants.is_empty(), "{role_grants:?}");
    exec(&mut root, "DROP USER 'loader'@'%'").await;
    let e = login(port, "loader", "S3cret!").await.unwrap_err();
    assert!(e.contains("1045"), "{e}");
    drop(l);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_password_at_first_start_and_account_locking() {
    let dir = tempfile::tempdir().unwrap();
    let config = strata::Config {
        data_dir: dir.path().to_path_buf(),
        mysql_addr: "127.0.0.1:0".into(),
        http_addr: "127.0.0.1:0".into(),
        log: "warn".into(),
        root_password: Some("r00t-S3cret".into()),
        ..Default::default()
    };
    let server = strata::Server::start(&config).await.unwrap();
    let port = server.mysql_addr.port();
    let e = login(port, "root", "").await.unwrap_err();
    assert!(e.contains("(using password: NO)"), "{e}");
    let mut root = login(port, "root", "r00t-S3cret").await.unwrap();
    exec(&mut root, "ALTER USER root IDENTIFIED BY 'n3w-S3cret'").await;
    assert!(login(port, "root", "r00t-S3cret").await.is_err());
    let mut root = login(port, "root", "n3w-S3cret").await.unwrap();

    // After N failures in a row the account is locked, even for the right password, and the
    // error says so; another account is not affected.
    exec(
        &mut root,
        "ADMIN SET FRONTEND CONFIG (\"max_failed_login_attempts\" = \"3\")",
    )
    .await;
    exec(&mut root, "CREATE USER u IDENTIFIED BY 'pw'").await;
    exec(&mut root, "CREATE USER v IDENTIFIED BY 'pw'").await;
    for _ in 0..3 {
        assert!(login(port, "u", "bad").await.is_err());
    }
    let e = login(port, "u", "pw").await.unwrap_err();
    assert!(e.contains("Account is blocked"), "{e}");
    let v1 = login(port, "v", "pw").await.unwrap();

    // Connection limits: per user (its max_user_connections property) and for the server,
    // answered with MySQL's errors rather than a dropped socket.
    exec(
        &mut root,
        "ALTER USER v SET PROPERTIES (\"max_user_connections\" = \"1\")",
    )
    .await;
    let e = login(port, "v", "pw").await.unwrap_err();
    assert!(
        e.contains("1203") && e.contains("User v already has more than 'max_user_connections'"),
        "{e}"
    );
    drop(v1);
    let e = err(
        &mut root,
        "ALTER USER v SET PROPERTIES (\"max_user_connections\" = \"0\")",
    )
    .await;
    assert!(e.contains("must be a positive number"), "{e}");
    exec(
        &mut root,
        "ADMIN SET FRONTEND CONFIG (\"qe_max_connection\" = \"1\")",
    )
    .await;
    let e = login(port, "root", "n3w-S3cret").await.unwrap_err();
    assert!(
        e.contains("1040") && e.contains("Too many connections"),
        "{e}"
    );
    // The connection that was there goes on.
    exec(
        &mut root,
        "ADMIN SET FRONTEND CONFIG (\"qe_max_connection\" = \"4096\")",
    )
    .await;
    assert!(login(port, "root", "n3w-S3cret").await.is_ok());
    drop(server);
}
