//! Warehouses: CREATE/ALTER/DROP/DESCRIBE/SHOW WAREHOUSE(S) with Snowflake's defaults, SHOW columns,
//! states (STARTED/SUSPENDED) and messages. Warehouses limit nothing in floe: statements run the same
//! with or without one; they exist so clients that create, resume and use them work unchanged.

use std::collections::BTreeMap;

use model::{SfError, display_ident};
use serde::{Deserialize, Serialize};

use super::{Prop, WAREHOUSE, WarehouseAction, all, commit, dropped, get, message, now, ok, put};
use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build, like_matcher};

/// A warehouse as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Warehouse {
    /// Name.
    pub name: String,
    /// STARTED or SUSPENDED.
    pub state: String,
    /// STANDARD or SNOWPARK-OPTIMIZED.
    pub warehouse_type: String,
    /// Canonical size keyword (XSMALL … X6LARGE).
    pub size: String,
    /// MIN_CLUSTER_COUNT.
    pub min_cluster_count: i64,
    /// MAX_CLUSTER_COUNT.
    pub max_cluster_count: i64,
    /// STANDARD or ECONOMY.
    pub scaling_policy: String,
    /// Seconds; None after `AUTO_SUSPEND = NULL` or UNSET.
    pub auto_suspend: Option<i64>,
    /// AUTO_RESUME.
    pub auto_resume: bool,
    /// RESOURCE_MONITOR (stored, not enforced).
    pub resource_monitor: Option<String>,
    /// COMMENT.
    pub comment: Option<String>,
    /// ENABLE_QUERY_ACCELERATION.
    pub enable_query_acceleration: bool,
    /// QUERY_ACCELERATION_MAX_SCALE_FACTOR.
    pub query_acceleration_max_scale_factor: i64,
    /// GENERATION ('1' or '2'); None: the default.
    pub generation: Option<String>,
    /// RESOURCE_CONSTRAINT; None: the type's default.
    pub resource_constraint: Option<String>,
    /// MAX_CONCURRENCY_LEVEL.
    pub max_concurrency_level: i64,
    /// STATEMENT_QUEUED_TIMEOUT_IN_SECONDS.
    pub statement_queued_timeout_in_seconds: i64,
    /// STATEMENT_TIMEOUT_IN_SECONDS.
    pub statement_timeout_in_seconds: i64,
    /// Epoch ms.
    pub created_on: i64,
    /// Epoch ms of the last start; None if never started (SHOW prints the epoch, as Snowflake does).
    pub resumed_on: Option<i64>,
    /// Epoch ms of the last change.
    pub updated_on: i64,
    /// Owning role.
    pub owner: String,
    /// The numeric id SHOW reports as `uuid`.
    pub uuid: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Sizes: canonical keyword, SHOW spelling, accepted synonyms.
const SIZES: &[(&str, &str, &[&str])] = &[
    ("XSMALL", "X-Small", &["X-SMALL"]),
    ("SMALL", "Small", &[]),
    ("MEDIUM", "Medium", &[]),
    ("LARGE", "Large", &[]),
    ("XLARGE", "X-Large", &["X-LARGE"]),
    ("XXLARGE", "2X-Large", &["X2LARGE", "2X-LARGE"]),
    ("XXXLARGE", "3X-Large", &["X3LARGE", "3X-LARGE"]),
    ("X4LARGE", "4X-Large", &["4X-LARGE"]),
    ("X5LARGE", "5X-Large", &["5X-LARGE"]),
    ("X6LARGE", "6X-Large", &["6X-LARGE"]),
];

const RESOURCE_CONSTRAINTS: &[&str] =
    &["STANDARD_GEN_1", "STANDARD_GEN_2", "MEMORY_1X", "MEMORY_1X_X86", "MEMORY_16X", "MEMORY_16X_X86", "MEMORY_64X", "MEMORY_64X_X86"];

