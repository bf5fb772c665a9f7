//! Named file formats: CREATE [OR REPLACE] [TEMPORARY] FILE FORMAT, DROP, SHOW FILE FORMATS, DESCRIBE
//! FILE FORMAT, stored as generic schema objects (kind `FILE_FORMAT`) like stages; and `FormatOptions`,
//! the parsed options COPY INTO reads and writes files with (a named format's, a stage's or inline).
//!
//! Options keep their spelling as DESCRIBE shows them; `FormatOptions::from_map` gives them meaning
//! (TYPE, FIELD_DELIMITER, SKIP_HEADER, FIELD_OPTIONALLY_ENCLOSED_BY, NULL_IF, EMPTY_FIELD_AS_NULL,
//! COMPRESSION, PARSE_HEADER, STRIP_OUTER_ARRAY, …) and rejects values floe cannot honour.

use std::collections::BTreeMap;

use model::{SfError, display_ident};
use serde::{Deserialize, Serialize};

use super::{Prop, ShowScope, Value, commit, dropped, get, message, now, put, resolve, schema_scope};
use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build};

/// Object kind of file formats in the store.
pub const FILE_FORMAT: &str = "FILE_FORMAT";

/// Options CREATE FILE FORMAT (and FILE_FORMAT = (…) of COPY) accepts.
pub const FORMAT_KEYS: &[&str] = &[
    "TYPE", "FORMAT_NAME", "COMPRESSION", "RECORD_DELIMITER", "FIELD_DELIMITER", "FILE_EXTENSION", "PARSE_HEADER", "SKIP_HEADER", "SKIP_BLANK_LINES",
    "DATE_FORMAT", "TIME_FORMAT", "TIMESTAMP_FORMAT", "BINARY_FORMAT", "ESCAPE", "ESCAPE_UNENCLOSED_FIELD", "TRIM_SPACE", "FIELD_OPTIONALLY_ENCLOSED_BY",
    "NULL_IF", "ERROR_ON_COLUMN_COUNT_MISMATCH", "REPLACE_INVALID_CHARACTERS", "EMPTY_FIELD_AS_NULL", "SKIP_BYTE_ORDER_MARK", "ENCODING",
    "STRIP_OUTER_ARRAY", "STRIP_NULL_VALUES", "ALLOW_DUPLICATE", "ENABLE_OCTAL", "IGNORE_UTF8_ERRORS", "BINARY_AS_TEXT", "USE_LOGICAL_TYPE",
    "USE_VECTORIZED_SCANNER", "MULTI_LINE", "COMMENT",
];

/// A file format as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileFormat {
    /// The name users see.
    pub name: String,
    /// Database.
    pub database: String,
    /// Schema.
    pub schema: String,
    /// The owning session of a temporary format.
    #[serde(default)]
    pub temporary_session: Option<u64>,
    /// Options as given (upper-case keys, values as DESCRIBE shows them), TYPE included.
    pub options: BTreeMap<String, String>,
    /// COMMENT.
    pub comment: Option<String>,
    /// Epoch ms.
    pub created_on: i64,
    /// Owning role.
    pub owner: String,
}

/// The file types floe reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// Delimited text.
    Csv,
    /// JSON documents (one per line, or an outer array with STRIP_OUTER_ARRAY).
    Json,
    /// Apache Parquet.
    Parquet,
}

