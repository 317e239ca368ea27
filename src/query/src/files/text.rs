//! Text files (CSV, JSON) on blocking threads: opening them (decompressed by codec, or read
//! in ranges), and cutting one file into chunks of whole records that parse at once.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use async_compression::tokio::bufread::{
    BzDecoder, GzipDecoder, Lz4Decoder, XzDecoder, ZlibDecoder, ZstdDecoder,
};
use bytes::Bytes;
use futures::StreamExt;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncRead;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::files::FilesError;
use crate::files::list::storage_error;
use crate::files::props::Codec;
use crate::files::read::Decorate;
use crate::files::store::ResolvedStore;

/// Opens an object as a decompressed byte stream, with `codec` or else the one its suffix
/// implies.
pub(crate) async fn open(
    store: &ResolvedStore,
    meta: &ObjectMeta,
    display: &str,
    codec: Option<Codec>,
) -> Result<Box<dyn AsyncRead + Send + Unpin>, FilesError> {
    let res = store
        .store
        .get(&meta.location)
        .await
        .map_err(|e| storage_error(e, &format!("reading {display}"), store))?;
    // The listing said how long the object is: a body that ends before is a cut response
    // (a storage or network fault), which must fail the read rather than end the file early.
    let seen = Arc::new(AtomicU64::new(0));
    let counted = {
        let seen = seen.clone();
        res.into_stream().map(move |chunk| {
            let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()))?;
            seen.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            Ok::<_, std::io::Error>(chunk)
        })
    };
    let (expected, name) = (meta.size, display.to_string());
    let end = futures::stream::once(async move {
        let got = seen.load(Ordering::Relaxed);
        if got == expected {
            Ok(Bytes::new())
        } else {
            Err(std::io::Error::other(format!(
                "{name}: storage returned {got} of its {expected} bytes; the object was not \
                 read whole (a storage or network fault, not a damaged file)"
            )))
        }
    });
    let raw = tokio::io::BufReader::new(StreamReader::new(Box::pin(counted.chain(end))));
    let codec = codec.unwrap_or_else(|| Codec::by_suffix(meta.location.as_ref()));
    Ok(match codec {
        Codec::Plain => Box::new(raw),
        Codec::Gzip => Box::new(GzipDecoder::new(raw)),
        Codec::Bzip2 => Box::new(BzDecoder::new(raw)),
        Codec::Zstd => Box::new(ZstdDecoder::new(raw)),
        Codec::Xz => Box::new(XzDecoder::new(raw)),
        Codec::Deflate => Box::new(ZlibDecoder::new(raw)),
        Codec::Lz4 => Box::new(Lz4Decoder::new(raw)),
    })
}

/// Opens an object for reading on a blocking thread, decompressed like [`open`]. A plain
/// object is read in large ranges, the next fetched while the current one is parsed,
/// rather than as a stream of small pieces handed across threads.
pub(crate) async fn open_sync(
    store: &ResolvedStore,
    meta: &ObjectMeta,
    display: &str,
    codec: Option<Codec>,
) -> Result<Box<dyn Read + Send>, FilesError> {
    let codec = codec.unwrap_or_else(|| Codec::by_suffix(meta.location.as_ref()));
    if codec != Codec::Plain {
        return Ok(Box::new(SyncIoBridge::new(
            open(store, meta, display, Some(codec)).await?,
        )));
    }
    let mut reader = RangeReader {
        store: store.store.clone(),
        location: meta.location.clone(),
        display: display.to_string(),
        e_tag: meta.e_tag.clone(),
        size: meta.size,
        next_start: 0,
        current: Bytes::new(),
        next: None,
    };
    reader.prefetch();
    // The first range is awaited here, so that a store error (credentials, a vanished
    // object) is reported as such.
    if let Some(first) = reader.next.take() {
        reader.current = first
            .await
            .map_err(|e| FilesError::InvalidFile(format!("reading {display}: {e}")))?
            .map_err(|e| storage_error(e, &format!("reading {display}"), store))?;
        reader.prefetch();
    }
    Ok(Box::new(reader))
}

/// Bytes fetched per ranged read.
const RANGE_BYTES: u64 = 8 << 20;

/// A plain object read in [`RANGE_BYTES`] ranges, one fetched ahead. Every range is asked
/// for on condition that the object is still the one listed (its ETag), so a file replaced
/// or grown during the read fails the read instead of mixing two versions.
struct RangeReader {
    store: Arc<dyn ObjectStore>,
    location: object_store::path::Path,
    display: String,
    e_tag: Option<String>,
    size: u64,
    next_start: u64,
    current: Bytes,
    next: Option<tokio::task::JoinHandle<object_store::Result<Bytes>>>,
}

impl RangeReader {
    fn prefetch(&mut self) {
        if self.next_start >= self.size {
            return;
        }
        let range = self.next_start..self.size.min(self.next_start + RANGE_BYTES);
        self.next_start = range.end;
        let (store, location) = (self.store.clone(), self.location.clone());
        let options = object_store::GetOptions {
            if_match: self.e_tag.clone(),
            ..Default::default()
        };
        let e_tag = options.if_match;
        self.next = Some(tokio::spawn(async move {
            crate::files::pooled::get_exact(store.as_ref(), &location, range, e_tag).await
        }));
    }
}

impl Drop for RangeReader {
    fn drop(&mut self) {
        // A read stopped early (LIMIT, an error) does not leave its prefetch running.
        if let Some(next) = self.next.take() {
            next.abort();
        }
    }
}

