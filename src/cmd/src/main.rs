//! `strata`: MySQL on 127.0.0.1:9030, HTTP on 127.0.0.1:8030, data in ./strata-data.

use std::io::IsTerminal;

use clap::Parser;
use strata::{Config, Server};

use tracing_subscriber::EnvFilter;

// Before logging is set up, the terminal is the only place to report a bad configuration.
#[allow(clippy::print_stderr)]
fn main() -> std::process::ExitCode {
    if let Some(missing) = missing_cpu_features() {
        eprintln!(
            "strata: this build needs an x86-64-v3 CPU, and this one lacks {missing}; \
             rebuild for any x86-64 CPU with RUSTFLAGS=\"-C target-cpu=x86-64\" (see .cargo/config.toml)"
        );
        return std::process::ExitCode::from(2);
    }
    tune_malloc();
    private_files();
    let args = strata::Args::parse();
    let config = match Config::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("strata: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(&config.log))
        // Colour codes only on a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strata: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let server = match Server::start(&config).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("{e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        wait_for_signal().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        std::process::ExitCode::SUCCESS
    })
}

/// The instruction-set extensions this binary was compiled to use (`.cargo/config.toml`) that
/// the CPU it runs on does not have, so that an old CPU gets a message instead of SIGILL in the
/// middle of a load.
fn missing_cpu_features() -> Option<String> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut missing = Vec::new();
        macro_rules! need {
            ($($f:tt),*) => {$(
                if cfg!(target_feature = $f) && !std::arch::is_x86_feature_detected!($f) {
                    missing.push($f);
                }
            )*};
        }
        need!(
            "avx", "avx2", "bmi1", "bmi2", "fma", "lzcnt", "movbe", "f16c"
        );
        if !missing.is_empty() {
            return Some(missing.join(", "));
        }
    }
    None
}

/// Every file the server creates (segments, the catalog) is its owner's alone, whatever umask
/// it was started with.
#[allow(unsafe_code)]
fn private_files() {
    // SAFETY: umask only sets this process's file-creation mask; no other thread runs yet.
    unsafe {
        libc::umask(0o077);
    }
}

/// Settings of glibc's allocator, of two kinds, each unless its environment variable sets it.
///
/// - **Arenas.** glibc gives threads that allocate at the same time arenas of their own, up
///   to eight per core, and each arena keeps what it frees. A server that runs loads of every
///   format, from files and from S3, on changing threads then holds the peak of each arena at
///   once: a benchmark run grew to 1.2 GB although no single load or query passed 600 MB.
///   With one arena per core (`MALLOC_ARENA_MAX`) the same run peaks at 0.7 GB, no slower.
/// - **Giving memory back.** By default an arena returns the free memory at its top to the
///   kernel once it passes 128 KB or so, and blocks over 128 KB are mapped and unmapped on
///   their own (glibc raises that threshold as such blocks are freed, up to 32 MB): a load's
///   batches then fault in fresh pages all the time (7% of an ORC load's CPU samples were in
///   page faults, in `perf`). Here blocks up to 32 MB come from the arenas, and an arena
///   keeps up to 512 MB free at its top (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`,
///   `MALLOC_TOP_PAD_`). A server's memory then stays at the peak of its loads and queries
///   instead of shrinking between them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_malloc() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    let settings = [
        ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, arenas),
        ("MALLOC_TRIM_THRESHOLD_", libc::M_TRIM_THRESHOLD, 512 << 20),
        ("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 32 << 20),
        ("MALLOC_TOP_PAD_", libc::M_TOP_PAD, 64 << 20),
    ];
    for (var, param, value) in settings {
        if std::env::var_os(var).is_some() {
            continue;
        }
        // SAFETY: `mallopt` only changes a tunable of the C allocator, which is thread-safe;
        // it is called first thing in `main`, before any thread of ours exists.
        unsafe {
            libc::mallopt(param, value);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The log filter `--log` asks for, but never sqlparser's token trace below `warn`: it prints
/// statements token by token, passwords and secret keys included.
fn log_filter(spec: &str) -> EnvFilter {
    let base = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    match "sqlparser=warn".parse() {
        Ok(directive) => base.add_directive(directive),
        Err(_) => base,
    }
}