impl Warehouse {
    /// A warehouse with Snowflake's defaults (XSMALL, AUTO_SUSPEND 600, AUTO_RESUME TRUE, started).
    pub fn new(name: &str, owner: &str, uuid: String, at: i64) -> Warehouse {
        Warehouse {
            name: name.to_string(),
            state: "STARTED".into(),
            warehouse_type: "STANDARD".into(),
            size: "XSMALL".into(),
            min_cluster_count: 1,
            max_cluster_count: 1,
            scaling_policy: "STANDARD".into(),
            auto_suspend: Some(600),
            auto_resume: true,
            resource_monitor: None,
            comment: None,
            enable_query_acceleration: false,
            query_acceleration_max_scale_factor: 8,
            generation: None,
            resource_constraint: None,
            max_concurrency_level: 8,
            statement_queued_timeout_in_seconds: 0,
            statement_timeout_in_seconds: 172800,
            created_on: at,
            resumed_on: Some(at),
            updated_on: at,
            owner: owner.to_string(),
            uuid,
            tags: BTreeMap::new(),
        }
    }

    /// COMPUTE_WH, the warehouse every new account has: X-Small, suspended, owned by ACCOUNTADMIN.
    pub fn compute_wh(engine: &Engine, at: i64) -> Warehouse {
        let mut wh = Warehouse::new("COMPUTE_WH", "ACCOUNTADMIN", engine.store().reserve_id().to_string(), at);
        wh.state = "SUSPENDED".into();
        wh.resumed_on = None;
        wh
    }

    /// Applies CREATE or ALTER … SET properties. Returns INITIALLY_SUSPENDED if given.
    pub fn apply(&mut self, props: &[Prop]) -> Result<Option<bool>, SfError> {
        let mut initially_suspended = None;
        for p in props {
            let key = p.key.as_str();
            let v = &p.value;
            match key {
                "WAREHOUSE_TYPE" => {
                    self.warehouse_type = match v.as_keyword(key)?.replace('_', "-").as_str() {
                        "STANDARD" => "STANDARD".into(),
                        "SNOWPARK-OPTIMIZED" => "SNOWPARK-OPTIMIZED".into(),
                        _ => return Err(SfError::invalid_value(key, &v.written())),
                    }
                }
                "WAREHOUSE_SIZE" => {
                    let given = v.as_keyword(key)?;
                    let size = SIZES.iter().find(|(k, _, syn)| *k == given || syn.contains(&given.as_str()));
                    self.size = size.ok_or_else(|| SfError::invalid_value(key, &v.written()))?.0.to_string();
                }
                "GENERATION" => {
                    let g = v.as_text(key)?;
                    if g != "1" && g != "2" {
                        return Err(SfError::invalid_value(key, &v.written()));
                    }
                    self.generation = Some(g);
                }
                "RESOURCE_CONSTRAINT" => {
                    let rc = v.as_keyword(key)?;
                    if !RESOURCE_CONSTRAINTS.contains(&rc.as_str()) {
                        return Err(SfError::invalid_value(key, &v.written()));
                    }
                    if let Some(g) = rc.strip_prefix("STANDARD_GEN_") {
                        self.generation = Some(g.to_string());
                        self.resource_constraint = None;
                    } else {
                        self.resource_constraint = Some(rc);
                    }
                }
                "MAX_CLUSTER_COUNT" => self.max_cluster_count = v.as_int(key, 1)?,
                "MIN_CLUSTER_COUNT" => self.min_cluster_count = v.as_int(key, 1)?,
                "SCALING_POLICY" => {
                    let sp = v.as_keyword(key)?;
                    if sp != "STANDARD" && sp != "ECONOMY" {
                        return Err(SfError::invalid_value(key, &v.written()));
                    }
                    self.scaling_policy = sp;
                }
                "AUTO_SUSPEND" => self.auto_suspend = if *v == super::Value::Null { None } else { Some(v.as_int(key, 0)?) },
                "AUTO_RESUME" => self.auto_resume = v.as_bool(key)?,
                "INITIALLY_SUSPENDED" => initially_suspended = Some(v.as_bool(key)?),
                "RESOURCE_MONITOR" => self.resource_monitor = if *v == super::Value::Null { None } else { Some(v.as_text(key)?) },
                "COMMENT" => self.comment = Some(v.as_text(key)?),
                "ENABLE_QUERY_ACCELERATION" => self.enable_query_acceleration = v.as_bool(key)?,
                "QUERY_ACCELERATION_MAX_SCALE_FACTOR" => {
                    let n = v.as_int(key, 0)?;
                    if n > 100 {
                        return Err(SfError::invalid_value(key, &v.written()));
                    }
                    self.query_acceleration_max_scale_factor = n;
                }
                "MAX_CONCURRENCY_LEVEL" => self.max_concurrency_level = v.as_int(key, 1)?,
                "STATEMENT_QUEUED_TIMEOUT_IN_SECONDS" => self.statement_queued_timeout_in_seconds = v.as_int(key, 0)?,
                "STATEMENT_TIMEOUT_IN_SECONDS" => {
                    let n = v.as_int(key, 0)?;
                    if n > 604800 {
                        return Err(SfError::invalid_value(key, &v.written()));
                    }
                    self.statement_timeout_in_seconds = n;
                }
                "WAIT_FOR_COMPLETION" => {
                    v.as_bool(key)?;
                }
                "TAG" => {
                    if let super::Value::Group(tags) = v {
                        for t in tags {
                            self.tags.insert(t.key.clone(), t.value.as_text("TAG")?);
                        }
                    }
                }
                _ => return Err(SfError::compilation(format!("invalid property '{key}' for 'WAREHOUSE'"))),
            }
        }
        if self.min_cluster_count > self.max_cluster_count {
            return Err(SfError::compilation(format!(
                "MIN_CLUSTER_COUNT ({}) cannot be greater than MAX_CLUSTER_COUNT ({}).",
                self.min_cluster_count, self.max_cluster_count
            )));
        }
        Ok(initially_suspended)
    }

