//! All DataFusion glue: per-statement session contexts, Strata tables as table providers,
//! `information_schema`, MySQL variables and functions.

mod datetime_fns;
pub mod files;
mod functions;
pub mod info_schema;
mod json_fns;
mod live;
mod memory;
mod processes;
mod table;
pub mod types;
mod vars;

use std::sync::Arc;

use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    MemorySchemaProvider, SchemaProvider, TableProvider,
};
use datafusion::common::Result as DfResult;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use strata_common::Session;
use strata_storage::{DATA_STORE_URL, DataStore};

pub use live::{LiveLoad, LiveLoads};
pub use memory::ServerMemory;
pub use processes::{Killed, ProcessRow, Processes};
pub use table::StrataTable;

/// The catalog name StarRocks calls its internal catalog.
pub const DEFAULT_CATALOG: &str = "default_catalog";
/// Schema used as the default when the session has no database.
pub const NO_DATABASE: &str = "__no_database__";

/// Shared engine state: the runtime with the data store registered, and the server's memory.
pub struct QueryEngine {
    runtime: Arc<RuntimeEnv>,
    memory: Arc<ServerMemory>,
}

/// Tables a statement references, already resolved, grouped by schema.
#[derive(Default)]
pub struct ResolvedTables {
    tables: Vec<(String, String, Arc<dyn TableProvider>)>,
}

impl ResolvedTables {
    /// Adds `schema.name`.
    pub fn add(&mut self, schema: &str, name: &str, provider: Arc<dyn TableProvider>) {
        self.tables
            .push((schema.to_string(), name.to_string(), provider));
    }

    /// Column names of every resolved table.
    pub fn column_names(&self) -> Vec<String> {
        self.tables
            .iter()
            .flat_map(|(_, _, p)| {
                p.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl QueryEngine {
    /// An engine reading table data from `store`, its statements holding at most
    /// `memory_limit` bytes in all.
    pub fn new(store: &DataStore, memory_limit: usize) -> DfResult<Self> {
        let runtime = RuntimeEnvBuilder::new().build_arc()?;
        let url = url::Url::parse(DATA_STORE_URL).expect("constant URL parses");
        runtime.register_object_store(&url, store.object_store());
        Ok(Self {
            runtime,
            memory: ServerMemory::new(memory_limit),
        })
    }

    /// The server's memory.
    pub fn memory(&self) -> &Arc<ServerMemory> {
        &self.memory
    }

    /// The runtime (object stores are registered here).
    pub fn runtime(&self) -> &Arc<RuntimeEnv> {
        &self.runtime
    }

    /// A context for one statement: exactly the resolved tables, the session's variables and
    /// StarRocks' MySQL functions.
    pub fn context(&self, session: &Session, tables: ResolvedTables) -> DfResult<SessionContext> {
        // The shared runtime (object stores, caches) with a memory pool of this statement's.
        let mut runtime = (*self.runtime).clone();
        let limit = usize::try_from(query_mem_limit(session)).unwrap_or(usize::MAX);
        runtime.memory_pool = Arc::new(memory::StatementPool::new(limit, self.memory.clone()));
        let runtime = Arc::new(runtime);
        let db = session.database.as_deref().unwrap_or(NO_DATABASE);
        let config = SessionConfig::new()
            .with_information_schema(false)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(DEFAULT_CATALOG, db)
            .set_bool("datafusion.sql_parser.enable_ident_normalization", false)
            // MySQL and StarRocks sort NULL as the smallest value (first in ASC, last in DESC);
            // DataFusion's default is PostgreSQL's, the other way round.
            .set_str("datafusion.sql_parser.default_null_ordering", "nulls_min")
            .set_bool("datafusion.execution.parquet.pushdown_filters", true)
            .set_bool("datafusion.execution.parquet.reorder_filters", true)
            .set_str("datafusion.sql_parser.dialect", "mysql");
        let catalog = Arc::new(MemoryCatalogProvider::new());
        catalog.register_schema(db, Arc::new(MemorySchemaProvider::new()))?;
        for (schema, name, provider) in tables.tables {
            let sp = match catalog.schema(&schema) {
                Some(s) => s,
                None => {
                    let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                    catalog.register_schema(&schema, s.clone())?;
                    s
                }
            };
            if !sp.table_exist(&name) {
                sp.register_table(name, provider)?;
            }
        }
        let list = Arc::new(MemoryCatalogProviderList::new());
        list.register_catalog(DEFAULT_CATALOG.to_string(), catalog);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_catalog_list(list as Arc<dyn CatalogProviderList>)
            .with_default_features()
            .build();
        let ctx = SessionContext::new_with_state(state);
        vars::register(&ctx, session);
        let max_value = session
            .vars
            .get("max_allowed_packet")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(32 << 20);
        functions::register(&ctx, query_mem_limit(session), max_value);
        Ok(ctx)
    }
}

/// The memory one statement may use: `query_mem_limit` when set (StarRocks' default 0 means
/// unset), else `exec_mem_limit` (StarRocks' default 2 GiB).
pub fn query_mem_limit(session: &Session) -> u64 {
    let var = |name: &str| {
        session
            .vars
            .get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|v| *v > 0)
    };
    var("query_mem_limit")
        .or_else(|| var("exec_mem_limit"))
        .unwrap_or(DEFAULT_EXEC_MEM_LIMIT)
}

/// StarRocks' default `exec_mem_limit`.
pub const DEFAULT_EXEC_MEM_LIMIT: u64 = 2 << 30;
