//! PUT/GET over plain HTTP: the connector's GCS presigned-URL file transfer, served by floe itself.
//!
//! A PUT or GET statement yields a `sql::objects::transfer::TransferPlan`; `response` turns it into
//! the query response the connector's file-transfer agent reads (`command`, `src_locations`,
//! `stageInfo` with `locationType: "GCS"` and a `presignedUrl`, `presignedUrls` per GET file, …) and
//! records a `Grant` under an unguessable secret. The URLs are `/floe/stage-files/<secret>/<path>`:
//! HEAD answers whether a file exists with its `x-goog-meta-sfc-digest` (base64 SHA-256, which the
//! connector compares to skip unchanged uploads), PUT writes the body to a `.floe-*` file and renames
//! it into place, GET serves a file. A grant lets exactly what its statement named be written (one
//! target path, once) or read (the selected files), for `GRANT_SECS`.
//!
//! A PUT whose source is a wildcard pattern gets a presigned URL that names no file: the client's
//! upload to it fails with 400, and the connector then re-issues the PUT for each file it expanded
//! (its per-file presigned-URL refresh), which names the file.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use model::SfError;
use parking_lot::Mutex;
use serde_json::{Value, json};
use sql::objects::stage;
use sql::objects::transfer::TransferPlan;
use tokio::io::AsyncWriteExt;

use crate::routes::AppState;

/// How long a statement's file URLs stay valid.
const GRANT_SECS: u64 = 4 * 3600;

/// What one statement's URLs allow.
#[derive(Debug)]
pub struct Grant {
    dir: PathBuf,
    /// PUT: the one path that may be written (None for a wildcard source: every upload is refused
    /// with 400, so the client asks again per file).
    write: Option<String>,
    /// GET: the paths that may be read.
    read: HashSet<String>,
    expires: Instant,
    /// PUT's OVERWRITE.
    overwrite: bool,
    /// Set once the write URL has done its job (the file was written, or found and kept under
    /// OVERWRITE = FALSE): the connector reuses the last URL it was given for its next file, so a
    /// used URL must answer as an expired one does, and the connector then asks for the right one.
    used: AtomicBool,
}

/// Live grants by secret.
#[derive(Default)]
pub struct Grants {
    by_secret: Mutex<HashMap<String, Arc<Grant>>>,
}

impl Grants {
    fn add(&self, grant: Grant) -> String {
        let secret = sql::auth::random_secret(24);
        let mut map = self.by_secret.lock();
        let now = Instant::now();
        map.retain(|_, g| g.expires > now);
        map.insert(secret.clone(), Arc::new(grant));
        secret
    }

    fn get(&self, secret: &str) -> Option<Arc<Grant>> {
        self.by_secret.lock().get(secret).filter(|g| g.expires > Instant::now()).cloned()
    }
}

/// Percent-encodes a path inside the stage for a URL (`/` kept).
fn encode_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Completes a PUT/GET response: `data` already carries the common fields (rowtype, ids, session).
pub fn response(state: &AppState, plan: &TransferPlan, base_url: &str, mut data: Value) -> Result<Value, SfError> {
    let expires = Instant::now() + Duration::from_secs(GRANT_SECS);
    let url = |secret: &str, path: &str| format!("{base_url}/floe/stage-files/{secret}/{}", encode_path(path));
    let (presigned_url, presigned_urls) = if plan.command == "UPLOAD" {
        let secret = state.queries.transfers.add(Grant {
            dir: plan.dir.clone(),
            write: plan.target.clone(),
            read: HashSet::new(),
            expires,
            overwrite: plan.overwrite,
            used: AtomicBool::new(false),
        });
        // The connector checks that a presigned URL signs the conditional-create header it sends for
        // OVERWRITE = FALSE (`x-goog-if-generation-match: 0`), as a GCS V4 signed URL lists it.
        let signed = "?X-Goog-SignedHeaders=host%3Bx-goog-if-generation-match%3Bx-goog-meta-sfc-digest";
        (format!("{}{signed}", url(&secret, plan.target.as_deref().unwrap_or(""))), Vec::new())
    } else {
        let read: HashSet<String> = plan.src_locations.iter().cloned().collect();
        let secret = state.queries.transfers.add(Grant { dir: plan.dir.clone(), write: None, read, expires, overwrite: false, used: AtomicBool::new(false) });
        (String::new(), plan.src_locations.iter().map(|p| url(&secret, p)).collect())
    };
    let location = format!("floe/{}", plan.location);
    let stage_info = json!({
        "locationType": "GCS",
        "location": location,
        "path": plan.location,
        "region": "floe",
        "storageAccount": null,
        "isClientSideEncrypted": false,
        "creds": {},
        "presignedUrl": if presigned_url.is_empty() { Value::Null } else { json!(presigned_url) },
        "endPoint": null,
        "useS3RegionalUrl": false,
        "useRegionalUrl": false,
        "useVirtualUrl": false,
    });
    data["command"] = json!(plan.command);
    data["src_locations"] = json!(plan.src_locations);
    data["stageInfo"] = stage_info;
    data["encryptionMaterial"] = Value::Null;
    data["autoCompress"] = json!(plan.auto_compress);
    data["overwrite"] = json!(plan.overwrite);
    data["sourceCompression"] = json!(plan.source_compression.to_lowercase());
    data["parallel"] = json!(plan.parallel);
    data["threshold"] = json!(200u64 << 20);
    data["clientShowEncryptionParameter"] = json!(false);
    data["presignedUrls"] = json!(presigned_urls);
    data["localLocation"] = if plan.command == "DOWNLOAD" { json!(plan.local_location) } else { Value::Null };
    data["queryResultFormat"] = json!("json");
    data["rowset"] = json!([]);
    data.as_object_mut().map(|o| o.remove("rowsetBase64"));
    Ok(data)
}

