//! floe's control plane: the reconcile loop that drives the container runtime toward the services and
//! jobs the SQL statements recorded, and records what it observes.
//!
//! Desired state is the `SERVICE` objects in the store (written only by crates/sql); observed state is
//! the `SERVICE_STATE` objects (written only here) plus the runtime's containers, found by their labels
//! (`driver::OWNER_LABEL` = this server's instance id). The loop is level-triggered and idempotent: each
//! pass lists floe's containers, compares them with the records, creates what is missing, removes what
//! is not wanted (SIGTERM, grace, SIGKILL, after reading its logs to the end), and writes each changed
//! state in one commit. So after `kill -9` of floe or a restart of dockerd the next pass adopts what
//! runs: no duplicates (containers are named per service uid, instance and container), no orphans.
//!
//! Each container has a log-capture task (`capture`) that follows its output into the log store with a
//! cursor, and, when its spec has probes, a probe task (`probe`). Status derivation and placement on the
//! pool's virtual nodes are pure (`status`). This crate knows no Docker (only `driver::RuntimeDriver`)
//! and no wire protocol.

mod capture;
pub mod events;
mod instance;
mod probe;
pub mod status;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use driver::{ContainerInfo, RunState, RuntimeDriver};
use parking_lot::Mutex;
use sql::objects::{COMPUTE_POOL, ComputePool};
use sql::spcs::{ContainerState, InstanceState, SERVICE, SERVICE_STATE, Service, ServiceState, status as svc_status};
use store::{LogStore, Op};

/// Labels floe puts on its containers, besides `driver::OWNER_LABEL`.
pub mod labels {
    /// The service's unique id.
    pub const SERVICE_UID: &str = "floe.service_uid";
    /// `DB.SCHEMA.NAME`.
    pub const SERVICE: &str = "floe.service";
    /// Instance id.
    pub const INSTANCE: &str = "floe.instance";
    /// Container name in the spec.
    pub const CONTAINER: &str = "floe.container";
    /// Spec generation.
    pub const GENERATION: &str = "floe.generation";
    /// `job` or `service`.
    pub const KIND: &str = "floe.kind";
    /// On engine volumes: `local` (removed with its instance) or `block` (kept until the service is
    /// dropped).
    pub const VOLUME: &str = "floe.volume";
    /// `true` on the sandbox container of a multi-container instance (no `CONTAINER` label).
    pub const SANDBOX: &str = "floe.sandbox";
    /// The log run number of a container's first run: one past the last run of the same instance's
    /// container of that name, so that logs of a replaced container are never mixed with its successor's.
    pub const RUN_BASE: &str = "floe.run_base";
}

/// Settings of the control plane.
#[derive(Debug, Clone)]
pub struct Config {
    /// This server's instance id (owner label value).
    pub owner: String,
    /// Data dir (session tokens and secret files live under `<data-dir>/run`).
    pub data_dir: PathBuf,
    /// Account name (SNOWFLAKE_ACCOUNT).
    pub account: String,
    /// Port floe listens on (SNOWFLAKE_PORT).
    pub port: u16,
    /// floe's registry address: image names shown, and where missing images are pulled from.
    pub registry_address: String,
    /// The credentials the runtime pulls from floe's registry with (`None`: anonymous).
    pub registry_credentials: Option<driver::RegistryCredentials>,
    /// Resync period when nothing wakes the loop.
    pub tick: Duration,
    /// How often the session token file of a running container is replaced by a fresh token
    /// (Snowflake: every few minutes; each token lives an hour).
    pub token_refresh: Duration,
    /// How containers reach floe over https, when floe serves it on its networks (None: plain http at
    /// the gateway address and `port`).
    pub tls: Option<ContainerTls>,
}

/// floe's https front door for containers: SNOWFLAKE_HOST resolves (an /etc/hosts entry) to the
/// network's gateway, where floe serves the protocol on `port` with a certificate of floe's CA.
#[derive(Debug, Clone)]
pub struct ContainerTls {
    /// The host name containers use (SNOWFLAKE_HOST).
    pub host: String,
    /// The https port (443 in Snowflake).
    pub port: u16,
    /// floe's CA certificate (PEM file on the host), mounted at `CA_PATH`.
    pub ca_file: PathBuf,
    /// The host's trusted roots plus floe's CA (PEM file on the host), mounted at `CA_BUNDLE_PATH`.
    pub bundle_file: PathBuf,
}

