//! CREATE / ALTER / DROP SERVICE and EXECUTE JOB SERVICE: validation, the desired-state record, and the
//! wait of a synchronous job. Everything is checked (names, pool, spec, fit on a node of the pool's
//! instance family, privileges) before the one commit that writes the record.

use std::time::Duration;

use model::{SfError, display_ident};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::records::{SERVICE, SERVICE_STATE, Service, ServiceState, status};
use super::{ServiceAction, SpecSource};
use crate::access::{Access, Securable};
use crate::engine::Engine;
use crate::objects::{COMPUTE_POOL, ComputePool, Prop, commit, get, instance_family, message, now, ok, put, resolve, schema_scope};
use crate::result::{QueryResult, statement_type};
use crate::session::Session;

/// CPU and memory an instance is placed by when a container's spec sets no request (spcs.md §6.3).
pub fn default_requests() -> (f64, u64) {
    (0.5, 512 << 20)
}

/// CPU cores, memory bytes and GPUs one instance of `spec` requests: the sum over its containers, a
/// container without requests counting max(default, its limit).
pub fn instance_requests(spec: &spec::Spec) -> (f64, u64, u32) {
    let (default_cpu, default_mem) = default_requests();
    let mut cpu = 0.0;
    let mut mem = 0u64;
    let mut gpu = 0u32;
    for c in &spec.containers {
        let r = &c.resources;
        cpu += r.requests.cpu.unwrap_or_else(|| r.limits.cpu.unwrap_or(0.0).max(default_cpu));
        mem += r.requests.memory.unwrap_or_else(|| r.limits.memory.unwrap_or(0).max(default_mem));
        gpu += r.requests.gpu.unwrap_or(0);
    }
    (cpu, mem, gpu)
}

/// A Snowflake-style error for a refused specification (code inferred: 395018, invalid spec).
pub(crate) fn spec_error(e: impl std::fmt::Display) -> SfError {
    SfError::new("395018", "22023", model::ErrorKind::InvalidArgument, format!("Invalid spec: {e}."))
}

/// Reads and renders a specification, then parses and validates it.
pub(crate) fn load_spec(engine: &Engine, session: &Session, source: &SpecSource) -> Result<(String, spec::Spec), SfError> {
    let (raw, using) = match source {
        SpecSource::Inline { text, using } => (text.clone(), using.clone()),
        SpecSource::Staged { stage, file, using } => {
            let resolved = crate::objects::stage::resolve_stage(engine, session, &stage.name, "CREATE SERVICE")?;
            let mut rel = stage.path.trim_matches('/').to_string();
            let file = file.trim_start_matches('/');
            if !rel.is_empty() {
                rel.push('/');
            }
            rel.push_str(file);
            if rel.split('/').any(|p| p == "..") {
                return Err(spec_error(format!("specification file '{file}' is outside the stage")));
            }
            let path = resolved.dir.join(&rel);
            let text = std::fs::read_to_string(&path).map_err(|_| {
                SfError::new(
                    "002003",
                    "02000",
                    model::ErrorKind::NotFound,
                    format!("Specification file '{rel}' does not exist on stage @{}.{}.{}.", resolved.database, resolved.schema, display_ident(&resolved.stored_name)),
                )
            })?;
            (text, using.clone())
        }
    };
    let text = match using {
        Some(using) => spec::render_template(&raw, &using).map_err(spec_error)?,
        None => raw,
    };
    let parsed = spec::parse(&text).map_err(spec_error)?;
    Ok((text, parsed))
}

/// Refuses a spec whose instance can never fit on one node of the pool (CREATE fails rather than
/// leaving instances PENDING forever).
fn check_fit(pool: &ComputePool, spec: &spec::Spec) -> Result<(), SfError> {
    let Some(family) = instance_family(&pool.instance_family) else { return Ok(()) };
    let (cpu, mem, gpu) = instance_requests(spec);
    let node_mem = (family.memory_gib as u64) << 30;
    if cpu > family.vcpu as f64 + 1e-9 || mem > node_mem || gpu > family.gpu_count {
        return Err(SfError::new(
            "395024",
            "22023",
            model::ErrorKind::InvalidArgument,
            format!(
                "Unschedulable service: an instance requests {} CPU, {} memory and {} GPU, more than a node of compute pool {} (instance family {}: {} CPU, {} GiB memory, {} GPU) has.",
                spec::format_cpu(cpu),
                spec::format_memory(mem),
                gpu,
                display_ident(&pool.name),
                family.name,
                family.vcpu,
                family.memory_gib,
                family.gpu_count
            ),
        ));
    }
    Ok(())
}

