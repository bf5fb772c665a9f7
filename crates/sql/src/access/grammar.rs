//! floe's grammar for users, roles and grants, in Snowflake's forms (sqlparser's GRANT knows neither
//! `OWNERSHIP … COPY CURRENT GRANTS`, `BIND SERVICE ENDPOINT ON ACCOUNT`, compute pools and image
//! repositories, nor ALTER USER's token actions). Runs after `objects::grammar`, before the rest of
//! `parse::parse_floe` (so `DESCRIBE USER u` is not read as a table).

use datafusion::sql::sqlparser::tokenizer::Token;
use model::SfError;

use super::privileges::kind;
use super::{AccessStmt, CurrentGrants, GrantTarget, Grantee, RoleAction, ShowGrants, UserAction};
use crate::objects::grammar::props;
use crate::parse::Cursor;

/// Properties of CREATE USER and ALTER USER … SET (besides session parameters, also accepted).
pub const USER_KEYS: &[&str] = &[
    "PASSWORD", "LOGIN_NAME", "DISPLAY_NAME", "FIRST_NAME", "MIDDLE_NAME", "LAST_NAME", "EMAIL", "MUST_CHANGE_PASSWORD", "DISABLED",
    "DAYS_TO_EXPIRY", "MINS_TO_UNLOCK", "DEFAULT_WAREHOUSE", "DEFAULT_NAMESPACE", "DEFAULT_ROLE", "DEFAULT_SECONDARY_ROLES",
    "MINS_TO_BYPASS_MFA", "RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_FP", "RSA_PUBLIC_KEY_2", "RSA_PUBLIC_KEY_2_FP", "TYPE", "COMMENT",
    "NETWORK_POLICY", "SESSION_POLICY", "PASSWORD_POLICY", "AUTHENTICATION_POLICY", "EXT_AUTHN_DUO", "EXT_AUTHN_UID", "SNOWFLAKE_SUPPORT",
    "DEFAULT_MFA_METHOD", "MINS_TO_BYPASS_NETWORK_POLICY", "WORKLOAD_IDENTITY",
];
/// Options of ALTER USER … ADD PROGRAMMATIC ACCESS TOKEN.
pub const TOKEN_KEYS: &[&str] = &["ROLE_RESTRICTION", "DAYS_TO_EXPIRY", "MINS_TO_BYPASS_NETWORK_POLICY_REQUIREMENT", "COMMENT"];

fn user_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = USER_KEYS.to_vec();
    keys.extend(crate::session::PARAMS.iter().map(|p| p.name));
    keys
}

/// Parses one of this module's statements, or returns None (cursor unmoved) for others.
pub fn parse(c: &mut Cursor<'_>) -> Result<Option<AccessStmt>, SfError> {
    let mark = c.mark();
    let parsed = match c.peek_word() {
        Some("CREATE") => create(c)?,
        Some("ALTER") => alter(c)?,
        Some("DROP") => drop(c)?,
        Some("SHOW") => show(c)?,
        Some("DESCRIBE" | "DESC") => {
            c.eat_one(&["DESCRIBE", "DESC"]);
            if c.eat(&["USER"]) {
                let name = single_name(c)?;
                c.expect_end()?;
                Some(AccessStmt::DescribeUser { name })
            } else {
                None
            }
        }
        Some("USE") => {
            c.eat(&["USE"]);
            if c.eat(&["SECONDARY", "ROLES"]) || c.eat(&["SECONDARY", "ROLE"]) {
                while !c.at_end() {
                    c.eat_token(&Token::Comma);
                    if !c.at_end() {
                        c.ident()?;
                    }
                }
                Some(AccessStmt::UseSecondaryRoles)
            } else {
                None
            }
        }
        Some("GRANT") => grant(c)?,
        Some("REVOKE") => revoke(c)?,
        _ => None,
    };
    if parsed.is_none() {
        c.reset(mark);
    }
    Ok(parsed)
}