/// The meaning of a format's options.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatOptions {
    /// TYPE.
    pub file_type: FileType,
    /// COMPRESSION (AUTO, GZIP, NONE, …; SNAPPY for Parquet), upper-case.
    pub compression: String,
    /// FIELD_DELIMITER (one byte).
    pub field_delimiter: u8,
    /// SKIP_HEADER.
    pub skip_header: usize,
    /// PARSE_HEADER.
    pub parse_header: bool,
    /// FIELD_OPTIONALLY_ENCLOSED_BY.
    pub enclosed_by: Option<u8>,
    /// NULL_IF.
    pub null_if: Vec<String>,
    /// EMPTY_FIELD_AS_NULL.
    pub empty_field_as_null: bool,
    /// TRIM_SPACE.
    pub trim_space: bool,
    /// ERROR_ON_COLUMN_COUNT_MISMATCH.
    pub error_on_column_count_mismatch: bool,
    /// SKIP_BLANK_LINES.
    pub skip_blank_lines: bool,
    /// STRIP_OUTER_ARRAY (JSON).
    pub strip_outer_array: bool,
    /// DATE_FORMAT (AUTO or a Snowflake format).
    pub date_format: String,
    /// TIMESTAMP_FORMAT.
    pub timestamp_format: String,
}

impl FormatOptions {
    /// Options from `KEY -> shown value` pairs (a stored format's or a statement's).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<FormatOptions, SfError> {
        let kind = map.get("TYPE").map(|t| t.to_uppercase()).unwrap_or_else(|| "CSV".into());
        let file_type = match kind.as_str() {
            "CSV" => FileType::Csv,
            "JSON" => FileType::Json,
            "PARQUET" => FileType::Parquet,
            "AVRO" | "ORC" | "XML" => return Err(SfError::unsupported(format!("file format type {kind}"))),
            other => return Err(SfError::invalid_value("TYPE", other)),
        };
        let boolean = |key: &str, default: bool| -> Result<bool, SfError> {
            match map.get(key).map(|v| v.to_ascii_lowercase()) {
                None => Ok(default),
                Some(v) if v == "true" => Ok(true),
                Some(v) if v == "false" => Ok(false),
                Some(v) => Err(SfError::invalid_value(key, &v)),
            }
        };
        let byte = |key: &str, default: Option<u8>| -> Result<Option<u8>, SfError> {
            match map.get(key).map(|v| unescape(v)) {
                None => Ok(default),
                Some(v) if v.eq_ignore_ascii_case("NONE") => Ok(None),
                Some(v) if v.len() == 1 => Ok(Some(v.as_bytes()[0])),
                Some(v) => Err(SfError::invalid_value(key, &format!("'{v}'"))),
            }
        };
        let skip_header = match map.get("SKIP_HEADER") {
            None => 0,
            Some(v) => v.parse::<usize>().map_err(|_| SfError::invalid_value("SKIP_HEADER", v))?,
        };
        let null_if = match map.get("NULL_IF") {
            None => vec!["\\N".to_string()],
            Some(v) => parse_list(v),
        };
        let parse_header = boolean("PARSE_HEADER", false)?;
        if parse_header && skip_header > 0 {
            return Err(SfError::compilation("SKIP_HEADER and PARSE_HEADER cannot be used together."));
        }
        Ok(FormatOptions {
            file_type,
            compression: map.get("COMPRESSION").map(|c| c.to_uppercase()).unwrap_or_else(|| "AUTO".into()),
            field_delimiter: byte("FIELD_DELIMITER", Some(b','))?.unwrap_or(b','),
            skip_header,
            parse_header,
            enclosed_by: byte("FIELD_OPTIONALLY_ENCLOSED_BY", None)?,
            null_if,
            empty_field_as_null: boolean("EMPTY_FIELD_AS_NULL", true)?,
            trim_space: boolean("TRIM_SPACE", false)?,
            error_on_column_count_mismatch: boolean("ERROR_ON_COLUMN_COUNT_MISMATCH", true)?,
            skip_blank_lines: boolean("SKIP_BLANK_LINES", false)?,
            strip_outer_array: boolean("STRIP_OUTER_ARRAY", false)?,
            date_format: map.get("DATE_FORMAT").cloned().unwrap_or_else(|| "AUTO".into()),
            timestamp_format: map.get("TIMESTAMP_FORMAT").cloned().unwrap_or_else(|| "AUTO".into()),
        })
    }
}

