//! How a service's endpoints are reached (spcs.md §4.10, §6.5, §11): the READY instances behind an
//! endpoint (service functions and the ingress), the host name of each public endpoint
//! (`ingress_url` of SHOW ENDPOINTS) and the endpoint a host name routes to, and the service roles that
//! decide who may use an endpoint. The HTTP side of the ingress is crates/ingress; this module knows
//! the catalog and privileges only.

use std::time::{Duration, Instant};

use model::{SfError, display_ident};
use sha2::{Digest, Sha256};
use store::Catalog;
use tokio_util::sync::CancellationToken;

use super::{SERVICE, SERVICE_STATE, Service, ServiceState};
use crate::access::{Access, Securable, kind};
use crate::engine::Engine;
use crate::objects::{get, schema_scope};
use crate::session::Session;

/// The implicit service role of every service: every endpoint.
pub const ALL_ENDPOINTS_USAGE: &str = "ALL_ENDPOINTS_USAGE";

/// The domain of public endpoints' host names: browsers and curl resolve `*.localhost` to loopback.
pub const INGRESS_DOMAIN: &str = "localhost";

/// SHOW ENDPOINTS' `ingress_url` while no ingress listener serves it (Snowflake's provisioning text).
pub const PROVISIONING: &str = "Endpoints provisioning in progress... check back in a few minutes";

/// A service's roles with the endpoints each covers: ALL_ENDPOINTS_USAGE (every endpoint), then the
/// spec's `serviceRoles` (names upper-cased, as Snowflake shows them).
pub fn service_roles(svc: &Service) -> Vec<(String, Vec<String>)> {
    let Ok(spec) = spec::parse(&svc.spec_text) else { return vec![(ALL_ENDPOINTS_USAGE.to_string(), Vec::new())] };
    let mut out = vec![(ALL_ENDPOINTS_USAGE.to_string(), spec.endpoints.iter().map(|e| e.name.clone()).collect())];
    out.extend(spec.service_roles.iter().map(|r| (r.name.to_uppercase(), r.endpoints.clone())));
    out
}

/// The first label of a public endpoint's host name: `<hash>-<account>`, where the hash (8 of
/// `[a-z0-9]`) is derived from the service's incarnation and the endpoint's name, so it is stable
/// across restarts and changes when the service is replaced.
pub fn host_label(service_uid: &str, endpoint: &str, account: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(format!("{service_uid}/{}", endpoint.to_lowercase()).as_bytes());
    let mut n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    let mut hash = String::with_capacity(8);
    for _ in 0..8 {
        hash.push(ALPHABET[(n % 36) as usize] as char);
        n /= 36;
    }
    let account: String = account.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("{hash}-{account}")
}

/// The first label of a Host header naming an ingress host (`<label>.localhost[:port]`, any case).
pub fn label_of_host(host: &str) -> Option<String> {
    let host = host.trim().to_lowercase();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name.to_string(),
        _ => host,
    };
    let name = name.strip_suffix('.').unwrap_or(&name);
    let label = name.strip_suffix(INGRESS_DOMAIN)?.strip_suffix('.')?;
    (!label.is_empty() && !label.contains('.')).then(|| label.to_string())
}

/// SHOW ENDPOINTS' `ingress_url` of a public endpoint: `<hash>-<account>.localhost:<port>`, or the
/// provisioning text when floe runs without an ingress listener.
pub fn ingress_url(engine: &Engine, svc: &Service, endpoint: &str) -> String {
    match engine.config().ingress_port {
        Some(port) => format!("{}.{INGRESS_DOMAIN}:{port}", host_label(&svc.uid, endpoint, &engine.config().account)),
        None => PROVISIONING.to_string(),
    }
}

/// A public endpoint, as the ingress routes to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicEndpoint {
    /// The service's database, schema and name.
    pub service: [String; 3],
    /// The service's incarnation.
    pub service_uid: String,
    /// The endpoint's name (as in the spec).
    pub endpoint: String,
    /// Its `corsSettings`.
    pub cors: Option<spec::Cors>,
}

