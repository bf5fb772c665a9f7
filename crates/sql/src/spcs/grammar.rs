//! floe's grammar for services and job services (spcs.md §4, §5, §8): CREATE/ALTER/DROP/SHOW/DESCRIBE
//! SERVICE, EXECUTE JOB SERVICE, SHOW ENDPOINTS/INSTANCES/CONTAINERS/ROLES IN SERVICE, secrets, network
//! rules and external access integrations, and the system functions that act on services
//! (`SELECT SYSTEM$GET_SERVICE_STATUS(…)`, `CALL job!SPCS_WAIT_FOR(…)`), which are statements here
//! because they wait and read floe's runtime state rather than compute over rows.
//!
//! Options come in any order (the `snow` CLI puts them after the `$$` spec, the docs before it), with
//! Python-style `True`/`False` accepted, through objects::grammar's `props`.

use datafusion::sql::sqlparser::tokenizer::Token;
use model::SfError;

use super::{ServiceAction, SpcsStmt, SpecSource, SystemCall};
use crate::objects::grammar::{group, like, limit, props, scope, stage_ref, unset_list, value};
use crate::objects::{Prop, Value};
use crate::parse::Cursor;

/// Properties of CREATE SERVICE.
pub const SERVICE_KEYS: &[&str] = &[
    "AUTO_SUSPEND_SECS", "EXTERNAL_ACCESS_INTEGRATIONS", "AUTO_RESUME", "MIN_INSTANCES", "MIN_READY_INSTANCES", "MAX_INSTANCES",
    "LOG_LEVEL", "QUERY_WAREHOUSE", "COMMENT",
];
/// Properties of EXECUTE JOB SERVICE.
pub const JOB_KEYS: &[&str] = &["NAME", "ASYNC", "REPLICAS", "QUERY_WAREHOUSE", "COMMENT", "EXTERNAL_ACCESS_INTEGRATIONS", "LOG_LEVEL"];
/// Properties ALTER SERVICE … UNSET accepts.
pub const SERVICE_UNSET_KEYS: &[&str] = &[
    "MIN_INSTANCES", "AUTO_SUSPEND_SECS", "MAX_INSTANCES", "LOG_LEVEL", "MIN_READY_INSTANCES", "QUERY_WAREHOUSE", "AUTO_RESUME",
    "EXTERNAL_ACCESS_INTEGRATIONS", "COMMENT",
];
/// Properties of CREATE SECRET.
pub const SECRET_KEYS: &[&str] =
    &["TYPE", "USERNAME", "PASSWORD", "SECRET_STRING", "COMMENT", "OAUTH_SCOPES", "OAUTH_REFRESH_TOKEN", "OAUTH_REFRESH_TOKEN_EXPIRY_TIME", "API_AUTHENTICATION", "ALGORITHM", "PRIVATE_KEY"];
/// Properties of CREATE NETWORK RULE.
pub const NETWORK_RULE_KEYS: &[&str] = &["TYPE", "VALUE_LIST", "MODE", "COMMENT"];
/// Properties of CREATE EXTERNAL ACCESS INTEGRATION.
pub const EAI_KEYS: &[&str] = &["ALLOWED_NETWORK_RULES", "ALLOWED_API_AUTHENTICATION_INTEGRATIONS", "ALLOWED_AUTHENTICATION_SECRETS", "ENABLED", "COMMENT"];

/// System functions handled as statements.
const SYSTEM_FUNCTIONS: &[&str] = &[
    "SYSTEM$GET_SERVICE_STATUS", "SYSTEM$GET_SERVICE_LOGS", "SYSTEM$WAIT_FOR_SERVICES", "SYSTEM$GET_SERVICE_DNS_DOMAIN", "SYSTEM$CANCEL_JOB",
];
/// `<service>!<method>` functions handled as statements.
const SERVICE_METHODS: &[&str] = &["SPCS_WAIT_FOR", "SPCS_CANCEL_JOB"];

/// Parses one of this module's statements, or returns None (with the cursor where it was) for others.
pub fn parse(c: &mut Cursor<'_>) -> Result<Option<SpcsStmt>, SfError> {
    let mark = c.mark();
    let parsed = match c.peek_word() {
        Some("CREATE") => create(c)?,
        Some("ALTER") => alter(c)?,
        Some("DROP") => drop(c)?,
        Some("SHOW") => show(c)?,
        Some("DESCRIBE" | "DESC") => describe(c)?,
        Some("EXECUTE") if c.eat(&["EXECUTE", "JOB", "SERVICE"]) => Some(execute_job(c)?),
        Some("SELECT" | "CALL") => system_call(c)?,
        _ => None,
    };
    if parsed.is_none() {
        c.reset(mark);
    }
    Ok(parsed)
}

