//! The system functions of services, called as statements (spcs.md §8): SYSTEM$GET_SERVICE_STATUS,
//! SYSTEM$GET_SERVICE_LOGS (the seven arguments `snow spcs service logs` sends), SYSTEM$WAIT_FOR_SERVICES,
//! SYSTEM$GET_SERVICE_DNS_DOMAIN, SYSTEM$CANCEL_JOB, and the service methods `<svc>!SPCS_WAIT_FOR` and
//! `<svc>!SPCS_CANCEL_JOB`. Waits watch the control plane's change notifications (and re-check every
//! half second), and end early when the statement is cancelled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::Schema;
use model::{SfError, display_ident};
use tokio_util::sync::CancellationToken;

use super::records::{SERVICE, SERVICE_STATE, Service, ServiceState, status};
use super::service::{cancel_job, find, require};
use super::SystemCall;
use crate::engine::Engine;
use crate::objects::{Value, get, resolve, schema_scope};
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::types::{MAX_VARCHAR, SfType};

/// Most bytes SYSTEM$GET_SERVICE_LOGS returns (Snowflake: 100 KB).
const LOGS_MAX_BYTES: usize = 100 * 1024;

fn one_value(column: &str, value: String) -> QueryResult {
    let schema = Arc::new(Schema::new(vec![SfType::Varchar(MAX_VARCHAR).field(column, true)]));
    let col: ArrayRef = Arc::new(StringArray::from(vec![Some(value)]));
    QueryResult::table(statement_type::SELECT, schema, vec![col])
}

fn arg_text(args: &[Value], i: usize, what: &str) -> Result<Option<String>, SfError> {
    match args.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s) | Value::Num(s)) => Ok(Some(s.clone())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(SfError::invalid_value(what, &other.written())),
    }
}

fn arg_int(args: &[Value], i: usize, what: &str) -> Result<Option<i64>, SfError> {
    match arg_text(args, i, what)? {
        None => Ok(None),
        Some(t) => t.trim().parse::<i64>().map(Some).map_err(|_| SfError::invalid_value(what, &t)),
    }
}

fn arg_bool(args: &[Value], i: usize, what: &str) -> Result<bool, SfError> {
    match args.get(i) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v @ (Value::Str(s) | Value::Word(s))) => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            _ => Err(SfError::invalid_value(what, &v.written())),
        },
        Some(other) => Err(SfError::invalid_value(what, &other.written())),
    }
}

fn wrong_args(function: &str) -> SfError {
    SfError::compilation(format!("Invalid argument types for function '{function}'."))
}

/// A service named by a string argument (`'db.schema.name'` or `'name'`), as Snowflake parses it.
pub(super) fn name_parts(text: &str) -> Vec<String> {
    text.split('.')
        .map(|p| {
            let p = p.trim();
            if p.len() >= 2 && p.starts_with('"') && p.ends_with('"') { p[1..p.len() - 1].to_string() } else { p.to_uppercase() }
        })
        .collect()
}

