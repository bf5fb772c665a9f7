//! Compute pools (spcs.md §1): CREATE/ALTER/DROP/DESCRIBE/SHOW COMPUTE POOL(S) and SHOW COMPUTE POOL
//! INSTANCE FAMILIES, with Snowflake's columns, defaults, validation and messages.
//!
//! The stored body records what users set (nodes, family, suspended or not). What a pool is doing —
//! its `state`, `num_services`, `num_jobs` and node counts — is computed in one place, `status`, from a
//! `PoolUsage` that `pool_usage` supplies (zero until a runtime runs services and jobs).
//!
//! States (inferred where Snowflake's are transient): floe provisions no machines, so a pool that is not
//! suspended is IDLE at once (Snowflake passes through STARTING and RESIZING), ACTIVE while a service or
//! job runs in it, SUSPENDED after SUSPEND (STOPPING while job services still run). SUSPEND and RESUME
//! are idempotent.

use std::collections::BTreeMap;

use model::{SfError, display_ident};
use serde::{Deserialize, Serialize};

use super::instance_family::{INSTANCE_FAMILIES, instance_family};
use super::{COMPUTE_POOL, PoolAction, Prop, Value, all, commit, dropped, get, message, now, ok, put};
use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build, like_matcher};

/// Seconds of inactivity before a pool suspends, unless set.
pub const DEFAULT_AUTO_SUSPEND_SECS: i64 = 3600;

/// A compute pool as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComputePool {
    /// Name.
    pub name: String,
    /// MIN_NODES.
    pub min_nodes: i64,
    /// MAX_NODES.
    pub max_nodes: i64,
    /// INSTANCE_FAMILY (upper case).
    pub instance_family: String,
    /// AUTO_RESUME.
    pub auto_resume: bool,
    /// AUTO_SUSPEND_SECS (0: never).
    pub auto_suspend_secs: i64,
    /// True after INITIALLY_SUSPENDED = TRUE or SUSPEND, until RESUME.
    pub suspended: bool,
    /// COMMENT.
    pub comment: Option<String>,
    /// FOR APPLICATION name.
    pub application: Option<String>,
    /// PLACEMENT_GROUP.
    pub placement_group: Option<String>,
    /// BACKUP_INSTANCE_FAMILIES.
    #[serde(default)]
    pub backup_instance_families: Vec<String>,
    /// Epoch ms.
    pub created_on: i64,
    /// Epoch ms of the last RESUME; None before the first (SHOW prints the epoch, as Snowflake does).
    pub resumed_on: Option<i64>,
    /// Epoch ms of the last change.
    pub updated_on: i64,
    /// Owning role.
    pub owner: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// What runs in a pool, as the runtime reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUsage {
    /// Services (not jobs) placed in the pool.
    pub services: i64,
    /// Job services running in the pool.
    pub jobs: i64,
    /// Nodes running at least one service or job instance.
    pub active_nodes: i64,
}

/// What SHOW/DESCRIBE report about a pool's activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStatus {
    /// IDLE, ACTIVE, STOPPING or SUSPENDED.
    pub state: &'static str,
    /// `num_services`.
    pub num_services: i64,
    /// `num_jobs`.
    pub num_jobs: i64,
    /// `active_nodes`.
    pub active_nodes: i64,
    /// `idle_nodes`.
    pub idle_nodes: i64,
    /// `target_nodes`.
    pub target_nodes: i64,
}

