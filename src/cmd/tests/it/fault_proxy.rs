//! A proxy in front of the local S3 server that cuts response bodies short, as a broken proxy
//! or network does: the body ends at a line break before the object's end and its
//! Content-Length matches the cut body, so nothing in HTTP says it is short. Reads must notice
//! from the object's listed size (and retry, or fail naming the read), never load part of a
//! file. Every request is forwarded on a connection of its own and answered with
//! `Connection: close`, so the proxy needs to understand no more HTTP than one exchange.

use std::sync::{Arc, Mutex};

use mysql_async::prelude::Queryable;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{TestServer, exec, fresh_table};
use crate::s3::{AK, BUCKET, S3Server, SK};

/// A running proxy.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    shared: Shared,
}

/// What the proxy does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The response body is cut short at a line break, Content-Length matching the cut.
    Cut,
    /// The request is answered with this status and S3's error body (503 SlowDown, 500
    /// InternalError, others AccessDenied), never reaching the store.
    Status(u16),
    /// Half the response is sent, then the connection is reset.
    Reset,
    /// A listing's entries for the key are left out (a listing that lags behind writes).
    Hide,
    /// The request is never answered: the connection is held until the client gives up.
    Stall,
}

/// A fault for the next `left` requests whose request line contains `key`.
struct Rule {
    key: String,
    fault: Fault,
    left: usize,
}

impl FaultProxy {
    /// Forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            rules: Arc::default(),
            delay_ms: Arc::default(),
            gets: Arc::default(),
        };
        let proxy = Self {
            endpoint,
            shared: shared.clone(),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, shared) = (upstream.clone(), shared.clone());
                tokio::spawn(async move {
                    let _ = exchange(client, &upstream, &shared).await;
                });
            }
        });
        proxy
    }

    /// Makes every GET wait `ms` milliseconds before it is forwarded.
    pub fn delay_gets(&self, ms: u64) {
        self.shared
            .delay_ms
            .store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// The request lines of the GETs forwarded so far, and forgets them.
    pub fn take_gets(&self) -> Vec<String> {
        std::mem::take(&mut *self.shared.gets.lock().unwrap())
    }

    /// Cuts the body of the next `times` GET responses for keys containing `key` (instead of
    /// what was asked for `key` before).
    pub fn cut(&self, key: &str, times: usize) {
        self.inject(key, Fault::Cut, times);
    }

    /// Does `fault` to the next `times` requests whose request line contains `key` (a key,
    /// or `list-type` for listings), replacing what was asked for `key` before.
    pub fn inject(&self, key: &str, fault: Fault, times: usize) {
        let mut rules = self.shared.rules.lock().unwrap();
        rules.retain(|r| r.key != key);
        rules.push(Rule {
            key: key.to_string(),
            fault,
            left: times,
        });
    }

    /// Whether every fault injected for `key` has happened.
    pub fn spent(&self, key: &str) -> bool {
        self.shared
            .rules
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.key != key || r.left == 0)
    }

    /// Forgets every fault: the store is healthy again.
    pub fn heal(&self) {
        self.shared.rules.lock().unwrap().clear();
    }
}

#[derive(Clone)]
struct Shared {
    rules: Arc<Mutex<Vec<Rule>>>,
    /// Milliseconds every GET waits before it is forwarded.
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// The request line of every GET forwarded.
    gets: Arc<Mutex<Vec<String>>>,
}

impl Shared {
    /// The fault for a request line, counted down.
    fn fault_for(&self, first: &str) -> Option<(String, Fault)> {
        let listing = first.contains("list-type");
        let mut rules = self.rules.lock().unwrap();
        let r = rules.iter_mut().find(|r| {
            r.left > 0
                && match r.fault {
                    // The key is in the listing's body, not its request line.
                    Fault::Hide => listing,
                    Fault::Cut => !listing && first.contains(r.key.as_str()),
                    Fault::Status(_) | Fault::Reset | Fault::Stall => {
                        first.contains(r.key.as_str())
                    }
                }
        })?;
        r.left -= 1;
        Some((r.key.clone(), r.fault))
    }
}

