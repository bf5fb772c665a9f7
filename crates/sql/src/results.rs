//! Kept query results: every successful statement's result is written as an Arrow IPC file under
//! `<data-dir>/results/<query id>.arrow` and kept for 24 hours (Snowflake's result retention) within a
//! size bound, oldest removed first. `RESULT_SCAN('<id>')`, result polling and async results read
//! them back, also after a restart. Files are written to a temporary name and renamed, not fsynced: a
//! crash may lose the newest results, never leave a torn one.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::catalog::{Session as DfSession, TableFunctionImpl, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::scalar::ScalarValue;
use model::{ErrorKind, SfError};

use crate::result::QueryResult;

/// Schema metadata key holding the statement type of a kept result.
const STATEMENT_TYPE_KEY: &str = "floe.statement_type";

/// The kept results of the server.
#[derive(Debug)]
pub struct ResultStore {
    dir: PathBuf,
    max_bytes: u64,
    retention: Duration,
    /// Results handed to `remember` and not yet written (readable at once).
    pending: parking_lot::Mutex<HashMap<String, QueryResult>>,
    /// Results written since start (the bound is enforced every `PRUNE_EVERY` writes).
    written: std::sync::atomic::AtomicU64,
}

/// How often (in written results) expired and excess results are removed.
const PRUNE_EVERY: u64 = 256;

fn not_found(id: &str) -> SfError {
    SfError::new("000709", "02000", ErrorKind::NotFound, format!("Statement {id} not found"))
}

fn io_error(e: impl std::fmt::Display) -> SfError {
    SfError::internal(format!("result store: {e}"))
}

impl ResultStore {
    /// Opens (creating) the directory and removes expired results.
    pub fn open(dir: &Path, max_bytes: u64, retention: Duration) -> std::io::Result<ResultStore> {
        fs::create_dir_all(dir)?;
        let store = ResultStore { dir: dir.to_path_buf(), max_bytes, retention, pending: Default::default(), written: Default::default() };
        store.prune();
        Ok(store)
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        // Only UUIDs name results: nothing else can reach the file system through an id.
        uuid::Uuid::parse_str(id).ok().map(|u| self.dir.join(format!("{u}.arrow")))
    }

    /// Keeps `result` under `id`.
    pub fn save(&self, id: &str, result: &QueryResult) -> Result<(), SfError> {
        let path = self.path(id).ok_or_else(|| not_found(id))?;
        let tmp = path.with_extension("tmp");
        let mut metadata: HashMap<String, String> = result.schema.metadata().clone();
        metadata.insert(STATEMENT_TYPE_KEY.into(), result.statement_type.to_string());
        let schema = Arc::new(Schema::new_with_metadata(result.schema.fields().clone(), metadata));
        {
            let file = fs::File::create(&tmp).map_err(io_error)?;
            let mut writer = FileWriter::try_new(std::io::BufWriter::new(file), &schema).map_err(io_error)?;
            for batch in &result.batches {
                let options = datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
                let batch = datafusion::arrow::record_batch::RecordBatch::try_new_with_options(schema.clone(), batch.columns().to_vec(), &options).map_err(io_error)?;
                writer.write(&batch).map_err(io_error)?;
            }
            writer.finish().map_err(io_error)?;
        }
        fs::rename(&tmp, &path).map_err(io_error)
    }

    /// Keeps `result` under `id` at once in memory; `flush` writes it (off the request path).
    pub fn remember(&self, id: &str, result: QueryResult) {
        self.pending.lock().insert(id.to_string(), result);
    }

    /// Writes a remembered result to disk.
    pub fn flush(&self, id: &str) -> Result<(), SfError> {
        let Some(result) = self.pending.lock().get(id).cloned() else { return Ok(()) };
        let res = self.save(id, &result);
        self.pending.lock().remove(id);
        if self.written.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        res
    }