/// Where containers find floe's CA certificate.
pub const CA_PATH: &str = "/snowflake/floe/ca.pem";
/// Where containers find the trusted roots plus floe's CA; REQUESTS_CA_BUNDLE, SSL_CERT_FILE and
/// CURL_CA_BUNDLE name it.
pub const CA_BUNDLE_PATH: &str = "/snowflake/floe/ca-bundle.pem";

/// Issues the session tokens containers find under `/snowflake/session/token`.
pub trait TokenIssuer: Send + Sync {
    /// A token for a service's containers, valid for `ttl`.
    fn issue(&self, service: &Service, ttl: Duration) -> Option<String>;
}

/// The control plane. Shared behind an `Arc`; `spawn` starts its loop.
pub struct Controller {
    cfg: Config,
    engine: sql::Engine,
    driver: Arc<dyn RuntimeDriver>,
    logs: Arc<LogStore>,
    tokens: Option<Arc<dyn TokenIssuer>>,
    on_gateway: Box<dyn Fn(String) + Send + Sync>,
    gateways: Mutex<HashMap<String, Option<String>>>,
    captures: Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>,
    probes: Mutex<HashMap<String, probe::ProbeHandle>>,
    stopping: Arc<Mutex<HashSet<String>>>,
    /// Service incarnations whose resource attributes this process has recorded in the log store.
    described: Mutex<HashSet<String>>,
    /// Held while a network is created (`instance::ensure_network`).
    network_lock: tokio::sync::Mutex<()>,
    /// When finished jobs and old telemetry were last purged.
    last_purge: Mutex<Option<std::time::Instant>>,
    /// Where log capture runs (`set_capture_runtime`): a runtime of its own with a driver of its own,
    /// else this one's.
    capture_rt: Mutex<Option<(Arc<dyn RuntimeDriver>, tokio::runtime::Handle)>>,
}

