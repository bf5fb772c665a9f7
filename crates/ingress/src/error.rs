//! The one place ingress errors become HTTP responses.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};

use crate::headers::add_security_headers;

/// Why the ingress answers instead of the container.
#[derive(Debug, Clone, PartialEq)]
pub enum IngressError {
    /// No public endpoint has the request's host name (404 `Endpoint does not exist`).
    UnknownEndpoint,
    /// TRACE and CONNECT are refused (405).
    MethodNotAllowed,
    /// No credentials, or invalid ones (401).
    Unauthenticated,
    /// A cookie-only cross-origin request that could change something (403).
    CookieCors,
    /// The caller's role holds no service role covering the endpoint (403).
    Forbidden,
    /// The container answered with an executable content type (403).
    ExecutableContent,
    /// No instance is ready, or the service is suspended (503, with the reason).
    Unavailable(String),
    /// The container could not be reached or broke the connection (502).
    BadGateway(String),
    /// The container did not answer in time (504).
    Timeout,
    /// A malformed request (400).
    BadRequest(&'static str),
}

impl IngressError {
    /// Status and text of the error.
    pub fn status_and_text(&self) -> (StatusCode, String) {
        match self {
            IngressError::UnknownEndpoint => (StatusCode::NOT_FOUND, "Endpoint does not exist".into()),
            IngressError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed".into()),
            IngressError::Unauthenticated => (StatusCode::UNAUTHORIZED, "Authentication required: sign in, or send Authorization: Snowflake Token=\"<programmatic access token>\"".into()),
            IngressError::CookieCors => (StatusCode::FORBIDDEN, "Rejecting a CORS request since cookie was present, and request does not have an auth header".into()),
            IngressError::Forbidden => (StatusCode::FORBIDDEN, "Your role has no service role that grants usage of this endpoint".into()),
            IngressError::ExecutableContent => (StatusCode::FORBIDDEN, "The service answered with an executable content type, which is not served".into()),
            IngressError::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("Service unavailable: {why}")),
            IngressError::BadGateway(why) => (StatusCode::BAD_GATEWAY, format!("Bad gateway: {why}")),
            IngressError::Timeout => (StatusCode::GATEWAY_TIMEOUT, "The service did not answer in time".into()),
            IngressError::BadRequest(why) => (StatusCode::BAD_REQUEST, (*why).into()),
        }
    }

    /// The response: plain text, with the ingress's security headers.
    pub fn response(&self) -> Response<Body> {
        let (status, text) = self.status_and_text();
        let mut response = Response::new(Body::from(text));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Snowflake"));
        }
        add_security_headers(headers);
        response
    }
}
