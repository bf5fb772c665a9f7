//! COPY INTO: loading stage files into a table and unloading a table or query into stage files.
//!
//! Loading (`COPY INTO t [(cols)] FROM @stage[/path] | (SELECT $1… FROM @stage)`) reads each selected
//! file (gzip by extension or magic, COMPRESSION), parses it as CSV or JSON (`file_format::FormatOptions`:
//! a named format, the stage's or inline), maps its values to the target columns (by position, by
//! `$n[:path]` select items, or MATCH_BY_COLUMN_NAME), converts them with INSERT's conversions
//! (`dml::to_column_type`) and appends them in the session's transaction. ON_ERROR decides what a bad
//! row does (ABORT_STATEMENT, CONTINUE, SKIP_FILE). Load history (kind `LOAD_HISTORY`, one body per
//! table: file path → MD5) skips files already loaded unchanged unless FORCE = TRUE; it is committed
//! right after the rows. PURGE removes loaded files. A Parquet row is one object, `$1`, keyed by column
//! name (`parquet_file`): loaded by `$1:"col"` paths, MATCH_BY_COLUMN_NAME, or whole into one VARIANT.
//!
//! Unloading (`COPY INTO @stage[/prefix] FROM t | (query)`) writes CSV (gzip by default), JSON lines or
//! Parquet (Snappy by default, `.snappy.parquet`),
//! `.floe-*` first then renamed, and answers rows_unloaded, input_bytes, output_bytes.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, LargeStringArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use model::SfError;
use serde_json::Value as Json;

use super::file_format::{FileType, FormatOptions};
use super::{Prop, StageRef, Value, stage};
use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build};
use crate::types::SfType;

/// Kind of the load history bodies in the store.
pub const LOAD_HISTORY: &str = "LOAD_HISTORY";

/// One `$n[:path][::type] [AS alias]` item of a load transform.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    /// The file column, 1-based.
    pub column: usize,
    /// The path inside a JSON/Parquet value (`$1:"a"`, `$1:a.b`).
    pub path: Vec<String>,
}

/// A parsed COPY INTO.
#[derive(Debug, Clone, PartialEq)]
pub enum CopyStmt {
    /// COPY INTO <table>.
    Load { table: Vec<String>, columns: Vec<String>, stage: StageRef, items: Option<Vec<SelectItem>>, options: Vec<Prop> },
    /// COPY INTO @stage.
    Unload { stage: StageRef, query: String, options: Vec<Prop> },
}

/// Options COPY INTO accepts.
pub const COPY_KEYS: &[&str] = &[
    "FILES", "PATTERN", "FILE_FORMAT", "ON_ERROR", "PURGE", "FORCE", "MATCH_BY_COLUMN_NAME", "SIZE_LIMIT", "RETURN_FAILED_ONLY", "ENFORCE_LENGTH",
    "TRUNCATECOLUMNS", "LOAD_UNCERTAIN_FILES", "VALIDATION_MODE", "HEADER", "OVERWRITE", "SINGLE", "MAX_FILE_SIZE", "INCLUDE_QUERY_ID", "DETAILED_OUTPUT",
];

fn option<'a>(options: &'a [Prop], key: &str) -> Option<&'a Value> {
    options.iter().find(|p| p.key == key).map(|p| &p.value)
}

fn bool_option(options: &[Prop], key: &str) -> Result<bool, SfError> {
    option(options, key).map(|v| v.as_bool(key)).transpose().map(|b| b.unwrap_or(false))
}

/// The format options of a COPY: FILE_FORMAT = (FORMAT_NAME = …) or (TYPE = … …), else the stage's.
fn format_of(engine: &Engine, session: &Session, options: &[Prop], resolved: &stage::ResolvedStage) -> Result<FormatOptions, SfError> {
    let map: BTreeMap<String, String> = match option(options, "FILE_FORMAT") {
        Some(Value::Group(props)) => {
            let map = super::file_format::options_of(props)?;
            match map.get("FORMAT_NAME") {
                Some(name) => named(engine, session, name)?,
                None => map,
            }
        }
        Some(Value::Str(name) | Value::Word(name) | Value::Quoted(name)) => named(engine, session, name)?,
        Some(other) => return Err(SfError::invalid_value("FILE_FORMAT", &other.written())),
        None => match resolved.stage.file_format.get("FORMAT_NAME") {
            Some(name) => named(engine, session, name)?,
            None => resolved.stage.file_format.clone(),
        },
    };
    FormatOptions::from_map(&map)
}

