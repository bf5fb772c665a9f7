//! Snowflake SQL API v2 (snowflake-protocol.md §3): `POST /api/v2/statements`, `GET
//! /api/v2/statements/{handle}[?partition=n]`, `POST /api/v2/statements/{handle}/cancel`.
//!
//! Each submission runs in a session of its own, built from the token's user and the body's database,
//! schema, warehouse, role and parameters. Bearer tokens: `OAUTH` (the default type) is a token floe
//! minted — a connector session token, or one issued by `token-request` ISSUE; `KEYPAIR_JWT` is refused.
//! Results are `jsonv2` (the connector's JSON encodings) cut into partitions.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use model::SfError;
use serde_json::{Value, json};
use sql::{QueryResult, Session};

use crate::encode;
use crate::queries::Outcome;
use crate::routes::AppState;

/// Rows per result partition.
const PARTITION_ROWS: usize = 10_000;
/// How long a submission waits before answering 202 (Snowflake: about 45 s).
const HOLD: Duration = Duration::from_secs(45);

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn status_url(handle: &str) -> String {
    format!("/api/v2/statements/{handle}")
}

fn failure(status: StatusCode, err: &SfError, handle: Option<&str>) -> Response {
    let mut body = json!({"code": err.code, "sqlState": err.sql_state, "message": err.message});
    if let Some(h) = handle {
        body["statementHandle"] = json!(h);
        body["statementStatusUrl"] = json!(status_url(h));
        body["createdOn"] = json!(chrono::Utc::now().timestamp_millis());
    }
    reply(status, body)
}

fn unauthorized(message: &str) -> Response {
    reply(StatusCode::UNAUTHORIZED, json!({"code": "390303", "sqlState": "08001", "message": message}))
}

/// The session context a bearer token stands for.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Session, Response> {
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("Missing Authorization header."));
    };
    let Some(token) = auth.trim().strip_prefix("Bearer ").map(str::trim) else {
        return Err(unauthorized("Unsupported Authorization header (expected Bearer)."));
    };
    let kind = headers.get("x-snowflake-authorization-token-type").and_then(|v| v.to_str().ok()).unwrap_or("OAUTH").to_ascii_uppercase();
    match kind.as_str() {
        "OAUTH" => {
            let entry = state.sessions.get(token).map_err(|_| unauthorized("Invalid OAuth access token."))?;
            let owner = entry.session.lock().await;
            Ok(Session { user: owner.user.clone(), role: owner.role.clone(), database: owner.database.clone(), schema: owner.schema.clone(), warehouse: owner.warehouse.clone(), ..Default::default() })
        }
        "PROGRAMMATIC_ACCESS_TOKEN" => {
            let engine = state.engine.clone();
            let token = token.to_string();
            let user = tokio::task::spawn_blocking(move || sql::auth::verify_access_token(&engine, &token))
                .await
                .map_err(|_| unauthorized("Invalid programmatic access token."))?
                .map_err(|e| unauthorized(&e.message))?;
            Ok(Session { user: user.name, role: user.default_role, ..Default::default() })
        }
        other => Err(unauthorized(&format!("Unsupported authorization token type '{other}'."))),
    }
}

