//! Account and schema objects of Snowpark Container Services: warehouses and compute pools (account
//! scope), image repositories and stages (schema scope), plus the stage file commands LIST and REMOVE.
//!
//! Every object is a JSON body in the store's generic `objects` table (`Op::PutObject`), keyed by
//! (kind, scope, name): scope is "" for account objects and "DB.SCHEMA" for schema objects. Bodies are
//! the serde form of each module's struct (`warehouse::Warehouse`, …), which records created_on, owner
//! (the creating session's role) and comment. Grammar lives in `grammar`, Snowflake's columns, defaults,
//! validation and messages in the per-kind modules.
//!
//! Stage files are plain files under `<data-dir>/stages/<db>/<schema>/<stage>/` (`stage::stage_dir`);
//! the directory is created with the stage and removed with it.

pub mod compute_pool;
pub mod copy;
pub mod file_format;
pub mod grammar;
pub mod image_repo;
pub mod infer_schema;
pub mod instance_family;
pub mod parquet_file;
pub mod stage;
pub mod transfer;
pub mod warehouse;

use model::{SfError, display_ident};
use serde::Serialize;
use serde::de::DeserializeOwned;
use store::{Catalog, Op};

use crate::access::Securable;
use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::Session;

pub use compute_pool::{ComputePool, PoolUsage, pool_usage};
pub use instance_family::{INSTANCE_FAMILIES, InstanceFamily, instance_family};

/// Object kind of warehouses in the store.
pub const WAREHOUSE: &str = "WAREHOUSE";
/// Object kind of compute pools.
pub const COMPUTE_POOL: &str = "COMPUTE_POOL";
/// Object kind of image repositories.
pub const IMAGE_REPOSITORY: &str = "IMAGE_REPOSITORY";
/// Object kind of stages.
pub const STAGE: &str = "STAGE";
/// Markers of one-time initialisation (e.g. COMPUTE_WH was created once; dropping it is final).
const INIT: &str = "FLOE_INIT";

/// A statement of this module, parsed by `grammar`.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectStmt {
    /// `CREATE [OR REPLACE] WAREHOUSE [IF NOT EXISTS] name [WITH] props`.
    CreateWarehouse { name: String, or_replace: bool, if_not_exists: bool, props: Vec<Prop> },
    /// `ALTER WAREHOUSE [IF EXISTS] [name] action`.
    AlterWarehouse { name: Option<String>, if_exists: bool, action: WarehouseAction },
    /// `DROP WAREHOUSE [IF EXISTS] name`.
    DropWarehouse { name: String, if_exists: bool },
    /// `DESCRIBE WAREHOUSE name`.
    DescribeWarehouse { name: String },
    /// `SHOW WAREHOUSES [LIKE 'p']`.
    ShowWarehouses { like: Option<String> },
    /// `CREATE COMPUTE POOL [IF NOT EXISTS] name [FOR APPLICATION app] props`.
    CreateComputePool { name: String, if_not_exists: bool, application: Option<String>, props: Vec<Prop> },
    /// `ALTER COMPUTE POOL [IF EXISTS] name action`.
    AlterComputePool { name: String, if_exists: bool, action: PoolAction },
    /// `DROP COMPUTE POOL [IF EXISTS] name`.
    DropComputePool { name: String, if_exists: bool },
    /// `DESCRIBE COMPUTE POOL name`.
    DescribeComputePool { name: String },
    /// `SHOW COMPUTE POOLS [LIKE] [STARTS WITH] [LIMIT n [FROM 'x']]`.
    ShowComputePools { like: Option<String>, starts_with: Option<String>, limit: Option<usize>, from: Option<String> },
    /// `SHOW COMPUTE POOL INSTANCE FAMILIES [LIKE 'p']`.
    ShowInstanceFamilies { like: Option<String> },
    /// `CREATE [OR REPLACE] IMAGE REPOSITORY [IF NOT EXISTS] name props`.
    CreateImageRepository { name: Vec<String>, or_replace: bool, if_not_exists: bool, props: Vec<Prop> },
    /// `DROP IMAGE REPOSITORY [IF EXISTS] name`.
    DropImageRepository { name: Vec<String>, if_exists: bool },
    /// `SHOW IMAGE REPOSITORIES [LIKE 'p'] [IN …]`.
    ShowImageRepositories { like: Option<String>, scope: ShowScope },
    /// `SHOW IMAGES [LIKE 'p'] IN IMAGE REPOSITORY name`.
    ShowImages { like: Option<String>, repository: Vec<String> },
    /// `CREATE [OR REPLACE] [TEMPORARY] STAGE [IF NOT EXISTS] name props`.
    CreateStage { name: Vec<String>, or_replace: bool, temporary: bool, if_not_exists: bool, props: Vec<Prop> },
    /// `DROP STAGE [IF EXISTS] name`.
    DropStage { name: Vec<String>, if_exists: bool },
    /// `DESCRIBE STAGE name`.
    DescribeStage { name: Vec<String> },
    /// `SHOW STAGES [LIKE 'p'] [IN …]`.
    ShowStages { like: Option<String>, scope: ShowScope },
    /// `LIST @stage[/path] [PATTERN = 're']`.
    List { stage: StageRef, pattern: Option<String> },
    /// `REMOVE @stage[/path] [PATTERN = 're']`.
    Remove { stage: StageRef, pattern: Option<String> },
    /// `CREATE [OR REPLACE] [TEMPORARY] FILE FORMAT [IF NOT EXISTS] name options` (`file_format`).
    CreateFileFormat { name: Vec<String>, or_replace: bool, temporary: bool, if_not_exists: bool, props: Vec<Prop> },
    /// `DROP FILE FORMAT [IF EXISTS] name`.
    DropFileFormat { name: Vec<String>, if_exists: bool },
    /// `DESCRIBE FILE FORMAT name`.
    DescribeFileFormat { name: Vec<String> },
    /// `SHOW FILE FORMATS [LIKE 'p'] [IN …]`.
    ShowFileFormats { like: Option<String>, scope: ShowScope },
    /// `COPY INTO <table> FROM @stage …` and `COPY INTO @stage FROM …` (`copy`).
    Copy(copy::CopyStmt),
    /// `PUT file://… @stage[/path] [options]` (`transfer`).
    Put(transfer::PutStmt),
    /// `GET @stage[/path] file://… [options]` (`transfer`).
    Get(transfer::GetStmt),
}

