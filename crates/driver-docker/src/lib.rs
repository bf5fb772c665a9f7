//! `DockerDriver`: the `RuntimeDriver` on the Docker Engine API (bollard), the only code in floe that
//! knows Docker. It negotiates the API version at connect (Docker 20.10, API 1.41, and later), so it
//! uses only calls that 1.41 has: a container is created on one network (extra networks would need
//! `connect_network`), and every container and network carries the labels the caller gives, which is how
//! `list` finds floe's own objects and nothing else.
//!
//! Containers get safe defaults here, whatever the caller asks: not privileged, `no-new-privileges`,
//! Docker's default capability set, a pids limit, and a bounded json-file log.

mod logs;
mod sandbox;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, DeviceRequest, EndpointSettings, HostConfig, HostConfigLogConfig, Mount as DockerMount,
    MountTmpfsOptions, MountType, NetworkCreateRequest, NetworkingConfig, RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectNetworkOptions, ListContainersOptions, ListNetworksOptions, ListVolumesOptions, LogsOptions,
    RemoveContainerOptions, RemoveVolumeOptions, RestartContainerOptions, StopContainerOptions,
};
use driver::{
    ContainerInfo, ContainerSpec, Error, LogLine, Mount, NetworkAttach, NetworkInfo, NetworkSpec, OWNER_LABEL,
    RegistryCredentials, Restart, Result, RunState, RuntimeDriver,
};
use futures::StreamExt;
use futures::stream::BoxStream;

/// Default bound on the number of processes in a container.
pub const DEFAULT_PIDS_LIMIT: i64 = 4096;

/// A connection to a Docker engine.
#[derive(Clone)]
pub struct DockerDriver {
    docker: Docker,
}

fn runtime_err(e: bollard::errors::Error) -> Error {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code: 404, message } => Error::NotFound(message),
        other => Error::Runtime(other.to_string()),
    }
}

/// `name:tag` / `name@sha256:…` / `name` → (name, tag or digest); a ':' before the last '/' is a port.
fn split_reference(image: &str) -> (&str, &str) {
    if let Some((name, digest)) = image.split_once('@') {
        return (name, digest);
    }
    let slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[slash..].rfind(':') {
        Some(i) => (&image[..slash + i], &image[slash + i + 1..]),
        None => (image, "latest"),
    }
}

impl DockerDriver {
    /// Connects to the engine named by DOCKER_HOST, or the local socket, and negotiates the API version.
    pub async fn connect() -> Result<DockerDriver> {
        let docker = Docker::connect_with_local_defaults().map_err(runtime_err)?;
        let docker = docker.negotiate_version().await.map_err(runtime_err)?;
        docker.ping().await.map_err(runtime_err)?;
        Ok(DockerDriver { docker })
    }

    async fn inspect_one(&self, id: &str) -> Result<Option<ContainerInfo>> {
        let res = match self.docker.inspect_container(id, None).await {
            Ok(res) => res,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(None),
            Err(e) => return Err(runtime_err(e)),
        };
        let st = res.state.unwrap_or_default();
        use bollard::models::ContainerStateStatusEnum as S;
        let state = match st.status {
            Some(S::CREATED) => RunState::Created,
            Some(S::RUNNING) | Some(S::PAUSED) => RunState::Running,
            Some(S::RESTARTING) => RunState::Restarting,
            _ => RunState::Exited,
        };
        let never_ran = |t: &Option<String>| t.as_deref().is_none_or(|t| t.starts_with("0001-"));
        let finished_at = if never_ran(&st.finished_at) { None } else { st.finished_at.clone() };
        let started_at = if never_ran(&st.started_at) { None } else { st.started_at.clone() };
        let exit_code = if finished_at.is_some() || state == RunState::Exited { st.exit_code } else { None };
        let ip = res
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|nets| nets.into_values().filter_map(|e| e.ip_address).find(|ip| !ip.is_empty()));
        let labels = res.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default().into_iter().collect();
        Ok(Some(ContainerInfo {
            id: res.id.unwrap_or_else(|| id.to_string()),
            name: res.name.unwrap_or_default().trim_start_matches('/').to_string(),
            labels,
            state,
            exit_code,
            oom_killed: st.oom_killed.unwrap_or(false),
            started_at,
            finished_at,
            restart_count: res.restart_count.unwrap_or(0).max(0) as u32,
            ip,
            image_id: res.image,
            error: st.error.filter(|e| !e.is_empty()),
        }))
    }
}

fn owner_filter(owner: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{OWNER_LABEL}={owner}")])])
}

