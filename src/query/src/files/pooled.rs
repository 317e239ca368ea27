//! The stores FILES() reads through: object_store's `LocalFileSystem` and `AmazonS3`, whose
//! ranged reads (a Parquet row group's column chunks, an ORC stripe) go into reused buffers.
//!
//! Left to themselves, both allocate a fresh buffer per range: `LocalFileSystem` zero-fills it
//! before reading into it, and `AmazonS3` grows it as the response's chunks arrive. For a load
//! that is a mapping of new pages and their faults for every row group (and a memset for
//! local files), and the mappings' churn made threads wait on the process's memory-map lock.
//! Here a range is read straight into the spare capacity of a buffer from a small pool, and
//! the buffer returns to the pool when the last `Bytes` slice of it is dropped. Everything
//! else is the wrapped store's.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, OBJECT_STORE_COALESCE_DEFAULT,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    coalesce_ranges,
};

/// Ranges smaller than this are read into buffers of their own: pooling pays for the large
/// reads only.
const POOLED_MIN: usize = 1 << 20;
/// The pool keeps at most this many bytes of idle buffers (held by the process between loads).
const POOL_BYTES: usize = 64 << 20;

/// A store whose `get_ranges` reads into pooled buffers.
#[derive(Debug)]
pub struct Pooled<S> {
    inner: S,
    pool: Arc<BufferPool>,
}

/// Local files under `/`, as `LocalFileSystem::new()`.
pub type LocalFiles = Pooled<LocalFileSystem>;

impl<S> Pooled<S> {
    /// `inner`, reading into the process's pool: its buffers outlive a statement, so that
    /// each load (every FILES() call has a store of its own) does not map and fault in its
    /// stripe-sized buffers again.
    pub fn new(inner: S) -> Self {
        static SHARED: std::sync::LazyLock<Arc<BufferPool>> =
            std::sync::LazyLock::new(Arc::default);
        Self {
            inner,
            pool: Arc::clone(&SHARED),
        }
    }

    /// `inner` with a pool of its own, which tests can inspect.
    #[cfg(test)]
    fn with_own_pool(inner: S) -> Self {
        Self {
            inner,
            pool: Arc::new(BufferPool::default()),
        }
    }
}

impl LocalFiles {
    pub fn local() -> Self {
        Self::new(LocalFileSystem::new())
    }
}

impl<S: std::fmt::Display> std::fmt::Display for Pooled<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.inner)
    }
}

/// How a store reads ranges of an object into the pool's buffers.
#[async_trait]
pub trait ReadRanges: ObjectStore {
    async fn read_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
        pool: &Arc<BufferPool>,
    ) -> Result<Vec<Bytes>>;
}

#[async_trait]
impl ReadRanges for LocalFileSystem {
    async fn read_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
        pool: &Arc<BufferPool>,
    ) -> Result<Vec<Bytes>> {
        let path = self.path_to_filesystem(location)?;
        let (ranges, pool) = (ranges.to_vec(), pool.clone());
        let read = move || {
            let io = |source: std::io::Error| match source.kind() {
                std::io::ErrorKind::NotFound => object_store::Error::NotFound {
                    path: path.display().to_string(),
                    source: Box::new(source),
                },
                _ => object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: format!("cannot read {}: {source}", path.display()).into(),
                },
            };
            let mut file = File::open(&path).map_err(io)?;
            ranges
                .into_iter()
                .map(|r| read_range(&mut file, r, &pool).map_err(io))
                .collect()
        };
        tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "LocalFileSystem",
                source: Box::new(e),
            })?
    }
}

