//! What services and jobs leave behind, as SQL (spcs.md §5.5, §8.5-8.7): the job history
//! (`TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(…))`), the event table `SNOWFLAKE.TELEMETRY.EVENTS` (container
//! log lines as RECORD_TYPE 'LOG', platform events as 'EVENT'), and the service methods
//! `TABLE(<svc>!SPCS_GET_LOGS(…))` / `TABLE(<svc>!SPCS_GET_EVENTS(…))`.
//!
//! All of it is read from the log store (`store::LogStore`, logs.db), which outlives the services: a
//! job's logs and history stay after its containers are gone, until the retention period ends.
//! `parse::split` turns `<svc>!SPCS_GET_LOGS(` into `FLOE_SPCS_GET_LOGS('<svc>', …`; `rewrite` turns the
//! table factors into calls of the table functions registered here, per statement, bound to the
//! session's role (`register`), so a statement sees only what its role may see.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, LargeStringArray, RecordBatch, StringArray, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use model::SfError;
use serde_json::{Map, Value as Json, json};

use super::records::{SERVICE_STATE, Service, ServiceState};
use crate::engine::Engine;
use crate::objects::{ComputePool, get, schema_scope};
use crate::session::Session;
use crate::types::{MAX_VARCHAR, SfType};

/// The account's event table (the value of the EVENT_TABLE parameter).
pub const EVENT_TABLE: &str = "SNOWFLAKE.TELEMETRY.EVENTS";
/// How far back SPCS_GET_LOGS / SPCS_GET_EVENTS look by default (Snowflake: one day).
const DEFAULT_WINDOW_NS: i64 = 86_400 * 1_000_000_000;
/// GET_JOB_HISTORY's default and largest RESULT_LIMIT.
const HISTORY_DEFAULT_LIMIT: i64 = 100;
const HISTORY_MAX_LIMIT: i64 = 10_000;
/// GET_JOB_HISTORY's default window: 30 days.
const HISTORY_WINDOW_MS: i64 = 30 * 86_400 * 1000;

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// The job-history row a job starts with.
pub fn job_record(svc: &Service) -> store::JobRecord {
    let fixed = json!({
        "query_id": svc.query_id,
        "id": svc.id,
        "name": svc.name,
        "database": svc.database,
        "schema": svc.schema,
        "compute_pool": svc.compute_pool,
        "parameters": svc.parameters,
    });
    store::JobRecord {
        uid: svc.uid.clone(),
        owner: svc.owner.clone(),
        created_ms: svc.created_on,
        completed_ms: None,
        deleted_ms: None,
        status: super::status::PENDING.into(),
        message: None,
        instance_statuses: None,
        fixed: fixed.to_string(),
    }
}

/// GET_JOB_HISTORY's INSTANCE_STATUSES object for an observed state.
pub fn instance_statuses(st: &ServiceState) -> Json {
    let count = |s: &str| st.instances.iter().filter(|i| i.status == s).count();
    let instances: Vec<Json> = st
        .instances
        .iter()
        .map(|i| {
            let containers: Vec<Json> = i
                .containers
                .iter()
                .map(|c| {
                    json!({
                        "containerName": c.name,
                        "image": c.image,
                        "imageSha256": c.image_digest.clone().unwrap_or_default(),
                        "lastExitCode": c.last_exit_code,
                        "message": c.message,
                        "restartCount": c.restart_count,
                        "startTime": c.start_time.clone().unwrap_or_default(),
                        "status": c.status,
                    })
                })
                .collect();
            json!({ "instanceId": i.id.to_string(), "containers": containers })
        })
        .collect();
    json!({
        "failedInstances": count("FAILED"),
        "pendingInstances": count("PENDING"),
        "runningInstances": count("READY") + count("TERMINATING"),
        "succeededInstances": count("SUCCEEDED"),
        "totalInstances": st.instances.len(),
        "instances": instances,
    })
}

