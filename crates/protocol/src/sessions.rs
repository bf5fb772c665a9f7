//! Connector sessions by token. Tokens are random secrets handed to the client once; only their SHA-256
//! digests are kept.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex as SyncMutex;
use sql::Session;
use sql::auth::{random_secret, token_digest};
use tokio::sync::Mutex;

/// A live session and its credentials' digests.
pub struct SessionEntry {
    /// The numeric session id.
    pub id: u64,
    /// The SQL session; statements of one session run one at a time.
    pub session: Mutex<Session>,
    /// Digest of the master token (for close and renew).
    pub master_digest: String,
}

/// All live sessions.
#[derive(Default)]
pub struct SessionRegistry {
    by_token: SyncMutex<HashMap<String, Arc<SessionEntry>>>,
    next_id: AtomicU64,
}

/// What a new login hands back.
pub struct NewSession {
    /// The entry.
    pub entry: Arc<SessionEntry>,
    /// The session token (shown once).
    pub token: String,
    /// The master token (shown once).
    pub master_token: String,
}

impl SessionRegistry {
    /// Registers a session and mints its tokens.
    pub fn create(&self, mut session: Session) -> NewSession {
        let id = 1_000_000 + self.next_id.fetch_add(1, Ordering::Relaxed);
        session.id = id;
        let token = format!("ver:1-hint:{id}-{}", random_secret(32));
        let master_token = format!("ver:1-hint:{id}-{}", random_secret(32));
        let entry = Arc::new(SessionEntry { id, session: Mutex::new(session), master_digest: token_digest(&master_token) });
        self.by_token.lock().insert(token_digest(&token), entry.clone());
        NewSession { entry, token, master_token }
    }

    /// The session of a token.
    pub fn get(&self, token: &str) -> Option<Arc<SessionEntry>> {
        self.by_token.lock().get(&token_digest(token)).cloned()
    }

    /// Removes the session of a token (session or master token).
    pub fn remove(&self, token: &str) -> Option<Arc<SessionEntry>> {
        let digest = token_digest(token);
        let mut map = self.by_token.lock();
        if let Some(entry) = map.remove(&digest) {
            return Some(entry);
        }
        let key = map.iter().find(|(_, e)| e.master_digest == digest).map(|(k, _)| k.clone())?;
        map.remove(&key)
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.by_token.lock().len()
    }

    /// True when no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
