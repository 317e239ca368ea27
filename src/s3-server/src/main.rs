//! `strata-s3-server --root DIR --access-key AK --secret-key SK [--port P]`: serves DIR (one
//! bucket per subdirectory) on 127.0.0.1 and prints `http://127.0.0.1:PORT` once it listens.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Directory whose subdirectories are the buckets.
    #[arg(long)]
    root: PathBuf,
    #[arg(long)]
    access_key: String,
    #[arg(long)]
    secret_key: String,
    /// 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let port = listener.local_addr()?.port();
    strata_s3_server::spawn(&args.root, &args.access_key, &args.secret_key, listener)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://127.0.0.1:{port}")?;
    out.flush()?;
    drop(out);
    std::future::pending().await
}