#[async_trait]
impl ReadRanges for AmazonS3 {
    /// Ranges closer than object_store's coalescing distance share one GET, as in
    /// `AmazonS3::get_ranges`; each response streams into a pooled buffer.
    async fn read_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
        pool: &Arc<BufferPool>,
    ) -> Result<Vec<Bytes>> {
        let fetch = |range: Range<u64>| async move {
            let len = (range.end - range.start) as usize;
            let mut got = 0;
            for _ in 0..SHORT_READ_TRIES {
                let options = GetOptions {
                    range: Some(range.clone().into()),
                    ..GetOptions::default()
                };
                let mut body = self.get_opts(location, options).await?.into_stream();
                let mut buf = pool.take(len);
                while let Some(chunk) = body.next().await {
                    buf.extend_from_slice(&chunk?);
                }
                if buf.len() == len {
                    return Ok(pool.bytes(buf));
                }
                got = buf.len();
            }
            Err(short_read(location, &range, got))
        };
        coalesce_ranges(ranges, fetch, OBJECT_STORE_COALESCE_DEFAULT).await
    }
}

#[async_trait]
impl<S: ReadRanges> ObjectStore for Pooled<S> {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.read_ranges(location, ranges, &self.pool).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// One range of an object, through `get_ranges` (which [`Pooled`] serves from its pool;
/// `get_range` goes through `get_opts`, which it leaves to the wrapped store).
pub(crate) async fn get_range(
    store: &dyn ObjectStore,
    location: &Path,
    range: Range<u64>,
) -> Result<Bytes> {
    let mut got = store.get_ranges(location, &[range]).await?;
    Ok(got.pop().unwrap_or_default())
}

/// How often a range whose body came back shorter than asked is asked for again.
pub(crate) const SHORT_READ_TRIES: usize = 3;

/// A body shorter than the range asked for, every time: a storage or network fault (a proxy
/// that cut the response), not a damaged file — the listing said how long the object is.
pub(crate) fn short_read(location: &Path, range: &Range<u64>, got: usize) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: format!(
            "{location}: storage returned {got} of the {} bytes asked for (bytes {}..{}), in \
             each of {SHORT_READ_TRIES} tries; the object was not read whole (a storage or \
             network fault, not a damaged file)",
            range.end - range.start,
            range.start,
            range.end
        )
        .into(),
    }
}

/// Reads exactly `range` of `location`, on condition that the object still has `e_tag` when
/// one is given; a shorter body is asked for again, up to [`SHORT_READ_TRIES`] times.
pub(crate) async fn get_exact(
    store: &dyn ObjectStore,
    location: &Path,
    range: Range<u64>,
    e_tag: Option<String>,
) -> Result<Bytes> {
    let len = (range.end - range.start) as usize;
    let mut got = 0;
    for _ in 0..SHORT_READ_TRIES {
        let options = GetOptions {
            range: Some(range.clone().into()),
            if_match: e_tag.clone(),
            ..GetOptions::default()
        };
        let bytes = store.get_opts(location, options).await?.bytes().await?;
        if bytes.len() == len {
            return Ok(bytes);
        }
        got = bytes.len();
    }
    Err(short_read(location, &range, got))
}

/// Reads `range` of `file`; a file shorter than the range is an error, as in
/// `LocalFileSystem`.
fn read_range(
    file: &mut File,
    range: Range<u64>,
    pool: &Arc<BufferPool>,
) -> std::io::Result<Bytes> {
    let len = range.end.saturating_sub(range.start) as usize;
    let mut buf = pool.take(len);
    file.seek(SeekFrom::Start(range.start))?;
    // `read_to_end` reads into the spare capacity without initialising it first.
    let read = file.take(len as u64).read_to_end(&mut buf)?;
    if read < len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "wanted bytes {}..{}, the file ends at byte {}",
                range.start,
                range.end,
                range.start + read as u64
            ),
        ));
    }
    Ok(pool.bytes(buf))
}

/// Idle read buffers.
#[derive(Debug, Default)]
pub struct BufferPool {
    idle: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// An empty buffer with room for `len` bytes: an idle one not more than twice as large,
    /// or a new one.
    fn take(&self, len: usize) -> Vec<u8> {
        if len >= POOLED_MIN {
            let mut idle = self.idle.lock().expect("buffer pool lock");
            let fit = idle
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len && b.capacity() <= 2 * len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            if let Some(i) = fit {
                return idle.swap_remove(i);
            }
        }
        Vec::with_capacity(len)
    }

