//! The SQLite schema of the catalog.

use rusqlite::Connection;

use crate::Result;

const SCHEMA: &str = r#"
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

pub(crate) fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}
