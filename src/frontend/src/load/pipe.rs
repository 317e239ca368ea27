//! Pipes at run time: one driver per RUNNING pipe lists its path, records new file versions
//! in the pipe's ledger and loads them batch by batch, each batch an INSERT job whose commit
//! also marks its files FINISHED.
//!
//! A failing batch is split in halves and each half run again, down to the single file at
//! fault: good files load, and only the bad file ends ERROR, with its own error (StarRocks
//! fails the whole batch and copies one message to every file). A failure that is not a
//! file's (the storage, the catalog) leaves the files waiting and counts against the pipe.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use strata_catalog::{ListedPipeFile, PipeBatch, PipeFile, PipeMeta, now_string};
use strata_common::{ErrorExt, Session, StatusCode};
use strata_query::files::FilesSource;
use strata_sql::{Insert, InsertTarget, Statement};
use tokio_util::sync::CancellationToken;

use super::{Job, LoadSpec, Target};
use crate::{Frontend, FrontendError, Result, insert};

/// Failed runs (for reasons that are not a file's) after which the pipe goes to ERROR.
const MAX_PIPE_FAILURES: i64 = 5;

/// Files recorded per catalog transaction while a listing goes on...
const LISTING_PAGE: usize = 1000;

/// ...or after this long, whichever comes first.
const PAGE_WAIT: Duration = Duration::from_millis(200);

/// A pipe's properties, checked when it is created or altered.
#[derive(Debug, Clone)]
pub(crate) struct PipeOptions {
    pub auto_ingest: bool,
    pub poll_interval_s: u64,
    pub batch_size: u64,
    pub batch_files: usize,
    /// `task.<session variable>` settings, for every batch.
    pub task_vars: Vec<(String, String)>,
}

fn bad(msg: impl Into<String>) -> FrontendError {
    FrontendError::new(StatusCode::InvalidArguments, msg)
}

/// A whole number in [1, 1024], as POLL_INTERVAL and BATCH_FILES take.
fn in_1_1024(key: &str, v: &str) -> Result<u64> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .ok_or_else(|| bad(format!("Invalid parameter {key} should in [1, 1024]")))
}

