//! Request decoding (gzip bodies, auth header) and the one place `SfError` becomes the wire's error body.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_ENCODING};
use model::SfError;
use serde_json::{Value, json};

/// Decodes a request body that may be gzip-compressed (the Python connector compresses every POST).
pub fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, SfError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    let gzip = headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("gzip"))
        || body.starts_with(&[0x1f, 0x8b]);
    let bytes = if gzip {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut out)
            .map_err(|e| SfError::new("390400", "08000", model::ErrorKind::InvalidArgument, format!("Invalid request body: {e}")))?;
        out
    } else {
        body.to_vec()
    };
    serde_json::from_slice(&bytes).map_err(|e| SfError::new("390400", "08000", model::ErrorKind::InvalidArgument, format!("Invalid request body: {e}")))
}

/// The session token from `Authorization: Snowflake Token="…"`.
pub fn token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let rest = value.trim().strip_prefix("Snowflake Token=\"")?;
    Some(rest.trim_end_matches('"').to_string())
}

/// The connector's error body for `err` (sent with HTTP 200).
pub fn error_body(err: &SfError, query_id: Option<&str>) -> Value {
    json!({
        "data": {
            "internalError": matches!(err.kind, model::ErrorKind::Internal),
            "errorCode": err.code,
            "age": 0,
            "sqlState": err.sql_state,
            "queryId": query_id,
            "line": -1,
            "pos": -1,
            "type": "COMPILATION",
        },
        "code": err.code,
        "message": err.message,
        "success": false,
        "headers": null,
    })
}

/// A success envelope.
pub fn ok_body(data: Value) -> Value {
    json!({"data": data, "code": null, "message": null, "success": true})
}