fn status(code: StatusCode, text: &'static str) -> Response {
    (code, text).into_response()
}

/// The grant and the file a request names, or the response refusing it.
fn resolve(state: &AppState, secret: &str, path: &str) -> Result<(Arc<Grant>, PathBuf), Response> {
    // An unknown or expired URL answers 400 as an expired GCS presigned URL does: the connector then
    // asks for a fresh one by re-issuing its statement.
    let grant = state.queries.transfers.get(secret).ok_or_else(|| status(StatusCode::BAD_REQUEST, "expired or unknown URL"))?;
    let file = stage::stage_file_path(&grant.dir, path).ok_or_else(|| status(StatusCode::BAD_REQUEST, "no file named"))?;
    Ok((grant, file))
}

/// HEAD: 200 with the file's digest and length, or 404.
pub async fn head(State(state): State<AppState>, Path((secret, path)): Path<(String, String)>) -> Response {
    let Ok((grant, file)) = resolve(&state, &secret, &path) else { return StatusCode::NOT_FOUND.into_response() };
    let writes = grant.write.as_deref() == Some(path.as_str());
    if (!writes && !grant.read.contains(&path)) || grant.used.load(Ordering::SeqCst) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let probe = file.clone();
    let found = tokio::task::spawn_blocking(move || std::fs::metadata(&probe).ok().filter(|m| m.is_file()).map(|m| (m.len(), stage::sha256_base64(&probe))))
        .await
        .ok()
        .flatten();
    match found {
        Some((len, Ok(digest))) => {
            if writes && !grant.overwrite {
                // Found and kept: the connector reports SKIPPED and moves on to its next file.
                grant.used.store(true, Ordering::SeqCst);
            }
            ([("x-goog-meta-sfc-digest", digest), (header::CONTENT_LENGTH.as_str(), len.to_string())], ()).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// HEAD/PUT/GET of the URL of a wildcard PUT, which names no file.
pub async fn unnamed(State(state): State<AppState>, method: axum::http::Method, Path(secret): Path<String>) -> Response {
    let _ = state.queries.transfers.get(&secret);
    if method == axum::http::Method::HEAD || method == axum::http::Method::GET {
        return StatusCode::NOT_FOUND.into_response();
    }
    status(StatusCode::BAD_REQUEST, "this URL names no file: ask for a URL per file")
}

/// PUT: writes the body to a `.floe-*` file next to the target, then renames it into place.
/// With `x-goog-if-generation-match: 0` (OVERWRITE = FALSE) an existing file is kept and the answer
/// is 412, as GCS answers a failed precondition.
pub async fn put(State(state): State<AppState>, Path((secret, path)): Path<(String, String)>, headers: HeaderMap, body: Body) -> Response {
    let (grant, file) = match resolve(&state, &secret, &path) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if grant.write.as_deref() != Some(path.as_str()) || grant.used.load(Ordering::SeqCst) {
        return status(StatusCode::BAD_REQUEST, "this URL does not name that file, or was used");
    }
    if !grant.dir.is_dir() {
        return status(StatusCode::NOT_FOUND, "the stage no longer exists");
    }
    let create_only = headers.get("x-goog-if-generation-match").and_then(|v| v.to_str().ok()) == Some("0");
    let target = file.clone();
    let temp = match tokio::task::spawn_blocking(move || stage::upload_temp_path(&target)).await {
        Ok(Ok(t)) => t,
        _ => return status(StatusCode::INTERNAL_SERVER_ERROR, "cannot create the upload file"),
    };
    let written = async {
        let mut out = tokio::fs::File::create(&temp).await?;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(std::io::Error::other)?;
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        drop(out);
        if create_only {
            // A hard link fails when the target exists: create-if-absent without a race.
            let linked = tokio::fs::hard_link(&temp, &file).await;
            let _ = tokio::fs::remove_file(&temp).await;
            return linked.map(|_| true).or_else(|e| if e.kind() == std::io::ErrorKind::AlreadyExists { Ok(false) } else { Err(e) });
        }
        tokio::fs::rename(&temp, &file).await.map(|_| true)
    }
    .await;
    match written {
        Ok(true) => {
            grant.used.store(true, Ordering::SeqCst);
            StatusCode::OK.into_response()
        }
        Ok(false) => status(StatusCode::PRECONDITION_FAILED, "the file exists"),
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            tracing::warn!(error = %e, "stage upload failed");
            status(StatusCode::INTERNAL_SERVER_ERROR, "upload failed")
        }
    }
}

/// GET: the file's bytes.
pub async fn get(State(state): State<AppState>, Path((secret, path)): Path<(String, String)>) -> Response {
    let (grant, file) = match resolve(&state, &secret, &path) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !grant.read.contains(&path) {
        return status(StatusCode::BAD_REQUEST, "this URL does not name that file");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        Err(_) => status(StatusCode::NOT_FOUND, "no such file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode() {
        assert_eq!(encode_path("dir/a b.csv.gz"), "dir/a%20b.csv.gz");
        assert_eq!(encode_path("x%y"), "x%25y");
    }
}
