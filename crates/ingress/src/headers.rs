//! What the ingress does to headers (spcs.md §11), as pure functions over header maps: the request
//! toward the container (credentials stripped, `Sf-Context-Current-User` added), the response toward
//! the client (service headers stripped, security headers set, executable content refused) and CORS.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// The cookie holding a browser's floe session on an endpoint's host.
pub const SESSION_COOKIE: &str = "sfc-floe-session";

/// The header naming the caller, added to every proxied request.
pub const CURRENT_USER: &str = "sf-context-current-user";

/// Headers of one connection (RFC 9110 §7.6.1): never forwarded in either direction.
const HOP_BY_HOP: &[&str] = &["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];

/// Response headers of the service that the ingress removes.
const STRIPPED_RESPONSE: &[&str] = &["x-xss-protection", "server", "x-powered-by", "public-key-pins", "content-security-policy-report-only"];

/// Content types refused with 403 instead of being served.
const EXECUTABLE_TYPES: &[&str] = &[
    "application/x-msdownload",
    "application/exe",
    "application/x-exe",
    "application/dos-exe",
    "application/x-winexe",
    "application/msdos-windows",
    "application/x-msdos-program",
    "application/x-sh",
    "application/x-bsh",
    "application/x-csh",
    "application/x-tcsh",
    "application/batch",
];

/// The baseline policy added to every response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self' 'unsafe-inline' 'unsafe-eval' blob: data:; object-src 'none'; connect-src 'self'; frame-ancestors 'self';";

/// Headers set on every response, replacing the service's.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-embedder-policy", "credentialless"),
];

/// Exposed to cross-origin scripts whatever the endpoint's settings say.
const ALWAYS_EXPOSED: &[&str] = &[
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
    "X-Content-Type-Options",
    "Cross-Origin-Embedder-Policy",
    "Content-Security-Policy-Report-Only",
    "Content-Security-Policy",
];

/// An endpoint's `corsSettings`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorsSettings {
    /// Allowed origins (never `*`).
    pub allow_origin: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
}

/// The token of `Authorization: Snowflake Token="…"` (a programmatic access token or a connector
/// session token).
pub fn snowflake_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::AUTHORIZATION).iter().filter_map(|v| v.to_str().ok()).find_map(|v| parse_snowflake_token(v).map(str::to_string))
}

fn parse_snowflake_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("snowflake") {
        return None;
    }
    let (key, token) = rest.trim().split_once('=')?;
    if !key.trim().eq_ignore_ascii_case("token") {
        return None;
    }
    let token = token.trim().trim_matches('"');
    (!token.is_empty()).then_some(token)
}

/// The floe session token of the request's session cookie.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_pairs(headers).find(|(k, _)| *k == SESSION_COOKIE).map(|(_, v)| v.to_string()).filter(|v| !v.is_empty())
}

fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('=').map(|(k, v)| (k.trim(), v.trim())))
}

/// `Set-Cookie` of a new browser session (host-only, so each endpoint's host has its own).
pub fn set_session_cookie(token: &str) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax")
}

/// `Set-Cookie` that ends the browser session.
pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The headers sent to the container: the client's, without hop-by-hop headers, `Host`, floe's
/// credentials (`Authorization: Snowflake Token=…`, `X-SF-SPCS-Authorization`, the session cookie) and
/// any `Sf-Context-*` the client sent; plus `Sf-Context-Current-User` and the usual `X-Forwarded-*`.
pub fn request_headers(incoming: &HeaderMap, user: &str, host: &str) -> HeaderMap {
    let connection_named = connection_tokens(incoming);
    let mut out = HeaderMap::with_capacity(incoming.len() + 3);
    for (name, value) in incoming {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || connection_named.iter().any(|c| c == n) || *name == header::HOST || n == "x-sf-spcs-authorization" || n.starts_with("sf-context-") || *name == header::COOKIE {
            continue;
        }
        if *name == header::AUTHORIZATION && value.to_str().ok().and_then(parse_snowflake_token).is_some() {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    let cookies: Vec<String> = cookie_pairs(incoming).filter(|(k, _)| *k != SESSION_COOKIE).map(|(k, v)| format!("{k}={v}")).collect();
    if !cookies.is_empty()
        && let Ok(v) = HeaderValue::from_str(&cookies.join("; "))
    {
        out.insert(header::COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(user) {
        out.insert(HeaderName::from_static(CURRENT_USER), v);
    }
    if let Ok(v) = HeaderValue::from_str(host) {
        out.insert(HeaderName::from_static("x-forwarded-host"), v);
    }
    out.insert(HeaderName::from_static("x-forwarded-proto"), HeaderValue::from_static("http"));
    out
}

fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(header::CONNECTION).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect()
}

/// The protocol a request asks to switch to (`Connection: upgrade` with `Upgrade: websocket`), lower case.
pub fn upgrade_protocol(headers: &HeaderMap) -> Option<String> {
    if !connection_tokens(headers).iter().any(|t| t == "upgrade") {
        return None;
    }
    headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty())
}

/// Puts back the hop-by-hop pair an upgrade needs on the next hop (`request_headers` and
/// `response_headers` strip them).
pub fn set_upgrade(headers: &mut HeaderMap, protocol: &str) {
    if let Ok(v) = HeaderValue::from_str(protocol) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, v);
    }
}

