//! AST rewrites that give DataFusion Snowflake's meaning: result column names, session functions,
//! GENERATOR/SEQ4, `FROM VALUES` column names, `:` path access, casts to Snowflake types, date parts,
//! and fully qualified table names (with Snowflake's "does not exist" errors).

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, JsonPathElem, ObjectName, ObjectNamePart,
    Query, SelectItem, SetExpr, Statement, TableFactor, Value, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::SnowflakeDialect;
use datafusion::sql::sqlparser::parser::Parser;
use model::SfError;
use store::Catalog;

use crate::types::SfType;

/// The session facts that rewrites substitute.
pub struct Context<'a> {
    /// CURRENT_DATABASE().
    pub database: Option<&'a str>,
    /// CURRENT_SCHEMA().
    pub schema: Option<&'a str>,
    /// CURRENT_USER().
    pub user: &'a str,
    /// CURRENT_ROLE().
    pub role: &'a str,
    /// CURRENT_WAREHOUSE().
    pub warehouse: Option<&'a str>,
    /// CURRENT_ACCOUNT().
    pub account: &'a str,
    /// CURRENT_SESSION().
    pub session_id: u64,
    /// The session's earlier query ids, oldest first (LAST_QUERY_ID).
    pub query_ids: &'a [String],
}

/// Separates a repeated result column name from its internal de-duplicating suffix.
pub const DUPLICATE_MARK: char = '\u{1}';

/// Removes the internal suffixes `name_projection` added to repeated names.
pub fn strip_duplicate_marks(schema: &datafusion::arrow::datatypes::SchemaRef) -> Option<datafusion::arrow::datatypes::SchemaRef> {
    if !schema.fields().iter().any(|f| f.name().contains(DUPLICATE_MARK)) {
        return None;
    }
    let fields: Vec<datafusion::arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name().split(DUPLICATE_MARK).next().unwrap_or_default().to_string();
            f.as_ref().clone().with_name(name)
        })
        .collect();
    Some(std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone())))
}

/// Column name of the generator's sequence column (see floe-functions).
pub const SEQ_COLUMN: &str = "__FLOE_SEQ";

/// Parses an expression from SQL text floe builds itself.
pub fn parse_expr(sql: &str) -> Result<Expr, SfError> {
    let dialect = SnowflakeDialect {};
    Parser::new(&dialect).try_with_sql(sql).and_then(|mut p| p.parse_expr()).map_err(crate::parse::parser_error)
}

/// Names unaliased top-level projection items the way Snowflake does: the expression's text, upper-cased.
///
/// Snowflake allows duplicate result names, DataFusion does not: a repeated name gets an internal
/// suffix (`DUPLICATE_MARK` + position) that `strip_duplicate_marks` removes from the result schema.
pub fn name_projection(query: &mut Query) {
    if let SetExpr::Select(select) = query.body.as_mut() {
        let mut seen: HashSet<String> = HashSet::new();
        for (position, item) in select.projection.iter_mut().enumerate() {
            let mut unique = |name: String| -> Ident {
                if seen.insert(name.clone()) {
                    Ident::with_quote('"', name)
                } else {
                    Ident::with_quote('"', format!("{name}{DUPLICATE_MARK}{position}"))
                }
            };
            match item {
                SelectItem::ExprWithAlias { alias, .. } => {
                    let name = alias.value.clone();
                    *alias = unique(name);
                    continue;
                }
                SelectItem::UnnamedExpr(expr @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_))) => {
                    let name = match &*expr {
                        Expr::Identifier(i) => i.value.clone(),
                        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()).unwrap_or_default(),
                        _ => unreachable!(),
                    };
                    let ident = unique(name.clone());
                    if ident.value != name {
                        *item = SelectItem::ExprWithAlias { expr: expr.clone(), alias: ident };
                    }
                    continue;
                }
                _ => {}
            }
            if let SelectItem::UnnamedExpr(expr) = item {
                let name = expr.to_string().to_uppercase();
                *item = SelectItem::ExprWithAlias { expr: expr.clone(), alias: unique(name) };
            }
        }
    }
}

