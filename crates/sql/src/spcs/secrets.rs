//! Secrets, network rules and external access integrations (spcs.md §6.3, §4.11): recorded so that
//! scripts written for Snowflake run, and secrets so that specs can inject them (as environment
//! variables or files). floe's egress is open, so network rules and integrations restrict nothing; they
//! are validated and shown. Secret values are stored in the catalog and never shown by SHOW or DESCRIBE.

use std::collections::BTreeMap;

use model::{SfError, display_ident};
use serde::{Deserialize, Serialize};

use crate::access::{Access, Securable};
use crate::engine::Engine;
use crate::objects::{Prop, ShowScope, Value, commit, get, message, now, ok, put, resolve, schema_scope, scope_schemas};
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build, like_matcher};

/// Object kind of secrets.
pub const SECRET: &str = "SECRET";
/// Object kind of network rules.
pub const NETWORK_RULE: &str = "NETWORK_RULE";
/// Object kind of external access integrations (account objects).
pub const EAI: &str = "EXTERNAL_ACCESS_INTEGRATION";

/// A secret, network rule or external access integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Name.
    pub name: String,
    /// Database ("" for integrations).
    pub database: String,
    /// Schema ("" for integrations).
    pub schema: String,
    /// Options, upper-case keys, values as text (lists as JSON arrays).
    pub props: BTreeMap<String, String>,
    /// Owning role.
    pub owner: String,
    /// Epoch ms.
    pub created_on: i64,
}

fn store_kind(kind: &str) -> &'static str {
    match kind {
        "SECRET" => SECRET,
        "NETWORK RULE" => NETWORK_RULE,
        _ => EAI,
    }
}

fn title(kind: &str) -> &'static str {
    match kind {
        "SECRET" => "Secret",
        "NETWORK RULE" => "Network rule",
        _ => "Integration",
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::List(items) => serde_json::to_string(&items.iter().map(text_of).collect::<Vec<_>>()).unwrap_or_default(),
        Value::Word(w) => w.to_uppercase(),
        Value::Str(s) | Value::Quoted(s) | Value::Num(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        Value::Group(_) => v.written(),
    }
}

fn validate(kind: &str, props: &BTreeMap<String, String>) -> Result<(), SfError> {
    match kind {
        "SECRET" => {
            let t = props.get("TYPE").map(String::as_str).unwrap_or("");
            match t {
                "PASSWORD" => {
                    if !props.contains_key("USERNAME") || !props.contains_key("PASSWORD") {
                        return Err(SfError::compilation("A secret of TYPE = PASSWORD needs USERNAME and PASSWORD."));
                    }
                }
                "GENERIC_STRING" => {
                    if !props.contains_key("SECRET_STRING") {
                        return Err(SfError::compilation("A secret of TYPE = GENERIC_STRING needs SECRET_STRING."));
                    }
                }
                "OAUTH2" | "SYMMETRIC_KEY" => {}
                other => return Err(SfError::invalid_value("TYPE", &format!("'{other}'"))),
            }
        }
        "NETWORK RULE" => {
            match props.get("TYPE").map(String::as_str) {
                Some("HOST_PORT" | "IPV4" | "AWSVPCEID" | "AZURELINKID" | "GCPPSCID" | "PRIVATE_HOST_PORT" | "COMPUTE_POOL") => {}
                Some(other) => return Err(SfError::invalid_value("TYPE", other)),
                None => return Err(SfError::compilation("A network rule needs TYPE.")),
            }
            match props.get("MODE").map(String::as_str) {
                None | Some("INGRESS" | "EGRESS" | "INTERNAL_STAGE" | "POSTGRES_INGRESS" | "POSTGRES_EGRESS") => {}
                Some(other) => return Err(SfError::invalid_value("MODE", other)),
            }
            if !props.contains_key("VALUE_LIST") {
                return Err(SfError::compilation("A network rule needs VALUE_LIST."));
            }
        }
        _ => {
            if !props.contains_key("ALLOWED_NETWORK_RULES") {
                return Err(SfError::compilation("An external access integration needs ALLOWED_NETWORK_RULES."));
            }
            if !props.contains_key("ENABLED") {
                return Err(SfError::compilation("An external access integration needs ENABLED."));
            }
        }
    }
    Ok(())
}

