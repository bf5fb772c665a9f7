//! Wiring of floe's ingress (`floe-ingress`) to the engine: which public endpoint a host name routes
//! to, who a session cookie or `Snowflake Token` belongs to (floe's connector sessions and
//! programmatic access tokens), whether their role may use the endpoint (service roles), and the
//! address of a ready instance on floe's Docker network (the lookup service functions use).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ingress::{Credential, Endpoint, IngressAuthority, Principal, Refusal};
use sql::spcs::endpoints;

/// How long a request waits for a ready instance (a resumed service starting, say).
const READY_WAIT: Duration = Duration::from_secs(30);

/// The ingress's view of floe's users, sessions and services.
pub struct FloeIngress {
    pub engine: sql::Engine,
    pub sessions: Arc<protocol::SessionRegistry>,
    /// Round-robin over an endpoint's ready instances.
    pub next: AtomicUsize,
}

impl FloeIngress {
    fn route(&self, host: &str) -> Option<endpoints::PublicEndpoint> {
        endpoints::route(&self.engine.store().snapshot(), &self.engine.config().account, host)
    }

    async fn session(&self, token: &str) -> Option<Principal> {
        let entry = self.sessions.get(token).ok()?;
        let session = entry.session.lock().await;
        Some(Principal { user: session.user.clone(), role: session.role.clone() })
    }
}

#[async_trait::async_trait]
impl IngressAuthority for FloeIngress {
    fn endpoint(&self, host: &str) -> Option<Endpoint> {
        let ep = self.route(host)?;
        Some(Endpoint {
            name: ep.display(),
            cors: ep.cors.map(|c| ingress::CorsSettings { allow_origin: c.allow_origin, allow_methods: c.allow_methods, allow_headers: c.allow_headers, expose_headers: c.expose_headers }),
        })
    }

    async fn authenticate(&self, credential: &Credential) -> Option<Principal> {
        match credential {
            Credential::Cookie(token) => self.session(token).await,
            // A connector session token, else a programmatic access token (acting with its role
            // restriction, or the user's default role).
            Credential::Token(token) => match self.session(token).await {
                Some(p) => Some(p),
                None => {
                    let user = sql::auth::verify_access_token(&self.engine, token).ok()?;
                    Some(Principal { user: user.name, role: user.default_role })
                }
            },
        }
    }

    async fn login(&self, user: &str, password: &str) -> Option<String> {
        // Argon2: off the async threads.
        let engine = self.engine.clone();
        let (login, password) = (user.to_string(), password.to_string());
        let user = tokio::task::spawn_blocking(move || sql::auth::verify_password(&engine, &login, &password)).await.ok()?.ok()?;
        let session = sql::Session { user: user.name, role: user.default_role, warehouse: user.default_warehouse, ..Default::default() };
        self.sessions.create(session).ok().map(|t| t.token)
    }

    async fn logout(&self, token: &str) {
        self.sessions.remove(token);
    }

    async fn upstream(&self, host: &str, principal: &Principal) -> Result<String, Refusal> {
        let ep = self.route(host).ok_or(Refusal::Unknown)?;
        if !endpoints::may_use(&self.engine, &principal.user, &principal.role, &ep) {
            return Err(Refusal::Forbidden);
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        let targets = endpoints::ready_targets(&self.engine, &ep.service, &ep.endpoint, "", READY_WAIT, &cancel).await.map_err(|e| {
            // The service functions' wording of a timeout names external functions; say it plainly.
            Refusal::Unavailable(if e.code == "100351" { format!("no instance of {} is ready", ep.display()) } else { e.message })
        })?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        targets.get(n % targets.len().max(1)).cloned().ok_or_else(|| Refusal::Unavailable("no instance is ready".into()))
    }
}