fn function_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => Some(ident.value.to_uppercase()),
        _ => None,
    }
}

fn string_lit(value: &str) -> Expr {
    Expr::Value(Value::SingleQuotedString(value.to_string()).into())
}

fn null_lit() -> Expr {
    Expr::Value(Value::Null.into())
}

fn json_path_text(path: &ast::JsonPath) -> String {
    let mut out = String::new();
    for elem in &path.path {
        match elem {
            JsonPathElem::Dot { key, quoted } => {
                if !out.is_empty() {
                    out.push('.');
                }
                // A quoted key keeps its quotes: `v:"a.b"` is the key `a.b`, not a path.
                if *quoted {
                    out.push_str(&format!("\"{key}\""));
                } else {
                    out.push_str(key);
                }
            }
            JsonPathElem::Bracket { key } => match key {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) => out.push_str(&format!("[\"{s}\"]")),
                    other => out.push_str(&format!("[{other}]")),
                },
                other => out.push_str(&format!("[{other}]")),
            },
            _ => {}
        }
    }
    out
}

/// String functions whose VARIANT arguments are cast to their string value first.
const STRING_FUNCTIONS: &[&str] = &[
    "UPPER", "LOWER", "INITCAP", "TRIM", "LTRIM", "RTRIM", "LENGTH", "LEN", "CONCAT", "SUBSTR", "SUBSTRING", "LEFT", "RIGHT",
    "CONTAINS", "STARTSWITH", "ENDSWITH", "REPLACE", "SPLIT_PART", "LPAD", "RPAD", "REVERSE",
];

const DATE_PART_FUNCTIONS: &[&str] =
    &["DATEADD", "DATEDIFF", "DATE_TRUNC", "TIMESTAMPADD", "TIMESTAMPDIFF", "DATE_PART", "TIMEADD", "TIMEDIFF", "TIMESTAMP_DIFF"];

