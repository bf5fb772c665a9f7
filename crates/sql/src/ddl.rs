//! Session statements (USE, ALTER SESSION, transactions) and DDL on databases, schemas, tables, views.

use chrono::Utc;
use datafusion::sql::sqlparser::ast::{self, AlterTableOperation, ColumnOption, ObjectType, SchemaName, Statement};
use model::{ErrorKind, SfError, display_ident};
use store::{Column, ObjectInfo, Op, TableDef, TableKind};
use tokio_util::sync::CancellationToken;

use crate::objects::commit;
use crate::access::{Access, Securable, kind};
use crate::engine::Engine;
use crate::parse::{Stmt, UseKind};
use crate::result::{QueryResult, statement_type};
use crate::session::{PARAMS, Session};
use crate::types::SfType;

fn ok() -> QueryResult {
    QueryResult::message(statement_type::DDL, "Statement executed successfully.")
}

fn info(session: &Session, comment: Option<String>) -> ObjectInfo {
    ObjectInfo { created_on: Utc::now().timestamp_millis(), owner: session.role.clone(), comment, options: Default::default() }
}

fn parts(name: &ast::ObjectName) -> Vec<String> {
    name.0.iter().map(|p| p.as_ident().map(|i| i.value.clone()).unwrap_or_default()).collect()
}

/// DDL implicitly commits an open transaction first, as in Snowflake.
pub(crate) async fn implicit_commit(engine: &Engine, session: &mut Session) -> Result<(), SfError> {
    if let Some(txn) = session.txn.take() {
        engine.commit_txn(txn).await?;
    }
    Ok(())
}