fn create(c: &mut Cursor<'_>) -> Result<Option<AccessStmt>, SfError> {
    c.eat(&["CREATE"]);
    let or_replace = c.eat(&["OR", "REPLACE"]);
    if c.eat(&["USER"]) {
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        let name = single_name(c)?;
        c.eat(&["WITH"]);
        let props = props(c, &user_keys())?;
        return Ok(Some(AccessStmt::CreateUser { name, or_replace, if_not_exists, props }));
    }
    if c.eat(&["ROLE"]) {
        let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
        let name = single_name(c)?;
        let props = props(c, &["COMMENT"])?;
        let comment = match props.iter().find(|p| p.key == "COMMENT") {
            Some(p) => Some(p.value.as_text("COMMENT")?),
            None => None,
        };
        return Ok(Some(AccessStmt::CreateRole { name, or_replace, if_not_exists, comment }));
    }
    Ok(None)
}

fn token_keyword(c: &mut Cursor<'_>) -> bool {
    c.eat(&["PROGRAMMATIC", "ACCESS", "TOKEN"]) || c.eat(&["PAT"])
}

fn alter(c: &mut Cursor<'_>) -> Result<Option<AccessStmt>, SfError> {
    c.eat(&["ALTER"]);
    if c.eat(&["USER"]) {
        let if_exists = c.eat(&["IF", "EXISTS"]);
        // The name may be left out before ADD/REMOVE … TOKEN (the current user).
        let omitted = matches!(c.peek_word(), Some("ADD" | "REMOVE" | "MODIFY" | "ROTATE"))
            && matches!(c.peek_next(), Some(Token::Word(w)) if w.quote_style.is_none() && (w.value == "PROGRAMMATIC" || w.value == "PAT"));
        let name = if omitted { None } else { Some(single_name(c)?) };
        let action = if c.eat(&["SET"]) {
            let props = props(c, &user_keys())?;
            if props.is_empty() {
                return Err(c.error());
            }
            UserAction::Set(props)
        } else if c.eat(&["UNSET"]) {
            UserAction::Unset(crate::objects::grammar::unset_list(c, &user_keys())?)
        } else if c.eat(&["RENAME", "TO"]) {
            UserAction::Rename(single_name(c)?)
        } else if c.eat(&["ADD"]) {
            if !token_keyword(c) {
                return Err(c.error());
            }
            let if_not_exists = c.eat(&["IF", "NOT", "EXISTS"]);
            let name = single_name(c)?;
            let props = props(c, TOKEN_KEYS)?;
            UserAction::AddToken { name, if_not_exists, props }
        } else if c.eat(&["REMOVE"]) {
            if !token_keyword(c) {
                return Err(c.error());
            }
            let name = single_name(c)?;
            c.expect_end()?;
            UserAction::RemoveToken { name }
        } else if c.eat(&["RESET", "PASSWORD"]) || c.eat(&["ABORT", "ALL", "QUERIES"]) {
            c.expect_end()?;
            UserAction::Accepted
        } else {
            return Err(c.error());
        };
        return Ok(Some(AccessStmt::AlterUser { name, if_exists, action }));
    }
    if c.eat(&["ROLE"]) {
        let if_exists = c.eat(&["IF", "EXISTS"]);
        let name = single_name(c)?;
        let action = if c.eat(&["RENAME", "TO"]) {
            RoleAction::Rename(single_name(c)?)
        } else if c.eat(&["SET"]) {
            let props = props(c, &["COMMENT"])?;
            let Some(p) = props.first() else { return Err(c.error()) };
            RoleAction::SetComment(p.value.as_text("COMMENT")?)
        } else if c.eat(&["UNSET", "COMMENT"]) {
            RoleAction::UnsetComment
        } else {
            return Err(c.error());
        };
        c.expect_end()?;
        return Ok(Some(AccessStmt::AlterRole { name, if_exists, action }));
    }
    Ok(None)
}

