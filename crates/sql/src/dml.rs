//! INSERT, UPDATE, DELETE, MERGE and TRUNCATE.
//!
//! DML is planned as a query that yields the affected rows (UPDATE/DELETE/MERGE select the target's hidden
//! row id plus new values), so subqueries, joins and every SELECT feature work in WHERE and SET; the rows
//! found become delete vectors and new segments in the session's transaction.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, LargeStringBuilder, new_null_array};
use datafusion::arrow::compute::{CastOptions, cast_with_options, concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::sql::sqlparser::ast::{
    self, AssignmentTarget, Expr, FromTable, MergeAction, MergeClauseKind, MergeInsertKind, Statement, TableFactor, TableObject,
    UpdateTableFromKind,
};
use futures::StreamExt;
use model::{ErrorKind, SfError};
use store::Table;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::errors::from_datafusion;
use crate::provider::{ROWID, split_rowid};
use crate::result::{QueryResult, statement_type};
use crate::rewrite;
use crate::session::Session;
use crate::txn::{PendingSegment, Txn};
use crate::types::SfType;

/// Rows per segment written by DML.
const SEGMENT_ROWS: usize = 131_072;

/// Runs one DML statement in the session's transaction (or an implicit one under AUTOCOMMIT).
pub async fn execute(engine: &Engine, session: &mut Session, statement: Statement, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let implicit = session.txn.is_none();
    let mut txn = session.txn.take().unwrap_or_else(|| engine.new_txn());
    let before = txn.clone();
    let res = run(engine, session, &mut txn, statement, cancel).await;
    match res {
        Ok(result) => {
            txn.dirty = true;
            if implicit && session.autocommit() {
                engine.commit_txn(txn).await?;
            } else {
                session.txn = Some(txn);
            }
            Ok(result)
        }
        Err(e) => {
            txn.discard_new_segments(Some(&before), engine.store());
            if implicit {
                engine.rollback_txn(before);
            } else {
                session.txn = Some(before);
            }
            Err(e)
        }
    }
}

async fn run(engine: &Engine, session: &Session, txn: &mut Txn, statement: Statement, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    match statement {
        Statement::Insert(insert) => insert_stmt(engine, session, txn, insert, cancel).await,
        Statement::Update(update) => update_stmt(engine, session, txn, update, cancel).await,
        Statement::Delete(delete) => delete_stmt(engine, session, txn, delete, cancel).await,
        Statement::Merge(merge) => merge_stmt(engine, session, txn, merge, cancel).await,
        Statement::Truncate(truncate) => {
            for target in &truncate.table_names {
                let table = target_table(engine, session, &target.name, "TRUNCATE", truncate.if_exists)?;
                let Some(table) = table else { continue };
                engine.lock_table(session, txn.id, table.id, &table.name, cancel).await?;
                let pending = txn.tables.entry(table.id).or_default();
                let discarded = std::mem::take(&mut pending.appends);
                for d in &discarded {
                    engine.store().discard_segment(&d.segment);
                }
                pending.deletes.clear();
                pending.truncated = true;
            }
            Ok(QueryResult::message(statement_type::DDL, "Statement executed successfully."))
        }
        _ => Err(SfError::internal("not a DML statement")),
    }
}

fn parts(name: &ast::ObjectName) -> Vec<String> {
    name.0.iter().map(|p| p.as_ident().map(|i| i.value.clone()).unwrap_or_default()).collect()
}

/// The table a DML statement writes, checked for the privileges `verb` needs (MERGE: those of its
/// clauses, `merge_privileges`) through `access::Access::require_table`.
fn target_table(engine: &Engine, session: &Session, name: &ast::ObjectName, verb: &str, if_exists: bool) -> Result<Option<Arc<Table>>, SfError> {
    target_table_for(engine, session, name, verb, if_exists, &[verb])
}

fn target_table_for(engine: &Engine, session: &Session, name: &ast::ObjectName, verb: &str, if_exists: bool, privileges: &[&str]) -> Result<Option<Arc<Table>>, SfError> {
    let catalog = engine.store().snapshot();
    let shown = parts(name).iter().map(|p| model::display_ident(p)).collect::<Vec<_>>().join(".");
    match rewrite::qualify(&parts(name), &catalog, session.database.as_deref(), session.schema.as_deref(), session.id, verb) {
        Ok((db, schema, table)) => {
            let access = crate::access::Access::of(engine, session, &catalog);
            for privilege in privileges {
                match access.require_table(&catalog, &db, &schema, &table, &[privilege], &shown) {
                    Err(e) if if_exists && e.code == "002003" => return Ok(None),
                    other => other?,
                }
            }
            let table = catalog.table(&db, &schema, &table).cloned().expect("qualified");
            if matches!(table.def.kind, store::TableKind::View { .. }) {
                return Err(SfError::compilation(format!("Object '{}' is a view; views cannot be modified.", table.name)));
            }
            Ok(Some(table))
        }
        Err(e) if if_exists && e.code == "002003" => Ok(None),
        Err(e) => Err(e),
    }
}

fn qualified(engine: &Engine, table: &Table) -> String {
    let catalog = engine.store().snapshot();
    let (db, schema, name) = catalog.table_index.get(&table.id).cloned().unwrap_or_default();
    format!("\"{}\".\"{}\".\"{}\"", db.replace('"', "\"\""), schema.replace('"', "\"\""), name.replace('"', "\"\""))
}

/// The schema of segments written for `table` (fields `c<id>`).
fn segment_schema(table: &Table) -> SchemaRef {
    Arc::new(Schema::new(
        table
            .def
            .columns
            .iter()
            .map(|c| Field::new(c.field_name(), SfType::parse(&c.sf_type).map(|t| t.arrow()).unwrap_or(DataType::Utf8), true))
            .collect::<Vec<_>>(),
    ))
}

/// Converts a value array to a column's type with Snowflake's errors.
pub fn to_column_type(array: &ArrayRef, column: &store::Column) -> Result<ArrayRef, SfError> {
    let sf_type = SfType::parse(&column.sf_type)?;
    let target = sf_type.arrow();
    let converted = if array.data_type() == &target {
        array.clone()
    } else if target == DataType::LargeUtf8 && matches!(array.data_type(), DataType::Utf8 | DataType::Utf8View) {
        let strings = cast_with_options(array, &DataType::Utf8, &CastOptions::default()).map_err(|e| from_datafusion(e.into()))?;
        let strings = strings.as_string::<i32>();
        let mut builder = LargeStringBuilder::with_capacity(strings.len(), strings.value_data().len() + 2 * strings.len());
        for value in strings.iter() {
            match value {
                Some(v) => builder.append_value(serde_json::Value::String(v.to_string()).to_string()),
                None => builder.append_null(),
            }
        }
        Arc::new(builder.finish())
    } else if array.data_type() == &DataType::Null {
        new_null_array(&target, array.len())
    } else {
        cast_with_options(array, &target, &CastOptions { safe: false, ..Default::default() }).map_err(|e| from_datafusion(e.into()))?
    };
    if let SfType::Varchar(limit) = sf_type {
        if limit < crate::types::MAX_VARCHAR {
            if let Some(strings) = converted.as_string_opt::<i32>() {
                if let Some(long) = strings.iter().flatten().find(|s| s.chars().count() > limit as usize) {
                    return Err(SfError::new(
                        "100074",
                        "22000",
                        ErrorKind::InvalidArgument,
                        format!("String '{}' is too long and would be truncated", long),
                    ));
                }
            }
        }
    }
    if !column.nullable && converted.null_count() > 0 {
        return Err(SfError::new("100072", "22000", ErrorKind::InvalidArgument, format!("NULL result in a non-nullable column '{}'", column.name)));
    }
    Ok(converted)
}

/// Buffers new rows for one table and writes them as segments into the transaction.
struct Writer<'a> {
    engine: &'a Engine,
    table: &'a Table,
    schema: SchemaRef,
    buffer: Vec<RecordBatch>,
    buffered: usize,
    written: u64,
}

