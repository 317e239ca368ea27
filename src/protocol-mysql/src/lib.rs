//! The MySQL wire protocol: handshake, authentication, result encoding and the one map from
//! [`StatusCode`] to MySQL error numbers. Knows nothing of storage or planning: it calls a
//! [`QueryHandler`].

mod auth;
mod binary;
mod errors;
mod rows;
mod shim;
mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use strata_common::{BoxedError, Param, Session};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use auth::scramble_password;
pub use errors::mysql_error;
pub use tls::{TlsOptions, server_config};

/// What one statement produced.
#[derive(Debug)]
pub enum Output {
    /// A result set.
    Rows {
        /// Columns.
        schema: SchemaRef,
        /// Rows.
        batches: Vec<RecordBatch>,
    },
    /// An OK packet.
    Affected {
        /// Affected (loaded) rows.
        rows: u64,
        /// Warning count (filtered rows for loads).
        warnings: u16,
        /// Info string, e.g. `{'label':'insert_…', 'status':'VISIBLE', 'txnId':'1'}`.
        info: String,
    },
}

impl Output {
    /// An OK packet with no rows affected.
    pub fn ok() -> Self {
        Output::Affected {
            rows: 0,
            warnings: 0,
            info: String::new(),
        }
    }
}

/// What preparing a statement (COM_STMT_PREPARE) found out about it.
#[derive(Debug)]
pub struct Prepared {
    /// How many `?` parameters it takes.
    pub params: usize,
    /// The columns its result will have, when known without running it.
    pub columns: Option<SchemaRef>,
}

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Unknown user, wrong password, locked account: MySQL's 1045 with this text.
    Denied(String),
    /// The user has `max_user_connections` open already: MySQL's 1203 with this text.
    TooManyUserConnections(String),
}

/// A user's stored credential.
#[derive(Debug, Clone)]
pub enum Credential {
    /// No password.
    Empty,
    /// SHA1(SHA1(password)), as MySQL's `mysql_native_password` stores it.
    DoubleSha1([u8; 20]),
}

/// What the protocol needs from the rest of the server.
#[async_trait]
pub trait QueryHandler: Send + Sync + 'static {
    /// Logs `session.user` in from `session.client_host`: finds the account, checks the
    /// client's proof of the password with `verify`, and fills in the session (the account's
    /// host, the active roles). `Err` is the error the client gets.
    fn login(
        &self,
        session: &mut Session,
        verify: &(dyn Fn(&Credential) -> bool + Send + Sync),
    ) -> Result<(), LoginError>;

    /// Runs a script of one or more statements; one result per statement run, stopping after
    /// the first error.
    async fn execute(
        self: Arc<Self>,
        session: &mut Session,
        sql: &str,
    ) -> Vec<Result<Output, BoxedError>>;

    /// Checks a statement to prepare (COM_STMT_PREPARE): one statement, with its `?`
    /// parameters counted. `Err` is the error the client gets.
    async fn prepare(self: Arc<Self>, session: &Session, sql: &str)
    -> Result<Prepared, BoxedError>;

    /// Runs a prepared statement with `params` bound to its `?` (COM_STMT_EXECUTE).
    async fn execute_prepared(
        self: Arc<Self>,
        session: &mut Session,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<Output, BoxedError>;

    /// Switches the current database (COM_INIT_DB and `USE`).
    async fn use_database(&self, session: &mut Session, db: &str) -> Result<(), BoxedError>;

    /// The columns of `table` in the session's current database (COM_FIELD_LIST).
    async fn table_schema(&self, session: &Session, table: &str) -> Result<SchemaRef, BoxedError>;

    /// Called when a connection opens (before authentication); the returned signal, when
    /// given, closes the connection (`KILL CONNECTION`). `Err`: the server is full; the
    /// client gets MySQL's 1040 with this text instead of a handshake.
    fn connected(
        &self,
        _conn_id: u32,
        _peer: &str,
    ) -> Result<Option<Arc<tokio::sync::Notify>>, String> {
        Ok(None)
    }

    /// Called when the client of connection `conn_id` has gone (closed its socket) while a
    /// statement of it may still run.
    fn client_gone(&self, _conn_id: u32) {}

    /// Called when a connection closes.
    fn disconnected(&self, _session: &Session) {}
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve<H: QueryHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    tls: TlsOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    static NEXT_CONN: AtomicU32 = AtomicU32::new(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let conn_id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
                let handler = handler.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    tracing::debug!(%peer, conn_id, "connection opened");
                    if let Err(e) = shim::run_connection(stream, handler, conn_id, peer, tls).await {
                        tracing::debug!(%peer, conn_id, error = %e, "connection ended with error");
                    }
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
