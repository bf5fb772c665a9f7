//! The stored forms of services and job services: `Service` (desired state, written only by SQL
//! statements) and `ServiceState` (observed state, written only by the control plane), kept as two
//! generic objects (kinds `SERVICE` and `SERVICE_STATE`, scope `DB.SCHEMA`, name = service name) so the
//! two writers never overwrite each other's fields. Both are plain serde structs: this is their row
//! format, and the control crate reads and writes them through these types.

use serde::{Deserialize, Serialize};

/// Object kind of services and job services (desired state).
pub const SERVICE: &str = "SERVICE";
/// Object kind of the observed state of a service or job.
pub const SERVICE_STATE: &str = "SERVICE_STATE";

/// A service or job service as its statements define it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Unique id of this incarnation (a dropped and re-created service gets a new one); containers and
    /// logs are keyed by it.
    pub uid: String,
    /// Numeric id (job history's ID column).
    pub id: u64,
    /// Name (upper case unless quoted).
    pub name: String,
    /// Database.
    pub database: String,
    /// Schema.
    pub schema: String,
    /// Owning role.
    pub owner: String,
    /// Compute pool.
    pub compute_pool: String,
    /// The specification text after template expansion, as given.
    pub spec_text: String,
    /// SHA-256 of the normalized spec (64 hex).
    pub spec_digest: String,
    /// Incremented by every spec change (ALTER SERVICE … FROM SPECIFICATION).
    pub generation: u64,
    /// A job service.
    pub is_job: bool,
    /// Started with ASYNC = TRUE.
    pub is_async: bool,
    /// Job replicas (1 for services).
    pub replicas: u32,
    /// MIN_INSTANCES.
    pub min_instances: u32,
    /// MAX_INSTANCES.
    pub max_instances: u32,
    /// MIN_READY_INSTANCES.
    pub min_ready_instances: u32,
    /// AUTO_RESUME.
    pub auto_resume: bool,
    /// AUTO_SUSPEND_SECS (0: never).
    pub auto_suspend_secs: i64,
    /// QUERY_WAREHOUSE.
    pub query_warehouse: Option<String>,
    /// EXTERNAL_ACCESS_INTEGRATIONS (case kept).
    pub external_access_integrations: Vec<String>,
    /// LOG_LEVEL.
    pub log_level: Option<String>,
    /// LOG_EVENT_LEVEL (platform events; None: the account's).
    #[serde(default)]
    pub log_event_level: Option<String>,
    /// COMMENT.
    pub comment: Option<String>,
    /// Desired: suspended (ALTER SERVICE … SUSPEND) until resumed.
    pub suspended: bool,
    /// Desired: cancel the job (SPCS_CANCEL_JOB, STOP ALL).
    #[serde(default)]
    pub cancel_requested: bool,
    /// DNS label of the service (`echo-service`).
    pub dns_label: String,
    /// Per-schema DNS hash (`k3m6`).
    pub dns_hash: String,
    /// Query id of the statement that created it (job history).
    pub query_id: String,
    /// EXECUTE JOB SERVICE options given (job history's PARAMETERS).
    #[serde(default)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// Epoch ms.
    pub created_on: i64,
    /// Epoch ms.
    pub updated_on: i64,
    /// Epoch ms of the last RESUME.
    pub resumed_on: Option<i64>,
    /// Epoch ms of the last SUSPEND.
    pub suspended_on: Option<i64>,
}

impl Service {
    /// `DB.SCHEMA.NAME`.
    pub fn qualified(&self) -> String {
        format!("{}.{}.{}", self.database, self.schema, self.name)
    }

    /// Instances wanted now: job replicas, or MIN_INSTANCES of a service (0 while suspended).
    pub fn target_instances(&self) -> u32 {
        if self.is_job {
            self.replicas
        } else if self.suspended {
            0
        } else {
            self.min_instances
        }
    }

    /// The fully qualified DNS name shown by DESCRIBE SERVICE.
    pub fn dns_name(&self) -> String {
        format!("{}.{}.svc.spcs.internal", self.dns_label, self.dns_hash)
    }
}

