//! floe's image registry: the OCI Distribution (v2) API that `docker login/push/pull` (and skopeo,
//! podman, …) speak, over the storage in `store.rs`. Repository names are
//! `<db>/<schema>/<repo>/<image…>` in lower case; `<db>/<schema>/<repo>` must be an IMAGE REPOSITORY.
//!
//! The crate knows nothing of floe's catalog, users or privileges: it asks a `RegistryAuthority`
//! (implemented by the floe binary over the SQL engine) who Basic credentials belong to, whether that
//! principal may pull from or push to an image repository (and which incarnation of it exists), and
//! which repositories are live for garbage collection.

mod error;
mod routes;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};

pub use error::{REALM, RegistryError, Result};
pub use store::{GcStats, ImageRow, Scope, Storage};

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The floe user.
    pub user: String,
    /// The role its privileges are evaluated with.
    pub role: String,
}

/// What a request does to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read manifests, blobs and tags.
    Pull,
    /// Upload blobs and manifests.
    Push,
}

/// Why a principal may not act on a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such image repository, or none the principal can see (NAME_UNKNOWN).
    Unknown,
    /// Visible, but the privilege is missing (DENIED); the text says which.
    Denied(String),
}

/// floe's users, privileges and image repositories, as the registry needs them.
#[async_trait::async_trait]
pub trait RegistryAuthority: Send + Sync + 'static {
    /// The principal of Basic credentials, or `None` when they are wrong.
    async fn authenticate(&self, username: &str, password: &str) -> Option<Principal>;
    /// Whether `principal` may do `action` on the image repository `repository` (`db/schema/repo`, lower
    /// case): its incarnation (the object's `created_on`) when it may.
    fn authorize(&self, principal: &Principal, repository: &str, action: Action) -> std::result::Result<i64, Refusal>;
    /// Every image repository that exists, as (`db/schema/repo`, incarnation).
    fn live_repositories(&self) -> Vec<(String, i64)>;
}

/// How long verified credentials are remembered (Docker sends them with every request; verifying a
/// password costs an Argon2 hash). A revoked privilege takes effect at once (privileges are checked on
/// every request); a changed password or removed token within this bound.
const CREDENTIAL_CACHE: Duration = Duration::from_secs(60);

/// The registry: storage, authority and the state of open uploads.
pub struct Registry {
    storage: Storage,
    authority: Arc<dyn RegistryAuthority>,
    /// Running SHA-256 of open uploads (uuid → hasher, bytes hashed); rebuilt from the file when absent.
    hashers: Mutex<HashMap<String, (Sha256, u64)>>,
    /// Digest of (user, password) → principal, verified at.
    credentials: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl Registry {
    /// Opens the registry's storage under `<data_dir>/registry`.
    pub fn open(data_dir: &Path, authority: Arc<dyn RegistryAuthority>) -> Result<Arc<Registry>> {
        let storage = Storage::open(&data_dir.join("registry"))?;
        Ok(Arc::new(Registry { storage, authority, hashers: Mutex::new(HashMap::new()), credentials: Mutex::new(HashMap::new()) }))
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The axum router serving `/v2/…`.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        routes::router(self.clone())
    }

    /// Garbage collection of dropped repositories' images and unreferenced blobs (off the async runtime).
    pub async fn collect(self: &Arc<Self>) -> Result<GcStats> {
        let registry = self.clone();
        let live = self.authority.live_repositories();
        tokio::task::spawn_blocking(move || registry.storage.gc(&live)).await.map_err(|e| RegistryError::internal(e.to_string()))?
    }

    async fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        let mut h = Sha256::new();
        h.update(username.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        let key: [u8; 32] = h.finalize().into();
        if let Some((p, at)) = self.credentials.lock().get(&key)
            && at.elapsed() < CREDENTIAL_CACHE
        {
            return Some(p.clone());
        }
        let principal = self.authority.authenticate(username, password).await?;
        let mut cache = self.credentials.lock();
        cache.retain(|_, (_, at)| at.elapsed() < CREDENTIAL_CACHE);
        cache.insert(key, (principal.clone(), Instant::now()));
        Some(principal)
    }
}
