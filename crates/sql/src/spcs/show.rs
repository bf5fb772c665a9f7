//! SHOW [JOB] SERVICES, DESCRIBE SERVICE and SHOW ENDPOINTS / SERVICE INSTANCES / SERVICE CONTAINERS /
//! ROLES IN SERVICE, with Snowflake's columns (spcs.md §4.5-4.10), from the desired record and the
//! observed state the control plane wrote.

use model::{SfError, display_ident};

use super::records::{SERVICE, SERVICE_STATE, Service, ServiceState};
use super::service::{find, require};
use crate::access::{Access, Securable};
use crate::engine::Engine;
use crate::objects::{ShowScope, get, schema_scope, scope_schemas};
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build, like_matcher};

/// The filters of SHOW SERVICES.
pub(super) struct ShowFilter {
    pub job_only: bool,
    pub exclude_jobs: bool,
    pub like: Option<String>,
    pub scope: ShowScope,
    pub pool: Option<String>,
    pub starts_with: Option<String>,
    pub limit: Option<usize>,
    pub from: Option<String>,
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

/// The image as SHOW and DESCRIBE print it: under floe's registry, lower case.
pub(super) fn shown_image(engine: &Engine, image: &str) -> String {
    match spec::parse_image(image) {
        Ok(r) => format!("{}/{}", engine.config().registry_address, r.local_name()),
        Err(_) => image.to_string(),
    }
}

fn state_of(catalog: &store::Catalog, svc: &Service) -> ServiceState {
    get::<ServiceState>(catalog, SERVICE_STATE, &schema_scope(&svc.database, &svc.schema), &svc.name)
        .filter(|st| st.uid == svc.uid)
        .unwrap_or_else(|| ServiceState { uid: svc.uid.clone(), status: "PENDING".into(), ..Default::default() })
}


pub(super) fn show_services(engine: &Engine, session: &Session, f: ShowFilter) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let scope = match (&f.scope, &f.pool) {
        (_, Some(_)) => ShowScope::Account,
        (ShowScope::Current, None) if session.database.is_some() => ShowScope::Database(None),
        (ShowScope::Current, None) => ShowScope::Account,
        (other, None) => other.clone(),
    };
    let schemas = scope_schemas(&catalog, session, &scope, "SHOW SERVICES")?;
    let matches = like_matcher(f.like.as_deref());
    let access = Access::of(engine, session, &catalog);
    let mut rows: Vec<(Service, ServiceState)> = Vec::new();
    for (scope_name, name, _) in catalog.objects_of(SERVICE) {
        let Some((db, schema)) = scope_name.split_once('.') else { continue };
        if !schemas.iter().any(|(d, s)| d == db && s == schema) || !matches(name) {
            continue;
        }
        let Some(svc) = get::<Service>(&catalog, SERVICE, scope_name, name) else { continue };
        if (f.job_only && !svc.is_job) || (f.exclude_jobs && svc.is_job) {
            continue;
        }
        if f.pool.as_ref().is_some_and(|p| p != &svc.compute_pool) {
            continue;
        }
        if f.starts_with.as_ref().is_some_and(|p| !svc.name.starts_with(p.as_str())) {
            continue;
        }
        if f.from.as_ref().is_some_and(|from| svc.name.as_str() < from.as_str()) {
            continue;
        }
        if !access.can_see(&catalog, &Securable::schema_object(SERVICE, db, schema, name)) {
            continue;
        }
        let st = state_of(&catalog, &svc);
        rows.push((svc, st));
    }
    rows.sort_by(|a, b| (&a.0.database, &a.0.schema, &a.0.name).cmp(&(&b.0.database, &b.0.schema, &b.0.name)));
    rows.truncate(f.limit.unwrap_or(10_000).min(10_000));
    let mut cols = columns(&rows, None);
    if f.job_only || f.exclude_jobs {
        cols.retain(|c| !matches!(c, Col::Text("is_job", _)));
    }
    if f.exclude_jobs {
        cols.retain(|c| !matches!(c, Col::Text("is_async_job", _)));
    }
    Ok(build(statement_type::SHOW, cols))
}

