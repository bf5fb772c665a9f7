//! floe's grammar for warehouses, compute pools, image repositories, stages, LIST and REMOVE.
//!
//! Runs before every other grammar (`parse::parse_floe`), so Snowflake's option syntax parses exactly
//! (sqlparser knows `CREATE STAGE` and `CREATE WAREHOUSE` only partly). Options are parsed generically
//! into `Prop`s against a list of the keys each statement accepts (an unknown key is a syntax error at
//! that key, as in Snowflake); their values are checked where the objects are built, so errors can name
//! the offending value as written.

use datafusion::sql::sqlparser::tokenizer::Token;
use model::SfError;

use super::{ObjectStmt, PoolAction, Prop, ShowScope, StageRef, Value, WarehouseAction};
use crate::parse::Cursor;

/// Properties of CREATE WAREHOUSE.
pub const WAREHOUSE_CREATE_KEYS: &[&str] = &[
    "WAREHOUSE_TYPE", "WAREHOUSE_SIZE", "GENERATION", "RESOURCE_CONSTRAINT", "MAX_CLUSTER_COUNT", "MIN_CLUSTER_COUNT", "SCALING_POLICY",
    "AUTO_SUSPEND", "AUTO_RESUME", "INITIALLY_SUSPENDED", "RESOURCE_MONITOR", "COMMENT", "ENABLE_QUERY_ACCELERATION",
    "QUERY_ACCELERATION_MAX_SCALE_FACTOR", "MAX_CONCURRENCY_LEVEL", "STATEMENT_QUEUED_TIMEOUT_IN_SECONDS", "STATEMENT_TIMEOUT_IN_SECONDS",
];
/// Properties of ALTER WAREHOUSE … SET (and UNSET).
pub const WAREHOUSE_SET_KEYS: &[&str] = &[
    "WAREHOUSE_TYPE", "WAREHOUSE_SIZE", "GENERATION", "RESOURCE_CONSTRAINT", "WAIT_FOR_COMPLETION", "MAX_CLUSTER_COUNT", "MIN_CLUSTER_COUNT",
    "SCALING_POLICY", "AUTO_SUSPEND", "AUTO_RESUME", "RESOURCE_MONITOR", "COMMENT", "ENABLE_QUERY_ACCELERATION",
    "QUERY_ACCELERATION_MAX_SCALE_FACTOR", "MAX_CONCURRENCY_LEVEL", "STATEMENT_QUEUED_TIMEOUT_IN_SECONDS", "STATEMENT_TIMEOUT_IN_SECONDS",
];
/// Properties of CREATE COMPUTE POOL.
pub const POOL_CREATE_KEYS: &[&str] =
    &["MIN_NODES", "MAX_NODES", "INSTANCE_FAMILY", "AUTO_RESUME", "INITIALLY_SUSPENDED", "AUTO_SUSPEND_SECS", "COMMENT", "PLACEMENT_GROUP", "BACKUP_INSTANCE_FAMILIES"];
/// Properties of ALTER COMPUTE POOL … SET.
pub const POOL_SET_KEYS: &[&str] =
    &["MIN_NODES", "MAX_NODES", "AUTO_RESUME", "AUTO_SUSPEND_SECS", "PLACEMENT_GROUP", "INSTANCE_FAMILY", "BACKUP_INSTANCE_FAMILIES", "COMMENT"];
/// Properties ALTER COMPUTE POOL … UNSET accepts.
pub const POOL_UNSET_KEYS: &[&str] = &["AUTO_SUSPEND_SECS", "AUTO_RESUME", "PLACEMENT_GROUP", "BACKUP_INSTANCE_FAMILIES", "COMMENT"];
/// Properties of CREATE IMAGE REPOSITORY.
pub const REPO_KEYS: &[&str] = &["ENCRYPTION", "COMMENT"];
/// Properties of CREATE STAGE (URL and credentials make an external stage, which floe refuses).
pub const STAGE_KEYS: &[&str] =
    &["ENCRYPTION", "DIRECTORY", "FILE_FORMAT", "COPY_OPTIONS", "COMMENT", "URL", "STORAGE_INTEGRATION", "CREDENTIALS", "ENDPOINT", "USE_PRIVATELINK_ENDPOINT"];