/// The options of the file format named `name` (`fmt`, `db.schema.fmt`, `"Quoted"` parts).
pub(super) fn named(engine: &Engine, session: &Session, name: &str) -> Result<BTreeMap<String, String>, SfError> {
    let parts: Vec<String> = name.split('.').map(|p| if p.starts_with('"') { p.trim_matches('"').to_string() } else { p.to_uppercase() }).collect();
    Ok(super::file_format::resolve_format(engine, session, &parts, "COPY")?.1.options)
}

/// Bytes of a stage file, gunzipped when it is gzip (by COMPRESSION, extension or magic). Parquet's
/// COMPRESSION names the codec inside the file, so a Parquet file is read as it is.
pub(super) fn read_file(path: &std::path::Path, compression: &str, file_type: FileType) -> Result<Vec<u8>, SfError> {
    let raw = std::fs::read(path).map_err(|e| SfError::internal(format!("cannot read stage file: {e}")))?;
    if file_type == FileType::Parquet {
        return Ok(raw);
    }
    let gzip = match compression {
        "GZIP" => true,
        "NONE" => false,
        _ => raw.starts_with(&[0x1f, 0x8b]),
    };
    if !gzip {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| SfError::new("100109", "22000", model::ErrorKind::InvalidArgument, format!("Invalid data encountered during decompression for file: '{}', {e}", path.display())))?;
    Ok(out)
}

/// One parsed record: CSV fields, or one JSON document.
#[derive(Debug, Clone)]
pub(super) enum Record {
    Fields(Vec<Option<String>>),
    Doc(Json),
}

/// Splits CSV text into records of fields (quotes per FIELD_OPTIONALLY_ENCLOSED_BY, `""` escapes).
fn parse_csv(text: &str, f: &FormatOptions) -> Vec<(usize, Vec<Option<String>>)> {
    let delim = f.field_delimiter as char;
    let quote = f.enclosed_by.map(|q| q as char);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    let mut fields: Vec<Option<String>> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut start_line = 1usize;
    let finish_field = |field: &mut String, quoted: &mut bool, fields: &mut Vec<Option<String>>| {
        let mut value = std::mem::take(field);
        if f.trim_space && !*quoted {
            value = value.trim().to_string();
        }
        let is_null = (!*quoted && value.is_empty() && f.empty_field_as_null) || (!*quoted && f.null_if.contains(&value));
        fields.push(if is_null { None } else { Some(value) });
        *quoted = false;
    };
    while let Some(ch) = chars.next() {
        if in_quotes {
            if Some(ch) == quote {
                if chars.peek() == quote.as_ref() {
                    chars.next();
                    field.push(ch);
                } else {
                    in_quotes = false;
                }
            } else {
                if ch == '\n' {
                    line += 1;
                }
                field.push(ch);
            }
            continue;
        }
        if Some(ch) == quote && field.is_empty() {
            in_quotes = true;
            quoted = true;
        } else if ch == delim {
            finish_field(&mut field, &mut quoted, &mut fields);
        } else if ch == '\n' || ch == '\r' {
            if ch == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            finish_field(&mut field, &mut quoted, &mut fields);
            let record = std::mem::take(&mut fields);
            let blank = record.len() == 1 && record[0].as_deref().is_none_or(str::is_empty);
            if !blank {
                out.push((start_line, record));
            }
            line += 1;
            start_line = line;
        } else {
            field.push(ch);
        }
    }
    if !field.is_empty() || !fields.is_empty() || quoted {
        finish_field(&mut field, &mut quoted, &mut fields);
        out.push((start_line, fields));
    }
    out
}

