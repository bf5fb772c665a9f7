//! Users: CREATE/ALTER/DROP/DESCRIBE/SHOW USER(S) and programmatic access tokens (ADD/REMOVE, SHOW USER
//! PROGRAMMATIC ACCESS TOKENS). Passwords are stored only as Argon2 hashes (`auth::hash_password`);
//! token secrets only as digests (`auth::new_access_token`).

use std::collections::BTreeMap;

use model::{SfError, display_ident};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use store::{Catalog, Op};

use super::privileges::{Access, Securable, kind};
use super::{GRANT, USER, UserAction, role_name, user_not_found};
use crate::engine::Engine;
use crate::objects::{Prop, Value, commit, now, put};
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build, like_matcher};

/// Days a programmatic access token lives unless DAYS_TO_EXPIRY says otherwise (Snowflake's default).
pub const DEFAULT_TOKEN_DAYS: i64 = 15;
/// The most DAYS_TO_EXPIRY may be (Snowflake's default maximum).
pub const MAX_TOKEN_DAYS: i64 = 365;
/// Unexpired tokens a user may have.
pub const MAX_TOKENS: usize = 15;

/// A user as stored (the body of a `USER` object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Argon2id hash; None: no password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// LOGIN_NAME (None: the user's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_name: Option<String>,
    /// DISPLAY_NAME.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// FIRST_NAME.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// MIDDLE_NAME.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// LAST_NAME.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// EMAIL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// MUST_CHANGE_PASSWORD.
    #[serde(default)]
    pub must_change_password: bool,
    /// DISABLED.
    #[serde(default)]
    pub disabled: bool,
    /// DAYS_TO_EXPIRY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_to_expiry: Option<i64>,
    /// MINS_TO_UNLOCK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mins_to_unlock: Option<i64>,
    /// DEFAULT_WAREHOUSE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_warehouse: Option<String>,
    /// DEFAULT_NAMESPACE (`DB` or `DB.SCHEMA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_namespace: Option<String>,
    /// DEFAULT_ROLE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
    /// DEFAULT_SECONDARY_ROLES (stored, not evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_secondary_roles: Option<Vec<String>>,
    /// MINS_TO_BYPASS_MFA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mins_to_bypass_mfa: Option<i64>,
    /// RSA_PUBLIC_KEY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsa_public_key: Option<String>,
    /// RSA_PUBLIC_KEY_2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsa_public_key_2: Option<String>,
    /// TYPE: PERSON, SERVICE, LEGACY_SERVICE (None: NULL, a person).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// COMMENT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Other properties set (policies, MFA settings, session parameters), as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// Epoch ms.
    #[serde(default)]
    pub created_on: i64,
    /// Epoch ms of the last password change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_last_set: Option<i64>,
    /// Owning role (None: ACCOUNTADMIN, for the first user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Programmatic access tokens, each exactly as `auth::new_access_token` stores it.
    #[serde(default)]
    pub access_tokens: Vec<Json>,
    /// Per token name: its COMMENT and creator (`{"comment": …, "created_by": …}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub access_token_info: BTreeMap<String, Json>,
}

impl UserRecord {
    /// The owner role.
    pub fn owner(&self) -> &str {
        self.owner.as_deref().unwrap_or("ACCOUNTADMIN")
    }

    /// The name users log in with.
    pub fn login(&self, name: &str) -> String {
        self.login_name.clone().unwrap_or_else(|| name.to_string())
    }

    /// Tokens not yet expired.
    fn live_tokens(&self, at: i64) -> impl Iterator<Item = &Json> {
        self.access_tokens.iter().filter(move |t| t.get("expires_ms").and_then(|e| e.as_i64()).unwrap_or(0) > at)
    }

    fn token(&self, name: &str) -> Option<usize> {
        self.access_tokens.iter().position(|t| t.get("name").and_then(|n| n.as_str()) == Some(name))
    }
}

/// A stored user.
pub fn get(catalog: &Catalog, name: &str) -> Option<UserRecord> {
    catalog.object(USER, "", name).and_then(|b| serde_json::from_value(b.as_ref().clone()).ok())
}

/// Every stored user, by name.
pub fn all(catalog: &Catalog) -> Vec<(String, UserRecord)> {
    catalog.objects_of(USER).filter_map(|(_, name, b)| serde_json::from_value(b.clone()).ok().map(|u| (name.to_string(), u))).collect()
}

