//! One connection: opensrv-mysql's shim over a [`QueryHandler`].

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use opensrv_mysql::{
    AsyncMysqlIntermediary, AsyncMysqlShim, Column, ErrorKind, InitWriter, IntermediaryOptions,
    OkResponse, ParamParser, QueryResultWriter, StatementMetaWriter,
};
use rand::Rng;
use strata_common::{BoxedError, Param, SERVER_VERSION, Session};
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

use crate::binary::{BinValue, typed_rows};
use crate::errors::mysql_error;
use crate::rows::{columns, render};
use crate::{Output, QueryHandler, auth};

pub(crate) async fn run_connection<H: QueryHandler>(
    stream: TcpStream,
    handler: Arc<H>,
    conn_id: u32,
    peer: std::net::SocketAddr,
    tls: crate::TlsOptions,
) -> io::Result<()> {
    let (stream, watcher) = watch_for_hangup(stream, handler.clone(), conn_id)?;
    let _watcher = AbortOnDrop(watcher);
    // Registered only once nothing can fail before the shim exists (its drop unregisters).
    let close = match handler.connected(conn_id, &peer.to_string()) {
        Ok(close) => close,
        Err(message) => return refuse(stream, &message).await,
    };
    let (r, mut w) = stream.into_split();
    let authenticated = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut shim = Shim {
        handler: handler.clone(),
        session: Session::new(conn_id, ""),
        salt: new_salt(),
        logged_in: std::sync::Mutex::new(None),
        login_error: std::sync::Mutex::new(None),
        authenticated: authenticated.clone(),
        peer,
        insecure_refused: false,
        statements: std::collections::HashMap::new(),
        next_statement: 0,
    };
    let serve = async {
        let (secure, params) =
            AsyncMysqlIntermediary::init_before_ssl(&mut shim, r, &mut w, &tls.config).await?;
        let opts = IntermediaryOptions::default();
        match (&tls.config, secure) {
            (Some(config), true) => {
                opensrv_mysql::secure_run_with_options(shim, w, opts, config.clone(), params).await
            }
            _ => {
                // Plain: refused at login when secure transport is required.
                shim.insecure_refused = tls.require_secure_transport;
                opensrv_mysql::plain_run_with_options(shim, w, opts, params).await
            }
        }
    };
    // Closed when not logged in within `connect_timeout`; never afterwards.
    let login_deadline = async {
        tokio::time::sleep(CONNECT_TIMEOUT).await;
        if authenticated.load(std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        tracing::info!(%peer, conn_id, "connection closed: no login within connect_timeout");
    };
    let closed = async {
        match close {
            // KILL CONNECTION: dropping the connection's future closes its socket.
            Some(close) => close.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        res = serve => res,
        () = closed => Ok(()),
        () = login_deadline => Ok(()),
    }
}

/// Watches a second handle of the connection's socket for the client hanging up: the
/// connection's task is busy awaiting the running statement and reads nothing meanwhile, so
/// without this a statement would go on for a client long gone (StarRocks cancels it). Data
/// waiting to be read (commands sent ahead) is left for the reader: the watcher looks again a
/// little later.
fn watch_for_hangup<H: QueryHandler>(
    stream: TcpStream,
    handler: Arc<H>,
    conn_id: u32,
) -> io::Result<(TcpStream, tokio::task::JoinHandle<()>)> {
    let std = stream.into_std()?;
    let second = TcpStream::from_std(std.try_clone()?)?;
    let stream = TcpStream::from_std(std)?;
    let task = tokio::spawn(async move {
        let mut byte = [0u8; 1];
        loop {
            match second.peek(&mut byte).await {
                Ok(0) | Err(_) => {
                    handler.client_gone(conn_id);
                    return;
                }
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    });
    Ok((stream, task))
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Answers a connection the server cannot take with MySQL's `ERROR 1040 (08004) Too many
/// connections` in place of the handshake, and closes it.
async fn refuse(mut stream: TcpStream, message: &str) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut body = vec![0xff];
    body.extend_from_slice(&1040u16.to_le_bytes());
    body.extend_from_slice(b"#08004");
    body.extend_from_slice(message.as_bytes());
    let len = u32::try_from(body.len()).unwrap_or(0).to_le_bytes();
    let mut packet = vec![len[0], len[1], len[2], 0];
    packet.extend_from_slice(&body);
    stream.write_all(&packet).await?;
    stream.shutdown().await
}

fn new_salt() -> [u8; 20] {
    let mut rng = rand::thread_rng();
    let mut salt = [0u8; 20];
    for b in &mut salt {
        // Printable ASCII without NUL or '$', as MySQL servers send.
        *b = rng.gen_range(0x21u8..0x7f);
        if *b == b'$' {
            *b += 1;
        }
    }
    salt
}

struct Shim<H: QueryHandler> {
    handler: Arc<H>,
    session: Session,
    salt: [u8; 20],
    /// Set by `authenticate` (which only gets `&self`), moved into `session` afterwards.
    logged_in: std::sync::Mutex<Option<Session>>,
    /// Why the last login failed, for the error the client gets.
    login_error: std::sync::Mutex<Option<(ErrorKind, String)>>,
    /// Set once a login succeeded (the connection is then past `connect_timeout`).
    authenticated: Arc<std::sync::atomic::AtomicBool>,
    /// The client's address, for the log of failed logins.
    peer: std::net::SocketAddr,
    /// The connection did not switch to TLS and the server requires it: every login fails.
    insecure_refused: bool,
    /// Prepared statements (COM_STMT_PREPARE) by id: their text.
    statements: std::collections::HashMap<u32, String>,
    /// The last statement id given out.
    next_statement: u32,
}

/// MySQL's `connect_timeout`: a connection that has not logged in by then is closed, so idle
/// unauthenticated sockets cannot pile up.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl<H: QueryHandler> Shim<H> {
    fn adopt_user(&mut self) {
        if self.session.user.is_empty() {
            let mut s = self.logged_in.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = s.take() {
                self.session = s;
            }
        }
    }
}

impl<H: QueryHandler> Drop for Shim<H> {
    fn drop(&mut self) {
        self.handler.disconnected(&self.session);
    }
}

fn error_text(e: &BoxedError) -> (ErrorKind, String) {
    (mysql_error(e.status_code()), e.to_string())
}

#[async_trait]
impl<W: AsyncWrite + Send + Unpin, H: QueryHandler> AsyncMysqlShim<W> for Shim<H> {
    type Error = io::Error;

    fn version(&self) -> String {
        SERVER_VERSION.to_string()
    }

    fn connect_id(&self) -> u32 {
        self.session.conn_id
    }

    fn salt(&self) -> [u8; 20] {
        self.salt
    }

    async fn authenticate(
        &self,
        _auth_plugin: &str,
        username: &[u8],
        salt: &[u8],
        auth_data: &[u8],
    ) -> bool {
        let user = String::from_utf8_lossy(username).to_string();
        if self.insecure_refused {
            tracing::warn!(user = ?user, peer = %self.peer, "plain connection refused: secure transport required");
            *self.login_error.lock().unwrap_or_else(|p| p.into_inner()) = Some((
                ErrorKind::ER_SECURE_TRANSPORT_REQUIRED,
                "Connections using insecure transport are prohibited while \
                 --require_secure_transport=ON."
                    .to_string(),
            ));
            return false;
        }
        let mut session = Session::new(self.session.conn_id, user.clone());
        session.client_host = self.peer.ip().to_string();
        let verify = |cred: &crate::Credential| auth::verify(cred, salt, auth_data);
        match self.handler.login(&mut session, &verify) {
            Ok(()) => {
                *self.logged_in.lock().unwrap_or_else(|p| p.into_inner()) = Some(session);
                self.authenticated
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                true
            }
            Err(e) => {
                let (kind, message) = match e {
                    crate::LoginError::Denied(m) => (ErrorKind::ER_ACCESS_DENIED_ERROR, m),
                    crate::LoginError::TooManyUserConnections(m) => {
                        (ErrorKind::ER_TOO_MANY_USER_CONNECTIONS, m)
                    }
                };
                tracing::warn!(user = ?user, peer = %self.peer, reason = %message, "failed login");
                *self.login_error.lock().unwrap_or_else(|p| p.into_inner()) = Some((kind, message));
                false
            }
        }
    }

    fn auth_error_message(&self) -> Option<(ErrorKind, String)> {
        self.login_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    async fn on_prepare<'a>(
        &'a mut self,
        query: &'a str,
        info: StatementMetaWriter<'a, W>,
    ) -> io::Result<()> {
        self.adopt_user();
        match self.handler.clone().prepare(&self.session, query).await {
            Ok(prepared) => {
                self.next_statement = self.next_statement.wrapping_add(1).max(1);
                let id = self.next_statement;
                self.statements.insert(id, query.to_string());
                let params: Vec<Column> = (0..prepared.params)
                    .map(|_| Column {
                        table: String::new(),
                        column: "?".to_string(),
                        coltype: opensrv_mysql::ColumnType::MYSQL_TYPE_VAR_STRING,
                        colflags: opensrv_mysql::ColumnFlags::empty(),
                        schema: String::new(),
                        length: 65533 * 3,
                        decimals: 0,
                        charset: 33,
                    })
                    .collect();
                let cols = prepared.columns.map(|s| columns(&s)).unwrap_or_default();
                info.reply(id, &params, &cols).await
            }
            Err(e) => {
                let (kind, msg) = error_text(&e);
                info.error(kind, msg.as_bytes()).await
            }
        }
    }

    async fn on_execute<'a>(
        &'a mut self,
        id: u32,
        params: ParamParser<'a>,
        results: QueryResultWriter<'a, W>,
    ) -> io::Result<()> {
        self.adopt_user();
        let Some(sql) = self.statements.get(&id).cloned() else {
            let msg =
                format!("Unknown prepared statement handler ({id}) given to mysqld_stmt_execute");
            return results
                .error(ErrorKind::ER_UNKNOWN_STMT_HANDLER, msg.as_bytes())
                .await;
        };
        let params = params.into_iter().map(|p| param(p.value)).collect();
        let out = self
            .handler
            .clone()
            .execute_prepared(&mut self.session, &sql, params)
            .await;
        write_outputs(vec![out], results, true).await
    }

    async fn on_close<'a>(&'a mut self, stmt: u32)
    where
        W: 'async_trait,
    {
        self.statements.remove(&stmt);
    }

    async fn on_query<'a>(
        &'a mut self,
        query: &'a str,
        results: QueryResultWriter<'a, W>,
    ) -> io::Result<()> {
        self.adopt_user();
        let outputs = self.handler.clone().execute(&mut self.session, query).await;
        write_outputs(outputs, results, false).await
    }

    async fn on_reset(&mut self) {
        let fresh = Session::new(self.session.conn_id, self.session.user.clone());
        self.session = Session {
            database: self.session.database.take(),
            host: std::mem::take(&mut self.session.host),
            client_host: std::mem::take(&mut self.session.client_host),
            roles: std::mem::take(&mut self.session.roles),
            ..fresh
        };
    }

    async fn on_field_list<'a>(
        &'a mut self,
        table: &'a str,
    ) -> Result<Vec<Column>, (ErrorKind, String)> {
        self.adopt_user();
        match self.handler.table_schema(&self.session, table).await {
            Ok(schema) => {
                let mut cols = columns(&schema);
                for c in &mut cols {
                    c.table = table.to_string();
                }
                Ok(cols)
            }
            Err(e) => Err(error_text(&e)),
        }
    }

    async fn on_init<'a>(&'a mut self, db: &'a str, writer: InitWriter<'a, W>) -> io::Result<()> {
        self.adopt_user();
        match self.handler.use_database(&mut self.session, db).await {
            Ok(()) => writer.ok().await,
            Err(e) => {
                let (kind, msg) = error_text(&e);
                writer.error(kind, msg.as_bytes()).await
            }
        }
    }
}

