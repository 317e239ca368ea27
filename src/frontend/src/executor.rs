//! Statement dispatch: one match over the statement enum, one module per heavy statement.

use arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use strata_catalog::CatalogError;
use strata_common::{Session, StatusCode};
use strata_protocol_mysql::Output;
use strata_query::Killed;
use strata_sql::{Statement, parse_script};

use crate::{Frontend, FrontendError, Result, admin, ddl, insert, query, show};

/// Parses and runs a script; stops at the first failing statement.
pub(crate) async fn run_script(
    fe: &Frontend,
    session: &mut Session,
    sql: &str,
) -> Vec<Result<Output>> {
    let stmts = match parse_script(sql) {
        Ok(s) => s,
        Err(e) => return vec![Err(e.into())],
    };
    let mut out = Vec::with_capacity(stmts.len());
    let cancel = fe.processes.token(session.conn_id);
    for (stmt, hinted) in stmts {
        // KILL QUERY stops a script between its statements too.
        if cancel.is_cancelled() {
            out.push(Err(crate::load::interrupted()));
            break;
        }
        let keep_warnings = matches!(stmt, Statement::ShowWarnings);
        if !keep_warnings {
            session.warnings.clear();
        }
        let res = if hinted.is_empty() {
            execute(fe, session, stmt).await
        } else {
            with_hints(fe, session, stmt, &hinted).await
        };
        let failed = res.is_err();
        if let Err(e) = &res {
            tracing::debug!(conn = session.conn_id, error = %e, "statement failed");
        }
        out.push(res);
        if failed {
            break;
        }
    }
    if out.is_empty() {
        out.push(Ok(Output::ok()));
    }
    out
}

/// Runs `stmt` with the session variables its `/*+ SET_VAR(...) */` hints set, for it alone.
async fn with_hints(
    fe: &Frontend,
    session: &mut Session,
    stmt: Statement,
    hinted: &[(String, String)],
) -> Result<Output> {
    let saved = session.vars.clone();
    for (name, value) in hinted {
        if let Err(e) = admin::validate_variable(name, value) {
            session.vars = saved;
            return Err(e);
        }
        session.vars.set(name, value.clone());
    }
    let res = execute(fe, session, stmt).await;
    session.vars = saved;
    res
}

pub(crate) async fn execute(
    fe: &Frontend,
    session: &mut Session,
    stmt: Statement,
) -> Result<Output> {
    // The one place privileges are checked, before anything runs.
    crate::privilege::check_statement(fe, session, &stmt)?;
    let created = crate::privilege::to_be_created(fe, session, &stmt)?;
    let out = dispatch(fe, session, stmt).await?;
    // Whoever creates a database, table or pipe holds every privilege on it.
    if let Some(o) = created {
        crate::privilege::grant_creator(fe, session, &o)?;
    }
    Ok(out)
}