/// What ALTER WAREHOUSE does.
#[derive(Debug, Clone, PartialEq)]
pub enum WarehouseAction {
    /// SUSPEND.
    Suspend,
    /// RESUME [IF SUSPENDED].
    Resume { if_suspended: bool },
    /// ABORT ALL QUERIES.
    AbortAllQueries,
    /// RENAME TO name.
    Rename(String),
    /// SET props.
    Set(Vec<Prop>),
    /// UNSET names.
    Unset(Vec<String>),
}

/// What ALTER COMPUTE POOL does.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolAction {
    /// SUSPEND.
    Suspend,
    /// RESUME.
    Resume,
    /// STOP ALL [OF TYPE t, …].
    StopAll(Vec<String>),
    /// SET props.
    Set(Vec<Prop>),
    /// UNSET names.
    Unset(Vec<String>),
}

/// Where SHOW of a schema object looks.
#[derive(Debug, Clone, PartialEq)]
pub enum ShowScope {
    /// No IN clause: the current schema.
    Current,
    /// IN ACCOUNT.
    Account,
    /// IN DATABASE [db].
    Database(Option<String>),
    /// IN SCHEMA [[db.]schema] or IN [db.]schema (empty: the current schema).
    Schema(Vec<String>),
}

/// One `KEY = value` option.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// Upper-case key (dotted for tag names).
    pub key: String,
    /// The value as parsed.
    pub value: Value,
}

/// An option value, keeping enough of its spelling to echo it in errors.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number as written.
    Num(String),
    /// A single-quoted string.
    Str(String),
    /// An unquoted word as written (its meaning is case-insensitive), possibly dotted.
    Word(String),
    /// A double-quoted identifier.
    Quoted(String),
    /// TRUE / FALSE (any case, so Python's `True` too).
    Bool(bool),
    /// NULL.
    Null,
    /// `( k = v … )`.
    Group(Vec<Prop>),
    /// `( v, v … )`.
    List(Vec<Value>),
}

impl Value {
    /// The value as the user wrote it, for error messages (`'x'` for strings, `X` for words).
    pub fn written(&self) -> String {
        match self {
            Value::Num(n) => n.clone(),
            Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Value::Word(w) => w.clone(),
            Value::Quoted(q) => format!("\"{q}\""),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Null => "NULL".to_string(),
            Value::Group(props) => format!("({})", props.iter().map(|p| format!("{}={}", p.key, p.value.written())).collect::<Vec<_>>().join(", ")),
            Value::List(items) => format!("({})", items.iter().map(Value::written).collect::<Vec<_>>().join(", ")),
        }
    }

