//! Starting and observing one instance of a service or job: placement on a virtual node of the pool,
//! image resolution (floe's registry name, or a local image of that name), the container environment
//! (spcs.md §7.1), session-token and secret files, volumes, and the runtime calls. An instance is
//! started whole or not at all: if one container cannot be created, those already created are removed.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use parking_lot::Mutex;
use driver::{ContainerInfo, ContainerSpec, Mount, NetworkAttach, NetworkSpec, OWNER_LABEL, Restart};
use sql::access::{Access, Securable};
use sql::objects::image_repo::ImageRepository;
use sql::objects::{ComputePool, instance_family};
use sql::spcs::{ContainerState, InstanceState, PinnedImage, Service};

use crate::status::{self, Capacity};
use crate::{Controller, carry, labels, need_of, now_ms, probe, running};

/// Bound on Docker's own json-file log per container.
const DOCKER_LOG_BYTES: u64 = 64 << 20;
/// Lifetime of the session tokens written for containers (Snowflake: at most one hour).
const TOKEN_TTL: Duration = Duration::from_secs(3600);

fn sanitize(s: &str) -> String {
    s.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' }).collect()
}

fn short(s: &str) -> &str {
    &s[..s.len().min(8)]
}

enum Failure {
    /// Waits (services): the message says why.
    Pending(String),
    /// Fails (jobs, fatal errors).
    Failed(String),
}

impl Controller {
    /// The network of a schema: every service of the schema is reachable there by its DNS names.
    pub(crate) fn network_name(&self, svc: &Service) -> String {
        format!("floe-{}-{}-{}", short(&self.cfg.owner), sanitize(&svc.database), sanitize(&svc.schema))
    }

    fn container_name(&self, svc: &Service, instance: u32, container: &str) -> String {
        format!("floe-{}-{}-{}-{}-{}", short(&self.cfg.owner), sanitize(&svc.name), short(&svc.uid), instance, container)
    }

    /// The engine volume of a local or block volume of one instance.
    fn volume_name(&self, svc: &Service, instance: u32, volume: &str) -> String {
        format!("floe-{}-{}-{}-{}", short(&self.cfg.owner), short(&svc.uid), instance, sanitize(volume))
    }

    fn shown_image(&self, image: &str) -> String {
        match spec::parse_image(image) {
            Ok(r) => format!("{}/{}", self.cfg.registry_address, r.local_name()),
            Err(_) => image.to_string(),
        }
    }

    /// The manifest digest floe's registry holds for `r`'s tag, if the registry is wired (the server)
    /// and the image repository exists.
    fn registry_digest(&self, r: &spec::ImageRef) -> Option<String> {
        let images = self.engine.image_store()?;
        let catalog = self.engine.store().snapshot();
        let path = format!("{}/{}/{}", r.db, r.schema, r.repo);
        let repo = catalog
            .objects_of(sql::objects::IMAGE_REPOSITORY)
            .filter_map(|(_, _, body)| serde_json::from_value::<ImageRepository>(body.clone()).ok())
            .find(|repo| repo.path() == path)?;
        let rows = images.images(&path, repo.created_on).ok()?;
        rows.into_iter().find(|i| i.name == r.image && i.tag == r.tag).map(|i| i.digest)
    }

