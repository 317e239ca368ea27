//! The MySQL protocol packet by packet: what clients send that drivers hide (several commands
//! before reading an answer, bytes that are not UTF-8, unknown commands, COM_FIELD_LIST).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{TestServer, exec};

const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_CONNECT_WITH_DB: u32 = 8;
const CLIENT_PROTOCOL_41: u32 = 512;
const CLIENT_TRANSACTIONS: u32 = 8192;
const CLIENT_SECURE_CONNECTION: u32 = 32768;
const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;

/// One answer to one command.
#[derive(Debug, PartialEq)]
pub enum Reply {
    Ok { affected: u64 },
    Err { code: u16, message: String },
    Rows(Vec<Vec<Option<String>>>),
}

/// A connection that writes and reads raw packets.
pub struct RawConn {
    stream: TcpStream,
}

impl RawConn {
    /// Connects as root (no password), optionally to a database, without CLIENT_DEPRECATE_EOF.
    pub async fn connect(port: u16, db: Option<&str>) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (_, greeting) = read_packet(&mut stream).await;
        assert_eq!(greeting[0], 10, "protocol version 10");
        let mut caps = CLIENT_LONG_PASSWORD
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH;
        if db.is_some() {
            caps |= CLIENT_CONNECT_WITH_DB;
        }
        let mut p = Vec::new();
        p.extend_from_slice(&caps.to_le_bytes());
        p.extend_from_slice(&(16u32 << 20).to_le_bytes());
        p.push(45); // utf8mb4_general_ci
        p.extend_from_slice(&[0; 23]);
        p.extend_from_slice(b"root\0");
        p.push(0); // empty auth response
        if let Some(db) = db {
            p.extend_from_slice(db.as_bytes());
            p.push(0);
        }
        p.extend_from_slice(b"mysql_native_password\0");
        write_packet(&mut stream, 1, &p).await;
        let (_, ok) = read_packet(&mut stream).await;
        assert_eq!(ok[0], 0, "login answered {ok:?}");
        Self { stream }
    }

    /// Sends commands back to back (each its own packet, sequence 0) without reading.
    pub async fn send_commands(&mut self, commands: &[Vec<u8>]) {
        let mut all = Vec::new();
        for c in commands {
            all.extend_from_slice(&(c.len() as u32).to_le_bytes()[..3]);
            all.push(0);
            all.extend_from_slice(c);
        }
        self.stream.write_all(&all).await.unwrap();
    }

    /// Writes bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Sends COM_QUERY packets for every statement in one write, before reading any answer.
    pub async fn pipeline(&mut self, queries: &[&str]) {
        let commands: Vec<Vec<u8>> = queries.iter().map(|q| com_query(q.as_bytes())).collect();
        self.send_commands(&commands).await;
    }

    /// Reads the answer to one command (one result of it).
    pub async fn reply(&mut self) -> Reply {
        let (_, first) = read_packet(&mut self.stream).await;
        match first[0] {
            0x00 => Reply::Ok {
                affected: lenenc(&first[1..]).0,
            },
            0xff => Reply::Err {
                code: u16::from_le_bytes([first[1], first[2]]),
                message: String::from_utf8_lossy(&first[9..]).into_owned(),
            },
            _ => {
                let columns = lenenc(&first).0;
                for _ in 0..columns {
                    read_packet(&mut self.stream).await;
                }
                let (_, eof) = read_packet(&mut self.stream).await;
                assert_eq!(eof[0], 0xfe, "EOF after the column definitions");
                let mut rows = Vec::new();
                loop {
                    let (_, p) = read_packet(&mut self.stream).await;
                    if p[0] == 0xfe && p.len() < 9 {
                        return Reply::Rows(rows);
                    }
                    rows.push(text_row(&p, columns as usize));
                }
            }
        }
    }

    /// Reads every packet of a COM_FIELD_LIST answer: the column names, up to the EOF.
    pub async fn field_list(&mut self) -> Result<Vec<String>, Reply> {
        let mut names = Vec::new();
        loop {
            let (_, p) = read_packet(&mut self.stream).await;
            match p[0] {
                0xfe if p.len() < 9 => return Ok(names),
                0xff => {
                    return Err(Reply::Err {
                        code: u16::from_le_bytes([p[1], p[2]]),
                        message: String::from_utf8_lossy(&p[9..]).into_owned(),
                    });
                }
                _ => {
                    // catalog, schema, table, org_table, name, ...
                    let mut rest = &p[..];
                    let mut fields = Vec::new();
                    for _ in 0..5 {
                        let (len, n) = lenenc(rest);
                        let len = len as usize;
                        fields.push(String::from_utf8_lossy(&rest[n..n + len]).into_owned());
                        rest = &rest[n + len..];
                    }
                    names.push(fields[4].clone());
                }
            }
        }
    }
}

