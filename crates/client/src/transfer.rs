//! PUT and GET in `floe sql`: the client half of the connector's GCS presigned-URL file transfer.
//!
//! The server answers a PUT/GET statement with `command` (UPLOAD/DOWNLOAD), `src_locations` and
//! presigned URLs; the client moves the bytes with plain HTTP and builds the rows the connector shows
//! (PUT: source, target, source_size, target_size, source_compression, target_compression, status,
//! message; GET: file, size, status, message). Uploads are gzipped under AUTO_COMPRESS unless the file
//! is compressed already (by extension or gzip magic) and skipped when the stage has the file and
//! OVERWRITE is false, as the connector does; the SHA-256 `x-goog-meta-sfc-digest` goes along. A
//! wildcard source is expanded here, and each file gets its own URL by re-issuing the PUT for that
//! file, as the connector does.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::wire::{Error, Session};

/// One result row, in wire encoding.
type Row = Vec<Option<String>>;

/// Extensions of compressed files and their SOURCE_COMPRESSION names.
const COMPRESSED: &[(&str, &str)] =
    &[("gz", "GZIP"), ("bz2", "BZIP2"), ("br", "BROTLI"), ("zst", "ZSTD"), ("deflate", "DEFLATE"), ("raw_deflate", "RAW_DEFLATE"), ("parquet", "PARQUET"), ("orc", "ORC")];

/// Whether `name` matches a pattern with `*` and `?`.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The local files a PUT source names (a wildcard in the file name is expanded), sorted.
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>, Error> {
    let expanded = if let Some(rest) = pattern.strip_prefix("~/") {
        std::env::var("HOME").map(|h| format!("{h}/{rest}")).unwrap_or_else(|_| pattern.to_string())
    } else {
        pattern.to_string()
    };
    let path = Path::new(&expanded);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    if !name.contains(['*', '?']) {
        if path.is_file() {
            return Ok(vec![path.to_path_buf()]);
        }
        return Err(Error::Protocol(format!("File doesn't exist: {expanded}")));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Protocol(format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard_match(&name, n)))
        .map(|e| e.path())
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(Error::Protocol(format!("File doesn't exist: {expanded}")));
    }
    Ok(out)
}

fn digest(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The compression a file has: by extension, else gzip's magic bytes, else NONE.
fn detect_compression(name: &str, bytes: &[u8]) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if let Some((_, c)) = COMPRESSED.iter().find(|(e, _)| *e == ext) {
        return c;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) { "GZIP" } else { "NONE" }
}

fn text(s: impl Into<String>) -> Option<String> {
    Some(s.into())
}

/// Runs the transfer a PUT/GET response asks for; returns the rows to show.
pub fn run(session: &mut Session, sql: &str, data: &Value) -> Result<Vec<Row>, Error> {
    match data.get("command").and_then(Value::as_str) {
        Some("UPLOAD") => upload(session, sql, data),
        Some("DOWNLOAD") => download(session, data),
        other => Err(Error::Protocol(format!("unknown file transfer command {other:?}"))),
    }
}

