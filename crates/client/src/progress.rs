//! Progress of a synchronous `EXECUTE JOB SERVICE` in `floe sql`: the statement holds the session
//! until the job ends, so a second session (same user, role, database and schema) reads
//! `SHOW SERVICE CONTAINERS IN SERVICE <job>` once a second and prints each change of the containers'
//! statuses to stderr (`-- job MY_JOB: instance 0 main RUNNING (3s)`), leaving stdout to the result.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::wire::{QueryResult, Session};

/// The job a statement runs synchronously: the NAME of an `EXECUTE JOB SERVICE` without
/// `ASYNC = TRUE` (as written, quotes and qualification kept). None for anything else.
pub fn sync_job_name(sql: &str) -> Option<String> {
    let words = words(sql);
    let upper: Vec<String> = words.iter().map(|w| if w.starts_with('"') { w.clone() } else { w.to_uppercase() }).collect();
    if upper.len() < 3 || upper[0] != "EXECUTE" || upper[1] != "JOB" || upper[2] != "SERVICE" {
        return None;
    }
    let value_of = |key: &str| upper.iter().position(|w| w == key).and_then(|i| (upper.get(i + 1).map(String::as_str) == Some("=")).then(|| i + 2)).and_then(|i| words.get(i));
    if value_of("ASYNC").is_some_and(|v| v.eq_ignore_ascii_case("TRUE")) {
        return None;
    }
    value_of("NAME").cloned()
}

/// The statement's words outside `$$…$$` and '…' literals: identifiers (with their dots and quotes)
/// and `=` as a word of its own.
fn words(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = sql.chars().peekable();
    let flush = |current: &mut String, out: &mut Vec<String>| {
        if !current.is_empty() {
            out.push(std::mem::take(current));
        }
    };
    while let Some(ch) = chars.next() {
        match ch {
            '$' if chars.peek() == Some(&'$') => {
                flush(&mut current, &mut out);
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '$' && c == '$' {
                        break;
                    }
                    prev = c;
                }
            }
            '\'' => {
                flush(&mut current, &mut out);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
                out.push("'".into());
            }
            '"' => {
                current.push(ch);
                for c in chars.by_ref() {
                    current.push(c);
                    if c == '"' {
                        break;
                    }
                }
            }
            '=' | '(' | ')' | ',' | ';' => {
                flush(&mut current, &mut out);
                out.push(ch.to_string());
            }
            c if c.is_whitespace() => flush(&mut current, &mut out),
            c => current.push(c),
        }
    }
    flush(&mut current, &mut out);
    out
}

/// One line per container: `instance <id> <container> <status>`, from SHOW SERVICE CONTAINERS.
pub fn summary(result: &QueryResult) -> String {
    let index = |name: &str| result.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name));
    let (Some(instance), Some(container), Some(status)) = (index("instance_id"), index("container_name"), index("status")) else { return String::new() };
    result
        .rows
        .iter()
        .filter_map(|row| {
            let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
            // A job not yet placed has a row without a container: nothing to show yet.
            (!cell(container).is_empty()).then(|| format!("instance {} {} {}", cell(instance), cell(container), cell(status)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A running watcher; `finish` stops it.
pub struct JobWatcher {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl JobWatcher {
    /// Starts watching the job `sql` runs, if it is a synchronous job with a NAME.
    pub fn start(session: &mut Session, sql: &str) -> Option<JobWatcher> {
        let name = sync_job_name(sql)?;
        let opts = session.options().clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let handle = std::thread::spawn(move || {
            let Ok(mut watch) = Session::login(&opts) else { return };
            let started = Instant::now();
            let mut last = String::new();
            let show = format!("SHOW SERVICE CONTAINERS IN SERVICE {name}");
            // Shown as Snowflake names it: unquoted parts upper-cased.
            let name = name.split('.').map(|p| if p.starts_with('"') { p.to_string() } else { p.to_uppercase() }).collect::<Vec<_>>().join(".");
            while !stopped.load(Ordering::Relaxed) {
                if let Ok(result) = watch.query(&show) {
                    let now = summary(&result);
                    if !now.is_empty() && now != last && !stopped.load(Ordering::Relaxed) {
                        eprintln!("-- job {name}: {now} ({}s)", started.elapsed().as_secs());
                        last = now;
                    }
                }
                for _ in 0..4 {
                    if stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
            watch.close();
        });
        Some(JobWatcher { stop, handle })
    }

    /// Stops watching (the statement has answered).
    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_synchronous_named_jobs_are_watched() {
        let spec = "EXECUTE JOB SERVICE IN COMPUTE POOL p NAME = my_db.s.\"Job 1\" FROM SPECIFICATION $$\nspec:\n  containers:\n  - name: main\n    image: /a/b/c/d:1\n    args: ['NAME = x']\n$$";
        assert_eq!(sync_job_name(spec).as_deref(), Some("my_db.s.\"Job 1\""));
        assert_eq!(sync_job_name("execute job service in compute pool p from @st specification_file = 'a.yaml' name=j1").as_deref(), Some("j1"));
        assert_eq!(sync_job_name("EXECUTE JOB SERVICE IN COMPUTE POOL p NAME = j ASYNC = TRUE FROM @s SPEC = 'x'"), None);
        assert_eq!(sync_job_name("execute job service in compute pool p name = j async = false from @s spec = 'x'").as_deref(), Some("j"));
        assert_eq!(sync_job_name("select 'EXECUTE JOB SERVICE NAME = x'"), None);
    }

    #[test]
    fn summary_names_each_container() {
        let column = |name: &str| crate::value::Column::new(name, crate::value::ColType::Text);
        let result = QueryResult {
            query_id: None,
            columns: vec![column("database_name"), column("instance_id"), column("container_name"), column("status")],
            rows: vec![vec![Some("D".into()), Some("0".into()), Some("main".into()), Some("RUNNING".into())], vec![Some("D".into()), None, None, Some("PENDING".into())]],
            elapsed: Duration::ZERO,
        };
        assert_eq!(summary(&result), "instance 0 main RUNNING");
    }
}