    /// `buf` as `Bytes`, back to this pool once its last slice is dropped when it is large.
    fn bytes(self: &Arc<Self>, buf: Vec<u8>) -> Bytes {
        if buf.capacity() < POOLED_MIN {
            return Bytes::from(buf);
        }
        Bytes::from_owner(PooledBuf {
            buf,
            pool: self.clone(),
        })
    }

    /// Keeps `buf` for a later read while the pool holds under [`POOL_BYTES`]; the smallest
    /// idle buffers make room for a larger one.
    fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut idle = self.idle.lock().expect("buffer pool lock");
        idle.push(buf);
        idle.sort_unstable_by_key(|b| std::cmp::Reverse(b.capacity()));
        let mut total = 0;
        idle.retain(|b| {
            total += b.capacity();
            total <= POOL_BYTES
        });
    }
}

/// A pooled buffer behind `Bytes`; back to the pool when the last slice is dropped.
struct PooledBuf {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for PooledBuf {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `ranges` three times, checking the bytes; then `idle` buffers are back in the
    /// pool, reused rather than piled up.
    async fn reads_into_reused_buffers<S: ReadRanges>(
        store: &Pooled<S>,
        path: &Path,
        data: &[u8],
        ranges: &[Range<u64>],
        idle: usize,
    ) {
        for _ in 0..3 {
            let got = store.get_ranges(path, ranges).await.unwrap();
            for (r, b) in ranges.iter().zip(&got) {
                assert_eq!(&b[..], &data[r.start as usize..r.end as usize]);
            }
        }
        assert_eq!(store.pool.idle.lock().unwrap().len(), idle);
    }

    #[tokio::test]
    async fn ranges_read_into_reused_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(3 << 20)).map(|i| (i % 251) as u8).collect();
        let file = dir.path().join("f.bin");
        std::fs::write(&file, &data).unwrap();
        let store = Pooled::with_own_pool(LocalFileSystem::new());
        let path = Path::from_filesystem_path(&file).unwrap();
        let ranges = [0..10, 5..(2 << 20) + 5, (1 << 20)..(3 << 20)];
        // The two large buffers came back and were reused, not piled up.
        reads_into_reused_buffers(&store, &path, &data, &ranges, 2).await;
        let err = get_range(&store, &path, (3 << 20) - 4..(3 << 20) + 4)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("the file ends at byte"), "{err}");
        let missing = Path::from(dir.path().join("nope").to_str().unwrap());
        let err = get_range(&store, &missing, 0..1).await.unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
    }

    /// Stores made for different statements read into one pool, so buffers outlive them.
    #[test]
    fn stores_share_the_process_pool() {
        let (a, b) = (LocalFiles::local(), LocalFiles::local());
        assert!(Arc::ptr_eq(&a.pool, &b.pool));
        let own = Pooled::with_own_pool(LocalFileSystem::new());
        assert!(!Arc::ptr_eq(&a.pool, &own.pool));
    }

    #[tokio::test]
    async fn s3_ranges_stream_into_reused_buffers() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("pooled")).unwrap();
        let data: Vec<u8> = (0..(7 << 20)).map(|i| (i % 251) as u8).collect();
        std::fs::write(root.path().join("pooled/f.bin"), &data).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        strata_s3_server::spawn(
            root.path(),
            "AKIAPOOLEDTEST000001",
            "pooled/secret",
            listener,
        )
        .unwrap();
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_region(strata_s3_server::REGION)
            .with_bucket_name("pooled")
            .with_access_key_id("AKIAPOOLEDTEST000001")
            .with_secret_access_key("pooled/secret")
            .build()
            .unwrap();
        let store = Pooled::with_own_pool(s3);
        let path = Path::from("f.bin");
        // The first two overlap and share one GET; the third is far enough for a GET of its own.
        let ranges = [0..10, 5..(2 << 20) + 5, (5 << 20)..(7 << 20)];
        reads_into_reused_buffers(&store, &path, &data, &ranges, 2).await;
        let err = get_range(&store, &path, (7 << 20) - 4..(7 << 20) + 4)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("storage returned 4 of the 8 bytes"),
            "{err}"
        );
        let err = get_range(&store, &Path::from("nope"), 0..1)
            .await
            .unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
    }
}