/// What the log store keeps about a service incarnation: the event table's RESOURCE_ATTRIBUTES, and the
/// spec's `logExporters.eventTableConfig.logLevel`.
pub fn resource_record(account: &str, svc: &Service, pool: Option<&ComputePool>) -> String {
    let log_level = spec::parse(&svc.spec_text).map(|s| s.log_level.as_str().to_string()).unwrap_or_else(|_| "INFO".into());
    json!({
        "resource": {
            "snow.account.name": account,
            "snow.compute_pool.name": svc.compute_pool,
            "snow.compute_pool.node.instance_family": pool.map(|p| p.instance_family.clone()),
            "snow.database.name": svc.database,
            "snow.schema.name": svc.schema,
            "snow.service.id": svc.id,
            "snow.service.name": svc.name,
            "snow.service.type": if svc.is_job { "Job" } else { "Service" },
            "snow.query.id": svc.query_id,
        },
        "log_level": log_level,
    })
    .to_string()
}

/// A service's LOG_EVENT_LEVEL: its own, else the account's, else OFF.
pub fn log_event_level(catalog: &store::Catalog, svc: &Service) -> String {
    svc.log_event_level.clone().unwrap_or_else(|| crate::account::parameter(catalog, "LOG_EVENT_LEVEL"))
}

/// Registers the session-bound table functions on one statement's state: telemetry's, and
/// INFER_SCHEMA (objects/infer_schema.rs).
pub(crate) fn register(state: &mut SessionState, engine: &Engine, session: &Session) {
    let who = Who {
        engine: engine.clone(),
        session: Session {
            id: session.id,
            user: session.user.clone(),
            role: session.role.clone(),
            database: session.database.clone(),
            schema: session.schema.clone(),
            ..Default::default()
        }
        .into(),
    };
    state.register_udtf("floe_job_history", Arc::new(JobHistory(who.clone())));
    state.register_udtf("floe_spcs_get_logs", Arc::new(ServiceRecords { who: who.clone(), events: false }));
    state.register_udtf("floe_spcs_get_events", Arc::new(ServiceRecords { who: who.clone(), events: true }));
    state.register_udtf("floe_infer_schema", Arc::new(crate::objects::infer_schema::InferSchema::new(who.engine.clone(), who.session.clone())));
    state.register_udtf("floe_event_table", Arc::new(EventTable(who)));
}

#[derive(Clone)]
struct Who {
    engine: Engine,
    session: Arc<Session>,
}

impl std::fmt::Debug for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "session {} as {}", self.session.id, self.session.role)
    }
}

impl Who {
    fn logs(&self) -> DfResult<&Arc<store::LogStore>> {
        self.engine.spcs().logs().ok_or_else(|| external(SfError::compilation("This floe server keeps no container logs (it runs without a container runtime).")))
    }
}

pub(crate) fn external(e: SfError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn table(schema: SchemaRef, columns: Vec<ArrayRef>) -> DfResult<Arc<dyn TableProvider>> {
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

/// A timestamp argument in ns (TIMESTAMP of any unit, DATE, or a string), None when NULL or absent.
fn ts_arg(args: &[Expr], i: usize, what: &str) -> DfResult<Option<i64>> {
    let bad = |shown: String| external(SfError::invalid_value(what, &shown));
    let Some(expr) = args.get(i) else { return Ok(None) };
    let Expr::Literal(v, _) = expr else { return Err(bad(expr.to_string())) };
    Ok(match v {
        v if v.is_null() => None,
        ScalarValue::TimestampNanosecond(Some(t), _) => Some(*t),
        ScalarValue::TimestampMicrosecond(Some(t), _) => Some(t * 1_000),
        ScalarValue::TimestampMillisecond(Some(t), _) => Some(t * 1_000_000),
        ScalarValue::TimestampSecond(Some(t), _) => Some(t * 1_000_000_000),
        ScalarValue::Date32(Some(d)) => Some(*d as i64 * 86_400 * 1_000_000_000),
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => Some(parse_ts(s).ok_or_else(|| bad(format!("'{s}'")))?),
        other => return Err(bad(other.to_string())),
    })
}

fn parse_ts(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return t.timestamp_nanos_opt();
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f %z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, f) {
            return t.timestamp_nanos_opt();
        }
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return t.and_utc().timestamp_nanos_opt();
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).and_then(|t| t.and_utc().timestamp_nanos_opt())
}

