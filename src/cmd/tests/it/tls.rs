//! TLS on the MySQL port with `--require-secure-transport`: the real `mysql` client, pymysql
//! and mysql-connector-python log in with passwords over TLS; without TLS they are refused
//! with MySQL's 3159.

use std::process::Command;

use crate::harness::workspace_root;

/// A self-signed certificate and key made with the `openssl` command.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command makes the test certificate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn mysql(port: u16, user: &str, password: &str, tls: bool, sql: &str) -> std::process::Output {
    let mut c = Command::new("mysql");
    c.args(["-h127.0.0.1", &format!("-P{port}"), &format!("-u{user}")])
        .arg(format!("-p{password}"))
        .arg(if tls { "--ssl" } else { "--skip-ssl" })
        .args(["-N", "-e", sql]);
    c.output()
        .expect("the mysql client runs (scripts/test installs it)")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_log_in_over_tls_and_plain_connections_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let config = strata::Config {
        data_dir: dir.path().join("data"),
        mysql_addr: "127.0.0.1:0".into(),
        http_addr: "127.0.0.1:0".into(),
        log: "warn".into(),
        root_password: Some("r00t-S3cret".into()),
        tls: Some((cert, key)),
        require_secure_transport: true,
        ..Default::default()
    };
    let server = strata::Server::start(&config).await.unwrap();
    let port = server.mysql_addr.port();
    let out = tokio::task::spawn_blocking(move || {
        let setup = mysql(
            port,
            "root",
            "r00t-S3cret",
            true,
            "CREATE USER loader IDENTIFIED BY 'S3cret!'; SELECT current_user()",
        );
        let plain = mysql(port, "root", "r00t-S3cret", false, "SELECT 1");
        let mut py =
            Command::new(std::env::var("STRATA_PYTHON").unwrap_or_else(|_| "python3".to_string()));
        py.arg(workspace_root().join("tests/clients/tls_e2e.py"))
            .args([&port.to_string(), "loader", "S3cret!"]);
        (setup, plain, py.output().expect("python runs"))
    })
    .await
    .unwrap();
    let (setup, plain, py) = out;
    assert!(setup.status.success(), "{}", text(&setup));
    assert!(text(&setup).contains("'root'@'%'"), "{}", text(&setup));
    assert!(!plain.status.success());
    assert!(
        text(&plain).contains("3159") && text(&plain).contains("insecure transport"),
        "{}",
        text(&plain)
    );
    assert!(py.status.success(), "{}", text(&py));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let config = strata::Config {
        data_dir: dir.path().join("data"),
        mysql_addr: "127.0.0.1:0".into(),
        http_addr: "127.0.0.1:0".into(),
        tls: Some((bad.clone(), bad)),
        ..Default::default()
    };
    let Err(e) = strata::Server::start(&config).await else {
        panic!("a server started with a bad certificate");
    };
    assert!(e.to_string().contains("bad.pem"), "{e}");
}
