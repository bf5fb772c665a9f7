//! The GENERATOR(rowcount) table function.
//!
//! `generator(n)` is a table with one Int64 column `__FLOE_SEQ` holding
//! 0..n-1 (the SQL layer maps SEQ4()/SEQ8() onto it). Rows are produced lazily
//! in batches of 8192 by a streaming plan, so huge row counts never sit in
//! memory; large counts are split over several partitions. The projection
//! (including an empty one) and any pushed-down limit are honoured.

use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_expr::PhysicalSortExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::memory::{LazyBatchGenerator, LazyMemoryExec};
use parking_lot::RwLock;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Name of the generated sequence column.
pub const SEQ_COLUMN: &str = "__FLOE_SEQ";
const BATCH_ROWS: u64 = 8192;
/// Row counts above this are spread over several partitions.
const ROWS_PER_PARTITION: u64 = 1 << 20;

/// The `generator` table function.
#[derive(Debug, Default)]
pub struct GeneratorFunction;

fn literal_count(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(v, _) => match v.cast_to(&DataType::Int64).ok()? {
            ScalarValue::Int64(n) => n,
            _ => None,
        },
        Expr::Cast(c) => literal_count(&c.expr),
        Expr::TryCast(c) => literal_count(&c.expr),
        Expr::Alias(a) => literal_count(&a.expr),
        Expr::Negative(inner) => literal_count(inner).map(|n| -n),
        _ => None,
    }
}

impl TableFunctionImpl for GeneratorFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() != 1 {
            return plan_err!("GENERATOR expects exactly one argument (ROWCOUNT)");
        }
        let Some(n) = literal_count(&exprs[0]) else {
            return plan_err!("GENERATOR ROWCOUNT must be a constant integer");
        };
        if n < 0 {
            return plan_err!("GENERATOR ROWCOUNT must not be negative, got {n}");
        }
        Ok(Arc::new(GeneratorTable::new(n as u64)))
    }
}

/// A table of `rows` sequential Int64 values.
#[derive(Debug)]
pub struct GeneratorTable {
    rows: u64,
    schema: SchemaRef,
}

impl GeneratorTable {
    pub fn new(rows: u64) -> Self {
        let schema = Arc::new(Schema::new(vec![Field::new(SEQ_COLUMN, DataType::Int64, false)]));
        GeneratorTable { rows, schema }
    }

    fn plan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let total = limit.map_or(self.rows, |l| self.rows.min(l as u64));
        let max_parts = state.config_options().execution.target_partitions.max(1) as u64;
        let parts = total.div_ceil(ROWS_PER_PARTITION).clamp(1, max_parts);
        let generators = (0..parts)
            .map(|p| {
                let start = total * p / parts;
                let end = total * (p + 1) / parts;
                let g = SeqBatches { start, end, next: start, schema: Arc::clone(&self.schema) };
                Arc::new(RwLock::new(g)) as Arc<RwLock<dyn LazyBatchGenerator>>
            })
            .collect();
        let mut exec = LazyMemoryExec::try_new(Arc::clone(&self.schema), generators)?
            .with_projection(projection.cloned());
        let seq_index = match projection {
            None => Some(0),
            Some(p) => p.iter().position(|i| *i == 0),
        };
        if let Some(i) = seq_index {
            exec.add_ordering([PhysicalSortExpr::new(
                Arc::new(Column::new(SEQ_COLUMN, i)),
                SortOptions::default(),
            )]);
        }
        Ok(Arc::new(exec))
    }
}

type PlanFuture<'a> = Pin<Box<dyn Future<Output = Result<Arc<dyn ExecutionPlan>>> + Send + 'a>>;

impl TableProvider for GeneratorTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    // `TableProvider::scan` is declared with `#[async_trait]`; this is its
    // expanded form (planning is synchronous, so the future is ready at once).
    fn scan<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        state: &'life1 dyn Session,
        projection: Option<&'life2 Vec<usize>>,
        _filters: &'life3 [Expr],
        limit: Option<usize>,
    ) -> PlanFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        let plan = self.plan(state, projection, limit);
        Box::pin(std::future::ready(plan))
    }
}

/// Produces `start..end` in batches.
#[derive(Debug)]
struct SeqBatches {
    start: u64,
    end: u64,
    next: u64,
    schema: SchemaRef,
}

impl fmt::Display for SeqBatches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "generator: start={}, end={}, batch_size={BATCH_ROWS}", self.start, self.end)
    }
}

impl LazyBatchGenerator for SeqBatches {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn generate_next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.next >= self.end {
            return Ok(None);
        }
        let stop = (self.next + BATCH_ROWS).min(self.end);
        let values = Int64Array::from_iter_values(self.next as i64..stop as i64);
        self.next = stop;
        Ok(Some(RecordBatch::try_new(Arc::clone(&self.schema), vec![Arc::new(values)])?))
    }

    fn reset_state(&self) -> Arc<RwLock<dyn LazyBatchGenerator>> {
        Arc::new(RwLock::new(SeqBatches {
            start: self.start,
            end: self.end,
            next: self.start,
            schema: Arc::clone(&self.schema),
        }))
    }
}
