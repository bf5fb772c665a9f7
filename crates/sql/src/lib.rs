//! floe's SQL surface: Snowflake's dialect on DataFusion, over the store's snapshots.
//!
//! Pipeline: `parse` (tokenise, Snowflake case rules, floe grammar or sqlparser) → `rewrite` (Snowflake
//! meanings DataFusion lacks, table resolution) → DataFusion planning/execution for queries, `dml` for
//! INSERT/UPDATE/DELETE/MERGE, `ddl`/`show` for the rest → `QueryResult` (Arrow batches).
//!
//! Architecture invariants: no HTTP, no wire encoding, no SQLite; storage is reached only through
//! `store::Store` (snapshots, segments, commits); every user-visible error is a `model::SfError`.

pub mod access;
pub mod account;
pub mod auth;
pub mod bind;
mod ddl;
mod dml;
pub mod engine;
pub mod errors;
pub mod extfn;
mod locks;
pub mod objects;
pub mod temp;
pub mod parse;
pub mod plan_cache;
pub mod provider;
pub mod result;
pub mod results;
pub mod rewrite;
pub mod session;
pub mod show;
pub mod spcs;
pub mod txn;
pub mod types;

pub use bind::{Binding, Bindings};
pub use engine::{Engine, EngineConfig};
pub use result::QueryResult;
pub use session::Session;
pub use types::SfType;
