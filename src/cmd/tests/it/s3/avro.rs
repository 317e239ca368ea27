//! Avro fixtures, written with arrow-avro's writer.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
    FixedSizeBinaryArray, Float32Array, Float64Array, Int32Array, Int64Array, ListArray,
    MapBuilder, NullArray, RecordBatch, StringArray, StringBuilder, StructArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, UnionArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, UnionFields};
use arrow_avro::compression::CompressionCodec;
use arrow_avro::writer::WriterBuilder;
use arrow_avro::writer::format::AvroOcfFormat;

use super::{S3Server, merge_a, merge_b, user_behavior};

impl S3Server {
    /// Avro files: every type FILES() maps, two files whose schemas merge, a deflate-compressed
    /// file of four blocks, and damaged ones.
    pub(super) async fn load_avro_fixtures(&self) {
        self.put("avro/types.avro", avro(&[avro_types()], None))
            .await;
        self.put("avro/merge/a.avro", avro(&[merge_a()], None))
            .await;
        let snappy = Some(CompressionCodec::Snappy);
        self.put("avro/merge/b.avro", avro(&[merge_b()], snappy))
            .await;
        let blocks: Vec<RecordBatch> = (0..4).map(|i| user_behavior(i * 250, 250)).collect();
        let ub = avro(&blocks, Some(CompressionCodec::Deflate));
        self.put("avro/ub.avro", ub.clone()).await;
        self.put("bad/truncated.avro", ub[..ub.len() / 2].to_vec())
            .await;
        self.put("bad/empty.avro", Vec::new()).await;
        self.put("bad/text.avro", b"UserID,ItemID\n1,2\n".to_vec())
            .await;
        // The last block's deflate stream damaged (the 16 bytes after it are the sync marker).
        let mut corrupt = ub;
        let n = corrupt.len();
        corrupt[n - 120..n - 40].iter_mut().for_each(|b| *b ^= 0x5a);
        self.put("bad/corrupt.avro", corrupt).await;
    }
}

/// Encodes batches as an Avro object container file, a block per batch.
pub fn avro(batches: &[RecordBatch], codec: Option<CompressionCodec>) -> Vec<u8> {
    let schema = batches[0].schema().as_ref().clone();
    let mut w = WriterBuilder::new(schema)
        .with_compression(codec)
        .build::<_, AvroOcfFormat>(Vec::new())
        .unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    w.into_inner()
}

fn col(name: &str, nullable: bool, a: impl Array + 'static) -> (Field, ArrayRef) {
    (
        Field::new(name, a.data_type().clone(), nullable),
        Arc::new(a),
    )
}

/// Three rows of every Avro type FILES() maps (arrow-avro's writer derives the Avro schema:
/// nullable columns become `["null", T]` unions); the second row is mostly NULL.
fn avro_types() -> RecordBatch {
    let meta = |k: &str, v: &str| [(k.to_string(), v.to_string())].into_iter().collect();
    let branches = vec![
        Field::new("null", DataType::Null, true),
        Field::new("int", DataType::Int32, false),
        Field::new("string", DataType::Utf8, false),
    ];
    let union_fields = UnionFields::try_new(vec![0, 1, 2], branches).unwrap();
    let union = UnionArray::try_new(
        union_fields,
        vec![1i8, 0, 2].into(),
        Some(vec![0i32, 0, 0].into()),
        vec![
            Arc::new(NullArray::new(1)),
            Arc::new(Int32Array::from(vec![7])),
            Arc::new(StringArray::from(vec!["seven"])),
        ],
    )
    .unwrap();
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int64Array::builder(2));
    map.keys().append_value("a");
    map.values().append_value(1);
    map.append(true).unwrap();
    map.append(false).unwrap();
    map.keys().append_value("b");
    map.values().append_null();
    map.append(true).unwrap();
    let point = StructArray::from(vec![
        (
            Arc::new(Field::new("x", DataType::Int32, false)),
            Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("y", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![Some("p"), None, Some("r")])) as ArrayRef,
        ),
    ]);
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
        Some(vec![]),
    ]);
    let colors = Arc::new(StringArray::from(vec!["RED", "GREEN"]));
    let enums =
        DictionaryArray::<Int32Type>::try_new(vec![Some(0), None, Some(1)].into(), colors).unwrap();
    let uuids = vec![Some([0x11u8; 16]), None, Some([0xab; 16])];
    let uuids =
        FixedSizeBinaryArray::try_from_sparse_iter_with_size(uuids.into_iter(), 16).unwrap();
    let fixed =
        FixedSizeBinaryArray::try_from_iter([b"abcd", b"efgh", b"ijkl"].into_iter()).unwrap();
    let utc: Option<Arc<str>> = Some("+00:00".into());
    let ts = TimestampMicrosecondArray::from(vec![Some(1_511_571_685_123_456), None, Some(0)]);
    let ts_ms = TimestampMillisecondArray::from(vec![Some(1_511_571_685_000), None, None]);
    let dec = Decimal128Array::from(vec![Some(12345), None, Some(-1)]);
    let columns = vec![
        col("n", false, NullArray::new(3)),
        col(
            "b",
            true,
            BooleanArray::from(vec![Some(true), None, Some(false)]),
        ),
        col(
            "i",
            true,
            Int32Array::from(vec![Some(1), None, Some(i32::MIN)]),
        ),
        col(
            "l",
            true,
            Int64Array::from(vec![Some(1), None, Some(i64::MAX)]),
        ),
        col(
            "f",
            true,
            Float32Array::from(vec![Some(1.5), None, Some(-2.25)]),
        ),
        col(
            "d",
            true,
            Float64Array::from(vec![Some(2.5), None, Some(1e10)]),
        ),
        col(
            "by",
            true,
            BinaryArray::from(vec![Some(&b"ab"[..]), None, Some(b"\xff")]),
        ),
        col("fx", false, fixed),
        col(
            "s",
            true,
            StringArray::from(vec![Some("x"), None, Some("été")]),
        ),
        (
            Field::new("e", enums.data_type().clone(), true)
                .with_metadata(meta("avro.enum.symbols", r#"["RED","GREEN"]"#)),
            Arc::new(enums),
        ),
        (
            Field::new("u", DataType::FixedSizeBinary(16), true)
                .with_metadata(meta("logicalType", "uuid")),
            Arc::new(uuids),
        ),
        col("un", false, union),
        col("arr", true, list),
        col("m", true, map.finish()),
        col("rec", true, point),
        col(
            "dt",
            true,
            Date32Array::from(vec![Some(17495), None, Some(0)]),
        ),
        col("ts", true, ts.with_timezone_opt(utc.clone())),
        col("tsm", true, ts_ms.with_timezone_opt(utc)),
        col("dec", true, dec.with_precision_and_scale(10, 2).unwrap()),
    ];
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}
