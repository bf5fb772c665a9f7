//! `Store`: snapshots for readers, one commit path for writers, segment I/O with a read cache.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use parking_lot::{Mutex, RwLock};
use rusqlite::{Connection, params};

use crate::catalog::{Catalog, Database, ObjectInfo, Schema, Segment, Table, TableData, TableDef};
use crate::dir::{DataDir, sync_dir};
use crate::error::{Error, Result};
use crate::segment::{self, INLINE_MAX_BYTES, NewSegment, Payload};
use crate::sqlite::{self, TableBody, to_json};

/// One change inside a commit. A commit applies all its ops or none.
#[derive(Debug, Clone)]
pub enum Op {
    /// Creates a database (fails if it exists unless `replace`, which drops the old one first).
    CreateDatabase { name: String, info: ObjectInfo, replace: bool },
    /// Drops a database and everything in it.
    DropDatabase { name: String },
    /// Renames a database.
    RenameDatabase { name: String, new_name: String },
    /// Creates a schema.
    CreateSchema { db: String, name: String, info: ObjectInfo, replace: bool },
    /// Drops a schema and everything in it.
    DropSchema { db: String, name: String },
    /// Creates a table or view; `id` comes from `Store::reserve_id`.
    CreateTable { db: String, schema: String, id: u64, name: String, info: ObjectInfo, def: TableDef, replace: bool },
    /// Drops a table or view.
    DropTable { id: u64 },
    /// Changes a table's definition and/or name (possibly moving it to another schema).
    AlterTable { id: u64, def: TableDef, new_name: Option<(String, String, String)> },
    /// Changes the owner role recorded in a database's, schema's or table's `ObjectInfo` (GRANT OWNERSHIP):
    /// the database `db`, its schema `schema`, or the table `table_id` (which wins when given).
    SetOwner { db: String, schema: Option<String>, table_id: Option<u64>, owner: String },
    /// Removes every segment of a table (TRUNCATE).
    Truncate { id: u64 },
    /// Appends a written segment to a table.
    Append { table_id: u64, segment: NewSegment },
    /// Marks rows of a segment deleted.
    Delete { table_id: u64, segment_id: u64, rows: Vec<u32> },
    /// Creates or replaces a generic object.
    PutObject { kind: String, scope: String, name: String, body: serde_json::Value },
    /// Removes a generic object (no error if absent).
    DeleteObject { kind: String, scope: String, name: String },
}

/// Counters for benchmarks and monitoring.
#[derive(Debug, Default, Clone, Copy)]
pub struct StoreStats {
    /// Bytes of segment payloads written (inline and files).
    pub segment_bytes_written: u64,
    /// Commits performed.
    pub commits: u64,
}

/// The durable store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    dir: DataDir,
    segments_dir: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    current: RwLock<Arc<Catalog>>,
    next_id: AtomicU64,
    cache: Mutex<Cache>,
    bytes_written: AtomicU64,
    commits: AtomicU64,
    format_found: u32,
}

struct Cache {
    entries: HashMap<u64, (Arc<Vec<RecordBatch>>, u64, u64)>,
    bytes: u64,
    limit: u64,
    tick: u64,
}

