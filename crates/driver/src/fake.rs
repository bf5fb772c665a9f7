//! `FakeDriver`: an in-memory `RuntimeDriver` for unit tests of the control plane. It records every call,
//! keeps containers as values, and lets a test script what the world does (`exit`, `push_log`,
//! `add_image`). It never sleeps and never touches the host.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use parking_lot::Mutex;

use crate::{
    ContainerInfo, ContainerSpec, Error, LogLine, NetworkInfo, NetworkSpec, OWNER_LABEL, Result, RunState,
    RuntimeDriver, Stream,
};

/// An in-memory runtime. Cheap to clone; clones share state.
#[derive(Clone, Default)]
pub struct FakeDriver {
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    next_id: u64,
    images: HashMap<String, String>,
    remote: HashMap<String, (String, String)>,
    digests: HashMap<String, String>,
    networks: BTreeMap<String, BTreeMap<String, String>>,
    volumes: BTreeMap<String, BTreeMap<String, String>>,
    containers: BTreeMap<String, (ContainerSpec, ContainerInfo)>,
    logs: HashMap<String, Vec<LogLine>>,
    calls: Vec<String>,
}

impl FakeDriver {
    /// A runtime with no images, networks or containers.
    pub fn new() -> FakeDriver {
        FakeDriver::default()
    }

    /// Makes `image` available with the given id.
    pub fn add_image(&self, image: &str, id: &str) {
        self.state.lock().images.insert(image.to_string(), id.to_string());
    }

    /// Removes `image` (by name) from the runtime, as `docker rmi` does.
    pub fn remove_image(&self, image: &str) {
        self.state.lock().images.retain(|name, id| name != image && id != image);
    }

    /// Makes `image` pullable from a registry (see `pull`) with the given id and manifest digest.
    pub fn add_remote_image(&self, image: &str, id: &str, digest: &str) {
        self.state.lock().remote.insert(image.to_string(), (id.to_string(), digest.to_string()));
    }

    /// Scripts an exit of a running container.
    pub fn exit(&self, id: &str, code: i64) {
        let mut st = self.state.lock();
        if let Some((_, info)) = st.containers.get_mut(id) {
            info.state = RunState::Exited;
            info.exit_code = Some(code);
            info.finished_at = Some("2026-01-01T00:00:01Z".into());
        }
    }

    /// Appends an output line to a container's log.
    pub fn push_log(&self, id: &str, ts_ns: i64, text: &str) {
        self.state.lock().logs.entry(id.to_string()).or_default().push(LogLine {
            ts_ns,
            stream: Stream::Stdout,
            text: text.to_string(),
        });
    }

    /// The calls made so far, as short strings (`run <name>`, `stop <id>`, …).
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().calls.clone()
    }

    /// The spec a container was created from.
    pub fn spec_of(&self, id: &str) -> Option<ContainerSpec> {
        self.state.lock().containers.get(id).map(|(spec, _)| spec.clone())
    }
}

#[async_trait::async_trait]
impl RuntimeDriver for FakeDriver {
    async fn describe(&self) -> Result<String> {
        Ok("fake".into())
    }

