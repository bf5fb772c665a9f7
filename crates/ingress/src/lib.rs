//! floe's ingress: public endpoints of services over HTTP (spcs.md §11), on a listener of its own
//! (`--ingress-listen`). Every public endpoint has its own host name (`<hash>-<account>.localhost`);
//! a request is routed by its `Host` header to a READY instance of that endpoint's service, after the
//! caller is authenticated (a session cookie from the login page, or `Authorization: Snowflake
//! Token="…"` with a programmatic access token or a connector session token) and authorised (a role
//! holding a service role that covers the endpoint). Headers are rewritten as `headers.rs` says. An
//! upgrade (WebSocket) the container accepts with 101 becomes a spliced pair of connections.
//!
//! The crate knows no users, sessions, catalog or Docker: `IngressAuthority` (implemented by the floe
//! binary) answers which endpoint a host names, who a credential belongs to, whether they may use the
//! endpoint and where a ready instance listens.

pub mod error;
pub mod headers;
pub mod login;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub use error::IngressError;
pub use headers::CorsSettings;

/// A public endpoint, as the authority describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `DB.SCHEMA.SERVICE!endpoint`, for the login page and logs.
    pub name: String,
    /// Its `corsSettings`.
    pub cors: Option<CorsSettings>,
}

/// How the request authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// The session cookie's floe session token.
    Cookie(String),
    /// `Authorization: Snowflake Token="…"`: a programmatic access token or a connector session token.
    Token(String),
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The user name (`Sf-Context-Current-User`).
    pub user: String,
    /// The role whose service roles count.
    pub role: String,
}

/// Why the authority will not hand out an instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The endpoint is gone (dropped or replaced since it was routed).
    Unknown,
    /// The principal's role holds no service role covering the endpoint.
    Forbidden,
    /// No instance is ready (with the reason).
    Unavailable(String),
}

/// floe's users, sessions and services, as the ingress sees them.
#[async_trait::async_trait]
pub trait IngressAuthority: Send + Sync + 'static {
    /// The public endpoint a `Host` header names.
    fn endpoint(&self, host: &str) -> Option<Endpoint>;
    /// The caller behind a credential (None: invalid or expired).
    async fn authenticate(&self, credential: &Credential) -> Option<Principal>;
    /// Checks a user name and password (or programmatic access token) from the login page; returns a
    /// new session's token for the cookie.
    async fn login(&self, user: &str, password: &str) -> Option<String>;
    /// Ends the session of a cookie's token.
    async fn logout(&self, token: &str);
    /// The base URL (`http://<ip>:<port>`) of a ready instance of the endpoint `host` names, if the
    /// principal may use it (waiting a bounded time for one, resuming a suspended service with
    /// AUTO_RESUME).
    async fn upstream(&self, host: &str, principal: &Principal) -> Result<String, Refusal>;
}

/// Bound on waiting for the container's response headers.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(90);
/// Bound on a login form's body.
const FORM_LIMIT: usize = 16 * 1024;

/// The ingress: a router over an authority and a pooled HTTP client.
pub struct Ingress {
    authority: Arc<dyn IngressAuthority>,
    client: Client<HttpConnector, Body>,
}

impl Ingress {
    /// An ingress answering for `authority`.
    pub fn new(authority: Arc<dyn IngressAuthority>) -> Arc<Ingress> {
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(90)).build_http();
        Arc::new(Ingress { authority, client })
    }

    /// Every path of every host goes to one handler.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new().fallback(handle).with_state(self.clone())
    }
}

async fn handle(State(ingress): State<Arc<Ingress>>, request: Request) -> Response<Body> {
    match serve(&ingress, request).await {
        Ok(response) => response,
        Err(e) => {
            let (status, text) = e.status_and_text();
            if status.is_server_error() {
                tracing::warn!(status = status.as_u16(), error = %text, "ingress");
            }
            e.response()
        }
    }
}

fn host_of(request: &Request) -> Option<String> {
    request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string).or_else(|| request.uri().authority().map(|a| a.to_string()))
}

/// A browser navigating (sent to the login page rather than answered 401), or a CORS preflight.
fn wants_login_page(method: &Method, headers: &HeaderMap) -> bool {
    let html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    *method == Method::OPTIONS || (html && (*method == Method::GET || *method == Method::HEAD))
}

fn redirect(location: &str, status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    headers::add_security_headers(response.headers_mut());
    response
}

fn html(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers::add_security_headers(response.headers_mut());
    response
}

