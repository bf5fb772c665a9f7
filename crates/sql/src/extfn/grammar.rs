//! The grammar of API integrations, external functions and service functions (spcs.md §9.1, §10.1-10.2).
//! A `CREATE FUNCTION` without `SERVICE =` is not floe's (it returns None and sqlparser answers).

use datafusion::sql::sqlparser::tokenizer::Token;
use model::SfError;

use super::{AlterAction, CreateFunction, FnStmt};
use crate::objects::grammar::{like, scope, value};
use crate::objects::Prop;
use crate::parse::Cursor;

/// Options of CREATE API INTEGRATION.
pub const INTEGRATION_KEYS: &[&str] = &[
    "API_PROVIDER", "API_AWS_ROLE_ARN", "API_KEY", "API_ALLOWED_PREFIXES", "API_BLOCKED_PREFIXES", "ENABLED", "COMMENT", "AZURE_TENANT_ID",
    "AZURE_AD_APPLICATION_ID", "GOOGLE_AUDIENCE", "API_USER_AUTHENTICATION",
];
/// Options of CREATE EXTERNAL FUNCTION (HEADERS is parsed apart).
pub const EXTERNAL_KEYS: &[&str] = &["COMMENT", "API_INTEGRATION", "CONTEXT_HEADERS", "MAX_BATCH_ROWS", "COMPRESSION", "REQUEST_TRANSLATOR", "RESPONSE_TRANSLATOR"];
/// Options of CREATE FUNCTION … SERVICE.
pub const SERVICE_KEYS: &[&str] = &["COMMENT", "SERVICE", "ENDPOINT", "CONTEXT_HEADERS", "MAX_BATCH_ROWS", "MAX_BATCH_RETRIES", "ON_BATCH_FAILURE", "BATCH_TIMEOUT_SECS"];

/// Parses one of this module's statements, or returns None (cursor unchanged).
pub fn parse(c: &mut Cursor<'_>) -> Result<Option<FnStmt>, SfError> {
    let mark = c.mark();
    let parsed = match c.peek_word() {
        Some("CREATE") => create(c)?,
        Some("ALTER") => alter(c)?,
        Some("DROP") => drop(c)?,
        Some("DESCRIBE" | "DESC") => describe(c)?,
        Some("SHOW") => show(c)?,
        _ => None,
    };
    if parsed.is_none() {
        c.reset(mark);
    }
    Ok(parsed)
}

/// `[API] INTEGRATION` (consumed), if next.
fn integration(c: &mut Cursor<'_>) -> bool {
    c.eat(&["API", "INTEGRATION"]) || c.eat(&["INTEGRATION"])
}

