//! Internal stages (spcs.md §3): CREATE/DROP/DESCRIBE/SHOW STAGE(S), LIST and REMOVE.
//!
//! A stage's files are plain files in `<data-dir>/stages/<db>/<schema>/<stage>/` (`stage_dir`; name
//! parts are percent-encoded so any identifier is a safe directory name), created with the stage and
//! removed with it; sub-directories are path prefixes (`@s/a/b.csv` is `<dir>/a/b.csv`). File names
//! starting with `.floe-` are in-progress writes and never listed: a writer (PUT) writes such a name and
//! renames it into place.
//!
//! Temporary stages are stored as `<name>\u{1e}<session id>` like temporary tables (`crate::temp`): only
//! their session sees them, and they are dropped with it. Directories no stage owns (a crash between
//! creating a directory and committing, a closed session's temporary stage) are removed at start.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use model::{SfError, display_ident};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{Prop, STAGE, ShowScope, StageRef, Value, commit, dropped, get, message, now, put, resolve, schema_scope};
use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build};

/// A stage as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stage {
    /// The name users see.
    pub name: String,
    /// Database.
    pub database: String,
    /// Schema.
    pub schema: String,
    /// The owning session of a temporary stage.
    #[serde(default)]
    pub temporary_session: Option<u64>,
    /// SNOWFLAKE_FULL (default) or SNOWFLAKE_SSE.
    pub encryption: String,
    /// DIRECTORY = (ENABLE = …).
    pub directory_enabled: bool,
    /// DIRECTORY = (AUTO_REFRESH = …).
    #[serde(default)]
    pub directory_auto_refresh: bool,
    /// FILE_FORMAT options given (upper-case keys, values as DESCRIBE shows them).
    #[serde(default)]
    pub file_format: BTreeMap<String, String>,
    /// COPY_OPTIONS given.
    #[serde(default)]
    pub copy_options: BTreeMap<String, String>,
    /// COMMENT.
    pub comment: Option<String>,
    /// Epoch ms.
    pub created_on: i64,
    /// Owning role.
    pub owner: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A stage as a statement resolved it.
#[derive(Debug, Clone)]
pub struct ResolvedStage {
    /// Database.
    pub database: String,
    /// Schema.
    pub schema: String,
    /// The stored name (`name\u{1e}session` for a temporary stage).
    pub stored_name: String,
    /// The stage.
    pub stage: Stage,
    /// Its files' directory.
    pub dir: PathBuf,
}

/// Where every stage directory lives.
pub fn stages_root(data_dir: &Path) -> PathBuf {
    data_dir.join("stages")
}

/// The directory of stage `stored_name` in `db.schema`.
pub fn stage_dir(data_dir: &Path, db: &str, schema: &str, stored_name: &str) -> PathBuf {
    stages_root(data_dir).join(encode(db)).join(encode(schema)).join(encode(stored_name))
}

