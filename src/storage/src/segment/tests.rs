//! Segments written here must read back exactly, and carry the statistics, column index and
//! offset index arrow-rs' own writer gives the same rows.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    DictionaryArray, Int8Array, Int16Array, Int32Array, Int64Array, ListArray, RecordBatch,
    StringArray, StringViewArray, TimestampMicrosecondArray,
};
use arrow::compute::{cast, concat_batches, max, min};
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Encoding;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::page_index::offset_index::OffsetIndexMetaData;

use super::chunk::{truncated_max, truncated_min};

use super::{write_segment, writer_properties};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("i8", DataType::Int8, true),
        Field::new("i16", DataType::Int16, true),
        Field::new("i32", DataType::Int32, true),
        Field::new("req", DataType::Int32, false),
        Field::new("d", DataType::Date32, true),
        Field::new("i64", DataType::Int64, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("low", DataType::Utf8, true),
        Field::new("high", DataType::Utf8, true),
        Field::new("long", DataType::Utf8, true),
        Field::new("bin", DataType::Binary, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("dec", DataType::Decimal128(20, 2), true),
        Field::new_list("list", Field::new_list_field(DataType::Int32, true), true),
    ]))
}

/// Rows `from..from + n`: NULLs in some columns, runs, a column past the dictionary limit,
/// strings longer than the statistics keep, non-ASCII text.
fn batch(from: i64, n: i64) -> RecordBatch {
    let rows = from..from + n;
    let null_every = |k: i64| move |i: i64| (i % k != 0).then_some(i);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int8Array::from_iter(
            rows.clone()
                .map(|i| null_every(7)(i).map(|v| (v % 200 - 100) as i8)),
        )),
        Arc::new(Int16Array::from_iter(
            rows.clone().map(|i| Some((i % 3000 - 1500) as i16)),
        )),
        Arc::new(Int32Array::from_iter(rows.clone().map(|i| {
            null_every(5)(i).map(|v| (v * 7919 % 100_003 - 50_000) as i32)
        }))),
        Arc::new(Int32Array::from_iter_values(
            rows.clone().map(|i| (i / 10) as i32),
        )),
        Arc::new(Date32Array::from_iter(
            rows.clone()
                .map(|i| (i % 11 != 3).then_some((i % 4000) as i32)),
        )),
        Arc::new(Int64Array::from_iter(
            rows.clone()
                .map(|i| (i % 40_000 >= 25_000).then_some(i * 1_000_003)),
        )),
        Arc::new(TimestampMicrosecondArray::from_iter(rows.clone().map(
            |i| null_every(13)(i).map(|v| 1_500_000_000_000_000 + v * 1_000_000),
        ))),
        Arc::new(StringArray::from_iter(rows.clone().map(|i| match i % 10 {
            0 => None,
            1..=6 => Some("pv"),
            7 => Some("cart"),
            8 => Some("fav"),
            _ => Some("buyé"),
        }))),
        Arc::new(StringArray::from_iter(rows.clone().map(|i| {
            (i % 17 != 0).then(|| format!("2017-11-{:02} {:08}", i % 28 + 1, i * 7 % 86_400_007))
        }))),
        Arc::new(StringArray::from_iter(rows.clone().map(|i| {
            (i % 3 != 0).then(|| format!("{}ü{}", "x".repeat((i % 90) as usize), i % 5))
        }))),
        Arc::new(BinaryArray::from_iter(
            rows.clone()
                .map(|i| (i % 4 != 0).then(|| vec![0xff; (i % 70) as usize])),
        )),
        Arc::new(BooleanArray::from_iter(
            rows.clone().map(|i| (i % 6 != 0).then_some(i % 4 == 0)),
        )),
        Arc::new(
            Decimal128Array::from_iter(
                rows.clone()
                    .map(|i| (i % 9 != 0).then_some(i128::from(i) * 101)),
            )
            .with_precision_and_scale(20, 2)
            .unwrap(),
        ),
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
            rows.clone().map(|i| {
                (i % 5 != 0).then(|| (0..i % 4).map(|k| Some(k as i32)).collect::<Vec<_>>())
            }),
        )),
    ];
    RecordBatch::try_new(schema(), cols).unwrap()
}

