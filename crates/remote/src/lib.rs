//! floe-remote: the HTTP side of external functions and service functions (spcs.md §9.2, §10.3-10.6).
//!
//! One `Call` is one function in one statement. `Call::run` takes the rows of one input batch (each
//! row's arguments already written as JSON), cuts them into batches of at most `max_batch_rows`, sends
//! them as `{"data": [[row, args…], …]}` with a bounded number in flight, and returns one JSON value per
//! row in row order. Per batch: 200 completes it; 202 starts polling with GET and the same batch id
//! (delay starting short, doubling); transport errors, 429 and 5xx are retried with backoff and the same
//! batch id (429 also lowers the call's concurrency); anything else, a malformed body, a wrong row count,
//! rows out of order, a body over 10 MB or a Content-MD5 mismatch fails the batch, and a failed batch
//! either fails the statement (`OnFailure::Abort`) or gives NULL for its rows (`OnFailure::ReturnNull`).
//!
//! No DataFusion, no catalog: floe-sql turns Arrow arrays into the rows' JSON text and the values back.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Snowflake's bound on one batch's response body.
pub const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

/// What happens to a batch that failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Fail the statement.
    Abort,
    /// NULL for every row of the batch.
    ReturnNull,
}

/// How a function is called: the definition's part of every request.
#[derive(Debug, Clone)]
pub struct Function {
    /// Upper-case name (`EXT_FUNC`), for headers and messages.
    pub name: String,
    /// `(A NUMBER, B VARCHAR)`.
    pub signature: String,
    /// `VARCHAR(134217728)`.
    pub return_type: String,
    /// More headers, sent on every request (sf-custom-*, sf-context-*, x-api-key).
    pub headers: Vec<(String, String)>,
    /// At most this many rows per batch.
    pub max_batch_rows: usize,
    /// Retries of one batch (None: until the timeout, as for external functions).
    pub max_retries: Option<u32>,
    /// After a batch failed for good.
    pub on_failure: OnFailure,
    /// Bound of one batch, retries and polling included (10 minutes for external functions,
    /// BATCH_TIMEOUT_SECS for service functions).
    pub timeout: Duration,
    /// gzip request bodies (COMPRESSION = GZIP/AUTO).
    pub gzip: bool,
    /// REQUEST_TRANSLATOR: turns the event `{"body": {"data": …}, "serviceUrl": …, "contextHeaders": {…}}`
    /// into `{"body": <what is sent>, "urlSuffix": <appended to the URL>, "translatorData": <kept>}`.
    pub request_translator: Option<Translator>,
    /// RESPONSE_TRANSLATOR: turns `{"body": <the 200 answer>, "translatorData": …}` into
    /// `{"body": {"data": [[0, v], …]}}`.
    pub response_translator: Option<Translator>,
    /// Checks a request translator's `urlSuffix` against the function's integration (allowed and
    /// blocked prefixes of the URL as written, before FLOE_EXTERNAL_URL_MAP); None allows any suffix.
    pub suffix_check: Option<SuffixCheck>,
}

/// See `Function::suffix_check`.
#[derive(Clone)]
pub struct SuffixCheck(pub Arc<SuffixCheckFn>);

/// The check itself: Ok, or why the suffixed URL is refused.
pub type SuffixCheckFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for SuffixCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SuffixCheck")
    }
}

/// A translator (a JavaScript function in floe-sql): its name for messages and the function itself,
/// run on a blocking thread.
#[derive(Clone)]
pub struct Translator {
    /// `DB.SCHEMA.NAME`.
    pub name: String,
    /// The call.
    pub call: Arc<dyn Fn(Value) -> Result<Value, String> + Send + Sync>,
}

impl std::fmt::Debug for Translator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Translator({})", self.name)
    }
}

/// Timing of the protocol; tests shorten it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// One HTTP request's bound (Snowflake retries a synchronous call taking more than 30 s).
    pub request_timeout: Duration,
    /// First delay between async polls; doubles after every 202 up to `poll_max`.
    pub poll_initial: Duration,
    /// Largest delay between polls.
    pub poll_max: Duration,
    /// First delay before a retry; doubles up to `retry_max`.
    pub retry_initial: Duration,
    /// Largest delay before a retry.
    pub retry_max: Duration,
    /// Batches of one call in flight at most.
    pub max_in_flight: usize,
    /// Certificates (PEM) trusted for https besides the machine's CA store (`FLOE_REMOTE_CA_FILE`).
    pub extra_roots: Vec<reqwest::Certificate>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            request_timeout: Duration::from_secs(30),
            poll_initial: Duration::from_millis(10),
            poll_max: Duration::from_secs(1),
            retry_initial: Duration::from_millis(50),
            retry_max: Duration::from_secs(5),
            max_in_flight: 8,
            extra_roots: Vec::new(),
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The statement was cancelled.
    Cancelled,
    /// Snowflake's message (code 100351).
    Remote(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Cancelled => f.write_str("cancelled"),
            Error::Remote(m) => f.write_str(m),
        }
    }
}

