//! Services and job services as SQL (spcs.md §4, §5, §8): the statements that define them, the SHOW and
//! DESCRIBE views of what runs, and the system functions that wait on and read them.
//!
//! This module writes desired state only (`records::Service`, kind `SERVICE`) and reads observed state
//! (`records::ServiceState`, kind `SERVICE_STATE`, written by the control plane in crates/control) and
//! container logs (`store::LogStore`). It makes no Docker call: after a change it wakes the control plane
//! through `Runtime::wake`, and statements that wait (a synchronous EXECUTE JOB SERVICE,
//! SPCS_WAIT_FOR, SYSTEM$WAIT_FOR_SERVICES) watch `Runtime::changed`.
//!
//! A spec is parsed and validated (crates/spec), and its resources checked against the pool's instance
//! family, before anything is written: a bad spec changes nothing.

pub mod endpoints;
pub mod grammar;
pub mod records;
pub mod secrets;
mod service;
mod show;
mod system;
pub mod telemetry;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use model::SfError;
use parking_lot::RwLock;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::objects::{Prop, ShowScope, StageRef, Value};
use crate::result::QueryResult;
use crate::session::Session;

pub use records::{ContainerState, InstanceState, PinnedImage, SERVICE, SERVICE_STATE, Service, ServiceState, status};
pub use service::{default_requests, instance_requests, purge_finished_jobs};

/// A service by name, visible to the session (Snowflake's 002003 otherwise).
pub fn find_service(engine: &Engine, session: &Session, name: &[String], verb: &str) -> Result<Service, SfError> {
    service::find(engine, session, name, verb).map(|(_, svc)| svc)
}

/// Where a specification comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecSource {
    /// `FROM SPECIFICATION[_TEMPLATE] $$…$$ [USING (…)]`.
    Inline {
        /// The text.
        text: String,
        /// Template variables, for the TEMPLATE forms.
        using: Option<Vec<(String, String)>>,
    },
    /// `FROM @stage SPECIFICATION[_TEMPLATE]_FILE = 'path' [USING (…)]` (or `SPEC = 'path'`).
    Staged {
        /// The stage.
        stage: StageRef,
        /// Path of the file in the stage.
        file: String,
        /// Template variables, for the TEMPLATE forms.
        using: Option<Vec<(String, String)>>,
    },
}

/// ALTER SERVICE actions.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceAction {
    /// SUSPEND.
    Suspend,
    /// RESUME.
    Resume,
    /// FROM SPECIFICATION … (rolling upgrade).
    Spec(SpecSource),
    /// SET options.
    Set(Vec<Prop>),
    /// UNSET options.
    Unset(Vec<String>),
}

/// A system function called as a statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemCall {
    /// Upper-case function (`SYSTEM$GET_SERVICE_LOGS`) or service method (`SPCS_WAIT_FOR`).
    pub function: String,
    /// For service methods, the service name parts.
    pub service: Vec<String>,
    /// Literal arguments.
    pub args: Vec<Value>,
}

