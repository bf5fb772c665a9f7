//! PUT and GET (spcs.md §3.2): parsing from the statement's text, stage resolution, privileges, and the
//! transfer plan the front door turns into the connector's file-transfer response.
//!
//! The connector moves the bytes itself, so the SQL layer only decides *what* moves: for PUT, the
//! client's path pattern, the stage directory and prefix, the target name when the source is a single
//! file (`target_name`: `.gz` appended under AUTO_COMPRESS) and the options; for GET, the stage files
//! selected by path prefix and PATTERN. The plan travels to the front door as JSON in the result
//! schema's metadata (`TRANSFER_KEY`); the front door answers with Snowflake's `command`/`stageInfo`
//! response and serves the files at `/floe/stage-files/<secret>/<path>` (see `protocol::transfer`).
//!
//! PUT/GET are parsed from the raw text, not from tokens: an unquoted `file:///tmp/x.csv` would start
//! a `//` comment for Snowflake's tokenizer.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use model::SfError;
use serde::{Deserialize, Serialize};

use super::{StageRef, stage};
use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::types::SfType;

/// Schema metadata key carrying a PUT/GET transfer plan (JSON of `TransferPlan`).
pub const TRANSFER_KEY: &str = "floe.transfer";

/// `PUT file://<path> @stage[/prefix] [options]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PutStmt {
    /// The local path pattern after `file://`, as written.
    pub local: String,
    /// Where it goes.
    pub stage: StageRef,
    /// PARALLEL (accepted; the client decides).
    pub parallel: u32,
    /// AUTO_COMPRESS (default TRUE).
    pub auto_compress: bool,
    /// SOURCE_COMPRESSION (default AUTO_DETECT), upper-case.
    pub source_compression: String,
    /// OVERWRITE (default FALSE).
    pub overwrite: bool,
}

/// `GET @stage[/path] file://<dir> [PARALLEL = n] [PATTERN = 're']`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetStmt {
    /// What is read.
    pub stage: StageRef,
    /// The local directory after `file://`, as written.
    pub local: String,
    /// PARALLEL (accepted).
    pub parallel: u32,
    /// PATTERN.
    pub pattern: Option<String>,
}

/// What a PUT or GET moves; built here, turned into the wire response by the front door.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransferPlan {
    /// "UPLOAD" or "DOWNLOAD".
    pub command: String,
    /// The stage directory on the server.
    pub dir: std::path::PathBuf,
    /// `db/schema/stage/` plus the path prefix, for `stageInfo.location`.
    pub location: String,
    /// The path prefix inside the stage ("" or ending with `/`).
    pub prefix: String,
    /// PUT: the client's path pattern; GET: the stage files (paths inside the stage).
    pub src_locations: Vec<String>,
    /// PUT: the target's path inside the stage when the source names one file (no wildcard).
    pub target: Option<String>,
    /// GET: the client's directory.
    pub local_location: String,
    /// PUT options.
    pub auto_compress: bool,
    /// PUT SOURCE_COMPRESSION.
    pub source_compression: String,
    /// PUT OVERWRITE.
    pub overwrite: bool,
    /// PARALLEL.
    pub parallel: u32,
}

impl TransferPlan {
    /// The plan a result carries, if any.
    pub fn of(result: &QueryResult) -> Option<TransferPlan> {
        result.schema.metadata().get(TRANSFER_KEY).and_then(|json| serde_json::from_str(json).ok())
    }
}

const SOURCE_COMPRESSIONS: &[&str] = &["AUTO_DETECT", "GZIP", "BZ2", "BROTLI", "ZSTD", "DEFLATE", "RAW_DEFLATE", "NONE"];
/// Extensions the connector treats as already compressed (never gzipped again).
const COMPRESSED_EXTENSIONS: &[&str] = &["gz", "bz2", "br", "zst", "deflate", "raw_deflate", "parquet", "orc", "lz", "lzma", "lzo", "xz", "z"];

/// The name a source file gets in the stage: `.gz` appended when the client will gzip it (AUTO_COMPRESS
/// and the file does not look compressed already, by extension, as the connector decides).
pub fn target_name(file_name: &str, auto_compress: bool, source_compression: &str) -> String {
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let compressed = COMPRESSED_EXTENSIONS.contains(&ext.as_str()) || !matches!(source_compression, "AUTO_DETECT" | "NONE");
    if auto_compress && !compressed { format!("{file_name}.gz") } else { file_name.to_string() }
}

