//! The ingress in process: a fake authority and a local upstream that echoes what it received.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::*;

const HOST: &str = "abcd1234-floe.localhost:9";

struct Fake {
    upstream: String,
}

#[async_trait::async_trait]
impl IngressAuthority for Fake {
    fn endpoint(&self, host: &str) -> Option<Endpoint> {
        (host == HOST).then(|| Endpoint {
            name: "DB.S.SVC!ui".into(),
            cors: Some(CorsSettings { allow_origin: vec!["http://app.example".into()], allow_methods: vec!["GET".into()], ..Default::default() }),
        })
    }

    async fn authenticate(&self, credential: &Credential) -> Option<Principal> {
        match credential {
            Credential::Token(t) if t == "pat-alice" => Some(Principal { user: "ALICE".into(), role: "R".into() }),
            Credential::Token(t) if t == "pat-bob" => Some(Principal { user: "BOB".into(), role: "PUBLIC".into() }),
            Credential::Cookie(c) if c == "session-alice" => Some(Principal { user: "ALICE".into(), role: "R".into() }),
            _ => None,
        }
    }

    async fn login(&self, user: &str, password: &str) -> Option<String> {
        (user == "alice" && password == "pw").then(|| "session-alice".to_string())
    }

    async fn logout(&self, _token: &str) {}

    async fn upstream(&self, _host: &str, principal: &Principal) -> Result<String, Refusal> {
        if principal.user == "BOB" { Err(Refusal::Forbidden) } else { Ok(self.upstream.clone()) }
    }
}