/// Parses one of this module's statements, or returns None (with the cursor where it was) for others.
pub fn parse(c: &mut Cursor<'_>) -> Result<Option<ObjectStmt>, SfError> {
    let mark = c.mark();
    let parsed = match c.peek_word() {
        Some("CREATE") => create(c)?,
        Some("ALTER") => alter(c)?,
        Some("DROP") => drop(c)?,
        Some("SHOW") => show(c)?,
        Some("DESCRIBE" | "DESC") => describe(c)?,
        Some("COPY") => copy(c)?,
        Some("LIST" | "LS") => {
            c.eat_one(&["LIST", "LS"]);
            let stage = stage_ref(c)?;
            let pattern = pattern(c)?;
            c.expect_end()?;
            Some(ObjectStmt::List { stage, pattern })
        }
        Some("REMOVE" | "RM") => {
            c.eat_one(&["REMOVE", "RM"]);
            let stage = stage_ref(c)?;
            let pattern = pattern(c)?;
            c.expect_end()?;
            Some(ObjectStmt::Remove { stage, pattern })
        }
        _ => None,
    };
    if parsed.is_none() {
        c.reset(mark);
    }
    Ok(parsed)
}

fn create(c: &mut Cursor<'_>) -> Result<Option<ObjectStmt>, SfError> {
    c.eat(&["CREATE"]);
    let or_replace = c.eat(&["OR", "REPLACE"]);
    let temporary = c.eat_one(&["TEMP", "TEMPORARY"]).is_some();
    if c.eat(&["WAREHOUSE"]) && !temporary {
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        let name = single_name(c)?;
        c.eat(&["WITH"]);
        let props = props(c, WAREHOUSE_CREATE_KEYS)?;
        return Ok(Some(ObjectStmt::CreateWarehouse { name, or_replace, if_not_exists, props }));
    }
    if c.peek_word() == Some("COMPUTE") && (or_replace || temporary) {
        // CREATE COMPUTE POOL has neither OR REPLACE nor TEMPORARY.
        return Err(c.error());
    }
    if c.eat(&["COMPUTE", "POOL"]) {
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        let name = single_name(c)?;
        let application = if c.eat(&["FOR", "APPLICATION"]) { Some(c.ident()?) } else { None };
        let props = props(c, POOL_CREATE_KEYS)?;
        return Ok(Some(ObjectStmt::CreateComputePool { name, if_not_exists, application, props }));
    }
    if c.eat(&["IMAGE", "REPOSITORY"]) && !temporary {
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        let name = c.object_name()?;
        let props = props(c, REPO_KEYS)?;
        return Ok(Some(ObjectStmt::CreateImageRepository { name, or_replace, if_not_exists, props }));
    }
    if c.eat(&["FILE", "FORMAT"]) {
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        let name = c.object_name()?;
        let props = props(c, super::file_format::FORMAT_KEYS)?;
        return Ok(Some(ObjectStmt::CreateFileFormat { name, or_replace, temporary, if_not_exists, props }));
    }
    if c.eat(&["STAGE"]) {
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        let name = c.object_name()?;
        let props = props(c, STAGE_KEYS)?;
        return Ok(Some(ObjectStmt::CreateStage { name, or_replace, temporary, if_not_exists, props }));
    }
    Ok(None)
}