pub(crate) fn str_arg(args: &[Expr], i: usize) -> Option<String> {
    match args.get(i) {
        Some(Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)), _)) => Some(s.clone()),
        _ => None,
    }
}

fn text_col(values: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn json_col(values: Vec<Option<String>>) -> ArrayRef {
    Arc::new(LargeStringArray::from(values))
}

fn ts_col(values: Vec<Option<i64>>, ltz: bool) -> ArrayRef {
    let a = TimestampNanosecondArray::from(values);
    Arc::new(if ltz { a.with_timezone("+00:00") } else { a })
}

fn int_col(values: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from(values))
}

/// `TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(CREATED_TIME_START, CREATED_TIME_END, RESULT_LIMIT))`, rewritten to
/// `floe_job_history(start, end, limit)`.
#[derive(Debug)]
struct JobHistory(Who);

impl TableFunctionImpl for JobHistory {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        let now_ms = now_ns() / 1_000_000;
        let end = ts_arg(args, 1, "CREATED_TIME_END")?.map(|t| t / 1_000_000).unwrap_or(now_ms);
        let start = ts_arg(args, 0, "CREATED_TIME_START")?.map(|t| t / 1_000_000).unwrap_or(end - HISTORY_WINDOW_MS);
        let limit = match args.get(2) {
            None => HISTORY_DEFAULT_LIMIT,
            Some(Expr::Literal(v, _)) if v.is_null() => HISTORY_DEFAULT_LIMIT,
            Some(Expr::Literal(v, _)) => match v.cast_to(&datafusion::arrow::datatypes::DataType::Int64) {
                Ok(ScalarValue::Int64(Some(n))) if (1..=HISTORY_MAX_LIMIT).contains(&n) => n,
                _ => return Err(external(SfError::invalid_value("RESULT_LIMIT", &v.to_string()))),
            },
            Some(other) => return Err(external(SfError::invalid_value("RESULT_LIMIT", &other.to_string()))),
        };
        let jobs = self.0.logs()?.job_history(&self.0.session.role, start, end, limit as usize).map_err(|e| external(crate::errors::from_store(e)))?;
        let fixed: Vec<Map<String, Json>> = jobs.iter().map(|j| serde_json::from_str(&j.fixed).unwrap_or_default()).collect();
        let text = |key: &str| text_col(fixed.iter().map(|f| f.get(key).and_then(|v| v.as_str()).map(str::to_string)).collect());
        let ms = |v: Option<i64>| v.map(|t| t * 1_000_000);
        let schema = Arc::new(Schema::new(vec![
            SfType::Varchar(MAX_VARCHAR).field("QUERY_ID", true),
            SfType::Number(38, 0).field("ID", true),
            SfType::Varchar(MAX_VARCHAR).field("NAME", true),
            SfType::Varchar(MAX_VARCHAR).field("DATABASE_NAME", true),
            SfType::Varchar(MAX_VARCHAR).field("SCHEMA_NAME", true),
            SfType::TimestampLtz(3).field("CREATED_TIME", true),
            SfType::TimestampLtz(3).field("COMPLETED_TIME", true),
            SfType::TimestampLtz(3).field("DELETED_TIME", true),
            SfType::Varchar(MAX_VARCHAR).field("STATUS", true),
            SfType::Varchar(MAX_VARCHAR).field("MESSAGE", true),
            SfType::Object.field("INSTANCE_STATUSES", true),
            SfType::Varchar(MAX_VARCHAR).field("COMPUTE_POOL_NAME", true),
            SfType::Varchar(MAX_VARCHAR).field("OWNER", true),
            SfType::Varchar(MAX_VARCHAR).field("OWNER_ROLE_TYPE", true),
            SfType::Object.field("PARAMETERS", true),
            SfType::Object.field("MANAGING_OBJECT", true),
        ]));
        table(
            schema,
            vec![
                text("query_id"),
                int_col(fixed.iter().map(|f| f.get("id").and_then(|v| v.as_i64())).collect()),
                text("name"),
                text("database"),
                text("schema"),
                ts_col(jobs.iter().map(|j| ms(Some(j.created_ms))).collect(), true),
                ts_col(jobs.iter().map(|j| ms(j.completed_ms)).collect(), true),
                ts_col(jobs.iter().map(|j| ms(j.deleted_ms)).collect(), true),
                text_col(jobs.iter().map(|j| Some(j.status.clone())).collect()),
                text_col(jobs.iter().map(|j| j.message.clone()).collect()),
                json_col(jobs.iter().map(|j| j.instance_statuses.clone()).collect()),
                text("compute_pool"),
                text_col(jobs.iter().map(|j| Some(j.owner.clone())).collect()),
                text_col(jobs.iter().map(|_| Some("ROLE".to_string())).collect()),
                json_col(fixed.iter().map(|f| f.get("parameters").map(|p| p.to_string())).collect()),
                json_col(jobs.iter().map(|_| None).collect()),
            ],
        )
    }
}

