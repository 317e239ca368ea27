use std::collections::HashMap;

use arrow::array::{
    BooleanArray, Date32Array, Decimal128Array, FixedSizeBinaryArray, Float32Array, Float64Array,
    Int32Array, Int64Array, MapBuilder, NullArray, StringBuilder, TimestampMicrosecondArray,
    UnionArray,
};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::UnionMode;
use arrow_avro::writer::AvroWriter;

use super::*;

/// One file with every Avro type FILES() maps, written by arrow-avro's writer.
fn every_type() -> Vec<u8> {
    let enum_meta = HashMap::from([(
        "avro.enum.symbols".to_string(),
        r#"["RED","GREEN"]"#.to_string(),
    )]);
    let uuid_meta = HashMap::from([("logicalType".to_string(), "uuid".to_string())]);
    let union_fields = UnionFields::try_new(
        vec![0, 1, 2],
        vec![
            Field::new("null", DataType::Null, true),
            Field::new("int", DataType::Int32, false),
            Field::new("string", DataType::Utf8, false),
        ],
    )
    .unwrap();
    let union = UnionArray::try_new(
        union_fields.clone(),
        ScalarBuffer::from(vec![1i8, 2, 0]),
        Some(ScalarBuffer::from(vec![0i32, 0, 0])),
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
    map.values().append_value(2);
    map.append(true).unwrap();
    let map = map.finish();
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
    let list = ListArray::from_iter_primitive::<arrow::datatypes::Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        None,
        Some(vec![]),
    ]);
    let enums = arrow::array::DictionaryArray::<arrow::datatypes::Int32Type>::try_new(
        Int32Array::from(vec![Some(0), Some(1), None]),
        Arc::new(StringArray::from(vec!["RED", "GREEN"])),
    )
    .unwrap();
    let uuid = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
        vec![Some([0x11u8; 16]), None, Some([0xabu8; 16])].into_iter(),
        16,
    )
    .unwrap();
    let fixed = FixedSizeBinaryArray::try_from_iter(
        vec![b"abcd".to_vec(), b"efgh".to_vec(), b"ijkl".to_vec()].into_iter(),
    )
    .unwrap();
    let columns: Vec<(Field, ArrayRef)> = vec![
        (
            Field::new("n", DataType::Null, true),
            Arc::new(NullArray::new(3)),
        ),
        (
            Field::new("b", DataType::Boolean, true),
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            Field::new("i", DataType::Int32, false),
            Arc::new(Int32Array::from(vec![1, -2, 2147483647])),
        ),
        (
            Field::new("l", DataType::Int64, true),
            Arc::new(Int64Array::from(vec![Some(1), None, Some(i64::MAX)])),
        ),
        (
            Field::new("f", DataType::Float32, false),
            Arc::new(Float32Array::from(vec![1.5, 0.0, -2.25])),
        ),
        (
            Field::new("d", DataType::Float64, false),
            Arc::new(Float64Array::from(vec![2.5, 1e10, -0.5])),
        ),
        (
            Field::new("by", DataType::Binary, true),
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x00\x01"[..]),
                None,
                Some(b"z"),
            ])),
        ),
        (
            Field::new("fx", DataType::FixedSizeBinary(4), false),
            Arc::new(fixed),
        ),
        (
            Field::new("s", DataType::Utf8, true),
            Arc::new(StringArray::from(vec![Some("x"), None, Some("été")])),
        ),
        (
            Field::new("e", enums.data_type().clone(), true).with_metadata(enum_meta),
            Arc::new(enums),
        ),
        (
            Field::new("u", DataType::FixedSizeBinary(16), true).with_metadata(uuid_meta),
            Arc::new(uuid),
        ),
        (
            Field::new("un", DataType::Union(union_fields, UnionMode::Dense), false),
            Arc::new(union),
        ),
        (
            Field::new("arr", list.data_type().clone(), true),
            Arc::new(list),
        ),
        (
            Field::new("m", map.data_type().clone(), true),
            Arc::new(map),
        ),
        (
            Field::new("rec", point.data_type().clone(), false),
            Arc::new(point),
        ),
        (
            Field::new("dt", DataType::Date32, true),
            Arc::new(Date32Array::from(vec![Some(19723), None, Some(0)])),
        ),
        (
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                true,
            ),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_456), None, Some(0)])
                    .with_timezone("+00:00"),
            ),
        ),
        (
            Field::new("dec", DataType::Decimal128(10, 2), true),
            Arc::new(
                Decimal128Array::from(vec![Some(12345), None, Some(-1)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        ),
    ];
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    let schema = Schema::new(fields);
    let batch = RecordBatch::try_new(Arc::new(schema.clone()), arrays).unwrap();
    let mut w = AvroWriter::new(Vec::new(), schema).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    w.into_inner()
}

/// Ints 0..n, written in blocks of `per_block` rows.
fn ints(n: i32, per_block: i32) -> Vec<u8> {
    let schema = Schema::new(vec![Field::new("k", DataType::Int32, false)]);
    let mut w = AvroWriter::new(Vec::new(), schema.clone()).unwrap();
    for start in (0..n).step_by(per_block as usize) {
        let end = (start + per_block).min(n);
        let col = Arc::new(Int32Array::from_iter_values(start..end)) as ArrayRef;
        w.write(&RecordBatch::try_new(Arc::new(schema.clone()), vec![col]).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    w.into_inner()
}

fn decode_all(bytes: &[u8]) -> Result<Vec<RecordBatch>, FilesError> {
    let input: Box<dyn Read + Send> = Box::new(Cursor::new(bytes.to_vec()));
    let mut blocks = Blocks::open(input, "s3://b/f.avro", bytes.len() as u64)?;
    let mut out = Vec::new();
    while let Some(b) = blocks.next_batch()? {
        out.push(normalize_batch(&b).unwrap());
    }
    Ok(out)
}

fn columns(bytes: &[u8]) -> Vec<(String, String)> {
    let schema = header_schema(bytes, true).unwrap().unwrap();
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), avro_type(f).describe()))
        .collect()
}

