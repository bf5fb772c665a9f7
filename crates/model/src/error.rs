//! The one user-facing error type: Snowflake's 6-digit code, SQLSTATE and exact message text.
//!
//! Every front door (connector protocol, SQL API, CLI) renders `SfError` in its own wire format in
//! one place; nothing below the front doors formats errors for a wire.

use std::fmt;

/// A closed set of error kinds, used by front doors that need an HTTP status or a retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The statement or request is wrong (syntax, types, bad values).
    InvalidArgument,
    /// A named object does not exist (or the caller may not see it).
    NotFound,
    /// A named object already exists.
    AlreadyExists,
    /// Credentials are missing, wrong or expired.
    Unauthenticated,
    /// The caller's role lacks a privilege.
    PermissionDenied,
    /// The statement was cancelled or timed out.
    Cancelled,
    /// A limit (memory, size) was exceeded.
    ResourceExhausted,
    /// A fault inside floe; the only kind a client may retry.
    Internal,
}

/// A Snowflake-style error: `code (sql_state): message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfError {
    /// Snowflake's error number, zero-padded to 6 digits (e.g. "002003").
    pub code: String,
    /// The ANSI SQLSTATE (e.g. "42S02").
    pub sql_state: String,
    /// The message, exactly as Snowflake words it.
    pub message: String,
    /// How front doors should treat the error.
    pub kind: ErrorKind,
}

/// Result alias used across floe's library crates.
pub type Result<T, E = SfError> = std::result::Result<T, E>;

impl fmt::Display for SfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.sql_state, self.message)
    }
}

impl std::error::Error for SfError {}

impl SfError {
    /// Builds an error from its parts.
    pub fn new(code: &str, sql_state: &str, kind: ErrorKind, message: impl Into<String>) -> Self {
        SfError { code: format!("{:0>6}", code), sql_state: sql_state.to_string(), message: message.into(), kind }
    }

    /// 002003: `SQL compilation error: Object 'X' does not exist or not authorized.`
    pub fn object_not_found(name: &str) -> Self {
        Self::new(
            "002003",
            "42S02",
            ErrorKind::NotFound,
            format!("SQL compilation error: Object '{name}' does not exist or not authorized."),
        )
    }

    /// 002003 for a schema or database: `Schema 'X' does not exist or not authorized.`
    pub fn kind_not_found(kind: &str, name: &str) -> Self {
        Self::new(
            "002003",
            "02000",
            ErrorKind::NotFound,
            format!("SQL compilation error: {kind} '{name}' does not exist or not authorized."),
        )
    }

    /// 002002: `SQL compilation error: Object 'X' already exists.`
    pub fn already_exists(name: &str) -> Self {
        Self::new(
            "002002",
            "42710",
            ErrorKind::AlreadyExists,
            format!("SQL compilation error: Object '{name}' already exists."),
        )
    }

    /// 001003: a syntax error at a 1-based line and 0-based position, naming the unexpected text.
    pub fn syntax(line: u64, position: u64, unexpected: &str) -> Self {
        Self::new(
            "001003",
            "42000",
            ErrorKind::InvalidArgument,
            format!("SQL compilation error: syntax error line {line} at position {position} unexpected '{unexpected}'."),
        )
    }

    /// 000904: `invalid identifier 'X'`.
    pub fn invalid_identifier(name: &str) -> Self {
        Self::new(
            "000904",
            "42000",
            ErrorKind::InvalidArgument,
            format!("SQL compilation error: error line 0 at position -1 invalid identifier '{name}'"),
        )
    }

    /// 002043: `Object does not exist, or operation cannot be performed.` (e.g. USE WAREHOUSE on a missing
    /// warehouse).
    pub fn object_does_not_exist_or_cannot_be_performed() -> Self {
        Self::new(
            "002043",
            "02000",
            ErrorKind::NotFound,
            "SQL compilation error: Object does not exist, or operation cannot be performed.",
        )
    }

    /// 001008 (code inferred): `invalid value [<value as written>] for parameter '<NAME>'`, the wording
    /// Snowflake uses for a property or parameter value it refuses.
    pub fn invalid_value(parameter: &str, written: &str) -> Self {
        Self::new(
            "001008",
            "22023",
            ErrorKind::InvalidArgument,
            format!("SQL compilation error: invalid value [{written}] for parameter '{parameter}'"),
        )
    }