fn create(c: &mut Cursor<'_>) -> Result<Option<FnStmt>, SfError> {
    c.eat(&["CREATE"]);
    let or_replace = c.eat(&["OR", "REPLACE"]);
    let or_alter = !or_replace && c.eat(&["OR", "ALTER"]);
    if c.eat(&["API", "INTEGRATION"]) {
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        if or_replace && if_not_exists {
            return Err(SfError::compilation("OR REPLACE and IF NOT EXISTS are incompatible."));
        }
        let name = c.ident()?;
        let props = crate::objects::grammar::props(c, INTEGRATION_KEYS)?;
        return Ok(Some(FnStmt::CreateIntegration { name, or_replace, if_not_exists, props }));
    }
    let secure = c.eat(&["SECURE"]);
    let external = c.eat(&["EXTERNAL"]);
    if !c.eat(&["FUNCTION"]) {
        return Ok(None);
    }
    let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
    let name = c.object_name()?;
    let args = arguments(c)?;
    if !c.eat(&["RETURNS"]) {
        return if external { Err(c.error()) } else { Ok(None) };
    }
    if c.peek_word() == Some("TABLE") {
        return if external { Err(c.error()) } else { Ok(None) };
    }
    let returns = type_text(c)?;
    let mut f = CreateFunction {
        name,
        or_replace,
        or_alter,
        if_not_exists,
        secure,
        external,
        args,
        returns,
        not_null: false,
        strict: false,
        immutable: false,
        props: Vec::new(),
        headers: None,
        javascript: false,
        body: String::new(),
    };
    let keys = if external { EXTERNAL_KEYS } else { SERVICE_KEYS };
    loop {
        if c.at_end() {
            return if external { Err(c.error()) } else { Ok(None) };
        }
        if c.eat(&["NOT", "NULL"]) {
            f.not_null = true;
        } else if c.eat(&["NULL"]) {
            f.not_null = false;
        } else if c.eat(&["CALLED", "ON", "NULL", "INPUT"]) {
            f.strict = false;
        } else if c.eat(&["RETURNS", "NULL", "ON", "NULL", "INPUT"]) || c.eat(&["STRICT"]) {
            f.strict = true;
        } else if c.eat(&["VOLATILE"]) {
            f.immutable = false;
        } else if c.eat(&["IMMUTABLE"]) {
            f.immutable = true;
        } else if !external && c.peek_word() == Some("LANGUAGE") {
            c.ident()?;
            // JAVASCRIPT is floe's; SQL, PYTHON, JAVA, SCALA are some other kind of function.
            if c.peek_word() != Some("JAVASCRIPT") {
                return Ok(None);
            }
            c.ident()?;
            f.javascript = true;
        } else if c.eat(&["AS"]) {
            f.body = match c.peek() {
                Some(Token::SingleQuotedString(_) | Token::DollarQuotedString(_)) => c.string()?,
                _ => return if external { Err(c.error()) } else { Ok(None) },
            };
            c.eat_token(&Token::SemiColon);
            c.expect_end()?;
            break;
        } else if external && c.peek_word() == Some("HEADERS") && c.peek_next() == Some(&Token::Eq) {
            c.ident()?;
            c.eat_token(&Token::Eq);
            f.headers = Some(headers(c)?);
        } else {
            match c.peek_word() {
                Some(key) if keys.contains(&key) && c.peek_next() == Some(&Token::Eq) => {
                    let key = key.to_string();
                    c.ident()?;
                    c.eat_token(&Token::Eq);
                    f.props.push(Prop { key, value: value(c)? });
                }
                // LANGUAGE, HANDLER, … : some other kind of function.
                _ if !external => return Ok(None),
                _ => return Err(c.error()),
            }
        }
    }
    if !external && !f.javascript && !f.props.iter().any(|p| p.key == "SERVICE") {
        return Ok(None);
    }
    Ok(Some(FnStmt::CreateFunction(Box::new(f))))
}

/// `( [name type [, …]] )`.
fn arguments(c: &mut Cursor<'_>) -> Result<Vec<(String, String)>, SfError> {
    c.paren_list(|c| Ok((c.ident()?, type_text(c)?)))
}

/// `( type [, …] )` of a signature.
fn types(c: &mut Cursor<'_>) -> Result<Vec<String>, SfError> {
    c.paren_list(type_text)
}

/// A type as written: words, then an optional `( n [, m] )`, validated by `SfType::parse`.
fn type_text(c: &mut Cursor<'_>) -> Result<String, SfError> {
    let mut text = c.ident()?;
    while let Some(w) = c.peek_word() {
        // DOUBLE PRECISION, TIMESTAMP WITH [LOCAL] TIME ZONE, CHAR VARYING.
        if matches!(w, "PRECISION" | "WITH" | "WITHOUT" | "LOCAL" | "TIME" | "ZONE" | "VARYING") {
            text.push(' ');
            text.push_str(w);
            c.ident()?;
        } else {
            break;
        }
    }
    if c.eat_token(&Token::LParen) {
        text.push('(');
        loop {
            match c.peek() {
                Some(Token::Number(n, _)) => {
                    text.push_str(n);
                    let token = Token::Number(n.clone(), false);
                    if !c.eat_token(&token) {
                        let t = c.peek().cloned().unwrap_or(Token::EOF);
                        c.eat_token(&t);
                    }
                }
                Some(Token::Comma) => {
                    text.push(',');
                    c.eat_token(&Token::Comma);
                }
                Some(Token::RParen) => {
                    c.eat_token(&Token::RParen);
                    text.push(')');
                    break;
                }
                _ => return Err(c.error()),
            }
        }
    }
    crate::types::SfType::parse(&text)?;
    Ok(text)
}

/// `( 'name' = 'value' [, …] )`.
fn headers(c: &mut Cursor<'_>) -> Result<Vec<(String, String)>, SfError> {
    c.paren_list(|c| {
        let name = c.string()?;
        if !c.eat_token(&Token::Eq) {
            return Err(c.error());
        }
        Ok((name, c.string()?))
    })
}