fn upload(session: &mut Session, sql: &str, data: &Value) -> Result<Vec<Row>, Error> {
    let pattern = data["src_locations"].get(0).and_then(Value::as_str).ok_or_else(|| Error::Protocol("no src_locations".into()))?.to_string();
    let auto_compress = data["autoCompress"].as_bool().unwrap_or(true);
    let overwrite = data["overwrite"].as_bool().unwrap_or(false);
    let wanted = data["sourceCompression"].as_str().unwrap_or("auto_detect").to_ascii_uppercase();
    let files = expand(&pattern)?;
    let single = files.len() == 1 && !pattern.contains(['*', '?']);
    let mut rows = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let bytes = std::fs::read(&file).map_err(|e| Error::Protocol(format!("cannot read {}: {e}", file.display())))?;
        let source_compression = if wanted == "AUTO_DETECT" { detect_compression(&name, &bytes).to_string() } else { wanted.clone() };
        let (payload, target, target_compression) = if auto_compress && source_compression == "NONE" {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&bytes).and_then(|_| gz.flush()).map_err(|e| Error::Protocol(e.to_string()))?;
            (gz.finish().map_err(|e| Error::Protocol(e.to_string()))?, format!("{name}.gz"), "GZIP".to_string())
        } else {
            (bytes.clone(), name.clone(), source_compression.clone())
        };
        // A wildcard PUT's URL names no file: ask for this file's URL by re-issuing the PUT for it.
        let url = if single {
            data["stageInfo"]["presignedUrl"].as_str().map(str::to_string)
        } else {
            let one = session.request(&sql.replacen(&pattern, &target, 1))?;
            one["data"]["stageInfo"]["presignedUrl"].as_str().map(str::to_string)
        }
        .ok_or_else(|| Error::Protocol("no presigned URL for the upload".into()))?;
        let sum = digest(&payload);
        let head = session.http().head(&url).send().map_err(|e| Error::Connection(format!("checking the stage file: {e}")))?;
        let exists = head.status().is_success();
        let mut status = if exists && !overwrite { "SKIPPED" } else { "UPLOADED" };
        if status == "UPLOADED" {
            let mut req = session.http().put(&url).header("x-goog-meta-sfc-digest", &sum).body(payload.clone());
            if !overwrite {
                req = req.header("x-goog-if-generation-match", "0");
            }
            let resp = req.send().map_err(|e| Error::Connection(format!("uploading {name}: {e}")))?;
            if resp.status().as_u16() == 412 {
                status = "SKIPPED";
            } else if !resp.status().is_success() {
                return Err(Error::Protocol(format!("uploading {name}: HTTP {}", resp.status())));
            }
        }
        rows.push(vec![
            text(name),
            text(target),
            text(bytes.len().to_string()),
            text(payload.len().to_string()),
            text(source_compression),
            text(target_compression),
            text(status),
            text(""),
        ]);
    }
    Ok(rows)
}

fn download(session: &mut Session, data: &Value) -> Result<Vec<Row>, Error> {
    let local = data["localLocation"].as_str().unwrap_or(".");
    let local = match local.strip_prefix("~/") {
        Some(rest) => std::env::var("HOME").map(|h| format!("{h}/{rest}")).unwrap_or_else(|_| local.to_string()),
        None => local.to_string(),
    };
    std::fs::create_dir_all(&local).map_err(|e| Error::Protocol(format!("cannot create {local}: {e}")))?;
    let sources = data["src_locations"].as_array().cloned().unwrap_or_default();
    let urls = data["presignedUrls"].as_array().cloned().unwrap_or_default();
    let mut rows = Vec::new();
    for (src, url) in sources.iter().zip(urls.iter()) {
        let (Some(src), Some(url)) = (src.as_str(), url.as_str()) else { continue };
        let name = src.rsplit('/').next().unwrap_or(src).to_string();
        let resp = session.http().get(url).send().map_err(|e| Error::Connection(format!("downloading {src}: {e}")))?;
        if !resp.status().is_success() {
            return Err(Error::Protocol(format!("downloading {src}: HTTP {}", resp.status())));
        }
        let bytes = resp.bytes().map_err(|e| Error::Connection(format!("downloading {src}: {e}")))?;
        std::fs::write(Path::new(&local).join(&name), &bytes).map_err(|e| Error::Protocol(format!("cannot write {name}: {e}")))?;
        rows.push(vec![text(name), text(bytes.len().to_string()), text("DOWNLOADED"), text("")]);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.csv", "a.csv"));
        assert!(wildcard_match("f?le*", "file0.txt"));
        assert!(!wildcard_match("*.csv", "a.json"));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn compression_detection() {
        assert_eq!(detect_compression("a.csv.gz", b"x"), "GZIP");
        assert_eq!(detect_compression("a.bin", &[0x1f, 0x8b, 8]), "GZIP");
        assert_eq!(detect_compression("a.csv", b"a,b"), "NONE");
    }
}
