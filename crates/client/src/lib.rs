//! `floe sql`: a command-line SQL client for floe.
//!
//! It speaks Snowflake's connector wire protocol over HTTP (see [`wire`]),
//! runs statements given with `-q`, read from a file with `-f`, or typed
//! into an interactive shell ([`repl`]), and prints results as a table, CSV
//! or JSON ([`format`]). Statements are split on `;` by [`split`], which
//! understands quotes, `$$` strings and comments. Everything here is
//! blocking; [`run`] must not be called inside a tokio runtime.

pub mod format;
pub mod progress;
pub mod repl;
pub mod split;
pub mod transfer;
pub mod value;
pub mod watch;
pub mod wire;

use std::io::{Read, Write};
use std::path::PathBuf;

pub use format::OutputFormat;
pub use split::split_statements;
pub use watch::{LogsArgs, StatusArgs};
pub use wire::{ConnectOptions, Error, QueryResult, ServerError, Session};

/// How to reach and log in to a floe server (shared by `floe sql`, `floe logs` and `floe status`).
#[derive(clap::Args, Debug, Clone)]
pub struct ConnArgs {
    /// Server URL.
    #[arg(long, env = "FLOE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// User to log in as.
    #[arg(short = 'u', long, env = "FLOE_USER", default_value = "ADMIN")]
    pub user: String,
    /// Password (required).
    #[arg(short = 'p', long, env = "FLOE_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Account name.
    #[arg(long, env = "FLOE_ACCOUNT", default_value = "floe")]
    pub account: String,
    /// Initial database.
    #[arg(short = 'd', long)]
    pub database: Option<String>,
    /// Initial schema.
    #[arg(short = 's', long)]
    pub schema: Option<String>,
    /// Initial role.
    #[arg(short = 'r', long)]
    pub role: Option<String>,
    /// Initial warehouse.
    #[arg(short = 'w', long)]
    pub warehouse: Option<String>,
}

impl ConnArgs {
    /// Connection options from the flags (password must be present).
    pub fn connect_options(&self, password: &str) -> ConnectOptions {
        ConnectOptions {
            url: self.url.clone(),
            user: self.user.clone(),
            password: password.to_string(),
            account: self.account.clone(),
            database: self.database.clone(),
            schema: self.schema.clone(),
            role: self.role.clone(),
            warehouse: self.warehouse.clone(),
        }
    }

    /// Logs in, or explains on stderr why not and returns the exit code.
    pub fn login(&self) -> Result<Session, i32> {
        let Some(password) = self.password.clone().filter(|p| !p.is_empty()) else {
            eprintln!("error: a password is required: pass -p/--password or set FLOE_PASSWORD");
            return Err(2);
        };
        Session::login(&self.connect_options(&password)).map_err(|e| {
            report(&e);
            match e {
                Error::Server(_) => 1,
                _ => 2,
            }
        })
    }
}

/// Flags of `floe sql`.
#[derive(clap::Args, Debug, Clone)]
pub struct SqlArgs {
    /// SQL to run: one statement, or several separated by `;`.
    #[arg(short = 'q', long, value_name = "SQL", conflicts_with = "file")]
    pub query: Option<String>,
    /// File of SQL statements to run (`-` for stdin).
    #[arg(short = 'f', long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Connection.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs one statement and prints its result to stdout.
pub fn execute(session: &mut Session, sql: &str, format: OutputFormat) -> Result<QueryResult, Error> {
    // A synchronous job holds the statement until it ends: show its containers' progress meanwhile.
    let watcher = progress::JobWatcher::start(session, sql);
    let result = session.query(sql);
    if let Some(watcher) = watcher {
        watcher.finish();
    }
    let result = result?;
    let text = format::render(&result, format);
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. piped into `head`) is not a statement failure.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(result)
}

/// Prints an error to stderr: server errors as `<code> (<sqlState>): <message>`.
pub fn report(e: &Error) {
    match e {
        Error::Server(s) => eprintln!("{s}"),
        other => eprintln!("error: {other}"),
    }
}

/// Exit code for a failed statement: 2 when the connection failed, else 1.
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Connection(_) => 2,
        _ => 1,
    }
}

fn read_input(path: &PathBuf) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path)
    }
}

/// Runs `floe sql`; returns the process exit code (0 ok, 1 statement or login
/// failure, 2 connection failure or bad invocation). Blocking.
pub fn run(args: SqlArgs) -> anyhow::Result<i32> {
    let Some(password) = args.conn.password.clone().filter(|p| !p.is_empty()) else {
        eprintln!("error: a password is required: pass -p/--password or set FLOE_PASSWORD");
        return Ok(2);
    };
    let statements = if let Some(q) = &args.query {
        Some(split_statements(q))
    } else if let Some(path) = &args.file {
        match read_input(path) {
            Ok(text) => Some(split_statements(&text)),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return Ok(2);
            }
        }
    } else {
        None
    };

    let mut session = match Session::login(&args.conn.connect_options(&password)) {
        Ok(s) => s,
        Err(e) => {
            report(&e);
            return Ok(match e {
                Error::Server(_) => 1,
                _ => 2,
            });
        }
    };

    let code = match statements {
        Some(statements) => {
            let mut code = 0;
            for sql in &statements {
                if let Err(e) = execute(&mut session, sql, args.format) {
                    report(&e);
                    code = exit_code(&e);
                    break;
                }
            }
            code
        }
        None => repl::run_repl(&mut session, args.format),
    };
    session.close();
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        sql: SqlArgs,
    }

    #[test]
    fn parses_flags() {
        let cli = Cli::try_parse_from([
            "floe", "-q", "select 1", "--url", "http://h:1", "-u", "bob", "-p", "pw", "--account", "acct", "-d", "DB",
            "-s", "SC", "-r", "R", "-w", "W", "--format", "csv",
        ])
        .unwrap();
        let a = cli.sql;
        assert_eq!(a.query.as_deref(), Some("select 1"));
        assert_eq!(a.conn.url, "http://h:1");
        assert_eq!(a.conn.user, "bob");
        assert_eq!(a.conn.password.as_deref(), Some("pw"));
        assert_eq!(a.conn.account, "acct");
        assert_eq!(a.conn.database.as_deref(), Some("DB"));
        assert_eq!(a.conn.schema.as_deref(), Some("SC"));
        assert_eq!(a.conn.role.as_deref(), Some("R"));
        assert_eq!(a.conn.warehouse.as_deref(), Some("W"));
        assert_eq!(a.format, OutputFormat::Csv);
        assert!(Cli::try_parse_from(["floe", "-q", "x", "-f", "y"]).is_err());
        assert!(Cli::try_parse_from(["floe", "--format", "xml"]).is_err());
    }

    #[test]
    fn missing_password_is_an_error() {
        let cli = Cli::try_parse_from(["floe", "-q", "select 1", "-p", ""]).unwrap();
        assert_eq!(run(cli.sql).unwrap(), 2);
    }

    #[test]
    fn connection_failure_exits_2() {
        let cli = Cli::try_parse_from(["floe", "-q", "select 1", "-p", "x", "--url", "http://127.0.0.1:1"]).unwrap();
        assert_eq!(run(cli.sql).unwrap(), 2);
    }
}
