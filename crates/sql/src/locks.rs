//! Table write locks held by transactions until they end, with deadlock detection.

use std::collections::HashMap;
use std::time::Duration;

use model::{ErrorKind, SfError};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Grants each table's write lock to one transaction at a time.
#[derive(Default)]
pub struct LockManager {
    state: Mutex<State>,
    released: Notify,
}

#[derive(Default)]
struct State {
    holders: HashMap<u64, u64>,
    waiting: HashMap<u64, u64>,
}

impl LockManager {
    /// Waits for the lock of `table` for transaction `txn` (re-entrant).
    pub async fn acquire(&self, table: u64, table_name: &str, txn: u64, timeout: Duration, cancel: &CancellationToken) -> Result<(), SfError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.released.notified();
            {
                let mut state = self.state.lock();
                match state.holders.get(&table).copied() {
                    None => {
                        state.holders.insert(table, txn);
                        state.waiting.remove(&txn);
                        return Ok(());
                    }
                    Some(holder) if holder == txn => return Ok(()),
                    Some(holder) => {
                        if state.leads_back(holder, txn) {
                            state.waiting.remove(&txn);
                            return Err(SfError::new(
                                "000625",
                                "57014",
                                ErrorKind::Cancelled,
                                format!("Statement was aborted because of a deadlock on '{table_name}'."),
                            ));
                        }
                        state.waiting.insert(txn, table);
                    }
                }
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = tokio::time::sleep_until(deadline) => {
                    self.state.lock().waiting.remove(&txn);
                    return Err(SfError::lock_timeout(table_name));
                }
                _ = cancel.cancelled() => {
                    self.state.lock().waiting.remove(&txn);
                    return Err(SfError::cancelled());
                }
            }
        }
    }

    /// Releases every lock `txn` holds.
    pub fn release_all(&self, txn: u64) {
        let mut state = self.state.lock();
        state.holders.retain(|_, holder| *holder != txn);
        state.waiting.remove(&txn);
        drop(state);
        self.released.notify_waiters();
    }
}

impl State {
    /// True when `from` waits (transitively) for a lock that `target` holds.
    fn leads_back(&self, from: u64, target: u64) -> bool {
        let mut current = from;
        for _ in 0..self.waiting.len() + 1 {
            if current == target {
                return true;
            }
            let Some(table) = self.waiting.get(&current) else { return false };
            let Some(holder) = self.holders.get(table) else { return false };
            current = *holder;
        }
        false
    }
}
