//! The protocol against a local axum server playing remote services.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::*;

#[derive(Default)]
struct Seen {
    /// (method, path, batch id) of every request.
    requests: Vec<(String, String, String)>,
    headers: Vec<HeaderMap>,
    bodies: Vec<Value>,
    /// Per batch id, how many times it was seen.
    counts: HashMap<String, usize>,
}

type Shared = Arc<Mutex<Seen>>;

fn echo_rows(body: &Value) -> Value {
    let rows: Vec<Value> = body["data"].as_array().unwrap().iter().map(|r| json!([r[0], r.get(1).cloned().unwrap_or(Value::Null)])).collect();
    json!({ "data": rows })
}

async fn handler(State(seen): State<Shared>, Path(mode): Path<String>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let batch = headers.get("sf-external-function-query-batch-id").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body: Value = if body.is_empty() {
        Value::Null
    } else if headers.get("content-encoding").is_some() {
        use std::io::Read;
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    let count = {
        let mut s = seen.lock();
        s.requests.push((method.to_string(), mode.clone(), batch.clone()));
        s.headers.push(headers.clone());
        let c = s.counts.entry(batch.clone()).or_default();
        *c += 1;
        let count = *c;
        if method == Method::POST {
            s.bodies.push(body.clone());
        }
        count
    };
    let json_response = |v: Value| (StatusCode::OK, [("content-type", "application/json")], v.to_string()).into_response();
    match mode.as_str() {
        "echo" => json_response(echo_rows(&body)),
        // 202 to the POST and the first two polls, then the rows (kept from the POST).
        "async" => {
            if method == Method::POST {
                seen.lock().bodies.push(json!({ "batch": batch, "rows": echo_rows(&body) }));
                return StatusCode::ACCEPTED.into_response();
            }
            if count < 4 {
                return StatusCode::ACCEPTED.into_response();
            }
            let rows = seen.lock().bodies.iter().find(|b| b["batch"] == json!(batch)).map(|b| b["rows"].clone()).unwrap();
            json_response(rows)
        }
        "flaky" if count <= 2 => (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response(),
        "flaky" => json_response(echo_rows(&body)),
        "throttle" if count == 1 => (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response(),
        "throttle" => json_response(echo_rows(&body)),
        "always500" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "forbidden" => (StatusCode::FORBIDDEN, "{\"Message\":\"no\"}").into_response(),
        "notjson" => (StatusCode::OK, "<html>").into_response(),
        "nodata" => json_response(json!({"rows": []})),
        "short" => {
            let mut v = echo_rows(&body);
            v["data"].as_array_mut().unwrap().pop();
            json_response(v)
        }
        "reversed" => {
            let mut v = echo_rows(&body);
            v["data"].as_array_mut().unwrap().reverse();
            json_response(v)
        }
        "badmd5" => (StatusCode::OK, [("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")], echo_rows(&body).to_string()).into_response(),
        "goodmd5" => {
            use md5::{Digest, Md5};
            let text = echo_rows(&body).to_string();
            let digest = base64::engine::general_purpose::STANDARD.encode(Md5::digest(text.as_bytes()));
            (StatusCode::OK, [("content-md5", digest)], text).into_response()
        }
        "huge" => (StatusCode::OK, "x".repeat(MAX_RESPONSE_BYTES + 10)).into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            json_response(echo_rows(&body))
        }
        "forever" => StatusCode::ACCEPTED.into_response(),
        // A service with its own format, as translators face: {"TextList": [...]} → {"Results": [...]}.
        "native" => json_response(json!({"Results": body["TextList"].as_array().unwrap().iter().map(|t| json!(t.as_str().unwrap().to_uppercase())).collect::<Vec<_>>()})),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn server() -> (String, Shared) {
    let seen: Shared = Default::default();
    let app = Router::new().route("/{mode}", any(handler)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn function(batch: usize) -> Function {
    Function {
        name: "EXT_FUNC".into(),
        signature: "(A VARCHAR)".into(),
        return_type: "VARCHAR(16777216)".into(),
        headers: vec![("sf-custom-volume-measure".into(), "liters".into())],
        max_batch_rows: batch,
        max_retries: None,
        on_failure: OnFailure::Abort,
        timeout: Duration::from_secs(3),
        gzip: false,
        request_translator: None,
        response_translator: None,
        suffix_check: None,
    }
}

fn fast() -> Settings {
    Settings { poll_initial: Duration::from_millis(5), poll_max: Duration::from_millis(20), retry_initial: Duration::from_millis(5), retry_max: Duration::from_millis(20), max_in_flight: 4, ..Settings::default() }
}

fn call(base: &str, mode: &str, f: Function) -> Call {
    Call::new(Client::new(fast()), Arc::new(f), vec![format!("{base}/{mode}")], "01b0-q".into(), CancellationToken::new())
}

fn rows(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("\"r{i}\"")).collect()
}

fn expected(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!(format!("r{i}"))).collect()
}

#[tokio::test]
async fn batches_in_order_with_headers() {
    let (base, seen) = server().await;
    let c = call(&base, "echo", function(3));
    assert_eq!(c.run(rows(10)).await.unwrap(), expected(10));
    let s = seen.lock();
    assert_eq!(s.requests.len(), 4, "10 rows in batches of 3");
    let mut sizes: Vec<usize> = s.bodies.iter().map(|b| b["data"].as_array().unwrap().len()).collect();
    sizes.sort();
    assert_eq!(sizes, vec![1, 3, 3, 3]);
    // Row numbers start at 0 in each batch.
    assert!(s.bodies.iter().all(|b| b["data"][0][0] == json!(0)));
    let h = &s.headers[0];
    assert_eq!(h["sf-external-function-format"], "json");
    assert_eq!(h["sf-external-function-format-version"], "1.0");
    assert_eq!(h["sf-external-function-current-query-id"], "01b0-q");
    assert_eq!(h["sf-external-function-name"], "EXT_FUNC");
    assert_eq!(h["sf-external-function-name-base64"], "RVhUX0ZVTkM=");
    assert_eq!(h["sf-external-function-signature"], "(A VARCHAR)");
    assert_eq!(h["sf-external-function-return-type"], "VARCHAR(16777216)");
    assert_eq!(h["sf-custom-volume-measure"], "liters");
    assert_eq!(h["user-agent"], "snowflake/1.0");
    let mut ids: Vec<&str> = s.requests.iter().map(|r| r.2.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids, vec!["01b0-q:1:1:0:0", "01b0-q:1:2:0:0", "01b0-q:1:3:0:0", "01b0-q:1:4:0:0"]);
}

#[tokio::test]
async fn zero_argument_rows_and_gzip() {
    let (base, seen) = server().await;
    let mut f = function(100);
    f.gzip = true;
    let c = call(&base, "echo", f);
    let out = c.run(vec![String::new(), String::new()]).await.unwrap();
    assert_eq!(out, vec![Value::Null, Value::Null]);
    let s = seen.lock();
    assert_eq!(s.bodies[0], json!({"data": [[0], [1]]}));
    assert_eq!(s.headers[0]["content-encoding"], "gzip");
    assert_eq!(s.headers[0]["accept-encoding"], "gzip");
}

#[tokio::test]
async fn async_batches_poll_with_the_same_batch_id() {
    let (base, seen) = server().await;
    let c = call(&base, "async", function(4));
    assert_eq!(c.run(rows(8)).await.unwrap(), expected(8));
    let s = seen.lock();
    let posts: Vec<_> = s.requests.iter().filter(|r| r.0 == "POST").collect();
    let gets: Vec<_> = s.requests.iter().filter(|r| r.0 == "GET").collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(gets.len(), 6, "two 202 polls then the 200 per batch");
    for g in &gets {
        assert!(posts.iter().any(|p| p.2 == g.2), "a poll names a posted batch");
    }
    assert_eq!(c.stats.polls.load(Ordering::Relaxed), 6);
}

#[tokio::test]
async fn retries_5xx_and_429_with_the_same_batch_id() {
    let (base, seen) = server().await;
    let c = call(&base, "flaky", function(100));
    assert_eq!(c.run(rows(3)).await.unwrap(), expected(3));
    assert_eq!(seen.lock().counts.values().copied().collect::<Vec<_>>(), vec![3]);
    let (base, _) = server().await;
    let c = call(&base, "throttle", function(100));
    assert_eq!(c.run(rows(3)).await.unwrap(), expected(3));
    assert_eq!(c.stats.retries.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn throttling_halves_concurrency() {
    let l = Limiter::new(8);
    l.slow_down();
    assert_eq!(l.limit(), 4);
    l.slow_down();
    l.slow_down();
    l.slow_down();
    assert_eq!(l.limit(), 1);
    l.success();
    assert_eq!(l.limit(), 2);
}

#[tokio::test]
async fn retry_limits() {
    let (base, seen) = server().await;
    let mut f = function(100);
    f.max_retries = Some(2);
    let c = call(&base, "always500", f);
    let e = c.run(rows(1)).await.unwrap_err();
    assert_eq!(e, Error::Remote("Request failed for external function EXT_FUNC. Error: 500 'boom'".into()));
    assert_eq!(seen.lock().requests.len(), 3, "first try and two retries");
    // Without a retry bound, the batch timeout ends it.
    let (base, _) = server().await;
    let mut f = function(100);
    f.timeout = Duration::from_millis(300);
    let c = call(&base, "always500", f);
    let e = c.run(rows(1)).await.unwrap_err();
    assert_eq!(e, Error::Remote("Request failed for external function EXT_FUNC. Error: Timeout was reached".into()));
}

#[tokio::test]
async fn timeouts() {
    let (base, _) = server().await;
    let mut f = function(100);
    f.timeout = Duration::from_millis(200);
    let c = call(&base, "forever", f.clone());
    let e = c.run(rows(1)).await.unwrap_err();
    assert_eq!(e, Error::Remote("Request failed for external function EXT_FUNC. Error: Timeout was reached".into()));
    let c = call(&base, "slow", f);
    let started = std::time::Instant::now();
    let e = c.run(rows(1)).await.unwrap_err();
    assert_eq!(e, Error::Remote("Request failed for external function EXT_FUNC. Error: Timeout was reached".into()));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn failures_are_snowflakes_messages() {
    let (base, _) = server().await;
    let cases = [
        ("forbidden", "Request failed for external function EXT_FUNC with remote service error: 403 '{\"Message\":\"no\"}'"),
        ("notjson", "Error parsing JSON response for external function EXT_FUNC. Error: Error parsing JSON: Invalid response"),
        ("nodata", "Error parsing JSON response for external function EXT_FUNC. Error: top-level JSON object must contain \"data\" JSON array element"),
        ("short", "Error parsing JSON response for external function EXT_FUNC. Error: Function received the wrong number of rows (expected 3, got 2)"),
        ("reversed", "Error parsing JSON response for external function EXT_FUNC. Error: Row numbers out of order"),
        ("huge", "Request failed for external function EXT_FUNC. Error: Response size exceeds the limit of 10485760 bytes"),
    ];
    for (mode, message) in cases {
        let c = call(&base, mode, function(100));
        assert_eq!(c.run(rows(3)).await.unwrap_err(), Error::Remote(message.into()), "{mode}");
    }
    let c = call(&base, "badmd5", function(100));
    let Error::Remote(m) = c.run(rows(3)).await.unwrap_err() else { panic!() };
    assert!(m.starts_with("Request failed for external function EXT_FUNC. Error: Content-MD5 mismatch"), "{m}");
    let c = call(&base, "goodmd5", function(100));
    assert_eq!(c.run(rows(3)).await.unwrap(), expected(3));
}

#[tokio::test]
async fn return_null_on_batch_failure() {
    let (base, _) = server().await;
    let mut f = function(2);
    f.on_failure = OnFailure::ReturnNull;
    f.max_retries = Some(0);
    let c = call(&base, "always500", f);
    assert_eq!(c.run(rows(3)).await.unwrap(), vec![Value::Null; 3]);
}

#[tokio::test]
async fn cancellation_stops_the_call() {
    let (base, _) = server().await;
    let cancel = CancellationToken::new();
    let mut f = function(100);
    f.timeout = Duration::from_secs(60);
    let c = Call::new(Client::new(fast()), Arc::new(f), vec![format!("{base}/forever")], "q".into(), cancel.clone());
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let started = std::time::Instant::now();
    assert_eq!(c.run(rows(1)).await.unwrap_err(), Error::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(2));
    canceller.await.unwrap();
}

#[tokio::test]
async fn batches_spread_over_targets() {
    let (a, seen_a) = server().await;
    let (b, seen_b) = server().await;
    let c = Call::new(Client::new(fast()), Arc::new(function(1)), vec![format!("{a}/echo"), format!("{b}/echo")], "q".into(), CancellationToken::new());
    assert_eq!(c.run(rows(6)).await.unwrap(), expected(6));
    assert_eq!(seen_a.lock().requests.len(), 3);
    assert_eq!(seen_b.lock().requests.len(), 3);
}

#[test]
fn header_text_replaces_runs() {
    assert_eq!(header_text("a\nb"), "a b");
    assert_eq!(header_text("ÄÎß x"), "  x");
    assert_eq!(header_text("plain"), "plain");
}

#[test]
fn extra_roots_must_be_pem_certificates() {
    assert!(crate::parse_roots(b"not a certificate").is_err());
    assert!(crate::parse_roots(b"").is_err());
}

fn translator(name: &str, f: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static) -> Option<Translator> {
    Some(Translator { name: name.into(), call: Arc::new(f) })
}

#[tokio::test]
async fn translators_reshape_the_request_and_the_response_and_keep_translator_data() {
    let (base, seen) = server().await;
    let mut f = function(2);
    f.headers.push(("sf-context-current-user".into(), "ALICE".into()));
    f.request_translator = translator("DB.S.REQ", |event| {
        assert_eq!(event["contextHeaders"]["sf-context-current-user"], json!("ALICE"));
        assert!(event["serviceUrl"].as_str().unwrap().ends_with("/nat"));
        let texts: Vec<Value> = event["body"]["data"].as_array().unwrap().iter().map(|r| r[1].clone()).collect();
        Ok(json!({"body": {"TextList": texts}, "urlSuffix": "ive", "translatorData": event["body"]["data"].as_array().unwrap().len()}))
    });
    f.response_translator = translator("DB.S.RESP", |event| {
        let results = event["body"]["Results"].as_array().unwrap();
        assert_eq!(event["translatorData"], json!(results.len()));
        Ok(json!({"body": {"data": results.iter().enumerate().map(|(i, r)| json!([i, r])).collect::<Vec<_>>()}}))
    });
    let c = call(&base, "nat", f);
    let out = c.run(rows(3)).await.unwrap();
    assert_eq!(out, vec![json!("R0"), json!("R1"), json!("R2")]);
    let s = seen.lock();
    assert!(s.requests.iter().all(|r| r.1 == "native"), "urlSuffix appended: {:?}", s.requests);
    assert!(s.bodies.iter().all(|b| b.get("TextList").is_some()), "translated bodies: {:?}", s.bodies);
}

#[tokio::test]
async fn a_failing_translator_fails_the_batch_with_its_name() {
    let (base, _seen) = server().await;
    let mut f = function(10);
    f.request_translator = translator("DB.S.REQ", |_| Err("JavaScript execution error: Uncaught boom in REQ".into()));
    let err = call(&base, "echo", f).run(rows(1)).await.unwrap_err();
    assert_eq!(err, Error::Remote("Request failed for external function EXT_FUNC. Error: translator DB.S.REQ failed: JavaScript execution error: Uncaught boom in REQ".into()));
    // A suffix may not take the request (and its API key) to another host, nor past the integration.
    // (The function's URL without a path, so that the suffix follows the host directly.)
    for suffix in ["@evil.example/", ".evil.example/", ":9/x"] {
        let mut f = function(10);
        f.request_translator = translator("DB.S.REQ", move |_| Ok(json!({"body": {}, "urlSuffix": suffix})));
        let c = Call::new(Client::new(fast()), Arc::new(f), vec![base.clone()], "01b0-q".into(), CancellationToken::new());
        let err = c.run(rows(1)).await.unwrap_err();
        assert!(matches!(&err, Error::Remote(m) if m.contains("is not on the function's host") || m.contains("is not a valid URL")), "{suffix}: {err:?}");
    }
    // After a path, a suffix stays on the host.
    let mut f = function(10);
    f.request_translator = translator("DB.S.REQ", |e| Ok(json!({"body": e["body"], "urlSuffix": "@elsewhere"})));
    assert!(matches!(call(&base, "echo", f).run(rows(1)).await, Err(Error::Remote(m)) if m.contains("404")));
    let mut f = function(10);
    f.request_translator = translator("DB.S.REQ", |_| Ok(json!({"body": {}, "urlSuffix": "/blocked"})));
    f.suffix_check = Some(SuffixCheck(Arc::new(|s: &str| if s.contains("blocked") { Err("not allowed by the API integration".into()) } else { Ok(()) })));
    let err = call(&base, "echo", f).run(rows(1)).await.unwrap_err();
    assert!(matches!(&err, Error::Remote(m) if m.contains("not allowed by the API integration")), "{err:?}");
    let mut f = function(10);
    f.response_translator = translator("DB.S.RESP", |_| Ok(json!({"body": {"rows": []}})));
    let err = call(&base, "echo", f).run(rows(1)).await.unwrap_err();
    assert!(matches!(&err, Error::Remote(m) if m.contains("\"data\"")), "{err:?}");
}
