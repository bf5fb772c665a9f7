//! Specification templates (spcs.md §4.2): `{{ var }}`, `{{var}}`, `{{ var | default('x') }}` and
//! `default(x, true)` (Jinja's: the default also replaces a falsy value such as ''), expanded with
//! `USING (key => value)` pairs before the YAML is parsed. Values are SQL literals as written
//! (`'blah123'`, `111`, `true`, `-1.2`) or JSON (`' "/path/file.txt" '`, `'{"SERVER_PORT": 8000}'`,
//! `$$["-n", 2]$$`); the insertion is a JSON value's: a map can fill `env: {{env_values}}`, a list
//! `args: {{ARGS}}`. Text in, text out; nothing here knows the spec's fields.

use serde_json::Value as Json;

use crate::SpecError;

/// Expands every `{{ … }}` in `text` with the `USING` pairs; a variable with no value and no
/// default is an error naming it.
pub fn render_template(text: &str, using: &[(String, String)]) -> Result<String, SpecError> {
    let mut vars: Vec<(String, Json)> = Vec::with_capacity(using.len());
    for (key, value) in using {
        let key = using_key(key)?;
        let value = using_value(&key, value)?;
        vars.retain(|(existing, _)| *existing != key);
        vars.push((key, value));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after_open = &rest[open + 2..];
        let close = after_open.find("}}").ok_or_else(|| {
            SpecError::new(
                "",
                format!(
                    "template: '{{{{' without '}}}}' in '{}'",
                    excerpt(&rest[open..])
                ),
            )
        })?;
        let expression = &after_open[..close];
        let value = evaluate(expression, &vars)?;
        let before = &rest[..open];
        let after = &after_open[close + 2..];
        let standalone = standalone(&out, before, after);
        out.push_str(before);
        out.push_str(&insertion(&value, standalone));
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

fn excerpt(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(40)
        .collect()
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A USING key: a case-sensitive identifier, optionally double-quoted.
fn using_key(key: &str) -> Result<String, SpecError> {
    let trimmed = key.trim();
    let bare = trimmed
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(trimmed);
    if !is_identifier(bare) {
        return Err(SpecError::new(
            "",
            format!("template: USING key '{key}' is not a valid identifier"),
        ));
    }
    Ok(bare.to_owned())
}

/// A USING value: a SQL literal as written ('…' and $$…$$ are unwrapped) holding JSON or an
/// alphanumeric literal.
fn using_value(key: &str, value: &str) -> Result<Json, SpecError> {
    let trimmed = value.trim();
    let inner = if trimmed.len() >= 2 && trimmed.starts_with('\'') && trimmed.ends_with('\'') {
        trimmed[1..trimmed.len() - 1].replace("''", "'")
    } else if trimmed.len() >= 4 && trimmed.starts_with("$$") && trimmed.ends_with("$$") {
        trimmed[2..trimmed.len() - 2].to_owned()
    } else {
        trimmed.to_owned()
    };
    let inner = inner.trim();
    if let Ok(json) = serde_json::from_str::<Json>(inner) {
        return Ok(json);
    }
    if inner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Ok(Json::String(inner.to_owned()));
    }
    Err(SpecError::new(
        "",
        format!(
            "template: USING value for '{key}' is invalid: {value}; it must be an alphanumeric literal \
             or JSON, so pass other strings as JSON strings (e.g. ' \"/path/file.txt\" ')"
        ),
    ))
}

/// `name`, `name | default(literal)` or `name | default(literal, true)`.
fn evaluate(expression: &str, vars: &[(String, Json)]) -> Result<Json, SpecError> {
    let invalid = || {
        SpecError::new(
            "",
            format!(
                "template: '{{{{{expression}}}}}' is not a variable or a variable with a default"
            ),
        )
    };
    let (name, filter) = match expression.split_once('|') {
        Some((name, filter)) => (name.trim(), Some(filter.trim())),
        None => (expression.trim(), None),
    };
    if !is_identifier(name) {
        return Err(invalid());
    }
    let value = vars
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value);
    let Some(filter) = filter else {
        return value.cloned().ok_or_else(|| {
            SpecError::new(
                "",
                format!("template: variable '{name}' has no value in USING and no default"),
            )
        });
    };
    let args = filter
        .strip_prefix("default")
        .or_else(|| filter.strip_prefix('d'))
        .map(str::trim)
        .and_then(|args| args.strip_prefix('('))
        .and_then(|args| args.strip_suffix(')'))
        .ok_or_else(invalid)?;
    let (default, boolean) = split_args(args).ok_or_else(invalid)?;
    match value {
        Some(value) if !boolean || truthy(value) => Ok(value.clone()),
        _ => Ok(default),
    }
}

/// The default's literal and the optional boolean second argument.
fn split_args(args: &str) -> Option<(Json, bool)> {
    let args = args.trim();
    let (literal, rest) =
        if let Some(quote) = args.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let end = args[1..].find(quote)? + 1;
            (
                Json::String(args[1..end].to_owned()),
                args[end + 1..].trim(),
            )
        } else {
            let end = args.find(',').unwrap_or(args.len());
            (python_literal(args[..end].trim())?, args[end..].trim())
        };
    let boolean = match rest.strip_prefix(',').map(str::trim) {
        None if rest.is_empty() => false,
        Some("true" | "True") => true,
        Some("false" | "False") => false,
        _ => return None,
    };
    Some((literal, boolean))
}

