//! The Snowflake connector wire protocol, client side.
//!
//! [`Session::login`] posts to `/session/v1/login-request`, [`Session::query`]
//! posts to `/queries/v1/query-request` and follows `getResultUrl` while the
//! server answers "still running" (codes 333333/333334), fetching any result
//! chunks, and [`Session::close`] (also run on drop) deletes the session. All
//! calls are blocking (reqwest::blocking) and must not run inside a tokio
//! runtime.

use std::fmt;
use std::io::Read;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::value::Column;

/// Codes meaning "query still running, ask again at getResultUrl".
const STILL_RUNNING: [&str; 2] = ["333333", "333334"];

/// How to reach and log in to the server.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    pub url: String,
    pub user: String,
    pub password: String,
    pub account: String,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub role: Option<String>,
    pub warehouse: Option<String>,
}

/// An error reported by the server (`success: false`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    pub code: String,
    pub sql_state: String,
    pub message: String,
    pub query_id: Option<String>,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sql_state.is_empty() {
            write!(f, "{}: {}", self.code, self.message)
        } else {
            write!(f, "{} ({}): {}", self.code, self.sql_state, self.message)
        }
    }
}

/// Everything that can go wrong talking to the server.
#[derive(Debug)]
pub enum Error {
    /// The server rejected the request (bad SQL, bad password, …).
    Server(ServerError),
    /// The server could not be reached or the connection broke.
    Connection(String),
    /// The server answered with something this client does not understand.
    Protocol(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Server(e) => e.fmt(f),
            Error::Connection(m) => f.write_str(m),
            Error::Protocol(m) => write!(f, "protocol error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// A decoded query result (all rows, in wire encoding).
#[derive(Clone, Debug, Default)]
pub struct QueryResult {
    pub query_id: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Time from submission until the whole result was received.
    pub elapsed: Duration,
}

/// A logged-in connection.
pub struct Session {
    client: Client,
    base: String,
    token: String,
    sequence: u64,
    closed: bool,
    /// `data.sessionInfo` from the login response.
    pub info: Value,
    /// How this session logged in, with the database, schema and role it is in now (a progress watcher
    /// logs in a second session there).
    opts: ConnectOptions,
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The innermost cause of an error (e.g. "Connection refused (os error 111)"),
/// which says more than reqwest's "error sending request for url (…)".
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        last = c.to_string();
        src = c.source();
    }
    last
}

fn send(req: RequestBuilder, what: &str) -> Result<Response, Error> {
    req.send().map_err(|e| {
        let cause = if e.is_timeout() { "timed out".to_string() } else { root_cause(&e) };
        Error::Connection(format!("{what}: {cause}"))
    })
}

/// Reads a response body as JSON. Non-JSON bodies become protocol errors
/// mentioning the HTTP status.
fn read_json(resp: Response) -> Result<Value, Error> {
    let status = resp.status();
    let text = resp.text().map_err(|e| Error::Connection(format!("reading response: {}", root_cause(&e))))?;
    serde_json::from_str(&text).map_err(|_| {
        let snippet: String = text.chars().take(200).collect();
        Error::Protocol(format!("unexpected response (HTTP {status}): {snippet}"))
    })
}

/// A JSON string or number as text (codes are sometimes sent as numbers).
fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Builds a [`ServerError`] from a `success: false` body.
pub fn server_error(body: &Value) -> ServerError {
    let data = body.get("data").unwrap_or(&Value::Null);
    ServerError {
        code: text_of(body.get("code"))
            .or_else(|| text_of(data.get("errorCode")))
            .unwrap_or_else(|| "000000".to_string()),
        sql_state: text_of(data.get("sqlState")).unwrap_or_default(),
        message: text_of(body.get("message")).unwrap_or_else(|| "unknown error".to_string()),
        query_id: text_of(data.get("queryId")),
    }
}

/// Fails with a [`ServerError`] unless `success` is true.
fn check(body: Value) -> Result<Value, Error> {
    if body.get("success").and_then(Value::as_bool) == Some(true) {
        Ok(body)
    } else {
        Err(Error::Server(server_error(&body)))
    }
}

/// A rowset cell as wire text; non-string scalars are stringified.
fn cell(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        other => Some(other.to_string()),
    }
}

fn rows_of(v: Option<&Value>) -> Vec<Vec<Option<String>>> {
    v.and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .map(|r| r.as_array().map(|cells| cells.iter().map(cell).collect()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

impl Session {
    /// Logs in; the returned session is closed on drop.
    pub fn login(opts: &ConnectOptions) -> Result<Session, Error> {
        let url = opts.url.trim();
        let base = if url.contains("://") { url.to_string() } else { format!("http://{url}") };
        let base = base.trim_end_matches('/').to_string();
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(600))
            .no_proxy()
            .user_agent(concat!("floe-sql/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Connection(root_cause(&e)))?;
        let mut params = vec![("request_id", uuid())];
        for (k, v) in [
            ("databaseName", &opts.database),
            ("schemaName", &opts.schema),
            ("roleName", &opts.role),
            ("warehouse", &opts.warehouse),
        ] {
            if let Some(v) = v {
                params.push((k, v.clone()));
            }
        }
        let body = json!({"data": {
            "CLIENT_APP_ID": "floe-sql",
            "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
            "ACCOUNT_NAME": opts.account,
            "LOGIN_NAME": opts.user,
            "PASSWORD": opts.password,
            "SESSION_PARAMETERS": {},
        }});
        let req = client
            .post(format!("{base}/session/v1/login-request"))
            .query(&params)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body.to_string());
        let resp = send(req, &format!("cannot connect to {base}"))?;
        let body = check(read_json(resp)?)?;
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        let token = data
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Protocol("login response has no token".to_string()))?
            .to_string();
        Ok(Session {
            client,
            base,
            token,
            sequence: 0,
            closed: false,
            info: data.get("sessionInfo").cloned().unwrap_or(Value::Null),
            opts: opts.clone(),
        })
    }

    /// The options to log in another session where this one is now.
    pub fn options(&self) -> &ConnectOptions {
        &self.opts
    }

    fn auth(&self) -> String {
        format!("Snowflake Token=\"{}\"", self.token)
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            url.to_string()
        } else if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            format!("{}/{url}", self.base)
        }
    }

    /// Runs one statement synchronously and returns its full result (PUT/GET move their files first).
    pub fn query(&mut self, sql: &str) -> Result<QueryResult, Error> {
        let started = Instant::now();
        let body = self.request(sql)?;
        // Where the session is now (after USE …): a second session opened later starts there too.
        let data = &body["data"];
        for (key, slot) in [("finalDatabaseName", &mut self.opts.database), ("finalSchemaName", &mut self.opts.schema), ("finalRoleName", &mut self.opts.role)] {
            if let Some(v) = data.get(key).and_then(Value::as_str) {
                *slot = Some(v.to_string());
            }
        }
        let mut result = self.decode_result(&body)?;
        if body["data"].get("command").is_some_and(|c| !c.is_null()) {
            result.rows = crate::transfer::run(self, sql, &body["data"])?;
        }
        result.elapsed = started.elapsed();
        Ok(result)
    }

    /// The HTTP client (file transfers use it for presigned URLs).
    pub(crate) fn http(&self) -> &Client {
        &self.client
    }

    /// Sends one statement and waits for its response body (success checked).
    pub(crate) fn request(&mut self, sql: &str) -> Result<Value, Error> {
        self.sequence += 1;
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let body = json!({
            "sqlText": sql,
            "asyncExec": false,
            "sequenceId": self.sequence,
            "querySubmissionTime": now_ms as u64,
            "parameters": {"PYTHON_CONNECTOR_QUERY_RESULT_FORMAT": "JSON"},
        });
        let req = self
            .client
            .post(format!("{}/queries/v1/query-request", self.base))
            .query(&[("requestId", uuid()), ("request_guid", uuid())])
            .header("Authorization", self.auth())
            .header("Accept", "application/snowflake")
            .header("Content-Type", "application/json")
            .body(body.to_string());
        let mut body = read_json(send(req, "sending query")?)?;
        loop {
            let code = text_of(body.get("code")).unwrap_or_default();
            if body.get("success").and_then(Value::as_bool) != Some(true) || !STILL_RUNNING.contains(&code.as_str()) {
                break;
            }
            let data = body.get("data").unwrap_or(&Value::Null);
            let url = match data.get("getResultUrl").and_then(Value::as_str) {
                Some(u) => u.to_string(),
                None => match data.get("queryId").and_then(Value::as_str) {
                    Some(q) => format!("/queries/{q}/result"),
                    None => return Err(Error::Protocol("query still running but no getResultUrl".into())),
                },
            };
            let req = self
                .client
                .get(self.absolute(&url))
                .header("Authorization", self.auth())
                .header("Accept", "application/snowflake");
            body = read_json(send(req, "polling for query result")?)?;
        }
        check(body)
    }

    fn decode_result(&self, body: &Value) -> Result<QueryResult, Error> {
        let data = body.get("data").unwrap_or(&Value::Null);
        if let Some(fmt) = data.get("queryResultFormat").and_then(Value::as_str)
            && !fmt.eq_ignore_ascii_case("json")
        {
            return Err(Error::Protocol(format!("unsupported result format {fmt:?}")));
        }
        let columns = data
            .get("rowtype")
            .and_then(Value::as_array)
            .map(|cols| cols.iter().map(Column::from_json).collect())
            .unwrap_or_default();
        let mut rows = rows_of(data.get("rowset"));
        if let Some(chunks) = data.get("chunks").and_then(Value::as_array) {
            let headers = data.get("chunkHeaders").and_then(Value::as_object);
            for chunk in chunks {
                let Some(url) = chunk.get("url").and_then(Value::as_str) else { continue };
                let mut req = self.client.get(self.absolute(url));
                if let Some(h) = headers {
                    for (k, v) in h {
                        if let Some(v) = v.as_str() {
                            req = req.header(k.as_str(), v);
                        }
                    }
                }
                rows.extend(self.fetch_chunk(req)?);
            }
        }
        Ok(QueryResult {
            query_id: text_of(data.get("queryId")),
            columns,
            rows,
            elapsed: Duration::ZERO,
        })
    }

    /// Downloads one result chunk: rows without the enclosing brackets,
    /// possibly gzip-compressed.
    fn fetch_chunk(&self, req: RequestBuilder) -> Result<Vec<Vec<Option<String>>>, Error> {
        let resp = send(req, "fetching result chunk")?;
        if !resp.status().is_success() {
            return Err(Error::Protocol(format!("result chunk: HTTP {}", resp.status())));
        }
        let bytes = resp.bytes().map_err(|e| Error::Connection(format!("reading result chunk: {}", root_cause(&e))))?;
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut s = String::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_string(&mut s)
                .map_err(|e| Error::Protocol(format!("result chunk: {e}")))?;
            s
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let trimmed = text.trim();
        let wrapped = if trimmed.starts_with("[[") || trimmed == "[]" { trimmed.to_string() } else { format!("[{trimmed}]") };
        let v: Value = serde_json::from_str(&wrapped).map_err(|e| Error::Protocol(format!("result chunk: {e}")))?;
        Ok(rows_of(Some(&v)))
    }

    /// Deletes the session on the server; errors are ignored. Idempotent.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let req = self
            .client
            .post(format!("{}/session", self.base))
            .query(&[("delete", "true")])
            .header("Authorization", self.auth())
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .timeout(Duration::from_secs(10))
            .body("{}");
        let _ = req.send();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors() {
        let body = json!({"success": false, "code": "002003",
            "message": "SQL compilation error: Object 'FOO' does not exist or not authorized.",
            "data": {"errorCode": "002003", "sqlState": "42S02", "queryId": "q1"}});
        let e = server_error(&body);
        assert_eq!(e.to_string(), "002003 (42S02): SQL compilation error: Object 'FOO' does not exist or not authorized.");
        assert_eq!(e.query_id.as_deref(), Some("q1"));
        let login = json!({"success": false, "code": "390100",
            "message": "Incorrect username or password was specified.", "data": {"sqlState": "08004"}});
        assert_eq!(server_error(&login).to_string(), "390100 (08004): Incorrect username or password was specified.");
        let bare = json!({"success": false, "code": 1234, "message": "boom", "data": null});
        assert_eq!(server_error(&bare).to_string(), "1234: boom");
    }

    #[test]
    fn rowsets() {
        let rows = rows_of(Some(&json!([["1", null, "x"], [2, true, {"a": 1}]])));
        assert_eq!(rows[0], vec![Some("1".into()), None, Some("x".into())]);
        assert_eq!(rows[1], vec![Some("2".into()), Some("1".into()), Some("{\"a\":1}".into())]);
        assert!(rows_of(None).is_empty());
    }
}