/// Percent-encodes everything but ASCII letters, digits, `_`, `$` and `-`.
fn encode(part: &str) -> String {
    let mut out = String::new();
    for b in part.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Resolves `@[db.][schema.]name` for a session (its temporary stage first), or Snowflake's 002003.
pub fn resolve_stage(engine: &Engine, session: &Session, parts: &[String], verb: &str) -> Result<ResolvedStage, SfError> {
    if parts.first().is_some_and(|p| p.starts_with('~') || p.starts_with('%')) {
        return Err(SfError::unsupported("user and table stages"));
    }
    let catalog = engine.store().snapshot();
    let (db, schema, name) = resolve(&catalog, session, parts, verb)?;
    let scope = schema_scope(&db, &schema);
    let temp = crate::temp::stored_name(&name, session.id);
    let found = get::<Stage>(&catalog, STAGE, &scope, &temp).map(|s| (temp, s)).or_else(|| get::<Stage>(&catalog, STAGE, &scope, &name).map(|s| (name.clone(), s)));
    let Some((stored_name, stage)) = found else { return Err(not_found(&db, &schema, &name)) };
    let dir = stage_dir(engine.store().path(), &db, &schema, &stored_name);
    Ok(ResolvedStage { database: db, schema, stored_name, stage, dir })
}

fn not_found(db: &str, schema: &str, name: &str) -> SfError {
    SfError::kind_not_found("Stage", &format!("{}.{}.{}", display_ident(db), display_ident(schema), display_ident(name)))
}

/// A value as DESCRIBE STAGE shows it.
fn shown(v: &Value) -> String {
    match v {
        Value::Word(w) => w.to_uppercase(),
        Value::Str(s) | Value::Quoted(s) | Value::Num(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "NULL".into(),
        Value::List(items) => format!("[{}]", items.iter().map(shown).collect::<Vec<_>>().join(", ")),
        Value::Group(_) => v.written(),
    }
}

const FILE_TYPES: &[&str] = &["CSV", "JSON", "AVRO", "ORC", "PARQUET", "XML", "CUSTOM"];

impl Stage {
    /// Applies CREATE STAGE's options; external-stage options are refused.
    pub fn apply(&mut self, props: &[Prop]) -> Result<(), SfError> {
        for p in props {
            match p.key.as_str() {
                "ENCRYPTION" => self.encryption = super::image_repo::encryption(&p.value)?,
                "DIRECTORY" => {
                    let Value::Group(items) = &p.value else { return Err(SfError::invalid_value("DIRECTORY", &p.value.written())) };
                    for item in items {
                        match item.key.as_str() {
                            "ENABLE" => self.directory_enabled = item.value.as_bool("ENABLE")?,
                            "AUTO_REFRESH" => self.directory_auto_refresh = item.value.as_bool("AUTO_REFRESH")?,
                            "REFRESH_ON_CREATE" => {
                                item.value.as_bool("REFRESH_ON_CREATE")?;
                            }
                            "NOTIFICATION_INTEGRATION" => {}
                            other => return Err(SfError::compilation(format!("invalid property '{other}' for 'DIRECTORY'"))),
                        }
                    }
                }
                "FILE_FORMAT" => {
                    let Value::Group(items) = &p.value else { return Err(SfError::invalid_value("FILE_FORMAT", &p.value.written())) };
                    for item in items {
                        let value = match item.key.as_str() {
                            "TYPE" => {
                                let t = item.value.as_keyword("TYPE")?;
                                if !FILE_TYPES.contains(&t.as_str()) {
                                    return Err(SfError::invalid_value("TYPE", &item.value.written()));
                                }
                                t
                            }
                            _ => shown(&item.value),
                        };
                        self.file_format.insert(item.key.clone(), value);
                    }
                }
                "COPY_OPTIONS" => {
                    let Value::Group(items) = &p.value else { return Err(SfError::invalid_value("COPY_OPTIONS", &p.value.written())) };
                    for item in items {
                        self.copy_options.insert(item.key.clone(), shown(&item.value));
                    }
                }
                "COMMENT" => self.comment = Some(p.value.as_text("COMMENT")?),
                "TAG" => {
                    if let Value::Group(tags) = &p.value {
                        for t in tags {
                            self.tags.insert(t.key.clone(), t.value.as_text("TAG")?);
                        }
                    }
                }
                "URL" | "STORAGE_INTEGRATION" | "CREDENTIALS" | "ENDPOINT" | "USE_PRIVATELINK_ENDPOINT" => return Err(SfError::unsupported("external stages")),
                other => return Err(SfError::compilation(format!("invalid property '{other}' for 'STAGE'"))),
            }
        }
        Ok(())
    }
}

pub(super) async fn create(
    engine: &Engine,
    session: &Session,
    name: Vec<String>,
    or_replace: bool,
    temporary: bool,
    if_not_exists: bool,
    props: Vec<Prop>,
) -> Result<QueryResult, SfError> {
    if or_replace && if_not_exists {
        return Err(SfError::compilation("OR REPLACE and IF NOT EXISTS are incompatible."));
    }
    let catalog = engine.store().snapshot();
    let (db, schema, name) = resolve(&catalog, session, &name, "CREATE STAGE")?;
    let scope = schema_scope(&db, &schema);
    let stored = if temporary { crate::temp::stored_name(&name, session.id) } else { name.clone() };
    let exists = catalog.object(STAGE, &scope, &stored).is_some();
    if exists && !or_replace {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        return Err(SfError::already_exists(&display_ident(&name)));
    }
    let mut stage = Stage {
        name: name.clone(),
        database: db.clone(),
        schema: schema.clone(),
        temporary_session: temporary.then_some(session.id),
        encryption: "SNOWFLAKE_FULL".into(),
        directory_enabled: false,
        directory_auto_refresh: false,
        file_format: BTreeMap::new(),
        copy_options: BTreeMap::new(),
        comment: None,
        created_on: now(),
        owner: session.role.clone(),
        tags: BTreeMap::new(),
    };
    stage.apply(&props)?;
    let dir = stage_dir(engine.store().path(), &db, &schema, &stored);
    // A new stage's directory exists before the commit (a crash leaves an orphan, removed at start); a
    // replaced stage starts empty once the replacement is committed.
    let fresh = dir.clone();
    blocking(move || {
        if !exists {
            let _ = std::fs::remove_dir_all(&fresh);
        }
        std::fs::create_dir_all(&fresh)
    })
    .await?
    .map_err(|e| SfError::internal(format!("cannot create stage directory: {e}")))?;
    if let Err(e) = commit(engine, vec![put(STAGE, &scope, &stored, &stage)]).await {
        if !exists {
            let _ = std::fs::remove_dir_all(&dir);
        }
        return Err(e);
    }
    if exists {
        blocking(move || {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)
        })
        .await?
        .map_err(|e| SfError::internal(format!("cannot empty stage directory: {e}")))?;
    }
    Ok(message(format!("Stage area {} successfully created.", display_ident(&name))))
}

pub(super) async fn drop(engine: &Engine, session: &Session, name: Vec<String>, if_exists: bool) -> Result<QueryResult, SfError> {
    let shown_name = name.last().cloned().unwrap_or_default();
    let resolved = match resolve_stage(engine, session, &name, "DROP STAGE") {
        Ok(r) => r,
        Err(e) if if_exists && e.code == "002003" => return Ok(dropped(&shown_name, false)),
        Err(e) => return Err(e),
    };
    let scope = schema_scope(&resolved.database, &resolved.schema);
    commit(engine, vec![store::Op::DeleteObject { kind: STAGE.into(), scope, name: resolved.stored_name.clone() }]).await?;
    let dir = resolved.dir.clone();
    blocking(move || {
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await?;
    Ok(dropped(&resolved.stage.name, true))
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

/// (property, type, default) of STAGE_FILE_FORMAT (CSV) and STAGE_COPY_OPTIONS, in Snowflake's order.
const FILE_FORMAT_DEFAULTS: &[(&str, &str, &str)] = &[
    ("TYPE", "String", "CSV"),
    ("RECORD_DELIMITER", "String", "\\n"),
    ("FIELD_DELIMITER", "String", ","),
    ("FILE_EXTENSION", "String", ""),
    ("SKIP_HEADER", "Integer", "0"),
    ("PARSE_HEADER", "Boolean", "false"),
    ("DATE_FORMAT", "String", "AUTO"),
    ("TIME_FORMAT", "String", "AUTO"),
    ("TIMESTAMP_FORMAT", "String", "AUTO"),
    ("BINARY_FORMAT", "String", "HEX"),
    ("ESCAPE", "String", "NONE"),
    ("ESCAPE_UNENCLOSED_FIELD", "String", "\\\\"),
    ("TRIM_SPACE", "Boolean", "false"),
    ("FIELD_OPTIONALLY_ENCLOSED_BY", "String", "NONE"),
    ("NULL_IF", "List", "[\\\\N]"),
    ("COMPRESSION", "String", "AUTO"),
    ("ERROR_ON_COLUMN_COUNT_MISMATCH", "Boolean", "true"),
    ("VALIDATE_UTF8", "Boolean", "true"),
    ("SKIP_BLANK_LINES", "Boolean", "false"),
    ("REPLACE_INVALID_CHARACTERS", "Boolean", "false"),
    ("EMPTY_FIELD_AS_NULL", "Boolean", "true"),
    ("SKIP_BYTE_ORDER_MARK", "Boolean", "true"),
    ("ENCODING", "String", "UTF8"),
    ("MULTI_LINE", "Boolean", "true"),
];
const COPY_OPTION_DEFAULTS: &[(&str, &str, &str)] = &[
    ("ON_ERROR", "String", "ABORT_STATEMENT"),
    ("SIZE_LIMIT", "Long", ""),
    ("PURGE", "Boolean", "false"),
    ("RETURN_FAILED_ONLY", "Boolean", "false"),
    ("ENFORCE_LENGTH", "Boolean", "true"),
    ("TRUNCATECOLUMNS", "Boolean", "false"),
    ("FORCE", "Boolean", "false"),
];

pub(super) fn describe(engine: &Engine, session: &Session, name: &[String]) -> Result<QueryResult, SfError> {
    let stage = resolve_stage(engine, session, name, "DESCRIBE STAGE")?.stage;
    let mut rows: Vec<(&str, String, &str, String, String)> = Vec::new();
    let mut section = |parent: &'static str, defaults: &[(&'static str, &'static str, &'static str)], set: &BTreeMap<String, String>| {
        for (prop, kind, default) in defaults {
            let value = set.get(*prop).cloned().unwrap_or_else(|| default.to_string());
            rows.push((parent, prop.to_string(), kind, value, default.to_string()));
        }
        for (prop, value) in set.iter().filter(|(k, _)| !defaults.iter().any(|(d, _, _)| d == k)) {
            rows.push((parent, prop.clone(), "String", value.clone(), String::new()));
        }
    };
    section("STAGE_FILE_FORMAT", FILE_FORMAT_DEFAULTS, &stage.file_format);
    section("STAGE_COPY_OPTIONS", COPY_OPTION_DEFAULTS, &stage.copy_options);
    rows.push(("STAGE_LOCATION", "URL".into(), "String", String::new(), String::new()));
    rows.push(("STAGE_INTEGRATION", "STORAGE_INTEGRATION".into(), "String", String::new(), String::new()));
    rows.push(("DIRECTORY", "ENABLE".into(), "Boolean", stage.directory_enabled.to_string(), "false".into()));
    rows.push(("DIRECTORY", "AUTO_REFRESH".into(), "Boolean", stage.directory_auto_refresh.to_string(), "false".into()));
    Ok(build(
        statement_type::DESCRIBE,
        vec![
            Col::Text("parent_property", rows.iter().map(|r| s(r.0)).collect()),
            Col::Text("property", rows.iter().map(|r| s(r.1.clone())).collect()),
            Col::Text("property_type", rows.iter().map(|r| s(r.2)).collect()),
            Col::Text("property_value", rows.iter().map(|r| s(r.3.clone())).collect()),
            Col::Text("property_default", rows.iter().map(|r| s(r.4.clone())).collect()),
        ],
    ))
}

pub(super) fn show(engine: &Engine, session: &Session, like: Option<&str>, scope: ShowScope) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let mut rows = super::shown_objects(&catalog, session, &scope, STAGE, "SHOW STAGES", like, |s: &Stage| &s.name)?;
    rows.sort_by(|a, b| (&a.database, &a.schema, &a.name, a.temporary_session).cmp(&(&b.database, &b.schema, &b.name, b.temporary_session)));
    let none = || rows.iter().map(|_| None).collect::<Vec<Option<String>>>();
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Time("created_on", rows.iter().map(|r| Some(r.created_on)).collect()),
            Col::Text("name", rows.iter().map(|r| s(&r.name)).collect()),
            Col::Text("database_name", rows.iter().map(|r| s(&r.database)).collect()),
            Col::Text("schema_name", rows.iter().map(|r| s(&r.schema)).collect()),
            Col::Text("url", rows.iter().map(|_| s("")).collect()),
            Col::Text("has_credentials", rows.iter().map(|_| s("N")).collect()),
            Col::Text("has_encryption_key", rows.iter().map(|_| s("N")).collect()),
            Col::Text("owner", rows.iter().map(|r| s(&r.owner)).collect()),
            Col::Text("comment", rows.iter().map(|r| s(r.comment.clone().unwrap_or_default())).collect()),
            Col::Text("region", none()),
            Col::Text("type", rows.iter().map(|r| s(if r.temporary_session.is_some() { "INTERNAL TEMPORARY" } else { "INTERNAL" })).collect()),
            Col::Text("cloud", none()),
            Col::Text("notification_channel", none()),
            Col::Text("storage_integration", none()),
            Col::Text("endpoint", none()),
            Col::Text("owner_role_type", rows.iter().map(|_| s("ROLE")).collect()),
            Col::Text("directory_enabled", rows.iter().map(|r| s(if r.directory_enabled { "Y" } else { "N" })).collect()),
        ],
    ))
}

