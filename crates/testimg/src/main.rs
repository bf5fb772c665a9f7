//! `floe-testimg`: the program inside floe's test and quickstart images (scripts/build-test-images.sh
//! packs it with its shared libraries into a `FROM scratch`-style image, since no image can be pulled).
//! It plays the parts of Snowflake's "Service-to-Service Communications" tutorial and of the runtime
//! tests, with std only (no async runtime, no HTTP library):
//!
//! - `echo-server`: the tutorial's echo service on $SERVER_PORT (8000): `POST /echo` answers
//!   `{"data": [[0, "Hello"]]}` with `{"data": [[0, "<CHARACTER_NAME> said Hello"]]}`; `GET /healthcheck`;
//!   `GET /ui` (the tutorial's page); `GET /ws` (a WebSocket answering each text message with
//!   `<CHARACTER_NAME> heard <message>`) and `GET /ws-page` (a page that talks to it, for the browser test).
//! - `async-server`: the reference asynchronous remote service (examples/async-remote-service):
//!   POST answers 202 and hands the batch to a worker, GET answers 202 until the batch is done, then
//!   200 with its rows; see async_service.rs.
//! - `echo-client`: the tutorial's job: POSTs `{"data": [[0, "Hello"]]}` to $SERVICE_URL, logs both
//!   lines, exits 0 (1 when the call fails after retries).
//! - `log-flood N`: writes N numbered lines to stdout as fast as it can, then exits.
//! - `exit CODE [SECS]`, `sleep SECS`, `env`: exit with a code (after SECS), sleep, print the environment.
//! - `write PATH TEXT`, `cat PATH`, `wait-cat PATH` (waits for the file), `boot-count PATH` (appends a
//!   line to PATH, prints `boot-count N`, then serves as echo-server): the volume tests.

mod async_service;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("echo-server") => echo_server(),
        Some("echo-client") => echo_client(),
        Some("async-server") => async_service::run(),
        Some("log-flood") => log_flood(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000)),
        Some("exit") => {
            if let Some(secs) = args.get(2).and_then(|s| s.parse::<u64>().ok()) {
                std::thread::sleep(Duration::from_secs(secs));
            }
            println!("exiting with {}", args.get(1).map(String::as_str).unwrap_or("0"));
            args.get(1).and_then(|c| c.parse().ok()).unwrap_or(0)
        }
        Some("write") => match (args.get(1), args.get(2)) {
            (Some(path), Some(text)) => match std::fs::write(path, format!("{text}\n")) {
                Ok(()) => {
                    println!("wrote {path}");
                    0
                }
                Err(e) => {
                    eprintln!("cannot write {path}: {e}");
                    1
                }
            },
            _ => 2,
        },
        Some("cat") => match args.get(1).map(std::fs::read_to_string) {
            Some(Ok(text)) => {
                print!("{text}");
                0
            }
            Some(Err(e)) => {
                eprintln!("cannot read: {e}");
                1
            }
            None => 2,
        },
        Some("wait-cat") => match args.get(1) {
            // Waits (up to 60 s) for a file another container of the instance writes, then prints it.
            Some(path) => {
                let mut code = 1;
                for _ in 0..600 {
                    if let Ok(text) = std::fs::read_to_string(path) {
                        print!("{text}");
                        code = 0;
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                if code != 0 {
                    eprintln!("{path} never appeared");
                }
                code
            }
            None => 2,
        },
        Some("boot-count") => match args.get(1) {
            // Appends a line to PATH, prints how many starts it records, then serves as echo-server.
            Some(path) => {
                let appended = std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| f.write_all(b"start\n"));
                match appended.and_then(|()| std::fs::read_to_string(path)) {
                    Ok(text) => {
                        println!("boot-count {}", text.lines().count());
                        let _ = std::io::stdout().flush();
                        echo_server()
                    }
                    Err(e) => {
                        eprintln!("cannot count starts in {path}: {e}");
                        1
                    }
                }
            }
            None => 2,
        },
        Some("sleep") => {
            std::thread::sleep(Duration::from_secs(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3600)));
            0
        }
        Some("env") => {
            let mut vars: Vec<(String, String)> = std::env::vars().collect();
            vars.sort();
            for (k, v) in vars {
                println!("{k}={v}");
            }
            for path in ["/snowflake/session/token"] {
                println!("{path} exists: {}", std::path::Path::new(path).exists());
            }
            0
        }
        _ => {
            eprintln!("usage: floe-testimg echo-server | async-server | echo-client | log-flood N | exit CODE [SECS] | sleep SECS | env | write PATH TEXT | cat PATH | wait-cat PATH | boot-count PATH");
            2
        }
    };
    std::process::exit(code);
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