/// The user whose login name (or, without one, name) is `login`: exact name first, then the login
/// name case-insensitively, as Snowflake compares login names.
pub fn find_login(catalog: &Catalog, login: &str) -> Option<(String, UserRecord)> {
    if let Some(u) = get(catalog, login) {
        return Some((login.to_string(), u));
    }
    all(catalog).into_iter().find(|(name, u)| u.login(name).eq_ignore_ascii_case(login))
}

fn text(p: &Prop) -> Result<Option<String>, SfError> {
    if p.value == Value::Null { Ok(None) } else { Ok(Some(p.value.as_text(&p.key)?)) }
}

/// Text as written (names: DISPLAY_NAME, EMAIL, … keep their case even unquoted).
fn literal(p: &Prop) -> Result<Option<String>, SfError> {
    match &p.value {
        Value::Null => Ok(None),
        Value::Word(w) => Ok(Some(w.clone())),
        _ => text(p),
    }
}

/// Applies CREATE/SET properties.
fn apply(u: &mut UserRecord, props: &[Prop], catalog: &Catalog, at: i64) -> Result<(), SfError> {
    for p in props {
        let key = p.key.as_str();
        match key {
            "PASSWORD" => {
                let pw = match &p.value {
                    Value::Str(s) => s.clone(),
                    other => return Err(SfError::invalid_value(key, &other.written())),
                };
                u.password_hash = Some(crate::auth::hash_password(&pw));
                u.password_last_set = Some(at);
            }
            "LOGIN_NAME" => u.login_name = literal(p)?,
            "DISPLAY_NAME" => u.display_name = literal(p)?,
            "FIRST_NAME" => u.first_name = literal(p)?,
            "MIDDLE_NAME" => u.middle_name = literal(p)?,
            "LAST_NAME" => u.last_name = literal(p)?,
            "EMAIL" => u.email = literal(p)?,
            "COMMENT" => u.comment = text(p)?,
            "MUST_CHANGE_PASSWORD" => u.must_change_password = p.value.as_bool(key)?,
            "DISABLED" => u.disabled = p.value.as_bool(key)?,
            "DAYS_TO_EXPIRY" => u.days_to_expiry = if p.value == Value::Null { None } else { Some(p.value.as_int(key, 0)?) },
            "MINS_TO_UNLOCK" => u.mins_to_unlock = if p.value == Value::Null { None } else { Some(p.value.as_int(key, 0)?) },
            "MINS_TO_BYPASS_MFA" => u.mins_to_bypass_mfa = if p.value == Value::Null { None } else { Some(p.value.as_int(key, 0)?) },
            "DEFAULT_WAREHOUSE" => u.default_warehouse = text(p)?,
            "DEFAULT_NAMESPACE" => u.default_namespace = text(p)?,
            "DEFAULT_ROLE" => {
                u.default_role = match &p.value {
                    Value::Null => None,
                    Value::Str(s) => Some(role_name(catalog, s)),
                    other => Some(other.as_text(key)?),
                }
            }
            "DEFAULT_SECONDARY_ROLES" => {
                let items = match &p.value {
                    Value::List(items) => items.clone(),
                    other => vec![other.clone()],
                };
                u.default_secondary_roles = Some(items.iter().map(|v| v.as_text(key).map(|s| s.to_uppercase())).collect::<Result<_, _>>()?);
            }
            "RSA_PUBLIC_KEY" => u.rsa_public_key = text(p)?,
            "RSA_PUBLIC_KEY_2" => u.rsa_public_key_2 = text(p)?,
            "TYPE" => {
                u.user_type = match &p.value {
                    Value::Null => None,
                    v => {
                        let t = v.as_keyword(key)?;
                        if !["PERSON", "SERVICE", "LEGACY_SERVICE", "SNOWFLAKE_SERVICE"].contains(&t.as_str()) {
                            return Err(SfError::invalid_value(key, &v.written()));
                        }
                        Some(t)
                    }
                }
            }
            _ => {
                if p.value == Value::Null {
                    u.properties.remove(key);
                } else {
                    u.properties.insert(key.to_string(), p.value.written());
                }
            }
        }
    }
    Ok(())
}