fn alter(c: &mut Cursor<'_>) -> Result<Option<ObjectStmt>, SfError> {
    c.eat(&["ALTER"]);
    if c.eat(&["WAREHOUSE"]) {
        let if_exists = c.eat(&["IF", "EXISTS"]);
        // The name may be left out for SUSPEND/RESUME/ABORT ALL QUERIES (the session's warehouse).
        let omitted = matches!(c.peek_word(), Some("SUSPEND" | "RESUME")) && (c.peek_next().is_none() || matches!(c.peek_next(), Some(Token::Word(w)) if w.value == "IF"))
            || (c.peek_word() == Some("ABORT") && matches!(c.peek_next(), Some(Token::Word(w)) if w.value == "ALL"));
        let name = if omitted { None } else { Some(single_name(c)?) };
        let action = if c.eat(&["SUSPEND"]) {
            WarehouseAction::Suspend
        } else if c.eat(&["RESUME"]) {
            WarehouseAction::Resume { if_suspended: c.eat(&["IF", "SUSPENDED"]) }
        } else if c.eat(&["ABORT", "ALL", "QUERIES"]) {
            WarehouseAction::AbortAllQueries
        } else if c.eat(&["RENAME", "TO"]) {
            WarehouseAction::Rename(single_name(c)?)
        } else if c.eat(&["SET"]) {
            let props = props(c, WAREHOUSE_SET_KEYS)?;
            if props.is_empty() {
                return Err(c.error());
            }
            WarehouseAction::Set(props)
        } else if c.eat(&["UNSET"]) {
            WarehouseAction::Unset(unset_list(c, WAREHOUSE_SET_KEYS)?)
        } else {
            return Err(c.error());
        };
        c.expect_end()?;
        return Ok(Some(ObjectStmt::AlterWarehouse { name, if_exists, action }));
    }
    if c.eat(&["COMPUTE", "POOL"]) {
        let if_exists = c.eat(&["IF", "EXISTS"]);
        let name = single_name(c)?;
        let action = if c.eat(&["SUSPEND"]) {
            PoolAction::Suspend
        } else if c.eat(&["RESUME"]) {
            PoolAction::Resume
        } else if c.eat(&["STOP", "ALL"]) {
            let mut types = Vec::new();
            if c.eat(&["OF", "TYPE"]) {
                types.push(c.ident()?.to_uppercase());
                while c.eat_token(&Token::Comma) {
                    types.push(c.ident()?.to_uppercase());
                }
            }
            PoolAction::StopAll(types)
        } else if c.eat(&["SET"]) {
            let props = props(c, POOL_SET_KEYS)?;
            if props.is_empty() {
                return Err(c.error());
            }
            PoolAction::Set(props)
        } else if c.eat(&["UNSET"]) {
            PoolAction::Unset(unset_list(c, POOL_UNSET_KEYS)?)
        } else {
            return Err(c.error());
        };
        c.expect_end()?;
        return Ok(Some(ObjectStmt::AlterComputePool { name, if_exists, action }));
    }
    Ok(None)
}

fn drop(c: &mut Cursor<'_>) -> Result<Option<ObjectStmt>, SfError> {
    c.eat(&["DROP"]);
    let kind = if c.eat(&["WAREHOUSE"]) {
        1
    } else if c.eat(&["COMPUTE", "POOL"]) {
        2
    } else if c.eat(&["IMAGE", "REPOSITORY"]) {
        3
    } else if c.eat(&["STAGE"]) {
        4
    } else if c.eat(&["FILE", "FORMAT"]) {
        5
    } else {
        return Ok(None);
    };
    let if_exists = c.eat(&["IF", "EXISTS"]);
    let stmt = match kind {
        1 => ObjectStmt::DropWarehouse { name: single_name(c)?, if_exists },
        2 => ObjectStmt::DropComputePool { name: single_name(c)?, if_exists },
        3 => ObjectStmt::DropImageRepository { name: c.object_name()?, if_exists },
        5 => ObjectStmt::DropFileFormat { name: c.object_name()?, if_exists },
        _ => ObjectStmt::DropStage { name: c.object_name()?, if_exists },
    };
    c.expect_end()?;
    Ok(Some(stmt))
}

fn describe(c: &mut Cursor<'_>) -> Result<Option<ObjectStmt>, SfError> {
    c.eat_one(&["DESCRIBE", "DESC"]);
    let stmt = if c.eat(&["WAREHOUSE"]) {
        ObjectStmt::DescribeWarehouse { name: single_name(c)? }
    } else if c.eat(&["COMPUTE", "POOL"]) {
        ObjectStmt::DescribeComputePool { name: single_name(c)? }
    } else if c.eat(&["STAGE"]) {
        ObjectStmt::DescribeStage { name: c.object_name()? }
    } else if c.eat(&["FILE", "FORMAT"]) {
        ObjectStmt::DescribeFileFormat { name: c.object_name()? }
    } else {
        return Ok(None);
    };
    c.expect_end()?;
    Ok(Some(stmt))
}

