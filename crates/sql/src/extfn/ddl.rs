//! API integrations and functions as stored records: CREATE/ALTER/DROP/SHOW/DESCRIBE. Everything is
//! validated before the one commit, so a bad statement changes nothing.

use std::collections::BTreeMap;

use model::{SfError, display_ident};

use super::{AlterAction, ApiIntegration, CreateFunction, FUNCTION, FunctionRecord, INTEGRATION, Target, base_type, signature_key};
use crate::access::{Access, Securable};
use crate::engine::Engine;
use crate::objects::{Prop, ShowScope, Value, commit, get, message, now, ok, put, resolve, schema_scope, scope_schemas};
use crate::result::{QueryResult, statement_type};
use crate::session::Session;
use crate::show::{Col, build, like_matcher};
use crate::types::SfType;

const PROVIDERS: &[&str] = &[
    "AWS_API_GATEWAY", "AWS_PRIVATE_API_GATEWAY", "AWS_GOV_API_GATEWAY", "AWS_GOV_PRIVATE_API_GATEWAY", "AZURE_API_MANAGEMENT", "GOOGLE_API_GATEWAY",
    "GIT_HTTPS_API", "EXTERNAL_MCP",
];
/// Functions CONTEXT_HEADERS may name (spcs.md §9.3).
pub const CONTEXT_FUNCTIONS: &[&str] = &[
    "CURRENT_ACCOUNT", "CURRENT_CLIENT", "CURRENT_DATABASE", "CURRENT_DATE", "CURRENT_IP_ADDRESS", "CURRENT_REGION", "CURRENT_ROLE", "CURRENT_SCHEMA",
    "CURRENT_SCHEMAS", "CURRENT_SESSION", "CURRENT_STATEMENT", "CURRENT_TIME", "CURRENT_TIMESTAMP", "CURRENT_TRANSACTION", "CURRENT_USER",
    "CURRENT_VERSION", "CURRENT_WAREHOUSE", "LAST_QUERY_ID", "LAST_TRANSACTION", "LOCALTIME", "LOCALTIMESTAMP",
];

fn text(v: &Value) -> String {
    match v {
        Value::Str(s) | Value::Quoted(s) | Value::Num(s) => s.clone(),
        Value::Word(w) => w.to_uppercase(),
        other => other.written(),
    }
}

fn strings(key: &str, v: &Value) -> Result<Vec<String>, SfError> {
    match v {
        Value::List(items) => items
            .iter()
            .map(|i| match i {
                Value::Str(s) => Ok(s.clone()),
                other => Err(SfError::invalid_value(key, &other.written())),
            })
            .collect(),
        Value::Str(s) => Ok(vec![s.clone()]),
        other => Err(SfError::invalid_value(key, &other.written())),
    }
}

fn apply_integration(rec: &mut ApiIntegration, props: &[Prop]) -> Result<(), SfError> {
    for p in props {
        match p.key.as_str() {
            "API_PROVIDER" => {
                let provider = text(&p.value).to_uppercase();
                if !PROVIDERS.contains(&provider.as_str()) {
                    return Err(SfError::invalid_value("API_PROVIDER", &p.value.written()));
                }
                rec.provider = provider;
            }
            "API_ALLOWED_PREFIXES" => rec.allowed_prefixes = strings(&p.key, &p.value)?,
            "API_BLOCKED_PREFIXES" => rec.blocked_prefixes = strings(&p.key, &p.value)?,
            "ENABLED" => rec.enabled = p.value.as_bool(&p.key)?,
            "COMMENT" => rec.comment = Some(p.value.as_text(&p.key)?),
            _ => {
                rec.props.insert(p.key.clone(), p.value.as_text(&p.key)?);
            }
        }
    }
    if rec.provider.is_empty() {
        return Err(SfError::compilation("Missing option(s): [API_PROVIDER]"));
    }
    if rec.allowed_prefixes.is_empty() && !matches!(rec.provider.as_str(), "GIT_HTTPS_API" | "EXTERNAL_MCP") {
        return Err(SfError::compilation("Missing option(s): [API_ALLOWED_PREFIXES]"));
    }
    if rec.provider.starts_with("AWS") && !rec.props.contains_key("API_AWS_ROLE_ARN") {
        return Err(SfError::compilation("Missing option(s): [API_AWS_ROLE_ARN]"));
    }
    Ok(())
}

fn integration_not_found(name: &str) -> SfError {
    SfError::kind_not_found("Integration", &display_ident(name))
}

