//! ORC (orc-rust, stripe by stripe over ranged GETs) and newline-delimited JSON (arrow-json over
//! the streaming, suffix-decompressed reader CSV uses) in FILES().

use std::io::BufReader;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore};
use orc_rust::ArrowReaderBuilder;
use orc_rust::reader::AsyncChunkReader;
use orc_rust::schema::NamedColumn;
use orc_rust::statistics::TypeStatistics;
use strata_common::types::{SrType, VARCHAR_MAX};
use tokio_util::io::SyncIoBridge;

use crate::files::FilesError;
use crate::files::piece::Piece;
use crate::files::props::Codec;
use crate::files::read::{BATCH_ROWS, Decorate, conform};
use crate::files::store::ResolvedStore;
use crate::files::text::{CHUNK_BYTES, ChunkFormat, emitter, open, read_chunked};
use crate::types::sr_type;

/// The metadata of an ORC file (its tail: postscript, footer, stripe list).
pub(crate) async fn orc_metadata(
    store: &ResolvedStore,
    file: &ObjectMeta,
    display: &str,
) -> Result<orc_rust::reader::metadata::FileMetadata, FilesError> {
    let mut reader = ObjectChunkReader::new(store.store.clone(), file);
    orc_rust::reader::metadata::read_metadata_async(&mut reader)
        .await
        .map_err(|e| {
            FilesError::InvalidFile(format!("File {display} is not a valid ORC file: {e}"))
        })
}

/// Ranged reads of one object, as orc-rust asks for them.
pub struct ObjectChunkReader {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    size: u64,
}

impl ObjectChunkReader {
    /// A reader over `meta`.
    pub fn new(store: Arc<dyn ObjectStore>, meta: &ObjectMeta) -> Self {
        Self {
            store,
            path: meta.location.clone(),
            size: meta.size,
        }
    }
}

impl AsyncChunkReader for ObjectChunkReader {
    fn len(&mut self) -> BoxFuture<'_, std::io::Result<u64>> {
        let n = self.size;
        async move { Ok(n) }.boxed()
    }

    fn get_bytes(&mut self, offset: u64, length: u64) -> BoxFuture<'_, std::io::Result<Bytes>> {
        async move {
            crate::files::pooled::get_range(
                self.store.as_ref(),
                &self.path,
                offset..offset + length,
            )
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
        }
        .boxed()
    }
}

/// ORC types map one to one (TINYINT and SMALLINT are kept, unlike Parquet's INT32).
fn orc_type(dt: &arrow::datatypes::DataType) -> SrType {
    sr_type(dt).unwrap_or(SrType::Varchar(VARCHAR_MAX))
}

/// Columns of one ORC file.
pub async fn infer_orc(
    store: &Arc<dyn ObjectStore>,
    meta: &ObjectMeta,
    display: &str,
) -> Result<Vec<(String, SrType)>, FilesError> {
    if meta.size == 0 {
        return Err(FilesError::InvalidFile(format!(
            "File {display} is empty (0 bytes), not an ORC file"
        )));
    }
    let b = ArrowReaderBuilder::try_new_async(ObjectChunkReader::new(store.clone(), meta))
        .await
        .map_err(|e| {
            FilesError::InvalidFile(format!(
                "File {display} is not a valid ORC file ({} bytes): {e}",
                meta.size
            ))
        })?;
    Ok(b.schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), orc_type(f.data_type())))
        .collect())
}

/// Columns of one JSON-lines file, from its first `sample_rows` records.
pub async fn infer_json(
    store: &ResolvedStore,
    meta: &ObjectMeta,
    display: String,
    sample_rows: usize,
    codec: Option<Codec>,
    shape: &crate::files::JsonShape,
) -> Result<Vec<(String, SrType)>, FilesError> {
    let input = open(store, meta, &display, codec).await?;
    let shape = shape.clone();
    tokio::task::spawn_blocking(move || {
        let input = shape.apply(Box::new(SyncIoBridge::new(input)), &display)?;
        let reader = BufReader::new(input);
        let (schema, _) = arrow::json::reader::infer_json_schema(reader, Some(sample_rows))
            .map_err(|e| {
                FilesError::InvalidFile(format!(
                    "File {display} is not newline-delimited JSON: {e}"
                ))
            })?;
        Ok(schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), orc_type(f.data_type())))
            .collect())
    })
    .await
    .map_err(|e| FilesError::InvalidFile(format!("JSON inference failed: {e}")))?
}

