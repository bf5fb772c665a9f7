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
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, SendableRecordBatchStream};
use futures::StreamExt;
use store::{Catalog, Store, Table};

use crate::txn::{PendingSegment, PendingTable};
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
    /// The statement's external/service function UDFs (`extfn::call::bind`), registered by `Engine::df_state`.
    pub remote_udfs: Arc<parking_lot::Mutex<Vec<datafusion::logical_expr::ScalarUDF>>>,
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
        let _ = &self.view;
        Ok(Arc::new(FloeScanExec::new(
            self.table.id,
            self.table.name.clone(),
            self.schema.clone(),
            projection.cloned(),
            self.with_rowid,
            state.config().target_partitions().max(1),
        )?))
    }
}

/// The scan of one table. The plan names the table by id and binds to data only when executed: the
/// [`View`] comes from the task context's session config, so one physical plan can run against
/// successive snapshots (the session plan cache relies on this; the catalog's `ddl_version` guards the
/// table's shape). Segments are dealt round-robin to the partitions and read lazily, one at a time.
#[derive(Debug)]
pub struct FloeScanExec {
    table_id: u64,
    table_name: String,
    /// The table's full schema (with the row id column when `with_rowid`).
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    with_rowid: bool,
    partitions: usize,
    props: Arc<PlanProperties>,
}

impl FloeScanExec {
    fn new(table_id: u64, table_name: String, schema: SchemaRef, projection: Option<Vec<usize>>, with_rowid: bool, partitions: usize) -> DfResult<Self> {
        let projected = match &projection {
            Some(p) => Arc::new(schema.project(p)?),
            None => schema.clone(),
        };
        let props = PlanProperties::new(
            EquivalenceProperties::new(projected),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(FloeScanExec { table_id, table_name, schema, projection, with_rowid, partitions, props: Arc::new(props) })
    }
}

impl DisplayAs for FloeScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "FloeScanExec: table={} (id {}), projection={:?}", self.table_name, self.table_id, self.projection)
    }
}

/// One unit of scan work: a committed segment or a transaction's pending one.
enum Piece {
    Committed(Arc<store::Segment>),
    Pending(PendingSegment),
}

impl ExecutionPlan for FloeScanExec {
    fn name(&self) -> &str {
        "FloeScanExec"
    }
    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }
    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }
    fn apply_expressions(&self, _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }
    fn with_new_children(self: Arc<Self>, _children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }
    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let view = context
            .session_config()
            .get_extension::<View>()
            .ok_or_else(|| DataFusionError::Internal("table scan executed without a view".into()))?;
        let Some(table) = view.catalog.table_by_id(self.table_id).cloned() else {
            return Err(DataFusionError::Plan(format!("Object '{}' does not exist or not authorized.", self.table_name)));
        };
        let pending = view.pending.get(&table.id).cloned();
        let committed: &[Arc<store::Segment>] = if pending.as_ref().is_some_and(|p| p.truncated) { &[] } else { &table.data.segments };
        let pieces: Vec<Piece> = committed
            .iter()
            .cloned()
            .map(Piece::Committed)
            .chain(pending.iter().flat_map(|p| p.appends.iter().cloned().map(Piece::Pending)))
            .enumerate()
            .filter(|(i, _)| i % self.partitions == partition)
            .map(|(_, p)| p)
            .collect();
        let schema = self.schema.clone();
        let projection = self.projection.clone();
        let with_rowid = self.with_rowid;
        let out_schema = self.props.eq_properties.schema().clone();
        let stream = futures::stream::iter(pieces).flat_map(move |piece| {
            let extra = pending.as_ref();
            let result = (|| {
                let empty = BTreeSet::new();
                let (id, batches, deleted) = match &piece {
                    Piece::Committed(seg) => {
                        let batches = view.store.read_segment(seg).map_err(|e| DataFusionError::External(Box::new(e)))?;
                        (seg.id, batches, seg.deleted.clone())
                    }
                    Piece::Pending(p) => (p.segment.id, p.batches.clone(), Arc::new(Vec::new())),
                };
                let extra = extra.and_then(|p| p.deletes.get(&id)).unwrap_or(&empty);
                let mut out = Vec::new();
                shape_segment(&table, &schema, projection.as_deref(), id, &batches, &deleted, extra, with_rowid, &mut out)?;
                Ok::<_, DataFusionError>(out)
            })();
            let items: Vec<DfResult<RecordBatch>> = match result {
                Ok(batches) => batches.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            futures::stream::iter(items)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(out_schema, stream)))
    }
}

#[allow(clippy::too_many_arguments)]
fn shape_segment(
    table: &Table,
    schema: &SchemaRef,
    projection: Option<&[usize]>,
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
        let mut shaped = RecordBatch::try_new_with_options(schema.clone(), columns, &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())))?;
        if let Some(p) = projection {
            shaped = shaped.project(p)?;
        }
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