/// The usage of pool `name`. floe runs no services or jobs yet, so this is zero; the runtime that runs
/// them feeds this function and every SHOW/DESCRIBE column follows (see `status`).
pub fn pool_usage(engine: &Engine, name: &str) -> PoolUsage {
    use crate::spcs::{SERVICE, SERVICE_STATE, Service, ServiceState, status};
    let catalog = engine.store().snapshot();
    let mut usage = PoolUsage::default();
    let mut nodes = std::collections::BTreeSet::new();
    for (scope, n, body) in catalog.objects_of(SERVICE) {
        let Ok(svc) = serde_json::from_value::<Service>(body.clone()) else { continue };
        if svc.compute_pool != name {
            continue;
        }
        let st = get::<ServiceState>(&catalog, SERVICE_STATE, scope, n).filter(|s| s.uid == svc.uid);
        let finished = st.as_ref().is_some_and(|s| status::is_terminal(&s.status));
        if svc.is_job {
            if !finished {
                usage.jobs += 1;
            }
        } else {
            usage.services += 1;
        }
        for inst in st.iter().flat_map(|s| s.instances.iter()) {
            if let Some(node) = inst.node
                && !matches!(inst.status.as_str(), "SUCCEEDED" | "FAILED")
            {
                nodes.insert(node);
            }
        }
    }
    usage.active_nodes = nodes.len() as i64;
    usage
}

/// ALTER COMPUTE POOL … STOP ALL: drops every service in the pool and cancels its running jobs (their
/// containers are then stopped and removed by the control plane).
async fn stop_all(engine: &Engine, name: &str) -> Result<(), SfError> {
    use crate::spcs::{SERVICE, SERVICE_STATE, Service, ServiceState, status};
    let catalog = engine.store().snapshot();
    let mut ops = Vec::new();
    for (scope, n, body) in catalog.objects_of(SERVICE) {
        let Ok(mut svc) = serde_json::from_value::<Service>(body.clone()) else { continue };
        if svc.compute_pool != name {
            continue;
        }
        if svc.is_job {
            let finished = get::<ServiceState>(&catalog, SERVICE_STATE, scope, n).is_some_and(|s| status::is_terminal(&s.status));
            if !finished && !svc.cancel_requested {
                svc.cancel_requested = true;
                ops.push(put(SERVICE, scope, n, &svc));
            }
        } else {
            ops.push(store::Op::DeleteObject { kind: SERVICE.into(), scope: scope.into(), name: n.into() });
            ops.push(store::Op::DeleteObject { kind: SERVICE_STATE.into(), scope: scope.into(), name: n.into() });
        }
    }
    if !ops.is_empty() {
        commit(engine, ops).await?;
    }
    engine.spcs().wake();
    Ok(())
}

/// The activity columns of a pool from its settings and usage.
pub fn status(pool: &ComputePool, usage: PoolUsage) -> PoolStatus {
    if pool.suspended {
        // Suspending lets job services finish; the pool is STOPPING until they do.
        let stopping = usage.jobs > 0;
        return PoolStatus {
            state: if stopping { "STOPPING" } else { "SUSPENDED" },
            num_services: usage.services,
            num_jobs: usage.jobs,
            active_nodes: if stopping { usage.active_nodes } else { 0 },
            idle_nodes: 0,
            target_nodes: 0,
        };
    }
    let target = usage.active_nodes.max(pool.min_nodes).min(pool.max_nodes);
    PoolStatus {
        state: if usage.services + usage.jobs > 0 { "ACTIVE" } else { "IDLE" },
        num_services: usage.services,
        num_jobs: usage.jobs,
        active_nodes: usage.active_nodes,
        idle_nodes: (target - usage.active_nodes).max(0),
        target_nodes: target,
    }
}

impl ComputePool {
    /// Builds a pool from CREATE's options, checking them all; nothing is stored on error.
    pub fn from_create(name: &str, owner: &str, application: Option<String>, props: &[Prop], at: i64) -> Result<ComputePool, SfError> {
        let missing: Vec<&str> = ["MIN_NODES", "MAX_NODES", "INSTANCE_FAMILY"].into_iter().filter(|k| !props.iter().any(|p| p.key == *k)).collect();
        if !missing.is_empty() {
            return Err(SfError::compilation(format!("Missing option(s): [{}]", missing.join(", "))));
        }
        let mut pool = ComputePool {
            name: name.to_string(),
            min_nodes: 1,
            max_nodes: 1,
            instance_family: String::new(),
            auto_resume: true,
            auto_suspend_secs: DEFAULT_AUTO_SUSPEND_SECS,
            suspended: false,
            comment: None,
            application,
            placement_group: None,
            backup_instance_families: Vec::new(),
            created_on: at,
            resumed_on: None,
            updated_on: at,
            owner: owner.to_string(),
            tags: BTreeMap::new(),
        };
        for p in props {
            if p.key == "INITIALLY_SUSPENDED" {
                pool.suspended = p.value.as_bool(&p.key)?;
            } else {
                pool.apply(p)?;
            }
        }
        pool.validate()?;
        Ok(pool)
    }