impl Store {
    /// Opens (creating or migrating) the store in `path`, taking the data-dir lock.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store> {
        let dir = DataDir::open(path)?;
        let mut writer = sqlite::open(&dir.catalog_path())?;
        let format_found = sqlite::prepare(&mut writer)?;
        let reader = sqlite::open(&dir.catalog_path())?;
        let (catalog, max_id) = sqlite::load(&writer)?;
        let segments_dir = dir.segments_path();
        let max_file_id = remove_orphans(&segments_dir, &catalog)?;
        let store = Store {
            inner: Arc::new(Inner {
                segments_dir,
                writer: Mutex::new(writer),
                reader: Mutex::new(reader),
                current: RwLock::new(Arc::new(catalog)),
                next_id: AtomicU64::new(max_id.max(max_file_id) + 1),
                cache: Mutex::new(Cache { entries: HashMap::new(), bytes: 0, limit: cache_bytes, tick: 0 }),
                bytes_written: AtomicU64::new(0),
                commits: AtomicU64::new(0),
                dir,
                format_found,
            }),
        };
        Ok(store)
    }

    /// The data dir root.
    pub fn path(&self) -> &Path {
        &self.inner.dir.path
    }

    /// The format version found on disk before any migration (0 for a new data dir).
    pub fn format_found(&self) -> u32 {
        self.inner.format_found
    }

    /// The latest committed catalog.
    pub fn snapshot(&self) -> Arc<Catalog> {
        self.inner.current.read().clone()
    }

    /// Reserves a fresh id for a table or segment.
    pub fn reserve_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Counters since start.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            segment_bytes_written: self.inner.bytes_written.load(Ordering::Relaxed),
            commits: self.inner.commits.load(Ordering::Relaxed),
        }
    }

    /// Encodes batches (fields named `c<column id>`) as a segment; large ones are written and fsynced now.
    pub fn write_segment(&self, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<NewSegment> {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let bytes = segment::encode(schema, batches)?;
        let id = self.reserve_id();
        let len = bytes.len() as u64;
        self.inner.bytes_written.fetch_add(len, Ordering::Relaxed);
        let payload = if bytes.len() <= INLINE_MAX_BYTES {
            Payload::Inline(Arc::new(bytes))
        } else {
            segment::write_file(&self.inner.segments_dir, id, &bytes)?;
            Payload::File
        };
        Ok(NewSegment { id, rows: rows as u64, bytes: len, payload })
    }

    /// Forgets a written segment that will not be committed (statement failed or rolled back).
    pub fn discard_segment(&self, segment: &NewSegment) {
        if let Payload::File = segment.payload {
            let _ = std::fs::remove_file(segment::segment_file(&self.inner.segments_dir, segment.id));
        }
    }

    /// Reads a committed segment's batches, through the cache.
    pub fn read_segment(&self, segment: &Segment) -> Result<Arc<Vec<RecordBatch>>> {
        {
            let mut cache = self.inner.cache.lock();
            cache.tick += 1;
            let tick = cache.tick;
            if let Some(entry) = cache.entries.get_mut(&segment.id) {
                entry.2 = tick;
                return Ok(entry.0.clone());
            }
        }
        let bytes = if segment.inline {
            let conn = self.inner.reader.lock();
            conn.query_row("SELECT inline FROM segments WHERE id = ?1", params![segment.id as i64], |r| {
                r.get::<_, Vec<u8>>(0)
            })?
        } else {
            let path = segment::segment_file(&self.inner.segments_dir, segment.id);
            std::fs::read(&path).map_err(|e| Error::io(&path, e))?
        };
        let batches = Arc::new(segment::decode(bytes)?);
        let size: u64 = batches.iter().map(|b| b.get_array_memory_size() as u64).sum();
        let mut cache = self.inner.cache.lock();
        let tick = cache.tick;
        cache.bytes += size;
        cache.entries.insert(segment.id, (batches.clone(), size, tick));
        while cache.bytes > cache.limit && cache.entries.len() > 1 {
            let Some((&victim, _)) = cache.entries.iter().min_by_key(|(_, e)| e.2) else { break };
            if let Some(e) = cache.entries.remove(&victim) {
                cache.bytes -= e.1;
            }
        }
        Ok(batches)
    }

    /// Applies `ops` atomically: validated against the latest catalog, written in one SQLite transaction
    /// (fsynced), then published. On error nothing is committed and the catalog is unchanged.
    pub fn commit(&self, ops: Vec<Op>) -> Result<Arc<Catalog>> {
        if ops.iter().any(|op| matches!(op, Op::Append { segment: NewSegment { payload: Payload::File, .. }, .. })) {
            sync_dir(&self.inner.segments_dir)?;
        }
        let mut conn = self.inner.writer.lock();
        let base = self.snapshot();
        let mut next = (*base).clone();
        next.version += 1;
        if ops.iter().any(|op| !matches!(op, Op::Append { .. } | Op::Delete { .. } | Op::Truncate { .. })) {
            next.ddl_version += 1;
        }
        let mut files_to_remove: Vec<u64> = Vec::new();
        let tx = conn.transaction()?;
        for op in &ops {
            apply(&tx, &mut next, op, &mut files_to_remove)?;
        }
        tx.commit()?;
        let next = Arc::new(next);
        *self.inner.current.write() = next.clone();
        self.inner.commits.fetch_add(1, Ordering::Relaxed);
        drop(conn);
        for id in files_to_remove {
            let _ = std::fs::remove_file(segment::segment_file(&self.inner.segments_dir, id));
            self.inner.cache.lock().entries.remove(&id);
        }
        Ok(next)
    }

}