/// How often the loop looks for what outlived the retention period: once a minute, or more often when
/// the retention is shortened (tests), a quarter of it.
fn purge_every(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

fn host_cpus() -> f64 {
    std::thread::available_parallelism().map(|n| n.get() as f64).unwrap_or(1.0)
}

impl Controller {
    /// A control plane over `engine`'s store, running containers with `driver`. `on_gateway` is called
    /// with the host's address on every network floe creates, so the server can listen there.
    pub fn new(
        cfg: Config,
        engine: sql::Engine,
        driver: Arc<dyn RuntimeDriver>,
        logs: Arc<LogStore>,
        tokens: Option<Arc<dyn TokenIssuer>>,
        on_gateway: Box<dyn Fn(String) + Send + Sync>,
    ) -> Arc<Controller> {
        engine.spcs().set_logs(logs.clone());
        Arc::new(Controller {
            cfg,
            engine,
            driver,
            logs,
            tokens,
            on_gateway,
            gateways: Mutex::new(HashMap::new()),
            captures: Arc::new(Mutex::new(HashMap::new())),
            probes: Mutex::new(HashMap::new()),
            stopping: Arc::new(Mutex::new(HashSet::new())),
            described: Mutex::new(HashSet::new()),
            network_lock: tokio::sync::Mutex::new(()),
            last_purge: Mutex::new(None),
            capture_rt: Mutex::new(None),
        })
    }

    /// Runs log capture on `handle` (a single-threaded runtime on a thread of its own) with `driver`,
    /// a client created on that runtime. The log stream hands its frames one at a time from the HTTP
    /// connection's task to the reading task; on one thread that is a cheap task switch, across the
    /// worker threads of a multi-threaded runtime a thread wake-up per line.
    pub fn set_capture_runtime(&self, driver: Arc<dyn RuntimeDriver>, handle: tokio::runtime::Handle) {
        *self.capture_rt.lock() = Some((driver, handle));
    }

    /// Starts the loop: a pass at once (adoption), then on every wake-up and every `tick`.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = this.reconcile().await {
                    tracing::warn!(error = %e, "reconcile pass failed; retrying");
                }
                this.purge_if_due().await;
                tokio::select! {
                    _ = this.engine.spcs().woken() => {}
                    _ = tokio::time::sleep(this.cfg.tick) => {}
                }
            }
        })
    }

    fn runtime(&self) -> &Arc<sql::spcs::Runtime> {
        self.engine.spcs()
    }

    fn grace(&self) -> Duration {
        self.runtime().durations.read().stop_grace
    }

    /// One pass over every service and every owned container.
    pub async fn reconcile(&self) -> Result<(), driver::Error> {
        let catalog = self.engine.store().snapshot();
        let mut services: Vec<(String, Service)> = Vec::new();
        for (scope, name, body) in catalog.objects_of(SERVICE) {
            match serde_json::from_value::<Service>(body.clone()) {
                Ok(svc) => services.push((scope.to_string(), svc)),
                Err(e) => tracing::warn!(%scope, %name, error = %e, "undecodable service record"),
            }
        }
        let states: HashMap<String, ServiceState> = catalog
            .objects_of(SERVICE_STATE)
            .filter_map(|(_, _, body)| serde_json::from_value::<ServiceState>(body.clone()).ok())
            .map(|st| (st.uid.clone(), st))
            .collect();
        let pools: HashMap<String, ComputePool> = catalog
            .objects_of(COMPUTE_POOL)
            .filter_map(|(_, name, body)| serde_json::from_value::<ComputePool>(body.clone()).ok().map(|p| (name.to_string(), p)))
            .collect();
        let containers = self.driver.list(&self.cfg.owner).await?;
        let mut by_uid: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
        for c in containers {
            self.ensure_capture(&c);
            if let Some(uid) = c.labels.get(labels::SERVICE_UID) {
                by_uid.entry(uid.clone()).or_default().push(c);
            }
        }
        // Containers of services that no longer exist.
        let wanted: HashSet<&str> = services.iter().map(|(_, s)| s.uid.as_str()).collect();
        for (uid, cs) in &by_uid {
            if !wanted.contains(uid.as_str()) {
                for c in cs {
                    self.teardown(c);
                }
            }
        }
        self.collect_volumes(&wanted, &by_uid).await;
        // Virtual-node placements of live instances, per pool.
        let mut placed: HashMap<String, Vec<(u32, status::Capacity)>> = HashMap::new();
        for (_, svc) in &services {
            if let (Some(st), Ok(spec)) = (states.get(&svc.uid), spec::parse(&svc.spec_text)) {
                let need = need_of(&spec);
                for inst in &st.instances {
                    if let Some(node) = inst.node
                        && !matches!(inst.status.as_str(), "SUCCEEDED" | "FAILED")
                    {
                        placed.entry(svc.compute_pool.clone()).or_default().push((node, need));
                    }
                }
            }
        }
        let mut ops = Vec::new();
        let mut started = false;
        // Services are driven concurrently (their Docker calls overlap); placement is serialised by `placed`.
        let placed = Mutex::new(placed);
        let passes = services.iter().map(|(_, svc)| {
            let old = states.get(&svc.uid).cloned().unwrap_or_else(|| ServiceState { uid: svc.uid.clone(), status: "PENDING".into(), ..Default::default() });
            let mine = by_uid.remove(&svc.uid).unwrap_or_default();
            let pool = pools.get(&svc.compute_pool);
            let had = mine.len();
            let placed = &placed;
            async move {
                let next = self.reconcile_service(svc, &old, mine, pool, placed).await;
                (old, next, had)
            }
        });
        let results = futures::future::join_all(passes.collect::<Vec<_>>()).await;
        for ((scope, svc), (old, mut next, had)) in services.iter().zip(results) {
            let pool = pools.get(&svc.compute_pool);
            started |= next.instances.iter().flat_map(|i| i.containers.iter()).filter(|c| c.runtime_id.is_some()).count() > had;
            if next != (ServiceState { updated_on: next.updated_on, ..old.clone() }) || states.get(&svc.uid).is_none() {
                if next.status != old.status && svc_status::is_terminal(&next.status) {
                    next.completed_on = Some(now_ms());
                }
                self.record_telemetry(&catalog, svc, states.get(&svc.uid), &next, pool);
                next.updated_on = now_ms();
                ops.push(Op::PutObject {
                    kind: SERVICE_STATE.into(),
                    scope: scope.clone(),
                    name: svc.name.clone(),
                    body: serde_json::to_value(&next).expect("state serialises"),
                });
            }
        }
        if started {
            // Containers just started: look again at once rather than at the next tick.
            self.runtime().wake();
        }
        if !ops.is_empty() {
            let store = self.engine.store().clone();
            // A service dropped meanwhile makes the commit moot; the next pass sees it gone.
            let written = tokio::task::spawn_blocking(move || {
                let catalog = store.snapshot();
                let ops: Vec<Op> = ops
                    .into_iter()
                    .filter(|op| match op {
                        Op::PutObject { scope, name, body, .. } => catalog
                            .object(SERVICE, scope, name)
                            .and_then(|s| s.get("uid").cloned())
                            .is_some_and(|uid| Some(&uid) == body.get("uid")),
                        _ => true,
                    })
                    .collect();
                if ops.is_empty() { Ok(()) } else { store.commit(ops).map(|_| ()) }
            })
            .await;
            match written {
                Ok(Ok(())) => self.runtime().publish_change(),
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot record service states"),
                Err(e) => tracing::warn!(error = %e, "state writer panicked"),
            }
        }
        Ok(())
    }

    /// Removes the engine volumes nothing needs any more: every volume of a service that no longer
    /// exists (a block volume outlives its instances until DROP SERVICE … FORCE), and a local volume
    /// once its instance has no container left (emptyDir semantics, spcs.md §6.4). A volume still in
    /// use by a container being stopped is left for a later pass.
    async fn collect_volumes(&self, wanted: &HashSet<&str>, by_uid: &HashMap<String, Vec<ContainerInfo>>) {
        let volumes = match self.driver.list_volumes(&self.cfg.owner).await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "cannot list volumes");
                return;
            }
        };
        for (name, l) in volumes {
            let uid = l.get(labels::SERVICE_UID).map(String::as_str).unwrap_or_default();
            let instance = l.get(labels::INSTANCE);
            let service_gone = !wanted.contains(uid);
            let instance_gone = l.get(labels::VOLUME).map(String::as_str) == Some("local")
                && !by_uid.get(uid).is_some_and(|cs| cs.iter().any(|c| c.labels.get(labels::INSTANCE) == instance));
            if (service_gone || instance_gone)
                && let Err(e) = self.driver.remove_volume(&name).await
            {
                tracing::debug!(volume = %name, error = %e, "volume not removed yet");
            }
        }
    }

    /// Records what changed in the log store: the service's resource attributes (once), its platform
    /// events as LOG_EVENT_LEVEL lets them through, and, for a job, its history row.
    fn record_telemetry(&self, catalog: &store::Catalog, svc: &Service, old: Option<&ServiceState>, next: &ServiceState, pool: Option<&ComputePool>) {
        if self.described.lock().insert(svc.uid.clone()) {
            let attrs = sql::spcs::telemetry::resource_record(&self.cfg.account, svc, pool);
            if let Err(e) = self.logs.put_resource(&svc.uid, &svc.owner, &attrs) {
                tracing::warn!(error = %e, service = %svc.name, "cannot record resource attributes");
            }
        }
        let level = sql::spcs::telemetry::log_event_level(catalog, svc);
        let ts_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let records: Vec<store::LogRecord> = events::gate(&level, events::transitions(svc.is_job, old, next))
            .into_iter()
            .map(|e| store::LogRecord {
                ts_ns,
                service: svc.qualified(),
                service_uid: svc.uid.clone(),
                instance: e.instance.unwrap_or(0),
                container: e.container.clone().unwrap_or_default(),
                run: 0,
                stream: 2,
                body: e.body(),
            })
            .collect();
        if !records.is_empty()
            && let Err(e) = self.logs.append(&records, None)
        {
            tracing::warn!(error = %e, service = %svc.name, "cannot record platform events");
        }
        if svc.is_job {
            let statuses = sql::spcs::telemetry::instance_statuses(next).to_string();
            let completed = if svc_status::is_terminal(&next.status) { next.completed_on } else { None };
            if let Err(e) = self.logs.update_job(&svc.uid, &next.status, next.message.as_deref(), completed, &statuses) {
                tracing::warn!(error = %e, job = %svc.name, "cannot record the job's history");
            }
        }
    }

    /// Once a minute: drops finished jobs older than the retention period, then forgets logs, events
    /// and history older than it.
    async fn purge_if_due(&self) {
        let retention = self.runtime().durations.read().retention;
        {
            let mut last = self.last_purge.lock();
            if last.is_some_and(|t| t.elapsed() < purge_every(retention)) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        let retention_ms = retention.as_millis() as i64;
        match sql::spcs::purge_finished_jobs(&self.engine, now_ms(), retention_ms).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "dropped finished jobs past the retention period"),
            Err(e) => tracing::warn!(error = %e, "cannot drop expired jobs"),
        }
        let before_ns = (now_ms() - retention_ms).saturating_mul(1_000_000);
        let logs = self.logs.clone();
        match tokio::task::spawn_blocking(move || logs.purge(before_ns)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot purge old telemetry"),
            Err(e) => tracing::warn!(error = %e, "telemetry purge panicked"),
        }
    }

    /// Drives one service toward its record; returns its observed state.
    async fn reconcile_service(
        &self,
        svc: &Service,
        old: &ServiceState,
        containers: Vec<ContainerInfo>,
        pool: Option<&ComputePool>,
        placed: &Mutex<HashMap<String, Vec<(u32, status::Capacity)>>>,
    ) -> ServiceState {
        let spec = match spec::parse(&svc.spec_text) {
            Ok(spec) => spec,
            Err(e) => {
                return ServiceState { status: svc_status::INTERNAL_ERROR.into(), message: Some(format!("invalid stored spec: {e}")), ..old.clone() };
            }
        };
        let pool_suspended = pool.is_none_or(|p| p.suspended);
        let target = if svc.is_job {
            if svc.cancel_requested { 0 } else { svc.replicas }
        } else if svc.suspended || pool_suspended {
            0
        } else {
            svc.min_instances
        };
        let mut by_instance: BTreeMap<u32, Vec<ContainerInfo>> = BTreeMap::new();
        for c in containers {
            if let Some(i) = c.labels.get(labels::INSTANCE).and_then(|i| i.parse::<u32>().ok()) {
                by_instance.entry(i).or_default().push(c);
            }
        }
        // Rolling upgrade of services: replace one outdated instance at a time, highest id first, once
        // every other instance is ready.
        let mut upgrading = false;
        if !svc.is_job {
            let outdated: Vec<u32> = by_instance
                .iter()
                .filter(|(_, cs)| cs.iter().any(|c| c.labels.get(labels::GENERATION).and_then(|g| g.parse::<u64>().ok()) != Some(svc.generation)))
                .map(|(i, _)| *i)
                .collect();
            if let Some(&highest) = outdated.iter().max() {
                upgrading = true;
                let others_ready = old.instances.iter().filter(|i| i.id != highest).all(|i| i.status == "READY");
                if others_ready && let Some(cs) = by_instance.get(&highest) {
                    for c in cs {
                        self.teardown(c);
                    }
                }
            }
        }
        // The images this generation runs: pinned at its first start, reused by every later one.
        let mut pins = if old.generation == svc.generation { old.images.clone() } else { BTreeMap::new() };
        let mut instances = Vec::new();
        let ids: Vec<u32> = (0..target).chain(by_instance.keys().copied().filter(|i| *i >= target)).collect();
        for id in ids {
            // The instance's containers, and its network sandbox when it has several (`all` = both).
            let all = by_instance.remove(&id).unwrap_or_default();
            let (sandboxes, cs): (Vec<&ContainerInfo>, Vec<&ContainerInfo>) = all.iter().partition(|c| c.labels.contains_key(labels::SANDBOX));
            let prev = old.instances.iter().find(|i| i.id == id);
            if id >= target {
                for c in &all {
                    self.teardown(c);
                }
                if !cs.is_empty() {
                    let mut inst = self.observe_instance(svc, &spec, id, &all, prev);
                    inst.status = "TERMINATING".into();
                    instances.push(inst);
                }
                continue;
            }
            if cs.is_empty() {
                // A sandbox without containers is left over from the instance's last run.
                for c in &sandboxes {
                    self.teardown(c);
                }
                // A finished job instance keeps its final state after its containers are removed.
                if svc.is_job
                    && let Some(p) = prev
                    && matches!(p.status.as_str(), "SUCCEEDED" | "FAILED")
                {
                    let mut kept = p.clone();
                    for c in &mut kept.containers {
                        c.runtime_id = None;
                    }
                    instances.push(kept);
                    continue;
                }
                instances.push(self.start_instance(svc, &spec, id, prev, pool, placed, &mut pins).await);
                continue;
            }
            self.refresh_tokens(svc, &spec, id, &all);
            let mut inst = self.observe_instance(svc, &spec, id, &all, prev);
            if svc.is_job && matches!(inst.status.as_str(), "SUCCEEDED" | "FAILED") {
                // A job instance ends when its containers' output is stored to the end (so its logs are
                // complete when the job's status says it ended); then its containers are removed.
                if cs.iter().all(|c| self.drained(&c.id)) {
                    for c in &all {
                        self.teardown(c);
                    }
                } else {
                    inst.status = "READY".into();
                }
            }
            instances.push(inst);
        }
        let inst_status: Vec<&str> = instances.iter().map(|i| i.status.as_str()).collect();
        let any_left = instances.iter().any(|i| i.containers.iter().any(|c| c.runtime_id.is_some()));
        let (status, message) = if svc.is_job {
            let st = status::job_status(&inst_status, svc.replicas, svc.cancel_requested, any_left);
            let msg = match st {
                "DONE" => Some("Job completed successfully.".to_string()),
                "FAILED" => Some("Job failed.".to_string()),
                "CANCELLED" => Some("Job was cancelled.".to_string()),
                _ => pending_message(&instances),
            };
            (st, msg)
        } else {
            let st = status::service_status(svc.min_ready_instances, &inst_status, svc.suspended || pool_suspended, any_left);
            (st, if st == "PENDING" { pending_message(&instances) } else { None })
        };
        // A finished job does not come back to life.
        if svc.is_job && svc_status::is_terminal(&old.status) {
            return ServiceState { instances, ..old.clone() };
        }
        ServiceState {
            uid: svc.uid.clone(),
            status: status.into(),
            message,
            instances,
            completed_on: old.completed_on,
            updated_on: old.updated_on,
            generation: svc.generation,
            is_upgrading: upgrading,
            images: pins,
        }
    }

    /// Whether a container's output has been captured to its end.
    fn drained(&self, id: &str) -> bool {
        self.captures.lock().get(id).is_some_and(|d| d.load(Ordering::Acquire))
    }

    /// Starts capturing a container's output if nothing does yet.
    fn ensure_capture(&self, c: &ContainerInfo) {
        let mut caps = self.captures.lock();
        if caps.contains_key(&c.id) {
            return;
        }
        let drained = Arc::new(AtomicBool::new(false));
        caps.insert(c.id.clone(), drained.clone());
        // A container that is not one of a spec's (an instance's sandbox) writes nothing to keep.
        let Some(meta) = capture::Meta::from_labels(&c.labels) else {
            drained.store(true, Ordering::Release);
            return;
        };
        match self.capture_rt.lock().clone() {
            Some((driver, handle)) => {
                handle.spawn(capture::run(driver, self.logs.clone(), self.engine.spcs().clone(), c.id.clone(), meta, drained));
            }
            None => {
                tokio::spawn(capture::run(self.driver.clone(), self.logs.clone(), self.engine.spcs().clone(), c.id.clone(), meta, drained));
            }
        }
    }

    /// Stops (SIGTERM, grace, SIGKILL) and removes a container after its logs are read to the end.
    fn teardown(&self, c: &ContainerInfo) {
        if !self.stopping.lock().insert(c.id.clone()) {
            return;
        }
        let driver = self.driver.clone();
        let logs = self.logs.clone();
        let id = c.id.clone();
        let grace = self.grace();
        let drained = self.captures.lock().get(&id).cloned();
        let runtime = self.engine.spcs().clone();
        self.probes.lock().remove(&id);
        let stopping = self.stopping.clone();
        let captures = self.captures.clone();
        tokio::spawn(async move {
            if let Err(e) = driver.stop(&id, grace).await {
                tracing::debug!(%id, error = %e, "stop");
            }
            // The capture task sees the stream end and reads what is left.
            for _ in 0..100 {
                if drained.as_ref().is_none_or(|d| d.load(Ordering::Acquire)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Err(e) = driver.remove(&id).await {
                tracing::warn!(%id, error = %e, "cannot remove container");
            }
            let _ = logs.drop_cursor(&id);
            captures.lock().remove(&id);
            stopping.lock().remove(&id);
            runtime.wake();
        });
    }
}

fn pending_message(instances: &[InstanceState]) -> Option<String> {
    instances.iter().flat_map(|i| i.containers.iter()).find(|c| c.status == "PENDING" || c.status == "FAILED").map(|c| c.message.clone())
}

/// What one instance of a spec needs on a node.
pub(crate) fn need_of(spec: &spec::Spec) -> status::Capacity {
    let (cpu, memory, gpu) = sql::spcs::instance_requests(spec);
    status::Capacity { cpu, memory, gpu }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Keeps the state of a container that has not changed runtime id.
pub(crate) fn carry(prev: Option<&InstanceState>, name: &str) -> Option<ContainerState> {
    prev.and_then(|p| p.containers.iter().find(|c| c.name == name)).cloned()
}

/// Whether a container is (still) running.
pub(crate) fn running(c: &ContainerInfo) -> bool {
    matches!(c.state, RunState::Running | RunState::Restarting)
}
