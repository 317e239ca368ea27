//! The SQLite schema of the catalog, as forward migrations.
//!
//! `PRAGMA user_version` holds how many of [`MIGRATIONS`] a catalog has applied. Each step
//! runs in its own transaction together with the version bump, so a crash mid-upgrade leaves
//! the previous version. Data directories from before versioning have version 0 and the
//! tables of step 1, which creates only what is missing.

use rusqlite::Connection;

use crate::{CatalogError, Result};

/// Version 1: databases, tables, segments, the GC list, loads and their rejected rows.
const V1_BASE: &str = r#"
CREATE TABLE IF NOT EXISTS sequences (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS config (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS databases (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tables (
    id         INTEGER PRIMARY KEY,
    db_id      INTEGER NOT NULL REFERENCES databases(id),
    name       TEXT NOT NULL,
    def        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (db_id, name)
);
-- Visible data files. A row here is what makes a file part of a table.
CREATE TABLE IF NOT EXISTS segments (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    table_id INTEGER NOT NULL,
    bucket   INTEGER NOT NULL,
    path     TEXT NOT NULL UNIQUE,
    rows     INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    txn_id   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_by_table ON segments(table_id, bucket);
-- Files no longer referenced (dropped, truncated, compacted away); deleted when no reader
-- holds them, and always at start-up.
CREATE TABLE IF NOT EXISTS gc_files (
    path       TEXT PRIMARY KEY,
    retired_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE TABLE IF NOT EXISTS loads (
    job_id           INTEGER PRIMARY KEY,
    label            TEXT NOT NULL,
    db_name          TEXT NOT NULL,
    table_name       TEXT NOT NULL,
    state            TEXT NOT NULL,
    type             TEXT NOT NULL,
    scan_rows        INTEGER NOT NULL DEFAULT 0,
    scan_bytes       INTEGER NOT NULL DEFAULT 0,
    filtered_rows    INTEGER NOT NULL DEFAULT 0,
    unselected_rows  INTEGER NOT NULL DEFAULT 0,
    sink_rows        INTEGER NOT NULL DEFAULT 0,
    sink_bytes       INTEGER NOT NULL DEFAULT 0,
    file_number      INTEGER NOT NULL DEFAULT 0,
    file_size        INTEGER NOT NULL DEFAULT 0,
    timeout_s        INTEGER NOT NULL,
    max_filter_ratio REAL NOT NULL,
    create_time      TEXT NOT NULL,
    load_start_time  TEXT,
    load_finish_time TEXT,
    error_msg        TEXT,
    txn_id           INTEGER NOT NULL DEFAULT 0,
    sql              TEXT NOT NULL DEFAULT ''
);
-- A label is taken by any job that was not cancelled.
CREATE UNIQUE INDEX IF NOT EXISTS loads_live_label
    ON loads(db_name, label) WHERE state <> 'CANCELLED';
CREATE TABLE IF NOT EXISTS load_errors (
    job_id  INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    file    TEXT NOT NULL,
    row_num INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    value   TEXT,
    reason  TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
"#;

/// Version 2: Broker Load jobs. A job has a priority and an owner; the files it has finished
/// (`load_steps`) and the segments it wrote for them (`load_staged`) are recorded before the
/// job commits, so a restarted job reads only the files it had not finished. Staged segments
/// are not visible: the job's commit moves them into `segments`.
const V2_BROKER: &str = r#"
ALTER TABLE loads ADD COLUMN priority TEXT NOT NULL DEFAULT 'NORMAL';
ALTER TABLE loads ADD COLUMN owner TEXT NOT NULL DEFAULT 'root';
CREATE TABLE load_steps (
    job_id          INTEGER NOT NULL,
    step            INTEGER NOT NULL,
    clause          INTEGER NOT NULL,
    files           TEXT NOT NULL,
    file_bytes      INTEGER NOT NULL,
    scan_rows       INTEGER NOT NULL,
    scan_bytes      INTEGER NOT NULL,
    filtered_rows   INTEGER NOT NULL,
    unselected_rows INTEGER NOT NULL,
    sink_rows       INTEGER NOT NULL,
    PRIMARY KEY (job_id, step)
);
CREATE TABLE load_staged (
    job_id   INTEGER NOT NULL,
    step     INTEGER NOT NULL,
    table_id INTEGER NOT NULL,
    bucket   INTEGER NOT NULL,
    path     TEXT NOT NULL UNIQUE,
    rows     INTEGER NOT NULL,
    bytes    INTEGER NOT NULL
);
CREATE INDEX load_staged_by_job ON load_staged(job_id);
CREATE INDEX loads_by_state ON loads(state);
"#;

/// Version 3: pipes and their file ledger. A file version is loaded once: its row goes
/// UNLOADED → LOADING → FINISHED, the last in the commit of the batch that loaded it.
const V3_PIPES: &str = r#"
CREATE TABLE pipes (
    id               INTEGER PRIMARY KEY,
    db_name          TEXT NOT NULL,
    name             TEXT NOT NULL,
    state            TEXT NOT NULL,
    table_name       TEXT NOT NULL,
    sql              TEXT NOT NULL,
    properties       TEXT NOT NULL,
    created_time     TEXT NOT NULL,
    last_poll        INTEGER NOT NULL DEFAULT 0,
    listed_once      INTEGER NOT NULL DEFAULT 0,
    failures         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    last_error_time  TEXT,
    loaded_files     INTEGER NOT NULL DEFAULT 0,
    loaded_bytes     INTEGER NOT NULL DEFAULT 0,
    last_loaded_time TEXT,
    owner            TEXT NOT NULL DEFAULT 'root',
    UNIQUE (db_name, name)
);
CREATE TABLE pipe_files (
    pipe_id       INTEGER NOT NULL,
    file_name     TEXT NOT NULL,
    file_version  TEXT NOT NULL,
    file_size     INTEGER NOT NULL,
    last_modified TEXT,
    state         TEXT NOT NULL,
    staged_time   TEXT,
    start_load    TEXT,
    finish_load   TEXT,
    error_msg     TEXT,
    insert_label  TEXT,
    PRIMARY KEY (pipe_id, file_name, file_version)
);
CREATE INDEX pipe_files_by_state ON pipe_files(pipe_id, state, file_name);
"#;

/// Every step, oldest first; a catalog at version `n` has applied the first `n`.
const MIGRATIONS: &[&str] = &[
    V1_BASE,
    V2_BROKER,
    V3_PIPES,
    crate::auth::V4_ACCOUNTS,
    crate::views::V5_VIEWS,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(usize::MAX);
    if current > SCHEMA_VERSION {
        return Err(CatalogError::NewerSchema {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        if current > 0 || i > 0 {
            tracing::info!(version = i + 1, "catalog schema upgraded");
        }
    }
    Ok(())
}
