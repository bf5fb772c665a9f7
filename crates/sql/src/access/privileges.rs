//! Privilege evaluation: the one place that decides whether the session's current role may do
//! something (`Access::require`, `Access::has`, `Access::can_see`).
//!
//! What is stored (generic objects, see `access`): roles (`ROLE`), grants (`GRANT`: a privilege on a
//! securable to a role or user; granting a role is USAGE on that ROLE), future grants (`FUTURE_GRANT`).
//! Owners are not grants: every object records its owner role (`ObjectInfo.owner`, `owner` in object
//! bodies), and ownership gives every privilege on the object.
//!
//! An `Index` of roles and grants is built once per catalog `ddl_version` (grants only change with DDL)
//! and shared by every statement reading that version. A grant names its object by kind and name plus
//! the object's incarnation (its `created_on`, or a table's id): when the object is dropped or replaced
//! the grant no longer matches anything and is ignored (and never shown), so no DROP has to know about
//! grants. Future grants are applied at check time: an object of the granted kind created in the
//! container after the future grant holds the privilege (schema-level future grants of a kind hide the
//! database-level ones, as in Snowflake).
//!
//! Rules: ACCOUNTADMIN (and any role inheriting it) passes every check; the owner role has every
//! privilege on what it owns; SECURITYADMIN holds MANAGE GRANTS (sees everything, grants anything);
//! a role's privileges include those of every role granted to it, and every role inherits PUBLIC. A
//! session whose role is not granted to its (stored) user evaluates as PUBLIC only.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, BooleanArray, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use model::{SfError, display_ident};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use store::Catalog;

use super::{FUTURE_GRANT, GRANT, ROLE, USER};
use crate::engine::Engine;
use crate::result::QueryResult;
use crate::session::Session;

/// Securable kinds, as SHOW GRANTS names them in `granted_on`.
pub mod kind {
    /// The account.
    pub const ACCOUNT: &str = "ACCOUNT";
    /// Databases.
    pub const DATABASE: &str = "DATABASE";
    /// Schemas.
    pub const SCHEMA: &str = "SCHEMA";
    /// Tables.
    pub const TABLE: &str = "TABLE";
    /// Views.
    pub const VIEW: &str = "VIEW";
    /// Warehouses.
    pub const WAREHOUSE: &str = "WAREHOUSE";
    /// Compute pools.
    pub const COMPUTE_POOL: &str = "COMPUTE_POOL";
    /// Stages.
    pub const STAGE: &str = "STAGE";
    /// Image repositories.
    pub const IMAGE_REPOSITORY: &str = "IMAGE_REPOSITORY";
    /// Account roles.
    pub const ROLE: &str = "ROLE";
    /// Users.
    pub const USER: &str = "USER";
    /// Integrations.
    pub const INTEGRATION: &str = "INTEGRATION";
    /// Services.
    pub const SERVICE: &str = "SERVICE";
    /// Functions.
    pub const FUNCTION: &str = "FUNCTION";
    /// A service's roles (`svc!ALL_ENDPOINTS_USAGE`, the spec's `serviceRoles`), named
    /// `[db, schema, service, role]`; granting one is USAGE on it.
    pub const SERVICE_ROLE: &str = "SERVICE_ROLE";
}

/// The system roles every account has, with Snowflake's comments.
pub const SYSTEM_ROLES: &[(&str, &str)] = &[
    ("ACCOUNTADMIN", "Account administrator can manage all aspects of the account."),
    ("PUBLIC", "Public role is automatically available to every user in the account."),
    ("SECURITYADMIN", "Security administrator can manage security aspects of the account."),
    ("SYSADMIN", "System administrator can create and manage databases and warehouses."),
    ("USERADMIN", "User administrator can create and manage users and roles"),
];

/// The built-in hierarchy (role granted, to role) and account privileges of the system roles. These
/// grants are not stored and cannot be revoked.
const SYSTEM_ROLE_GRANTS: &[(&str, &str)] = &[("SYSADMIN", "ACCOUNTADMIN"), ("SECURITYADMIN", "ACCOUNTADMIN"), ("USERADMIN", "SECURITYADMIN")];
const SYSTEM_ACCOUNT_PRIVILEGES: &[(&str, &str)] = &[
    ("CREATE DATABASE", "SYSADMIN"),
    ("CREATE WAREHOUSE", "SYSADMIN"),
    ("CREATE ROLE", "USERADMIN"),
    ("CREATE USER", "USERADMIN"),
    ("MANAGE GRANTS", "SECURITYADMIN"),
];

/// True for a system role's name.
pub fn is_system_role(name: &str) -> bool {
    SYSTEM_ROLES.iter().any(|(r, _)| *r == name)
}

