//! The registry's errors and their one mapping to the wire: OCI Distribution's JSON error body
//! (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":…,"detail":…}]}`) with the code's HTTP status;
//! 401 answers carry the `WWW-Authenticate: Basic` challenge that makes `docker login` send credentials.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The realm named in the Basic challenge.
pub const REALM: &str = "floe";

/// An OCI Distribution error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    /// OCI error code (`BLOB_UNKNOWN`, `DENIED`, …).
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
}

impl RegistryError {
    fn new(code: &'static str, message: impl Into<String>) -> RegistryError {
        RegistryError { code, message: message.into() }
    }
    /// No such blob in the repository.
    pub fn blob_unknown(digest: &str) -> Self {
        Self::new("BLOB_UNKNOWN", format!("blob unknown to registry: {digest}"))
    }
    /// No such upload session.
    pub fn upload_unknown() -> Self {
        Self::new("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
    }
    /// A chunk or completion that does not fit the upload.
    pub fn upload_invalid(message: impl Into<String>) -> Self {
        Self::new("BLOB_UPLOAD_INVALID", message)
    }
    /// A malformed digest, or content that does not match its digest.
    pub fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new("DIGEST_INVALID", message)
    }
    /// No such manifest (tag or digest).
    pub fn manifest_unknown(reference: &str) -> Self {
        Self::new("MANIFEST_UNKNOWN", format!("manifest unknown: {reference}"))
    }
    /// A manifest that cannot be parsed or is not a supported kind.
    pub fn manifest_invalid(message: impl Into<String>) -> Self {
        Self::new("MANIFEST_INVALID", message)
    }
    /// A manifest referencing a blob (or child manifest) the repository lacks.
    pub fn manifest_blob_unknown(digest: &str) -> Self {
        Self::new("MANIFEST_BLOB_UNKNOWN", format!("blob unknown to registry: {digest}"))
    }
    /// A repository name that is not `<db>/<schema>/<repo>/<image…>` in OCI's grammar.
    pub fn name_invalid(name: &str) -> Self {
        Self::new("NAME_INVALID", format!("invalid repository name: {name}"))
    }
    /// No image repository by that name (or not visible to the caller).
    pub fn name_unknown(name: &str) -> Self {
        Self::new("NAME_UNKNOWN", format!("repository name not known to registry: {name}"))
    }
    /// A malformed tag.
    pub fn tag_invalid(tag: &str) -> Self {
        Self::new("TAG_INVALID", format!("invalid tag: {tag}"))
    }
    /// A bad `n` or `last` parameter.
    pub fn pagination_invalid() -> Self {
        Self::new("PAGINATION_NUMBER_INVALID", "invalid number of results requested")
    }
    /// A Content-Length / Content-Range that does not fit.
    pub fn size_invalid(message: impl Into<String>) -> Self {
        Self::new("SIZE_INVALID", message)
    }
    /// A Range that cannot be served.
    pub fn range_invalid() -> Self {
        Self::new("RANGE_INVALID", "requested range not satisfiable")
    }
    /// No or wrong credentials.
    pub fn unauthorized() -> Self {
        Self::new("UNAUTHORIZED", "authentication required")
    }
    /// Authenticated, but the role lacks the privilege.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new("DENIED", message)
    }
    /// An operation floe's registry does not offer (deleting images: Snowflake drops repositories only).
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new("UNSUPPORTED", message)
    }
    /// A server fault (I/O, SQLite).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("INTERNAL", message)
    }

    /// The HTTP status of the code.
    pub fn status(&self) -> StatusCode {
        match self.code {
            "BLOB_UNKNOWN" | "BLOB_UPLOAD_UNKNOWN" | "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" => StatusCode::NOT_FOUND,
            "UNAUTHORIZED" => StatusCode::UNAUTHORIZED,
            "DENIED" => StatusCode::FORBIDDEN,
            "UNSUPPORTED" => StatusCode::METHOD_NOT_ALLOWED,
            "RANGE_INVALID" => StatusCode::RANGE_NOT_SATISFIABLE,
            "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<std::io::Error> for RegistryError {
    fn from(e: std::io::Error) -> Self {
        RegistryError::internal(format!("storage: {e}"))
    }
}

impl From<rusqlite::Error> for RegistryError {
    fn from(e: rusqlite::Error) -> Self {
        RegistryError::internal(format!("registry database: {e}"))
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        if self.code == "INTERNAL" {
            tracing::warn!(error = %self.message, "registry request failed");
        }
        let status = self.status();
        let body = json!({"errors": [{"code": self.code, "message": self.message, "detail": null}]});
        let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = HeaderValue::from_str(&format!("Basic realm=\"{REALM}\"")).expect("ascii challenge");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        response.headers_mut().insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
        response
    }
}

/// The registry's results.
pub type Result<T> = std::result::Result<T, RegistryError>;
