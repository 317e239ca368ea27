//! Avro object container files: the columns come from the schema in the file's header, mapped
//! to StarRocks types as StarRocks maps them; the blocks are decoded by arrow-avro on a
//! blocking thread.
//!
//! The container is walked here, block by block: each block's framing (record count, byte
//! size, data, sync marker) is checked against the header and the file's size, so a truncated
//! file or a damaged block fails with an error naming the file instead of ending early. Each
//! block is then decoded by its own arrow-avro `Reader` asked for exactly the block's records:
//! arrow-avro's reader spins forever on a block whose data outlasts its record count, and
//! reading one block at a time never lets it reach that state.

use std::io::{BufRead, BufReader, Cursor, Read};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, ListArray, MapArray, RecordBatch, StringArray,
    StructArray, UInt32Array, new_null_array,
};
use arrow::compute::{cast, concat_batches, take};
use arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Float32Type, Float64Type, IntervalMonthDayNanoType,
    IntervalUnit, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType, UnionFields,
};
use arrow::error::ArrowError;
use arrow_avro::reader::{ReaderBuilder, read_header_info};
use object_store::ObjectMeta;
use strata_common::types::{SrType, VARCHAR_MAX};

use crate::files::FilesError;
use crate::files::list::storage_error;
use crate::files::piece::Piece;
use crate::files::props::Codec;
use crate::files::read::{BATCH_ROWS, Decorate, ReadSpec, conform};
use crate::files::store::ResolvedStore;
use crate::files::text::emitter;

/// The first bytes of every Avro object container file.
const MAGIC: &[u8; 4] = b"Obj\x01";

/// Bytes fetched from a file's start for its header; a longer header costs more fetches.
const HEADER_GUESS: u64 = 64 * 1024;

/// More records than any writer puts in one block: a count beyond it is a damaged block
/// (records of only `null` fields take no bytes, so the data size cannot bound the count).
const MAX_BLOCK_RECORDS: u64 = 1 << 26;
/// Records a block may hold beyond one per data byte (records of only `null` fields).
const ZERO_WIDTH_RECORDS: u64 = 1 << 16;

fn invalid(display: &str, size: u64, why: impl std::fmt::Display) -> FilesError {
    FilesError::InvalidFile(format!(
        "File {display} is not a valid Avro file ({size} bytes): {why}"
    ))
}

fn corrupt(display: &str, why: impl std::fmt::Display) -> FilesError {
    FilesError::InvalidFile(format!("File {display}: corrupt Avro data: {why}"))
}

/// The columns of one Avro file, from its header's schema.
pub(crate) async fn infer_avro(
    store: &ResolvedStore,
    f: &ObjectMeta,
    display: &str,
) -> Result<Vec<(String, SrType)>, FilesError> {
    if f.size == 0 {
        return Err(FilesError::InvalidFile(format!(
            "File {display} is empty (0 bytes), not an Avro file"
        )));
    }
    let mut len = f.size.min(HEADER_GUESS);
    loop {
        let head = crate::files::pooled::get_exact(store.store.as_ref(), &f.location, 0..len, None)
            .await
            .map_err(|e| storage_error(e, &format!("reading {display}"), store))?;
        match header_schema(&head, len == f.size) {
            Ok(Some(schema)) => {
                return Ok(schema
                    .fields()
                    .iter()
                    .map(|c| (c.name().clone(), avro_type(c)))
                    .collect());
            }
            Ok(None) => len = f.size.min(len * 4),
            Err(why) => return Err(invalid(display, f.size, why)),
        }
    }
}