fn read(bytes: Bytes) -> (Vec<RecordBatch>, Arc<ParquetMetaData>) {
    let opts = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let b = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes, opts).unwrap();
    let meta = b.metadata().clone();
    (b.build().unwrap().map(|b| b.unwrap()).collect(), meta)
}

fn ours(batches: &[RecordBatch], row_group_rows: usize) -> Bytes {
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    // Columns on two threads here: the comparison with arrow-rs covers that path too.
    let spread = std::sync::atomic::AtomicBool::new(true);
    Bytes::from(write_segment(Vec::new(), &schema(), &refs, row_group_rows, &spread).unwrap())
}

fn arrow_rs(batches: &[RecordBatch], row_group_rows: usize) -> Bytes {
    let props = writer_properties(&schema(), row_group_rows);
    let mut w = ArrowWriter::try_new(Vec::new(), schema(), Some(props)).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    Bytes::from(w.into_inner().unwrap())
}

#[test]
fn reads_back_with_arrow_rs_statistics_and_indexes() {
    // Batches that do not line up with row groups or pages.
    let batches = vec![batch(0, 30_000), batch(30_000, 1), batch(30_001, 44_999)];
    let all = concat_batches(&schema(), &batches).unwrap();
    let (got, meta) = read(ours(&batches, 64 * 1024));
    assert_eq!(concat_batches(&schema(), &got).unwrap(), all);
    // arrow-rs cuts pages at the same rows when given one batch.
    let (_, want) = read(arrow_rs(std::slice::from_ref(&all), 64 * 1024));
    assert_eq!(meta.num_row_groups(), want.num_row_groups());
    let mut rg_start = 0;
    for (rg, (a, b)) in meta.row_groups().iter().zip(want.row_groups()).enumerate() {
        assert_eq!(a.num_rows(), b.num_rows());
        for (c, (x, y)) in a.columns().iter().zip(b.columns()).enumerate() {
            let name = x.column_descr().name();
            assert_eq!(x.num_values(), y.num_values(), "{name}");
            assert_eq!(
                x.statistics(),
                y.statistics(),
                "statistics of {name} in {rg}"
            );
            let (ci, wi) = (
                &meta.column_index().unwrap()[rg][c],
                &want.column_index().unwrap()[rg][c],
            );
            let (oi, wo) = (
                &meta.offset_index().unwrap()[rg][c],
                &want.offset_index().unwrap()[rg][c],
            );
            let starts = |o: &OffsetIndexMetaData| {
                o.page_locations()
                    .iter()
                    .map(|p| p.first_row_index)
                    .collect::<Vec<_>>()
            };
            let ours = !matches!(
                all.column(c).data_type(),
                DataType::Boolean | DataType::Decimal128(..) | DataType::List(_)
            );
            if starts(oi) == starts(wo) {
                assert_eq!(summary(ci), summary(wi), "column index of {name} in {rg}");
            } else if ours {
                // Pages cut at other rows than arrow-rs' (which cuts columns with NULLs at
                // 20480 rows, others at 20000, a dictionary given up after 1024 rows):
                // check the pages against the rows they hold.
                let col = all.column(c).slice(rg_start, a.num_rows() as usize);
                check_pages(ci, &starts(oi), &col, name);
            }
        }
        rg_start += a.num_rows() as usize;
    }
}

