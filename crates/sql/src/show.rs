//! SHOW and DESCRIBE results with Snowflake's column sets.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{Field, Schema};
use model::{SfError, display_ident};
use regex::Regex;

use crate::engine::Engine;
use crate::result::{QueryResult, statement_type};
use crate::session::{PARAMS, Session};
use crate::types::{MAX_VARCHAR, SfType};

/// A column of a SHOW result.
pub enum Col {
    /// VARCHAR values.
    Text(&'static str, Vec<Option<String>>),
    /// NUMBER values.
    Num(&'static str, Vec<Option<i64>>),
    /// TIMESTAMP_LTZ values (epoch ms).
    Time(&'static str, Vec<Option<i64>>),
    /// FLOAT values.
    Float(&'static str, Vec<Option<f64>>),
}

/// Builds a SHOW-style result from columns.
pub fn build(statement_type: u32, cols: Vec<Col>) -> QueryResult {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for col in cols {
        match col {
            Col::Text(name, values) => {
                fields.push(SfType::Varchar(MAX_VARCHAR).field(name, true));
                arrays.push(Arc::new(StringArray::from(values)));
            }
            Col::Num(name, values) => {
                fields.push(SfType::Number(38, 0).field(name, true));
                arrays.push(Arc::new(Int64Array::from(values)));
            }
            Col::Float(name, values) => {
                fields.push(SfType::Float.field(name, true));
                arrays.push(Arc::new(Float64Array::from(values)));
            }
            Col::Time(name, values) => {
                fields.push(SfType::TimestampLtz(3).field(name, true));
                let nanos: Vec<Option<i64>> = values.into_iter().map(|v| v.map(|ms| ms * 1_000_000)).collect();
                arrays.push(Arc::new(TimestampNanosecondArray::from(nanos).with_timezone("+00:00")));
            }
        }
    }
    let schema = Arc::new(Schema::new(fields.into_iter().collect::<Vec<Field>>()));
    QueryResult::table(statement_type, schema, arrays)
}

/// Compiles a LIKE pattern (case-insensitive, as SHOW … LIKE is).
pub fn like_matcher(pattern: Option<&str>) -> impl Fn(&str) -> bool {
    let re = pattern.map(|p| {
        let mut out = String::from("(?is)^");
        let mut chars = p.chars();
        while let Some(ch) = chars.next() {
            match ch {
                '%' => out.push_str(".*"),
                '_' => out.push('.'),
                // `\` escapes the next character (`snow` sends `LIKE 'MY\_REPO'`).
                '\\' => out.push_str(&regex::escape(&chars.next().map(String::from).unwrap_or_else(|| "\\".into()))),
                c => out.push_str(&regex::escape(&c.to_string())),
            }
        }
        out.push('$');
        Regex::new(&out).expect("valid regex")
    });
    move |name: &str| re.as_ref().is_none_or(|re| re.is_match(name))
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

/// SHOW PARAMETERS [LIKE] [IN SESSION | ACCOUNT | SERVICE s]: the session's parameters; IN ACCOUNT also
/// the account's object parameters (account.rs); IN SERVICE a service's LOG_EVENT_LEVEL and LOG_LEVEL.
pub fn parameters(engine: &Engine, session: &Session, like: Option<&str>, level: Option<&str>, object: &[String]) -> Result<QueryResult, SfError> {
    let matches = like_matcher(like);
    // (key, value, default, level, description, type)
    let mut rows: Vec<[String; 6]> = Vec::new();
    let catalog = engine.store().snapshot();
    match level {
        Some("SERVICE") => {
            let svc = crate::spcs::find_service(engine, session, object, "SHOW PARAMETERS")?;
            let account_level = crate::account::parameter(&catalog, "LOG_EVENT_LEVEL");
            for (name, own, default) in [
                ("LOG_EVENT_LEVEL", svc.log_event_level.clone(), account_level),
                ("LOG_LEVEL", svc.log_level.clone(), crate::account::parameter(&catalog, "LOG_LEVEL")),
            ] {
                let p = crate::account::OBJECT_PARAMS.iter().find(|p| p.name == name).expect("known parameter");
                let shown_level = if own.is_some() { "SERVICE" } else if crate::account::is_set(&catalog, name) { "ACCOUNT" } else { "" };
                rows.push([name.into(), own.unwrap_or(default), p.default.into(), shown_level.into(), p.description.into(), "STRING".into()]);
            }
        }
        Some(other) if other != "SESSION" && other != "ACCOUNT" => {
            return Err(SfError::compilation(format!("SHOW PARAMETERS IN {other} is not supported; use IN SESSION, IN ACCOUNT or IN SERVICE.")));
        }
        _ => {
            for p in PARAMS {
                let set = session.params.get(p.name);
                let shown_level = match (level, set) {
                    (Some("ACCOUNT"), _) => "",
                    (_, Some(_)) => "SESSION",
                    _ => "",
                };
                let value = if level == Some("ACCOUNT") { p.default.to_string() } else { session.param(p.name) };
                rows.push([p.name.into(), value, p.default.into(), shown_level.into(), p.description.into(), p.kind.into()]);
            }
            if level == Some("ACCOUNT") {
                for p in crate::account::OBJECT_PARAMS {
                    let shown_level = if crate::account::is_set(&catalog, p.name) { "ACCOUNT" } else { "" };
                    rows.push([p.name.into(), crate::account::parameter(&catalog, p.name), p.default.into(), shown_level.into(), p.description.into(), "STRING".into()]);
                }
                rows.sort();
            }
        }
    }
    rows.retain(|r| matches(&r[0]));
    let col = |i: usize| rows.iter().map(|r| s(r[i].clone())).collect::<Vec<_>>();
    Ok(build(
        statement_type::SHOW,
        vec![Col::Text("key", col(0)), Col::Text("value", col(1)), Col::Text("default", col(2)), Col::Text("level", col(3)), Col::Text("description", col(4)), Col::Text("type", col(5))],
    ))
}

/// SHOW DATABASES | SCHEMAS | TABLES | VIEWS | COLUMNS | OBJECTS.
pub fn show(engine: &Engine, session: &Session, what: &str, like: Option<&str>, scope: Option<(String, Vec<String>)>) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let matches = like_matcher(like);
    match what {
        "DATABASES" => {
            let dbs: Vec<_> = catalog.databases.values().filter(|d| matches(&d.name)).collect();
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Time("created_on", dbs.iter().map(|d| Some(d.info.created_on)).collect()),
                    Col::Text("name", dbs.iter().map(|d| s(&d.name)).collect()),
                    Col::Text("is_default", dbs.iter().map(|_| s("N")).collect()),
                    Col::Text("is_current", dbs.iter().map(|d| s(if session.database.as_deref() == Some(&d.name) { "Y" } else { "N" })).collect()),
                    Col::Text("origin", dbs.iter().map(|_| s("")).collect()),
                    Col::Text("owner", dbs.iter().map(|d| s(&d.info.owner)).collect()),
                    Col::Text("comment", dbs.iter().map(|d| s(d.info.comment.clone().unwrap_or_default())).collect()),
                    Col::Text("options", dbs.iter().map(|_| s("")).collect()),
                    Col::Text("retention_time", dbs.iter().map(|_| s("1")).collect()),
                    Col::Text("kind", dbs.iter().map(|_| s("STANDARD")).collect()),
                    Col::Text("owner_role_type", dbs.iter().map(|_| s("ROLE")).collect()),
                ],
            ))
        }
        "SCHEMAS" => {
            let dbs: Vec<String> = match &scope {
                Some((_, name)) if name.len() == 1 => vec![name[0].clone()],
                Some((kind, _)) if kind == "ACCOUNT" => catalog.databases.keys().cloned().collect(),
                _ => vec![session.database.clone().ok_or_else(|| SfError::no_current("database", "SHOW SCHEMAS"))?],
            };
            let mut rows = Vec::new();
            for db in &dbs {
                let d = catalog.databases.get(db).ok_or_else(|| SfError::kind_not_found("Database", &display_ident(db)))?;
                rows.extend(d.schemas.values().filter(|sc| matches(&sc.name)).map(|sc| (db.clone(), sc.clone())));
            }
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Time("created_on", rows.iter().map(|(_, sc)| Some(sc.info.created_on)).collect()),
                    Col::Text("name", rows.iter().map(|(_, sc)| s(&sc.name)).collect()),
                    Col::Text("is_default", rows.iter().map(|_| s("N")).collect()),
                    Col::Text(
                        "is_current",
                        rows.iter()
                            .map(|(db, sc)| s(if session.database.as_deref() == Some(db) && session.schema.as_deref() == Some(&sc.name) { "Y" } else { "N" }))
                            .collect(),
                    ),
                    Col::Text("database_name", rows.iter().map(|(db, _)| s(db)).collect()),
                    Col::Text("owner", rows.iter().map(|(_, sc)| s(&sc.info.owner)).collect()),
                    Col::Text("comment", rows.iter().map(|(_, sc)| s(sc.info.comment.clone().unwrap_or_default())).collect()),
                    Col::Text("options", rows.iter().map(|_| s("")).collect()),
                    Col::Text("retention_time", rows.iter().map(|_| s("1")).collect()),
                    Col::Text("owner_role_type", rows.iter().map(|_| s("ROLE")).collect()),
                ],
            ))
        }
        "TABLES" | "VIEWS" | "OBJECTS" | "COLUMNS" => {
            let schemas: Vec<(String, String)> = match &scope {
                Some((kind, _)) if kind == "ACCOUNT" => catalog.databases.values().flat_map(|d| d.schemas.keys().map(|k| (d.name.clone(), k.clone()))).collect(),
                Some((kind, name)) if kind == "DATABASE" || (kind.is_empty() && name.len() == 1 && catalog.databases.contains_key(&name[0])) => {
                    let db = name.first().cloned().or_else(|| session.database.clone()).unwrap_or_default();
                    let d = catalog.databases.get(&db).ok_or_else(|| SfError::kind_not_found("Database", &display_ident(&db)))?;
                    d.schemas.keys().map(|k| (db.clone(), k.clone())).collect()
                }
                Some((kind, name)) if kind == "TABLE" || kind == "VIEW" || (what == "COLUMNS" && name.len() == 3) => {
                    let (db, sc, _) = crate::rewrite::qualify(name, &catalog, session.database.as_deref(), session.schema.as_deref(), session.id, "SHOW")?;
                    vec![(db, sc)]
                }
                Some((_, name)) if name.len() == 2 => vec![(name[0].clone(), name[1].clone())],
                Some((_, name)) if name.len() == 1 => {
                    vec![(session.database.clone().ok_or_else(|| SfError::no_current("database", "SHOW"))?, name[0].clone())]
                }
                _ => vec![(
                    session.database.clone().ok_or_else(|| SfError::no_current("database", "SHOW"))?,
                    session.schema.clone().ok_or_else(|| SfError::no_current("schema", "SHOW"))?,
                )],
            };
            let only_table = match &scope {
                Some((kind, name)) if kind == "TABLE" || kind == "VIEW" || (what == "COLUMNS" && name.len() == 3) => {
                    let (db, sc) = &schemas[0];
                    crate::temp::lookup(&catalog, db, sc, name.last().map(String::as_str).unwrap_or_default(), session.id).map(|(stored, _)| stored)
                }
                _ => None,
            };
            let mut tables = Vec::new();
            for (db, sc) in &schemas {
                let schema = catalog.schema(db, sc).ok_or_else(|| SfError::kind_not_found("Schema", &display_ident(sc)))?;
                for t in schema.tables.values().filter(|t| crate::temp::visible_to(&t.name, session.id)) {
                    let is_view = matches!(t.def.kind, store::TableKind::View { .. });
                    let wanted = match what {
                        "TABLES" => !is_view && matches(crate::temp::shown(&t.name)),
                        "VIEWS" => is_view && matches(crate::temp::shown(&t.name)),
                        "OBJECTS" => matches(crate::temp::shown(&t.name)),
                        _ => only_table.as_ref().is_none_or(|o| o == &t.name),
                    };
                    if wanted {
                        tables.push((db.clone(), sc.clone(), t.clone()));
                    }
                }
            }
            if what == "COLUMNS" {
                let mut rows = Vec::new();
                for (db, sc, t) in &tables {
                    for c in t.def.columns.iter().filter(|c| matches(&c.name)) {
                        rows.push((db.clone(), sc.clone(), crate::temp::shown(&t.name).to_string(), c.clone(), matches!(t.def.kind, store::TableKind::View { .. })));
                    }
                }
                return Ok(build(
                    statement_type::SHOW,
                    vec![
                        Col::Text("table_name", rows.iter().map(|r| s(&r.2)).collect()),
                        Col::Text("schema_name", rows.iter().map(|r| s(&r.1)).collect()),
                        Col::Text("column_name", rows.iter().map(|r| s(&r.3.name)).collect()),
                        Col::Text("data_type", rows.iter().map(|r| s(type_json(&r.3.sf_type, r.3.nullable))).collect()),
                        Col::Text("null?", rows.iter().map(|r| s(if r.3.nullable { "true" } else { "NOT_NULL" })).collect()),
                        Col::Text("default", rows.iter().map(|r| s(r.3.default.clone().unwrap_or_default())).collect()),
                        Col::Text("kind", rows.iter().map(|r| s(if r.4 { "VIEW_COLUMN" } else { "COLUMN" })).collect()),
                        Col::Text("expression", rows.iter().map(|_| s("")).collect()),
                        Col::Text("comment", rows.iter().map(|r| s(r.3.comment.clone().unwrap_or_default())).collect()),
                        Col::Text("database_name", rows.iter().map(|r| s(&r.0)).collect()),
                        Col::Text("autoincrement", rows.iter().map(|_| s("")).collect()),
                        Col::Text("schema_evolution_record", rows.iter().map(|_| None).collect()),
                    ],
                ));
            }
            if what == "VIEWS" {
                return Ok(build(
                    statement_type::SHOW,
                    vec![
                        Col::Time("created_on", tables.iter().map(|t| Some(t.2.info.created_on)).collect()),
                        Col::Text("name", tables.iter().map(|t| s(crate::temp::shown(&t.2.name))).collect()),
                        Col::Text("reserved", tables.iter().map(|_| s("")).collect()),
                        Col::Text("database_name", tables.iter().map(|t| s(&t.0)).collect()),
                        Col::Text("schema_name", tables.iter().map(|t| s(&t.1)).collect()),
                        Col::Text("owner", tables.iter().map(|t| s(&t.2.info.owner)).collect()),
                        Col::Text("comment", tables.iter().map(|t| s(t.2.info.comment.clone().unwrap_or_default())).collect()),
                        Col::Text(
                            "text",
                            tables.iter().map(|t| match &t.2.def.kind { store::TableKind::View { query } => s(query), _ => None }).collect(),
                        ),
                        Col::Text("is_secure", tables.iter().map(|_| s("false")).collect()),
                        Col::Text("is_materialized", tables.iter().map(|_| s("false")).collect()),
                        Col::Text("owner_role_type", tables.iter().map(|_| s("ROLE")).collect()),
                        Col::Text("change_tracking", tables.iter().map(|_| s("OFF")).collect()),
                    ],
                ));
            }
            Ok(build(
                statement_type::SHOW,
                vec![
                    Col::Time("created_on", tables.iter().map(|t| Some(t.2.info.created_on)).collect()),
                    Col::Text("name", tables.iter().map(|t| s(crate::temp::shown(&t.2.name))).collect()),
                    Col::Text("database_name", tables.iter().map(|t| s(&t.0)).collect()),
                    Col::Text("schema_name", tables.iter().map(|t| s(&t.1)).collect()),
                    Col::Text(
                        "kind",
                        tables
                            .iter()
                            .map(|t| {
                                s(match t.2.def.kind {
                                    _ if t.2.info.options.contains_key(crate::temp::TEMPORARY_SESSION) => "TEMPORARY",
                                    store::TableKind::Table => "TABLE",
                                    store::TableKind::Transient => "TRANSIENT",
                                    store::TableKind::View { .. } => "VIEW",
                                })
                            })
                            .collect(),
                    ),
                    Col::Text("comment", tables.iter().map(|t| s(t.2.info.comment.clone().unwrap_or_default())).collect()),
                    Col::Text("cluster_by", tables.iter().map(|_| s("")).collect()),
                    Col::Num("rows", tables.iter().map(|t| Some(t.2.data.live_rows() as i64)).collect()),
                    Col::Num("bytes", tables.iter().map(|t| Some(t.2.data.bytes() as i64)).collect()),
                    Col::Text("owner", tables.iter().map(|t| s(&t.2.info.owner)).collect()),
                    Col::Text("retention_time", tables.iter().map(|_| s("1")).collect()),
                    Col::Text("automatic_clustering", tables.iter().map(|_| s("OFF")).collect()),
                    Col::Text("change_tracking", tables.iter().map(|_| s("OFF")).collect()),
                    Col::Text("is_external", tables.iter().map(|_| s("N")).collect()),
                    Col::Text("enable_schema_evolution", tables.iter().map(|_| s("N")).collect()),
                    Col::Text("owner_role_type", tables.iter().map(|_| s("ROLE")).collect()),
                    Col::Text("is_event", tables.iter().map(|_| s("N")).collect()),
                    Col::Text("is_hybrid", tables.iter().map(|_| s("N")).collect()),
                    Col::Text("is_iceberg", tables.iter().map(|_| s("N")).collect()),
                    Col::Text("is_dynamic", tables.iter().map(|_| s("N")).collect()),
                    Col::Text("is_immutable", tables.iter().map(|_| s("N")).collect()),
                ],
            ))
        }
        other => Err(SfError::unsupported(format!("SHOW {other}"))),
    }
}