/// Something privileges are granted on: a kind (`kind::*`) and its name parts (empty for the account;
/// `[db]`, `[db, schema]` or `[db, schema, name]` otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Securable {
    /// `kind::*`.
    pub kind: String,
    /// Name parts as stored (unquoted names upper-case).
    pub parts: Vec<String>,
}

impl Securable {
    /// A securable of `kind` named by `parts`.
    pub fn new(kind: &str, parts: &[&str]) -> Securable {
        Securable { kind: kind.to_string(), parts: parts.iter().map(|p| p.to_string()).collect() }
    }

    /// The account.
    pub fn account() -> Securable {
        Securable::new(kind::ACCOUNT, &[])
    }

    /// A database.
    pub fn database(db: &str) -> Securable {
        Securable::new(kind::DATABASE, &[db])
    }

    /// A schema.
    pub fn schema(db: &str, schema: &str) -> Securable {
        Securable::new(kind::SCHEMA, &[db, schema])
    }

    /// An account object (warehouse, compute pool, role, user, integration).
    pub fn account_object(kind: &str, name: &str) -> Securable {
        Securable::new(kind, &[name])
    }

    /// A schema object (table, view, stage, image repository, service, function).
    pub fn schema_object(kind: &str, db: &str, schema: &str, name: &str) -> Securable {
        Securable::new(kind, &[db, schema, name])
    }

    /// The name SHOW GRANTS prints: dotted parts (quoted where needed), the account's name for ACCOUNT.
    pub fn display(&self, account: &str) -> String {
        if self.kind == kind::ACCOUNT {
            return account.to_uppercase();
        }
        if let (kind::SERVICE_ROLE, [db, schema, service, role]) = (self.kind.as_str(), self.parts.as_slice()) {
            return format!("{}.{}.{}!{}", display_ident(db), display_ident(schema), display_ident(service), display_ident(role));
        }
        self.parts.iter().map(|p| display_ident(crate::temp::shown(p))).collect::<Vec<_>>().join(".")
    }

    /// The kind as 003001's message words it (`compute pool`).
    pub fn error_kind(&self) -> String {
        self.kind.to_lowercase().replace('_', " ")
    }

    /// Snowflake's 003001 for this securable: `… Insufficient privileges to operate on schema 'S'.`
    pub fn insufficient(&self, account: &str) -> SfError {
        let name = if self.kind == kind::ACCOUNT { account.to_uppercase() } else { crate::temp::shown(self.parts.last().map(String::as_str).unwrap_or_default()).to_string() };
        SfError::insufficient_privileges(&format!("{} '{}'", self.error_kind(), name))
    }

    /// The database and schema a schema object lives in.
    fn container(&self) -> Option<(&str, &str)> {
        match self.parts.as_slice() {
            [db, schema, _] => Some((db, schema)),
            _ => None,
        }
    }
}

/// What privilege checks need to know about an existing object.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The owner role ("" for system roles).
    pub owner: String,
    /// Epoch ms.
    pub created_on: i64,
    /// A table's or view's id.
    pub id: Option<u64>,
    /// For TABLE/VIEW lookups: which one it is.
    pub kind: String,
}

/// Looks an object up in the catalog. Schema objects other than tables and views, and account objects,
/// are generic objects whose kind is the securable kind (`STAGE`, `COMPUTE_POOL`, …) with `owner` and
/// `created_on` in their body.
pub fn facts(catalog: &Catalog, obj: &Securable) -> Option<Facts> {
    let from_info = |info: &store::ObjectInfo, kind: &str, id: Option<u64>| Facts { owner: info.owner.clone(), created_on: info.created_on, id, kind: kind.to_string() };
    match (obj.kind.as_str(), obj.parts.as_slice()) {
        (kind::ACCOUNT, _) => Some(Facts { owner: String::new(), created_on: 0, id: None, kind: kind::ACCOUNT.into() }),
        (kind::DATABASE, [db]) => catalog.databases.get(db).map(|d| from_info(&d.info, kind::DATABASE, None)),
        (kind::SCHEMA, [db, schema]) => catalog.schema(db, schema).map(|s| from_info(&s.info, kind::SCHEMA, None)),
        (kind::TABLE | kind::VIEW, [db, schema, name]) => catalog.table(db, schema, name).map(|t| {
            let k = if matches!(t.def.kind, store::TableKind::View { .. }) { kind::VIEW } else { kind::TABLE };
            from_info(&t.info, k, Some(t.id))
        }),
        (kind::SERVICE_ROLE, [db, schema, service, role]) => {
            // The service's owner and incarnation: replacing the service ends the grants of its roles.
            let svc = crate::objects::get::<crate::spcs::Service>(catalog, crate::spcs::SERVICE, &format!("{db}.{schema}"), service)?;
            crate::spcs::endpoints::service_roles(&svc).iter().any(|(r, _)| r == role).then(|| Facts {
                owner: svc.owner.clone(),
                created_on: svc.created_on,
                id: None,
                kind: kind::SERVICE_ROLE.into(),
            })
        }
        (kind::ROLE, [name]) if is_system_role(name) => Some(Facts { owner: String::new(), created_on: system_created_on(catalog), id: None, kind: kind::ROLE.into() }),
        (k, [name]) => body_facts(catalog, k, "", name, if k == kind::USER { "ACCOUNTADMIN" } else { "" }),
        (k, [db, schema, name]) => body_facts(catalog, k, &format!("{db}.{schema}"), name, ""),
        _ => None,
    }
}

