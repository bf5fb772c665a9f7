//! The OCI Distribution endpoints. Names contain slashes, so one wildcard route takes `/v2/<rest>` and
//! `Endpoint::parse` splits it: `<name>/manifests/<reference>`, `<name>/blobs/<digest>`,
//! `<name>/blobs/uploads/[<uuid>]`, `<name>/tags/list`, `_catalog`. Every request authenticates
//! (Basic); every repository request is authorised for Pull or Push by the authority.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use futures::StreamExt;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::error::{RegistryError, Result};
use crate::store::{Scope, parse_digest};
use crate::{Action, Principal, Refusal, Registry};

/// Largest manifest accepted (OCI suggests registries accept at least 4 MiB).
const MANIFEST_LIMIT: usize = 4 << 20;

pub(crate) fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/v2", any(handle))
        .route("/v2/", any(handle))
        .route("/v2/{*rest}", any(handle))
        .layer(axum::middleware::map_response(|mut r: Response| async move {
            r.headers_mut().insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
            r
        }))
        .with_state(registry)
}

/// What a `/v2/…` path names.
#[derive(Debug, PartialEq)]
enum Endpoint {
    Base,
    Catalog,
    Tags(String),
    Manifest(String, String),
    Blob(String, String),
    Uploads(String, Option<String>),
}