/// One row of the event table, before it becomes columns.
struct EventRow {
    ts_ns: i64,
    resource: Json,
    scope: Option<Json>,
    record_type: &'static str,
    record: Option<Json>,
    record_attributes: Option<Json>,
    value: Json,
    instance: Option<u32>,
    container: Option<String>,
}

fn severity_number(text: &str) -> i64 {
    match text.to_ascii_uppercase().as_str() {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" | "WARNING" => 13,
        "ERROR" => 17,
        "FATAL" => 21,
        _ => 0,
    }
}

/// A stored record as the event table shows it: log lines (structured JSON lines mapped as spcs.md §8.6
/// says) and platform events. None for what the spec's log level does not export.
fn event_row(r: &store::LogRecord, resources: &std::collections::HashMap<String, (String, String)>) -> Option<EventRow> {
    let stored: Json = resources.get(&r.service_uid).and_then(|(_, a)| serde_json::from_str(a).ok()).unwrap_or(Json::Null);
    let mut resource = stored.get("resource").cloned().unwrap_or_else(|| json!({ "snow.service.name": r.service.rsplit('.').next() }));
    let log_level = stored.get("log_level").and_then(|l| l.as_str()).unwrap_or("INFO");
    if let Json::Object(m) = &mut resource {
        m.insert("snow.service.container.run.id".into(), json!(r.run.to_string()));
    }
    if r.stream == 2 {
        let body: Json = serde_json::from_str(&r.body).ok()?;
        let level = body.get("scope").and_then(|s| s.as_str()).unwrap_or("service");
        let instance = (level != "service").then_some(r.instance);
        let container = (level == "container").then(|| r.container.clone());
        if let Json::Object(m) = &mut resource {
            if let Some(i) = instance {
                m.insert("snow.service.instance".into(), json!(i.to_string()));
            }
            if let Some(c) = &container {
                m.insert("snow.service.container.name".into(), json!(c));
            }
        }
        return Some(EventRow {
            ts_ns: r.ts_ns,
            resource,
            scope: Some(json!({ "name": "snow.spcs.platform" })),
            record_type: "EVENT",
            record: Some(json!({ "name": body["name"], "severity_text": body["severity_text"] })),
            record_attributes: None,
            value: json!({ "message": body["message"], "status": body["status"] }),
            instance,
            container,
        });
    }
    match log_level {
        "NONE" => return None,
        "ERROR" if r.stream != 1 => return None,
        _ => {}
    }
    if let Json::Object(m) = &mut resource {
        m.insert("snow.service.instance".into(), json!(r.instance.to_string()));
        m.insert("snow.service.container.name".into(), json!(r.container));
    }
    let iostream = if r.stream == 1 { "stderr" } else { "stdout" };
    let mut row = EventRow {
        ts_ns: r.ts_ns,
        resource,
        scope: None,
        record_type: "LOG",
        record: None,
        record_attributes: Some(json!({ "log.iostream": iostream })),
        value: Json::String(r.body.clone()),
        instance: Some(r.instance),
        container: Some(r.container.clone()),
    };
    // A structured log line: a JSON object with a `body`.
    if r.body.starts_with('{')
        && let Ok(Json::Object(m)) = serde_json::from_str::<Json>(&r.body)
        && let Some(body) = m.get("body")
    {
        row.value = body.clone();
        if let Some(sev) = m.get("severity_text").and_then(|s| s.as_str()) {
            row.record = Some(json!({ "severity_text": sev, "severity_number": severity_number(sev) }));
        }
        if let Some(Json::Object(attrs)) = m.get("attributes") {
            let mut a = attrs.clone();
            a.insert("log.iostream".into(), json!(iostream));
            row.record_attributes = Some(Json::Object(a));
        }
        if let Some(scope) = m.get("scope") {
            row.scope = Some(scope.clone());
        }
        if let Some(t) = m.get("timestamp").and_then(|t| t.as_str()).and_then(parse_ts) {
            row.ts_ns = t;
        }
    }
    Some(row)
}

