//! temporary e2e driver (to be deleted)
use clap::Parser;
#[derive(Parser)]
struct Cli { #[command(flatten)] sql: floe_client::SqlArgs }
fn main() { let c = Cli::parse(); std::process::exit(floe_client::run(c.sql).unwrap()); }
