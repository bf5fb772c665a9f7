//! HTTP routes of the connector protocol, each handler next to its route.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use model::SfError;
use serde_json::{Value, json};
use sql::{Engine, QueryResult, Session};

use crate::encode;
use crate::queries::{Outcome, QueryEntry, QueryRegistry};
use crate::sessions::{SessionEntry, SessionRegistry};
use crate::wire::{decode_body, error_body, ok_body, token};

/// Settings of the front door.
#[derive(Debug, Clone)]
pub struct ProtocolConfig {
    /// How long a request waits for a statement before answering 333333 (the client then polls).
    pub result_hold: Duration,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        ProtocolConfig { result_hold: Duration::from_secs(30) }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The SQL engine.
    pub engine: Engine,
    /// Live sessions.
    pub sessions: Arc<SessionRegistry>,
    /// Running and recent statements.
    pub queries: Arc<QueryRegistry>,
    /// Settings.
    pub config: ProtocolConfig,
}

/// The router: connector endpoints plus `/healthz`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/session/v1/login-request", post(login))
        .route("/queries/v1/query-request", post(query_request))
        .route("/queries/v1/abort-request", post(abort_request))
        .route("/queries/{id}/result", get(query_result))
        .route("/queries/{id}/abort-request", post(abort_query))
        .route("/monitoring/queries/{id}", get(query_status))
        // snowflake-connector-python 5.x asks for `/monitoring/queries//<id>`.
        .route("/monitoring/queries//{id}", get(query_status))
        .route("/session", post(session_delete))
        .route("/session/heartbeat", post(heartbeat))
        .route("/session/token-request", post(token_request))
        .route("/floe/chunks/{id}/{secret}/{n}", get(chunk))
        .route("/floe/stage-files/{secret}/", get(crate::transfer::unnamed).head(crate::transfer::unnamed).put(crate::transfer::unnamed))
        .route("/floe/stage-files/{secret}/{*path}", get(crate::transfer::get).head(crate::transfer::head).put(crate::transfer::put))
        .route("/api/v2/statements", post(crate::sqlapi::submit))
        .route("/api/v2/statements/{handle}", get(crate::sqlapi::status))
        .route("/api/v2/statements/{handle}/cancel", post(crate::sqlapi::cancel))
        .route("/telemetry/send", post(|| async { axum::Json(json!({"success": true, "data": null})) }))
        .fallback(unknown_route)
        .with_state(state)
}

