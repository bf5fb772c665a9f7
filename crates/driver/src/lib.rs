//! The container runtime seam: `RuntimeDriver`, the one trait through which floe creates, watches and
//! removes containers and networks, its value types, and `FakeDriver`, an in-memory implementation that
//! records calls and lets tests script exits.
//!
//! This crate knows no Docker and no SQL. Containers and networks are described by plain values
//! (`ContainerSpec`, `NetworkSpec`) and observed as plain values (`ContainerInfo`); a crashed container is
//! an observation, never an `Err`. `Err` means the runtime itself could not be reached or refused a call.
//! Every object a driver creates carries the labels it is given, and `list` returns only objects whose
//! `OWNER_LABEL` equals the given owner, so several floe servers can share one engine.
#![warn(missing_docs)]

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::stream::BoxStream;

pub use fake::FakeDriver;

/// Label naming the floe server (its instance id) that owns a container or network.
pub const OWNER_LABEL: &str = "floe.owner";

/// The program of the sandbox image (`RuntimeDriver::sandbox_image`), its only file.
pub const SANDBOX_ENTRYPOINT: &str = "/floe-sandbox";

/// The sandbox image of `FakeDriver`.
pub const SANDBOX_IMAGE_FAKE: &str = "floe-sandbox:fake";

/// Errors of a runtime driver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The runtime (Docker engine) could not be reached or failed a call.
    #[error("container runtime: {0}")]
    Runtime(String),
    /// The image does not exist in the runtime.
    #[error("image '{0}' not found")]
    ImageNotFound(String),
    /// The object does not exist (already removed).
    #[error("no such object: {0}")]
    NotFound(String),
}

/// Basic credentials for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// `host:port` of the registry.
    pub server: String,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Result of driver calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A network on which containers find each other by alias.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    /// Network name (unique in the engine).
    pub name: String,
    /// Labels; must include `OWNER_LABEL`.
    pub labels: BTreeMap<String, String>,
}

/// What the runtime says about a network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkInfo {
    /// The runtime's id.
    pub id: String,
    /// The gateway address (the host's address on this network), where containers reach floe.
    pub gateway: Option<String>,
}

/// How a container joins the network.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkAttach {
    /// Its own network namespace on `network`, reachable by `aliases`.
    Network {
        /// Network name.
        network: String,
        /// DNS names on that network.
        aliases: Vec<String>,
    },
    /// Shares the network namespace of another container (the containers of one instance see each
    /// other on localhost).
    SharedWith(String),
}

/// A bind mount of a floe-managed host directory, or a tmpfs.
#[derive(Debug, Clone, PartialEq)]
pub enum Mount {
    /// A directory floe manages (session token, secrets, stages).
    Bind {
        /// Host path.
        source: String,
        /// Path in the container.
        target: String,
        /// Mounted read-only.
        read_only: bool,
    },
    /// Memory-backed file system.
    Tmpfs {
        /// Path in the container.
        target: String,
        /// Size bound, bytes.
        size: Option<u64>,
    },
    /// A named engine volume (`RuntimeDriver::ensure_volume`), shared by the containers of one instance.
    Volume {
        /// Engine volume name.
        name: String,
        /// Path in the container.
        target: String,
    },
}

/// Restart behaviour the runtime applies by itself (also while floe is down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Never restarted by the runtime (jobs).
    Never,
    /// Always restarted, with the runtime's backoff (services).
    Always,
}

/// A container to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// Container name (unique in the engine).
    pub name: String,
    /// Image reference or id.
    pub image: String,
    /// ENTRYPOINT override.
    pub entrypoint: Option<Vec<String>>,
    /// CMD override.
    pub cmd: Option<Vec<String>>,
    /// Environment, in order.
    pub env: Vec<(String, String)>,
    /// Labels; must include `OWNER_LABEL`.
    pub labels: BTreeMap<String, String>,
    /// Network attachment.
    pub network: NetworkAttach,
    /// Extra `/etc/hosts` entries (`name:address`).
    pub extra_hosts: Vec<String>,
    /// CPU limit in cores.
    pub cpu_limit: Option<f64>,
    /// Memory limit in bytes.
    pub memory_limit: Option<u64>,
    /// Number of GPUs requested (device request).
    pub gpus: Option<u32>,
    /// Limit on processes.
    pub pids_limit: Option<i64>,
    /// Mounts.
    pub mounts: Vec<Mount>,
    /// Restart behaviour.
    pub restart: Restart,
    /// Bound on the runtime's own log file, bytes.
    pub log_max_bytes: u64,
}

