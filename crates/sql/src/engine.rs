//! The statement pipeline every front door shares: parse → plan → execute, against a session.
//!
//! The engine owns the store handle, DataFusion's base state (with floe's functions) and the table
//! locks. Front doors own sessions' wire identity (tokens) and result encoding.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::{SessionStateBuilder, TaskContext};
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::context::SessionState;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::{self, Statement};
use futures::StreamExt;
use model::SfError;
use store::Store;
use tokio_util::sync::CancellationToken;

use crate::errors::from_datafusion;
use crate::bind::{self, Bindings};
use crate::parse::{self, Stmt};
use crate::plan_cache;
use crate::provider::{Catalogs, View};
use crate::result::{QueryResult, statement_type};
use crate::rewrite::{self, Context};
use crate::session::Session;
use crate::txn::Txn;

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The account name (CURRENT_ACCOUNT()).
    pub account: String,
    /// Memory limit of one statement's DataFusion execution, bytes.
    pub statement_memory_bytes: usize,
    /// DataFusion target partitions.
    pub partitions: usize,
    /// `host:port` of floe's image registry, the first part of every image repository's URL.
    pub registry_address: String,
    /// Where kept query results live (`<data-dir>/results`); `None` keeps none (RESULT_SCAN fails).
    pub results_dir: Option<std::path::PathBuf>,
    /// Size bound of the kept results, bytes.
    pub result_cache_bytes: u64,
    /// How long results are kept (Snowflake: 24 hours).
    pub result_retention: Duration,
    /// External and service function calls.
    pub remote: crate::extfn::call::RemoteConfig,
    /// The port of the ingress listener (public endpoints' `ingress_url`); None: no ingress.
    pub ingress_port: Option<u16>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            account: "floe".into(),
            statement_memory_bytes: 4 << 30,
            partitions: 2,
            registry_address: "127.0.0.1:8080".into(),
            results_dir: None,
            result_cache_bytes: 1 << 30,
            result_retention: Duration::from_secs(24 * 3600),
            remote: Default::default(),
            ingress_port: None,
        }
    }
}

/// The shared SQL engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) config: EngineConfig,
    base_state: SessionState,
    results: Option<Arc<crate::results::ResultStore>>,
    pub(crate) locks: crate::locks::LockManager,
    next_txn: AtomicU64,
    spcs: Arc<crate::spcs::Runtime>,
    images: std::sync::OnceLock<Arc<dyn crate::objects::image_repo::ImageStore>>,
    remote: remote::Client,
}

/// Parses one statement, applying single-row `bindings` at the token level where the syntax tree
/// cannot take them: PUT/GET (read from their text), `IDENTIFIER(?)` and floe's own statements. True
/// when the bindings were applied; plain SQL takes them later in its syntax tree (typed literals,
/// array binding).
fn parse_bound(statement: &parse::StatementText, bindings: &Bindings) -> Result<(Stmt, bool), SfError> {
    if bindings.is_empty() || bindings.array_rows().is_some() {
        return Ok((parse::parse(statement)?, false));
    }
    if crate::objects::transfer::is_transfer(&statement.text) {
        let text = bind::substitute_transfer(&statement.text, bindings)?;
        return Ok((parse::parse(&parse::StatementText { tokens: Vec::new(), text })?, true));
    }
    if !bind::binds_identifier(&statement.tokens)
        && let Stmt::Sql(ast) = parse::parse(statement)?
    {
        return Ok((Stmt::Sql(ast), false));
    }
    let mut bound = statement.clone();
    bind::substitute_tokens(&mut bound.tokens, bindings, 0)?;
    parse::expand_identifier_calls(&mut bound.tokens)?;
    Ok((parse::parse(&bound)?, true))
}