/// Reads one HTTP/1.1 request: (method, path, headers with lower-case names, body).
pub(crate) fn read_request_with_headers(stream: &mut TcpStream) -> Option<(String, String, Vec<(String, String)>, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, headers, body))
}

pub(crate) fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
}

fn echo_server() -> i32 {
    let port = env_or("SERVER_PORT", "8000");
    let name = env_or("CHARACTER_NAME", "I");
    let listener = match TcpListener::bind(("0.0.0.0", port.parse::<u16>().unwrap_or(8000))) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("echo-service: cannot listen on {port}: {e}");
            return 1;
        }
    };
    println!("echo-service: listening on port {port}");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let Some((method, path, headers, body)) = read_request_with_headers(&mut stream) else { continue };
        match (method.as_str(), path.as_str()) {
            ("GET", "/healthcheck") => respond(&mut stream, "200 OK", "\"I'm ready!\""),
            // The tutorial's web page (spcs.md §11: `https://<ingress_url>/ui`), greeting the caller the
            // ingress names in Sf-Context-Current-User.
            ("GET", "/ui") | ("POST", "/ui") => {
                let user = headers.iter().find(|(k, _)| k == "sf-context-current-user").map(|(_, v)| v.as_str()).unwrap_or("nobody");
                let input = String::from_utf8_lossy(&body).split('&').find_map(|kv| kv.strip_prefix("input=")).map(form_decode);
                let said = input.map(|i| format!("<p id=\"output\">{} said {}</p>", html_escape(&name), html_escape(&i))).unwrap_or_default();
                let page = format!(
                    "<!DOCTYPE html><html><head><title>Welcome to echo service!</title></head><body>\
                     <h1 id=\"greeting\">Hello {}, from {}!</h1>\
                     <form method=\"post\" action=\"/ui\"><input id=\"input\" name=\"input\"><button id=\"submit\" type=\"submit\">Submit</button></form>{said}</body></html>",
                    html_escape(user),
                    html_escape(&name)
                );
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nServer: floe-testimg\r\nX-Powered-By: floe-testimg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
            }
            ("GET", "/ws") => match headers.iter().find(|(k, _)| k == "sec-websocket-key") {
                Some((_, key)) => {
                    use base64::Engine as _;
                    use sha1::Digest as _;
                    let accept = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes()));
                    let _ = write!(stream, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
                    let name = name.clone();
                    std::thread::spawn(move || websocket_echo(stream, &name));
                }
                None => respond(&mut stream, "400 Bad Request", "\"not a WebSocket handshake\""),
            },
            ("GET", "/ws-page") => {
                let page = "<!DOCTYPE html><html><head><title>ws:connecting</title></head><body><p id=\"reply\"></p><script>\
                    var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');\
                    ws.onopen = function () { ws.send('hello over a websocket'); };\
                    ws.onmessage = function (e) { document.getElementById('reply').textContent = e.data; document.title = 'ws:done'; };\
                    ws.onerror = function () { document.title = 'ws:error'; };\
                    </script></body></html>";
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}", page.len());
            }
            // What the service received: the request's headers as JSON (ingress tests), with headers the
            // ingress must strip.
            (_, "/headers") => {
                let map: serde_json::Map<String, serde_json::Value> = headers.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
                let body = serde_json::json!({ "method": method, "headers": map }).to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: floe-testimg\r\nX-Powered-By: floe-testimg\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            ("POST", "/echo") => {
                let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                println!("echo-service: Received request: {request}");
                let rows: Vec<serde_json::Value> = request["data"]
                    .as_array()
                    .map(|rows| {
                        rows.iter()
                            .map(|row| serde_json::json!([row[0].clone(), format!("{name} said {}", row[1].as_str().unwrap_or(""))]))
                            .collect()
                    })
                    .unwrap_or_default();
                let response = serde_json::json!({ "data": rows }).to_string();
                println!("echo-service: Sending response: {response}");
                respond(&mut stream, "200 OK", &response);
            }
            _ => respond(&mut stream, "404 Not Found", "{}"),
        }
        let _ = std::io::stdout().flush();
    }
    0
}