impl Endpoint {
    fn parse(path: &str) -> Option<Endpoint> {
        let rest = path.strip_prefix("/v2")?.trim_start_matches('/');
        if rest.is_empty() {
            return Some(Endpoint::Base);
        }
        if rest == "_catalog" {
            return Some(Endpoint::Catalog);
        }
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return Some(Endpoint::Tags(name.into()));
        }
        if let Some(name) = rest.strip_suffix("/blobs/uploads").or_else(|| rest.strip_suffix("/blobs/uploads/")) {
            return Some(Endpoint::Uploads(name.into(), None));
        }
        if let Some((name, uuid)) = rest.rsplit_once("/blobs/uploads/") {
            return Some(Endpoint::Uploads(name.into(), Some(uuid.into())));
        }
        if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
            return Some(Endpoint::Manifest(name.into(), reference.into()));
        }
        if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
            return Some(Endpoint::Blob(name.into(), digest.into()));
        }
        None
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    if !b.iter().all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || matches!(x, b'.' | b'_' | b'-')) {
        return false;
    }
    // Separators: one '.', one or two '_', or any run of '-'; never mixed.
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `<db>/<schema>/<repo>/<image…>` → (`db/schema/repo`, `image…`).
fn split_name(name: &str) -> Result<(String, String)> {
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() < 4 || name.len() > 255 || !parts.iter().all(|p| valid_component(p)) {
        return Err(RegistryError::name_invalid(name));
    }
    Ok((parts[..3].join("/"), parts[3..].join("/")))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

struct Ctx {
    registry: Arc<Registry>,
    principal: Principal,
}

impl Ctx {
    fn scope(&self, name: &str, action: Action) -> Result<Scope> {
        let (repository, image) = split_name(name)?;
        match self.registry.authority.authorize(&self.principal, &repository, action) {
            Ok(incarnation) => Ok(Scope { repository, incarnation, image }),
            Err(Refusal::Unknown) => Err(RegistryError::name_unknown(name)),
            Err(Refusal::Denied(why)) => Err(RegistryError::denied(why)),
        }
    }
}

async fn handle(State(registry): State<Arc<Registry>>, Query(query): Query<HashMap<String, String>>, request: Request) -> Response {
    match dispatch(registry, query, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch(registry: Arc<Registry>, query: HashMap<String, String>, request: Request) -> Result<Response> {
    let (parts, body) = request.into_parts();
    let Some(endpoint) = Endpoint::parse(parts.uri.path()) else { return Err(RegistryError::unsupported(format!("no such endpoint: {}", parts.uri.path()))) };
    let Some((user, password)) = basic_credentials(&parts.headers) else { return Err(RegistryError::unauthorized()) };
    let Some(principal) = registry.authenticate(&user, &password).await else { return Err(RegistryError::unauthorized()) };
    let ctx = Ctx { registry, principal };
    let method = parts.method.clone();
    let head = method == Method::HEAD;
    match (endpoint, method) {
        (Endpoint::Base, Method::GET | Method::HEAD) => Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{}").into_response()),
        (Endpoint::Catalog, Method::GET) => catalog(&ctx, &query),
        (Endpoint::Tags(name), Method::GET) => tags(&ctx, &name, &query),
        (Endpoint::Manifest(name, reference), Method::GET | Method::HEAD) => get_manifest(&ctx, &name, &reference, head),
        (Endpoint::Manifest(name, reference), Method::PUT) => put_manifest(&ctx, &name, &reference, &parts.headers, body).await,
        (Endpoint::Blob(name, digest), Method::GET | Method::HEAD) => get_blob(&ctx, &name, &digest, &parts.headers, head).await,
        (Endpoint::Uploads(name, None), Method::POST) => start_upload(&ctx, &name, &query, body).await,
        (Endpoint::Uploads(name, Some(uuid)), Method::PATCH) => patch_upload(&ctx, &name, &uuid, &parts.headers, body).await,
        (Endpoint::Uploads(name, Some(uuid)), Method::PUT) => finish_upload(&ctx, &name, &uuid, &query, body).await,
        (Endpoint::Uploads(name, Some(uuid)), Method::GET) => {
            let scope = ctx.scope(&name, Action::Push)?;
            let size = ctx.registry.storage.upload_size(&scope, &uuid)?;
            Ok(upload_response(StatusCode::NO_CONTENT, &scope, &uuid, size))
        }
        (Endpoint::Uploads(name, Some(uuid)), Method::DELETE) => {
            let scope = ctx.scope(&name, Action::Push)?;
            ctx.registry.storage.cancel_upload(&scope, &uuid)?;
            ctx.registry.hashers.lock().remove(&uuid);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (Endpoint::Manifest(name, _) | Endpoint::Blob(name, _), Method::DELETE) => {
            ctx.scope(&name, Action::Push)?;
            Err(RegistryError::unsupported("images cannot be deleted individually; drop the image repository"))
        }
        (_, method) => Err(RegistryError::unsupported(format!("method {method} not allowed here"))),
    }
}

/// `n` and `last` of a paginated list: the page and the `Link` to the next one.
fn paginate(items: Vec<String>, query: &HashMap<String, String>, path: &str) -> Result<(Vec<String>, Option<String>)> {
    let n = match query.get("n") {
        Some(n) => n.parse::<usize>().map_err(|_| RegistryError::pagination_invalid())?,
        None => usize::MAX,
    };
    let start: Vec<String> = match query.get("last") {
        Some(last) => items.into_iter().filter(|t| t > last).collect(),
        None => items,
    };
    if start.len() > n {
        let page: Vec<String> = start.into_iter().take(n).collect();
        let link = format!("<{path}?n={n}&last={}>; rel=\"next\"", page.last().cloned().unwrap_or_default());
        return Ok((page, Some(link)));
    }
    Ok((start, None))
}

fn json_page(body: serde_json::Value, link: Option<String>) -> Response {
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LINK, link);
    }
    r
}

fn catalog(ctx: &Ctx, query: &HashMap<String, String>) -> Result<Response> {
    let mut names: Vec<String> = ctx
        .registry
        .storage
        .names()?
        .into_iter()
        .filter(|s| ctx.registry.authority.authorize(&ctx.principal, &s.repository, Action::Pull) == Ok(s.incarnation))
        .map(|s| s.name())
        .collect();
    names.dedup();
    let (page, link) = paginate(names, query, "/v2/_catalog")?;
    Ok(json_page(serde_json::json!({"repositories": page}), link))
}

fn tags(ctx: &Ctx, name: &str, query: &HashMap<String, String>) -> Result<Response> {
    let scope = ctx.scope(name, Action::Pull)?;
    let all = ctx.registry.storage.tags(&scope)?;
    let (page, link) = paginate(all, query, &format!("/v2/{name}/tags/list"))?;
    Ok(json_page(serde_json::json!({"name": name, "tags": page}), link))
}

fn get_manifest(ctx: &Ctx, name: &str, reference: &str, head: bool) -> Result<Response> {
    let scope = ctx.scope(name, Action::Pull)?;
    let Some(m) = ctx.registry.storage.manifest(&scope, reference)? else { return Err(RegistryError::manifest_unknown(reference)) };
    let headers = [
        (header::CONTENT_TYPE, m.media_type.clone()),
        (header::CONTENT_LENGTH, m.body.len().to_string()),
        (header::HeaderName::from_static("docker-content-digest"), m.digest.clone()),
        (header::ETAG, format!("\"{}\"", m.digest)),
    ];
    if head {
        return Ok((StatusCode::OK, headers).into_response());
    }
    Ok((StatusCode::OK, headers, m.body).into_response())
}

async fn put_manifest(ctx: &Ctx, name: &str, reference: &str, headers: &HeaderMap, body: Body) -> Result<Response> {
    let scope = ctx.scope(name, Action::Push)?;
    let bytes = axum::body::to_bytes(body, MANIFEST_LIMIT).await.map_err(|_| RegistryError::size_invalid("manifest larger than 4 MiB"))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
    let registry = ctx.registry.clone();
    let reference_owned = reference.to_string();
    let scope_owned = scope.clone();
    let digest = tokio::task::spawn_blocking(move || registry.storage.put_manifest(&scope_owned, &reference_owned, content_type.as_deref(), &bytes))
        .await
        .map_err(|e| RegistryError::internal(e.to_string()))??;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v2/{}/manifests/{digest}", scope.name())), (header::HeaderName::from_static("docker-content-digest"), digest)],
    )
        .into_response())
}