/// The DNS hash of a schema: stable for the schema's life, new when it is dropped and re-created.
pub(crate) fn dns_hash(catalog: &store::Catalog, db: &str, schema: &str) -> String {
    let created = catalog.schema(db, schema).map(|s| s.info.created_on).unwrap_or(0);
    let digest = Sha256::digest(format!("{db}.{schema}@{created}").as_bytes());
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::new();
    // A letter first, so the label is a valid DNS label.
    out.push(ALPHABET[(digest[0] % 26) as usize] as char);
    for b in &digest[1..4] {
        out.push(ALPHABET[(*b % 36) as usize] as char);
    }
    out
}

fn int_prop(p: &Prop, min: i64) -> Result<u32, SfError> {
    let n = p.value.as_int(&p.key, min)?;
    u32::try_from(n).map_err(|_| SfError::invalid_value(&p.key, &p.value.written()))
}

/// Applies CREATE/ALTER … SET options to a record.
fn apply_props(svc: &mut Service, props: &[Prop]) -> Result<(), SfError> {
    let mut max_given = false;
    let mut ready_given = false;
    for p in props {
        match p.key.as_str() {
            "MIN_INSTANCES" => svc.min_instances = int_prop(p, 1)?,
            "MAX_INSTANCES" => {
                svc.max_instances = int_prop(p, 1)?;
                max_given = true;
            }
            "MIN_READY_INSTANCES" => {
                svc.min_ready_instances = int_prop(p, 1)?;
                ready_given = true;
            }
            "AUTO_RESUME" => svc.auto_resume = p.value.as_bool(&p.key)?,
            "AUTO_SUSPEND_SECS" => {
                let n = p.value.as_int(&p.key, 0)?;
                if n != 0 && n < 300 {
                    return Err(SfError::compilation(format!("Invalid value {n} for AUTO_SUSPEND_SECS: must be 0 or at least 300.")));
                }
                svc.auto_suspend_secs = n;
            }
            "QUERY_WAREHOUSE" => svc.query_warehouse = Some(p.value.as_text(&p.key)?),
            "LOG_LEVEL" => svc.log_level = Some(crate::account::check(&p.key, &p.value.as_keyword(&p.key)?)?),
            "LOG_EVENT_LEVEL" => svc.log_event_level = Some(crate::account::check(&p.key, &p.value.as_keyword(&p.key)?)?),
            "COMMENT" => svc.comment = Some(p.value.as_text(&p.key)?),
            "EXTERNAL_ACCESS_INTEGRATIONS" => svc.external_access_integrations = eai_list(p)?,
            "TAG" => {}
            _ => return Err(SfError::invalid_value(&p.key, &p.value.written())),
        }
    }
    if !max_given && svc.max_instances < svc.min_instances {
        svc.max_instances = svc.min_instances;
    }
    if !ready_given && svc.min_ready_instances > svc.min_instances {
        svc.min_ready_instances = svc.min_instances;
    }
    if svc.max_instances < svc.min_instances {
        return Err(SfError::compilation(format!(
            "MAX_INSTANCES ({}) must be greater than or equal to MIN_INSTANCES ({}).",
            svc.max_instances, svc.min_instances
        )));
    }
    if svc.min_ready_instances > svc.min_instances {
        return Err(SfError::compilation(format!(
            "MIN_READY_INSTANCES ({}) must be less than or equal to MIN_INSTANCES ({}).",
            svc.min_ready_instances, svc.min_instances
        )));
    }
    Ok(())
}