async fn dispatch(fe: &Frontend, session: &mut Session, stmt: Statement) -> Result<Output> {
    // As in MySQL, DDL ends an open transaction (an implicit COMMIT; nothing is pending).
    if matches!(
        stmt,
        Statement::CreateTable(_)
            | Statement::CreateDatabase { .. }
            | Statement::DropDatabase { .. }
            | Statement::DropTable { .. }
            | Statement::TruncateTable(_)
            | Statement::CreateView(_)
            | Statement::DropView { .. }
    ) {
        session.in_transaction = false;
    }
    match stmt {
        Statement::Query(q) => query::run_query(fe, session, *q).await,
        Statement::Account(a) => crate::account_stmt::run(fe, session, *a),
        Statement::Insert(ins) => {
            refuse_in_transaction(session, &ins)?;
            insert::run_insert(fe, session, *ins).await
        }
        Statement::CreateTable(ct) => ddl::create_table(fe, session, *ct).await,
        Statement::CreateDatabase {
            name,
            if_not_exists,
        } => ddl::create_database(fe, &name, if_not_exists),
        Statement::DropDatabase { name, if_exists } => {
            ddl::drop_database(fe, session, &name, if_exists)
        }
        Statement::DropTable { name, if_exists } => ddl::drop_table(fe, session, &name, if_exists),
        Statement::TruncateTable(name) => ddl::truncate_table(fe, session, &name),
        Statement::Use(db) => {
            use_database(fe, session, &db)?;
            Ok(Output::ok())
        }
        Statement::Describe(name) => ddl::describe(fe, session, &name),
        Statement::ShowColumns {
            full,
            table,
            filter,
        } => {
            let out = ddl::show_columns(fe, session, &table, full, filter.as_ref())?;
            show::apply_where(out, filter.as_ref()).await
        }
        Statement::DescribeFiles(props) => ddl::describe_files(fe, &props).await,
        Statement::ShowCreateTable(name) => ddl::show_create_table(fe, session, &name),
        Statement::CreateView(cv) => crate::view_stmt::create(fe, session, *cv).await,
        Statement::DropView { name, if_exists } => {
            crate::view_stmt::drop_view(fe, session, &name, if_exists)
        }
        Statement::ShowCreateView(name) => crate::view_stmt::show_create(fe, session, &name),
        Statement::ShowTableStatus { db, filter } => {
            let out = crate::show_meta::table_status(fe, session, db.as_deref(), filter.as_ref())?;
            show::apply_where(out, filter.as_ref()).await
        }
        Statement::ShowIndex(name) => crate::show_meta::index(fe, session, &name),
        Statement::ShowTriggers { db, .. } => {
            crate::show_meta::triggers(fe, session, db.as_deref())
        }
        Statement::LockTables(names) => {
            ddl::lock_tables(fe, session, &names)?;
            Ok(Output::ok())
        }
        // Nothing was locked (see `ddl::lock_tables`).
        Statement::UnlockTables => Ok(Output::ok()),
        // A transaction here holds no writes (an INSERT in one is refused), so a savepoint
        // marks nothing and rolling back to one has nothing to undo.
        Statement::Savepoint { .. } => Ok(Output::ok()),
        Statement::AlterTableKeys { name, .. } => ddl::alter_table_keys(fe, session, &name),
        Statement::ShowList { list, filter } => {
            let out = crate::show_meta::list(fe, list, filter.as_ref())?;
            show::apply_where(out, filter.as_ref()).await
        }
        Statement::ShowCreateDatabase(name) => show::show_create_database(fe, &name),
        Statement::ShowDatabases(f) => {
            show::apply_where(show::show_databases(fe, session, f.as_ref())?, f.as_ref()).await
        }
        Statement::ShowTables { full, db, filter } => {
            let out = show::show_tables(fe, session, full, db.as_deref(), filter.as_ref())?;
            show::apply_where(out, filter.as_ref()).await
        }
        Statement::ShowVariables(f) => {
            show::apply_where(show::show_variables(session, f.as_ref())?, f.as_ref()).await
        }
        Statement::ShowWarnings => show::show_warnings(session),
        Statement::ShowProcesslist => show::show_processlist(fe, session),
        Statement::Kill { query_only, id } => kill(fe, session, id, query_only),
        Statement::Sync => Ok(Output::ok()),
        Statement::ShowLoad(show) => show::show_load(fe, session, *show).await,
        Statement::Load(l) => crate::load::broker::submit(fe, session, *l).await,
        Statement::CancelLoad(c) => crate::load::broker::cancel(fe, session, c).await,
        Statement::AlterLoad(a) => crate::load::broker::alter(fe, session, a),
        Statement::CreatePipe(c) => crate::pipe_stmt::create(fe, session, *c).await,
        Statement::AlterPipe(a) => crate::pipe_stmt::alter(fe, session, a).await,
        Statement::DropPipe { name, if_exists } => {
            crate::pipe_stmt::drop_pipe(fe, session, &name, if_exists).await
        }
        Statement::ShowPipes(s) => crate::pipe_stmt::show(fe, session, *s).await,
        Statement::DescPipe(n) => crate::pipe_stmt::desc(fe, session, &n),
        Statement::AdminSetFrontendConfig { key, value } => admin::set_config(fe, &key, &value),
        Statement::AdminShowFrontendConfig(like) => admin::show_config(fe, like.as_deref()),
        Statement::Set(assignments) => crate::prepared::set(fe, session, assignments).await,
        Statement::Prepare { name, from } => crate::prepared::prepare(session, &name, from),
        Statement::Execute { name, using } => {
            crate::prepared::execute(fe, session, &name, &using).await
        }
        Statement::Deallocate(name) => crate::prepared::deallocate(session, &name),
        Statement::TransactionControl(word) => {
            // BEGIN / START TRANSACTION open one; COMMIT / ROLLBACK (pools send one whenever a
            // connection is returned) end it, a plain OK when none is open.
            session.in_transaction = matches!(word.as_str(), "BEGIN" | "START");
            Ok(Output::ok())
        }
    }
}