    /// The result kept under `id`, unless it expired or never existed.
    pub fn load(&self, id: &str) -> Result<QueryResult, SfError> {
        if let Some(result) = self.pending.lock().get(id) {
            return Ok(result.clone());
        }
        let path = self.path(id).ok_or_else(|| not_found(id))?;
        let file = fs::File::open(&path).map_err(|_| not_found(id))?;
        if file.metadata().and_then(|m| m.modified()).ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > self.retention) {
            return Err(not_found(id));
        }
        let reader = FileReader::try_new(std::io::BufReader::new(file), None).map_err(io_error)?;
        let schema = reader.schema();
        let statement_type = schema.metadata().get(STATEMENT_TYPE_KEY).and_then(|s| s.parse().ok()).unwrap_or(crate::result::statement_type::SELECT);
        let mut metadata = schema.metadata().clone();
        metadata.remove(STATEMENT_TYPE_KEY);
        let clean: SchemaRef = Arc::new(Schema::new_with_metadata(schema.fields().clone(), metadata));
        let batches = reader
            .map(|b| {
                b.and_then(|b| {
                    let options = datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
                    datafusion::arrow::record_batch::RecordBatch::try_new_with_options(clean.clone(), b.columns().to_vec(), &options)
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_error)?;
        Ok(QueryResult { schema: clean, batches, statement_type })
    }

    /// True when a result is kept under `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.pending.lock().contains_key(id) || self.path(id).is_some_and(|p| p.exists())
    }

    /// Removes expired results, then the oldest ones while the total exceeds the bound.
    pub fn prune(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        let now = SystemTime::now();
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        files.retain(|(modified, _, path)| {
            let expired = now.duration_since(*modified).is_ok_and(|age| age > self.retention);
            let stale_tmp = path.extension().is_some_and(|e| e == "tmp") && now.duration_since(*modified).is_ok_and(|age| age > Duration::from_secs(3600));
            if expired || stale_tmp {
                let _ = fs::remove_file(path);
            }
            !(expired || stale_tmp)
        });
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        files.sort_by_key(|f| f.0);
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            let _ = fs::remove_file(path);
            total -= len;
        }
    }
}

/// `RESULT_SCAN('<query id>')`: a kept result as a table.
#[derive(Debug)]
pub struct ResultScan(pub Option<Arc<ResultStore>>);

impl TableFunctionImpl for ResultScan {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        let id = match args.first() {
            Some(Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)), _)) => s.clone(),
            _ => return Err(DataFusionError::Plan("RESULT_SCAN takes a query id string, e.g. RESULT_SCAN(LAST_QUERY_ID())".into())),
        };
        let store = self.0.as_ref().ok_or_else(|| DataFusionError::External(Box::new(not_found(&id))))?;
        let result = store.load(&id).map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Arc::new(KeptResult(result)))
    }
}

#[derive(Debug)]
struct KeptResult(QueryResult);

#[async_trait]
impl TableProvider for KeptResult {
    fn schema(&self) -> SchemaRef {
        self.0.schema.clone()
    }
    fn table_type(&self) -> TableType {
        TableType::Temporary
    }
    async fn scan(&self, _state: &dyn DfSession, projection: Option<&Vec<usize>>, _filters: &[Expr], _limit: Option<usize>) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(MemorySourceConfig::try_new_exec(&[self.0.batches.clone()], self.0.schema.clone(), projection.cloned())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::statement_type;

    #[test]
    fn results_round_trip_expire_and_respect_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let store = ResultStore::open(dir.path(), 1 << 20, Duration::from_secs(3600)).unwrap();
        let id = uuid::Uuid::new_v4().to_string();
        let result = QueryResult::message(statement_type::SHOW, "hello");
        store.save(&id, &result).unwrap();
        let back = store.load(&id).unwrap();
        assert_eq!(back.statement_type, statement_type::SHOW);
        assert_eq!(back.batches[0].column(0).as_ref(), result.batches[0].column(0).as_ref());
        assert_eq!(back.schema.field(0).metadata(), result.schema.field(0).metadata());
        assert_eq!(store.load("../../etc/passwd").unwrap_err().code, "000709");
        assert_eq!(store.load(&uuid::Uuid::new_v4().to_string()).unwrap_err().code, "000709");
        let tiny = ResultStore::open(dir.path(), 0, Duration::from_secs(3600)).unwrap();
        assert!(!tiny.contains(&id), "over the size bound, the oldest result goes");
        let expired = ResultStore::open(dir.path(), 1 << 20, Duration::from_secs(0)).unwrap();
        expired.save(&id, &result).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(expired.load(&id).unwrap_err().code, "000709");
    }
}