fn show(c: &mut Cursor<'_>) -> Result<Option<ObjectStmt>, SfError> {
    c.eat(&["SHOW"]);
    c.eat(&["TERSE"]);
    let stmt = if c.eat(&["WAREHOUSES"]) {
        let like = like(c)?;
        ObjectStmt::ShowWarehouses { like }
    } else if c.eat(&["COMPUTE", "POOL", "INSTANCE", "FAMILIES"]) {
        let like = like(c)?;
        ObjectStmt::ShowInstanceFamilies { like }
    } else if c.eat(&["COMPUTE", "POOLS"]) {
        let like = like(c)?;
        let starts_with = if c.eat(&["STARTS", "WITH"]) { Some(c.string()?) } else { None };
        let (limit, from) = limit(c)?;
        ObjectStmt::ShowComputePools { like, starts_with, limit, from }
    } else if c.eat(&["IMAGE", "REPOSITORIES"]) {
        let like = like(c)?;
        let scope = scope(c)?;
        ObjectStmt::ShowImageRepositories { like, scope }
    } else if c.eat(&["IMAGES"]) {
        let like = like(c)?;
        if !c.eat(&["IN", "IMAGE", "REPOSITORY"]) {
            return Err(c.error());
        }
        ObjectStmt::ShowImages { like, repository: c.object_name()? }
    } else if c.eat(&["STAGES"]) {
        let like = like(c)?;
        let scope = scope(c)?;
        ObjectStmt::ShowStages { like, scope }
    } else if c.eat(&["FILE", "FORMATS"]) {
        let like = like(c)?;
        let scope = scope(c)?;
        ObjectStmt::ShowFileFormats { like, scope }
    } else {
        return Ok(None);
    };
    c.expect_end()?;
    Ok(Some(stmt))
}

pub(crate) fn like(c: &mut Cursor<'_>) -> Result<Option<String>, SfError> {
    if c.eat(&["LIKE"]) { Ok(Some(c.string()?)) } else { Ok(None) }
}

pub(crate) fn limit(c: &mut Cursor<'_>) -> Result<(Option<usize>, Option<String>), SfError> {
    if !c.eat(&["LIMIT"]) {
        return Ok((None, None));
    }
    let n = match c.peek() {
        Some(Token::Number(n, _)) => n.parse::<usize>().map_err(|_| c.error())?,
        _ => return Err(c.error()),
    };
    c.eat_token(&c.peek().cloned().unwrap_or(Token::EOF));
    let from = if c.eat(&["FROM"]) { Some(c.string()?) } else { None };
    Ok((Some(n), from))
}

/// `IN ACCOUNT | IN DATABASE [db] | IN SCHEMA [[db.]schema] | IN [db.]schema`.
pub(crate) fn scope(c: &mut Cursor<'_>) -> Result<ShowScope, SfError> {
    if !c.eat(&["IN"]) {
        return Ok(ShowScope::Current);
    }
    if c.eat(&["ACCOUNT"]) {
        return Ok(ShowScope::Account);
    }
    if c.eat(&["DATABASE"]) {
        let name = if c.at_end() || c.peek_word() == Some("STARTS") || c.peek_word() == Some("LIMIT") { None } else { Some(single_name(c)?) };
        return Ok(ShowScope::Database(name));
    }
    let keyword = c.eat(&["SCHEMA"]);
    if keyword && c.at_end() {
        return Ok(ShowScope::Schema(Vec::new()));
    }
    let name = c.object_name()?;
    if name.len() > 2 {
        return Err(c.error());
    }
    Ok(ShowScope::Schema(name))
}