/// True when the statement text starts with PUT or GET (leading comments and blanks skipped).
pub fn is_transfer(text: &str) -> bool {
    let word: String = skip_comments(text).chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    word.eq_ignore_ascii_case("PUT") || word.eq_ignore_ascii_case("GET")
}

fn skip_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("--").or_else(|| text.strip_prefix("//")) {
            text = rest.split_once('\n').map(|(_, r)| r).unwrap_or("");
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.split_once("*/").map(|(_, r)| r).unwrap_or("");
        } else {
            return text;
        }
    }
}

/// A scanner over PUT/GET text that reports syntax errors with Snowflake's line/position.
struct Scan<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scan<'a> {
    fn error(&self) -> SfError {
        let before = &self.text[..self.pos];
        let line = before.matches('\n').count() as u64 + 1;
        let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) as u64;
        let rest = self.text[self.pos..].trim_start();
        let unexpected: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        SfError::syntax(line, column, if unexpected.is_empty() { "<EOF>" } else { &unexpected })
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        let rest = self.text[self.pos..].trim_end_matches(|c: char| c == ';' || c.is_whitespace());
        rest.is_empty()
    }

    /// A word of letters, digits and `_`, upper-cased.
    fn word(&mut self) -> Option<String> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let n = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        self.pos += n;
        Some(rest[..n].to_ascii_uppercase())
    }

    /// A single-quoted string (with `''` and backslash escapes) or a run of non-blank characters.
    /// Returns the text and whether it was quoted.
    fn item(&mut self) -> Result<(String, bool), SfError> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        if let Some(body) = rest.strip_prefix('\'') {
            let mut out = String::new();
            let mut chars = body.char_indices().peekable();
            while let Some((i, ch)) = chars.next() {
                match ch {
                    '\'' if matches!(chars.peek(), Some((_, '\''))) => {
                        chars.next();
                        out.push('\'');
                    }
                    '\'' => {
                        self.pos += 1 + i + 1;
                        return Ok((out, true));
                    }
                    '\\' => {
                        if let Some((_, next)) = chars.next() {
                            out.push(next);
                        }
                    }
                    other => out.push(other),
                }
            }
            return Err(self.error());
        }
        let n = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let run = rest[..n].trim_end_matches(';');
        if run.is_empty() {
            return Err(self.error());
        }
        self.pos += run.len();
        Ok((run.to_string(), false))
    }

    /// `KEY = value` options until the end; keys must be in `allowed`.
    fn options(&mut self, allowed: &[&str]) -> Result<HashMap<String, (String, bool)>, SfError> {
        let mut out = HashMap::new();
        while !self.at_end() {
            let mark = self.pos;
            let Some(key) = self.word().filter(|k| allowed.contains(&k.as_str())) else {
                self.pos = mark;
                return Err(self.error());
            };
            self.skip_ws();
            if !self.text[self.pos..].starts_with('=') {
                return Err(self.error());
            }
            self.pos += 1;
            out.insert(key, self.item()?);
        }
        Ok(out)
    }
}

fn bool_option(options: &HashMap<String, (String, bool)>, key: &str, default: bool) -> Result<bool, SfError> {
    match options.get(key) {
        None => Ok(default),
        Some((v, _)) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some((v, _)) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some((v, quoted)) => Err(SfError::invalid_value(key, &if *quoted { format!("'{v}'") } else { v.clone() })),
    }
}

fn parallel_option(options: &HashMap<String, (String, bool)>) -> Result<u32, SfError> {
    match options.get("PARALLEL") {
        None => Ok(4),
        Some((v, _)) => v.parse::<u32>().ok().filter(|n| (1..=99).contains(n)).ok_or_else(|| SfError::invalid_value("PARALLEL", v)),
    }
}

fn local_path(raw: &str, scan: &Scan<'_>) -> Result<String, SfError> {
    let Some(path) = raw.get(..7).filter(|p| p.eq_ignore_ascii_case("file://")).map(|_| &raw[7..]) else {
        return Err(scan.error());
    };
    if path.is_empty() {
        return Err(scan.error());
    }
    Ok(path.to_string())
}