/// The Arrow schema arrow-avro decodes a file with, from the file's first bytes; `None` when
/// they end inside the header and more of the file is left (`whole` says none is).
fn header_schema(head: &[u8], whole: bool) -> Result<Option<SchemaRef>, String> {
    if head.len() < MAGIC.len() || &head[..MAGIC.len()] != MAGIC {
        return Err(
            "it does not start with the Avro magic bytes 'Obj\\x01' (another format)".into(),
        );
    }
    match read_header_info(Cursor::new(head)) {
        Err(arrow_avro::errors::AvroError::EOF(_)) if !whole => return Ok(None),
        Err(e) => return Err(format!("bad header (truncated?): {e}")),
        Ok(_) => {}
    }
    let reader = ReaderBuilder::new()
        .build(Cursor::new(head))
        .map_err(|e| format!("unsupported schema: {e}"))?;
    let schema = reader.schema();
    Ok(Some(schema))
}

/// The StarRocks type of a column arrow-avro decodes as `f` (StarRocks' mapping of the Avro
/// type it came from: `be/src/formats/avro/cpp/avro_schema_builder.cpp`).
pub(crate) fn avro_type(f: &Field) -> SrType {
    let varchar = SrType::Varchar(VARCHAR_MAX);
    match f.data_type() {
        DataType::Boolean => SrType::Boolean,
        // int, and time-millis (no logical mapping in StarRocks).
        DataType::Int32 | DataType::Time32(_) => SrType::Int,
        // long, time-micros, local-timestamp-*, timestamp-nanos.
        DataType::Int64 | DataType::Time64(_) => SrType::BigInt,
        DataType::Timestamp(TimeUnit::Millisecond | TimeUnit::Microsecond, Some(_)) => {
            SrType::Datetime
        }
        DataType::Timestamp(..) => SrType::BigInt,
        DataType::Float32 => SrType::Float,
        DataType::Float64 => SrType::Double,
        DataType::Date32 => SrType::Date,
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *p <= 38 => {
            SrType::Decimal(*p, (*s).max(0) as u8)
        }
        DataType::FixedSizeBinary(_) if is_uuid(f) => varchar,
        // bytes, fixed, duration (a fixed(12)).
        DataType::Binary | DataType::FixedSizeBinary(_) | DataType::Interval(_) => {
            SrType::Varbinary
        }
        DataType::List(item) => SrType::Array(Box::new(avro_type(item))),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                SrType::Map(Box::new(varchar), Box::new(avro_type(&kv[1])))
            }
            _ => varchar,
        },
        DataType::Struct(fields) => SrType::Struct(
            fields
                .iter()
                .map(|c| (c.name().clone(), avro_type(c)))
                .collect(),
        ),
        // [T] and [null, T] are T; a union of several value types is text.
        DataType::Union(fields, _) => match value_branches(fields).as_slice() {
            [(_, only)] => avro_type(only),
            _ => varchar,
        },
        // string, enum, null, decimals beyond 38 digits.
        _ => varchar,
    }
}

fn is_uuid(f: &Field) -> bool {
    matches!(f.data_type(), DataType::FixedSizeBinary(16))
        && f.metadata().get("logicalType").map(String::as_str) == Some("uuid")
}

/// The branches of a union that are not `null`.
fn value_branches(fields: &UnionFields) -> Vec<(i8, FieldRef)> {
    fields
        .iter()
        .filter(|(_, f)| f.data_type() != &DataType::Null)
        .map(|(id, f)| (id, f.clone()))
        .collect()
}

type BatchSender = tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>;

/// Reads one Avro file into `tx`, in the file schema of `spec`.
pub(crate) async fn read_avro(
    spec: &ReadSpec,
    piece: Piece,
    needed: Option<Vec<bool>>,
    deco: Decorate,
    tx: &BatchSender,
) -> Result<(), FilesError> {
    let display = piece.display.clone();
    // Avro compresses its blocks itself: the object is read as it is.
    let input =
        crate::files::text::open_sync(&spec.store, &piece.file, &display, Some(Codec::Plain))
            .await?;
    let (tx, spec, size) = (tx.clone(), spec.clone(), piece.file.size);
    let shown = display.clone();
    tokio::task::spawn_blocking(move || {
        let target = Target {
            schema: &spec.file_schema,
            needed: needed.as_deref(),
            fill_null: spec.fill_null,
        };
        read_file(input, &shown, size, target, deco, &tx)
    })
    .await
    .map_err(|e| match e.try_into_panic() {
        Ok(panic) => crate::files::guard::crashed(&display, "Avro", panic.as_ref()),
        Err(e) => FilesError::InvalidFile(format!("file reader failed: {e}")),
    })?
}

