//! GRANT and REVOKE (privileges, roles, ownership; ON ALL and ON FUTURE) and SHOW GRANTS.
//!
//! Who may grant (Snowflake's rules): the object's owner, a role holding the privilege WITH GRANT
//! OPTION, or MANAGE GRANTS (SECURITYADMIN, ACCOUNTADMIN). The grantor recorded (`granted_by`) is the
//! owner when the owner or MANAGE GRANTS grants, else the role holding the grant option. Roles are
//! granted by their owner or with MANAGE GRANTS.

use model::{SfError, display_ident};
use store::{Catalog, Op};

use super::privileges::{
    Access, Facts, FutureGrantRecord, GrantRecord, Securable, all_privileges, facts, future_covered, future_grants_for, incarnation, is_system_role, kind,
    privilege_applies,
};
use super::{CurrentGrants, FUTURE_GRANT, GRANT, GrantTarget, Grantee, ShowGrants, role_not_found, user_not_found};
use crate::engine::Engine;
use crate::objects::{commit, now, put};
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build};

fn ok() -> QueryResult {
    QueryResult::message(statement_type::DDL, "Statement executed successfully.")
}

/// `Compute pool`, `Image repository`, … for "does not exist" errors.
fn title(k: &str) -> String {
    let lower = k.to_lowercase().replace('_', " ");
    let mut chars = lower.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

fn shown(parts: &[String]) -> String {
    parts.iter().map(|p| display_ident(p)).collect::<Vec<_>>().join(".")
}

/// Resolves `<kind> name` to an existing object the session can see.
fn resolve(catalog: &Catalog, session: &Session, access: &Access, k: &str, name: &[String]) -> Result<(Securable, Facts), SfError> {
    let not_found = || SfError::kind_not_found(&title(k), &shown(name));
    let obj = match k {
        kind::DATABASE => match name {
            [db] => Securable::database(db),
            _ => return Err(not_found()),
        },
        kind::SCHEMA => match name {
            [s] => Securable::schema(&session.database.clone().ok_or_else(|| SfError::no_current("database", "GRANT"))?, s),
            [db, s] => Securable::schema(db, s),
            _ => return Err(not_found()),
        },
        kind::TABLE | kind::VIEW | kind::STAGE | kind::IMAGE_REPOSITORY | kind::SERVICE | kind::FUNCTION => {
            let (db, schema, n) = crate::objects::resolve(catalog, session, name, "GRANT")?;
            let stored = if k == kind::TABLE || k == kind::VIEW {
                crate::temp::lookup(catalog, &db, &schema, &n, session.id).map(|(stored, _)| stored).unwrap_or(n)
            } else {
                n
            };
            Securable::schema_object(k, &db, &schema, &stored)
        }
        _ => match name {
            [n] => Securable::account_object(k, n),
            _ => return Err(not_found()),
        },
    };
    let f = facts(catalog, &obj).ok_or_else(not_found)?;
    if !(access.can_see(catalog, &obj) || k == kind::USER && session.user == obj.parts[0]) {
        return Err(not_found());
    }
    // A view named as a TABLE (or the reverse) is what it is.
    let obj = if (k == kind::TABLE || k == kind::VIEW) && f.kind != k { Securable { kind: f.kind.clone(), ..obj } } else { obj };
    Ok((obj, f))
}

/// The schema or database of ON ALL / ON FUTURE.
fn resolve_container(catalog: &Catalog, session: &Session, access: &Access, container_kind: &str, name: &[String]) -> Result<(Securable, Facts), SfError> {
    resolve(catalog, session, access, container_kind, name)
}

/// The existing objects of `object_kind` in a container (ON ALL).
fn objects_in(catalog: &Catalog, object_kind: &str, container: &Securable) -> Vec<Securable> {
    let schemas: Vec<(String, String)> = match container.parts.as_slice() {
        [db, schema] => vec![(db.clone(), schema.clone())],
        [db] => catalog.databases.get(db).map(|d| d.schemas.keys().map(|s| (db.clone(), s.clone())).collect()).unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (db, schema) in schemas {
        match object_kind {
            kind::SCHEMA => out.push(Securable::schema(&db, &schema)),
            kind::TABLE | kind::VIEW => {
                if let Some(s) = catalog.schema(&db, &schema) {
                    for t in s.tables.values().filter(|t| !t.info.options.contains_key(crate::temp::TEMPORARY_SESSION)) {
                        let is_view = matches!(t.def.kind, store::TableKind::View { .. });
                        if is_view == (object_kind == kind::VIEW) {
                            out.push(Securable::schema_object(object_kind, &db, &schema, &t.name));
                        }
                    }
                }
            }
            other => {
                let scope = format!("{db}.{schema}");
                for (sc, name, body) in catalog.objects_of(other) {
                    if sc == scope && body.get("temporary_session").is_none_or(|v| v.is_null()) {
                        out.push(Securable::schema_object(other, &db, &schema, name));
                    }
                }
            }
        }
    }
    out
}

/// The privileges a statement names, ALL expanded for the kind; unknown ones are refused.
fn expand(privileges: &[String], object_kind: &str) -> Result<Vec<String>, SfError> {
    let mut out = Vec::new();
    for p in privileges {
        if p == "ALL" {
            out.extend(all_privileges(object_kind).iter().map(|s| s.to_string()));
        } else if privilege_applies(object_kind, p) {
            out.push(p.clone());
        } else {
            return Err(SfError::compilation(format!("Invalid privilege {p} for object type {}.", object_kind.replace('_', " "))));
        }
    }
    out.dedup();
    Ok(out)
}

/// The grantor of `privilege` on `obj`, or 003001 if the session may not grant it.
fn grantor(access: &Access, catalog: &Catalog, obj: &Securable, f: &Facts, privilege: &str) -> Result<String, SfError> {
    let owner_or_self = || if f.owner.is_empty() { access.role.clone() } else { f.owner.clone() };
    if access.owns(catalog, obj) || access.manage_grants {
        return Ok(owner_or_self());
    }
    if let Some(g) = access.index.on(obj).find(|g| g.record.privilege == privilege && g.record.grant_option && g.record.grantee_type == "ROLE" && access.roles.contains(&g.record.grantee)) {
        return Ok(g.record.grantee.clone());
    }
    Err(obj.insufficient(&access.account))
}

fn require_role(access: &Access, name: &str) -> Result<(), SfError> {
    if access.index.roles.contains_key(name) { Ok(()) } else { Err(role_not_found(name)) }
}

/// The objects a target covers (not FUTURE), with facts.
fn targets(catalog: &Catalog, session: &Session, access: &Access, on: &GrantTarget) -> Result<Vec<(Securable, Facts)>, SfError> {
    match on {
        GrantTarget::Account => {
            let obj = Securable::account();
            let f = facts(catalog, &obj).expect("the account exists");
            Ok(vec![(obj, f)])
        }
        GrantTarget::Object { kind, name } => Ok(vec![resolve(catalog, session, access, kind, name)?]),
        GrantTarget::All { kind, container_kind, container } => {
            let (c, _) = resolve_container(catalog, session, access, container_kind, container)?;
            Ok(objects_in(catalog, kind, &c).into_iter().filter_map(|o| facts(catalog, &o).map(|f| (o, f))).collect())
        }
        GrantTarget::Future { .. } => Err(SfError::internal("future grants have no objects")),
    }
}

fn target_kind(on: &GrantTarget) -> &str {
    match on {
        GrantTarget::Account => kind::ACCOUNT,
        GrantTarget::Object { kind, .. } | GrantTarget::All { kind, .. } | GrantTarget::Future { kind, .. } => kind,
    }
}

pub(super) async fn grant(engine: &Engine, session: &Session, privileges: Vec<String>, on: GrantTarget, to: String, grant_option: bool) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    require_role(&access, &to)?;
    let at = now();
    let mut ops = Vec::new();
    if let GrantTarget::Future { kind: object_kind, container_kind, container } = &on {
        let (c, cf) = resolve_container(&catalog, session, &access, container_kind, container)?;
        if !(access.manage_grants || access.owns(&catalog, &c)) {
            return Err(c.insufficient(&access.account));
        }
        for p in expand(&privileges, object_kind)? {
            let mut record = FutureGrantRecord {
                privilege: p,
                object_kind: object_kind.clone(),
                container: c.clone(),
                incarnation: incarnation(&cf),
                grantee: to.clone(),
                grant_option,
                granted_by: access.role.clone(),
                created_on: at,
            };
            if let Some((_, old)) = access.index.future.iter().find(|(k, _)| *k == record.key()) {
                record.created_on = old.created_on;
                record.grant_option |= old.grant_option;
            }
            ops.push(put(FUTURE_GRANT, "", &record.key(), &record));
        }
        commit(engine, ops).await?;
        return Ok(ok());
    }
    let privileges = expand(&privileges, target_kind(&on))?;
    for (obj, f) in targets(&catalog, session, &access, &on)? {
        let privileges = if obj.kind == kind::VIEW && target_kind(&on) == kind::TABLE { expand(&privileges.iter().filter(|p| privilege_applies(kind::VIEW, p)).cloned().collect::<Vec<_>>(), kind::VIEW)? } else { privileges.clone() };
        for p in &privileges {
            let granted_by = grantor(&access, &catalog, &obj, &f, p)?;
            let mut record = GrantRecord {
                privilege: p.clone(),
                on: obj.clone(),
                incarnation: incarnation(&f),
                grantee_type: "ROLE".into(),
                grantee: to.clone(),
                grant_option,
                granted_by,
                created_on: at,
            };
            if let Some(old) = access.index.on(&obj).find(|g| g.key.as_deref() == Some(record.key().as_str())) {
                record.created_on = old.record.created_on;
                record.grant_option |= old.record.grant_option;
                record.granted_by = old.record.granted_by.clone();
            }
            ops.push(put(GRANT, "", &record.key(), &record));
        }
    }
    commit(engine, ops).await?;
    Ok(ok())
}

pub(super) async fn revoke(engine: &Engine, session: &Session, privileges: Vec<String>, on: GrantTarget, from: String, grant_option_only: bool) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    require_role(&access, &from)?;
    let mut ops = Vec::new();
    if let GrantTarget::Future { kind: object_kind, container_kind, container } = &on {
        let (c, _) = resolve_container(&catalog, session, &access, container_kind, container)?;
        if !(access.manage_grants || access.owns(&catalog, &c)) {
            return Err(c.insufficient(&access.account));
        }
        let privileges = expand(&privileges, object_kind)?;
        for (key, fg) in &access.index.future {
            if fg.container != c || fg.grantee != from || fg.object_kind != *object_kind || !privileges.contains(&fg.privilege) {
                continue;
            }
            if grant_option_only {
                let mut kept = fg.clone();
                kept.grant_option = false;
                ops.push(put(FUTURE_GRANT, "", key, &kept));
                continue;
            }
            // Objects created under the future grant keep their privilege, as plain grants.
            for (obj, f) in future_covered(&catalog, &access.index, fg) {
                let record = GrantRecord {
                    privilege: fg.privilege.clone(),
                    on: obj,
                    incarnation: incarnation(&f),
                    grantee_type: "ROLE".into(),
                    grantee: fg.grantee.clone(),
                    grant_option: fg.grant_option,
                    granted_by: fg.granted_by.clone(),
                    created_on: f.created_on,
                };
                if fg.privilege != "OWNERSHIP" {
                    ops.push(put(GRANT, "", &record.key(), &record));
                }
            }
            ops.push(Op::DeleteObject { kind: FUTURE_GRANT.into(), scope: String::new(), name: key.clone() });
        }
        commit(engine, ops).await?;
        return Ok(ok());
    }
    let privileges = expand(&privileges, target_kind(&on))?;
    for (obj, f) in targets(&catalog, session, &access, &on)? {
        for g in access.index.on(&obj) {
            let r = &g.record;
            if r.grantee_type != "ROLE" || r.grantee != from || !privileges.contains(&r.privilege) {
                continue;
            }
            grantor(&access, &catalog, &obj, &f, &r.privilege)?;
            let Some(key) = &g.key else {
                return Err(obj.insufficient(&access.account));
            };
            if grant_option_only {
                let mut kept = r.clone();
                kept.grant_option = false;
                ops.push(put(GRANT, "", key, &kept));
            } else {
                ops.push(Op::DeleteObject { kind: GRANT.into(), scope: String::new(), name: key.clone() });
            }
        }
    }
    commit(engine, ops).await?;
    Ok(ok())
}