impl<'a> Writer<'a> {
    fn new(engine: &'a Engine, table: &'a Table) -> Self {
        Writer { engine, table, schema: segment_schema(table), buffer: Vec::new(), buffered: 0, written: 0 }
    }

    /// Adds rows whose columns are, in table order, already converted to the column types.
    fn push(&mut self, txn: &mut Txn, columns: Vec<ArrayRef>) -> Result<(), SfError> {
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| from_datafusion(e.into()))?;
        self.buffered += batch.num_rows();
        self.written += batch.num_rows() as u64;
        self.buffer.push(batch);
        if self.buffered >= SEGMENT_ROWS {
            self.flush(txn)?;
        }
        Ok(())
    }

    fn flush(&mut self, txn: &mut Txn) -> Result<(), SfError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let batch = concat_batches(&self.schema, &self.buffer).map_err(|e| from_datafusion(e.into()))?;
        self.buffer.clear();
        self.buffered = 0;
        let store = self.engine.store().clone();
        let schema = self.schema.clone();
        let batches = vec![batch];
        let segment = tokio::task::block_in_place(|| store.write_segment(&schema, &batches)).map_err(crate::errors::from_store)?;
        txn.tables.entry(self.table.id).or_default().appends.push(PendingSegment { segment, batches: Arc::new(batches) });
        Ok(())
    }
}