fn body_facts(catalog: &Catalog, kind: &str, scope: &str, name: &str, default_owner: &str) -> Option<Facts> {
    let body = catalog.object(kind, scope, name)?;
    Some(Facts {
        owner: body.get("owner").and_then(|v| v.as_str()).unwrap_or(default_owner).to_string(),
        created_on: body.get("created_on").and_then(|v| v.as_i64()).unwrap_or(0),
        id: None,
        kind: kind.to_string(),
    })
}

/// When the system roles were "created": the first start (ADMIN's creation).
pub fn system_created_on(catalog: &Catalog) -> i64 {
    catalog.object(USER, "", "ADMIN").and_then(|b| b.get("created_on")).and_then(|v| v.as_i64()).unwrap_or(0)
}

/// The incarnation a grant records: a table's or view's id, else the object's creation time.
pub fn incarnation(f: &Facts) -> i64 {
    f.id.map(|id| id as i64).unwrap_or(f.created_on)
}

/// A stored grant (`GRANT` objects).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// Upper-case privilege (`USAGE`, `CREATE SCHEMA`, `BIND SERVICE ENDPOINT`); granting a role is USAGE
    /// on the ROLE.
    pub privilege: String,
    /// What it is granted on (for tables and views, the name at grant time: `incarnation` is the id).
    pub on: Securable,
    /// See `incarnation`.
    pub incarnation: i64,
    /// ROLE or USER.
    pub grantee_type: String,
    /// The role or user.
    pub grantee: String,
    /// WITH GRANT OPTION.
    pub grant_option: bool,
    /// The grantor role ("" for the system).
    pub granted_by: String,
    /// Epoch ms.
    pub created_on: i64,
}

impl GrantRecord {
    /// The stored object's name: one grant per (grantee, privilege, object).
    pub fn key(&self) -> String {
        format!("{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}", self.grantee_type, self.grantee, self.privilege, self.on.kind, self.on.parts.join("\u{1e}"))
    }
}

/// A stored future grant (`FUTURE_GRANT` objects): `privilege` on objects of `object_kind` created in
/// `container` (a SCHEMA or DATABASE) from now on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FutureGrantRecord {
    /// Upper-case privilege.
    pub privilege: String,
    /// `kind::TABLE`, `kind::STAGE`, …
    pub object_kind: String,
    /// The schema or database.
    pub container: Securable,
    /// The container's incarnation.
    pub incarnation: i64,
    /// The role.
    pub grantee: String,
    /// WITH GRANT OPTION.
    pub grant_option: bool,
    /// Grantor role.
    pub granted_by: String,
    /// Epoch ms; objects created at or after it are covered.
    pub created_on: i64,
}

impl FutureGrantRecord {
    /// The stored object's name.
    pub fn key(&self) -> String {
        format!("{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}", self.grantee, self.privilege, self.object_kind, self.container.kind, self.container.parts.join("\u{1e}"))
    }
}

/// A stored role (`ROLE` objects; system roles are built in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleRecord {
    /// Name.
    pub name: String,
    /// Owner role.
    pub owner: String,
    /// COMMENT.
    #[serde(default)]
    pub comment: Option<String>,
    /// Epoch ms.
    pub created_on: i64,
}

/// A grant in effect: the record with its object's current name, and its stored key (None for the
/// built-in system grants).
#[derive(Debug, Clone)]
pub struct Grant {
    /// The grant (with `on` naming the object as it is now called).
    pub record: GrantRecord,
    /// The stored object's name.
    pub key: Option<String>,
}