async fn unknown_route(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    tracing::warn!(%method, %uri, "no such endpoint");
    json_response(StatusCode::NOT_FOUND, json!({"success": false, "code": "390404", "message": format!("Unknown endpoint {method} {}.", uri.path()), "data": null}))
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn unauthenticated() -> Response {
    json_response(StatusCode::UNAUTHORIZED, json!({"success": false, "code": "390101", "message": "Authorization header not found in the request data.", "data": null}))
}

fn session_of(state: &AppState, headers: &HeaderMap) -> Result<Arc<SessionEntry>, Response> {
    let Some(token) = token(headers) else { return Err(unauthenticated()) };
    state.sessions.get(&token).map_err(|e| json_response(StatusCode::OK, error_body(&e, None)))
}

fn session_parameters(session: &Session) -> Vec<Value> {
    let mut out = vec![
        json!({"name": "AUTOCOMMIT", "value": session.autocommit()}),
        json!({"name": "TIMEZONE", "value": session.param("TIMEZONE")}),
        json!({"name": "CLIENT_SESSION_KEEP_ALIVE", "value": false}),
        json!({"name": "CLIENT_SESSION_KEEP_ALIVE_HEARTBEAT_FREQUENCY", "value": 3600}),
        json!({"name": "CLIENT_PREFETCH_THREADS", "value": 4}),
        json!({"name": "CLIENT_RESULT_CHUNK_SIZE", "value": 160}),
        json!({"name": "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD", "value": 65280}),
        json!({"name": "CLIENT_TELEMETRY_ENABLED", "value": false}),
        json!({"name": "QUERY_CONTEXT_CACHE_SIZE", "value": 5}),
    ];
    for name in ["DATE_OUTPUT_FORMAT", "TIME_OUTPUT_FORMAT", "TIMESTAMP_OUTPUT_FORMAT", "TIMESTAMP_NTZ_OUTPUT_FORMAT", "BINARY_OUTPUT_FORMAT", "QUERY_TAG"] {
        out.push(json!({"name": name, "value": session.param(name)}));
    }
    out
}

async fn login(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match decode_body(&headers, &body) {
        Ok(b) => b,
        Err(e) => return json_response(StatusCode::OK, error_body(&e, None)),
    };
    let data = &body["data"];
    let params: HashMap<String, String> = params.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let (user_name, role) = if data["AUTHENTICATOR"].as_str().is_some_and(|a| a.eq_ignore_ascii_case("OAUTH")) {
        // An OAuth token floe issued: a session token, such as the one a service's containers find under
        // /snowflake/session/token. The new session runs as the token's user and role.
        let token = data["TOKEN"].as_str().unwrap_or("");
        match state.sessions.get(token) {
            Ok(entry) => {
                let s = entry.session.lock().await;
                (s.user.clone(), s.role.clone())
            }
            Err(_) => return json_response(StatusCode::OK, error_body(&SfError::new("390303", "08004", model::ErrorKind::Unauthenticated, "Invalid OAuth access token."), None)),
        }
    } else {
        let login_name = data["LOGIN_NAME"].as_str().unwrap_or("").to_string();
        let password = data["PASSWORD"].as_str().unwrap_or("").to_string();
        let engine = state.engine.clone();
        let verified = tokio::task::spawn_blocking(move || sql::auth::verify_password(&engine, &login_name, &password)).await;
        let user = match verified {
            Ok(Ok(user)) => user,
            Ok(Err(e)) => return json_response(StatusCode::OK, error_body(&e, None)),
            Err(e) => return json_response(StatusCode::INTERNAL_SERVER_ERROR, error_body(&SfError::internal(e.to_string()), None)),
        };
        let role = match sql::auth::login_role(&state.engine, &user.name, params.get("roleName").map(|r| ident(r)).as_deref()) {
            Ok(r) => r,
            Err(e) => return json_response(StatusCode::OK, error_body(&e, None)),
        };
        (user.name, role)
    };
    let catalog = state.engine.store().snapshot();
    let mut session = Session { user: user_name.clone(), role, ..Default::default() };
    if let Some(db) = params.get("databaseName").map(|d| ident(d)) {
        if let Some(database) = catalog.databases.get(&db) {
            session.database = Some(db.clone());
            let schema = params.get("schemaName").map(|s| ident(s)).unwrap_or_else(|| "PUBLIC".into());
            if database.schemas.contains_key(&schema) {
                session.schema = Some(schema);
            }
        }
    }
    // As in Snowflake, a warehouse that does not exist leaves the session without a current warehouse.
    session.warehouse = params.get("warehouse").map(|w| ident(w)).filter(|w| catalog.object(sql::objects::WAREHOUSE, "", w).is_some());
    if let Some(map) = data["SESSION_PARAMETERS"].as_object() {
        for (key, value) in map {
            let key = key.to_uppercase();
            if sql::session::PARAMS.iter().any(|p| p.name == key) {
                let value = match value {
                    Value::Bool(b) => sql::parse::ParamValue::Bool(*b),
                    Value::Number(n) => sql::parse::ParamValue::Number(n.to_string()),
                    Value::String(s) => sql::parse::ParamValue::Text(s.clone()),
                    _ => continue,
                };
                session.params.insert(key, value);
            }
        }
    }
    let parameters = session_parameters(&session);
    let info = json!({
        "databaseName": session.database, "schemaName": session.schema, "warehouseName": session.warehouse, "roleName": session.role,
    });
    let created = match state.sessions.create(session) {
        Ok(c) => c,
        Err(e) => return json_response(StatusCode::INTERNAL_SERVER_ERROR, error_body(&e, None)),
    };
    let data = json!({
        "token": created.token,
        "masterToken": created.master_token,
        "validityInSeconds": state.sessions.lifetimes().session_secs,
        "masterValidityInSeconds": state.sessions.lifetimes().master_secs,
        "displayUserName": user_name,
        "serverVersion": concat!("floe ", env!("CARGO_PKG_VERSION")),
        "firstLogin": false,
        "remMeToken": null,
        "remMeValidityInSeconds": 0,
        "healthCheckInterval": 45,
        "newClientForUpgrade": null,
        "sessionId": created.entry.id,
        "parameters": parameters,
        "sessionInfo": info,
        "idToken": null,
        "idTokenValidityInSeconds": 0,
        "responseData": null,
        "mfaToken": null,
        "mfaTokenValidityInSeconds": 0,
    });
    json_response(StatusCode::OK, ok_body(data))
}

/// Identifier text from a connection parameter: quoted keeps case, else upper-cased.
fn ident(text: &str) -> String {
    let t = text.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') { t[1..t.len() - 1].replace("\"\"", "\"") } else { t.to_uppercase() }
}

/// How a request wants its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Arrow,
    Json,
}