fn drop(c: &mut Cursor<'_>) -> Result<Option<AccessStmt>, SfError> {
    c.eat(&["DROP"]);
    let is_user = if c.eat(&["USER"]) {
        true
    } else if c.eat(&["ROLE"]) {
        false
    } else {
        return Ok(None);
    };
    let if_exists = c.eat(&["IF", "EXISTS"]);
    let name = single_name(c)?;
    c.expect_end()?;
    Ok(Some(if is_user { AccessStmt::DropUser { name, if_exists } } else { AccessStmt::DropRole { name, if_exists } }))
}

fn show(c: &mut Cursor<'_>) -> Result<Option<AccessStmt>, SfError> {
    c.eat(&["SHOW"]);
    let terse = c.eat(&["TERSE"]);
    let stmt = if c.eat(&["USERS"]) {
        let (like, starts_with, limit, from) = filters(c)?;
        AccessStmt::ShowUsers { terse, like, starts_with, limit, from }
    } else if c.eat(&["ROLES"]) {
        let (like, starts_with, limit, from) = filters(c)?;
        AccessStmt::ShowRoles { like, starts_with, limit, from }
    } else if c.eat(&["USER"]) {
        if !(c.eat(&["PROGRAMMATIC", "ACCESS", "TOKENS"]) || c.eat(&["PATS"])) {
            return Err(c.error());
        }
        let user = if c.eat(&["FOR", "USER"]) { Some(single_name(c)?) } else { None };
        AccessStmt::ShowTokens { user }
    } else if c.eat(&["GRANTS"]) {
        let what = if c.eat(&["ON"]) {
            ShowGrants::On(target(c)?)
        } else if c.eat(&["TO"]) {
            if c.eat(&["ROLE"]) {
                ShowGrants::ToRole(single_name(c)?)
            } else if c.eat(&["USER"]) {
                ShowGrants::ToUser(Some(single_name(c)?))
            } else {
                return Err(SfError::unsupported("SHOW GRANTS TO anything but a role or user"));
            }
        } else if c.eat(&["OF"]) {
            if !c.eat(&["ROLE"]) {
                return Err(SfError::unsupported("SHOW GRANTS OF anything but a role"));
            }
            ShowGrants::OfRole(single_name(c)?)
        } else {
            ShowGrants::ToUser(None)
        };
        skip_limit(c)?;
        AccessStmt::ShowGrants(what)
    } else if c.eat(&["FUTURE", "GRANTS"]) {
        let what = if c.eat(&["IN"]) {
            let container_kind = match c.eat_one(&["SCHEMA", "DATABASE"]) {
                Some(k) => k.to_string(),
                None => return Err(c.error()),
            };
            ShowGrants::FutureIn { container_kind, container: c.object_name()? }
        } else if c.eat(&["TO", "ROLE"]) {
            ShowGrants::FutureTo(single_name(c)?)
        } else {
            return Err(c.error());
        };
        skip_limit(c)?;
        AccessStmt::ShowGrants(what)
    } else {
        return Ok(None);
    };
    c.expect_end()?;
    Ok(Some(stmt))
}

fn skip_limit(c: &mut Cursor<'_>) -> Result<(), SfError> {
    if c.eat(&["LIMIT"]) {
        match c.peek() {
            Some(Token::Number(..)) => {
                let t = c.peek().cloned().unwrap_or(Token::EOF);
                c.eat_token(&t);
            }
            _ => return Err(c.error()),
        }
    }
    Ok(())
}

type Filters = (Option<String>, Option<String>, Option<usize>, Option<String>);

/// `[LIKE 'p'] [STARTS WITH 's'] [LIMIT n [FROM 'x']]`.
fn filters(c: &mut Cursor<'_>) -> Result<Filters, SfError> {
    let like = if c.eat(&["LIKE"]) { Some(c.string()?) } else { None };
    let starts_with = if c.eat(&["STARTS", "WITH"]) { Some(c.string()?) } else { None };
    let (mut limit, mut from) = (None, None);
    if c.eat(&["LIMIT"]) {
        match c.peek() {
            Some(Token::Number(n, _)) => {
                limit = Some(n.parse::<usize>().map_err(|_| c.error())?);
                let t = c.peek().cloned().unwrap_or(Token::EOF);
                c.eat_token(&t);
            }
            _ => return Err(c.error()),
        }
        if c.eat(&["FROM"]) {
            from = Some(c.string()?);
        }
    }
    Ok((like, starts_with, limit, from))
}