    /// ALTER … UNSET: back to the defaults (AUTO_SUSPEND becomes empty, as Snowflake shows it).
    pub fn unset(&mut self, keys: &[String]) {
        let d = Warehouse::new(&self.name, &self.owner, self.uuid.clone(), self.created_on);
        for key in keys {
            match key.as_str() {
                "WAREHOUSE_TYPE" => self.warehouse_type = d.warehouse_type.clone(),
                "WAREHOUSE_SIZE" => self.size = d.size.clone(),
                "GENERATION" => self.generation = None,
                "RESOURCE_CONSTRAINT" => self.resource_constraint = None,
                "MAX_CLUSTER_COUNT" => self.max_cluster_count = d.max_cluster_count,
                "MIN_CLUSTER_COUNT" => self.min_cluster_count = d.min_cluster_count,
                "SCALING_POLICY" => self.scaling_policy = d.scaling_policy.clone(),
                "AUTO_SUSPEND" => self.auto_suspend = None,
                "AUTO_RESUME" => self.auto_resume = d.auto_resume,
                "RESOURCE_MONITOR" => self.resource_monitor = None,
                "COMMENT" => self.comment = None,
                "ENABLE_QUERY_ACCELERATION" => self.enable_query_acceleration = d.enable_query_acceleration,
                "QUERY_ACCELERATION_MAX_SCALE_FACTOR" => self.query_acceleration_max_scale_factor = d.query_acceleration_max_scale_factor,
                "MAX_CONCURRENCY_LEVEL" => self.max_concurrency_level = d.max_concurrency_level,
                "STATEMENT_QUEUED_TIMEOUT_IN_SECONDS" => self.statement_queued_timeout_in_seconds = d.statement_queued_timeout_in_seconds,
                "STATEMENT_TIMEOUT_IN_SECONDS" => self.statement_timeout_in_seconds = d.statement_timeout_in_seconds,
                _ => {}
            }
        }
    }