impl Read for RangeReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.current.is_empty() {
            let Some(next) = self.next.take() else {
                return Ok(0);
            };
            let got = futures::executor::block_on(next).map_err(std::io::Error::other)?;
            self.current =
                got.map_err(|e| std::io::Error::other(format!("reading {}: {e}", self.display)))?;
            self.prefetch();
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Bytes of text one parser takes at a time when a file is parsed on several threads.
pub(crate) const CHUNK_BYTES: usize = 4 << 20;

/// Chunks parsed at once (besides the thread that reads and cuts them).
const PARSERS: usize = 2;

/// Hands batches, numbered and decorated by `deco`, to the query through `tx`; false once the
/// query stopped reading (LIMIT), which is not an error.
pub(crate) fn emitter<'a>(
    deco: &'a mut Decorate,
    tx: &'a tokio::sync::mpsc::Sender<datafusion::common::Result<RecordBatch>>,
) -> impl FnMut(RecordBatch) -> Result<bool, FilesError> + 'a {
    |batch| Ok(tx.blocking_send(Ok(deco.apply(batch)?)).is_ok())
}

/// How [`read_chunked`] cuts and parses one file's text.
pub(crate) trait ChunkFormat: Clone + Send + 'static {
    /// The end of the last whole record in `text` (which starts at a record's start), such
    /// that the text before it holds at least `skip` records; `None` if there is none yet.
    fn cut(&self, text: &[u8], skip: usize) -> Option<usize>;
    /// The batches of `text`, whole records from byte `base` of the file on, after skipping
    /// `skip` of them.
    fn parse(&self, text: &[u8], skip: usize, base: u64) -> Result<Vec<RecordBatch>, FilesError> {
        parse_all(self, text, skip, base)
    }
    /// Parses `input` (a whole chunk, or the rest of a file) front to back, from byte `base`
    /// of the file on, handing each batch to `emit` until it returns false.
    fn parse_stream(
        &self,
        input: &mut dyn Read,
        skip: usize,
        base: u64,
        emit: &mut dyn FnMut(RecordBatch) -> Result<bool, FilesError>,
    ) -> Result<(), FilesError>;
}

/// The batches of `text`, by [`ChunkFormat::parse_stream`].
pub(crate) fn parse_all<F: ChunkFormat>(
    format: &F,
    text: &[u8],
    skip: usize,
    base: u64,
) -> Result<Vec<RecordBatch>, FilesError> {
    let mut out = Vec::new();
    format.parse_stream(&mut &text[..], skip, base, &mut |b| {
        out.push(b);
        Ok(true)
    })?;
    Ok(out)
}

/// A UTF-8 byte order mark: readers drop it at the start of their text, so no chunk may
/// start with one that is not the file's own.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A chunk grows to at most this many times [`CHUNK_BYTES`] while no cut is found (a record
/// that long, or text whose records cannot be told apart without parsing); then the rest of
/// the file is parsed front to back, so memory stays bounded.
const MAX_CHUNKS_BUFFERED: usize = 16;

/// Cuts `input` into chunks of whole records and parses [`PARSERS`] of them at once on
/// blocking threads, emitting their batches in file order. The first chunk holds at least
/// the `skip` header records.
pub(crate) fn read_chunked<R: Read, F: ChunkFormat>(
    mut input: R,
    format: F,
    mut skip: usize,
    chunk_bytes: usize,
    display: &str,
    emit: &mut dyn FnMut(RecordBatch) -> Result<bool, FilesError>,
) -> Result<(), FilesError> {
    type Job = tokio::task::JoinHandle<Result<Vec<RecordBatch>, FilesError>>;
    let runtime = tokio::runtime::Handle::current();
    let mut inflight: VecDeque<Job> = VecDeque::new();
    // Emits the oldest chunk's batches; false when the reader should stop.
    let mut drain_one = |inflight: &mut VecDeque<Job>| {
        let Some(job) = inflight.pop_front() else {
            return Ok(false);
        };
        let batches = futures::executor::block_on(job).map_err(|e| {
            FilesError::InvalidFile(format!("File {display}: parser failed: {e}"))
        })??;
        for b in batches {
            if !emit(b)? {
                return Ok(false);
            }
        }
        Ok(true)
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut offset = 0u64; // where `buf` starts in the file
    let mut eof = false;
    while !eof {
        // Fill to a chunk's size (more while no cut point has been found).
        let want = chunk_bytes.max(buf.len() * 2);
        while buf.len() < want {
            let start = buf.len();
            buf.resize(want, 0);
            match input.read(&mut buf[start..]) {
                Ok(0) => {
                    buf.truncate(start);
                    eof = true;
                    break;
                }
                Ok(n) => buf.truncate(start + n),
                Err(e) => {
                    return Err(FilesError::InvalidFile(format!(
                        "File {display} is not readable: {e}"
                    )));
                }
            }
        }
        let cut = if eof {
            Some(buf.len())
        } else {
            format
                .cut(&buf, skip)
                .filter(|&i| !buf[i..].starts_with(BOM))
        };
        let Some(cut) = cut else {
            if buf.len() >= MAX_CHUNKS_BUFFERED * chunk_bytes {
                while !inflight.is_empty() {
                    if !drain_one(&mut inflight)? {
                        return Ok(());
                    }
                }
                let mut rest = std::io::Cursor::new(buf).chain(input);
                return format.parse_stream(&mut rest, skip, offset, emit);
            }
            continue;
        };
        let rest = buf.split_off(cut);
        let chunk = std::mem::replace(&mut buf, rest);
        let (f, s, base) = (format.clone(), std::mem::take(&mut skip), offset);
        offset += chunk.len() as u64;
        inflight.push_back(runtime.spawn_blocking(move || f.parse(&chunk, s, base)));
        if inflight.len() >= PARSERS && !drain_one(&mut inflight)? {
            return Ok(());
        }
    }
    while !inflight.is_empty() {
        if !drain_one(&mut inflight)? {
            break;
        }
    }
    Ok(())
}