/// The schema batches are produced in.
struct Target<'a> {
    schema: &'a SchemaRef,
    needed: Option<&'a [bool]>,
    fill_null: bool,
}

fn read_file(
    input: Box<dyn Read + Send>,
    display: &str,
    size: u64,
    target: Target<'_>,
    mut deco: Decorate,
    tx: &BatchSender,
) -> Result<(), FilesError> {
    let mut emit = emitter(&mut deco, tx);
    let mut blocks = Blocks::open(input, display, size)?;
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut rows = 0;
    let mut flush = |pending: &mut Vec<RecordBatch>| -> Result<bool, FilesError> {
        let batch = match pending.as_slice() {
            [] => return Ok(true),
            [one] => one.clone(),
            [first, ..] => {
                concat_batches(&first.schema(), pending.iter()).map_err(|e| corrupt(display, e))?
            }
        };
        pending.clear();
        let batch = normalize_batch(&batch).map_err(|e| corrupt(display, e))?;
        let batch = conform(
            &batch,
            target.schema,
            target.needed,
            display,
            target.fill_null,
        )?;
        emit(batch)
    };
    while let Some(batch) = blocks.next_batch()? {
        rows += batch.num_rows();
        pending.push(batch);
        if rows >= BATCH_ROWS {
            rows = 0;
            if !flush(&mut pending)? {
                return Ok(());
            }
        }
    }
    flush(&mut pending).map(|_| ())
}

/// The blocks of one container file, decoded one by one.
struct Blocks<'a> {
    input: BufReader<Box<dyn Read + Send>>,
    display: &'a str,
    size: u64,
    /// The header as it is in the file: each block is decoded behind a copy of it.
    header: Vec<u8>,
    sync: [u8; 16],
    /// Bytes of the file read so far.
    at: u64,
    /// The current block, as a container file's block: count, size, data, sync marker.
    block: Vec<u8>,
}

impl<'a> Blocks<'a> {
    fn open(input: Box<dyn Read + Send>, display: &'a str, size: u64) -> Result<Self, FilesError> {
        let mut input = BufReader::with_capacity(1 << 20, input);
        let mut tee = Tee {
            inner: &mut input,
            seen: Vec::new(),
        };
        let head = tee.fill_buf().map_err(|e| invalid(display, size, e))?;
        if head.len() < MAGIC.len() || &head[..MAGIC.len()] != MAGIC {
            return Err(invalid(
                display,
                size,
                "it does not start with the Avro magic bytes 'Obj\\x01' (another format)",
            ));
        }
        let info = read_header_info(&mut tee)
            .map_err(|e| invalid(display, size, format!("bad header (truncated?): {e}")))?;
        let header = tee.seen;
        Ok(Self {
            at: header.len() as u64,
            input,
            display,
            size,
            header,
            sync: info.sync(),
            block: Vec::new(),
        })
    }

    fn truncated(&self, what: &str) -> FilesError {
        self.damaged(format!(
            "it ends inside {what} (at byte {} of {})",
            self.at, self.size
        ))
    }

    fn damaged(&self, why: String) -> FilesError {
        FilesError::InvalidFile(format!(
            "File {} is truncated or damaged: {why}",
            self.display
        ))
    }