/// Records of a file, with their line numbers; CSV headers skipped (or returned with PARSE_HEADER).
pub(super) fn records(bytes: Vec<u8>, f: &FormatOptions) -> Result<(Option<Vec<String>>, Vec<(usize, Record)>), String> {
    if f.file_type == FileType::Parquet {
        let (_, batches) = super::parquet_file::read(bytes)?;
        return Ok((None, super::parquet_file::rows(&batches).into_iter().enumerate().map(|(i, doc)| (i + 1, Record::Doc(doc))).collect()));
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match f.file_type {
        FileType::Csv => {
            let mut rows = parse_csv(text, f);
            let header = if f.parse_header && !rows.is_empty() { Some(rows.remove(0).1.into_iter().map(|h| h.unwrap_or_default()).collect()) } else { None };
            let skip = f.skip_header.min(rows.len());
            rows.drain(..skip);
            Ok((header, rows.into_iter().map(|(l, r)| (l, Record::Fields(r))).collect()))
        }
        FileType::Json => {
            let mut out = Vec::new();
            for (i, doc) in serde_json::Deserializer::from_str(text).into_iter::<Json>().enumerate() {
                let doc = doc.map_err(|e| format!("Error parsing JSON: {e}"))?;
                match doc {
                    Json::Array(items) if f.strip_outer_array => out.extend(items.into_iter().map(|d| (i + 1, Record::Doc(d)))),
                    other => out.push((i + 1, Record::Doc(other))),
                }
            }
            Ok((None, out))
        }
        FileType::Parquet => unreachable!("read above"),
    }
}

/// A value for a target column: text for typed columns, JSON text for semi-structured ones.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Text(String),
    Json(Json),
}

fn json_cell(v: Option<&Json>) -> Cell {
    match v {
        None | Some(Json::Null) => Cell::Null,
        Some(other) => Cell::Json(other.clone()),
    }
}

fn path_get<'a>(mut v: &'a Json, path: &[String]) -> Option<&'a Json> {
    for key in path {
        v = match v {
            // Unquoted path words were upper-cased with the statement: fall back to any case.
            Json::Object(map) => map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))?,
            Json::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The target columns' cells of one record.
fn cells(record: &Record, targets: usize, items: Option<&[SelectItem]>, by_name: Option<(&[String], bool, &Option<Vec<String>>)>, file_type: FileType) -> Result<Vec<Cell>, String> {
    if let Some(items) = items {
        return Ok(items
            .iter()
            .map(|item| match record {
                Record::Fields(fields) if item.path.is_empty() => fields.get(item.column - 1).cloned().flatten().map(Cell::Text).unwrap_or(Cell::Null),
                Record::Fields(fields) => {
                    let doc = fields.get(item.column - 1).cloned().flatten().and_then(|t| serde_json::from_str::<Json>(&t).ok());
                    json_cell(doc.as_ref().and_then(|d| path_get(d, &item.path)))
                }
                Record::Doc(doc) if item.column == 1 => json_cell(path_get(doc, &item.path)),
                Record::Doc(_) => Cell::Null,
            })
            .collect());
    }
    if let Some((names, case_sensitive, header)) = by_name {
        let matches = |a: &str, b: &str| if case_sensitive { a == b } else { a.eq_ignore_ascii_case(b) };
        return Ok(match record {
            Record::Doc(Json::Object(map)) => names.iter().map(|n| json_cell(map.iter().find(|(k, _)| matches(k, n)).map(|(_, v)| v))).collect(),
            Record::Doc(_) => return Err("MATCH_BY_COLUMN_NAME needs JSON objects".into()),
            Record::Fields(fields) => {
                let header = header.as_ref().ok_or("MATCH_BY_COLUMN_NAME with CSV needs PARSE_HEADER = TRUE")?;
                names
                    .iter()
                    .map(|n| header.iter().position(|h| matches(h, n)).and_then(|i| fields.get(i).cloned().flatten()).map(Cell::Text).unwrap_or(Cell::Null))
                    .collect()
            }
        });
    }
    match record {
        Record::Fields(fields) => {
            if fields.len() != targets {
                return Err(format!(
                    "Number of columns in file ({}) does not match that of the corresponding table ({}), use file format option error_on_column_count_mismatch=false to ignore this error",
                    fields.len(),
                    targets
                ));
            }
            Ok(fields.iter().map(|f| f.clone().map(Cell::Text).unwrap_or(Cell::Null)).collect())
        }
        Record::Doc(doc) => {
            if targets != 1 {
                let kind = if file_type == FileType::Parquet { "PARQUET" } else { "JSON" };
                return Err(format!(
                    "{kind} file format can produce one and only one column of type variant, object, or array. Load data into separate columns using the MATCH_BY_COLUMN_NAME copy option or copy with transformation."
                ));
            }
            Ok(vec![json_cell(Some(doc))])
        }
    }
}