    /// Applies one CREATE or SET option (validated as a whole by `validate`).
    pub fn apply(&mut self, p: &Prop) -> Result<(), SfError> {
        let key = p.key.as_str();
        let v = &p.value;
        match key {
            "MIN_NODES" => self.min_nodes = v.as_int(key, 1)?,
            "MAX_NODES" => self.max_nodes = v.as_int(key, 1)?,
            "INSTANCE_FAMILY" => self.instance_family = family(v)?,
            "AUTO_RESUME" => self.auto_resume = v.as_bool(key)?,
            "AUTO_SUSPEND_SECS" => self.auto_suspend_secs = v.as_int(key, 0)?,
            "COMMENT" => self.comment = Some(v.as_text(key)?),
            "PLACEMENT_GROUP" => self.placement_group = Some(v.as_text(key)?),
            "BACKUP_INSTANCE_FAMILIES" => {
                let items = match v {
                    Value::List(items) => items.iter().map(family).collect::<Result<Vec<_>, _>>()?,
                    other => vec![family(other)?],
                };
                if items.is_empty() {
                    return Err(SfError::invalid_value(key, &v.written()));
                }
                self.backup_instance_families = items;
            }
            "TAG" => {
                if let Value::Group(tags) = v {
                    for t in tags {
                        self.tags.insert(t.key.clone(), t.value.as_text("TAG")?);
                    }
                }
            }
            _ => return Err(SfError::compilation(format!("invalid property '{key}' for 'COMPUTE POOL'"))),
        }
        Ok(())
    }

    /// Cross-option rules: MIN_NODES ≤ MAX_NODES, MAX_NODES within the family's node limit, backup
    /// families distinct and not the primary one.
    pub fn validate(&self) -> Result<(), SfError> {
        if self.min_nodes > self.max_nodes {
            return Err(SfError::compilation(format!("MIN_NODES ({}) cannot be greater than MAX_NODES ({}).", self.min_nodes, self.max_nodes)));
        }
        let fam = instance_family(&self.instance_family).ok_or_else(|| invalid_family(&self.instance_family))?;
        if let Some(limit) = fam.node_limit
            && self.max_nodes > limit as i64
        {
            return Err(SfError::compilation(format!(
                "MAX_NODES ({}) exceeds the limit of {limit} nodes for instance family {}.",
                self.max_nodes, fam.name
            )));
        }
        let mut seen = Vec::new();
        for b in &self.backup_instance_families {
            if b == &self.instance_family || seen.contains(&b) {
                return Err(SfError::invalid_value("BACKUP_INSTANCE_FAMILIES", &format!("'{b}'")));
            }
            seen.push(b);
        }
        Ok(())
    }

    /// ALTER … UNSET: back to the defaults.
    pub fn unset(&mut self, keys: &[String]) {
        for key in keys {
            match key.as_str() {
                "AUTO_SUSPEND_SECS" => self.auto_suspend_secs = DEFAULT_AUTO_SUSPEND_SECS,
                "AUTO_RESUME" => self.auto_resume = true,
                "PLACEMENT_GROUP" => self.placement_group = None,
                "BACKUP_INSTANCE_FAMILIES" => self.backup_instance_families.clear(),
                "COMMENT" => self.comment = None,
                _ => {}
            }
        }
    }
}

/// `Invalid instance family X. …` (Snowflake's wording; code inferred).
fn invalid_family(name: &str) -> SfError {
    SfError::new(
        "001008",
        "22023",
        model::ErrorKind::InvalidArgument,
        format!("Invalid instance family {name}. Please refer to Snowflake documentation for supported instance families."),
    )
}

