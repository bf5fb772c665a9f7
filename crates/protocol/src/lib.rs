//! The Snowflake connector protocol front door (the v1 "GS" REST protocol that snowflake-connector-python,
//! the `snow` CLI and `floe sql` speak): login, query, result polling, abort, session close.
//!
//! Architecture invariants: this crate knows HTTP and the connector's JSON shapes and nothing about
//! storage; statements run through `sql::Engine`; `SfError` is turned into the wire's error body in
//! exactly one function (`wire::error_body`). HTTP 5xx only for real faults (clients retry them).

mod arrow_rowset;
mod encode;
mod queries;
mod routes;
mod sessions;
mod sqlapi;
mod transfer;
mod wire;

pub use queries::QueryRegistry;
pub use routes::{AppState, ProtocolConfig, ViaTls, router, spawn_session_sweeper};
pub use sessions::{SessionRegistry, TokenLifetimes};