/// Whether a response's content type is one the ingress refuses to serve.
pub fn is_executable(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    EXECUTABLE_TYPES.contains(&media.as_str())
}

/// The container's response headers as the client gets them: hop-by-hop headers, the stripped
/// headers and the service's own CORS headers removed, the security headers set and the baseline
/// Content-Security-Policy added.
pub fn response_headers(upstream: &HeaderMap) -> HeaderMap {
    let connection_named = connection_tokens(upstream);
    let mut out = HeaderMap::with_capacity(upstream.len() + 8);
    for (name, value) in upstream {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || connection_named.iter().any(|c| c == n) || STRIPPED_RESPONSE.contains(&n) || n.starts_with("access-control-") {
            continue;
        }
        if SECURITY_HEADERS.iter().any(|(h, _)| *h == n) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    add_security_headers(&mut out);
    out
}

/// The security headers and baseline policy (also on floe's own pages).
pub fn add_security_headers(out: &mut HeaderMap) {
    for (name, value) in SECURITY_HEADERS {
        out.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    out.append(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
}

/// Whether `origin` is one of the allowed origins (scheme and host compare case-insensitively; a
/// trailing `/` in the setting is ignored).
pub fn origin_allowed(settings: &CorsSettings, origin: &str) -> bool {
    let origin = origin.trim().trim_end_matches('/');
    settings.allow_origin.iter().any(|o| o != "*" && o.trim().trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// The endpoint's CORS headers on a response, when the request's `Origin` is allowed: the origin echoed,
/// the configured methods and headers, the exposed headers plus the security headers, a 2-hour max age,
/// credentials allowed, and `Vary: Origin`.
pub fn apply_cors(out: &mut HeaderMap, origin: Option<&str>, settings: Option<&CorsSettings>) {
    let (Some(origin), Some(settings)) = (origin, settings) else { return };
    if !origin_allowed(settings, origin) {
        return;
    }
    let Ok(origin_value) = HeaderValue::from_str(origin.trim()) else { return };
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value);
    let list = |items: &[String]| HeaderValue::from_str(&items.join(", ")).ok();
    if !settings.allow_methods.is_empty()
        && let Some(v) = list(&settings.allow_methods)
    {
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if !settings.allow_headers.is_empty()
        && let Some(v) = list(&settings.allow_headers)
    {
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    let mut exposed: Vec<String> = settings.expose_headers.clone();
    for h in ALWAYS_EXPOSED {
        if !exposed.iter().any(|e| e.eq_ignore_ascii_case(h)) {
            exposed.push(h.to_string());
        }
    }
    if let Some(v) = list(&exposed) {
        out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
    out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("7200"));
    out.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    out.append(header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn values(h: &HeaderMap, name: &str) -> Vec<String> {
        h.get_all(name).iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }

    #[test]
    fn snowflake_tokens() {
        assert_eq!(snowflake_token(&map(&[("authorization", "Snowflake Token=\"abc\"")])).as_deref(), Some("abc"));
        assert_eq!(snowflake_token(&map(&[("authorization", "snowflake token=\"floe-pat-x\"")])).as_deref(), Some("floe-pat-x"));
        assert_eq!(snowflake_token(&map(&[("authorization", "Bearer abc")])), None);
        assert_eq!(snowflake_token(&map(&[("authorization", "Snowflake Token=\"\"")])), None);
        assert_eq!(snowflake_token(&HeaderMap::new()), None);
    }

    #[test]
    fn cookies() {
        let h = map(&[("cookie", "a=1; sfc-floe-session=ver:1-hint:7-xyz; b=2")]);
        assert_eq!(session_cookie(&h).as_deref(), Some("ver:1-hint:7-xyz"));
        assert_eq!(session_cookie(&map(&[("cookie", "a=1")])), None);
        assert!(set_session_cookie("t").starts_with("sfc-floe-session=t; Path=/; HttpOnly"));
        assert!(clear_session_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn request_toward_the_container() {
        let incoming = map(&[
            ("host", "abc-floe.localhost:8082"),
            ("authorization", "Snowflake Token=\"secret\""),
            ("x-sf-spcs-authorization", "x"),
            ("sf-context-current-user", "MALLORY"),
            ("sf-context-current-user-token", "forged"),
            ("cookie", "sfc-floe-session=secret; theme=dark"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("accept", "text/html"),
            ("content-type", "application/json"),
        ]);
        let out = request_headers(&incoming, "ALICE", "abc-floe.localhost:8082");
        assert_eq!(values(&out, "sf-context-current-user"), vec!["ALICE"]);
        assert!(out.get("sf-context-current-user-token").is_none());
        assert!(out.get("authorization").is_none() && out.get("x-sf-spcs-authorization").is_none());
        assert_eq!(values(&out, "cookie"), vec!["theme=dark"]);
        assert!(out.get("host").is_none() && out.get("connection").is_none() && out.get("x-hop").is_none() && out.get("transfer-encoding").is_none());
        assert_eq!(values(&out, "accept"), vec!["text/html"]);
        assert_eq!(values(&out, "x-forwarded-host"), vec!["abc-floe.localhost:8082"]);
        // Other Authorization schemes are the service's business.
        let out = request_headers(&map(&[("authorization", "Bearer app-token"), ("cookie", "sfc-floe-session=s")]), "BOB", "h");
        assert_eq!(values(&out, "authorization"), vec!["Bearer app-token"]);
        assert!(out.get("cookie").is_none());
    }

    #[test]
    fn response_toward_the_client() {
        let upstream = map(&[
            ("content-type", "text/html"),
            ("server", "floe-testimg"),
            ("x-powered-by", "PHP"),
            ("x-xss-protection", "1"),
            ("public-key-pins", "pin"),
            ("content-security-policy-report-only", "default-src *"),
            ("access-control-allow-origin", "*"),
            ("x-frame-options", "ALLOWALL"),
            ("transfer-encoding", "chunked"),
            ("set-cookie", "app=1"),
            ("x-custom", "kept"),
        ]);
        let out = response_headers(&upstream);
        for gone in ["server", "x-powered-by", "x-xss-protection", "public-key-pins", "content-security-policy-report-only", "access-control-allow-origin", "transfer-encoding"] {
            assert!(out.get(gone).is_none(), "{gone} kept");
        }
        assert_eq!(values(&out, "x-frame-options"), vec!["DENY"]);
        assert_eq!(values(&out, "cross-origin-opener-policy"), vec!["same-origin"]);
        assert_eq!(values(&out, "cross-origin-resource-policy"), vec!["same-origin"]);
        assert_eq!(values(&out, "x-content-type-options"), vec!["nosniff"]);
        assert_eq!(values(&out, "cross-origin-embedder-policy"), vec!["credentialless"]);
        assert_eq!(values(&out, "content-security-policy"), vec![CONTENT_SECURITY_POLICY]);
        assert_eq!(values(&out, "set-cookie"), vec!["app=1"]);
        assert_eq!(values(&out, "x-custom"), vec!["kept"]);
    }

    #[test]
    fn executable_content_types() {
        assert!(is_executable(&map(&[("content-type", "application/x-sh; charset=utf-8")])));
        assert!(is_executable(&map(&[("content-type", "Application/X-MSDownload")])));
        assert!(!is_executable(&map(&[("content-type", "application/octet-stream")])));
        assert!(!is_executable(&HeaderMap::new()));
    }

    #[test]
    fn cors() {
        let settings = CorsSettings {
            allow_origin: vec!["http://app.example:3000/".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["Content-Type".into()],
            expose_headers: vec!["X-Total".into()],
        };
        let mut out = HeaderMap::new();
        apply_cors(&mut out, Some("http://APP.example:3000"), Some(&settings));
        assert_eq!(values(&out, "access-control-allow-origin"), vec!["http://APP.example:3000"]);
        assert_eq!(values(&out, "access-control-allow-methods"), vec!["GET, POST"]);
        assert_eq!(values(&out, "access-control-allow-headers"), vec!["Content-Type"]);
        let exposed = values(&out, "access-control-expose-headers").join("");
        assert!(exposed.starts_with("X-Total, X-Frame-Options") && exposed.ends_with("Content-Security-Policy"));
        assert_eq!(values(&out, "access-control-max-age"), vec!["7200"]);
        assert_eq!(values(&out, "access-control-allow-credentials"), vec!["true"]);
        assert_eq!(values(&out, "vary"), vec!["Origin"]);

        for (origin, cors) in [(Some("http://evil.example"), Some(&settings)), (None, Some(&settings)), (Some("http://app.example:3000"), None)] {
            let mut out = HeaderMap::new();
            apply_cors(&mut out, origin, cors);
            assert!(out.is_empty(), "{origin:?}");
        }
        let star = CorsSettings { allow_origin: vec!["*".into()], ..Default::default() };
        assert!(!origin_allowed(&star, "http://x"));
    }
}