fn ident(value: &Value) -> Option<String> {
    let t = value.as_str()?.trim();
    if t.is_empty() {
        return None;
    }
    Some(if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') { t[1..t.len() - 1].to_string() } else { t.to_uppercase() })
}

/// `POST /api/v2/statements`.
pub async fn submit(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.to_ascii_lowercase().starts_with("application/json") {
        return reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, json!({"code": "391901", "message": format!("Unsupported Content-Type '{content_type}'.")}));
    }
    let mut session = match authenticate(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return failure(StatusCode::BAD_REQUEST, &SfError::new("391902", "22000", model::ErrorKind::InvalidArgument, format!("Invalid request body: {e}")), None),
    };
    let Some(statement) = body["statement"].as_str().map(str::to_string) else {
        return failure(StatusCode::BAD_REQUEST, &SfError::new("391903", "22000", model::ErrorKind::InvalidArgument, "The request body must contain 'statement'."), None);
    };
    let bindings = match crate::routes::parse_bindings(&body["bindings"]) {
        Ok(b) => b,
        Err(e) => return failure(StatusCode::BAD_REQUEST, &e, None),
    };
    session.id = 3_000_000_000 + NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
    if let Some(role) = ident(&body["role"]) {
        session.role = role;
    }
    if let Some(db) = ident(&body["database"]) {
        session.database = Some(db);
        session.schema = Some("PUBLIC".into());
    }
    if let Some(schema) = ident(&body["schema"]) {
        session.schema = Some(schema);
    }
    if let Some(wh) = ident(&body["warehouse"]) {
        session.warehouse = Some(wh);
    }
    let mut statement_count = 1u64;
    if let Some(p) = body["parameters"].as_object() {
        for (k, v) in p {
            let key = k.to_ascii_uppercase();
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if key == "MULTI_STATEMENT_COUNT" {
                statement_count = text.parse().unwrap_or(1);
                continue;
            }
            if sql::session::PARAMS.iter().any(|d| d.name == key) {
                session.params.insert(key, sql::parse::ParamValue::Text(text));
            }
        }
    }
    if let Some(t) = body["timeout"].as_u64().filter(|t| *t > 0) {
        session.params.insert("STATEMENT_TIMEOUT_IN_SECONDS".into(), sql::parse::ParamValue::Number(t.to_string()));
    }
    let nullable = params.get("nullable").is_none_or(|v| v != "false");
    let (query, tx) = state.queries.register(params.get("requestId").cloned(), session.id);
    let handle = query.id.clone();
    let task_state = state.clone();
    let task_query = query.clone();
    tokio::spawn(async move {
        let outcome = run(&task_state, session, &task_query.id, &statement, &bindings, statement_count, nullable, &task_query.cancel).await;
        let _ = tx.send(Some(outcome));
    });
    if params.get("async").is_some_and(|v| v == "true") {
        return running(&handle);
    }
    match query.wait(HOLD).await {
        Some(outcome) => respond(outcome, &handle, 0),
        None => running(&handle),
    }
}

fn running(handle: &str) -> Response {
    reply(
        StatusCode::ACCEPTED,
        json!({
            "code": "333334",
            "sqlState": "00000",
            "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
            "statementHandle": handle,
            "statementStatusUrl": status_url(handle),
            "createdOn": chrono::Utc::now().timestamp_millis(),
        }),
    )
}

#[allow(clippy::too_many_arguments)]
async fn run(state: &AppState, mut session: Session, handle: &str, statement: &str, bindings: &sql::Bindings, count: u64, nullable: bool, cancel: &tokio_util::sync::CancellationToken) -> Outcome {
    let timeout = session.param_u64("STATEMENT_TIMEOUT_IN_SECONDS");
    let work = async {
        let statements = sql::parse::split(statement)?;
        if count != 0 && count as usize != statements.len() {
            return Err(SfError::new("000008", "0A000", model::ErrorKind::InvalidArgument, format!("Actual statement count {} did not match the desired statement count {count}.", statements.len())));
        }
        if statements.len() == 1 {
            session.current_query_id = Some(handle.to_string());
            let mut results = state.engine.execute_bound(&mut session, statement, bindings, cancel).await?;
            return Ok(result_set(&results.pop().expect("one result"), handle, nullable));
        }
        let mut handles = Vec::new();
        for s in &statements {
            let (child, child_tx) = state.queries.register(None, session.id);
            handles.push(child.id.clone());
            session.current_query_id = Some(child.id.clone());
            match state.engine.execute_bound(&mut session, &s.text, bindings, cancel).await {
                Ok(mut r) => {
                    let _ = child_tx.send(Some(Outcome::Success(Arc::new(result_set(&r.pop().expect("one result"), &child.id, nullable)))));
                }
                Err(e) => {
                    let _ = child_tx.send(Some(Outcome::Failure(e.clone())));
                    return Err(e);
                }
            }
        }
        let mut summary = result_set(&QueryResult::message(0xA000, "Multiple statements executed successfully."), handle, nullable);
        summary["statementHandles"] = json!(handles);
        Ok(summary)
    };
    let res = if timeout > 0 {
        match tokio::time::timeout(Duration::from_secs(timeout), work).await {
            Ok(r) => r,
            Err(_) => {
                cancel.cancel();
                Err(SfError::statement_timeout(timeout))
            }
        }
    } else {
        work.await
    };
    state.engine.close_session(&mut session);
    match res {
        Ok(v) => Outcome::Success(Arc::new(v)),
        Err(e) => Outcome::Failure(e),
    }
}