/// The connector's DML statement types: their counters go back as a JSON rowset (the connector sums
/// `rowset[0]` for `rowcount`).
fn is_dml(statement_type: u32) -> bool {
    matches!(statement_type, 0x3000 | 0x3100 | 0x3200 | 0x3300 | 0x3400 | 0x3500)
}

/// Rows per result chunk: a larger result goes back as a first chunk inline plus chunk URLs that the
/// client downloads (in parallel) from floe itself.
const CHUNK_ROWS: usize = 50_000;

/// Rows per chunk of a chunked Arrow result (all of it in chunks). Each chunk costs the connector a
/// download thread and a request: 50,000 rows (two chunks for 100,000) measured fastest through
/// connector 4.8 (BENCHMARKS.md, Clients).
const ARROW_CHUNK_ROWS: usize = 50_000;

/// Cuts batches into groups of at most `rows` rows.
fn split_rows(batches: &[datafusion::arrow::record_batch::RecordBatch], rows: usize) -> Vec<Vec<datafusion::arrow::record_batch::RecordBatch>> {
    let mut groups = vec![Vec::new()];
    let mut in_group = 0usize;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if in_group == rows {
                groups.push(Vec::new());
                in_group = 0;
            }
            let take = (rows - in_group).min(batch.num_rows() - offset);
            groups.last_mut().expect("a group").push(batch.slice(offset, take));
            in_group += take;
            offset += take;
        }
    }
    groups
}

/// Where a query's chunks are served.
struct ChunkTarget<'a> {
    base_url: &'a str,
    query: &'a QueryEntry,
}

fn result_data(result: &QueryResult, session: &Session, query_id: &str, format: Format) -> Result<Value, SfError> {
    result_data_chunked(result, session, query_id, format, None)
}

fn result_data_chunked(result: &QueryResult, session: &Session, query_id: &str, format: Format, target: Option<ChunkTarget<'_>>) -> Result<Value, SfError> {
    let n = result.num_rows();
    let mut data = json!({
        "parameters": session_parameters(session),
        "rowtype": encode::rowtype(result),
        "total": n,
        "returned": n,
        "queryId": query_id,
        "databaseProvider": null,
        "finalDatabaseName": session.database,
        "finalSchemaName": session.schema,
        "finalWarehouseName": session.warehouse,
        "finalRoleName": session.role,
        "numberOfBinds": 0,
        "arrayBindSupported": true,
        "statementTypeId": result.statement_type,
        "version": 1,
        "sendResultTime": chrono::Utc::now().timestamp_millis(),
        "queryContext": {"entries": []},
    });
    let arrow = format == Format::Arrow && !is_dml(result.statement_type);
    let groups = match &target {
        // Arrow: nothing inline and every part a chunk, so the connector's prefetch threads download
        // and convert the parts in parallel while the answer itself stays small.
        Some(_) if n > CHUNK_ROWS && arrow => std::iter::once(Vec::new()).chain(split_rows(&result.batches, ARROW_CHUNK_ROWS)).collect(),
        Some(_) if n > CHUNK_ROWS => split_rows(&result.batches, CHUNK_ROWS),
        _ => vec![result.batches.clone()],
    };
    let part = |batches: &Vec<datafusion::arrow::record_batch::RecordBatch>| QueryResult { schema: result.schema.clone(), batches: batches.clone(), statement_type: result.statement_type };
    if arrow {
        data["queryResultFormat"] = json!("arrow");
        data["rowsetBase64"] = if groups[0].is_empty() && groups.len() > 1 { json!("") } else { json!(crate::arrow_rowset::rowset_base64(result, &groups[0])?) };
    } else {
        data["queryResultFormat"] = json!("json");
        data["rowset"] = json!(encode::rowset(&part(&groups[0])));
    }
    if let (Some(target), true) = (target, groups.len() > 1) {
        let mut chunks = Vec::with_capacity(groups.len() - 1);
        let mut meta = Vec::with_capacity(groups.len() - 1);
        for (i, group) in groups.iter().enumerate().skip(1) {
            let chunk = part(group);
            let bytes = if arrow {
                crate::arrow_rowset::ipc_stream(result, group)?
            } else {
                // JSON chunks are the rows joined by commas, without the enclosing brackets.
                let rows = encode::rowset(&chunk);
                let text = serde_json::to_string(&rows).map_err(|e| SfError::internal(e.to_string()))?;
                text[1..text.len() - 1].as_bytes().to_vec()
            };
            meta.push(json!({
                "url": format!("{}/floe/chunks/{}/{}/{}", target.base_url, target.query.id, target.query.chunk_secret, i - 1),
                "rowCount": chunk.num_rows(),
                "uncompressedSize": bytes.len(),
                "compressedSize": bytes.len(),
            }));
            chunks.push(axum::body::Bytes::from(bytes));
        }
        *target.query.chunks.lock() = chunks;
        data["chunks"] = json!(meta);
        data["chunkHeaders"] = json!({"x-floe-chunk": "1"});
        data["returned"] = json!(groups[0].iter().map(|b| b.num_rows()).sum::<usize>());
    }
    Ok(data)
}