fn unset(u: &mut UserRecord, keys: &[String]) {
    for key in keys {
        match key.as_str() {
            "PASSWORD" => u.password_hash = None,
            "LOGIN_NAME" => u.login_name = None,
            "DISPLAY_NAME" => u.display_name = None,
            "FIRST_NAME" => u.first_name = None,
            "MIDDLE_NAME" => u.middle_name = None,
            "LAST_NAME" => u.last_name = None,
            "EMAIL" => u.email = None,
            "COMMENT" => u.comment = None,
            "MUST_CHANGE_PASSWORD" => u.must_change_password = false,
            "DISABLED" => u.disabled = false,
            "DAYS_TO_EXPIRY" => u.days_to_expiry = None,
            "MINS_TO_UNLOCK" => u.mins_to_unlock = None,
            "MINS_TO_BYPASS_MFA" => u.mins_to_bypass_mfa = None,
            "DEFAULT_WAREHOUSE" => u.default_warehouse = None,
            "DEFAULT_NAMESPACE" => u.default_namespace = None,
            "DEFAULT_ROLE" => u.default_role = None,
            "DEFAULT_SECONDARY_ROLES" => u.default_secondary_roles = None,
            "RSA_PUBLIC_KEY" => u.rsa_public_key = None,
            "RSA_PUBLIC_KEY_2" => u.rsa_public_key_2 = None,
            "TYPE" => u.user_type = None,
            other => {
                u.properties.remove(other);
            }
        }
    }
}

fn message(text: impl Into<String>) -> QueryResult {
    QueryResult::message(statement_type::DDL, text)
}

fn ok() -> QueryResult {
    message("Statement executed successfully.")
}

fn user_securable(name: &str) -> Securable {
    Securable::account_object(kind::USER, name)
}

/// Whether the session may see a user at all (itself, owner, MANAGE GRANTS, a privilege on it).
fn visible(access: &Access, catalog: &Catalog, session: &Session, name: &str) -> bool {
    session.user == name || access.can_see(catalog, &user_securable(name))
}

pub(super) async fn create(engine: &Engine, session: &Session, name: String, or_replace: bool, if_not_exists: bool, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    if or_replace && if_not_exists {
        return Err(SfError::compilation("OR REPLACE and IF NOT EXISTS are incompatible."));
    }
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    access.require_account(&catalog, "CREATE USER")?;
    let mut ops = Vec::new();
    if catalog.object(USER, "", &name).is_some() {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        if !or_replace {
            return Err(SfError::already_exists(&display_ident(&name)));
        }
        access.require_owner(&catalog, &user_securable(&name), || user_not_found(&name))?;
        ops.extend(grants_of_user(&access, &name));
    }
    let at = now();
    let mut user = UserRecord { created_on: at, owner: Some(session.role.clone()), ..Default::default() };
    apply(&mut user, &props, &catalog, at)?;
    ops.push(put(USER, "", &name, &user));
    commit(engine, ops).await?;
    Ok(message(format!("User {} successfully created.", display_ident(&name))))
}

/// Deletes of the stored grants to a user.
fn grants_of_user(access: &Access, name: &str) -> Vec<Op> {
    access.index.to("USER", name).filter_map(|g| g.key.clone()).map(|key| Op::DeleteObject { kind: GRANT.into(), scope: String::new(), name: key }).collect()
}

/// What a user may change on itself without owning its USER object.
const SELF_KEYS: &[&str] = &["PASSWORD", "DEFAULT_WAREHOUSE", "DEFAULT_NAMESPACE", "DEFAULT_ROLE", "DEFAULT_SECONDARY_ROLES", "DISPLAY_NAME", "FIRST_NAME", "MIDDLE_NAME", "LAST_NAME", "EMAIL"];