    /// A boolean: TRUE/FALSE, or a string/word spelling one.
    pub fn as_bool(&self, key: &str) -> Result<bool, SfError> {
        match self {
            Value::Bool(b) => Ok(*b),
            Value::Str(s) | Value::Word(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::Str(s) | Value::Word(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            other => Err(SfError::invalid_value(key, &other.written())),
        }
    }

    /// An integer no smaller than `min`.
    pub fn as_int(&self, key: &str, min: i64) -> Result<i64, SfError> {
        let parsed = match self {
            Value::Num(n) | Value::Str(n) => n.trim().parse::<i64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n >= min => Ok(n),
            _ => Err(SfError::invalid_value(key, &self.written())),
        }
    }

    /// Free text (strings, numbers, quoted names; unquoted words upper-cased, as identifiers are).
    pub fn as_text(&self, key: &str) -> Result<String, SfError> {
        match self {
            Value::Word(w) => Ok(w.to_uppercase()),
            Value::Str(s) | Value::Quoted(s) | Value::Num(s) => Ok(s.clone()),
            other => Err(SfError::invalid_value(key, &other.written())),
        }
    }

    /// A keyword-like value (sizes, families, types): strings and words, upper-cased.
    pub fn as_keyword(&self, key: &str) -> Result<String, SfError> {
        match self {
            Value::Str(s) | Value::Word(s) => Ok(s.to_uppercase()),
            Value::Num(n) => Ok(n.clone()),
            other => Err(SfError::invalid_value(key, &other.written())),
        }
    }
}

/// A stage location `@[db.][schema.]stage[/path]` with its path's case kept.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRef {
    /// 1 to 3 name parts, unquoted ones upper-cased.
    pub name: Vec<String>,
    /// The path inside the stage ("" for the whole stage), without a leading slash.
    pub path: String,
}

impl StageRef {
    /// Parses `@name[/path]`; None for anything else. User (`@~`) and table (`@%t`) stages are
    /// returned with their marker as the only name part, so callers can refuse them by name.
    pub fn parse(raw: &str) -> Option<StageRef> {
        let rest = raw.trim().strip_prefix('@')?;
        if rest.starts_with('~') || rest.starts_with('%') {
            let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
            return Some(StageRef { name: vec![name.to_string()], path: path.trim_start_matches('/').to_string() });
        }
        let mut parts = Vec::new();
        let mut chars = rest.char_indices().peekable();
        let mut path_start = rest.len();
        loop {
            let mut part = String::new();
            match chars.peek() {
                Some((_, '"')) => {
                    chars.next();
                    loop {
                        match chars.next() {
                            Some((_, '"')) if matches!(chars.peek(), Some((_, '"'))) => {
                                chars.next();
                                part.push('"');
                            }
                            Some((_, '"')) => break,
                            Some((_, ch)) => part.push(ch),
                            None => return None,
                        }
                    }
                }
                _ => {
                    while let Some(&(_, ch)) = chars.peek() {
                        if ch == '.' || ch == '/' {
                            break;
                        }
                        part.push(ch.to_ascii_uppercase());
                        chars.next();
                    }
                    if part.is_empty() {
                        return None;
                    }
                }
            }
            parts.push(part);
            match chars.next() {
                Some((_, '.')) => continue,
                Some((i, '/')) => {
                    path_start = i + 1;
                    break;
                }
                None => break,
                Some(_) => return None,
            }
        }
        if parts.len() > 3 {
            return None;
        }
        Some(StageRef { name: parts, path: rest.get(path_start..).unwrap_or("").trim_start_matches('/').to_string() })
    }
}

/// Runs one of this module's statements.
pub(crate) async fn execute(engine: &Engine, session: &mut Session, stmt: ObjectStmt) -> Result<QueryResult, SfError> {
    use ObjectStmt::*;
    let is_ddl = matches!(
        stmt,
        CreateWarehouse { .. }
            | AlterWarehouse { .. }
            | DropWarehouse { .. }
            | CreateComputePool { .. }
            | AlterComputePool { .. }
            | DropComputePool { .. }
            | CreateImageRepository { .. }
            | DropImageRepository { .. }
            | CreateStage { .. }
            | DropStage { .. }
            | CreateFileFormat { .. }
            | DropFileFormat { .. }
    );
    if is_ddl {
        crate::ddl::implicit_commit(engine, session).await?;
    }
    authorize(engine, session, &stmt)?;
    let show_kind = match &stmt {
        ShowWarehouses { .. } => Some(WAREHOUSE),
        ShowComputePools { .. } => Some(COMPUTE_POOL),
        ShowImageRepositories { .. } => Some(IMAGE_REPOSITORY),
        ShowStages { .. } => Some(STAGE),
        ShowFileFormats { .. } => Some(file_format::FILE_FORMAT),
        _ => None,
    };
    let result = run(engine, session, stmt).await?;
    let Some(kind) = show_kind else { return Ok(result) };
    // SHOW lists what the current role can see.
    let catalog = engine.store().snapshot();
    let access = crate::access::Access::of(engine, session, &catalog);
    Ok(access.filter_show(&catalog, result, |v| match kind {
        WAREHOUSE | COMPUTE_POOL => Some(Securable::account_object(kind, &v("name")?)),
        _ => {
            let (db, schema, name) = (v("database_name")?, v("schema_name")?, v("name")?);
            let temp = crate::temp::stored_name(&name, session.id);
            let stored = if catalog.object(kind, &schema_scope(&db, &schema), &temp).is_some() { temp } else { name };
            Some(Securable::schema_object(kind, &db, &schema, &stored))
        }
    }))
}

/// The privilege checks of this module's statements (spcs.md §1.7, §2.3): creating needs the account
/// privilege (warehouses, compute pools) or CREATE <kind> on the schema; DROP and RENAME need ownership;
/// SUSPEND/RESUME need OPERATE, SET/UNSET MODIFY; DESCRIBE any privilege; LIST and GET READ (or WRITE),
/// REMOVE and PUT WRITE.
/// Objects the role cannot see at all do not exist for it.
fn authorize(engine: &Engine, session: &Session, stmt: &ObjectStmt) -> Result<(), SfError> {
    use ObjectStmt::*;
    let catalog = engine.store().snapshot();
    let access = crate::access::Access::of(engine, session, &catalog);
    if access.admin {
        return Ok(());
    }
    let pool_missing = |name: &str| SfError::kind_not_found("Compute pool", &display_ident(name));
    let wh_missing = |name: &str| SfError::kind_not_found("Warehouse", &display_ident(name));
    let account_object = |kind: &str, name: &str| Securable::account_object(kind, name);
    // Existing schema objects: (securable, not-found error); None when absent (the statement reports it).
    let schema_object = |kind: &str, parts: &[String], verb: &str| -> Result<Option<(Securable, SfError)>, SfError> {
        let (db, schema, name) = resolve(&catalog, session, parts, verb)?;
        let scope = schema_scope(&db, &schema);
        let temp = crate::temp::stored_name(&name, session.id);
        let stored = if catalog.object(kind, &scope, &temp).is_some() { temp } else { name.clone() };
        if catalog.object(kind, &scope, &stored).is_none() {
            return Ok(None);
        }
        let title = match kind {
            STAGE => "Stage",
            file_format::FILE_FORMAT => "File format",
            _ => "Image repository",
        };
        let missing = SfError::kind_not_found(title, &format!("{}.{}.{}", display_ident(&db), display_ident(&schema), display_ident(&name)));
        Ok(Some((Securable::schema_object(kind, &db, &schema, &stored), missing)))
    };
    let exists = |kind: &str, name: &str| catalog.object(kind, "", name).is_some();
    match stmt {
        CreateWarehouse { name, or_replace, .. } => {
            access.require_account(&catalog, "CREATE WAREHOUSE")?;
            if *or_replace && exists(WAREHOUSE, name) {
                access.require_owner(&catalog, &account_object(WAREHOUSE, name), || wh_missing(name))?;
            }
        }
        AlterWarehouse { name, action, .. } => {
            let Some(name) = name.clone().or_else(|| session.warehouse.clone()) else { return Ok(()) };
            if exists(WAREHOUSE, &name) {
                let privileges: &[&str] = match action {
                    WarehouseAction::Suspend | WarehouseAction::Resume { .. } | WarehouseAction::AbortAllQueries => &["OPERATE"],
                    WarehouseAction::Set(_) | WarehouseAction::Unset(_) => &["MODIFY"],
                    WarehouseAction::Rename(_) => &["OWNERSHIP"],
                };
                access.require(&catalog, privileges, &account_object(WAREHOUSE, &name), || wh_missing(&name))?;
            }
        }
        DropWarehouse { name, .. } if exists(WAREHOUSE, name) => access.require_owner(&catalog, &account_object(WAREHOUSE, name), || wh_missing(name))?,
        DescribeWarehouse { name } if exists(WAREHOUSE, name) && !access.can_see(&catalog, &account_object(WAREHOUSE, name)) => return Err(wh_missing(name)),
        CreateComputePool { .. } => access.require_account(&catalog, "CREATE COMPUTE POOL")?,
        AlterComputePool { name, action, .. } if exists(COMPUTE_POOL, name) => {
            let privileges: &[&str] = match action {
                PoolAction::Suspend | PoolAction::Resume | PoolAction::StopAll(_) => &["OPERATE"],
                PoolAction::Set(_) | PoolAction::Unset(_) => &["MODIFY"],
            };
            access.require(&catalog, privileges, &account_object(COMPUTE_POOL, name), || pool_missing(name))?;
        }
        DropComputePool { name, .. } if exists(COMPUTE_POOL, name) => access.require_owner(&catalog, &account_object(COMPUTE_POOL, name), || pool_missing(name))?,
        DescribeComputePool { name } if exists(COMPUTE_POOL, name) && !access.can_see(&catalog, &account_object(COMPUTE_POOL, name)) => return Err(pool_missing(name)),
        CreateImageRepository { name, or_replace, .. } | CreateStage { name, or_replace, .. } | CreateFileFormat { name, or_replace, .. } => {
            let (kind, privilege, verb) = match stmt {
                CreateStage { .. } => (STAGE, "CREATE STAGE", "CREATE STAGE"),
                CreateFileFormat { .. } => (file_format::FILE_FORMAT, "CREATE FILE FORMAT", "CREATE FILE FORMAT"),
                _ => (IMAGE_REPOSITORY, "CREATE IMAGE REPOSITORY", "CREATE IMAGE REPOSITORY"),
            };
            let (db, schema, _) = resolve(&catalog, session, name, verb)?;
            access.require_create_in_schema(&catalog, &db, &schema, privilege)?;
            if *or_replace && let Some((obj, missing)) = schema_object(kind, name, verb)? {
                access.require_owner(&catalog, &obj, || missing)?;
            }
        }
        DropImageRepository { name, .. } | DropStage { name, .. } | DropFileFormat { name, .. } => {
            let kind = match stmt {
                DropStage { .. } => STAGE,
                DropFileFormat { .. } => file_format::FILE_FORMAT,
                _ => IMAGE_REPOSITORY,
            };
            if let Ok(Some((obj, missing))) = schema_object(kind, name, "DROP") {
                access.require_owner(&catalog, &obj, || missing)?;
            }
        }
        ShowImages { repository, .. } => {
            // READ (or WRITE) on the repository and USAGE on its schema (spcs.md §2.3).
            if let Ok(Some((obj, missing))) = schema_object(IMAGE_REPOSITORY, repository, "SHOW IMAGES") {
                access.require_schema_usage(&catalog, &obj.parts[0], &obj.parts[1]).map_err(|_| missing.clone())?;
                access.require(&catalog, &["READ", "WRITE"], &obj, || missing)?;
            }
        }
        DescribeStage { name } => {
            if let Ok(Some((obj, missing))) = schema_object(STAGE, name, "DESCRIBE STAGE")
                && !access.can_see(&catalog, &obj)
            {
                return Err(missing);
            }
        }
        List { stage, .. }
        | Remove { stage, .. }
        | Put(transfer::PutStmt { stage, .. })
        | Get(transfer::GetStmt { stage, .. })
        | Copy(copy::CopyStmt::Load { stage, .. } | copy::CopyStmt::Unload { stage, .. }) => {
            let privilege = if matches!(stmt, List { .. } | Get(_) | Copy(copy::CopyStmt::Load { .. })) { "READ" } else { "WRITE" };
            if let Ok(Some((obj, missing))) = schema_object(STAGE, &stage.name, "LIST") {
                let (db, schema) = (obj.parts[0].clone(), obj.parts[1].clone());
                access.require_schema_usage(&catalog, &db, &schema).map_err(|_| missing.clone())?;
                // WRITE includes READ on a stage.
                let privileges: &[&str] = if privilege == "READ" { &["READ", "WRITE"] } else { &["WRITE"] };
                access.require(&catalog, privileges, &obj, || missing)?;
            }
        }
        _ => {}
    }
    Ok(())
}

async fn run(engine: &Engine, session: &mut Session, stmt: ObjectStmt) -> Result<QueryResult, SfError> {
    use ObjectStmt::*;
    match stmt {
        CreateWarehouse { name, or_replace, if_not_exists, props } => warehouse::create(engine, session, name, or_replace, if_not_exists, props).await,
        AlterWarehouse { name, if_exists, action } => warehouse::alter(engine, session, name, if_exists, action).await,
        DropWarehouse { name, if_exists } => warehouse::drop(engine, session, name, if_exists).await,
        DescribeWarehouse { name } => warehouse::describe(engine, &name),
        ShowWarehouses { like } => Ok(warehouse::show(engine, session, like.as_deref())),
        CreateComputePool { name, if_not_exists, application, props } => compute_pool::create(engine, session, name, if_not_exists, application, props).await,
        AlterComputePool { name, if_exists, action } => compute_pool::alter(engine, name, if_exists, action).await,
        DropComputePool { name, if_exists } => compute_pool::drop(engine, name, if_exists).await,
        DescribeComputePool { name } => compute_pool::describe(engine, &name),
        ShowComputePools { like, starts_with, limit, from } => Ok(compute_pool::show(engine, like.as_deref(), starts_with.as_deref(), limit, from.as_deref())),
        ShowInstanceFamilies { like } => Ok(compute_pool::show_instance_families(engine, like.as_deref())),
        CreateImageRepository { name, or_replace, if_not_exists, props } => image_repo::create(engine, session, name, or_replace, if_not_exists, props).await,
        DropImageRepository { name, if_exists } => image_repo::drop(engine, session, name, if_exists).await,
        ShowImageRepositories { like, scope } => image_repo::show(engine, session, like.as_deref(), scope),
        ShowImages { like, repository } => image_repo::show_images(engine, session, like.as_deref(), repository),
        CreateStage { name, or_replace, temporary, if_not_exists, props } => stage::create(engine, session, name, or_replace, temporary, if_not_exists, props).await,
        DropStage { name, if_exists } => stage::drop(engine, session, name, if_exists).await,
        DescribeStage { name } => stage::describe(engine, session, &name),
        ShowStages { like, scope } => stage::show(engine, session, like.as_deref(), scope),
        List { stage, pattern } => stage::list(engine, session, &stage, pattern.as_deref()).await,
        Remove { stage, pattern } => stage::remove(engine, session, &stage, pattern.as_deref()).await,
        CreateFileFormat { name, or_replace, temporary, if_not_exists, props } => file_format::create(engine, session, name, or_replace, temporary, if_not_exists, props).await,
        DropFileFormat { name, if_exists } => file_format::drop(engine, session, name, if_exists).await,
        DescribeFileFormat { name } => file_format::describe(engine, session, &name),
        ShowFileFormats { like, scope } => file_format::show(engine, session, like.as_deref(), scope),
        Copy(copy::CopyStmt::Load { table, columns, stage, items, options }) => copy::load(engine, session, &table, &columns, &stage, items.as_deref(), &options).await,
        Copy(copy::CopyStmt::Unload { stage, query, options }) => copy::unload(engine, session, &stage, &query, &options).await,
        Put(put) => transfer::put(engine, session, &put).await,
        Get(get) => transfer::get(engine, session, &get).await,
    }
}

/// Creates the objects a new Snowflake account has (warehouse COMPUTE_WH, once: dropping it is final)
/// and removes stage directories no stage owns (left by a crash or by temporary stages). Called at
/// server start, after `auth::ensure_admin`.
pub fn ensure_defaults(engine: &Engine) -> Result<(), SfError> {
    let catalog = engine.store().snapshot();
    if catalog.object(INIT, "", "COMPUTE_WH").is_none() {
        let mut ops = vec![Op::PutObject { kind: INIT.into(), scope: String::new(), name: "COMPUTE_WH".into(), body: serde_json::json!({"created_on": now()}) }];
        if catalog.object(WAREHOUSE, "", "COMPUTE_WH").is_none() {
            ops.push(put(WAREHOUSE, "", "COMPUTE_WH", &warehouse::Warehouse::compute_wh(engine, now())));
        }
        engine.store().commit(ops).map_err(crate::errors::from_store)?;
    }
    sweep_orphan_objects(engine)?;
    stage::sweep_orphan_dirs(engine, &engine.store().snapshot());
    Ok(())
}

/// Deletes schema objects whose schema no longer exists: earlier floe versions left services, job
/// services, secrets and network rules behind when their database or schema was dropped, and a
/// re-created database of the same name would have found them again.
fn sweep_orphan_objects(engine: &Engine) -> Result<(), SfError> {
    let catalog = engine.store().snapshot();
    let mut orphans = ScopedObjects::default();
    let mut seen = std::collections::BTreeSet::new();
    for kind in SCOPED_KINDS {
        for (_, _, body) in catalog.objects_of(kind) {
            let db = body.get("database").and_then(|v| v.as_str()).unwrap_or_default();
            let schema = body.get("schema").and_then(|v| v.as_str()).unwrap_or_default();
            if !db.is_empty() && catalog.schema(db, schema).is_none() && seen.insert((db.to_string(), schema.to_string())) {
                orphans.absorb(drop_scope(engine, &catalog, db, Some(schema)));
            }
        }
    }
    if orphans.ops.is_empty() {
        return Ok(());
    }
    tracing::info!(objects = orphans.ops.len(), "removing objects left behind by dropped databases and schemas");
    engine.store().commit(std::mem::take(&mut orphans.ops)).map_err(crate::errors::from_store)?;
    orphans.committed(engine);
    Ok(())
}

/// The kinds of schema objects that go with their schema (`drop_scope`).
const SCOPED_KINDS: [&str; 7] = [
    STAGE,
    IMAGE_REPOSITORY,
    file_format::FILE_FORMAT,
    crate::extfn::FUNCTION,
    crate::spcs::SERVICE,
    crate::spcs::secrets::SECRET,
    crate::spcs::secrets::NETWORK_RULE,
];

/// The schema objects (stages, image repositories, file formats, functions, services and job services,
/// secrets, network rules) of a database, or of one of its schemas: the ops deleting them, and what to
/// do once those are committed. DROP DATABASE/SCHEMA and CREATE OR REPLACE DATABASE add the ops to
/// their commit, then call `committed`.
#[derive(Default)]
pub struct ScopedObjects {
    /// Store ops deleting the objects.
    pub ops: Vec<Op>,
    /// Directories of the deleted stages.
    pub stage_dirs: Vec<std::path::PathBuf>,
    /// Unique ids of the deleted job services (marked deleted in the job history).
    pub jobs: Vec<String>,
    /// Whether services or jobs were deleted (the control plane then stops their containers).
    pub services: bool,
}

impl ScopedObjects {
    /// Adds another scope's objects to these.
    fn absorb(&mut self, mut other: ScopedObjects) {
        self.ops.append(&mut other.ops);
        self.stage_dirs.append(&mut other.stage_dirs);
        self.jobs.append(&mut other.jobs);
        self.services |= other.services;
    }