/// SHOW SERVICES' columns; DESCRIBE adds `spec` after `compute_pool`.
fn columns(rows: &[(Service, ServiceState)], specs: Option<Vec<Option<String>>>) -> Vec<Col> {
    let text = |f: &dyn Fn(&Service, &ServiceState) -> Option<String>| rows.iter().map(|(a, b)| f(a, b)).collect::<Vec<_>>();
    let num = |f: &dyn Fn(&Service, &ServiceState) -> Option<i64>| rows.iter().map(|(a, b)| f(a, b)).collect::<Vec<_>>();
    let mut cols = vec![
        Col::Text("name", text(&|v, _| s(&v.name))),
        Col::Text("status", text(&|_, st| s(&st.status))),
        Col::Text("database_name", text(&|v, _| s(&v.database))),
        Col::Text("schema_name", text(&|v, _| s(&v.schema))),
        Col::Text("owner", text(&|v, _| s(&v.owner))),
        Col::Text("compute_pool", text(&|v, _| s(&v.compute_pool))),
    ];
    if let Some(specs) = specs {
        cols.push(Col::Text("spec", specs));
    }
    cols.extend([
        Col::Text("dns_name", text(&|v, _| s(v.dns_name()))),
        Col::Num("current_instances", num(&|_, st| Some(st.instances.iter().filter(|i| i.status != "TERMINATING").count() as i64))),
        Col::Num("target_instances", num(&|v, _| Some(v.target_instances() as i64))),
        Col::Num("min_ready_instances", num(&|v, _| Some(v.min_ready_instances as i64))),
        Col::Num("min_instances", num(&|v, _| Some(v.min_instances as i64))),
        Col::Num("max_instances", num(&|v, _| Some(v.max_instances as i64))),
        Col::Text("auto_resume", text(&|v, _| s(v.auto_resume.to_string()))),
        Col::Text(
            "external_access_integrations",
            text(&|v, _| (!v.external_access_integrations.is_empty()).then(|| serde_json::to_string(&v.external_access_integrations).unwrap_or_default())),
        ),
        Col::Time("created_on", num(&|v, _| Some(v.created_on))),
        Col::Time("updated_on", num(&|v, st| Some(v.updated_on.max(st.updated_on)))),
        Col::Time("resumed_on", num(&|v, _| v.resumed_on)),
        Col::Time("suspended_on", num(&|v, _| v.suspended_on)),
        Col::Num("auto_suspend_secs", num(&|v, _| Some(v.auto_suspend_secs))),
        Col::Text("comment", text(&|v, _| v.comment.clone())),
        Col::Text("owner_role_type", text(&|_, _| s("ROLE"))),
        Col::Text("query_warehouse", text(&|v, _| v.query_warehouse.clone())),
        Col::Text("is_job", text(&|v, _| s(v.is_job.to_string()))),
        Col::Text("is_async_job", text(&|v, _| s((v.is_job && v.is_async).to_string()))),
        Col::Text("spec_digest", text(&|v, _| s(&v.spec_digest))),
        Col::Text("is_upgrading", text(&|_, st| s(st.is_upgrading.to_string()))),
        Col::Text("managing_object_domain", text(&|_, _| None)),
        Col::Text("managing_object_name", text(&|_, _| None)),
    ]);
    cols
}

pub(super) fn describe(engine: &Engine, session: &Session, name: &[String]) -> Result<QueryResult, SfError> {
    let (_, svc) = find(engine, session, name, "DESCRIBE SERVICE")?;
    let catalog = engine.store().snapshot();
    let st = state_of(&catalog, &svc);
    let access = Access::of(engine, session, &catalog);
    let owner = access.owns(&catalog, &Securable::schema_object(SERVICE, &svc.database, &svc.schema, &svc.name));
    let spec_text = owner.then(|| described_spec(engine, &svc, &st)).flatten();
    Ok(build(statement_type::SHOW, columns(&[(svc, st)], Some(vec![spec_text]))))
}

/// The normalized spec with each image under floe's registry and the digest its generation runs.
fn described_spec(engine: &Engine, svc: &Service, st: &ServiceState) -> Option<String> {
    let mut parsed = spec::parse(&svc.spec_text).ok()?;
    for c in &mut parsed.containers {
        c.image = shown_image(engine, &c.image);
        // Pinned by the control plane when the generation first starts the container.
        c.sha256 = match st.images.get(&c.name) {
            Some(pin) if st.generation == svc.generation => Some(pin.shown_digest().to_string()),
            _ => None,
        };
    }
    Some(spec::normalized_yaml(&parsed))
}