/// A complete ResultSet (every row in `data`; `respond` cuts out the partition asked for).
fn result_set(result: &QueryResult, handle: &str, nullable: bool) -> Value {
    let rows: Vec<Value> = encode::rowset(result)
        .into_iter()
        .map(|row| Value::Array(row.into_iter().map(|v| v.map(Value::String).unwrap_or(if nullable { Value::Null } else { json!("null") })).collect()))
        .collect();
    let partitions: Vec<Value> = rows.chunks(PARTITION_ROWS).map(|c| json!({"rowCount": c.len(), "uncompressedSize": serde_json::to_string(c).map(|s| s.len()).unwrap_or(0)})).collect();
    let counts: HashMap<String, i64> = if matches!(result.statement_type, 0x3100 | 0x3200 | 0x3300 | 0x3400) {
        result
            .schema
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(i, f)| rows.first().and_then(|r| r[i].as_str()).and_then(|v| v.parse().ok()).map(|n| (f.name().clone(), n)))
            .collect()
    } else {
        HashMap::new()
    };
    let mut out = json!({
        "code": "090001",
        "sqlState": "00000",
        "message": "Statement executed successfully.",
        "statementHandle": handle,
        "statementStatusUrl": status_url(handle),
        "createdOn": chrono::Utc::now().timestamp_millis(),
        "resultSetMetaData": {
            "format": "jsonv2",
            "numRows": rows.len(),
            "rowType": encode::rowtype(result),
            "partitionInfo": if partitions.is_empty() { vec![json!({"rowCount": 0, "uncompressedSize": 0})] } else { partitions },
            "nullable": nullable,
        },
        "data": rows,
    });
    if !counts.is_empty() {
        out["stats"] = json!({
            "numRowsInserted": counts.get("number of rows inserted").copied().unwrap_or(0),
            "numRowsUpdated": counts.get("number of rows updated").copied().unwrap_or(0),
            "numRowsDeleted": counts.get("number of rows deleted").copied().unwrap_or(0),
            "numDmlDuplicates": 0,
        });
    }
    out
}

fn respond(outcome: Outcome, handle: &str, partition: usize) -> Response {
    match outcome {
        Outcome::Success(full) => {
            let rows = full["data"].as_array().cloned().unwrap_or_default();
            let partitions = full["resultSetMetaData"]["partitionInfo"].as_array().map(|p| p.len()).unwrap_or(1);
            if partition >= partitions {
                return failure(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &SfError::new("391904", "22000", model::ErrorKind::InvalidArgument, format!("Partition {partition} does not exist; the result has {partitions}.")),
                    Some(handle),
                );
            }
            let mut body = (*full).clone();
            body["data"] = Value::Array(rows.into_iter().skip(partition * PARTITION_ROWS).take(PARTITION_ROWS).collect());
            reply(StatusCode::OK, body)
        }
        Outcome::Failure(e) if e.kind == model::ErrorKind::Cancelled => failure(StatusCode::UNPROCESSABLE_ENTITY, &e, Some(handle)),
        Outcome::Failure(e) if e.code == "000630" => failure(StatusCode::REQUEST_TIMEOUT, &e, Some(handle)),
        Outcome::Failure(e) if e.kind == model::ErrorKind::Internal => failure(StatusCode::INTERNAL_SERVER_ERROR, &e, Some(handle)),
        Outcome::Failure(e) => failure(StatusCode::UNPROCESSABLE_ENTITY, &e, Some(handle)),
    }
}

fn not_found(handle: &str) -> Response {
    reply(StatusCode::NOT_FOUND, json!({"code": "000709", "sqlState": "02000", "message": format!("Statement {handle} not found."), "statementHandle": handle}))
}

/// `GET /api/v2/statements/{handle}`: 202 while running, then the result (or one partition of it).
pub async fn status(State(state): State<AppState>, Path(handle): Path<String>, Query(params): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    if let Err(r) = authenticate(&state, &headers).await {
        return r;
    }
    let Some(query) = state.queries.get(&handle) else { return not_found(&handle) };
    let partition = params.get("partition").and_then(|p| p.parse().ok()).unwrap_or(0);
    match query.wait(Duration::from_millis(0)).await {
        Some(outcome) => respond(outcome, &handle, partition),
        None => running(&handle),
    }
}

/// `POST /api/v2/statements/{handle}/cancel`.
pub async fn cancel(State(state): State<AppState>, Path(handle): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = authenticate(&state, &headers).await {
        return r;
    }
    let Some(query) = state.queries.get(&handle) else { return not_found(&handle) };
    query.cancel.cancel();
    reply(
        StatusCode::OK,
        json!({"code": "000604", "sqlState": "57014", "message": "successfully canceled", "statementHandle": handle, "statementStatusUrl": status_url(&handle)}),
    )
}