/// Roles and grants of one catalog version.
#[derive(Debug)]
pub struct Index {
    /// The catalog's `ddl_version`.
    pub version: u64,
    /// Every role, system ones included, by name.
    pub roles: BTreeMap<String, RoleRecord>,
    /// Grants in effect.
    pub grants: Vec<Grant>,
    by_object: HashMap<Securable, Vec<usize>>,
    by_grantee: HashMap<(String, String), Vec<usize>>,
    /// Future grants in effect, with their stored keys.
    pub future: Vec<(String, FutureGrantRecord)>,
}

impl Index {
    /// Builds the index of a catalog (stale grants — on dropped or replaced objects — left out).
    pub fn build(catalog: &Catalog) -> Index {
        let mut roles = BTreeMap::new();
        let sys_at = system_created_on(catalog);
        for (name, comment) in SYSTEM_ROLES {
            roles.insert(name.to_string(), RoleRecord { name: name.to_string(), owner: String::new(), comment: Some(comment.to_string()), created_on: sys_at });
        }
        for (_, name, body) in catalog.objects_of(ROLE) {
            if let Ok(r) = serde_json::from_value::<RoleRecord>(body.clone()) {
                roles.insert(name.to_string(), r);
            }
        }
        let mut grants = Vec::new();
        for (role, to) in SYSTEM_ROLE_GRANTS {
            grants.push(Grant { record: system_grant("USAGE", Securable::account_object(kind::ROLE, role), "ROLE", to, sys_at), key: None });
        }
        for (privilege, to) in SYSTEM_ACCOUNT_PRIVILEGES {
            grants.push(Grant { record: system_grant(privilege, Securable::account(), "ROLE", to, sys_at), key: None });
        }
        for (_, key, body) in catalog.objects_of(GRANT) {
            let Ok(mut record) = serde_json::from_value::<GrantRecord>(body.clone()) else { continue };
            if let Some(current) = current_name(catalog, &record, &roles) {
                record.on = current;
                grants.push(Grant { record, key: Some(key.to_string()) });
            }
        }
        let mut future = Vec::new();
        for (_, key, body) in catalog.objects_of(FUTURE_GRANT) {
            let Ok(record) = serde_json::from_value::<FutureGrantRecord>(body.clone()) else { continue };
            if facts(catalog, &record.container).is_some_and(|f| incarnation(&f) == record.incarnation) && roles.contains_key(&record.grantee) {
                future.push((key.to_string(), record));
            }
        }
        let mut by_object: HashMap<Securable, Vec<usize>> = HashMap::new();
        let mut by_grantee: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, g) in grants.iter().enumerate() {
            by_object.entry(g.record.on.clone()).or_default().push(i);
            by_grantee.entry((g.record.grantee_type.clone(), g.record.grantee.clone())).or_default().push(i);
        }
        Index { version: catalog.ddl_version, roles, grants, by_object, by_grantee, future }
    }

    /// Grants on an object.
    pub fn on(&self, obj: &Securable) -> impl Iterator<Item = &Grant> {
        self.by_object.get(obj).into_iter().flatten().map(|&i| &self.grants[i])
    }

    /// Grants to a role (`ROLE`) or user (`USER`).
    pub fn to(&self, grantee_type: &str, name: &str) -> impl Iterator<Item = &Grant> {
        self.by_grantee.get(&(grantee_type.to_string(), name.to_string())).into_iter().flatten().map(|&i| &self.grants[i])
    }

    /// Roles granted directly to a role or user.
    pub fn granted_roles(&self, grantee_type: &str, name: &str) -> Vec<String> {
        self.to(grantee_type, name).filter(|g| g.record.on.kind == kind::ROLE).map(|g| g.record.on.parts[0].clone()).collect()
    }

    /// A role and every role it inherits (PUBLIC always).
    pub fn closure(&self, role: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if self.roles.contains_key(role) {
            let mut queue = VecDeque::from([role.to_string()]);
            while let Some(r) = queue.pop_front() {
                if out.insert(r.clone()) {
                    queue.extend(self.granted_roles("ROLE", &r));
                }
            }
        }
        out.insert("PUBLIC".to_string());
        out
    }

    /// The roles a user may use (USE ROLE): those granted to it, what they inherit, and PUBLIC.
    pub fn user_roles(&self, user: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::from(["PUBLIC".to_string()]);
        for r in self.granted_roles("USER", user) {
            out.extend(self.closure(&r));
        }
        out
    }
}

fn system_grant(privilege: &str, on: Securable, grantee_type: &str, grantee: &str, at: i64) -> GrantRecord {
    GrantRecord {
        privilege: privilege.to_string(),
        on,
        incarnation: 0,
        grantee_type: grantee_type.to_string(),
        grantee: grantee.to_string(),
        grant_option: false,
        granted_by: String::new(),
        created_on: at,
    }
}