pub(super) async fn create_integration(engine: &Engine, session: &mut Session, name: String, or_replace: bool, if_not_exists: bool, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    Access::of(engine, session, &catalog).require_account(&catalog, "CREATE INTEGRATION")?;
    if catalog.object(INTEGRATION, "", &name).is_some() && !or_replace {
        if if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        return Err(SfError::already_exists(&display_ident(&name)));
    }
    let mut rec = ApiIntegration {
        name: name.clone(),
        provider: String::new(),
        props: BTreeMap::new(),
        allowed_prefixes: Vec::new(),
        blocked_prefixes: Vec::new(),
        enabled: true,
        comment: None,
        external_id: format!("FLOE_SFCRole=1_{}", uuid::Uuid::new_v4().simple()),
        owner: session.role.clone(),
        created_on: now(),
    };
    if !props.iter().any(|p| p.key == "ENABLED") {
        return Err(SfError::compilation("Missing option(s): [ENABLED]"));
    }
    apply_integration(&mut rec, &props)?;
    commit(engine, vec![put(INTEGRATION, "", &name, &rec)]).await?;
    Ok(message(format!("Integration {} successfully created.", display_ident(&name))))
}

fn find_integration(engine: &Engine, session: &Session, name: &str) -> Result<Option<ApiIntegration>, SfError> {
    let catalog = engine.store().snapshot();
    let Some(rec) = get::<ApiIntegration>(&catalog, INTEGRATION, "", name) else { return Ok(None) };
    let access = Access::of(engine, session, &catalog);
    if !access.can_see(&catalog, &Securable::account_object(INTEGRATION, name)) {
        return Ok(None);
    }
    Ok(Some(rec))
}

pub(super) async fn alter_integration(engine: &Engine, session: &mut Session, name: String, if_exists: bool, props: Vec<Prop>) -> Result<QueryResult, SfError> {
    let Some(mut rec) = find_integration(engine, session, &name)? else {
        return if if_exists { Ok(ok(statement_type::DDL)) } else { Err(integration_not_found(&name)) };
    };
    let catalog = engine.store().snapshot();
    Access::of(engine, session, &catalog).require_owner(&catalog, &Securable::account_object(INTEGRATION, &name), || integration_not_found(&name))?;
    apply_integration(&mut rec, &props)?;
    commit(engine, vec![put(INTEGRATION, "", &name, &rec)]).await?;
    Ok(ok(statement_type::DDL))
}

pub(super) async fn drop_integration(engine: &Engine, session: &mut Session, name: String, if_exists: bool) -> Result<QueryResult, SfError> {
    let Some(rec) = find_integration(engine, session, &name)? else {
        return if if_exists { Ok(crate::objects::dropped(&name, false)) } else { Err(integration_not_found(&name)) };
    };
    let catalog = engine.store().snapshot();
    Access::of(engine, session, &catalog).require_owner(&catalog, &Securable::account_object(INTEGRATION, &name), || integration_not_found(&name))?;
    commit(engine, vec![store::Op::DeleteObject { kind: INTEGRATION.into(), scope: String::new(), name: rec.name.clone() }]).await?;
    Ok(crate::objects::dropped(&rec.name, true))
}

pub(super) fn describe_integration(engine: &Engine, session: &Session, name: &str) -> Result<QueryResult, SfError> {
    let rec = find_integration(engine, session, name)?.ok_or_else(|| integration_not_found(name))?;
    let list = |v: &[String]| v.join(",");
    let mut rows: Vec<(&str, &str, String, &str)> = vec![
        ("ENABLED", "Boolean", rec.enabled.to_string(), "false"),
        ("API_KEY", "String", if rec.props.contains_key("API_KEY") { "****".into() } else { String::new() }, ""),
        ("API_PROVIDER", "String", rec.provider.clone(), ""),
    ];
    if let Some(arn) = rec.props.get("API_AWS_ROLE_ARN") {
        let account = arn.split(':').nth(4).unwrap_or("000000000000");
        rows.push(("API_AWS_IAM_USER_ARN", "String", format!("arn:aws:iam::{account}:user/floe"), ""));
        rows.push(("API_AWS_ROLE_ARN", "String", arn.clone(), ""));
        rows.push(("API_AWS_EXTERNAL_ID", "String", rec.external_id.clone(), ""));
    }
    for key in ["AZURE_TENANT_ID", "AZURE_AD_APPLICATION_ID", "GOOGLE_AUDIENCE"] {
        if let Some(v) = rec.props.get(key) {
            rows.push((key, "String", v.clone(), ""));
        }
    }
    rows.push(("API_ALLOWED_PREFIXES", "List", list(&rec.allowed_prefixes), "[]"));
    rows.push(("API_BLOCKED_PREFIXES", "List", list(&rec.blocked_prefixes), "[]"));
    rows.push(("COMMENT", "String", rec.comment.clone().unwrap_or_default(), ""));
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Text("property", rows.iter().map(|r| Some(r.0.to_string())).collect()),
            Col::Text("property_type", rows.iter().map(|r| Some(r.1.to_string())).collect()),
            Col::Text("property_value", rows.iter().map(|r| Some(r.2.clone())).collect()),
            Col::Text("property_default", rows.iter().map(|r| Some(r.3.to_string())).collect()),
        ],
    ))
}

