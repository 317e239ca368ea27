//! The server's brain: sessions, statement dispatch, DDL, queries and the load path.
//!
//! Implements the protocol's [`QueryHandler`]; the protocol layer never sees a table.

mod admin;
mod compaction;
mod ddl;
mod error;
mod executor;
mod gc;
mod insert;
pub mod load;
mod query;
mod resolve;
mod show;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use strata_catalog::Catalog;
use strata_common::{BoxedError, Session};
use strata_protocol_mysql::{Credential, Output, QueryHandler};
use strata_query::{LiveLoads, QueryEngine};
use strata_storage::DataStore;

pub use compaction::{CompactionPolicy, compact_once};
pub use error::{FrontendError, Result};
pub use gc::collect_garbage;

/// Shared server state.
pub struct Frontend {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) store: DataStore,
    pub(crate) engine: QueryEngine,
    pub(crate) live: LiveLoads,
}

impl Frontend {
    /// Opens the data directory: catalog, table data, and a clean-up of whatever an earlier
    /// crash left behind (interrupted loads, unreferenced files).
    pub async fn open(data_dir: &Path) -> Result<Arc<Self>> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            FrontendError::new(
                strata_common::StatusCode::Internal,
                format!("cannot create data directory {}: {e}", data_dir.display()),
            )
        })?;
        let catalog = Arc::new(Catalog::open(&data_dir.join("meta.db"))?);
        let store = DataStore::open(&data_dir.join("data"))?;
        let engine = QueryEngine::new(&store)?;
        let fe = Arc::new(Self {
            catalog,
            store,
            engine,
            live: LiveLoads::default(),
        });
        let n = fe
            .catalog
            .cancel_interrupted_loads(&strata_catalog::now_string())?;
        if n > 0 {
            tracing::warn!(
                jobs = n,
                "loads interrupted by the last shutdown were cancelled"
            );
        }
        gc::collect_garbage(&fe.catalog, &fe.store, true).await?;
        compaction::spawn_background(&fe);
        Ok(fe)
    }

    /// The catalog (tests and tools).
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The table data store (tests inject faults through it).
    pub fn store(&self) -> &DataStore {
        &self.store
    }

    /// Runs one script for a session; used by the protocol and by tests.
    pub async fn run(&self, session: &mut Session, sql: &str) -> Vec<Result<Output>> {
        executor::run_script(self, session, sql).await
    }
}

#[async_trait]
impl QueryHandler for Frontend {
    fn credential(&self, user: &str) -> Option<Credential> {
        (user == "root").then_some(Credential::Empty)
    }

    async fn execute(&self, session: &mut Session, sql: &str) -> Vec<Result<Output, BoxedError>> {
        self.run(session, sql)
            .await
            .into_iter()
            .map(|r| r.map_err(|e| Box::new(e) as BoxedError))
            .collect()
    }

    async fn use_database(&self, session: &mut Session, db: &str) -> Result<(), BoxedError> {
        executor::use_database(self, session, db).map_err(|e| Box::new(e) as BoxedError)
    }
}