/// The current name of a stored grant's object, or None if the grant is stale (object or grantee gone,
/// object replaced since).
fn current_name(catalog: &Catalog, record: &GrantRecord, roles: &BTreeMap<String, RoleRecord>) -> Option<Securable> {
    let grantee_ok = match record.grantee_type.as_str() {
        "ROLE" => roles.contains_key(&record.grantee),
        _ => catalog.object(USER, "", &record.grantee).is_some(),
    };
    if !grantee_ok {
        return None;
    }
    if record.on.kind == kind::ROLE {
        return roles.get(&record.on.parts[0]).filter(|r| is_system_role(&r.name) || r.created_on == record.incarnation).map(|_| record.on.clone());
    }
    if record.on.kind == kind::TABLE || record.on.kind == kind::VIEW {
        // Tables keep their grants across renames: the id is the identity.
        let table = catalog.table_by_id(record.incarnation as u64)?;
        let (db, schema, name) = catalog.table_index.get(&table.id)?;
        let k = if matches!(table.def.kind, store::TableKind::View { .. }) { kind::VIEW } else { kind::TABLE };
        return Some(Securable::schema_object(k, db, schema, name));
    }
    let f = facts(catalog, &record.on)?;
    (record.on.kind == kind::ACCOUNT || incarnation(&f) == record.incarnation).then(|| record.on.clone())
}

static INDEXES: LazyLock<Mutex<HashMap<PathBuf, Arc<Index>>>> = LazyLock::new(Default::default);

/// The index of `catalog` (cached per data dir and `ddl_version`).
pub fn index(engine: &Engine, catalog: &Catalog) -> Arc<Index> {
    let path = engine.store().path().to_path_buf();
    if let Some(ix) = INDEXES.lock().get(&path)
        && ix.version == catalog.ddl_version
    {
        return ix.clone();
    }
    let ix = Arc::new(Index::build(catalog));
    let mut cache = INDEXES.lock();
    let newer = cache.get(&path).is_some_and(|c| c.version > ix.version);
    if !newer {
        cache.insert(path, ix.clone());
    }
    ix
}

/// The privileges of one session (or of a view owner) for one statement.
#[derive(Clone)]
pub struct Access {
    /// Roles and grants.
    pub index: Arc<Index>,
    /// The primary role (PUBLIC if the session's role is not usable).
    pub role: String,
    /// The primary role and everything it inherits.
    pub roles: BTreeSet<String>,
    /// Whether ACCOUNTADMIN is among `roles` (every check passes).
    pub admin: bool,
    /// Whether MANAGE GRANTS is held (sees everything, grants anything).
    pub manage_grants: bool,
    /// Tables a DML statement already checked (its target's scan needs no SELECT).
    pub exempt: Vec<u64>,
    /// The session (temporary objects).
    pub session_id: u64,
    /// The account name (messages).
    pub account: String,
}

impl Access {
    /// The session's access. Its role counts only if it exists and, for a stored user, is granted to it.
    pub fn of(engine: &Engine, session: &Session, catalog: &Catalog) -> Access {
        let index = index(engine, catalog);
        let stored_user = catalog.object(USER, "", &session.user).is_some();
        let usable = index.roles.contains_key(&session.role) && (!stored_user || index.user_roles(&session.user).contains(&session.role));
        let role = if usable { session.role.clone() } else { "PUBLIC".to_string() };
        Access::for_role(index, &role, session.id, &engine.config().account)
    }

    /// The access of `role` (a view's owner, checking the view's body).
    pub fn for_role(index: Arc<Index>, role: &str, session_id: u64, account: &str) -> Access {
        let roles = index.closure(role);
        let admin = roles.contains("ACCOUNTADMIN");
        let manage_grants = admin
            || index.on(&Securable::account()).any(|g| g.record.privilege == "MANAGE GRANTS" && g.record.grantee_type == "ROLE" && roles.contains(&g.record.grantee));
        Access { index, role: role.to_string(), roles, admin, manage_grants, exempt: Vec::new(), session_id, account: account.to_string() }
    }

    /// The same checks as another role (view owners' rights).
    pub fn as_role(&self, role: &str) -> Access {
        Access { exempt: self.exempt.clone(), ..Access::for_role(self.index.clone(), role, self.session_id, &self.account) }
    }

    /// True if one of the roles owns the object.
    pub fn owns(&self, catalog: &Catalog, obj: &Securable) -> bool {
        facts(catalog, obj).is_some_and(|f| !f.owner.is_empty() && self.roles.contains(&f.owner))
    }