/// A COM_QUERY packet's body.
pub fn com_query(sql: &[u8]) -> Vec<u8> {
    let mut p = vec![0x03];
    p.extend_from_slice(sql);
    p
}

async fn write_packet(s: &mut TcpStream, seq: u8, body: &[u8]) {
    let mut p = (body.len() as u32).to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(body);
    s.write_all(&p).await.unwrap();
}

async fn read_packet(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 4];
    tokio::time::timeout(std::time::Duration::from_secs(60), s.read_exact(&mut head))
        .await
        .expect("the server answers within 60 s")
        .expect("the connection stays open");
    let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
    let mut body = vec![0; len];
    s.read_exact(&mut body).await.unwrap();
    (head[3], body)
}

/// A length-encoded integer and the bytes it took.
fn lenenc(b: &[u8]) -> (u64, usize) {
    match b[0] {
        0xfc => (u64::from(u16::from_le_bytes([b[1], b[2]])), 3),
        0xfd => (u64::from(u32::from_le_bytes([b[1], b[2], b[3], 0])), 4),
        0xfe => (u64::from_le_bytes(b[1..9].try_into().unwrap()), 9),
        n => (u64::from(n), 1),
    }
}

fn text_row(mut p: &[u8], columns: usize) -> Vec<Option<String>> {
    (0..columns)
        .map(|_| {
            if p[0] == 0xfb {
                p = &p[1..];
                return None;
            }
            let (len, n) = lenenc(p);
            let v = String::from_utf8_lossy(&p[n..n + len as usize]).into_owned();
            p = &p[n + len as usize..];
            Some(v)
        })
        .collect()
}