impl Engine {
    /// Builds the engine over an opened store.
    pub fn new(store: Store, config: EngineConfig) -> Result<Engine, SfError> {
        let mut session_config = SessionConfig::new()
            .with_target_partitions(config.partitions)
            .with_information_schema(false)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema("__FLOE_NONE__", "__FLOE_NONE__");
        session_config.options_mut().sql_parser.enable_ident_normalization = false;
        session_config.options_mut().sql_parser.dialect = datafusion::config::Dialect::Snowflake;
        session_config.options_mut().execution.time_zone = Some("+00:00".into());
        // One optimizer pass: Snowflake-style short statements dominate, and a second pass rarely changes them.
        session_config.options_mut().optimizer.max_passes = 1;
        // Snowflake's EXTRACT (floe-functions' planner) must come before DataFusion's own.
        let mut builder = SessionStateBuilder::new().with_config(session_config).with_default_features();
        if let Some(planners) = builder.expr_planners() {
            for (i, planner) in functions::expr_planners().into_iter().enumerate() {
                planners.insert(i, planner);
            }
        }
        let ctx = SessionContext::new_with_state(builder.build());
        functions::register_all(&ctx).map_err(from_datafusion)?;
        let results = match &config.results_dir {
            Some(dir) => Some(Arc::new(
                crate::results::ResultStore::open(dir, config.result_cache_bytes, config.result_retention)
                    .map_err(|e| SfError::internal(format!("cannot open the result store {}: {e}", dir.display())))?,
            )),
            None => None,
        };
        ctx.register_udtf("result_scan", Arc::new(crate::results::ResultScan(results.clone())));
        let base_state = ctx.state();
        let remote = remote::Client::new(config.remote.settings.clone());
        Ok(Engine {
            inner: Arc::new(Inner { store, config, base_state, results, locks: Default::default(), next_txn: AtomicU64::new(1), spcs: Default::default(), images: Default::default(), remote }),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The kept query results (RESULT_SCAN, result polling across restarts).
    pub fn results(&self) -> Option<&Arc<crate::results::ResultStore>> {
        self.inner.results.as_ref()
    }

    /// The link to the control plane that runs services and jobs.
    pub fn spcs(&self) -> &Arc<crate::spcs::Runtime> {
        &self.inner.spcs
    }

    /// Connects floe's image registry (SHOW IMAGES, DROP IMAGE REPOSITORY's collection); once.
    pub fn set_image_store(&self, images: Arc<dyn crate::objects::image_repo::ImageStore>) {
        let _ = self.inner.images.set(images);
    }

    /// floe's image registry, when the server runs one.
    pub fn image_store(&self) -> Option<&Arc<dyn crate::objects::image_repo::ImageStore>> {
        self.inner.images.get()
    }

    /// The HTTP client of external and service functions.
    pub fn remote_client(&self) -> &remote::Client {
        &self.inner.remote
    }

    /// The engine settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub(crate) fn new_txn(&self) -> Txn {
        Txn::new(self.inner.next_txn.fetch_add(1, Ordering::Relaxed))
    }

    /// Runs every statement of `sql` in order and returns each statement's result.
    pub async fn execute(&self, session: &mut Session, sql: &str, cancel: &CancellationToken) -> Result<Vec<QueryResult>, SfError> {
        self.execute_bound(session, sql, &Bindings::default(), cancel).await
    }

    /// Like `execute`, with server-side bindings for the statements' placeholders.
    pub async fn execute_bound(&self, session: &mut Session, sql: &str, bindings: &Bindings, cancel: &CancellationToken) -> Result<Vec<QueryResult>, SfError> {
        let statements = parse::split(sql)?;
        if statements.is_empty() {
            return Err(SfError::new("000900", "42000", model::ErrorKind::InvalidArgument, "Empty SQL statement."));
        }
        let mut results = Vec::with_capacity(statements.len());
        session.current_cancel = cancel.clone();
        for statement in &statements {
            session.current_statement = statement.text.clone();
            let (stmt, bound) = parse_bound(statement, bindings)?;
            let result = if bound || bindings.is_empty() {
                self.execute_stmt(session, stmt, &statement.text, cancel).await?
            } else {
                self.execute_with_bindings(session, stmt, &statement.text, bindings, cancel).await?
            };
            results.push(result);
        }
        Ok(results)
    }

    /// One statement with bindings: placeholders become literals; an array binding runs a single-row
    /// `INSERT … VALUES` as one multi-row statement, anything else once per bound row (DML counts summed).
    async fn execute_with_bindings(&self, session: &mut Session, stmt: Stmt, text: &str, bindings: &Bindings, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
        let Stmt::Sql(mut ast) = stmt else { return self.execute_stmt(session, stmt, text, cancel).await };
        let Some(rows) = bindings.array_rows() else {
            bind::substitute(&mut ast, bindings, 0)?;
            return self.execute_stmt(session, Stmt::Sql(ast), text, cancel).await;
        };
        if bind::expand_insert(&mut ast, bindings, rows)? {
            return self.execute_stmt(session, Stmt::Sql(ast), text, cancel).await;
        }
        let mut total: Option<QueryResult> = None;
        for row in 0..rows {
            let mut one = ast.clone();
            bind::substitute(&mut one, bindings, row)?;
            let result = self.execute_stmt(session, Stmt::Sql(one), text, cancel).await?;
            total = Some(match total {
                Some(sum) => sum.add_counts(&result),
                None => result,
            });
        }
        total.ok_or_else(|| SfError::new("002099", "22000", model::ErrorKind::InvalidArgument, "Array bind with no rows."))
    }

    /// The shape of a statement's result without running it (`describeOnly`): the result schema with
    /// no rows, and the number of placeholders.
    pub async fn describe(&self, session: &mut Session, sql: &str) -> Result<(QueryResult, usize), SfError> {
        let statements = parse::split(sql)?;
        let Some(statement) = statements.last() else {
            return Err(SfError::new("000900", "42000", model::ErrorKind::InvalidArgument, "Empty SQL statement."));
        };
        let Stmt::Sql(mut ast) = parse::parse(statement)? else {
            return Ok((QueryResult::message(statement_type::SCL, "").without_rows(), 0));
        };
        let binds = bind::count_placeholders(&ast);
        bind::nullify(&mut ast);
        let shape = match *ast {
            Statement::Query(_) => {
                let view = self.read_view(session, Vec::new());
                let mut statement = *ast;
                self.prepare_statement(session, &mut statement, &view, "SELECT")?;
                let mut state = self.df_state(view);
                crate::spcs::telemetry::register(&mut state, self, session);
                let plan = state
                    .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement)))
                    .await
                    .map_err(from_datafusion)?;
                let schema: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
                let schema = rewrite::strip_duplicate_marks(&schema).unwrap_or(schema);
                QueryResult { schema, batches: vec![], statement_type: statement_type::SELECT }
            }
            Statement::Insert(_) => QueryResult::counts(statement_type::INSERT, &[("number of rows inserted", 0)]).without_rows(),
            Statement::Update(..) => QueryResult::counts(statement_type::UPDATE, &[("number of rows updated", 0), ("number of multi-joined rows updated", 0)]).without_rows(),
            Statement::Delete(_) => QueryResult::counts(statement_type::DELETE, &[("number of rows deleted", 0)]).without_rows(),
            Statement::Merge(..) => QueryResult::counts(statement_type::MERGE, &[("number of rows inserted", 0), ("number of rows updated", 0), ("number of rows deleted", 0)]).without_rows(),
            _ => QueryResult::message(statement_type::DDL, "").without_rows(),
        };
        Ok((shape, binds))
    }

    /// Runs one parsed statement.
    pub async fn execute_stmt(&self, session: &mut Session, stmt: Stmt, text: &str, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
        match stmt {
            Stmt::Sql(statement) => self.execute_sql(session, *statement, text, cancel).await,
            Stmt::Spcs(stmt) => crate::spcs::execute(self, session, *stmt, cancel).await,
            Stmt::Functions(stmt) => crate::extfn::execute(self, session, *stmt, cancel).await,
            Stmt::CreateUsingTemplate { create, query } => crate::ddl::create_using_template(self, session, &create, &query, cancel).await,
            other => crate::ddl::execute_floe(self, session, other).await,
        }
    }

    async fn execute_sql(&self, session: &mut Session, statement: Statement, text: &str, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
        match statement {
            Statement::Query(_) => {
                let view = self.read_view(session, Vec::new());
                let stream = self.cached_query_stream(session, statement, view).await?;
                let (mut schema, mut batches) = collect(stream, cancel).await?;
                if let Some(renamed) = rewrite::strip_duplicate_marks(&schema) {
                    batches = batches
                        .into_iter()
                        .map(|b| RecordBatch::try_new(renamed.clone(), b.columns().to_vec()))
                        .collect::<Result<_, _>>()
                        .map_err(|e| from_datafusion(e.into()))?;
                    schema = renamed;
                }
                Ok(QueryResult { schema, batches, statement_type: statement_type::SELECT })
            }
            Statement::Insert(_) | Statement::Update(..) | Statement::Delete(_) | Statement::Merge(..) | Statement::Truncate(..) => {
                crate::dml::execute(self, session, statement, cancel).await
            }
            other => crate::ddl::execute_sql_ddl(self, session, other, text, cancel).await,
        }
    }

    /// The view a statement reads: latest committed data plus the session transaction's changes.
    pub(crate) fn read_view(&self, session: &Session, rowid_tables: Vec<u64>) -> Arc<View> {
        self.view_with(session.txn.as_ref(), rowid_tables)
    }

    pub(crate) fn view_with(&self, txn: Option<&Txn>, rowid_tables: Vec<u64>) -> Arc<View> {
        let pending = txn.map(|t| t.tables.clone()).unwrap_or_default();
        Arc::new(View { catalog: self.inner.store.snapshot(), pending: Arc::new(pending), store: self.inner.store.clone(), rowid_tables, remote_udfs: Default::default() })
    }

    pub(crate) fn context<'a>(&'a self, session: &'a Session) -> Context<'a> {
        Context {
            database: session.database.as_deref(),
            schema: session.schema.as_deref(),
            user: &session.user,
            role: &session.role,
            warehouse: session.warehouse.as_deref(),
            account: &self.inner.config.account,
            session_id: session.id,
            query_ids: &session.query_ids,
        }
    }

    /// A DataFusion state whose catalogs are `view` and whose clock starts now (a clone of the base state:
    /// no function re-registration).
    pub(crate) fn df_state(&self, view: Arc<View>) -> SessionState {
        let mut state = self.inner.base_state.clone();
        for udf in view.remote_udfs.lock().iter() {
            // Names are fresh per statement (`extfn::call::PREFIX`), so registration cannot clash.
            let _ = state.register_udf(Arc::new(udf.clone()));
        }
        state.register_catalog_list(Arc::new(Catalogs(view)));
        // CURRENT_TIMESTAMP and friends are the statement's start, not the engine's.
        state.mark_start_execution();
        state
    }

    /// The task context one statement executes with: its own memory pool, shared disk and object stores,
    /// and the view its table scans read (see `provider::FloeScanExec`).
    fn task_context(&self, state: &SessionState, view: Arc<View>) -> Arc<TaskContext> {
        let base = state.runtime_env();
        let runtime = RuntimeEnv {
            memory_pool: Arc::new(GreedyMemoryPool::new(self.inner.config.statement_memory_bytes)),
            disk_manager: base.disk_manager.clone(),
            cache_manager: base.cache_manager.clone(),
            object_store_registry: base.object_store_registry.clone(),
        };
        let config = state.config().clone().with_extension(view);
        Arc::new(TaskContext::from(state).with_session_config(config).with_runtime(Arc::new(runtime)))
    }

    /// A top-level query through the session's plan cache (`plan_cache`): the statement is rewritten,
    /// its comparison literals lifted into parameters, and a plan cached for the resulting text is
    /// executed with the new values instead of planning again.
    async fn cached_query_stream(&self, session: &mut Session, mut statement: Statement, view: Arc<View>) -> Result<SendableRecordBatchStream, SfError> {
        self.prepare_statement(session, &mut statement, &view, "SELECT")?;
        let values = plan_cache::parameterize(&mut statement);
        let key = plan_cache::key(session, &statement.to_string(), view.catalog.ddl_version);
        if let Some(cached) = session.plans.get(&key) {
            *cached.params.lock() = values;
            let plan = reset_plan_states(cached.plan).map_err(from_datafusion)?;
            let context = self.task_context(&self.inner.base_state, view);
            return execute_stream(plan, context).map_err(from_datafusion);
        }
        let params: plan_cache::ParamCell = Arc::new(parking_lot::Mutex::new(values));
        let mut state = self.df_state(view.clone());
        crate::spcs::telemetry::register(&mut state, self, session);
        for udf in plan_cache::param_udfs(&params) {
            state.register_udf(Arc::new(udf)).map_err(from_datafusion)?;
        }
        let plan = state
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement)))
            .await
            .map_err(from_datafusion)?;
        let cacheable = plan_cache::cacheable(&plan) && view.remote_udfs.lock().is_empty();
        let physical = self.physical_plan(&state, &plan).await?;
        if cacheable {
            session.plans.put(key, plan_cache::CachedPlan { plan: physical.clone(), schema: physical.schema(), params });
        }
        execute_stream(physical, self.task_context(&state, view)).map_err(from_datafusion)
    }

    /// Optimises a logical plan and builds its physical plan.
    async fn physical_plan(&self, state: &SessionState, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>, SfError> {
        let optimized = state.optimize(plan).map_err(from_datafusion)?;
        let optimized = crate::extfn::call::lift(optimized).map_err(from_datafusion)?;
        state.query_planner().create_physical_plan(&optimized, state).await.map_err(from_datafusion)
    }

    /// Plans a query statement (already parsed) and returns its result stream.
    pub(crate) async fn query_stream(&self, session: &Session, mut statement: Statement, view: Arc<View>) -> Result<SendableRecordBatchStream, SfError> {
        self.prepare_statement(session, &mut statement, &view, "SELECT")?;
        let mut state = self.df_state(view.clone());
        crate::spcs::telemetry::register(&mut state, self, session);
        let plan = state
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement)))
            .await
            .map_err(from_datafusion)?;
        let physical = self.physical_plan(&state, &plan).await?;
        execute_stream(physical, self.task_context(&state, view)).map_err(from_datafusion)
    }

    /// Applies floe's rewrites and table resolution to a statement.
    pub(crate) fn prepare_statement(&self, session: &Session, statement: &mut Statement, view: &View, verb: &str) -> Result<(), SfError> {
        if let Statement::Query(query) = statement {
            rewrite::name_projection(query);
        }
        rewrite::rewrite_expressions(statement, &self.context(session))?;
        let mut failure = None;
        let _ = ast::visit_statements_mut(statement, |s| {
            if let Statement::Query(q) = s {
                if let Err(e) = rewrite::rewrite_table_factors(q) {
                    failure = Some(e);
                }
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        if let Some(e) = failure {
            return Err(e);
        }
        let mut access = crate::access::Access::of(self, session, &view.catalog);
        access.exempt = view.rowid_tables.clone();
        rewrite::resolve_tables(statement, &view.catalog, session.database.as_deref(), session.schema.as_deref(), session.id, verb, &access)?;
        let udfs = crate::extfn::call::bind(self, session, statement, &view.catalog)?;
        view.remote_udfs.lock().extend(udfs);
        Ok(())
    }

    /// Runs a SQL query text that floe generated, returning its stream.
    pub(crate) async fn query_text(&self, session: &Session, sql: &str, view: Arc<View>) -> Result<SendableRecordBatchStream, SfError> {
        match parse::parse_one(sql)? {
            Stmt::Sql(statement) => self.query_stream(session, *statement, view).await,
            _ => Err(SfError::internal(format!("generated SQL is not a query: {sql}"))),
        }
    }

    /// Commits a transaction's changes (one fsynced store commit) and releases its locks.
    pub(crate) async fn commit_txn(&self, txn: Txn) -> Result<(), SfError> {
        let id = txn.id;
        let ops = txn.into_ops();
        let res = if ops.is_empty() {
            Ok(())
        } else {
            let store = self.inner.store.clone();
            tokio::task::spawn_blocking(move || store.commit(ops)).await.map_err(|e| SfError::internal(e.to_string()))?.map(|_| ()).map_err(crate::errors::from_store)
        };
        self.inner.locks.release_all(id);
        res
    }

    /// Rolls back a transaction: drops its written segments and releases its locks.
    pub(crate) fn rollback_txn(&self, txn: Txn) {
        txn.discard_new_segments(None, &self.inner.store);
        self.inner.locks.release_all(txn.id);
    }

    /// Locks a table for the session's transaction.
    pub(crate) async fn lock_table(&self, session: &Session, txn_id: u64, table_id: u64, name: &str, cancel: &CancellationToken) -> Result<(), SfError> {
        let timeout = Duration::from_secs(session.param_u64("LOCK_TIMEOUT").max(1));
        self.inner.locks.acquire(table_id, name, txn_id, timeout, cancel).await
    }

    /// Drops the temporary tables of every session not in `live` (at start, once the front door knows
    /// which sessions survived the restart).
    pub fn drop_temporary_tables_except(&self, live: &[u64]) -> Result<(), SfError> {
        let snapshot = self.inner.store.snapshot();
        let mut drops: Vec<store::Op> = crate::temp::drops(&snapshot, None)
            .into_iter()
            .filter(|op| match op {
                store::Op::DropTable { id } => snapshot
                    .table_by_id(*id)
                    .and_then(|t| t.info.options.get(crate::temp::TEMPORARY_SESSION))
                    .and_then(|s| s.parse::<u64>().ok())
                    .is_none_or(|s| !live.contains(&s)),
                _ => true,
            })
            .collect();
        drops.extend(crate::temp::stage_drops_except(&snapshot, live));
        if drops.is_empty() {
            return Ok(());
        }
        self.inner.store.commit(drops).map(|_| ()).map_err(crate::errors::from_store)
    }

    /// Saves a generic object (front doors' own state, e.g. connector sessions).
    pub fn put_object(&self, kind: &str, scope: &str, name: &str, body: serde_json::Value) -> Result<(), SfError> {
        let op = store::Op::PutObject { kind: kind.into(), scope: scope.into(), name: name.into(), body };
        self.inner.store.commit(vec![op]).map(|_| ()).map_err(crate::errors::from_store)
    }

    /// Removes a generic object (no error if absent).
    pub fn delete_object(&self, kind: &str, scope: &str, name: &str) -> Result<(), SfError> {
        let op = store::Op::DeleteObject { kind: kind.into(), scope: scope.into(), name: name.into() };
        self.inner.store.commit(vec![op]).map(|_| ()).map_err(crate::errors::from_store)
    }

    /// Ends a session: rolls back its open transaction and drops its temporary tables.
    pub fn close_session(&self, session: &mut Session) {
        if let Some(txn) = session.txn.take() {
            self.rollback_txn(txn);
        }
        let drops = crate::temp::drops(&self.inner.store.snapshot(), Some(session.id));
        if !drops.is_empty() {
            if let Err(e) = self.inner.store.commit(drops) {
                tracing::warn!(session = session.id, error = %e, "could not drop temporary tables");
            }
        }
    }
}

/// Drains a stream, honouring cancellation.
pub(crate) async fn collect(mut stream: SendableRecordBatchStream, cancel: &CancellationToken) -> Result<(SchemaRef, Vec<RecordBatch>), SfError> {
    let schema = stream.schema();
    let mut batches = Vec::new();
    loop {
        tokio::select! {
            next = stream.next() => match next {
                Some(batch) => batches.push(batch.map_err(from_datafusion)?),
                None => break,
            },
            _ = cancel.cancelled() => return Err(SfError::cancelled()),
        }
    }
    Ok((schema, batches))
}

