//! A real S3-compatible server on a local directory: s3s-fs behind s3s, which checks SigV4
//! signatures, plus the region check AWS makes. The tests start it in-process; the benchmark
//! runs the binary, so Strata and the peers read from the same server.
//!
//! Buckets are the root's subdirectories and objects are plain files under them.

use std::io;
use std::path::Path;

use tokio::net::TcpListener;

/// The region the server is in. Like AWS (and MinIO with a region set), a request signed for
/// another region is refused with `AuthorizationHeaderMalformed`; s3s alone accepts any.
pub const REGION: &str = "us-east-1";

/// Serves the directory `root` on `listener` to clients holding the key pair `ak`/`sk`, from a
/// task spawned on the current tokio runtime.
pub fn spawn(root: &Path, ak: &str, sk: &str, listener: TcpListener) -> io::Result<()> {
    let fs =
        s3s_fs::FileSystem::new(root).map_err(|e| io::Error::other(format!("{root:?}: {e:?}")))?;
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(ak, sk));
    let service = b.build();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            // Small responses must not wait for delayed ACKs (as with any real server).
            let _ = sock.set_nodelay(true);
            let svc = service.clone();
            let svc = hyper::service::service_fn(move |req| {
                let svc = svc.clone();
                async move {
                    match wrong_region(&req) {
                        Some(refusal) => Ok(refusal),
                        None => hyper::service::Service::call(&svc, req).await,
                    }
                }
            });
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                .await;
            });
        }
    });
    Ok(())
}

fn wrong_region<B>(req: &hyper::Request<B>) -> Option<hyper::Response<s3s::Body>> {
    let auth = req.headers().get("authorization")?.to_str().ok()?;
    // `AWS4-HMAC-SHA256 Credential=AK/20261125/REGION/s3/aws4_request, ...`
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    let region = scope.split('/').nth(2)?;
    if region == REGION {
        return None;
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AuthorizationHeaderMalformed</Code>\
         <Message>The authorization header is malformed; the region '{region}' is wrong; \
         expecting '{REGION}'</Message><Region>{REGION}</Region></Error>"
    );
    hyper::Response::builder()
        .status(400)
        .header("content-type", "application/xml")
        .body(s3s::Body::from(body))
        .ok()
}