    /// True if the roles hold `privilege` on the object (ownership and ACCOUNTADMIN included).
    pub fn has(&self, catalog: &Catalog, privilege: &str, obj: &Securable) -> bool {
        if self.admin {
            return true;
        }
        if privilege == "MANAGE GRANTS" {
            return self.manage_grants;
        }
        let Some(f) = facts(catalog, obj) else { return false };
        if !f.owner.is_empty() && self.roles.contains(&f.owner) {
            return true;
        }
        let obj = &self.normalise(obj, &f);
        if privilege == "OWNERSHIP" {
            // Only the recorded owner, or a future ownership grant covering the object.
            return self.future(obj, &f, Some(privilege));
        }
        if self.index.on(obj).any(|g| g.record.privilege == privilege && self.held_by(&g.record)) {
            return true;
        }
        self.future(obj, &f, Some(privilege))
    }

    /// True if the roles hold any of `privileges`.
    pub fn has_any(&self, catalog: &Catalog, privileges: &[&str], obj: &Securable) -> bool {
        privileges.iter().any(|p| self.has(catalog, p, obj))
    }

    /// True if the object is visible to the roles: MANAGE GRANTS, ownership, or any privilege on it.
    pub fn can_see(&self, catalog: &Catalog, obj: &Securable) -> bool {
        if self.manage_grants {
            return true;
        }
        let Some(f) = facts(catalog, obj) else { return false };
        if !f.owner.is_empty() && self.roles.contains(&f.owner) {
            return true;
        }
        if obj.kind == kind::ROLE && self.roles.contains(&obj.parts[0]) {
            return true;
        }
        let obj = &self.normalise(obj, &f);
        self.index.on(obj).any(|g| self.held_by(&g.record)) || self.future(obj, &f, None)
    }

    /// Passes if any of `privileges` is held on the object; otherwise 003001 when the object is visible
    /// and `not_visible` when it is not (Snowflake hides what a role cannot see behind "does not exist
    /// or not authorized"). For the account, pass the 003001 as `not_visible` too.
    pub fn require(&self, catalog: &Catalog, privileges: &[&str], obj: &Securable, not_visible: impl FnOnce() -> SfError) -> Result<(), SfError> {
        if self.has_any(catalog, privileges, obj) {
            return Ok(());
        }
        if obj.kind != kind::ACCOUNT && self.can_see(catalog, obj) {
            return Err(obj.insufficient(&self.account));
        }
        Err(not_visible())
    }

    /// An account privilege (`CREATE DATABASE` …): 003001 on the account without it.
    pub fn require_account(&self, catalog: &Catalog, privilege: &str) -> Result<(), SfError> {
        let obj = Securable::account();
        self.require(catalog, &[privilege], &obj, || obj.insufficient(&self.account))
    }

    /// USAGE on a database and on one of its schemas (what reading or creating in the schema needs
    /// first); not visible ones are reported as Snowflake does, as not existing.
    pub fn require_schema_usage(&self, catalog: &Catalog, db: &str, schema: &str) -> Result<(), SfError> {
        let d = Securable::database(db);
        self.require(catalog, &["USAGE"], &d, || SfError::kind_not_found("Database", &display_ident(db)))?;
        let s = Securable::schema(db, schema);
        self.require(catalog, &["USAGE"], &s, || SfError::kind_not_found("Schema", &format!("{}.{}", display_ident(db), display_ident(schema))))
    }

    /// Creating an object of `kind` in a schema: USAGE on the database, and CREATE <kind> on (or
    /// ownership of) the schema.
    pub fn require_create_in_schema(&self, catalog: &Catalog, db: &str, schema: &str, privilege: &str) -> Result<(), SfError> {
        self.require_schema_usage(catalog, db, schema)?;
        let s = Securable::schema(db, schema);
        self.require(catalog, &[privilege], &s, || s.insufficient(&self.account))
    }

    /// Reading a table or view (SELECT), or writing one (`privilege`): USAGE on its database and schema
    /// and the privilege on it. A table the role cannot see at all does not exist for it.
    pub fn require_table(&self, catalog: &Catalog, db: &str, schema: &str, stored: &str, privileges: &[&str], shown: &str) -> Result<(), SfError> {
        if self.admin {
            return Ok(());
        }
        if let Some(t) = catalog.table(db, schema, stored)
            && self.exempt.contains(&t.id)
        {
            return Ok(());
        }
        let not_found = || SfError::object_not_found(shown);
        let d = Securable::database(db);
        let s = Securable::schema(db, schema);
        if !self.has(catalog, "USAGE", &d) || !self.has(catalog, "USAGE", &s) {
            return Err(not_found());
        }
        let obj = Securable::schema_object(kind::TABLE, db, schema, stored);
        self.require(catalog, privileges, &obj, not_found)
    }