/// Counters of one call, for tests and the query's log line.
#[derive(Debug, Default)]
pub struct Stats {
    /// POSTs sent (retries included).
    pub posts: AtomicU64,
    /// GET polls sent.
    pub polls: AtomicU64,
    /// Retries after transport errors, 429 or 5xx.
    pub retries: AtomicU64,
}

/// The certificates of a PEM file (one or more), for `Settings::extra_roots`.
pub fn parse_roots(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the PEM file".into());
    }
    Ok(certs)
}

/// The HTTP clients (one that asks for gzip responses, one that does not). Cheap to clone.
#[derive(Clone)]
pub struct Client {
    gzip: reqwest::Client,
    plain: reqwest::Client,
    /// Timing.
    pub settings: Settings,
}

impl Client {
    /// Builds the clients.
    pub fn new(settings: Settings) -> Client {
        let build = |gzip: bool| {
            let mut builder = reqwest::Client::builder().user_agent("snowflake/1.0").gzip(gzip).pool_max_idle_per_host(64).tcp_nodelay(true);
            for cert in &settings.extra_roots {
                builder = builder.add_root_certificate(cert.clone());
            }
            builder.build().expect("an HTTP client with parsed root certificates builds")
        };
        Client { gzip: build(true), plain: build(false), settings }
    }
}

/// One function called by one statement: its targets, batch numbering, concurrency and cancellation.
pub struct Call {
    client: Client,
    function: Arc<Function>,
    targets: Vec<String>,
    query_id: String,
    invocation: AtomicU64,
    next_target: AtomicU64,
    limiter: Limiter,
    cancel: CancellationToken,
    /// Counters.
    pub stats: Stats,
}

impl Call {
    /// A call of `function` at `targets` (full URLs; batches are spread over them) for query `query_id`.
    pub fn new(client: Client, function: Arc<Function>, targets: Vec<String>, query_id: String, cancel: CancellationToken) -> Call {
        let max = client.settings.max_in_flight.max(1);
        Call {
            client,
            function,
            targets,
            query_id,
            invocation: AtomicU64::new(0),
            next_target: AtomicU64::new(0),
            limiter: Limiter::new(max),
            cancel,
            stats: Stats::default(),
        }
    }

    /// The function.
    pub fn function(&self) -> &Function {
        &self.function
    }

