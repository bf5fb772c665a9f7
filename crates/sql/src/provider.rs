//! DataFusion catalog and table providers over one statement's view of the data: a committed store
//! snapshot plus the session transaction's uncommitted changes.
//!
//! Catalog = Snowflake database, schema = schema, table = table. Segment fields are named `c<id>`;
//! the scan maps them to column names, fills columns added later with NULLs and drops deleted rows.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, new_null_array};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, Session as DfSession, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use store::{Catalog, Store, Table};

use crate::txn::PendingTable;
use crate::types::SfType;

/// Hidden column carrying `(segment id << 24) | row index`, present only in DML scans of the target.
pub const ROWID: &str = "__FLOE_ROWID";

/// Splits a row id into (segment id, row index).
pub fn split_rowid(rowid: i64) -> (u64, u32) {
    ((rowid as u64) >> 24, (rowid as u64 & 0xFF_FFFF) as u32)
}

/// What one statement sees.
#[derive(Clone)]
pub struct View {
    /// The committed snapshot.
    pub catalog: Arc<Catalog>,
    /// The transaction's pending changes by table id.
    pub pending: Arc<HashMap<u64, PendingTable>>,
    /// The store, for segment reads.
    pub store: Store,
    /// Tables whose scans expose the row id column (the DML target).
    pub rowid_tables: Vec<u64>,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "View(version {})", self.catalog.version)
    }
}

/// The Arrow schema of a table as SQL sees it.
pub fn table_schema(table: &Table, with_rowid: bool) -> SchemaRef {
    let mut fields: Vec<Field> = table
        .def
        .columns
        .iter()
        .map(|c| SfType::parse(&c.sf_type).unwrap_or(SfType::Varchar(crate::types::MAX_VARCHAR)).field(&c.name, true))
        .collect();
    if with_rowid {
        fields.push(Field::new(ROWID, DataType::Int64, false));
    }
    Arc::new(Schema::new(fields))
}

/// The catalog list handed to DataFusion for one statement.
#[derive(Debug)]
pub struct Catalogs(pub Arc<View>);

impl CatalogProviderList for Catalogs {
    fn register_catalog(&self, _name: String, _catalog: Arc<dyn CatalogProvider>) -> Option<Arc<dyn CatalogProvider>> {
        None
    }
    fn catalog_names(&self) -> Vec<String> {
        self.0.catalog.databases.keys().cloned().collect()
    }
    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        self.0.catalog.databases.contains_key(name).then(|| Arc::new(DbProvider { view: self.0.clone(), db: name.to_string() }) as _)
    }
}

#[derive(Debug)]
struct DbProvider {
    view: Arc<View>,
    db: String,
}

impl CatalogProvider for DbProvider {
    fn schema_names(&self) -> Vec<String> {
        self.view.catalog.databases.get(&self.db).map(|d| d.schemas.keys().cloned().collect()).unwrap_or_default()
    }
    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.view.catalog.schema(&self.db, name)?;
        Some(Arc::new(SchemaProv { view: self.view.clone(), db: self.db.clone(), schema: name.to_string() }))
    }
}

#[derive(Debug)]
struct SchemaProv {
    view: Arc<View>,
    db: String,
    schema: String,
}

#[async_trait]
impl SchemaProvider for SchemaProv {
    fn table_names(&self) -> Vec<String> {
        self.view.catalog.schema(&self.db, &self.schema).map(|s| s.tables.keys().cloned().collect()).unwrap_or_default()
    }
    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some(table) = self.view.catalog.table(&self.db, &self.schema, name) else { return Ok(None) };
        let with_rowid = self.view.rowid_tables.contains(&table.id);
        Ok(Some(Arc::new(FloeTable { view: self.view.clone(), table: table.clone(), schema: table_schema(table, with_rowid), with_rowid })))
    }
    fn table_exist(&self, name: &str) -> bool {
        self.view.catalog.table(&self.db, &self.schema, name).is_some()
    }
}

/// A table as DataFusion scans it.
#[derive(Debug)]
pub struct FloeTable {
    view: Arc<View>,
    table: Arc<Table>,
    schema: SchemaRef,
    with_rowid: bool,
}

#[async_trait]
impl TableProvider for FloeTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }
    async fn scan(&self, state: &dyn DfSession, projection: Option<&Vec<usize>>, _filters: &[Expr], _limit: Option<usize>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let batches = tokio::task::block_in_place(|| scan_batches(&self.view, &self.table, &self.schema, self.with_rowid))?;
        let n_partitions = state.config().target_partitions().max(1);
        let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); n_partitions.min(batches.len()).max(1)];
        let n = partitions.len();
        for (i, batch) in batches.into_iter().enumerate() {
            partitions[i % n].push(batch);
        }
        Ok(MemorySourceConfig::try_new_exec(&partitions, self.schema.clone(), projection.cloned())?)
    }
}

/// All live rows of `table` in `view`, shaped to `schema` (column names, optional row id).
pub fn scan_batches(view: &View, table: &Table, schema: &SchemaRef, with_rowid: bool) -> DfResult<Vec<RecordBatch>> {
    let pending = view.pending.get(&table.id);
    let empty = BTreeSet::new();
    let mut out = Vec::new();
    let committed = if pending.is_some_and(|p| p.truncated) { &[][..] } else { &table.data.segments[..] };
    for segment in committed {
        let batches = view.store.read_segment(segment).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let extra = pending.and_then(|p| p.deletes.get(&segment.id)).unwrap_or(&empty);
        shape_segment(table, schema, segment.id, &batches, &segment.deleted, extra, with_rowid, &mut out)?;
    }
    if let Some(pending) = pending {
        for append in &pending.appends {
            let extra = pending.deletes.get(&append.segment.id).unwrap_or(&empty);
            shape_segment(table, schema, append.segment.id, &append.batches, &[], extra, with_rowid, &mut out)?;
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn shape_segment(
    table: &Table,
    schema: &SchemaRef,
    segment_id: u64,
    batches: &[RecordBatch],
    deleted: &[u32],
    extra_deleted: &BTreeSet<u32>,
    with_rowid: bool,
    out: &mut Vec<RecordBatch>,
) -> DfResult<()> {
    let mut offset: u32 = 0;
    for batch in batches {
        let rows = batch.num_rows() as u32;
        let range = offset..offset + rows;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (column, field) in table.def.columns.iter().zip(schema.fields()) {
            let array = match batch.column_by_name(&column.field_name()) {
                Some(a) if a.data_type() == field.data_type() => a.clone(),
                Some(a) => cast(a, field.data_type())?,
                None => new_null_array(field.data_type(), batch.num_rows()),
            };
            columns.push(array);
        }
        if with_rowid {
            let base = (segment_id as i64) << 24;
            columns.push(Arc::new(Int64Array::from_iter_values((0..rows as i64).map(|i| base | (offset as i64 + i)))));
        }
        let shaped = RecordBatch::try_new_with_options(schema.clone(), columns, &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())))?;
        let dead: Vec<u32> = deleted
            .iter()
            .copied()
            .filter(|r| range.contains(r))
            .chain(extra_deleted.range(range.clone()).copied())
            .collect();
        if dead.is_empty() {
            out.push(shaped);
        } else {
            let mut keep = vec![true; rows as usize];
            for r in dead {
                keep[(r - offset) as usize] = false;
            }
            out.push(filter_record_batch(&shaped, &BooleanArray::from(keep))?);
        }
        offset += rows;
    }
    Ok(())
}