    /// Reads a zig-zag varint; `None` at the end of the file before its first byte.
    fn varint(&mut self, what: &str) -> Result<Option<i64>, FilesError> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let mut b = [0u8];
            match self.input.read(&mut b) {
                Ok(0) if shift == 0 => return Ok(None),
                Ok(0) => return Err(self.truncated(what)),
                Ok(_) => {}
                Err(e) => return Err(self.read_error(e)),
            }
            self.at += 1;
            if shift > 63 {
                return Err(corrupt(
                    self.display,
                    format!("{what} is not a valid number"),
                ));
            }
            value |= u64::from(b[0] & 0x7f) << shift;
            if b[0] & 0x80 == 0 {
                return Ok(Some((value >> 1) as i64 ^ -((value & 1) as i64)));
            }
            shift += 7;
        }
    }

    fn read_error(&self, e: std::io::Error) -> FilesError {
        FilesError::InvalidFile(format!("reading {}: {e}", self.display))
    }

    /// The next block's records, or `None` after the last block (empty blocks are skipped).
    fn next_batch(&mut self) -> Result<Option<RecordBatch>, FilesError> {
        loop {
            let start = self.at;
            let Some(count) = self.next_block()? else {
                return Ok(None);
            };
            if count > 0 {
                return self.decode(start, count).map(Some);
            }
        }
    }

    /// Reads the next block's framing and data into `self.block`, checking them against the
    /// header and the file's size; its record count, or `None` after the last block.
    fn next_block(&mut self) -> Result<Option<usize>, FilesError> {
        let start = self.at;
        let Some(count) = self.varint("a block header")? else {
            return Ok(None);
        };
        let bytes = self
            .varint("a block header")?
            .ok_or_else(|| self.truncated("a block header"))?;
        let count = u64::try_from(count)
            .ok()
            .filter(|c| *c <= MAX_BLOCK_RECORDS)
            .ok_or_else(|| {
                corrupt(
                    self.display,
                    format!("block at byte {start} claims {count} records"),
                )
            })?;
        let data_len = u64::try_from(bytes)
            .ok()
            .filter(|b| self.at + b + 16 <= self.size)
            .ok_or_else(|| {
                self.damaged(format!(
                    "the block at byte {start} claims {bytes} bytes, more than the file's {} \
                     bytes hold",
                    self.size
                ))
            })?;
        // Every record of a schema with any non-null field takes at least a byte; records of
        // only `null` fields take none, so a few may come free: a count far past the data is
        // a damaged block, and would ask for columns of that many rows.
        if count > data_len + ZERO_WIDTH_RECORDS {
            return Err(corrupt(
                self.display,
                format!("block at byte {start} claims {count} records in {data_len} bytes"),
            ));
        }
        self.block.clear();
        put_varint(&mut self.block, count as i64);
        put_varint(&mut self.block, data_len as i64);
        let body = self.block.len();
        self.block.resize(body + data_len as usize + 16, 0);
        if let Err(e) = self.input.read_exact(&mut self.block[body..]) {
            return Err(match e.kind() {
                std::io::ErrorKind::UnexpectedEof => self.truncated("a block"),
                _ => self.read_error(e),
            });
        }
        self.at += data_len + 16;
        if self.block[self.block.len() - 16..] != self.sync {
            return Err(corrupt(
                self.display,
                format!(
                    "the sync marker after the block at byte {start} does not match the header's"
                ),
            ));
        }
        Ok(Some(count as usize))
    }

    /// Decodes the current block: exactly `count` records, with a reader for it alone.
    fn decode(&self, start: u64, count: usize) -> Result<RecordBatch, FilesError> {
        let stream = Cursor::new(&self.header[..]).chain(Cursor::new(&self.block[..]));
        let mut reader = ReaderBuilder::new()
            .with_batch_size(count)
            .build(stream)
            .map_err(|e| invalid(self.display, self.size, format!("unsupported schema: {e}")))?;
        let at = |e: String| corrupt(self.display, format!("block at byte {start}: {e}"));
        match reader.next() {
            Some(Ok(b)) if b.num_rows() == count => Ok(b),
            Some(Ok(b)) => Err(at(format!(
                "{} of its {count} records decode",
                b.num_rows()
            ))),
            Some(Err(e)) => Err(at(e.to_string())),
            None => Err(at(format!("none of its {count} records decode"))),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A reader that keeps a copy of the bytes its user consumes (the header, as it was).
struct Tee<'a, R: BufRead> {
    inner: &'a mut R,
    seen: Vec<u8>,
}

impl<R: BufRead> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tee<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if amt > 0 {
            // The bytes are still buffered: fill_buf returns them without reading.
            if let Ok(buf) = self.inner.fill_buf() {
                self.seen.extend_from_slice(&buf[..amt.min(buf.len())]);
            }
        }
        self.inner.consume(amt);
    }
}

