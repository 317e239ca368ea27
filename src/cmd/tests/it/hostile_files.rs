//! Hostile and odd files, generated here (no binary is committed): each is read through
//! FILES() over the wire — `DESC`, a count, and an INSERT in strict mode into a table of the
//! file's own shape — and either loads exactly what it holds or fails with an error naming the
//! file (and the row, column and value where there is one). None may end the connection, hang,
//! or leave part of a load behind; the server answers afterwards.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{Field, Schema};
use mysql_async::prelude::Queryable;

use crate::harness::{TestServer, exec};
use crate::s3::{parquet, user_behavior};

/// What reading a file must give.
enum Expect {
    /// It loads: this many rows.
    Rows(u64),
    /// It fails, with every one of these in the message (besides the file's name).
    Error(&'static [&'static str]),
}

struct Case {
    name: &'static str,
    format: &'static str,
    /// Extra FILES() properties.
    props: &'static str,
    bytes: Vec<u8>,
    /// The INSERT's target columns (`k` for one BIGINT column, else a table's columns) and
    /// what it selects; `None`: the file's own columns via CTAS.
    insert: Option<(&'static str, &'static str)>,
    expect: Expect,
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let schema = Arc::new(Schema::new(
        cols.iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(schema, cols.into_iter().map(|(_, a)| a).collect()).unwrap()
}

fn cases() -> Vec<Case> {
    let good = parquet(&[user_behavior(0, 100)], 50);
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 100);
    let mut absurd = good.clone();
    let n = absurd.len();
    absurd[n - 8..n - 4].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    let mut magic = good.clone();
    magic[n - 4..].copy_from_slice(b"PAR2");
    let zero_rows = parquet(&[user_behavior(0, 0)], 10);
    let wide: Vec<(String, ArrayRef)> = (0..2000)
        .map(|i| {
            (
                format!("c{i}"),
                Arc::new(Int64Array::from(vec![i as i64; 3])) as ArrayRef,
            )
        })
        .collect();
    let wide = parquet(
        &[batch(
            wide.iter().map(|(n, a)| (n.as_str(), a.clone())).collect(),
        )],
        10,
    );
    let big_cell = "x".repeat(10 << 20);
    let big_string = parquet(
        &[batch(vec![(
            "s",
            Arc::new(StringArray::from(vec![big_cell.as_str(), "small"])) as ArrayRef,
        )])],
        10,
    );
    let mixed_case = parquet(
        &[batch(vec![
            ("Id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("id", Arc::new(Int64Array::from(vec![3, 4])) as ArrayRef),
        ])],
        10,
    );
    let times = parquet(
        &[batch(vec![
            (
                "naive",
                Arc::new(TimestampMicrosecondArray::from(vec![
                    1_500_000_000_000_000i64,
                ])) as ArrayRef,
            ),
            (
                "utc",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_500_000_000_000_000i64])
                        .with_timezone("UTC"),
                ) as ArrayRef,
            ),
        ])],
        10,
    );
    let nested = format!(
        "{{\"k\": 1, \"j\": {}1{}}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    vec![
        Case {
            name: "empty.parquet",
            format: "parquet",
            props: "",
            bytes: Vec::new(),
            insert: None,
            expect: Expect::Error(&["empty"]),
        },
        Case {
            name: "zero_rows.parquet",
            format: "parquet",
            props: "",
            bytes: zero_rows,
            insert: Some(("k", "UserID")),
            expect: Expect::Rows(0),
        },
        Case {
            name: "truncated_footer.parquet",
            format: "parquet",
            props: "",
            bytes: truncated,
            insert: None,
            expect: Expect::Error(&[]),
        },
        Case {
            name: "absurd_footer.parquet",
            format: "parquet",
            props: "",
            bytes: absurd,
            insert: None,
            expect: Expect::Error(&[]),
        },
        Case {
            name: "wrong_magic.parquet",
            format: "parquet",
            props: "",
            bytes: magic,
            insert: None,
            expect: Expect::Error(&[]),
        },
        Case {
            name: "csv_named.parquet",
            format: "parquet",
            props: "",
            bytes: b"a,b\n1,2\n".to_vec(),
            insert: None,
            expect: Expect::Error(&[]),
        },
        Case {
            name: "wide_2000_columns.parquet",
            format: "parquet",
            props: "",
            bytes: wide,
            insert: Some(("k", "c1999")),
            expect: Expect::Rows(3),
        },
        Case {
            name: "ten_mb_cell.parquet",
            format: "parquet",
            props: "",
            bytes: big_string,
            insert: Some(("s", "s")),
            expect: Expect::Error(&["column 's'", "(10485760 bytes in all)"]),
        },
        Case {
            name: "mixed_case_names.parquet",
            format: "parquet",
            props: "",
            bytes: mixed_case,
            insert: None,
            expect: Expect::Error(&["Id"]),
        },
        Case {
            name: "naive_and_utc.parquet",
            format: "parquet",
            props: "",
            bytes: times,
            insert: Some(("t1, t2", "naive, utc")),
            expect: Expect::Rows(1),
        },
        Case {
            name: "nested_10000.json",
            format: "json",
            props: "",
            bytes: nested.into_bytes(),
            insert: Some(("k", "k")),
            expect: Expect::Error(&[]),
        },
        Case {
            name: "quotes_and_newlines.csv",
            format: "csv",
            props: ", \"csv.column_separator\" = \",\", \"csv.enclose\" = '\"'",
            bytes: b"1,\"a\nb\",\"he said \"\"hi\"\"\"\n2,plain,x\n3,\"c,d\",\"\"\n".to_vec(),
            insert: Some(("k, s, s2", "$1, $2, $3")),
            expect: Expect::Rows(3),
        },
        Case {
            name: "invalid_utf8.csv",
            format: "csv",
            props: ", \"csv.column_separator\" = \",\"",
            bytes: b"1,ok\n2,bad\xff\xfebytes\n3,fine\n".to_vec(),
            insert: Some(("k, s", "$1, $2")),
            // A chunk of a file is read without knowing its line number: the record is named
            // by its byte offset.
            expect: Expect::Error(&["column 2 ($2)", "record at byte 5"]),
        },
        Case {
            name: "impossible_dates.csv",
            format: "csv",
            props: ", \"csv.column_separator\" = \",\"",
            bytes: b"1,2017-02-28\n2,0000-00-00\n3,2017-02-30\n".to_vec(),
            insert: Some(("k, d", "$1, $2")),
            expect: Expect::Error(&["row 2", "0000-00-00"]),
        },
        Case {
            name: "decimal_overflow.csv",
            format: "csv",
            props: ", \"csv.column_separator\" = \",\"",
            bytes: b"1,12.50\n2,99999999999999999999.99\n".to_vec(),
            insert: Some(("k, m", "$1, $2")),
            expect: Expect::Error(&["row 2", "99999999999999999999.99"]),
        },
    ]
}

