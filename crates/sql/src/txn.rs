//! Transactions: the uncommitted changes of a session, per table, and their conversion to store ops.
//!
//! Isolation is Snowflake's READ COMMITTED: each statement reads the latest committed data plus its own
//! transaction's changes. UPDATE/DELETE/MERGE/TRUNCATE take the table's write lock until the transaction
//! ends, then read the latest version, so concurrent read-modify-write transactions lose no update.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use store::{NewSegment, Op, Store};

/// A segment written by this transaction but not committed, with its batches kept for reads.
#[derive(Debug, Clone)]
pub struct PendingSegment {
    /// The written segment.
    pub segment: NewSegment,
    /// Its rows (fields named `c<column id>`).
    pub batches: Arc<Vec<RecordBatch>>,
}

/// Uncommitted changes to one table.
#[derive(Debug, Clone, Default)]
pub struct PendingTable {
    /// All committed rows were removed (TRUNCATE) before `appends`.
    pub truncated: bool,
    /// New segments.
    pub appends: Vec<PendingSegment>,
    /// Deleted row indexes by segment id (committed or pending segments).
    pub deletes: HashMap<u64, BTreeSet<u32>>,
}

/// An open transaction.
#[derive(Debug, Clone, Default)]
pub struct Txn {
    /// Owner id for table locks.
    pub id: u64,
    /// Changes by table id.
    pub tables: HashMap<u64, PendingTable>,
    /// True once the transaction changed anything.
    pub dirty: bool,
}

impl Txn {
    /// A new, empty transaction.
    pub fn new(id: u64) -> Txn {
        Txn { id, ..Default::default() }
    }

    /// The store ops that commit this transaction.
    pub fn into_ops(self) -> Vec<Op> {
        let mut ops = Vec::new();
        for (table_id, pending) in self.tables {
            if pending.truncated {
                ops.push(Op::Truncate { id: table_id });
            }
            let pending_ids: BTreeSet<u64> = pending.appends.iter().map(|p| p.segment.id).collect();
            for p in pending.appends {
                ops.push(Op::Append { table_id, segment: p.segment });
            }
            for (segment_id, rows) in pending.deletes {
                if pending.truncated && !pending_ids.contains(&segment_id) {
                    continue;
                }
                ops.push(Op::Delete { table_id, segment_id, rows: rows.into_iter().collect() });
            }
        }
        ops
    }

    /// Forgets written segments not present in `keep` (used for statement and transaction rollback).
    pub fn discard_new_segments(&self, keep: Option<&Txn>, store: &Store) {
        let kept: BTreeSet<u64> = keep
            .map(|k| k.tables.values().flat_map(|t| t.appends.iter().map(|a| a.segment.id)).collect())
            .unwrap_or_default();
        for table in self.tables.values() {
            for append in &table.appends {
                if !kept.contains(&append.segment.id) {
                    store.discard_segment(&append.segment);
                }
            }
        }
    }
}