fn json_text(v: &Option<Json>) -> Option<String> {
    v.as_ref().map(|j| j.to_string())
}

/// `SNOWFLAKE.TELEMETRY.EVENTS`, rewritten to `floe_event_table()`: every record in the retention window
/// of the services the role may monitor (ACCOUNTADMIN: all).
#[derive(Debug)]
struct EventTable(Who);

impl TableFunctionImpl for EventTable {
    fn call(&self, _args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        let logs = self.0.logs()?;
        let resources = logs.resources().map_err(|e| external(crate::errors::from_store(e)))?;
        let catalog = self.0.engine.store().snapshot();
        let access = crate::access::Access::of(&self.0.engine, &self.0.session, &catalog);
        let owners: std::collections::HashSet<String> = resources.values().map(|(o, _)| o.clone()).collect();
        let allowed: std::collections::HashSet<String> = owners.into_iter().filter(|o| access.admin || access.roles.contains(o)).collect();
        let records = logs.scan(0, i64::MAX).map_err(|e| external(crate::errors::from_store(e)))?;
        let rows: Vec<EventRow> = records
            .iter()
            .filter(|r| resources.get(&r.service_uid).is_some_and(|(owner, _)| allowed.contains(owner)))
            .filter_map(|r| event_row(r, &resources))
            .collect();
        let schema = Arc::new(Schema::new(vec![
            SfType::TimestampNtz(9).field("TIMESTAMP", true),
            SfType::TimestampNtz(9).field("START_TIMESTAMP", true),
            SfType::TimestampNtz(9).field("OBSERVED_TIMESTAMP", true),
            SfType::Object.field("TRACE", true),
            SfType::Object.field("RESOURCE", true),
            SfType::Object.field("RESOURCE_ATTRIBUTES", true),
            SfType::Object.field("SCOPE", true),
            SfType::Object.field("SCOPE_ATTRIBUTES", true),
            SfType::Varchar(MAX_VARCHAR).field("RECORD_TYPE", true),
            SfType::Object.field("RECORD", true),
            SfType::Object.field("RECORD_ATTRIBUTES", true),
            SfType::Variant.field("VALUE", true),
            SfType::Array.field("EXEMPLARS", true),
        ]));
        let none = || json_col(rows.iter().map(|_| None).collect());
        table(
            schema,
            vec![
                ts_col(rows.iter().map(|r| Some(r.ts_ns)).collect(), false),
                ts_col(rows.iter().map(|_| None).collect(), false),
                ts_col(rows.iter().map(|r| Some(r.ts_ns)).collect(), false),
                none(),
                none(),
                json_col(rows.iter().map(|r| Some(r.resource.to_string())).collect()),
                json_col(rows.iter().map(|r| json_text(&r.scope)).collect()),
                none(),
                text_col(rows.iter().map(|r| Some(r.record_type.to_string())).collect()),
                json_col(rows.iter().map(|r| json_text(&r.record)).collect()),
                json_col(rows.iter().map(|r| json_text(&r.record_attributes)).collect()),
                json_col(rows.iter().map(|r| Some(r.value.to_string())).collect()),
                none(),
            ],
        )
    }
}