pub(super) async fn call(engine: &Engine, session: &mut Session, call: SystemCall, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let args = &call.args;
    let f = call.function.as_str();
    match f {
        "SYSTEM$GET_SERVICE_STATUS" => {
            let name = arg_text(args, 0, f)?.ok_or_else(|| wrong_args(f))?;
            let timeout = arg_int(args, 1, f)?.unwrap_or(0).max(0) as u64;
            let (_, svc) = find(engine, session, &name_parts(&name), "SYSTEM$GET_SERVICE_STATUS")?;
            require(engine, session, &svc, &["MONITOR", "OWNERSHIP"])?;
            let deadline = Instant::now() + Duration::from_secs(timeout);
            let st = wait_until(engine, &svc, deadline, cancel, |st| steady(st)).await?;
            Ok(one_value(&format!("SYSTEM$GET_SERVICE_STATUS('{name}')"), status_json(&svc, &st)))
        }
        "SYSTEM$GET_SERVICE_LOGS" => {
            let name = arg_text(args, 0, f)?.ok_or_else(|| wrong_args(f))?;
            let instance = arg_int(args, 1, f)?.ok_or_else(|| wrong_args(f))?;
            let container = arg_text(args, 2, f)?.ok_or_else(|| wrong_args(f))?;
            let lines = arg_int(args, 3, f)?;
            let previous = arg_bool(args, 4, f)?;
            let since = arg_text(args, 5, f)?.filter(|s| !s.is_empty());
            let timestamps = arg_bool(args, 6, f)?;
            let (_, svc) = find(engine, session, &name_parts(&name), "SYSTEM$GET_SERVICE_LOGS")?;
            require(engine, session, &svc, &["MONITOR", "OWNERSHIP"])?;
            let text = service_logs(engine, &svc, instance, &container, lines, previous, since.as_deref(), timestamps)?;
            Ok(one_value("SYSTEM$GET_SERVICE_LOGS", text))
        }
        "SYSTEM$WAIT_FOR_SERVICES" => {
            let secs = arg_int(args, 0, f)?.ok_or_else(|| wrong_args(f))?.max(0) as u64;
            let deadline = Instant::now() + Duration::from_secs(secs);
            for i in 1..args.len() {
                let name = arg_text(args, i, f)?.ok_or_else(|| wrong_args(f))?;
                let (_, svc) = find(engine, session, &name_parts(&name), "SYSTEM$WAIT_FOR_SERVICES")?;
                require(engine, session, &svc, &["MONITOR", "OWNERSHIP"])?;
                let st = wait_until(engine, &svc, deadline, cancel, |st| st.status == status::RUNNING || status::is_terminal(&st.status)).await?;
                if st.status != status::RUNNING && st.status != status::DONE {
                    return Err(SfError::new(
                        "395022",
                        "57014",
                        model::ErrorKind::InvalidArgument,
                        format!("Service {} is {}, not ready{}.", display_ident(&svc.name), st.status, st.message.map(|m| format!(": {m}")).unwrap_or_default()),
                    ));
                }
            }
            Ok(one_value("SYSTEM$WAIT_FOR_SERVICES", "OK".into()))
        }
        "SYSTEM$GET_SERVICE_DNS_DOMAIN" => {
            let schema = arg_text(args, 0, f)?.ok_or_else(|| wrong_args(f))?;
            let catalog = engine.store().snapshot();
            let (db, schema, _) = resolve(&catalog, session, &{
                let mut parts = name_parts(&schema);
                parts.push("X".into());
                parts
            }, "SYSTEM$GET_SERVICE_DNS_DOMAIN")?;
            let hash = super::service::dns_hash(&catalog, &db, &schema);
            Ok(one_value(&format!("SYSTEM$GET_SERVICE_DNS_DOMAIN('{}')", arg_text(args, 0, f)?.unwrap_or_default()), format!("{hash}.svc.spcs.internal")))
        }
        "SYSTEM$CANCEL_JOB" => {
            let name = arg_text(args, 0, f)?.ok_or_else(|| wrong_args(f))?;
            let svc = job_by_name_or_query_id(engine, session, &name)?;
            require(engine, session, &svc, &["OPERATE", "OWNERSHIP"])?;
            cancel_job(engine, &schema_scope(&svc.database, &svc.schema), &svc.name).await;
            Ok(one_value("SYSTEM$CANCEL_JOB", format!("Job {name} successfully terminated")))
        }
        "SPCS_CANCEL_JOB" => {
            let (scope, svc) = find(engine, session, &call.service, "SPCS_CANCEL_JOB")?;
            require(engine, session, &svc, &["OPERATE", "OWNERSHIP"])?;
            if !svc.is_job {
                return Err(SfError::compilation(format!("{} is not a job service.", display_ident(&svc.name))));
            }
            let catalog = engine.store().snapshot();
            let st = get::<ServiceState>(&catalog, SERVICE_STATE, &scope, &svc.name).unwrap_or_default();
            if status::is_terminal(&st.status) {
                return Ok(one_value("SPCS_CANCEL_JOB", format!("Job {} has already completed with status {}.", display_ident(&svc.name), st.status)));
            }
            cancel_job(engine, &scope, &svc.name).await;
            Ok(one_value("SPCS_CANCEL_JOB", format!("Job {} successfully cancelled.", display_ident(&svc.name))))
        }
        "SPCS_WAIT_FOR" => {
            let want = arg_text(args, 0, f)?.ok_or_else(|| wrong_args(f))?.to_uppercase();
            let secs = arg_int(args, 1, f)?.unwrap_or(0).max(0) as u64;
            let (_, svc) = find(engine, session, &call.service, "SPCS_WAIT_FOR")?;
            require(engine, session, &svc, &["USAGE", "MONITOR", "OPERATE", "OWNERSHIP"])?;
            let deadline = Instant::now() + Duration::from_secs(secs);
            let st = wait_until(engine, &svc, deadline, cancel, |st| st.status == want || status::is_terminal(&st.status)).await?;
            if st.status == want {
                return Ok(one_value("SPCS_WAIT_FOR", format!("Service {} reached status {}.", display_ident(&svc.name), want)));
            }
            let why = if status::is_terminal(&st.status) { "cannot reach" } else { "did not reach" };
            Err(SfError::new(
                "395023",
                "57014",
                model::ErrorKind::InvalidArgument,
                format!(
                    "Service {} {} status {} within {} seconds; current status: {}{}.",
                    display_ident(&svc.name),
                    why,
                    want,
                    secs,
                    st.status,
                    st.message.map(|m| format!(" ({m})")).unwrap_or_default()
                ),
            ))
        }
        other => Err(SfError::compilation(format!("Unknown function {other}"))),
    }
}

