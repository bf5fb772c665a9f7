//! Log capture: one task per container follows its output into the log store, in batches, with the
//! capture cursor moved in the same transaction as the lines it covers. It survives restarts of the
//! container (the runtime restarts service containers; each run's lines are tagged with its run
//! number) and of floe (the cursor says where to resume). When the container has exited for good, it
//! reads what is left and marks the container drained, so it may be removed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use driver::{RunState, RuntimeDriver, Stream};
use futures::StreamExt;
use store::{LogLine, LogSource, LogStore};

use crate::labels;

/// Lines per store transaction at most.
const BATCH_LINES: usize = 4096;
/// How long a partial batch waits for more lines.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// Longest line kept (Snowflake: 16 KiB per log record); longer lines are cut.
const MAX_LINE: usize = 16 * 1024;

/// Who wrote the lines.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    service: String,
    uid: String,
    instance: u32,
    container: String,
    /// Runs before this runtime container's first (`labels::RUN_BASE`): a container that replaces
    /// another (resume, upgrade, a new instance) continues its run numbers, so the latest run is its.
    run_base: u32,
}

impl Meta {
    pub(crate) fn from_labels(l: &std::collections::BTreeMap<String, String>) -> Option<Meta> {
        Some(Meta {
            service: l.get(labels::SERVICE)?.clone(),
            uid: l.get(labels::SERVICE_UID)?.clone(),
            instance: l.get(labels::INSTANCE)?.parse().ok()?,
            container: l.get(labels::CONTAINER)?.clone(),
            run_base: l.get(labels::RUN_BASE).and_then(|b| b.parse().ok()).unwrap_or(0),
        })
    }
}

impl Meta {
    /// The store's source of this container's run `run`.
    fn source(&self, run: u32) -> LogSource {
        LogSource { service: self.service.clone(), service_uid: self.uid.clone(), instance: self.instance, container: self.container.clone(), run }
    }
}

fn line(line: driver::LogLine) -> LogLine {
    LogLine { ts_ns: line.ts_ns, stream: if line.stream == Stream::Stdout { 0 } else { 1 }, body: cut(line.text) }
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_LINE {
        let mut end = MAX_LINE;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

async fn store(logs: &Arc<LogStore>, id: &str, source: &Arc<LogSource>, batch: Vec<LogLine>) {
    let Some(last) = batch.last().map(|r| r.ts_ns) else { return };
    let logs = logs.clone();
    let id = id.to_string();
    let source = source.clone();
    let res = tokio::task::spawn_blocking(move || logs.append_lines(&source, &batch, Some((&id, last)))).await;
    if let Ok(Err(e)) | Err(e) = res.map_err(|e| store::Error::Corrupt(e.to_string())) {
        tracing::warn!(error = %e, "cannot store container output");
    }
}

pub(crate) async fn run(
    driver: Arc<dyn RuntimeDriver>,
    logs: Arc<LogStore>,
    runtime: Arc<sql::spcs::Runtime>,
    id: String,
    meta: Meta,
    drained: Arc<AtomicBool>,
) {
    let mut cursor = logs.cursor(&id).ok().flatten();
    loop {
        let Ok(Some(info)) = driver.inspect(&id).await else { break };
        let source = Arc::new(meta.source(meta.run_base + info.restart_count));
        let finished = info.state == RunState::Exited;
        let since = cursor.map(|c| c + 1).unwrap_or(0);
        // Lines come in chunks of what the stream has ready; a batch is stored when it is full or
        // when BATCH_WAIT has passed since its first line (one timer per batch, not per line).
        let mut chunks = driver.logs(&id, since, !finished).ready_chunks(BATCH_LINES);
        let mut batch: Vec<LogLine> = Vec::new();
        let mut deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            let next = match deadline.as_mut() {
                None => chunks.next().await,
                Some(d) => tokio::select! {
                    n = chunks.next() => n,
                    _ = d.as_mut() => {
                        deadline = None;
                        store(&logs, &id, &source, std::mem::take(&mut batch)).await;
                        continue;
                    }
                },
            };
            let Some(chunk) = next else { break };
            let mut failed = false;
            for item in chunk {
                match item {
                    Ok(l) => {
                        cursor = Some(l.ts_ns);
                        batch.push(line(l));
                    }
                    Err(e) => {
                        tracing::debug!(%id, error = %e, "log stream error");
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                break;
            }
            if batch.len() >= BATCH_LINES {
                deadline = None;
                store(&logs, &id, &source, std::mem::take(&mut batch)).await;
            } else if deadline.is_none() && !batch.is_empty() {
                deadline = Some(Box::pin(tokio::time::sleep(BATCH_WAIT)));
            }
        }
        store(&logs, &id, &source, batch).await;
        if finished {
            break;
        }
        // The stream ended: the container stopped. It may be restarted by the runtime.
        match driver.inspect(&id).await {
            Ok(Some(info)) if info.state != RunState::Exited => tokio::time::sleep(Duration::from_millis(100)).await,
            Ok(Some(_)) => {
                // Exited: one more pass without following reads anything the stream missed.
                let since = cursor.map(|c| c + 1).unwrap_or(0);
                let rest: Vec<_> = driver.logs(&id, since, false).collect().await;
                let batch: Vec<LogLine> = rest.into_iter().filter_map(Result::ok).map(line).collect();
                store(&logs, &id, &source, batch).await;
                // A service container that exited is restarted by the runtime unless floe stopped it;
                // keep watching briefly in case it comes back.
                tokio::time::sleep(Duration::from_millis(200)).await;
                match driver.inspect(&id).await {
                    Ok(Some(info)) if info.state != RunState::Exited => continue,
                    _ => break,
                }
            }
            _ => break,
        }
    }
    drained.store(true, Ordering::Release);
    runtime.wake();
}
