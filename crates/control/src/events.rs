//! Platform events (spcs.md §8.7): the status changes between two observed states of a service or
//! job, as `SERVICE.STATUS_CHANGE`, `SERVICE_INSTANCE.STATUS_CHANGE` and `CONTAINER.STATUS_CHANGE`
//! records, gated by the effective LOG_EVENT_LEVEL. Pure: the loop stores what this returns.

use sql::spcs::{ServiceState, status};

/// One platform event.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformEvent {
    /// Instance it concerns (None for the service itself).
    pub instance: Option<u32>,
    /// Container it concerns.
    pub container: Option<String>,
    /// `RECORD.name`.
    pub name: &'static str,
    /// `RECORD.severity_text`: INFO or ERROR.
    pub severity: &'static str,
    /// `VALUE.message`.
    pub message: String,
    /// `VALUE.status`.
    pub status: String,
}

impl PlatformEvent {
    /// The stored body (stream 2 of the log store): what the event table's RECORD and VALUE are built from.
    pub fn body(&self) -> String {
        serde_json::json!({
            "name": self.name,
            "severity_text": self.severity,
            "scope": if self.container.is_some() { "container" } else if self.instance.is_some() { "instance" } else { "service" },
            "message": self.message,
            "status": self.status,
        })
        .to_string()
    }
}

/// The message of a service or job status change.
fn service_message(is_job: bool, st: &str) -> (&'static str, String) {
    let what = if is_job { "Job" } else { "Service" };
    let (sev, text) = match st {
        status::PENDING => ("INFO", format!("{what} is pending")),
        status::RUNNING if is_job => ("INFO", "Job is running".to_string()),
        status::RUNNING => ("INFO", "Service is ready".to_string()),
        status::SUSPENDING => ("INFO", "Service is suspending".to_string()),
        status::SUSPENDED => ("INFO", "Service has suspended".to_string()),
        status::DELETING => ("INFO", format!("{what} is deleting")),
        status::FAILED => ("ERROR", format!("{what} has failed")),
        status::INTERNAL_ERROR => ("ERROR", format!("{what} has encountered an error")),
        status::DONE => ("INFO", "Job is completed".to_string()),
        status::CANCELLING => ("INFO", "Job is being canceled".to_string()),
        status::CANCELLED => ("INFO", "Job has been canceled".to_string()),
        other => ("INFO", format!("{what} is {}", other.to_lowercase())),
    };
    (sev, text)
}

fn instance_message(is_job: bool, st: &str) -> (&'static str, String) {
    let what = if is_job { "Job instance" } else { "Service instance" };
    match st {
        "PENDING" => ("INFO", format!("{what} is pending")),
        "READY" => ("INFO", format!("{what} is running")),
        "TERMINATING" => ("INFO", format!("{what} is terminating")),
        "SUCCEEDED" => ("INFO", "Job instance has completed".to_string()),
        "FAILED" => ("ERROR", format!("{what} failed")),
        other => ("INFO", format!("{what} is {}", other.to_lowercase())),
    }
}

fn container_severity(st: &str, message: &str) -> &'static str {
    if st == "FAILED" || message.starts_with("Failed to pull image") || message.starts_with("Provided image name") { "ERROR" } else { "INFO" }
}

