//! Databases, tables and their segments.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::{Catalog, CatalogError, NewSegment, Result, Segment, TableDef, TableMeta, now_string};

impl Catalog {
    /// Creates a database. Returns false when it existed and `if_not_exists` was set.
    pub fn create_database(&self, name: &str, if_not_exists: bool) -> Result<bool> {
        self.with(|c| {
            if db_id(c, name)?.is_some() {
                return if if_not_exists {
                    Ok(false)
                } else {
                    Err(CatalogError::DatabaseExists(name.to_string()))
                };
            }
            c.execute(
                "INSERT INTO databases(name, created_at) VALUES (?1, ?2)",
                params![name, now_string()],
            )?;
            Ok(true)
        })
    }

    /// Drops a database with its tables; their files move to the GC list in the same
    /// transaction. Returns false when it did not exist and `if_exists` was set.
    pub fn drop_database(&self, name: &str, if_exists: bool) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let Some(id) = db_id(&tx, name)? else {
                return if if_exists {
                    Ok(false)
                } else {
                    Err(CatalogError::UnknownDatabase(name.to_string()))
                };
            };
            let table_ids: Vec<i64> = {
                let mut st = tx.prepare("SELECT id FROM tables WHERE db_id = ?1")?;
                let ids = st.query_map([id], |r| r.get(0))?;
                ids.collect::<rusqlite::Result<_>>()?
            };
            for t in table_ids {
                retire_segments(&tx, t)?;
            }
            tx.execute("DELETE FROM tables WHERE db_id = ?1", [id])?;
            tx.execute("DELETE FROM views WHERE db_id = ?1", [id])?;
            // Its pipes go with it, file history and all.
            tx.execute(
                "DELETE FROM pipe_files WHERE pipe_id IN (SELECT id FROM pipes WHERE db_name = ?1)",
                [name],
            )?;
            tx.execute("DELETE FROM pipes WHERE db_name = ?1", [name])?;
            tx.execute("DELETE FROM databases WHERE id = ?1", [id])?;
            crate::auth::drop_object_grants(&tx, "DATABASE", name, "")?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// A database's id.
    pub fn database_id(&self, name: &str) -> Result<Option<i64>> {
        self.with(|c| db_id(c, name))
    }

