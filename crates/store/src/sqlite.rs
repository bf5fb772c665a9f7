//! The SQLite side of the store: schema, migrations and loading the catalog at start.
//!
//! All storage SQL lives in this file.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use crate::catalog::{Catalog, Database, ObjectInfo, Schema, Segment, Table, TableData, TableDef};
use crate::dir::FORMAT_VERSION;
use crate::error::{Error, Result};

#[cfg(test)]
pub(crate) const SCHEMA_V1_FOR_TESTS: &str = SCHEMA_V1;

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS databases(name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schemas(db TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY(db, name));
CREATE TABLE IF NOT EXISTS tables(id INTEGER PRIMARY KEY, db TEXT NOT NULL, schema TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments(id INTEGER PRIMARY KEY, table_id INTEGER NOT NULL, rows INTEGER NOT NULL, bytes INTEGER NOT NULL, inline BLOB);
CREATE INDEX IF NOT EXISTS segments_by_table ON segments(table_id);
CREATE TABLE IF NOT EXISTS deletes(segment_id INTEGER PRIMARY KEY, rows BLOB NOT NULL);
";

const MIGRATE_1_TO_2: &str = "
CREATE TABLE IF NOT EXISTS objects(kind TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY(kind, scope, name));
";

/// Opens the catalog database with the pragmas that make commits durable.
pub(crate) fn open(path: &std::path::Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

/// Creates a fresh catalog or migrates an older one in order; refuses a newer one. Returns the version found.
pub(crate) fn prepare(conn: &mut Connection) -> Result<u32> {
    let has_meta: bool = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'", [], |r| r.get::<_, i64>(0))?
        > 0;
    let found = if has_meta {
        let value: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key='format_version'", [], |r| r.get(0)).optional()?;
        match value {
            Some(v) => v.parse::<u32>().map_err(|_| Error::Corrupt(format!("format_version '{v}'")))?,
            None => 0,
        }
    } else {
        0
    };
    if found > FORMAT_VERSION {
        return Err(Error::NewerFormat { found, supported: FORMAT_VERSION });
    }
    let tx = conn.transaction()?;
    if found < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    if found < 2 {
        tx.execute_batch(MIGRATE_1_TO_2)?;
    }
    tx.execute(
        "INSERT INTO meta(key, value) VALUES('format_version', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![FORMAT_VERSION.to_string()],
    )?;
    tx.commit()?;
    Ok(found)
}

fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct TableBody {
    pub info: ObjectInfo,
    pub def: TableDef,
}

/// Reads the whole catalog (not segment payloads) and the highest id in use.
pub(crate) fn load(conn: &Connection) -> Result<(Catalog, u64)> {
    let mut catalog = Catalog::default();
    let mut max_id = 0u64;

    let mut dbs: BTreeMap<String, Database> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT name, body FROM databases")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (name, body) = row?;
        let info: ObjectInfo = json("database", &body)?;
        dbs.insert(name.clone(), Database { name, info, schemas: BTreeMap::new() });
    }
    let mut schemas: HashMap<(String, String), Schema> = HashMap::new();
    let mut stmt = conn.prepare("SELECT db, name, body FROM schemas")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))? {
        let (db, name, body) = row?;
        let info: ObjectInfo = json("schema", &body)?;
        schemas.insert((db, name.clone()), Schema { name, info, tables: BTreeMap::new() });
    }

    let mut deletes: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut stmt = conn.prepare("SELECT segment_id, rows FROM deletes")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))? {
        let (id, blob) = row?;
        deletes.insert(id as u64, decode_rows(&blob));
    }
    let mut segments: HashMap<u64, Vec<Arc<Segment>>> = HashMap::new();
    let mut stmt =
        conn.prepare("SELECT id, table_id, rows, bytes, inline IS NOT NULL FROM segments ORDER BY id")?;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?, r.get::<_, bool>(4)?))
    })? {
        let (id, table_id, rows, bytes, inline) = row?;
        let id = id as u64;
        max_id = max_id.max(id);
        let deleted = Arc::new(deletes.remove(&id).unwrap_or_default());
        segments.entry(table_id as u64).or_default().push(Arc::new(Segment {
            id,
            rows: rows as u64,
            bytes: bytes as u64,
            inline,
            deleted,
        }));
    }

    let mut stmt = conn.prepare("SELECT id, db, schema, name, body FROM tables")?;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?))
    })? {
        let (id, db, schema, name, body) = row?;
        let id = id as u64;
        max_id = max_id.max(id);
        let body: TableBody = json("table", &body)?;
        let data = TableData { segments: segments.remove(&id).unwrap_or_default() };
        let table = Table { id, name: name.clone(), info: body.info, def: body.def, data };
        let Some(schema_entry) = schemas.get_mut(&(db.clone(), schema.clone())) else {
            return Err(Error::Corrupt(format!("table {db}.{schema}.{name} has no schema")));
        };
        schema_entry.tables.insert(name.clone(), Arc::new(table));
        catalog.table_index.insert(id, (db, schema, name));
    }
    for ((db, _), schema) in schemas {
        if let Some(d) = dbs.get_mut(&db) {
            d.schemas.insert(schema.name.clone(), Arc::new(schema));
        }
    }
    catalog.databases = dbs.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();

    let mut stmt = conn.prepare("SELECT kind, scope, name, body FROM objects")?;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })? {
        let (kind, scope, name, body) = row?;
        let value: serde_json::Value = json("object", &body)?;
        catalog.objects.insert((kind, scope, name), Arc::new(value));
    }
    Ok((catalog, max_id))
}

pub(crate) fn encode_rows(rows: &[u32]) -> Vec<u8> {
    rows.iter().flat_map(|r| r.to_le_bytes()).collect()
}

pub(crate) fn decode_rows(blob: &[u8]) -> Vec<u32> {
    blob.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}