    /// The size as SHOW spells it (`X-Small`).
    pub fn size_display(&self) -> &'static str {
        SIZES.iter().find(|(k, _, _)| *k == self.size).map(|(_, d, _)| *d).unwrap_or("X-Small")
    }

    fn started(&self) -> bool {
        self.state == "STARTED"
    }

    /// SHOW's `resource_constraint`: the one set, else the type's and generation's default.
    fn resource_constraint_display(&self) -> String {
        match (&self.resource_constraint, self.warehouse_type.as_str()) {
            (Some(rc), _) => rc.clone(),
            (None, "SNOWPARK-OPTIMIZED") => "MEMORY_16X".into(),
            (None, _) => format!("STANDARD_GEN_{}", self.generation_display().unwrap_or_default()),
        }
    }

    /// SHOW's `generation`: standard warehouses default to 2, as new Snowflake accounts do.
    fn generation_display(&self) -> Option<String> {
        if self.warehouse_type == "SNOWPARK-OPTIMIZED" { None } else { Some(self.generation.clone().unwrap_or_else(|| "2".into())) }
    }
}

fn not_found(name: &str) -> SfError {
    SfError::kind_not_found("Warehouse", &display_ident(name))
}

pub(super) async fn create(engine: &Engine, session: &mut Session, name: String, or_replace: bool, if_not_exists: bool, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    if or_replace && if_not_exists {
        return Err(SfError::compilation("OR REPLACE and IF NOT EXISTS are incompatible."));
    }
    let catalog = engine.store().snapshot();
    if catalog.object(WAREHOUSE, "", &name).is_some() && !or_replace {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        return Err(SfError::already_exists(&display_ident(&name)));
    }
    let at = now();
    let mut wh = Warehouse::new(&name, &session.role, engine.store().reserve_id().to_string(), at);
    if wh.apply(&props)? == Some(true) {
        wh.state = "SUSPENDED".into();
        wh.resumed_on = None;
    }
    commit(engine, vec![put(WAREHOUSE, "", &name, &wh)]).await?;
    // Creating a warehouse makes it the session's current one, as in Snowflake.
    session.warehouse = Some(name.clone());
    Ok(message(format!("Warehouse {} successfully created.", display_ident(&name))))
}

pub(super) async fn alter(engine: &Engine, session: &mut Session, name: Option<String>, if_exists: bool, action: WarehouseAction) -> Result<QueryResult, SfError> {
    let name = match name.or_else(|| session.warehouse.clone()) {
        Some(n) => n,
        None => return Err(SfError::no_active_warehouse()),
    };
    let catalog = engine.store().snapshot();
    let Some(mut wh) = get::<Warehouse>(&catalog, WAREHOUSE, "", &name) else {
        if if_exists {
            return Ok(ok(statement_type::DDL));
        }
        return Err(not_found(&name));
    };
    let at = now();
    let mut ops = Vec::new();
    match action {
        WarehouseAction::Suspend => {
            if !wh.started() {
                return Err(SfError::invalid_state("090064", format!("Warehouse '{name}' cannot be suspended.")));
            }
            wh.state = "SUSPENDED".into();
        }
        WarehouseAction::Resume { if_suspended } => {
            if wh.started() {
                if if_suspended {
                    return Ok(ok(statement_type::DDL));
                }
                return Err(SfError::invalid_state("090063", format!("Warehouse '{name}' cannot be resumed since it is not suspended.")));
            }
            wh.state = "STARTED".into();
            wh.resumed_on = Some(at);
        }
        WarehouseAction::AbortAllQueries => return Ok(ok(statement_type::DDL)),
        WarehouseAction::Rename(new_name) => {
            if catalog.object(WAREHOUSE, "", &new_name).is_some() {
                return Err(SfError::already_exists(&display_ident(&new_name)));
            }
            ops.push(store::Op::DeleteObject { kind: WAREHOUSE.into(), scope: String::new(), name: name.clone() });
            wh.name = new_name;
        }
        WarehouseAction::Set(props) => {
            wh.apply(&props)?;
        }
        WarehouseAction::Unset(keys) => wh.unset(&keys),
    }
    wh.updated_on = at;
    ops.push(put(WAREHOUSE, "", &wh.name, &wh));
    commit(engine, ops).await?;
    if session.warehouse.as_deref() == Some(name.as_str()) {
        session.warehouse = Some(wh.name.clone());
    }
    Ok(ok(statement_type::DDL))
}