/// `bytes=a-b` / `bytes=a-` → [a, b] within `size`.
fn parse_range(value: &str, size: u64) -> Result<(u64, u64)> {
    let spec = value.strip_prefix("bytes=").ok_or_else(RegistryError::range_invalid)?;
    let (a, b) = spec.split_once('-').ok_or_else(RegistryError::range_invalid)?;
    let start: u64 = a.trim().parse().map_err(|_| RegistryError::range_invalid())?;
    let end: u64 = if b.trim().is_empty() { size.saturating_sub(1) } else { b.trim().parse().map_err(|_| RegistryError::range_invalid())? };
    if start > end || end >= size {
        return Err(RegistryError::range_invalid());
    }
    Ok((start, end))
}

async fn get_blob(ctx: &Ctx, name: &str, digest: &str, headers: &HeaderMap, head: bool) -> Result<Response> {
    let scope = ctx.scope(name, Action::Pull)?;
    parse_digest(digest)?;
    let Some(size) = ctx.registry.storage.blob_size(&scope, digest)? else { return Err(RegistryError::blob_unknown(digest)) };
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) if !head => Some(parse_range(r, size)?),
        _ => None,
    };
    let (status, start, len) = match range {
        Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        None => (StatusCode::OK, 0, size),
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len)
        .header(header::ACCEPT_RANGES, "bytes")
        .header("Docker-Content-Digest", digest)
        .header(header::ETAG, format!("\"{digest}\""));
    if range.is_some() {
        response = response.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", start + len - 1));
    }
    if head {
        return response.body(Body::empty()).map_err(|e| RegistryError::internal(e.to_string()));
    }
    let mut file = tokio::fs::File::open(ctx.registry.storage.blob_path(digest)?).await?;
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let stream = futures::stream::unfold((file.take(len), vec![0u8; 256 << 10]), |(mut reader, mut buf)| async move {
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => Some((Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(&buf[..n])), (reader, buf))),
            Err(e) => Some((Err(e), (reader, buf))),
        }
    });
    response.body(Body::from_stream(stream)).map_err(|e| RegistryError::internal(e.to_string()))
}

fn upload_response(status: StatusCode, scope: &Scope, uuid: &str, size: u64) -> Response {
    // Range is inclusive: an empty upload is "0-0", as the reference registry answers.
    let range = format!("0-{}", size.saturating_sub(1));
    (
        status,
        [
            (header::LOCATION, format!("/v2/{}/blobs/uploads/{uuid}", scope.name())),
            (header::RANGE, range),
            (header::HeaderName::from_static("docker-upload-uuid"), uuid.to_string()),
            (header::CONTENT_LENGTH, "0".to_string()),
        ],
    )
        .into_response()
}

fn blob_created(scope: &Scope, digest: &str) -> Response {
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{}/blobs/{digest}", scope.name())),
            (header::HeaderName::from_static("docker-content-digest"), digest.to_string()),
            (header::CONTENT_LENGTH, "0".to_string()),
        ],
    )
        .into_response()
}