pub(super) fn show_integrations(engine: &Engine, session: &Session, like: Option<String>) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let matches = like_matcher(like.as_deref());
    let access = Access::of(engine, session, &catalog);
    let rows: Vec<ApiIntegration> = crate::objects::all::<ApiIntegration>(&catalog, INTEGRATION)
        .into_iter()
        .filter(|(_, n, _)| matches(n) && access.can_see(&catalog, &Securable::account_object(INTEGRATION, n)))
        .map(|(_, _, r)| r)
        .collect();
    let t = |f: &dyn Fn(&ApiIntegration) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Text("name", t(&|r| Some(r.name.clone()))),
            Col::Text("type", t(&|r| Some(format!("EXTERNAL_API - {}", r.provider)))),
            Col::Text("category", t(&|_| Some("API".into()))),
            Col::Text("enabled", t(&|r| Some(r.enabled.to_string()))),
            Col::Text("comment", t(&|r| r.comment.clone())),
            Col::Time("created_on", rows.iter().map(|r| Some(r.created_on)).collect()),
        ],
    ))
}

/// The (db, schema, name) of a function name and the canonical argument types.
fn place(engine: &Engine, session: &Session, name: &[String], verb: &str) -> Result<(String, String, String), SfError> {
    let catalog = engine.store().snapshot();
    resolve(&catalog, session, name, verb)
}

fn canonical(types: &[String]) -> Result<Vec<String>, SfError> {
    types.iter().map(|t| SfType::parse(t).map(|t| t.to_sql())).collect()
}

fn function_not_found(name: &str, types: &[String]) -> SfError {
    SfError::new(
        "002003",
        "02000",
        model::ErrorKind::NotFound,
        format!("SQL compilation error:\nFunction '{}({})' does not exist or not authorized.", display_ident(name), types.iter().map(|t| base_type(t)).collect::<Vec<_>>().join(", ")),
    )
}

fn positive(p: &Prop, min: i64, max: i64) -> Result<u64, SfError> {
    let n = p.value.as_int(&p.key, min)?;
    if n > max {
        return Err(SfError::invalid_value(&p.key, &p.value.written()));
    }
    Ok(n as u64)
}

fn context_headers(p: &Prop) -> Result<Vec<String>, SfError> {
    let items = match &p.value {
        Value::List(items) => items.clone(),
        Value::Word(_) => vec![p.value.clone()],
        other => return Err(SfError::invalid_value(&p.key, &other.written())),
    };
    items
        .iter()
        .map(|i| match i {
            Value::Word(w) if CONTEXT_FUNCTIONS.contains(&w.to_uppercase().as_str()) => Ok(w.to_uppercase()),
            other => Err(SfError::compilation(format!("Invalid context function '{}' in CONTEXT_HEADERS.", other.written()))),
        })
        .collect()
}

/// Header names of HEADERS: ASCII 32-126 except space and `( ) , / : ; < > = " ? @ [ ] \ { } _`.
fn check_headers(headers: &[(String, String)]) -> Result<Vec<(String, String)>, SfError> {
    let mut total = 0;
    for (name, value) in headers {
        let bad = name.is_empty() || name.chars().any(|ch| !('!'..='~').contains(&ch) || "(),/:;<>=\"?@[]\\{}_".contains(ch));
        if bad {
            return Err(SfError::compilation(format!("Invalid header name '{name}' in HEADERS.")));
        }
        if value.contains("  ") || value.chars().any(|ch| ch.is_control() && ch != '\t') {
            return Err(SfError::compilation(format!("Invalid value '{value}' for header '{name}' in HEADERS.")));
        }
        total += name.len() + value.len();
    }
    if total > 8192 {
        return Err(SfError::compilation("HEADERS exceed 8 KB."));
    }
    Ok(headers.iter().map(|(n, v)| (n.to_lowercase(), v.clone())).collect())
}

