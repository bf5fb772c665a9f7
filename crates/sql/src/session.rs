//! A SQL session: who is connected, the current database/schema/role/warehouse, session parameters and
//! the open transaction.

use std::collections::BTreeMap;

use crate::parse::ParamValue;
use crate::txn::Txn;

/// One session parameter Snowflake clients read or set.
pub struct ParamDef {
    /// Upper-case name.
    pub name: &'static str,
    /// Default value as shown by SHOW PARAMETERS.
    pub default: &'static str,
    /// BOOLEAN, NUMBER or STRING.
    pub kind: &'static str,
    /// Description.
    pub description: &'static str,
}

/// The session parameters floe knows, with Snowflake's defaults (TIMEZONE is UTC in floe).
pub const PARAMS: &[ParamDef] = &[
    ParamDef { name: "ABORT_DETACHED_QUERY", default: "false", kind: "BOOLEAN", description: "If true, Snowflake will automatically abort queries when it detects that the client has disappeared." },
    ParamDef { name: "AUTOCOMMIT", default: "true", kind: "BOOLEAN", description: "The autocommit property determines whether is statement should to be implicitly wrapped within a transaction or not." },
    ParamDef { name: "BINARY_OUTPUT_FORMAT", default: "HEX", kind: "STRING", description: "Display format for binary values." },
    ParamDef { name: "CLIENT_SESSION_KEEP_ALIVE", default: "false", kind: "BOOLEAN", description: "If true, the client session will not expire automatically." },
    ParamDef { name: "DATE_OUTPUT_FORMAT", default: "YYYY-MM-DD", kind: "STRING", description: "Display format for DATE." },
    ParamDef { name: "ERROR_ON_NONDETERMINISTIC_MERGE", default: "true", kind: "BOOLEAN", description: "Raise an error when a MERGE would update or delete one target row twice." },
    ParamDef { name: "LOCK_TIMEOUT", default: "43200", kind: "NUMBER", description: "Number of seconds to wait while trying to lock a resource, before timing out and aborting the statement." },
    ParamDef { name: "MULTI_STATEMENT_COUNT", default: "1", kind: "NUMBER", description: "Number of statement included in submitted query text. 0 means any number." },
    ParamDef { name: "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT", default: "ARROW", kind: "STRING", description: "Format used to serialize the query result to send back to python connector." },
    ParamDef { name: "QUERY_TAG", default: "", kind: "STRING", description: "String (up to 4096 characters) used to tag statements executed by the session." },
    ParamDef { name: "STATEMENT_TIMEOUT_IN_SECONDS", default: "172800", kind: "NUMBER", description: "Timeout in seconds for statements: statements are automatically canceled if they run for longer." },
    ParamDef { name: "TIMESTAMP_NTZ_OUTPUT_FORMAT", default: "", kind: "STRING", description: "Display format for TIMESTAMP_NTZ values. If empty, TIMESTAMP_OUTPUT_FORMAT is used." },
    ParamDef { name: "TIMESTAMP_OUTPUT_FORMAT", default: "YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM", kind: "STRING", description: "Display format for TIMESTAMP values." },
    ParamDef { name: "TIMESTAMP_TYPE_MAPPING", default: "TIMESTAMP_NTZ", kind: "STRING", description: "If TIMESTAMP type is used, what specific TIMESTAMP* type it should map to." },
    ParamDef { name: "TIMEZONE", default: "UTC", kind: "STRING", description: "time zone" },
    ParamDef { name: "TIME_OUTPUT_FORMAT", default: "HH24:MI:SS", kind: "STRING", description: "Display format for TIME values." },
    ParamDef { name: "USE_CACHED_RESULT", default: "true", kind: "BOOLEAN", description: "If enabled, query results can be reused between successive invocations of the same query." },
    ParamDef { name: "WEEK_START", default: "0", kind: "NUMBER", description: "Defines the first day of the week." },
];

/// A connected session.
#[derive(Debug, Default)]
pub struct Session {
    /// Numeric session id (as `sessionId` on the wire).
    pub id: u64,
    /// Login name.
    pub user: String,
    /// Current role.
    pub role: String,
    /// Current database.
    pub database: Option<String>,
    /// Current schema.
    pub schema: Option<String>,
    /// Current warehouse.
    pub warehouse: Option<String>,
    /// Parameters set with ALTER SESSION or at login.
    pub params: BTreeMap<String, ParamValue>,
    /// The open explicit (or AUTOCOMMIT=false implicit) transaction.
    pub txn: Option<Txn>,
    /// Ids of this session's statements, oldest first (LAST_QUERY_ID), at most `QUERY_ID_HISTORY`.
    pub query_ids: Vec<String>,
    /// Physical plans of this session's repeated queries.
    pub plans: crate::plan_cache::PlanCache,
    /// The running statement's query id, set by the front door (external functions' headers).
    pub current_query_id: Option<String>,
    /// The running statement's text (CURRENT_STATEMENT in context headers).
    pub current_statement: String,
    /// The running statement's cancel token (stops its remote calls).
    pub current_cancel: tokio_util::sync::CancellationToken,
}

/// How many query ids a session remembers for LAST_QUERY_ID.
pub const QUERY_ID_HISTORY: usize = 100;

impl Session {
    /// Records a finished statement's query id (for LAST_QUERY_ID).
    pub fn push_query_id(&mut self, id: &str) {
        if self.query_ids.len() == QUERY_ID_HISTORY {
            self.query_ids.remove(0);
        }
        self.query_ids.push(id.to_string());
    }

    /// A parameter's effective value as text.
    pub fn param(&self, name: &str) -> String {
        if let Some(v) = self.params.get(name) {
            return v.display();
        }
        PARAMS.iter().find(|p| p.name == name).map(|p| p.default.to_string()).unwrap_or_default()
    }

    /// AUTOCOMMIT's effective value.
    pub fn autocommit(&self) -> bool {
        self.param("AUTOCOMMIT").eq_ignore_ascii_case("true")
    }

    /// A numeric parameter.
    pub fn param_u64(&self, name: &str) -> u64 {
        self.param(name).parse().unwrap_or(0)
    }
}