/// A decoded batch with every column made castable to its inferred type.
fn normalize_batch(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| needs_fix(f)) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut cols = Vec::with_capacity(batch.num_columns());
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        let c = normalize(f, c)?;
        fields.push(Field::new(f.name(), c.data_type().clone(), true));
        cols.push(c);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
}

/// Whether a column holds what the cast to its inferred type cannot take: a union, a UUID, a
/// duration.
fn needs_fix(f: &Field) -> bool {
    match f.data_type() {
        DataType::Union(..) | DataType::Interval(_) => true,
        DataType::FixedSizeBinary(_) => is_uuid(f),
        DataType::List(item) => needs_fix(item),
        DataType::Struct(fields) => fields.iter().any(|c| needs_fix(c)),
        DataType::Map(entries, _) => needs_fix(entries),
        _ => false,
    }
}

/// `array` (of field `f`) made castable to the inferred type: a union with one value branch
/// becomes that branch, one with several their text; a UUID its text; a duration its 12 bytes.
fn normalize(f: &Field, array: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    if !needs_fix(f) {
        return Ok(array.clone());
    }
    Ok(match f.data_type() {
        DataType::Union(fields, _) => union_values(fields, array)?,
        DataType::FixedSizeBinary(_) => {
            let a = array.as_fixed_size_binary();
            let text: StringArray = a
                .iter()
                .map(|v| v.and_then(|b| uuid::Uuid::from_slice(b).ok()))
                .map(|u| u.map(|u| u.hyphenated().to_string()))
                .collect();
            Arc::new(text)
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let a = array.as_primitive::<IntervalMonthDayNanoType>();
            let bytes: BinaryArray = a
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let millis = (v.nanoseconds / 1_000_000) as u32;
                        [v.months as u32, v.days as u32, millis]
                            .iter()
                            .flat_map(|x| x.to_le_bytes())
                            .collect::<Vec<u8>>()
                    })
                })
                .collect();
            Arc::new(bytes)
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let cols = fields
                .iter()
                .zip(s.columns())
                .map(|(c, a)| normalize(c, a))
                .collect::<Result<Vec<_>, _>>()?;
            let fields: Fields = fields
                .iter()
                .zip(&cols)
                .map(|(c, a)| Field::new(c.name(), a.data_type().clone(), true))
                .collect();
            Arc::new(StructArray::try_new(fields, cols, s.nulls().cloned())?)
        }
        DataType::List(item) => {
            let l = array.as_list::<i32>();
            let values = normalize(item, l.values())?;
            let item = Arc::new(Field::new(item.name(), values.data_type().clone(), true));
            Arc::new(ListArray::try_new(
                item,
                l.offsets().clone(),
                values,
                l.nulls().cloned(),
            )?)
        }
        DataType::Map(entries, sorted) => {
            let m = array.as_map();
            let DataType::Struct(kv) = entries.data_type() else {
                return Ok(array.clone());
            };
            let values = normalize(&kv[1], m.values())?;
            let kv = Fields::from(vec![
                kv[0].as_ref().clone(),
                Field::new(kv[1].name(), values.data_type().clone(), true),
            ]);
            let pairs = StructArray::try_new(kv.clone(), vec![m.keys().clone(), values], None)?;
            let entries = Arc::new(Field::new(entries.name(), DataType::Struct(kv), false));
            Arc::new(MapArray::try_new(
                entries,
                m.offsets().clone(),
                pairs,
                m.nulls().cloned(),
                *sorted,
            )?)
        }
        _ => array.clone(),
    })
}

