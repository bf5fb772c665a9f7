//! The registry through its router, with a fake authority: upload flows, digests, manifests, auth.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::store::digest_of;
use crate::{Action, Principal, Refusal, Registry, RegistryAuthority};

/// alice may push and pull `db/sc/repo`; bob may only pull it; `db/sc/hidden` exists, visible to no one
/// but alice. Incarnations can be changed to simulate DROP/CREATE.
struct Fake {
    repos: Mutex<Vec<(String, i64)>>,
}

#[async_trait::async_trait]
impl RegistryAuthority for Fake {
    async fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        match (username, password) {
            ("alice", "pw") | ("bob", "pw") => Some(Principal { user: username.into(), role: username.to_uppercase() }),
            _ => None,
        }
    }
    fn authorize(&self, p: &Principal, repository: &str, action: Action) -> Result<i64, Refusal> {
        let Some((_, inc)) = self.repos.lock().iter().find(|(r, _)| r == repository).cloned() else { return Err(Refusal::Unknown) };
        match (p.user.as_str(), repository, action) {
            ("alice", _, _) => Ok(inc),
            ("bob", "db/sc/repo", Action::Pull) => Ok(inc),
            ("bob", "db/sc/repo", Action::Push) => Err(Refusal::Denied("WRITE required".into())),
            _ => Err(Refusal::Unknown),
        }
    }
    fn live_repositories(&self) -> Vec<(String, i64)> {
        self.repos.lock().clone()
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    fake: Arc<Fake>,
    registry: Arc<Registry>,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake { repos: Mutex::new(vec![("db/sc/repo".into(), 1), ("db/sc/hidden".into(), 1)]) });
    let registry = Registry::open(dir.path(), fake.clone()).unwrap();
    Harness { _dir: dir, fake, registry }
}

fn auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn code(&self) -> String {
        self.json()["errors"][0]["code"].as_str().unwrap_or_default().to_string()
    }
}

impl Harness {
    async fn call_as(&self, user: Option<(&str, &str)>, method: &str, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some((u, p)) = user {
            req = req.header(header::AUTHORIZATION, auth(u, p));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.registry.router().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec();
        Answer { status, headers, body }
    }
    async fn call(&self, method: &str, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        self.call_as(Some(("alice", "pw")), method, uri, headers, body).await
    }
    async fn push_blob(&self, name: &str, bytes: &[u8]) -> String {
        let digest = digest_of(bytes);
        let a = self.call("POST", &format!("/v2/{name}/blobs/uploads/?digest={digest}"), &[], bytes.to_vec()).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
        digest
    }
    async fn push_image(&self, name: &str, tag: &str) -> (String, Vec<u8>) {
        self.push_image_with(name, tag, b"layer bytes").await
    }
    async fn push_image_with(&self, name: &str, tag: &str, layer: &[u8]) -> (String, Vec<u8>) {
        let config = self.push_blob(name, br#"{"architecture":"amd64","os":"linux"}"#).await;
        let layer = self.push_blob(name, layer).await;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 38},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 11}],
        }))
        .unwrap();
        let a = self.call("PUT", &format!("/v2/{name}/manifests/{tag}"), &[("content-type", "application/vnd.oci.image.manifest.v1+json")], manifest.clone()).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.header("docker-content-digest"), digest_of(&manifest));
        (digest_of(&manifest), manifest)
    }
}

