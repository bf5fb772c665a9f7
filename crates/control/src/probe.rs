//! Readiness and liveness probes (spcs.md §6.3): an HTTP GET of `path` on `port` at the instance's
//! address, expecting 200. One task per probed container. Readiness decides READY (and so the service's
//! status and routing); `failureThreshold` consecutive liveness failures restart the container. Until a
//! readiness probe first passes it is tried every second, then every `periodSeconds`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use driver::RuntimeDriver;

/// A running probe task; dropping the handle stops it.
pub(crate) struct ProbeHandle {
    /// The readiness probe's last result (true when the container has no readiness probe).
    pub ready: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ProbeHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What to probe.
pub(crate) struct Probes {
    pub readiness: Option<spec::Probe>,
    pub liveness: Option<spec::Probe>,
}

async fn check(client: &reqwest::Client, ip: &str, p: &spec::Probe) -> bool {
    let path = if p.path.starts_with('/') { p.path.clone() } else { format!("/{}", p.path) };
    let url = format!("http://{ip}:{}{path}", p.port);
    matches!(client.get(url).send().await, Ok(r) if r.status().as_u16() == 200)
}

/// Starts probing container `id` at `ip`.
pub(crate) fn start(
    driver: Arc<dyn RuntimeDriver>,
    runtime: Arc<sql::spcs::Runtime>,
    id: String,
    ip: String,
    probes: Probes,
    grace: Duration,
) -> ProbeHandle {
    let ready = Arc::new(AtomicBool::new(probes.readiness.is_none()));
    let flag = ready.clone();
    let task = tokio::spawn(async move {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(1)).no_proxy().build().unwrap_or_default();
        let mut live_failures = 0u32;
        let mut ever_ready = false;
        let mut ticks = 0u64;
        loop {
            if let Some(p) = &probes.readiness {
                let period = if ever_ready { p.period_secs.max(1) as u64 } else { 1 };
                if ticks % period == 0 {
                    let ok = check(&client, &ip, p).await;
                    ever_ready |= ok;
                    if flag.swap(ok, Ordering::AcqRel) != ok {
                        runtime.wake();
                    }
                }
            }
            if let Some(p) = &probes.liveness
                && ticks % p.period_secs.max(1) as u64 == 0
            {
                if check(&client, &ip, p).await {
                    live_failures = 0;
                } else {
                    live_failures += 1;
                    if live_failures >= p.failure_threshold.max(1) {
                        tracing::info!(%id, "liveness probe failed {live_failures} times; restarting the container");
                        live_failures = 0;
                        let _ = driver.restart(&id, grace).await;
                        runtime.wake();
                    }
                }
            }
            ticks += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    ProbeHandle { ready, task }
}
