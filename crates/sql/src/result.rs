//! Statement results: an Arrow schema (with Snowflake types in field metadata), the batches, and the
//! statement type id the connector uses to tell DML from queries.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::types::SfType;

/// Snowflake's statement type ids (as JDBC and the Python connector know them).
pub mod statement_type {
    /// SELECT.
    pub const SELECT: u32 = 0x1000;
    /// INSERT.
    pub const INSERT: u32 = 0x3100;
    /// UPDATE.
    pub const UPDATE: u32 = 0x3200;
    /// DELETE.
    pub const DELETE: u32 = 0x3300;
    /// MERGE.
    pub const MERGE: u32 = 0x3400;
    /// Session control (ALTER SESSION).
    pub const SCL: u32 = 0x4000;
    /// USE.
    pub const USE: u32 = 0x4300;
    /// SHOW.
    pub const SHOW: u32 = 0x4400;
    /// DESCRIBE.
    pub const DESCRIBE: u32 = 0x4500;
    /// BEGIN/COMMIT/ROLLBACK.
    pub const TCL: u32 = 0x5000;
    /// DDL.
    pub const DDL: u32 = 0x6000;
}

/// The result of one statement.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Column names and types.
    pub schema: SchemaRef,
    /// Rows.
    pub batches: Vec<RecordBatch>,
    /// One of `statement_type::*`.
    pub statement_type: u32,
}

impl QueryResult {
    /// Total rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// A one-row, one-column `status` result ("Table T successfully created.").
    pub fn message(statement_type: u32, text: impl Into<String>) -> QueryResult {
        let schema = Arc::new(Schema::new(vec![SfType::Varchar(crate::types::MAX_VARCHAR).field("status", true)]));
        let array: ArrayRef = Arc::new(StringArray::from(vec![text.into()]));
        let batch = RecordBatch::try_new(schema.clone(), vec![array]).expect("status batch");
        QueryResult { schema, batches: vec![batch], statement_type }
    }

    /// A one-row result of DML counters ("number of rows inserted", …).
    pub fn counts(statement_type: u32, counts: &[(&str, u64)]) -> QueryResult {
        let fields: Vec<Field> = counts.iter().map(|(name, _)| SfType::Number(38, 0).field(name, false)).collect();
        let schema = Arc::new(Schema::new(fields));
        let arrays: Vec<ArrayRef> = counts.iter().map(|(_, n)| Arc::new(Int64Array::from(vec![*n as i64])) as ArrayRef).collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).expect("count batch");
        QueryResult { schema, batches: vec![batch], statement_type }
    }

    /// The same shape with no rows (describeOnly).
    pub fn without_rows(mut self) -> QueryResult {
        self.batches.clear();
        self
    }

    /// Adds another DML result's counters to this one's (array binding run row by row). Results that are
    /// not counters of the same shape keep the later result.
    pub fn add_counts(self, other: &QueryResult) -> QueryResult {
        let same = self.schema == other.schema && self.num_rows() == 1 && other.num_rows() == 1;
        let all_counts = self.schema.fields().iter().all(|f| f.data_type() == &datafusion::arrow::datatypes::DataType::Int64);
        if !same || !all_counts {
            return other.clone();
        }
        let (a, b) = (&self.batches[0], &other.batches[0]);
        let columns: Vec<ArrayRef> = a
            .columns()
            .iter()
            .zip(b.columns())
            .map(|(x, y)| {
                let x = x.as_any().downcast_ref::<Int64Array>().map(|v| v.value(0)).unwrap_or(0);
                let y = y.as_any().downcast_ref::<Int64Array>().map(|v| v.value(0)).unwrap_or(0);
                Arc::new(Int64Array::from(vec![x + y])) as ArrayRef
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns).expect("count batch");
        QueryResult { schema: self.schema, batches: vec![batch], statement_type: self.statement_type }
    }

    /// A result from columns of text (SHOW/DESCRIBE), all VARCHAR unless typed by `types`.
    pub fn table(statement_type: u32, schema: SchemaRef, columns: Vec<ArrayRef>) -> QueryResult {
        let batch = RecordBatch::try_new(schema.clone(), columns).expect("table batch");
        QueryResult { schema, batches: vec![batch], statement_type }
    }
}