/// `GRANT SERVICE ROLE svc!r TO ROLE x` (`grant`) and `REVOKE SERVICE ROLE svc!r FROM ROLE x`: USAGE on the
/// service role, granted by the service's owner or with MANAGE GRANTS. The grant lasts as long as the
/// service's incarnation (CREATE OR REPLACE ends it).
pub(super) async fn service_role(engine: &Engine, session: &Session, service: Vec<String>, role: String, grantee: String, grant: bool) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let (svc, f) = resolve(&catalog, session, &access, kind::SERVICE, &service)?;
    let obj = Securable::new(kind::SERVICE_ROLE, &[svc.parts[0].as_str(), svc.parts[1].as_str(), svc.parts[2].as_str(), role.as_str()]);
    if facts(&catalog, &obj).is_none() {
        return Err(SfError::kind_not_found("Service role", &obj.display(&access.account)));
    }
    require_role(&access, &grantee)?;
    if !(access.manage_grants || access.owns(&catalog, &svc)) {
        return Err(svc.insufficient(&access.account));
    }
    let record = GrantRecord {
        privilege: "USAGE".into(),
        on: obj,
        incarnation: incarnation(&f),
        grantee_type: "ROLE".into(),
        grantee,
        grant_option: false,
        granted_by: f.owner.clone(),
        created_on: now(),
    };
    let existing = access.index.grants.iter().find(|g| g.record.key() == record.key()).and_then(|g| g.key.clone());
    match (grant, existing) {
        (true, None) => commit(engine, vec![put(GRANT, "", &record.key(), &record)]).await?,
        (false, Some(key)) => commit(engine, vec![Op::DeleteObject { kind: GRANT.into(), scope: String::new(), name: key }]).await?,
        _ => {}
    }
    Ok(ok())
}