    /// An image by registry reference (`host/path@sha256:…`): the runtime's copy, else pulled.
    async fn by_digest(&self, reference: &str) -> Result<Option<String>, driver::Error> {
        if let Some(id) = self.driver.image_id(reference).await? {
            return Ok(Some(id));
        }
        match self.driver.pull(reference, self.cfg.registry_credentials.as_ref()).await {
            Ok(id) => Ok(Some(id)),
            Err(driver::Error::ImageNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Resolves a spec image for a new generation (spcs.md §2.1): a digest in the spec, else the
    /// digest floe's registry holds for the tag (the runtime's copy of it, or pulled), else a local
    /// image of that name, else a pull of the tag. `None` when nothing has it.
    async fn resolve_image(&self, image: &str) -> Result<Option<PinnedImage>, driver::Error> {
        let parsed = spec::parse_image(image).ok();
        if let Some(r) = &parsed {
            let digest = r.digest.clone().or_else(|| self.registry_digest(r));
            if let Some(d) = digest {
                let reference = format!("{}/{}@{d}", self.cfg.registry_address, r.repository_path());
                if let Some(id) = self.by_digest(&reference).await? {
                    return Ok(Some(PinnedImage { id, digest: Some(d), pull: Some(reference) }));
                }
                if r.digest.is_some() {
                    return Ok(None);
                }
            }
        }
        let mut candidates = Vec::new();
        if let Some(r) = &parsed {
            candidates.push(format!("{}/{}", self.cfg.registry_address, r.local_name()));
            candidates.push(r.local_name());
        }
        candidates.push(image.trim_start_matches('/').to_string());
        for name in candidates {
            if let Some(id) = self.driver.image_id(&name).await? {
                return Ok(Some(self.pinned(id, &name).await));
            }
        }
        // Whatever registry host the spec names (a Snowflake account's, floe's), floe's registry serves it.
        let Some(r) = parsed else { return Ok(None) };
        let name = format!("{}/{}", self.cfg.registry_address, r.local_name());
        match self.driver.pull(&name, self.cfg.registry_credentials.as_ref()).await {
            Ok(id) => Ok(Some(self.pinned(id, &name).await)),
            Err(driver::Error::ImageNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The pin of an image found by name: with its registry digest when it came from (or went to) a
    /// registry, so that a later start can pull it again by digest.
    async fn pinned(&self, id: String, name: &str) -> PinnedImage {
        let digest = self.driver.repo_digest(name).await.ok().flatten();
        let pull = digest.as_ref().map(|d| format!("{}@{d}", name.rsplit_once(':').filter(|(_, t)| !t.contains('/')).map_or(name, |(n, _)| n)));
        PinnedImage { id, digest, pull }
    }

    /// The image of a pinned generation: the runtime's copy, else pulled again by digest.
    async fn pinned_image(&self, pin: &PinnedImage) -> Result<Option<String>, driver::Error> {
        if self.driver.image_id(&pin.id).await?.is_some() {
            return Ok(Some(pin.id.clone()));
        }
        match &pin.pull {
            Some(reference) => self.by_digest(reference).await,
            None => Ok(None),
        }
    }

    async fn ensure_network(&self, svc: &Service) -> Result<(String, Option<String>), driver::Error> {
        let name = self.network_name(svc);
        if let Some(gw) = self.gateways.lock().get(&name).cloned() {
            return Ok((name, gw));
        }
        // One creator at a time: services start concurrently, and Docker's API 1.41 creates a second
        // network of the same name rather than refusing it.
        let _creating = self.network_lock.lock().await;
        if let Some(gw) = self.gateways.lock().get(&name).cloned() {
            return Ok((name, gw));
        }
        let labels = BTreeMap::from([(OWNER_LABEL.to_string(), self.cfg.owner.clone()), ("floe.schema".to_string(), format!("{}.{}", svc.database, svc.schema))]);
        let info = self.driver.ensure_network(&NetworkSpec { name: name.clone(), labels }).await?;
        if let Some(gw) = &info.gateway {
            (self.on_gateway)(gw.clone());
        }
        self.gateways.lock().insert(name.clone(), info.gateway.clone());
        Ok((name, info.gateway))
    }

    fn run_dir(&self, svc: &Service, instance: u32, container: &str) -> std::path::PathBuf {
        self.cfg.data_dir.join("run").join(&svc.uid).join(instance.to_string()).join(container)
    }

    /// Replaces the session token file of the running containers of an instance once it is older than
    /// `Config::token_refresh` (written through a rename: a reader sees the old or the new token).
    pub(crate) fn refresh_tokens(&self, svc: &Service, spec: &spec::Spec, instance: u32, running: &[ContainerInfo]) {
        let Some(issuer) = &self.tokens else { return };
        for c in spec.containers.iter().filter(|c| c.mount_session_token) {
            if !running.iter().any(|r| r.labels.get(labels::CONTAINER) == Some(&c.name) && crate::running(r)) {
                continue;
            }
            let path = self.run_dir(svc, instance, &c.name).join("session").join("token");
            let stale = std::fs::metadata(&path).and_then(|m| m.modified()).map(|t| t.elapsed().unwrap_or_default() >= self.cfg.token_refresh).unwrap_or(false);
            if !stale {
                continue;
            }
            let mode = c.session_token_config.as_ref().map(|cfg| cfg.permission).unwrap_or(spec::SESSION_TOKEN_PERMISSION);
            if let Some(token) = issuer.issue(svc, TOKEN_TTL)
                && let Err(e) = write_file(&path, &token, mode)
            {
                tracing::warn!(service = %svc.name, error = %e, "cannot refresh a session token");
            }
        }
    }

    /// Places and starts an instance; its state says PENDING (or why it waits or failed).
    pub(crate) async fn start_instance(
        &self,
        svc: &Service,
        spec: &spec::Spec,
        id: u32,
        prev: Option<&InstanceState>,
        pool: Option<&ComputePool>,
        placed: &Mutex<std::collections::HashMap<String, Vec<(u32, Capacity)>>>,
        pins: &mut BTreeMap<String, PinnedImage>,
    ) -> InstanceState {
        let now = now_ms();
        let mut inst = InstanceState {
            id,
            status: "PENDING".into(),
            creation_time: prev.and_then(|p| p.creation_time).or(Some(now)),
            containers: spec
                .containers
                .iter()
                .map(|c| ContainerState {
                    name: c.name.clone(),
                    status: "PENDING".into(),
                    message: "Pending scheduling.".into(),
                    image: self.shown_image(&c.image),
                    restart_count: carry(prev, &c.name).map(|p| p.restart_count).unwrap_or(0),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        match self.try_start(svc, spec, id, prev, pool, placed, pins, &mut inst).await {
            Ok(()) => {}
            Err(Failure::Pending(msg)) => {
                for c in &mut inst.containers {
                    c.message = msg.clone();
                }
            }
            Err(Failure::Failed(msg)) => {
                inst.status = "FAILED".into();
                for c in &mut inst.containers {
                    c.status = "FAILED".into();
                    c.message = msg.clone();
                }
            }
        }
        inst
    }

    #[allow(clippy::too_many_arguments)]
    async fn try_start(
        &self,
        svc: &Service,
        spec: &spec::Spec,
        id: u32,
        prev: Option<&InstanceState>,
        pool: Option<&ComputePool>,
        placed: &Mutex<std::collections::HashMap<String, Vec<(u32, Capacity)>>>,
        pins: &mut BTreeMap<String, PinnedImage>,
        inst: &mut InstanceState,
    ) -> Result<(), Failure> {
        let Some(pool) = pool else { return Err(Failure::Pending(format!("Compute pool {} does not exist.", svc.compute_pool))) };
        let need = need_of(spec);
        let family = instance_family(&pool.instance_family);
        let capacity = family
            .map(|f| Capacity { cpu: f.vcpu as f64, memory: (f.memory_gib as u64) << 30, gpu: f.gpu_count })
            .unwrap_or(Capacity { cpu: f64::MAX, memory: u64::MAX, gpu: u32::MAX });
        if need.gpu > 0 && !std::path::Path::new("/dev/nvidia0").exists() {
            return Err(Failure::Pending("Unschedulable: this host has no GPU for the nvidia.com/gpu request.".into()));
        }
        let node = {
            // Placement is decided under the lock: services start concurrently.
            let mut placed = placed.lock();
            let on_pool = placed.entry(svc.compute_pool.clone()).or_default();
            let node = match prev.and_then(|p| p.node) {
                Some(n) => n,
                None => match status::place(pool.max_nodes.max(1) as u32, capacity, on_pool, need) {
                    Some(n) => n,
                    None => return Err(Failure::Pending("Unschedulable due to insufficient resources".into())),
                },
            };
            on_pool.push((node, need));
            node
        };
        inst.node = Some(node);
        // Every image first, so a missing one creates nothing. The generation's pinned image when it
        // has one (resume, restart, scale-out), else resolved now and pinned.
        let mut images = Vec::new();
        for c in &spec.containers {
            let found = match pins.get(&c.name) {
                Some(pin) => self.pinned_image(pin).await.map(|id| id.map(|id| PinnedImage { id, ..pin.clone() })),
                None => self.resolve_image(&c.image).await,
            };
            match found {
                Ok(Some(pin)) => {
                    images.push((pin.id.clone(), pin.shown_digest().to_string()));
                    pins.insert(c.name.clone(), pin);
                }
                Ok(None) => {
                    let msg = match pins.get(&c.name) {
                        Some(pin) => format!("Failed to pull image: {} ({}) is in neither floe's registry nor the local Docker engine any more", self.shown_image(&c.image), pin.shown_digest()),
                        None => format!("Failed to pull image: {} is in neither floe's registry nor the local Docker engine", self.shown_image(&c.image)),
                    };
                    return Err(if svc.is_job { Failure::Failed(msg) } else { Failure::Pending(msg) });
                }
                Err(e) => return Err(Failure::Pending(format!("Failed to pull image: {e}"))),
            }
        }
        let (network, gateway) = self.ensure_network(svc).await.map_err(|e| Failure::Pending(format!("Compute pool node(s) are being provisioned ({e})")))?;
        for vol in &spec.volumes {
            let kind = match vol.source {
                spec::VolumeSource::Local => "local",
                spec::VolumeSource::Block => "block",
                _ => continue,
            };
            let labels = BTreeMap::from([
                (OWNER_LABEL.to_string(), self.cfg.owner.clone()),
                (labels::SERVICE_UID.to_string(), svc.uid.clone()),
                (labels::SERVICE.to_string(), svc.qualified()),
                (labels::INSTANCE.to_string(), id.to_string()),
                (labels::VOLUME.to_string(), kind.to_string()),
            ]);
            self.driver
                .ensure_volume(&self.volume_name(svc, id, &vol.name), &labels)
                .await
                .map_err(|e| Failure::Pending(format!("Encountered fatal error while creating volume {}: {e}", vol.name)))?;
        }
        let mut created: Vec<String> = Vec::new();
        // Several containers share a sandbox's network namespace; a single one needs none.
        let mut shared = None;
        if spec.containers.len() > 1 {
            let started = match self.driver.sandbox_image().await {
                Ok(image) => self.driver.run(&self.sandbox_spec(svc, id, &image, &network, gateway.as_deref())).await,
                Err(e) => Err(e),
            };
            match started {
                Ok(sid) => {
                    created.push(sid.clone());
                    shared = Some(sid);
                }
                Err(e) => {
                    let msg = format!("Encountered fatal error while starting container: the instance's network sandbox: {e}");
                    return Err(if svc.is_job { Failure::Failed(msg) } else { Failure::Pending(msg) });
                }
            }
        }
        for (i, c) in spec.containers.iter().enumerate() {
            let cspec = self.container_spec(svc, spec, c, id, &images[i].0, &network, gateway.as_deref(), shared.clone());
            let cspec = match cspec {
                Ok(s) => s,
                Err(msg) => {
                    self.remove_all(&created).await;
                    return Err(Failure::Failed(msg));
                }
            };
            match self.driver.run(&cspec).await {
                Ok(cid) => {
                    created.push(cid.clone());
                    let cs = &mut inst.containers[i];
                    cs.runtime_id = Some(cid);
                    cs.message = "Waiting to start".into();
                    cs.image_digest = Some(images[i].1.clone());
                }
                Err(e) => {
                    self.remove_all(&created).await;
                    let msg = format!("Encountered fatal error while starting container: {e}");
                    return Err(if svc.is_job { Failure::Failed(msg) } else { Failure::Pending(msg) });
                }
            }
        }
        Ok(())
    }

    async fn remove_all(&self, ids: &[String]) {
        for id in ids {
            let _ = self.driver.remove(id).await;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn container_spec(
        &self,
        svc: &Service,
        spec: &spec::Spec,
        c: &spec::Container,
        instance: u32,
        image: &str,
        network: &str,
        gateway: Option<&str>,
        first: Option<String>,
    ) -> Result<ContainerSpec, String> {
        let catalog = self.engine.store().snapshot();
        // How the container reaches floe: https at SNOWFLAKE_HOST:443 (an /etc/hosts entry for the
        // gateway), or plain http at the gateway address when floe serves no https on its networks.
        let tls = self.cfg.tls.as_ref().filter(|_| gateway.is_some());
        let (host, port, protocol) = match tls {
            Some(t) => (t.host.clone(), t.port, "https"),
            None => (gateway.unwrap_or("127.0.0.1").to_string(), self.cfg.port, "http"),
        };
        let mut env: Vec<(String, String)> = vec![
            ("SNOWFLAKE_ACCOUNT".into(), self.cfg.account.clone()),
            ("SNOWFLAKE_HOST".into(), host.clone()),
            ("SNOWFLAKE_PORT".into(), port.to_string()),
            ("SNOWFLAKE_PROTOCOL".into(), protocol.into()),
            ("SNOWFLAKE_DATABASE".into(), svc.database.clone()),
            ("SNOWFLAKE_SCHEMA".into(), svc.schema.clone()),
            ("SNOWFLAKE_SERVICE_NAME".into(), svc.name.clone()),
        ];
        if svc.is_job {
            env.push(("SNOWFLAKE_JOBS_COUNT".into(), svc.replicas.to_string()));
            env.push(("SNOWFLAKE_JOB_INDEX".into(), instance.to_string()));
        }
        let otel = format!("http://{}:4317", gateway.unwrap_or("127.0.0.1"));
        env.push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), otel.clone()));
        env.push(("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT".into(), otel.clone()));
        env.push(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".into(), otel));
        let mut mounts = Vec::new();
        let mut extra_hosts = Vec::new();
        if let (Some(t), Some(gw)) = (tls, gateway) {
            // Later containers of the instance join the first one's network namespace and so share
            // its /etc/hosts (Docker refuses host entries there).
            if first.is_none() {
                extra_hosts.push(format!("{}:{gw}", t.host));
            }
            mounts.push(Mount::Bind { source: t.ca_file.display().to_string(), target: crate::CA_PATH.into(), read_only: true });
            mounts.push(Mount::Bind { source: t.bundle_file.display().to_string(), target: crate::CA_BUNDLE_PATH.into(), read_only: true });
            for var in ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"] {
                env.push((var.into(), crate::CA_BUNDLE_PATH.into()));
            }
            // The connector's OCSP cache server is on the internet; floe's certificates have no OCSP
            // responder (the connector fails open on them).
            env.push(("SF_OCSP_RESPONSE_CACHE_SERVER_ENABLED".into(), "false".into()));
        }
        let dir = self.run_dir(svc, instance, &c.name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot prepare {}: {e}", dir.display()))?;
        if c.mount_session_token {
            let token_dir = dir.join("session");
            std::fs::create_dir_all(&token_dir).map_err(|e| e.to_string())?;
            let (target, mode, connection) = match &c.session_token_config {
                Some(cfg) => (cfg.path.clone(), cfg.permission, cfg.mount_connection_config),
                None => (spec::SESSION_TOKEN_DIR.to_string(), spec::SESSION_TOKEN_PERMISSION, false),
            };
            if let Some(issuer) = &self.tokens
                && let Some(token) = issuer.issue(svc, TOKEN_TTL)
            {
                write_file(&token_dir.join("token"), &token, mode)?;
            }
            if connection {
                let toml = format!(
                    "[default]\nhost = \"{}\"\nport = {}\nprotocol = \"{}\"\naccount = \"{}\"\nauthenticator = \"oauth\"\ntoken_file_path = \"{}/token\"\ndatabase = \"{}\"\nschema = \"{}\"\n",
                    host,
                    port,
                    protocol,
                    self.cfg.account,
                    target,
                    svc.database,
                    svc.schema
                );
                write_file(&token_dir.join("connections.toml"), &toml, mode)?;
                env.push(("SNOWFLAKE_HOME".into(), target.clone()));
            }
            mounts.push(Mount::Bind { source: token_dir.display().to_string(), target, read_only: true });
        }
        env.extend(c.env.iter().cloned());
        for s in &c.secrets {
            let (db, schema, name) = qualify(&s.object_name, &svc.database, &svc.schema);
            let values = sql::spcs::secrets::secret_value(&catalog, &db, &schema, &name)
                .ok_or_else(|| format!("Secret {db}.{schema}.{name} does not exist or is not authorized."))?;
            if let (Some(var), Some(key)) = (&s.env_var_name, &s.secret_key_ref) {
                let value = values.get(&key.to_uppercase()).cloned().ok_or_else(|| format!("Secret {name} has no {key}."))?;
                env.push((var.clone(), value));
            }
            if let Some(path) = &s.directory_path {
                let sdir = dir.join("secrets").join(name.to_lowercase());
                std::fs::create_dir_all(&sdir).map_err(|e| e.to_string())?;
                for (key, file) in [("USERNAME", "username"), ("PASSWORD", "password"), ("SECRET_STRING", "secret_string")] {
                    if let Some(v) = values.get(key) {
                        write_file(&sdir.join(file), v, 0o644)?;
                    }
                }
                mounts.push(Mount::Bind { source: sdir.display().to_string(), target: path.clone(), read_only: true });
            }
        }
        for m in &c.volume_mounts {
            let Some(vol) = spec.volumes.iter().find(|v| v.name == m.name) else { continue };
            mounts.push(match &vol.source {
                spec::VolumeSource::Memory => Mount::Tmpfs { target: m.mount_path.clone(), size: vol.size },
                spec::VolumeSource::Stage { name } | spec::VolumeSource::LegacyStage(name) => {
                    let stage = sql::objects::StageRef::parse(if name.starts_with('@') { name } else { "@" })
                        .ok_or_else(|| format!("invalid stage volume {name}"))?;
                    let (db, schema, sname) = match stage.name.as_slice() {
                        [n] => (svc.database.clone(), svc.schema.clone(), n.clone()),
                        [s, n] => (svc.database.clone(), s.clone(), n.clone()),
                        [d, s, n] => (d.clone(), s.clone(), n.clone()),
                        _ => return Err(format!("invalid stage volume {name}")),
                    };
                    // The owner role's privileges decide the mode (spcs.md §6.4): WRITE mounts
                    // read-write, READ read-only, neither refuses the instance.
                    let access = Access::for_role(sql::access::privileges::index(&self.engine, &catalog), &svc.owner, 0, &self.cfg.account);
                    let obj = Securable::schema_object(sql::objects::STAGE, &db, &schema, &sname);
                    let read_only = if access.has(&catalog, "WRITE", &obj) {
                        false
                    } else if access.has(&catalog, "READ", &obj) {
                        true
                    } else {
                        return Err(format!(
                            "Stage volume {}: the service's owner role {} has no READ or WRITE privilege on stage {}.{}.{}, or it does not exist",
                            vol.name, svc.owner, db, schema, sname
                        ));
                    };
                    let sdir = sql::objects::stage::stage_dir(&self.cfg.data_dir, &db, &schema, &sname).join(&stage.path);
                    std::fs::create_dir_all(&sdir).map_err(|e| e.to_string())?;
                    // uid/gid: the mounted directory belongs to them, so a container running as that user
                    // writes there (the files stay readable to floe).
                    if vol.uid.is_some() || vol.gid.is_some() {
                        if let Err(e) = std::os::unix::fs::chown(&sdir, vol.uid, vol.gid) {
                            tracing::warn!(service = %svc.qualified(), volume = %vol.name, error = %e, "cannot give the stage volume to its uid/gid");
                        }
                    }
                    Mount::Bind { source: sdir.display().to_string(), target: m.mount_path.clone(), read_only }
                }
                spec::VolumeSource::Local | spec::VolumeSource::Block => Mount::Volume { name: self.volume_name(svc, instance, &vol.name), target: m.mount_path.clone() },
            });
        }
        let mut labels = self.instance_labels(svc, instance);
        labels.insert(labels::CONTAINER.to_string(), c.name.clone());
        // The predecessor's output is stored to its end before it is removed, so its last run is known.
        let run_base = match self.logs.last_run(&svc.uid, instance, &c.name) {
            Ok(last) => last.map_or(0, |r| r + 1),
            Err(e) => return Err(format!("cannot read the log store: {e}")),
        };
        labels.insert(labels::RUN_BASE.to_string(), run_base.to_string());
        let network = match first {
            Some(id) => NetworkAttach::SharedWith(id),
            None => self.instance_network(svc, network),
        };
        let cpu_limit = c.resources.limits.cpu.map(|cpu| {
            let host = crate::host_cpus();
            if cpu > host {
                tracing::warn!(service = %svc.qualified(), container = %c.name, "cpu limit {cpu} exceeds the host's {host} cores; clamped");
            }
            cpu.min(host)
        });
        Ok(ContainerSpec {
            name: self.container_name(svc, instance, &c.name),
            image: image.to_string(),
            entrypoint: c.command.clone(),
            cmd: c.args.clone(),
            env,
            labels,
            network,
            extra_hosts,
            cpu_limit,
            memory_limit: c.resources.limits.memory,
            gpus: c.resources.limits.gpu.filter(|g| *g > 0),
            pids_limit: None,
            mounts,
            restart: if svc.is_job { Restart::Never } else { Restart::Always },
            log_max_bytes: DOCKER_LOG_BYTES,
        })
    }

    /// The labels of every container of an instance.
    fn instance_labels(&self, svc: &Service, instance: u32) -> BTreeMap<String, String> {
        BTreeMap::from([
            (OWNER_LABEL.to_string(), self.cfg.owner.clone()),
            (labels::SERVICE_UID.to_string(), svc.uid.clone()),
            (labels::SERVICE.to_string(), svc.qualified()),
            (labels::INSTANCE.to_string(), instance.to_string()),
            (labels::GENERATION.to_string(), svc.generation.to_string()),
            (labels::KIND.to_string(), if svc.is_job { "job" } else { "service" }.to_string()),
            ("floe.pool".to_string(), svc.compute_pool.clone()),
        ])
    }

    /// The instance's place on the schema's network: the service's DNS names as aliases.
    fn instance_network(&self, svc: &Service, network: &str) -> NetworkAttach {
        NetworkAttach::Network {
            network: network.to_string(),
            aliases: vec![
                svc.dns_label.clone(),
                format!("{}.{}", svc.dns_label, svc.dns_hash),
                svc.dns_name(),
                format!("instances.{}", svc.dns_name()),
            ],
        }
    }

    /// The sandbox of a multi-container instance: it holds the network namespace (address, DNS
    /// names, /etc/hosts) that the instance's containers join, so that they reach each other on
    /// localhost whichever of them exits or restarts, as the containers of an SPCS instance do.
    fn sandbox_spec(&self, svc: &Service, instance: u32, image: &str, network: &str, gateway: Option<&str>) -> ContainerSpec {
        let mut labels = self.instance_labels(svc, instance);
        labels.insert(labels::SANDBOX.to_string(), "true".to_string());
        let extra_hosts = match (&self.cfg.tls, gateway) {
            (Some(t), Some(gw)) => vec![format!("{}:{gw}", t.host)],
            _ => Vec::new(),
        };
        ContainerSpec {
            name: self.container_name(svc, instance, "_sandbox"),
            image: image.to_string(),
            entrypoint: Some(vec![driver::SANDBOX_ENTRYPOINT.to_string()]),
            cmd: None,
            env: Vec::new(),
            labels,
            network: self.instance_network(svc, network),
            extra_hosts,
            cpu_limit: None,
            memory_limit: Some(16 << 20),
            gpus: None,
            pids_limit: Some(4),
            mounts: Vec::new(),
            restart: if svc.is_job { Restart::Never } else { Restart::Always },
            log_max_bytes: 1 << 20,
        }
    }

    /// The state of an instance whose containers exist.
    pub(crate) fn observe_instance(&self, svc: &Service, spec: &spec::Spec, id: u32, cs: &[ContainerInfo], prev: Option<&InstanceState>) -> InstanceState {
        let ip = cs.iter().find_map(|c| c.ip.clone());
        let mut containers = Vec::new();
        let mut statuses = Vec::new();
        let mut start_time = None;
        for sc in &spec.containers {
            let Some(info) = cs.iter().find(|c| c.labels.get(labels::CONTAINER) == Some(&sc.name)) else {
                statuses.push("PENDING");
                containers.push(ContainerState { name: sc.name.clone(), status: "PENDING".into(), message: "Waiting to start".into(), image: self.shown_image(&sc.image), ..Default::default() });
                continue;
            };
            let ready = self.ensure_probe(info, sc, ip.as_deref(), svc.is_job);
            let probe_at = sc.readiness_probe.as_ref().map(|p| (p.path.as_str(), p.port));
            let (st, msg) = status::container_status(svc.is_job, info, ready, probe_at);
            statuses.push(st);
            let prev_c = carry(prev, &sc.name);
            let last_exit_code = if running(info) && info.state != driver::RunState::Restarting && info.restart_count == 0 {
                None
            } else if matches!(info.state, driver::RunState::Exited | driver::RunState::Restarting) {
                info.exit_code
            } else {
                prev_c.as_ref().and_then(|p| p.last_exit_code).or(info.exit_code.filter(|_| info.restart_count > 0))
            };
            if start_time.is_none() {
                start_time = info.started_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp_millis());
            }
            containers.push(ContainerState {
                name: sc.name.clone(),
                status: st.into(),
                message: msg,
                image: self.shown_image(&sc.image),
                // What the start recorded (a registry digest) for this very container, else its image id.
                image_digest: prev_c.as_ref().filter(|p| p.runtime_id.as_deref() == Some(info.id.as_str())).and_then(|p| p.image_digest.clone()).or_else(|| info.image_id.clone()),
                restart_count: info.restart_count,
                start_time: info.started_at.as_deref().map(rfc3339_seconds),
                last_exit_code,
                last_restart_time: (info.restart_count > 0).then(|| info.started_at.as_deref().map(rfc3339_seconds)).flatten(),
                runtime_id: Some(info.id.clone()),
            });
        }
        InstanceState {
            id,
            status: status::instance_status(svc.is_job, &statuses, false).into(),
            ip,
            node: prev.and_then(|p| p.node),
            creation_time: prev.and_then(|p| p.creation_time).or(start_time),
            start_time,
            containers,
        }
    }

    /// Starts the probe task of a running container if its spec has probes; returns the readiness result.
    fn ensure_probe(&self, info: &ContainerInfo, sc: &spec::Container, ip: Option<&str>, is_job: bool) -> Option<bool> {
        if is_job || (sc.readiness_probe.is_none() && sc.liveness_probe.is_none()) {
            return None;
        }
        let mut probes = self.probes.lock();
        if let Some(h) = probes.get(&info.id) {
            return sc.readiness_probe.as_ref().map(|_| h.ready.load(std::sync::atomic::Ordering::Acquire));
        }
        let ip = ip?;
        if !running(info) {
            return sc.readiness_probe.as_ref().map(|_| false);
        }
        let handle = probe::start(
            self.driver.clone(),
            self.engine.spcs().clone(),
            info.id.clone(),
            ip.to_string(),
            probe::Probes { readiness: sc.readiness_probe.clone(), liveness: sc.liveness_probe.clone() },
            self.grace(),
        );
        let ready = sc.readiness_probe.as_ref().map(|_| false);
        probes.insert(info.id.clone(), handle);
        ready
    }
}

fn rfc3339_seconds(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_else(|_| t.to_string())
}

fn qualify(name: &str, db: &str, schema: &str) -> (String, String, String) {
    let parts: Vec<String> = name
        .split('.')
        .map(|p| if p.starts_with('"') && p.ends_with('"') && p.len() >= 2 { p[1..p.len() - 1].to_string() } else { p.to_uppercase() })
        .collect();
    match parts.as_slice() {
        [n] => (db.to_string(), schema.to_string(), n.clone()),
        [s, n] => (db.to_string(), s.clone(), n.clone()),
        [d, s, n, ..] => (d.clone(), s.clone(), n.clone()),
        [] => (db.to_string(), schema.to_string(), String::new()),
    }
}

fn write_file(path: &std::path::Path, content: &str, mode: u32) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())?;
    Ok(())
}