/// `\t`, `\n`, `\\`, `\x..`-free escapes of delimiter options.
fn unescape(v: &str) -> String {
    v.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r").replace("\\\\", "\\")
}

/// A list option as shown (`[a, b]`) back into its items.
fn parse_list(v: &str) -> Vec<String> {
    let inner = v.trim().trim_start_matches('[').trim_end_matches(']');
    if inner.is_empty() {
        return Vec::new();
    }
    inner.split(", ").map(|s| s.replace("\\\\", "\\")).collect()
}

/// A value as the stored options keep it.
pub fn shown(v: &Value) -> String {
    match v {
        Value::Word(w) => w.to_uppercase(),
        Value::Str(s) | Value::Quoted(s) | Value::Num(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "NULL".into(),
        Value::List(items) => format!("[{}]", items.iter().map(shown).collect::<Vec<_>>().join(", ")),
        Value::Group(_) => v.written(),
    }
}

/// Options from `KEY = value` properties (CREATE FILE FORMAT, FILE_FORMAT = (…)); checked by parsing them.
pub fn options_of(props: &[Prop]) -> Result<BTreeMap<String, String>, SfError> {
    let mut out = BTreeMap::new();
    for p in props {
        if p.key == "COMMENT" {
            continue;
        }
        let value = match (&p.value, p.key.as_str()) {
            (Value::Str(s), "NULL_IF") => format!("[{s}]"),
            (v, _) => shown(v),
        };
        out.insert(p.key.clone(), value);
    }
    if !out.contains_key("FORMAT_NAME") {
        FormatOptions::from_map(&out)?;
    }
    Ok(out)
}

/// Resolves a named format for a session (its temporary format first), or Snowflake's 002003.
pub fn resolve_format(engine: &Engine, session: &Session, parts: &[String], verb: &str) -> Result<(String, FileFormat), SfError> {
    let catalog = engine.store().snapshot();
    let (db, schema, name) = resolve(&catalog, session, parts, verb)?;
    let scope = schema_scope(&db, &schema);
    let temp = crate::temp::stored_name(&name, session.id);
    get::<FileFormat>(&catalog, FILE_FORMAT, &scope, &temp)
        .map(|f| (temp, f))
        .or_else(|| get::<FileFormat>(&catalog, FILE_FORMAT, &scope, &name).map(|f| (name.clone(), f)))
        .ok_or_else(|| SfError::kind_not_found("File format", &format!("{}.{}.{}", display_ident(&db), display_ident(&schema), display_ident(&name))))
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
    let (db, schema, name) = resolve(&catalog, session, &name, "CREATE FILE FORMAT")?;
    let scope = schema_scope(&db, &schema);
    let stored = if temporary { crate::temp::stored_name(&name, session.id) } else { name.clone() };
    if catalog.object(FILE_FORMAT, &scope, &stored).is_some() && !or_replace {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        return Err(SfError::already_exists(&display_ident(&name)));
    }
    let comment = props.iter().find(|p| p.key == "COMMENT").map(|p| p.value.as_text("COMMENT")).transpose()?;
    let options = options_of(&props)?;
    let format = FileFormat {
        name: name.clone(),
        database: db,
        schema,
        temporary_session: temporary.then_some(session.id),
        options,
        comment,
        created_on: now(),
        owner: session.role.clone(),
    };
    commit(engine, vec![put(FILE_FORMAT, &scope, &stored, &format)]).await?;
    Ok(message(format!("File format {} successfully created.", display_ident(&name))))
}

pub(super) async fn drop(engine: &Engine, session: &Session, name: Vec<String>, if_exists: bool) -> Result<QueryResult, SfError> {
    let shown_name = name.last().cloned().unwrap_or_default();
    let (stored, format) = match resolve_format(engine, session, &name, "DROP FILE FORMAT") {
        Ok(r) => r,
        Err(e) if if_exists && e.code == "002003" => return Ok(dropped(&shown_name, false)),
        Err(e) => return Err(e),
    };
    let scope = schema_scope(&format.database, &format.schema);
    commit(engine, vec![store::Op::DeleteObject { kind: FILE_FORMAT.into(), scope, name: stored }]).await?;
    Ok(dropped(&format.name, true))
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

pub(super) fn describe(engine: &Engine, session: &Session, name: &[String]) -> Result<QueryResult, SfError> {
    let (_, format) = resolve_format(engine, session, name, "DESCRIBE FILE FORMAT")?;
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let kind = format.options.get("TYPE").cloned().unwrap_or_else(|| "CSV".into());
    rows.push(("TYPE".into(), "String".into(), kind.clone(), "CSV".into()));
    for (key, value) in format.options.iter().filter(|(k, _)| k.as_str() != "TYPE") {
        let kind = if value == "true" || value == "false" { "Boolean" } else if value.starts_with('[') { "List" } else { "String" };
        rows.push((key.clone(), kind.into(), value.clone(), String::new()));
    }
    Ok(build(
        statement_type::DESCRIBE,
        vec![
            Col::Text("property", rows.iter().map(|r| s(r.0.clone())).collect()),
            Col::Text("property_type", rows.iter().map(|r| s(r.1.clone())).collect()),
            Col::Text("property_value", rows.iter().map(|r| s(r.2.clone())).collect()),
            Col::Text("property_default", rows.iter().map(|r| s(r.3.clone())).collect()),
        ],
    ))
}

pub(super) fn show(engine: &Engine, session: &Session, like: Option<&str>, scope: ShowScope) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let mut rows = super::shown_objects(&catalog, session, &scope, FILE_FORMAT, "SHOW FILE FORMATS", like, |f: &FileFormat| &f.name)?;
    rows.sort_by(|a, b| (&a.database, &a.schema, &a.name).cmp(&(&b.database, &b.schema, &b.name)));
    let options = |f: &FileFormat| {
        let mut o = serde_json::Map::new();
        for (k, v) in &f.options {
            o.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        serde_json::Value::Object(o).to_string()
    };
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Time("created_on", rows.iter().map(|r| Some(r.created_on)).collect()),
            Col::Text("name", rows.iter().map(|r| s(&r.name)).collect()),
            Col::Text("database_name", rows.iter().map(|r| s(&r.database)).collect()),
            Col::Text("schema_name", rows.iter().map(|r| s(&r.schema)).collect()),
            Col::Text("type", rows.iter().map(|r| s(r.options.get("TYPE").cloned().unwrap_or_else(|| "CSV".into()))).collect()),
            Col::Text("owner", rows.iter().map(|r| s(&r.owner)).collect()),
            Col::Text("comment", rows.iter().map(|r| s(r.comment.clone().unwrap_or_default())).collect()),
            Col::Text("owner_role_type", rows.iter().map(|_| s("ROLE")).collect()),
            Col::Text("format_options", rows.iter().map(|r| s(options(r))).collect()),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_mean_what_they_say() {
        let map: BTreeMap<String, String> = [("TYPE", "CSV"), ("FIELD_DELIMITER", "|"), ("SKIP_HEADER", "1"), ("NULL_IF", "[NULL, ]"), ("FIELD_OPTIONALLY_ENCLOSED_BY", "\"")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let o = FormatOptions::from_map(&map).unwrap();
        assert_eq!(o.field_delimiter, b'|');
        assert_eq!(o.skip_header, 1);
        assert_eq!(o.enclosed_by, Some(b'"'));
        assert_eq!(o.null_if, ["NULL", ""]);
        let bad: BTreeMap<String, String> = [("TYPE".to_string(), "XLSX".to_string())].into_iter().collect();
        assert!(FormatOptions::from_map(&bad).unwrap_err().message.contains("XLSX"));
    }
}