    async fn ensure_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        let mut st = self.state.lock();
        st.calls.push(format!("ensure_network {}", spec.name));
        st.networks.entry(spec.name.clone()).or_insert_with(|| spec.labels.clone());
        Ok(NetworkInfo { id: spec.name.clone(), gateway: Some("10.0.0.1".into()) })
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let mut st = self.state.lock();
        st.calls.push(format!("remove_network {name}"));
        st.networks.remove(name);
        Ok(())
    }

    async fn list_networks(&self, owner: &str) -> Result<Vec<String>> {
        let st = self.state.lock();
        Ok(st
            .networks
            .iter()
            .filter(|(_, labels)| labels.get(OWNER_LABEL).map(String::as_str) == Some(owner))
            .map(|(name, _)| name.clone())
            .collect())
    }

    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let mut st = self.state.lock();
        st.calls.push(format!("create volume {name}"));
        st.volumes.entry(name.to_string()).or_insert_with(|| labels.clone());
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut st = self.state.lock();
        let in_use = st.containers.values().any(|(spec, _)| spec.mounts.iter().any(|m| matches!(m, crate::Mount::Volume { name: n, .. } if n == name)));
        if in_use {
            return Err(Error::Runtime(format!("volume {name} is in use")));
        }
        if st.volumes.remove(name).is_some() {
            st.calls.push(format!("remove volume {name}"));
        }
        Ok(())
    }

    async fn list_volumes(&self, owner: &str) -> Result<Vec<(String, BTreeMap<String, String>)>> {
        let st = self.state.lock();
        Ok(st.volumes.iter().filter(|(_, l)| l.get(OWNER_LABEL).map(String::as_str) == Some(owner)).map(|(n, l)| (n.clone(), l.clone())).collect())
    }

    async fn image_id(&self, image: &str) -> Result<Option<String>> {
        // By name, or by id as Docker's image inspect also answers.
        let st = self.state.lock();
        Ok(st.images.get(image).cloned().or_else(|| st.images.values().find(|id| *id == image).cloned()))
    }

    async fn sandbox_image(&self) -> Result<String> {
        let mut st = self.state.lock();
        st.images.entry(crate::SANDBOX_IMAGE_FAKE.to_string()).or_insert_with(|| "sha256:sandbox".to_string());
        Ok(crate::SANDBOX_IMAGE_FAKE.to_string())
    }

    async fn pull(&self, image: &str, credentials: Option<&crate::RegistryCredentials>) -> Result<String> {
        let mut st = self.state.lock();
        st.calls.push(format!("pull {image} as {}", credentials.map(|c| c.username.as_str()).unwrap_or("anonymous")));
        let (id, digest) = st.remote.get(image).cloned().ok_or_else(|| Error::ImageNotFound(image.to_string()))?;
        st.images.insert(image.to_string(), id.clone());
        st.digests.insert(image.to_string(), digest);
        Ok(id)
    }

    async fn repo_digest(&self, image: &str) -> Result<Option<String>> {
        Ok(self.state.lock().digests.get(image).cloned())
    }

    async fn run(&self, spec: &ContainerSpec) -> Result<String> {
        let mut st = self.state.lock();
        st.calls.push(format!("run {}", spec.name));
        // Like Docker: a container joining another's network namespace shares its /etc/hosts.
        if matches!(spec.network, crate::NetworkAttach::SharedWith(_)) && !spec.extra_hosts.is_empty() {
            return Err(Error::Runtime("conflicting options: custom host-to-IP mapping and the network mode".into()));
        }
        // Like an engine: an image is named by a reference or by its id.
        let image_id = st
            .images
            .get(&spec.image)
            .cloned()
            .or_else(|| st.images.values().find(|id| **id == spec.image).cloned())
            .ok_or_else(|| Error::ImageNotFound(spec.image.clone()))?;
        st.next_id += 1;
        let id = format!("c{}", st.next_id);
        let info = ContainerInfo {
            id: id.clone(),
            name: spec.name.clone(),
            labels: spec.labels.clone(),
            state: RunState::Running,
            exit_code: None,
            oom_killed: false,
            started_at: Some("2026-01-01T00:00:00Z".into()),
            finished_at: None,
            restart_count: 0,
            ip: Some(format!("10.0.0.{}", st.next_id + 1)),
            image_id: Some(image_id),
            error: None,
        };
        st.containers.insert(id.clone(), (spec.clone(), info));
        Ok(id)
    }

    async fn stop(&self, id: &str, _grace: Duration) -> Result<()> {
        let mut st = self.state.lock();
        st.calls.push(format!("stop {id}"));
        match st.containers.get_mut(id) {
            Some((_, info)) => {
                if info.state == RunState::Running {
                    info.state = RunState::Exited;
                    info.exit_code = Some(143);
                }
                Ok(())
            }
            None => Err(Error::NotFound(id.into())),
        }
    }

    async fn restart(&self, id: &str, _grace: Duration) -> Result<()> {
        let mut st = self.state.lock();
        st.calls.push(format!("restart {id}"));
        match st.containers.get_mut(id) {
            Some((_, info)) => {
                info.state = RunState::Running;
                info.restart_count += 1;
                Ok(())
            }
            None => Err(Error::NotFound(id.into())),
        }
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let mut st = self.state.lock();
        st.calls.push(format!("remove {id}"));
        st.containers.remove(id);
        Ok(())
    }

    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>> {
        Ok(self.state.lock().containers.get(id).map(|(_, info)| info.clone()))
    }

    async fn list(&self, owner: &str) -> Result<Vec<ContainerInfo>> {
        let st = self.state.lock();
        Ok(st
            .containers
            .values()
            .filter(|(_, info)| info.labels.get(OWNER_LABEL).map(String::as_str) == Some(owner))
            .map(|(_, info)| info.clone())
            .collect())
    }

    fn logs(&self, id: &str, since_ns: i64, _follow: bool) -> BoxStream<'static, Result<LogLine>> {
        let lines: Vec<Result<LogLine>> = self
            .state
            .lock()
            .logs
            .get(id)
            .map(|lines| lines.iter().filter(|l| l.ts_ns >= since_ns).cloned().map(Ok).collect())
            .unwrap_or_default();
        stream::iter(lines).boxed()
    }
}