fn alter(c: &mut Cursor<'_>) -> Result<Option<FnStmt>, SfError> {
    c.eat(&["ALTER"]);
    if integration(c) {
        let if_exists = c.eat(&["IF", "EXISTS"]);
        let name = c.ident()?;
        if !c.eat(&["SET"]) {
            return Err(c.error());
        }
        let props = crate::objects::grammar::props(c, INTEGRATION_KEYS)?;
        return Ok(Some(FnStmt::AlterIntegration { name, if_exists, props }));
    }
    c.eat(&["EXTERNAL"]);
    if !c.eat(&["FUNCTION"]) {
        return Ok(None);
    }
    let if_exists = c.eat(&["IF", "EXISTS"]);
    let name = c.object_name()?;
    let types = types(c)?;
    let action = if c.eat(&["RENAME", "TO"]) {
        AlterAction::Rename(c.object_name()?)
    } else if c.eat(&["SET"]) {
        let mut props = Vec::new();
        let mut headers_set = None;
        let mut secure = false;
        while !c.at_end() {
            c.eat_token(&Token::Comma);
            if c.eat(&["SECURE"]) {
                secure = true;
            } else if c.peek_word() == Some("HEADERS") && c.peek_next() == Some(&Token::Eq) {
                c.ident()?;
                c.eat_token(&Token::Eq);
                headers_set = Some(headers(c)?);
            } else {
                match c.peek_word() {
                    Some(key) if (EXTERNAL_KEYS.contains(&key) || SERVICE_KEYS.contains(&key) || key == "URL") && c.peek_next() == Some(&Token::Eq) => {
                        let key = key.to_string();
                        c.ident()?;
                        c.eat_token(&Token::Eq);
                        props.push(Prop { key, value: value(c)? });
                    }
                    _ => return Err(c.error()),
                }
            }
        }
        if props.is_empty() && headers_set.is_none() && !secure {
            return Err(c.error());
        }
        AlterAction::Set { props, headers: headers_set, secure }
    } else if c.eat(&["UNSET"]) {
        let mut keys = Vec::new();
        while !c.at_end() {
            c.eat_token(&Token::Comma);
            match c.peek_word() {
                Some(k) if matches!(k, "SECURE" | "COMMENT" | "HEADERS" | "CONTEXT_HEADERS" | "MAX_BATCH_ROWS" | "COMPRESSION" | "REQUEST_TRANSLATOR" | "RESPONSE_TRANSLATOR" | "MAX_BATCH_RETRIES" | "ON_BATCH_FAILURE" | "BATCH_TIMEOUT_SECS") => {
                    keys.push(k.to_string());
                    c.ident()?;
                }
                _ => return Err(c.error()),
            }
        }
        if keys.is_empty() {
            return Err(c.error());
        }
        AlterAction::Unset(keys)
    } else {
        return Err(c.error());
    };
    Ok(Some(FnStmt::AlterFunction { name, types, if_exists, action }))
}

fn drop(c: &mut Cursor<'_>) -> Result<Option<FnStmt>, SfError> {
    c.eat(&["DROP"]);
    if integration(c) {
        let if_exists = c.eat(&["IF", "EXISTS"]);
        let name = c.ident()?;
        c.expect_end()?;
        return Ok(Some(FnStmt::DropIntegration { name, if_exists }));
    }
    c.eat(&["EXTERNAL"]);
    if !c.eat(&["FUNCTION"]) {
        return Ok(None);
    }
    let if_exists = c.eat(&["IF", "EXISTS"]);
    let name = c.object_name()?;
    let types = types(c)?;
    c.expect_end()?;
    Ok(Some(FnStmt::DropFunction { name, types, if_exists }))
}

fn describe(c: &mut Cursor<'_>) -> Result<Option<FnStmt>, SfError> {
    c.eat_one(&["DESCRIBE", "DESC"]);
    if integration(c) {
        let name = c.ident()?;
        c.expect_end()?;
        return Ok(Some(FnStmt::DescribeIntegration { name }));
    }
    c.eat(&["EXTERNAL"]);
    if !c.eat(&["FUNCTION"]) {
        return Ok(None);
    }
    let name = c.object_name()?;
    let types = types(c)?;
    c.expect_end()?;
    Ok(Some(FnStmt::DescribeFunction { name, types }))
}

