//! Maps DataFusion, Arrow and store errors to Snowflake's codes and texts, in one place.

use datafusion::error::DataFusionError;
use model::{ErrorKind, SfError};

/// Converts a DataFusion error into Snowflake's form.
pub fn from_datafusion(err: DataFusionError) -> SfError {
    let err = match err {
        DataFusionError::Context(_, inner) => return from_datafusion(*inner),
        DataFusionError::Shared(inner) => {
            return from_datafusion(DataFusionError::External(Box::new(SharedText(inner.to_string()))));
        }
        other => other,
    };
    if let DataFusionError::External(inner) = &err {
        if let Some(f) = inner.downcast_ref::<functions::SfFunctionError>() {
            return SfError::new(f.code, f.sql_state, ErrorKind::InvalidArgument, f.message.clone());
        }
        if let Some(sf) = inner.downcast_ref::<SfError>() {
            return sf.clone();
        }
        if let Some(s) = inner.downcast_ref::<store::Error>() {
            return SfError::internal(s.to_string());
        }
    }
    if let DataFusionError::ArrowError(arrow, _) = &err {
        return from_arrow_text(&arrow.to_string());
    }
    if let DataFusionError::ResourcesExhausted(detail) = &err {
        return SfError::memory_exceeded(detail);
    }
    let text = err.to_string();
    if let Some(name) = text.split("No field named ").nth(1) {
        let name = name.split(['.', ' ']).next().unwrap_or(name).trim_matches('"').to_string();
        return SfError::invalid_identifier(&name);
    }
    if text.contains("Resources exhausted") {
        return SfError::memory_exceeded(&text);
    }
    if text.contains("Cast error") || text.contains("Cannot cast") || text.contains("Arrow error") {
        return from_arrow_text(&text);
    }
    if text.contains("Divide by zero") || text.contains("divide by zero") {
        return SfError::new("100051", "22012", ErrorKind::InvalidArgument, "Division by zero");
    }
    if let Some(rest) = text.split("Invalid function '").nth(1) {
        let name = rest.split('\'').next().unwrap_or(rest).to_uppercase();
        return SfError::new("002140", "42601", ErrorKind::InvalidArgument, format!("SQL compilation error: Unknown function {name}"));
    }
    match err {
        DataFusionError::Plan(msg) | DataFusionError::SQL(_, Some(msg)) => SfError::compilation(msg),
        DataFusionError::NotImplemented(msg) => SfError::unsupported(msg),
        DataFusionError::Execution(msg) => SfError::new("100000", "22000", ErrorKind::InvalidArgument, msg),
        other => SfError::internal(other.to_string()),
    }
}

#[derive(Debug)]
struct SharedText(String);
impl std::fmt::Display for SharedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SharedText {}

fn from_arrow_text(text: &str) -> SfError {
    // "Cannot cast string 'abc' to value of Int64 type"
    if let Some(rest) = text.split("Cannot cast string '").nth(1) {
        let value = rest.split('\'').next().unwrap_or(rest);
        let target = rest.split("to value of ").nth(1).unwrap_or("");
        if target.starts_with("Date") {
            return SfError::new("100040", "22007", ErrorKind::InvalidArgument, format!("Date '{value}' is not recognized"));
        }
        if target.starts_with("Timestamp") {
            return SfError::new("100035", "22007", ErrorKind::InvalidArgument, format!("Timestamp '{value}' is not recognized"));
        }
        if target.starts_with("Boolean") {
            return SfError::new("100037", "22018", ErrorKind::InvalidArgument, format!("Boolean value '{value}' is not recognized"));
        }
        return SfError::numeric_not_recognized(value);
    }
    if text.contains("Divide by zero") {
        return SfError::new("100051", "22012", ErrorKind::InvalidArgument, "Division by zero");
    }
    if text.contains("overflow") || text.contains("Overflow") || text.contains("too large to store") {
        return SfError::new("100046", "22003", ErrorKind::InvalidArgument, format!("Number out of representable range: {text}"));
    }
    SfError::new("100000", "22000", ErrorKind::InvalidArgument, text.to_string())
}

/// Converts a store error.
pub fn from_store(err: store::Error) -> SfError {
    match err {
        store::Error::Conflict(msg) => SfError::new("000606", "57P03", ErrorKind::InvalidArgument, format!("Statement conflicted with a concurrent change: {msg}")),
        other => SfError::internal(other.to_string()),
    }
}