/// `1GB`, `512MB`, `100KB`, `1024` (bytes).
fn data_volume(v: &str) -> Option<i64> {
    let t = v.trim().to_ascii_uppercase();
    let (num, mult) = [
        ("TB", 1i64 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
        ("B", 1),
    ]
    .iter()
    .find_map(|(s, m)| t.strip_suffix(s).map(|n| (n.trim().to_string(), *m)))
    .unwrap_or((t.clone(), 1));
    num.parse::<i64>().ok().map(|n| n.saturating_mul(mult))
}

impl PipeOptions {
    pub(crate) fn parse(fe: &Frontend, props: &[(String, String)]) -> Result<Self> {
        let interval = crate::admin::config_value(fe, "pipe_default_poll_interval_s")?
            .parse()
            .unwrap_or(300);
        let mut o = PipeOptions {
            auto_ingest: true,
            poll_interval_s: interval,
            batch_size: 1 << 30,
            batch_files: 256,
            task_vars: Vec::new(),
        };
        for (k, v) in props {
            let key = k.to_ascii_lowercase();
            match key.as_str() {
                "auto_ingest" => {
                    o.auto_ingest = match v.to_ascii_lowercase().as_str() {
                        "true" | "on" | "1" => true,
                        "false" | "off" | "0" => false,
                        _ => return Err(bad(format!("Invalid parameter auto_ingest: '{v}'"))),
                    }
                }
                "poll_interval" => o.poll_interval_s = in_1_1024("poll_interval", v)?,
                "batch_size" => {
                    o.batch_size = data_volume(v).filter(|n| *n > 0).ok_or_else(|| {
                        bad("Invalid parameter batch_size should be greater than 0")
                    })? as u64
                }
                "batch_files" => o.batch_files = in_1_1024("batch_files", v)? as usize,
                "warehouse" => {
                    return Err(FrontendError::new(
                        StatusCode::Unsupported,
                        "warehouse is not supported: Strata is one node (shared-nothing)",
                    ));
                }
                _ => {
                    let var = key.strip_prefix("task.").unwrap_or_default();
                    if var.is_empty() || Session::new(0, "").vars.get(var).is_none() {
                        return Err(bad(format!("Unknown property {k}")));
                    }
                    crate::admin::validate_variable(var, v)?;
                    o.task_vars.push((var.to_string(), v.clone()));
                }
            }
        }
        Ok(o)
    }
}

/// The pipe's INSERT, and the properties of its one FILES() call.
/// The pipe's INSERT with its credentials (unsealed).
fn pipe_statement(fe: &Frontend, pipe: &PipeMeta) -> Result<String> {
    fe.sealer.statement(&pipe.sql, pipe.sealed_sql.as_deref())
}

pub(crate) fn pipe_insert(sql: &str) -> Result<(Insert, Vec<(String, String)>)> {
    let bad_stmt = |why: &str| {
        FrontendError::new(
            StatusCode::InvalidArguments,
            format!("Bad pipe statement: '{why}'"),
        )
    };
    let ins = match strata_sql::parse_sql(sql)?.as_slice() {
        [Statement::Insert(i)] => (**i).clone(),
        _ => {
            return Err(bad_stmt(
                "must be an INSERT INTO ... SELECT ... FROM FILES(...)",
            ));
        }
    };
    if ins.label.is_some() {
        return Err(bad_stmt("INSERT INTO cannot with label"));
    }
    if ins.overwrite {
        return Err(bad_stmt("INSERT INTO cannot be OVERWRITE"));
    }
    if !matches!(ins.target, InsertTarget::Table(_)) {
        return Err(bad_stmt("the target must be a table"));
    }
    use strata_sql::sqlparser::ast::{SetExpr, TableFactor};
    let q = &ins.source;
    let SetExpr::Select(select) = q.body.as_ref() else {
        return Err(bad_stmt("must be select statement"));
    };
    let vanilla = q.order_by.is_none()
        && q.limit_clause.is_none()
        && q.with.is_none()
        && select.having.is_none()
        && select.distinct.is_none()
        && matches!(&select.group_by, strata_sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    if !vanilla {
        return Err(bad_stmt("must be a vanilla select statement"));
    }
    let from_files = select.from.len() == 1
        && select.from[0].joins.is_empty()
        && matches!(&select.from[0].relation, TableFactor::Table { name, args: Some(_), .. }
            if name.to_string().eq_ignore_ascii_case("files"));
    if !from_files {
        return Err(bad_stmt("only support FileTableFunction"));
    }
    let mut stmt = strata_sql::sqlparser::ast::Statement::Query(ins.source.clone());
    let calls = strata_sql::take_files_calls(&mut stmt)?;
    let [call] = calls.as_slice() else {
        return Err(bad_stmt("only support FileTableFunction"));
    };
    Ok((ins, call.properties.clone()))
}

/// The statement with every credential value masked, as views and DESC PIPE show it.
pub(crate) fn masked(sql: &str) -> String {
    strata_sql::mask_credentials(sql)
}

/// Runs pipe `id` until it is no longer RUNNING, it is dropped, or `stop` (SUSPEND, DROP,
/// shutdown) is cancelled.
pub(crate) async fn drive(fe: Arc<Frontend>, id: i64, stop: CancellationToken) {
    let mut poll: Option<AbortOnDrop> = None;
    loop {
        if stop.is_cancelled() {
            break;
        }
        let Ok(Some(pipe)) = fe.catalog.pipe(id) else {
            break;
        };
        if pipe.state != "RUNNING" {
            break;
        }
        let opts = match PipeOptions::parse(&fe, &pipe.properties) {
            Ok(o) => o,
            Err(e) => {
                let _ = fe.catalog.set_pipe_state(
                    id,
                    "ERROR",
                    Some((e.to_string().as_str(), now_string().as_str())),
                );
                break;
            }
        };
        let counts = match fe.catalog.pipe_counts(id) {
            Ok(c) => c,
            Err(_) => break,
        };
        let polling = poll.as_ref().is_some_and(|p| !p.0.is_finished());
        let now = chrono::Utc::now().timestamp();
        let due = now >= pipe.last_poll.saturating_add(opts.poll_interval_s as i64);
        let may_list = opts.auto_ingest || !pipe.listed_once;
        // A backlog suppresses listing; so does a listing already going on.
        if !polling && counts.unloaded == 0 && may_list && due {
            let (fe2, pipe2, stop2) = (fe.clone(), pipe.clone(), stop.clone());
            let once = !opts.auto_ingest;
            poll = Some(AbortOnDrop(tokio::spawn(async move {
                list_into_ledger(&fe2, &pipe2, once, &stop2).await;
            })));
            // Let the first page land before looking for a batch.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let batch = fe
            .catalog
            .next_batch(id, opts.batch_files, opts.batch_size)
            .unwrap_or_default();
        if batch.is_empty() {
            if !polling && !opts.auto_ingest && pipe.listed_once && counts.loading == 0 {
                // AUTO_INGEST = FALSE: what was there is done.
                let res = if counts.error > 0 {
                    fe.catalog.set_pipe_state(
                        id,
                        "ERROR",
                        Some(("leave some unfinished files", now_string().as_str())),
                    )
                } else {
                    fe.catalog.set_pipe_state(id, "FINISHED", None)
                };
                if let Err(e) = res {
                    tracing::warn!(pipe = id, error = %e, "could not end a pipe");
                }
                break;
            }
            let wait = if polling {
                Duration::from_millis(50)
            } else {
                let next = pipe.last_poll.saturating_add(opts.poll_interval_s as i64) - now;
                Duration::from_secs(next.clamp(0, 1) as u64).max(Duration::from_millis(200))
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => break,
            }
            continue;
        }
        run_files(&fe, &pipe, &opts, batch, &stop).await;
    }
    drop(poll);
}

/// A spawned listing, stopped when its driver ends however it ends (shutdown aborts the
/// driver; the listing must not write to the catalog after the data directory is released).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One listing of the pipe's path, recorded page by page (new file versions only).
async fn list_into_ledger(fe: &Frontend, pipe: &PipeMeta, once: bool, stop: &CancellationToken) {
    let opened = pipe_statement(fe, pipe)
        .and_then(|sql| pipe_insert(&sql))
        .and_then(|(_, p)| fe.access.check(&p).map(|()| p))
        .and_then(|p| Ok((FilesSource::list_stream(&p)?, p)));
    let (mut stream, props) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            record_error(fe, pipe.id, &format!("poll from source failed: {e}"), false);
            let _ = fe
                .catalog
                .pipe_polled(pipe.id, chrono::Utc::now().timestamp(), false);
            return;
        }
    };
    let mut page = Vec::with_capacity(LISTING_PAGE);
    let mut page_started = std::time::Instant::now();
    let mut failed = None;
    let mut recorded: strata_catalog::Result<()> = Ok(());
    loop {
        let next = tokio::select! {
            n = stream.next() => n,
            () = stop.cancelled() => return,
        };
        match next {
            Some(Ok(f)) => {
                let version = tokio::select! {
                    v = version_of(fe, pipe.id, &props, &f) => v,
                    () = stop.cancelled() => return,
                };
                let version = match version {
                    Ok(v) => v,
                    // Deleted between the listing and its HEAD: nothing to load.
                    Err(e) if e.status_code() == StatusCode::FileNotFound => continue,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                };
                page.push(ListedPipeFile {
                    name: f.name.clone(),
                    version,
                    size: f.size,
                    last_modified: f.modified(),
                });
                // A page is recorded when full, or a moment after its first file: loading
                // starts early, and a restart does not list a long prefix from scratch.
                if page.len() >= LISTING_PAGE || page_started.elapsed() >= PAGE_WAIT {
                    if let Err(e) = fe.catalog.record_listed(pipe.id, &page, &now_string()) {
                        recorded = Err(e);
                        break;
                    }
                    page.clear();
                    page_started = std::time::Instant::now();
                }
            }
            Some(Err(e)) => {
                failed = Some(e);
                break;
            }
            None => break,
        }
    }
    if !page.is_empty() && recorded.is_ok() {
        recorded = fe
            .catalog
            .record_listed(pipe.id, &page, &now_string())
            .map(|_| ());
    }
    if let Err(e) = &recorded {
        // Files not recorded are not loaded: this listing did not complete.
        record_error(fe, pipe.id, &format!("poll from source failed: {e}"), false);
    }
    let ok = recorded.is_ok()
        && match &failed {
            // No file yet is not an error: the pipe waits for files.
            Some(e) if e.status_code() == StatusCode::FileNotFound => true,
            Some(e) => {
                record_error(fe, pipe.id, &format!("poll from source failed: {e}"), false);
                false
            }
            None => true,
        };
    let _ = fe
        .catalog
        .pipe_polled(pipe.id, chrono::Utc::now().timestamp(), once && ok);
}

/// A listed file's version: its ETag as listed; where the store's listing has none, the
/// version the ledger already holds for the same name, size and modification time, else the
/// ETag a HEAD request returns. So a poll of an unchanged folder costs only its LIST
/// requests whatever the store.
async fn version_of(
    fe: &Frontend,
    pipe_id: i64,
    props: &[(String, String)],
    f: &strata_query::files::ListedFile,
) -> std::result::Result<String, strata_query::files::FilesError> {
    if let Some(v) = f.etag() {
        return Ok(v);
    }
    if let Ok(Some(v)) =
        fe.catalog
            .pipe_file_version(pipe_id, &f.name, f.size, f.modified().as_deref())
    {
        return Ok(v);
    }
    FilesSource::head_version(props, f).await
}

fn record_error(fe: &Frontend, id: i64, msg: &str, count: bool) -> i64 {
    match fe.catalog.pipe_failed(id, msg, &now_string(), count) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(pipe = id, error = %e, "could not record a pipe error");
            0
        }
    }
}