    /// OWNERSHIP (DROP, ALTER, GRANT OWNERSHIP).
    pub fn require_owner(&self, catalog: &Catalog, obj: &Securable, not_visible: impl FnOnce() -> SfError) -> Result<(), SfError> {
        self.require(catalog, &["OWNERSHIP"], obj, not_visible)
    }

    fn held_by(&self, g: &GrantRecord) -> bool {
        g.grantee_type == "ROLE" && self.roles.contains(&g.grantee)
    }

    /// Tables and views are looked up under either kind; grants carry the real one.
    fn normalise(&self, obj: &Securable, f: &Facts) -> Securable {
        if (obj.kind == kind::TABLE || obj.kind == kind::VIEW) && obj.kind != f.kind {
            return Securable { kind: f.kind.clone(), parts: obj.parts.clone() };
        }
        obj.clone()
    }

    /// Whether a future grant covers the object (for `privilege`, or any privilege with None).
    fn future(&self, obj: &Securable, f: &Facts, privilege: Option<&str>) -> bool {
        let Some((db, schema)) = obj.container() else {
            // Schemas from future grants IN DATABASE.
            if obj.kind == kind::SCHEMA {
                let d = Securable::database(&obj.parts[0]);
                return self.index.future.iter().any(|(_, fg)| {
                    fg.object_kind == kind::SCHEMA && fg.container == d && self.future_applies(fg, f, privilege)
                });
            }
            return false;
        };
        future_grants_for(&self.index, &obj.kind, db, schema).iter().any(|fg| self.future_applies(fg, f, privilege))
    }

    fn future_applies(&self, fg: &FutureGrantRecord, f: &Facts, privilege: Option<&str>) -> bool {
        self.roles.contains(&fg.grantee) && privilege.is_none_or(|p| p == fg.privilege) && f.created_on >= fg.created_on
    }

    /// Keeps the rows of a SHOW result the roles may see; `securable` names a row's object from its
    /// values by column name.
    pub fn filter_show(&self, catalog: &Catalog, result: QueryResult, securable: impl Fn(&dyn Fn(&str) -> Option<String>) -> Option<Securable>) -> QueryResult {
        if self.manage_grants {
            return result;
        }
        let mut batches = Vec::with_capacity(result.batches.len());
        for batch in &result.batches {
            let schema = batch.schema();
            let columns: HashMap<&str, &StringArray> =
                schema.fields().iter().zip(batch.columns()).filter_map(|(f, c)| c.as_any().downcast_ref::<StringArray>().map(|a| (f.name().as_str(), a))).collect();
            let keep: BooleanArray = (0..batch.num_rows())
                .map(|row| {
                    let value = |name: &str| columns.get(name).filter(|a| a.is_valid(row)).map(|a| a.value(row).to_string());
                    Some(securable(&value).is_some_and(|obj| self.can_see(catalog, &obj)))
                })
                .collect();
            match filter_record_batch(batch, &keep) {
                Ok(b) => batches.push(b),
                Err(_) => batches.push(batch.clone()),
            }
        }
        QueryResult { batches, ..result }
    }
}

/// The future grants covering objects of `object_kind` in a schema: the schema's own, or if it has none
/// for that kind, its database's.
pub fn future_grants_for<'a>(index: &'a Index, object_kind: &str, db: &str, schema: &str) -> Vec<&'a FutureGrantRecord> {
    let s = Securable::schema(db, schema);
    let kind_of = |k: &str| if object_kind == kind::VIEW { k == kind::VIEW } else { k == object_kind };
    let at_schema: Vec<&FutureGrantRecord> = index.future.iter().map(|(_, f)| f).filter(|f| kind_of(&f.object_kind) && f.container == s).collect();
    if !at_schema.is_empty() {
        return at_schema;
    }
    let d = Securable::database(db);
    index.future.iter().map(|(_, f)| f).filter(|f| kind_of(&f.object_kind) && f.container == d).collect()
}