    /// Calls the function for `rows` (each row's arguments as JSON text, comma-separated, without
    /// brackets: `10,"Alex"`; empty for no arguments) and returns one value per row, in order.
    pub async fn run(&self, rows: Vec<String>) -> Result<Vec<Value>, Error> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        if self.targets.is_empty() {
            return Err(Error::Remote(format!("Request failed for external function {}. Error: no endpoint to call", self.function.name)));
        }
        let invocation = self.invocation.fetch_add(1, Ordering::Relaxed) + 1;
        let size = self.function.max_batch_rows.max(1);
        let total = rows.len();
        let mut chunks: Vec<Vec<String>> = Vec::with_capacity(total.div_ceil(size));
        let mut rows = rows.into_iter();
        loop {
            let chunk: Vec<String> = rows.by_ref().take(size).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push(chunk);
        }
        let in_flight = self.client.settings.max_in_flight.max(1);
        let mut results = futures::stream::iter(chunks.into_iter().enumerate().map(|(i, chunk)| self.batch(invocation, i as u64, chunk))).buffered(in_flight);
        let mut out = Vec::with_capacity(total);
        while let Some(values) = results.next().await {
            out.extend(values?);
        }
        Ok(out)
    }

    /// One batch, with its failure policy applied.
    async fn batch(&self, invocation: u64, number: u64, rows: Vec<String>) -> Result<Vec<Value>, Error> {
        match self.batch_attempts(invocation, number, &rows).await {
            Ok(values) => Ok(values),
            Err(Error::Cancelled) => Err(Error::Cancelled),
            Err(e) if self.function.on_failure == OnFailure::ReturnNull => {
                tracing::warn!(function = %self.function.name, error = %e, "batch failed; ON_BATCH_FAILURE = RETURN_NULL");
                Ok(vec![Value::Null; rows.len()])
            }
            Err(e) => Err(e),
        }
    }

    fn body(rows: &[String]) -> String {
        let mut body = String::with_capacity(rows.iter().map(|r| r.len() + 12).sum::<usize>() + 12);
        body.push_str("{\"data\":[");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            let _ = write!(body, "[{i}");
            if !row.is_empty() {
                body.push(',');
                body.push_str(row);
            }
            body.push(']');
        }
        body.push_str("]}");
        body
    }

    fn remote(&self, detail: impl std::fmt::Display) -> Error {
        Error::Remote(format!("Request failed for external function {}. Error: {detail}", self.function.name))
    }

    fn parse_error(&self, detail: impl std::fmt::Display) -> Error {
        Error::Remote(format!("Error parsing JSON response for external function {}. Error: {detail}", self.function.name))
    }

    async fn batch_attempts(&self, invocation: u64, number: u64, rows: &[String]) -> Result<Vec<Value>, Error> {
        let f = &self.function;
        let deadline = Instant::now() + f.timeout;
        let batch_id = format!("{}:{invocation}:{}:0:0", self.query_id, number + 1);
        let target = &self.targets[(self.next_target.fetch_add(1, Ordering::Relaxed) % self.targets.len() as u64) as usize];
        let body = Self::body(rows);
        let (target, body, translator_data) = match &f.request_translator {
            None => (target.clone(), body, Value::Null),
            Some(t) => {
                let data: Value = serde_json::from_str(&body).map_err(|e| self.remote(e))?;
                let context: serde_json::Map<String, Value> =
                    f.headers.iter().filter(|(k, _)| k.starts_with("sf-context-") && !k.ends_with("-base64")).map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
                let out = self.translate(t, json!({"body": data, "serviceUrl": target, "contextHeaders": context})).await?;
                let suffix = match out.get("urlSuffix") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                let body = match out.get("body") {
                    Some(b) => b.to_string(),
                    None => return Err(self.remote(format!("request translator {} returned no \"body\"", t.name))),
                };
                let url = self.suffixed(target, &suffix)?;
                (url, body, out.get("translatorData").cloned().unwrap_or(Value::Null))
            }
        };
        let target = &target;
        let body: Vec<u8> = if f.gzip {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = enc.write_all(body.as_bytes());
            enc.finish().map_err(|e| self.remote(e))?
        } else {
            body.into_bytes()
        };
        let mut retries = 0u32;
        let mut retry_delay = self.client.settings.retry_initial;
        let mut poll_delay = self.client.settings.poll_initial;
        let mut polling = false;
        loop {
            if Instant::now() >= deadline {
                return Err(self.remote("Timeout was reached"));
            }
            let outcome = self.request(target, &batch_id, if polling { None } else { Some(reqwest::Body::from(body.clone())) }, deadline).await?;
            let retry = match outcome {
                Outcome::Done(bytes, md5) => {
                    self.check_md5(&bytes, md5.as_deref())?;
                    let parsed: Value = serde_json::from_slice(&bytes).map_err(|_| {
                        Error::Remote(format!("Error parsing JSON response for external function {}. Error: Error parsing JSON: Invalid response", f.name))
                    })?;
                    let parsed = match &f.response_translator {
                        None => parsed,
                        Some(t) => {
                            let out = self.translate(t, json!({"body": parsed, "translatorData": translator_data})).await?;
                            match out {
                                Value::Object(mut o) => o.remove("body").unwrap_or(Value::Null),
                                _ => Value::Null,
                            }
                        }
                    };
                    return self.decode(&parsed, rows.len());
                }
                Outcome::Pending => {
                    polling = true;
                    self.sleep(poll_delay.min(deadline.saturating_duration_since(Instant::now()))).await?;
                    poll_delay = (poll_delay * 2).min(self.client.settings.poll_max);
                    continue;
                }
                Outcome::Retry(why) => why,
                Outcome::Failed(status, text) => {
                    return Err(Error::Remote(format!(
                        "Request failed for external function {} with remote service error: {status} '{text}'",
                        f.name
                    )));
                }
            };
            retries += 1;
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            if f.max_retries.is_some_and(|max| retries > max) {
                return Err(self.remote(retry));
            }
            tracing::debug!(function = %f.name, batch = %batch_id, %retry, "retrying");
            let wait = retry_delay.min(deadline.saturating_duration_since(Instant::now()));
            self.sleep(wait).await?;
            retry_delay = (retry_delay * 2).min(self.client.settings.retry_max);
        }
    }

    async fn sleep(&self, d: Duration) -> Result<(), Error> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel.cancelled() => Err(Error::Cancelled),
        }
    }

    /// One POST (with a body) or poll (GET, without).
    async fn request(&self, target: &str, batch_id: &str, body: Option<reqwest::Body>, deadline: Instant) -> Result<Outcome, Error> {
        let f = &self.function;
        let _permit = tokio::select! {
            p = self.limiter.acquire() => p,
            _ = self.cancel.cancelled() => return Err(Error::Cancelled),
        };
        let client = if f.gzip { &self.client.gzip } else { &self.client.plain };
        let polling = body.is_none();
        let mut req = match body {
            Some(b) => {
                self.stats.posts.fetch_add(1, Ordering::Relaxed);
                let r = client.post(target).body(b).header("content-type", "application/json");
                if f.gzip { r.header("content-encoding", "gzip") } else { r }
            }
            None => {
                self.stats.polls.fetch_add(1, Ordering::Relaxed);
                client.get(target)
            }
        };
        let timeout = self.client.settings.request_timeout.min(deadline.saturating_duration_since(Instant::now())).max(Duration::from_millis(1));
        req = req
            .timeout(timeout)
            .header("accept", "*/*")
            .header("sf-external-function-format", "json")
            .header("sf-external-function-format-version", "1.0")
            .header("sf-external-function-current-query-id", &self.query_id)
            .header("sf-external-function-query-batch-id", batch_id);
        for (key, value) in [("name", &f.name), ("signature", &f.signature), ("return-type", &f.return_type)] {
            req = req
                .header(format!("sf-external-function-{key}"), header_text(value))
                .header(format!("sf-external-function-{key}-base64"), base64::engine::general_purpose::STANDARD.encode(value));
        }
        for (k, v) in &f.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let sent = tokio::select! {
            r = req.send() => r,
            _ = self.cancel.cancelled() => return Err(Error::Cancelled),
        };
        let mut response = match sent {
            Ok(r) => r,
            Err(e) if e.is_builder() => return Err(self.remote(format!("invalid URL {target}"))),
            // A certificate the machine does not trust will not become trusted by retrying.
            Err(e) if transport_text(&e).contains("invalid peer certificate") => return Err(self.remote(format!("TLS handshake with {target} failed: {}", transport_text(&e)))),
            Err(e) => return Ok(Outcome::Retry(if e.is_timeout() { "Timeout was reached".into() } else { transport_text(&e) })),
        };
        let status = response.status().as_u16();
        if status == 202 {
            return Ok(Outcome::Pending);
        }
        let md5 = response.headers().get("content-md5").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut bytes = Vec::new();
        loop {
            let chunk = tokio::select! {
                c = response.chunk() => c,
                _ = self.cancel.cancelled() => return Err(Error::Cancelled),
            };
            match chunk {
                Ok(Some(c)) => {
                    bytes.extend_from_slice(&c);
                    if bytes.len() > MAX_RESPONSE_BYTES {
                        return Err(self.remote(format!("Response size exceeds the limit of {MAX_RESPONSE_BYTES} bytes")));
                    }
                }
                Ok(None) => break,
                Err(e) => return Ok(Outcome::Retry(transport_text(&e))),
            }
        }
        if status == 429 {
            self.limiter.slow_down();
            return Ok(Outcome::Retry(format!("{status} '{}'", snippet(&bytes))));
        }
        if status >= 500 {
            return Ok(Outcome::Retry(format!("{status} '{}'", snippet(&bytes))));
        }
        if status != 200 {
            return Ok(Outcome::Failed(status, snippet(&bytes)));
        }
        let _ = polling;
        self.limiter.success();
        Ok(Outcome::Done(bytes, md5))
    }

    /// The URL with a request translator's `urlSuffix`: allowed by the integration, and on the same
    /// scheme, host and port as the function's own URL (a suffix may change the path and query only,
    /// so the integration's API key never goes to another host).
    fn suffixed(&self, target: &str, suffix: &str) -> Result<String, Error> {
        if suffix.is_empty() {
            return Ok(target.to_string());
        }
        let url = format!("{target}{suffix}");
        let refuse = |why: String| self.remote(format!("urlSuffix '{suffix}' of the request translator: {why}"));
        if let Some(check) = &self.function.suffix_check {
            (check.0)(suffix).map_err(refuse)?;
        }
        let (Ok(base), Ok(full)) = (reqwest::Url::parse(target), reqwest::Url::parse(&url)) else {
            return Err(refuse(format!("'{url}' is not a valid URL")));
        };
        if (base.scheme(), base.host_str(), base.port_or_known_default()) != (full.scheme(), full.host_str(), full.port_or_known_default())
            || !full.username().is_empty()
            || full.password().is_some()
        {
            return Err(refuse(format!("'{url}' is not on the function's host")));
        }
        Ok(url)
    }

    /// Runs a translator on a blocking thread; its failure fails the batch.
    async fn translate(&self, t: &Translator, event: Value) -> Result<Value, Error> {
        let call = t.call.clone();
        let run = tokio::task::spawn_blocking(move || call(event));
        let out = tokio::select! {
            r = run => r.map_err(|e| self.remote(e))?,
            _ = self.cancel.cancelled() => return Err(Error::Cancelled),
        };
        out.map_err(|e| self.remote(format!("translator {} failed: {e}", t.name)))
    }

    fn check_md5(&self, bytes: &[u8], md5: Option<&str>) -> Result<(), Error> {
        if let Some(expected) = md5 {
            use md5::{Digest, Md5};
            let actual = base64::engine::general_purpose::STANDARD.encode(Md5::digest(bytes));
            if actual != expected.trim() {
                return Err(self.remote(format!("Content-MD5 mismatch: the header says '{}', the body's digest is '{actual}'", expected.trim())));
            }
        }
        Ok(())
    }

    /// A 200 body (after the response translator): `{"data": [[0, v], [1, v], …]}`, one row per input
    /// row, in order.
    fn decode(&self, parsed: &Value, rows: usize) -> Result<Vec<Value>, Error> {
        let Some(data) = parsed.get("data").and_then(Value::as_array) else {
            return Err(self.parse_error("top-level JSON object must contain \"data\" JSON array element"));
        };
        if data.len() != rows {
            return Err(self.parse_error(format!("Function received the wrong number of rows (expected {rows}, got {})", data.len())));
        }
        let mut out = Vec::with_capacity(rows);
        for (i, row) in data.iter().enumerate() {
            let Some(cells) = row.as_array() else {
                return Err(self.parse_error("Format of the returned value is not JSON"));
            };
            if cells.len() != 2 {
                return Err(self.parse_error("Format of the returned value is not JSON"));
            }
            if cells[0].as_u64() != Some(i as u64) {
                return Err(self.parse_error("Row numbers out of order"));
            }
            out.push(cells[1].clone());
        }
        Ok(out)
    }
}

