//! Local files for FILES(): object_store's `LocalFileSystem`, whose ranged reads (a Parquet
//! row group's column chunks) go into reused buffers.
//!
//! `LocalFileSystem::get_ranges` allocates a fresh buffer per range and zero-fills it before
//! reading into it. For a load that is a memset, a mapping of new pages and their faults for
//! every column chunk of every row group, and the mappings' churn made threads wait on the
//! process's memory-map lock. Here a range is read straight into the spare capacity of a
//! buffer from a small pool, and the buffer returns to the pool when the last `Bytes` slice of
//! it is dropped. Everything else is `LocalFileSystem`'s.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Ranges smaller than this are read into buffers of their own: pooling pays for the large
/// reads only.
const POOLED_MIN: usize = 1 << 20;
/// The pool keeps at most this many bytes of idle buffers.
const POOL_BYTES: usize = 64 << 20;

/// `LocalFileSystem` with pooled ranged reads.
#[derive(Debug)]
pub struct LocalFiles {
    inner: LocalFileSystem,
    pool: Arc<BufferPool>,
}

impl LocalFiles {
    /// Local files under `/`, as `LocalFileSystem::new()`.
    pub fn new() -> Self {
        Self {
            inner: LocalFileSystem::new(),
            pool: Arc::new(BufferPool::default()),
        }
    }
}

impl Default for LocalFiles {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for LocalFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.inner)
    }
}

#[async_trait]
impl ObjectStore for LocalFiles {
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
        let path = self.inner.path_to_filesystem(location)?;
        let (ranges, pool) = (ranges.to_vec(), self.pool.clone());
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

/// One range of an object, through `get_ranges` (which [`LocalFiles`] serves from its pool;
/// `get_range` goes through `get_opts`, which it leaves to `LocalFileSystem`).
pub(crate) async fn get_range(
    store: &dyn ObjectStore,
    location: &Path,
    range: Range<u64>,
) -> Result<Bytes> {
    let mut got = store.get_ranges(location, &[range]).await?;
    Ok(got.pop().unwrap_or_default())
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
    if buf.capacity() < POOLED_MIN {
        return Ok(Bytes::from(buf));
    }
    Ok(Bytes::from_owner(Pooled {
        buf,
        pool: pool.clone(),
    }))
}

/// Idle read buffers.
#[derive(Debug, Default)]
struct BufferPool {
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
struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ranges_read_into_reused_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(3 << 20)).map(|i| (i % 251) as u8).collect();
        let file = dir.path().join("f.bin");
        std::fs::write(&file, &data).unwrap();
        let store = LocalFiles::new();
        let path = Path::from_filesystem_path(&file).unwrap();
        let ranges = [0..10, 5..(2 << 20) + 5, (1 << 20)..(3 << 20)];
        for _ in 0..3 {
            let got = store.get_ranges(&path, &ranges).await.unwrap();
            for (r, b) in ranges.iter().zip(&got) {
                assert_eq!(&b[..], &data[r.start as usize..r.end as usize]);
            }
        }
        // The two large buffers came back and were reused, not piled up.
        assert_eq!(store.pool.idle.lock().unwrap().len(), 2);
        let err = get_range(&store, &path, (3 << 20) - 4..(3 << 20) + 4)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("the file ends at byte"), "{err}");
        let missing = Path::from(dir.path().join("nope").to_str().unwrap());
        let err = get_range(&store, &missing, 0..1).await.unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
    }
}