fn role_grant(access: &Access, catalog: &Catalog, role: &str, to: &Grantee) -> Result<GrantRecord, SfError> {
    require_role(access, role)?;
    let obj = Securable::account_object(kind::ROLE, role);
    let f = facts(catalog, &obj).ok_or_else(|| role_not_found(role))?;
    if !access.can_see(catalog, &obj) {
        return Err(role_not_found(role));
    }
    if !(access.manage_grants || access.owns(catalog, &obj)) {
        return Err(obj.insufficient(&access.account));
    }
    let (grantee_type, grantee) = match to {
        Grantee::Role(r) => {
            require_role(access, r)?;
            ("ROLE", r.clone())
        }
        Grantee::User(u) => {
            if catalog.object(super::USER, "", u).is_none() {
                return Err(user_not_found(u));
            }
            ("USER", u.clone())
        }
    };
    Ok(GrantRecord {
        privilege: "USAGE".into(),
        on: obj,
        incarnation: if is_system_role(role) { 0 } else { f.created_on },
        grantee_type: grantee_type.into(),
        grantee,
        grant_option: false,
        granted_by: if f.owner.is_empty() { access.role.clone() } else { f.owner.clone() },
        created_on: now(),
    })
}

pub(super) async fn grant_role(engine: &Engine, session: &Session, role: String, to: Grantee) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let record = role_grant(&access, &catalog, &role, &to)?;
    if role == "PUBLIC" {
        // Every role and user has PUBLIC already.
        return Ok(ok());
    }
    if let Grantee::Role(r) = &to
        && (r == &role || access.index.closure(&role).contains(r))
    {
        return Err(SfError::new(
            "003012",
            "42501",
            model::ErrorKind::InvalidArgument,
            format!("SQL execution error: Granting role '{}' to role '{}' would create a cycle in the role hierarchy.", display_ident(&role), display_ident(r)),
        ));
    }
    if access.index.grants.iter().any(|g| g.record.key() == record.key()) {
        return Ok(ok());
    }
    commit(engine, vec![put(GRANT, "", &record.key(), &record)]).await?;
    Ok(ok())
}

