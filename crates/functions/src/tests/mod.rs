//! End-to-end tests: SQL through a `SessionContext` with every function registered.

mod harness;
mod scratch;