/// `KILL [CONNECTION | QUERY] id`: with OPERATE on SYSTEM anyone's statement, else one's own.
fn kill(fe: &Frontend, session: &Session, id: u64, query_only: bool) -> Result<Output> {
    let found = u32::try_from(id)
        .map(|id| {
            let any = crate::privilege::visibility(fe, session)
                .map(|v| v.all_processes())
                .unwrap_or(false);
            fe.processes.kill(id, &session.user, any, query_only)
        })
        .unwrap_or(Killed::Unknown);
    match found {
        Killed::Done => Ok(Output::ok()),
        Killed::Unknown => Err(FrontendError::new(
            StatusCode::UnknownThread,
            format!("Unknown thread id: {id}"),
        )),
        Killed::NotYours => Err(FrontendError::new(
            StatusCode::PermissionDenied,
            format!("You are not owner of thread {id}"),
        )),
    }
}

/// An INSERT inside `BEGIN … COMMIT/ROLLBACK` is refused: it would commit at once and a
/// ROLLBACK could not undo it, while the client believes it can. A dry run writes nothing and
/// may run.
fn refuse_in_transaction(session: &Session, ins: &strata_sql::Insert) -> Result<()> {
    let dry_run = ins
        .properties
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("dry_run") && v.eq_ignore_ascii_case("true"));
    if session.in_transaction && !dry_run {
        return Err(FrontendError::new(
            StatusCode::Unsupported,
            "INSERT inside an explicit transaction (BEGIN ... COMMIT) is not supported yet: \
             Strata commits each INSERT by itself and could not roll it back. COMMIT or \
             ROLLBACK first, then run the INSERT on its own",
        ));
    }
    Ok(())
}

/// `USE db` / COM_INIT_DB.
pub(crate) fn use_database(fe: &Frontend, session: &mut Session, db: &str) -> Result<()> {
    let db = db.trim().trim_end_matches(';').trim_matches('`');
    let db = db.rsplit('.').next().unwrap_or(db);
    // mysql-connector-python sends an empty database name in its handshake.
    if db.is_empty() {
        return Ok(());
    }
    if db.eq_ignore_ascii_case(strata_query::info_schema::NAME) {
        session.database = Some(strata_query::info_schema::NAME.to_string());
        return Ok(());
    }
    if !fe.catalog.database_exists(db)? {
        return Err(CatalogError::UnknownDatabase(db.to_string()).into());
    }
    session.database = Some(db.to_string());
    Ok(())
}

/// The columns of `table` in the session's database (COM_FIELD_LIST).
pub(crate) fn table_schema(fe: &Frontend, session: &Session, table: &str) -> Result<SchemaRef> {
    let db = database_of(session, None)?;
    let unknown = || {
        FrontendError::from(CatalogError::UnknownTable {
            db: db.to_string(),
            table: table.to_string(),
        })
    };
    if db.eq_ignore_ascii_case(strata_query::info_schema::NAME) {
        let provider = strata_query::info_schema::table(table, &fe.info_sources(session)?)
            .ok_or_else(unknown)?
            .map_err(|e| FrontendError::new(StatusCode::Internal, e))?;
        return Ok(provider.schema());
    }
    let meta = fe.catalog.get_table(db, table)?.ok_or_else(unknown)?;
    Ok(strata_query::StrataTable::new(meta, Vec::new()).schema())
}

/// The database a `[db.]table` name refers to.
pub(crate) fn database_of<'a>(session: &'a Session, db: Option<&'a str>) -> Result<&'a str> {
    match db.or(session.database.as_deref()) {
        Some(d) => Ok(d),
        None => Err(FrontendError::new(
            StatusCode::NoDatabaseSelected,
            "No database selected",
        )),
    }
}