fn host_config(spec: &ContainerSpec) -> HostConfig {
    let mut mounts = Vec::new();
    for m in &spec.mounts {
        mounts.push(match m {
            Mount::Bind { source, target, read_only } => DockerMount {
                target: Some(target.clone()),
                source: Some(source.clone()),
                typ: Some(MountType::BIND),
                read_only: Some(*read_only),
                ..Default::default()
            },
            Mount::Tmpfs { target, size } => DockerMount {
                target: Some(target.clone()),
                typ: Some(MountType::TMPFS),
                tmpfs_options: Some(MountTmpfsOptions { size_bytes: size.map(|s| s as i64), ..Default::default() }),
                ..Default::default()
            },
            Mount::Volume { name, target } => DockerMount {
                target: Some(target.clone()),
                source: Some(name.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            },
        });
    }
    let network_mode = match &spec.network {
        NetworkAttach::Network { network, .. } => network.clone(),
        NetworkAttach::SharedWith(id) => format!("container:{id}"),
    };
    HostConfig {
        nano_cpus: spec.cpu_limit.map(|c| (c * 1e9) as i64),
        memory: spec.memory_limit.map(|m| m as i64),
        pids_limit: Some(spec.pids_limit.unwrap_or(DEFAULT_PIDS_LIMIT)),
        device_requests: spec.gpus.map(|n| {
            vec![DeviceRequest {
                driver: Some("nvidia".into()),
                count: Some(n as i64),
                capabilities: Some(vec![vec!["gpu".into()]]),
                ..Default::default()
            }]
        }),
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".into()),
            config: Some(HashMap::from([
                ("max-size".to_string(), format!("{}", spec.log_max_bytes.max(1 << 20))),
                ("max-file".to_string(), "4".to_string()),
            ])),
        }),
        network_mode: Some(network_mode),
        restart_policy: Some(RestartPolicy {
            name: Some(match spec.restart {
                Restart::Never => RestartPolicyNameEnum::NO,
                Restart::Always => RestartPolicyNameEnum::UNLESS_STOPPED,
            }),
            maximum_retry_count: None,
        }),
        mounts: Some(mounts),
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.clone()),
        privileged: Some(false),
        security_opt: Some(vec!["no-new-privileges".into()]),
        // docker-init as PID 1 forwards SIGTERM to programs that install no handler, so a stop takes
        // effect at once instead of after the grace period.
        init: Some(true),
        ..Default::default()
    }
}

#[async_trait::async_trait]
impl RuntimeDriver for DockerDriver {
    async fn describe(&self) -> Result<String> {
        let v = self.docker.version().await.map_err(runtime_err)?;
        Ok(format!(
            "Docker {} (API {})",
            v.version.unwrap_or_default(),
            self.docker.client_version()
        ))
    }