fn show(c: &mut Cursor<'_>) -> Result<Option<FnStmt>, SfError> {
    c.eat(&["SHOW"]);
    if c.eat(&["API", "INTEGRATIONS"]) || c.eat(&["INTEGRATIONS"]) {
        let like = like(c)?;
        c.expect_end()?;
        return Ok(Some(FnStmt::ShowIntegrations { like }));
    }
    c.eat(&["USER"]);
    let external_only = c.eat(&["EXTERNAL"]);
    if !c.eat(&["FUNCTIONS"]) {
        return Ok(None);
    }
    let like = like(c)?;
    let scope = scope(c)?;
    c.expect_end()?;
    Ok(Some(FnStmt::ShowFunctions { external_only, like, scope }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Stmt, parse_one};

    fn f(sql: &str) -> FnStmt {
        match parse_one(sql).unwrap() {
            Stmt::Functions(s) => *s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn external_function() {
        let FnStmt::CreateFunction(c) = f("create or replace secure external function ext_func(a integer, b varchar(10)) returns variant not null strict immutable api_integration = my_api headers = ('volume-measure' = 'liters') context_headers = (current_user, current_timestamp) max_batch_rows = 10 compression = none as 'https://abc.execute-api.us-west-2.amazonaws.com/prod/f'") else { panic!() };
        assert!(c.or_replace && c.secure && c.external && c.not_null && c.strict && c.immutable);
        assert_eq!(c.name, vec!["EXT_FUNC"]);
        assert_eq!(c.args, vec![("A".into(), "INTEGER".into()), ("B".into(), "VARCHAR(10)".into())]);
        assert_eq!(c.returns, "VARIANT");
        assert_eq!(c.headers, Some(vec![("volume-measure".into(), "liters".into())]));
        assert_eq!(c.props.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(), vec!["API_INTEGRATION", "CONTEXT_HEADERS", "MAX_BATCH_ROWS", "COMPRESSION"]);
        assert_eq!(c.body, "https://abc.execute-api.us-west-2.amazonaws.com/prod/f");
    }

    #[test]
    fn service_function_and_others() {
        let FnStmt::CreateFunction(c) = f("CREATE FUNCTION my_echo_udf (InputText VARCHAR) RETURNS VARCHAR SERVICE=echo_service ENDPOINT=echoendpoint MAX_BATCH_RETRIES = 1 AS '/echo'") else { panic!() };
        assert!(!c.external);
        assert_eq!(c.body, "/echo");
        // A SQL UDF is not floe's grammar.
        assert!(matches!(parse_one("CREATE FUNCTION f(x INT) RETURNS INT AS 'x + 1'"), Err(_) | Ok(Stmt::Sql(_))));
        assert_eq!(f("drop function if exists f(number, varchar)"), FnStmt::DropFunction { name: vec!["F".into()], types: vec!["NUMBER".into(), "VARCHAR".into()], if_exists: true });
        assert!(matches!(f("show external functions like 'E%' in schema db.s"), FnStmt::ShowFunctions { external_only: true, .. }));
        assert!(matches!(f("describe integration my_api"), FnStmt::DescribeIntegration { .. }));
        assert!(matches!(f("create api integration my_api api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::1:role/r' api_allowed_prefixes = ('https://x/') enabled = true"), FnStmt::CreateIntegration { .. }));
        assert!(matches!(f("alter function f(varchar) set max_batch_rows = 5"), FnStmt::AlterFunction { .. }));
        assert!(parse_one("create external function f(a int) returns int api_integration = i bogus = 1 as 'http://x'").is_err());
    }

    #[test]
    fn javascript_functions() {
        let FnStmt::CreateFunction(c) = f("create or replace secure function tr(event object) returns object language javascript strict comment = 'x' as $$ return {body: EVENT}; $$") else { panic!() };
        assert!(c.javascript && c.secure && c.strict && !c.external);
        assert_eq!(c.args, vec![("EVENT".into(), "OBJECT".into())]);
        assert_eq!(c.body.trim(), "return {body: EVENT};");
        // Other languages are not floe's grammar.
        assert!(matches!(parse_one("CREATE FUNCTION f(x INT) RETURNS INT LANGUAGE PYTHON RUNTIME_VERSION = '3.11' HANDLER = 'h' AS 'def h(x): return x'"), Err(_) | Ok(Stmt::Sql(_))));
    }
}