/// A Jinja literal: a number, true/false (either case) or none.
fn python_literal(text: &str) -> Option<Json> {
    match text {
        "true" | "True" => Some(Json::Bool(true)),
        "false" | "False" => Some(Json::Bool(false)),
        "none" | "None" | "null" => Some(Json::Null),
        _ => serde_json::from_str::<serde_json::Number>(text)
            .ok()
            .map(Json::Number),
    }
}

/// Jinja's truth: '', 0, false, null and empty lists and maps are false.
fn truthy(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(items) => !items.is_empty(),
        Json::Object(entries) => !entries.is_empty(),
    }
}

/// Whether the placeholder is a whole YAML value (`key: {{ x }}`, `- {{ x }}`, `[{{ x }}]`) rather
/// than part of a longer scalar (`/db/{{ schema }}/repo`).
fn standalone(done: &str, before: &str, after: &str) -> bool {
    let line_start = format!("{done}{before}");
    let line = line_start.rsplit('\n').next().unwrap_or_default();
    let preceding = line.trim_end();
    // `key: {{ x }}` and `- {{ x }}` need the space YAML needs; `img:{{ tag }}` is inside a scalar.
    let spaced = line.len() > preceding.len();
    let opens_value = preceding.is_empty()
        || (spaced && (preceding.ends_with(':') || preceding.ends_with(" -") || preceding == "-"))
        || preceding.ends_with(['[', ',', '{']);
    let following = after.split('\n').next().unwrap_or_default().trim_start();
    let closes_value = following.is_empty()
        || following.starts_with([',', ']', '}', '#'])
        || following.trim_end().is_empty();
    opens_value && closes_value
}