fn conflict(msg: impl Into<String>) -> Error {
    Error::Conflict(msg.into())
}

fn db_mut<'a>(catalog: &'a mut Catalog, db: &str) -> Result<&'a mut Database> {
    catalog.databases.get_mut(db).map(Arc::make_mut).ok_or_else(|| conflict(format!("database {db} does not exist")))
}

fn schema_mut<'a>(catalog: &'a mut Catalog, db: &str, schema: &str) -> Result<&'a mut Schema> {
    db_mut(catalog, db)?
        .schemas
        .get_mut(schema)
        .map(Arc::make_mut)
        .ok_or_else(|| conflict(format!("schema {db}.{schema} does not exist")))
}

fn table_mut<'a>(catalog: &'a mut Catalog, id: u64) -> Result<&'a mut Table> {
    let (db, schema, name) = catalog.table_index.get(&id).cloned().ok_or_else(|| conflict(format!("table {id} was dropped")))?;
    schema_mut(catalog, &db, &schema)?
        .tables
        .get_mut(&name)
        .map(Arc::make_mut)
        .ok_or_else(|| conflict(format!("table {id} was dropped")))
}

fn drop_table_rows(tx: &rusqlite::Transaction<'_>, table: &Table, files: &mut Vec<u64>) -> Result<()> {
    for seg in &table.data.segments {
        if !seg.inline {
            files.push(seg.id);
        }
    }
    tx.execute("DELETE FROM deletes WHERE segment_id IN (SELECT id FROM segments WHERE table_id = ?1)", params![table.id as i64])?;
    tx.execute("DELETE FROM segments WHERE table_id = ?1", params![table.id as i64])?;
    tx.execute("DELETE FROM tables WHERE id = ?1", params![table.id as i64])?;
    Ok(())
}

fn write_table(tx: &rusqlite::Transaction<'_>, db: &str, schema: &str, table: &Table) -> Result<()> {
    let body = TableBody { info: table.info.clone(), def: table.def.clone() };
    tx.execute(
        "INSERT INTO tables(id, db, schema, name, body) VALUES(?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET db = excluded.db, schema = excluded.schema, name = excluded.name, body = excluded.body",
        params![table.id as i64, db, schema, table.name, to_json(&body)],
    )?;
    Ok(())
}

fn drop_schema_contents(tx: &rusqlite::Transaction<'_>, catalog: &mut Catalog, db: &str, schema: &Schema, files: &mut Vec<u64>) -> Result<()> {
    for table in schema.tables.values() {
        drop_table_rows(tx, table, files)?;
        catalog.table_index.remove(&table.id);
    }
    tx.execute("DELETE FROM schemas WHERE db = ?1 AND name = ?2", params![db, schema.name])?;
    Ok(())
}