/// The integration's check of an external function's URL (allowed prefix, not blocked, enabled).
pub(crate) fn check_url(integration: &ApiIntegration, url: &str) -> Result<(), SfError> {
    let allowed = integration.allowed_prefixes.iter().any(|p| url.starts_with(p.as_str()));
    let blocked = integration.blocked_prefixes.iter().any(|p| url.starts_with(p.as_str()));
    if !allowed || blocked {
        return Err(SfError::new(
            "002108",
            "22023",
            model::ErrorKind::InvalidArgument,
            format!("SQL compilation error:\nURL '{url}' is not allowed by the API integration {}.", display_ident(&integration.name)),
        ));
    }
    Ok(())
}

fn apply_function(engine: &Engine, session: &Session, rec: &mut FunctionRecord, props: &[Prop], headers: Option<Vec<(String, String)>>) -> Result<(), SfError> {
    let catalog = engine.store().snapshot();
    for p in props {
        match p.key.as_str() {
            "COMMENT" => rec.comment = Some(p.value.as_text(&p.key)?),
            "MAX_BATCH_ROWS" => rec.max_batch_rows = Some(positive(p, 1, 1_000_000)?),
            "CONTEXT_HEADERS" => rec.context_headers = context_headers(p)?,
            _ => {}
        }
    }
    match &mut rec.target {
        Target::External { integration, url, headers: h, compression, request_translator, response_translator } => {
            for p in props {
                match p.key.as_str() {
                    "API_INTEGRATION" => *integration = text(&p.value),
                    "URL" => *url = p.value.as_text(&p.key)?,
                    "COMPRESSION" => {
                        let c = text(&p.value).to_uppercase();
                        if !matches!(c.as_str(), "NONE" | "GZIP" | "DEFLATE" | "AUTO") {
                            return Err(SfError::invalid_value("COMPRESSION", &p.value.written()));
                        }
                        *compression = c;
                    }
                    "REQUEST_TRANSLATOR" => *request_translator = Some(translator(engine, session, &catalog, p)?),
                    "RESPONSE_TRANSLATOR" => *response_translator = Some(translator(engine, session, &catalog, p)?),
                    "SERVICE" | "ENDPOINT" | "MAX_BATCH_RETRIES" | "ON_BATCH_FAILURE" | "BATCH_TIMEOUT_SECS" => {
                        return Err(SfError::compilation(format!("Option {} is not valid for an external function.", p.key)));
                    }
                    _ => {}
                }
            }
            if let Some(hs) = headers {
                *h = check_headers(&hs)?;
            }
            let rec_int = get::<ApiIntegration>(&catalog, INTEGRATION, "", integration).ok_or_else(|| integration_not_found(integration))?;
            let access = Access::of(engine, session, &catalog);
            access.require(&catalog, &["USAGE"], &Securable::account_object(INTEGRATION, integration), || integration_not_found(integration))?;
            check_url(&rec_int, url)?;
        }
        Target::Service { service, endpoint, path, max_batch_retries, on_batch_failure, batch_timeout_secs } => {
            for p in props {
                match p.key.as_str() {
                    "SERVICE" => {
                        let parts: Vec<String> = text(&p.value).split('.').map(str::to_string).collect();
                        let (db, schema, name) = resolve(&catalog, session, &parts, "CREATE FUNCTION")?;
                        *service = vec![db, schema, name];
                    }
                    "ENDPOINT" => *endpoint = text(&p.value),
                    "MAX_BATCH_RETRIES" => *max_batch_retries = positive(p, 0, 1_000)? as u32,
                    "ON_BATCH_FAILURE" => {
                        let v = text(&p.value).to_uppercase();
                        if !matches!(v.as_str(), "ABORT" | "RETURN_NULL") {
                            return Err(SfError::invalid_value("ON_BATCH_FAILURE", &p.value.written()));
                        }
                        *on_batch_failure = v;
                    }
                    "BATCH_TIMEOUT_SECS" => *batch_timeout_secs = positive(p, 1, 604_800)?,
                    "API_INTEGRATION" | "COMPRESSION" | "REQUEST_TRANSLATOR" | "RESPONSE_TRANSLATOR" | "URL" => {
                        return Err(SfError::compilation(format!("Option {} is not valid for a service function.", p.key)));
                    }
                    _ => {}
                }
            }
            if headers.is_some() {
                return Err(SfError::compilation("Option HEADERS is not valid for a service function."));
            }
            if !path.starts_with('/') {
                return Err(SfError::compilation(format!("Invalid service function path '{path}': it must start with '/'.")));
            }
            // The service must exist and be a service (not a job), with an HTTP endpoint of that name.
            let [db, schema, name] = service.as_slice() else { return Err(SfError::compilation("invalid service name")) };
            let svc = get::<crate::spcs::Service>(&catalog, crate::spcs::SERVICE, &schema_scope(db, schema), name)
                .filter(|s| !s.is_job)
                .ok_or_else(|| SfError::kind_not_found("Service", &display_ident(name)))?;
            let spec = spec::parse(&svc.spec_text).map_err(|e| SfError::internal(e.to_string()))?;
            let ep = spec.endpoints.iter().find(|e| e.name.eq_ignore_ascii_case(endpoint)).ok_or_else(|| {
                SfError::compilation(format!("Endpoint '{}' does not exist in service {}.", endpoint.to_lowercase(), display_ident(name)))
            })?;
            if ep.protocol != "HTTP" || ep.port.is_none() {
                return Err(SfError::compilation(format!("Endpoint '{}' of service {} is not an HTTP endpoint.", ep.name, display_ident(name))));
            }
            *endpoint = ep.name.clone();
        }
        Target::JavaScript { .. } => {
            if let Some(p) = props.iter().find(|p| !matches!(p.key.as_str(), "COMMENT")) {
                return Err(SfError::compilation(format!("Option {} is not valid for a JavaScript function.", p.key)));
            }
            if headers.is_some() {
                return Err(SfError::compilation("Option HEADERS is not valid for a JavaScript function."));
            }
        }
    }
    Ok(())
}