fn pattern(c: &mut Cursor<'_>) -> Result<Option<String>, SfError> {
    if c.eat(&["PATTERN"]) {
        if !c.eat_token(&Token::Eq) {
            return Err(c.error());
        }
        return Ok(Some(c.string()?));
    }
    Ok(None)
}

/// `@[db.][schema.]stage[/path]` or the same in single quotes.
pub(crate) fn stage_ref(c: &mut Cursor<'_>) -> Result<StageRef, SfError> {
    let raw = match c.peek() {
        Some(Token::SingleQuotedString(s)) if s.starts_with('@') => {
            let s = s.clone();
            c.eat_token(&Token::SingleQuotedString(s.clone()));
            s
        }
        Some(Token::AtSign) => {
            let error = c.error();
            c.raw_run().ok_or(error)?
        }
        _ => return Err(c.error()),
    };
    StageRef::parse(&raw).ok_or_else(|| SfError::compilation(format!("invalid stage location '{raw}'")))
}

/// The tokens up to the parenthesis closing the one just consumed, as SQL text.
fn parenthesised_text(c: &mut Cursor<'_>) -> Result<String, SfError> {
    let mut depth = 1usize;
    let mut parts = Vec::new();
    loop {
        let Some(token) = c.peek().cloned() else { return Err(c.error()) };
        c.eat_token(&token);
        match token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Ok(parts.join(" "));
                }
            }
            _ => {}
        }
        parts.push(token.to_string());
    }
}

/// `$n[:path][::type] [[AS] alias]` of a COPY transform.
fn select_item(c: &mut Cursor<'_>) -> Result<super::copy::SelectItem, SfError> {
    // `alias.$n` names the stage's column too.
    if matches!(c.peek(), Some(Token::Word(_))) && c.peek_next() == Some(&Token::Period) {
        c.ident()?;
        c.eat_token(&Token::Period);
    }
    let column = match c.peek() {
        Some(Token::Placeholder(p)) if p.starts_with('$') => p[1..].parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| c.error())?,
        _ => return Err(c.error()),
    };
    c.eat_token(&c.peek().cloned().unwrap_or(Token::EOF));
    let mut path = Vec::new();
    if c.eat_token(&Token::Colon) {
        loop {
            match c.peek().cloned() {
                Some(Token::Word(w)) => {
                    c.eat_token(&Token::Word(w.clone()));
                    path.push(w.value.clone());
                }
                _ => return Err(c.error()),
            }
            if c.eat_token(&Token::LBracket) {
                match c.peek().cloned() {
                    Some(t @ Token::Number(..)) => {
                        c.eat_token(&t);
                        path.push(t.to_string());
                    }
                    Some(Token::SingleQuotedString(s)) => {
                        c.eat_token(&Token::SingleQuotedString(s.clone()));
                        path.push(s);
                    }
                    _ => return Err(c.error()),
                }
                if !c.eat_token(&Token::RBracket) {
                    return Err(c.error());
                }
            }
            if !c.eat_token(&Token::Period) {
                break;
            }
        }
    }
    if c.eat_token(&Token::DoubleColon) {
        // The cast's type: the target column's conversion applies anyway.
        c.ident()?;
        if c.eat_token(&Token::LParen) {
            parenthesised_text(c)?;
        }
    }
    if c.eat(&["AS"]) || (matches!(c.peek(), Some(Token::Word(_))) && c.peek_word() != Some("FROM")) {
        c.ident()?;
    }
    Ok(super::copy::SelectItem { column, path })
}