/// The text a value becomes: a string as JSON when it is a whole YAML value (so `a: b` or `#x`
/// stay strings) and as itself inside a longer scalar; everything else as JSON text, which is
/// YAML flow syntax.
fn insertion(value: &Json, standalone: bool) -> String {
    match value {
        Json::String(s) if !standalone => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn using(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn render(text: &str, pairs: &[(&str, &str)]) -> Result<String, SpecError> {
        render_template(text, &using(pairs))
    }

    #[test]
    fn plain_variables_with_and_without_spaces() {
        let text = "a: {{ x }}\nb: {{y}}\n";
        assert_eq!(
            render(text, &[("x", "'blah123'"), ("y", "111")]).unwrap(),
            "a: \"blah123\"\nb: 111\n"
        );
        assert_eq!(render("a: {{ x }}", &[("x", "true")]).unwrap(), "a: true");
        assert_eq!(render("a: {{ x }}", &[("x", "-1.2")]).unwrap(), "a: -1.2");
        assert_eq!(
            render("a: {{ x }}", &[("\"x\"", "blah")]).unwrap(),
            "a: \"blah\""
        );
    }

    #[test]
    fn embedded_strings_are_inserted_raw() {
        let text = "image: /db/{{ schema }}/repo/img:{{ tag }}";
        assert_eq!(
            render(
                text,
                &[("schema", "'data_schema'"), ("tag", "' \"v1.0\" '")]
            )
            .unwrap(),
            "image: /db/data_schema/repo/img:v1.0"
        );
    }

    #[test]
    fn json_strings_keep_special_characters() {
        let out = render("path: {{ p }}\n", &[("p", "' \"/path/file.txt\" '")]).unwrap();
        assert_eq!(out, "path: \"/path/file.txt\"\n");
        let out = render("v: {{ p }}", &[("p", r#"'"a: b # c"'"#)]).unwrap();
        assert_eq!(out, r#"v: "a: b # c""#);
    }

    #[test]
    fn maps_and_lists_fill_values() {
        let text = "env: {{env_values}}\nargs: {{ARGS}}\n";
        let out = render(
            text,
            &[
                ("env_values", r#"'{"SERVER_PORT": 8000}'"#),
                ("ARGS", r#"$$["-n", 2]$$"#),
            ],
        )
        .unwrap();
        assert_eq!(out, "env: {\"SERVER_PORT\":8000}\nargs: [\"-n\",2]\n");
    }

    #[test]
    fn defaults() {
        let text = "name: {{ character_name | default('Bob') }}";
        assert_eq!(render(text, &[]).unwrap(), "name: \"Bob\"");
        assert_eq!(
            render(text, &[("character_name", "'Alice'")]).unwrap(),
            "name: \"Alice\""
        );
        // Without the boolean, an empty string is a value.
        assert_eq!(
            render(text, &[("character_name", "''")]).unwrap(),
            "name: \"\""
        );
        let text = "name: {{ character_name | default(\"Bob\", true) }}";
        assert_eq!(
            render(text, &[("character_name", "''")]).unwrap(),
            "name: \"Bob\""
        );
        assert_eq!(
            render(text, &[("character_name", "'Eve'")]).unwrap(),
            "name: \"Eve\""
        );
        assert_eq!(
            render("p: {{ port|default(8000) }}", &[]).unwrap(),
            "p: 8000"
        );
        assert_eq!(
            render("p: {{ on | default(false) }}", &[]).unwrap(),
            "p: false"
        );
    }

    #[test]
    fn missing_variable_names_it() {
        let err = render("a: {{ port }}", &[("other", "1")]).unwrap_err();
        assert_eq!(err.path, "");
        assert!(err.message.contains("'port'"), "{err}");
        assert_eq!(err.to_string(), err.message);
    }

    #[test]
    fn invalid_templates_and_values() {
        assert!(
            render("a: {{ x ", &[("x", "1")])
                .unwrap_err()
                .message
                .contains("without")
        );
        assert!(render("a: {{ x | upper }}", &[("x", "1")]).is_err());
        assert!(render("a: {{ x y }}", &[("x", "1")]).is_err());
        assert!(render("a: {{ x | default('a', maybe) }}", &[]).is_err());
        let err = render("a: {{ x }}", &[("x", "'/path/file.txt'")]).unwrap_err();
        assert!(
            err.message.contains("'x'") && err.message.contains("JSON"),
            "{err}"
        );
        assert!(
            render("a: 1", &[("bad-key", "1")])
                .unwrap_err()
                .message
                .contains("bad-key")
        );
    }

    #[test]
    fn list_items_and_flow_positions_are_standalone() {
        let out = render("args:\n- {{ a }}\n- [{{ a }}, x]\n", &[("a", "' \"-n\" '")]).unwrap();
        assert_eq!(out, "args:\n- \"-n\"\n- [\"-n\", x]\n");
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        let text = "spec:\n  containers: []\n";
        assert_eq!(render(text, &[("unused", "1")]).unwrap(), text);
    }
}