fn place(engine: &Engine, session: &Session, kind: &str, name: &[String], verb: &str) -> Result<(String, String, String, String), SfError> {
    if kind == "EXTERNAL ACCESS INTEGRATION" {
        let n = name.last().cloned().unwrap_or_default();
        return Ok((String::new(), String::new(), String::new(), n));
    }
    let catalog = engine.store().snapshot();
    let (db, schema, n) = resolve(&catalog, session, name, verb)?;
    let scope = schema_scope(&db, &schema);
    Ok((db, schema, scope, n))
}

pub(super) async fn create(engine: &Engine, session: &mut Session, kind: &'static str, name: Vec<String>, or_replace: bool, if_not_exists: bool, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    let (db, schema, scope, n) = place(engine, session, kind, &name, "CREATE")?;
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    if kind == "EXTERNAL ACCESS INTEGRATION" {
        access.require_account(&catalog, "CREATE INTEGRATION")?;
    } else {
        access.require_create_in_schema(&catalog, &db, &schema, &format!("CREATE {kind}"))?;
    }
    if catalog.object(store_kind(kind), &scope, &n).is_some() && !or_replace {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&n))));
        }
        return Err(SfError::already_exists(&display_ident(&n)));
    }
    let mut map = BTreeMap::new();
    for p in &props {
        map.insert(p.key.clone(), if p.key == "TYPE" || p.key == "MODE" { text_of(&p.value).to_uppercase() } else { text_of(&p.value) });
    }
    validate(kind, &map)?;
    let rec = Recorded { name: n.clone(), database: db, schema, props: map, owner: session.role.clone(), created_on: now() };
    commit(engine, vec![put(store_kind(kind), &scope, &n, &rec)]).await?;
    let shown = match kind {
        "SECRET" => "Secret",
        "NETWORK RULE" => "Network rule",
        _ => "Integration",
    };
    Ok(message(format!("{shown} {} successfully created.", display_ident(&n))))
}

fn securable(kind: &str, rec: &Recorded) -> Securable {
    if kind == "EXTERNAL ACCESS INTEGRATION" {
        Securable::account_object("INTEGRATION", &rec.name)
    } else {
        Securable::schema_object(store_kind(kind), &rec.database, &rec.schema, &rec.name)
    }
}

fn found(engine: &Engine, session: &Session, kind: &str, name: &[String], verb: &str) -> Result<Option<(String, Recorded)>, SfError> {
    let (_, _, scope, n) = place(engine, session, kind, name, verb)?;
    let catalog = engine.store().snapshot();
    Ok(get::<Recorded>(&catalog, store_kind(kind), &scope, &n).map(|r| (scope, r)))
}

pub(super) async fn alter(engine: &Engine, session: &mut Session, kind: &'static str, name: Vec<String>, if_exists: bool, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    let Some((scope, mut rec)) = found(engine, session, kind, &name, "ALTER")? else {
        if if_exists {
            return Ok(ok(statement_type::DDL));
        }
        return Err(SfError::kind_not_found(title(kind), &display_ident(name.last().map(String::as_str).unwrap_or(""))));
    };
    let catalog = engine.store().snapshot();
    Access::of(engine, session, &catalog).require_owner(&catalog, &securable(kind, &rec), || SfError::kind_not_found(title(kind), &display_ident(&rec.name)))?;
    for p in &props {
        rec.props.insert(p.key.clone(), text_of(&p.value));
    }
    validate(kind, &rec.props)?;
    let n = rec.name.clone();
    commit(engine, vec![put(store_kind(kind), &scope, &n, &rec)]).await?;
    Ok(ok(statement_type::DDL))
}

pub(super) async fn drop(engine: &Engine, session: &mut Session, kind: &'static str, name: Vec<String>, if_exists: bool) -> Result<QueryResult, SfError> {
    let shown = name.last().cloned().unwrap_or_default();
    let Some((scope, rec)) = found(engine, session, kind, &name, "DROP")? else {
        if if_exists {
            return Ok(crate::objects::dropped(&shown, false));
        }
        return Err(SfError::kind_not_found(title(kind), &display_ident(&shown)));
    };
    let catalog = engine.store().snapshot();
    Access::of(engine, session, &catalog).require_owner(&catalog, &securable(kind, &rec), || SfError::kind_not_found(title(kind), &display_ident(&rec.name)))?;
    commit(engine, vec![store::Op::DeleteObject { kind: store_kind(kind).into(), scope, name: rec.name.clone() }]).await?;
    Ok(crate::objects::dropped(&rec.name, true))
}