fn family(v: &Value) -> Result<String, SfError> {
    let name = v.as_keyword("INSTANCE_FAMILY")?;
    instance_family(&name).map(|f| f.name.to_string()).ok_or_else(|| invalid_family(&name))
}

fn not_found(name: &str) -> SfError {
    SfError::kind_not_found("Compute pool", &display_ident(name))
}

pub(super) async fn create(engine: &Engine, session: &Session, name: String, if_not_exists: bool, application: Option<String>, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    if catalog.object(COMPUTE_POOL, "", &name).is_some() {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        return Err(SfError::already_exists(&display_ident(&name)));
    }
    let pool = ComputePool::from_create(&name, &session.role, application, &props, now())?;
    commit(engine, vec![put(COMPUTE_POOL, "", &name, &pool)]).await?;
    Ok(message(format!("Compute Pool {} successfully created.", display_ident(&name))))
}

pub(super) async fn alter(engine: &Engine, name: String, if_exists: bool, action: PoolAction) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let Some(mut pool) = get::<ComputePool>(&catalog, COMPUTE_POOL, "", &name) else {
        if if_exists {
            return Ok(ok(statement_type::DDL));
        }
        return Err(not_found(&name));
    };
    let at = now();
    match action {
        PoolAction::Suspend => pool.suspended = true,
        PoolAction::Resume => {
            if pool.suspended {
                pool.suspended = false;
                pool.resumed_on = Some(at);
            }
        }
        PoolAction::StopAll(_) => stop_all(engine, &name).await?,
        PoolAction::Set(props) => {
            for p in &props {
                if (p.key == "INSTANCE_FAMILY" || p.key == "PLACEMENT_GROUP") && !pool.suspended {
                    return Err(SfError::compilation(format!(
                        "Compute pool {} must be suspended to change {}. Suspend it with ALTER COMPUTE POOL {} SUSPEND first.",
                        display_ident(&name),
                        p.key,
                        display_ident(&name)
                    )));
                }
                pool.apply(p)?;
            }
            pool.validate()?;
        }
        PoolAction::Unset(keys) => pool.unset(&keys),
    }
    pool.updated_on = at;
    commit(engine, vec![put(COMPUTE_POOL, "", &name, &pool)]).await?;
    Ok(ok(statement_type::DDL))
}

pub(super) async fn drop(engine: &Engine, name: String, if_exists: bool) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    if catalog.object(COMPUTE_POOL, "", &name).is_none() {
        if if_exists {
            return Ok(dropped(&name, false));
        }
        return Err(not_found(&name));
    }
    if pool_usage(engine, &name).services > 0 {
        return Err(SfError::compilation(format!(
            "Cannot drop compute pool {} because it has active services. Drop the services or run ALTER COMPUTE POOL {} STOP ALL first.",
            display_ident(&name),
            display_ident(&name)
        )));
    }
    commit(engine, vec![store::Op::DeleteObject { kind: COMPUTE_POOL.into(), scope: String::new(), name: name.clone() }]).await?;
    Ok(dropped(&name, true))
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

