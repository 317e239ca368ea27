//! The server's brain: sessions, statement dispatch, DDL, queries and the load path.
//!
//! Implements the protocol's [`QueryHandler`]; the protocol layer never sees a table.

mod account_stmt;
mod admin;
mod background;
mod compaction;
mod ddl;
mod dir_lock;
mod error;
mod executor;
mod files_access;
mod gc;
mod insert;
pub mod load;
mod login;
mod pipe_stmt;
mod prepared;
mod privilege;
mod query;
mod resolve;
mod runner;
mod secrets;
mod show;
mod show_meta;
mod unload;
mod view_stmt;

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use strata_catalog::Catalog;
use strata_common::{BoxedError, Session};
use strata_protocol_mysql::{Credential, Output, QueryHandler};
use strata_query::{LiveLoads, Processes, QueryEngine};
use strata_storage::DataStore;

pub use compaction::{CompactionPolicy, compact_once};
pub use error::{FrontendError, Result};
pub use gc::collect_garbage;

/// How a server is set up (beyond its data directory).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Bytes all running statements may hold at once; `None`: 80% of the machine's memory.
    pub mem_limit: Option<usize>,
    /// Directories `file://` paths may read from; none: `file://` is refused.
    pub allow_local_paths: Vec<std::path::PathBuf>,
    /// root's password, set when root has none yet (the first start).
    pub root_password: Option<String>,
    /// The key that seals stored credentials; `None`: `<data dir>/secrets.key`.
    pub secrets_key_file: Option<std::path::PathBuf>,
    /// The server's fault points (`strata_common::fault`; armed only in test builds).
    pub faults: strata_common::fault::Faults,
}

/// Shared server state.
pub struct Frontend {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) store: DataStore,
    pub(crate) engine: QueryEngine,
    pub(crate) live: LiveLoads,
    pub(crate) processes: Processes,
    /// Broker Load jobs: the queue and the running ones.
    pub(crate) jobs: load::scheduler::Scheduler,
    /// Every background task (the scheduler and its jobs, compaction, GC).
    pub(crate) background: background::Background,
    /// What FILES() paths and endpoints may reach.
    pub(crate) access: files_access::Access,
    /// Failed logins per account, for locking an account after too many.
    pub(crate) logins: login::Logins,
    /// Seals the credentials of statements that run again later (jobs, pipes).
    pub(crate) sealer: secrets::Sealer,
    faults: strata_common::fault::Faults,
    /// Set when shutdown begins: statements that arrive after it are refused.
    closing: std::sync::atomic::AtomicBool,
    /// When the server started (SHOW STATUS' Uptime).
    pub(crate) started: std::time::Instant,
    lock: dir_lock::DirLock,
}

impl Frontend {
    /// Opens the data directory with the default [`Options`].
    pub async fn open(data_dir: &Path) -> Result<Arc<Self>> {
        Self::open_with(data_dir, Options::default()).await
    }

