//! Users, roles and privileges: CREATE/ALTER/DROP/DESCRIBE/SHOW USER(S), programmatic access tokens,
//! CREATE/ALTER/DROP/SHOW ROLE(S), USE ROLE, GRANT/REVOKE of privileges, roles and ownership, SHOW GRANTS,
//! and the privilege checks every other module calls (`privileges::Access`).
//!
//! Storage (generic objects, scope ""): `USER` (name → `users::UserRecord`: Argon2 password hash, defaults,
//! programmatic access tokens as `auth::new_access_token` stores them), `ROLE` (`privileges::RoleRecord`;
//! the system roles ACCOUNTADMIN, SECURITYADMIN, USERADMIN, SYSADMIN, PUBLIC are built in), `GRANT`
//! (`privileges::GrantRecord`, one per grantee × privilege × object) and `FUTURE_GRANT`
//! (`privileges::FutureGrantRecord`). Owners are recorded on the objects themselves.
//!
//! Invariant: every privilege decision goes through `privileges::Access` (built per statement from an
//! index cached per catalog `ddl_version`); modules never compare role names themselves.

pub mod grammar;
pub mod grants;
pub mod privileges;
pub mod roles;
pub mod users;

use model::SfError;

use crate::engine::Engine;
use crate::objects::Prop;
use crate::result::QueryResult;
use crate::session::Session;

pub use privileges::{Access, Securable, kind};

/// Object kind of users.
pub const USER: &str = "USER";
/// Object kind of roles.
pub const ROLE: &str = "ROLE";
/// Object kind of grants.
pub const GRANT: &str = "GRANT";
/// Object kind of future grants.
pub const FUTURE_GRANT: &str = "FUTURE_GRANT";

/// A statement of this module, parsed by `grammar`.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessStmt {
    /// `CREATE [OR REPLACE] USER [IF NOT EXISTS] name props`.
    CreateUser { name: String, or_replace: bool, if_not_exists: bool, props: Vec<Prop> },
    /// `ALTER USER [IF EXISTS] [name] action` (the name may be left out for token actions).
    AlterUser { name: Option<String>, if_exists: bool, action: UserAction },
    /// `DROP USER [IF EXISTS] name`.
    DropUser { name: String, if_exists: bool },
    /// `DESCRIBE USER name`.
    DescribeUser { name: String },
    /// `SHOW [TERSE] USERS [LIKE] [STARTS WITH] [LIMIT n [FROM 'x']]`.
    ShowUsers { terse: bool, like: Option<String>, starts_with: Option<String>, limit: Option<usize>, from: Option<String> },
    /// `SHOW USER {PROGRAMMATIC ACCESS TOKENS | PATS} [FOR USER name]`.
    ShowTokens { user: Option<String> },
    /// `CREATE [OR REPLACE] ROLE [IF NOT EXISTS] name [COMMENT = '…']`.
    CreateRole { name: String, or_replace: bool, if_not_exists: bool, comment: Option<String> },
    /// `ALTER ROLE [IF EXISTS] name action`.
    AlterRole { name: String, if_exists: bool, action: RoleAction },
    /// `DROP ROLE [IF EXISTS] name`.
    DropRole { name: String, if_exists: bool },
    /// `SHOW [TERSE] ROLES [LIKE] [STARTS WITH] [LIMIT n [FROM 'x']]`.
    ShowRoles { like: Option<String>, starts_with: Option<String>, limit: Option<usize>, from: Option<String> },
    /// `USE SECONDARY ROLES …` (accepted; floe evaluates the primary role only).
    UseSecondaryRoles,
    /// `GRANT ROLE r TO {ROLE | USER} x`.
    GrantRole { role: String, to: Grantee },
    /// `REVOKE ROLE r FROM {ROLE | USER} x`.
    RevokeRole { role: String, from: Grantee },
    /// `GRANT SERVICE ROLE [db.schema.]svc!role TO ROLE r`.
    GrantServiceRole { service: Vec<String>, role: String, to: String },
    /// `REVOKE SERVICE ROLE [db.schema.]svc!role FROM ROLE r`.
    RevokeServiceRole { service: Vec<String>, role: String, from: String },
    /// `GRANT privileges ON target TO [ROLE] r [WITH GRANT OPTION]`.
    Grant { privileges: Vec<String>, on: GrantTarget, to: String, grant_option: bool },
    /// `GRANT OWNERSHIP ON target TO [ROLE] r [{COPY | REVOKE} CURRENT GRANTS]`.
    GrantOwnership { on: GrantTarget, to: String, current_grants: CurrentGrants },
    /// `REVOKE [GRANT OPTION FOR] privileges ON target FROM [ROLE] r [RESTRICT | CASCADE]`.
    Revoke { privileges: Vec<String>, on: GrantTarget, from: String, grant_option_only: bool },
    /// `SHOW GRANTS …` and `SHOW FUTURE GRANTS …`.
    ShowGrants(ShowGrants),
}

/// What ALTER USER does.
#[derive(Debug, Clone, PartialEq)]
pub enum UserAction {
    /// SET props.
    Set(Vec<Prop>),
    /// UNSET names.
    Unset(Vec<String>),
    /// RENAME TO name.
    Rename(String),
    /// ADD {PROGRAMMATIC ACCESS TOKEN | PAT} [IF NOT EXISTS] name props.
    AddToken { name: String, if_not_exists: bool, props: Vec<Prop> },
    /// REMOVE {PROGRAMMATIC ACCESS TOKEN | PAT} name.
    RemoveToken { name: String },
    /// Accepted without effect (RESET PASSWORD, ABORT ALL QUERIES, MFA and policy actions).
    Accepted,
}