impl PublicEndpoint {
    /// `DB.SCHEMA.SERVICE!endpoint` for logs and messages.
    pub fn display(&self) -> String {
        let [db, schema, name] = &self.service;
        format!("{}.{}.{}!{}", display_ident(db), display_ident(schema), display_ident(name), self.endpoint)
    }
}

/// The public endpoint of a (non-job) service that a Host header names, if any.
pub fn route(catalog: &Catalog, account: &str, host: &str) -> Option<PublicEndpoint> {
    let label = label_of_host(host)?;
    for (scope, name, body) in catalog.objects_of(SERVICE) {
        let Ok(svc) = serde_json::from_value::<Service>(body.clone()) else { continue };
        if svc.is_job {
            continue;
        }
        let Ok(spec) = spec::parse(&svc.spec_text) else { continue };
        for ep in spec.endpoints.iter().filter(|e| e.public) {
            if host_label(&svc.uid, &ep.name, account) == label {
                let (db, schema) = scope.split_once('.').unwrap_or((scope, ""));
                return Some(PublicEndpoint {
                    service: [db.to_string(), schema.to_string(), name.to_string()],
                    service_uid: svc.uid.clone(),
                    endpoint: ep.name.clone(),
                    cors: ep.cors.clone(),
                });
            }
        }
    }
    None
}

/// Whether a user acting with `role` may use a public endpoint: the role (or one it inherits) owns the
/// service (owners hold ALL_ENDPOINTS_USAGE) or was granted a service role covering the endpoint
/// (`GRANT SERVICE ROLE svc!r TO ROLE …`). A role not granted to the user counts as PUBLIC.
pub fn may_use(engine: &Engine, user: &str, role: &str, ep: &PublicEndpoint) -> bool {
    let catalog = engine.store().snapshot();
    let [db, schema, name] = &ep.service;
    let Some(svc) = get::<Service>(&catalog, SERVICE, &schema_scope(db, schema), name).filter(|s| s.uid == ep.service_uid) else { return false };
    let session = Session { user: user.to_string(), role: role.to_string(), ..Default::default() };
    let access = Access::of(engine, &session, &catalog);
    service_roles(&svc).iter().filter(|(_, endpoints)| endpoints.iter().any(|e| e.eq_ignore_ascii_case(&ep.endpoint))).any(|(r, _)| {
        access.has(&catalog, "USAGE", &Securable::new(kind::SERVICE_ROLE, &[db.as_str(), schema.as_str(), name.as_str(), r.as_str()]))
    })
}