async fn next_batch(stream: &mut SendableRecordBatchStream, cancel: &CancellationToken) -> Result<Option<RecordBatch>, SfError> {
    tokio::select! {
        next = stream.next() => next.transpose().map_err(from_datafusion),
        _ = cancel.cancelled() => Err(SfError::cancelled()),
    }
}

async fn insert_stmt(engine: &Engine, session: &Session, txn: &mut Txn, insert: ast::Insert, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let TableObject::TableName(name) = &insert.table else {
        return Err(SfError::unsupported("INSERT INTO TABLE FUNCTION"));
    };
    let table = target_table(engine, session, name, "INSERT", false)?.expect("not if_exists");
    let Some(mut source) = insert.source else {
        return Err(SfError::compilation("INSERT requires VALUES or a query"));
    };
    // Map listed columns to table positions.
    let positions: Vec<usize> = if insert.columns.is_empty() {
        (0..table.def.columns.len()).collect()
    } else {
        let mut out = Vec::new();
        for col in &insert.columns {
            let col_name = parts(col).last().cloned().unwrap_or_default();
            let idx = table.def.columns.iter().position(|c| c.name == col_name).ok_or_else(|| SfError::invalid_identifier(&col_name))?;
            out.push(idx);
        }
        out
    };
    if insert.overwrite {
        engine.lock_table(session, txn.id, table.id, &table.name, cancel).await?;
        let pending = txn.tables.entry(table.id).or_default();
        pending.truncated = true;
        pending.deletes.clear();
    }
    cast_values_rows(&mut source, &table, &positions);
    let defaults = default_values(engine, session, &table).await?;
    let view = engine.view_with(Some(txn), Vec::new());
    let mut stream = engine.query_stream(session, Statement::Query(source), view).await?;
    let width = stream.schema().fields().len();
    if width != positions.len() {
        return Err(SfError::new(
            "002020",
            "21S01",
            ErrorKind::InvalidArgument,
            format!("SQL compilation error: Insert value list does not match column list expecting {} but got {}", positions.len(), width),
        ));
    }
    let mut writer = Writer::new(engine, &table);
    while let Some(batch) = next_batch(&mut stream, cancel).await? {
        if batch.num_rows() == 0 {
            continue;
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(table.def.columns.len());
        for (idx, column) in table.def.columns.iter().enumerate() {
            let array = match positions.iter().position(|p| *p == idx) {
                Some(src) => batch.column(src).clone(),
                None => match &defaults[idx] {
                    Some(value) => value.to_array_of_size(batch.num_rows()).map_err(from_datafusion)?,
                    None => new_null_array(&DataType::Null, batch.num_rows()),
                },
            };
            columns.push(to_column_type(&array, column)?);
        }
        writer.push(txn, columns)?;
    }
    writer.flush(txn)?;
    Ok(QueryResult::counts(statement_type::INSERT, &[("number of rows inserted", writer.written)]))
}

/// Snowflake converts each `INSERT … VALUES` item to its target column's type, so rows may mix forms
/// (`'2024-01-02'` next to `'2024-01-02'::DATE`). A multi-row VALUES list gets those casts written out
/// (DataFusion needs one type per VALUES column); semi-structured targets are left to the write path.
fn cast_values_rows(source: &mut ast::Query, table: &Table, positions: &[usize]) {
    let ast::SetExpr::Values(values) = source.body.as_mut() else { return };
    if values.rows.len() < 2 {
        return;
    }
    let types: Vec<Option<ast::DataType>> = positions
        .iter()
        .map(|p| {
            let sf = SfType::parse(&table.def.columns[*p].sf_type).ok()?;
            if matches!(sf, SfType::Variant | SfType::Object | SfType::Array) {
                return None;
            }
            datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::SnowflakeDialect {})
                .try_with_sql(&sf.to_sql())
                .and_then(|mut p| p.parse_data_type())
                .ok()
        })
        .collect();
    for row in values.rows.iter_mut() {
        for (expr, data_type) in row.iter_mut().zip(&types) {
            let Some(data_type) = data_type else { continue };
            if matches!(expr, ast::Expr::Value(v) if v.value == ast::Value::Null) {
                continue;
            }
            let inner = std::mem::replace(expr, ast::Expr::value(ast::Value::Null));
            *expr = ast::Expr::Cast { kind: ast::CastKind::DoubleColon, expr: Box::new(inner), data_type: data_type.clone(), array: false, format: None };
        }
    }
}