/// Converts one column of cells to the column's type (errors name the value, as INSERT's do).
fn column_array(cells: &[&Cell], column: &store::Column) -> Result<ArrayRef, SfError> {
    let semi = matches!(SfType::parse(&column.sf_type)?, SfType::Variant | SfType::Object | SfType::Array);
    let array: ArrayRef = if semi {
        Arc::new(LargeStringArray::from(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Null => None,
                    Cell::Text(t) => Some(Json::String(t.clone()).to_string()),
                    Cell::Json(j) => Some(j.to_string()),
                })
                .collect::<Vec<_>>(),
        ))
    } else {
        Arc::new(StringArray::from(
            cells
                .iter()
                .map(|c| match c {
                    Cell::Null => None,
                    Cell::Text(t) => Some(t.clone()),
                    Cell::Json(Json::String(s)) => Some(s.clone()),
                    Cell::Json(j) => Some(j.to_string()),
                })
                .collect::<Vec<_>>(),
        ))
    };
    crate::dml::to_column_type(&array, column)
}

/// What ON_ERROR says.
#[derive(Debug, Clone, Copy, PartialEq)]
enum OnError {
    Abort,
    Continue,
    SkipFile,
}

fn on_error(options: &[Prop]) -> Result<OnError, SfError> {
    let Some(v) = option(options, "ON_ERROR") else { return Ok(OnError::Abort) };
    let text = v.as_keyword("ON_ERROR")?;
    match text.as_str() {
        "ABORT_STATEMENT" => Ok(OnError::Abort),
        "CONTINUE" => Ok(OnError::Continue),
        t if t.starts_with("SKIP_FILE") => Ok(OnError::SkipFile),
        _ => Err(SfError::invalid_value("ON_ERROR", &v.written())),
    }
}

/// Per-file outcome rows.
struct FileRow {
    file: String,
    status: &'static str,
    parsed: i64,
    loaded: i64,
    errors: i64,
    first_error: Option<String>,
    first_line: Option<i64>,
    first_column: Option<String>,
}

