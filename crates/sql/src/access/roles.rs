//! Account roles: CREATE/ALTER/DROP/SHOW ROLE(S) and USE ROLE. The system roles (ACCOUNTADMIN,
//! SECURITYADMIN, USERADMIN, SYSADMIN, PUBLIC) are built in with Snowflake's hierarchy and cannot be
//! dropped or renamed.

use model::{SfError, display_ident};
use store::{Catalog, Op};

use super::privileges::{Access, FutureGrantRecord, GrantRecord, RoleRecord, Securable, is_system_role, kind};
use super::{FUTURE_GRANT, GRANT, ROLE, RoleAction, role_not_found};
use crate::engine::Engine;
use crate::objects::{commit, now, put};
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build, like_matcher};

fn message(text: impl Into<String>) -> QueryResult {
    QueryResult::message(statement_type::DDL, text)
}

fn role_securable(name: &str) -> Securable {
    Securable::account_object(kind::ROLE, name)
}

/// USE ROLE: the role must exist and be granted to the session's user (directly or through another
/// role); otherwise Snowflake's 002043.
pub fn use_role(engine: &Engine, session: &mut Session, role: &str) -> Result<(), SfError> {
    let catalog = engine.store().snapshot();
    let index = super::privileges::index(engine, &catalog);
    let stored_user = catalog.object(super::USER, "", &session.user).is_some();
    let allowed = index.roles.contains_key(role) && (!stored_user || index.user_roles(&session.user).contains(role));
    if !allowed {
        return Err(SfError::object_does_not_exist_or_cannot_be_performed());
    }
    session.role = role.to_string();
    Ok(())
}

/// Ops deleting every stored grant to or of a role, and its future grants.
fn grants_of_role(access: &Access, name: &str) -> Vec<Op> {
    let mut keys: Vec<String> = access.index.to("ROLE", name).filter_map(|g| g.key.clone()).collect();
    keys.extend(access.index.on(&role_securable(name)).filter_map(|g| g.key.clone()));
    keys.sort();
    keys.dedup();
    let mut ops: Vec<Op> = keys.into_iter().map(|name| Op::DeleteObject { kind: GRANT.into(), scope: String::new(), name }).collect();
    for (key, fg) in &access.index.future {
        if fg.grantee == name {
            ops.push(Op::DeleteObject { kind: FUTURE_GRANT.into(), scope: String::new(), name: key.clone() });
        }
    }
    ops
}

/// Ops moving everything `from` owns to `to` (databases, schemas, tables, and every object body with an
/// `owner`).
pub fn transfer_owned(catalog: &Catalog, from: &str, to: &str) -> Vec<Op> {
    let mut ops = Vec::new();
    for d in catalog.databases.values() {
        if d.info.owner == from {
            ops.push(Op::SetOwner { db: d.name.clone(), schema: None, table_id: None, owner: to.to_string() });
        }
        for s in d.schemas.values() {
            if s.info.owner == from {
                ops.push(Op::SetOwner { db: d.name.clone(), schema: Some(s.name.clone()), table_id: None, owner: to.to_string() });
            }
            for t in s.tables.values() {
                if t.info.owner == from {
                    ops.push(Op::SetOwner { db: d.name.clone(), schema: Some(s.name.clone()), table_id: Some(t.id), owner: to.to_string() });
                }
            }
        }
    }
    for ((k, scope, name), body) in &catalog.objects {
        if k == GRANT || k == FUTURE_GRANT {
            continue;
        }
        if body.get("owner").and_then(|o| o.as_str()) == Some(from) {
            let mut body = body.as_ref().clone();
            body["owner"] = serde_json::Value::String(to.to_string());
            ops.push(Op::PutObject { kind: k.clone(), scope: scope.clone(), name: name.clone(), body });
        }
    }
    ops
}

pub(super) async fn create(engine: &Engine, session: &Session, name: String, or_replace: bool, if_not_exists: bool, comment: Option<String>) -> Result<QueryResult, SfError> {
    if or_replace && if_not_exists {
        return Err(SfError::compilation("OR REPLACE and IF NOT EXISTS are incompatible."));
    }
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    access.require_account(&catalog, "CREATE ROLE")?;
    let mut ops = Vec::new();
    if access.index.roles.contains_key(&name) {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        if !or_replace {
            return Err(SfError::already_exists(&display_ident(&name)));
        }
        if is_system_role(&name) {
            return Err(role_securable(&name).insufficient(&access.account));
        }
        access.require_owner(&catalog, &role_securable(&name), || role_not_found(&name))?;
        ops.extend(grants_of_role(&access, &name));
    }
    let role = RoleRecord { name: name.clone(), owner: session.role.clone(), comment, created_on: now() };
    ops.push(put(ROLE, "", &name, &role));
    commit(engine, ops).await?;
    Ok(message(format!("Role {} successfully created.", display_ident(&name))))
}

pub(super) async fn drop(engine: &Engine, session: &Session, name: String, if_exists: bool) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    if !access.index.roles.contains_key(&name) || !access.can_see(&catalog, &role_securable(&name)) {
        if if_exists {
            return Ok(message(format!("Drop statement executed successfully ({} already dropped).", display_ident(&name))));
        }
        return Err(role_not_found(&name));
    }
    if is_system_role(&name) {
        return Err(role_securable(&name).insufficient(&access.account));
    }
    access.require_owner(&catalog, &role_securable(&name), || role_not_found(&name))?;
    // What the role owned goes to the role dropping it, as in Snowflake.
    let mut ops = transfer_owned(&catalog, &name, &access.role);
    ops.extend(grants_of_role(&access, &name));
    ops.push(Op::DeleteObject { kind: ROLE.into(), scope: String::new(), name: name.clone() });
    commit(engine, ops).await?;
    Ok(message(format!("{} successfully dropped.", display_ident(&name))))
}