/// The columns SHOW and DESCRIBE share, in order, up to `is_exclusive` and `application`.
fn common_columns(rows: &[(ComputePool, PoolStatus)]) -> Vec<Col> {
    let text = |f: &dyn Fn(&ComputePool, &PoolStatus) -> Option<String>| rows.iter().map(|(p, st)| f(p, st)).collect::<Vec<_>>();
    let num = |f: &dyn Fn(&ComputePool, &PoolStatus) -> Option<i64>| rows.iter().map(|(p, st)| f(p, st)).collect::<Vec<_>>();
    vec![
        Col::Text("name", text(&|p, _| s(&p.name))),
        Col::Text("state", text(&|_, st| s(st.state))),
        Col::Num("min_nodes", num(&|p, _| Some(p.min_nodes))),
        Col::Num("max_nodes", num(&|p, _| Some(p.max_nodes))),
        Col::Text("instance_family", text(&|p, _| s(&p.instance_family))),
        Col::Num("num_services", num(&|_, st| Some(st.num_services))),
        Col::Num("num_jobs", num(&|_, st| Some(st.num_jobs))),
        Col::Num("auto_suspend_secs", num(&|p, _| Some(p.auto_suspend_secs))),
        Col::Text("auto_resume", text(&|p, _| s(p.auto_resume.to_string()))),
        Col::Num("active_nodes", num(&|_, st| Some(st.active_nodes))),
        Col::Num("idle_nodes", num(&|_, st| Some(st.idle_nodes))),
        Col::Num("target_nodes", num(&|_, st| Some(st.target_nodes))),
        Col::Time("created_on", num(&|p, _| Some(p.created_on))),
        Col::Time("resumed_on", num(&|p, _| Some(p.resumed_on.unwrap_or(0)))),
        Col::Time("updated_on", num(&|p, _| Some(p.updated_on))),
        Col::Text("owner", text(&|p, _| s(&p.owner))),
        Col::Text("comment", text(&|p, _| p.comment.clone())),
        Col::Text("is_exclusive", text(&|_, _| s("false"))),
        Col::Text("application", text(&|p, _| p.application.clone())),
    ]
}

fn backup_list(p: &ComputePool) -> Option<String> {
    (!p.backup_instance_families.is_empty()).then(|| serde_json::to_string(&p.backup_instance_families).unwrap_or_default())
}

pub(super) fn show(engine: &Engine, like: Option<&str>, starts_with: Option<&str>, limit: Option<usize>, from: Option<&str>) -> QueryResult {
    let matches = like_matcher(like);
    let rows: Vec<(ComputePool, PoolStatus)> = all::<ComputePool>(&engine.store().snapshot(), COMPUTE_POOL)
        .into_iter()
        .map(|(_, _, p)| p)
        .filter(|p| matches(&p.name) && starts_with.is_none_or(|sw| p.name.starts_with(sw)) && from.is_none_or(|f| p.name.as_str() >= f))
        .take(limit.unwrap_or(usize::MAX))
        .map(|p| {
            let st = status(&p, pool_usage(engine, &p.name));
            (p, st)
        })
        .collect();
    let mut cols = common_columns(&rows);
    cols.push(Col::Text("placement_group", rows.iter().map(|(p, _)| p.placement_group.clone()).collect()));
    cols.push(Col::Text("backup_instance_families", rows.iter().map(|(p, _)| backup_list(p)).collect()));
    build(statement_type::SHOW, cols)
}

pub(super) fn describe(engine: &Engine, name: &str) -> Result<QueryResult, SfError> {
    let pool = get::<ComputePool>(&engine.store().snapshot(), COMPUTE_POOL, "", name).ok_or_else(|| not_found(name))?;
    let st = status(&pool, pool_usage(engine, name));
    let rows = vec![(pool, st)];
    let mut cols = common_columns(&rows);
    cols.push(Col::Text("budget", vec![None]));
    cols.push(Col::Text("error_code", vec![None]));
    cols.push(Col::Text("status_message", vec![None]));
    cols.push(Col::Text("placement_group", vec![rows[0].0.placement_group.clone()]));
    Ok(build(statement_type::DESCRIBE, cols))
}

