//! A real S3-compatible server (`strata-s3-server`: s3s + s3s-fs, SigV4-checking) on
//! 127.0.0.1, and fixtures uploaded to it through a real S3 client.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int16Array, Int32Array,
    Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use object_store::ObjectStoreExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

mod avro;

/// Access key of the test server.
pub const AK: &str = "AKIASTRATATEST000001";
/// Secret key of the test server.
pub const SK: &str = "strata/secret/key/for/tests/only/000001";
/// Bucket the fixtures live in.
pub const BUCKET: &str = "strata-examples";

/// A running S3 server over a temporary directory.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    ak: String,
    sk: String,
    bucket: String,
    _root: tempfile::TempDir,
}

impl S3Server {
    /// Starts the server with one empty bucket.
    pub async fn start() -> Self {
        Self::start_with(AK, SK, BUCKET).await
    }

    /// Starts a server accepting one key pair, with one empty bucket.
    pub async fn start_with(ak: &str, sk: &str, bucket: &str) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(bucket)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        strata_s3_server::spawn(root.path(), ak, sk, listener).unwrap();
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            ak: ak.into(),
            sk: sk.into(),
            bucket: bucket.into(),
            _root: root,
        }
    }

    fn client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(&self.bucket)
            .with_access_key_id(&self.ak)
            .with_secret_access_key(&self.sk)
            .build()
            .unwrap()
    }

    /// The bucket's directory on disk (`.slt` files copy files into it, as uploads).
    pub fn bucket_dir(&self) -> std::path::PathBuf {
        self._root.path().join(&self.bucket)
    }

    /// The files the pipe tests read: the seed's folder shape (57 Parquet files of 20 rows),
    /// files to add later, and a folder with a corrupt file among good ones.
    pub fn load_pipe_fixtures(&self) {
        for i in 0..57 {
            self.put_local(
                &format!("pipe57/part-{i:05}.parquet"),
                &parquet(&[user_behavior(i * 20, 20)], 1000),
            );
        }
        self.put_local(
            "pipe_extra/late.parquet",
            &parquet(&[user_behavior(2000, 20)], 1000),
        );
        self.put_local(
            "pipe_extra/late_v2.parquet",
            &parquet(&[user_behavior(3000, 30)], 1000),
        );
        for (name, start) in [("a", 4000), ("b", 4100), ("d", 4300), ("e", 4400)] {
            self.put_local(
                &format!("pipe_mixed/{name}.parquet"),
                &parquet(&[user_behavior(start, 20)], 1000),
            );
        }
        let mut corrupt = parquet(&[user_behavior(4200, 20)], 1000);
        let n = corrupt.len();
        corrupt[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
        self.put_local("pipe_mixed/c.parquet", &corrupt);
    }

    /// Writes an object straight into the server's directory, as s3s-fs keeps it: fast
    /// for fixtures of many files (a PUT through the debug-built server takes ~30 ms).
    pub fn put_local(&self, key: &str, bytes: &[u8]) {
        let path = self._root.path().join(&self.bucket).join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Uploads an object.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.client()
            .put(&ObjectPath::from(key), bytes.into())
            .await
            .unwrap_or_else(|e| panic!("upload {key}: {e}"));
    }

    /// Uploads every fixture the FILES tests use.
    pub async fn load_fixtures(&self) {
        let ub = user_behavior(0, 1000);
        self.put("user_behavior_sample.parquet", parquet(&[ub], 400))
            .await;
        self.put("ub/part-0.parquet", parquet(&[user_behavior(0, 300)], 1000))
            .await;
        self.put(
            "ub/part-1.parquet",
            parquet(&[user_behavior(300, 200)], 1000),
        )
        .await;
        self.put(
            "ub/sub/part-9.parquet",
            parquet(&[user_behavior(500, 5)], 1000),
        )
        .await;
        self.put("types/json.parquet", parquet_with_json()).await;
        self.put("types/basic.parquet", parquet(&[basic_types()], 1000))
            .await;
        self.put("merge/a.parquet", parquet(&[merge_a()], 1000))
            .await;
        self.put("merge/b.parquet", parquet(&[merge_b()], 1000))
            .await;
        self.put("conflict/case.parquet", parquet(&[case_conflict()], 1000))
            .await;
        self.put("dates/bad.parquet", parquet(&[bad_dates()], 1000))
            .await;
        // Several files, the bad row in the second: rejected rows name their file. The
        // second file has row groups of 2 rows, so its rows are numbered across groups.
        let good = dates(
            vec![1, 2],
            vec!["2017-11-25 01:00:00", "2017-11-25 02:00:00"],
        );
        self.put("dates/multi/a.parquet", parquet(&[good], 1000))
            .await;
        let bad = dates(
            vec![3, 4, 5, 6, 7],
            vec![
                "2017-11-25 03:00:00",
                "2017-11-25 04:00:00",
                "2017-11-25 05:00:00",
                "25.11.2017",
                "2017-11-25 07:00:00",
            ],
        );
        self.put("dates/multi/b.parquet", parquet(&[bad], 2)).await;
        // A column the sampled (last) file has and an earlier file lacks.
        self.put("mismatch/a.parquet", parquet(&[merge_a_only_k()], 1000))
            .await;
        self.put("mismatch/b.parquet", parquet(&[merge_a()], 1000))
            .await;
        // Hive-style directories for columns_from_path.
        self.put(
            "hive/dt=2024-01-01/city=paris/part-0.csv",
            b"1\n2\n".to_vec(),
        )
        .await;
        self.put("hive/dt=2024-01-02/city=rome/part-0.csv", b"3\n".to_vec())
            .await;
        let good = parquet(&[user_behavior(0, 50)], 1000);
        self.put("bad/truncated.parquet", good[..good.len() / 2].to_vec())
            .await;
        self.put("bad/empty.parquet", Vec::new()).await;
        self.put("bad/text.parquet", b"UserID,ItemID\n1,2\n".to_vec())
            .await;
        let mut corrupt = good.clone();
        let n = corrupt.len();
        // Keep the magic, break the footer length so it points outside the file.
        corrupt[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
        self.put("bad/corrupt.parquet", corrupt).await;

        let basic = b"1,abc,1.5,true\n2,def,2.5,false\n3,,-1,true\n".to_vec();
        self.put("csv/basic.csv", basic.clone()).await;
        self.put("csv/basic.csv.gz", gzip(&basic)).await;
        self.put("csv/basic_gzip.data", gzip(&basic)).await;
        self.put(
            "csv/basic.csv.zst",
            zstd::encode_all(&basic[..], 1).unwrap(),
        )
        .await;
        self.put("csv/basic.csv.lz4", lz4(&basic)).await;
        self.put(
            "csv/multi_byte.csv",
            "1||été\x01\x022||a|b\x01\x02".as_bytes().to_vec(),
        )
        .await;
        self.put("csv/header.csv", b"id|name\n10|x\n20|y\n".to_vec())
            .await;
        self.put(
            "csv/quoted.csv",
            b"1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n".to_vec(),
        )
        .await;
        self.put("csv/short.csv", b"1,a,x\n2,b\n".to_vec()).await;
        self.put("csv/latin1.csv", b"1,ok\n2,caf\xe9\n".to_vec())
            .await;
        self.put("csv/tabs.tsv", b"7\t2017-11-25 01:21:25\n8\t\\N\n".to_vec())
            .await;
        self.put("csv/ints.csv", b"1\nabc\n3\n".to_vec()).await;
        // StarRocks' test_files case: 1 is an integer, not a boolean.
        self.put("csv/ip.csv", b"1|10.11.12.13\n".to_vec()).await;
        self.put("csv/flags.csv", b"1,true\n0,false\n".to_vec())
            .await;
        self.put("csv/mixed_flags.csv", b"1\ntrue\n".to_vec()).await;
        self.put("csv/long.csv", b"1,a\n2,b,extra\n3,c\n".to_vec())
            .await;
        for key in [
            "listing/a.csv",
            "listing/b.csv",
            "listing/sub/c.csv",
            "listing/sub/deep/d.csv",
        ] {
            self.put(key, b"1\n".to_vec()).await;
        }
        self.put(
            "csv/precise_tail.csv",
            b"1.25,3.5,8,9\n2.5,4.5,9,1\n,,,\n".to_vec(),
        )
        .await;
        self.put(
            "csv/precise.csv",
            b"12345678901234.5678,9007199254740993,00123,1.50\n1.5,4.5,7,2\n".to_vec(),
        )
        .await;
        self.put("csv/ints_typed.csv", b"1\n2\n300000\n".to_vec())
            .await;
        // Boundary and odd values for every conversion a load does, read by Broker Load's text
        // path and by INSERT from FILES() alike.
        self.put(
            "csv/odd.csv",
            b"2147483647,-2147483648,9223372036854775807,1.5,2024-02-29 23:59:59,abc\n\
              2147483648,x,9223372036854775808,,2024-02-30 00:00:00,\\N\n\
              ,-0,-1,-1.25e2,20240101,abcd\n\
              0,007,1e3,NaN,2024-01-01T01:02:03,\n"
                .to_vec(),
        )
        .await;

        // Bad values where inference does not look: a CSV whose first rows are integers, and
        // in a set of three files the middle one (not sampled) with strings in an integer column.
        self.put(
            "bad_values/late.csv",
            b"1,x\n2,y\n3,z\na,w\n5,v\n2147483648,u\n7,t\n".to_vec(),
        )
        .await;
        for (name, ids) in [
            ("a", vec!["1", "2"]),
            ("b", vec!["3", "oops", "5"]),
            ("c", vec!["6"]),
        ] {
            let typed = name != "b";
            self.put(
                &format!("bad_values/parquet/{name}.parquet"),
                parquet(&[ids_batch(&ids, typed)], 1000),
            )
            .await;
            self.put(
                &format!("bad_values/orc/{name}.orc"),
                orc(&ids_batch(&ids, typed)),
            )
            .await;
        }
        self.put("orc/ub.orc", orc(&user_behavior(0, 1000))).await;
        self.put("orc/small_ints.orc", orc(&small_ints())).await;
        self.put("bad/short.orc", orc_claiming_more_rows()).await;
        let mut json = String::new();
        for i in 0..100 {
            json.push_str(&format!(
                "{{\"UserID\": {}, \"BehaviorType\": \"pv\", \"Score\": {}.5, \"Tags\": [\"a\", \"b\"], \"Timestamp\": \"2017-11-25 0{}:00:00\"}}\n",
                i / 3 + 1,
                i,
                i % 10
            ));
        }
        self.put("json/events.jsonl", json.clone().into_bytes())
            .await;
        self.put("json/events.jsonl.gz", gzip(json.as_bytes()))
            .await;
        // Flat records, more than one batch (32K rows) of them.
        let flat: String = (0..40_000)
            .map(|i| format!("{{\"n\":{i},\"k\":\"x{}\"}}\n", i % 7))
            .collect();
        self.put("json/flat.jsonl", flat.into_bytes()).await;
        self.put("json/bad.jsonl", b"{\"a\": 1}\n{not json\n".to_vec())
            .await;
        self.load_avro_fixtures().await;
        // One JSON document: records in an array under a root, fields nested.
        self.put(
            "json/rooted.json",
            br#"{"data": {"rows": [{"id": 1, "info": {"name": "a"}}, {"id": 2, "info": {"name": "b"}}, {"id": 3}]}}"#.to_vec(),
        )
        .await;
    }
}

pub fn orc(batch: &RecordBatch) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = orc_rust::ArrowWriterBuilder::new(&mut buf, batch.schema())
        .try_build()
        .unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    buf
}

