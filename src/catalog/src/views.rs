//! Views: a stored query with its column names, types and comments, in the same namespace as
//! the tables of its database.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::tables::db_id;
use crate::{Catalog, CatalogError, ColumnMeta, Result, now_string};

/// Version 5: views.
pub(crate) const V5_VIEWS: &str = r#"
CREATE TABLE views (
    db_id      INTEGER NOT NULL REFERENCES databases(id),
    name       TEXT NOT NULL,
    def        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (db_id, name)
);
"#;

/// What a view is: its query and the columns it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewDef {
    /// The query, as SQL whose unqualified tables are the view's database's.
    pub query: String,
    /// The columns, in order: name, type, nullability and comment.
    pub columns: Vec<ColumnMeta>,
    /// COMMENT (empty when none).
    pub comment: String,
}

/// A stored view.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewMeta {
    /// Database name.
    pub db: String,
    /// View name.
    pub name: String,
    /// Definition.
    pub def: ViewDef,
    /// Creation (or last ALTER) time, `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
}

/// How CREATE/ALTER VIEW treats an existing view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewWrite {
    /// CREATE VIEW: fails when it exists.
    Create,
    /// CREATE VIEW IF NOT EXISTS: nothing when it exists.
    CreateIfNotExists,
    /// CREATE OR REPLACE VIEW: replaces it when it exists.
    CreateOrReplace,
    /// ALTER VIEW: fails when it does not exist.
    Alter,
}

impl Catalog {
    /// Creates or redefines a view. Returns false when nothing was written (IF NOT EXISTS of
    /// an existing view). A table of the same name is always an error.
    pub fn put_view(&self, db: &str, name: &str, def: &ViewDef, how: ViewWrite) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let db_id = db_id(&tx, db)?.ok_or_else(|| CatalogError::UnknownDatabase(db.into()))?;
            if crate::tables::get_table(&tx, db, name)?.is_some() {
                return Err(CatalogError::TableExists(name.into()));
            }
            let exists = get_view(&tx, db, name)?.is_some();
            match (how, exists) {
                (ViewWrite::Create, true) => return Err(CatalogError::TableExists(name.into())),
                (ViewWrite::CreateIfNotExists, true) => return Ok(false),
                (ViewWrite::Alter, false) => {
                    return Err(CatalogError::UnknownTable {
                        db: db.into(),
                        table: name.into(),
                    });
                }
                _ => {}
            }
            let json = serde_json::to_string(def).map_err(|e| CatalogError::CorruptDefinition {
                table: format!("{db}.{name}"),
                source: e,
            })?;
            tx.execute(
                "INSERT INTO views(db_id, name, def, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (db_id, name) DO UPDATE SET def = excluded.def",
                params![db_id, name, json, now_string()],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Drops a view. Returns false when it did not exist and `if_exists` was set.
    pub fn drop_view(&self, db: &str, name: &str, if_exists: bool) -> Result<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let db_id = db_id(&tx, db)?.ok_or_else(|| CatalogError::UnknownDatabase(db.into()))?;
            let n = tx.execute(
                "DELETE FROM views WHERE db_id = ?1 AND name = ?2",
                params![db_id, name],
            )?;
            if n == 0 {
                return if if_exists {
                    Ok(false)
                } else {
                    Err(CatalogError::UnknownTable {
                        db: db.into(),
                        table: name.into(),
                    })
                };
            }
            crate::auth::drop_object_grants(&tx, "TABLE", db, name)?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// A view by database and name.
    pub fn get_view(&self, db: &str, name: &str) -> Result<Option<ViewMeta>> {
        self.with(|c| get_view(c, db, name))
    }

    /// Every view of every database, by database and name.
    pub fn all_views(&self) -> Result<Vec<ViewMeta>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT d.name, v.name, v.def, v.created_at
                 FROM views v JOIN databases d ON d.id = v.db_id ORDER BY d.name, v.name",
            )?;
            let rows = st.query_map([], view_row)?;
            rows.map(|r| r.map_err(Into::into).and_then(decode_view))
                .collect()
        })
    }
}

type ViewRow = (String, String, String, String);

fn view_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ViewRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn decode_view((db, name, def, created_at): ViewRow) -> Result<ViewMeta> {
    let def = serde_json::from_str(&def).map_err(|e| CatalogError::CorruptDefinition {
        table: format!("{db}.{name}"),
        source: e,
    })?;
    Ok(ViewMeta {
        db,
        name,
        def,
        created_at,
    })
}

pub(crate) fn get_view(c: &Connection, db: &str, name: &str) -> Result<Option<ViewMeta>> {
    let row = c
        .query_row(
            "SELECT d.name, v.name, v.def, v.created_at
             FROM views v JOIN databases d ON d.id = v.db_id
             WHERE d.name = ?1 AND v.name = ?2",
            params![db, name],
            view_row,
        )
        .optional()?;
    row.map(decode_view).transpose()
}