/// Each page's NULL count, min and max in `ci` are those of its rows in `col`.
fn check_pages(ci: &ColumnIndexMetaData, starts: &[i64], col: &ArrayRef, name: &str) {
    let utf8 = matches!(col.data_type(), DataType::Utf8);
    for (p, &from) in starts.iter().enumerate() {
        let from = from as usize;
        let to = starts.get(p + 1).map_or(col.len(), |&t| t as usize);
        let page = col.slice(from, to - from);
        assert_eq!(
            ci.null_count(p),
            Some(page.null_count() as i64),
            "{name} page {p}"
        );
        assert_eq!(
            ci.is_null_page(p),
            page.null_count() == page.len(),
            "{name} page {p}"
        );
        if ci.is_null_page(p) {
            continue;
        }
        let (lo, hi) = match ci {
            ColumnIndexMetaData::INT32(x) => (
                x.min_value(p).map(|v| v.to_le_bytes().to_vec()),
                x.max_value(p).map(|v| v.to_le_bytes().to_vec()),
            ),
            ColumnIndexMetaData::INT64(x) => (
                x.min_value(p).map(|v| v.to_le_bytes().to_vec()),
                x.max_value(p).map(|v| v.to_le_bytes().to_vec()),
            ),
            ColumnIndexMetaData::BYTE_ARRAY(x) => (
                x.min_value(p).map(<[u8]>::to_vec),
                x.max_value(p).map(<[u8]>::to_vec),
            ),
            other => panic!("{name}: unexpected column index {other:?}"),
        };
        let (want_lo, want_hi) = match page.data_type() {
            DataType::Utf8 | DataType::Binary => {
                let vals: Vec<&[u8]> = (0..page.len())
                    .filter(|&i| page.is_valid(i))
                    .map(|i| match page.data_type() {
                        DataType::Utf8 => page.as_string::<i32>().value(i).as_bytes(),
                        _ => page.as_binary::<i32>().value(i),
                    })
                    .collect();
                let (lo, hi) = (*vals.iter().min().unwrap(), *vals.iter().max().unwrap());
                let lo = if lo.len() > 64 {
                    truncated_min(lo, utf8)
                } else {
                    lo.to_vec()
                };
                let hi = if hi.len() > 64 {
                    truncated_max(hi, utf8).unwrap_or(hi.to_vec())
                } else {
                    hi.to_vec()
                };
                (lo, hi)
            }
            t if ci_is_int32(ci) => {
                let v = cast(&page, &DataType::Int32).unwrap_or_else(|e| panic!("{t}: {e}"));
                let v = v.as_primitive::<Int32Type>();
                (
                    min(v).unwrap().to_le_bytes().to_vec(),
                    max(v).unwrap().to_le_bytes().to_vec(),
                )
            }
            t => {
                let v = cast(&page, &DataType::Int64).unwrap_or_else(|e| panic!("{t}: {e}"));
                let v = v.as_primitive::<Int64Type>();
                (
                    min(v).unwrap().to_le_bytes().to_vec(),
                    max(v).unwrap().to_le_bytes().to_vec(),
                )
            }
        };
        assert_eq!(lo, Some(want_lo), "{name} page {p} min");
        assert_eq!(hi, Some(want_hi), "{name} page {p} max");
    }
}

fn ci_is_int32(ci: &ColumnIndexMetaData) -> bool {
    matches!(ci, ColumnIndexMetaData::INT32(_))
}

/// A column index's boundary order and, for each page, NULLs, min and max.
fn summary(ci: &ColumnIndexMetaData) -> String {
    use ColumnIndexMetaData as C;
    let mut s = format!("{:?}", ci.get_boundary_order());
    for i in 0..ci.num_pages() as usize {
        let bounds = match ci {
            C::INT32(x) => format!("{:?} {:?}", x.min_value(i), x.max_value(i)),
            C::INT64(x) => format!("{:?} {:?}", x.min_value(i), x.max_value(i)),
            C::BYTE_ARRAY(x) => format!("{:?} {:?}", x.min_value(i), x.max_value(i)),
            C::NONE => "none".to_string(),
            other => format!("{other:?}"),
        };
        s += &format!(" [{} {:?} {bounds}]", ci.is_null_page(i), ci.null_count(i));
    }
    s
}

#[test]
fn dictionary_arrays_encode_as_their_values() {
    let keys = Int32Array::from(vec![Some(2), None, Some(0), Some(2), Some(1)]);
    let values: ArrayRef = Arc::new(StringArray::from(vec![Some("b"), None, Some("a")]));
    let dict = DictionaryArray::<Int32Type>::try_new(keys, values).unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
    let dict_schema = Arc::new(Schema::new(vec![Field::new(
        "s",
        arrow::array::Array::data_type(&dict).clone(),
        true,
    )]));
    let b = RecordBatch::try_new(dict_schema, vec![Arc::new(dict)]).unwrap();
    let bytes = write_segment(
        Vec::new(),
        &schema,
        &[&b, &b.slice(1, 3)],
        4,
        &Default::default(),
    )
    .unwrap();
    let (got, _) = read(Bytes::from(bytes));
    let got = concat_batches(&schema, &got).unwrap();
    let want = StringArray::from(vec![
        Some("a"),
        None,
        Some("b"),
        Some("a"),
        None,
        None,
        Some("b"),
        Some("a"),
    ]);
    assert_eq!(got.column(0).as_ref(), &want as &dyn arrow::array::Array);
}