/// `TABLE(<svc>!SPCS_GET_LOGS(START_TIME, END_TIME))` and `SPCS_GET_EVENTS`, rewritten to
/// `floe_spcs_get_logs('<svc>', start, end)`: one service's records, newest first. MONITOR on the service.
#[derive(Debug)]
struct ServiceRecords {
    who: Who,
    events: bool,
}

impl TableFunctionImpl for ServiceRecords {
    fn call(&self, args: &[Expr]) -> DfResult<Arc<dyn TableProvider>> {
        let method = if self.events { "SPCS_GET_EVENTS" } else { "SPCS_GET_LOGS" };
        let name = str_arg(args, 0).ok_or_else(|| external(SfError::compilation(format!("{method} is called on a service: <service>!{method}()"))))?;
        let now = now_ns();
        let end = ts_arg(args, 2, "END_TIME")?.unwrap_or(now);
        let start = ts_arg(args, 1, "START_TIME")?.unwrap_or(end - DEFAULT_WINDOW_NS);
        let engine = &self.who.engine;
        let (_, svc) = super::service::find(engine, &self.who.session, &super::system::name_parts(&name), method).map_err(external)?;
        super::service::require(engine, &self.who.session, &svc, &["OWNERSHIP", "MONITOR", "OPERATE", "USAGE"]).map_err(external)?;
        let logs = self.who.logs()?;
        let resources = logs.resources().map_err(|e| external(crate::errors::from_store(e)))?;
        let q = store::LogQuery { service_uid: svc.uid.clone(), since_ns: Some(start), until_ns: Some(end), events: self.events, ..Default::default() };
        let mut rows: Vec<EventRow> = logs
            .read(&q)
            .map_err(|e| external(crate::errors::from_store(e)))?
            .iter()
            .filter(|r| (r.stream == 2) == self.events)
            .filter_map(|r| event_row(r, &resources))
            .collect();
        rows.reverse();
        let ts = || ts_col(rows.iter().map(|r| Some(r.ts_ns)).collect(), false);
        let instance = || int_col(rows.iter().map(|r| r.instance.map(i64::from)).collect());
        let container = || text_col(rows.iter().map(|r| r.container.clone()).collect());
        if self.events {
            let schema = Arc::new(Schema::new(vec![
                SfType::TimestampNtz(9).field("TIMESTAMP", true),
                SfType::Varchar(MAX_VARCHAR).field("SEVERITY", true),
                SfType::Varchar(MAX_VARCHAR).field("EVENT_NAME", true),
                SfType::Object.field("EVENT_DETAILS", true),
                SfType::Number(38, 0).field("INSTANCE_ID", true),
                SfType::Varchar(MAX_VARCHAR).field("CONTAINER_NAME", true),
                SfType::Object.field("RECORD", true),
                SfType::Object.field("RECORD_ATTRIBUTES", true),
            ]));
            let record_field = |k: &str| text_col(rows.iter().map(|r| r.record.as_ref().and_then(|rec| rec.get(k)).and_then(|v| v.as_str()).map(str::to_string)).collect());
            table(
                schema,
                vec![
                    ts(),
                    record_field("severity_text"),
                    record_field("name"),
                    json_col(rows.iter().map(|r| Some(r.value.to_string())).collect()),
                    instance(),
                    container(),
                    json_col(rows.iter().map(|r| json_text(&r.record)).collect()),
                    json_col(rows.iter().map(|r| json_text(&r.record_attributes)).collect()),
                ],
            )
        } else {
            let schema = Arc::new(Schema::new(vec![
                SfType::TimestampNtz(9).field("TIMESTAMP", true),
                SfType::Number(38, 0).field("INSTANCE_ID", true),
                SfType::Varchar(MAX_VARCHAR).field("CONTAINER_NAME", true),
                SfType::Varchar(MAX_VARCHAR).field("LOG", true),
                SfType::Object.field("RECORD_ATTRIBUTES", true),
            ]));
            let log_text = |v: &Json| match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            table(
                schema,
                vec![
                    ts(),
                    instance(),
                    container(),
                    text_col(rows.iter().map(|r| Some(log_text(&r.value))).collect()),
                    json_col(rows.iter().map(|r| json_text(&r.record_attributes)).collect()),
                ],
            )
        }
    }
}