fn eai_list(p: &Prop) -> Result<Vec<String>, SfError> {
    use crate::objects::Value;
    let items = match &p.value {
        Value::List(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    let mut out = Vec::new();
    for v in items {
        out.push(match v {
            Value::Word(w) => w.to_uppercase(),
            Value::Quoted(q) | Value::Str(q) => q,
            other => return Err(SfError::invalid_value(&p.key, &other.written())),
        });
    }
    if out.len() > 10 {
        return Err(SfError::compilation("A service can use at most 10 external access integrations."));
    }
    Ok(out)
}

/// Checks the pool exists and the role may use it; returns it.
fn usable_pool(engine: &Engine, session: &Session, catalog: &store::Catalog, pool: &str) -> Result<ComputePool, SfError> {
    let missing = || SfError::kind_not_found("Compute pool", &display_ident(pool));
    let found = get::<ComputePool>(catalog, COMPUTE_POOL, "", pool).ok_or_else(missing)?;
    let access = Access::of(engine, session, catalog);
    access.require(catalog, &["USAGE", "OPERATE", "OWNERSHIP"], &Securable::account_object(COMPUTE_POOL, pool), missing)?;
    Ok(found)
}

struct NewService {
    db: String,
    schema: String,
    name: String,
    pool: ComputePool,
    text: String,
    spec: spec::Spec,
}

/// Resolves, authorizes and validates a new service or job; nothing is written.
fn prepare(engine: &Engine, session: &Session, name: &[String], pool: &str, source: &SpecSource, verb: &str) -> Result<NewService, SfError> {
    engine.spcs().check_available()?;
    let catalog = engine.store().snapshot();
    let (db, schema, name) = resolve(&catalog, session, name, verb)?;
    Access::of(engine, session, &catalog).require_create_in_schema(&catalog, &db, &schema, "CREATE SERVICE")?;
    let pool = usable_pool(engine, session, &catalog, pool)?;
    let (text, spec) = load_spec(engine, session, source)?;
    check_fit(&pool, &spec)?;
    Ok(NewService { db, schema, name, pool, text, spec })
}

fn record(engine: &Engine, session: &Session, new: &NewService, is_job: bool, query_id: String) -> Result<Service, SfError> {
    let catalog = engine.store().snapshot();
    let label = spec::dns_label(&new.name).map_err(|e| SfError::compilation(format!("Invalid service name {}: {}.", display_ident(&new.name), e.message)))?;
    let at = now();
    Ok(Service {
        uid: uuid::Uuid::new_v4().to_string(),
        id: engine.store().reserve_id(),
        name: new.name.clone(),
        database: new.db.clone(),
        schema: new.schema.clone(),
        owner: session.role.clone(),
        compute_pool: new.pool.name.clone(),
        spec_text: new.text.clone(),
        spec_digest: spec::spec_digest(&new.spec),
        generation: 1,
        is_job,
        is_async: false,
        replicas: 1,
        min_instances: 1,
        max_instances: 1,
        min_ready_instances: 1,
        auto_resume: true,
        auto_suspend_secs: 0,
        query_warehouse: None,
        external_access_integrations: Vec::new(),
        log_level: None,
        log_event_level: None,
        comment: None,
        suspended: false,
        cancel_requested: false,
        dns_label: label,
        dns_hash: dns_hash(&catalog, &new.db, &new.schema),
        query_id,
        parameters: Default::default(),
        created_on: at,
        updated_on: at,
        resumed_on: None,
        suspended_on: None,
    })
}

fn initial_state(svc: &Service) -> ServiceState {
    ServiceState { uid: svc.uid.clone(), status: status::PENDING.into(), updated_on: svc.created_on, generation: svc.generation, ..Default::default() }
}

async fn write_new(engine: &Engine, svc: &Service) -> Result<(), SfError> {
    let scope = schema_scope(&svc.database, &svc.schema);
    commit(engine, vec![put(SERVICE, &scope, &svc.name, svc), put(SERVICE_STATE, &scope, &svc.name, &initial_state(svc))]).await?;
    engine.spcs().wake();
    Ok(())
}

pub(super) async fn create(engine: &Engine, session: &mut Session, name: Vec<String>, if_not_exists: bool, pool: String, source: SpecSource, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    {
        let catalog = engine.store().snapshot();
        let (db, schema, n) = resolve(&catalog, session, &name, "CREATE SERVICE")?;
        if catalog.object(SERVICE, &schema_scope(&db, &schema), &n).is_some() {
            if if_not_exists {
                return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&n))));
            }
            return Err(SfError::already_exists(&display_ident(&n)));
        }
    }
    let new = prepare(engine, session, &name, &pool, &source, "CREATE SERVICE")?;
    let mut svc = record(engine, session, &new, false, uuid::Uuid::new_v4().to_string())?;
    apply_props(&mut svc, &props)?;
    if new.spec.endpoints.iter().any(|e| e.public) {
        let catalog = engine.store().snapshot();
        Access::of(engine, session, &catalog).require_account(&catalog, "BIND SERVICE ENDPOINT")?;
    }
    write_new(engine, &svc).await?;
    Ok(message(format!("Service {} successfully created.", display_ident(&svc.name))))
}

