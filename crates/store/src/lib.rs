//! floe's durable store: the catalog and table data in the data dir.
//!
//! Layout: `floe.db` (SQLite, WAL, synchronous=FULL) holds the catalog, the segment list and the delete
//! vectors; `segments/<id>.arrow` holds large immutable Arrow IPC segments (small ones live inline in
//! SQLite). A commit is one SQLite transaction, after the segment files it references are fsynced; so an
//! acknowledged commit survives `kill -9` and power loss, and an interrupted one leaves only orphan files
//! that the next start removes.
//!
//! Architecture invariants: no async, no DataFusion planning, no knowledge of SQL text or sessions.
//! Readers take an immutable `Arc<Catalog>` snapshot; writers serialise on one commit lock.

mod catalog;
mod dir;
mod error;
mod logs;
mod segment;
mod sqlite;
mod store;

pub use catalog::{Catalog, Column, Database, ObjectInfo, Schema, Segment, Table, TableData, TableDef, TableKind};
pub use dir::{DataDir, FORMAT_VERSION};
pub use error::{Error, Result};
pub use logs::{JobRecord, LogLine, LogQuery, LogRecord, LogSource, LogStore};
pub use segment::{NewSegment, Payload};
pub use store::{Op, Store, StoreStats};
