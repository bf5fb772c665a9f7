//! The durable telemetry store `logs.db` beside the catalog: every line a container writes, platform
//! events (stream 2), the resource attributes of each service incarnation, and the job history. It is
//! the store behind SYSTEM$GET_SERVICE_LOGS, the event table, SPCS_GET_LOGS/SPCS_GET_EVENTS and
//! GET_JOB_HISTORY. Everything in it ages out after the retention period (`purge`).
//!
//! A second SQLite file, not the catalog, because its write rate is of another order (100 000 lines/s
//! from one chatty container) and it must never hold up a catalog commit. WAL with synchronous=NORMAL:
//! a line acknowledged by `append` survives a crash of floe; an OS crash may lose the last moments of
//! output, which the capture cursor then re-reads from Docker if it still has it.
//!
//! Capture cursors (the last timestamp read per runtime container id) are written in the same
//! transaction as the lines they cover, so a restarted floe resumes exactly where it stopped: no line
//! is stored twice and none is skipped.
//!
//! Who wrote a line (service name as it was then, uid, instance, container, run) is a row of `sources`; each line carries only
//! that row's integer id, so a line costs its timestamp, stream and text plus two integer index
//! entries (`logs_by_source`, `logs_by_time`), not a copy of four text fields and a text index.
//! `user_version` 1 is this layout; a version-0 file (one table with the text columns) is migrated
//! when opened.

use std::collections::HashMap;
use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, params};

use crate::error::Result;

/// One stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// `DB.SCHEMA.NAME` of the service or job.
    pub service: String,
    /// The service's unique id (a dropped and re-created service has a new one).
    pub service_uid: String,
    /// Instance id (0-based).
    pub instance: u32,
    /// Container name from the spec.
    pub container: String,
    /// Run of the container: 0 for the first, +1 per restart.
    pub run: u32,
    /// 0 = stdout, 1 = stderr, 2 = platform event.
    pub stream: u8,
    /// The line (or the event's JSON).
    pub body: String,
}

/// Who wrote a batch of lines: one run of one container of one service instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogSource {
    /// `DB.SCHEMA.NAME` of the service or job.
    pub service: String,
    /// The service's unique id.
    pub service_uid: String,
    /// Instance id (0-based).
    pub instance: u32,
    /// Container name from the spec.
    pub container: String,
    /// Run of the container.
    pub run: u32,
}

/// One line of a source (`append_lines`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// 0 = stdout, 1 = stderr, 2 = platform event.
    pub stream: u8,
    /// The line (or the event's JSON).
    pub body: String,
}

/// Which lines to read.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Service unique id.
    pub service_uid: String,
    /// Instance id.
    pub instance: Option<u32>,
    /// Container name.
    pub container: Option<String>,
    /// Run (None = any).
    pub run: Option<u32>,
    /// Only records at or after this time.
    pub since_ns: Option<i64>,
    /// Only records before this time.
    pub until_ns: Option<i64>,
    /// The most recent `limit` records (returned oldest first).
    pub limit: Option<usize>,
    /// Include platform events (stream 2).
    pub events: bool,
}

/// A `logs` row selected as `ts_ns, service, service_uid, instance, container, run, stream, body`.
fn log_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogRecord> {
    Ok(LogRecord {
        ts_ns: row.get(0)?,
        service: row.get(1)?,
        service_uid: row.get(2)?,
        instance: row.get(3)?,
        container: row.get(4)?,
        run: row.get(5)?,
        stream: row.get(6)?,
        body: row.get(7)?,
    })
}

/// The log store. Cheap to share behind an `Arc`.
pub struct LogStore {
    writer: Mutex<Writer>,
    reader: Mutex<Connection>,
}

/// The writing connection and the ids of the sources it has seen (cleared when `purge` may have
/// removed some).
struct Writer {
    conn: Connection,
    sources: HashMap<LogSource, i64>,
}