/// The table COPY INTO loads (`parts` as written), checked for INSERT like an INSERT's target.
pub(crate) fn insert_target(engine: &Engine, session: &Session, parts: &[String], verb: &str) -> Result<Arc<Table>, SfError> {
    let name = ast::ObjectName(parts.iter().map(|p| ast::ObjectNamePart::Identifier(ast::Ident::new(p.clone()))).collect());
    target_table_for(engine, session, &name, verb, false, &["INSERT"]).map(|t| t.expect("not if_exists"))
}

/// Appends rows (columns in table order, already of the column types) to `table` in the session's
/// transaction, or in one of their own committed at once under AUTOCOMMIT, as INSERT does (COPY INTO).
pub(crate) async fn append_columns(engine: &Engine, session: &mut Session, table: &Table, batches: Vec<Vec<ArrayRef>>) -> Result<u64, SfError> {
    let implicit = session.txn.is_none();
    let mut txn = session.txn.take().unwrap_or_else(|| engine.new_txn());
    let before = txn.clone();
    let mut writer = Writer::new(engine, table);
    let mut res = Ok(());
    for columns in batches {
        if columns.first().is_some_and(|c| c.is_empty()) {
            continue;
        }
        res = writer.push(&mut txn, columns);
        if res.is_err() {
            break;
        }
    }
    let res = res.and_then(|_| writer.flush(&mut txn));
    match res {
        Ok(()) => {
            txn.dirty = true;
            if implicit && session.autocommit() {
                engine.commit_txn(txn).await?;
            } else {
                session.txn = Some(txn);
            }
            Ok(writer.written)
        }
        Err(e) => {
            txn.discard_new_segments(Some(&before), engine.store());
            if implicit {
                engine.rollback_txn(before);
            } else {
                session.txn = Some(before);
            }
            Err(e)
        }
    }
}

/// Writes every row of `stream` (columns in table order) into `table` within `txn` (CTAS).
pub(crate) async fn write_stream(engine: &Engine, table: &Table, txn: &mut Txn, stream: &mut SendableRecordBatchStream, cancel: &CancellationToken) -> Result<u64, SfError> {
    let mut writer = Writer::new(engine, table);
    while let Some(batch) = next_batch(stream, cancel).await? {
        if batch.num_rows() == 0 {
            continue;
        }
        let mut columns = Vec::with_capacity(table.def.columns.len());
        for (i, column) in table.def.columns.iter().enumerate() {
            columns.push(to_column_type(batch.column(i), column)?);
        }
        writer.push(txn, columns)?;
    }
    writer.flush(txn)?;
    Ok(writer.written)
}

/// Evaluates each column's DEFAULT expression once for this statement.
async fn default_values(engine: &Engine, session: &Session, table: &Table) -> Result<Vec<Option<datafusion::scalar::ScalarValue>>, SfError> {
    let mut out = Vec::with_capacity(table.def.columns.len());
    for column in &table.def.columns {
        let Some(default) = &column.default else {
            out.push(None);
            continue;
        };
        let view = engine.view_with(None, Vec::new());
        let stream = engine.query_text(session, &format!("SELECT {default}"), view).await?;
        let (_, batches) = crate::engine::collect(stream, &CancellationToken::new()).await?;
        let value = batches
            .first()
            .filter(|b| b.num_rows() > 0)
            .map(|b| datafusion::scalar::ScalarValue::try_from_array(b.column(0), 0))
            .transpose()
            .map_err(from_datafusion)?;
        out.push(value);
    }
    Ok(out)
}