/// What a query request asks for.
struct QueryRequest {
    sql: String,
    bindings: sql::Bindings,
    describe_only: bool,
    /// MULTI_STATEMENT_COUNT for this request (0 = any number).
    statement_count: Option<u64>,
    format: Option<Format>,
    /// `http://host:port` as the client reached floe (chunk URLs are absolute).
    base_url: String,
}

impl QueryRequest {
    fn from_body(body: &Value) -> Result<QueryRequest, SfError> {
        let params = &body["parameters"];
        let format = ["PYTHON_CONNECTOR_QUERY_RESULT_FORMAT", "JDBC_QUERY_RESULT_FORMAT", "ODBC_QUERY_RESULT_FORMAT", "C_API_QUERY_RESULT_FORMAT", "GO_QUERY_RESULT_FORMAT", "JS_TREAT_INTEGER_AS_BIGINT"]
            .iter()
            .filter_map(|k| params[*k].as_str())
            .map(|v| if v.eq_ignore_ascii_case("json") { Format::Json } else { Format::Arrow })
            .next();
        let statement_count = match &params["MULTI_STATEMENT_COUNT"] {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        Ok(QueryRequest {
            sql: body["sqlText"].as_str().unwrap_or("").to_string(),
            bindings: parse_bindings(&body["bindings"])?,
            describe_only: body["describeOnly"].as_bool().unwrap_or(false),
            statement_count,
            format,
            base_url: String::new(),
        })
    }
}

/// `{"1": {"type": "FIXED", "value": "1"}, …}`, a value list meaning array binding.
pub(crate) fn parse_bindings(value: &Value) -> Result<sql::Bindings, SfError> {
    let mut out = sql::Bindings::default();
    let Some(map) = value.as_object() else { return Ok(out) };
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    for (key, b) in map {
        let sf_type = b["type"].as_str().unwrap_or("TEXT").to_string();
        let (values, array) = match &b["value"] {
            Value::Array(items) => (items.iter().map(text).collect(), true),
            other => (vec![text(other)], false),
        };
        out.by_key.insert(key.clone(), sql::Binding { sf_type, values, array });
    }
    Ok(out)
}

async fn run_statement(state: AppState, entry: Arc<SessionEntry>, query: Arc<QueryEntry>, request: QueryRequest, tx: tokio::sync::watch::Sender<Option<Outcome>>) {
    let mut session = entry.session.lock().await;
    let started = Instant::now();
    let timeout_secs = session.param_u64("STATEMENT_TIMEOUT_IN_SECONDS");
    let cancel = query.cancel.clone();
    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let timer = (timeout_secs > 0).then(|| {
        let cancel = cancel.clone();
        let timed_out = timed_out.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(timeout_secs)).await;
            timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
            cancel.cancel();
        })
    });
    let format = request.format.unwrap_or_else(|| {
        if session.param("PYTHON_CONNECTOR_QUERY_RESULT_FORMAT").eq_ignore_ascii_case("json") { Format::Json } else { Format::Arrow }
    });
    let res = execute_request(&state, &entry, &mut session, &query, &request, format).await;
    state.sessions.context_changed(&entry, &session);
    if let Some(timer) = timer {
        timer.abort();
    }
    let outcome = match res {
        Ok(mut data) => {
            data["floeServerMicros"] = json!(started.elapsed().as_micros() as u64);
            Outcome::Success(Arc::new(data))
        }
        Err(e) if e.kind == model::ErrorKind::Cancelled && timed_out.load(std::sync::atomic::Ordering::SeqCst) => {
            Outcome::Failure(SfError::statement_timeout(timeout_secs))
        }
        Err(e) => {
            if e.kind == model::ErrorKind::Internal {
                tracing::error!(query_id = %query.id, error = %e, "statement failed with an internal error");
            }
            Outcome::Failure(e)
        }
    };
    let _ = tx.send(Some(outcome));
}