fn grant(c: &mut Cursor<'_>) -> Result<Option<AccessStmt>, SfError> {
    c.eat(&["GRANT"]);
    if c.eat(&["ROLE"]) {
        let role = single_name(c)?;
        if !c.eat(&["TO"]) {
            return Err(c.error());
        }
        let to = grantee(c)?;
        c.expect_end()?;
        return Ok(Some(AccessStmt::GrantRole { role, to }));
    }
    if c.eat(&["SERVICE", "ROLE"]) {
        let (service, role) = service_role(c)?;
        if !c.eat(&["TO", "ROLE"]) {
            return Err(c.error());
        }
        let to = single_name(c)?;
        c.expect_end()?;
        return Ok(Some(AccessStmt::GrantServiceRole { service, role, to }));
    }
    if matches!(c.peek_word(), Some("DATABASE" | "APPLICATION")) && c.peek_next().is_some_and(|t| matches!(t, Token::Word(w) if w.value == "ROLE")) {
        return Err(SfError::unsupported(format!("GRANT {} ROLE", c.peek_word().unwrap_or_default())));
    }
    if c.eat(&["OWNERSHIP"]) {
        if !c.eat(&["ON"]) {
            return Err(c.error());
        }
        let on = target(c)?;
        if !c.eat(&["TO"]) {
            return Err(c.error());
        }
        c.eat(&["ROLE"]);
        let to = single_name(c)?;
        let current_grants = if c.eat(&["COPY", "CURRENT", "GRANTS"]) {
            CurrentGrants::Copy
        } else if c.eat(&["REVOKE", "CURRENT", "GRANTS"]) {
            CurrentGrants::Revoke
        } else {
            CurrentGrants::Unspecified
        };
        c.expect_end()?;
        return Ok(Some(AccessStmt::GrantOwnership { on, to, current_grants }));
    }
    let privileges = privilege_list(c)?;
    let on = target(c)?;
    if !c.eat(&["TO"]) {
        return Err(c.error());
    }
    if c.peek_word() == Some("USER") || c.peek_word() == Some("SHARE") || c.eat(&["DATABASE", "ROLE"]) {
        return Err(SfError::unsupported("granting privileges to anything but an account role"));
    }
    c.eat(&["ROLE"]);
    let to = single_name(c)?;
    let grant_option = c.eat(&["WITH", "GRANT", "OPTION"]);
    c.expect_end()?;
    Ok(Some(AccessStmt::Grant { privileges, on, to, grant_option }))
}

fn revoke(c: &mut Cursor<'_>) -> Result<Option<AccessStmt>, SfError> {
    c.eat(&["REVOKE"]);
    if c.eat(&["ROLE"]) {
        let role = single_name(c)?;
        if !c.eat(&["FROM"]) {
            return Err(c.error());
        }
        let from = grantee(c)?;
        c.expect_end()?;
        return Ok(Some(AccessStmt::RevokeRole { role, from }));
    }
    if c.eat(&["SERVICE", "ROLE"]) {
        let (service, role) = service_role(c)?;
        if !c.eat(&["FROM", "ROLE"]) {
            return Err(c.error());
        }
        let from = single_name(c)?;
        c.expect_end()?;
        return Ok(Some(AccessStmt::RevokeServiceRole { service, role, from }));
    }
    let grant_option_only = c.eat(&["GRANT", "OPTION", "FOR"]);
    let privileges = privilege_list(c)?;
    let on = target(c)?;
    if !c.eat(&["FROM"]) {
        return Err(c.error());
    }
    c.eat(&["ROLE"]);
    let from = single_name(c)?;
    c.eat_one(&["RESTRICT", "CASCADE"]);
    c.expect_end()?;
    Ok(Some(AccessStmt::Revoke { privileges, on, from, grant_option_only }))
}