/// An ORC file whose one stripe claims 2000 rows while its streams hold 1000: its tail is
/// intact, its data runs out half way.
fn orc_claiming_more_rows() -> Vec<u8> {
    let mut file = orc(&user_behavior(0, 1000));
    // The stripe's `numberOfRows` (StripeInformation field 5, a varint) in the file footer,
    // which the writer leaves uncompressed; 2000 is a varint of the same two bytes.
    let (rows_1000, rows_2000) = ([0x28, 0xe8, 0x07], [0x28, 0xd0, 0x0f]);
    let at: Vec<usize> = file
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == rows_1000)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        at.len(),
        1,
        "the stripe's row count appears once in the file"
    );
    file[at[0]..at[0] + 3].copy_from_slice(&rows_2000);
    file
}

fn small_ints() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Int8, true),
        Field::new("s", DataType::Int16, true),
        Field::new("d", DataType::Date32, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(arrow::array::Int8Array::from(vec![1, -2])),
            Arc::new(Int16Array::from(vec![300, -400])),
            Arc::new(Date32Array::from(vec![17495, 17496])),
        ],
    )
    .unwrap()
}

fn lz4(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn merge_a_only_k() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int32, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![9]))]).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Encodes batches as Parquet with `rows_per_group` rows per row group.
pub fn parquet(batches: &[RecordBatch], rows_per_group: usize) -> Vec<u8> {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batches[0].schema(), Some(props)).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    buf
}