async fn serve(ingress: &Ingress, request: Request) -> Result<Response<Body>, IngressError> {
    if request.method() == Method::TRACE || request.method() == Method::CONNECT {
        return Err(IngressError::MethodNotAllowed);
    }
    let host = host_of(&request).ok_or(IngressError::BadRequest("The request names no host"))?;
    let endpoint = ingress.authority.endpoint(&host).ok_or(IngressError::UnknownEndpoint)?;
    let path = request.uri().path().to_string();
    if path == login::LOGIN_PATH {
        return login_page(ingress, &endpoint, request).await;
    }
    if path == login::LOGOUT_PATH {
        if let Some(token) = headers::session_cookie(request.headers()) {
            ingress.authority.logout(&token).await;
        }
        let mut response = redirect(login::LOGIN_PATH, StatusCode::FOUND);
        if let Ok(v) = HeaderValue::from_str(&headers::clear_session_cookie()) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return Ok(response);
    }
    let credential = match (headers::snowflake_token(request.headers()), headers::session_cookie(request.headers())) {
        (Some(token), _) => Some(Credential::Token(token)),
        (None, Some(cookie)) => Some(Credential::Cookie(cookie)),
        (None, None) => None,
    };
    let principal = match &credential {
        Some(c) => ingress.authority.authenticate(c).await,
        None => None,
    };
    let Some(principal) = principal else {
        // A header credential that fails is answered; a browser without a valid cookie signs in.
        if !matches!(credential, Some(Credential::Token(_))) && wants_login_page(request.method(), request.headers()) {
            let next = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
            return Ok(redirect(&login::login_location(next), StatusCode::FOUND));
        }
        return Err(IngressError::Unauthenticated);
    };
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    let upgrade = headers::upgrade_protocol(request.headers());
    // A cookie rides along on any cross-site request: only reads may come from another origin, and no
    // WebSocket (a GET that opens a two-way channel: cross-site WebSocket hijacking).
    if matches!(credential, Some(Credential::Cookie(_)))
        && let Some(origin) = &origin
        && !same_origin(origin, &host)
        && (upgrade.is_some() || (request.method() != Method::GET && request.method() != Method::HEAD))
    {
        return Err(IngressError::CookieCors);
    }
    let base = ingress.authority.upstream(&host, &principal).await.map_err(|r| match r {
        Refusal::Unknown => IngressError::UnknownEndpoint,
        Refusal::Forbidden => IngressError::Forbidden,
        Refusal::Unavailable(why) => IngressError::Unavailable(why),
    })?;
    let mut request = request;
    let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut request));
    let (parts, body) = request.into_parts();
    let path_and_query = parts.uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let uri: Uri = format!("{base}{path_and_query}").parse().map_err(|_| IngressError::BadRequest("The request's path is not valid"))?;
    let mut upstream_request = axum::http::Request::builder().method(parts.method.clone()).uri(uri).body(body).map_err(|_| IngressError::BadRequest("The request is not valid"))?;
    *upstream_request.headers_mut() = headers::request_headers(&parts.headers, &principal.user, &host);
    if let Some(protocol) = &upgrade {
        headers::set_upgrade(upstream_request.headers_mut(), protocol);
    }
    let mut response = match tokio::time::timeout(RESPONSE_TIMEOUT, ingress.client.request(upstream_request)).await {
        Err(_) => return Err(IngressError::Timeout),
        Ok(Err(e)) => return Err(IngressError::BadGateway(e.to_string())),
        Ok(Ok(r)) => r,
    };
    if headers::is_executable(response.headers()) {
        return Err(IngressError::ExecutableContent);
    }
    let switched = match (client_upgrade, &upgrade) {
        (Some(client), Some(protocol)) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            let container = hyper::upgrade::on(&mut response);
            tokio::spawn(splice(client, container));
            Some(protocol.clone())
        }
        _ => None,
    };
    let (up, body) = response.into_parts();
    let mut out = Response::new(Body::new(body));
    *out.status_mut() = up.status;
    *out.headers_mut() = headers::response_headers(&up.headers);
    if let Some(protocol) = switched {
        headers::set_upgrade(out.headers_mut(), &protocol);
    }
    headers::apply_cors(out.headers_mut(), origin.as_deref(), endpoint.cors.as_ref());
    Ok(out)
}

/// After a 101, the two upgraded connections (client and container) are copied into each other until
/// either side closes: WebSockets (and any other upgrade the container accepts) pass through untouched.
async fn splice(client: hyper::upgrade::OnUpgrade, container: hyper::upgrade::OnUpgrade) {
    let (client, container) = tokio::join!(client, container);
    match (client, container) {
        (Ok(client), Ok(container)) => {
            let mut client = hyper_util::rt::TokioIo::new(client);
            let mut container = hyper_util::rt::TokioIo::new(container);
            if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut container).await {
                tracing::debug!(error = %e, "ingress: upgraded connection ended");
            }
        }
        (c, u) => tracing::debug!(client = c.is_ok(), container = u.is_ok(), "ingress: upgrade failed"),
    }
}

/// Whether `origin` is the endpoint's own (`http://<host>`).
fn same_origin(origin: &str, host: &str) -> bool {
    origin.trim_end_matches('/').eq_ignore_ascii_case(&format!("http://{host}"))
}

async fn login_page(ingress: &Ingress, endpoint: &Endpoint, request: Request) -> Result<Response<Body>, IngressError> {
    let method = request.method().clone();
    match method {
        Method::GET | Method::HEAD => {
            let next = login::safe_next(login::next_of_query(request.uri().query()).as_deref());
            Ok(html(StatusCode::OK, login::page(&endpoint.name, &next, None)))
        }
        Method::POST => {
            let body = axum::body::to_bytes(request.into_body(), FORM_LIMIT).await.map_err(|_| IngressError::BadRequest("The login form is too large"))?;
            let (user, password, next) = login::parse_form(&body);
            let next = login::safe_next(next.as_deref());
            match ingress.authority.login(&user, &password).await {
                Some(token) => {
                    let mut response = redirect(&next, StatusCode::SEE_OTHER);
                    if let Ok(v) = HeaderValue::from_str(&headers::set_session_cookie(&token)) {
                        response.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    Ok(response)
                }
                None => Ok(html(StatusCode::UNAUTHORIZED, login::page(&endpoint.name, &next, Some("Incorrect username or password was specified.")))),
            }
        }
        _ => Err(IngressError::MethodNotAllowed),
    }
}

#[cfg(test)]
mod tests;
