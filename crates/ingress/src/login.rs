//! The browser's way in: a login page at `/sfc-endpoint/login` on each endpoint's host (the form posts
//! user name and password back to it; success sets the session cookie and redirects to the page first
//! asked for) and `/sfc-endpoint/logout` (spcs.md §11).

/// Where the login page is served on every endpoint's host.
pub const LOGIN_PATH: &str = "/sfc-endpoint/login";
/// Ends the browser session.
pub const LOGOUT_PATH: &str = "/sfc-endpoint/logout";

/// The login page's address for a browser that asked for `next` (path and query).
pub fn login_location(next: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{LOGIN_PATH}?next={encoded}")
}

/// Where to go after signing in: a path on this host only (`/x`, never `//other.host/` or a URL).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.chars().any(|c| c.is_control()) => n.to_string(),
        _ => "/".to_string(),
    }
}

/// The `next` parameter of a query string.
pub fn next_of_query(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).find(|(k, _)| k == "next").map(|(_, v)| v.into_owned())
}

/// The submitted form: user name, password, next.
pub fn parse_form(body: &[u8]) -> (String, String, Option<String>) {
    let (mut user, mut password, mut next) = (String::new(), String::new(), None);
    for (k, v) in form_urlencoded::parse(body) {
        match &*k {
            "username" => user = v.into_owned(),
            "password" => password = v.into_owned(),
            "next" => next = Some(v.into_owned()),
            _ => {}
        }
    }
    (user, password, next)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The login page for `endpoint` (shown in the title), posting back with `next`; `error` after a
/// failed attempt.
pub fn page(endpoint: &str, next: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p id=\"error\" class=\"error\">{}</p>", escape(e))).unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign in to floe</title>
<style>
body {{ font-family: sans-serif; background: #f4f6f8; display: flex; justify-content: center; padding-top: 10vh; }}
form {{ background: #fff; padding: 2em; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.2); width: 20em; }}
label {{ display: block; margin-top: 1em; }}
input {{ width: 100%; box-sizing: border-box; padding: .5em; }}
button {{ margin-top: 1.5em; width: 100%; padding: .6em; }}
.error {{ color: #b00020; }}
.endpoint {{ color: #555; font-size: .9em; word-break: break-all; }}
</style>
</head>
<body>
<form method="post" action="{LOGIN_PATH}">
<h1>Sign in to floe</h1>
<p class="endpoint">to use <span id="endpoint">{endpoint}</span></p>
{error}
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password or programmatic access token</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="sign-in" type="submit">Sign in</button>
</form>
</body>
</html>
"#,
        endpoint = escape(endpoint),
        next = escape(next),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_local_path() {
        assert_eq!(safe_next(Some("/ui?x=1")), "/ui?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(login_location("/ui?a=b&c"), "/sfc-endpoint/login?next=%2Fui%3Fa%3Db%26c");
        assert_eq!(next_of_query(Some("next=%2Fui%3Fa%3Db%26c")).as_deref(), Some("/ui?a=b&c"));
    }

    #[test]
    fn form_and_page() {
        let (u, p, n) = parse_form(b"username=alice&password=p%26ss+word&next=%2Fui");
        assert_eq!((u.as_str(), p.as_str(), n.as_deref()), ("alice", "p&ss word", Some("/ui")));
        let html = page("DB.S.SVC!<ep>", "/\"x", Some("bad <password>"));
        assert!(html.contains("DB.S.SVC!&lt;ep&gt;") && html.contains("value=\"/&quot;x\"") && html.contains("bad &lt;password&gt;"));
    }
}