/// Records a finished statement: its id for LAST_QUERY_ID, its result for RESULT_SCAN and later polling
/// (kept in memory at once, written to disk off the request path).
fn keep(state: &AppState, session: &mut Session, id: &str, result: &QueryResult) {
    session.push_query_id(id);
    if let Some(store) = state.engine.results() {
        store.remember(id, result.clone());
        let store = store.clone();
        let id = id.to_string();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.flush(&id) {
                tracing::warn!(query_id = %id, error = %e, "could not keep a result");
            }
        });
    }
}

/// Runs a request's statements: describe only, one statement, or several (each a child query whose
/// result the client fetches by id from `resultIds`).
async fn execute_request(state: &AppState, entry: &SessionEntry, session: &mut Session, query: &QueryEntry, request: &QueryRequest, format: Format) -> Result<Value, SfError> {
    if request.describe_only {
        let (shape, binds) = state.engine.describe(session, &request.sql).await?;
        let mut data = result_data(&shape, session, &query.id, format)?;
        data["numberOfBinds"] = json!(binds);
        data["arrayBindSupported"] = json!(shape.statement_type == sql::result::statement_type::INSERT);
        return Ok(data);
    }
    let statements = sql::parse::split(&request.sql)?;
    let wanted = request.statement_count.unwrap_or_else(|| session.param_u64("MULTI_STATEMENT_COUNT"));
    if statements.len() > 1 || wanted > 1 {
        if wanted != 0 && wanted as usize != statements.len() {
            return Err(SfError::new(
                "000008",
                "0A000",
                model::ErrorKind::InvalidArgument,
                format!("Actual statement count {} did not match the desired statement count {wanted}.", statements.len()),
            ));
        }
        if statements.len() > 1 {
            let mut ids = Vec::with_capacity(statements.len());
            for statement in &statements {
                let (child, child_tx) = state.queries.register(None, entry.id);
                ids.push(child.id.clone());
                session.current_query_id = Some(child.id.clone());
                let res = state.engine.execute_bound(session, &statement.text, &request.bindings, &query.cancel).await;
                let res = res.map(|mut r| {
                    let last = r.pop().expect("one result");
                    keep(state, session, &child.id, &last);
                    last
                });
                let outcome = match res.and_then(|r| result_data(&r, session, &child.id, format)) {
                    Ok(data) => Outcome::Success(Arc::new(data)),
                    Err(e) => {
                        let _ = child_tx.send(Some(Outcome::Failure(e.clone())));
                        return Err(e);
                    }
                };
                let _ = child_tx.send(Some(outcome));
            }
            // 0xA000: the multi-statement parent type (JDBC SFStatementType.MULTI_STATEMENT).
            let summary = QueryResult::message(0xA000, "Multiple statements executed successfully.");
            keep(state, session, &query.id, &summary);
            let mut data = result_data(&summary, session, &query.id, format)?;
            data["resultIds"] = json!(ids.join(","));
            data["resultTypes"] = json!(vec!["0"; ids.len()].join(","));
            return Ok(data);
        }
    }
    session.current_query_id = Some(query.id.clone());
    let mut results = state.engine.execute_bound(session, &request.sql, &request.bindings, &query.cancel).await?;
    let last = results.pop().expect("at least one result");
    if let Some(plan) = sql::objects::transfer::TransferPlan::of(&last) {
        let data = result_data(&last, session, &query.id, Format::Json)?;
        return crate::transfer::response(state, &plan, &request.base_url, data);
    }
    keep(state, session, &query.id, &last);
    result_data_chunked(&last, session, &query.id, format, Some(ChunkTarget { base_url: &request.base_url, query }))
}