/// `COPY INTO <table> [(cols)] FROM @stage | (SELECT items FROM @stage) options` or
/// `COPY INTO @stage FROM <table> | (<query>) options`.
fn copy(c: &mut Cursor<'_>) -> Result<Option<ObjectStmt>, SfError> {
    use super::copy::{COPY_KEYS, CopyStmt};
    c.eat(&["COPY"]);
    if !c.eat(&["INTO"]) {
        return Err(c.error());
    }
    let is_stage = matches!(c.peek(), Some(Token::AtSign)) || matches!(c.peek(), Some(Token::SingleQuotedString(s)) if s.starts_with('@'));
    if is_stage {
        let stage = stage_ref(c)?;
        if !c.eat(&["FROM"]) {
            return Err(c.error());
        }
        let query = if c.eat_token(&Token::LParen) {
            parenthesised_text(c)?
        } else {
            let name = c.object_name()?;
            format!("SELECT * FROM {}", name.iter().map(|p| format!("\"{}\"", p.replace('"', "\"\""))).collect::<Vec<_>>().join("."))
        };
        let options = props(c, COPY_KEYS)?;
        return Ok(Some(ObjectStmt::Copy(CopyStmt::Unload { stage, query, options })));
    }
    let table = c.object_name()?;
    let mut columns = Vec::new();
    if c.eat_token(&Token::LParen) {
        loop {
            columns.push(c.ident()?);
            if c.eat_token(&Token::RParen) {
                break;
            }
            if !c.eat_token(&Token::Comma) {
                return Err(c.error());
            }
        }
    }
    if !c.eat(&["FROM"]) {
        return Err(c.error());
    }
    let (stage, items) = if c.eat_token(&Token::LParen) {
        if !c.eat(&["SELECT"]) {
            return Err(c.error());
        }
        let mut items = vec![select_item(c)?];
        while c.eat_token(&Token::Comma) {
            items.push(select_item(c)?);
        }
        if !c.eat(&["FROM"]) {
            return Err(c.error());
        }
        // An unquoted location runs into the closing parenthesis (`FROM @s/dir/)`).
        let (stage, closed) = if c.peek() == Some(&Token::AtSign) {
            let error = c.error();
            let raw = c.raw_run().ok_or(error)?;
            let trimmed = raw.trim_end_matches(')');
            let closes = raw.len() - trimmed.len();
            if closes > 1 {
                return Err(c.error());
            }
            (StageRef::parse(trimmed).ok_or_else(|| SfError::compilation(format!("invalid stage location '{trimmed}'")))?, closes == 1)
        } else {
            (stage_ref(c)?, false)
        };
        if !closed {
            if !matches!(c.peek(), Some(Token::RParen)) {
                c.eat(&["AS"]);
                c.ident()?;
            }
            if !c.eat_token(&Token::RParen) {
                return Err(c.error());
            }
        }
        (stage, Some(items))
    } else {
        (stage_ref(c)?, None)
    };
    let options = props(c, COPY_KEYS)?;
    Ok(Some(ObjectStmt::Copy(CopyStmt::Load { table, columns, stage, items, options })))
}

/// A name that must be a single identifier (account objects).
fn single_name(c: &mut Cursor<'_>) -> Result<String, SfError> {
    let name = c.ident()?;
    if c.peek() == Some(&Token::Period) {
        return Err(c.error());
    }
    Ok(name)
}

/// `UNSET a, b, c` (commas optional).
pub(crate) fn unset_list(c: &mut Cursor<'_>, allowed: &[&str]) -> Result<Vec<String>, SfError> {
    let mut keys = Vec::new();
    loop {
        match c.peek_word() {
            Some(w) if allowed.contains(&w) => {
                keys.push(w.to_string());
                c.ident()?;
            }
            _ => return Err(c.error()),
        }
        c.eat_token(&Token::Comma);
        if c.at_end() {
            return Ok(keys);
        }
    }
}

/// A list of `KEY = value` options (optionally comma-separated), plus `[WITH] TAG (…)`.
pub(crate) fn props(c: &mut Cursor<'_>, allowed: &[&str]) -> Result<Vec<Prop>, SfError> {
    let mut out = Vec::new();
    loop {
        if !out.is_empty() {
            c.eat_token(&Token::Comma);
        }
        if c.at_end() {
            return Ok(out);
        }
        let tag_start = c.mark();
        if (c.eat(&["WITH", "TAG"]) || c.eat(&["TAG"])) && c.peek() == Some(&Token::LParen) {
            out.push(Prop { key: "TAG".into(), value: Value::Group(group(c)?) });
            continue;
        }
        c.reset(tag_start);
        match c.peek_word() {
            Some(key) if allowed.contains(&key) && c.peek_next() == Some(&Token::Eq) => {
                let key = key.to_string();
                c.ident()?;
                c.eat_token(&Token::Eq);
                out.push(Prop { key, value: value(c)? });
            }
            _ => return Err(c.error()),
        }
    }
}