/// Rewrites expressions in place (session functions, SEQ4, path access, casts, date parts).
pub fn rewrite_expressions(statement: &mut Statement, ctx: &Context<'_>) -> Result<(), SfError> {
    let mut failure: Option<SfError> = None;
    let _ = visit_expressions_mut(statement, |expr| {
        match rewrite_expr(expr, ctx) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// LAST_QUERY_ID([n]): -1 (the default) is the latest statement, -2 the one before; 1 the session's
/// first. Out of range is NULL.
fn last_query_id(func: &ast::Function, ids: &[String]) -> Result<Expr, SfError> {
    let mut n: i64 = -1;
    if let FunctionArguments::List(list) = &func.args {
        if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) = list.args.first() {
            let text = e.to_string().replace(' ', "");
            n = text.parse().map_err(|_| SfError::compilation(format!("LAST_QUERY_ID takes an integer position, not {text}")))?;
        }
    }
    let index = if n < 0 { ids.len() as i64 + n } else { n - 1 };
    Ok(usize::try_from(index).ok().and_then(|i| ids.get(i)).map(|id| string_lit(id)).unwrap_or_else(null_lit))
}

/// `SYSTEM$CANCEL_ALL_QUERIES(<session id>)` of the caller's own session (Snowpark's `Session.close`
/// sends it): a session runs one statement at a time and this is it, so nothing else is running and the
/// answer is Snowflake's `0 cancelled.`. Another session's queries cannot be reached from SQL: refused.
fn cancel_all_queries(func: &ast::Function, session_id: u64) -> Result<Expr, SfError> {
    let arg = match &func.args {
        FunctionArguments::List(list) if list.args.len() == 1 => match &list.args[0] {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => e.to_string().trim_matches('\'').to_string(),
            other => other.to_string(),
        },
        _ => return Err(SfError::compilation("SYSTEM$CANCEL_ALL_QUERIES takes one argument, a session id")),
    };
    if arg.trim() != session_id.to_string() {
        return Err(SfError::unsupported(format!("SYSTEM$CANCEL_ALL_QUERIES of another session ('{arg}')")));
    }
    Ok(string_lit("0 cancelled."))
}

fn rewrite_expr(expr: &mut Expr, ctx: &Context<'_>) -> Result<(), SfError> {
    match expr {
        Expr::Function(func) => {
            let Some(name) = function_name(&func.name) else { return Ok(()) };
            // `ARRAY_AGG(x) WITHIN GROUP (ORDER BY y)` is `ARRAY_AGG(x ORDER BY y)` to DataFusion
            // (its WITHIN GROUP is for ordered-set aggregates, whose ordering becomes an argument).
            if matches!(name.as_str(), "ARRAY_AGG" | "ARRAYAGG" | "LISTAGG" | "ARRAY_UNIQUE_AGG")
                && !func.within_group.is_empty()
                && let FunctionArguments::List(list) = &mut func.args
            {
                let order = std::mem::take(&mut func.within_group);
                list.clauses.retain(|c| !matches!(c, ast::FunctionArgumentClause::OrderBy(_)));
                list.clauses.push(ast::FunctionArgumentClause::OrderBy(order));
            }
            if STRING_FUNCTIONS.contains(&name.as_str())
                && let FunctionArguments::List(list) = &mut func.args
            {
                // A VARIANT passed to a string function is its string value (`UPPER(v:name)` is
                // `NAME`, not `"NAME"`), as Snowflake casts it.
                for arg in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg
                        && is_variant_expr(e)
                    {
                        *e = parse_expr(&format!("to_varchar({e})"))?;
                    }
                }
            }
            let opt = |v: Option<&str>| v.map(string_lit).unwrap_or_else(null_lit);
            let replacement = match name.as_str() {
                "CURRENT_DATABASE" => Some(opt(ctx.database)),
                "CURRENT_SCHEMA" => Some(opt(ctx.schema)),
                "CURRENT_USER" => Some(string_lit(ctx.user)),
                "CURRENT_ROLE" => Some(string_lit(ctx.role)),
                "CURRENT_WAREHOUSE" => Some(opt(ctx.warehouse)),
                "CURRENT_ACCOUNT" | "CURRENT_ACCOUNT_NAME" => Some(string_lit(&ctx.account.to_uppercase())),
                "CURRENT_ORGANIZATION_NAME" => Some(string_lit("FLOE")),
                "CURRENT_REGION" => Some(string_lit("LOCAL")),
                "CURRENT_SESSION" => Some(string_lit(&ctx.session_id.to_string())),
                "CURRENT_VERSION" => Some(string_lit(env!("CARGO_PKG_VERSION"))),
                "CURRENT_CLIENT" => Some(string_lit("floe")),
                "LAST_QUERY_ID" => Some(last_query_id(func, ctx.query_ids)?),
                "SYSTEM$CANCEL_ALL_QUERIES" => Some(cancel_all_queries(func, ctx.session_id)?),
                "SEQ1" | "SEQ2" | "SEQ4" | "SEQ8" => Some(Expr::Identifier(Ident::new(SEQ_COLUMN))),
                _ => None,
            };
            if let Some(replacement) = replacement {
                *expr = replacement;
                return Ok(());
            }
            if DATE_PART_FUNCTIONS.contains(&name.as_str()) {
                if let FunctionArguments::List(list) = &mut func.args {
                    if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(first))) = list.args.first_mut() {
                        if let Expr::Identifier(ident) = first {
                            *first = string_lit(&ident.value.to_lowercase());
                        }
                    }
                }
            }
        }
        Expr::Value(v) if matches!(&v.value, Value::Placeholder(p) if p.starts_with('$') && p[1..].chars().all(|c| c.is_ascii_digit())) => {
            // `$n` names the n-th column of the FROM source (COLUMNn for VALUES).
            let Value::Placeholder(p) = &v.value else { unreachable!() };
            *expr = Expr::Identifier(Ident::new(format!("COLUMN{}", &p[1..])));
        }
        Expr::BinaryOp { left, op, right }
            if matches!(op, ast::BinaryOperator::Eq | ast::BinaryOperator::NotEq | ast::BinaryOperator::Lt | ast::BinaryOperator::LtEq | ast::BinaryOperator::Gt | ast::BinaryOperator::GtEq) =>
        {
            // A VARIANT compared with a string literal compares as a string (`v:name = 'x'`), as in
            // Snowflake, where the literal becomes a VARIANT string.
            let is_string = |e: &Expr| matches!(e, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)));
            if is_variant_expr(left) && is_string(right) {
                **left = parse_expr(&format!("to_varchar({left})"))?;
            } else if is_variant_expr(right) && is_string(left) {
                **right = parse_expr(&format!("to_varchar({right})"))?;
            }
        }
        Expr::JsonAccess { value, path } => {
            let text = json_path_text(path);
            *expr = parse_expr(&format!("get_path({value}, '{}')", text.replace('\'', "''")))?;
        }
        Expr::Cast { kind, expr: inner, data_type, .. } => {
            let Ok(sf_type) = SfType::parse(&data_type.to_string()) else { return Ok(()) };
            let variant_input = is_variant_expr(inner);
            let try_prefix = if matches!(kind, ast::CastKind::TryCast | ast::CastKind::SafeCast) { "try_" } else { "" };
            let call = match (&sf_type, variant_input) {
                (SfType::Variant, _) => Some(format!("to_variant({inner})")),
                (SfType::Object, _) => Some(format!("to_object({inner})")),
                (SfType::Array, _) => Some(format!("to_array({inner})")),
                (SfType::Varchar(_), true) => Some(format!("to_varchar({inner})")),
                // Snowflake rounds (half away from zero) when casting to NUMBER; Arrow's cast truncates.
                (SfType::Number(p, s), _) => Some(format!("{try_prefix}to_number({inner}, {p}, {s})")),
                (SfType::Float, true) => Some(format!("{try_prefix}to_double({inner})")),
                (SfType::Boolean, true) => Some(format!("{try_prefix}to_boolean({inner})")),
                (SfType::Date, true) => Some(format!("{try_prefix}to_date({inner})")),
                (SfType::TimestampNtz(_), true) => Some(format!("{try_prefix}to_timestamp_ntz({inner})")),
                _ => None,
            };
            match call {
                Some(call) => *expr = parse_expr(&call)?,
                None => *data_type = sql_type_for(&sf_type),
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_variant_expr(expr: &Expr) -> bool {
    match expr {
        Expr::JsonAccess { .. } => true,
        Expr::Nested(inner) => is_variant_expr(inner),
        Expr::Function(f) => function_name(&f.name).is_some_and(|n| {
            matches!(n.as_str(), "GET" | "GET_PATH" | "PARSE_JSON" | "TRY_PARSE_JSON" | "TO_VARIANT" | "OBJECT_CONSTRUCT" | "ARRAY_CONSTRUCT")
        }),
        _ => false,
    }
}

/// The SQL type DataFusion understands for a Snowflake type.
pub fn sql_type_for(sf_type: &SfType) -> ast::DataType {
    use ast::{DataType as D, ExactNumberInfo, TimezoneInfo};
    match sf_type {
        SfType::Number(p, s) if *s > 0 => D::Decimal(ExactNumberInfo::PrecisionAndScale(*p as u64, *s as i64)),
        SfType::Number(..) => D::BigInt(None),
        SfType::Float => D::Double(ExactNumberInfo::None),
        SfType::Varchar(_) => D::Varchar(None),
        SfType::Boolean => D::Boolean,
        SfType::Date => D::Date,
        SfType::Time(_) => D::Time(None, TimezoneInfo::None),
        SfType::TimestampNtz(_) => D::Timestamp(None, TimezoneInfo::None),
        SfType::TimestampLtz(_) | SfType::TimestampTz(_) => D::Timestamp(None, TimezoneInfo::WithTimeZone),
        SfType::Binary(_) => D::Bytea,
        SfType::Variant | SfType::Object | SfType::Array => D::Varchar(None),
    }
}

/// Rewrites Snowflake table factors DataFusion lacks: `TABLE(GENERATOR(ROWCOUNT => n))` and `VALUES` without
/// column names.
pub fn rewrite_table_factors(query: &mut Query) -> Result<(), SfError> {
    struct Rewriter(Option<SfError>);
    impl ast::VisitorMut for Rewriter {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            if let Err(e) = rewrite_factor(factor) {
                self.0 = Some(e);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut rewriter = Rewriter(None);
    let _ = ast::VisitMut::visit(query, &mut rewriter);
    rewriter.0.map_or(Ok(()), Err)
}

/// A possibly qualified name in upper case, parts joined by dots.
fn full_name(name: &ObjectName) -> String {
    name.0.iter().map(|p| p.to_string().trim_matches('"').to_uppercase()).collect::<Vec<_>>().join(".")
}

/// The arguments of a table function: the unnamed ones in order, and the named ones (`K => v`) by upper-case name.
fn table_args(func: &datafusion::sql::sqlparser::ast::Function) -> (Vec<String>, std::collections::HashMap<String, String>) {
    let mut positional = Vec::new();
    let mut named = std::collections::HashMap::new();
    if let FunctionArguments::List(list) = &func.args {
        for arg in &list.args {
            match arg {
                FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. } => {
                    named.insert(name.value.to_uppercase(), e.to_string());
                }
                FunctionArg::ExprNamed { name: Expr::Identifier(name), arg: FunctionArgExpr::Expr(e), .. } => {
                    named.insert(name.value.to_uppercase(), e.to_string());
                }
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => positional.push(e.to_string()),
                _ => {}
            }
        }
    }
    (positional, named)
}

/// The session-bound table functions (spcs/telemetry.rs, objects/infer_schema.rs): Snowflake's
/// spelling → floe's positional call.
/// `Ok(None)` when `func` is none of them.
fn telemetry_call(func: &datafusion::sql::sqlparser::ast::Function) -> Result<Option<String>, SfError> {
    let name = full_name(&func.name);
    let (positional, named) = table_args(func);
    let known = |allowed: &[&str]| -> Result<(), SfError> {
        match named.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(SfError::compilation(format!("invalid argument '{k}' for function '{name}'"))),
            None => Ok(()),
        }
    };
    let arg = |k: &str| named.get(k).cloned().unwrap_or_else(|| "NULL".into());
    Ok(Some(match name.as_str() {
        "SNOWFLAKE.SPCS.GET_JOB_HISTORY" | "SPCS.GET_JOB_HISTORY" => {
            known(&["CREATED_TIME_START", "CREATED_TIME_END", "RESULT_LIMIT"])?;
            format!("floe_job_history({}, {}, {})", arg("CREATED_TIME_START"), arg("CREATED_TIME_END"), arg("RESULT_LIMIT"))
        }
        "INFER_SCHEMA" => {
            known(&["LOCATION", "FILE_FORMAT", "FILES", "IGNORE_CASE", "MAX_FILE_COUNT", "MAX_RECORDS_PER_FILE", "KIND"])?;
            // FILES => ('a', 'b') arrives as a tuple: pass its names as one comma-separated string.
            let files = named.get("FILES").map(|f| format!("'{}'", f.trim_start_matches('(').trim_end_matches(')').replace('\'', ""))).unwrap_or_else(|| "NULL".into());
            format!("floe_infer_schema({}, {}, {files}, {})", arg("LOCATION"), arg("FILE_FORMAT"), arg("IGNORE_CASE"))
        }
        "FLOE_SPCS_GET_LOGS" | "FLOE_SPCS_GET_EVENTS" => {
            known(&["START_TIME", "END_TIME"])?;
            let service = positional.first().cloned().unwrap_or_else(|| "NULL".into());
            format!("{}({service}, {}, {})", name.to_lowercase(), arg("START_TIME"), arg("END_TIME"))
        }
        _ => return Ok(None),
    }))
}

fn rewrite_factor(factor: &mut TableFactor) -> Result<(), SfError> {
    match factor {
        TableFactor::Table { name, alias, args: None, .. } if full_name(name) == crate::spcs::telemetry::EVENT_TABLE => {
            let alias_text = alias.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "EVENTS".into());
            *factor = parse_factor(&format!("floe_event_table() AS {alias_text}"))?;
        }
        TableFactor::TableFunction { expr: Expr::Function(func), alias } if telemetry_call(func)?.is_some() => {
            let call = telemetry_call(func)?.expect("checked");
            let alias_text = alias.as_ref().map(|a| format!(" AS {a}")).unwrap_or_default();
            *factor = parse_factor(&format!("{call}{alias_text}"))?;
        }
        TableFactor::TableFunction { expr: Expr::Function(func), alias } if function_name(&func.name).as_deref() == Some("RESULT_SCAN") => {
            let arg = match &func.args {
                FunctionArguments::List(list) if list.args.len() == 1 => list.args[0].to_string(),
                _ => return Err(SfError::compilation("RESULT_SCAN takes one argument: a query id")),
            };
            let alias_text = alias.as_ref().map(|a| format!(" AS {a}")).unwrap_or_default();
            *factor = parse_factor(&format!("result_scan({arg}){alias_text}"))?;
        }
        TableFactor::TableFunction { expr: Expr::Function(func), alias } => {
            if function_name(&func.name).as_deref() != Some("GENERATOR") {
                return Ok(());
            }
            let mut rowcount = None;
            if let FunctionArguments::List(list) = &func.args {
                for arg in &list.args {
                    match arg {
                        FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. } if name.value.eq_ignore_ascii_case("ROWCOUNT") => {
                            rowcount = Some(e.to_string())
                        }
                        FunctionArg::ExprNamed { name: Expr::Identifier(name), arg: FunctionArgExpr::Expr(e), .. }
                            if name.value.eq_ignore_ascii_case("ROWCOUNT") =>
                        {
                            rowcount = Some(e.to_string())
                        }
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if rowcount.is_none() => rowcount = Some(e.to_string()),
                        _ => {}
                    }
                }
            }
            let Some(rowcount) = rowcount else {
                return Err(SfError::compilation("GENERATOR requires ROWCOUNT"));
            };
            let alias_text = alias.as_ref().map(|a| format!(" AS {a}")).unwrap_or_default();
            *factor = parse_factor(&format!("generator({rowcount}){alias_text}"))?;
        }
        TableFactor::Derived { subquery, alias, .. } => {
            if let SetExpr::Values(values) = subquery.body.as_ref() {
                let width = values.rows.first().map(|r| r.len()).unwrap_or(0);
                let needs_names = alias.as_ref().is_none_or(|a| a.columns.is_empty());
                if needs_names {
                    let name = alias.as_ref().map(|a| a.name.to_string()).unwrap_or_else(|| "\"$VALUES\"".into());
                    let cols: Vec<String> = (1..=width).map(|i| format!("COLUMN{i}")).collect();
                    let text = format!("(SELECT 1) AS {name}({})", cols.join(", "));
                    if let TableFactor::Derived { alias: new_alias, .. } = parse_factor(&text)? {
                        *alias = new_alias;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn parse_factor(text: &str) -> Result<TableFactor, SfError> {
    let dialect = SnowflakeDialect {};
    let sql = format!("SELECT * FROM {text}");
    let statement = Parser::new(&dialect).try_with_sql(&sql).and_then(|mut p| p.parse_statement()).map_err(crate::parse::parser_error)?;
    match statement {
        Statement::Query(q) => match *q.body {
            SetExpr::Select(select) => Ok(select.from.into_iter().next().map(|t| t.relation).expect("one relation")),
            _ => unreachable!("parsed a select"),
        },
        _ => unreachable!("parsed a query"),
    }
}

/// Names of CTEs defined anywhere in the statement (they are not tables).
fn cte_names(statement: &Statement) -> HashSet<String> {
    let mut names = HashSet::new();
    let text_walk = |q: &Query, names: &mut HashSet<String>| {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                names.insert(cte.alias.name.value.clone());
            }
        }
    };
    let _ = ast::visit_statements(statement, |s| {
        if let Statement::Query(q) = s {
            text_walk(q, &mut names);
        }
        ControlFlow::<()>::Continue(())
    });
    // Queries nested in expressions and DML sources.
    let _ = ast::visit_expressions(statement, |e| {
        if let Expr::Subquery(q) | Expr::InSubquery { subquery: q, .. } | Expr::Exists { subquery: q, .. } = e {
            text_walk(q, &mut names);
        }
        ControlFlow::<()>::Continue(())
    });
    struct Ctes(HashSet<String>);
    impl ast::Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    self.0.insert(cte.alias.name.value.clone());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut ctes = Ctes(names);
    let _ = ast::Visit::visit(statement, &mut ctes);
    let mut all = ctes.0;
    if let Statement::Insert(insert) = statement {
        if let Some(source) = &insert.source {
            if let Some(with) = &source.with {
                for cte in &with.cte_tables {
                    all.insert(cte.alias.name.value.clone());
                }
            }
        }
    }
    all
}

/// Qualifies every table reference as DATABASE.SCHEMA.TABLE, failing with Snowflake's errors, and expands
/// views into their (resolved) defining queries.
///
/// Every table and view read is checked here (`Access::require_table`, SELECT): a view's body is
/// resolved and checked with its owner's privileges, as Snowflake's owner's-rights views are.
pub fn resolve_tables(statement: &mut Statement, catalog: &Catalog, database: Option<&str>, schema: Option<&str>, session: u64, verb: &str, access: &crate::access::Access) -> Result<(), SfError> {
    struct Resolver<'a> {
        access: crate::access::Access,
        session: u64,
        ctes: HashSet<String>,
        catalog: &'a Catalog,
        database: Option<&'a str>,
        schema: Option<&'a str>,
        verb: &'a str,
        depth: usize,
        failure: Option<SfError>,
    }
    impl ast::VisitorMut for Resolver<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            match self.resolve(factor) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    self.failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        }
    }
    impl Resolver<'_> {
        fn resolve(&mut self, factor: &mut TableFactor) -> Result<(), SfError> {
            let TableFactor::Table { name, alias, args: None, .. } = factor else { return Ok(()) };
            let parts: Vec<String> = name.0.iter().map(|p| p.as_ident().map(|i| i.value.clone()).unwrap_or_default()).collect();
            if parts.len() == 1 && self.ctes.contains(&parts[0]) {
                return Ok(());
            }
            let (db, sc, table) = qualify(&parts, self.catalog, self.database, self.schema, self.session, self.verb)?;
            let shown = parts.iter().map(|p| model::display_ident(p)).collect::<Vec<_>>().join(".");
            self.access.require_table(self.catalog, &db, &sc, &table, &["SELECT"], &shown)?;
            let entry = self.catalog.table(&db, &sc, &table).expect("qualified");
            if let store::TableKind::View { query } = &entry.def.kind {
                if self.depth > 16 {
                    return Err(SfError::compilation(format!("View '{table}' is defined recursively.")));
                }
                let view_db = entry.info.options.get("database").cloned().unwrap_or(db.clone());
                let view_schema = entry.info.options.get("schema").cloned().unwrap_or(sc.clone());
                let crate::parse::Stmt::Sql(mut inner) = crate::parse::parse_one(query)? else {
                    return Err(SfError::internal("view text is not a query"));
                };
                rewrite_table_factors_in(&mut inner)?;
                let mut nested = Resolver {
                    access: self.access.as_role(&entry.info.owner),
                    session: self.session,
                    ctes: cte_names(&inner),
                    catalog: self.catalog,
                    database: Some(&view_db),
                    schema: Some(&view_schema),
                    verb: self.verb,
                    depth: self.depth + 1,
                    failure: None,
                };
                let _ = ast::VisitMut::visit(inner.as_mut(), &mut nested);
                if let Some(e) = nested.failure {
                    return Err(e);
                }
                let Statement::Query(subquery) = *inner else { return Err(SfError::internal("view text is not a query")) };
                let alias = alias.clone().unwrap_or_else(|| ast::TableAlias { explicit: false, name: Ident::with_quote('"', table.clone()), columns: vec![], at: None });
                *factor = TableFactor::Derived { lateral: false, subquery, alias: Some(alias), sample: None };
                return Ok(());
            }
            if alias.is_none() && table != parts[parts.len() - 1] {
                // A temporary table keeps the name the statement used as its column qualifier.
                *alias = Some(ast::TableAlias { explicit: false, name: Ident::with_quote('"', parts[parts.len() - 1].clone()), columns: vec![], at: None });
            }
            *name = ObjectName::from(vec![Ident::with_quote('"', db), Ident::with_quote('"', sc), Ident::with_quote('"', table)]);
            Ok(())
        }
    }
    let mut resolver = Resolver { access: access.clone(), session, ctes: cte_names(statement), catalog, database, schema, verb, depth: 0, failure: None };
    let _ = ast::VisitMut::visit(statement, &mut resolver);
    resolver.failure.map_or(Ok(()), Err)
}