fn type_json(sf_type: &str, nullable: bool) -> String {
    let ty = SfType::parse(sf_type).unwrap_or(SfType::Varchar(MAX_VARCHAR));
    let mut obj = serde_json::json!({"type": match &ty {
        SfType::Number(..) => "FIXED", SfType::Float => "REAL", SfType::Varchar(_) => "TEXT", SfType::Boolean => "BOOLEAN",
        SfType::Date => "DATE", SfType::Time(_) => "TIME", SfType::TimestampNtz(_) => "TIMESTAMP_NTZ", SfType::TimestampLtz(_) => "TIMESTAMP_LTZ",
        SfType::TimestampTz(_) => "TIMESTAMP_TZ", SfType::Binary(_) => "BINARY", SfType::Variant => "VARIANT", SfType::Object => "OBJECT", SfType::Array => "ARRAY",
    }, "nullable": nullable});
    match ty {
        SfType::Number(p, sc) => {
            obj["precision"] = p.into();
            obj["scale"] = sc.into();
        }
        SfType::Varchar(n) => {
            obj["length"] = n.into();
            obj["byteLength"] = (n.saturating_mul(4).min(MAX_VARCHAR)).into();
            obj["fixed"] = false.into();
        }
        _ => {}
    }
    obj.to_string()
}