/// A union's values: its one value branch's, or the text of whichever branch each row has
/// (as StarRocks reads a union of several types into VARCHAR).
fn union_values(fields: &UnionFields, array: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let u = array.as_union();
    let branches = value_branches(fields);
    if let [(id, only)] = branches.as_slice() {
        let idx: UInt32Array = (0..u.len())
            .map(|i| (u.type_id(i) == *id).then(|| u.value_offset(i) as u32))
            .collect();
        let values = take(u.child(*id).as_ref(), &idx, None)?;
        return normalize(only, &values);
    }
    if branches.is_empty() {
        return Ok(new_null_array(&DataType::Null, u.len()));
    }
    let texts = branches
        .iter()
        .map(|(id, f)| Ok((*id, text(f, u.child(*id))?)))
        .collect::<Result<Vec<_>, ArrowError>>()?;
    let out: StringArray = (0..u.len())
        .map(|i| {
            let id = u.type_id(i);
            let branch = texts.iter().find(|(b, _)| *b == id)?;
            let (values, at) = (&branch.1, u.value_offset(i));
            (!values.is_null(at)).then(|| values.value(at).to_string())
        })
        .collect();
    Ok(Arc::new(out))
}

/// Values as StarRocks writes them into VARCHAR: numbers as text (floats with six decimals),
/// booleans as 1/0, dates and datetimes as `YYYY-MM-DD[ HH:MM:SS[.ffffff]]`, records, arrays and
/// maps as JSON.
fn text(f: &Field, array: &ArrayRef) -> Result<StringArray, ArrowError> {
    let array = normalize(f, array)?;
    Ok(match array.data_type() {
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|v| v.map(|b| if b { "1" } else { "0" }))
            .collect(),
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.map(|v| format!("{v:.6}")))
            .collect(),
        DataType::Float64 => array
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.map(|v| format!("{v:.6}")))
            .collect(),
        DataType::Binary => array
            .as_binary::<i32>()
            .iter()
            .map(|v| v.map(String::from_utf8_lossy))
            .collect(),
        DataType::FixedSizeBinary(_) => array
            .as_fixed_size_binary()
            .iter()
            .map(|v| v.map(String::from_utf8_lossy))
            .collect(),
        DataType::Timestamp(..) => {
            let micros = cast(&array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            micros
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .map(|v| {
                    let t = chrono::DateTime::from_timestamp_micros(v?)?;
                    Some(t.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string())
                })
                .collect()
        }
        DataType::Struct(_) | DataType::List(_) | DataType::Map(..) => json_text(&array)?,
        _ => cast(&array, &DataType::Utf8)?.as_string::<i32>().clone(),
    })
}

/// Each value of a nested array as JSON text.
fn json_text(array: &ArrayRef) -> Result<StringArray, ArrowError> {
    use arrow::json::writer::{EncoderOptions, make_encoder};
    let field: FieldRef = Arc::new(Field::new("v", array.data_type().clone(), true));
    let options = EncoderOptions::default();
    let mut encoder = make_encoder(&field, array.as_ref(), &options)?;
    let mut buf = Vec::new();
    Ok((0..array.len())
        .map(|i| {
            if array.is_null(i) {
                return None;
            }
            buf.clear();
            encoder.encode(i, &mut buf);
            Some(String::from_utf8_lossy(&buf).into_owned())
        })
        .collect())
}

#[cfg(test)]
mod tests;