/// Runs statements parsed by floe's own grammar.
pub async fn execute_floe(engine: &Engine, session: &mut Session, stmt: Stmt) -> Result<QueryResult, SfError> {
    match stmt {
        Stmt::Use { kind, name } => {
            let catalog = engine.store().snapshot();
            let access = Access::of(engine, session, &catalog);
            match (kind, name.as_slice()) {
                (UseKind::Database | UseKind::Bare, [db]) => {
                    let database = catalog
                        .databases
                        .get(db)
                        .filter(|_| access.has(&catalog, "USAGE", &Securable::database(db)))
                        .ok_or_else(|| SfError::kind_not_found("Database", &display_ident(db)))?;
                    session.database = Some(db.clone());
                    session.schema = database.schemas.contains_key("PUBLIC").then(|| "PUBLIC".to_string());
                }
                (UseKind::Schema | UseKind::Bare, [db, schema]) => {
                    catalog.schema(db, schema).ok_or_else(|| SfError::kind_not_found("Schema", &format!("{}.{}", display_ident(db), display_ident(schema))))?;
                    access.require_schema_usage(&catalog, db, schema)?;
                    session.database = Some(db.clone());
                    session.schema = Some(schema.clone());
                }
                (UseKind::Schema, [schema]) => {
                    let db = session.database.clone().ok_or_else(|| SfError::no_current("database", "USE SCHEMA"))?;
                    catalog.schema(&db, schema).ok_or_else(|| SfError::kind_not_found("Schema", &display_ident(schema)))?;
                    access.require_schema_usage(&catalog, &db, schema)?;
                    session.schema = Some(schema.clone());
                }
                (UseKind::Role, [role]) => crate::access::roles::use_role(engine, session, role)?,
                (UseKind::Warehouse, [wh]) => {
                    crate::objects::warehouse::check_exists(engine, wh)?;
                    if !access.has(&catalog, "USAGE", &Securable::account_object(kind::WAREHOUSE, wh)) {
                        return Err(SfError::object_does_not_exist_or_cannot_be_performed());
                    }
                    session.warehouse = Some(wh.clone());
                }
                _ => return Err(SfError::compilation(format!("invalid name '{}'", name.join(".")))),
            }
            Ok(QueryResult::message(statement_type::USE, "Statement executed successfully."))
        }
        Stmt::AlterSessionSet(pairs) => {
            for (key, value) in pairs {
                if !PARAMS.iter().any(|p| p.name == key) && !key.starts_with("CLIENT_") && !key.starts_with("PYTHON_") && !key.starts_with("JDBC_") {
                    return Err(SfError::new("001006", "22023", ErrorKind::InvalidArgument, format!("invalid parameter '{key}'")));
                }
                session.params.insert(key, value);
            }
            Ok(QueryResult::message(statement_type::SCL, "Statement executed successfully."))
        }
        Stmt::AlterSessionUnset(keys) => {
            for key in keys {
                session.params.remove(&key);
            }
            Ok(QueryResult::message(statement_type::SCL, "Statement executed successfully."))
        }
        Stmt::ShowParameters { like, level, object } => crate::show::parameters(engine, session, like.as_deref(), level.as_deref(), &object),
        Stmt::AlterAccount { set, unset } => crate::account::alter(engine, session, set, unset).await,
        Stmt::Show { what, like, scope } => {
            let result = crate::show::show(engine, session, &what, like.as_deref(), scope)?;
            let catalog = engine.store().snapshot();
            Ok(Access::of(engine, session, &catalog).filter_show(&catalog, result, |v| match what.as_str() {
                "DATABASES" => Some(Securable::database(&v("name")?)),
                "SCHEMAS" => Some(Securable::schema(&v("database_name")?, &v("name")?)),
                "COLUMNS" => Some(Securable::schema_object(kind::TABLE, &v("database_name")?, &v("schema_name")?, &stored_table(&catalog, session, v)?)),
                _ => Some(Securable::schema_object(kind::TABLE, &v("database_name")?, &v("schema_name")?, &stored_table(&catalog, session, v)?)),
            }))
        }
        Stmt::Describe { name } => crate::show::describe_table(engine, session, &name),
        Stmt::Begin => {
            if session.txn.is_none() {
                session.txn = Some(engine.new_txn());
            }
            Ok(QueryResult::message(statement_type::TCL, "Statement executed successfully."))
        }
        Stmt::Commit => {
            if let Some(txn) = session.txn.take() {
                engine.commit_txn(txn).await?;
            }
            Ok(QueryResult::message(statement_type::TCL, "Statement executed successfully."))
        }
        Stmt::Rollback => {
            if let Some(txn) = session.txn.take() {
                engine.rollback_txn(txn);
            }
            Ok(QueryResult::message(statement_type::TCL, "Statement executed successfully."))
        }
        Stmt::Object(stmt) => crate::objects::execute(engine, session, *stmt).await,
        Stmt::Access(stmt) => crate::access::execute(engine, session, *stmt).await,
        Stmt::Sql(_) | Stmt::Spcs(_) | Stmt::Functions(_) | Stmt::CreateUsingTemplate { .. } => Err(SfError::internal("routed a statement to the wrong executor")),
    }
}