/// The observed state of a service, if any (for callers outside this module).
pub fn observed(catalog: &store::Catalog, svc: &Service) -> Option<ServiceState> {
    get::<ServiceState>(catalog, SERVICE_STATE, &schema_scope(&svc.database, &svc.schema), &svc.name).filter(|s| s.uid == svc.uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(stream: u8, body: &str) -> store::LogRecord {
        store::LogRecord { ts_ns: 5, service: "DB.S.SVC".into(), service_uid: "u".into(), instance: 1, container: "main".into(), run: 0, stream, body: body.into() }
    }

    fn resources(level: &str) -> std::collections::HashMap<String, (String, String)> {
        let attrs = json!({"resource": {"snow.service.name": "SVC"}, "log_level": level}).to_string();
        [("u".to_string(), ("R".to_string(), attrs))].into_iter().collect()
    }

    #[test]
    fn log_lines_and_structured_lines() {
        let r = event_row(&line(0, "hello"), &resources("INFO")).unwrap();
        assert_eq!((r.record_type, r.value.clone()), ("LOG", json!("hello")));
        assert_eq!(r.resource["snow.service.container.name"], "main");
        assert_eq!(r.resource["snow.service.instance"], "1");
        assert_eq!(r.record_attributes.unwrap()["log.iostream"], "stdout");
        let structured = r#"{"body": "started", "severity_text": "DEBUG", "attributes": {"k": 1}, "scope": {"name": "app"}, "timestamp": "2025-01-02T03:04:05Z", "other": 1}"#;
        let r = event_row(&line(1, structured), &resources("INFO")).unwrap();
        assert_eq!(r.value, json!("started"));
        assert_eq!(r.record.unwrap(), json!({"severity_text": "DEBUG", "severity_number": 5}));
        assert_eq!(r.record_attributes.unwrap(), json!({"k": 1, "log.iostream": "stderr"}));
        assert_eq!(r.scope.unwrap(), json!({"name": "app"}));
        assert_eq!(r.ts_ns, parse_ts("2025-01-02 03:04:05").unwrap());
    }

    #[test]
    fn the_spec_log_level_decides_what_is_exported() {
        assert!(event_row(&line(0, "out"), &resources("ERROR")).is_none());
        assert!(event_row(&line(1, "err"), &resources("ERROR")).is_some());
        assert!(event_row(&line(1, "err"), &resources("NONE")).is_none());
    }

    #[test]
    fn platform_events() {
        let body = json!({"name": "SERVICE.STATUS_CHANGE", "severity_text": "INFO", "scope": "service", "message": "Job is completed", "status": "DONE"}).to_string();
        let r = event_row(&line(2, &body), &resources("NONE")).unwrap();
        assert_eq!(r.record_type, "EVENT");
        assert_eq!(r.instance, None);
        assert_eq!(r.value, json!({"message": "Job is completed", "status": "DONE"}));
        assert_eq!(r.record.unwrap()["name"], "SERVICE.STATUS_CHANGE");
    }

    #[test]
    fn instance_statuses_counts() {
        let st = ServiceState {
            instances: vec![
                super::super::InstanceState { id: 0, status: "SUCCEEDED".into(), ..Default::default() },
                super::super::InstanceState { id: 1, status: "FAILED".into(), ..Default::default() },
            ],
            ..Default::default()
        };
        let v = instance_statuses(&st);
        assert_eq!((v["succeededInstances"].as_u64(), v["failedInstances"].as_u64(), v["totalInstances"].as_u64()), (Some(1), Some(1), Some(2)));
        assert_eq!(v["instances"][1]["instanceId"], "1");
    }
}