pub(super) async fn execute_job(engine: &Engine, session: &mut Session, pool: String, source: SpecSource, props: Vec<Prop>, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let query_id = uuid::Uuid::new_v4().to_string();
    let mut name = vec![format!("JOB_{}", query_id.replace('-', "").to_uppercase())];
    let mut is_async = false;
    let mut replicas = 1u32;
    let mut parameters = serde_json::Map::new();
    let mut rest = Vec::new();
    for p in props {
        match p.key.as_str() {
            "NAME" => {
                name = match &p.value {
                    crate::objects::Value::Word(w) => w.split('.').map(|s| s.to_uppercase()).collect(),
                    crate::objects::Value::Quoted(q) => vec![q.clone()],
                    other => return Err(SfError::invalid_value("NAME", &other.written())),
                }
            }
            "ASYNC" => {
                is_async = p.value.as_bool("ASYNC")?;
                parameters.insert("ASYNC".into(), is_async.into());
            }
            "REPLICAS" => {
                replicas = int_prop(&p, 1)?;
                parameters.insert("REPLICAS".into(), replicas.into());
            }
            _ => rest.push(p),
        }
    }
    {
        let catalog = engine.store().snapshot();
        let (db, schema, n) = resolve(&catalog, session, &name, "EXECUTE JOB SERVICE")?;
        if catalog.object(SERVICE, &schema_scope(&db, &schema), &n).is_some() {
            return Err(SfError::already_exists(&display_ident(&n)));
        }
    }
    let new = prepare(engine, session, &name, &pool, &source, "EXECUTE JOB SERVICE")?;
    let mut svc = record(engine, session, &new, true, query_id)?;
    apply_props(&mut svc, &rest)?;
    svc.is_async = is_async;
    svc.replicas = replicas;
    svc.min_instances = replicas;
    svc.max_instances = replicas;
    svc.min_ready_instances = replicas;
    svc.parameters = parameters;
    write_new(engine, &svc).await?;
    if let Some(logs) = engine.spcs().logs() {
        // The job's history row; the control plane records what becomes of it.
        logs.insert_job(&super::telemetry::job_record(&svc)).map_err(crate::errors::from_store)?;
    }
    if is_async {
        // Snowflake's text is undocumented (spcs.md §5.2): the row names the job and its status.
        return Ok(message(format!("Request to execute job {} has been successfully submitted with status: {}.", display_ident(&svc.name), status::PENDING)));
    }
    wait_job(engine, &svc, cancel).await
}