/// `SECRET`, `NETWORK RULE` or `EXTERNAL ACCESS INTEGRATION` (consumed), if next.
fn object_kind(c: &mut Cursor<'_>) -> Option<&'static str> {
    if c.eat(&["SECRET"]) {
        Some("SECRET")
    } else if c.eat(&["NETWORK", "RULE"]) {
        Some("NETWORK RULE")
    } else if c.eat(&["EXTERNAL", "ACCESS", "INTEGRATION"]) {
        Some("EXTERNAL ACCESS INTEGRATION")
    } else {
        None
    }
}

fn create(c: &mut Cursor<'_>) -> Result<Option<SpcsStmt>, SfError> {
    c.eat(&["CREATE"]);
    let or_replace = c.eat(&["OR", "REPLACE"]);
    if c.eat(&["SERVICE"]) {
        if or_replace {
            return Err(c.error());
        }
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        let name = c.object_name()?;
        let (pool, source, props) = service_body(c, SERVICE_KEYS)?;
        return Ok(Some(SpcsStmt::CreateService { name, if_not_exists, pool, source, props }));
    }
    let Some(kind) = object_kind(c) else { return Ok(None) };
    let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
    let name = c.object_name()?;
    let keys = match kind {
        "SECRET" => SECRET_KEYS,
        "NETWORK RULE" => NETWORK_RULE_KEYS,
        _ => EAI_KEYS,
    };
    let props = props(c, keys)?;
    Ok(Some(SpcsStmt::CreateObject { kind, name, or_replace, if_not_exists, props }))
}

/// `IN COMPUTE POOL p`, the spec source and the options, in any order.
fn service_body(c: &mut Cursor<'_>, keys: &[&str]) -> Result<(String, SpecSource, Vec<Prop>), SfError> {
    let mut pool = None;
    let mut source = None;
    let mut all_props = Vec::new();
    while !c.at_end() {
        c.eat_token(&Token::Comma);
        let tag_mark = c.mark();
        if (c.eat(&["WITH", "TAG"]) || c.eat(&["TAG"])) && c.peek() == Some(&Token::LParen) {
            all_props.push(Prop { key: "TAG".into(), value: Value::Group(group(c)?) });
            continue;
        }
        c.reset(tag_mark);
        if c.eat(&["IN", "COMPUTE", "POOL"]) {
            pool = Some(c.ident()?);
        } else if c.peek_word() == Some("FROM") {
            source = Some(spec_source(c)?);
        } else if c.eat_token(&Token::SemiColon) {
            continue;
        } else {
            match c.peek_word() {
                Some(key) if keys.contains(&key) && c.peek_next() == Some(&Token::Eq) => {
                    let key = key.to_string();
                    c.ident()?;
                    c.eat_token(&Token::Eq);
                    all_props.push(Prop { key, value: value(c)? });
                }
                _ => return Err(c.error()),
            }
        }
    }
    let pool = pool.ok_or_else(|| SfError::compilation("Missing IN COMPUTE POOL clause."))?;
    let source = source.ok_or_else(|| SfError::compilation("Missing FROM SPECIFICATION clause."))?;
    Ok((pool, source, all_props))
}

fn spec_source(c: &mut Cursor<'_>) -> Result<SpecSource, SfError> {
    c.eat(&["FROM"]);
    let stage = if matches!(c.peek(), Some(Token::AtSign)) || matches!(c.peek(), Some(Token::SingleQuotedString(s)) if s.starts_with('@')) {
        Some(stage_ref(c)?)
    } else {
        None
    };
    let (template, text, file) = match c.eat_one(&["SPECIFICATION", "SPECIFICATION_FILE", "SPEC", "SPECIFICATION_TEMPLATE", "SPECIFICATION_TEMPLATE_FILE"]) {
        Some("SPECIFICATION") if stage.is_none() => (false, Some(c.string()?), None),
        Some("SPECIFICATION_TEMPLATE") if stage.is_none() => (true, Some(c.string()?), None),
        Some(kw @ ("SPECIFICATION_FILE" | "SPEC" | "SPECIFICATION_TEMPLATE_FILE")) => {
            c.eat_token(&Token::Eq);
            (kw == "SPECIFICATION_TEMPLATE_FILE", None, Some(c.string()?))
        }
        _ => return Err(c.error()),
    };
    let using = if template {
        if !c.eat(&["USING"]) {
            return Err(SfError::compilation("USING clause is required with a specification template."));
        }
        using(c)?
    } else {
        Vec::new()
    };
    Ok(match (stage, text, file) {
        (None, Some(text), _) => SpecSource::Inline { text, using: template.then_some(using) },
        (Some(stage), _, Some(file)) => SpecSource::Staged { stage, file, using: template.then_some(using) },
        (None, None, Some(_)) => {
            return Err(SfError::unsupported("SPECIFICATION_FILE without a stage (native applications)"));
        }
        _ => return Err(c.error()),
    })
}

/// `( key => value, … )`; values are kept as written (strings unquoted).
fn using(c: &mut Cursor<'_>) -> Result<Vec<(String, String)>, SfError> {
    c.paren_list(|c| {
        let key = match c.peek() {
            Some(Token::Word(w)) if w.quote_style.is_some() => {
                let v = w.value.clone();
                c.ident()?;
                v
            }
            Some(Token::Word(_)) => c.raw_token().map(|t| {
                c.ident().ok();
                t
            }).ok_or_else(|| c.error())?,
            _ => return Err(c.error()),
        };
        if !c.eat_token(&Token::Arrow) {
            return Err(c.error());
        }
        let negative = c.eat_token(&Token::Minus);
        let value = match c.peek().cloned() {
            Some(Token::SingleQuotedString(s)) => s,
            Some(Token::DollarQuotedString(s)) => s.value,
            Some(Token::Number(n, _)) => if negative { format!("-{n}") } else { n },
            Some(Token::Word(_)) => c.raw_token().unwrap_or_default(),
            _ => return Err(c.error()),
        };
        let t = c.peek().cloned().unwrap_or(Token::EOF);
        c.eat_token(&t);
        Ok((key, value))
    })
}

fn execute_job(c: &mut Cursor<'_>) -> Result<SpcsStmt, SfError> {
    let (pool, source, props) = service_body(c, JOB_KEYS)?;
    Ok(SpcsStmt::ExecuteJob { pool, source, props })
}

fn alter(c: &mut Cursor<'_>) -> Result<Option<SpcsStmt>, SfError> {
    c.eat(&["ALTER"]);
    if !c.eat(&["SERVICE"]) {
        let Some(kind) = object_kind(c) else { return Ok(None) };
        let if_exists = c.eat(&["IF", "EXISTS"]);
        let name = c.object_name()?;
        if !c.eat(&["SET"]) {
            return Err(c.error());
        }
        let keys = match kind {
            "SECRET" => SECRET_KEYS,
            "NETWORK RULE" => NETWORK_RULE_KEYS,
            _ => EAI_KEYS,
        };
        let props = props(c, keys)?;
        return Ok(Some(SpcsStmt::AlterObject { kind, name, if_exists, props }));
    }
    let if_exists = c.eat(&["IF", "EXISTS"]);
    let name = c.object_name()?;
    let action = match c.peek_word() {
        Some("SUSPEND") => {
            c.ident()?;
            ServiceAction::Suspend
        }
        Some("RESUME") => {
            c.ident()?;
            ServiceAction::Resume
        }
        Some("FROM") => ServiceAction::Spec(spec_source(c)?),
        Some("SET") => {
            c.ident()?;
            ServiceAction::Set(props(c, SERVICE_KEYS)?)
        }
        Some("UNSET") => {
            c.ident()?;
            ServiceAction::Unset(unset_list(c, SERVICE_UNSET_KEYS)?)
        }
        _ => return Err(c.error()),
    };
    c.expect_end()?;
    Ok(Some(SpcsStmt::AlterService { name, if_exists, action }))
}

fn drop(c: &mut Cursor<'_>) -> Result<Option<SpcsStmt>, SfError> {
    c.eat(&["DROP"]);
    let kind = if c.eat(&["SERVICE"]) {
        "SERVICE"
    } else {
        let Some(kind) = object_kind(c) else { return Ok(None) };
        kind
    };
    let if_exists = c.eat(&["IF", "EXISTS"]);
    let name = c.object_name()?;
    let force = kind == "SERVICE" && c.eat(&["FORCE"]);
    c.expect_end()?;
    if kind == "SERVICE" {
        return Ok(Some(SpcsStmt::DropService { name, if_exists, force }));
    }
    Ok(Some(SpcsStmt::DropObject { kind, name, if_exists }))
}

fn describe(c: &mut Cursor<'_>) -> Result<Option<SpcsStmt>, SfError> {
    c.eat_one(&["DESCRIBE", "DESC"]);
    let kind = if c.eat(&["SERVICE"]) {
        "SERVICE"
    } else if c.eat(&["SECRET"]) {
        "SECRET"
    } else if c.eat(&["NETWORK", "RULE"]) {
        "NETWORK RULE"
    } else if c.eat(&["EXTERNAL", "ACCESS", "INTEGRATION"]) || c.eat(&["INTEGRATION"]) {
        "EXTERNAL ACCESS INTEGRATION"
    } else {
        return Ok(None);
    };
    let name = c.object_name()?;
    c.expect_end()?;
    if kind == "SERVICE" {
        return Ok(Some(SpcsStmt::DescribeService { name }));
    }
    Ok(Some(SpcsStmt::DescribeObject { kind, name }))
}

fn show(c: &mut Cursor<'_>) -> Result<Option<SpcsStmt>, SfError> {
    c.eat(&["SHOW"]);
    let job_only = c.eat(&["JOB"]);
    if c.eat(&["SERVICES"]) {
        let exclude_jobs = !job_only && c.eat(&["EXCLUDE", "JOBS"]);
        let like = like(c)?;
        let mark = c.mark();
        let pool = if c.eat(&["IN", "COMPUTE", "POOL"]) {
            Some(c.ident()?)
        } else {
            c.reset(mark);
            None
        };
        let scope = if pool.is_none() { scope(c)? } else { crate::objects::ShowScope::Account };
        let starts_with = if c.eat(&["STARTS", "WITH"]) { Some(c.string()?) } else { None };
        let (limit, from) = limit(c)?;
        if c.eat(&["OF", "TYPE"]) {
            loop {
                c.ident()?;
                if !c.eat_token(&Token::Comma) {
                    break;
                }
            }
        }
        c.expect_end()?;
        return Ok(Some(SpcsStmt::ShowServices { job_only, exclude_jobs, like, scope, pool, starts_with, limit, from }));
    }
    if job_only {
        return Ok(None);
    }
    let what = if c.eat(&["ENDPOINTS"]) {
        "ENDPOINTS"
    } else if c.eat(&["SERVICE", "INSTANCES"]) {
        "INSTANCES"
    } else if c.eat(&["SERVICE", "CONTAINERS"]) {
        "CONTAINERS"
    } else if c.eat(&["ROLES"]) {
        "ROLES"
    } else if c.eat(&["SECRETS"]) {
        return show_objects(c, "SECRET");
    } else if c.eat(&["NETWORK", "RULES"]) {
        return show_objects(c, "NETWORK RULE");
    } else if c.eat(&["EXTERNAL", "ACCESS", "INTEGRATIONS"]) {
        return show_objects(c, "EXTERNAL ACCESS INTEGRATION");
    } else {
        return Ok(None);
    };
    if !c.eat(&["IN", "SERVICE"]) {
        return Ok(None);
    }
    let name = c.object_name()?;
    c.expect_end()?;
    Ok(Some(SpcsStmt::ShowInService { what, name }))
}

fn show_objects(c: &mut Cursor<'_>, kind: &'static str) -> Result<Option<SpcsStmt>, SfError> {
    let like = like(c)?;
    let scope = scope(c)?;
    c.expect_end()?;
    Ok(Some(SpcsStmt::ShowObjects { kind, like, scope }))
}

/// `SELECT|CALL SYSTEM$F(args)` or `SELECT|CALL [db.schema.]svc!METHOD(args)`, alone in its statement.
fn system_call(c: &mut Cursor<'_>) -> Result<Option<SpcsStmt>, SfError> {
    c.eat_one(&["SELECT", "CALL"]);
    let name_mark = c.mark();
    let Ok(mut name) = c.object_name() else { return Ok(None) };
    let function = if c.eat_token(&Token::ExclamationMark) {
        let Some(method) = c.peek_word().filter(|m| SERVICE_METHODS.contains(m)) else { return Ok(None) };
        let method = method.to_string();
        c.ident()?;
        method
    } else {
        let Some(last) = name.pop() else { return Ok(None) };
        if !name.is_empty() || !SYSTEM_FUNCTIONS.contains(&last.as_str()) {
            return Ok(None);
        }
        last
    };
    let _ = name_mark;
    if !c.eat_token(&Token::LParen) {
        return Ok(None);
    }
    let mut args = Vec::new();
    while !c.eat_token(&Token::RParen) {
        if !args.is_empty() && !c.eat_token(&Token::Comma) {
            return Ok(None);
        }
        let negative = c.eat_token(&Token::Minus);
        let v = match c.peek().cloned() {
            Some(Token::SingleQuotedString(s)) => Value::Str(s),
            Some(Token::DollarQuotedString(s)) => Value::Str(s.value),
            Some(Token::Number(n, _)) => Value::Num(if negative { format!("-{n}") } else { n }),
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value == "TRUE" => Value::Bool(true),
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value == "FALSE" => Value::Bool(false),
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value == "NULL" => Value::Null,
            _ => return Ok(None),
        };
        let t = c.peek().cloned().unwrap_or(Token::EOF);
        c.eat_token(&t);
        args.push(v);
    }
    c.eat_token(&Token::SemiColon);
    if !c.at_end() {
        return Ok(None);
    }
    Ok(Some(SpcsStmt::Call(SystemCall { function, service: name, args })))
}