/// One option value: string, number, TRUE/FALSE/NULL, word, or a parenthesised group or list.
pub(crate) fn value(c: &mut Cursor<'_>) -> Result<Value, SfError> {
    let negative = c.eat_token(&Token::Minus);
    let v = match c.peek() {
        Some(Token::SingleQuotedString(s)) if !negative => Value::Str(s.clone()),
        Some(Token::DollarQuotedString(s)) if !negative => Value::Str(s.value.clone()),
        Some(Token::Number(n, _)) => Value::Num(if negative { format!("-{n}") } else { n.clone() }),
        Some(Token::LParen) if !negative => {
            // A group of `k = v` options, or a list of values.
            let mark = c.mark();
            c.eat_token(&Token::LParen);
            let is_group = matches!(c.peek(), Some(Token::Word(_))) && c.peek_next() == Some(&Token::Eq);
            c.reset(mark);
            return if is_group { Ok(Value::Group(group(c)?)) } else { list(c) };
        }
        Some(Token::Word(w)) if !negative => match (w.quote_style, w.value.as_str()) {
            (None, "TRUE") => Value::Bool(true),
            (None, "FALSE") => Value::Bool(false),
            (None, "NULL") => Value::Null,
            (Some(_), v) => Value::Quoted(v.to_string()),
            (None, v) => {
                // Kept as written (errors echo it); words may be dotted names (FORMAT_NAME = s.f).
                let mut text = c.raw_token().unwrap_or_else(|| v.to_string());
                c.ident()?;
                while c.peek() == Some(&Token::Period) {
                    c.eat_token(&Token::Period);
                    text.push('.');
                    text.push_str(&c.raw_token().unwrap_or_default());
                    c.ident()?;
                }
                return Ok(Value::Word(text));
            }
        },
        _ => return Err(c.error()),
    };
    let token = c.peek().cloned().unwrap_or(Token::EOF);
    c.eat_token(&token);
    Ok(v)
}

/// `( k = v [,] … )`; keys may be dotted (tag names).
pub(crate) fn group(c: &mut Cursor<'_>) -> Result<Vec<Prop>, SfError> {
    if !c.eat_token(&Token::LParen) {
        return Err(c.error());
    }
    let mut out = Vec::new();
    while !c.eat_token(&Token::RParen) {
        if !out.is_empty() {
            c.eat_token(&Token::Comma);
        }
        let key = c.object_name()?.join(".");
        if !c.eat_token(&Token::Eq) {
            return Err(c.error());
        }
        out.push(Prop { key, value: value(c)? });
    }
    Ok(out)
}