/// Whether an error of a batch is its files' fault (so splitting the batch finds the file):
/// their data, format or schema, a row the table rejects, a batch too big for its timeout. The
/// storage failing, the catalog, the table gone and privileges are not.
fn is_file_fault(code: StatusCode) -> bool {
    !matches!(
        code,
        StatusCode::StorageAccessFailed
            | StatusCode::Internal
            | StatusCode::TableNotFound
            | StatusCode::DatabaseNotFound
            | StatusCode::AccessDenied
            | StatusCode::PermissionDenied
    )
}

/// Loads `files` as one batch; on failure, splits them down to the file at fault.
async fn run_files(
    fe: &Arc<Frontend>,
    pipe: &PipeMeta,
    opts: &PipeOptions,
    files: Vec<PipeFile>,
    stop: &CancellationToken,
) {
    // Depth-first over halves, in file order.
    let mut work: Vec<Vec<PipeFile>> = vec![files];
    let give_back = |work: &mut Vec<Vec<PipeFile>>, files: &[PipeFile]| {
        let _ = fe.catalog.unload_files(pipe.id, files);
        for rest in work.drain(..) {
            let _ = fe.catalog.unload_files(pipe.id, &rest);
        }
    };
    while let Some(files) = work.pop() {
        if stop.is_cancelled() {
            give_back(&mut work, &files);
            return;
        }
        let e = match run_batch(fe, pipe, opts, &files, stop).await {
            Ok(()) => continue,
            Err(e) => e,
        };
        let code = e.status_code();
        let msg = e.to_string();
        if stop.is_cancelled() {
            tracing::debug!(pipe = pipe.id, error = %msg, "pipe batch stopped");
            give_back(&mut work, &files);
            return;
        }
        if matches!(
            code,
            StatusCode::TableNotFound | StatusCode::DatabaseNotFound | StatusCode::PermissionDenied
        ) {
            // The pipe stops until its table is back, or its owner may insert again (RESUME);
            // the files wait.
            give_back(&mut work, &files);
            let now = now_string();
            let _ = fe
                .catalog
                .set_pipe_state(pipe.id, "ERROR", Some((msg.as_str(), now.as_str())));
            return;
        }
        if !is_file_fault(code) {
            // The storage, the catalog: the files wait again, the pipe counts a failure and
            // backs off, and after too many goes to ERROR.
            let failures = record_error(fe, pipe.id, &msg, true);
            give_back(&mut work, &files);
            if failures > MAX_PIPE_FAILURES {
                let now = now_string();
                let _ =
                    fe.catalog
                        .set_pipe_state(pipe.id, "ERROR", Some((msg.as_str(), now.as_str())));
                return;
            }
            let backoff = Duration::from_millis(500u64 << failures.clamp(0, 5));
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stop.cancelled() => {}
            }
            return;
        }
        // A file's fault: narrow it down to the file.
        record_error(fe, pipe.id, &msg, false);
        if files.len() > 1 {
            let mut first = files;
            let second = first.split_off(first.len() / 2);
            let _ = fe.catalog.unload_files(pipe.id, &second);
            work.push(second);
            work.push(first);
        } else {
            // The message names the file, whatever failed.
            let msg = match files.first() {
                Some(f) if !msg.contains(&f.name) => format!("{}: {msg}", f.name),
                _ => msg,
            };
            let _ = fe.catalog.fail_files(pipe.id, &files, &msg);
        }
    }
}