fn rows(v: &[&[Option<&str>]]) -> Reply {
    Reply::Rows(
        v.iter()
            .map(|r| r.iter().map(|c| c.map(str::to_string)).collect())
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_commands_are_all_run_and_answered_in_order() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE w").await;
    exec(&mut c, "CREATE TABLE w.t (a INT)").await;

    let mut raw = RawConn::connect(server.port(), Some("w")).await;
    let mut batch: Vec<String> = (1..=10)
        .map(|i| format!("INSERT INTO t VALUES ({i})"))
        .collect();
    batch.insert(5, "SELECT count(*) FROM t".into());
    batch.push("SELECT count(*), sum(a) FROM t".into());
    batch.push("SELECT nope FROM t".into());
    batch.push("SELECT 'still here'".into());
    let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
    raw.pipeline(&refs).await;
    for i in 1..=5 {
        assert_eq!(raw.reply().await, Reply::Ok { affected: 1 }, "INSERT {i}");
    }
    assert_eq!(raw.reply().await, rows(&[&[Some("5")]]));
    for i in 6..=10 {
        assert_eq!(raw.reply().await, Reply::Ok { affected: 1 }, "INSERT {i}");
    }
    assert_eq!(raw.reply().await, rows(&[&[Some("10"), Some("55")]]));
    assert!(matches!(raw.reply().await, Reply::Err { code: 1054, .. }));
    assert_eq!(raw.reply().await, rows(&[&[Some("still here")]]));

    // Many small commands in one write, more than one read of the server's buffer holds.
    let many: Vec<String> = (0..2000).map(|i| format!("SELECT {i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    raw.pipeline(&refs).await;
    for i in 0..2000 {
        assert_eq!(raw.reply().await, rows(&[&[Some(&i.to_string())]]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_packet_gets_an_answer_and_the_connection_stays_usable() {
    let server = TestServer::start().await;
    let mut raw = RawConn::connect(server.port(), None).await;

    raw.send_commands(&[com_query(b"SELECT '\xff'")]).await;
    match raw.reply().await {
        Reply::Err { code, message } => {
            assert_eq!(code, 1300);
            assert!(
                message.contains("Invalid utf8mb4 character string: 'FF'"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // COM_STATISTICS (0x09) is not served; an empty packet is no command at all.
    raw.send_commands(&[vec![0x09], vec![]]).await;
    for _ in 0..2 {
        assert!(matches!(raw.reply().await, Reply::Err { code: 1047, .. }));
    }
    // COM_RESET_CONNECTION (0x1f), which pools send, resets the session: variables and an
    // open transaction go, the database stays.
    raw.pipeline(&["SET query_timeout = 7", "BEGIN"]).await;
    for _ in 0..2 {
        assert_eq!(raw.reply().await, Reply::Ok { affected: 0 });
    }
    raw.send_commands(&[vec![0x1f]]).await;
    assert_eq!(raw.reply().await, Reply::Ok { affected: 0 });
    raw.pipeline(&["SELECT @@query_timeout"]).await;
    assert_eq!(raw.reply().await, rows(&[&[Some("300")]]));
    raw.pipeline(&[
        "CREATE DATABASE rst",
        "CREATE TABLE rst.t (a INT)",
        "INSERT INTO rst.t VALUES (1)",
    ])
    .await;
    for _ in 0..3 {
        assert!(
            matches!(raw.reply().await, Reply::Ok { .. }),
            "no transaction left open"
        );
    }
    // COM_STMT_EXECUTE (0x17) of a statement never prepared: MySQL's 1243, not a dropped
    // connection; COM_STMT_RESET (0x1a) of it: an OK (nothing is kept between executions).
    let mut execute = vec![0x17];
    execute.extend_from_slice(&77u32.to_le_bytes());
    execute.push(0);
    execute.extend_from_slice(&1u32.to_le_bytes());
    let mut reset = vec![0x1a];
    reset.extend_from_slice(&77u32.to_le_bytes());
    raw.send_commands(&[execute, reset]).await;
    match raw.reply().await {
        Reply::Err { code, message } => {
            assert_eq!(code, 1243);
            assert!(
                message.contains("Unknown prepared statement handler (77)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(raw.reply().await, Reply::Ok { affected: 0 });
    raw.pipeline(&["SELECT 1"]).await;
    assert_eq!(raw.reply().await, rows(&[&[Some("1")]]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_list_answers_the_columns_and_ends() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE f").await;
    exec(
        &mut c,
        "CREATE TABLE f.t (id INT, name VARCHAR(20), at DATETIME)",
    )
    .await;

    let field_list = |table: &str| {
        let mut p = vec![0x04];
        p.extend_from_slice(table.as_bytes());
        p.push(0);
        p
    };
    let mut raw = RawConn::connect(server.port(), Some("f")).await;
    raw.send_commands(&[field_list("t")]).await;
    assert_eq!(raw.field_list().await.unwrap(), ["id", "name", "at"]);
    raw.send_commands(&[field_list("missing")]).await;
    assert!(matches!(
        raw.field_list().await,
        Err(Reply::Err { code: 1146, .. })
    ));
    raw.pipeline(&["SELECT 2"]).await;
    assert_eq!(raw.reply().await, rows(&[&[Some("2")]]));

    let mut no_db = RawConn::connect(server.port(), None).await;
    no_db.send_commands(&[field_list("t")]).await;
    assert!(matches!(
        no_db.field_list().await,
        Err(Reply::Err { code: 1046, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_over_max_allowed_packet_is_refused_with_1153() {
    let server = TestServer::start().await;
    let mut raw = RawConn::connect(server.port(), None).await;
    // A COM_QUERY of 70 MiB, sent as the protocol splits it: 16 MiB chunks, then the rest.
    let sql = format!("SELECT '{}'", "x".repeat(70 << 20));
    let body = com_query(sql.as_bytes());
    let mut wire = Vec::with_capacity(body.len() + 64);
    for (seq, chunk) in body.chunks(0xff_ffff).enumerate() {
        wire.extend_from_slice(&(chunk.len() as u32).to_le_bytes()[..3]);
        wire.push(seq as u8);
        wire.extend_from_slice(chunk);
    }
    if body.len().is_multiple_of(0xff_ffff) {
        wire.extend_from_slice(&[0, 0, 0, (body.len() / 0xff_ffff) as u8]);
    }
    // The server may close before taking it all; what it answered is what counts.
    let _ = raw.send_raw(&wire).await;
    match raw.reply().await {
        Reply::Err { code, message } => {
            assert_eq!(code, 1153);
            assert!(message.contains("max_allowed_packet"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Other connections are served.
    let mut other = RawConn::connect(server.port(), None).await;
    other.pipeline(&["SELECT 1"]).await;
    assert_eq!(other.reply().await, rows(&[&[Some("1")]]));
}

/// A socket that never logs in is closed after `connect_timeout` (10 s), so idle
/// unauthenticated sockets cannot pile up; a logged-in idle connection stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_logs_in_is_closed_after_connect_timeout() {
    use mysql_async::prelude::Queryable;
    let server = TestServer::start().await;
    let mut logged_in = server.conn(None).await;
    let mut raw = TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap();
    // The server's greeting, then silence from the client.
    let (_, greeting) = read_packet(&mut raw).await;
    assert!(!greeting.is_empty());
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(30), raw.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "the server closed the socket");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(9),
        "closed after {waited:?}"
    );
    // The logged-in connection, idle as long, still answers.
    let one: u64 = logged_in.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);
}