fn stage_location(raw: &str, scan: &Scan<'_>) -> Result<StageRef, SfError> {
    if !raw.starts_with('@') {
        return Err(scan.error());
    }
    StageRef::parse(raw).ok_or_else(|| SfError::compilation(format!("invalid stage location '{raw}'")))
}

/// Parses a PUT or GET statement from its text.
pub fn parse(text: &str) -> Result<super::ObjectStmt, SfError> {
    let body = skip_comments(text);
    let offset = text.len() - body.len();
    let mut scan = Scan { text, pos: offset };
    let verb = scan.word().unwrap_or_default();
    if verb == "PUT" {
        scan.skip_ws();
        let mark = scan.pos;
        let (raw, _) = scan.item()?;
        let local = local_path(&raw, &Scan { text, pos: mark })?;
        scan.skip_ws();
        let mark = scan.pos;
        let (raw, _) = scan.item()?;
        let stage = stage_location(&raw, &Scan { text, pos: mark })?;
        let options = scan.options(&["PARALLEL", "AUTO_COMPRESS", "SOURCE_COMPRESSION", "OVERWRITE"])?;
        let source_compression = match options.get("SOURCE_COMPRESSION") {
            None => "AUTO_DETECT".to_string(),
            Some((v, _)) if SOURCE_COMPRESSIONS.contains(&v.to_ascii_uppercase().as_str()) => v.to_ascii_uppercase(),
            Some((v, _)) => return Err(SfError::invalid_value("SOURCE_COMPRESSION", v)),
        };
        return Ok(super::ObjectStmt::Put(PutStmt {
            local,
            stage,
            parallel: parallel_option(&options)?,
            auto_compress: bool_option(&options, "AUTO_COMPRESS", true)?,
            source_compression,
            overwrite: bool_option(&options, "OVERWRITE", false)?,
        }));
    }
    // GET
    scan.skip_ws();
    let mark = scan.pos;
    let (raw, _) = scan.item()?;
    let stage = stage_location(&raw, &Scan { text, pos: mark })?;
    scan.skip_ws();
    let mark = scan.pos;
    let (raw, _) = scan.item()?;
    let local = local_path(&raw, &Scan { text, pos: mark })?;
    let options = scan.options(&["PARALLEL", "PATTERN"])?;
    Ok(super::ObjectStmt::Get(GetStmt { stage, local, parallel: parallel_option(&options)?, pattern: options.get("PATTERN").map(|(v, _)| v.clone()) }))
}

/// The result columns of PUT (filled by the client after the transfer).
fn put_schema() -> Vec<datafusion::arrow::datatypes::Field> {
    let text = |n: &str| SfType::Varchar(10000).field(n, false);
    let num = |n: &str| SfType::Number(64, 0).field(n, false);
    vec![text("source"), text("target"), num("source_size"), num("target_size"), text("source_compression"), text("target_compression"), text("status"), text("message")]
}

/// The result columns of GET.
fn get_schema() -> Vec<datafusion::arrow::datatypes::Field> {
    let text = |n: &str| SfType::Varchar(10000).field(n, false);
    vec![text("file"), SfType::Number(64, 0).field("size", false), text("status"), text("message")]
}

fn plan_result(fields: Vec<datafusion::arrow::datatypes::Field>, plan: &TransferPlan) -> Result<QueryResult, SfError> {
    let json = serde_json::to_string(plan).map_err(|e| SfError::internal(e.to_string()))?;
    let schema = Arc::new(Schema::new_with_metadata(fields, HashMap::from([(TRANSFER_KEY.to_string(), json)])));
    Ok(QueryResult { schema, batches: vec![], statement_type: statement_type::SELECT })
}

fn prefix_of(path: &str) -> String {
    if path.is_empty() || path.ends_with('/') { path.to_string() } else { format!("{path}/") }
}

fn location(resolved: &stage::ResolvedStage, prefix: &str) -> String {
    format!("{}/{}/{}/{prefix}", resolved.database, resolved.schema, resolved.stage.name)
}