    /// After the commit: removes the stage directories, records the dropped jobs' deletion in the job
    /// history and wakes the control plane to stop the dropped services' containers.
    pub fn committed(self, engine: &Engine) {
        remove_stage_dirs(self.stage_dirs);
        if let Some(logs) = engine.spcs().logs() {
            for uid in &self.jobs {
                if let Err(e) = logs.mark_job_deleted(uid, now()) {
                    tracing::warn!(error = %e, "cannot record a dropped job's deletion in its history");
                }
            }
        }
        if self.services {
            engine.spcs().wake();
        }
    }
}

/// The schema objects of `kind` a SHOW covers: in the schemas of `scope`, visible to the session
/// (temporary ones only to their own), whose `name` matches LIKE; in schema order.
pub(crate) fn shown_objects<T: DeserializeOwned>(
    catalog: &Catalog,
    session: &Session,
    scope: &ShowScope,
    kind: &str,
    verb: &str,
    like: Option<&str>,
    name: impl Fn(&T) -> &str,
) -> Result<Vec<T>, SfError> {
    let matches = crate::show::like_matcher(like);
    let mut out = Vec::new();
    for (db, schema) in scope_schemas(catalog, session, scope, verb)? {
        let wanted = schema_scope(&db, &schema);
        for (sc, stored, _) in catalog.objects_of(kind) {
            if sc != wanted || !crate::temp::visible_to(stored, session.id) {
                continue;
            }
            if let Some(object) = get::<T>(catalog, kind, sc, stored)
                && matches(name(&object))
            {
                out.push(object);
            }
        }
    }
    Ok(out)
}

/// See `ScopedObjects`.
pub fn drop_scope(engine: &Engine, catalog: &Catalog, db: &str, schema: Option<&str>) -> ScopedObjects {
    use crate::spcs::{SERVICE, SERVICE_STATE};
    let mut out = ScopedObjects::default();
    for kind in SCOPED_KINDS {
        for (scope, name, body) in catalog.objects_of(kind) {
            let object_schema = body.get("schema").and_then(|v| v.as_str()).unwrap_or_default();
            let in_db = body.get("database").and_then(|v| v.as_str()) == Some(db);
            if in_db && schema.is_none_or(|s| s == object_schema) {
                out.ops.push(Op::DeleteObject { kind: kind.into(), scope: scope.into(), name: name.into() });
                if kind == STAGE {
                    out.stage_dirs.push(stage::stage_dir(engine.store().path(), db, object_schema, name));
                }
                if kind == SERVICE {
                    // As DROP SERVICE: its state goes too, and the control plane stops its containers.
                    out.ops.push(Op::DeleteObject { kind: SERVICE_STATE.into(), scope: scope.into(), name: name.into() });
                    out.services = true;
                    if body.get("is_job").and_then(|v| v.as_bool()) == Some(true)
                        && let Some(uid) = body.get("uid").and_then(|v| v.as_str())
                    {
                        out.jobs.push(uid.to_string());
                    }
                }
            }
        }
    }
    out
}

/// Removes the directories of stages whose deletion was committed (errors are left to the start-up sweep).
pub fn remove_stage_dirs(dirs: Vec<std::path::PathBuf>) {
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn ok(statement_type: u32) -> QueryResult {
    QueryResult::message(statement_type, "Statement executed successfully.")
}

pub(crate) fn message(text: impl Into<String>) -> QueryResult {
    QueryResult::message(statement_type::DDL, text)
}

/// `X successfully dropped.` / `Drop statement executed successfully (X already dropped).`
pub(crate) fn dropped(name: &str, existed: bool) -> QueryResult {
    if existed {
        message(format!("{} successfully dropped.", display_ident(name)))
    } else {
        message(format!("Drop statement executed successfully ({} already dropped).", display_ident(name)))
    }
}

/// The `scope` of a schema object.
pub(crate) fn schema_scope(db: &str, schema: &str) -> String {
    format!("{db}.{schema}")
}

/// Reads a stored object body into its struct.
pub(crate) fn get<T: DeserializeOwned>(catalog: &Catalog, kind: &str, scope: &str, name: &str) -> Option<T> {
    catalog.object(kind, scope, name).and_then(|body| serde_json::from_value(body.as_ref().clone()).ok())
}

/// All stored objects of a kind, decoded (undecodable bodies are skipped).
pub(crate) fn all<T: DeserializeOwned>(catalog: &Catalog, kind: &str) -> Vec<(String, String, T)> {
    catalog
        .objects_of(kind)
        .filter_map(|(scope, name, body)| serde_json::from_value(body.clone()).ok().map(|t| (scope.to_string(), name.to_string(), t)))
        .collect()
}

/// The op storing an object body.
pub(crate) fn put<T: Serialize>(kind: &str, scope: &str, name: &str, body: &T) -> Op {
    Op::PutObject { kind: kind.into(), scope: scope.into(), name: name.into(), body: serde_json::to_value(body).expect("object bodies serialise") }
}

/// One fsynced store commit off the async runtime.
pub(crate) async fn commit(engine: &Engine, ops: Vec<Op>) -> Result<(), SfError> {
    let store = engine.store().clone();
    tokio::task::spawn_blocking(move || store.commit(ops))
        .await
        .map_err(|e| SfError::internal(e.to_string()))?
        .map(|_| ())
        .map_err(crate::errors::from_store)
}

/// Resolves a 1–3 part schema-object name against the session's database and schema, checking that the
/// schema exists.
pub(crate) fn resolve(catalog: &Catalog, session: &Session, parts: &[String], verb: &str) -> Result<(String, String, String), SfError> {
    let (db, schema, name) = match parts {
        [name] => (
            session.database.clone().ok_or_else(|| SfError::no_current("database", verb))?,
            session.schema.clone().ok_or_else(|| SfError::no_current("schema", verb))?,
            name.clone(),
        ),
        [schema, name] => (session.database.clone().ok_or_else(|| SfError::no_current("database", verb))?, schema.clone(), name.clone()),
        [db, schema, name] => (db.clone(), schema.clone(), name.clone()),
        _ => return Err(SfError::compilation("invalid object name")),
    };
    if !catalog.databases.contains_key(&db) {
        return Err(SfError::kind_not_found("Database", &display_ident(&db)));
    }
    if catalog.schema(&db, &schema).is_none() {
        return Err(SfError::kind_not_found("Schema", &format!("{}.{}", display_ident(&db), display_ident(&schema))));
    }
    Ok((db, schema, name))
}

/// The schemas a SHOW of schema objects covers.
pub(crate) fn scope_schemas(catalog: &Catalog, session: &Session, scope: &ShowScope, verb: &str) -> Result<Vec<(String, String)>, SfError> {
    let current_db = || session.database.clone().ok_or_else(|| SfError::no_current("database", verb));
    let schemas_of = |db: &str| -> Result<Vec<(String, String)>, SfError> {
        let d = catalog.databases.get(db).ok_or_else(|| SfError::kind_not_found("Database", &display_ident(db)))?;
        Ok(d.schemas.keys().map(|s| (db.to_string(), s.clone())).collect())
    };
    let one = |db: String, schema: String| -> Result<Vec<(String, String)>, SfError> {
        if catalog.schema(&db, &schema).is_none() {
            return Err(SfError::kind_not_found("Schema", &format!("{}.{}", display_ident(&db), display_ident(&schema))));
        }
        Ok(vec![(db, schema)])
    };
    match scope {
        ShowScope::Account => Ok(catalog.databases.values().flat_map(|d| d.schemas.keys().map(|s| (d.name.clone(), s.clone()))).collect()),
        ShowScope::Database(Some(db)) => schemas_of(db),
        ShowScope::Database(None) => schemas_of(&current_db()?),
        ShowScope::Schema(parts) => match parts.as_slice() {
            [db, schema] => one(db.clone(), schema.clone()),
            [schema] => one(current_db()?, schema.clone()),
            _ => one(current_db()?, session.schema.clone().ok_or_else(|| SfError::no_current("schema", verb))?),
        },
        ShowScope::Current => match (&session.database, &session.schema) {
            (Some(db), Some(schema)) => one(db.clone(), schema.clone()),
            (Some(db), None) => schemas_of(db),
            (None, _) => Err(SfError::no_current("database", verb)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_refs() {
        let r = StageRef::parse("@s").unwrap();
        assert_eq!((r.name, r.path), (vec!["S".to_string()], String::new()));
        let r = StageRef::parse("@db.\"Mixed.Case\".st/a/B.csv").unwrap();
        assert_eq!(r.name, ["DB", "Mixed.Case", "ST"]);
        assert_eq!(r.path, "a/B.csv");
        assert_eq!(StageRef::parse("@~/x").unwrap().name, ["~"]);
        assert!(StageRef::parse("s").is_none());
        assert!(StageRef::parse("@a.b.c.d").is_none());
    }

    #[test]
    fn values_convert_and_echo() {
        assert!(Value::Word("TRUE".into()).as_bool("X").unwrap());
        assert!(!Value::Str("false".into()).as_bool("X").unwrap());
        let err = Value::Str("maybe".into()).as_bool("AUTO_RESUME").unwrap_err();
        assert_eq!(err.message, "SQL compilation error: invalid value ['maybe'] for parameter 'AUTO_RESUME'");
        assert_eq!(Value::Num("5".into()).as_int("N", 1).unwrap(), 5);
        assert!(Value::Num("0".into()).as_int("N", 1).is_err());
        assert!(Value::Num("1.5".into()).as_int("N", 1).is_err());
        assert_eq!(Value::Str("x-small".into()).as_keyword("S").unwrap(), "X-SMALL");
    }
}