/// One request forwarded and its answer returned, with the fault asked for.
async fn exchange(mut client: TcpStream, upstream: &str, shared: &Shared) -> std::io::Result<()> {
    let (head, mut body) = read_head(&mut client).await?;
    let head_text = String::from_utf8_lossy(&head).into_owned();
    let length = header(&head_text, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    while body.len() < length {
        let mut buf = vec![0; length - body.len()];
        let n = client.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let first = head_text.lines().next().unwrap_or_default().to_string();
    let fault = shared.fault_for(&first);
    if let Some((_, Fault::Stall)) = fault {
        let mut buf = [0u8; 1024];
        while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
        return Ok(());
    }
    if let Some((_, Fault::Status(status))) = fault {
        let (code, text) = match status {
            503 => ("SlowDown", "Please reduce your request rate."),
            500 => (
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            _ => ("AccessDenied", "Access Denied"),
        };
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{text}\
             </Message></Error>"
        );
        let response = format!(
            "HTTP/1.1 {status} {code}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{xml}",
            xml.len()
        );
        client.write_all(response.as_bytes()).await?;
        return client.shutdown().await;
    }
    let mut request: Vec<u8> = Vec::new();
    for line in head_text.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            request.extend_from_slice(line.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    request.extend_from_slice(&body);
    if first.starts_with("GET ") {
        shared.gets.lock().unwrap().push(first.clone());
        let ms = shared.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(&request).await?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await?;
    match fault {
        Some((_, Fault::Cut)) if first.starts_with("GET ") => {
            if let Some(short) = cut_body(&response) {
                response = short;
            }
        }
        Some((key, Fault::Hide)) => {
            if let Some(lagging) = hide_entries(&response, &key) {
                response = lagging;
            }
        }
        Some((_, Fault::Reset)) => {
            client.write_all(&response[..response.len() / 2]).await?;
            // SO_LINGER 0: closing sends a reset, as a dropped connection does (with a zero
            // linger the drop does not block, which is why tokio deprecates the general case).
            #[allow(deprecated)]
            client.set_linger(Some(std::time::Duration::ZERO))?;
            drop(client);
            return Ok(());
        }
        _ => {}
    }
    client.write_all(&response).await?;
    client.shutdown().await
}

/// A listing response without the `<Contents>` entries whose key contains `key`, its
/// Content-Length made to match; `None` when it has none.
fn hide_entries(response: &[u8], key: &str) -> Option<Vec<u8>> {
    let text = String::from_utf8(response.to_vec()).ok()?;
    let split = text.find("\r\n\r\n")? + 4;
    let (head, body) = text.split_at(split);
    header(head, "content-length")?;
    let mut kept = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("<Contents>") {
        let end = rest[start..].find("</Contents>")? + start + "</Contents>".len();
        kept.push_str(&rest[..start]);
        if !rest[start..end].contains(key) {
            kept.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    kept.push_str(rest);
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(&format!("Content-Length: {}\r\n", kept.len()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&kept);
    Some(out.into_bytes())
}

/// An endpoint that accepts connections and never answers: a request to it waits until its
/// caller gives up, so a load reading from it stays running until it is cancelled.
pub async fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    endpoint
}

/// The response with its body cut at a line break about two thirds in and Content-Length
/// made to match; `None` when it has no Content-Length body worth cutting.
fn cut_body(response: &[u8]) -> Option<Vec<u8>> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let (head, body) = response.split_at(split);
    let head = String::from_utf8_lossy(head).into_owned();
    header(&head, "content-length")?;
    let keep = body[..body.len() * 2 / 3]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(body.len() / 2, |i| i + 1);
    let mut out = Vec::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("content-length:") {
            out.extend_from_slice(format!("Content-Length: {keep}\r\n").as_bytes());
        } else {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body[..keep]);
    Some(out)
}

async fn read_head(s: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let body = data.split_off(end + 4);
            return Ok((data, body));
        }
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buf[..n]);
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.split("\r\n").find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// A short body is asked for again; when every answer is short the load fails naming the read
/// and commits nothing. Plain CSV (ranged reads), gzip CSV (one streamed read) and a Parquet
/// footer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_reads_are_retried_or_fail_the_load_and_never_load_part_of_a_file() {
    let s3 = S3Server::start().await;
    let rows = 50_000;
    let text: String = (1..=rows).map(|i| format!("{i},row-{i}\n")).collect();
    s3.put_local("short/data.csv", text.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    s3.put_local("short/data.csv.gz", &gz.finish().unwrap());
    let parquet = crate::s3::parquet(&[crate::s3::user_behavior(0, 1000)], 1000);
    s3.put_local("short/ub.parquet", &parquet);
    let proxy = FaultProxy::start(&s3.endpoint).await;

    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    fresh_table(
        &mut c,
        "CREATE TABLE t (k INT, v VARCHAR(20)) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k)",
    )
    .await;
    let files = |path: &str| {
        format!(
            r#"FILES("path" = "s3://{BUCKET}/{path}", "format" = "{}",
               "csv.column_separator" = ",",
               "aws.s3.endpoint" = "{}", "aws.s3.access_key" = "{AK}", "aws.s3.secret_key" = "{SK}")"#,
            if path.ends_with(".parquet") {
                "parquet"
            } else {
                "csv"
            },
            proxy.endpoint
        )
    };

    // One cut answer: the range is asked for again and every row loads.
    proxy.cut("short/data.csv", 1);
    exec(
        &mut c,
        &format!(
            "INSERT INTO t SELECT $1, $2 FROM {}",
            files("short/data.csv")
        ),
    )
    .await;
    assert_eq!(count(&mut c).await, rows);

    // Every answer cut: the load fails naming the read, and nothing of it is visible.
    proxy.cut("short/data.csv", 1000);
    let err = c
        .query_drop(format!(
            "INSERT INTO t WITH LABEL l_short SELECT $1, $2 FROM {}",
            files("short/data.csv")
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("storage returned") && err.contains("not read whole"),
        "{err}"
    );
    assert_eq!(count(&mut c).await, rows);
    let state: Option<String> = c
        .query_first("SELECT STATE FROM information_schema.loads WHERE LABEL = 'l_short'")
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("CANCELLED"));

    // A compressed file is one streamed read: a cut body fails it.
    proxy.cut("short/data.csv.gz", 1000);
    let err = c
        .query_drop(format!(
            "INSERT INTO t SELECT $1, $2 FROM {}",
            files("short/data.csv.gz")
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not read whole"), "{err}");
    assert_eq!(count(&mut c).await, rows);

    // A Parquet footer that comes back short is a storage fault, not "not a valid Parquet file".
    proxy.cut("short/ub.parquet", 1000);
    let err = c
        .query_drop(format!("DESC {}", files("short/ub.parquet")))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("storage returned"), "{err}");
    assert!(!err.contains("not a valid Parquet"), "{err}");
    proxy.cut("short/ub.parquet", 1);
    let n: Option<u64> = c
        .query_first(format!(
            "SELECT count(*) FROM {}",
            files("short/ub.parquet")
        ))
        .await
        .unwrap();
    assert_eq!(n, Some(1000));
}

async fn count(c: &mut mysql_async::Conn) -> u64 {
    c.query_first::<u64, _>("SELECT count(*) FROM t")
        .await
        .unwrap()
        .unwrap()
}