/// Waits for a synchronous job to end; a cancelled statement cancels the job.
async fn wait_job(engine: &Engine, svc: &Service, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let scope = schema_scope(&svc.database, &svc.schema);
    let mut changes = engine.spcs().changes();
    loop {
        let catalog = engine.store().snapshot();
        let state = get::<ServiceState>(&catalog, SERVICE_STATE, &scope, &svc.name).filter(|s| s.uid == svc.uid);
        match state {
            None => {
                return Err(SfError::new("002003", "02000", model::ErrorKind::NotFound, format!("Job {} was dropped while it ran.", display_ident(&svc.name))));
            }
            Some(st) if status::is_terminal(&st.status) => return job_outcome(engine, svc, &st),
            Some(_) => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => {
                cancel_job(engine, &scope, &svc.name).await;
                return Err(SfError::cancelled());
            }
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// Marks a job for cancellation (the control plane stops its containers).
pub(super) async fn cancel_job(engine: &Engine, scope: &str, name: &str) {
    let catalog = engine.store().snapshot();
    if let Some(mut svc) = get::<Service>(&catalog, SERVICE, scope, name)
        && svc.is_job
        && !svc.cancel_requested
    {
        svc.cancel_requested = true;
        svc.updated_on = now();
        let _ = commit(engine, vec![put(SERVICE, scope, name, &svc)]).await;
        engine.spcs().wake();
    }
}

fn job_outcome(engine: &Engine, svc: &Service, st: &ServiceState) -> Result<QueryResult, SfError> {
    if st.status == status::DONE {
        return Ok(message(format!("Job {} completed successfully with status: DONE.", display_ident(&svc.name))));
    }
    let mut detail = String::new();
    for inst in &st.instances {
        for c in &inst.containers {
            if c.status == "FAILED" || c.last_exit_code.is_some_and(|code| code != 0) {
                detail.push_str(&format!(
                    " Container '{}' of instance {} {}{}.",
                    c.name,
                    inst.id,
                    match c.last_exit_code {
                        Some(code) => format!("exited with code {code}"),
                        None => "failed".to_string(),
                    },
                    if c.message.is_empty() { String::new() } else { format!(" ({})", c.message) }
                ));
                let tail = super::system::tail_lines(engine, svc, inst.id, &c.name, 10);
                if !tail.is_empty() {
                    detail.push_str(&format!(" Last log lines:\n{}\n", tail.join("\n")));
                }
            }
        }
    }
    if let Some(m) = &st.message
        && detail.is_empty()
    {
        detail = format!(" {m}");
    }
    Err(SfError::new(
        "395021",
        "57014",
        model::ErrorKind::InvalidArgument,
        format!("Job {} failed with status: {}.{}", display_ident(&svc.name), st.status, detail.trim_end()),
    ))
}

/// Finds a service by name for a statement, with Snowflake's 002003 when absent or invisible.
pub(super) fn find(engine: &Engine, session: &Session, name: &[String], verb: &str) -> Result<(String, Service), SfError> {
    let catalog = engine.store().snapshot();
    let (db, schema, n) = resolve(&catalog, session, name, verb)?;
    let scope = schema_scope(&db, &schema);
    let missing = || SfError::kind_not_found("Service", &format!("{}.{}.{}", display_ident(&db), display_ident(&schema), display_ident(&n)));
    let svc = get::<Service>(&catalog, SERVICE, &scope, &n).ok_or_else(missing)?;
    if !Access::of(engine, session, &catalog).can_see(&catalog, &Securable::schema_object(SERVICE, &db, &schema, &n)) {
        return Err(missing());
    }
    Ok((scope, svc))
}

/// Requires one of `privileges` on a service.
pub(super) fn require(engine: &Engine, session: &Session, svc: &Service, privileges: &[&str]) -> Result<(), SfError> {
    let catalog = engine.store().snapshot();
    let obj = Securable::schema_object(SERVICE, &svc.database, &svc.schema, &svc.name);
    Access::of(engine, session, &catalog).require(&catalog, privileges, &obj, || {
        SfError::kind_not_found("Service", &format!("{}.{}.{}", display_ident(&svc.database), display_ident(&svc.schema), display_ident(&svc.name)))
    })
}

pub(super) async fn alter(engine: &Engine, session: &mut Session, name: Vec<String>, if_exists: bool, action: ServiceAction) -> Result<QueryResult, SfError> {
    let (scope, mut svc) = match find(engine, session, &name, "ALTER SERVICE") {
        Ok(found) => found,
        Err(_) if if_exists => return Ok(ok(statement_type::DDL)),
        Err(e) => return Err(e),
    };
    if svc.is_job {
        return Err(SfError::compilation(format!("Job service {} cannot be altered.", display_ident(&svc.name))));
    }
    let at = now();
    match action {
        ServiceAction::Suspend => {
            require(engine, session, &svc, &["OPERATE", "OWNERSHIP"])?;
            if !svc.suspended {
                svc.suspended = true;
                svc.suspended_on = Some(at);
            }
        }
        ServiceAction::Resume => {
            require(engine, session, &svc, &["OPERATE", "OWNERSHIP"])?;
            if svc.suspended {
                svc.suspended = false;
                svc.resumed_on = Some(at);
            }
        }
        ServiceAction::Spec(source) => {
            require(engine, session, &svc, &["OPERATE", "OWNERSHIP"])?;
            let catalog = engine.store().snapshot();
            let pool = get::<ComputePool>(&catalog, COMPUTE_POOL, "", &svc.compute_pool)
                .ok_or_else(|| SfError::kind_not_found("Compute pool", &display_ident(&svc.compute_pool)))?;
            let (text, spec) = load_spec(engine, session, &source)?;
            check_fit(&pool, &spec)?;
            // Always a new generation, even for the same text: the upgrade re-resolves image tags
            // (spcs.md §2.1: how a pushed `:latest` reaches a running service).
            svc.spec_digest = spec::spec_digest(&spec);
            svc.spec_text = text;
            svc.generation += 1;
        }
        ServiceAction::Set(props) => {
            require(engine, session, &svc, &["OWNERSHIP"])?;
            apply_props(&mut svc, &props)?;
        }
        ServiceAction::Unset(keys) => {
            require(engine, session, &svc, &["OWNERSHIP"])?;
            for k in keys {
                match k.as_str() {
                    "MIN_INSTANCES" => svc.min_instances = 1,
                    "MAX_INSTANCES" => svc.max_instances = svc.min_instances,
                    "MIN_READY_INSTANCES" => svc.min_ready_instances = svc.min_instances,
                    "AUTO_SUSPEND_SECS" => svc.auto_suspend_secs = 0,
                    "AUTO_RESUME" => svc.auto_resume = true,
                    "QUERY_WAREHOUSE" => svc.query_warehouse = None,
                    "LOG_LEVEL" => svc.log_level = None,
                    "LOG_EVENT_LEVEL" => svc.log_event_level = None,
                    "COMMENT" => svc.comment = None,
                    "EXTERNAL_ACCESS_INTEGRATIONS" => svc.external_access_integrations.clear(),
                    _ => {}
                }
            }
            svc.max_instances = svc.max_instances.max(svc.min_instances);
            svc.min_ready_instances = svc.min_ready_instances.min(svc.min_instances);
        }
    }
    svc.updated_on = at;
    let name = svc.name.clone();
    commit(engine, vec![put(SERVICE, &scope, &name, &svc)]).await?;
    engine.spcs().wake();
    Ok(ok(statement_type::DDL))
}

pub(super) async fn drop(engine: &Engine, session: &mut Session, name: Vec<String>, if_exists: bool, force: bool) -> Result<QueryResult, SfError> {
    let (scope, svc) = match find(engine, session, &name, "DROP SERVICE") {
        Ok(found) => found,
        Err(_) if if_exists => {
            let shown = name.last().cloned().unwrap_or_default();
            return Ok(crate::objects::dropped(&shown, false));
        }
        Err(e) => return Err(e),
    };
    require(engine, session, &svc, &["OWNERSHIP"])?;
    // Dropping deletes block volumes, so Snowflake wants it said (spcs.md §5: DROP SERVICE … FORCE);
    // the control plane removes them once the containers are gone. Message inferred.
    if !force
        && !svc.is_job
        && let Ok(parsed) = spec::parse(&svc.spec_text)
        && let Some(vol) = parsed.volumes.iter().find(|v| v.source == spec::VolumeSource::Block)
    {
        return Err(SfError::invalid_state(
            "099104",
            format!(
                "Service {} has block storage volume '{}'; DROP SERVICE would delete it. Use DROP SERVICE {} FORCE.",
                display_ident(&svc.name),
                vol.name,
                display_ident(&svc.name)
            ),
        ));
    }
    drop_records(engine, &scope, &svc.name).await?;
    Ok(message(format!("{} successfully dropped.", display_ident(&svc.name))))
}

/// Drops the jobs that ended more than `retention_ms` ago (their history rows stay until they age out
/// of the log store too). Returns how many were dropped.
pub async fn purge_finished_jobs(engine: &Engine, now_ms: i64, retention_ms: i64) -> Result<usize, SfError> {
    let catalog = engine.store().snapshot();
    let mut expired = Vec::new();
    for (scope, name, body) in catalog.objects_of(SERVICE) {
        let Ok(svc) = serde_json::from_value::<Service>(body.clone()) else { continue };
        if !svc.is_job {
            continue;
        }
        if let Some(st) = get::<ServiceState>(&catalog, SERVICE_STATE, scope, name).filter(|s| s.uid == svc.uid)
            && status::is_terminal(&st.status)
            && st.completed_on.is_some_and(|t| t < now_ms - retention_ms)
        {
            expired.push((scope.to_string(), name.to_string()));
        }
    }
    for (scope, name) in &expired {
        drop_records(engine, scope, name).await?;
    }
    Ok(expired.len())
}

/// Removes a service's records; the control plane then stops and removes its containers (SIGTERM,
/// grace, SIGKILL) after reading their logs to the end.
pub(crate) async fn drop_records(engine: &Engine, scope: &str, name: &str) -> Result<(), SfError> {
    let dropped: Option<Service> = get(&engine.store().snapshot(), SERVICE, scope, name);
    commit(
        engine,
        vec![
            store::Op::DeleteObject { kind: SERVICE.into(), scope: scope.into(), name: name.into() },
            store::Op::DeleteObject { kind: SERVICE_STATE.into(), scope: scope.into(), name: name.into() },
        ],
    )
    .await?;
    if let (Some(svc), Some(logs)) = (dropped, engine.spcs().logs())
        && svc.is_job
        && let Err(e) = logs.mark_job_deleted(&svc.uid, now())
    {
        tracing::warn!(error = %e, job = %svc.name, "cannot record the job's deletion in its history");
    }
    engine.spcs().wake();
    Ok(())
}