    /// 090064 / 090063 (codes inferred): a warehouse or pool in the wrong state for the request, e.g.
    /// `Invalid state. Warehouse 'X' cannot be suspended.`
    pub fn invalid_state(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, "22000", ErrorKind::InvalidArgument, format!("Invalid state. {}", message.into()))
    }

    /// 000606: the session has no current warehouse for a statement that needs one.
    pub fn no_active_warehouse() -> Self {
        Self::new(
            "000606",
            "57P03",
            ErrorKind::InvalidArgument,
            "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.",
        )
    }

    /// 002043 and friends: a general compilation error with Snowflake's prefix.
    pub fn compilation(message: impl Into<String>) -> Self {
        Self::new("002043", "42601", ErrorKind::InvalidArgument, format!("SQL compilation error: {}", message.into()))
    }

    /// 090105/090106: the session has no current database or schema.
    pub fn no_current(object: &str, statement: &str) -> Self {
        let (code, call) = if object == "database" { ("090105", "USE DATABASE") } else { ("090106", "USE SCHEMA") };
        Self::new(
            code,
            "22000",
            ErrorKind::InvalidArgument,
            format!("Cannot perform {statement}. This session does not have a current {object}. Call '{call}', or use a qualified name."),
        )
    }

    /// 000002: unsupported feature, named.
    pub fn unsupported(what: impl Into<String>) -> Self {
        Self::new("000002", "0A000", ErrorKind::InvalidArgument, format!("Unsupported feature '{}'.", what.into()))
    }

    /// 000604: the statement was cancelled by the user.
    pub fn cancelled() -> Self {
        Self::new("000604", "57014", ErrorKind::Cancelled, "SQL execution canceled")
    }

    /// 000630: the statement ran past STATEMENT_TIMEOUT_IN_SECONDS.
    pub fn statement_timeout(seconds: u64) -> Self {
        Self::new(
            "000630",
            "57014",
            ErrorKind::Cancelled,
            format!("Statement reached its statement or warehouse timeout of {seconds} second(s) and was canceled."),
        )
    }

    /// 000625: a lock could not be obtained within LOCK_TIMEOUT.
    pub fn lock_timeout(object: &str) -> Self {
        Self::new(
            "000625",
            "57014",
            ErrorKind::Cancelled,
            format!("Statement reached its statement or warehouse timeout while waiting for a lock on '{object}'."),
        )
    }

    /// 100096 (inferred): the statement exceeded its memory limit.
    pub fn memory_exceeded(detail: &str) -> Self {
        Self::new(
            "100096",
            "53200",
            ErrorKind::ResourceExhausted,
            format!("Statement exceeded its memory limit and was canceled: {detail}"),
        )
    }

    /// 003001: insufficient privileges.
    pub fn insufficient_privileges(what: &str) -> Self {
        Self::new(
            "003001",
            "42501",
            ErrorKind::PermissionDenied,
            format!("SQL access control error: Insufficient privileges to operate on {what}."),
        )
    }

    /// 390100: bad user name or password.
    pub fn bad_credentials() -> Self {
        Self::new("390100", "08004", ErrorKind::Unauthenticated, "Incorrect username or password was specified.")
    }

    /// 390104/390112: the session token is unknown or expired.
    pub fn session_gone() -> Self {
        Self::new("390112", "08001", ErrorKind::Unauthenticated, "Your session has expired. Please login again.")
    }

    /// 100038: a value that should be numeric is not.
    pub fn numeric_not_recognized(value: &str) -> Self {
        Self::new("100038", "22018", ErrorKind::InvalidArgument, format!("Numeric value '{value}' is not recognized"))
    }

    /// An internal fault, with the detail for logs and the user.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new("000603", "XX000", ErrorKind::Internal, format!("SQL execution internal error: {}", detail.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_the_connector() {
        let err = SfError::object_not_found("FOO");
        assert_eq!(err.to_string(), "002003 (42S02): SQL compilation error: Object 'FOO' does not exist or not authorized.");
        assert_eq!(SfError::new("2003", "42S02", ErrorKind::NotFound, "x").code, "002003");
    }
}