/// Streams one ORC piece's batches into `tx`.
///
/// With two columns or more, two tasks decode the piece: its columns are split in two groups
/// of about equal decoding work, each group is read by its own reader, and their batches
/// (cut at the same rows) are put side by side. Pieces are whole stripes, and an ORC file
/// has few (a 10M-row file from Arrow's writer has 3): split by stripes only, one core would
/// decode the last stripe alone.
pub(crate) async fn read_orc(
    store: Arc<dyn ObjectStore>,
    piece: Piece,
    schema: SchemaRef,
    needed: Option<Vec<bool>>,
    fill_null: bool,
    mut deco: Decorate,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let display = piece.display;
    let b = ArrowReaderBuilder::try_new_async(ObjectChunkReader::new(store.clone(), &piece.file))
        .await
        .map_err(|e| {
            FilesError::InvalidFile(format!("File {display} is not a valid ORC file: {e}"))
        })?;
    let stripes = piece.stripes.map(|r| r.start as usize..r.end as usize);
    // Decode only the columns the query uses, found by case-insensitive name.
    let md = b.file_metadata();
    let mut wanted: Vec<(String, u64)> = md
        .root_data_type()
        .children()
        .iter()
        .filter(|c| {
            schema.fields().iter().enumerate().any(|(i, f)| {
                f.name().eq_ignore_ascii_case(c.name()) && needed.as_ref().is_none_or(|x| x[i])
            })
        })
        .map(|c| (c.name().to_string(), decode_work(md, c)))
        .collect();
    if wanted.is_empty() {
        // No column used (`count(*)`): one column still gives the row counts.
        let first = md.root_data_type().children().first();
        wanted.extend(first.map(|c| (c.name().to_string(), 0)));
    }
    let corrupt = |e: arrow::error::ArrowError| {
        FilesError::InvalidFile(format!("File {display}: corrupt ORC data: {e}"))
    };
    let (mine, theirs) = split_work(wanted);
    let mut other = None;
    if !theirs.is_empty() {
        let reader = ObjectChunkReader::new(store, &piece.file);
        let mut stream = orc_stream(b.reopen(reader), &theirs, stripes.clone());
        let (btx, brx) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            while let Some(batch) = stream.next().await {
                if btx.send(batch).await.is_err() {
                    return;
                }
            }
        });
        other = Some(brx);
    }
    let mut stream = orc_stream(b, &mine, stripes);
    while let Some(batch) = stream.next().await {
        let mut batch = batch.map_err(corrupt)?;
        if let Some(rx) = &mut other {
            let Some(theirs) = rx.recv().await else {
                return Err(column_groups_disagree(&display));
            };
            batch = side_by_side(&batch, &theirs.map_err(corrupt)?)
                .ok_or_else(|| column_groups_disagree(&display))?;
        }
        let batch = conform(&batch, &schema, needed.as_deref(), &display, fill_null)?;
        let batch = deco.apply(batch)?;
        if tx.send(Ok(batch)).await.is_err() {
            return Ok(());
        }
    }
    if let Some(rx) = &mut other
        && rx.recv().await.is_some()
    {
        return Err(column_groups_disagree(&display));
    }
    Ok(())
}

/// A reader of `columns` (by name) of the stripes that start in `stripes`.
fn orc_stream(
    b: ArrowReaderBuilder<ObjectChunkReader>,
    columns: &[String],
    stripes: Option<std::ops::Range<usize>>,
) -> orc_rust::async_arrow_reader::ArrowStreamReader<ObjectChunkReader> {
    let mask = orc_rust::projection::ProjectionMask::named_roots(
        b.file_metadata().root_data_type(),
        columns,
    );
    let b = match stripes {
        Some(r) => b.with_file_byte_range(r),
        None => b,
    };
    b.with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build_async()
}

/// About how much decoding a column takes, from the file's statistics: its string bytes, or
/// eight bytes a value.
fn decode_work(md: &orc_rust::reader::metadata::FileMetadata, c: &NamedColumn) -> u64 {
    let Some(stats) = md
        .column_file_statistics()
        .get(c.data_type().column_index())
    else {
        return 0;
    };
    let n = stats.number_of_values();
    match stats.type_statistics() {
        Some(TypeStatistics::String { sum, .. } | TypeStatistics::Binary { sum }) => {
            *sum as u64 + 4 * n
        }
        _ => 8 * n,
    }
}