/// One file of a stage.
#[derive(Debug, Clone)]
pub struct StageFile {
    /// Path relative to the stage, `/`-separated.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Modification time.
    pub modified: SystemTime,
    /// Where it is on disk.
    pub full_path: PathBuf,
}

/// Every file of a stage directory, sorted by path (in-progress `.floe-*` files left out).
pub fn stage_files(dir: &Path) -> std::io::Result<Vec<StageFile>> {
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = pending.pop() {
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".floe-") {
                continue;
            }
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let meta = entry.metadata()?;
            if meta.is_dir() {
                pending.push((entry.path(), rel));
            } else {
                out.push(StageFile { path: rel, size: meta.len(), modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), full_path: entry.path() });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The files of a LIST or REMOVE: under the path prefix and, with PATTERN, matching the regular
/// expression (whole-string, against the listed name or the path inside the stage).
fn selected(dir: &Path, stage_name: &str, prefix: &str, pattern: Option<&Regex>) -> Result<Vec<(String, StageFile)>, SfError> {
    let files = stage_files(dir).map_err(|e| SfError::internal(format!("cannot read stage: {e}")))?;
    Ok(files
        .into_iter()
        .filter(|f| f.path.starts_with(prefix))
        .map(|f| (format!("{}/{}", stage_name.to_lowercase(), f.path), f))
        .filter(|(listed, f)| pattern.is_none_or(|re| re.is_match(listed) || re.is_match(&f.path)))
        .collect())
}

fn pattern_regex(pattern: Option<&str>) -> Result<Option<Regex>, SfError> {
    pattern
        .map(|p| Regex::new(&format!("^(?:{p})$")).map_err(|_| SfError::compilation(format!("invalid regular expression '{p}' for PATTERN"))))
        .transpose()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, SfError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SfError::internal(e.to_string()))
}