pub(super) async fn put(engine: &Engine, session: &Session, stmt: &PutStmt) -> Result<QueryResult, SfError> {
    let resolved = stage::resolve_stage(engine, session, &stmt.stage.name, "PUT")?;
    let prefix = prefix_of(&stmt.stage.path);
    let file_name = stmt.local.rsplit(['/', '\\']).next().unwrap_or_default();
    let target = (!file_name.is_empty() && !file_name.contains(['*', '?']))
        .then(|| format!("{prefix}{}", target_name(file_name, stmt.auto_compress, &stmt.source_compression)));
    let plan = TransferPlan {
        command: "UPLOAD".into(),
        dir: resolved.dir.clone(),
        location: location(&resolved, &prefix),
        prefix,
        src_locations: vec![stmt.local.clone()],
        target,
        local_location: String::new(),
        auto_compress: stmt.auto_compress,
        source_compression: stmt.source_compression.clone(),
        overwrite: stmt.overwrite,
        parallel: stmt.parallel,
    };
    plan_result(put_schema(), &plan)
}

pub(super) async fn get(engine: &Engine, session: &Session, stmt: &GetStmt) -> Result<QueryResult, SfError> {
    let resolved = stage::resolve_stage(engine, session, &stmt.stage.name, "GET")?;
    let files = stage::select_files(&resolved, &stmt.stage.path, stmt.pattern.as_deref()).await?;
    let plan = TransferPlan {
        command: "DOWNLOAD".into(),
        dir: resolved.dir.clone(),
        location: location(&resolved, ""),
        prefix: String::new(),
        src_locations: files,
        target: None,
        local_location: stmt.local.clone(),
        auto_compress: false,
        source_compression: "NONE".into(),
        overwrite: false,
        parallel: stmt.parallel,
    };
    plan_result(get_schema(), &plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::ObjectStmt;

    fn put_of(sql: &str) -> PutStmt {
        match parse(sql).unwrap() {
            ObjectStmt::Put(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn put_forms() {
        let p = put_of("PUT file:///tmp/data/*.csv @my_db.public.s1/Dir auto_compress=false OVERWRITE = TRUE parallel=8;");
        assert_eq!(p.local, "/tmp/data/*.csv");
        assert_eq!(p.stage.name, ["MY_DB", "PUBLIC", "S1"]);
        assert_eq!(p.stage.path, "Dir");
        assert!(!p.auto_compress && p.overwrite);
        assert_eq!(p.parallel, 8);
        let p = put_of("put 'file:///tmp/a b.csv' '@s' SOURCE_COMPRESSION=gzip");
        assert_eq!(p.local, "/tmp/a b.csv");
        assert_eq!(p.source_compression, "GZIP");
        assert!(p.auto_compress);
        let err = parse("PUT file:///tmp/a.csv @s AUTO_COMPRES=TRUE").unwrap_err();
        assert_eq!(err.code, "001003");
        assert!(err.message.contains("AUTO_COMPRES=TRUE"), "{}", err.message);
        assert!(parse("PUT /tmp/a.csv @s").is_err());
        let err = parse("PUT file:///tmp/a.csv @s OVERWRITE=maybe").unwrap_err();
        assert!(err.message.contains("[maybe]"), "{}", err.message);
    }

    #[test]
    fn get_forms() {
        let ObjectStmt::Get(g) = parse("-- fetch\nGET @s/data/ file:///tmp/out PATTERN = '.*[.]csv[.]gz' PARALLEL=2").unwrap() else { panic!() };
        assert_eq!(g.stage.path, "data/");
        assert_eq!(g.local, "/tmp/out");
        assert_eq!(g.pattern.as_deref(), Some(".*[.]csv[.]gz"));
        assert!(is_transfer(" /* x */ get @s file:///x"));
        assert!(!is_transfer("GETDATE()"));
    }

    #[test]
    fn target_names() {
        assert_eq!(target_name("a.csv", true, "AUTO_DETECT"), "a.csv.gz");
        assert_eq!(target_name("a.csv.gz", true, "AUTO_DETECT"), "a.csv.gz");
        assert_eq!(target_name("a.csv", false, "AUTO_DETECT"), "a.csv");
        assert_eq!(target_name("x.parquet", true, "AUTO_DETECT"), "x.parquet");
        assert_eq!(target_name("file0.txt", true, "GZIP"), "file0.txt");
    }
}