/// REQUEST_TRANSLATOR / RESPONSE_TRANSLATOR: a JavaScript function `(OBJECT) RETURNS OBJECT` the
/// session's role can see; stored as `DB.SCHEMA.NAME`.
fn translator(engine: &Engine, session: &Session, catalog: &store::Catalog, p: &Prop) -> Result<String, SfError> {
    let parts: Vec<String> = text(&p.value).split('.').map(str::to_string).collect();
    let (db, schema, name) = resolve(catalog, session, &parts, "CREATE EXTERNAL FUNCTION")?;
    let key = signature_key(&name, &["OBJECT".to_string()]);
    let unknown = || SfError::new("002140", "42601", model::ErrorKind::InvalidArgument, format!("SQL compilation error:\nUnknown user-defined function {}.{}.{}(OBJECT) for {}.", display_ident(&db), display_ident(&schema), display_ident(&name), p.key));
    let f = get::<FunctionRecord>(catalog, FUNCTION, &schema_scope(&db, &schema), &key).ok_or_else(unknown)?;
    if !Access::of(engine, session, catalog).can_see(catalog, &Securable::schema_object(FUNCTION, &db, &schema, &key)) {
        return Err(unknown());
    }
    if f.javascript().is_none() || base_type(&f.returns) != "OBJECT" {
        return Err(SfError::compilation(format!("{} must be a JavaScript function taking one OBJECT and returning OBJECT; {} is a {} function returning {}.", p.key, display_ident(&name), f.language(), f.returns)));
    }
    Ok(format!("{db}.{schema}.{name}"))
}