fn rewrite_table_factors_in(statement: &mut Statement) -> Result<(), SfError> {
    match statement {
        Statement::Query(q) => rewrite_table_factors(q),
        _ => Ok(()),
    }
}

/// Resolves a 1-3 part table name against the session's current database and schema.
/// Qualifies a table name as session `session` sees it (its temporary tables shadow permanent ones):
/// returns (database, schema, stored table name) or Snowflake's "does not exist" error.
pub fn qualify(parts: &[String], catalog: &Catalog, database: Option<&str>, schema: Option<&str>, session: u64, verb: &str) -> Result<(String, String, String), SfError> {
    let shown = parts.iter().map(|p| model::display_ident(p)).collect::<Vec<_>>().join(".");
    let (db, sc, table) = match parts {
        [t] => {
            let db = database.ok_or_else(|| SfError::no_current("database", verb))?;
            let sc = schema.ok_or_else(|| SfError::no_current("schema", verb))?;
            (db.to_string(), sc.to_string(), t.clone())
        }
        [s, t] => {
            let db = database.ok_or_else(|| SfError::no_current("database", verb))?;
            (db.to_string(), s.clone(), t.clone())
        }
        [d, s, t] => (d.clone(), s.clone(), t.clone()),
        _ => return Err(SfError::object_not_found(&shown)),
    };
    let Some((stored, _)) = crate::temp::lookup(catalog, &db, &sc, &table, session) else {
        if parts.len() > 1 && !catalog.databases.contains_key(&db) {
            return Err(SfError::kind_not_found("Database", &model::display_ident(&db)));
        }
        if parts.len() > 1 && catalog.schema(&db, &sc).is_none() {
            return Err(SfError::kind_not_found("Schema", &format!("{}.{}", model::display_ident(&db), model::display_ident(&sc))));
        }
        return Err(SfError::object_not_found(&shown));
    };
    Ok((db, sc, stored))
}