/// Joins projection expressions, naming each uniquely (DataFusion requires unique names).
fn aliased(exprs: &[String]) -> String {
    exprs.iter().enumerate().map(|(i, e)| format!("{e} AS \"__FLOE_P{i}\"")).collect::<Vec<_>>().join(", ")
}

fn alias_of(relation: &TableFactor) -> Option<String> {
    match relation {
        TableFactor::Table { alias: Some(alias), .. } => Some(alias.name.to_string()),
        _ => None,
    }
}

fn relation_name(relation: &TableFactor) -> Result<&ast::ObjectName, SfError> {
    match relation {
        TableFactor::Table { name, .. } => Ok(name),
        _ => Err(SfError::unsupported("DML target that is not a table")),
    }
}

/// Marks row ids deleted in the transaction; returns how many distinct rows were new.
fn mark_deleted(txn: &mut Txn, table_id: u64, rowids: impl Iterator<Item = i64>) -> u64 {
    let pending = txn.tables.entry(table_id).or_default();
    let mut n = 0;
    for rowid in rowids {
        let (segment, row) = split_rowid(rowid);
        if pending.deletes.entry(segment).or_insert_with(BTreeSet::new).insert(row) {
            n += 1;
        }
    }
    n
}

async fn update_stmt(engine: &Engine, session: &Session, txn: &mut Txn, update: ast::Update, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let target_name = relation_name(&update.table.relation)?;
    let table = target_table(engine, session, target_name, "UPDATE", false)?.expect("not if_exists");
    engine.lock_table(session, txn.id, table.id, &table.name, cancel).await?;
    let alias = alias_of(&update.table.relation).unwrap_or_else(|| format!("\"{}\"", table.name.replace('"', "\"\"")));
    let mut assigned: HashMap<String, String> = HashMap::new();
    for assignment in &update.assignments {
        let AssignmentTarget::ColumnName(col) = &assignment.target else {
            return Err(SfError::unsupported("tuple assignment in UPDATE"));
        };
        let col_name = parts(col).last().cloned().unwrap_or_default();
        if !table.def.columns.iter().any(|c| c.name == col_name) {
            return Err(SfError::invalid_identifier(&col_name));
        }
        assigned.insert(col_name, assignment.value.to_string());
    }
    let projection: Vec<String> = table
        .def
        .columns
        .iter()
        .map(|c| assigned.get(&c.name).cloned().unwrap_or_else(|| format!("{alias}.\"{}\"", c.name.replace('"', "\"\""))))
        .collect();
    let mut from = format!("{} AS {alias}", qualified(engine, &table));
    let extra = match &update.from {
        Some(UpdateTableFromKind::BeforeSet(t)) | Some(UpdateTableFromKind::AfterSet(t)) => Some(t),
        None => None,
    };
    if let Some(tables) = extra {
        for t in tables {
            from.push_str(&format!(", {t}"));
        }
    }
    let filter = update.selection.as_ref().map(|s| format!(" WHERE {s}")).unwrap_or_default();
    let sql = format!("SELECT {alias}.\"{ROWID}\", {} FROM {from}{filter}", aliased(&projection));
    let view = engine.view_with(Some(txn), vec![table.id]);
    let mut stream = engine.query_text(session, &sql, view).await?;
    let mut writer = Writer::new(engine, &table);
    let mut seen: HashSet<i64> = HashSet::new();
    let mut multi_joined = 0u64;
    while let Some(batch) = next_batch(&mut stream, cancel).await? {
        let rowids = batch.column(0).as_primitive::<Int64Type>();
        let keep: BooleanArray = rowids.iter().map(|r| Some(seen.insert(r.unwrap_or(-1)))).collect();
        multi_joined += keep.iter().filter(|k| *k == Some(false)).count() as u64;
        let batch = filter_record_batch(&batch, &keep).map_err(|e| from_datafusion(e.into()))?;
        if batch.num_rows() == 0 {
            continue;
        }
        let mut columns = Vec::with_capacity(table.def.columns.len());
        for (i, column) in table.def.columns.iter().enumerate() {
            columns.push(to_column_type(batch.column(i + 1), column)?);
        }
        writer.push(txn, columns)?;
        mark_deleted(txn, table.id, batch.column(0).as_primitive::<Int64Type>().iter().flatten());
    }
    writer.flush(txn)?;
    Ok(QueryResult::counts(
        statement_type::UPDATE,
        &[("number of rows updated", writer.written), ("number of multi-joined rows updated", multi_joined)],
    ))
}