fn grantee(c: &mut Cursor<'_>) -> Result<Grantee, SfError> {
    if c.eat(&["ROLE"]) {
        Ok(Grantee::Role(single_name(c)?))
    } else if c.eat(&["USER"]) {
        Ok(Grantee::User(single_name(c)?))
    } else {
        Err(c.error())
    }
}

/// `priv [, priv …] ON`: each privilege is one or more words (`CREATE COMPUTE POOL`); `ALL
/// [PRIVILEGES]` is `ALL`. Consumes the ON.
fn privilege_list(c: &mut Cursor<'_>) -> Result<Vec<String>, SfError> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    loop {
        if c.eat(&["ON"]) {
            break;
        }
        if c.eat_token(&Token::Comma) {
            if words.is_empty() {
                return Err(c.error());
            }
            out.push(words.join(" "));
            words.clear();
            continue;
        }
        match c.peek_word() {
            Some(w) => {
                words.push(w.to_string());
                c.ident()?;
            }
            None => return Err(c.error()),
        }
    }
    if words.is_empty() {
        return Err(c.error());
    }
    out.push(words.join(" "));
    Ok(out
        .into_iter()
        .map(|p| if p == "ALL PRIVILEGES" { "ALL".to_string() } else { p })
        .collect())
}

/// Singular kinds after ON, as word sequences.
const KINDS: &[(&[&str], &str)] = &[
    (&["DATABASE"], kind::DATABASE),
    (&["SCHEMA"], kind::SCHEMA),
    (&["TABLE"], kind::TABLE),
    (&["VIEW"], kind::VIEW),
    (&["WAREHOUSE"], kind::WAREHOUSE),
    (&["COMPUTE", "POOL"], kind::COMPUTE_POOL),
    (&["STAGE"], kind::STAGE),
    (&["IMAGE", "REPOSITORY"], kind::IMAGE_REPOSITORY),
    (&["ROLE"], kind::ROLE),
    (&["USER"], kind::USER),
    (&["INTEGRATION"], kind::INTEGRATION),
    (&["API", "INTEGRATION"], kind::INTEGRATION),
    (&["EXTERNAL", "ACCESS", "INTEGRATION"], kind::INTEGRATION),
    (&["SECURITY", "INTEGRATION"], kind::INTEGRATION),
    (&["STORAGE", "INTEGRATION"], kind::INTEGRATION),
    (&["SERVICE"], kind::SERVICE),
    (&["FUNCTION"], kind::FUNCTION),
];

/// Plural kinds after ON ALL / ON FUTURE.
const PLURALS: &[(&[&str], &str)] = &[
    (&["SCHEMAS"], kind::SCHEMA),
    (&["TABLES"], kind::TABLE),
    (&["VIEWS"], kind::VIEW),
    (&["STAGES"], kind::STAGE),
    (&["IMAGE", "REPOSITORIES"], kind::IMAGE_REPOSITORY),
    (&["SERVICES"], kind::SERVICE),
    (&["FUNCTIONS"], kind::FUNCTION),
];