/// Splits columns in two groups of about equal work (the largest first, each to the lighter
/// group); the second is empty for a single column.
fn split_work(mut columns: Vec<(String, u64)>) -> (Vec<String>, Vec<String>) {
    columns.sort_by_key(|c| std::cmp::Reverse(c.1));
    let (mut a, mut b) = ((Vec::new(), 0), (Vec::new(), 0));
    for (name, work) in columns {
        let g = if a.1 <= b.1 { &mut a } else { &mut b };
        g.0.push(name);
        g.1 += work;
    }
    (a.0, b.0)
}

/// The columns of `a` and then of `b`, which must have as many rows.
fn side_by_side(a: &RecordBatch, b: &RecordBatch) -> Option<RecordBatch> {
    if a.num_rows() != b.num_rows() {
        return None;
    }
    let fields: Vec<_> = a
        .schema()
        .fields()
        .iter()
        .chain(b.schema().fields().iter())
        .cloned()
        .collect();
    let columns = a.columns().iter().chain(b.columns()).cloned().collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).ok()
}

fn column_groups_disagree(display: &str) -> FilesError {
    FilesError::InvalidFile(format!(
        "File {display}: its columns' readers returned different row counts"
    ))
}

/// Reads one JSON file (blocking; run on a blocking thread): JSON objects one after
/// another, one per line or spread over lines. Large files parse on several threads, cut
/// between a line that ends an object and one that starts the next ([`JsonChunks`]).
pub(crate) fn read_json(
    input: Box<dyn std::io::Read + Send>,
    display: &str,
    schema: &SchemaRef,
    mut deco: Decorate,
    tx: &tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> Result<(), FilesError> {
    let mut emit = emitter(&mut deco, tx);
    let format = JsonChunks {
        flat: crate::files::json_flat::supports(schema),
        schema: schema.clone(),
        display: display.into(),
    };
    read_chunked(input, format, 0, CHUNK_BYTES, display, &mut emit)
}

/// JSON text cut between objects: after a line break that follows a `}` and comes before
/// a `{` (whitespace aside). Inside a value a line break cannot be followed by `{` without a
/// comma, and inside a string it cannot appear unescaped, so such a break always ends a
/// top-level object.
#[derive(Clone)]
struct JsonChunks {
    schema: SchemaRef,
    display: Arc<str>,
    /// Whether chunks are first tried as flat records ([`crate::files::json_flat`]).
    flat: bool,
}

impl ChunkFormat for JsonChunks {
    fn cut(&self, text: &[u8], _skip: usize) -> Option<usize> {
        // One pass from the end: `next` is the first byte after the current one that is not
        // whitespace (the next object must have begun within the text), `newline` the first
        // line break between them.
        let (mut next, mut newline) = (None, None);
        for (i, &b) in text.iter().enumerate().rev() {
            match b {
                b'\n' => newline = Some(i),
                b' ' | b'\t' | b'\r' => {}
                _ => {
                    if let (b'}', Some(b'{'), Some(n)) = (b, next, newline) {
                        return Some(n + 1);
                    }
                    (next, newline) = (Some(b), None);
                }
            }
        }
        None
    }

    fn parse(&self, text: &[u8], skip: usize, base: u64) -> Result<Vec<RecordBatch>, FilesError> {
        if self.flat
            && let Some(batches) = crate::files::json_flat::decode(text, &self.schema, BATCH_ROWS)
        {
            return Ok(batches);
        }
        crate::files::text::parse_all(self, text, skip, base)
    }

    fn parse_stream(
        &self,
        input: &mut dyn std::io::Read,
        _skip: usize,
        _base: u64,
        emit: &mut dyn FnMut(RecordBatch) -> Result<bool, FilesError>,
    ) -> Result<(), FilesError> {
        let display = &self.display;
        let reader = arrow::json::ReaderBuilder::new(self.schema.clone())
            .with_batch_size(BATCH_ROWS)
            .build(BufReader::new(input))
            .map_err(|e| FilesError::InvalidFile(format!("File {display}: {e}")))?;
        for b in reader {
            let b =
                b.map_err(|e| FilesError::InvalidFile(format!("File {display}: bad JSON: {e}")))?;
            if !emit(b)? {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn columns_split_in_two_groups_of_about_equal_work() {
        let cols = |v: &[(&str, u64)]| v.iter().map(|(n, w)| (n.to_string(), *w)).collect();
        let (a, b) = split_work(cols(&[
            ("UserID", 80),
            ("ItemID", 80),
            ("CategoryID", 80),
            ("BehaviorType", 70),
            ("Timestamp", 230),
        ]));
        assert_eq!(a, ["Timestamp", "BehaviorType"]);
        assert_eq!(b, ["UserID", "ItemID", "CategoryID"]);
        let (a, b) = split_work(cols(&[("only", 5)]));
        assert_eq!((a.len(), b.len()), (1, 0));
    }

    fn format() -> JsonChunks {
        JsonChunks {
            schema: Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, true),
                Field::new("s", DataType::Utf8, true),
            ])),
            display: "t.json".into(),
            flat: false,
        }
    }

    #[test]
    fn cuts_only_between_objects() {
        let f = format();
        assert_eq!(f.cut(b"{\"id\":1}\n{\"id\":2}\n{\"i", 0), Some(18));
        // The object after the last break has not begun: the break before it is the cut.
        assert_eq!(f.cut(b"{\"id\":1}\n{\"id\":2}\n", 0), Some(9));
        // Inside a pretty-printed object no break is a cut.
        assert_eq!(f.cut(b"{\n  \"id\": 1,\n  \"o\": {\n  }\n", 0), None);
        assert_eq!(f.cut(b"{\"id\":1}", 0), None);
        assert_eq!(f.cut(b"{\"id\":1} \n\n \r\n{", 0), Some(10));
    }

    /// One object per line, objects over several lines, blank lines and a line longer than
    /// a chunk: cut into chunks of any size, the file gives the batches it gives whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_read_like_the_whole_file() {
        let mut text = String::new();
        for i in 0..200 {
            match i % 4 {
                0 => text.push_str(&format!("{{\"id\": {i},\n  \"s\": \"a}}\\n{{b\"\n}}\n")),
                1 => text.push_str(&format!(
                    "\n{{\"id\":{i},\"s\":\"{}\"}}\r\n",
                    "x".repeat(90)
                )),
                _ => text.push_str(&format!("{{\"id\":{i},\"s\":null}}\n")),
            }
        }
        let read = |chunk: usize| {
            let (text, f) = (text.clone(), format());
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                let mut emit = |b: RecordBatch| {
                    out.push(b);
                    Ok(true)
                };
                read_chunked(text.as_bytes(), f.clone(), 0, chunk, "t.json", &mut emit).unwrap();
                arrow::compute::concat_batches(&f.schema, &out).unwrap()
            })
        };
        let whole = read(1 << 20).await.unwrap();
        assert_eq!(whole.num_rows(), 200);
        for n in [1, 5, 64, 999] {
            assert_eq!(read(n).await.unwrap(), whole, "chunks of {n} bytes");
        }
    }

    /// Objects with nothing between them give no cut: past the buffer limit the rest of the
    /// file is read front to back, with the same result.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn objects_without_line_breaks_still_read() {
        let text: String = (0..100).map(|i| format!("{{\"id\":{i}}}")).collect();
        let f = format();
        let got = tokio::task::spawn_blocking(move || {
            let mut rows = 0;
            let mut emit = |b: RecordBatch| {
                rows += b.num_rows();
                Ok(true)
            };
            read_chunked(text.as_bytes(), f, 0, 8, "t.json", &mut emit).unwrap();
            rows
        })
        .await
        .unwrap();
        assert_eq!(got, 100);
    }

    /// The vendored orc-rust's patched decoders (vendor/orc-rust/PATCHES.md) read back what
    /// its writer wrote: integers of every bit width (runs the writer packs directly, as
    /// deltas or repeated), nulls, strings of many lengths, each compression kind
    /// and blocks small enough that values straddle them.
    #[test]
    fn patched_orc_decoders_round_trip() {
        use arrow::array::{ArrayRef, Int16Array, Int32Array, Int64Array, StringArray};
        use orc_rust::compression::CompressionType;

        let rows = 20_000usize;
        // Each column draws its own sequence. (One stripe: with small stripes orc-rust's
        // writer overflows computing a patch width at a stripe's end, a writer bug.)
        let rng = |seed: u64| {
            let mut seed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            }
        };
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for bits in [
            1u32, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 23, 24, 31, 32, 33, 40, 48, 56, 57, 63,
        ] {
            let mut next = rng(bits.into());
            let v: Int64Array = (0..rows)
                .map(|i| {
                    let x = (next() >> (64 - bits)) as i64;
                    match i % 1000 {
                        0..=99 => Some(7),                             // a repeated run
                        100..=199 => Some(i as i64 * 3 - 500),         // a delta run
                        200..=299 => Some(5000 - i as i64 % 1000 * 7), // a decreasing run
                        300..=309 => None,
                        _ if i % 2 == 0 => Some(-x),
                        _ => Some(x),
                    }
                })
                .collect();
            fields.push(Field::new(format!("i{bits}"), DataType::Int64, true));
            columns.push(Arc::new(v));
        }
        let mut next = rng(100);
        let small: Int16Array = (0..rows)
            .map(|_| Some((next() >> 50) as i16 - 4000))
            .collect();
        let mid: Int32Array = (0..rows)
            .map(|i| (i % 13 != 0).then(|| next() as i32))
            .collect();
        let text: StringArray = (0..rows)
            .map(|i| (i % 11 != 0).then(|| "xyz\u{e9}".repeat((next() % 40) as usize)))
            .collect();
        let category: StringArray = (0..rows)
            .map(|i| Some(["pv", "buy", "cart"][i % 3]))
            .collect();
        fields.push(Field::new("small", DataType::Int16, true));
        fields.push(Field::new("mid", DataType::Int32, true));
        fields.push(Field::new("text", DataType::Utf8, true));
        fields.push(Field::new("category", DataType::Utf8, true));
        columns.extend([
            Arc::new(small) as ArrayRef,
            Arc::new(mid),
            Arc::new(text),
            Arc::new(category),
        ]);
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();

        for compression in [
            None,
            Some(CompressionType::Snappy),
            Some(CompressionType::Zstd),
            Some(CompressionType::Zlib),
            Some(CompressionType::Lz4),
        ] {
            let mut buf = Vec::new();
            let mut b = orc_rust::ArrowWriterBuilder::new(&mut buf, batch.schema())
                .with_compression_block_size(4096);
            if let Some(c) = compression {
                b = b.with_compression(c);
            }
            let mut w = b.try_build().unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            let reader = orc_rust::ArrowReaderBuilder::try_new(Bytes::from(buf))
                .unwrap()
                .with_batch_size(3000)
                .build();
            let got: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
            let got = arrow::compute::concat_batches(&got[0].schema(), &got).unwrap();
            assert_eq!(got.num_rows(), rows, "{compression:?}");
            for (i, f) in batch.schema().fields().iter().enumerate() {
                let back = arrow::compute::cast(got.column(i), f.data_type()).unwrap();
                assert_eq!(
                    &back,
                    batch.column(i),
                    "{compression:?}: column {}",
                    f.name()
                );
            }
        }
    }

    /// Apache ORC's own writer packs runs at unaligned widths and patches outliers, which
    /// orc-rust's writer (above) never does: its file reads back as the Parquet file of the
    /// same rows (both made by tests/data/make_orc_widths.py).
    #[test]
    fn patched_orc_decoders_read_apache_orc_widths() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let orc_bytes = Bytes::from(std::fs::read(dir.join("orc_widths.orc")).unwrap());
        let orc: Vec<RecordBatch> = orc_rust::ArrowReaderBuilder::try_new(orc_bytes)
            .unwrap()
            .with_batch_size(700)
            .build()
            .map(|b| b.unwrap())
            .collect();
        let orc = arrow::compute::concat_batches(&orc[0].schema(), &orc).unwrap();
        let pq_file = std::fs::File::open(dir.join("orc_widths.parquet")).unwrap();
        let pq: Vec<RecordBatch> =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(pq_file)
                .unwrap()
                .build()
                .unwrap()
                .map(|b| b.unwrap())
                .collect();
        let pq = arrow::compute::concat_batches(&pq[0].schema(), &pq).unwrap();
        assert_eq!(orc.num_rows(), 2048);
        assert_eq!(orc.num_columns(), pq.num_columns());
        for (i, f) in pq.schema().fields().iter().enumerate() {
            let got = arrow::compute::cast(orc.column(i), f.data_type()).unwrap();
            assert_eq!(&got, pq.column(i), "column {}", f.name());
        }
    }
}