/// `CREATE … TABLE name USING TEMPLATE (query)`: the query answers one value, an array of objects with
/// COLUMN_NAME, TYPE and NULLABLE (what `ARRAY_AGG(OBJECT_CONSTRUCT(*)) WITHIN GROUP (ORDER BY
/// ORDER_ID)` over `INFER_SCHEMA` gives), and the table is created with those columns, through the
/// ordinary CREATE TABLE path (privileges, OR REPLACE, TEMPORARY).
pub async fn create_using_template(engine: &Engine, session: &mut Session, create: &str, query: &str, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let bad = |why: &str| SfError::new("002029", "22000", ErrorKind::InvalidArgument, format!("USING TEMPLATE {why}"));
    let Stmt::Sql(statement) = crate::parse::parse_one(query)? else { return Err(bad("needs a query")) };
    let Statement::Query(mut q) = *statement else { return Err(bad("needs a query")) };
    expand_object_construct_star(engine, session, &mut q).await?;
    let view = engine.read_view(session, Vec::new());
    let stream = engine.query_stream(session, Statement::Query(q), view).await?;
    let (_, batches) = crate::engine::collect(stream, cancel).await?;
    let cell = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| {
            let options = datafusion::arrow::util::display::FormatOptions::default();
            datafusion::arrow::util::display::ArrayFormatter::try_new(b.column(0).as_ref(), &options).map(|f| f.value(0).to_string())
        })
        .transpose()
        .map_err(|e| SfError::internal(e.to_string()))?
        .ok_or_else(|| bad("query returned no rows"))?;
    let template: serde_json::Value = serde_json::from_str(&cell).map_err(|_| bad(&format!("expects an array of objects, not {cell}")))?;
    let items = template.as_array().filter(|a| !a.is_empty()).ok_or_else(|| bad(&format!("expects a non-empty array of objects, not {cell}")))?;
    let mut columns = Vec::with_capacity(items.len());
    for item in items {
        let field = |k: &str| item.get(k).or_else(|| item.get(k.to_lowercase()));
        let name = field("COLUMN_NAME").and_then(|v| v.as_str()).ok_or_else(|| bad(&format!("needs COLUMN_NAME in {item}")))?;
        let ty = field("TYPE").and_then(|v| v.as_str()).ok_or_else(|| bad(&format!("needs TYPE in {item}")))?;
        let nullable = field("NULLABLE").and_then(|v| v.as_bool()).unwrap_or(true);
        columns.push(format!("\"{}\" {ty}{}", name.replace('"', "\"\""), if nullable { "" } else { " NOT NULL" }));
    }
    let sql = format!("{create} ({})", columns.join(", "));
    let stmt = crate::parse::parse_one(&sql)?;
    Box::pin(engine.execute_stmt(session, stmt, &sql, cancel)).await
}