pub(super) async fn create_function(engine: &Engine, session: &mut Session, c: CreateFunction) -> Result<QueryResult, SfError> {
    let (db, schema, name) = place(engine, session, &c.name, "CREATE FUNCTION")?;
    let catalog = engine.store().snapshot();
    let access = Access::of(engine, session, &catalog);
    access.require_create_in_schema(&catalog, &db, &schema, "CREATE FUNCTION")?;
    let mut args = Vec::with_capacity(c.args.len());
    for (n, t) in &c.args {
        args.push((n.clone(), SfType::parse(t)?.to_sql()));
    }
    let returns = SfType::parse(&c.returns)?.to_sql();
    let key = signature_key(&name, &args.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
    let scope = schema_scope(&db, &schema);
    let existing = get::<FunctionRecord>(&catalog, FUNCTION, &scope, &key);
    if existing.is_some() && !c.or_replace && !c.or_alter {
        if c.if_not_exists {
            return Ok(message(format!("{} already exists, statement succeeded.", display_ident(&name))));
        }
        return Err(SfError::already_exists(&display_ident(&name)));
    }
    let target = if c.javascript {
        let params: Vec<String> = args.iter().map(|(n, _)| n.clone()).collect();
        let (fname, body) = (name.clone(), c.body.clone());
        // Compiling is CPU work bounded only by its time limit: not on this async worker.
        let limits = js::Limits { timeout: std::time::Duration::from_secs(10), ..js::Limits::default() };
        tokio::task::spawn_blocking(move || js::check(js::Code { name: &fname, params: &params, body: &body }, &limits))
            .await
            .map_err(|e| SfError::internal(e.to_string()))?
            .map_err(|e| SfError::new("100131", "P0000", model::ErrorKind::InvalidArgument, e.to_string()))?;
        Target::JavaScript { body: c.body.clone() }
    } else if c.external {
        Target::External {
            integration: String::new(),
            url: c.body.clone(),
            headers: Vec::new(),
            compression: "AUTO".into(),
            request_translator: None,
            response_translator: None,
        }
    } else {
        Target::Service { service: Vec::new(), endpoint: String::new(), path: c.body.clone(), max_batch_retries: 3, on_batch_failure: "ABORT".into(), batch_timeout_secs: 3600 }
    };
    let mut rec = FunctionRecord {
        name: name.clone(),
        database: db.clone(),
        schema: schema.clone(),
        args,
        returns,
        not_null: c.not_null,
        strict: c.strict,
        immutable: c.immutable,
        secure: c.secure,
        comment: None,
        max_batch_rows: None,
        context_headers: Vec::new(),
        target,
        owner: session.role.clone(),
        created_on: now(),
    };
    if let (true, Some(old)) = (c.or_alter, &existing) {
        if old.returns != rec.returns || old.language() != rec.language() {
            return Err(SfError::compilation("CREATE OR ALTER cannot change a function's return type or kind."));
        }
        rec.owner = old.owner.clone();
        rec.created_on = old.created_on;
    }
    if c.external && !c.props.iter().any(|p| p.key == "API_INTEGRATION") {
        return Err(SfError::compilation("Missing option(s): [API_INTEGRATION]"));
    }
    if !c.external && !c.javascript && !c.props.iter().any(|p| p.key == "ENDPOINT") {
        return Err(SfError::compilation("Missing option(s): [ENDPOINT]"));
    }
    apply_function(engine, session, &mut rec, &c.props, c.headers.clone())?;
    commit(engine, vec![put(FUNCTION, &scope, &key, &rec)]).await?;
    Ok(message(format!("Function {} successfully created.", display_ident(&name))))
}

/// A function by name and argument types, visible to the session's role.
fn find_function(engine: &Engine, session: &Session, name: &[String], types: &[String], verb: &str) -> Result<Option<(String, FunctionRecord)>, SfError> {
    let (db, schema, n) = place(engine, session, name, verb)?;
    let key = signature_key(&n, &canonical(types)?);
    let catalog = engine.store().snapshot();
    let scope = schema_scope(&db, &schema);
    let Some(rec) = get::<FunctionRecord>(&catalog, FUNCTION, &scope, &key) else { return Ok(None) };
    let access = Access::of(engine, session, &catalog);
    if !access.can_see(&catalog, &Securable::schema_object(FUNCTION, &db, &schema, &key)) {
        return Ok(None);
    }
    Ok(Some((scope, rec)))
}

pub(super) async fn alter_function(engine: &Engine, session: &mut Session, name: Vec<String>, types: Vec<String>, if_exists: bool, action: AlterAction) -> Result<QueryResult, SfError> {
    let shown = name.last().cloned().unwrap_or_default();
    let Some((scope, mut rec)) = find_function(engine, session, &name, &types, "ALTER FUNCTION")? else {
        return if if_exists { Ok(ok(statement_type::DDL)) } else { Err(function_not_found(&shown, &types)) };
    };
    let catalog = engine.store().snapshot();
    let old_key = rec.key();
    Access::of(engine, session, &catalog).require_owner(&catalog, &Securable::schema_object(FUNCTION, &rec.database, &rec.schema, &old_key), || function_not_found(&shown, &types))?;
    let mut ops = Vec::new();
    match action {
        AlterAction::Set { props, headers, secure } => {
            if secure {
                rec.secure = true;
            }
            apply_function(engine, session, &mut rec, &props, headers)?;
        }
        AlterAction::Unset(keys) => {
            for k in keys {
                match (k.as_str(), &mut rec.target) {
                    ("SECURE", _) => rec.secure = false,
                    ("COMMENT", _) => rec.comment = None,
                    ("CONTEXT_HEADERS", _) => rec.context_headers.clear(),
                    ("MAX_BATCH_ROWS", _) => rec.max_batch_rows = None,
                    ("HEADERS", Target::External { headers, .. }) => headers.clear(),
                    ("COMPRESSION", Target::External { compression, .. }) => *compression = "AUTO".into(),
                    ("REQUEST_TRANSLATOR", Target::External { request_translator, .. }) => *request_translator = None,
                    ("RESPONSE_TRANSLATOR", Target::External { response_translator, .. }) => *response_translator = None,
                    ("MAX_BATCH_RETRIES", Target::Service { max_batch_retries, .. }) => *max_batch_retries = 3,
                    ("ON_BATCH_FAILURE", Target::Service { on_batch_failure, .. }) => *on_batch_failure = "ABORT".into(),
                    ("BATCH_TIMEOUT_SECS", Target::Service { batch_timeout_secs, .. }) => *batch_timeout_secs = 3600,
                    (other, _) => return Err(SfError::compilation(format!("Option {other} is not valid for this function."))),
                }
            }
        }
        AlterAction::Rename(to) => {
            let (db, schema, n) = place(engine, session, &to, "ALTER FUNCTION")?;
            let new_scope = schema_scope(&db, &schema);
            rec.name = n;
            rec.database = db;
            rec.schema = schema;
            if catalog.object(FUNCTION, &new_scope, &rec.key()).is_some() {
                return Err(SfError::already_exists(&display_ident(&rec.name)));
            }
            ops.push(store::Op::DeleteObject { kind: FUNCTION.into(), scope: scope.clone(), name: old_key });
            ops.push(put(FUNCTION, &new_scope, &rec.key(), &rec));
            commit(engine, ops).await?;
            return Ok(ok(statement_type::DDL));
        }
    }
    ops.push(put(FUNCTION, &scope, &rec.key(), &rec));
    commit(engine, ops).await?;
    Ok(ok(statement_type::DDL))
}

pub(super) async fn drop_function(engine: &Engine, session: &mut Session, name: Vec<String>, types: Vec<String>, if_exists: bool) -> Result<QueryResult, SfError> {
    let shown = name.last().cloned().unwrap_or_default();
    let Some((scope, rec)) = find_function(engine, session, &name, &types, "DROP FUNCTION")? else {
        return if if_exists { Ok(crate::objects::dropped(&shown, false)) } else { Err(function_not_found(&shown, &types)) };
    };
    let catalog = engine.store().snapshot();
    let key = rec.key();
    Access::of(engine, session, &catalog).require_owner(&catalog, &Securable::schema_object(FUNCTION, &rec.database, &rec.schema, &key), || function_not_found(&shown, &types))?;
    commit(engine, vec![store::Op::DeleteObject { kind: FUNCTION.into(), scope, name: key }]).await?;
    Ok(crate::objects::dropped(&rec.name, true))
}

pub(super) fn describe_function(engine: &Engine, session: &Session, name: &[String], types: &[String]) -> Result<QueryResult, SfError> {
    let shown = name.last().cloned().unwrap_or_default();
    let (_, rec) = find_function(engine, session, name, types, "DESCRIBE FUNCTION")?.ok_or_else(|| function_not_found(&shown, types))?;
    let catalog = engine.store().snapshot();
    let owner_view = Access::of(engine, session, &catalog).has(&catalog, "OWNERSHIP", &Securable::schema_object(FUNCTION, &rec.database, &rec.schema, &rec.key()));
    let hidden = rec.secure && !owner_view;
    let mut rows: Vec<(&str, String)> = vec![
        ("signature", rec.signature()),
        ("returns", format!("{}{}", rec.returns, if rec.not_null { " NOT NULL" } else { "" })),
        ("null handling", if rec.strict { "RETURNS NULL ON NULL INPUT" } else { "CALLED ON NULL INPUT" }.into()),
        ("volatility", if rec.immutable { "IMMUTABLE" } else { "VOLATILE" }.into()),
    ];
    let context = format!("[{}]", rec.context_headers.join(", "));
    match &rec.target {
        Target::External { integration, url, headers, compression, request_translator, response_translator } => {
            rows.push(("body", if hidden { String::new() } else { url.clone() }));
            rows.push(("headers", if hidden { String::new() } else { serde_json::to_string(&headers.iter().cloned().collect::<BTreeMap<_, _>>()).unwrap_or_default() }));
            rows.push(("context_headers", if hidden { String::new() } else { context }));
            rows.push(("max_batch_rows", rec.max_batch_rows.map(|n| n.to_string()).unwrap_or_else(|| "not set".into())));
            rows.push(("compression", compression.clone()));
            rows.push(("api_integration", integration.clone()));
            rows.push(("request_translator", request_translator.clone().unwrap_or_default()));
            rows.push(("response_translator", response_translator.clone().unwrap_or_default()));
        }
        Target::Service { service, endpoint, path, max_batch_retries, on_batch_failure, batch_timeout_secs } => {
            rows.push(("body", path.clone()));
            rows.push(("service", service.join(".")));
            rows.push(("service_endpoint", endpoint.clone()));
            rows.push(("context_headers", context));
            rows.push(("max_batch_rows", rec.max_batch_rows.map(|n| n.to_string()).unwrap_or_else(|| "not set".into())));
            rows.push(("max_batch_retries", max_batch_retries.to_string()));
            rows.push(("on_batch_failure", on_batch_failure.clone()));
            rows.push(("batch_timeout_secs", batch_timeout_secs.to_string()));
        }
        Target::JavaScript { body } => {
            rows.push(("language", "JAVASCRIPT".into()));
            rows.push(("body", if hidden { String::new() } else { body.clone() }));
        }
    }
    Ok(build(
        statement_type::SHOW,
        vec![Col::Text("property", rows.iter().map(|r| Some(r.0.to_string())).collect()), Col::Text("value", rows.iter().map(|r| Some(r.1.clone())).collect())],
    ))
}

pub(super) fn show_functions(engine: &Engine, session: &Session, external_only: bool, like: Option<String>, scope: ShowScope) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let matches = like_matcher(like.as_deref());
    let schemas = scope_schemas(&catalog, session, &scope, "SHOW")?;
    let access = Access::of(engine, session, &catalog);
    let mut rows: Vec<FunctionRecord> = crate::objects::all::<FunctionRecord>(&catalog, FUNCTION)
        .into_iter()
        .filter(|(_, k, r)| {
            schemas.iter().any(|(d, s)| *d == r.database && *s == r.schema)
                && matches(&r.name)
                && (!external_only || r.is_external())
                && access.can_see(&catalog, &Securable::schema_object(FUNCTION, &r.database, &r.schema, k))
        })
        .map(|(_, _, r)| r)
        .collect();
    rows.sort_by(|a, b| (&a.name, &a.database, &a.schema, a.key()).cmp(&(&b.name, &b.database, &b.schema, b.key())));
    let t = |f: &dyn Fn(&FunctionRecord) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let yn = |b: bool| Some(if b { "Y" } else { "N" }.to_string());
    Ok(build(
        statement_type::SHOW,
        vec![
            Col::Time("created_on", rows.iter().map(|r| Some(r.created_on)).collect()),
            Col::Text("name", t(&|r| Some(r.name.clone()))),
            Col::Text("schema_name", t(&|r| Some(r.schema.clone()))),
            Col::Text("is_builtin", t(&|_| yn(false))),
            Col::Text("is_aggregate", t(&|_| yn(false))),
            Col::Text("is_ansi", t(&|_| yn(false))),
            Col::Num("min_num_arguments", rows.iter().map(|r| Some(r.args.len() as i64)).collect()),
            Col::Num("max_num_arguments", rows.iter().map(|r| Some(r.args.len() as i64)).collect()),
            Col::Text("arguments", t(&|r| Some(r.arguments()))),
            Col::Text("description", t(&|r| Some(r.comment.clone().unwrap_or_else(|| "user-defined function".into())))),
            Col::Text("catalog_name", t(&|r| Some(r.database.clone()))),
            Col::Text("is_table_function", t(&|_| yn(false))),
            Col::Text("valid_for_clustering", t(&|_| yn(false))),
            Col::Text("is_secure", t(&|r| yn(r.secure))),
            Col::Text("is_external_function", t(&|r| yn(r.is_external()))),
            Col::Text("language", t(&|r| Some(r.language().into()))),
            Col::Text("is_memoizable", t(&|_| yn(false))),
        ],
    ))
}