#[test]
fn types_map_as_starrocks_maps_them() {
    let file = every_type();
    let got = columns(&file);
    let want = [
        ("n", "varchar(1048576)"),
        ("b", "boolean"),
        ("i", "int"),
        ("l", "bigint"),
        ("f", "float"),
        ("d", "double"),
        ("by", "varbinary"),
        ("fx", "varbinary"),
        ("s", "varchar(1048576)"),
        ("e", "varchar(1048576)"),
        ("u", "varchar(1048576)"),
        ("un", "varchar(1048576)"),
        ("arr", "array<int>"),
        ("m", "map<varchar(1048576),bigint>"),
        ("rec", "struct<x int, y varchar(1048576)>"),
        ("dt", "date"),
        ("ts", "datetime"),
        ("dec", "decimal(10,2)"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn values_cast_to_the_inferred_types() {
    let file = every_type();
    let schema = header_schema(&file, true).unwrap().unwrap();
    let target: SchemaRef = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), crate::types::arrow_type(&avro_type(f)), true))
            .collect::<Vec<_>>(),
    ));
    let batches = decode_all(&file).unwrap();
    assert_eq!(batches.len(), 1);
    let b = conform(&batches[0], &target, None, "f", false).unwrap();
    let text = arrow::util::pretty::pretty_format_batches(std::slice::from_ref(&b))
        .unwrap()
        .to_string();
    for want in [
        "11111111-1111-1111-1111-111111111111",
        "seven",
        "GREEN",
        "2024-01-01",
        "2023-11-14T22:13:20.123456",
        "123.45",
        "{a: 1}",
        "{x: 1, y: p}",
    ] {
        assert!(text.contains(want), "{want} missing from\n{text}");
    }
    let un = b.column_by_name("un").unwrap().as_string::<i32>();
    assert_eq!(
        un.iter().collect::<Vec<_>>(),
        vec![Some("7"), Some("seven"), None]
    );
}