/// A container stand-in: `/echo-headers` answers the request's headers as `name: value` lines, with
/// headers the ingress must strip; `/script` answers an executable content type.
async fn upstream() -> String {
    let app = axum::Router::new()
        .route(
            "/echo-headers",
            axum::routing::any(|request: Request<Body>| async move {
                let mut text = format!("{} {}\n", request.method(), request.uri());
                for (k, v) in request.headers() {
                    text.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("?")));
                }
                axum::http::Response::builder()
                    .header("server", "upstream")
                    .header("x-powered-by", "test")
                    .header("access-control-allow-origin", "*")
                    .header("x-app", "kept")
                    .body(Body::from(text))
                    .unwrap()
            }),
        )
        .route("/script", axum::routing::get(|| async { axum::http::Response::builder().header("content-type", "application/x-sh").body(Body::from("rm -rf /")).unwrap() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn ingress() -> axum::Router {
    Ingress::new(Arc::new(Fake { upstream: upstream().await })).router()
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::builder().uri(path).header("host", HOST)
}

#[tokio::test]
async fn unknown_hosts_and_methods() {
    let app = ingress().await;
    let (status, _, body) = send(&app, Request::builder().uri("/").header("host", "other-floe.localhost:9").body(Body::empty()).unwrap()).await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, "Endpoint does not exist"));
    let (status, _, _) = send(&app, get("/").method("TRACE").header("authorization", "Snowflake Token=\"pat-alice\"").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn without_credentials() {
    let app = ingress().await;
    // A program: 401.
    let (status, headers, _) = send(&app, get("/echo-headers").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Snowflake");
    // A browser: the login page, remembering where it was going.
    let (status, headers, _) = send(&app, get("/ui?x=1").header("accept", "text/html,*/*").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "/sfc-endpoint/login?next=%2Fui%3Fx%3D1");
    // A bad token is answered even for a browser.
    let (status, _, _) = send(&app, get("/ui").header("accept", "text/html").header("authorization", "Snowflake Token=\"nope\"").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An unknown cookie: sign in again.
    let (status, _, _) = send(&app, get("/ui").header("accept", "text/html").header("cookie", "sfc-floe-session=stale").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::FOUND);
}

#[tokio::test]
async fn login_sets_the_cookie() {
    let app = ingress().await;
    let (status, headers, page) = send(&app, get("/sfc-endpoint/login?next=%2Fui").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("DB.S.SVC!ui") && page.contains("name=\"next\" value=\"/ui\""));
    assert_eq!(headers["x-frame-options"], "DENY");
    let form = |body: &'static str| get("/sfc-endpoint/login").method("POST").header("content-type", "application/x-www-form-urlencoded").body(Body::from(body)).unwrap();
    let (status, _, page) = send(&app, form("username=alice&password=wrong&next=%2Fui")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Incorrect username or password was specified."));
    let (status, headers, _) = send(&app, form("username=alice&password=pw&next=%2Fui")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/ui");
    assert_eq!(headers["set-cookie"], "sfc-floe-session=session-alice; Path=/; HttpOnly; SameSite=Lax");
    let (status, headers, _) = send(&app, form("username=alice&password=pw&next=https%3A%2F%2Fevil.example%2F")).await;
    assert_eq!((status, &headers["location"]), (StatusCode::SEE_OTHER, &HeaderValue::from_static("/")));
    let (status, headers, _) = send(&app, get("/sfc-endpoint/logout").header("cookie", "sfc-floe-session=session-alice").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn proxied_requests() {
    let app = ingress().await;
    let (status, headers, body) = send(
        &app,
        get("/echo-headers?q=1").header("authorization", "Snowflake Token=\"pat-alice\"").header("sf-context-current-user", "MALLORY").header("origin", "http://app.example").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("GET /echo-headers?q=1\n"), "{body}");
    assert!(body.contains("sf-context-current-user: ALICE\n") && !body.contains("MALLORY") && !body.contains("pat-alice"), "{body}");
    assert!(headers.get("server").is_none() && headers.get("x-powered-by").is_none());
    assert_eq!(headers["x-app"], "kept");
    assert_eq!(headers["access-control-allow-origin"], "http://app.example");
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["content-security-policy"], headers::CONTENT_SECURITY_POLICY);

    // The session cookie works too, and is not passed on.
    let (status, _, body) = send(&app, get("/echo-headers").header("cookie", "sfc-floe-session=session-alice; theme=dark").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("cookie: theme=dark\n") && !body.contains("session-alice"), "{body}");
    // ... but not for a cross-origin POST.
    let (status, _, body) = send(&app, get("/echo-headers").method("POST").header("cookie", "sfc-floe-session=session-alice").header("origin", "http://app.example").body(Body::empty()).unwrap()).await;
    assert_eq!((status, body.as_str()), (StatusCode::FORBIDDEN, "Rejecting a CORS request since cookie was present, and request does not have an auth header"));
    // A same-origin POST is fine.
    let (status, _, _) = send(&app, get("/echo-headers").method("POST").header("cookie", "sfc-floe-session=session-alice").header("origin", format!("http://{HOST}")).body(Body::from("x")).unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    // A user without the service role.
    let (status, _, _) = send(&app, get("/echo-headers").header("authorization", "Snowflake Token=\"pat-bob\"").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Executable content is refused.
    let (status, _, body) = send(&app, get("/script").header("authorization", "Snowflake Token=\"pat-alice\"").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!body.contains("rm -rf"));
}

/// A container accepting an upgrade on `/ws`: 101, then every byte back in upper case.
async fn upgrading_upstream() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = axum::Router::new().route(
        "/ws",
        axum::routing::get(|mut request: Request<Body>| async move {
            assert_eq!(request.headers()["upgrade"], "websocket", "the upgrade reaches the container");
            assert_eq!(request.headers()["sf-context-current-user"], "ALICE");
            let on = hyper::upgrade::on(&mut request);
            tokio::spawn(async move {
                let mut io = hyper_util::rt::TokioIo::new(on.await.unwrap());
                let mut buf = [0u8; 1024];
                loop {
                    let n = io.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    io.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
                }
            });
            axum::http::Response::builder().status(101).header("connection", "upgrade").header("upgrade", "websocket").header("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=").body(Body::empty()).unwrap()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Sends a raw upgrade request to the ingress on a real socket; returns the response head and the
/// stream.
async fn raw_upgrade(addr: std::net::SocketAddr, extra: &str) -> (String, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("GET /ws HTTP/1.1\r\nHost: {HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "connection closed in the head: {}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    (String::from_utf8(got).unwrap().to_ascii_lowercase(), stream)
}

#[tokio::test]
async fn websockets_are_spliced_through_to_the_container_and_cookies_stay_same_origin() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = Ingress::new(Arc::new(Fake { upstream: upgrading_upstream().await })).router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (head, mut stream) = raw_upgrade(addr, "Authorization: Snowflake Token=\"pat-alice\"\r\n").await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket") && head.contains("connection: upgrade"), "{head}");
    assert!(head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="), "{head}");
    for message in ["hello", "second frame"] {
        stream.write_all(message.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; message.len()];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, message.to_uppercase().as_bytes());
    }

    // Without credentials: refused before the container sees it.
    let (head, _) = raw_upgrade(addr, "").await;
    assert!(head.starts_with("http/1.1 401"), "{head}");
    // A session cookie from another site's page may not open a WebSocket; from the endpoint's own it may.
    let (head, _) = raw_upgrade(addr, "Cookie: sfc-floe-session=session-alice\r\nOrigin: http://evil.example\r\n").await;
    assert!(head.starts_with("http/1.1 403"), "{head}");
    let (head, _) = raw_upgrade(addr, &format!("Cookie: sfc-floe-session=session-alice\r\nOrigin: http://{HOST}\r\n")).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
}