/// The runtime state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Being restarted by the runtime (between exit and the next start).
    Restarting,
    /// Exited (or dead).
    Exited,
}

/// What the runtime says about a container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInfo {
    /// The runtime's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// State.
    pub state: RunState,
    /// Exit code of the last run, when it exited.
    pub exit_code: Option<i64>,
    /// Killed by the kernel's OOM killer.
    pub oom_killed: bool,
    /// Start of the current (or last) run, RFC 3339.
    pub started_at: Option<String>,
    /// End of the last run, RFC 3339.
    pub finished_at: Option<String>,
    /// Restarts done by the runtime.
    pub restart_count: u32,
    /// Address on its network, when it has one.
    pub ip: Option<String>,
    /// Image id (`sha256:…`).
    pub image_id: Option<String>,
    /// Runtime error text (failed to start).
    pub error: Option<String>,
}

/// Output stream of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of container output.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Nanoseconds since the Unix epoch, as the runtime stamped it.
    pub ts_ns: i64,
    /// Stream.
    pub stream: Stream,
    /// The line without its newline (lossy UTF-8).
    pub text: String,
}

/// The container runtime.
#[async_trait::async_trait]
pub trait RuntimeDriver: Send + Sync {
    /// A short description of the runtime (name and version), for logs.
    async fn describe(&self) -> Result<String>;
    /// Creates the network if it does not exist; returns its info either way.
    async fn ensure_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo>;
    /// Removes a network (no error if absent).
    async fn remove_network(&self, name: &str) -> Result<()>;
    /// Names of networks carrying `OWNER_LABEL = owner`.
    async fn list_networks(&self, owner: &str) -> Result<Vec<String>>;
    /// Creates an engine volume with `labels` (which must include `OWNER_LABEL`); an existing volume of
    /// that name is kept as it is.
    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()>;
    /// Removes an engine volume (no error if absent; an error while a container uses it).
    async fn remove_volume(&self, name: &str) -> Result<()>;
    /// Engine volumes carrying `OWNER_LABEL = owner`: name and labels.
    async fn list_volumes(&self, owner: &str) -> Result<Vec<(String, BTreeMap<String, String>)>>;
    /// The id (`sha256:…`) of an image present in the runtime, `None` if absent.
    async fn image_id(&self, image: &str) -> Result<Option<String>>;
    /// The sandbox image, created in the runtime if it lacks it: its entrypoint (`SANDBOX_ENTRYPOINT`)
    /// holds a network namespace and does nothing else, so the containers of a multi-container
    /// instance can share one that outlives each of them (Kubernetes' pause container).
    async fn sandbox_image(&self) -> Result<String>;
    /// The registry digest (`sha256:…` of the manifest) `image` was pulled or pushed with under its own
    /// repository name (`host/path` of `host/path:tag`), if the runtime knows one.
    async fn repo_digest(&self, image: &str) -> Result<Option<String>>;
    /// Pulls `image` (`host:port/path:tag` or `host:port/path@sha256:…`) from its registry with Basic
    /// `credentials`; returns the pulled image's id. `ImageNotFound` when the registry lacks it.
    async fn pull(&self, image: &str, credentials: Option<&RegistryCredentials>) -> Result<String>;
    /// Creates and starts a container; returns its id.
    async fn run(&self, spec: &ContainerSpec) -> Result<String>;
    /// Stops a container: SIGTERM, then SIGKILL after `grace`.
    async fn stop(&self, id: &str, grace: Duration) -> Result<()>;
    /// Restarts a container (stop with `grace`, then start).
    async fn restart(&self, id: &str, grace: Duration) -> Result<()>;
    /// Removes a stopped container (forcibly if still running).
    async fn remove(&self, id: &str) -> Result<()>;
    /// One container by id; `None` when it does not exist.
    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>>;
    /// Every container (any state) carrying `OWNER_LABEL = owner`.
    async fn list(&self, owner: &str) -> Result<Vec<ContainerInfo>>;
    /// Output lines of a container from `since_ns` (inclusive, 0 = all), following new output until the
    /// container stops when `follow`.
    fn logs(&self, id: &str, since_ns: i64, follow: bool) -> BoxStream<'static, Result<LogLine>>;
}