/// The layout of the current version (`user_version` 1).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sources(
         id INTEGER PRIMARY KEY,
         service TEXT NOT NULL,
         service_uid TEXT NOT NULL,
         instance INTEGER NOT NULL,
         container TEXT NOT NULL,
         run INTEGER NOT NULL,
         UNIQUE(service_uid, instance, container, run, service));
     CREATE TABLE IF NOT EXISTS logs(
         id INTEGER PRIMARY KEY,
         ts_ns INTEGER NOT NULL,
         source INTEGER NOT NULL,
         stream INTEGER NOT NULL,
         body TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS logs_by_source ON logs(source, id);
     CREATE INDEX IF NOT EXISTS logs_by_time ON logs(ts_ns);
     CREATE TABLE IF NOT EXISTS cursors(container_id TEXT PRIMARY KEY, ts_ns INTEGER NOT NULL);
     CREATE TABLE IF NOT EXISTS resources(service_uid TEXT PRIMARY KEY, owner TEXT NOT NULL, attrs TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS jobs(
         uid TEXT PRIMARY KEY,
         owner TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         completed_ms INTEGER,
         deleted_ms INTEGER,
         status TEXT NOT NULL,
         message TEXT,
         instance_statuses TEXT,
         fixed TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs(owner, created_ms);";

/// Brings a file of any earlier layout to the current one, in one transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version >= 1 {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let old_layout: bool = tx.query_row("SELECT count(*) FROM pragma_table_info('logs') WHERE name = 'service_uid'", [], |r| r.get::<_, i64>(0))? > 0;
    if old_layout {
        // Version 0: every line carried its service, uid, instance, container and run as text.
        tx.execute_batch(
            "ALTER TABLE logs RENAME TO logs_v0;
             DROP INDEX IF EXISTS logs_by_container;
             DROP INDEX IF EXISTS logs_by_time;",
        )?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(
            "INSERT INTO sources(service, service_uid, instance, container, run)
                 SELECT service, service_uid, instance, container, run FROM logs_v0
                 GROUP BY service_uid, instance, container, run, service ORDER BY min(id);
             INSERT INTO logs(id, ts_ns, source, stream, body)
                 SELECT l.id, l.ts_ns, s.id, l.stream, l.body FROM logs_v0 l
                 JOIN sources s ON s.service_uid = l.service_uid AND s.instance = l.instance
                               AND s.container = l.container AND s.run = l.run AND s.service = l.service
                 ORDER BY l.id;
             DROP TABLE logs_v0;",
        )?;
    } else {
        tx.execute_batch(SCHEMA)?;
    }
    tx.execute_batch("PRAGMA user_version = 1")?;
    tx.commit()?;
    Ok(())
}

impl Writer {
    /// The id of a source, created on first sight.
    fn source_id(&mut self, source: &LogSource) -> Result<i64> {
        if let Some(id) = self.sources.get(source) {
            return Ok(*id);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO sources(service, service_uid, instance, container, run) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(service_uid, instance, container, run, service) DO NOTHING",
            )?
            .execute(params![source.service, source.service_uid, source.instance, source.container, source.run])?;
        let id: i64 = self
            .conn
            .prepare_cached("SELECT id FROM sources WHERE service_uid = ?1 AND instance = ?2 AND container = ?3 AND run = ?4 AND service = ?5")?
            .query_row(params![source.service_uid, source.instance, source.container, source.run, source.service], |r| r.get(0))?;
        self.sources.insert(source.clone(), id);
        Ok(id)
    }
}

/// Moves a capture cursor forward (never back), inside the caller's transaction.
fn move_cursor(tx: &rusqlite::Transaction<'_>, cursor: Option<(&str, i64)>) -> Result<()> {
    if let Some((id, ts)) = cursor {
        tx.prepare_cached(
            "INSERT INTO cursors(container_id, ts_ns) VALUES (?1, ?2)
             ON CONFLICT(container_id) DO UPDATE SET ts_ns = max(ts_ns, excluded.ts_ns)",
        )?
        .execute(params![id, ts])?;
    }
    Ok(())
}

/// The columns of a `LogRecord`, from `logs l JOIN sources s`.
const RECORD_COLUMNS: &str = "l.ts_ns, s.service, s.service_uid, s.instance, s.container, s.run, l.stream, l.body";

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

impl LogStore {
    /// Opens (creating, or migrating from an earlier layout) the log store at `path`.
    pub fn open(path: &Path) -> Result<LogStore> {
        let mut conn = open(path)?;
        migrate(&mut conn)?;
        let reader = open(path)?;
        Ok(LogStore { writer: Mutex::new(Writer { conn, sources: HashMap::new() }), reader: Mutex::new(reader) })
    }

    /// Appends records (of any sources; platform events) and, in the same transaction, moves the
    /// capture cursor of `cursor.0` to `cursor.1`.
    pub fn append(&self, records: &[LogRecord], cursor: Option<(&str, i64)>) -> Result<()> {
        let mut w = self.writer.lock();
        let mut ids = Vec::with_capacity(records.len());
        for r in records {
            let source = LogSource { service: r.service.clone(), service_uid: r.service_uid.clone(), instance: r.instance, container: r.container.clone(), run: r.run };
            ids.push(w.source_id(&source)?);
        }
        let tx = w.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO logs(ts_ns, source, stream, body) VALUES (?1, ?2, ?3, ?4)")?;
            for (r, id) in records.iter().zip(ids) {
                insert.execute(params![r.ts_ns, id, r.stream, r.body])?;
            }
            move_cursor(&tx, cursor)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Appends lines of one source (a container's capture) and, in the same transaction, moves the
    /// capture cursor of `cursor.0` to `cursor.1`.
    pub fn append_lines(&self, source: &LogSource, lines: &[LogLine], cursor: Option<(&str, i64)>) -> Result<()> {
        let mut w = self.writer.lock();
        let id = if lines.is_empty() { 0 } else { w.source_id(source)? };
        let tx = w.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO logs(ts_ns, source, stream, body) VALUES (?1, ?2, ?3, ?4)")?;
            for l in lines {
                insert.execute(params![l.ts_ns, id, l.stream, l.body])?;
            }
            move_cursor(&tx, cursor)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The capture cursor of a runtime container: the timestamp of the last line stored, if any.
    pub fn cursor(&self, container_id: &str) -> Result<Option<i64>> {
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached("SELECT ts_ns FROM cursors WHERE container_id = ?1")?;
        let mut rows = stmt.query(params![container_id])?;
        Ok(match rows.next()? {
            Some(row) => Some(row.get(0)?),
            None => None,
        })
    }

    /// Forgets the cursor of a removed container.
    pub fn drop_cursor(&self, container_id: &str) -> Result<()> {
        self.writer.lock().conn.execute("DELETE FROM cursors WHERE container_id = ?1", params![container_id])?;
        Ok(())
    }

    /// Records matching `q`, oldest first.
    pub fn read(&self, q: &LogQuery) -> Result<Vec<LogRecord>> {
        let mut sql = format!("SELECT {RECORD_COLUMNS} FROM logs l JOIN sources s ON l.source = s.id WHERE s.service_uid = ?1");
        let mut args: Vec<rusqlite::types::Value> = vec![q.service_uid.clone().into()];
        let mut push = |cond: &str, v: rusqlite::types::Value, sql: &mut String| {
            args.push(v);
            sql.push_str(&format!(" AND {cond} ?{}", args.len()));
        };
        if let Some(i) = q.instance {
            push("s.instance =", (i as i64).into(), &mut sql);
        }
        if let Some(c) = &q.container {
            push("s.container =", c.clone().into(), &mut sql);
        }
        if let Some(r) = q.run {
            push("s.run =", (r as i64).into(), &mut sql);
        }
        if let Some(t) = q.since_ns {
            push("l.ts_ns >=", t.into(), &mut sql);
        }
        if let Some(t) = q.until_ns {
            push("l.ts_ns <", t.into(), &mut sql);
        }
        if !q.events {
            sql.push_str(" AND l.stream < 2");
        }
        sql.push_str(" ORDER BY l.id DESC");
        if let Some(n) = q.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), log_record)?;
        let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        out.reverse();
        Ok(out)
    }

    /// The highest run stored for a container of a service instance.
    pub fn last_run(&self, service_uid: &str, instance: u32, container: &str) -> Result<Option<u32>> {
        let conn = self.reader.lock();
        let v: Option<i64> = conn.query_row(
            "SELECT max(s.run) FROM sources s WHERE s.service_uid = ?1 AND s.instance = ?2 AND s.container = ?3
               AND EXISTS (SELECT 1 FROM logs l WHERE l.source = s.id AND l.stream < 2)",
            params![service_uid, instance, container],
            |r| r.get(0),
        )?;
        Ok(v.map(|v| v as u32))
    }
}

/// One job in the job history. `fixed` holds what the job's statement fixed (query id, id, name,
/// database, schema, compute pool, parameters) as a JSON object; the rest is what was observed.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// The job's unique id.
    pub uid: String,
    /// Owning role.
    pub owner: String,
    /// Epoch ms.
    pub created_ms: i64,
    /// Epoch ms, once the job ended.
    pub completed_ms: Option<i64>,
    /// Epoch ms, once the job was dropped.
    pub deleted_ms: Option<i64>,
    /// Status (PENDING … DONE).
    pub status: String,
    /// Status message.
    pub message: Option<String>,
    /// INSTANCE_STATUSES as JSON text.
    pub instance_statuses: Option<String>,
    /// The fixed columns as a JSON object text.
    pub fixed: String,
}

impl LogStore {
    /// Records the resource attributes (a JSON object) of a service incarnation, once.
    pub fn put_resource(&self, service_uid: &str, owner: &str, attrs: &str) -> Result<()> {
        self.writer.lock().conn.execute(
            "INSERT INTO resources(service_uid, owner, attrs) VALUES (?1, ?2, ?3) ON CONFLICT(service_uid) DO NOTHING",
            params![service_uid, owner, attrs],
        )?;
        Ok(())
    }

    /// The resource attributes and owner of every recorded service incarnation.
    pub fn resources(&self) -> Result<std::collections::HashMap<String, (String, String)>> {
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached("SELECT service_uid, owner, attrs FROM resources")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get::<_, String>(1)?, r.get::<_, String>(2)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records records of any services between two times (`[since, until)`), oldest first: the event
    /// table's scan.
    pub fn scan(&self, since_ns: i64, until_ns: i64) -> Result<Vec<LogRecord>> {
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM logs l JOIN sources s ON l.source = s.id
             WHERE l.ts_ns >= ?1 AND l.ts_ns < ?2 ORDER BY l.ts_ns, l.id"
        ))?;
        let rows = stmt.query_map(params![since_ns, until_ns], log_record)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Adds a job to the history (nothing if it is there already).
    pub fn insert_job(&self, job: &JobRecord) -> Result<()> {
        self.writer.lock().conn.execute(
            "INSERT INTO jobs(uid, owner, created_ms, completed_ms, deleted_ms, status, message, instance_statuses, fixed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(uid) DO NOTHING",
            params![job.uid, job.owner, job.created_ms, job.completed_ms, job.deleted_ms, job.status, job.message, job.instance_statuses, job.fixed],
        )?;
        Ok(())
    }

    /// Records what was observed of a job (a job already marked deleted keeps its deletion time).
    pub fn update_job(&self, uid: &str, status: &str, message: Option<&str>, completed_ms: Option<i64>, instance_statuses: &str) -> Result<()> {
        self.writer.lock().conn.execute(
            "UPDATE jobs SET status = ?2, message = ?3, completed_ms = coalesce(completed_ms, ?4), instance_statuses = ?5 WHERE uid = ?1",
            params![uid, status, message, completed_ms, instance_statuses],
        )?;
        Ok(())
    }

    /// Marks a job dropped.
    pub fn mark_job_deleted(&self, uid: &str, deleted_ms: i64) -> Result<()> {
        self.writer.lock().conn.execute("UPDATE jobs SET deleted_ms = coalesce(deleted_ms, ?2) WHERE uid = ?1", params![uid, deleted_ms])?;
        Ok(())
    }

    /// The jobs of `owner` created in `[start_ms, end_ms]`, newest first, at most `limit`.
    pub fn job_history(&self, owner: &str, start_ms: i64, end_ms: i64, limit: usize) -> Result<Vec<JobRecord>> {
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT uid, owner, created_ms, completed_ms, deleted_ms, status, message, instance_statuses, fixed FROM jobs
             WHERE owner = ?1 AND created_ms >= ?2 AND created_ms <= ?3 ORDER BY created_ms DESC, rowid DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![owner, start_ms, end_ms, limit as i64], |r| {
            Ok(JobRecord {
                uid: r.get(0)?,
                owner: r.get(1)?,
                created_ms: r.get(2)?,
                completed_ms: r.get(3)?,
                deleted_ms: r.get(4)?,
                status: r.get(5)?,
                message: r.get(6)?,
                instance_statuses: r.get(7)?,
                fixed: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets what is older than the retention: log lines and events before `before_ns`, jobs created
    /// before it, and the resource attributes nothing refers to any more. Returns the rows removed.
    pub fn purge(&self, before_ns: i64) -> Result<usize> {
        let mut w = self.writer.lock();
        let tx = w.conn.transaction()?;
        let mut n = tx.execute("DELETE FROM logs WHERE ts_ns < ?1", params![before_ns])?;
        tx.execute("DELETE FROM sources WHERE NOT EXISTS (SELECT 1 FROM logs WHERE logs.source = sources.id)", [])?;
        n += tx.execute("DELETE FROM jobs WHERE created_ms < ?1", params![before_ns / 1_000_000])?;
        n += tx.execute(
            "DELETE FROM resources WHERE service_uid NOT IN (SELECT service_uid FROM sources)
                                     AND service_uid NOT IN (SELECT uid FROM jobs)",
            [],
        )?;
        tx.commit()?;
        w.sources.clear();
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts: i64, run: u32, body: &str) -> LogRecord {
        LogRecord {
            ts_ns: ts,
            service: "DB.S.SVC".into(),
            service_uid: "u1".into(),
            instance: 0,
            container: "main".into(),
            run,
            stream: 0,
            body: body.into(),
        }
    }

    #[test]
    fn append_read_tail_and_cursor_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.db");
        {
            let logs = LogStore::open(&path).unwrap();
            logs.append(&[rec(1, 0, "a"), rec(2, 0, "b"), rec(3, 1, "c")], Some(("cid", 3))).unwrap();
            logs.append(&[], Some(("cid", 2))).unwrap();
        }
        let logs = LogStore::open(&path).unwrap();
        assert_eq!(logs.cursor("cid").unwrap(), Some(3), "cursor never moves back");
        let q = LogQuery { service_uid: "u1".into(), limit: Some(2), ..Default::default() };
        let bodies: Vec<String> = logs.read(&q).unwrap().into_iter().map(|r| r.body).collect();
        assert_eq!(bodies, ["b", "c"]);
        let q = LogQuery { service_uid: "u1".into(), run: Some(0), since_ns: Some(2), ..Default::default() };
        assert_eq!(logs.read(&q).unwrap().len(), 1);
        assert_eq!(logs.last_run("u1", 0, "main").unwrap(), Some(1));
    }

    fn job(uid: &str, owner: &str, created: i64) -> JobRecord {
        JobRecord {
            uid: uid.into(),
            owner: owner.into(),
            created_ms: created,
            completed_ms: None,
            deleted_ms: None,
            status: "PENDING".into(),
            message: None,
            instance_statuses: None,
            fixed: "{}".into(),
        }
    }

    #[test]
    fn job_history_is_per_owner_newest_first_and_keeps_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogStore::open(&dir.path().join("logs.db")).unwrap();
        for (i, owner) in ["R1", "R2", "R1", "R1"].iter().enumerate() {
            logs.insert_job(&job(&format!("j{i}"), owner, 1000 + i as i64)).unwrap();
        }
        // A second insert of the same job changes nothing.
        logs.insert_job(&JobRecord { status: "RUNNING".into(), ..job("j0", "R1", 1000) }).unwrap();
        logs.update_job("j0", "DONE", Some("Job completed successfully."), Some(1500), "{}").unwrap();
        logs.update_job("j0", "DONE", None, Some(9999), "{}").unwrap();
        logs.mark_job_deleted("j0", 2000).unwrap();
        logs.mark_job_deleted("j0", 3000).unwrap();
        let h = logs.job_history("R1", 0, i64::MAX, 100).unwrap();
        assert_eq!(h.iter().map(|j| j.uid.as_str()).collect::<Vec<_>>(), ["j3", "j2", "j0"]);
        let j0 = &h[2];
        assert_eq!((j0.status.as_str(), j0.completed_ms, j0.deleted_ms), ("DONE", Some(1500), Some(2000)));
        assert_eq!(logs.job_history("R1", 1001, 1002, 100).unwrap().len(), 1);
        assert_eq!(logs.job_history("R1", 0, i64::MAX, 1).unwrap()[0].uid, "j3");
    }

    #[test]
    fn purge_removes_only_what_is_older_than_the_retention() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogStore::open(&dir.path().join("logs.db")).unwrap();
        logs.append(&[rec(1_000_000, 0, "old"), rec(5_000_000, 0, "new")], None).unwrap();
        logs.put_resource("u1", "R", "{}").unwrap();
        logs.put_resource("gone", "R", "{}").unwrap();
        logs.insert_job(&job("old", "R", 1)).unwrap();
        logs.insert_job(&job("new", "R", 5)).unwrap();
        assert_eq!(logs.purge(2_000_000).unwrap(), 3);
        let q = LogQuery { service_uid: "u1".into(), ..Default::default() };
        assert_eq!(logs.read(&q).unwrap().iter().map(|r| r.body.as_str()).collect::<Vec<_>>(), ["new"]);
        assert_eq!(logs.job_history("R", 0, i64::MAX, 10).unwrap().len(), 1);
        assert_eq!(logs.resources().unwrap().keys().collect::<Vec<_>>(), ["u1"]);
        assert_eq!(logs.scan(0, i64::MAX).unwrap().len(), 1);
    }

    #[test]
    fn lines_of_a_source_share_one_source_row_and_purge_forgets_unused_sources() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogStore::open(&dir.path().join("logs.db")).unwrap();
        let source = LogSource { service: "DB.S.SVC".into(), service_uid: "u1".into(), instance: 0, container: "main".into(), run: 2 };
        let lines: Vec<LogLine> = (0..3).map(|i| LogLine { ts_ns: 10 + i, stream: 0, body: format!("l{i}") }).collect();
        logs.append_lines(&source, &lines, Some(("cid", 12))).unwrap();
        logs.append_lines(&source, &lines[..1], None).unwrap();
        logs.append(&[rec(20, 2, "event")], None).unwrap();
        let sources: i64 = logs.reader.lock().query_row("SELECT count(*) FROM sources", [], |r| r.get(0)).unwrap();
        assert_eq!(sources, 1, "one row per (service, instance, container, run)");
        let got = logs.read(&LogQuery { service_uid: "u1".into(), ..Default::default() }).unwrap();
        assert_eq!(got.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(), ["l0", "l1", "l2", "l0", "event"]);
        assert!(got.iter().all(|r| r.run == 2 && r.container == "main" && r.service == "DB.S.SVC"));
        assert_eq!(logs.cursor("cid").unwrap(), Some(12));
        assert_eq!(logs.purge(i64::MAX).unwrap(), 5);
        let sources: i64 = logs.reader.lock().query_row("SELECT count(*) FROM sources", [], |r| r.get(0)).unwrap();
        assert_eq!(sources, 0);
        // After the purge the source is created again.
        logs.append_lines(&source, &lines[..1], None).unwrap();
        assert_eq!(logs.read(&LogQuery { service_uid: "u1".into(), ..Default::default() }).unwrap().len(), 1);
    }

    #[test]
    fn a_version_0_file_is_migrated_with_its_lines_ids_and_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.db");
        {
            // The layout floe wrote before sources existed.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE logs(id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, service TEXT NOT NULL, service_uid TEXT NOT NULL,
                     instance INTEGER NOT NULL, container TEXT NOT NULL, run INTEGER NOT NULL, stream INTEGER NOT NULL, body TEXT NOT NULL);
                 CREATE INDEX logs_by_container ON logs(service_uid, instance, container, run, id);
                 CREATE INDEX logs_by_time ON logs(ts_ns);
                 CREATE TABLE cursors(container_id TEXT PRIMARY KEY, ts_ns INTEGER NOT NULL);
                 INSERT INTO logs VALUES (1, 100, 'DB.S.A', 'ua', 0, 'main', 0, 0, 'a0');
                 INSERT INTO logs VALUES (2, 101, 'DB.S.B', 'ub', 1, 'side', 3, 1, 'b3');
                 INSERT INTO logs VALUES (3, 102, 'DB.S.A', 'ua', 0, 'main', 1, 0, 'a1');
                 INSERT INTO cursors VALUES ('cid', 102);",
            )
            .unwrap();
        }
        let logs = LogStore::open(&path).unwrap();
        let a = logs.read(&LogQuery { service_uid: "ua".into(), ..Default::default() }).unwrap();
        assert_eq!(a.iter().map(|r| (r.body.as_str(), r.run, r.ts_ns)).collect::<Vec<_>>(), [("a0", 0, 100), ("a1", 1, 102)]);
        let b = logs.read(&LogQuery { service_uid: "ub".into(), ..Default::default() }).unwrap();
        assert_eq!(b, vec![LogRecord { ts_ns: 101, service: "DB.S.B".into(), service_uid: "ub".into(), instance: 1, container: "side".into(), run: 3, stream: 1, body: "b3".into() }]);
        assert_eq!(logs.cursor("cid").unwrap(), Some(102));
        assert_eq!(logs.last_run("ua", 0, "main").unwrap(), Some(1));
        // New lines follow the migrated ones; opening again changes nothing.
        logs.append(&[rec(200, 1, "new")], None).unwrap();
        drop(logs);
        let logs = LogStore::open(&path).unwrap();
        assert_eq!(logs.scan(0, i64::MAX).unwrap().iter().map(|r| r.body.as_str()).collect::<Vec<_>>(), ["a0", "b3", "a1", "new"]);
    }
}