    /// Opens the data directory: catalog, table data, and a clean-up of whatever an earlier
    /// crash left behind (interrupted loads, unreferenced files).
    pub async fn open_with(data_dir: &Path, options: Options) -> Result<Arc<Self>> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            FrontendError::new(
                strata_common::StatusCode::Internal,
                format!("cannot create data directory {}: {e}", data_dir.display()),
            )
        })?;
        // Before anything reads or repairs the directory: start-up clean-up run against a live
        // server's directory would cancel its loads and delete the segments they are writing.
        let lock = dir_lock::DirLock::acquire(data_dir)?;
        // The directory holds every table's data and the catalog (with the credentials pipes
        // and jobs run with): its owner's alone, whatever the umask.
        owner_only(data_dir, 0o700)?;
        let catalog =
            Arc::new(Catalog::open(&data_dir.join("meta.db"))?.with_faults(options.faults.clone()));
        for f in ["meta.db", "meta.db-wal", "meta.db-shm"] {
            let p = data_dir.join(f);
            if p.exists() {
                owner_only(&p, 0o600)?;
            }
        }
        let key_file = options
            .secrets_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("secrets.key"));
        let sealer = secrets::Sealer::open_or_create(&key_file)?;
        secrets::seal_stored(&catalog, &sealer)?;
        let store = DataStore::open(&data_dir.join("data"))?.with_faults(options.faults.clone());
        let mem_limit = options
            .mem_limit
            .unwrap_or_else(strata_query::ServerMemory::default_limit);
        let engine = QueryEngine::new(&store, mem_limit)?;
        let fe = Arc::new(Self {
            catalog,
            store,
            engine,
            live: LiveLoads::default(),
            processes: Processes::default(),
            jobs: Default::default(),
            background: Default::default(),
            access: files_access::Access::new(&options.allow_local_paths),
            logins: Default::default(),
            sealer,
            faults: options.faults.clone(),
            closing: Default::default(),
            started: std::time::Instant::now(),
            lock,
        });
        if let Some(pw) = &options.root_password {
            login::set_initial_root_password(&fe.catalog, &fe.sealer, pw)?;
        }
        let n = fe
            .catalog
            .cancel_interrupted_loads(&strata_catalog::now_string())?;
        if n > 0 {
            tracing::warn!(
                jobs = n,
                "loads interrupted by the last shutdown were cancelled"
            );
        }
        // Garbage only costs space: a start-up whose clean-up fails serves anyway, and the
        // next start (or the periodic GC) tries again.
        if let Err(e) = gc::collect_garbage(&fe.catalog, &fe.store, true).await {
            tracing::warn!(error = %e, "start-up garbage collection failed; it runs again later");
        }
        load::scheduler::purge_history(&fe);
        // Pipe batches a crash interrupted load again (a committed batch marked its files).
        let n = fe.catalog.recover_pipe_files()?;
        if n > 0 {
            tracing::info!(
                files = n,
                "pipe files of interrupted batches will load again"
            );
        }
        let stop = fe.background.stopping();
        fe.background.spawn(
            "compaction",
            compaction::run(Arc::downgrade(&fe), stop.clone()),
        );
        // Broker jobs left PENDING, QUEUEING or LOADING resume from here.
        fe.background.spawn(
            "load scheduler",
            load::scheduler::run(Arc::downgrade(&fe), stop),
        );
        Ok(fe)
    }

    /// Releases the data directory for another server; called once this one has stopped
    /// serving. Running statements are cancelled (a load then ends CANCELLED and deletes what
    /// it wrote) and waited for, up to `wait`, so that the next server's start-up repair cannot
    /// meet their files.
    pub async fn release_data_dir(&self, wait: std::time::Duration) {
        // Connections stay open until their clients leave, but get no new statement: without
        // this, busy clients kept the wait below from ever seeing no statement running.
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // Broker jobs stop where they are (their finished steps stay staged) and resume at
        // the next start; compaction and GC stop between steps.
        self.background.shutdown(wait).await;
        self.processes.cancel_all();
        let deadline = tokio::time::Instant::now() + wait;
        while self.processes.running() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.lock.release();
    }

    /// What `information_schema` is made from, as the session's user sees it.
    pub(crate) fn info_sources<'a>(
        &'a self,
        session: &'a Session,
    ) -> Result<strata_query::info_schema::Sources<'a>> {
        Ok(strata_query::info_schema::Sources {
            catalog: &self.catalog,
            live: &self.live,
            processes: &self.processes,
            user: &session.user,
            visible: privilege::visibility(self, session)?,
        })
    }

    /// The catalog (tests and tools).
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The table data store (tests and tools).
    pub fn store(&self) -> &DataStore {
        &self.store
    }

    /// The server's fault points (tests arm them; `strata_common::fault`).
    pub fn faults(&self) -> &strata_common::fault::Faults {
        &self.faults
    }

    /// Runs one script for a session; used by the protocol and by tests.
    pub async fn run(&self, session: &mut Session, sql: &str) -> Vec<Result<Output>> {
        executor::run_script(self, session, sql).await
    }
}

/// Sets `path`'s permission bits to `mode` (Unix).
fn owner_only(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            FrontendError::new(
                strata_common::StatusCode::Internal,
                format!("cannot restrict {} to its owner: {e}", path.display()),
            )
        })?;
    }
    let _ = (path, mode);
    Ok(())
}

#[async_trait]
impl QueryHandler for Frontend {
    fn login(
        &self,
        session: &mut Session,
        verify: &(dyn Fn(&Credential) -> bool + Send + Sync),
    ) -> std::result::Result<(), strata_protocol_mysql::LoginError> {
        login::login(self, session, verify)
    }