/// The events between `old` (None: the service was never observed) and `new`.
pub fn transitions(is_job: bool, old: Option<&ServiceState>, new: &ServiceState) -> Vec<PlatformEvent> {
    let mut out = Vec::new();
    for inst in &new.instances {
        let prev = old.and_then(|o| o.instances.iter().find(|i| i.id == inst.id));
        for c in &inst.containers {
            let before = prev.and_then(|p| p.containers.iter().find(|pc| pc.name == c.name));
            if c.status.is_empty() || before.is_some_and(|b| b.status == c.status && b.message == c.message) {
                continue;
            }
            out.push(PlatformEvent {
                instance: Some(inst.id),
                container: Some(c.name.clone()),
                name: "CONTAINER.STATUS_CHANGE",
                severity: container_severity(&c.status, &c.message),
                message: c.message.clone(),
                status: c.status.clone(),
            });
        }
    }
    if old.is_none_or(|o| o.status != new.status) {
        let (severity, message) = service_message(is_job, &new.status);
        out.push(PlatformEvent { instance: None, container: None, name: "SERVICE.STATUS_CHANGE", severity, message, status: new.status.clone() });
    }
    for inst in &new.instances {
        let prev = old.and_then(|o| o.instances.iter().find(|i| i.id == inst.id));
        if inst.status.is_empty() || prev.is_some_and(|p| p.status == inst.status) {
            continue;
        }
        let (severity, message) = instance_message(is_job, &inst.status);
        out.push(PlatformEvent { instance: Some(inst.id), container: None, name: "SERVICE_INSTANCE.STATUS_CHANGE", severity, message, status: inst.status.clone() });
    }
    out
}

/// Keeps the events LOG_EVENT_LEVEL lets through: OFF none, ERROR/FATAL the errors, WARN and more
/// verbose levels all (platform events are INFO or ERROR).
pub fn gate(level: &str, events: Vec<PlatformEvent>) -> Vec<PlatformEvent> {
    match level.to_ascii_uppercase().as_str() {
        "INFO" | "DEBUG" | "TRACE" | "WARN" => events,
        "ERROR" | "FATAL" => events.into_iter().filter(|e| e.severity == "ERROR").collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sql::spcs::{ContainerState, InstanceState};

    fn state(svc: &str, inst: &str, c: &str, msg: &str) -> ServiceState {
        ServiceState {
            uid: "u".into(),
            status: svc.into(),
            instances: vec![InstanceState {
                id: 0,
                status: inst.into(),
                containers: vec![ContainerState { name: "main".into(), status: c.into(), message: msg.into(), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn names(events: &[PlatformEvent]) -> Vec<(String, String, String)> {
        events.iter().map(|e| (e.name.to_string(), e.status.clone(), e.message.clone())).collect()
    }

    #[test]
    fn a_job_from_pending_to_done() {
        let pending = state("PENDING", "PENDING", "PENDING", "Waiting to start");
        let first = transitions(true, None, &pending);
        assert_eq!(
            names(&first),
            [
                ("CONTAINER.STATUS_CHANGE".into(), "PENDING".into(), "Waiting to start".into()),
                ("SERVICE.STATUS_CHANGE".into(), "PENDING".into(), "Job is pending".into()),
                ("SERVICE_INSTANCE.STATUS_CHANGE".into(), "PENDING".into(), "Job instance is pending".into()),
            ]
        );
        let running = state("RUNNING", "READY", "READY", "Running");
        assert_eq!(transitions(true, Some(&running), &running), []);
        let done = state("DONE", "SUCCEEDED", "DONE", "Completed successfully");
        let last = transitions(true, Some(&running), &done);
        assert_eq!(names(&last)[1], ("SERVICE.STATUS_CHANGE".into(), "DONE".into(), "Job is completed".into()));
        assert_eq!(names(&last)[2].2, "Job instance has completed");
    }

    #[test]
    fn failures_are_errors_and_the_level_gates_them() {
        let running = state("RUNNING", "READY", "READY", "Running");
        let failed = state("FAILED", "FAILED", "FAILED", "User application error, check container logs");
        let events = transitions(false, Some(&running), &failed);
        assert!(events.iter().all(|e| e.severity == "ERROR"), "{events:?}");
        assert_eq!(events[1].message, "Service has failed");
        assert_eq!(gate("OFF", events.clone()), []);
        assert_eq!(gate("error", events.clone()).len(), 3);
        let ready = transitions(false, None, &running);
        assert_eq!(gate("ERROR", ready.clone()), []);
        assert_eq!(gate("INFO", ready).len(), 3);
        let body: serde_json::Value = serde_json::from_str(&events[0].body()).unwrap();
        assert_eq!(body["scope"], "container");
    }
}
