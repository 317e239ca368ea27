//! HTTP: `GET /api/health` and `GET /metrics` (Prometheus text format).

use std::convert::Infallible;
use std::fmt::Write;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use strata_frontend::Frontend;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub(crate) async fn serve(
    listener: TcpListener,
    fe: Arc<Frontend>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let fe = fe.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(fe.clone(), req));
                    let _ = Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

fn respond(status: StatusCode, ctype: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = ctype.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

async fn handle(
    fe: Arc<Frontend>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    Ok(match (req.method().as_str(), path.as_str()) {
        ("GET", "/api/health") => match fe.catalog().list_databases() {
            Ok(_) => respond(
                StatusCode::OK,
                "application/json",
                r#"{"status":"OK","msg":"Success"}"#.into(),
            ),
            Err(e) => respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                format!(
                    r#"{{"status":"FAILED","msg":"{}"}}"#,
                    e.to_string().replace('"', "'")
                ),
            ),
        },
        ("GET", "/metrics") => match metrics(&fe) {
            Ok(text) => respond(StatusCode::OK, "text/plain; version=0.0.4", text),
            Err(e) => respond(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", e),
        },
        _ => respond(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    })
}

fn metrics(fe: &Frontend) -> Result<String, String> {
    let cat = fe.catalog();
    let dbs = cat.list_databases().map_err(|e| e.to_string())?;
    let tables = cat.table_count().map_err(|e| e.to_string())?;
    let loads = cat.load_totals().map_err(|e| e.to_string())?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP strata_up Whether the server is serving.\n# TYPE strata_up gauge\nstrata_up 1"
    );
    let _ = writeln!(
        out,
        "# HELP strata_databases Databases in the catalog.\n# TYPE strata_databases gauge\nstrata_databases {}",
        dbs.len()
    );
    let _ = writeln!(
        out,
        "# HELP strata_tables Tables in the catalog.\n# TYPE strata_tables gauge\nstrata_tables {}",
        tables
    );
    let _ = writeln!(
        out,
        "# HELP strata_loads Load jobs by state.\n# TYPE strata_loads gauge"
    );
    let of = |state: &str| loads.iter().find(|l| l.0 == state);
    for state in ["PENDING", "QUEUEING", "LOADING", "FINISHED", "CANCELLED"] {
        let n = of(state).map_or(0, |l| l.1);
        let _ = writeln!(out, "strata_loads{{state=\"{state}\"}} {n}");
    }
    let rows = of("FINISHED").map_or(0, |l| l.2);
    let filtered: u64 = loads.iter().map(|l| l.3).sum();
    let _ = writeln!(
        out,
        "# HELP strata_load_rows_total Rows committed by loads.\n# TYPE strata_load_rows_total counter\nstrata_load_rows_total {rows}"
    );
    let _ = writeln!(
        out,
        "# HELP strata_load_filtered_rows_total Rows rejected by loads.\n# TYPE strata_load_filtered_rows_total counter\nstrata_load_filtered_rows_total {filtered}"
    );
    pipe_metrics(fe, &mut out)?;
    Ok(out)
}

/// Per pipe: files by state, bytes loaded, backlog bytes, age of the oldest waiting file.
fn pipe_metrics(fe: &Frontend, out: &mut String) -> Result<(), String> {
    let cat = fe.catalog();
    let pipes = cat.list_pipes().map_err(|e| e.to_string())?;
    let _ = writeln!(
        out,
        "# HELP strata_pipe_files Files a pipe has seen, by state.\n# TYPE strata_pipe_files gauge"
    );
    let mut rest = Vec::new();
    for p in &pipes {
        let c = cat.pipe_counts(p.id).map_err(|e| e.to_string())?;
        let name = format!("{}.{}", p.db, p.name).replace(['"', '\\'], "_");
        for (state, n) in [
            ("UNLOADED", c.unloaded),
            ("LOADING", c.loading),
            ("FINISHED", c.finished),
            ("ERROR", c.error),
            ("SKIPPED", c.skipped),
        ] {
            let _ = writeln!(
                out,
                "strata_pipe_files{{pipe=\"{name}\",state=\"{state}\"}} {n}"
            );
        }
        rest.push((
            name,
            [
                p.loaded_bytes as i64,
                c.unloaded_bytes as i64,
                c.oldest_unloaded_age_s,
                p.failures,
            ],
        ));
    }
    let series = [
        (
            "strata_pipe_loaded_bytes_total",
            "counter",
            "Bytes of files a pipe has loaded.",
        ),
        (
            "strata_pipe_backlog_bytes",
            "gauge",
            "Bytes of files waiting to load.",
        ),
        (
            "strata_pipe_oldest_unloaded_seconds",
            "gauge",
            "Age of the oldest file waiting to load.",
        ),
        (
            "strata_pipe_failed_batches",
            "gauge",
            "Failed batch runs since the pipe last ran cleanly.",
        ),
    ];
    for (k, (metric, kind, help)) in series.iter().enumerate() {
        let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
        for (name, values) in &rest {
            let _ = writeln!(out, "{metric}{{pipe=\"{name}\"}} {}", values[k]);
        }
    }
    Ok(())
}
