//! The parsed, validated and normalized form of a service specification (spcs.md §6). Plain data:
//! defaults are already applied (probe periods, `mountSessionToken`, endpoint protocol, log level),
//! quantities are numbers (cpu in cores, memory in bytes) and names are as written. Nothing here
//! knows YAML, Docker or the catalog.

/// A whole specification: `spec:` plus the top-level `capabilities` and `serviceRoles`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spec {
    pub containers: Vec<Container>,
    pub endpoints: Vec<Endpoint>,
    pub volumes: Vec<Volume>,
    /// `spec.logExporters.eventTableConfig.logLevel` (default INFO).
    pub log_level: LogLevel,
    /// `spec.platformMonitor.metricConfig.groups`, lower-cased, in spec order.
    pub metric_groups: Vec<String>,
    pub capabilities: Capabilities,
    pub service_roles: Vec<ServiceRole>,
    /// `spec.resourceManagement`, accepted and kept as written (floe does not autoscale).
    pub resource_management: Option<Value>,
}

/// One container of every service instance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Container {
    pub name: String,
    /// As written in the spec (`/db/schema/repo/image:tag` or with a registry host); the caller may
    /// replace it with the resolved full name before `normalized_yaml`.
    pub image: String,
    /// ENTRYPOINT override.
    pub command: Option<Vec<String>>,
    /// CMD override.
    pub args: Option<Vec<String>>,
    /// In spec order; numbers and booleans as their text (`SERVER_PORT: 8000` → "8000").
    pub env: Vec<(String, String)>,
    pub readiness_probe: Option<Probe>,
    pub liveness_probe: Option<Probe>,
    pub volume_mounts: Vec<VolumeMount>,
    pub resources: Resources,
    /// Default true: the OAuth token file is mounted.
    pub mount_session_token: bool,
    pub session_token_config: Option<SessionTokenConfig>,
    pub secrets: Vec<SecretRef>,
    /// The resolved image digest, set by the caller (never by `parse`); `normalized_yaml` prints it
    /// as `sha256: "@sha256:<hex>"` whether given as `<hex>`, `sha256:<hex>` or `@sha256:<hex>`.
    pub sha256: Option<String>,
}

/// An HTTP GET probe.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Probe {
    pub port: u16,
    /// Starts with `/`.
    pub path: String,
    /// `periodSeconds`: readiness default 5, liveness default 10.
    pub period_secs: u32,
    /// `failureThreshold`: default 3.
    pub failure_threshold: u32,
}

/// Default `periodSeconds` of a readiness probe.
pub const READINESS_PERIOD_SECS: u32 = 5;
/// Default `periodSeconds` of a liveness probe.
pub const LIVENESS_PERIOD_SECS: u32 = 10;
/// Default `failureThreshold` of both probes.
pub const FAILURE_THRESHOLD: u32 = 3;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resources {
    pub requests: Quantities,
    pub limits: Quantities,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantities {
    /// Cores (`500m` = 0.5).
    pub cpu: Option<f64>,
    /// Bytes.
    pub memory: Option<u64>,
    /// `nvidia.com/gpu`.
    pub gpu: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Endpoint {
    pub name: String,
    pub port: Option<u16>,
    /// `portRange: "lo-hi"`, inclusive.
    pub port_range: Option<(u16, u16)>,
    pub public: bool,
    /// `HTTP` (default), `HTTPS` or `TCP`, upper-cased.
    pub protocol: String,
    pub cors: Option<Cors>,
}

/// An endpoint's `corsSettings` (spcs.md §11).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cors {
    /// `Access-Control-Allow-Origin`: required, never `*`.
    pub allow_origin: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Volume {
    pub name: String,
    pub source: VolumeSource,
    /// Bytes; required for memory and block volumes, refused for the others.
    pub size: Option<u64>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `stageConfig.metadataCache` as written (`1h30m`), for `source: stage`.
    pub stage_metadata_cache: Option<String>,
    /// `stageConfig.resources` of the stage-mount sidecar, for `source: stage`.
    pub stage_resources: Option<Resources>,
    /// `blockConfig`, kept as written, for `source: block`.
    pub block_config: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum VolumeSource {
    /// Shared by the containers of one instance (emptyDir).
    #[default]
    Local,
    /// RAM-backed.
    Memory,
    /// `source: stage` with `stageConfig.name` (`@db.sch.stage/path`).
    Stage { name: String },
    /// Persistent per-instance volume.
    Block,
    /// Deprecated `source: "@stage"`: the stage name as written, with its `@`.
    LegacyStage(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
}

/// A `secrets` item of a container.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SecretRef {
    /// `snowflakeSecret` (shorthand), `snowflakeSecret.objectName` or `.objectReference`, as written.
    pub object_name: String,
    /// True when given as `objectReference` (native apps).
    pub object_reference: bool,
    pub env_var_name: Option<String>,
    /// `username`, `password`, `secret_string` or `access_token`.
    pub secret_key_ref: Option<String>,
    pub directory_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionTokenConfig {
    /// The token directory (default `/snowflake/session`); the token is `<path>/token`.
    pub path: String,
    /// File mode, default 0o644.
    pub permission: u32,
    pub mount_connection_config: bool,
}

/// The token directory when no `sessionTokenConfig.path` is given.
pub const SESSION_TOKEN_DIR: &str = "/snowflake/session";
/// The token file mode when no `sessionTokenConfig.permission` is given.
pub const SESSION_TOKEN_PERMISSION: u32 = 0o644;

impl Default for SessionTokenConfig {
    fn default() -> Self {
        SessionTokenConfig {
            path: SESSION_TOKEN_DIR.to_owned(),
            permission: SESSION_TOKEN_PERMISSION,
            mount_connection_config: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// Export stdout and stderr.
    #[default]
    Info,
    /// Export stderr only.
    Error,
    /// Export nothing.
    None,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "INFO",
            LogLevel::Error => "ERROR",
            LogLevel::None => "NONE",
        }
    }
}

/// `capabilities.securityContext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub execute_as_caller: bool,
    pub enable_custom_credentials: bool,
}

/// A `serviceRoles` item: a service role and the endpoints it grants.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceRole {
    pub name: String,
    pub endpoints: Vec<String>,
}

/// A YAML value kept as written for parts floe accepts but does not act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number, as written.
    Number(String),
    Str(String),
    Seq(Vec<Value>),
    Map(Vec<(String, Value)>),
}