fn job_by_name_or_query_id(engine: &Engine, session: &Session, text: &str) -> Result<Service, SfError> {
    let catalog = engine.store().snapshot();
    for (scope, name, _) in catalog.objects_of(SERVICE) {
        if let Some(svc) = get::<Service>(&catalog, SERVICE, scope, name)
            && svc.is_job
            && svc.query_id == text
        {
            return Ok(svc);
        }
    }
    find(engine, session, &name_parts(text), "SYSTEM$CANCEL_JOB").map(|(_, s)| s)
}

/// Every instance settled: ready, finished or failed.
fn steady(st: &ServiceState) -> bool {
    status::is_terminal(&st.status)
        || (!st.instances.is_empty() && st.instances.iter().all(|i| matches!(i.status.as_str(), "READY" | "SUCCEEDED" | "FAILED")))
}

/// Waits until `done(state)` or the deadline, returning the last state seen.
async fn wait_until(engine: &Engine, svc: &Service, deadline: Instant, cancel: &CancellationToken, done: impl Fn(&ServiceState) -> bool) -> Result<ServiceState, SfError> {
    let scope = schema_scope(&svc.database, &svc.schema);
    let mut changes = engine.spcs().changes();
    loop {
        let catalog = engine.store().snapshot();
        let st = get::<ServiceState>(&catalog, SERVICE_STATE, &scope, &svc.name)
            .filter(|st| st.uid == svc.uid)
            .ok_or_else(|| super::show::missing(&svc.database, &svc.schema, &svc.name))?;
        let now = Instant::now();
        if done(&st) || now >= deadline {
            return Ok(st);
        }
        tokio::select! {
            _ = cancel.cancelled() => return Err(SfError::cancelled()),
            _ = changes.changed() => {}
            _ = tokio::time::sleep((deadline - now).min(Duration::from_millis(500))) => {}
        }
    }
}

/// SYSTEM$GET_SERVICE_STATUS's JSON: one object per container per instance.
fn status_json(svc: &Service, st: &ServiceState) -> String {
    let mut out = Vec::new();
    for inst in &st.instances {
        for c in &inst.containers {
            let mut o = serde_json::Map::new();
            o.insert("status".into(), c.status.clone().into());
            o.insert("message".into(), c.message.clone().into());
            o.insert("containerName".into(), c.name.clone().into());
            o.insert("instanceId".into(), inst.id.to_string().into());
            o.insert("serviceName".into(), svc.name.clone().into());
            o.insert("image".into(), c.image.clone().into());
            o.insert("restartCount".into(), c.restart_count.into());
            o.insert("startTime".into(), c.start_time.clone().unwrap_or_default().into());
            out.push(serde_json::Value::Object(o));
        }
    }
    serde_json::Value::Array(out).to_string()
}

