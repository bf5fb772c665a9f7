//! `floe logs` and `floe status`: watching services and jobs from the command line, through the same
//! connector protocol as every client. `logs` reads SYSTEM$GET_SERVICE_LOGS (with `-f`, again and
//! again from the last timestamp it printed, until a job ends or Ctrl-C); `status` prints SHOW SERVICES
//! or SHOW SERVICE CONTAINERS IN SERVICE.

use std::time::Duration;

use crate::format::{OutputFormat, render};
use crate::wire::{QueryResult, Session};
use crate::{ConnArgs, report};

/// Flags of `floe logs`.
#[derive(clap::Args, Debug, Clone)]
pub struct LogsArgs {
    /// Service or job (`[db.schema.]name`).
    pub service: String,
    /// Instance id.
    #[arg(long, default_value_t = 0)]
    pub instance: u32,
    /// Container name (default: the instance's first container).
    #[arg(long)]
    pub container: Option<String>,
    /// Keep printing new lines until the job ends (or Ctrl-C).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Print only the last N lines first.
    #[arg(short = 'n', long)]
    pub lines: Option<u64>,
    /// Prefix each line with its timestamp.
    #[arg(long)]
    pub timestamps: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Flags of `floe status`.
#[derive(clap::Args, Debug, Clone)]
pub struct StatusArgs {
    /// A service or job; without it, every service of the current database (or account).
    pub service: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn column<'a>(result: &'a QueryResult, row: &'a [Option<String>], name: &str) -> Option<&'a str> {
    let i = result.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))?;
    row.get(i)?.as_deref()
}

fn query(session: &mut Session, sql: &str) -> Result<QueryResult, i32> {
    session.query(sql).map_err(|e| {
        report(&e);
        1
    })
}

/// Runs `floe logs`; returns the exit code.
pub fn run_logs(args: LogsArgs) -> i32 {
    let mut session = match args.conn.login() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let code = logs(&mut session, &args).err().unwrap_or(0);
    session.close();
    code
}

fn logs(session: &mut Session, args: &LogsArgs) -> Result<(), i32> {
    let containers = query(session, &format!("SHOW SERVICE CONTAINERS IN SERVICE {}", args.service))?;
    let container = match &args.container {
        Some(c) => c.clone(),
        None => containers
            .rows
            .iter()
            .find(|r| column(&containers, r, "instance_id") == Some(&args.instance.to_string()))
            .and_then(|r| column(&containers, r, "container_name"))
            .map(str::to_string)
            .ok_or_else(|| {
                eprintln!("error: service {} has no instance {} (yet)", args.service, args.instance);
                1
            })?,
    };
    let mut last_ts: Option<String> = None;
    let mut lines = args.lines;
    loop {
        print_new(session, args, &container, lines.take(), &mut last_ts)?;
        if !args.follow {
            return Ok(());
        }
        let desc = query(session, &format!("DESCRIBE SERVICE {}", args.service))?;
        let status = desc.rows.first().and_then(|r| column(&desc, r, "status")).unwrap_or("").to_string();
        if matches!(status.as_str(), "DONE" | "FAILED" | "CANCELLED" | "INTERNAL_ERROR") {
            // One more read picks up the last lines written before the end.
            print_new(session, args, &container, None, &mut last_ts)?;
            eprintln!("{} ended with status {status}", args.service);
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Prints the lines stamped after `last_ts` (all, or the last `lines`), moving `last_ts` on.
fn print_new(session: &mut Session, args: &LogsArgs, container: &str, lines: Option<u64>, last_ts: &mut Option<String>) -> Result<(), i32> {
    let since = last_ts.as_deref().map(quote).unwrap_or_else(|| "''".into());
    let lines = lines.map(|n| n.to_string()).unwrap_or_else(|| "NULL".into());
    let sql = format!("SELECT SYSTEM$GET_SERVICE_LOGS({}, {}, {}, {lines}, FALSE, {since}, TRUE)", quote(&args.service), args.instance, quote(container));
    let result = query(session, &sql)?;
    let text = result.rows.first().and_then(|r| r.first().cloned().flatten()).unwrap_or_default();
    for line in text.lines() {
        let (ts, body) = line.split_once(' ').unwrap_or(("", line));
        if last_ts.as_deref().is_some_and(|last| ts <= last) {
            continue;
        }
        println!("{}", if args.timestamps { line } else { body });
        *last_ts = Some(ts.to_string());
    }
    Ok(())
}

/// Runs `floe status`; returns the exit code.
pub fn run_status(args: StatusArgs) -> i32 {
    let mut session = match args.conn.login() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let sql = match &args.service {
        Some(s) => format!("SHOW SERVICE CONTAINERS IN SERVICE {s}"),
        None => "SHOW SERVICES".to_string(),
    };
    let code = match query(&mut session, &sql) {
        Ok(result) => {
            print!("{}", render(&result, args.format));
            0
        }
        Err(code) => code,
    };
    session.close();
    code
}
