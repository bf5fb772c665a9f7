//! floe's domain vocabulary shared by every crate: Snowflake-style errors and identifiers.
//!
//! Architecture invariant: no I/O, no async, no clock, no dependency on DataFusion, HTTP or SQLite.

pub mod error;
pub mod ident;

pub use error::{ErrorKind, Result, SfError};
pub use ident::{ObjectName, display_ident};