    /// Runs the script on the statement runtime ([`runner`]): deep stacks, and the protocol's
    /// threads stay free. A statement that panics fails with an internal error; the connection
    /// and the server go on.
    async fn execute(
        self: Arc<Self>,
        session: &mut Session,
        sql: &str,
    ) -> Vec<Result<Output, BoxedError>> {
        let mut owned = session.clone();
        let sql = sql.to_string();
        let conn = session.conn_id;
        // SHOW PROCESSLIST shows the statement, never the credentials in it.
        self.processes.start(
            conn,
            &session.user,
            session.database.as_deref(),
            &strata_sql::mask_credentials(&sql),
        );
        // Checked after the statement counts as running: shutdown sets the flag, then waits
        // for what runs, so each statement is either refused or waited for.
        if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
            self.processes.finish(conn, session.database.as_deref());
            return vec![Err(Box::new(FrontendError::new(
                strata_common::StatusCode::ShuttingDown,
                "Server shutdown in progress",
            )) as BoxedError)];
        }
        let fe = self.clone();
        let task = runner::handle().spawn(async move {
            let out = fe.run(&mut owned, &sql).await;
            (owned, out)
        });
        // Not aborted if this future is dropped: a load runs to its end (commit or cancel)
        // rather than stop between two steps with its job left LOADING.
        let result = task.await;
        let out = match result {
            Ok((after, out)) => {
                *session = after;
                out.into_iter()
                    .map(|r| r.map_err(|e| Box::new(e) as BoxedError))
                    .collect()
            }
            Err(e) => {
                let what = if e.is_panic() {
                    "the statement failed with an internal error (a bug: see the server log)"
                } else {
                    "the statement was cancelled"
                };
                tracing::error!(conn = session.conn_id, error = %e, "statement task ended abnormally");
                vec![Err(Box::new(FrontendError::new(
                    strata_common::StatusCode::Internal,
                    what,
                )) as BoxedError)]
            }
        };
        self.processes.finish(conn, session.database.as_deref());
        out
    }

    async fn prepare(
        self: Arc<Self>,
        session: &Session,
        sql: &str,
    ) -> Result<strata_protocol_mysql::Prepared, BoxedError> {
        let boxed = |e: FrontendError| Box::new(e) as BoxedError;
        let (stmt, params) = prepared::check(sql).map_err(boxed)?;
        privilege::check_statement(&self, session, &stmt).map_err(boxed)?;
        // A query's columns, planned with NULL for every parameter (on the statement
        // runtime, as statements are); when that cannot plan, the execution tells them.
        let columns = match stmt {
            strata_sql::Statement::Query(q) => {
                let (fe, session) = (self.clone(), session.clone());
                let plan = runner::handle().spawn(async move {
                    query::plan(&fe, &session, *q, query::PlanFor::Query)
                        .await
                        .map(|p| p.plan.schema().inner().clone())
                });
                plan.await.ok().and_then(|r| r.ok())
            }
            _ => None,
        };
        Ok(strata_protocol_mysql::Prepared { params, columns })
    }

    async fn execute_prepared(
        self: Arc<Self>,
        session: &mut Session,
        sql: &str,
        params: Vec<strata_common::Param>,
    ) -> Result<Output, BoxedError> {
        let sql = prepared::bound(sql, &params).map_err(|e| Box::new(e) as BoxedError)?;
        // One statement, as prepared: values are literals, never more SQL.
        prepared::check(&sql).map_err(|e| Box::new(e) as BoxedError)?;
        let mut out = self.execute(session, &sql).await;
        out.pop().unwrap_or_else(|| Ok(Output::ok()))
    }

    async fn table_schema(&self, session: &Session, table: &str) -> Result<SchemaRef, BoxedError> {
        let describe = strata_sql::Statement::Describe(strata_sql::TableName {
            db: None,
            table: table.to_string(),
        });
        privilege::check_statement(self, session, &describe)
            .and_then(|()| executor::table_schema(self, session, table))
            .map_err(|e| Box::new(e) as BoxedError)
    }

    fn connected(
        &self,
        conn_id: u32,
        peer: &str,
    ) -> std::result::Result<Option<Arc<tokio::sync::Notify>>, String> {
        let max = login::max_connections(self);
        match self.processes.connect_within(conn_id, peer, max) {
            Some(close) => Ok(Some(close)),
            None => {
                tracing::warn!(%peer, max, "connection refused: qe_max_connection reached");
                Err("Too many connections".to_string())
            }
        }
    }

    fn client_gone(&self, conn_id: u32) {
        self.processes.cancel(conn_id);
    }

    fn disconnected(&self, session: &Session) {
        self.processes.disconnected(session.conn_id);
    }

    async fn use_database(&self, session: &mut Session, db: &str) -> Result<(), BoxedError> {
        // COM_INIT_DB (and a database named at login): as `USE db`.
        let name = db.trim().trim_end_matches(';').trim_matches('`');
        let name = name.rsplit('.').next().unwrap_or(name);
        let stmt = strata_sql::Statement::Use(name.to_string());
        if !name.is_empty() {
            privilege::check_statement(self, session, &stmt)
                .map_err(|e| Box::new(e) as BoxedError)?;
        }
        executor::use_database(self, session, db).map_err(|e| Box::new(e) as BoxedError)
    }
}