async fn start_upload(ctx: &Ctx, name: &str, query: &HashMap<String, String>, body: Body) -> Result<Response> {
    let scope = ctx.scope(name, Action::Push)?;
    if let (Some(digest), Some(from)) = (query.get("mount"), query.get("from")) {
        parse_digest(digest)?;
        // A mount the caller may not read from falls back to a plain upload, as the spec allows.
        if let Ok(source) = ctx.scope(from, Action::Pull)
            && ctx.registry.storage.mount(&scope, &source, digest)?
        {
            return Ok(blob_created(&scope, digest));
        }
    }
    let uuid = ctx.registry.storage.start_upload(&scope)?;
    if let Some(digest) = query.get("digest") {
        // Monolithic upload: the body is the blob.
        return finish(ctx, &scope, &uuid, digest, body).await;
    }
    Ok(upload_response(StatusCode::ACCEPTED, &scope, &uuid, 0))
}

/// Appends a body to an upload, hashing it as it goes; returns the new size.
async fn append(ctx: &Ctx, uuid: &str, size: u64, body: Body) -> Result<u64> {
    let path = ctx.registry.storage.upload_path(uuid);
    // The running hash, or the file's hash so far (after a restart, or a failed earlier chunk).
    let state = ctx.registry.hashers.lock().remove(uuid);
    let mut hasher = match state {
        Some((h, n)) if n == size => h,
        _ => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<Sha256> {
                let mut h = Sha256::new();
                std::io::copy(&mut std::fs::File::open(path)?, &mut h)?;
                Ok(h)
            })
            .await
            .map_err(|e| RegistryError::internal(e.to_string()))??
        }
    };
    let mut file = tokio::fs::OpenOptions::new().append(true).open(&path).await.map_err(|_| RegistryError::upload_unknown())?;
    let mut written = size;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                // What reached the file stays; the hash is rebuilt from it next time.
                file.flush().await?;
                return Err(RegistryError::upload_invalid(format!("upload interrupted: {e}")));
            }
        };
        file.write_all(&chunk).await?;
        hasher.update(&chunk);
        written += chunk.len() as u64;
    }
    file.flush().await?;
    ctx.registry.hashers.lock().insert(uuid.to_string(), (hasher, written));
    Ok(written)
}

async fn patch_upload(ctx: &Ctx, name: &str, uuid: &str, headers: &HeaderMap, body: Body) -> Result<Response> {
    let scope = ctx.scope(name, Action::Push)?;
    let size = ctx.registry.storage.upload_size(&scope, uuid)?;
    if let Some(range) = headers.get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok()) {
        let start = range.trim_start_matches("bytes").trim_start_matches([' ', '=']).split('-').next().and_then(|s| s.trim().parse::<u64>().ok());
        if start != Some(size) {
            return Err(RegistryError::range_invalid());
        }
    }
    let size = append(ctx, uuid, size, body).await?;
    Ok(upload_response(StatusCode::ACCEPTED, &scope, uuid, size))
}

async fn finish_upload(ctx: &Ctx, name: &str, uuid: &str, query: &HashMap<String, String>, body: Body) -> Result<Response> {
    let scope = ctx.scope(name, Action::Push)?;
    let Some(digest) = query.get("digest") else { return Err(RegistryError::digest_invalid("the digest parameter is required")) };
    ctx.registry.storage.upload_size(&scope, uuid)?;
    finish(ctx, &scope, uuid, digest, body).await
}

/// Appends the final body and commits the upload as the blob `digest`.
async fn finish(ctx: &Ctx, scope: &Scope, uuid: &str, digest: &str, body: Body) -> Result<Response> {
    if let Err(e) = parse_digest(digest) {
        let _ = ctx.registry.storage.cancel_upload(scope, uuid);
        return Err(e);
    }
    let size = ctx.registry.storage.upload_size(scope, uuid)?;
    append(ctx, uuid, size, body).await?;
    let (hasher, _) = ctx.registry.hashers.lock().remove(uuid).ok_or_else(RegistryError::upload_unknown)?;
    let actual = format!("sha256:{:x}", hasher.finalize());
    let registry = ctx.registry.clone();
    let (scope_owned, uuid_owned, digest_owned) = (scope.clone(), uuid.to_string(), digest.to_string());
    tokio::task::spawn_blocking(move || registry.storage.commit_upload(&scope_owned, &uuid_owned, &digest_owned, &actual))
        .await
        .map_err(|e| RegistryError::internal(e.to_string()))??;
    Ok(blob_created(scope, digest))
}