pub(super) async fn drop(engine: &Engine, session: &mut Session, name: String, if_exists: bool) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    if catalog.object(WAREHOUSE, "", &name).is_none() {
        if if_exists {
            return Ok(dropped(&name, false));
        }
        return Err(not_found(&name));
    }
    commit(engine, vec![store::Op::DeleteObject { kind: WAREHOUSE.into(), scope: String::new(), name: name.clone() }]).await?;
    if session.warehouse.as_deref() == Some(name.as_str()) {
        session.warehouse = None;
    }
    Ok(dropped(&name, true))
}

/// USE WAREHOUSE's check: Snowflake refuses a warehouse that does not exist.
pub fn check_exists(engine: &Engine, name: &str) -> Result<(), SfError> {
    if engine.store().snapshot().object(WAREHOUSE, "", name).is_none() {
        return Err(SfError::object_does_not_exist_or_cannot_be_performed());
    }
    Ok(())
}

pub(super) fn describe(engine: &Engine, name: &str) -> Result<QueryResult, SfError> {
    let wh = get::<Warehouse>(&engine.store().snapshot(), WAREHOUSE, "", name).ok_or_else(|| not_found(name))?;
    Ok(build(
        statement_type::DESCRIBE,
        vec![Col::Time("created_on", vec![Some(wh.created_on)]), Col::Text("name", vec![Some(wh.name)]), Col::Text("kind", vec![Some("WAREHOUSE".into())])],
    ))
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

pub(super) fn show(engine: &Engine, session: &Session, like: Option<&str>) -> QueryResult {
    let matches = like_matcher(like);
    let rows: Vec<Warehouse> = all::<Warehouse>(&engine.store().snapshot(), WAREHOUSE).into_iter().map(|(_, _, w)| w).filter(|w| matches(&w.name)).collect();
    let text = |f: &dyn Fn(&Warehouse) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let num = |f: &dyn Fn(&Warehouse) -> Option<i64>| rows.iter().map(f).collect::<Vec<_>>();
    let pct = |w: &Warehouse, started: &str| if w.started() { s(started) } else { s("") };
    build(
        statement_type::SHOW,
        vec![
            Col::Text("name", text(&|w| s(&w.name))),
            Col::Text("state", text(&|w| s(&w.state))),
            Col::Text("type", text(&|w| s(&w.warehouse_type))),
            Col::Text("size", text(&|w| s(w.size_display()))),
            Col::Num("min_cluster_count", num(&|w| Some(w.min_cluster_count))),
            Col::Num("max_cluster_count", num(&|w| Some(w.max_cluster_count))),
            Col::Num("started_clusters", num(&|w| Some(if w.started() { w.min_cluster_count } else { 0 }))),
            Col::Num("running", num(&|_| Some(0))),
            Col::Num("queued", num(&|_| Some(0))),
            Col::Text("is_default", text(&|_| s("N"))),
            Col::Text("is_current", text(&|w| s(if session.warehouse.as_deref() == Some(w.name.as_str()) { "Y" } else { "N" }))),
            Col::Text("is_interactive", text(&|_| s("N"))),
            Col::Num("auto_suspend", num(&|w| w.auto_suspend)),
            Col::Text("auto_resume", text(&|w| s(w.auto_resume.to_string()))),
            Col::Text("available", text(&|w| pct(w, "100"))),
            Col::Text("provisioning", text(&|w| pct(w, "0"))),
            Col::Text("quiescing", text(&|w| pct(w, "0"))),
            Col::Text("other", text(&|w| pct(w, "0"))),
            Col::Time("created_on", num(&|w| Some(w.created_on))),
            Col::Time("resumed_on", num(&|w| Some(w.resumed_on.unwrap_or(0)))),
            Col::Time("updated_on", num(&|w| Some(w.updated_on))),
            Col::Text("owner", text(&|w| s(&w.owner))),
            Col::Text("comment", text(&|w| s(w.comment.clone().unwrap_or_default()))),
            Col::Text("enable_query_acceleration", text(&|w| s(w.enable_query_acceleration.to_string()))),
            Col::Num("query_acceleration_max_scale_factor", num(&|w| Some(w.query_acceleration_max_scale_factor))),
            Col::Text("resource_monitor", text(&|w| s(w.resource_monitor.clone().unwrap_or_else(|| "null".into())))),
            Col::Num("actives", num(&|w| Some(if w.started() { w.min_cluster_count } else { 0 }))),
            Col::Num("pendings", num(&|_| Some(0))),
            Col::Num("failed", num(&|_| Some(0))),
            Col::Num("suspended", num(&|w| Some(if w.started() { 0 } else { w.max_cluster_count }))),
            Col::Text("uuid", text(&|w| s(&w.uuid))),
            Col::Text("scaling_policy", text(&|w| s(&w.scaling_policy))),
            Col::Text("owner_role_type", text(&|_| s("ROLE"))),
            Col::Text("resource_constraint", text(&|w| Some(w.resource_constraint_display()))),
            Col::Text("generation", text(&|w| w.generation_display())),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Value;

    fn prop(key: &str, value: Value) -> Prop {
        Prop { key: key.into(), value }
    }

    #[test]
    fn defaults_and_sizes() {
        let mut wh = Warehouse::new("W", "R", "1".into(), 0);
        assert_eq!((wh.size_display(), wh.auto_suspend, wh.auto_resume), ("X-Small", Some(600), true));
        wh.apply(&[prop("WAREHOUSE_SIZE", Value::Str("2X-Large".into()))]).unwrap();
        assert_eq!(wh.size_display(), "2X-Large");
        wh.apply(&[prop("WAREHOUSE_SIZE", Value::Word("X6LARGE".into()))]).unwrap();
        assert_eq!(wh.size, "X6LARGE");
        assert_eq!(wh.resource_constraint_display(), "STANDARD_GEN_2");
    }

    #[test]
    fn bad_values_name_themselves_and_change_nothing() {
        let mut wh = Warehouse::new("W", "R", "1".into(), 0);
        let before = wh.clone();
        let err = wh.apply(&[prop("WAREHOUSE_SIZE", Value::Word("HUGE".into()))]).unwrap_err();
        assert_eq!(err.message, "SQL compilation error: invalid value [HUGE] for parameter 'WAREHOUSE_SIZE'");
        let err = wh.apply(&[prop("AUTO_SUSPEND", Value::Num("-1".into()))]).unwrap_err();
        assert!(err.message.contains("[-1]"));
        let err = wh.apply(&[prop("MIN_CLUSTER_COUNT", Value::Num("3".into()))]).unwrap_err();
        assert!(err.message.contains("MIN_CLUSTER_COUNT (3)"), "{}", err.message);
        // The statement fails as a whole; callers only store a warehouse that applied cleanly.
        assert_eq!(before.size, "XSMALL");
    }

    #[test]
    fn unset_restores_defaults() {
        let mut wh = Warehouse::new("W", "R", "1".into(), 0);
        wh.apply(&[prop("AUTO_RESUME", Value::Bool(false)), prop("COMMENT", Value::Str("c".into()))]).unwrap();
        wh.unset(&["AUTO_RESUME".into(), "COMMENT".into(), "AUTO_SUSPEND".into()]);
        assert!(wh.auto_resume);
        assert_eq!(wh.comment, None);
        assert_eq!(wh.auto_suspend, None);
    }
}