/// `OBJECT_CONSTRUCT(*)` in a query's select list becomes `OBJECT_CONSTRUCT('C1', "C1", …)` over the
/// columns of its FROM (read by planning `SELECT * FROM … LIMIT 0`).
pub(crate) async fn expand_object_construct_star(engine: &Engine, session: &Session, query: &mut ast::Query) -> Result<(), SfError> {
    let ast::SetExpr::Select(select) = query.body.as_mut() else { return Ok(()) };
    let is_star = |f: &ast::Function| {
        let name = f.name.to_string().to_uppercase();
        (name == "OBJECT_CONSTRUCT" || name == "OBJECT_CONSTRUCT_KEEP_NULL")
            && matches!(&f.args, ast::FunctionArguments::List(l) if l.args.len() == 1 && matches!(l.args[0], ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)))
    };
    let mut found = false;
    let _ = ast::visit_expressions(&select.projection, |e| {
        if let ast::Expr::Function(f) = e
            && is_star(f)
        {
            found = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    if !found || select.from.is_empty() {
        return Ok(());
    }
    let from = select.from.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let Stmt::Sql(probe) = crate::parse::parse_one(&format!("SELECT * FROM {from} LIMIT 0"))? else { return Ok(()) };
    let view = engine.read_view(session, Vec::new());
    let stream = engine.query_stream(session, *probe, view).await?;
    let names: Vec<String> = stream.schema().fields().iter().map(|f| f.name().clone()).collect();
    let args = names.iter().map(|n| format!("'{}', \"{}\"", n.replace('\'', "''"), n.replace('"', "\"\""))).collect::<Vec<_>>().join(", ");
    let _ = ast::visit_expressions_mut(&mut select.projection, |e| {
        if let ast::Expr::Function(f) = e
            && is_star(f)
            && let Ok(Stmt::Sql(stmt)) = crate::parse::parse_one(&format!("SELECT {}({args})", f.name))
            && let Statement::Query(q) = *stmt
            && let ast::SetExpr::Select(s) = *q.body
            && let Some(ast::SelectItem::UnnamedExpr(expanded)) = s.projection.into_iter().next()
        {
            *e = expanded;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Ok(())
}

/// The stored name of the table a SHOW row names (`name` or `table_name`): the session's temporary
/// table if it has one of that name.
fn stored_table(catalog: &store::Catalog, session: &Session, v: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let (db, schema) = (v("database_name")?, v("schema_name")?);
    let name = v("table_name").or_else(|| v("name"))?;
    crate::temp::lookup(catalog, &db, &schema, &name, session.id).map(|(stored, _)| stored)
}

fn resolve_schema(session: &Session, parts: &[String], verb: &str) -> Result<(String, String, String), SfError> {
    match parts {
        [name] => Ok((
            session.database.clone().ok_or_else(|| SfError::no_current("database", verb))?,
            session.schema.clone().ok_or_else(|| SfError::no_current("schema", verb))?,
            name.clone(),
        )),
        [schema, name] => Ok((session.database.clone().ok_or_else(|| SfError::no_current("database", verb))?, schema.clone(), name.clone())),
        [db, schema, name] => Ok((db.clone(), schema.clone(), name.clone())),
        _ => Err(SfError::compilation("invalid object name")),
    }
}

fn column_from_def(id: u32, def: &ast::ColumnDef) -> Result<Column, SfError> {
    let sf_type = SfType::parse(&def.data_type.to_string())?;
    let mut column = Column { id, name: def.name.value.clone(), sf_type: sf_type.to_sql(), nullable: true, default: None, comment: None };
    for option in &def.options {
        match &option.option {
            ColumnOption::NotNull => column.nullable = false,
            ColumnOption::Null => column.nullable = true,
            ColumnOption::Default(expr) => column.default = Some(expr.to_string()),
            ColumnOption::Comment(text) => column.comment = Some(text.clone()),
            _ => {}
        }
    }
    Ok(column)
}

/// Runs DDL statements sqlparser parsed.
pub async fn execute_sql_ddl(engine: &Engine, session: &mut Session, statement: Statement, _text: &str, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    implicit_commit(engine, session).await?;
    let catalog = engine.store().snapshot();
    match statement {
        Statement::CreateDatabase { db_name, if_not_exists, or_replace, .. } => {
            let name = parts(&db_name).join(".");
            let access = Access::of(engine, session, &catalog);
            access.require_account(&catalog, "CREATE DATABASE")?;
            if or_replace && catalog.databases.contains_key(&name) {
                access.require_owner(&catalog, &Securable::database(&name), || SfError::kind_not_found("Database", &display_ident(&name)))?;
            }
            if catalog.databases.contains_key(&name) && !or_replace {
                if if_not_exists {
                    return Ok(QueryResult::message(statement_type::DDL, format!("{} already exists, statement succeeded.", display_ident(&name))));
                }
                return Err(SfError::already_exists(&display_ident(&name)));
            }
            let mut ops = vec![
                Op::CreateDatabase { name: name.clone(), info: info(session, None), replace: or_replace },
                Op::CreateSchema { db: name.clone(), name: "PUBLIC".into(), info: info(session, None), replace: false },
            ];
            // A replaced database loses its stages and image repositories too.
            let mut scoped = crate::objects::drop_scope(engine, &catalog, &name, None);
            ops.append(&mut scoped.ops);
            commit(engine, ops).await?;
            scoped.committed(engine);
            session.database = Some(name.clone());
            session.schema = Some("PUBLIC".into());
            Ok(QueryResult::message(statement_type::DDL, format!("Database {} successfully created.", display_ident(&name))))
        }
        Statement::CreateSchema { schema_name, if_not_exists, .. } => {
            let SchemaName::Simple(name) = schema_name else { return Err(SfError::unsupported("schema authorization")) };
            let p = parts(&name);
            let (db, schema) = match p.as_slice() {
                [s] => (session.database.clone().ok_or_else(|| SfError::no_current("database", "CREATE SCHEMA"))?, s.clone()),
                [d, s] => (d.clone(), s.clone()),
                _ => return Err(SfError::compilation("invalid schema name")),
            };
            if !catalog.databases.contains_key(&db) {
                return Err(SfError::kind_not_found("Database", &display_ident(&db)));
            }
            let d = Securable::database(&db);
            Access::of(engine, session, &catalog).require(&catalog, &["CREATE SCHEMA"], &d, || SfError::kind_not_found("Database", &display_ident(&db)))?;
            if catalog.schema(&db, &schema).is_some() {
                if if_not_exists {
                    return Ok(QueryResult::message(statement_type::DDL, format!("{} already exists, statement succeeded.", display_ident(&schema))));
                }
                return Err(SfError::already_exists(&display_ident(&schema)));
            }
            commit(engine, vec![Op::CreateSchema { db: db.clone(), name: schema.clone(), info: info(session, None), replace: false }]).await?;
            session.database = Some(db);
            session.schema = Some(schema.clone());
            Ok(QueryResult::message(statement_type::DDL, format!("Schema {} successfully created.", display_ident(&schema))))
        }
        Statement::CreateTable(create) => create_table(engine, session, create, cancel).await,
        Statement::CreateView(view) => {
            let (db, schema, name) = resolve_schema(session, &parts(&view.name), "CREATE VIEW")?;
            let schema_entry = catalog.schema(&db, &schema).ok_or_else(|| SfError::kind_not_found("Schema", &display_ident(&schema)))?;
            let access = Access::of(engine, session, &catalog);
            access.require_create_in_schema(&catalog, &db, &schema, "CREATE VIEW")?;
            if view.or_replace && schema_entry.tables.contains_key(&name) {
                access.require_owner(&catalog, &Securable::schema_object(kind::VIEW, &db, &schema, &name), || SfError::object_not_found(&display_ident(&name)))?;
            }
            if schema_entry.tables.contains_key(&name) && !view.or_replace {
                if view.if_not_exists {
                    return Ok(QueryResult::message(statement_type::DDL, format!("{} already exists, statement succeeded.", display_ident(&name))));
                }
                return Err(SfError::already_exists(&display_ident(&name)));
            }
            // Plan the query once to validate it and learn its columns.
            let v = engine.read_view(session, Vec::new());
            let stream = engine.query_stream(session, Statement::Query(view.query.clone()), v).await?;
            let schema_ref = stream.schema();
            let columns: Vec<Column> = schema_ref
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| Column { id: i as u32 + 1, name: f.name().clone(), sf_type: SfType::of_field(f).to_sql(), nullable: true, default: None, comment: None })
                .collect();
            // The original text is kept and resolved at each use against the creating session's database
            // and schema (stored in the view's options), as Snowflake resolves view bodies.
            let def = TableDef { kind: TableKind::View { query: view.query.to_string() }, next_column_id: columns.len() as u32 + 1, columns };
            let id = engine.store().reserve_id();
            let mut view_info = info(session, view.comment.clone());
            if let Some(current) = &session.database {
                view_info.options.insert("database".into(), current.clone());
            }
            if let Some(current) = &session.schema {
                view_info.options.insert("schema".into(), current.clone());
            }
            commit(engine, vec![Op::CreateTable { db, schema, id, name: name.clone(), info: view_info, def, replace: view.or_replace }]).await?;
            Ok(QueryResult::message(statement_type::DDL, format!("View {} successfully created.", display_ident(&name))))
        }
        Statement::Drop { object_type, if_exists, names, .. } => {
            let access = Access::of(engine, session, &catalog);
            let mut last = String::new();
            let mut absent = false;
            for name in &names {
                let p = parts(name);
                let shown = p.iter().map(|s| display_ident(s)).collect::<Vec<_>>().join(".");
                last = p.last().cloned().unwrap_or_default();
                let (ops, scoped) = match object_type {
                    ObjectType::Database => {
                        let db = p.join(".");
                        if !catalog.databases.contains_key(&db) || !access.can_see(&catalog, &Securable::database(&db)) {
                            if if_exists { absent = true; last = p.last().cloned().unwrap_or_default(); continue } else { return Err(SfError::kind_not_found("Database", &shown)) }
                        }
                        access.require_owner(&catalog, &Securable::database(&db), || SfError::kind_not_found("Database", &shown))?;
                        if session.database.as_deref() == Some(db.as_str()) {
                            session.database = None;
                            session.schema = None;
                        }
                        // Its stages, image repositories, functions, services and jobs go with it.
                        let mut scoped = crate::objects::drop_scope(engine, &catalog, &db, None);
                        let mut ops = vec![Op::DropDatabase { name: db }];
                        ops.append(&mut scoped.ops);
                        (ops, scoped)
                    }
                    ObjectType::Schema => {
                        let (db, schema) = match p.as_slice() {
                            [s] => (session.database.clone().ok_or_else(|| SfError::no_current("database", "DROP SCHEMA"))?, s.clone()),
                            [d, s] => (d.clone(), s.clone()),
                            _ => return Err(SfError::compilation("invalid schema name")),
                        };
                        if catalog.schema(&db, &schema).is_none() || !access.can_see(&catalog, &Securable::schema(&db, &schema)) {
                            if if_exists { absent = true; last = p.last().cloned().unwrap_or_default(); continue } else { return Err(SfError::kind_not_found("Schema", &shown)) }
                        }
                        access.require_owner(&catalog, &Securable::schema(&db, &schema), || SfError::kind_not_found("Schema", &shown))?;
                        if session.database.as_deref() == Some(db.as_str()) && session.schema.as_deref() == Some(schema.as_str()) {
                            session.schema = None;
                        }
                        // Its stages, image repositories, functions, services and jobs go with it.
                        let mut scoped = crate::objects::drop_scope(engine, &catalog, &db, Some(&schema));
                        let mut ops = vec![Op::DropSchema { db, name: schema }];
                        ops.append(&mut scoped.ops);
                        (ops, scoped)
                    }
                    ObjectType::Table | ObjectType::View => {
                        let (db, schema, table) = resolve_schema(session, &p, "DROP")?;
                        let found = crate::temp::lookup(&catalog, &db, &schema, &table, session.id)
                            .filter(|(stored, _)| access.can_see(&catalog, &Securable::schema_object(kind::TABLE, &db, &schema, stored)));
                        let Some((stored, entry)) = found else {
                            if if_exists { absent = true; last = p.last().cloned().unwrap_or_default(); continue } else { return Err(SfError::object_not_found(&shown)) }
                        };
                        access.require_owner(&catalog, &Securable::schema_object(kind::TABLE, &db, &schema, &stored), || SfError::object_not_found(&shown))?;
                        let is_view = matches!(entry.def.kind, TableKind::View { .. });
                        if is_view != (object_type == ObjectType::View) {
                            return Err(SfError::object_not_found(&shown));
                        }
                        let txn_id = engine.new_txn().id;
                        engine.lock_table(session, txn_id, entry.id, &entry.name, cancel).await?;
                        let res = commit(engine, vec![Op::DropTable { id: entry.id }]).await;
                        engine.inner.locks.release_all(txn_id);
                        res?;
                        continue;
                    }
                    other => return Err(SfError::unsupported(format!("DROP {other}"))),
                };
                commit(engine, ops).await?;
                scoped.committed(engine);
            }
            if absent && names.len() == 1 {
                return Ok(QueryResult::message(
                    statement_type::DDL,
                    format!("Drop statement executed successfully ({} already dropped).", display_ident(&last)),
                ));
            }
            Ok(QueryResult::message(statement_type::DDL, format!("{} successfully dropped.", display_ident(&last))))
        }
        Statement::AlterTable(alter) => alter_table(engine, session, alter).await,
        other => Err(SfError::unsupported(format!("{}", other.to_string().split_whitespace().take(3).collect::<Vec<_>>().join(" ")))),
    }
}

async fn create_table(engine: &Engine, session: &mut Session, create: ast::CreateTable, cancel: &CancellationToken) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let (db, schema, shown_name) = resolve_schema(session, &parts(&create.name), "CREATE TABLE")?;
    let schema_entry = catalog.schema(&db, &schema).ok_or_else(|| SfError::kind_not_found("Schema", &format!("{}.{}", display_ident(&db), display_ident(&schema))))?;
    let access = Access::of(engine, session, &catalog);
    access.require_create_in_schema(&catalog, &db, &schema, "CREATE TABLE")?;
    // A temporary table is stored under a session-qualified name (it may shadow a permanent table).
    let name = if create.temporary { crate::temp::stored_name(&shown_name, session.id) } else { shown_name.clone() };
    if schema_entry.tables.contains_key(&name) {
        if create.if_not_exists {
            return Ok(QueryResult::message(statement_type::DDL, format!("{} already exists, statement succeeded.", display_ident(&shown_name))));
        }
        if !create.or_replace {
            return Err(SfError::already_exists(&display_ident(&shown_name)));
        }
        access.require_owner(&catalog, &Securable::schema_object(kind::TABLE, &db, &schema, &name), || SfError::object_not_found(&display_ident(&shown_name)))?;
    }
    let comment = match &create.comment {
        Some(ast::CommentDef::WithEq(c)) | Some(ast::CommentDef::WithoutEq(c)) => Some(c.clone()),
        _ => None,
    };
    let mut columns = Vec::new();
    for (i, def) in create.columns.iter().enumerate() {
        if columns.iter().any(|c: &Column| c.name == def.name.value) {
            return Err(SfError::new("002025", "42S21", ErrorKind::AlreadyExists, format!("SQL compilation error: duplicate column name '{}'", def.name.value)));
        }
        columns.push(column_from_def(i as u32 + 1, def)?);
    }
    let mut source_stream = None;
    if let Some(query) = &create.query {
        let view = engine.read_view(session, Vec::new());
        let stream = engine.query_stream(session, Statement::Query(query.clone()), view).await?;
        if columns.is_empty() {
            for (i, field) in stream.schema().fields().iter().enumerate() {
                columns.push(Column { id: i as u32 + 1, name: field.name().clone(), sf_type: SfType::of_field(field).to_sql(), nullable: true, default: None, comment: None });
            }
        }
        source_stream = Some(stream);
    }
    if columns.is_empty() {
        return Err(SfError::compilation("Table must have at least one column."));
    }
    let kind = if create.transient { TableKind::Transient } else { TableKind::Table };
    let def = TableDef { kind, next_column_id: columns.len() as u32 + 1, columns };
    let id = engine.store().reserve_id();
    let mut table_info = info(session, comment);
    if create.temporary {
        // Dropped when the session ends (and at the next start if the server dies first).
        table_info.options.insert(crate::temp::TEMPORARY_SESSION.into(), session.id.to_string());
    }
    let mut ops = vec![Op::CreateTable { db: db.clone(), schema: schema.clone(), id, name: name.clone(), info: table_info, def: def.clone(), replace: create.or_replace }];
    if let Some(mut stream) = source_stream {
        // CTAS: write the rows, then create and fill the table in one commit.
        let table = store::Table { id, name: name.clone(), info: info(session, None), def: def.clone(), data: Default::default() };
        let mut txn = engine.new_txn();
        let res = crate::dml::write_stream(engine, &table, &mut txn, &mut stream, cancel).await;
        if let Err(e) = res {
            txn.discard_new_segments(None, engine.store());
            return Err(e);
        }
        ops.extend(txn.into_ops());
    }
    commit(engine, ops).await?;
    Ok(QueryResult::message(statement_type::DDL, format!("Table {} successfully created.", display_ident(&shown_name))))
}

async fn alter_table(engine: &Engine, session: &mut Session, alter: ast::AlterTable) -> Result<QueryResult, SfError> {
    let catalog = engine.store().snapshot();
    let p = parts(&alter.name);
    let (db, schema, name) = resolve_schema(session, &p, "ALTER TABLE")?;
    let access = Access::of(engine, session, &catalog);
    let shown = p.iter().map(|s| display_ident(s)).collect::<Vec<_>>().join(".");
    let found = crate::temp::lookup(&catalog, &db, &schema, &name, session.id)
        .filter(|(stored, _)| access.can_see(&catalog, &Securable::schema_object(kind::TABLE, &db, &schema, stored)));
    let Some((stored, table)) = found.map(|(stored, t)| (stored, t.clone())) else {
        if alter.if_exists {
            return Ok(ok());
        }
        return Err(SfError::object_not_found(&shown));
    };
    access.require_owner(&catalog, &Securable::schema_object(kind::TABLE, &db, &schema, &stored), || SfError::object_not_found(&shown))?;
    let mut def = table.def.clone();
    let mut new_name = None;
    for op in &alter.operations {
        match op {
            AlterTableOperation::AddColumn { column_def, if_not_exists, .. } => {
                if def.columns.iter().any(|c| c.name == column_def.name.value) {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(SfError::new("002025", "42S21", ErrorKind::AlreadyExists, format!("SQL compilation error: column '{}' already exists", column_def.name.value)));
                }
                let column = column_from_def(def.next_column_id, column_def)?;
                if !column.nullable && column.default.is_none() && table.data.live_rows() > 0 {
                    return Err(SfError::compilation(format!("Non-nullable column '{}' cannot be added to non-empty table '{}' unless it has a non-null default value.", column.name, table.name)));
                }
                def.next_column_id += 1;
                def.columns.push(column);
            }
            AlterTableOperation::DropColumn { column_names, if_exists, .. } => {
                for col in column_names {
                    match def.columns.iter().position(|c| c.name == col.value) {
                        Some(pos) => {
                            def.columns.remove(pos);
                        }
                        None if *if_exists => {}
                        None => return Err(SfError::invalid_identifier(&col.value)),
                    }
                }
                if def.columns.is_empty() {
                    return Err(SfError::compilation("Cannot drop the last column of a table."));
                }
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                if def.columns.iter().any(|c| c.name == new_column_name.value) {
                    return Err(SfError::new("002025", "42S21", ErrorKind::AlreadyExists, format!("SQL compilation error: column '{}' already exists", new_column_name.value)));
                }
                let column = def.columns.iter_mut().find(|c| c.name == old_column_name.value).ok_or_else(|| SfError::invalid_identifier(&old_column_name.value))?;
                column.name = new_column_name.value.clone();
            }
            AlterTableOperation::RenameTable { table_name } => {
                let (ast::RenameTableNameKind::As(target) | ast::RenameTableNameKind::To(target)) = table_name;
                let (ndb, nschema, ntable) = resolve_schema(session, &parts(target), "ALTER TABLE")?;
                if catalog.schema(&ndb, &nschema).is_none() {
                    return Err(SfError::kind_not_found("Schema", &display_ident(&nschema)));
                }
                let ntable = if table.info.options.contains_key(crate::temp::TEMPORARY_SESSION) { crate::temp::stored_name(&ntable, session.id) } else { ntable };
                if catalog.table(&ndb, &nschema, &ntable).is_some() {
                    return Err(SfError::already_exists(&display_ident(crate::temp::shown(&ntable))));
                }
                new_name = Some((ndb, nschema, ntable));
            }
            other => return Err(SfError::unsupported(format!("ALTER TABLE {other}"))),
        }
    }
    commit(engine, vec![Op::AlterTable { id: table.id, def, new_name }]).await?;
    Ok(ok())
}