pub(super) async fn alter(engine: &Engine, session: &mut Session, name: Option<String>, if_exists: bool, action: UserAction) -> Result<QueryResult, SfError> {
    let name = name.unwrap_or_else(|| session.user.clone());
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let Some(mut user) = get(&catalog, &name).filter(|_| visible(&access, &catalog, session, &name)) else {
        if if_exists {
            return Ok(ok());
        }
        return Err(user_not_found(&name));
    };
    let is_self = session.user == name;
    let self_allowed = match &action {
        UserAction::AddToken { .. } | UserAction::RemoveToken { .. } | UserAction::Accepted => true,
        UserAction::Set(props) => props.iter().all(|p| SELF_KEYS.contains(&p.key.as_str()) || crate::session::PARAMS.iter().any(|d| d.name == p.key)),
        UserAction::Unset(keys) => keys.iter().all(|k| SELF_KEYS.contains(&k.as_str()) || crate::session::PARAMS.iter().any(|d| d.name == k)),
        UserAction::Rename(_) => false,
    };
    if !(is_self && self_allowed) {
        let obj = user_securable(&name);
        access.require_owner(&catalog, &obj, || if is_self { obj.insufficient(&access.account) } else { user_not_found(&name) })?;
    }
    let at = now();
    match action {
        UserAction::Set(props) => {
            apply(&mut user, &props, &catalog, at)?;
            commit(engine, vec![put(USER, "", &name, &user)]).await?;
            Ok(ok())
        }
        UserAction::Unset(keys) => {
            unset(&mut user, &keys);
            commit(engine, vec![put(USER, "", &name, &user)]).await?;
            Ok(ok())
        }
        UserAction::Accepted => Ok(ok()),
        UserAction::Rename(new_name) => {
            if catalog.object(USER, "", &new_name).is_some() {
                return Err(SfError::already_exists(&display_ident(&new_name)));
            }
            let mut ops = vec![Op::DeleteObject { kind: USER.into(), scope: String::new(), name: name.clone() }, put(USER, "", &new_name, &user)];
            // Grants to the user follow it.
            for g in access.index.to("USER", &name) {
                let Some(key) = &g.key else { continue };
                let mut record = g.record.clone();
                record.grantee = new_name.clone();
                ops.push(Op::DeleteObject { kind: GRANT.into(), scope: String::new(), name: key.clone() });
                ops.push(put(GRANT, "", &record.key(), &record));
            }
            commit(engine, ops).await?;
            if is_self {
                session.user = new_name;
            }
            Ok(ok())
        }
        UserAction::AddToken { name: token, if_not_exists, props } => add_token(engine, session, &catalog, &access, name, user, token, if_not_exists, props).await,
        UserAction::RemoveToken { name: token } => {
            let Some(pos) = user.token(&token) else {
                return Err(SfError::kind_not_found("Programmatic access token", &display_ident(&token)));
            };
            user.access_tokens.remove(pos);
            user.access_token_info.remove(&token);
            commit(engine, vec![put(USER, "", &name, &user)]).await?;
            Ok(ok())
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn add_token(
    engine: &Engine,
    session: &Session,
    catalog: &Catalog,
    access: &Access,
    user_name: String,
    mut user: UserRecord,
    token: String,
    if_not_exists: bool,
    props: Vec<Prop>,
) -> Result<QueryResult, SfError> {
    let at = now();
    let result = |secret: Option<String>| {
        build(statement_type::DDL, vec![Col::Text("token_name", vec![Some(token.clone())]), Col::Text("token_secret", vec![secret])])
    };
    if user.token(&token).is_some() {
        if if_not_exists {
            return Ok(result(None));
        }
        return Err(SfError::already_exists(&display_ident(&token)));
    }
    let mut days = DEFAULT_TOKEN_DAYS;
    let mut role = None;
    let mut comment = None;
    for p in &props {
        match p.key.as_str() {
            "DAYS_TO_EXPIRY" => {
                days = p.value.as_int(&p.key, 1)?;
                if days > MAX_TOKEN_DAYS {
                    return Err(SfError::invalid_value(&p.key, &p.value.written()));
                }
            }
            "ROLE_RESTRICTION" => {
                let r = match &p.value {
                    Value::Str(s) => role_name(catalog, s),
                    other => other.as_text(&p.key)?,
                };
                if !access.index.roles.contains_key(&r) {
                    return Err(super::role_not_found(&r));
                }
                if !access.index.user_roles(&user_name).contains(&r) {
                    return Err(SfError::new(
                        "003001",
                        "42501",
                        model::ErrorKind::PermissionDenied,
                        format!("SQL access control error: Role '{}' specified in ROLE_RESTRICTION is not granted to user '{}'.", display_ident(&r), display_ident(&user_name)),
                    ));
                }
                role = Some(r);
            }
            "COMMENT" => comment = Some(p.value.as_text(&p.key)?),
            _ => {}
        }
    }
    if role.is_none() && matches!(user.user_type.as_deref(), Some("SERVICE" | "LEGACY_SERVICE")) {
        return Err(SfError::compilation("ROLE_RESTRICTION is required for programmatic access tokens of users of TYPE = SERVICE."));
    }
    if user.live_tokens(at).count() >= MAX_TOKENS {
        return Err(SfError::compilation(format!("User {} already has the maximum number of programmatic access tokens ({MAX_TOKENS}).", display_ident(&user_name))));
    }
    // Expired tokens are dropped as new ones are added.
    user.access_tokens.retain(|t| t.get("expires_ms").and_then(|e| e.as_i64()).unwrap_or(0) > at);
    let (secret, stored) = crate::auth::new_access_token(&token, days as u64, role.as_deref(), at);
    user.access_tokens.push(stored);
    user.access_token_info.insert(token.clone(), serde_json::json!({"comment": comment, "created_by": session.user}));
    commit(engine, vec![put(USER, "", &user_name, &user)]).await?;
    Ok(result(Some(secret)))
}

pub(super) async fn drop(engine: &Engine, session: &Session, name: String, if_exists: bool) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    if get(&catalog, &name).is_none() || !visible(&access, &catalog, session, &name) {
        if if_exists {
            return Ok(message(format!("Drop statement executed successfully ({} already dropped).", display_ident(&name))));
        }
        return Err(user_not_found(&name));
    }
    access.require_owner(&catalog, &user_securable(&name), || user_not_found(&name))?;
    let mut ops = grants_of_user(&access, &name);
    ops.push(Op::DeleteObject { kind: USER.into(), scope: String::new(), name: name.clone() });
    commit(engine, ops).await?;
    Ok(message(format!("{} successfully dropped.", display_ident(&name))))
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn b(v: bool) -> Option<String> {
    s(v.to_string())
}

pub(super) fn describe(engine: &Engine, session: &Session, name: &str) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let user = get(&catalog, name).filter(|_| visible(&access, &catalog, session, name)).ok_or_else(|| user_not_found(name))?;
    if session.user != name {
        access.require_owner(&catalog, &user_securable(name), || user_not_found(name))?;
    }
    let null = || "null".to_string();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(null);
    let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_else(null);
    let has_pat = user.live_tokens(now()).next().is_some();
    let rows: Vec<(&str, String, &str, &str)> = vec![
        ("NAME", name.to_string(), "null", "Name"),
        ("COMMENT", opt(&user.comment), "null", "user comment associated to an object in the dictionary"),
        ("DISPLAY_NAME", user.display_name.clone().unwrap_or_else(|| name.to_string()), "null", "Display name of the associated object"),
        ("TYPE", opt(&user.user_type), "null", "Type of the user."),
        ("LOGIN_NAME", user.login(name), "null", "Login name of the user"),
        ("FIRST_NAME", opt(&user.first_name), "null", "First name of the user"),
        ("MIDDLE_NAME", opt(&user.middle_name), "null", "Middle name of the user"),
        ("LAST_NAME", opt(&user.last_name), "null", "Last name of the user"),
        ("EMAIL", opt(&user.email), "null", "Email address of the user"),
        ("PASSWORD", if user.password_hash.is_some() { "********".into() } else { null() }, "null", "Password of the user"),
        ("MUST_CHANGE_PASSWORD", user.must_change_password.to_string(), "false", "User must change the password"),
        ("DISABLED", user.disabled.to_string(), "false", "Whether the entity is disabled"),
        ("SNOWFLAKE_LOCK", "false".into(), "false", "Whether the user, account, or organization is locked by Snowflake"),
        ("SNOWFLAKE_SUPPORT", "false".into(), "false", "Snowflake Support is allowed to use the user or account"),
        ("DAYS_TO_EXPIRY", num(user.days_to_expiry), "null", "User record will be treated as expired after specified number of days"),
        ("MINS_TO_UNLOCK", num(user.mins_to_unlock), "null", "Temporary lock on the user will be removed after specified number of minutes"),
        ("DEFAULT_WAREHOUSE", opt(&user.default_warehouse), "null", "Default warehouse for this user"),
        ("DEFAULT_NAMESPACE", opt(&user.default_namespace), "null", "Default database namespace prefix for this user"),
        ("DEFAULT_ROLE", opt(&user.default_role), "null", "Primary principal of user session will be set to this role"),
        ("DEFAULT_SECONDARY_ROLES", secondary(&user), "[ALL]", "The secondary roles will be set to all roles provided here."),
        ("EXT_AUTHN_DUO", "false".into(), "false", "Whether Duo Security is enabled as second factor authentication"),
        ("EXT_AUTHN_UID", null(), "null", "External authentication ID of the user"),
        ("HAS_MFA", "false".into(), "false", "Whether the user is enrolled in multi-factor authentication"),
        ("HAS_PAT", has_pat.to_string(), "false", "Whether the user has a programmatic access token"),
        ("MINS_TO_BYPASS_MFA", num(user.mins_to_bypass_mfa), "null", "Temporary bypass MFA for the user for a specified number of minutes"),
        ("RSA_PUBLIC_KEY", opt(&user.rsa_public_key), "null", "RSA public key of the user"),
        ("RSA_PUBLIC_KEY_2", opt(&user.rsa_public_key_2), "null", "Second RSA public key of the user"),
        ("PASSWORD_LAST_SET_TIME", user.password_last_set.map(crate::show::format_time).unwrap_or_else(null), "null", "The timestamp on which the last non-null password was set for the user. Default to null if no password has been set yet."),
    ];
    Ok(build(
        statement_type::DESCRIBE,
        vec![
            Col::Text("property", rows.iter().map(|r| s(r.0)).collect()),
            Col::Text("value", rows.iter().map(|r| s(r.1.clone())).collect()),
            Col::Text("default", rows.iter().map(|r| s(r.2)).collect()),
            Col::Text("description", rows.iter().map(|r| s(r.3)).collect()),
        ],
    ))
}

fn secondary(u: &UserRecord) -> String {
    match &u.default_secondary_roles {
        None => "[\"ALL\"]".into(),
        Some(roles) => serde_json::to_string(roles).unwrap_or_default(),
    }
}

pub(super) fn show(engine: &Engine, session: &Session, terse: bool, like: Option<&str>, starts_with: Option<&str>, limit: Option<usize>, from: Option<&str>) -> QueryResult {
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let matches = like_matcher(like);
    let at = now();
    let rows: Vec<(String, Option<UserRecord>)> = all(&catalog)
        .into_iter()
        .filter(|(n, _)| matches(n) && starts_with.is_none_or(|p| n.starts_with(p)) && from.is_none_or(|f| n.as_str() >= f))
        .take(limit.unwrap_or(usize::MAX))
        .map(|(n, u)| {
            // Every user is listed; the other columns only for its owner and MANAGE GRANTS.
            let full = access.manage_grants || access.owns(&catalog, &user_securable(&n)) || n == session.user;
            (n, full.then_some(u))
        })
        .collect();
    let text = |f: &dyn Fn(&str, &UserRecord) -> Option<String>| rows.iter().map(|(n, u)| u.as_ref().and_then(|u| f(n, u))).collect::<Vec<_>>();
    let num = |f: &dyn Fn(&UserRecord) -> Option<i64>| rows.iter().map(|(_, u)| u.as_ref().and_then(f)).collect::<Vec<_>>();
    let name = Col::Text("name", rows.iter().map(|(n, _)| s(n)).collect());
    let created = Col::Time("created_on", num(&|u| Some(u.created_on)));
    let display = || Col::Text("display_name", text(&|n, u| Some(u.display_name.clone().unwrap_or_else(|| n.to_string()))));
    let first = || Col::Text("first_name", text(&|_, u| u.first_name.clone()));
    let last = || Col::Text("last_name", text(&|_, u| u.last_name.clone()));
    let email = || Col::Text("email", text(&|_, u| u.email.clone()));
    let comment = || Col::Text("comment", text(&|_, u| u.comment.clone()));
    let has_password = || Col::Text("has_password", text(&|_, u| b(u.password_hash.is_some())));
    let has_rsa = || Col::Text("has_rsa_public_key", text(&|_, u| b(u.rsa_public_key.is_some() || u.rsa_public_key_2.is_some())));
    let user_type = || Col::Text("type", text(&|_, u| u.user_type.clone()));
    let has_mfa = || Col::Text("has_mfa", text(&|_, _| b(false)));
    let has_pat = || Col::Text("has_pat", text(&|_, u| b(u.live_tokens(at).next().is_some())));
    if terse {
        return build(
            statement_type::SHOW,
            vec![
                name,
                created,
                display(),
                first(),
                last(),
                email(),
                Col::Text("org_identity", text(&|_, _| None)),
                comment(),
                has_password(),
                has_rsa(),
                user_type(),
                has_mfa(),
                has_pat(),
                Col::Text("has_federated_workload_authentication", text(&|_, _| b(false))),
                Col::Text("is_from_organization_user", text(&|_, _| b(false))),
            ],
        );
    }
    build(
        statement_type::SHOW,
        vec![
            name,
            created,
            Col::Text("login_name", text(&|n, u| Some(u.login(n).to_uppercase()))),
            display(),
            first(),
            last(),
            email(),
            Col::Num("mins_to_unlock", num(&|u| u.mins_to_unlock)),
            Col::Num("days_to_expiry", num(&|u| u.days_to_expiry)),
            comment(),
            Col::Text("disabled", text(&|_, u| b(u.disabled))),
            Col::Text("must_change_password", text(&|_, u| b(u.must_change_password))),
            Col::Text("snowflake_lock", text(&|_, _| b(false))),
            Col::Text("default_warehouse", text(&|_, u| u.default_warehouse.clone())),
            Col::Text("default_namespace", text(&|_, u| u.default_namespace.clone())),
            Col::Text("default_role", text(&|_, u| u.default_role.clone())),
            Col::Text("default_secondary_roles", text(&|_, u| Some(secondary(u)))),
            Col::Text("ext_authn_duo", text(&|_, _| b(false))),
            Col::Text("ext_authn_uid", text(&|_, _| None)),
            Col::Num("mins_to_bypass_mfa", num(&|u| u.mins_to_bypass_mfa)),
            Col::Text("owner", text(&|_, u| Some(u.owner().to_string()))),
            Col::Time("last_success_login", num(&|_| None)),
            Col::Time("expires_at_time", num(&|u| u.days_to_expiry.map(|d| u.created_on + d * 86_400_000))),
            Col::Time("locked_until_time", num(&|_| None)),
            has_password(),
            has_rsa(),
            user_type(),
            has_mfa(),
            has_pat(),
            Col::Text("has_workload_identity", text(&|_, _| b(false))),
            Col::Text("is_from_organization_user", text(&|_, _| b(false))),
        ],
    )
}

pub(super) fn show_tokens(engine: &Engine, session: &Session, user: Option<String>) -> Result<QueryResult, SfError> {
    let name = user.unwrap_or_else(|| session.user.clone());
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    let u = get(&catalog, &name).filter(|_| visible(&access, &catalog, session, &name)).ok_or_else(|| user_not_found(&name))?;
    if session.user != name {
        access.require_owner(&catalog, &user_securable(&name), || user_not_found(&name))?;
    }
    let at = now();
    let tokens: Vec<&Json> = u.access_tokens.iter().collect();
    let field = |t: &Json, k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let time = |t: &Json, k: &str| t.get(k).and_then(|v| v.as_i64());
    let info = |t: &Json, k: &str| field(t, "name").and_then(|n| u.access_token_info.get(&n)).and_then(|i| i.get(k)).and_then(|v| v.as_str()).map(str::to_string);
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Text("name", tokens.iter().map(|t| field(t, "name")).collect()),
            Col::Text("user_name", tokens.iter().map(|_| s(&name)).collect()),
            Col::Text("role_restriction", tokens.iter().map(|t| field(t, "role_restriction")).collect()),
            Col::Time("expires_at", tokens.iter().map(|t| time(t, "expires_ms")).collect()),
            Col::Text(
                "status",
                tokens
                    .iter()
                    .map(|t| s(if u.disabled { "DISABLED" } else if time(t, "expires_ms").unwrap_or(0) <= at { "EXPIRED" } else { "ACTIVE" }))
                    .collect(),
            ),
            Col::Text("comment", tokens.iter().map(|t| info(t, "comment")).collect()),
            Col::Time("created_on", tokens.iter().map(|t| time(t, "created_ms")).collect()),
            Col::Text("created_by", tokens.iter().map(|t| info(t, "created_by")).collect()),
            Col::Num("mins_to_bypass_required_network_policy", tokens.iter().map(|_| None).collect()),
        ],
    ))
}
