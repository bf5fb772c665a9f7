//! The reference asynchronous remote service (Snowflake's "Sample Asynchronous Remote Service", in std
//! Rust): what an external function or service function calls when one batch takes longer than a
//! synchronous HTTP call should.
//!
//! - POST <path>: records the batch under its `sf-external-function-query-batch-id`, queues it for the
//!   worker, and answers 202 (in progress). With `/mixed`, even-numbered batches are answered at once
//!   with 200 instead (a service may mix both).
//! - the worker threads: sleep `PROCESS_MS` (default 200) per batch, then store the rows: each row's
//!   first argument unchanged (the identity; NULL without arguments).
//! - GET <path> with the same batch id: 202 while the batch is processed, 200 with `{"data": …}` when
//!   done (the entry is then removed), 400 for a batch id it does not know.
//! - a janitor drops batches nobody collected after `EXPIRY_SECS` (default 600: Snowflake gives up
//!   after 10 minutes).
//!
//! Request bodies may be gzip-compressed (`Content-Encoding: gzip`, what COMPRESSION = AUTO sends).
//!
//! Environment: SERVER_PORT (8000), PROCESS_MS, EXPIRY_SECS, WORKERS (4).

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{env_or, read_request_with_headers, respond};

enum Batch {
    Processing,
    Done(String),
}

struct Entry {
    batch: Batch,
    created: Instant,
}

type Storage = Arc<Mutex<HashMap<String, Entry>>>;

/// The rows of a batch's response: row number and the first argument of each row.
fn process(body: &serde_json::Value) -> String {
    let rows: Vec<serde_json::Value> = body["data"]
        .as_array()
        .map(|rows| rows.iter().map(|row| serde_json::json!([row[0].clone(), row.get(1).cloned().unwrap_or(serde_json::Value::Null)])).collect())
        .unwrap_or_default();
    serde_json::json!({ "data": rows }).to_string()
}

pub fn run() -> i32 {
    let port = env_or("SERVER_PORT", "8000");
    let process_ms: u64 = env_or("PROCESS_MS", "200").parse().unwrap_or(200);
    let expiry = Duration::from_secs(env_or("EXPIRY_SECS", "600").parse().unwrap_or(600));
    let workers: usize = env_or("WORKERS", "4").parse().unwrap_or(4);
    let listener = match TcpListener::bind(("0.0.0.0", port.parse::<u16>().unwrap_or(8000))) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("async-service: cannot listen on {port}: {e}");
            return 1;
        }
    };
    let storage: Storage = Arc::default();
    let (tx, rx) = mpsc::channel::<(String, serde_json::Value)>();
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..workers.max(1) {
        let rx = rx.clone();
        let storage = storage.clone();
        std::thread::spawn(move || {
            loop {
                let job = rx.lock().map(|r| r.recv());
                let Ok(Ok((id, body))) = job else { return };
                std::thread::sleep(Duration::from_millis(process_ms));
                let result = process(&body);
                if let Ok(mut s) = storage.lock()
                    && let Some(e) = s.get_mut(&id)
                {
                    e.batch = Batch::Done(result);
                }
            }
        });
    }
    {
        let storage = storage.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1).min(expiry));
                if let Ok(mut s) = storage.lock() {
                    let before = s.len();
                    s.retain(|_, e| e.created.elapsed() < expiry);
                    if s.len() < before {
                        println!("async-service: expired {} uncollected batch(es)", before - s.len());
                    }
                }
            }
        });
    }
    println!("async-service: listening on port {port} (processing {process_ms} ms per batch, {workers} workers)");
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let storage = storage.clone();
        let tx = tx.clone();
        std::thread::spawn(move || handle(stream, &storage, &tx));
    }
    0
}

fn handle(mut stream: TcpStream, storage: &Storage, tx: &mpsc::Sender<(String, serde_json::Value)>) {
    let Some((method, path, headers, body)) = read_request_with_headers(&mut stream) else { return };
    if method == "GET" && path == "/healthcheck" {
        return respond(&mut stream, "200 OK", "\"ready\"");
    }
    let Some(id) = headers.iter().find(|(k, _)| k == "sf-external-function-query-batch-id").map(|(_, v)| v.clone()) else {
        return respond(&mut stream, "400 Bad Request", "{\"error\":\"missing sf-external-function-query-batch-id\"}");
    };
    match method.as_str() {
        "POST" => {
            let gzip = headers.iter().any(|(k, v)| k == "content-encoding" && v.eq_ignore_ascii_case("gzip"));
            let body = if gzip {
                let mut plain = Vec::new();
                if std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).is_err() {
                    return respond(&mut stream, "400 Bad Request", "{\"error\":\"the gzip body does not decompress\"}");
                }
                plain
            } else {
                body
            };
            let Ok(request) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return respond(&mut stream, "400 Bad Request", "{\"error\":\"the body is not JSON\"}");
            };
            // Batch ids end in `:<batch>:0:0`; /mixed answers even batches synchronously.
            let number: u64 = id.rsplit(':').nth(2).and_then(|n| n.parse().ok()).unwrap_or(1);
            if path.starts_with("/mixed") && number.is_multiple_of(2) {
                return respond(&mut stream, "200 OK", &process(&request));
            }
            if let Ok(mut s) = storage.lock() {
                // A retried POST of a batch already known keeps its state (idempotent by batch id).
                s.entry(id.clone()).or_insert_with(|| {
                    let _ = tx.send((id.clone(), request));
                    Entry { batch: Batch::Processing, created: Instant::now() }
                });
            }
            respond(&mut stream, "202 Accepted", "{}");
        }
        "GET" => {
            let mut s = match storage.lock() {
                Ok(s) => s,
                Err(_) => return respond(&mut stream, "500 Internal Server Error", "{}"),
            };
            match s.get(&id).map(|e| &e.batch) {
                Some(Batch::Processing) => respond(&mut stream, "202 Accepted", "{}"),
                Some(Batch::Done(_)) => {
                    if let Some(Entry { batch: Batch::Done(rows), .. }) = s.remove(&id) {
                        respond(&mut stream, "200 OK", &rows);
                    }
                }
                None => respond(&mut stream, "400 Bad Request", &format!("{{\"error\":\"unknown batch id {id}\"}}")),
            }
        }
        _ => respond(&mut stream, "405 Method Not Allowed", "{}"),
    }
}