pub(super) async fn load(
    engine: &Engine,
    session: &mut Session,
    table_name: &[String],
    columns: &[String],
    stage_ref: &StageRef,
    items: Option<&[SelectItem]>,
    options: &[Prop],
) -> Result<QueryResult, SfError> {
    let table = crate::dml::insert_target(engine, session, table_name, "COPY")?;
    let resolved = stage::resolve_stage(engine, session, &stage_ref.name, "COPY")?;
    let format = format_of(engine, session, options, &resolved)?;
    let on_error = on_error(options)?;
    let force = bool_option(options, "FORCE")?;
    let purge = bool_option(options, "PURGE")?;
    let match_by = match option(options, "MATCH_BY_COLUMN_NAME") {
        None => None,
        Some(v) => match v.as_keyword("MATCH_BY_COLUMN_NAME")?.as_str() {
            "NONE" => None,
            "CASE_INSENSITIVE" => Some(false),
            "CASE_SENSITIVE" => Some(true),
            _ => return Err(SfError::invalid_value("MATCH_BY_COLUMN_NAME", &v.written())),
        },
    };
    // Target columns: the list given, else every column.
    let targets: Vec<usize> = if columns.is_empty() {
        (0..table.def.columns.len()).collect()
    } else {
        columns.iter().map(|c| table.def.columns.iter().position(|d| &d.name == c).ok_or_else(|| SfError::invalid_identifier(c))).collect::<Result<_, _>>()?
    };
    if let Some(items) = items
        && items.len() != targets.len()
    {
        return Err(SfError::new("002020", "21S01", model::ErrorKind::InvalidArgument, format!("SQL compilation error: Insert value list does not match column list expecting {} but got {}", targets.len(), items.len())));
    }
    let names: Vec<String> = targets.iter().map(|i| table.def.columns[*i].name.clone()).collect();
    // The files: FILES = (…) under the path, else everything under it matching PATTERN.
    let pattern = option(options, "PATTERN").map(|v| v.as_text("PATTERN")).transpose()?;
    let mut files = stage::select_files(&resolved, &stage_ref.path, pattern.as_deref()).await?;
    if let Some(Value::List(wanted)) = option(options, "FILES") {
        let prefix = if stage_ref.path.is_empty() || stage_ref.path.ends_with('/') { stage_ref.path.clone() } else { format!("{}/", stage_ref.path) };
        let wanted: Vec<String> = wanted.iter().map(|w| w.as_text("FILES").map(|t| format!("{prefix}{t}"))).collect::<Result<_, _>>()?;
        files.retain(|f| wanted.contains(f));
    }
    let history_name = table.id.to_string();
    let catalog = engine.store().snapshot();
    let mut history: BTreeMap<String, String> = catalog
        .object(LOAD_HISTORY, "", &history_name)
        .and_then(|b| serde_json::from_value(b.get("files").cloned().unwrap_or_default()).ok())
        .unwrap_or_default();
    let stage_name = resolved.stage.name.to_lowercase();
    let mut rows: Vec<FileRow> = Vec::new();
    let mut batches: Vec<Vec<ArrayRef>> = Vec::new();
    let mut loaded_files: Vec<(String, String, std::path::PathBuf)> = Vec::new();
    for rel in &files {
        let Some(full) = stage::stage_file_path(&resolved.dir, rel) else { continue };
        let key = format!("{}/{}", resolved.dir.display(), rel);
        let md5 = {
            let p = full.clone();
            tokio::task::spawn_blocking(move || stage::md5_of(&p)).await.map_err(|e| SfError::internal(e.to_string()))?.map_err(|e| SfError::internal(e.to_string()))?
        };
        if !force && history.get(&key) == Some(&md5) {
            continue;
        }
        let shown = format!("{stage_name}/{rel}");
        let (header, recs) = match read_file(&full, &format.compression, format.file_type).map(|b| records(b, &format)) {
            Ok(Ok(r)) => r,
            Ok(Err(message)) | Err(SfError { message, .. }) => {
                if on_error == OnError::Abort {
                    return Err(SfError::new("100069", "22000", model::ErrorKind::InvalidArgument, format!("{message}\n  File '{shown}'")));
                }
                rows.push(FileRow { file: shown, status: "LOAD_FAILED", parsed: 0, loaded: 0, errors: 1, first_error: Some(message), first_line: Some(1), first_column: None });
                continue;
            }
        };
        let mut good: Vec<Vec<Cell>> = Vec::new();
        let mut errors = 0i64;
        let mut first: Option<(String, i64, Option<String>)> = None;
        let by_name = match_by.map(|cs| (names.as_slice(), cs, &header));
        for (line, record) in &recs {
            match cells(record, targets.len(), items, by_name, format.file_type) {
                Ok(c) => good.push(c),
                Err(e) => {
                    errors += 1;
                    first.get_or_insert((e, *line as i64, None));
                }
            }
        }
        // Convert column by column; on an error, find the bad rows one by one.
        let convert = |rows: &[Vec<Cell>]| -> Result<Vec<ArrayRef>, (SfError, usize)> {
            let mut out = vec![None; table.def.columns.len()];
            for (pos, &col) in targets.iter().enumerate() {
                let cells: Vec<&Cell> = rows.iter().map(|r| &r[pos]).collect();
                out[col] = Some(column_array(&cells, &table.def.columns[col]).map_err(|e| (e, col))?);
            }
            let n = rows.len();
            Ok(out
                .into_iter()
                .enumerate()
                .map(|(i, a)| a.unwrap_or_else(|| datafusion::arrow::array::new_null_array(&SfType::parse(&table.def.columns[i].sf_type).map(|t| t.arrow()).unwrap_or(DataType::Utf8), n)))
                .collect())
        };
        let mut file_batches = Vec::new();
        let mut loaded = 0i64;
        match convert(&good) {
            Ok(arrays) => {
                loaded = good.len() as i64;
                file_batches.push(arrays);
            }
            Err(_) => {
                for (i, row) in good.iter().enumerate() {
                    match convert(std::slice::from_ref(row)) {
                        Ok(arrays) => {
                            loaded += 1;
                            file_batches.push(arrays);
                        }
                        Err((e, col)) => {
                            errors += 1;
                            if first.is_none() {
                                first = Some((e.message.clone(), recs.get(i).map(|r| r.0 as i64).unwrap_or(0), Some(format!("\"{}\"[{}]", table.name, col + 1))));
                            }
                        }
                    }
                }
            }
        }
        if errors > 0 && on_error == OnError::Abort {
            let (message, line, _) = first.clone().unwrap_or_default();
            return Err(SfError::new("100038", "22018", model::ErrorKind::InvalidArgument, format!("{message}\n  File '{shown}', line {line}")));
        }
        let skipped = errors > 0 && on_error == OnError::SkipFile;
        let status = if skipped { "LOAD_FAILED" } else if errors > 0 && loaded > 0 { "PARTIALLY_LOADED" } else if errors > 0 { "LOAD_FAILED" } else { "LOADED" };
        if !skipped {
            batches.extend(file_batches);
            loaded_files.push((key, md5, full.clone()));
        } else {
            loaded = 0;
        }
        let (first_error, first_line, first_column) = match first {
            Some((m, l, c)) => (Some(m), Some(l), c),
            None => (None, None, None),
        };
        rows.push(FileRow { file: shown, status, parsed: recs.len() as i64, loaded, errors, first_error, first_line, first_column });
    }
    if rows.is_empty() {
        return Ok(QueryResult::message(statement_type::SELECT, "Copy executed with 0 files processed."));
    }
    crate::dml::append_columns(engine, session, &table, batches).await?;
    for (key, md5, _) in &loaded_files {
        history.insert(key.clone(), md5.clone());
    }
    super::commit(engine, vec![super::put(LOAD_HISTORY, "", &history_name, &serde_json::json!({"files": history}))]).await?;
    if purge {
        for (_, _, path) in &loaded_files {
            let _ = std::fs::remove_file(path);
        }
    }
    let error_limit = |r: &FileRow| if on_error == OnError::Abort { 1 } else if on_error == OnError::SkipFile { 1 } else { r.parsed.max(1) };
    Ok(build(
        statement_type::SELECT,
        vec![
            Col::Text("file", rows.iter().map(|r| Some(r.file.clone())).collect()),
            Col::Text("status", rows.iter().map(|r| Some(r.status.to_string())).collect()),
            Col::Num("rows_parsed", rows.iter().map(|r| Some(r.parsed)).collect()),
            Col::Num("rows_loaded", rows.iter().map(|r| Some(r.loaded)).collect()),
            Col::Num("error_limit", rows.iter().map(|r| Some(error_limit(r))).collect()),
            Col::Num("errors_seen", rows.iter().map(|r| Some(r.errors)).collect()),
            Col::Text("first_error", rows.iter().map(|r| r.first_error.clone()).collect()),
            Col::Num("first_error_line", rows.iter().map(|r| r.first_line).collect()),
            Col::Num("first_error_character", rows.iter().map(|r| r.first_line.map(|_| 1)).collect()),
            Col::Text("first_error_column_name", rows.iter().map(|r| r.first_column.clone()).collect()),
        ],
    ))
}