/// MD5 (hex) of a stage file, as LIST shows it; COPY's load history keys on it.
pub fn md5_of(path: &Path) -> std::io::Result<String> {
    md5_hex(path)
}

fn md5_hex(path: &Path) -> std::io::Result<String> {
    use md5::{Digest, Md5};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `Tue, 22 Oct 2024 01:12:29 GMT`.
fn http_date(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub(super) async fn list(engine: &Engine, session: &Session, stage: &StageRef, pattern: Option<&str>) -> Result<QueryResult, SfError> {
    let resolved = resolve_stage(engine, session, &stage.name, "LIST")?;
    let re = pattern_regex(pattern)?;
    let prefix = stage.path.clone();
    let name = resolved.stage.name.clone();
    let dir = resolved.dir.clone();
    let rows = blocking(move || -> Result<Vec<(String, u64, String, String)>, SfError> {
        selected(&dir, &name, &prefix, re.as_ref())?
            .into_iter()
            .map(|(listed, f)| {
                let md5 = md5_hex(&f.full_path).map_err(|e| SfError::internal(format!("cannot read stage file: {e}")))?;
                Ok((listed, f.size, md5, http_date(f.modified)))
            })
            .collect()
    })
    .await??;
    Ok(build(
        statement_type::SELECT,
        vec![
            Col::Text("name", rows.iter().map(|r| s(&r.0)).collect()),
            Col::Num("size", rows.iter().map(|r| Some(r.1 as i64)).collect()),
            Col::Text("md5", rows.iter().map(|r| s(&r.2)).collect()),
            Col::Text("last_modified", rows.iter().map(|r| s(&r.3)).collect()),
        ],
    ))
}

pub(super) async fn remove(engine: &Engine, session: &Session, stage: &StageRef, pattern: Option<&str>) -> Result<QueryResult, SfError> {
    let resolved = resolve_stage(engine, session, &stage.name, "REMOVE")?;
    let re = pattern_regex(pattern)?;
    let prefix = stage.path.clone();
    let name = resolved.stage.name.clone();
    let dir = resolved.dir.clone();
    let removed = blocking(move || -> Result<Vec<String>, SfError> {
        let mut removed = Vec::new();
        for (listed, f) in selected(&dir, &name, &prefix, re.as_ref())? {
            match std::fs::remove_file(&f.full_path) {
                Ok(()) => removed.push(listed),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SfError::internal(format!("cannot remove stage file: {e}"))),
            }
        }
        remove_empty_dirs(&dir, true);
        Ok(removed)
    })
    .await??;
    Ok(build(
        statement_type::SELECT,
        vec![Col::Text("name", removed.iter().map(s).collect()), Col::Text("result", removed.iter().map(|_| s("removed")).collect())],
    ))
}

/// `select_files` on the calling thread, for readers that run while a statement is planned
/// (INFER_SCHEMA).
pub fn select_files_now(resolved: &ResolvedStage, prefix: &str, pattern: Option<&str>) -> Result<Vec<String>, SfError> {
    let re = pattern_regex(pattern)?;
    selected(&resolved.dir, &resolved.stage.name, prefix, re.as_ref()).map(|files| files.into_iter().map(|(_, f)| f.path).collect())
}

/// The paths (inside the stage) of the files GET reads: under `prefix`, matching PATTERN.
pub async fn select_files(resolved: &ResolvedStage, prefix: &str, pattern: Option<&str>) -> Result<Vec<String>, SfError> {
    let re = pattern_regex(pattern)?;
    let (dir, name, prefix) = (resolved.dir.clone(), resolved.stage.name.clone(), prefix.to_string());
    blocking(move || selected(&dir, &name, &prefix, re.as_ref()).map(|files| files.into_iter().map(|(_, f)| f.path).collect())).await?
}

/// The file of `dir` at `rel` (a `/`-separated path inside the stage), refusing anything that could
/// leave the stage directory or name an in-progress write.
pub fn stage_file_path(dir: &Path, rel: &str) -> Option<PathBuf> {
    if rel.is_empty() || rel.len() > 1024 {
        return None;
    }
    let mut path = dir.to_path_buf();
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.starts_with(".floe-") || part.contains(['\\', '\0']) {
            return None;
        }
        path.push(part);
    }
    Some(path)
}