pub(super) fn describe(engine: &Engine, session: &Session, kind: &'static str, name: &[String]) -> Result<QueryResult, SfError> {
    let shown = name.last().cloned().unwrap_or_default();
    let Some((_, rec)) = found(engine, session, kind, name, "DESCRIBE")? else {
        return Err(SfError::kind_not_found(title(kind), &display_ident(&shown)));
    };
    let visible: Vec<(&String, &String)> = rec.props.iter().filter(|(k, _)| !matches!(k.as_str(), "PASSWORD" | "SECRET_STRING" | "PRIVATE_KEY" | "OAUTH_REFRESH_TOKEN")).collect();
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Text("property", visible.iter().map(|(k, _)| Some(k.to_string())).collect()),
            Col::Text("value", visible.iter().map(|(_, v)| Some(v.to_string())).collect()),
        ],
    ))
}

/// One secret of a schema, for the control plane (which injects its value into containers).
pub fn secret_value(catalog: &store::Catalog, db: &str, schema: &str, name: &str) -> Option<BTreeMap<String, String>> {
    get::<Recorded>(catalog, SECRET, &schema_scope(db, schema), name).map(|r| r.props)
}

pub(super) fn show(engine: &Engine, session: &Session, kind: &'static str, like: Option<String>, scope: ShowScope) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let matches = like_matcher(like.as_deref());
    let access = Access::of(engine, session, &catalog);
    let schemas = if kind == "EXTERNAL ACCESS INTEGRATION" { Vec::new() } else { scope_schemas(&catalog, session, &scope, "SHOW")? };
    let mut rows: Vec<Recorded> = Vec::new();
    for (s, n, _) in catalog.objects_of(store_kind(kind)) {
        let in_scope = kind == "EXTERNAL ACCESS INTEGRATION" || s.split_once('.').is_some_and(|(d, sc)| schemas.iter().any(|(a, b)| a == d && b == sc));
        if in_scope
            && matches(n)
            && let Some(r) = get::<Recorded>(&catalog, store_kind(kind), s, n)
            && access.can_see(&catalog, &securable(kind, &r))
        {
            rows.push(r);
        }
    }
    let text = |f: &dyn Fn(&Recorded) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let mut cols = vec![Col::Time("created_on", rows.iter().map(|r| Some(r.created_on)).collect()), Col::Text("name", text(&|r| Some(r.name.clone())))];
    if kind != "EXTERNAL ACCESS INTEGRATION" {
        cols.push(Col::Text("database_name", text(&|r| Some(r.database.clone()))));
        cols.push(Col::Text("schema_name", text(&|r| Some(r.schema.clone()))));
        cols.push(Col::Text("owner", text(&|r| Some(r.owner.clone()))));
        cols.push(Col::Text("comment", text(&|r| r.props.get("COMMENT").cloned())));
    }
    match kind {
        "SECRET" => cols.push(Col::Text("secret_type", text(&|r| r.props.get("TYPE").cloned()))),
        "NETWORK RULE" => {
            cols.push(Col::Text("type", text(&|r| r.props.get("TYPE").cloned())));
            cols.push(Col::Text("mode", text(&|r| Some(r.props.get("MODE").cloned().unwrap_or_else(|| "INGRESS".into())))));
            cols.push(Col::Num("entries_in_value_list", rows.iter().map(|r| Some(serde_json::from_str::<Vec<String>>(r.props.get("VALUE_LIST").map(String::as_str).unwrap_or("[]")).map(|v| v.len() as i64).unwrap_or(1))).collect()));
            cols.push(Col::Text("owner_role_type", text(&|_| Some("ROLE".into()))));
        }
        _ => {
            cols.push(Col::Text("type", text(&|_| Some("EXTERNAL_ACCESS".into()))));
            cols.push(Col::Text("category", text(&|_| Some("SECURITY".into()))));
            cols.push(Col::Text("enabled", text(&|r| r.props.get("ENABLED").map(|v| v.to_lowercase()))));
            cols.push(Col::Text("comment", text(&|r| r.props.get("COMMENT").cloned())));
        }
    }
    Ok(build(statement_type::SHOW, cols))
}