pub(super) async fn alter(engine: &Engine, session: &mut Session, name: String, if_exists: bool, action: RoleAction) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let Some(mut role) = access.index.roles.get(&name).cloned().filter(|_| access.can_see(&catalog, &role_securable(&name))) else {
        if if_exists {
            return Ok(message("Statement executed successfully."));
        }
        return Err(role_not_found(&name));
    };
    if is_system_role(&name) {
        return Err(role_securable(&name).insufficient(&access.account));
    }
    access.require_owner(&catalog, &role_securable(&name), || role_not_found(&name))?;
    let ops = match action {
        RoleAction::SetComment(c) => {
            role.comment = Some(c);
            vec![put(ROLE, "", &name, &role)]
        }
        RoleAction::UnsetComment => {
            role.comment = None;
            vec![put(ROLE, "", &name, &role)]
        }
        RoleAction::Rename(new_name) => {
            if access.index.roles.contains_key(&new_name) {
                return Err(SfError::already_exists(&display_ident(&new_name)));
            }
            let mut ops = transfer_owned(&catalog, &name, &new_name);
            ops.push(Op::DeleteObject { kind: ROLE.into(), scope: String::new(), name: name.clone() });
            role.name = new_name.clone();
            ops.push(put(ROLE, "", &new_name, &role));
            // Grants to and of the role, and grants it made, follow the new name.
            let mut seen = std::collections::HashSet::new();
            for g in access.index.grants.iter() {
                let r = &g.record;
                let involved = (r.grantee_type == "ROLE" && r.grantee == name) || r.on == role_securable(&name) || r.granted_by == name;
                let Some(key) = g.key.clone().filter(|_| involved) else { continue };
                if !seen.insert(key.clone()) {
                    continue;
                }
                let mut moved: GrantRecord = r.clone();
                if moved.grantee_type == "ROLE" && moved.grantee == name {
                    moved.grantee = new_name.clone();
                }
                if moved.on == role_securable(&name) {
                    moved.on = role_securable(&new_name);
                }
                if moved.granted_by == name {
                    moved.granted_by = new_name.clone();
                }
                ops.push(Op::DeleteObject { kind: GRANT.into(), scope: String::new(), name: key });
                ops.push(put(GRANT, "", &moved.key(), &moved));
            }
            for (key, fg) in &access.index.future {
                if fg.grantee == name || fg.granted_by == name {
                    let mut moved: FutureGrantRecord = fg.clone();
                    if moved.grantee == name {
                        moved.grantee = new_name.clone();
                    }
                    if moved.granted_by == name {
                        moved.granted_by = new_name.clone();
                    }
                    ops.push(Op::DeleteObject { kind: FUTURE_GRANT.into(), scope: String::new(), name: key.clone() });
                    ops.push(put(FUTURE_GRANT, "", &moved.key(), &moved));
                }
            }
            if session.role == name {
                session.role = new_name;
            }
            ops
        }
    };
    commit(engine, ops).await?;
    Ok(message("Statement executed successfully."))
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn yn(b: bool) -> Option<String> {
    s(if b { "Y" } else { "N" })
}

pub(super) fn show(engine: &Engine, session: &Session, like: Option<&str>, starts_with: Option<&str>, limit: Option<usize>, from: Option<&str>) -> QueryResult {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let matches = like_matcher(like);
    let default_role = super::users::get(&catalog, &session.user).and_then(|u| u.default_role);
    let ix = &access.index;
    let rows: Vec<&RoleRecord> = ix
        .roles
        .values()
        .filter(|r| matches(&r.name) && starts_with.is_none_or(|p| r.name.starts_with(p)) && from.is_none_or(|f| r.name.as_str() >= f))
        .filter(|r| access.can_see(&catalog, &role_securable(&r.name)))
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    let count_of = |r: &RoleRecord, grantee_type: &str| ix.on(&role_securable(&r.name)).filter(|g| g.record.grantee_type == grantee_type).count() as i64;
    build(
        statement_type::SHOW,
        vec![
            Col::Time("created_on", rows.iter().map(|r| Some(r.created_on)).collect()),
            Col::Text("name", rows.iter().map(|r| s(&r.name)).collect()),
            Col::Text("is_default", rows.iter().map(|r| yn(default_role.as_deref() == Some(r.name.as_str()))).collect()),
            Col::Text("is_current", rows.iter().map(|r| yn(r.name == access.role)).collect()),
            Col::Text("is_inherited", rows.iter().map(|r| yn(r.name != access.role && access.roles.contains(&r.name))).collect()),
            Col::Num("assigned_to_users", rows.iter().map(|r| Some(count_of(r, "USER"))).collect()),
            Col::Num("granted_to_roles", rows.iter().map(|r| Some(count_of(r, "ROLE"))).collect()),
            Col::Num("granted_roles", rows.iter().map(|r| Some(ix.granted_roles("ROLE", &r.name).len() as i64)).collect()),
            Col::Text("owner", rows.iter().map(|r| s(&r.owner)).collect()),
            Col::Text("comment", rows.iter().map(|r| s(r.comment.clone().unwrap_or_default())).collect()),
            Col::Text("owner_role_type", rows.iter().map(|r| s(if r.owner.is_empty() { "" } else { "ROLE" })).collect()),
        ],
    )
}
