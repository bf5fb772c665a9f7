//! User-facing Snowflake errors raised by functions.
//!
//! Functions report errors a user can cause (bad numbers, bad dates, bad JSON,
//! division by zero, …) as [`SfFunctionError`] wrapped in
//! `DataFusionError::External`, so the SQL layer can downcast them and report
//! Snowflake's error code and SQL state to the client.

use datafusion::error::DataFusionError;
use std::fmt;

/// A user-facing Snowflake error raised by a function; the SQL layer downcasts
/// `DataFusionError::External` to this.
#[derive(Debug)]
pub struct SfFunctionError {
    /// Snowflake error code, e.g. `"100038"`.
    pub code: &'static str,
    /// SQLSTATE, e.g. `"22018"`.
    pub sql_state: &'static str,
    /// Human readable message.
    pub message: String,
}

impl fmt::Display for SfFunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SfFunctionError {}

/// Builds `DataFusionError::External(Box::new(SfFunctionError { .. }))`.
pub fn sf_error(
    code: &'static str,
    sql_state: &'static str,
    message: impl Into<String>,
) -> DataFusionError {
    DataFusionError::External(Box::new(SfFunctionError {
        code,
        sql_state,
        message: message.into(),
    }))
}

/// Finds an [`SfFunctionError`] inside a (possibly wrapped) DataFusion error.
pub fn find_sf_error(err: &DataFusionError) -> Option<&SfFunctionError> {
    match err {
        DataFusionError::External(e) => e.downcast_ref::<SfFunctionError>(),
        DataFusionError::Context(_, inner) => find_sf_error(inner),
        DataFusionError::Shared(inner) => find_sf_error(inner),
        DataFusionError::Diagnostic(_, inner) => find_sf_error(inner),
        DataFusionError::ArrowError(e, _) => match e.as_ref() {
            datafusion::arrow::error::ArrowError::ExternalError(inner) => {
                inner.downcast_ref::<SfFunctionError>()
            }
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn numeric_not_recognized(s: &str) -> DataFusionError {
    sf_error("100038", "22018", format!("Numeric value '{s}' is not recognized"))
}

pub(crate) fn numeric_out_of_range(s: &str) -> DataFusionError {
    sf_error("100039", "22003", format!("Numeric value '{s}' is out of range"))
}

pub(crate) fn date_not_recognized(s: &str) -> DataFusionError {
    sf_error("100040", "22007", format!("Date '{s}' is not recognized"))
}

pub(crate) fn timestamp_not_recognized(s: &str) -> DataFusionError {
    sf_error("100035", "22007", format!("Timestamp '{s}' is not recognized"))
}

pub(crate) fn time_not_recognized(s: &str) -> DataFusionError {
    sf_error("100108", "22007", format!("Time '{s}' is not recognized"))
}

pub(crate) fn boolean_not_recognized(s: &str) -> DataFusionError {
    sf_error("100037", "22018", format!("Boolean value '{s}' is not recognized"))
}

pub(crate) fn json_parse_error(detail: impl fmt::Display) -> DataFusionError {
    sf_error("100069", "22P02", format!("Error parsing JSON: {detail}"))
}

pub(crate) fn division_by_zero() -> DataFusionError {
    sf_error("100051", "22012", "Division by zero")
}

pub(crate) fn invalid_argument(message: impl Into<String>) -> DataFusionError {
    sf_error("100096", "22023", message)
}