async fn delete_stmt(engine: &Engine, session: &Session, txn: &mut Txn, delete: ast::Delete, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let from = match &delete.from {
        FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
    };
    let Some(first) = from.first() else { return Err(SfError::compilation("DELETE needs a table")) };
    let table = target_table(engine, session, relation_name(&first.relation)?, "DELETE", false)?.expect("not if_exists");
    engine.lock_table(session, txn.id, table.id, &table.name, cancel).await?;
    let alias = alias_of(&first.relation).unwrap_or_else(|| format!("\"{}\"", table.name.replace('"', "\"\"")));
    let mut from_sql = format!("{} AS {alias}", qualified(engine, &table));
    for t in delete.using.iter().flatten() {
        from_sql.push_str(&format!(", {t}"));
    }
    let filter = delete.selection.as_ref().map(|s| format!(" WHERE {s}")).unwrap_or_default();
    let sql = format!("SELECT {alias}.\"{ROWID}\" FROM {from_sql}{filter}");
    let view = engine.view_with(Some(txn), vec![table.id]);
    let mut stream = engine.query_text(session, &sql, view).await?;
    let mut deleted = 0;
    while let Some(batch) = next_batch(&mut stream, cancel).await? {
        deleted += mark_deleted(txn, table.id, batch.column(0).as_primitive::<Int64Type>().iter().flatten());
    }
    Ok(QueryResult::counts(statement_type::DELETE, &[("number of rows deleted", deleted)]))
}

