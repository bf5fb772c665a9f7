//! Running statements: each runs in its own task so the HTTP request can return 333333 while it runs, be
//! polled by `GET /queries/{id}/result`, aborted, and drained at shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::SfError;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The outcome of a statement, ready for the wire.
#[derive(Clone)]
pub enum Outcome {
    /// The `data` object of a successful response.
    Success(Arc<Value>),
    /// The error.
    Failure(SfError),
}

/// One statement, running or done.
pub struct QueryEntry {
    /// The query id (a UUID).
    pub id: String,
    /// The client's requestId, for abort-request.
    pub request_id: Option<String>,
    /// The owning session.
    pub session_id: u64,
    /// Cancels the statement.
    pub cancel: CancellationToken,
    /// None while running.
    pub outcome: watch::Receiver<Option<Outcome>>,
    /// When it started.
    pub started: Instant,
    /// Result chunks after the first (served at `chunk_path`), and the secret in their URLs.
    pub chunks: Mutex<Vec<axum::body::Bytes>>,
    /// Unguessable part of this query's chunk URLs (they carry no Authorization header).
    pub chunk_secret: String,
}

impl QueryEntry {
    /// Waits up to `hold` for the outcome.
    pub async fn wait(&self, hold: Duration) -> Option<Outcome> {
        let mut rx = self.outcome.clone();
        let res = tokio::time::timeout(hold, rx.wait_for(|o| o.is_some())).await;
        match res {
            Ok(Ok(value)) => value.clone(),
            _ => self.outcome.borrow().clone(),
        }
    }

    /// True once finished.
    pub fn done(&self) -> bool {
        self.outcome.borrow().is_some()
    }
}

/// All statements of the server, kept for a while after they finish.
#[derive(Default)]
pub struct QueryRegistry {
    entries: Mutex<HashMap<String, Arc<QueryEntry>>>,
    by_request: Mutex<HashMap<String, String>>,
    /// What PUT/GET statements' file URLs allow (`crate::transfer`).
    pub transfers: crate::transfer::Grants,
}

impl QueryRegistry {
    /// Registers a statement; returns the entry and the sender for its outcome.
    pub fn register(&self, request_id: Option<String>, session_id: u64) -> (Arc<QueryEntry>, watch::Sender<Option<Outcome>>) {
        let (tx, rx) = watch::channel(None);
        let id = uuid::Uuid::new_v4().to_string();
        let entry = Arc::new(QueryEntry {
            id: id.clone(),
            request_id: request_id.clone(),
            session_id,
            cancel: CancellationToken::new(),
            outcome: rx,
            started: Instant::now(),
            chunks: Mutex::new(Vec::new()),
            chunk_secret: sql::auth::random_secret(16),
        });
        self.entries.lock().insert(id.clone(), entry.clone());
        if let Some(r) = request_id {
            self.by_request.lock().insert(r, id);
        }
        self.prune();
        (entry, tx)
    }

    /// Looks up a statement.
    pub fn get(&self, id: &str) -> Option<Arc<QueryEntry>> {
        self.entries.lock().get(id).cloned()
    }

    /// Looks up by the client's request id.
    pub fn by_request(&self, request_id: &str) -> Option<Arc<QueryEntry>> {
        let id = self.by_request.lock().get(request_id).cloned()?;
        self.get(&id)
    }

    /// Statements still running.
    pub fn running(&self) -> Vec<Arc<QueryEntry>> {
        self.entries.lock().values().filter(|e| !e.done()).cloned().collect()
    }

    /// Forgets finished statements older than an hour (results for async polling live that long).
    fn prune(&self) {
        let mut entries = self.entries.lock();
        if entries.len() < 10_000 {
            return;
        }
        entries.retain(|_, e| !e.done() || e.started.elapsed() < Duration::from_secs(3600));
        let live: std::collections::HashSet<String> = entries.keys().cloned().collect();
        self.by_request.lock().retain(|_, id| live.contains(id));
    }
}