fn apply(tx: &rusqlite::Transaction<'_>, catalog: &mut Catalog, op: &Op, files: &mut Vec<u64>) -> Result<()> {
    match op {
        Op::CreateDatabase { name, info, replace } => {
            if let Some(old) = catalog.databases.get(name).cloned() {
                if !replace {
                    return Err(conflict(format!("database {name} already exists")));
                }
                for schema in old.schemas.values() {
                    drop_schema_contents(tx, catalog, name, schema, files)?;
                }
            }
            tx.execute(
                "INSERT INTO databases(name, body) VALUES(?1, ?2) ON CONFLICT(name) DO UPDATE SET body = excluded.body",
                params![name, to_json(info)],
            )?;
            catalog
                .databases
                .insert(name.clone(), Arc::new(Database { name: name.clone(), info: info.clone(), schemas: BTreeMap::new() }));
        }
        Op::DropDatabase { name } => {
            let old = catalog.databases.remove(name).ok_or_else(|| conflict(format!("database {name} does not exist")))?;
            for schema in old.schemas.values() {
                drop_schema_contents(tx, catalog, name, schema, files)?;
            }
            tx.execute("DELETE FROM databases WHERE name = ?1", params![name])?;
        }
        Op::RenameDatabase { name, new_name } => {
            if catalog.databases.contains_key(new_name) {
                return Err(conflict(format!("database {new_name} already exists")));
            }
            let mut db = catalog.databases.remove(name).ok_or_else(|| conflict(format!("database {name} does not exist")))?;
            Arc::make_mut(&mut db).name = new_name.clone();
            tx.execute("UPDATE databases SET name = ?2 WHERE name = ?1", params![name, new_name])?;
            tx.execute("UPDATE schemas SET db = ?2 WHERE db = ?1", params![name, new_name])?;
            tx.execute("UPDATE tables SET db = ?2 WHERE db = ?1", params![name, new_name])?;
            for entry in catalog.table_index.values_mut() {
                if &entry.0 == name {
                    entry.0 = new_name.clone();
                }
            }
            catalog.databases.insert(new_name.clone(), db);
        }
        Op::CreateSchema { db, name, info, replace } => {
            let existing = db_mut(catalog, db)?.schemas.get(name).cloned();
            if let Some(old) = existing {
                if !replace {
                    return Err(conflict(format!("schema {db}.{name} already exists")));
                }
                drop_schema_contents(tx, catalog, db, &old, files)?;
            }
            tx.execute(
                "INSERT INTO schemas(db, name, body) VALUES(?1, ?2, ?3) ON CONFLICT(db, name) DO UPDATE SET body = excluded.body",
                params![db, name, to_json(info)],
            )?;
            db_mut(catalog, db)?
                .schemas
                .insert(name.clone(), Arc::new(Schema { name: name.clone(), info: info.clone(), tables: BTreeMap::new() }));
        }
        Op::DropSchema { db, name } => {
            let old = db_mut(catalog, db)?.schemas.remove(name).ok_or_else(|| conflict(format!("schema {db}.{name} does not exist")))?;
            drop_schema_contents(tx, catalog, db, &old, files)?;
        }
        Op::CreateTable { db, schema, id, name, info, def, replace } => {
            let existing = schema_mut(catalog, db, schema)?.tables.get(name).cloned();
            if let Some(old) = existing {
                if !replace {
                    return Err(conflict(format!("table {db}.{schema}.{name} already exists")));
                }
                drop_table_rows(tx, &old, files)?;
                catalog.table_index.remove(&old.id);
            }
            let table = Table { id: *id, name: name.clone(), info: info.clone(), def: def.clone(), data: TableData::default() };
            write_table(tx, db, schema, &table)?;
            schema_mut(catalog, db, schema)?.tables.insert(name.clone(), Arc::new(table));
            catalog.table_index.insert(*id, (db.clone(), schema.clone(), name.clone()));
        }
        Op::DropTable { id } => {
            let (db, schema, name) = catalog.table_index.remove(id).ok_or_else(|| conflict(format!("table {id} was dropped")))?;
            let old = schema_mut(catalog, &db, &schema)?.tables.remove(&name).ok_or_else(|| conflict(format!("table {id} was dropped")))?;
            drop_table_rows(tx, &old, files)?;
        }
        Op::AlterTable { id, def, new_name } => {
            let (db, schema, name) = catalog.table_index.get(id).cloned().ok_or_else(|| conflict(format!("table {id} was dropped")))?;
            let mut table = schema_mut(catalog, &db, &schema)?.tables.remove(&name).ok_or_else(|| conflict(format!("table {id} was dropped")))?;
            Arc::make_mut(&mut table).def = def.clone();
            let (new_db, new_schema, new_table) = new_name.clone().unwrap_or((db, schema, name));
            if schema_mut(catalog, &new_db, &new_schema)?.tables.contains_key(&new_table) {
                return Err(conflict(format!("table {new_db}.{new_schema}.{new_table} already exists")));
            }
            Arc::make_mut(&mut table).name = new_table.clone();
            write_table(tx, &new_db, &new_schema, &table)?;
            schema_mut(catalog, &new_db, &new_schema)?.tables.insert(new_table.clone(), table);
            catalog.table_index.insert(*id, (new_db, new_schema, new_table));
        }
        Op::SetOwner { db, schema, table_id, owner } => match (table_id, schema) {
            (Some(id), _) => {
                let (tdb, tschema, _) = catalog.table_index.get(id).cloned().ok_or_else(|| conflict(format!("table {id} was dropped")))?;
                let table = table_mut(catalog, *id)?;
                table.info.owner = owner.clone();
                let table = table.clone();
                write_table(tx, &tdb, &tschema, &table)?;
            }
            (None, Some(name)) => {
                let s = schema_mut(catalog, db, name)?;
                s.info.owner = owner.clone();
                tx.execute("UPDATE schemas SET body = ?3 WHERE db = ?1 AND name = ?2", params![db, name, to_json(&s.info)])?;
            }
            (None, None) => {
                let d = db_mut(catalog, db)?;
                d.info.owner = owner.clone();
                tx.execute("UPDATE databases SET body = ?2 WHERE name = ?1", params![db, to_json(&d.info)])?;
            }
        },
        Op::Truncate { id } => {
            let table = table_mut(catalog, *id)?;
            for seg in &table.data.segments {
                if !seg.inline {
                    files.push(seg.id);
                }
            }
            table.data.segments.clear();
            tx.execute("DELETE FROM deletes WHERE segment_id IN (SELECT id FROM segments WHERE table_id = ?1)", params![*id as i64])?;
            tx.execute("DELETE FROM segments WHERE table_id = ?1", params![*id as i64])?;
        }
        Op::Append { table_id, segment } => {
            let table = table_mut(catalog, *table_id)?;
            let (inline, blob) = match &segment.payload {
                Payload::Inline(bytes) => (true, Some(bytes.as_slice())),
                Payload::File => (false, None),
            };
            tx.execute(
                "INSERT INTO segments(id, table_id, rows, bytes, inline) VALUES(?1, ?2, ?3, ?4, ?5)",
                params![segment.id as i64, *table_id as i64, segment.rows as i64, segment.bytes as i64, blob],
            )?;
            table.data.segments.push(Arc::new(Segment {
                id: segment.id,
                rows: segment.rows,
                bytes: segment.bytes,
                inline,
                deleted: Arc::new(Vec::new()),
            }));
        }
        Op::Delete { table_id, segment_id, rows } => {
            let table = table_mut(catalog, *table_id)?;
            let Some(pos) = table.data.segments.iter().position(|s| s.id == *segment_id) else {
                return Err(conflict(format!("segment {segment_id} of table {table_id} is gone")));
            };
            let seg = table.data.segments[pos].clone();
            let mut merged: Vec<u32> = seg.deleted.iter().copied().chain(rows.iter().copied()).collect();
            merged.sort_unstable();
            merged.dedup();
            if merged.len() as u64 >= seg.rows {
                table.data.segments.remove(pos);
                tx.execute("DELETE FROM deletes WHERE segment_id = ?1", params![*segment_id as i64])?;
                tx.execute("DELETE FROM segments WHERE id = ?1", params![*segment_id as i64])?;
                if !seg.inline {
                    files.push(seg.id);
                }
            } else {
                tx.execute(
                    "INSERT INTO deletes(segment_id, rows) VALUES(?1, ?2) ON CONFLICT(segment_id) DO UPDATE SET rows = excluded.rows",
                    params![*segment_id as i64, sqlite::encode_rows(&merged)],
                )?;
                let mut updated = (*seg).clone();
                updated.deleted = Arc::new(merged);
                table.data.segments[pos] = Arc::new(updated);
            }
        }
        Op::PutObject { kind, scope, name, body } => {
            tx.execute(
                "INSERT INTO objects(kind, scope, name, body) VALUES(?1, ?2, ?3, ?4)
                 ON CONFLICT(kind, scope, name) DO UPDATE SET body = excluded.body",
                params![kind, scope, name, to_json(body)],
            )?;
            catalog.objects.insert((kind.clone(), scope.clone(), name.clone()), Arc::new(body.clone()));
        }
        Op::DeleteObject { kind, scope, name } => {
            tx.execute("DELETE FROM objects WHERE kind = ?1 AND scope = ?2 AND name = ?3", params![kind, scope, name])?;
            catalog.objects.remove(&(kind.clone(), scope.clone(), name.clone()));
        }
    }
    Ok(())
}