    async fn ensure_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        let inspect = |docker: Docker, name: String| async move {
            docker.inspect_network(&name, None::<InspectNetworkOptions>).await
        };
        let net = match inspect(self.docker.clone(), spec.name.clone()).await {
            Ok(net) => net,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                let req = NetworkCreateRequest {
                    name: spec.name.clone(),
                    driver: Some("bridge".into()),
                    attachable: Some(true),
                    labels: Some(spec.labels.clone().into_iter().collect()),
                    ..Default::default()
                };
                match self.docker.create_network(req).await {
                    Ok(_) => {}
                    // Created meanwhile by a concurrent call: fine.
                    Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {}
                    Err(e) => return Err(runtime_err(e)),
                }
                inspect(self.docker.clone(), spec.name.clone()).await.map_err(runtime_err)?
            }
            Err(e) => return Err(runtime_err(e)),
        };
        let gateway = net
            .ipam
            .and_then(|ipam| ipam.config)
            .and_then(|cfgs| cfgs.into_iter().find_map(|c| c.gateway.filter(|g| !g.contains(':'))));
        Ok(NetworkInfo { id: net.id.unwrap_or_default(), gateway })
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(runtime_err(e)),
        }
    }

    async fn list_networks(&self, owner: &str) -> Result<Vec<String>> {
        let nets = self
            .docker
            .list_networks(Some(ListNetworksOptions { filters: Some(owner_filter(owner)) }))
            .await
            .map_err(runtime_err)?;
        Ok(nets.into_iter().filter_map(|n| n.name).collect())
    }

    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            driver: Some("local".into()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        // Creating an existing local volume returns it unchanged.
        self.docker.create_volume(req).await.map(|_| ()).map_err(runtime_err)
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        match self.docker.remove_volume(name, None::<RemoveVolumeOptions>).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(runtime_err(e)),
        }
    }

    async fn list_volumes(&self, owner: &str) -> Result<Vec<(String, BTreeMap<String, String>)>> {
        let list = self.docker.list_volumes(Some(ListVolumesOptions { filters: Some(owner_filter(owner)) })).await.map_err(runtime_err)?;
        Ok(list.volumes.unwrap_or_default().into_iter().map(|v| (v.name, v.labels.into_iter().collect())).collect())
    }

    async fn image_id(&self, image: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(image).await {
            Ok(img) => Ok(img.id),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
            Err(e) => Err(runtime_err(e)),
        }
    }

    async fn repo_digest(&self, image: &str) -> Result<Option<String>> {
        let info = match self.docker.inspect_image(image).await {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(None),
            Err(e) => return Err(runtime_err(e)),
        };
        let (name, _) = split_reference(image);
        Ok(info.repo_digests.unwrap_or_default().into_iter().find_map(|d| d.strip_prefix(&format!("{name}@")).map(str::to_string)))
    }

    async fn sandbox_image(&self) -> Result<String> {
        let name = sandbox::image_name();
        if self.image_id(&name).await?.is_some() {
            return Ok(name);
        }
        let (repo, tag) = split_reference(&name);
        let options = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            message: Some("floe's sandbox: holds the network namespace of a multi-container instance".into()),
            ..Default::default()
        };
        let body = bollard::body_full(sandbox::rootfs_tar().map_err(|e| Error::Runtime(format!("sandbox image: {e}")))?.into());
        let mut progress = self.docker.create_image(Some(options), Some(body), None);
        while let Some(step) = progress.next().await {
            step.map_err(runtime_err)?;
        }
        self.image_id(&name).await?.ok_or_else(|| Error::ImageNotFound(name.clone()))?;
        Ok(name)
    }

    async fn pull(&self, image: &str, credentials: Option<&RegistryCredentials>) -> Result<String> {
        let (name, tag) = split_reference(image);
        let options = CreateImageOptions { from_image: Some(name.to_string()), tag: Some(tag.to_string()), ..Default::default() };
        let auth = credentials.map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: Some(c.server.clone()),
            ..Default::default()
        });
        let mut progress = self.docker.create_image(Some(options), None, auth);
        while let Some(step) = progress.next().await {
            if let Err(e) = step {
                let text = e.to_string();
                // What engines say when the registry has no such image or repository.
                let missing = ["manifest unknown", "not found", "name unknown", "does not exist"];
                return Err(if missing.iter().any(|m| text.contains(m)) {
                    Error::ImageNotFound(format!("{image} ({text})"))
                } else {
                    Error::Runtime(text)
                });
            }
        }
        self.image_id(image).await?.ok_or_else(|| Error::ImageNotFound(image.to_string()))
    }

    async fn run(&self, spec: &ContainerSpec) -> Result<String> {
        let networking_config = match &spec.network {
            NetworkAttach::Network { network, aliases } => Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings { aliases: Some(aliases.clone()), ..Default::default() },
                )])),
            }),
            NetworkAttach::SharedWith(_) => None,
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.cmd.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            host_config: Some(host_config(spec)),
            networking_config,
            ..Default::default()
        };
        let opts = CreateContainerOptions { name: Some(spec.name.clone()), platform: String::new() };
        let created = self.docker.create_container(Some(opts), body).await.map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => {
                Error::ImageNotFound(spec.image.clone())
            }
            other => runtime_err(other),
        })?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            // Leave nothing half-created: a container that cannot start is removed, and the error said.
            let _ = self.remove(&created.id).await;
            return Err(runtime_err(e));
        }
        Ok(created.id)
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<()> {
        let opts = StopContainerOptions { signal: None, t: Some(grace.as_secs().min(i32::MAX as u64) as i32) };
        match self.docker.stop_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) => Err(runtime_err(e)),
        }
    }

    async fn restart(&self, id: &str, grace: Duration) -> Result<()> {
        let opts = RestartContainerOptions { signal: None, t: Some(grace.as_secs().min(i32::MAX as u64) as i32) };
        self.docker.restart_container(id, Some(opts)).await.map_err(runtime_err)
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let opts = RemoveContainerOptions { force: true, v: true, link: false };
        match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            // 409: removal already in progress.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => Ok(()),
            Err(e) => Err(runtime_err(e)),
        }
    }

    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>> {
        self.inspect_one(id).await
    }

    async fn list(&self, owner: &str) -> Result<Vec<ContainerInfo>> {
        let opts = ListContainersOptions { all: true, filters: Some(owner_filter(owner)), ..Default::default() };
        let summaries = self.docker.list_containers(Some(opts)).await.map_err(runtime_err)?;
        let mut out = Vec::with_capacity(summaries.len());
        for s in summaries {
            let Some(id) = s.id else { continue };
            if let Some(info) = self.inspect_one(&id).await? {
                out.push(info);
            }
        }
        Ok(out)
    }

    fn logs(&self, id: &str, since_ns: i64, follow: bool) -> BoxStream<'static, Result<LogLine>> {
        let opts = LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            since: (since_ns / 1_000_000_000).clamp(0, i32::MAX as i64) as i32,
            until: 0,
            timestamps: true,
            tail: "all".into(),
        };
        let raw = self.docker.logs(id, Some(opts)).map(|r| r.map_err(runtime_err));
        logs::lines(raw, since_ns).boxed()
    }
}

#[cfg(test)]
mod reference_tests {
    use super::split_reference;

    #[test]
    fn references_split_into_name_and_tag() {
        assert_eq!(split_reference("127.0.0.1:8081/db/s/r/img:v1"), ("127.0.0.1:8081/db/s/r/img", "v1"));
        assert_eq!(split_reference("127.0.0.1:8081/db/s/r/img"), ("127.0.0.1:8081/db/s/r/img", "latest"));
        assert_eq!(split_reference("localhost:5000/a/b/c/d@sha256:ab"), ("localhost:5000/a/b/c/d", "sha256:ab"));
    }
}