/// The seed's sample schema: ids int64, behaviour and timestamp strings.
pub fn user_behavior(start: i64, n: i64) -> RecordBatch {
    let behaviors = ["pv", "pv", "pv", "cart", "fav", "buy"];
    let ids: Vec<i64> = (start..start + n).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("UserID", DataType::Int64, true),
        Field::new("ItemID", DataType::Int64, true),
        Field::new("CategoryID", DataType::Int64, true),
        Field::new("BehaviorType", DataType::Utf8, true),
        Field::new("Timestamp", DataType::Utf8, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(ids.iter().map(|i| i / 3 + 1))),
        Arc::new(Int64Array::from_iter_values(
            ids.iter().map(|i| 1000 + i * 7 % 500),
        )),
        Arc::new(Int64Array::from_iter_values(
            ids.iter().map(|i| 10 + i % 13),
        )),
        Arc::new(StringArray::from_iter_values(
            ids.iter().map(|i| behaviors[(*i % 6) as usize]),
        )),
        Arc::new(StringArray::from_iter_values(ids.iter().map(|i| {
            format!(
                "2017-11-{:02} {:02}:{:02}:{:02}",
                25 + i % 5,
                i % 24,
                i % 60,
                (i * 7) % 60
            )
        }))),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

fn basic_types() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k1", DataType::Boolean, true),
        Field::new("k2", DataType::Int32, true),
        Field::new("k3", DataType::Int64, true),
        Field::new("k4", DataType::Decimal128(10, 2), true),
        Field::new("k5", DataType::Date32, true),
        Field::new("k6", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("k7", DataType::Utf8, true),
        Field::new("k8", DataType::Float64, true),
        Field::new("k9", DataType::Int16, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        Arc::new(Int32Array::from(vec![Some(1), Some(2), None])),
        Arc::new(Int64Array::from(vec![Some(10), Some(20), None])),
        Arc::new(
            Decimal128Array::from(vec![Some(1234), Some(-5), None])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(Date32Array::from(vec![Some(17495), Some(0), None])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(1_511_572_885_000_000),
            Some(0),
            None,
        ])),
        Arc::new(StringArray::from(vec![Some("a"), Some("bc"), None])),
        Arc::new(Float64Array::from(vec![Some(1.5), Some(-2.25), None])),
        Arc::new(Int16Array::from(vec![Some(7), Some(8), None])),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

fn merge_a() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int32, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![1, 2])),
            Arc::new(StringArray::from(vec!["x", "y"])),
        ],
    )
    .unwrap()
}