#[tokio::test]
async fn base_requires_credentials() {
    let h = harness();
    let a = h.call_as(None, "GET", "/v2/", &[], vec![]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.header("www-authenticate"), "Basic realm=\"floe\"");
    assert_eq!(a.code(), "UNAUTHORIZED");
    assert_eq!(a.header("docker-distribution-api-version"), "registry/2.0");
    let a = h.call_as(Some(("alice", "wrong")), "GET", "/v2/", &[], vec![]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = h.call("GET", "/v2/", &[], vec![]).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn chunked_upload_then_blob_get_and_range() {
    let h = harness();
    let name = "db/sc/repo/app";
    let a = h.call("POST", &format!("/v2/{name}/blobs/uploads/"), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(a.header("range"), "0-0");
    let location = a.header("location");
    let uuid = a.header("docker-upload-uuid");
    assert!(location.ends_with(&uuid));
    let a = h.call("PATCH", &location, &[("content-range", "0-4")], b"hello".to_vec()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(a.header("range"), "0-4");
    // A chunk that does not continue where the upload is refused.
    let a = h.call("PATCH", &location, &[("content-range", "2-6")], b"xxxxx".to_vec()).await;
    assert_eq!(a.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let a = h.call("PATCH", &location, &[("content-range", "5-10")], b" world".to_vec()).await;
    assert_eq!(a.header("range"), "0-10");
    let a = h.call("GET", &location, &[], vec![]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.header("range"), "0-10");
    let digest = digest_of(b"hello world!");
    let a = h.call("PUT", &format!("{location}?digest={digest}"), &[], b"!".to_vec()).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.header("location"), format!("/v2/{name}/blobs/{digest}"));
    let a = h.call("HEAD", &format!("/v2/{name}/blobs/{digest}"), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-length"), "12");
    assert_eq!(a.header("docker-content-digest"), digest);
    let a = h.call("GET", &format!("/v2/{name}/blobs/{digest}"), &[], vec![]).await;
    assert_eq!(a.body, b"hello world!");
    let a = h.call("GET", &format!("/v2/{name}/blobs/{digest}"), &[("range", "bytes=6-10")], vec![]).await;
    assert_eq!(a.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(a.body, b"world");
    assert_eq!(a.header("content-range"), "bytes 6-10/12");
    // The blob is stored by content, the upload is gone.
    let hex = &digest[7..];
    assert!(h._dir.path().join("registry/blobs/sha256").join(&hex[..2]).join(hex).is_file());
    let a = h.call("GET", &location, &[], vec![]).await;
    assert_eq!(a.code(), "BLOB_UPLOAD_UNKNOWN");
    // Other repositories do not see the blob.
    let a = h.call("HEAD", &format!("/v2/db/sc/repo/other/blobs/{digest}"), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn digest_mismatch_commits_nothing() {
    let h = harness();
    let name = "db/sc/repo/app";
    let wrong = digest_of(b"something else");
    let a = h.call("POST", &format!("/v2/{name}/blobs/uploads/?digest={wrong}"), &[], b"payload".to_vec()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "DIGEST_INVALID");
    let a = h.call("HEAD", &format!("/v2/{name}/blobs/{wrong}"), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = h.call("HEAD", &format!("/v2/{name}/blobs/{}", digest_of(b"payload")), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = h.call("POST", &format!("/v2/{name}/blobs/uploads/?digest=sha512:abc"), &[], b"payload".to_vec()).await;
    assert_eq!(a.code(), "DIGEST_INVALID");
    // Nothing left in uploads/ or blobs/.
    let uploads: Vec<_> = std::fs::read_dir(h._dir.path().join("registry/uploads")).unwrap().collect();
    assert!(uploads.is_empty());
    let blobs: Vec<_> = std::fs::read_dir(h._dir.path().join("registry/blobs/sha256")).unwrap().collect();
    assert!(blobs.is_empty());
}

#[tokio::test]
async fn manifests_by_tag_and_digest() {
    let h = harness();
    let name = "db/sc/repo/app";
    let (digest, manifest) = h.push_image(name, "v1").await;
    for reference in ["v1", digest.as_str()] {
        let a = h.call("GET", &format!("/v2/{name}/manifests/{reference}"), &[], vec![]).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.body, manifest);
        assert_eq!(a.header("content-type"), "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(a.header("docker-content-digest"), digest);
        let a = h.call("HEAD", &format!("/v2/{name}/manifests/{reference}"), &[], vec![]).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.header("content-length"), manifest.len().to_string());
    }
    let a = h.call("GET", &format!("/v2/{name}/manifests/v2"), &[], vec![]).await;
    assert_eq!((a.status, a.code().as_str()), (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"));
    // By digest: the content must match.
    let a = h.call("PUT", &format!("/v2/{name}/manifests/{}", digest_of(b"x")), &[], manifest.clone()).await;
    assert_eq!(a.code(), "DIGEST_INVALID");
    // A manifest naming a blob the repository lacks.
    let mut bad: Value = serde_json::from_slice(&manifest).unwrap();
    bad["layers"][0]["digest"] = json!(digest_of(b"missing layer"));
    let a = h.call("PUT", &format!("/v2/{name}/manifests/bad"), &[], serde_json::to_vec(&bad).unwrap()).await;
    assert_eq!(a.code(), "MANIFEST_BLOB_UNKNOWN");
    let a = h.call("PUT", &format!("/v2/{name}/manifests/bad"), &[], b"not json".to_vec()).await;
    assert_eq!(a.code(), "MANIFEST_INVALID");
    // An index of it, by digest, with Docker's list media type.
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": manifest.len(), "platform": {"architecture": "amd64", "os": "linux"}}],
    }))
    .unwrap();
    let a = h.call("PUT", &format!("/v2/{name}/manifests/{}", digest_of(&index)), &[], index.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = h.call("PUT", &format!("/v2/{name}/manifests/multi"), &[], index.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = h.call("GET", &format!("/v2/{name}/manifests/multi"), &[], vec![]).await;
    assert_eq!(a.header("content-type"), "application/vnd.docker.distribution.manifest.list.v2+json");
    let a = h.call("GET", &format!("/v2/{name}/tags/list"), &[], vec![]).await;
    assert_eq!(a.json(), json!({"name": name, "tags": ["multi", "v1"]}));
    let a = h.call("GET", &format!("/v2/{name}/tags/list?n=1"), &[], vec![]).await;
    assert_eq!(a.json()["tags"], json!(["multi"]));
    assert_eq!(a.header("link"), format!("</v2/{name}/tags/list?n=1&last=multi>; rel=\"next\""));
    let a = h.call("GET", &format!("/v2/{name}/tags/list?n=1&last=multi"), &[], vec![]).await;
    assert_eq!(a.json()["tags"], json!(["v1"]));
    let a = h.call("DELETE", &format!("/v2/{name}/manifests/v1"), &[], vec![]).await;
    assert_eq!(a.code(), "UNSUPPORTED");
}

#[tokio::test]
async fn privileges_and_names() {
    let h = harness();
    let name = "db/sc/repo/app";
    h.push_image(name, "v1").await;
    // bob pulls but cannot push.
    let a = h.call_as(Some(("bob", "pw")), "GET", &format!("/v2/{name}/manifests/v1"), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = h.call_as(Some(("bob", "pw")), "POST", &format!("/v2/{name}/blobs/uploads/"), &[], vec![]).await;
    assert_eq!((a.status, a.code().as_str()), (StatusCode::FORBIDDEN, "DENIED"));
    let a = h.call_as(Some(("bob", "pw")), "PUT", &format!("/v2/{name}/manifests/v2"), &[], vec![]).await;
    assert_eq!(a.code(), "DENIED");
    // A repository bob cannot see, and one that does not exist.
    let a = h.call_as(Some(("bob", "pw")), "GET", "/v2/db/sc/hidden/app/tags/list", &[], vec![]).await;
    assert_eq!((a.status, a.code().as_str()), (StatusCode::NOT_FOUND, "NAME_UNKNOWN"));
    let a = h.call("POST", "/v2/db/sc/nope/app/blobs/uploads/", &[], vec![]).await;
    assert_eq!(a.code(), "NAME_UNKNOWN");
    // Names: four or more lower-case components.
    for (method, bad) in [("POST", "/v2/db/sc/repo/blobs/uploads/"), ("GET", "/v2/db/sc/repo/App/tags/list"), ("GET", "/v2/db/sc/repo/a..b/tags/list")] {
        let a = h.call(method, bad, &[], vec![]).await;
        assert_eq!(a.code(), "NAME_INVALID", "{bad}");
    }
    let a = h.call("GET", "/v2/db/sc/repo/team/app__x/tags/list", &[], vec![]).await;
    assert_eq!(a.status, StatusCode::OK);
    // The catalog lists what the caller may pull.
    let a = h.call_as(Some(("bob", "pw")), "GET", "/v2/_catalog", &[], vec![]).await;
    assert_eq!(a.json(), json!({"repositories": [name]}));
}

#[tokio::test]
async fn mount_from_another_repository() {
    let h = harness();
    let digest = h.push_blob("db/sc/repo/a", b"shared layer").await;
    let a = h.call("POST", &format!("/v2/db/sc/hidden/b/blobs/uploads/?mount={digest}&from=db/sc/repo/a"), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.header("docker-content-digest"), digest);
    let a = h.call("GET", &format!("/v2/db/sc/hidden/b/blobs/{digest}"), &[], vec![]).await;
    assert_eq!(a.body, b"shared layer");
    // A mount of a blob the source lacks starts a normal upload.
    let missing = digest_of(b"nothing");
    let a = h.call("POST", &format!("/v2/db/sc/hidden/b/blobs/uploads/?mount={missing}&from=db/sc/repo/a"), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let location = a.header("location");
    let a = h.call("DELETE", &location, &[], vec![]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = h.call("GET", &location, &[], vec![]).await;
    assert_eq!(a.code(), "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn drop_hides_images_and_gc_frees_blobs() {
    let h = harness();
    let (digest, _) = h.push_image("db/sc/repo/app", "v1").await;
    let kept = h.push_image_with("db/sc/hidden/app", "v1", b"other layer").await.0;
    // An upload in progress survives a collection.
    let a = h.call("POST", "/v2/db/sc/repo/app/blobs/uploads/", &[], vec![]).await;
    let location = a.header("location");
    h.call("PATCH", &location, &[], b"part".to_vec()).await;
    let stats = h.registry.collect().await.unwrap();
    assert_eq!(stats.blobs, 0);
    assert_eq!(h.registry.storage().images("db/sc/repo", 1).unwrap().len(), 1);
    // DROP + CREATE: a new incarnation sees nothing of the old one, even before collection.
    h.fake.repos.lock()[0].1 = 2;
    let a = h.call("GET", "/v2/db/sc/repo/app/manifests/v1", &[], vec![]).await;
    assert_eq!(a.code(), "MANIFEST_UNKNOWN");
    assert!(h.registry.storage().images("db/sc/repo", 2).unwrap().is_empty());
    let a = h.call("GET", &location, &[], vec![]).await;
    assert_eq!(a.code(), "BLOB_UPLOAD_UNKNOWN");
    let stats = h.registry.collect().await.unwrap();
    // The manifest and its layer are gone; the config is shared with db/sc/hidden/app (same bytes).
    assert_eq!(stats.blobs, 2);
    assert!(!h.registry.storage().blob_path(&digest).unwrap().exists());
    assert!(h.registry.storage().blob_path(&kept).unwrap().exists());
    let a = h.call("GET", "/v2/db/sc/hidden/app/manifests/v1", &[], vec![]).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn images_and_open_uploads_survive_a_restart() {
    let h = harness();
    let (digest, manifest) = h.push_image("db/sc/repo/app", "v1").await;
    let a = h.call("POST", "/v2/db/sc/repo/app/blobs/uploads/", &[], vec![]).await;
    let location = a.header("location");
    h.call("PATCH", &location, &[], b"first half, ".to_vec()).await;
    // A new process over the same data dir (the running hashes are gone with the old one).
    let reopened = Harness { registry: Registry::open(h._dir.path(), h.fake.clone()).unwrap(), fake: h.fake.clone(), _dir: h._dir };
    let a = reopened.call("GET", "/v2/db/sc/repo/app/manifests/v1", &[], vec![]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, manifest);
    assert_eq!(a.header("docker-content-digest"), digest);
    reopened.registry.collect().await.unwrap();
    let a = reopened.call("PATCH", &location, &[("content-range", "12-22")], b"second half".to_vec()).await;
    assert_eq!(a.header("range"), "0-22");
    let whole = digest_of(b"first half, second half");
    let a = reopened.call("PUT", &format!("{location}?digest={whole}"), &[], vec![]).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
}