/// What follows ON: ACCOUNT, `<kind> name`, or `{ALL | FUTURE} <kinds> IN {SCHEMA | DATABASE} name`.
fn target(c: &mut Cursor<'_>) -> Result<GrantTarget, SfError> {
    if c.eat(&["ACCOUNT"]) {
        return Ok(GrantTarget::Account);
    }
    let all = c.eat(&["ALL"]);
    let future = !all && c.eat(&["FUTURE"]);
    if all || future {
        let Some((_, k)) = PLURALS.iter().find(|(words, _)| c.eat(words)) else { return Err(c.error()) };
        if !c.eat(&["IN"]) {
            return Err(c.error());
        }
        let container_kind = match c.eat_one(&["SCHEMA", "DATABASE"]) {
            Some(k) => k.to_string(),
            None => return Err(c.error()),
        };
        let container = c.object_name()?;
        let (kind, container_kind) = (k.to_string(), container_kind);
        return Ok(if all { GrantTarget::All { kind, container_kind, container } } else { GrantTarget::Future { kind, container_kind, container } });
    }
    let Some((_, k)) = KINDS.iter().find(|(words, _)| c.eat(words)) else { return Err(c.error()) };
    let mut name = c.object_name()?;
    if *k == kind::FUNCTION && c.eat_token(&Token::LParen) {
        // The argument types name an overload: functions are stored as `NAME(NUMBER,VARCHAR)`.
        let mut depth = 1;
        let mut types = vec![String::new()];
        while depth > 0 {
            match c.peek() {
                Some(Token::LParen) => depth += 1,
                Some(Token::RParen) => depth -= 1,
                Some(Token::Comma) if depth == 1 => types.push(String::new()),
                None => return Err(c.error()),
                _ => {}
            }
            let t = c.peek().cloned().unwrap_or(Token::EOF);
            if depth > 0
                && !(t == Token::Comma && depth == 1)
                && let Some(last) = types.last_mut()
            {
                last.push_str(&t.to_string());
                last.push(' ');
            }
            c.eat_token(&t);
        }
        let types: Vec<String> = types.iter().filter(|t| !t.trim().is_empty()).map(|t| crate::types::SfType::parse(t.trim()).map(|t| t.to_sql())).collect::<Result<_, _>>()?;
        if let Some(last) = name.last_mut() {
            *last = crate::extfn::signature_key(last, &types);
        }
    }
    Ok(GrantTarget::Object { kind: k.to_string(), name })
}

/// `[db.][schema.]service!role`.
fn service_role(c: &mut Cursor<'_>) -> Result<(Vec<String>, String), SfError> {
    let service = c.object_name()?;
    if !c.eat_token(&Token::ExclamationMark) {
        return Err(c.error());
    }
    Ok((service, c.ident()?))
}