/// The privileges a MERGE needs on its target: those of its clauses' actions.
fn merge_privileges(merge: &ast::Merge) -> Vec<&'static str> {
    let mut out = Vec::new();
    for clause in &merge.clauses {
        let p = match clause.action {
            MergeAction::Insert(_) => "INSERT",
            MergeAction::Update(_) => "UPDATE",
            MergeAction::Delete { .. } => "DELETE",
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

async fn merge_stmt(engine: &Engine, session: &Session, txn: &mut Txn, merge: ast::Merge, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let table = target_table_for(engine, session, relation_name(&merge.table)?, "MERGE", false, &merge_privileges(&merge))?.expect("not if_exists");
    engine.lock_table(session, txn.id, table.id, &table.name, cancel).await?;
    let alias = alias_of(&merge.table).unwrap_or_else(|| format!("\"{}\"", table.name.replace('"', "\"\"")));
    let target_col = |c: &store::Column| format!("{alias}.\"{}\"", c.name.replace('"', "\"\""));
    // One CASE picks the first clause whose condition holds; each clause projects its own values.
    let matched = format!("{alias}.\"{ROWID}\" IS NOT NULL");
    let mut case_arms = Vec::new();
    let mut projections: Vec<String> = vec![format!("{alias}.\"{ROWID}\"")];
    enum Kind {
        Update(usize),
        Delete,
        Insert(usize),
    }
    let mut kinds = Vec::new();
    for (i, clause) in merge.clauses.iter().enumerate() {
        let base = match clause.clause_kind {
            MergeClauseKind::Matched => matched.clone(),
            MergeClauseKind::NotMatched | MergeClauseKind::NotMatchedByTarget => format!("NOT ({matched})"),
            MergeClauseKind::NotMatchedBySource => return Err(SfError::unsupported("WHEN NOT MATCHED BY SOURCE")),
        };
        let cond = match &clause.predicate {
            Some(p) => format!("{base} AND ({p})"),
            None => base,
        };
        case_arms.push(format!("WHEN {cond} THEN {i}"));
        match &clause.action {
            MergeAction::Update(update) => {
                let mut assigned: HashMap<String, String> = HashMap::new();
                for a in &update.assignments {
                    let AssignmentTarget::ColumnName(col) = &a.target else { return Err(SfError::unsupported("tuple assignment")) };
                    let name = parts(col).last().cloned().unwrap_or_default();
                    if !table.def.columns.iter().any(|c| c.name == name) {
                        return Err(SfError::invalid_identifier(&name));
                    }
                    assigned.insert(name, a.value.to_string());
                }
                kinds.push(Kind::Update(projections.len()));
                for c in &table.def.columns {
                    projections.push(assigned.get(&c.name).cloned().unwrap_or_else(|| target_col(c)));
                }
            }
            MergeAction::Delete { .. } => kinds.push(Kind::Delete),
            MergeAction::Insert(insert) => {
                let values: Vec<String> = match &insert.kind {
                    MergeInsertKind::Values(v) => v.rows.first().map(|r| r.iter().map(Expr::to_string).collect()).unwrap_or_default(),
                    MergeInsertKind::Row => return Err(SfError::unsupported("INSERT ROW in MERGE")),
                };
                let cols: Vec<String> = if insert.columns.is_empty() {
                    table.def.columns.iter().map(|c| c.name.clone()).collect()
                } else {
                    insert.columns.iter().map(|c| parts(c).last().cloned().unwrap_or_default()).collect()
                };
                if cols.len() != values.len() {
                    return Err(SfError::new(
                        "002020",
                        "21S01",
                        ErrorKind::InvalidArgument,
                        format!("SQL compilation error: Insert value list does not match column list expecting {} but got {}", cols.len(), values.len()),
                    ));
                }
                kinds.push(Kind::Insert(projections.len()));
                for c in &table.def.columns {
                    match cols.iter().position(|n| n == &c.name) {
                        Some(p) => projections.push(values[p].clone()),
                        None => projections.push(c.default.clone().unwrap_or_else(|| "NULL".into())),
                    }
                }
                for name in &cols {
                    if !table.def.columns.iter().any(|c| &c.name == name) {
                        return Err(SfError::invalid_identifier(name));
                    }
                }
            }
        }
    }
    let source = &merge.source;
    let sql = format!(
        "SELECT CASE {} END AS \"__FLOE_CLAUSE\", {} FROM {source} LEFT JOIN {} AS {alias} ON {}",
        case_arms.join(" "),
        aliased(&projections),
        qualified(engine, &table),
        merge.on
    );
    let view = engine.view_with(Some(txn), vec![table.id]);
    let mut stream = engine.query_text(session, &sql, view).await?;
    let n_cols = table.def.columns.len();
    let mut writer = Writer::new(engine, &table);
    let (mut inserted, mut updated, mut deleted) = (0u64, 0u64, 0u64);
    let mut touched: HashSet<i64> = HashSet::new();
    let strict = session.param("ERROR_ON_NONDETERMINISTIC_MERGE").eq_ignore_ascii_case("true");
    while let Some(batch) = next_batch(&mut stream, cancel).await? {
        let clause_col = batch.column(0).as_primitive::<Int64Type>().clone();
        for (i, kind) in kinds.iter().enumerate() {
            let mask: BooleanArray = clause_col.iter().map(|c| Some(c == Some(i as i64))).collect();
            let part = filter_record_batch(&batch, &mask).map_err(|e| from_datafusion(e.into()))?;
            if part.num_rows() == 0 {
                continue;
            }
            let part_rowids = part.column(1).as_primitive::<Int64Type>();
            if !matches!(kind, Kind::Insert(_)) {
                for r in part_rowids.iter().flatten() {
                    if !touched.insert(r) && strict {
                        return Err(SfError::new("100090", "42P18", ErrorKind::InvalidArgument, "Duplicate row detected during DML action"));
                    }
                }
            }
            match kind {
                Kind::Delete => deleted += mark_deleted(txn, table.id, part_rowids.iter().flatten()),
                Kind::Update(start) | Kind::Insert(start) => {
                    let mut columns = Vec::with_capacity(n_cols);
                    for (j, column) in table.def.columns.iter().enumerate() {
                        columns.push(to_column_type(part.column(start + 1 + j), column)?);
                    }
                    let rows = part.num_rows() as u64;
                    writer.push(txn, columns)?;
                    if let Kind::Update(_) = kind {
                        mark_deleted(txn, table.id, part_rowids.iter().flatten());
                        updated += rows;
                    } else {
                        inserted += rows;
                    }
                }
            }
        }
    }
    writer.flush(txn)?;
    let mut counts: Vec<(&str, u64)> = Vec::new();
    if merge.clauses.iter().any(|c| matches!(c.action, MergeAction::Insert(_))) {
        counts.push(("number of rows inserted", inserted));
    }
    if merge.clauses.iter().any(|c| matches!(c.action, MergeAction::Update(_))) {
        counts.push(("number of rows updated", updated));
    }
    if merge.clauses.iter().any(|c| matches!(c.action, MergeAction::Delete { .. })) {
        counts.push(("number of rows deleted", deleted));
    }
    Ok(QueryResult::counts(statement_type::MERGE, &counts))
}