/// `( v, v, … )`.
fn list(c: &mut Cursor<'_>) -> Result<Value, SfError> {
    c.eat_token(&Token::LParen);
    let mut items = Vec::new();
    while !c.eat_token(&Token::RParen) {
        if !items.is_empty() && !c.eat_token(&Token::Comma) {
            return Err(c.error());
        }
        items.push(value(c)?);
    }
    Ok(Value::List(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Stmt, parse_one};

    fn object(sql: &str) -> ObjectStmt {
        match parse_one(sql) {
            Ok(Stmt::Object(o)) => *o,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn snow_cli_compute_pool_create() {
        let stmt = object(
            "CREATE COMPUTE POOL IF NOT EXISTS test_pool MIN_NODES = 1 MAX_NODES = 2 INSTANCE_FAMILY = cpu_x64_xs AUTO_RESUME = True INITIALLY_SUSPENDED = False AUTO_SUSPEND_SECS = 3600 COMMENT = 'a pool' WITH TAG (db.s.t = 'v')",
        );
        let ObjectStmt::CreateComputePool { name, if_not_exists, props, .. } = stmt else { panic!() };
        assert_eq!(name, "TEST_POOL");
        assert!(if_not_exists);
        let keys: Vec<&str> = props.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["MIN_NODES", "MAX_NODES", "INSTANCE_FAMILY", "AUTO_RESUME", "INITIALLY_SUSPENDED", "AUTO_SUSPEND_SECS", "COMMENT", "TAG"]);
        assert_eq!(props[3].value, Value::Bool(true));
        assert_eq!(props[2].value, Value::Word("cpu_x64_xs".into()));
    }

    #[test]
    fn snow_cli_alter_forms() {
        assert!(matches!(object("alter compute pool p stop all"), ObjectStmt::AlterComputePool { action: PoolAction::StopAll(_), .. }));
        let ObjectStmt::AlterComputePool { action: PoolAction::Unset(keys), .. } = object("alter compute pool p unset auto_resume,auto_suspend_secs,comment") else { panic!() };
        assert_eq!(keys, ["AUTO_RESUME", "AUTO_SUSPEND_SECS", "COMMENT"]);
        let ObjectStmt::AlterComputePool { action: PoolAction::Set(props), .. } = object("alter compute pool p set min_nodes = 1 max_nodes = 3 comment = 'x'") else { panic!() };
        assert_eq!(props.len(), 3);
        assert!(matches!(object("ALTER WAREHOUSE RESUME IF SUSPENDED"), ObjectStmt::AlterWarehouse { name: None, action: WarehouseAction::Resume { if_suspended: true }, .. }));
        assert!(matches!(object("ALTER WAREHOUSE w SUSPEND"), ObjectStmt::AlterWarehouse { name: Some(_), action: WarehouseAction::Suspend, .. }));
    }

    #[test]
    fn unknown_options_are_syntax_errors_at_the_option() {
        let err = parse_one("create warehouse w warehouse_sise = xsmall").unwrap_err();
        assert_eq!(err.code, "001003");
        assert!(err.message.contains("unexpected 'WAREHOUSE_SISE'"), "{}", err.message);
        let err = parse_one("create or replace compute pool p min_nodes = 1").unwrap_err();
        assert_eq!(err.code, "001003");
    }

    #[test]
    fn stage_options_and_locations() {
        let ObjectStmt::CreateStage { props, temporary, .. } =
            object("create temporary stage if not exists s directory = (enable = true) encryption = (type = 'SNOWFLAKE_SSE') file_format = (type = csv skip_header = 1)")
        else {
            panic!()
        };
        assert!(temporary);
        assert!(matches!(&props[0].value, Value::Group(g) if g[0].key == "ENABLE" && g[0].value == Value::Bool(true)));
        assert!(matches!(&props[2].value, Value::Group(g) if g.len() == 2));
        let ObjectStmt::List { stage, pattern } = object("LIST @my_db.Public.s1/Dir/File-1.csv PATTERN = '.*[.]csv'") else { panic!() };
        assert_eq!(stage.name, ["MY_DB", "PUBLIC", "S1"]);
        assert_eq!(stage.path, "Dir/File-1.csv");
        assert_eq!(pattern.as_deref(), Some(".*[.]csv"));
        let ObjectStmt::Remove { stage, .. } = object("rm '@\"my stage\"/a b.txt'") else { panic!() };
        assert_eq!(stage.name, ["my stage"]);
        assert_eq!(stage.path, "a b.txt");
    }

    #[test]
    fn show_scopes() {
        assert!(matches!(object("show image repositories like 'R%' in schema d.s"), ObjectStmt::ShowImageRepositories { scope: ShowScope::Schema(ref n), .. } if n.len() == 2));
        assert!(matches!(object("show images like 'a%' in image repository d.s.r"), ObjectStmt::ShowImages { like: Some(_), ref repository } if repository.len() == 3));
        assert!(matches!(object("show stages in account"), ObjectStmt::ShowStages { scope: ShowScope::Account, .. }));
        assert!(matches!(object("show compute pools starts with 'P' limit 10 from 'P2'"), ObjectStmt::ShowComputePools { limit: Some(10), .. }));
        assert!(matches!(object("show compute pool instance families"), ObjectStmt::ShowInstanceFamilies { .. }));
    }
}