/// The objects (with facts) a future grant applies to now: what `REVOKE … ON FUTURE` keeps as plain
/// grants, and what SHOW GRANTS ON lists.
pub fn future_covered(catalog: &Catalog, index: &Index, fg: &FutureGrantRecord) -> Vec<(Securable, Facts)> {
    let mut out = Vec::new();
    let schemas: Vec<(String, String)> = match fg.container.parts.as_slice() {
        [db, schema] => vec![(db.clone(), schema.clone())],
        [db] => catalog.databases.get(db).map(|d| d.schemas.keys().map(|s| (db.clone(), s.clone())).collect()).unwrap_or_default(),
        _ => Vec::new(),
    };
    if fg.object_kind == kind::SCHEMA {
        for (db, schema) in schemas {
            let obj = Securable::schema(&db, &schema);
            if let Some(f) = facts(catalog, &obj).filter(|f| f.created_on >= fg.created_on) {
                out.push((obj, f));
            }
        }
        return out;
    }
    for (db, schema) in schemas {
        if !future_grants_for(index, &fg.object_kind, &db, &schema).contains(&fg) {
            continue;
        }
        let mut names: Vec<(String, Facts)> = Vec::new();
        if fg.object_kind == kind::TABLE || fg.object_kind == kind::VIEW {
            if let Some(s) = catalog.schema(&db, &schema) {
                for t in s.tables.values().filter(|t| !t.info.options.contains_key(crate::temp::TEMPORARY_SESSION)) {
                    let obj = Securable::schema_object(kind::TABLE, &db, &schema, &t.name);
                    if let Some(f) = facts(catalog, &obj).filter(|f| f.kind == fg.object_kind) {
                        names.push((t.name.clone(), f));
                    }
                }
            }
        } else {
            let scope = format!("{db}.{schema}");
            for (sc, name, _) in catalog.objects_of(&fg.object_kind) {
                if sc == scope
                    && let Some(f) = facts(catalog, &Securable::schema_object(&fg.object_kind, &db, &schema, name))
                {
                    names.push((name.to_string(), f));
                }
            }
        }
        for (name, f) in names {
            if f.created_on >= fg.created_on {
                out.push((Securable::schema_object(&f.kind.clone(), &db, &schema, &name), f));
            }
        }
    }
    out
}

/// Privileges each kind knows, in the order `GRANT ALL` expands them (Snowflake's lists, OWNERSHIP
/// apart).
pub fn all_privileges(object_kind: &str) -> &'static [&'static str] {
    match object_kind {
        kind::ACCOUNT => &[
            "CREATE DATABASE", "CREATE WAREHOUSE", "CREATE COMPUTE POOL", "CREATE INTEGRATION", "CREATE ROLE", "CREATE USER",
            "BIND SERVICE ENDPOINT", "MANAGE GRANTS", "MONITOR", "MONITOR USAGE", "EXECUTE TASK",
        ],
        kind::DATABASE => &["USAGE", "MONITOR", "MODIFY", "CREATE SCHEMA", "CREATE DATABASE ROLE", "APPLYBUDGET"],
        kind::SCHEMA => &[
            "USAGE", "MONITOR", "MODIFY", "CREATE TABLE", "CREATE VIEW", "CREATE STAGE", "CREATE SERVICE", "CREATE IMAGE REPOSITORY",
            "CREATE FUNCTION", "CREATE PROCEDURE", "CREATE SEQUENCE", "CREATE FILE FORMAT", "CREATE SECRET", "CREATE NETWORK RULE",
            "CREATE TASK", "CREATE STREAM", "CREATE DYNAMIC TABLE", "CREATE MATERIALIZED VIEW",
        ],
        kind::TABLE => &["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "REBUILD", "EVOLVE SCHEMA", "APPLYBUDGET"],
        kind::VIEW => &["SELECT", "REFERENCES"],
        kind::WAREHOUSE => &["USAGE", "OPERATE", "MONITOR", "MODIFY", "APPLYBUDGET"],
        kind::COMPUTE_POOL => &["USAGE", "OPERATE", "MONITOR", "MODIFY"],
        kind::STAGE => &["READ", "WRITE", "USAGE"],
        kind::IMAGE_REPOSITORY => &["READ", "WRITE"],
        kind::INTEGRATION => &["USAGE"],
        kind::SERVICE => &["USAGE", "MONITOR", "OPERATE"],
        kind::FUNCTION => &["USAGE"],
        kind::USER => &["MONITOR"],
        _ => &[],
    }
}

/// True for a privilege Snowflake accepts on a kind (besides OWNERSHIP and ALL).
pub fn privilege_applies(object_kind: &str, privilege: &str) -> bool {
    match (object_kind, privilege) {
        (kind::SCHEMA, p) if p.starts_with("CREATE ") => true,
        (kind::ACCOUNT, p) if p.starts_with("CREATE ") || p.starts_with("EXECUTE ") || p.starts_with("IMPORT ") || p.starts_with("APPLY ") => true,
        (kind::STAGE, "USAGE") => true,
        (kind::USER, "MODIFY PROGRAMMATIC AUTHENTICATION METHODS") => true,
        (k, p) => all_privileges(k).contains(&p),
    }
}