/// Status values of services and jobs (spcs.md §12.2).
pub mod status {
    /// Waiting for instances.
    pub const PENDING: &str = "PENDING";
    /// Enough instances ready / the job runs.
    pub const RUNNING: &str = "RUNNING";
    /// Failed.
    pub const FAILED: &str = "FAILED";
    /// Job completed.
    pub const DONE: &str = "DONE";
    /// Suspending.
    pub const SUSPENDING: &str = "SUSPENDING";
    /// Suspended.
    pub const SUSPENDED: &str = "SUSPENDED";
    /// Job being cancelled.
    pub const CANCELLING: &str = "CANCELLING";
    /// Job cancelled.
    pub const CANCELLED: &str = "CANCELLED";
    /// Being dropped.
    pub const DELETING: &str = "DELETING";
    /// Internal error.
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";

    /// Terminal job statuses.
    pub fn is_terminal(status: &str) -> bool {
        matches!(status, DONE | FAILED | CANCELLED | INTERNAL_ERROR)
    }
}

/// What floe observed of a service or job.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServiceState {
    /// The `Service::uid` this state belongs to.
    pub uid: String,
    /// Service status (`status::*`).
    pub status: String,
    /// Why, when it failed or waits.
    pub message: Option<String>,
    /// Instances, by id.
    pub instances: Vec<InstanceState>,
    /// Epoch ms when a job reached a terminal status.
    pub completed_on: Option<i64>,
    /// Epoch ms of the last change.
    pub updated_on: i64,
    /// Spec generation the instances run.
    #[serde(default)]
    pub generation: u64,
    /// True while a rolling upgrade runs.
    #[serde(default)]
    pub is_upgrading: bool,
    /// The image each container of generation `generation` runs, by container name: resolved when the
    /// generation first starts a container (CREATE, or ALTER … FROM SPECIFICATION) and reused by every
    /// later start (resume, restart, scale-out), as Snowflake reuses the digest it recorded at CREATE.
    #[serde(default)]
    pub images: std::collections::BTreeMap<String, PinnedImage>,
}

/// An image resolved for a service generation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PinnedImage {
    /// The runtime's image id (`sha256:…`).
    pub id: String,
    /// The manifest digest (`sha256:…`) when the image came from floe's registry.
    pub digest: Option<String>,
    /// What to pull when the runtime no longer has the image: `<registry>/<path>@<digest>`.
    pub pull: Option<String>,
}

impl PinnedImage {
    /// The digest shown (DESCRIBE SERVICE's `sha256`, SHOW SERVICE CONTAINERS' `image_digest`): the
    /// registry's manifest digest, else the local image's id.
    pub fn shown_digest(&self) -> &str {
        self.digest.as_deref().unwrap_or(&self.id)
    }
}

/// One instance of a service or job.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InstanceState {
    /// Instance id, 0-based.
    pub id: u32,
    /// PENDING, READY, FAILED, TERMINATING, SUCCEEDED.
    pub status: String,
    /// Address on the schema network.
    pub ip: Option<String>,
    /// Virtual node of the pool it is placed on.
    pub node: Option<u32>,
    /// Epoch ms.
    pub creation_time: Option<i64>,
    /// Epoch ms.
    pub start_time: Option<i64>,
    /// Containers, in spec order.
    pub containers: Vec<ContainerState>,
}

/// One container of an instance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ContainerState {
    /// Name in the spec.
    pub name: String,
    /// PENDING, READY, DONE, FAILED, TERMINATING, UNKNOWN.
    pub status: String,
    /// Event message (`Running`, `Waiting to start`, …).
    pub message: String,
    /// Image as shown (repository URL form).
    pub image: String,
    /// Image digest (`sha256:…`).
    pub image_digest: Option<String>,
    /// Restarts.
    pub restart_count: u32,
    /// RFC 3339 start of the current run.
    pub start_time: Option<String>,
    /// Exit code of the last run.
    pub last_exit_code: Option<i64>,
    /// RFC 3339 time of the last restart.
    pub last_restart_time: Option<String>,
    /// Runtime container id.
    pub runtime_id: Option<String>,
}
