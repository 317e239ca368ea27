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
    cuts: Arc<Mutex<Vec<(String, usize)>>>,
    /// Milliseconds every GET waits before it is forwarded.
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// The request line of every GET forwarded.
    gets: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// Forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let cuts: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
        let delay_ms: Arc<std::sync::atomic::AtomicU64> = Arc::default();
        let gets: Arc<Mutex<Vec<String>>> = Arc::default();
        let shared = Shared {
            cuts: cuts.clone(),
            delay_ms: delay_ms.clone(),
            gets: gets.clone(),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, shared) = (upstream.clone(), shared.clone());
                tokio::spawn(async move {
                    let _ = exchange(client, &upstream, &shared).await;
                });
            }
        });
        Self {
            endpoint,
            cuts,
            delay_ms,
            gets,
        }
    }

    /// Makes every GET wait `ms` milliseconds before it is forwarded.
    pub fn delay_gets(&self, ms: u64) {
        self.delay_ms.store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// The request lines of the GETs forwarded so far, and forgets them.
    pub fn take_gets(&self) -> Vec<String> {
        std::mem::take(&mut *self.gets.lock().unwrap())
    }

    /// Cuts the body of the next `times` GET responses for keys containing `key` (instead of
    /// what was asked for `key` before).
    pub fn cut(&self, key: &str, times: usize) {
        let mut cuts = self.cuts.lock().unwrap();
        cuts.retain(|(k, _)| k != key);
        cuts.push((key.to_string(), times));
    }
}

#[derive(Clone)]
struct Shared {
    cuts: Arc<Mutex<Vec<(String, usize)>>>,
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    gets: Arc<Mutex<Vec<String>>>,
}

/// One request forwarded and its answer returned, cut if asked.
async fn exchange(mut client: TcpStream, upstream: &str, shared: &Shared) -> std::io::Result<()> {
    let cuts = &shared.cuts;
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

    let cut = first.starts_with("GET ") && {
        let mut cuts = cuts.lock().unwrap();
        match cuts
            .iter_mut()
            .find(|(key, left)| *left > 0 && first.contains(key.as_str()))
        {
            Some((_, left)) => {
                *left -= 1;
                true
            }
            None => false,
        }
    };
    if cut && let Some(short) = cut_body(&response) {
        response = short;
    }
    client.write_all(&response).await?;
    client.shutdown().await
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