/// Removes segment files no committed segment refers to (left by statements interrupted by a crash).
/// Returns the highest id seen among files so ids are never reused.
fn remove_orphans(dir: &Path, catalog: &Catalog) -> Result<u64> {
    let live: HashSet<u64> = catalog
        .databases
        .values()
        .flat_map(|d| d.schemas.values())
        .flat_map(|s| s.tables.values())
        .flat_map(|t| t.data.segments.iter().map(|s| s.id))
        .collect();
    let mut max_id = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let id = name.split('.').next().and_then(|s| s.parse::<u64>().ok());
        let Some(id) = id else { continue };
        max_id = max_id.max(id);
        if name.ends_with(".tmp") || !live.contains(&id) {
            tracing::info!(file = %name, "removing orphan segment file");
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(max_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema as ArrowSchema};

    fn info() -> ObjectInfo {
        ObjectInfo { created_on: 0, owner: "SYSADMIN".into(), comment: None, options: Default::default() }
    }

    fn setup(store: &Store) -> u64 {
        let id = store.reserve_id();
        let def = TableDef {
            kind: crate::TableKind::Table,
            columns: vec![crate::Column { id: 1, name: "ID".into(), sf_type: "NUMBER(38,0)".into(), nullable: true, default: None, comment: None }],
            next_column_id: 2,
        };
        store
            .commit(vec![
                Op::CreateDatabase { name: "DB".into(), info: info(), replace: false },
                Op::CreateSchema { db: "DB".into(), name: "PUBLIC".into(), info: info(), replace: false },
                Op::CreateTable { db: "DB".into(), schema: "PUBLIC".into(), id, name: "T".into(), info: info(), def, replace: false },
            ])
            .unwrap();
        id
    }

    fn batch(n: i64) -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(ArrowSchema::new(vec![Field::new("c1", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(0..n))]).unwrap();
        (schema, batch)
    }

    #[test]
    fn commit_survives_reopen_and_failed_commit_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let table_id;
        {
            let store = Store::open(dir.path(), 1 << 20).unwrap();
            table_id = setup(&store);
            let (schema, small) = batch(10);
            let seg = store.write_segment(&schema, &[small]).unwrap();
            let (schema, big) = batch(100_000);
            let big_seg = store.write_segment(&schema, &[big]).unwrap();
            assert!(matches!(big_seg.payload, Payload::File));
            store.commit(vec![Op::Append { table_id, segment: seg.clone() }, Op::Append { table_id, segment: big_seg }]).unwrap();
            store.commit(vec![Op::Delete { table_id, segment_id: seg.id, rows: vec![1, 3] }]).unwrap();
            let before = store.snapshot().version;
            let err = store.commit(vec![Op::CreateDatabase { name: "X".into(), info: info(), replace: false }, Op::DropTable { id: 999_999 }]);
            assert!(err.is_err());
            assert_eq!(store.snapshot().version, before);
            assert!(store.snapshot().databases.get("X").is_none());
            // An uncommitted file segment is an orphan for the next start.
            let (schema, big) = batch(100_000);
            store.write_segment(&schema, &[big]).unwrap();
        }
        let store = Store::open(dir.path(), 1 << 20).unwrap();
        let catalog = store.snapshot();
        assert!(catalog.databases.get("X").is_none());
        let table = catalog.table_by_id(table_id).unwrap();
        assert_eq!(table.data.segments.len(), 2);
        assert_eq!(table.data.live_rows(), 100_008);
        assert_eq!(*table.data.segments[0].deleted, vec![1, 3]);
        let batches = store.read_segment(&table.data.segments[1]).unwrap();
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 100_000);
        let files = std::fs::read_dir(dir.path().join("segments")).unwrap().count();
        assert_eq!(files, 1, "the orphan segment file was removed");
    }

    #[test]
    fn second_open_is_refused_while_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _store = Store::open(dir.path(), 1 << 20).unwrap();
        assert!(matches!(Store::open(dir.path(), 1 << 20), Err(Error::Locked(_))));
    }

    #[test]
    fn newer_format_is_refused_and_older_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = sqlite::open(&dir.path().join("floe.db")).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES('format_version','999');",
            )
            .unwrap();
        }
        assert!(matches!(Store::open(dir.path(), 1 << 20), Err(Error::NewerFormat { found: 999, .. })));
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = sqlite::open(&dir.path().join("floe.db")).unwrap();
            conn.execute_batch(super::super::sqlite::SCHEMA_V1_FOR_TESTS).unwrap();
            conn.execute_batch("INSERT INTO meta VALUES('format_version','1'); INSERT INTO databases VALUES('OLD', '{\"created_on\":0,\"owner\":\"SYSADMIN\"}');").unwrap();
        }
        let store = Store::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(store.format_found(), 1);
        assert!(store.snapshot().databases.contains_key("OLD"));
        store.commit(vec![Op::PutObject { kind: "USER".into(), scope: "".into(), name: "U".into(), body: serde_json::json!({}) }]).unwrap();
    }
}
