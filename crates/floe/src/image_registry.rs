//! Wiring of floe's image registry (`floe-registry`) to the engine: who Basic credentials belong to,
//! privileges on image repositories, SHOW IMAGES and the collection after DROP IMAGE REPOSITORY.

use std::sync::Arc;

use registry::{Action, Principal, Refusal, Registry, RegistryAuthority};
use sql::objects::image_repo::{self, Image, ImageStore, RegistryDenial};
use tracing::{info, warn};

/// The user name of `snow spcs image-registry login`: the password is a session token (or the JSON
/// `{"token": …, "expires_in": …}` that `snow spcs image-registry token` prints).
const SESSION_TOKEN_USER: &str = "0sessiontoken";

/// The user name of floe's own credential, with which the container runtime pulls service images.
pub const INTERNAL_USER: &str = "0floe-internal";

/// The registry's view of floe's users, sessions and privileges.
pub struct FloeAuthority {
    pub engine: sql::Engine,
    pub sessions: Arc<protocol::SessionRegistry>,
    /// The password of `INTERNAL_USER` (random per process, never stored).
    pub internal_secret: String,
}

#[async_trait::async_trait]
impl RegistryAuthority for FloeAuthority {
    async fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        if username == INTERNAL_USER {
            // Pulls for services: any repository (the service's owner was checked at CREATE SERVICE).
            let ok = sql::auth::token_digest(password) == sql::auth::token_digest(&self.internal_secret);
            return ok.then(|| Principal { user: INTERNAL_USER.into(), role: "ACCOUNTADMIN".into() });
        }
        if username.eq_ignore_ascii_case(SESSION_TOKEN_USER) {
            let token = serde_json::from_str::<serde_json::Value>(password)
                .ok()
                .and_then(|v| v["token"].as_str().map(str::to_string))
                .unwrap_or_else(|| password.to_string());
            let entry = self.sessions.get(&token).ok()?;
            let session = entry.session.lock().await;
            return Some(Principal { user: session.user.clone(), role: session.role.clone() });
        }
        // A password or a programmatic access token (Argon2: off the async threads).
        let engine = self.engine.clone();
        let (login, password) = (username.to_string(), password.to_string());
        let user = tokio::task::spawn_blocking(move || sql::auth::verify_password(&engine, &login, &password)).await.ok()?.ok()?;
        Some(Principal { user: user.name, role: user.default_role })
    }

    fn authorize(&self, principal: &Principal, repository: &str, action: Action) -> Result<i64, Refusal> {
        image_repo::registry_access(&self.engine, &principal.user, &principal.role, repository, action == Action::Push).map_err(|d| match d {
            RegistryDenial::Unknown => Refusal::Unknown,
            RegistryDenial::Denied(why) => Refusal::Denied(why),
        })
    }

    fn live_repositories(&self) -> Vec<(String, i64)> {
        image_repo::live_repositories(&self.engine)
    }
}

/// The registry as the SQL layer's `ImageStore`.
pub struct RegistryImages(pub Arc<Registry>);

impl ImageStore for RegistryImages {
    fn images(&self, path: &str, incarnation: i64) -> Result<Vec<Image>, String> {
        let rows = self.0.storage().images(path, incarnation).map_err(|e| e.to_string())?;
        Ok(rows.into_iter().map(|r| Image { name: r.image, tag: r.tag, digest: r.digest, pushed_ms: r.pushed_ms }).collect())
    }

    fn repository_dropped(&self) {
        let registry = self.0.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { collect(&registry).await });
        }
    }
}

/// One garbage collection, logged.
pub async fn collect(registry: &Arc<Registry>) {
    match registry.collect().await {
        Ok(stats) if stats.blobs > 0 || stats.uploads > 0 => info!(blobs = stats.blobs, bytes = stats.bytes, uploads = stats.uploads, "registry: collected unreferenced blobs"),
        Ok(_) => {}
        Err(e) => warn!(error = %e, "registry: garbage collection failed"),
    }
}