/// Text of one value for CSV/JSON output.
fn render(array: &ArrayRef, row: usize) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    let options = datafusion::arrow::util::display::FormatOptions::default();
    datafusion::arrow::util::display::ArrayFormatter::try_new(array.as_ref(), &options).ok().map(|f| f.value(row).to_string())
}

/// A CSV or JSON-lines unload file (gzip unless COMPRESSION = NONE): its bytes, file suffix, rows
/// and uncompressed size.
fn text_file(result: &QueryResult, format: &FormatOptions, header: bool) -> Result<(Vec<u8>, String, i64, i64), SfError> {
    let gzip = matches!(format.compression.as_str(), "AUTO" | "GZIP");
    let (ext, mut body) = if format.file_type == FileType::Json { ("json", String::new()) } else { ("csv", String::new()) };
    let names: Vec<String> = result.schema.fields().iter().map(|f| f.name().clone()).collect();
    let delim = (format.field_delimiter as char).to_string();
    let quote = |s: &str| -> String {
        match format.enclosed_by {
            Some(q) => {
                let q = q as char;
                format!("{q}{}{q}", s.replace(q, &format!("{q}{q}")))
            }
            None => s.to_string(),
        }
    };
    if header && format.file_type == FileType::Csv {
        body.push_str(&names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(&delim));
        body.push('\n');
    }
    let mut rows = 0i64;
    for batch in &result.batches {
        for row in 0..batch.num_rows() {
            rows += 1;
            match format.file_type {
                FileType::Json => {
                    let mut obj = serde_json::Map::new();
                    for (i, name) in names.iter().enumerate() {
                        if let Some(v) = render(batch.column(i), row) {
                            let is_semi = matches!(SfType::of_field(batch.schema().field(i)), SfType::Variant | SfType::Object | SfType::Array);
                            let value = if is_semi { serde_json::from_str(&v).unwrap_or(Json::String(v)) } else { serde_json::from_str::<serde_json::Number>(&v).map(Json::Number).unwrap_or(Json::String(v)) };
                            obj.insert(name.clone(), value);
                        }
                    }
                    body.push_str(&Json::Object(obj).to_string());
                }
                _ => {
                    // Strings are enclosed (FIELD_OPTIONALLY_ENCLOSED_BY), other values written bare.
                    let cells: Vec<String> = (0..names.len())
                        .map(|i| {
                            let text = matches!(batch.column(i).data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
                            render(batch.column(i), row).map(|v| if text { quote(&v) } else { v }).unwrap_or_else(|| "\\N".into())
                        })
                        .collect();
                    body.push_str(&cells.join(&delim));
                }
            }
            body.push('\n');
        }
    }
    let input_bytes = body.len() as i64;
    let bytes = if gzip {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(body.as_bytes()).map_err(|e| SfError::internal(e.to_string()))?;
        gz.finish().map_err(|e| SfError::internal(e.to_string()))?
    } else {
        body.into_bytes()
    };
    let suffix = if gzip { format!(".{ext}.gz") } else { format!(".{ext}") };
    Ok((bytes, suffix, rows, input_bytes))
}

pub(super) async fn unload(engine: &Engine, session: &mut Session, stage_ref: &StageRef, query: &str, options: &[Prop]) -> Result<QueryResult, SfError> {
    let resolved = stage::resolve_stage(engine, session, &stage_ref.name, "COPY")?;
    let format = format_of(engine, session, options, &resolved)?;
    let header = bool_option(options, "HEADER")?;
    let overwrite = bool_option(options, "OVERWRITE")?;
    let single = bool_option(options, "SINGLE")?;
    // The source is a query (planned directly: going back through `Engine::execute` would make this
    // statement's future recursive).
    let statement = match crate::parse::parse_one(query)? {
        crate::parse::Stmt::Sql(statement) if matches!(*statement, datafusion::sql::sqlparser::ast::Statement::Query(_)) => *statement,
        _ => return Err(SfError::compilation("COPY INTO a location needs a table or a query")),
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let view = engine.read_view(session, Vec::new());
    let stream = engine.query_stream(session, statement, view).await?;
    let (schema, batches) = crate::engine::collect(stream, &cancel).await?;
    let result = QueryResult { schema, batches, statement_type: statement_type::SELECT };
    let (bytes, suffix, rows, input_bytes) = match format.file_type {
        FileType::Parquet => {
            let codec = super::parquet_file::codec(&format.compression)?;
            let suffix = if matches!(format.compression.as_str(), "AUTO" | "SNAPPY") { ".snappy.parquet" } else { ".parquet" };
            let rows = result.batches.iter().map(|b| b.num_rows() as i64).sum::<i64>();
            let input_bytes = result.batches.iter().map(|b| b.get_array_memory_size() as i64).sum::<i64>();
            let (schema, batches) = (result.schema.clone(), result.batches);
            let bytes = tokio::task::spawn_blocking(move || super::parquet_file::write(schema, &batches, codec)).await.map_err(|e| SfError::internal(e.to_string()))??;
            (bytes, suffix.to_string(), rows, input_bytes)
        }
        _ => text_file(&result, &format, header)?,
    };
    let rel = if single {
        if stage_ref.path.is_empty() || stage_ref.path.ends_with('/') { format!("{}data{suffix}", stage_ref.path) } else { stage_ref.path.clone() }
    } else if stage_ref.path.is_empty() || stage_ref.path.ends_with('/') {
        format!("{}data_0_0_0{suffix}", stage_ref.path)
    } else {
        format!("{}_0_0_0{suffix}", stage_ref.path)
    };
    let target = stage::stage_file_path(&resolved.dir, &rel).ok_or_else(|| SfError::compilation(format!("invalid stage location '{rel}'")))?;
    if target.exists() && !overwrite {
        return Err(SfError::new(
            "001030",
            "22000",
            model::ErrorKind::InvalidArgument,
            format!("Files already existing at the unload destination: @{}/{rel}. Use overwrite option to force unloading.", resolved.stage.name),
        ));
    }
    let output_bytes = bytes.len() as i64;
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let temp = stage::upload_temp_path(&target)?;
        std::fs::write(&temp, &bytes)?;
        std::fs::rename(&temp, &target)
    })
    .await
    .map_err(|e| SfError::internal(e.to_string()))?
    .map_err(|e| SfError::internal(format!("cannot write stage file: {e}")))?;
    Ok(build(
        statement_type::SELECT,
        vec![Col::Num("rows_unloaded", vec![Some(rows)]), Col::Num("input_bytes", vec![Some(input_bytes)]), Col::Num("output_bytes", vec![Some(output_bytes)])],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_options() -> FormatOptions {
        FormatOptions::from_map(&[("FIELD_OPTIONALLY_ENCLOSED_BY".to_string(), "\"".to_string())].into_iter().collect()).unwrap()
    }

    #[test]
    fn csv_records() {
        let rows = parse_csv("1,\"a, b\",\n2,\"say \"\"hi\"\"\",\\N\r\n\n3,,x", &csv_options());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].1, vec![Some("1".into()), Some("a, b".into()), None]);
        assert_eq!(rows[1].1, vec![Some("2".into()), Some("say \"hi\"".into()), None]);
        assert_eq!(rows[2].0, 4);
    }

    #[test]
    fn json_paths() {
        let doc: Json = serde_json::from_str(r#"{"a": {"b": [1, {"c": "x"}]}}"#).unwrap();
        assert_eq!(path_get(&doc, &["a".into(), "b".into(), "1".into(), "c".into()]), Some(&Json::String("x".into())));
        let items = [SelectItem { column: 1, path: vec!["a".into(), "b".into()] }];
        let cells = cells(&Record::Doc(doc), 1, Some(&items[..]), None, FileType::Json).unwrap();
        assert!(matches!(&cells[0], Cell::Json(Json::Array(a)) if a.len() == 2));
    }
}