/// What ALTER ROLE does.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleAction {
    /// SET COMMENT = '…'.
    SetComment(String),
    /// UNSET COMMENT.
    UnsetComment,
    /// RENAME TO name.
    Rename(String),
}

/// Who receives a role.
#[derive(Debug, Clone, PartialEq)]
pub enum Grantee {
    /// A role.
    Role(String),
    /// A user.
    User(String),
}

/// What privileges are granted on.
#[derive(Debug, Clone, PartialEq)]
pub enum GrantTarget {
    /// ON ACCOUNT.
    Account,
    /// ON <kind> name (kind as `privileges::kind`).
    Object { kind: String, name: Vec<String> },
    /// ON ALL <kinds> IN {SCHEMA | DATABASE} name.
    All { kind: String, container_kind: String, container: Vec<String> },
    /// ON FUTURE <kinds> IN {SCHEMA | DATABASE} name.
    Future { kind: String, container_kind: String, container: Vec<String> },
}

/// GRANT OWNERSHIP's handling of the object's existing grants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CurrentGrants {
    /// Neither clause (floe keeps them, as with COPY).
    Unspecified,
    /// COPY CURRENT GRANTS.
    Copy,
    /// REVOKE CURRENT GRANTS.
    Revoke,
}

/// The forms of SHOW GRANTS.
#[derive(Debug, Clone, PartialEq)]
pub enum ShowGrants {
    /// SHOW GRANTS [TO USER u] (None: the current user).
    ToUser(Option<String>),
    /// SHOW GRANTS TO ROLE r.
    ToRole(String),
    /// SHOW GRANTS OF ROLE r.
    OfRole(String),
    /// SHOW GRANTS ON ACCOUNT | ON <kind> name.
    On(GrantTarget),
    /// SHOW FUTURE GRANTS IN {SCHEMA | DATABASE} name.
    FutureIn { container_kind: String, container: Vec<String> },
    /// SHOW FUTURE GRANTS TO ROLE r.
    FutureTo(String),
}

/// Runs one of this module's statements.
pub(crate) async fn execute(engine: &Engine, session: &mut Session, stmt: AccessStmt) -> Result<QueryResult, SfError> {
    use AccessStmt::*;
    let read_only = matches!(stmt, DescribeUser { .. } | ShowUsers { .. } | ShowTokens { .. } | ShowRoles { .. } | ShowGrants(_) | UseSecondaryRoles);
    if !read_only {
        crate::ddl::implicit_commit(engine, session).await?;
    }
    match stmt {
        CreateUser { name, or_replace, if_not_exists, props } => users::create(engine, session, name, or_replace, if_not_exists, props).await,
        AlterUser { name, if_exists, action } => users::alter(engine, session, name, if_exists, action).await,
        DropUser { name, if_exists } => users::drop(engine, session, name, if_exists).await,
        DescribeUser { name } => users::describe(engine, session, &name),
        ShowUsers { terse, like, starts_with, limit, from } => Ok(users::show(engine, session, terse, like.as_deref(), starts_with.as_deref(), limit, from.as_deref())),
        ShowTokens { user } => users::show_tokens(engine, session, user),
        CreateRole { name, or_replace, if_not_exists, comment } => roles::create(engine, session, name, or_replace, if_not_exists, comment).await,
        AlterRole { name, if_exists, action } => roles::alter(engine, session, name, if_exists, action).await,
        DropRole { name, if_exists } => roles::drop(engine, session, name, if_exists).await,
        ShowRoles { like, starts_with, limit, from } => Ok(roles::show(engine, session, like.as_deref(), starts_with.as_deref(), limit, from.as_deref())),
        UseSecondaryRoles => Ok(QueryResult::message(crate::result::statement_type::USE, "Statement executed successfully.")),
        GrantRole { role, to } => grants::grant_role(engine, session, role, to).await,
        RevokeRole { role, from } => grants::revoke_role(engine, session, role, from).await,
        GrantServiceRole { service, role, to } => grants::service_role(engine, session, service, role, to, true).await,
        RevokeServiceRole { service, role, from } => grants::service_role(engine, session, service, role, from, false).await,
        Grant { privileges, on, to, grant_option } => grants::grant(engine, session, privileges, on, to, grant_option).await,
        GrantOwnership { on, to, current_grants } => grants::grant_ownership(engine, session, on, to, current_grants).await,
        Revoke { privileges, on, from, grant_option_only } => grants::revoke(engine, session, privileges, on, from, grant_option_only).await,
        ShowGrants(what) => grants::show(engine, session, what),
    }
}

/// A role name given as a string (`DEFAULT_ROLE = 'r'`, `ROLE_RESTRICTION = 'r'`): the role of that exact
/// name if one exists, else the name upper-cased, as identifiers are.
pub fn role_name(catalog: &store::Catalog, text: &str) -> String {
    if privileges::is_system_role(text) || catalog.object(ROLE, "", text).is_some() {
        return text.to_string();
    }
    text.to_uppercase()
}

/// The error for a role that does not exist (or that the caller cannot see).
pub fn role_not_found(name: &str) -> SfError {
    SfError::kind_not_found("Role", &model::display_ident(name))
}

/// The error for a user that does not exist.
pub fn user_not_found(name: &str) -> SfError {
    SfError::kind_not_found("User", &model::display_ident(name))
}

/// The statement's access (see `privileges::Access::of`).
pub fn access(engine: &Engine, session: &Session, catalog: &store::Catalog) -> Access {
    Access::of(engine, session, catalog)
}