enum Outcome {
    Done(Vec<u8>, Option<String>),
    Pending,
    Retry(String),
    Failed(u16, String),
}

fn transport_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// A response body as Snowflake quotes it in errors (at most 1,000 characters).
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(1000) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A header value: each run of characters illegal in header values (controls, non-ASCII) becomes one
/// space (spcs.md §9.3).
pub fn header_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_run = false;
    for ch in value.chars() {
        if (' '..='~').contains(&ch) || ch == '\t' {
            out.push(ch);
            in_run = false;
        } else if !in_run {
            out.push(' ');
            in_run = true;
        }
    }
    out
}

/// Concurrency of one call: additive increase after successes, halved on 429.
struct Limiter {
    state: Mutex<LimiterState>,
    notify: Notify,
    max: usize,
}

struct LimiterState {
    limit: usize,
    in_flight: usize,
    successes: usize,
}

struct Permit<'a>(&'a Limiter);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.state.lock().in_flight -= 1;
        self.0.notify.notify_waiters();
    }
}

impl Limiter {
    fn new(max: usize) -> Limiter {
        Limiter { state: Mutex::new(LimiterState { limit: max, in_flight: 0, successes: 0 }), notify: Notify::new(), max }
    }

    async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.state.lock();
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Permit(self);
                }
            }
            notified.await;
        }
    }

    fn slow_down(&self) {
        let mut s = self.state.lock();
        s.limit = (s.limit / 2).max(1);
        s.successes = 0;
    }

    fn success(&self) {
        let mut s = self.state.lock();
        if s.limit < self.max {
            s.successes += 1;
            if s.successes >= s.limit {
                s.limit += 1;
                s.successes = 0;
                drop(s);
                self.notify.notify_waiters();
            }
        }
    }

    #[cfg(test)]
    fn limit(&self) -> usize {
        self.state.lock().limit
    }
}

#[cfg(test)]
mod tests;