/// RFC 6455 frames after the handshake: each text or binary message is answered with a text frame
/// `<name> heard <message>`, a ping with a pong, a close with a close.
fn websocket_echo(mut stream: TcpStream, name: &str) {
    let read_frame = |stream: &mut TcpStream| -> Option<(u8, Vec<u8>)> {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).ok()?;
        let opcode = head[0] & 0x0f;
        let masked = head[1] & 0x80 != 0;
        let mut len = (head[1] & 0x7f) as u64;
        if len == 126 {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext).ok()?;
            len = u16::from_be_bytes(ext) as u64;
        } else if len == 127 {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext).ok()?;
            len = u64::from_be_bytes(ext);
        }
        let mut mask = [0u8; 4];
        if masked {
            stream.read_exact(&mut mask).ok()?;
        }
        let mut payload = vec![0u8; usize::try_from(len).ok().filter(|l| *l <= 1 << 20)?];
        stream.read_exact(&mut payload).ok()?;
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        Some((opcode, payload))
    };
    let send = |stream: &mut TcpStream, opcode: u8, payload: &[u8]| -> bool {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(n as u8),
            n if n <= u16::MAX as usize => {
                frame.push(126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(payload);
        stream.write_all(&frame).is_ok()
    };
    while let Some((opcode, payload)) = read_frame(&mut stream) {
        let ok = match opcode {
            1 | 2 => {
                let text = String::from_utf8_lossy(&payload);
                println!("echo-service: websocket message: {text}");
                let _ = std::io::stdout().flush();
                send(&mut stream, 1, format!("{name} heard {text}").as_bytes())
            }
            9 => send(&mut stream, 10, &payload),
            8 => {
                send(&mut stream, 8, &payload);
                false
            }
            _ => true,
        };
        if !ok {
            break;
        }
    }
}

/// `application/x-www-form-urlencoded` value decoding (`+` and `%XX`).
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or(()) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn echo_client() -> i32 {
    let url = env_or("SERVICE_URL", "http://echo-service:8000/echo");
    let Some(rest) = url.strip_prefix("http://") else {
        eprintln!("echo-client: SERVICE_URL must be http://host:port/path, got {url}");
        return 1;
    };
    let (hostport, path) = rest.split_once('/').map(|(h, p)| (h.to_string(), format!("/{p}"))).unwrap_or((rest.to_string(), "/".into()));
    let body = r#"{"data": [[0, "Hello"]]}"#;
    println!("echo-client: Calling {url} with {body}");
    for attempt in 1..=30 {
        match TcpStream::connect(&hostport) {
            Ok(mut stream) => {
                let _ = write!(stream, "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let mut response = String::new();
                let _ = stream.read_to_string(&mut response);
                let payload = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
                println!("echo-client: Received response: {payload}");
                return if response.starts_with("HTTP/1.1 200") { 0 } else { 1 };
            }
            Err(e) => {
                eprintln!("echo-client: attempt {attempt}: cannot connect to {hostport}: {e}");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    1
}

fn log_flood(n: u64) -> i32 {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    for i in 0..n {
        let _ = writeln!(out, "line {i}");
    }
    let _ = out.flush();
    0
}
