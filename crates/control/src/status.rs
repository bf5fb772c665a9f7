//! Pure status derivation (spcs.md §4.8, §4.9, §5.3, §8.7, §12.2): what a container, an instance and a
//! service or job *are*, given what the runtime says about their containers and what the probes saw.
//! No I/O, no clock: the loop passes observations in and writes the result.

use driver::{ContainerInfo, RunState};
use sql::spcs::status;

/// A container's status and message, from its runtime state and (for a readiness probe) whether the
/// probe passed.
pub fn container_status(is_job: bool, info: &ContainerInfo, ready: Option<bool>, probe: Option<(&str, u16)>) -> (&'static str, String) {
    match info.state {
        RunState::Created => ("PENDING", "Waiting to start".into()),
        RunState::Running => match (ready, probe) {
            (Some(false), Some((path, port))) => ("PENDING", format!("Readiness probe is failing at path: {path}, port: {port}")),
            _ => ("READY", "Running".into()),
        },
        RunState::Restarting => ("FAILED", "Encountered fatal error, retrying".into()),
        RunState::Exited => {
            let code = info.exit_code.unwrap_or(-1);
            if info.oom_killed {
                ("FAILED", "Container was OOMKilled due to resource usage".into())
            } else if code == 0 && is_job {
                ("DONE", "Completed successfully".into())
            } else if info.error.is_some() {
                ("FAILED", "Encountered fatal error while starting container".into())
            } else if code == 0 {
                ("FAILED", "Encountered fatal error, retrying".into())
            } else {
                ("FAILED", "User application error, check container logs".into())
            }
        }
    }
}

/// An instance's status from its containers' statuses (and whether it is being torn down).
pub fn instance_status(is_job: bool, containers: &[&str], terminating: bool) -> &'static str {
    if terminating {
        return "TERMINATING";
    }
    if containers.is_empty() {
        return "PENDING";
    }
    if is_job {
        if containers.iter().all(|s| *s == "DONE") {
            return "SUCCEEDED";
        }
        if containers.iter().all(|s| *s == "DONE" || *s == "FAILED") {
            return "FAILED";
        }
        if containers.iter().any(|s| *s == "READY" || *s == "DONE") {
            return "READY";
        }
        return "PENDING";
    }
    if containers.iter().all(|s| *s == "READY") {
        return "READY";
    }
    if containers.iter().any(|s| *s == "FAILED") {
        return "FAILED";
    }
    "PENDING"
}

/// A service's status from its instances' statuses.
pub fn service_status(min_ready: u32, instances: &[&str], suspended: bool, any_container_left: bool) -> &'static str {
    if suspended {
        return if any_container_left { status::SUSPENDING } else { status::SUSPENDED };
    }
    let ready = instances.iter().filter(|s| **s == "READY").count() as u32;
    if ready >= min_ready.max(1) {
        return status::RUNNING;
    }
    if !instances.is_empty() && instances.iter().all(|s| *s == "FAILED") {
        return status::FAILED;
    }
    status::PENDING
}

/// A job's status from its instances' statuses: FAILED once every instance ended and one failed, DONE
/// when all succeeded, RUNNING while any runs.
pub fn job_status(instances: &[&str], replicas: u32, cancel_requested: bool, any_container_left: bool) -> &'static str {
    if cancel_requested {
        return if any_container_left { status::CANCELLING } else { status::CANCELLED };
    }
    let ended = instances.iter().filter(|s| matches!(**s, "SUCCEEDED" | "FAILED")).count() as u32;
    if ended >= replicas && replicas > 0 {
        return if instances.iter().all(|s| *s == "SUCCEEDED") { status::DONE } else { status::FAILED };
    }
    if instances.iter().any(|s| matches!(*s, "READY" | "SUCCEEDED" | "FAILED")) {
        return status::RUNNING;
    }
    status::PENDING
}

/// Capacity of one virtual node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    /// CPU cores.
    pub cpu: f64,
    /// Memory bytes.
    pub memory: u64,
    /// GPUs.
    pub gpu: u32,
}

/// Places an instance needing `need` on the first of `nodes` virtual nodes with room, given what is
/// already placed (`(node, need)` pairs). None when nothing fits.
pub fn place(nodes: u32, capacity: Capacity, placed: &[(u32, Capacity)], need: Capacity) -> Option<u32> {
    (0..nodes).find(|node| {
        let (mut cpu, mut mem, mut gpu) = (0.0, 0u64, 0u32);
        for (n, c) in placed {
            if n == node {
                cpu += c.cpu;
                mem += c.memory;
                gpu += c.gpu;
            }
        }
        cpu + need.cpu <= capacity.cpu + 1e-9 && mem + need.memory <= capacity.memory && gpu + need.gpu <= capacity.gpu
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(state: RunState, code: Option<i64>) -> ContainerInfo {
        ContainerInfo {
            id: "c".into(),
            name: "n".into(),
            labels: Default::default(),
            state,
            exit_code: code,
            oom_killed: false,
            started_at: None,
            finished_at: None,
            restart_count: 0,
            ip: None,
            image_id: None,
            error: None,
        }
    }

    #[test]
    fn containers() {
        assert_eq!(container_status(true, &info(RunState::Exited, Some(0)), None, None).0, "DONE");
        assert_eq!(container_status(true, &info(RunState::Exited, Some(3)), None, None).1, "User application error, check container logs");
        assert_eq!(
            container_status(false, &info(RunState::Running, None), Some(false), Some(("/healthcheck", 8000))).1,
            "Readiness probe is failing at path: /healthcheck, port: 8000"
        );
        assert_eq!(container_status(false, &info(RunState::Running, None), Some(true), Some(("/h", 1))).0, "READY");
    }

    #[test]
    fn jobs_and_services() {
        assert_eq!(job_status(&["SUCCEEDED", "READY"], 2, false, true), "RUNNING");
        assert_eq!(job_status(&["SUCCEEDED", "FAILED"], 2, false, true), "FAILED");
        assert_eq!(job_status(&["SUCCEEDED", "SUCCEEDED"], 2, false, false), "DONE");
        assert_eq!(job_status(&["READY"], 1, true, true), "CANCELLING");
        assert_eq!(job_status(&[], 1, true, false), "CANCELLED");
        assert_eq!(service_status(1, &["READY"], false, true), "RUNNING");
        assert_eq!(service_status(2, &["READY", "PENDING"], false, true), "PENDING");
        assert_eq!(service_status(1, &["READY"], true, true), "SUSPENDING");
        assert_eq!(instance_status(false, &["READY", "PENDING"], false), "PENDING");
    }

    #[test]
    fn placement_fills_nodes_in_order() {
        let cap = Capacity { cpu: 1.0, memory: 4 << 30, gpu: 0 };
        let need = Capacity { cpu: 0.5, memory: 1 << 30, gpu: 0 };
        let placed = vec![(0, need), (0, need)];
        assert_eq!(place(2, cap, &placed, need), Some(1));
        assert_eq!(place(1, cap, &placed, need), None);
    }
}