pub(super) fn in_service(engine: &Engine, session: &Session, what: &str, name: &[String]) -> Result<QueryResult, SfError> {
    let (_, svc) = find(engine, session, name, "SHOW")?;
    let catalog = engine.store().snapshot();
    let st = state_of(&catalog, &svc);
    match what {
        "ENDPOINTS" => {
            require(engine, session, &svc, &["USAGE", "MONITOR", "OPERATE", "OWNERSHIP"])?;
            let parsed = spec::parse(&svc.spec_text).map_err(super::service::spec_error)?;
            let eps = &parsed.endpoints;
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Text("name", eps.iter().map(|e| s(&e.name)).collect()),
                    Col::Text("port", eps.iter().map(|e| e.port.map(|p| p.to_string())).collect()),
                    Col::Text("port_range", eps.iter().map(|e| e.port_range.map(|(a, b)| format!("{a}-{b}"))).collect()),
                    Col::Text("protocol", eps.iter().map(|e| s(&e.protocol)).collect()),
                    Col::Text("is_public", eps.iter().map(|e| s(e.public.to_string())).collect()),
                    Col::Text("ingress_url", eps.iter().map(|e| s(if e.public { super::endpoints::ingress_url(engine, &svc, &e.name) } else { String::new() })).collect()),
                ],
            ))
        }
        "INSTANCES" => {
            require(engine, session, &svc, &["MONITOR", "OWNERSHIP"])?;
            let rows = &st.instances;
            let ts = |ms: Option<i64>| ms.and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Text("database_name", rows.iter().map(|_| s(&svc.database)).collect()),
                    Col::Text("schema_name", rows.iter().map(|_| s(&svc.schema)).collect()),
                    Col::Text("service_name", rows.iter().map(|_| s(&svc.name)).collect()),
                    Col::Text("service_status", rows.iter().map(|_| s(&st.status)).collect()),
                    Col::Text("instance_id", rows.iter().map(|i| s(i.id.to_string())).collect()),
                    Col::Text("status", rows.iter().map(|i| s(&i.status)).collect()),
                    Col::Text("spec_digest", rows.iter().map(|_| s(&svc.spec_digest)).collect()),
                    Col::Text("creation_time", rows.iter().map(|i| ts(i.creation_time)).collect()),
                    Col::Text("start_time", rows.iter().map(|i| ts(i.start_time)).collect()),
                    Col::Text("ip_address", rows.iter().map(|i| i.ip.clone()).collect()),
                ],
            ))
        }
        "CONTAINERS" => {
            require(engine, session, &svc, &["MONITOR", "OWNERSHIP"])?;
            let mut rows = Vec::new();
            for inst in &st.instances {
                for c in &inst.containers {
                    rows.push((Some(inst), Some(c)));
                }
            }
            if rows.is_empty() {
                rows.push((None, None));
            }
            let inst_text = |f: &dyn Fn(&super::InstanceState) -> String| rows.iter().map(|(i, _)| i.map(f)).collect::<Vec<_>>();
            let cont = |f: &dyn Fn(&super::ContainerState) -> Option<String>| rows.iter().map(|(_, c)| c.and_then(f)).collect::<Vec<_>>();
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Text("database_name", rows.iter().map(|_| s(&svc.database)).collect()),
                    Col::Text("schema_name", rows.iter().map(|_| s(&svc.schema)).collect()),
                    Col::Text("service_name", rows.iter().map(|_| s(&svc.name)).collect()),
                    Col::Text("service_status", rows.iter().map(|_| s(&st.status)).collect()),
                    Col::Text("instance_id", inst_text(&|i| i.id.to_string())),
                    Col::Text("instance_status", inst_text(&|i| i.status.clone())),
                    Col::Text("container_name", cont(&|c| s(&c.name))),
                    Col::Text("status", cont(&|c| s(&c.status))),
                    Col::Text("message", cont(&|c| s(&c.message))),
                    Col::Text("image_name", cont(&|c| s(&c.image))),
                    Col::Text("image_digest", cont(&|c| c.image_digest.clone())),
                    Col::Num("restart_count", rows.iter().map(|(_, c)| c.map(|c| c.restart_count as i64)).collect()),
                    Col::Text("start_time", cont(&|c| c.start_time.clone())),
                    Col::Num("last_exit_code", rows.iter().map(|(_, c)| c.and_then(|c| c.last_exit_code)).collect()),
                    Col::Text("last_restart_time", cont(&|c| c.last_restart_time.clone())),
                ],
            ))
        }
        _ => {
            require(engine, session, &svc, &["USAGE", "MONITOR", "OPERATE", "OWNERSHIP"])?;
            spec::parse(&svc.spec_text).map_err(super::service::spec_error)?;
            let names: Vec<String> = super::endpoints::service_roles(&svc).into_iter().map(|(name, _)| name).collect();
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Time("created_on", names.iter().map(|_| Some(svc.created_on)).collect()),
                    Col::Text("name", names.iter().map(|n| s(n)).collect()),
                    Col::Text("comment", names.iter().map(|_| None).collect()),
                ],
            ))
        }
    }
}

/// Whether a service exists and is visible, for system functions' errors.
pub(super) fn missing(db: &str, schema: &str, name: &str) -> SfError {
    SfError::kind_not_found("Service", &format!("{}.{}.{}", display_ident(db), display_ident(schema), display_ident(name)))
}
