//! Connector sessions by token. Tokens are random secrets handed to the client once; only their SHA-256
//! digests are kept, with their expiry. Session tokens live `session_secs` (Snowflake: 1 hour) and are
//! renewed with the master token (`/session/token-request`, RENEW), which lives `master_secs`
//! (Snowflake: 4 hours). Sessions are saved in the store (`SESSION` objects: context, parameters and
//! token digests) when created, renewed or when their context changes, so they survive a restart.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use model::SfError;
use parking_lot::Mutex as SyncMutex;
use serde_json::{Value, json};
use sql::auth::{random_secret, token_digest};
use sql::parse::ParamValue;
use sql::{Engine, Session};
use tokio::sync::Mutex;

/// Store object kind of a saved session.
const KIND: &str = "SESSION";

/// Token lifetimes (Snowflake's fixed values by default; tests shorten them).
#[derive(Debug, Clone, Copy)]
pub struct TokenLifetimes {
    /// Session token validity, seconds.
    pub session_secs: u64,
    /// Master token validity, seconds.
    pub master_secs: u64,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        TokenLifetimes { session_secs: 3600, master_secs: 4 * 3600 }
    }
}

/// A live session.
pub struct SessionEntry {
    /// The numeric session id.
    pub id: u64,
    /// The SQL session; statements of one session run one at a time.
    pub session: Mutex<Session>,
    /// The context last saved to the store (to save again only when it changes).
    saved_context: SyncMutex<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Session,
    Master,
}

impl TokenKind {
    fn name(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Master => "master",
        }
    }
}

struct TokenRecord {
    entry: Arc<SessionEntry>,
    kind: TokenKind,
    expires_ms: i64,
}

/// All live sessions.
pub struct SessionRegistry {
    tokens: SyncMutex<HashMap<String, TokenRecord>>,
    next_id: AtomicU64,
    engine: Engine,
    lifetimes: TokenLifetimes,
}

/// What a new login or a renewal hands back.
pub struct NewTokens {
    /// The entry.
    pub entry: Arc<SessionEntry>,
    /// The session token (shown once).
    pub token: String,
    /// The master token (shown once).
    pub master_token: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The session's context as saved (everything a restart must restore).
fn context_of(session: &Session) -> Value {
    let params: serde_json::Map<String, Value> = session
        .params
        .iter()
        .map(|(k, v)| {
            let v = match v {
                ParamValue::Bool(b) => json!({"bool": b}),
                ParamValue::Number(n) => json!({"number": n}),
                ParamValue::Text(t) => json!({"text": t}),
            };
            (k.clone(), v)
        })
        .collect();
    json!({"user": session.user, "role": session.role, "database": session.database, "schema": session.schema, "warehouse": session.warehouse, "params": params})
}

fn session_from(id: u64, context: &Value) -> Session {
    let text = |k: &str| context[k].as_str().map(str::to_string);
    let mut session = Session { id, user: text("user").unwrap_or_default(), role: text("role").unwrap_or_default(), database: text("database"), schema: text("schema"), warehouse: text("warehouse"), ..Default::default() };
    if let Some(params) = context["params"].as_object() {
        for (k, v) in params {
            let value = if let Some(b) = v["bool"].as_bool() {
                ParamValue::Bool(b)
            } else if let Some(n) = v["number"].as_str() {
                ParamValue::Number(n.to_string())
            } else {
                ParamValue::Text(v["text"].as_str().unwrap_or_default().to_string())
            };
            session.params.insert(k.clone(), value);
        }
    }
    session
}

fn new_token(id: u64) -> String {
    format!("ver:1-hint:{id}-{}", random_secret(32))
}

impl SessionRegistry {
    /// An empty registry over `engine`'s store.
    pub fn new(engine: Engine, lifetimes: TokenLifetimes) -> SessionRegistry {
        SessionRegistry { tokens: SyncMutex::new(HashMap::new()), next_id: AtomicU64::new(1), engine, lifetimes }
    }