#[test]
fn string_views_encode_as_their_values() {
    let texts: Vec<Option<String>> = (0..5000)
        .map(|i| {
            (i % 9 != 0).then(|| {
                if i % 2 == 0 {
                    format!("s{}", i % 4)
                } else {
                    format!("a longer value {i}")
                }
            })
        })
        .collect();
    let view = StringViewArray::from_iter(texts.iter().map(|t| t.as_deref()));
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
    let view_schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8View, true)]));
    let b = RecordBatch::try_new(view_schema, vec![Arc::new(view)]).unwrap();
    let bytes = write_segment(
        Vec::new(),
        &schema,
        &[&b.slice(0, 1234), &b.slice(1234, 3766)],
        3000,
        &Default::default(),
    )
    .unwrap();
    let (got, _) = read(Bytes::from(bytes));
    let got = concat_batches(&schema, &got).unwrap();
    let want = StringArray::from_iter(texts.iter().map(|t| t.as_deref()));
    assert_eq!(got.column(0).as_ref(), &want as &dyn Array);
}

/// Strings without NULLs (interned by a loop of their own), as views and as offsets, short
/// and long, past the dictionary limit in the middle of a piece: the values read back, and
/// the chunk counts every value's bytes.
#[test]
fn strings_without_nulls_encode_as_their_values() {
    let texts: Vec<String> = (0..12_000)
        .map(|i| {
            if i % 3 == 0 {
                format!("s{}", i % 4)
            } else {
                format!("a longer value {i}")
            }
        })
        .collect();
    let total: usize = texts.iter().map(String::len).sum();
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
    let view = StringViewArray::from_iter_values(texts.iter());
    let offsets = StringArray::from_iter_values(texts.iter());
    for a in [Arc::new(view) as ArrayRef, Arc::new(offsets)] {
        let ty = a.data_type().clone();
        let piece_schema = Arc::new(Schema::new(vec![Field::new("s", ty.clone(), false)]));
        let b = RecordBatch::try_new(piece_schema, vec![a]).unwrap();
        let bytes = write_segment(
            Vec::new(),
            &schema,
            &[&b.slice(0, 1234), &b.slice(1234, 12_000 - 1234)],
            12_000,
            &Default::default(),
        )
        .unwrap();
        let (got, meta) = read(Bytes::from(bytes));
        let got = concat_batches(&schema, &got).unwrap();
        let want = StringArray::from_iter_values(texts.iter());
        assert_eq!(got.column(0).as_ref(), &want as &dyn Array, "{ty}");
        let chunk = meta.row_group(0).column(0);
        assert_eq!(
            chunk.unencoded_byte_array_data_bytes(),
            Some(total as i64),
            "{ty}"
        );
        // The dictionary was given up part way: both page kinds are there.
        let kinds: Vec<_> = chunk.encodings().collect();
        assert!(kinds.contains(&Encoding::RLE_DICTIONARY), "{ty}: {kinds:?}");
        assert!(kinds.contains(&Encoding::PLAIN), "{ty}: {kinds:?}");
    }
}

#[test]
fn empty_and_all_null_row_groups() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int32, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let b = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![None::<i32>; 5])),
            Arc::new(StringArray::from(vec![None::<&str>; 5])),
        ],
    )
    .unwrap();
    let (got, meta) = read(Bytes::from(
        write_segment(Vec::new(), &schema, &[&b], 3, &Default::default()).unwrap(),
    ));
    assert_eq!(concat_batches(&schema, &got).unwrap(), b);
    let stats = meta.row_group(0).column(0).statistics().unwrap();
    assert_eq!(stats.null_count_opt(), Some(3));
    assert!(stats.min_bytes_opt().is_none());
    let (got, _) = read(Bytes::from(
        write_segment(Vec::new(), &schema, &[], 3, &Default::default()).unwrap(),
    ));
    assert!(got.is_empty());
}
