//! A bounded mutation fuzzer over the SQL front end: statements from every `.slt` file of the
//! repository, cut, spliced, repeated and sprinkled with quotes, brackets, comments, escapes,
//! huge numbers and multi-byte characters, go through the parser, FILES()' argument parsing,
//! the statement printer (and the parser again) and credential masking. None may panic or
//! hang; errors are the expected outcome for most.
//!
//! `STRATA_FUZZ_ITERS` (default 20,000, about a second) sets the length; `STRATA_FUZZ_SEED`
//! replays a run (each run prints its seed; a failure names seed, iteration and input), and
//! `STRATA_FUZZ_LAST=<file>` keeps each input there before it is tried (a stack overflow
//! aborts the process without a message naming it).
#![allow(clippy::print_stdout)] // the seed, for a replay

use std::path::Path;
use std::time::{Duration, Instant};

use strata_common::fuzz::{self, Rng};
use strata_sql::{Statement, mask_credentials, parse_script, take_files_calls};

/// Fragments that reach the parser's corners.
#[rustfmt::skip]
const PIECES: &[&str] = &[
    "(", ")", "'", "\"", "`", ",", ";", ".", "*", "\\", "\\'", "/*", "*/", "-- ", "#", "/*+ ",
    "SET_VAR(", "FILES(", "PROPERTIES (", "\"path\" = ", "\"format\" = \"csv\"", "= ", "@",
    "@'%'", "SELECT ", "FROM ", "WHERE ", "INSERT INTO t ", "LOAD LABEL ", "DATA INFILE(",
    "WITH BROKER (", "CREATE PIPE p AS ", "GRANT ", " ON ", " TO ", "IDENTIFIED BY ",
    "99999999999999999999999999999", "-9223372036854775809", "1e999", "0x", "NULL", "é", "日本",
    "\u{0}", "\u{feff}", "🦀", "\n", "\t", "'\\", "''", "``", "\"\"", "[", "]", "{", "}", "?",
    "$1", "::", "->", "->>", "CAST(", " AS ", "DECIMAL(65,", "VARCHAR(", "INTERVAL ", "CASE ",
];

fn corpus() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "slt") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                out.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| {
                            !l.is_empty()
                                && !l.starts_with('#')
                                && !l.starts_with("statement ")
                                && !l.starts_with("query ")
                                && !l.starts_with("connection ")
                                && !l.starts_with("control ")
                                && *l != "----"
                        })
                        .map(str::to_string),
                );
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slt");
    let mut out = Vec::new();
    walk(&root, &mut out);
    assert!(out.len() > 500, "the corpus is {} lines", out.len());
    out
}

/// The byte offset of the char boundary at or before `i`.
fn floor(s: &str, i: usize) -> usize {
    (0..=i.min(s.len()))
        .rev()
        .find(|&j| s.is_char_boundary(j))
        .unwrap_or(0)
}

fn mutate(rng: &mut Rng, corpus: &[String]) -> String {
    let mut s = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = floor(&s, rng.below(s.len() + 1));
        match rng.below(6) {
            0 => s.insert_str(at, PIECES[rng.below(PIECES.len())]),
            1 => {
                let end = floor(&s, at + rng.below(16));
                s.replace_range(at.min(end)..end.max(at), "");
            }
            2 => {
                let end = floor(&s, at + rng.below(32));
                let piece = s[at.min(end)..end.max(at)].to_string();
                s.insert_str(at, &piece.repeat(1 + rng.below(8)));
            }
            3 => {
                let other = &corpus[rng.below(corpus.len())];
                let from = floor(other, rng.below(other.len() + 1));
                s.insert_str(at, &other[from..]);
            }
            4 => s.truncate(at),
            _ => {
                let p = PIECES[rng.below(PIECES.len())];
                s = format!("{}{s}{}", p.repeat(1 + rng.below(3)), p);
            }
        }
    }
    s
}

/// Everything the server does with a statement's text before it plans it.
fn front_end(sql: &str) {
    let _ = mask_credentials(sql);
    let Ok(stmts) = parse_script(sql) else {
        return;
    };
    for (mut stmt, _) in stmts {
        let printed = stmt.to_string();
        let _ = mask_credentials(&printed);
        let _ = parse_script(&printed);
        if let Statement::Query(q) = &mut stmt {
            let _ = take_files_calls(q);
        }
    }
}

#[test]
fn mutated_statements_never_panic_or_hang_the_sql_front_end() {
    // The server parses on threads with 256 MiB stacks (`frontend/src/runner.rs`): a debug
    // build's parser needs more than 2 MiB for the 50 levels of nesting it allows.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(fuzz)
        .unwrap()
        .join()
        .unwrap();
}

fn fuzz() {
    let corpus = corpus();
    let seed = fuzz::seed();
    let iters = fuzz::env_count("STRATA_FUZZ_ITERS", 20_000);
    println!("fuzzing the SQL front end: seed {seed}, {iters} inputs");
    let last = std::env::var("STRATA_FUZZ_LAST").ok();
    let mut rng = Rng::new(seed);
    for i in 0..iters {
        let input = mutate(&mut rng, &corpus);
        // A stack overflow aborts without unwinding: the input is then in this file.
        if let Some(p) = &last {
            std::fs::write(p, &input).unwrap();
        }
        let began = Instant::now();
        let res = std::panic::catch_unwind(|| front_end(&input));
        assert!(
            res.is_ok(),
            "seed {seed}, input {i} panicked the SQL front end: {input:?}"
        );
        // A generous bound: only a hang (or a blow-up in the input's size) passes it.
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "seed {seed}, input {i} took {:?}: {input:?}",
            began.elapsed()
        );
    }
}