fn case_conflict() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("ID", DataType::Int32, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![1])),
            Arc::new(Int32Array::from(vec![2])),
        ],
    )
    .unwrap()
}

fn merge_b() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("K", DataType::Int64, true),
        Field::new("v", DataType::Float64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![3])),
            Arc::new(Float64Array::from(vec![0.5])),
        ],
    )
    .unwrap()
}

fn bad_dates() -> RecordBatch {
    dates(
        vec![1, 2, 3, 4],
        vec![
            "2017-11-25 01:21:25",
            "2017-11-26",
            "26/11/2017",
            "2017-11-27 10:00:00",
        ],
    )
}

/// `(id BIGINT, ts VARCHAR)` rows.
fn dates(ids: Vec<i64>, ts: Vec<&str>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("ts", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(ts)),
        ],
    )
    .unwrap()
}

/// `UserID` as BIGINT (`typed`) or as strings, and `Tag` = "t<UserID>".
fn ids_batch(ids: &[&str], typed: bool) -> RecordBatch {
    use arrow::array::{Int64Array, StringArray};
    let id: arrow::array::ArrayRef = if typed {
        Arc::new(Int64Array::from_iter_values(
            ids.iter().map(|v| v.parse::<i64>().unwrap()),
        ))
    } else {
        Arc::new(StringArray::from(ids.to_vec()))
    };
    let tags: Vec<String> = ids.iter().map(|v| format!("t{v}")).collect();
    RecordBatch::try_from_iter([
        ("UserID", id),
        (
            "Tag",
            Arc::new(StringArray::from(tags)) as arrow::array::ArrayRef,
        ),
    ])
    .unwrap()
}

/// A Parquet file whose `doc` column is annotated JSON (written with the low-level writer:
/// Arrow's writer has no JSON annotation without extension types).
fn parquet_with_json() -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let schema = Arc::new(
        parse_message_type("message m { required int64 id; required binary doc (JSON); }").unwrap(),
    );
    let mut buf = Vec::new();
    let mut w = SerializedFileWriter::new(
        &mut buf,
        schema,
        Arc::new(WriterProperties::builder().build()),
    )
    .unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut c = rg.next_column().unwrap().unwrap();
    c.typed::<Int64Type>()
        .write_batch(&[1, 2], None, None)
        .unwrap();
    c.close().unwrap();
    let mut c = rg.next_column().unwrap().unwrap();
    c.typed::<ByteArrayType>()
        .write_batch(
            &[ByteArray::from(r#"{"a": 1}"#), ByteArray::from("[1, 2]")],
            None,
            None,
        )
        .unwrap();
    c.close().unwrap();
    rg.close().unwrap();
    w.close().unwrap();
    buf
}
