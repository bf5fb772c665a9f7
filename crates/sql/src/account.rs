//! Account parameters set with `ALTER ACCOUNT SET|UNSET`: the object parameters of telemetry that SPCS
//! reads (EVENT_TABLE, LOG_EVENT_LEVEL, LOG_LEVEL, TRACE_LEVEL, METRIC_LEVEL). Stored as generic objects
//! (kind `ACCOUNT_PARAMETER`, scope "", name = parameter); shown by `SHOW PARAMETERS … IN ACCOUNT`. Only
//! ACCOUNTADMIN changes them. Session parameters (session.rs) are not account parameters here.

use model::SfError;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::objects::{commit, get, message, put};
use crate::parse::ParamValue;
use crate::result::QueryResult;
use crate::session::Session;

/// Object kind of account parameters.
pub const ACCOUNT_PARAMETER: &str = "ACCOUNT_PARAMETER";

/// An account-level object parameter.
pub struct ObjectParam {
    /// Upper-case name.
    pub name: &'static str,
    /// Default value.
    pub default: &'static str,
    /// Accepted values (upper case); empty: see `check`.
    pub values: &'static [&'static str],
    /// Description.
    pub description: &'static str,
}

const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"];

/// The account parameters floe keeps.
pub const OBJECT_PARAMS: &[ObjectParam] = &[
    ObjectParam { name: "EVENT_TABLE", default: crate::spcs::telemetry::EVENT_TABLE, values: &[], description: "Event table for logs, events and traces." },
    ObjectParam { name: "LOG_EVENT_LEVEL", default: "OFF", values: LEVELS, description: "Severity of platform events recorded in the event table." },
    ObjectParam { name: "LOG_LEVEL", default: "OFF", values: LEVELS, description: "Severity of log messages recorded in the event table." },
    ObjectParam { name: "METRIC_LEVEL", default: "NONE", values: &["ALL", "NONE"], description: "Whether metrics are recorded in the event table." },
    ObjectParam { name: "TRACE_LEVEL", default: "OFF", values: &["ALWAYS", "ON_EVENT", "PROPAGATE", "OFF"], description: "Whether trace events are recorded in the event table." },
];

#[derive(Serialize, Deserialize)]
struct Stored {
    value: String,
}

/// An account parameter's effective value.
pub fn parameter(catalog: &store::Catalog, name: &str) -> String {
    get::<Stored>(catalog, ACCOUNT_PARAMETER, "", name)
        .map(|s| s.value)
        .or_else(|| OBJECT_PARAMS.iter().find(|p| p.name == name).map(|p| p.default.to_string()))
        .unwrap_or_default()
}

/// Whether an account parameter was set (SHOW PARAMETERS' level column).
pub fn is_set(catalog: &store::Catalog, name: &str) -> bool {
    catalog.object(ACCOUNT_PARAMETER, "", name).is_some()
}

/// Checks a value of a level parameter (`LOG_EVENT_LEVEL = INFO`), returning it in upper case.
pub fn check(name: &str, value: &str) -> Result<String, SfError> {
    let invalid = || SfError::new("001006", "22023", model::ErrorKind::InvalidArgument, format!("invalid value [{value}] for parameter '{name}'"));
    let def = OBJECT_PARAMS.iter().find(|p| p.name == name).ok_or_else(|| SfError::new("001006", "22023", model::ErrorKind::InvalidArgument, format!("invalid parameter '{name}'")))?;
    let upper = value.trim().to_ascii_uppercase();
    if def.name == "EVENT_TABLE" {
        // floe keeps one event table, the account's default.
        return if upper == crate::spcs::telemetry::EVENT_TABLE { Ok(upper) } else { Err(invalid()) };
    }
    if def.values.contains(&upper.as_str()) { Ok(upper) } else { Err(invalid()) }
}

/// `ALTER ACCOUNT SET k = v, …` / `ALTER ACCOUNT UNSET k, …`.
pub async fn alter(engine: &Engine, session: &Session, set: Vec<(String, ParamValue)>, unset: Vec<String>) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    if !crate::access::Access::of(engine, session, &catalog).admin {
        return Err(SfError::insufficient_privileges(&format!("account '{}'", engine.config().account.to_uppercase())));
    }
    let mut ops = Vec::new();
    for (key, value) in set {
        let value = check(&key, &value.display())?;
        ops.push(put(ACCOUNT_PARAMETER, "", &key, &Stored { value }));
    }
    for key in unset {
        check(&key, OBJECT_PARAMS.iter().find(|p| p.name == key).map(|p| p.default).unwrap_or("?"))?;
        if catalog.object(ACCOUNT_PARAMETER, "", &key).is_some() {
            ops.push(store::Op::DeleteObject { kind: ACCOUNT_PARAMETER.into(), scope: String::new(), name: key });
        }
    }
    if !ops.is_empty() {
        commit(engine, ops).await?;
    }
    Ok(message("Statement executed successfully."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_checked_and_upper_cased() {
        assert_eq!(check("LOG_EVENT_LEVEL", "info").unwrap(), "INFO");
        assert_eq!(check("LOG_EVENT_LEVEL", "loud").unwrap_err().message, "invalid value [loud] for parameter 'LOG_EVENT_LEVEL'");
        assert!(check("EVENT_TABLE", "snowflake.telemetry.events").is_ok());
        assert!(check("EVENT_TABLE", "mydb.s.events").is_err());
        assert_eq!(check("NOPE", "1").unwrap_err().message, "invalid parameter 'NOPE'");
    }
}