/// A statement of this module, parsed by `grammar`.
#[derive(Debug, Clone, PartialEq)]
pub enum SpcsStmt {
    /// CREATE SERVICE.
    CreateService { name: Vec<String>, if_not_exists: bool, pool: String, source: SpecSource, props: Vec<Prop> },
    /// EXECUTE JOB SERVICE.
    ExecuteJob { pool: String, source: SpecSource, props: Vec<Prop> },
    /// ALTER SERVICE.
    AlterService { name: Vec<String>, if_exists: bool, action: ServiceAction },
    /// DROP SERVICE.
    DropService { name: Vec<String>, if_exists: bool, force: bool },
    /// SHOW [JOB] SERVICES.
    ShowServices {
        job_only: bool,
        exclude_jobs: bool,
        like: Option<String>,
        scope: ShowScope,
        pool: Option<String>,
        starts_with: Option<String>,
        limit: Option<usize>,
        from: Option<String>,
    },
    /// DESCRIBE SERVICE.
    DescribeService { name: Vec<String> },
    /// SHOW ENDPOINTS|SERVICE INSTANCES|SERVICE CONTAINERS|ROLES IN SERVICE.
    ShowInService { what: &'static str, name: Vec<String> },
    /// A system function.
    Call(SystemCall),
    /// CREATE SECRET / NETWORK RULE / EXTERNAL ACCESS INTEGRATION.
    CreateObject { kind: &'static str, name: Vec<String>, or_replace: bool, if_not_exists: bool, props: Vec<Prop> },
    /// ALTER … SET of those.
    AlterObject { kind: &'static str, name: Vec<String>, if_exists: bool, props: Vec<Prop> },
    /// DROP of those.
    DropObject { kind: &'static str, name: Vec<String>, if_exists: bool },
    /// DESCRIBE of those.
    DescribeObject { kind: &'static str, name: Vec<String> },
    /// SHOW SECRETS / NETWORK RULES / EXTERNAL ACCESS INTEGRATIONS.
    ShowObjects { kind: &'static str, like: Option<String>, scope: ShowScope },
}

/// Snowflake's retention of finished jobs and their history: 30 days.
pub const RETENTION_SECS: u64 = 30 * 86_400;

/// Snowflake's fixed durations that tests may shorten (spcs.md §12.1).
#[derive(Debug, Clone)]
pub struct Durations {
    /// SIGTERM grace before SIGKILL (Snowflake: 30 s). `FLOE_STOP_GRACE_SECS`.
    pub stop_grace: Duration,
    /// How long finished jobs, their logs, events and history are kept (Snowflake: 30 days).
    /// `FLOE_RETENTION_SECS`.
    pub retention: Duration,
}

impl Default for Durations {
    fn default() -> Self {
        Durations { stop_grace: Duration::from_secs(30), retention: Duration::from_secs(RETENTION_SECS) }
    }
}

/// The link between SQL and the control plane: one per engine.
pub struct Runtime {
    wake: Notify,
    changed: watch::Sender<u64>,
    available: RwLock<Result<String, String>>,
    logs: OnceLock<Arc<store::LogStore>>,
    /// Durations.
    pub durations: RwLock<Durations>,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            wake: Notify::new(),
            changed: watch::channel(0).0,
            available: RwLock::new(Err("floe was started without a container runtime".into())),
            logs: OnceLock::new(),
            durations: RwLock::new(Durations::default()),
        }
    }
}

impl Runtime {
    /// Wakes the control plane (after a change of desired state).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits until `wake` is called (the control plane's loop).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Tells waiting statements that observed state changed (the control plane, after each commit).
    pub fn publish_change(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// A receiver of change notifications.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Records whether a container runtime is connected (`Ok(description)`) or why not.
    pub fn set_available(&self, available: Result<String, String>) {
        *self.available.write() = available;
    }

    /// The container runtime's description, or Snowflake-style error saying why there is none.
    pub fn check_available(&self) -> Result<String, SfError> {
        self.available.read().clone().map_err(|why| {
            SfError::new("391001", "55000", model::ErrorKind::InvalidArgument, format!("No container runtime is available: {why}."))
        })
    }

    /// Sets the log store (once, at server start).
    pub fn set_logs(&self, logs: Arc<store::LogStore>) {
        let _ = self.logs.set(logs);
    }

    /// The log store, if the server has one.
    pub fn logs(&self) -> Option<&Arc<store::LogStore>> {
        self.logs.get()
    }
}

/// Runs one of this module's statements.
pub(crate) async fn execute(engine: &Engine, session: &mut Session, stmt: SpcsStmt, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    use SpcsStmt::*;
    if matches!(stmt, CreateService { .. } | ExecuteJob { .. } | AlterService { .. } | DropService { .. } | CreateObject { .. } | AlterObject { .. } | DropObject { .. }) {
        crate::ddl::implicit_commit(engine, session).await?;
    }
    match stmt {
        CreateService { name, if_not_exists, pool, source, props } => service::create(engine, session, name, if_not_exists, pool, source, props).await,
        ExecuteJob { pool, source, props } => service::execute_job(engine, session, pool, source, props, cancel).await,
        AlterService { name, if_exists, action } => service::alter(engine, session, name, if_exists, action).await,
        DropService { name, if_exists, force } => service::drop(engine, session, name, if_exists, force).await,
        ShowServices { job_only, exclude_jobs, like, scope, pool, starts_with, limit, from } => {
            show::show_services(engine, session, show::ShowFilter { job_only, exclude_jobs, like, scope, pool, starts_with, limit, from })
        }
        DescribeService { name } => show::describe(engine, session, &name),
        ShowInService { what, name } => show::in_service(engine, session, what, &name),
        Call(call) => system::call(engine, session, call, cancel).await,
        CreateObject { kind, name, or_replace, if_not_exists, props } => secrets::create(engine, session, kind, name, or_replace, if_not_exists, props).await,
        AlterObject { kind, name, if_exists, props } => secrets::alter(engine, session, kind, name, if_exists, props).await,
        DropObject { kind, name, if_exists } => secrets::drop(engine, session, kind, name, if_exists).await,
        DescribeObject { kind, name } => secrets::describe(engine, session, kind, &name),
        ShowObjects { kind, like, scope } => secrets::show(engine, session, kind, like, scope),
    }
}