/// Where an upload of `final_path` is written before it is renamed into place (`.floe-*`, never
/// listed); creates the parent directories.
pub fn upload_temp_path(final_path: &Path) -> std::io::Result<PathBuf> {
    let parent = final_path.parent().ok_or_else(|| std::io::Error::other("no parent directory"))?;
    std::fs::create_dir_all(parent)?;
    Ok(parent.join(format!(".floe-{}", uuid::Uuid::new_v4().simple())))
}

/// Base64 SHA-256 of a file: the `sfc-digest` the connector stores with an upload and compares before
/// uploading again.
pub fn sha256_base64(path: &Path) -> std::io::Result<String> {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(hasher.finalize()))
}

/// Removes empty sub-directories (and `dir` itself unless `keep_root`).
fn remove_empty_dirs(dir: &Path, keep_root: bool) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&entry.path(), false);
            }
        }
    }
    if !keep_root {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes stage directories that no stage in `catalog` owns. Only safe when no CREATE STAGE is in
/// flight (at start).
pub fn sweep_orphan_dirs(engine: &Engine, catalog: &store::Catalog) {
    let data_dir = engine.store().path();
    let root = stages_root(data_dir);
    let owned: BTreeSet<PathBuf> = catalog
        .objects_of(STAGE)
        .filter_map(|(_, stored, body)| {
            let db = body.get("database")?.as_str()?;
            let schema = body.get("schema")?.as_str()?;
            Some(stage_dir(data_dir, db, schema, stored))
        })
        .collect();
    let children = |p: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(p).map(|it| it.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()).collect()).unwrap_or_default()
    };
    for db in children(&root) {
        for schema in children(&db) {
            for stage in children(&schema) {
                if !owned.contains(&stage)
                    && let Err(e) = std::fs::remove_dir_all(&stage)
                {
                    tracing::warn!(dir = %stage.display(), error = %e, "could not remove orphan stage directory");
                }
            }
            let _ = std::fs::remove_dir(&schema);
        }
        let _ = std::fs::remove_dir(&db);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_are_safe() {
        assert_eq!(encode("MY_STAGE"), "MY_STAGE");
        assert_eq!(encode("a/b.c"), "a%2Fb%2Ec");
        assert_eq!(encode(&crate::temp::stored_name("S", 7)), "S%1E7");
    }

    #[test]
    fn files_prefix_and_pattern() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/a.csv"), "1\n").unwrap();
        std::fs::write(dir.path().join("data/b.json"), "{}").unwrap();
        std::fs::write(dir.path().join("spec.yaml"), "x").unwrap();
        std::fs::write(dir.path().join(".floe-upload"), "partial").unwrap();
        let all = selected(dir.path(), "S1", "", None).unwrap();
        assert_eq!(all.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["s1/data/a.csv", "s1/data/b.json", "s1/spec.yaml"]);
        assert_eq!(selected(dir.path(), "S1", "data/", None).unwrap().len(), 2);
        let re = pattern_regex(Some(".*[.]csv")).unwrap();
        assert_eq!(selected(dir.path(), "S1", "", re.as_ref()).unwrap().len(), 1);
        assert_eq!(md5_hex(&dir.path().join("spec.yaml")).unwrap(), "9dd4e461268c8034f5c8564e155c67a6");
        assert!(http_date(SystemTime::UNIX_EPOCH).starts_with("Thu, 01 Jan 1970 00:00:00 GMT"));
    }
}