/// `http://<ip>:<port><path>` of each READY instance of a service's endpoint; wakes the service when it
/// is suspended with AUTO_RESUME and waits (within `timeout`) for an instance to be ready. Service
/// functions call each target; the ingress proxies to one.
pub async fn ready_targets(engine: &Engine, service: &[String], endpoint: &str, path: &str, timeout: Duration, cancel: &CancellationToken) -> Result<Vec<String>, SfError> {
    let [db, schema, name] = service else { return Err(SfError::internal("an endpoint without a service")) };
    let scope = schema_scope(db, schema);
    let missing = || SfError::kind_not_found("Service", &format!("{}.{}.{}", display_ident(db), display_ident(schema), display_ident(name)));
    let deadline = Instant::now() + timeout;
    let mut changes = engine.spcs().changes();
    let mut resumed = false;
    loop {
        let catalog = engine.store().snapshot();
        let svc = get::<Service>(&catalog, SERVICE, &scope, name).ok_or_else(missing)?;
        let spec = spec::parse(&svc.spec_text).map_err(|e| SfError::internal(e.to_string()))?;
        let port = spec.endpoints.iter().find(|e| e.name.eq_ignore_ascii_case(endpoint)).and_then(|e| e.port).ok_or_else(|| {
            SfError::compilation(format!("Endpoint '{}' does not exist in service {}.", endpoint.to_lowercase(), display_ident(name)))
        })?;
        let state = get::<ServiceState>(&catalog, SERVICE_STATE, &scope, name).filter(|s| s.uid == svc.uid);
        let targets: Vec<String> = state
            .iter()
            .flat_map(|s| s.instances.iter())
            .filter(|i| i.status == "READY")
            .filter_map(|i| i.ip.as_ref())
            .map(|ip| format!("http://{ip}:{port}{path}"))
            .collect();
        // A service suspended by statement is not called, even while its instances are still stopping.
        let pool = get::<crate::objects::compute_pool::ComputePool>(&catalog, crate::objects::COMPUTE_POOL, "", &svc.compute_pool);
        let pool_suspended = pool.as_ref().is_some_and(|p| p.suspended);
        if !targets.is_empty() && !svc.suspended && !pool_suspended {
            return Ok(targets);
        }
        if svc.suspended || pool_suspended {
            if !svc.auto_resume || pool.as_ref().is_some_and(|p| p.suspended && !p.auto_resume) {
                return Err(SfError::new(
                    "391419",
                    "57P03",
                    model::ErrorKind::InvalidArgument,
                    format!("Service {} is suspended and AUTO_RESUME is FALSE; resume it with ALTER SERVICE {} RESUME.", display_ident(name), display_ident(name)),
                ));
            }
            if !resumed {
                resume(engine, &scope, svc, pool).await?;
                resumed = true;
                continue;
            }
        }
        engine.spcs().check_available()?;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(SfError::new(
                "100351",
                "P0000",
                model::ErrorKind::InvalidArgument,
                format!("Request failed for external function on service {}. Error: no instance of the service is ready (status {}).", display_ident(name), state.map(|s| s.status).unwrap_or_else(|| "PENDING".into())),
            ));
        }
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(left.min(Duration::from_millis(500))) => {}
            _ = cancel.cancelled() => return Err(SfError::cancelled()),
        }
    }
}

/// AUTO_RESUME: the service (and its pool) resume as ALTER … RESUME would.
async fn resume(engine: &Engine, scope: &str, mut svc: Service, pool: Option<crate::objects::compute_pool::ComputePool>) -> Result<(), SfError> {
    let at = crate::objects::now();
    let mut ops = Vec::new();
    if let Some(mut p) = pool.filter(|p| p.suspended) {
        p.suspended = false;
        ops.push(crate::objects::put(crate::objects::COMPUTE_POOL, "", &p.name.clone(), &p));
    }
    if svc.suspended {
        svc.suspended = false;
        svc.resumed_on = Some(at);
        svc.updated_on = at;
        ops.push(crate::objects::put(SERVICE, scope, &svc.name.clone(), &svc));
    }
    tracing::info!(service = %svc.qualified(), "resuming a suspended service for a call of its endpoint (AUTO_RESUME)");
    crate::objects::commit(engine, ops).await?;
    engine.spcs().wake();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_labels_are_stable_and_distinct() {
        let a = host_label("uid-1", "echoendpoint", "floe");
        assert_eq!(a, host_label("uid-1", "ECHOENDPOINT", "FLOE"));
        assert_eq!(a.len(), 8 + "-floe".len());
        assert!(a.ends_with("-floe") && a[..8].chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(a, host_label("uid-2", "echoendpoint", "floe"));
        assert_ne!(a, host_label("uid-1", "ui", "floe"));
        assert!(host_label("u", "e", "My_Acct").ends_with("-my-acct"));
    }

    #[test]
    fn host_names_to_labels() {
        assert_eq!(label_of_host("abcd1234-floe.localhost:8082").as_deref(), Some("abcd1234-floe"));
        assert_eq!(label_of_host("ABCD1234-FLOE.LOCALHOST").as_deref(), Some("abcd1234-floe"));
        assert_eq!(label_of_host("abcd1234-floe.localhost.:80").as_deref(), Some("abcd1234-floe"));
        assert_eq!(label_of_host("localhost:8082"), None);
        assert_eq!(label_of_host("127.0.0.1:8082"), None);
        assert_eq!(label_of_host("a.b.localhost"), None);
        assert_eq!(label_of_host("abcd-floe.example.com"), None);
        assert_eq!(label_of_host("xlocalhost"), None);
    }
}