pub(super) async fn revoke_role(engine: &Engine, session: &Session, role: String, from: Grantee) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let record = role_grant(&access, &catalog, &role, &from)?;
    let Some(g) = access.index.grants.iter().find(|g| g.record.key() == record.key()) else { return Ok(ok()) };
    let Some(key) = &g.key else {
        // The system roles' hierarchy is built in.
        return Err(record.on.insufficient(&access.account));
    };
    commit(engine, vec![Op::DeleteObject { kind: GRANT.into(), scope: String::new(), name: key.clone() }]).await?;
    Ok(ok())
}

/// The op recording a new owner on an object.
fn set_owner(catalog: &Catalog, obj: &Securable, f: &Facts, owner: &str) -> Result<Op, SfError> {
    let owner = owner.to_string();
    Ok(match (obj.kind.as_str(), obj.parts.as_slice()) {
        (kind::DATABASE, [db]) => Op::SetOwner { db: db.clone(), schema: None, table_id: None, owner },
        (kind::SCHEMA, [db, s]) => Op::SetOwner { db: db.clone(), schema: Some(s.clone()), table_id: None, owner },
        (kind::TABLE | kind::VIEW, [db, s, _]) => Op::SetOwner { db: db.clone(), schema: Some(s.clone()), table_id: f.id, owner },
        (k, parts) => {
            let (scope, name) = match parts {
                [n] => (String::new(), n.clone()),
                [db, s, n] => (format!("{db}.{s}"), n.clone()),
                _ => return Err(SfError::unsupported(format!("GRANT OWNERSHIP ON {k}"))),
            };
            let Some(body) = catalog.object(k, &scope, &name) else { return Err(SfError::unsupported(format!("GRANT OWNERSHIP ON {k}"))) };
            let mut body = body.as_ref().clone();
            body["owner"] = serde_json::Value::String(owner);
            Op::PutObject { kind: k.to_string(), scope, name, body }
        }
    })
}