    /// The token lifetimes.
    pub fn lifetimes(&self) -> TokenLifetimes {
        self.lifetimes
    }

    /// Loads the saved sessions whose master token has not expired (forgetting the others and their
    /// temporary tables). Returns how many were restored.
    pub fn restore(&self) -> Result<usize, SfError> {
        let catalog = self.engine.store().snapshot();
        let now = now_ms();
        let mut live = Vec::new();
        let mut dead = Vec::new();
        let mut max_id = 0;
        {
            let mut tokens = self.tokens.lock();
            for (_, name, body) in catalog.objects_of(KIND) {
                let Ok(id) = name.parse::<u64>() else { continue };
                max_id = max_id.max(id);
                let records: Vec<(String, TokenKind, i64)> = body["tokens"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| {
                                let kind = if t["kind"] == "master" { TokenKind::Master } else { TokenKind::Session };
                                Some((t["digest"].as_str()?.to_string(), kind, t["expires_ms"].as_i64()?))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if !records.iter().any(|(_, k, exp)| *k == TokenKind::Master && *exp > now) {
                    dead.push(id);
                    continue;
                }
                let session = session_from(id, &body["context"]);
                let entry = Arc::new(SessionEntry { id, saved_context: SyncMutex::new(context_of(&session)), session: Mutex::new(session) });
                for (digest, kind, expires_ms) in records {
                    tokens.insert(digest, TokenRecord { entry: entry.clone(), kind, expires_ms });
                }
                live.push(id);
            }
        }
        self.next_id.fetch_max(max_id.saturating_sub(1_000_000) + 1, Ordering::Relaxed);
        for id in dead {
            self.engine.delete_object(KIND, "", &id.to_string())?;
        }
        self.engine.drop_temporary_tables_except(&live)?;
        Ok(live.len())
    }

    /// Registers a session and mints its tokens.
    pub fn create(&self, mut session: Session) -> Result<NewTokens, SfError> {
        let id = 1_000_000 + self.next_id.fetch_add(1, Ordering::Relaxed);
        session.id = id;
        let entry = Arc::new(SessionEntry { id, saved_context: SyncMutex::new(context_of(&session)), session: Mutex::new(session) });
        let (token, master_token) = (new_token(id), new_token(id));
        {
            let mut tokens = self.tokens.lock();
            tokens.insert(token_digest(&token), TokenRecord { entry: entry.clone(), kind: TokenKind::Session, expires_ms: now_ms() + self.lifetimes.session_secs as i64 * 1000 });
            tokens.insert(token_digest(&master_token), TokenRecord { entry: entry.clone(), kind: TokenKind::Master, expires_ms: now_ms() + self.lifetimes.master_secs as i64 * 1000 });
        }
        let context = entry.saved_context.lock().clone();
        self.save(id, &context)?;
        Ok(NewTokens { entry, token, master_token })
    }

    /// The session of a session token: 390112 once it expired (renew with the master token), 390104 when
    /// floe does not know it.
    pub fn get(&self, token: &str) -> Result<Arc<SessionEntry>, SfError> {
        let tokens = self.tokens.lock();
        match tokens.get(&token_digest(token)) {
            Some(r) if r.kind == TokenKind::Session && r.expires_ms > now_ms() => Ok(r.entry.clone()),
            Some(r) if r.kind == TokenKind::Session => Err(SfError::session_gone()),
            _ => Err(SfError::new("390104", "08001", model::ErrorKind::Unauthenticated, "User must login again to access the service.")),
        }
    }

    /// `token-request`: with a live master token, RENEW replaces the session's tokens (new session and
    /// master tokens; the old session token stops working) and ISSUE adds a session token.
    pub fn token_request(&self, master_token: &str, renew: bool) -> Result<NewTokens, SfError> {
        let id;
        let entry;
        let token = {
            let mut tokens = self.tokens.lock();
            let digest = token_digest(master_token);
            let record = tokens.get(&digest).filter(|r| r.kind == TokenKind::Master).ok_or_else(|| {
                SfError::new("390104", "08001", model::ErrorKind::Unauthenticated, "User must login again to access the service.")
            })?;
            if record.expires_ms <= now_ms() {
                return Err(SfError::new("390114", "08001", model::ErrorKind::Unauthenticated, "Authentication token has expired.  The user must authenticate again."));
            }
            entry = record.entry.clone();
            id = entry.id;
            let token = new_token(id);
            if renew {
                tokens.retain(|_, r| !Arc::ptr_eq(&r.entry, &entry) || r.kind == TokenKind::Master);
            }
            tokens.insert(token_digest(&token), TokenRecord { entry: entry.clone(), kind: TokenKind::Session, expires_ms: now_ms() + self.lifetimes.session_secs as i64 * 1000 });
            token
        };
        let context = entry.saved_context.lock().clone();
        self.save(id, &context)?;
        // The master token stays valid until it expires; RENEW hands it back as the client expects one.
        Ok(NewTokens { entry, token, master_token: master_token.to_string() })
    }

    /// Removes the session of a token (session or master token) and its saved state.
    pub fn remove(&self, token: &str) -> Option<Arc<SessionEntry>> {
        let digest = token_digest(token);
        let entry = {
            let mut tokens = self.tokens.lock();
            let entry = tokens.get(&digest)?.entry.clone();
            tokens.retain(|_, r| !Arc::ptr_eq(&r.entry, &entry));
            entry
        };
        if let Err(e) = self.engine.delete_object(KIND, "", &entry.id.to_string()) {
            tracing::warn!(session = entry.id, error = %e, "could not forget a closed session");
        }
        Some(entry)
    }

    /// Removes the sessions whose master token expired (the client stopped renewing them) and their
    /// saved state; returns them so their statements can be cancelled.
    pub fn sweep_expired(&self) -> Vec<Arc<SessionEntry>> {
        let now = now_ms();
        let expired: Vec<Arc<SessionEntry>> = {
            let mut tokens = self.tokens.lock();
            let mut live: Vec<*const SessionEntry> = Vec::new();
            let mut all: Vec<Arc<SessionEntry>> = Vec::new();
            for r in tokens.values() {
                if !all.iter().any(|e| Arc::ptr_eq(e, &r.entry)) {
                    all.push(r.entry.clone());
                }
                if r.kind == TokenKind::Master && r.expires_ms > now {
                    live.push(Arc::as_ptr(&r.entry));
                }
            }
            let expired: Vec<Arc<SessionEntry>> = all.into_iter().filter(|e| !live.contains(&Arc::as_ptr(e))).collect();
            tokens.retain(|_, r| !expired.iter().any(|e| Arc::ptr_eq(e, &r.entry)));
            expired
        };
        for entry in &expired {
            if let Err(e) = self.engine.delete_object(KIND, "", &entry.id.to_string()) {
                tracing::warn!(session = entry.id, error = %e, "could not forget an expired session");
            }
        }
        expired
    }

    /// Saves the session's context when a statement changed it.
    pub fn context_changed(&self, entry: &SessionEntry, session: &Session) {
        let context = context_of(session);
        {
            let mut saved = entry.saved_context.lock();
            if *saved == context {
                return;
            }
            *saved = context.clone();
        }
        if let Err(e) = self.save(entry.id, &context) {
            tracing::warn!(session = entry.id, error = %e, "could not save the session");
        }
    }

    fn save(&self, id: u64, context: &Value) -> Result<(), SfError> {
        let tokens: Vec<Value> = self
            .tokens
            .lock()
            .iter()
            .filter(|(_, r)| r.entry.id == id)
            .map(|(d, r)| json!({"digest": d, "kind": r.kind.name(), "expires_ms": r.expires_ms}))
            .collect();
        self.engine.put_object(KIND, "", &id.to_string(), json!({"context": context, "tokens": tokens}))
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        let tokens = self.tokens.lock();
        let ids: std::collections::HashSet<u64> = tokens.values().map(|r| r.entry.id).collect();
        ids.len()
    }

    /// True when no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