/// One batch: an INSERT job over exactly `files`, labelled `pipe-<name>-task-<id>-<retry>`,
/// whose commit marks them FINISHED.
async fn run_batch(
    fe: &Arc<Frontend>,
    pipe: &PipeMeta,
    opts: &PipeOptions,
    files: &[PipeFile],
    stop: &CancellationToken,
) -> Result<()> {
    let task = fe.catalog.next_id("pipe_task")?;
    // Each run is a task of its own (a split half is new work, not a retry): retry 0.
    let label = format!("pipe-{}-task-{task}-0", pipe.name);
    fe.catalog
        .start_batch(pipe.id, files, &label, &now_string())?;
    let (ins, props) = pipe_insert(&pipe_statement(fe, pipe)?)?;
    fe.access.check(&props)?;
    let InsertTarget::Table(name) = &ins.target else {
        unreachable!("pipe_insert checks the target")
    };
    let db = name.db.clone().unwrap_or_else(|| pipe.db.clone());
    // Each batch runs as the pipe's creator, with what that user holds now.
    crate::privilege::check_owner_inserts(fe, &pipe.owner, &db, &[name.table.as_str()])?;
    let table = fe.catalog.get_table(&db, &name.table)?.ok_or_else(|| {
        FrontendError::from(strata_catalog::CatalogError::UnknownTable {
            db: db.clone(),
            table: name.table.clone(),
        })
    })?;
    let mut listed = Vec::with_capacity(files.len());
    for f in files {
        listed.push(FilesSource::listed_file(
            &props, &f.name, f.size, &f.version,
        )?);
    }
    let source = Arc::new(FilesSource::resolve_listed(&props, listed, None).await?);
    let mut session = Session::new(0, pipe.owner.clone());
    session.database = Some(pipe.db.clone());
    for (k, v) in &opts.task_vars {
        session.vars.set(k, v.clone());
    }
    let lo = insert::load_options(&session, &[])?;
    let spec = LoadSpec {
        label: label.clone(),
        target: Target::Existing(table.clone()),
        overwrite: false,
        strict: lo.strict,
        max_filter_ratio: lo.max_filter_ratio,
        timeout_s: lo.timeout_s,
        load_type: "INSERT",
        sql: pipe.sql.clone(),
        cancel: stop.child_token(),
    };
    let mut job = Job::begin(fe, spec)?;
    job.set_pipe_batch(PipeBatch {
        pipe_id: pipe.id,
        files: files
            .iter()
            .map(|f| (f.name.clone(), f.version.clone()))
            .collect(),
        bytes: files.iter().map(|f| f.size).sum(),
        label,
    });
    let prepared = insert::plan_load(fe, &session, &ins, &table, lo.strict, vec![source]).await;
    let (planned, converter) = match prepared {
        Ok(p) => p,
        Err(e) => return Err(job.fail(e)),
    };
    insert::execute(job, planned, converter).await.map(|_| ())
}
