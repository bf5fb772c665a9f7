//! The in-memory catalog snapshot: databases, schemas, tables with their segment lists, and generic
//! named objects (users, warehouses, …) stored as JSON bodies owned by the SQL layer.
//!
//! A `Catalog` is immutable once published; commits build a new one (copy-on-write through `Arc`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One consistent, immutable view of everything committed.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Increases by one with every commit.
    pub version: u64,
    /// Increases with every commit that changes more than table data (DDL, objects): a plan built
    /// against one `ddl_version` stays valid for every snapshot with the same number.
    pub ddl_version: u64,
    /// Databases by stored name.
    pub databases: BTreeMap<String, Arc<Database>>,
    /// Generic objects by (kind, scope, name); scope is "" for account objects or "DB.SCHEMA".
    pub objects: BTreeMap<(String, String, String), Arc<serde_json::Value>>,
    /// Where each table id lives: (database, schema, table).
    pub table_index: HashMap<u64, (String, String, String)>,
}

/// Who made an object, when, and the user's comment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectInfo {
    /// Creation time, epoch milliseconds.
    pub created_on: i64,
    /// The owning role.
    pub owner: String,
    /// COMMENT = '…'.
    #[serde(default)]
    pub comment: Option<String>,
    /// Kind-specific options (e.g. TRANSIENT, DATA_RETENTION_TIME_IN_DAYS).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// A database and its schemas.
#[derive(Debug, Clone)]
pub struct Database {
    /// Stored name.
    pub name: String,
    /// Ownership and comment.
    pub info: ObjectInfo,
    /// Schemas by stored name.
    pub schemas: BTreeMap<String, Arc<Schema>>,
}

/// A schema and its tables and views.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Stored name.
    pub name: String,
    /// Ownership and comment.
    pub info: ObjectInfo,
    /// Tables and views by stored name.
    pub tables: BTreeMap<String, Arc<Table>>,
}

/// A table or view.
#[derive(Debug, Clone)]
pub struct Table {
    /// Stable id; data ops refer to tables by id so renames don't break open transactions.
    pub id: u64,
    /// Stored name.
    pub name: String,
    /// Ownership and comment.
    pub info: ObjectInfo,
    /// Columns and kind.
    pub def: TableDef,
    /// The committed segments.
    pub data: TableData,
}

/// What kind of relation a table entry is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum TableKind {
    /// A permanent table.
    Table,
    /// A transient table (no fail-safe in Snowflake; identical here).
    Transient,
    /// A view, with its defining query text (already normalised by the SQL layer).
    View {
        /// The SELECT text.
        query: String,
    },
}

/// The definition of a table: kind and columns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableDef {
    /// Table, transient table or view.
    pub kind: TableKind,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// The next column id to hand out; ids are never reused within a table.
    pub next_column_id: u32,
}

/// A column. Segment files name their fields `c<id>`, so renames and drops never rewrite data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Column {
    /// Stable id within the table.
    pub id: u32,
    /// Stored name.
    pub name: String,
    /// The Snowflake type as written by the SQL layer (e.g. "NUMBER(38,0)").
    pub sf_type: String,
    /// NOT NULL is absent.
    pub nullable: bool,
    /// DEFAULT expression text, if any.
    #[serde(default)]
    pub default: Option<String>,
    /// Column comment.
    #[serde(default)]
    pub comment: Option<String>,
}

impl Column {
    /// The Arrow field name used for this column inside segment files.
    pub fn field_name(&self) -> String {
        format!("c{}", self.id)
    }
}

/// The committed data of a table.
#[derive(Debug, Clone, Default)]
pub struct TableData {
    /// Segments in insertion order.
    pub segments: Vec<Arc<Segment>>,
}

impl TableData {
    /// Live rows (segment rows minus deleted rows).
    pub fn live_rows(&self) -> u64 {
        self.segments.iter().map(|s| s.rows - s.deleted.len() as u64).sum()
    }

    /// Bytes of segment payloads.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }
}

/// An immutable segment of rows plus the rows deleted from it since.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Unique id (also the file name).
    pub id: u64,
    /// Rows in the segment payload.
    pub rows: u64,
    /// Payload size in bytes.
    pub bytes: u64,
    /// True when the payload lives inline in SQLite rather than in a file.
    pub inline: bool,
    /// Sorted row indexes deleted from this segment.
    pub deleted: Arc<Vec<u32>>,
}

impl Catalog {
    /// Looks up a table by (database, schema, name).
    pub fn table(&self, db: &str, schema: &str, name: &str) -> Option<&Arc<Table>> {
        self.databases.get(db)?.schemas.get(schema)?.tables.get(name)
    }

    /// Looks up a table by id.
    pub fn table_by_id(&self, id: u64) -> Option<&Arc<Table>> {
        let (db, schema, name) = self.table_index.get(&id)?;
        self.table(db, schema, name)
    }

    /// Looks up a schema.
    pub fn schema(&self, db: &str, schema: &str) -> Option<&Arc<Schema>> {
        self.databases.get(db)?.schemas.get(schema)
    }

    /// Looks up a generic object.
    pub fn object(&self, kind: &str, scope: &str, name: &str) -> Option<&Arc<serde_json::Value>> {
        self.objects.get(&(kind.to_string(), scope.to_string(), name.to_string()))
    }

    /// All generic objects of one kind, in name order.
    pub fn objects_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a str, &'a serde_json::Value)> + 'a {
        self.objects
            .iter()
            .filter(move |((k, _, _), _)| k == kind)
            .map(|((_, scope, name), body)| (scope.as_str(), name.as_str(), body.as_ref()))
    }
}