/// A name that must be a single identifier (users, roles).
fn single_name(c: &mut Cursor<'_>) -> Result<String, SfError> {
    let name = c.ident()?;
    if c.peek() == Some(&Token::Period) {
        return Err(c.error());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Stmt, parse_one};

    fn access(sql: &str) -> AccessStmt {
        match parse_one(sql) {
            Ok(Stmt::Access(a)) => *a,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn tutorial_grants() {
        let AccessStmt::GrantOwnership { on, to, current_grants } = access("GRANT OWNERSHIP ON DATABASE tutorial_db TO ROLE test_role COPY CURRENT GRANTS") else { panic!() };
        assert_eq!(on, GrantTarget::Object { kind: "DATABASE".into(), name: vec!["TUTORIAL_DB".into()] });
        assert_eq!((to.as_str(), current_grants), ("TEST_ROLE", CurrentGrants::Copy));
        let AccessStmt::Grant { privileges, on, .. } = access("GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE test_role") else { panic!() };
        assert_eq!((privileges, on), (vec!["BIND SERVICE ENDPOINT".to_string()], GrantTarget::Account));
        let AccessStmt::Grant { privileges, on, .. } = access("GRANT USAGE, MONITOR ON COMPUTE POOL tutorial_compute_pool TO ROLE test_role") else { panic!() };
        assert_eq!(privileges, ["USAGE", "MONITOR"]);
        assert_eq!(on, GrantTarget::Object { kind: "COMPUTE_POOL".into(), name: vec!["TUTORIAL_COMPUTE_POOL".into()] });
        assert!(matches!(access("GRANT ROLE test_role TO USER u"), AccessStmt::GrantRole { to: Grantee::User(_), .. }));
        let AccessStmt::Grant { privileges, on, grant_option, .. } = access("grant all privileges on future tables in schema d.s to r with grant option") else { panic!() };
        assert_eq!(privileges, ["ALL"]);
        assert!(grant_option);
        assert!(matches!(on, GrantTarget::Future { ref kind, ref container_kind, .. } if kind == "TABLE" && container_kind == "SCHEMA"));
        assert_eq!(
            access("GRANT SERVICE ROLE d.s.echo_service!ALL_ENDPOINTS_USAGE TO ROLE viewer"),
            AccessStmt::GrantServiceRole { service: vec!["D".into(), "S".into(), "ECHO_SERVICE".into()], role: "ALL_ENDPOINTS_USAGE".into(), to: "VIEWER".into() }
        );
        assert_eq!(
            access("revoke service role echo_service ! ui_users from role viewer"),
            AccessStmt::RevokeServiceRole { service: vec!["ECHO_SERVICE".into()], role: "UI_USERS".into(), from: "VIEWER".into() }
        );
        assert!(matches!(access("revoke grant option for select on table t from role r cascade"), AccessStmt::Revoke { grant_option_only: true, .. }));
        let AccessStmt::Grant { privileges, .. } = access("GRANT CREATE COMPUTE POOL, CREATE WAREHOUSE ON ACCOUNT TO ROLE r") else { panic!() };
        assert_eq!(privileges, ["CREATE COMPUTE POOL", "CREATE WAREHOUSE"]);
        assert!(matches!(access("grant read, write on image repository r to role x"), AccessStmt::Grant { .. }));
    }

    #[test]
    fn users_and_tokens() {
        let AccessStmt::CreateUser { name, props, .. } =
            access("CREATE USER IF NOT EXISTS svc PASSWORD='pw' DEFAULT_ROLE = test_role DEFAULT_NAMESPACE = db.s MUST_CHANGE_PASSWORD = FALSE TYPE = SERVICE COMMENT = 'x'")
        else {
            panic!()
        };
        assert_eq!(name, "SVC");
        assert_eq!(props.len(), 6);
        let AccessStmt::AlterUser { name, action: UserAction::AddToken { name: token, props, .. }, .. } =
            access("ALTER USER u ADD PROGRAMMATIC ACCESS TOKEN tok ROLE_RESTRICTION = 'R' DAYS_TO_EXPIRY = 30 COMMENT = 'c'")
        else {
            panic!()
        };
        assert_eq!((name.as_deref(), token.as_str(), props.len()), (Some("U"), "TOK", 3));
        assert!(matches!(access("alter user add pat t"), AccessStmt::AlterUser { name: None, .. }));
        assert!(matches!(access("alter user u remove pat t"), AccessStmt::AlterUser { action: UserAction::RemoveToken { .. }, .. }));
        assert!(matches!(access("show user programmatic access tokens for user u"), AccessStmt::ShowTokens { user: Some(_) }));
        assert!(matches!(access("desc user u"), AccessStmt::DescribeUser { .. }));
        assert!(matches!(access("alter user u unset comment, default_role"), AccessStmt::AlterUser { action: UserAction::Unset(ref k), .. } if k.len() == 2));
        assert_eq!(parse_one("create user u passwrd = 'x'").unwrap_err().code, "001003");
    }

    #[test]
    fn show_grants_forms() {
        assert!(matches!(access("show grants"), AccessStmt::ShowGrants(ShowGrants::ToUser(None))));
        assert!(matches!(access("show grants to role r"), AccessStmt::ShowGrants(ShowGrants::ToRole(_))));
        assert!(matches!(access("show grants of role r"), AccessStmt::ShowGrants(ShowGrants::OfRole(_))));
        assert!(matches!(access("show grants on compute pool p"), AccessStmt::ShowGrants(ShowGrants::On(_))));
        assert!(matches!(access("show grants on account"), AccessStmt::ShowGrants(ShowGrants::On(GrantTarget::Account))));
        assert!(matches!(access("show future grants in schema d.s"), AccessStmt::ShowGrants(ShowGrants::FutureIn { .. })));
        assert!(matches!(access("show roles like 'T%'"), AccessStmt::ShowRoles { .. }));
        assert!(matches!(access("create or replace role r comment = 'c'"), AccessStmt::CreateRole { or_replace: true, comment: Some(_), .. }));
    }
}