fn respond(outcome: Outcome, query_id: &str) -> Response {
    match outcome {
        Outcome::Success(data) => {
            let micros = data.get("floeServerMicros").and_then(Value::as_u64).unwrap_or(0);
            let mut response = json_response(StatusCode::OK, ok_body((*data).clone()));
            if let Ok(v) = HeaderValue::from_str(&micros.to_string()) {
                response.headers_mut().insert("x-floe-server-time-us", v);
            }
            response
        }
        Outcome::Failure(e) => {
            let status = if e.kind == model::ErrorKind::Internal { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
            json_response(status, error_body(&e, Some(query_id)))
        }
    }
}

fn in_progress(code: &str, query_id: &str) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "success": true,
            "code": code,
            "message": "Statement is still running.",
            "data": {"queryId": query_id, "getResultUrl": format!("/queries/{query_id}/result"), "queryAbortsAfterSecs": 300, "progressDesc": null},
        }),
    )
}

/// Marks requests that arrived over floe's https listener (containers' SNOWFLAKE_HOST on 443): the
/// URLs floe hands out in answers (chunks, presigned stage URLs) then use https too.
#[derive(Debug, Clone, Copy)]
pub struct ViaTls;

async fn query_request(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    tls: Option<axum::Extension<ViaTls>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let entry = match session_of(&state, &headers) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let body = match decode_body(&headers, &body) {
        Ok(b) => b,
        Err(e) => return json_response(StatusCode::OK, error_body(&e, None)),
    };
    let mut request = match QueryRequest::from_body(&body) {
        Ok(r) => r,
        Err(e) => return json_response(StatusCode::OK, error_body(&e, None)),
    };
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    request.base_url = format!("{}://{host}", if tls.is_some() { "https" } else { "http" });
    let async_exec = body["asyncExec"].as_bool().unwrap_or(false);
    let (query, tx) = state.queries.register(params.get("requestId").cloned(), entry.id);
    tokio::spawn(run_statement(state.clone(), entry, query.clone(), request, tx));
    if async_exec {
        return in_progress("333334", &query.id);
    }
    match query.wait(state.config.result_hold).await {
        Some(outcome) => respond(outcome, &query.id),
        None => in_progress("333333", &query.id),
    }
}

async fn query_result(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let entry = match session_of(&state, &headers) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let Some(query) = state.queries.get(&id) else {
        // A result kept from before a restart (or evicted from the registry).
        if let Some(Ok(kept)) = state.engine.results().map(|s| s.load(&id)) {
            let session = entry.session.lock().await;
            let format = if session.param("PYTHON_CONNECTOR_QUERY_RESULT_FORMAT").eq_ignore_ascii_case("json") { Format::Json } else { Format::Arrow };
            return match result_data(&kept, &session, &id, format) {
                Ok(data) => json_response(StatusCode::OK, ok_body(data)),
                Err(e) => json_response(StatusCode::INTERNAL_SERVER_ERROR, error_body(&e, Some(&id))),
            };
        }
        return json_response(StatusCode::OK, error_body(&SfError::new("000709", "02000", model::ErrorKind::NotFound, format!("Statement {id} not found")), Some(&id)));
    };
    match query.wait(state.config.result_hold).await {
        Some(outcome) => respond(outcome, &id),
        None => in_progress("333333", &id),
    }
}

async fn query_status(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = session_of(&state, &headers) {
        return r;
    }
    // A failed query's SQLSTATE goes in `data.sqlState`: where the connector reads it for the error
    // it raises from get_results_from_sfqid.
    let mut sql_state = Value::Null;
    let queries = match state.queries.get(&id) {
        None if state.engine.results().is_some_and(|s| s.contains(&id)) => vec![json!({"id": id, "status": "SUCCESS", "errorCode": null, "errorMessage": null})],
        None => vec![],
        Some(q) => {
            let (status, code, message) = match q.outcome.borrow().clone() {
                None => ("RUNNING", Value::Null, Value::Null),
                Some(Outcome::Success(_)) => ("SUCCESS", Value::Null, Value::Null),
                Some(Outcome::Failure(e)) => {
                    sql_state = json!(e.sql_state);
                    let status = if e.kind == model::ErrorKind::Cancelled { "ABORTED" } else { "FAILED_WITH_ERROR" };
                    (status, json!(e.code), json!(e.message))
                }
            };
            vec![json!({"id": id, "status": status, "errorCode": code, "errorMessage": message, "sessionId": q.session_id})]
        }
    };
    json_response(StatusCode::OK, ok_body(json!({"queries": queries, "sqlState": sql_state})))
}