/// DESCRIBE TABLE/VIEW.
pub fn describe_table(engine: &Engine, session: &Session, name: &[String]) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let (db, sc, t) = crate::rewrite::qualify(name, &catalog, session.database.as_deref(), session.schema.as_deref(), session.id, "DESCRIBE")?;
    let shown = name.iter().map(|p| display_ident(p)).collect::<Vec<_>>().join(".");
    let access = crate::access::Access::of(engine, session, &catalog);
    let obj = crate::access::Securable::schema_object(crate::access::kind::TABLE, &db, &sc, &t);
    if !access.admin && !(access.has(&catalog, "USAGE", &crate::access::Securable::database(&db)) && access.has(&catalog, "USAGE", &crate::access::Securable::schema(&db, &sc)) && access.can_see(&catalog, &obj)) {
        return Err(SfError::object_not_found(&shown));
    }
    let table = catalog.table(&db, &sc, &t).expect("qualified");
    let cols = &table.def.columns;
    let n = cols.len();
    Ok(build(
        statement_type::DESCRIBE,
        vec![
            Col::Text("name", cols.iter().map(|c| s(&c.name)).collect()),
            Col::Text("type", cols.iter().map(|c| s(&c.sf_type)).collect()),
            Col::Text("kind", cols.iter().map(|_| s("COLUMN")).collect()),
            Col::Text("null?", cols.iter().map(|c| s(if c.nullable { "Y" } else { "N" })).collect()),
            Col::Text("default", cols.iter().map(|c| c.default.clone()).collect()),
            Col::Text("primary key", vec![s("N"); n]),
            Col::Text("unique key", vec![s("N"); n]),
            Col::Text("check", vec![None; n]),
            Col::Text("expression", vec![None; n]),
            Col::Text("comment", cols.iter().map(|c| c.comment.clone()).collect()),
            Col::Text("policy name", vec![None; n]),
            Col::Text("privacy domain", vec![None; n]),
        ],
    ))
}

/// Renders epoch milliseconds for messages.
pub fn format_time(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map(|t| t.to_rfc3339()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::like_matcher;

    #[test]
    fn like_is_case_insensitive_with_backslash_escapes() {
        let m = like_matcher(Some("MY\\_REPO%"));
        assert!(m("my_repo") && m("MY_REPO_2"));
        assert!(!m("MYXREPO"), "an escaped _ is a literal underscore");
        assert!(like_matcher(Some("a_c"))("ABC"));
        assert!(like_matcher(None)("anything"));
    }
}