#[test]
fn blocks_are_read_one_by_one() {
    let file = ints(1000, 300);
    let batches = decode_all(&file).unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1000);
    assert!(batches.len() >= 4, "{}", batches.len());
}

#[test]
fn truncated_and_damaged_files_fail_by_name() {
    let file = ints(100, 100);
    for cut in [file.len() - 1, file.len() - 17, file.len() - 40] {
        let e = decode_all(&file[..cut]).unwrap_err().to_string();
        assert!(e.contains("s3://b/f.avro"), "{e}");
        assert!(e.contains("truncated") || e.contains("claims"), "{e}");
    }
    let mut bad_sync = file.clone();
    let n = bad_sync.len();
    bad_sync[n - 3] ^= 0xff;
    let e = decode_all(&bad_sync).unwrap_err().to_string();
    assert!(e.contains("sync marker"), "{e}");
    let e = decode_all(b"PAR1 not avro").unwrap_err().to_string();
    assert!(e.contains("magic bytes"), "{e}");
    assert!(header_schema(b"PAR1", true).unwrap_err().contains("magic"));
    assert!(header_schema(&file[..10], false).unwrap().is_none());
    assert!(header_schema(&file[..10], true).is_err());
}

#[test]
fn a_block_with_fewer_records_than_its_data_does_not_hang() {
    // One block of 100 ints: count 100 is the zig-zag varint [0xc8, 0x01] right after the
    // header; claim 50 instead ([0x64, 0x00] would change the length: use 0xe4 0x00 = 50).
    let file = ints(100, 100);
    let header = {
        let mut r = BufReader::new(Cursor::new(file.clone()));
        let mut tee = Tee {
            inner: &mut r,
            seen: Vec::new(),
        };
        read_header_info(&mut tee).unwrap();
        tee.seen.len()
    };
    assert_eq!(&file[header..header + 2], &[0xc8, 0x01]);
    let mut fewer = file.clone();
    fewer[header..header + 2].copy_from_slice(&[0xe4, 0x00]);
    let batches = decode_all(&fewer).unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 50);
    // More records than the data holds: an error naming the block.
    let mut more = file.clone();
    more[header..header + 2].copy_from_slice(&[0xca, 0x01]);
    let e = decode_all(&more).unwrap_err().to_string();
    assert!(e.contains("corrupt Avro data"), "{e}");
    // A count far past the block's bytes (2^20 records, zig-zag varint 0x80 0x80 0x80 0x01)
    // is refused before anything is decoded or allocated.
    let mut huge = file[..header].to_vec();
    huge.extend_from_slice(&[0x80, 0x80, 0x80, 0x01]);
    huge.extend_from_slice(&file[header + 2..]);
    let e = decode_all(&huge).unwrap_err().to_string();
    assert!(e.contains("claims 1048576 records in"), "{e}");
}

#[test]
fn single_branch_unions_are_their_branch() {
    let fields = UnionFields::try_new(
        vec![0, 1],
        vec![
            Field::new("long", DataType::Int64, false),
            Field::new("null", DataType::Null, true),
        ],
    )
    .unwrap();
    let f = Field::new(
        "u",
        DataType::Union(fields.clone(), UnionMode::Dense),
        false,
    );
    assert_eq!(avro_type(&f), SrType::BigInt);
    let u: ArrayRef = Arc::new(
        UnionArray::try_new(
            fields,
            ScalarBuffer::from(vec![0i8, 1, 0]),
            Some(ScalarBuffer::from(vec![0i32, 0, 1])),
            vec![
                Arc::new(Int64Array::from(vec![5, 6])),
                Arc::new(NullArray::new(1)),
            ],
        )
        .unwrap(),
    );
    let v = normalize(&f, &u).unwrap();
    assert_eq!(
        v.as_primitive::<arrow::datatypes::Int64Type>()
            .iter()
            .collect::<Vec<_>>(),
        vec![Some(5), None, Some(6)]
    );
}
