//! A bounded mutation fuzzer over the file readers, through the wire: valid Parquet, ORC, CSV
//! and JSON files are cut short, have bytes flipped, ranges repeated or zeroed, and footers or
//! length fields overwritten with absurd sizes; each is read with `DESC FILES`, a count and a
//! scan. Every answer must be a result or an error from the server that names the file — never
//! a lost connection, nor an "internal error" from a reader that panicked — and the server must
//! answer afterwards. `STRATA_FUZZ_FILES` (default 60 per format) sets
//! the length, `STRATA_FUZZ_SEED` replays a run (its seed is printed).
#![allow(clippy::print_stdout)] // the seed, for a replay

use std::path::Path;

use mysql_async::prelude::Queryable;
use strata_common::fuzz::{self, Rng};

use crate::harness::TestServer;
use crate::s3::{orc, parquet, user_behavior};

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut b = original.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = b.len();
        let at = rng.below(len + 1);
        match rng.below(7) {
            0 => b.truncate(at),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(len);
                    if i < b.len() {
                        b[i] ^= 1 << rng.below(8);
                    }
                }
            }
            2 => {
                let end = (at + rng.below(64)).min(len);
                let piece = b[at..end].to_vec();
                for _ in 0..1 + rng.below(4) {
                    b.splice(at..at, piece.iter().copied());
                }
            }
            3 => {
                let end = (at + rng.below(64)).min(len);
                b[at..end].fill(0);
            }
            4 if len >= 8 => {
                // A length field near the end (a Parquet footer's, say) claims a huge size.
                let i = len - 8 + rng.below(5);
                let huge = [0xFFu8, 0xFF, 0xFF, 0x7F];
                b[i..i + 4].copy_from_slice(&huge);
            }
            5 => {
                let end = (at + rng.below(64)).min(len);
                b.drain(at..end);
            }
            _ => {
                let i = rng.below(len);
                if i < b.len() {
                    b[i] = [0, b'"', b'\n', b',', b'{', 0xFF, 0xC3][rng.below(7)];
                }
            }
        }
    }
    b
}

fn csv() -> Vec<u8> {
    (0..200)
        .map(|i| {
            format!(
                "{i},name-{i},\"quoted, {i}\",2017-11-25 0{}:00:00\n",
                i % 10
            )
        })
        .collect::<String>()
        .into_bytes()
}

fn json() -> Vec<u8> {
    (0..200)
        .map(|i| format!("{{\"id\": {i}, \"name\": \"n{i}\", \"v\": [1, {{\"x\": {i}.5}}]}}\n"))
        .collect::<String>()
        .into_bytes()
}

/// Reads `path` three ways; panics if the connection is lost.
async fn read_all_ways(c: &mut mysql_async::Conn, path: &Path, format: &str, label: &str) {
    let files = format!(
        "FILES(\"path\" = \"file://{}\", \"format\" = \"{format}\")",
        path.display()
    );
    for sql in [
        format!("DESC {files}"),
        format!("SELECT count(*) FROM {files}"),
        format!("SELECT * FROM {files} LIMIT 3"),
    ] {
        match c.query::<mysql_async::Row, _>(&sql).await {
            Ok(_) => {}
            // An error names the file, whatever the reader made of it (a panic included).
            Err(mysql_async::Error::Server(e)) => {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                assert!(
                    e.message.contains(&name),
                    "{label}: {sql}: the error does not name the file: {} {}",
                    e.code,
                    e.message
                );
            }
            Err(e) => panic!("{label}: the connection was lost on {sql}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_files_get_an_answer_and_the_server_lives() {
    let seed = fuzz::seed();
    let per_format = fuzz::env_count("STRATA_FUZZ_FILES", 60);
    println!("fuzzing the file readers: seed {seed}, {per_format} files per format");
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    // Under the temporary directory, which the test server allows `file://` paths in.
    let dir = tempfile::tempdir().unwrap();
    let originals = [
        ("parquet", parquet(&[user_behavior(0, 300)], 100)),
        ("orc", orc(&user_behavior(0, 300))),
        ("csv", csv()),
        ("json", json()),
    ];
    let mut rng = Rng::new(seed);
    for (format, original) in &originals {
        let path = dir.path().join(format!("original.{format}"));
        std::fs::write(&path, original).unwrap();
        read_all_ways(&mut c, &path, format, "the original").await;
        for i in 0..per_format {
            let bytes = mutate(&mut rng, original);
            let path = dir.path().join(format!("m{i}.{format}"));
            std::fs::write(&path, &bytes).unwrap();
            let label = format!("seed {seed}, {format} file {i} ({} bytes)", bytes.len());
            read_all_ways(&mut c, &path, format, &label).await;
        }
    }
    let one: u64 = c.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);
}