pub(super) fn show_instance_families(engine: &Engine, like: Option<&str>) -> QueryResult {
    let matches = like_matcher(like);
    let pools = all::<ComputePool>(&engine.store().snapshot(), COMPUTE_POOL);
    let fams: Vec<_> = INSTANCE_FAMILIES.iter().filter(|f| matches(f.name)).collect();
    let usage = |name: &str| -> i64 {
        pools.iter().filter(|(_, _, p)| p.instance_family == name).map(|(_, _, p)| status(p, pool_usage(engine, &p.name)).target_nodes).sum()
    };
    build(
        statement_type::SHOW,
        vec![
            Col::Text("name", fams.iter().map(|f| s(f.name)).collect()),
            Col::Text("description", fams.iter().map(|f| s(f.description)).collect()),
            Col::Num("vcpu", fams.iter().map(|f| Some(f.vcpu as i64)).collect()),
            Col::Num("memory_gib", fams.iter().map(|f| Some(f.memory_gib as i64)).collect()),
            Col::Float("storage_gib", fams.iter().map(|f| Some(f.storage_gib())).collect()),
            Col::Text("gpu", fams.iter().map(|f| f.gpu.map(str::to_string)).collect()),
            Col::Num("gpu_count", fams.iter().map(|f| Some(f.gpu_count as i64)).collect()),
            Col::Num("gpu_memory_gib", fams.iter().map(|f| f.gpu_memory_gib.map(|g| g as i64)).collect()),
            Col::Num("current_node_usage", fams.iter().map(|f| Some(usage(f.name))).collect()),
            Col::Text("message", fams.iter().map(|_| None).collect()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(key: &str, value: Value) -> Prop {
        Prop { key: key.into(), value }
    }

    fn base() -> Vec<Prop> {
        vec![p("MIN_NODES", Value::Num("1".into())), p("MAX_NODES", Value::Num("2".into())), p("INSTANCE_FAMILY", Value::Word("CPU_X64_XS".into()))]
    }

    #[test]
    fn create_defaults_and_state() {
        let pool = ComputePool::from_create("P", "R", None, &base(), 5).unwrap();
        assert_eq!((pool.auto_resume, pool.auto_suspend_secs, pool.suspended), (true, 3600, false));
        let st = status(&pool, PoolUsage::default());
        assert_eq!((st.state, st.target_nodes, st.idle_nodes), ("IDLE", 1, 1));
        let st = status(&pool, PoolUsage { services: 1, jobs: 0, active_nodes: 2 });
        assert_eq!((st.state, st.target_nodes, st.idle_nodes, st.num_services), ("ACTIVE", 2, 0, 1));
        let mut props = base();
        props.push(p("INITIALLY_SUSPENDED", Value::Bool(true)));
        let pool = ComputePool::from_create("P", "R", None, &props, 5).unwrap();
        assert_eq!(status(&pool, PoolUsage::default()).state, "SUSPENDED");
        assert_eq!(status(&pool, PoolUsage { services: 0, jobs: 1, active_nodes: 1 }).state, "STOPPING");
    }

    #[test]
    fn validation_names_the_offending_value() {
        let mut props = base();
        props[0] = p("MIN_NODES", Value::Num("3".into()));
        let err = ComputePool::from_create("P", "R", None, &props, 0).unwrap_err();
        assert_eq!(err.message, "SQL compilation error: MIN_NODES (3) cannot be greater than MAX_NODES (2).");
        let mut props = base();
        props[2] = p("INSTANCE_FAMILY", Value::Word("STANDARD_1".into()));
        let err = ComputePool::from_create("P", "R", None, &props, 0).unwrap_err();
        assert!(err.message.starts_with("Invalid instance family STANDARD_1."), "{}", err.message);
        let err = ComputePool::from_create("P", "R", None, &base()[..1], 0).unwrap_err();
        assert_eq!(err.message, "SQL compilation error: Missing option(s): [MAX_NODES, INSTANCE_FAMILY]");
        let mut props = base();
        props[0] = p("MIN_NODES", Value::Num("0".into()));
        assert!(ComputePool::from_create("P", "R", None, &props, 0).unwrap_err().message.contains("invalid value [0] for parameter 'MIN_NODES'"));
        let mut props = base();
        props.push(p("AUTO_RESUME", Value::Str("maybe".into())));
        assert!(ComputePool::from_create("P", "R", None, &props, 0).is_err());
        let mut props = base();
        props[1] = p("MAX_NODES", Value::Num("501".into()));
        assert!(ComputePool::from_create("P", "R", None, &props, 0).unwrap_err().message.contains("limit of 500"));
        let mut props = base();
        props.push(p("BACKUP_INSTANCE_FAMILIES", Value::List(vec![Value::Str("CPU_X64_XS".into())])));
        assert!(ComputePool::from_create("P", "R", None, &props, 0).is_err());
    }
}