    /// Database names, sorted.
    pub fn list_databases(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT name FROM databases ORDER BY name")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// True when the database exists.
    pub fn database_exists(&self, name: &str) -> Result<bool> {
        self.with(|c| Ok(db_id(c, name)?.is_some()))
    }

    /// Creates a table with no data. Returns `None` when it existed and `if_not_exists` was set.
    pub fn create_table(
        &self,
        db: &str,
        name: &str,
        def: &TableDef,
        if_not_exists: bool,
    ) -> Result<Option<TableMeta>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let id = crate::next_id_in(&tx, "table")?;
            let meta = match insert_table(&tx, id, db, name, def) {
                Err(CatalogError::TableExists(_)) if if_not_exists => return Ok(None),
                other => other?,
            };
            tx.commit()?;
            Ok(Some(meta))
        })
    }

    /// Drops a table; its files move to the GC list in the same transaction.
    pub fn drop_table(&self, db: &str, name: &str, if_exists: bool) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let Some(meta) = get_table(&tx, db, name)? else {
                return if if_exists {
                    Ok(false)
                } else {
                    Err(CatalogError::UnknownTable {
                        db: db.into(),
                        table: name.into(),
                    })
                };
            };
            retire_segments(&tx, meta.id)?;
            tx.execute("DELETE FROM tables WHERE id = ?1", [meta.id])?;
            crate::auth::drop_object_grants(&tx, "TABLE", db, name)?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Removes every row of a table (its segments move to the GC list).
    pub fn truncate_table(&self, db: &str, name: &str) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            let meta = get_table(&tx, db, name)?.ok_or_else(|| CatalogError::UnknownTable {
                db: db.into(),
                table: name.into(),
            })?;
            retire_segments(&tx, meta.id)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// A table by database and name.
    pub fn get_table(&self, db: &str, name: &str) -> Result<Option<TableMeta>> {
        self.with(|c| get_table(c, db, name))
    }

    /// Table names of a database, sorted.
    pub fn list_tables(&self, db: &str) -> Result<Vec<String>> {
        self.with(|c| {
            let id = db_id(c, db)?.ok_or_else(|| CatalogError::UnknownDatabase(db.into()))?;
            let mut st = c.prepare("SELECT name FROM tables WHERE db_id = ?1 ORDER BY name")?;
            let rows = st.query_map([id], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Every table of every database.
    pub fn all_tables(&self) -> Result<Vec<TableMeta>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT t.id, d.name, t.name, t.def, t.created_at
                 FROM tables t JOIN databases d ON d.id = t.db_id ORDER BY d.name, t.name",
            )?;
            let rows = st.query_map([], table_row)?;
            rows.map(|r| r.map_err(Into::into).and_then(decode_table))
                .collect()
        })
    }

    /// The visible segments of a table: one consistent snapshot.
    pub fn segments(&self, table_id: i64) -> Result<Vec<Segment>> {
        self.with(|c| segments_of(c, table_id))
    }

    /// Buckets holding at least `min_segments` segments of fewer than `small_bytes` bytes, as
    /// (table id, bucket): what compaction would merge. One query, so an idle round is cheap.
    pub fn small_segment_buckets(
        &self,
        small_bytes: u64,
        min_segments: usize,
    ) -> Result<Vec<(i64, u32)>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT table_id, bucket FROM segments WHERE bytes < ?1
                 GROUP BY table_id, bucket HAVING count(*) >= ?2 ORDER BY table_id, bucket",
            )?;
            let rows = st.query_map(params![small_bytes as i64, min_segments as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Number of tables.
    pub fn table_count(&self) -> Result<u64> {
        self.with(|c| {
            let n: i64 = c.query_row("SELECT count(*) FROM tables", [], |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    /// Visible rows of every table with any, by table id, in one query.
    pub fn table_rows(&self) -> Result<std::collections::HashMap<i64, u64>> {
        self.segment_sums("rows")
    }

    /// Bytes stored per table id (tables with no segments are absent).
    pub fn table_bytes(&self) -> Result<std::collections::HashMap<i64, u64>> {
        self.segment_sums("bytes")
    }

    /// `sum(column)` of the segments per table id; `column` is one of ours, never user input.
    fn segment_sums(&self, column: &'static str) -> Result<std::collections::HashMap<i64, u64>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT table_id, sum({column}) FROM segments GROUP BY table_id"
            ))?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Replaces `old` segments by `new` ones (compaction) if all of `old` are still visible;
    /// returns false, changing nothing, when any was removed meanwhile.
    pub fn replace_segments(&self, table_id: i64, old: &[i64], new: &[NewSegment]) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let txn_id = crate::next_id_in(&tx, "txn")?;
            for id in old {
                let path: Option<String> = tx
                    .query_row(
                        "SELECT path FROM segments WHERE id = ?1 AND table_id = ?2",
                        params![id, table_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(path) = path else {
                    return Ok(false);
                };
                tx.execute("DELETE FROM segments WHERE id = ?1", [id])?;
                tx.execute("INSERT OR IGNORE INTO gc_files(path) VALUES (?1)", [path])?;
            }
            insert_segments(&tx, table_id, new, txn_id)?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Files waiting for deletion.
    pub fn gc_files(&self) -> Result<Vec<String>> {
        self.gc_files_older_than(0)
    }

    /// Files retired at least `secs` seconds ago (readers that resolved a snapshot before
    /// the retirement may still be reading younger ones).
    pub fn gc_files_older_than(&self, secs: i64) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT path FROM gc_files WHERE retired_at <= unixepoch() - ?1 ORDER BY path",
            )?;
            let rows = st.query_map([secs], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Forgets files that were deleted.
    pub fn forget_gc_files(&self, paths: &[String]) -> Result<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            for p in paths {
                tx.execute("DELETE FROM gc_files WHERE path = ?1", [p])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Every path a segment row references (start-up GC keeps these).
    pub fn all_segment_paths(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT path FROM segments")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

pub(crate) fn db_id(c: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(
        c.query_row("SELECT id FROM databases WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

type TableRow = (i64, String, String, String, String);

fn table_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TableRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn decode_table((id, db, name, def, created_at): TableRow) -> Result<TableMeta> {
    let def = serde_json::from_str(&def).map_err(|e| CatalogError::CorruptDefinition {
        table: format!("{db}.{name}"),
        source: e,
    })?;
    Ok(TableMeta {
        id,
        db,
        name,
        def,
        created_at,
    })
}

pub(crate) fn get_table(c: &Connection, db: &str, name: &str) -> Result<Option<TableMeta>> {
    if db_id(c, db)?.is_none() {
        return Err(CatalogError::UnknownDatabase(db.into()));
    }
    let row = c
        .query_row(
            "SELECT t.id, d.name, t.name, t.def, t.created_at
             FROM tables t JOIN databases d ON d.id = t.db_id
             WHERE d.name = ?1 AND t.name = ?2",
            params![db, name],
            table_row,
        )
        .optional()?;
    row.map(decode_table).transpose()
}

pub(crate) fn table_exists_by_id(c: &Connection, id: i64) -> Result<bool> {
    Ok(
        c.query_row("SELECT 1 FROM tables WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

pub(crate) fn insert_table(
    tx: &Transaction<'_>,
    id: i64,
    db: &str,
    name: &str,
    def: &TableDef,
) -> Result<TableMeta> {
    let db_id = db_id(tx, db)?.ok_or_else(|| CatalogError::UnknownDatabase(db.into()))?;
    let exists: Option<i64> = tx
        .query_row(
            "SELECT id FROM tables WHERE db_id = ?1 AND name = ?2",
            params![db_id, name],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_some() || crate::views::get_view(tx, db, name)?.is_some() {
        return Err(CatalogError::TableExists(name.into()));
    }
    let json = serde_json::to_string(def).map_err(|e| CatalogError::CorruptDefinition {
        table: format!("{db}.{name}"),
        source: e,
    })?;
    let created_at = now_string();
    tx.execute(
        "INSERT INTO tables(id, db_id, name, def, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, db_id, name, json, created_at],
    )?;
    Ok(TableMeta {
        id,
        db: db.into(),
        name: name.into(),
        def: def.clone(),
        created_at,
    })
}

pub(crate) fn segments_of(c: &Connection, table_id: i64) -> Result<Vec<Segment>> {
    let mut st = c.prepare(
        "SELECT id, table_id, bucket, path, rows, bytes FROM segments
         WHERE table_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([table_id], |r| {
        Ok(Segment {
            id: r.get(0)?,
            table_id: r.get(1)?,
            bucket: r.get(2)?,
            path: r.get(3)?,
            rows: r.get::<_, i64>(4)? as u64,
            bytes: r.get::<_, i64>(5)? as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Moves every segment of a table to the GC list.
pub(crate) fn retire_segments(tx: &Transaction<'_>, table_id: i64) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO gc_files(path) SELECT path FROM segments WHERE table_id = ?1",
        [table_id],
    )?;
    tx.execute("DELETE FROM segments WHERE table_id = ?1", [table_id])?;
    Ok(())
}

pub(crate) fn insert_segments(
    tx: &Transaction<'_>,
    table_id: i64,
    segs: &[NewSegment],
    txn_id: i64,
) -> Result<()> {
    let mut st = tx.prepare(
        "INSERT INTO segments(table_id, bucket, path, rows, bytes, txn_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for s in segs {
        st.execute(params![
            table_id,
            s.bucket,
            s.path,
            s.rows as i64,
            s.bytes as i64,
            txn_id
        ])?;
    }
    Ok(())
}