/// The last `n` lines a container wrote (for failed-job messages).
pub(super) fn tail_lines(engine: &Engine, svc: &Service, instance: u32, container: &str, n: usize) -> Vec<String> {
    let Some(logs) = engine.spcs().logs() else { return Vec::new() };
    let q = store::LogQuery {
        service_uid: svc.uid.clone(),
        instance: Some(instance),
        container: Some(container.to_string()),
        limit: Some(n),
        ..Default::default()
    };
    logs.read(&q).map(|r| r.into_iter().map(|r| r.body).collect()).unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn service_logs(
    engine: &Engine,
    svc: &Service,
    instance: i64,
    container: &str,
    lines: Option<i64>,
    previous: bool,
    since: Option<&str>,
    timestamps: bool,
) -> Result<String, SfError> {
    let catalog = engine.store().snapshot();
    let st = get::<ServiceState>(&catalog, SERVICE_STATE, &schema_scope(&svc.database, &svc.schema), &svc.name).unwrap_or_default();
    let inst = st.instances.iter().find(|i| i.id as i64 == instance);
    let cont = inst.and_then(|i| i.containers.iter().find(|c| c.name == container));
    let known = cont.is_some() || spec::parse(&svc.spec_text).is_ok_and(|s| s.containers.iter().any(|c| c.name == container));
    if instance < 0 || instance >= svc.target_instances().max(st.instances.len() as u32).max(1) as i64 || !known {
        return Err(SfError::new(
            "395015",
            "22023",
            model::ErrorKind::InvalidArgument,
            format!("Invalid instance id {instance} or container name '{container}' for service {}.", display_ident(&svc.name)),
        ));
    }
    let Some(logs) = engine.spcs().logs() else { return Ok(String::new()) };
    let instance = instance as u32;
    let last_run = logs.last_run(&svc.uid, instance, container).map_err(crate::errors::from_store)?;
    let run = match (previous, last_run) {
        (false, r) => r,
        (true, Some(r)) if r > 0 => Some(r - 1),
        (true, _) => {
            return Err(SfError::new(
                "395016",
                "22023",
                model::ErrorKind::InvalidArgument,
                format!("Container '{container}' of instance {instance} has not been restarted; there are no previous logs."),
            ));
        }
    };
    if run.is_none() {
        if let Some(c) = cont
            && c.status == "PENDING"
        {
            return Err(SfError::new(
                "395017",
                "22023",
                model::ErrorKind::InvalidArgument,
                format!("Container Status: PENDING. Message: {}. Logs are not available yet.", c.message),
            ));
        }
        return Ok(String::new());
    }
    let since_ns = match since {
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| SfError::invalid_value("since_timestamp", &format!("'{t}'")))?
                .timestamp_nanos_opt()
                .unwrap_or(0),
        ),
        None => None,
    };
    let q = store::LogQuery {
        service_uid: svc.uid.clone(),
        instance: Some(instance),
        container: Some(container.to_string()),
        run,
        since_ns,
        limit: lines.filter(|n| *n >= 0).map(|n| n as usize),
        ..Default::default()
    };
    let records = logs.read(&q).map_err(crate::errors::from_store)?;
    let mut out: Vec<String> = records
        .into_iter()
        .map(|r| {
            if timestamps {
                let t = chrono::DateTime::from_timestamp_nanos(r.ts_ns);
                format!("{} {}", t.format("%Y-%m-%dT%H:%M:%S%.9fZ"), r.body)
            } else {
                r.body
            }
        })
        .collect();
    // Keep the most recent 100 KB.
    let mut total = 0usize;
    let mut keep = out.len();
    for (i, line) in out.iter().enumerate().rev() {
        total += line.len() + 1;
        if total > LOGS_MAX_BYTES {
            break;
        }
        keep = i;
    }
    out.drain(..keep);
    let mut text = out.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Ok(text)
}