/// A client's value for a `?`, as the statement binds it. Dates and times are bound as
/// MySQL writes them in text.
fn param(v: opensrv_mysql::Value<'_>) -> Param {
    use opensrv_mysql::ValueInner as V;
    let le16 = |b: &[u8], i: usize| {
        b.get(i..i + 2)
            .map_or(0, |x| u16::from_le_bytes([x[0], x[1]]))
    };
    let le32 = |b: &[u8], i: usize| {
        b.get(i..i + 4)
            .map_or(0, |x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
    };
    let at = |b: &[u8], i: usize| b.get(i).copied().unwrap_or(0);
    match v.into_inner() {
        V::NULL => Param::Null,
        V::Bytes(b) => Param::Text(b.to_vec()),
        V::Int(i) => Param::Int(i),
        V::UInt(u) => Param::UInt(u),
        V::Double(f) => Param::Double(f),
        V::Date(b) | V::Datetime(b) => {
            let mut s = format!("{:04}-{:02}-{:02}", le16(b, 0), at(b, 2), at(b, 3));
            if b.len() >= 7 {
                s.push_str(&format!(" {:02}:{:02}:{:02}", at(b, 4), at(b, 5), at(b, 6)));
            }
            if b.len() >= 11 {
                s.push_str(&format!(".{:06}", le32(b, 7)));
            }
            Param::Text(s.into_bytes())
        }
        V::Time(b) => {
            let sign = if at(b, 0) == 1 { "-" } else { "" };
            let hours = le32(b, 1) * 24 + u32::from(at(b, 5));
            let mut s = format!("{sign}{hours:02}:{:02}:{:02}", at(b, 6), at(b, 7));
            if b.len() >= 12 {
                s.push_str(&format!(".{:06}", le32(b, 8)));
            }
            Param::Text(s.into_bytes())
        }
    }
}

/// A result's rows: rendered as text, or typed for the binary protocol.
enum Rows {
    Text(Vec<Vec<Option<String>>>),
    Binary(Vec<Vec<BinValue>>),
}

/// A prepared reply: columns and rows, or an OK packet, or an error.
enum Reply {
    Rows(Vec<Column>, Rows),
    Ok(OkResponse),
    Err(ErrorKind, String),
}

fn reply_of(out: Result<Output, BoxedError>, binary: bool) -> Reply {
    match out {
        Ok(Output::Rows { schema, batches }) => {
            let cols = columns(&schema);
            let rows = render(&batches).and_then(|rows| {
                if binary {
                    typed_rows(&cols, rows).map(Rows::Binary)
                } else {
                    Ok(Rows::Text(rows))
                }
            });
            match rows {
                Ok(rows) => Reply::Rows(cols, rows),
                Err(e) => Reply::Err(ErrorKind::ER_UNKNOWN_ERROR, e),
            }
        }
        Ok(Output::Affected {
            rows,
            warnings,
            info,
        }) => Reply::Ok(OkResponse {
            affected_rows: rows,
            warnings,
            info,
            ..Default::default()
        }),
        Err(e) => {
            let (kind, msg) = error_text(&e);
            Reply::Err(kind, msg)
        }
    }
}

async fn write_outputs<W: AsyncWrite + Send + Unpin>(
    outputs: Vec<Result<Output, BoxedError>>,
    results: QueryResultWriter<'_, W>,
    binary: bool,
) -> io::Result<()> {
    let replies: Vec<Reply> = outputs.into_iter().map(|o| reply_of(o, binary)).collect();
    if replies.is_empty() {
        return results.completed(OkResponse::default()).await;
    }
    let last = replies.len() - 1;
    let mut results = results;
    for (i, reply) in replies.iter().enumerate() {
        match reply {
            Reply::Rows(cols, rows) => {
                let mut rw = results.start(cols).await?;
                match rows {
                    Rows::Text(rows) => {
                        for row in rows {
                            for v in row {
                                rw.write_col(v.as_deref())?;
                            }
                            rw.end_row().await?;
                        }
                    }
                    Rows::Binary(rows) => {
                        for row in rows {
                            for v in row {
                                rw.write_col(v)?;
                            }
                            rw.end_row().await?;
                        }
                    }
                }
                if i == last {
                    return rw.finish().await;
                }
                results = rw.finish_one().await?;
            }
            Reply::Ok(ok) => {
                if i == last {
                    return results.completed(ok.clone()).await;
                }
                results = results.complete_one(ok.clone()).await?;
            }
            Reply::Err(kind, msg) => return results.error(*kind, msg.as_bytes()).await,
        }
    }
    Ok(())
}