pub(super) async fn grant_ownership(engine: &Engine, session: &Session, on: GrantTarget, to: String, current: CurrentGrants) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    require_role(&access, &to)?;
    let mut ops = Vec::new();
    match &on {
        GrantTarget::Account => return Err(Securable::account().insufficient(&access.account)),
        GrantTarget::Future { kind: object_kind, container_kind, container } => {
            let (c, cf) = resolve_container(&catalog, session, &access, container_kind, container)?;
            if !(access.manage_grants || access.owns(&catalog, &c)) {
                return Err(c.insufficient(&access.account));
            }
            let record = FutureGrantRecord {
                privilege: "OWNERSHIP".into(),
                object_kind: object_kind.clone(),
                container: c,
                incarnation: incarnation(&cf),
                grantee: to,
                grant_option: false,
                granted_by: access.role.clone(),
                created_on: now(),
            };
            ops.push(put(FUTURE_GRANT, "", &record.key(), &record));
        }
        _ => {
            for (obj, f) in targets(&catalog, session, &access, &on)? {
                if obj.kind == kind::ROLE && is_system_role(&obj.parts[0]) {
                    return Err(obj.insufficient(&access.account));
                }
                if !(access.manage_grants || access.owns(&catalog, &obj)) {
                    return Err(obj.insufficient(&access.account));
                }
                ops.push(set_owner(&catalog, &obj, &f, &to)?);
                for g in access.index.on(&obj) {
                    let Some(key) = &g.key else { continue };
                    match current {
                        CurrentGrants::Revoke => ops.push(Op::DeleteObject { kind: GRANT.into(), scope: String::new(), name: key.clone() }),
                        // The grants stay; the new owner becomes their grantor.
                        CurrentGrants::Copy | CurrentGrants::Unspecified if g.record.granted_by == f.owner => {
                            let mut kept = g.record.clone();
                            kept.granted_by = to.clone();
                            ops.push(put(GRANT, "", key, &kept));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    commit(engine, ops).await?;
    Ok(ok())
}

/// One row of SHOW GRANTS.
struct Row {
    created_on: i64,
    privilege: String,
    granted_on: String,
    name: String,
    granted_to: String,
    grantee: String,
    grant_option: bool,
    granted_by: String,
}

fn row(account: &str, r: &GrantRecord) -> Row {
    Row {
        created_on: r.created_on,
        privilege: r.privilege.clone(),
        granted_on: r.on.kind.clone(),
        name: r.on.display(account),
        granted_to: r.grantee_type.clone(),
        grantee: r.grantee.clone(),
        grant_option: r.grant_option,
        granted_by: r.granted_by.clone(),
    }
}

fn ownership_row(account: &str, obj: &Securable, f: &Facts) -> Row {
    Row {
        created_on: f.created_on,
        privilege: "OWNERSHIP".into(),
        granted_on: obj.kind.clone(),
        name: obj.display(account),
        granted_to: "ROLE".into(),
        grantee: f.owner.clone(),
        grant_option: true,
        granted_by: f.owner.clone(),
    }
}

/// Every object a role owns, with facts.
fn owned_by(catalog: &Catalog, role: &str) -> Vec<(Securable, Facts)> {
    let mut out = Vec::new();
    for d in catalog.databases.values() {
        let objs = std::iter::once(Securable::database(&d.name)).chain(d.schemas.values().flat_map(|s| {
            std::iter::once(Securable::schema(&d.name, &s.name)).chain(
                s.tables.values().filter(|t| !t.info.options.contains_key(crate::temp::TEMPORARY_SESSION)).map(|t| Securable::schema_object(kind::TABLE, &d.name, &s.name, &t.name)),
            )
        }));
        for obj in objs {
            if let Some(f) = facts(catalog, &obj).filter(|f| f.owner == role) {
                let obj = Securable { kind: f.kind.clone(), ..obj };
                out.push((obj, f));
            }
        }
    }
    for k in [kind::WAREHOUSE, kind::COMPUTE_POOL, kind::STAGE, kind::IMAGE_REPOSITORY, kind::ROLE, kind::USER, kind::SERVICE, kind::INTEGRATION, kind::FUNCTION] {
        for (scope, name, body) in catalog.objects_of(k) {
            if body.get("temporary_session").is_some_and(|v| !v.is_null()) {
                continue;
            }
            let obj = match scope.split_once('.') {
                Some((db, s)) => Securable::schema_object(k, db, s, name),
                None => Securable::account_object(k, name),
            };
            if let Some(f) = facts(catalog, &obj).filter(|f| f.owner == role) {
                out.push((obj, f));
            }
        }
    }
    out
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn grant_columns(rows: &[Row], with_role_type: bool) -> Vec<Col> {
    let mut cols = vec![
        Col::Time("created_on", rows.iter().map(|r| Some(r.created_on)).collect()),
        Col::Text("privilege", rows.iter().map(|r| s(&r.privilege)).collect()),
        Col::Text("granted_on", rows.iter().map(|r| s(&r.granted_on)).collect()),
        Col::Text("name", rows.iter().map(|r| s(&r.name)).collect()),
        Col::Text("granted_to", rows.iter().map(|r| s(&r.granted_to)).collect()),
        Col::Text("grantee_name", rows.iter().map(|r| s(&r.grantee)).collect()),
        Col::Text("grant_option", rows.iter().map(|r| s(r.grant_option.to_string())).collect()),
        Col::Text("granted_by", rows.iter().map(|r| s(&r.granted_by)).collect()),
    ];
    if with_role_type {
        cols.push(Col::Text("granted_by_role_type", rows.iter().map(|r| s(if r.granted_by.is_empty() { "" } else { "ROLE" })).collect()));
    }
    cols
}

/// Sorts rows and drops repeats (a privilege both granted and covered by a future grant).
fn sort(rows: &mut Vec<Row>) {
    rows.sort_by(|a, b| (&a.granted_on, &a.name, &a.privilege, &a.granted_to, &a.grantee).cmp(&(&b.granted_on, &b.name, &b.privilege, &b.granted_to, &b.grantee)));
    rows.dedup_by(|a, b| (&a.granted_on, &a.name, &a.privilege, &a.granted_to, &a.grantee) == (&b.granted_on, &b.name, &b.privilege, &b.granted_to, &b.grantee));
}

/// Grants derived from future grants for the objects they cover.
fn derived(catalog: &Catalog, access: &Access, account: &str, keep: impl Fn(&FutureGrantRecord, &Securable) -> bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for (_, fg) in &access.index.future {
        if fg.privilege == "OWNERSHIP" {
            continue;
        }
        for (obj, f) in future_covered(catalog, &access.index, fg) {
            if keep(fg, &obj) {
                rows.push(Row {
                    created_on: f.created_on,
                    privilege: fg.privilege.clone(),
                    granted_on: obj.kind.clone(),
                    name: obj.display(account),
                    granted_to: "ROLE".into(),
                    grantee: fg.grantee.clone(),
                    grant_option: fg.grant_option,
                    granted_by: fg.granted_by.clone(),
                });
            }
        }
    }
    rows
}

fn check_role_visible(catalog: &Catalog, access: &Access, role: &str) -> Result<(), SfError> {
    if access.index.roles.contains_key(role) && access.can_see(catalog, &Securable::account_object(kind::ROLE, role)) {
        Ok(())
    } else {
        Err(role_not_found(role))
    }
}

pub(super) fn show(engine: &Engine, session: &Session, what: ShowGrants) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let account = engine.config().account.clone();
    match what {
        ShowGrants::ToRole(role) => {
            check_role_visible(&catalog, &access, &role)?;
            let mut rows: Vec<Row> = access.index.to("ROLE", &role).map(|g| row(&account, &g.record)).collect();
            rows.extend(owned_by(&catalog, &role).iter().map(|(o, f)| ownership_row(&account, o, f)));
            rows.extend(derived(&catalog, &access, &account, |fg, _| fg.grantee == role));
            sort(&mut rows);
            Ok(build(statement_type::SHOW, grant_columns(&rows, false)))
        }
        ShowGrants::ToUser(user) => {
            let user = user.unwrap_or_else(|| session.user.clone());
            let visible = user == session.user || access.manage_grants || access.owns(&catalog, &Securable::account_object(kind::USER, &user));
            if catalog.object(super::USER, "", &user).is_none() || !visible {
                return Err(user_not_found(&user));
            }
            let mut grants: Vec<&GrantRecord> = access.index.to("USER", &user).map(|g| &g.record).collect();
            grants.sort_by(|a, b| a.on.parts.cmp(&b.on.parts));
            let role = |r: &GrantRecord| if r.on.kind == kind::ROLE { s(&r.on.parts[0]) } else { None };
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Time("created_on", grants.iter().map(|r| Some(r.created_on)).collect()),
                    Col::Text("privilege", grants.iter().map(|r| s(&r.privilege)).collect()),
                    Col::Text("granted_on", grants.iter().map(|r| s(&r.on.kind)).collect()),
                    Col::Text("name", grants.iter().map(|r| s(r.on.display(&account))).collect()),
                    Col::Text("role", grants.iter().map(|r| role(r)).collect()),
                    Col::Text("granted_to", grants.iter().map(|_| s("USER")).collect()),
                    Col::Text("grantee_name", grants.iter().map(|r| s(&r.grantee)).collect()),
                    Col::Text("grant_option", grants.iter().map(|r| s(r.grant_option.to_string())).collect()),
                    Col::Text("granted_by", grants.iter().map(|r| s(&r.granted_by)).collect()),
                ],
            ))
        }
        ShowGrants::OfRole(role) => {
            check_role_visible(&catalog, &access, &role)?;
            let mut grants: Vec<&GrantRecord> = access.index.on(&Securable::account_object(kind::ROLE, &role)).map(|g| &g.record).collect();
            grants.sort_by(|a, b| (&a.grantee_type, &a.grantee).cmp(&(&b.grantee_type, &b.grantee)));
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Time("created_on", grants.iter().map(|r| Some(r.created_on)).collect()),
                    Col::Text("role", grants.iter().map(|_| s(&role)).collect()),
                    Col::Text("granted_to", grants.iter().map(|r| s(&r.grantee_type)).collect()),
                    Col::Text("grantee_name", grants.iter().map(|r| s(&r.grantee)).collect()),
                    Col::Text("granted_by", grants.iter().map(|r| s(&r.granted_by)).collect()),
                ],
            ))
        }
        ShowGrants::On(target) => {
            let (obj, f) = match &target {
                GrantTarget::Account => {
                    let obj = Securable::account();
                    let f = facts(&catalog, &obj).expect("the account exists");
                    (obj, f)
                }
                GrantTarget::Object { kind, name } => resolve(&catalog, session, &access, kind, name)?,
                _ => return Err(SfError::unsupported("SHOW GRANTS ON ALL or FUTURE objects")),
            };
            let mut rows: Vec<Row> = access
                .index
                .on(&obj)
                .filter(|g| obj.kind != kind::ACCOUNT || access.manage_grants || access.roles.contains(&g.record.grantee))
                .map(|g| row(&account, &g.record))
                .collect();
            if !f.owner.is_empty() {
                rows.push(ownership_row(&account, &obj, &f));
            }
            if let Some((db, schema)) = match obj.parts.as_slice() {
                [db, schema, _] => Some((db.clone(), schema.clone())),
                _ => None,
            } {
                for fg in future_grants_for(&access.index, &obj.kind, &db, &schema) {
                    if fg.privilege != "OWNERSHIP" && f.created_on >= fg.created_on {
                        rows.push(Row {
                            created_on: f.created_on,
                            privilege: fg.privilege.clone(),
                            granted_on: obj.kind.clone(),
                            name: obj.display(&account),
                            granted_to: "ROLE".into(),
                            grantee: fg.grantee.clone(),
                            grant_option: fg.grant_option,
                            granted_by: fg.granted_by.clone(),
                        });
                    }
                }
            }
            sort(&mut rows);
            Ok(build(statement_type::SHOW, grant_columns(&rows, obj.kind != kind::ACCOUNT)))
        }
        ShowGrants::FutureIn { container_kind, container } => {
            let (c, _) = resolve_container(&catalog, session, &access, &container_kind, &container)?;
            let futures: Vec<&FutureGrantRecord> = access.index.future.iter().map(|(_, f)| f).filter(|f| f.container == c).collect();
            Ok(future_rows(&account, futures))
        }
        ShowGrants::FutureTo(role) => {
            check_role_visible(&catalog, &access, &role)?;
            let futures: Vec<&FutureGrantRecord> = access.index.future.iter().map(|(_, f)| f).filter(|f| f.grantee == role).collect();
            Ok(future_rows(&account, futures))
        }
    }
}

fn future_rows(account: &str, mut futures: Vec<&FutureGrantRecord>) -> QueryResult {
    futures.sort_by(|a, b| (&a.container, &a.object_kind, &a.privilege, &a.grantee).cmp(&(&b.container, &b.object_kind, &b.privilege, &b.grantee)));
    let name = |f: &FutureGrantRecord| format!("{}.<{}>", f.container.display(account), f.object_kind);
    build(
        statement_type::SHOW,
        vec![
            Col::Time("created_on", futures.iter().map(|f| Some(f.created_on)).collect()),
            Col::Text("privilege", futures.iter().map(|f| s(&f.privilege)).collect()),
            Col::Text("grant_on", futures.iter().map(|f| s(&f.object_kind)).collect()),
            Col::Text("name", futures.iter().map(|f| s(name(f))).collect()),
            Col::Text("grant_to", futures.iter().map(|_| s("ROLE")).collect()),
            Col::Text("grantee_name", futures.iter().map(|f| s(&f.grantee)).collect()),
            Col::Text("grant_option", futures.iter().map(|f| s(f.grant_option.to_string())).collect()),
        ],
    )
}