/// The error text of a statement, or its first value.
async fn run(c: &mut mysql_async::Conn, sql: &str, name: &str) -> Result<Option<String>, String> {
    match c.query_first::<mysql_async::Row, _>(sql).await {
        Ok(row) => Ok(row.and_then(|r| r.get::<Option<String>, _>(0).flatten())),
        Err(mysql_async::Error::Server(e)) => Err(e.message),
        Err(e) => panic!("{name}: the connection was lost: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_load_exactly_or_fail_naming_file_row_and_column() {
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE h").await;
    exec(&mut c, "USE h").await;
    exec(
        &mut c,
        "CREATE TABLE t (k BIGINT, s VARCHAR(65533), s2 VARCHAR(64), d DATE, m DECIMAL(10, 2), \
         t1 DATETIME, t2 DATETIME) DISTRIBUTED BY HASH(k)",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    for (i, case) in cases().into_iter().enumerate() {
        let path = dir.path().join(case.name);
        std::fs::write(&path, &case.bytes).unwrap();
        let files = format!(
            "FILES(\"path\" = \"file://{}\", \"format\" = \"{}\"{})",
            path.display(),
            case.format,
            case.props
        );
        let before = run(&mut c, "SELECT CAST(count(*) AS VARCHAR) FROM t", case.name).await;
        let load = match case.insert {
            Some((cols, select)) => {
                format!("INSERT INTO t WITH LABEL l{i} ({cols}) SELECT {select} FROM {files}")
            }
            None => format!("CREATE TABLE c{i} AS SELECT * FROM {files}"),
        };
        let desc = run(&mut c, &format!("DESC {files}"), case.name).await;
        let counted = run(
            &mut c,
            &format!("SELECT CAST(count(*) AS VARCHAR) FROM {files}"),
            case.name,
        )
        .await;
        let loaded = run(&mut c, &load, case.name).await;
        let after = run(&mut c, "SELECT CAST(count(*) AS VARCHAR) FROM t", case.name).await;
        match case.expect {
            Expect::Rows(n) => {
                assert!(desc.is_ok() || n == 0, "{}: DESC {desc:?}", case.name);
                assert_eq!(counted, Ok(Some(n.to_string())), "{}: count", case.name);
                assert!(loaded.is_ok(), "{}: load {loaded:?}", case.name);
                let grew = after.clone().unwrap().unwrap().parse::<u64>().unwrap()
                    - before.clone().unwrap().unwrap().parse::<u64>().unwrap();
                assert_eq!(grew, n, "{}: rows loaded", case.name);
            }
            Expect::Error(needles) => {
                let err = loaded.expect_err(case.name);
                assert!(
                    err.contains(case.name),
                    "{}: the error does not name the file: {err}",
                    case.name
                );
                for n in needles {
                    assert!(err.contains(n), "{}: {n:?} not in: {err}", case.name);
                }
                assert!(
                    err.len() < 4096,
                    "{}: an error of {} bytes",
                    case.name,
                    err.len()
                );
                assert_eq!(
                    after, before,
                    "{}: a failed load changed the table",
                    case.name
                );
                for other in [desc, counted].into_iter().filter_map(Result::err) {
                    assert!(other.contains(case.name), "{}: {other}", case.name);
                }
            }
        }
    }
    let one: u64 = c.query_first("SELECT 1").await.unwrap().unwrap();
    assert_eq!(one, 1);
}

/// Tiny files under one prefix load in one statement, each row once: 1,000 in CI (16 s on the
/// debug build), 20,000 with `STRATA_TINY_FILES=20000` (about 6 minutes: some 16 ms a file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tiny_files_load_once() {
    let n = strata_common::fuzz::env_count("STRATA_TINY_FILES", 1_000);
    let server = TestServer::start().await;
    let mut c = server.conn(None).await;
    exec(&mut c, "CREATE DATABASE h").await;
    exec(&mut c, "CREATE TABLE h.t (k BIGINT) DISTRIBUTED BY HASH(k)").await;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        std::fs::write(dir.path().join(format!("f{i:05}.csv")), format!("{i}\n")).unwrap();
    }
    exec(
        &mut c,
        &format!(
            "INSERT INTO h.t SELECT $1 FROM FILES(\"path\" = \"file://{}/*.csv\", \"format\" = \
             \"csv\")",
            dir.path().display()
        ),
    )
    .await;
    let (rows, distinct): (u64, u64) = c
        .query_first("SELECT count(*), count(DISTINCT k) FROM h.t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((rows, distinct), (n as u64, n as u64));
}
