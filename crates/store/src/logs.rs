//! The durable log store: every line a container writes, and (later) platform events, in `logs.db`
//! beside the catalog. It is the store behind SYSTEM$GET_SERVICE_LOGS and the event table.
//!
//! A second SQLite file, not the catalog, because its write rate is of another order (100 000 lines/s
//! from one chatty container) and it must never hold up a catalog commit. WAL with synchronous=NORMAL:
//! a line acknowledged by `append` survives a crash of floe; an OS crash may lose the last moments of
//! output, which the capture cursor then re-reads from Docker if it still has it.
//!
//! Capture cursors (the last timestamp read per runtime container id) are written in the same
//! transaction as the lines they cover, so a restarted floe resumes exactly where it stopped: no line
//! is stored twice and none is skipped.

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

/// The log store. Cheap to share behind an `Arc`.
pub struct LogStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

impl LogStore {
    /// Opens (creating) the log store at `path`.
    pub fn open(path: &Path) -> Result<LogStore> {
        let writer = open(path)?;
        writer.execute_batch(
            "CREATE TABLE IF NOT EXISTS logs(
                 id INTEGER PRIMARY KEY,
                 ts_ns INTEGER NOT NULL,
                 service TEXT NOT NULL,
                 service_uid TEXT NOT NULL,
                 instance INTEGER NOT NULL,
                 container TEXT NOT NULL,
                 run INTEGER NOT NULL,
                 stream INTEGER NOT NULL,
                 body TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS logs_by_container ON logs(service_uid, instance, container, run, id);
             CREATE INDEX IF NOT EXISTS logs_by_time ON logs(ts_ns);
             CREATE TABLE IF NOT EXISTS cursors(container_id TEXT PRIMARY KEY, ts_ns INTEGER NOT NULL);",
        )?;
        let reader = open(path)?;
        Ok(LogStore { writer: Mutex::new(writer), reader: Mutex::new(reader) })
    }

    /// Appends records and, in the same transaction, moves the capture cursor of `cursor.0` to `cursor.1`.
    pub fn append(&self, records: &[LogRecord], cursor: Option<(&str, i64)>) -> Result<()> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO logs(ts_ns, service, service_uid, instance, container, run, stream, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in records {
                insert.execute(params![r.ts_ns, r.service, r.service_uid, r.instance, r.container, r.run, r.stream, r.body])?;
            }
            if let Some((id, ts)) = cursor {
                tx.prepare_cached("INSERT INTO cursors(container_id, ts_ns) VALUES (?1, ?2)
                                   ON CONFLICT(container_id) DO UPDATE SET ts_ns = max(ts_ns, excluded.ts_ns)")?
                    .execute(params![id, ts])?;
            }
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
        self.writer.lock().execute("DELETE FROM cursors WHERE container_id = ?1", params![container_id])?;
        Ok(())
    }

    /// Records matching `q`, oldest first.
    pub fn read(&self, q: &LogQuery) -> Result<Vec<LogRecord>> {
        let mut sql = String::from(
            "SELECT ts_ns, service, service_uid, instance, container, run, stream, body FROM logs WHERE service_uid = ?1",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![q.service_uid.clone().into()];
        let mut push = |cond: &str, v: rusqlite::types::Value, sql: &mut String| {
            args.push(v);
            sql.push_str(&format!(" AND {cond} ?{}", args.len()));
        };
        if let Some(i) = q.instance {
            push("instance =", (i as i64).into(), &mut sql);
        }
        if let Some(c) = &q.container {
            push("container =", c.clone().into(), &mut sql);
        }
        if let Some(r) = q.run {
            push("run =", (r as i64).into(), &mut sql);
        }
        if let Some(t) = q.since_ns {
            push("ts_ns >=", t.into(), &mut sql);
        }
        if let Some(t) = q.until_ns {
            push("ts_ns <", t.into(), &mut sql);
        }
        if !q.events {
            sql.push_str(" AND stream < 2");
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(n) = q.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |row| {
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
        })?;
        let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        out.reverse();
        Ok(out)
    }

    /// The highest run stored for a container of a service instance.
    pub fn last_run(&self, service_uid: &str, instance: u32, container: &str) -> Result<Option<u32>> {
        let conn = self.reader.lock();
        let v: Option<i64> = conn.query_row(
            "SELECT max(run) FROM logs WHERE service_uid = ?1 AND instance = ?2 AND container = ?3 AND stream < 2",
            params![service_uid, instance, container],
            |r| r.get(0),
        )?;
        Ok(v.map(|v| v as u32))
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
}
