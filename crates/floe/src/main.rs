//! The `floe` binary: `floe server` runs the Snowflake-compatible server; `floe sql` is its client.
//!
//! This is the only crate that knows command-line flags, environment settings, signals and which
//! concrete implementations are wired together.

mod image_registry;
mod ingress_authority;
mod server;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "floe", version, about = "Self-hosted Snowpark Container Services, speaking Snowflake's protocol")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server.
    Server(server::ServerArgs),
    /// Runs SQL against a floe server (one statement, a file, or an interactive session).
    Sql(client::SqlArgs),
    /// Prints a service's or job's container output (`-f` to follow).
    Logs(client::LogsArgs),
    /// Shows services, or one service's containers.
    Status(client::StatusArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Server(args) => server::run(args),
        Command::Logs(args) => client::watch::run_logs(args),
        Command::Status(args) => client::watch::run_status(args),
        Command::Sql(args) => match client::run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("floe sql: {e:#}");
                2
            }
        },
    };
    std::process::exit(code);
}