async fn abort_request(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = session_of(&state, &headers) {
        return r;
    }
    let body = decode_body(&headers, &body).unwrap_or(Value::Null);
    if let Some(q) = body["requestId"].as_str().and_then(|r| state.queries.by_request(r)) {
        q.cancel.cancel();
    }
    json_response(StatusCode::OK, json!({"success": true, "data": null, "code": null, "message": null}))
}

async fn abort_query(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = session_of(&state, &headers) {
        return r;
    }
    if let Some(q) = state.queries.get(&id) {
        q.cancel.cancel();
    }
    json_response(StatusCode::OK, json!({"success": true, "data": null, "code": null, "message": null}))
}

async fn session_delete(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if params.get("delete").map(|v| v == "true") != Some(true) {
        return json_response(StatusCode::OK, json!({"success": true, "data": null, "code": null, "message": null}));
    }
    let Some(token) = token(&headers) else { return unauthenticated() };
    if let Some(entry) = state.sessions.remove(&token) {
        close_session(&state, &entry).await;
    }
    json_response(StatusCode::OK, json!({"success": true, "data": null, "code": null, "message": null}))
}

/// Ends a session that was removed from the registry: its running statements are cancelled (a
/// synchronous EXECUTE JOB SERVICE cancels its job), then its temporary objects and open transaction go.
async fn close_session(state: &AppState, entry: &crate::sessions::SessionEntry) {
    for q in state.queries.running() {
        if q.session_id == entry.id {
            q.cancel.cancel();
        }
    }
    let mut session = entry.session.lock().await;
    state.engine.close_session(&mut session);
}

/// Every `every`, closes the sessions whose master token expired (see `close_session`).
pub fn spawn_session_sweeper(state: AppState, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            for entry in state.sessions.sweep_expired() {
                tracing::info!(session = entry.id, "session expired");
                close_session(&state, &entry).await;
            }
        }
    })
}

/// RENEW (after 390112) or ISSUE (a further session token, e.g. for the registry), authorised by the
/// master token.
async fn token_request(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(master) = token(&headers) else { return unauthenticated() };
    let body = decode_body(&headers, &body).unwrap_or(Value::Null);
    let renew = !body["requestType"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("ISSUE"));
    match state.sessions.token_request(&master, renew) {
        Ok(tokens) => {
            let lifetimes = state.sessions.lifetimes();
            json_response(
                StatusCode::OK,
                ok_body(json!({
                    "sessionToken": tokens.token,
                    "validityInSecondsST": lifetimes.session_secs,
                    "validityInSeconds": lifetimes.session_secs,
                    "masterToken": tokens.master_token,
                    "validityInSecondsMT": lifetimes.master_secs,
                    "masterValidityInSeconds": lifetimes.master_secs,
                    "sessionId": tokens.entry.id,
                })),
            )
        }
        Err(e) => json_response(StatusCode::OK, error_body(&e, None)),
    }
}

/// A result chunk (the URL's secret stands in for the presigned URL of cloud storage).
async fn chunk(State(state): State<AppState>, Path((id, secret, n)): Path<(String, String, usize)>) -> Response {
    let Some(query) = state.queries.get(&id).filter(|q| q.chunk_secret == secret) else {
        return (StatusCode::NOT_FOUND, "no such chunk").into_response();
    };
    let Some(bytes) = query.chunks.lock().get(n).cloned() else {
        return (StatusCode::NOT_FOUND, "no such chunk").into_response();
    };
    ([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

async fn heartbeat(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session_of(&state, &headers) {
        Ok(_) => json_response(StatusCode::OK, json!({"success": true, "data": null, "code": null, "message": null})),
        Err(r) => r,
    }
}
