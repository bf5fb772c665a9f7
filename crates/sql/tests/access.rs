//! Users, roles and privileges beyond the golden file: programmatic access tokens (secrets are random),
//! login roles, sessions whose role is not granted, and ownership surviving a restart.

use datafusion::arrow::array::{Array, StringArray};
use floe_sql as sql;
use sql::{Engine, EngineConfig, QueryResult, Session};
use tokio_util::sync::CancellationToken;

fn engine(dir: &std::path::Path) -> Engine {
    let engine = Engine::new(store::Store::open(dir, 16 << 20).unwrap(), EngineConfig::default()).unwrap();
    sql::auth::ensure_admin(&engine, Some("admin-pw")).unwrap();
    engine
}

fn admin() -> Session {
    Session { id: 1, user: "ADMIN".into(), role: "ACCOUNTADMIN".into(), ..Default::default() }
}

async fn run(engine: &Engine, session: &mut Session, sql: &str) -> QueryResult {
    engine.execute(session, sql, &CancellationToken::new()).await.unwrap_or_else(|e| panic!("{sql}: {e}")).pop().unwrap()
}

async fn fail(engine: &Engine, session: &mut Session, sql: &str) -> model::SfError {
    engine.execute(session, sql, &CancellationToken::new()).await.map(|_| ()).expect_err(sql)
}

fn column(result: &QueryResult, name: &str) -> Vec<Option<String>> {
    let index = result.schema.index_of(name).unwrap();
    result
        .batches
        .iter()
        .flat_map(|b| {
            let col = b.column(index).as_any().downcast_ref::<StringArray>().unwrap().clone();
            (0..col.len()).map(move |i| col.is_valid(i).then(|| col.value(i).to_string())).collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn programmatic_access_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let mut a = admin();
    run(&engine, &mut a, "create role app_role").await;
    run(&engine, &mut a, "create user app_user password = 'app-Passw0rd' default_role = 'app_role' default_warehouse = wh").await;
    // The role is not granted yet: the restriction is refused, and logins fall back to PUBLIC.
    let err = fail(&engine, &mut a, "alter user app_user add programmatic access token t1 role_restriction = 'APP_ROLE'").await;
    assert_eq!(err.code, "003001");
    let user = sql::auth::verify_password(&engine, "app_user", "app-Passw0rd").unwrap();
    assert_eq!((user.name.as_str(), user.default_role.as_str(), user.default_warehouse.as_deref()), ("APP_USER", "PUBLIC", Some("WH")));
    run(&engine, &mut a, "grant role app_role to user app_user").await;
    assert_eq!(sql::auth::verify_password(&engine, "APP_USER", "app-Passw0rd").unwrap().default_role, "APP_ROLE");
    assert!(sql::auth::verify_password(&engine, "app_user", "wrong").is_err());
    assert_eq!(sql::auth::login_role(&engine, "APP_USER", Some("ACCOUNTADMIN")).unwrap_err().code, "390189");

    let added = run(&engine, &mut a, "alter user app_user add pat t1 role_restriction = 'app_role' days_to_expiry = 30 comment = 'ci'").await;
    assert_eq!(added.schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>(), ["token_name", "token_secret"]);
    assert_eq!(column(&added, "token_name"), [Some("T1".to_string())]);
    let secret = column(&added, "token_secret")[0].clone().unwrap();
    let user = sql::auth::verify_access_token(&engine, &secret).unwrap();
    assert_eq!((user.name.as_str(), user.default_role.as_str()), ("APP_USER", "APP_ROLE"));
    // A token works as the password too (docker login).
    assert_eq!(sql::auth::verify_password(&engine, "app_user", &secret).unwrap().name, "APP_USER");
    assert_eq!(fail(&engine, &mut a, "alter user app_user add pat t1").await.code, "002002");
    let again = run(&engine, &mut a, "alter user app_user add pat if not exists t1").await;
    assert_eq!(column(&again, "token_secret"), [None]);

    // Only digests are stored.
    let body = engine.store().snapshot().object("USER", "", "APP_USER").unwrap().to_string();
    assert!(!body.contains(&secret) && !body.contains("app-Passw0rd"), "{body}");

    let mut own = Session { id: 2, user: "APP_USER".into(), role: "APP_ROLE".into(), ..Default::default() };
    let shown = run(&engine, &mut own, "show user programmatic access tokens").await;
    assert_eq!(column(&shown, "name"), [Some("T1".into())]);
    assert_eq!(column(&shown, "role_restriction"), [Some("APP_ROLE".into())]);
    assert_eq!(column(&shown, "status"), [Some("ACTIVE".into())]);
    assert_eq!(column(&shown, "comment"), [Some("ci".into())]);
    let described = run(&engine, &mut own, "describe user app_user").await;
    let props = column(&described, "property");
    let values = column(&described, "value");
    let value = |p: &str| values[props.iter().position(|x| x.as_deref() == Some(p)).unwrap()].clone();
    assert_eq!(value("HAS_PAT"), Some("true".into()));
    assert_eq!(value("PASSWORD"), Some("********".into()));
    // A user adds its own token without owning its USER object; it cannot describe others.
    let mine = run(&engine, &mut own, "alter user add programmatic access token mine").await;
    assert!(column(&mine, "token_secret")[0].is_some());
    assert_eq!(fail(&engine, &mut own, "describe user admin").await.code, "002003");
    assert_eq!(fail(&engine, &mut own, "alter user app_user set disabled = true").await.code, "003001");

    // Revoking the restricted role invalidates the token; removing a token makes it fail.
    run(&engine, &mut a, "revoke role app_role from user app_user").await;
    assert!(sql::auth::verify_access_token(&engine, &secret).is_err());
    run(&engine, &mut a, "grant role app_role to user app_user").await;
    assert!(sql::auth::verify_access_token(&engine, &secret).is_ok());
    run(&engine, &mut a, "alter user app_user remove programmatic access token t1").await;
    assert!(sql::auth::verify_access_token(&engine, &secret).is_err());
    assert_eq!(fail(&engine, &mut a, "alter user app_user remove pat t1").await.code, "002003");
}

#[tokio::test]
async fn a_session_role_not_granted_counts_as_public() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let mut a = admin();
    run(&engine, &mut a, "create user plain password = 'x'").await;
    // A front door that took a role from the connect string without checking gets nothing from it.
    let mut s = Session { id: 2, user: "PLAIN".into(), role: "ACCOUNTADMIN".into(), ..Default::default() };
    assert_eq!(fail(&engine, &mut s, "create database d").await.code, "003001");
    assert_eq!(fail(&engine, &mut s, "use role accountadmin").await.code, "002043");
    run(&engine, &mut s, "use role public").await;
    // SECURITYADMIN manages grants and, through USERADMIN, users and roles, but creates no databases.
    run(&engine, &mut a, "grant role securityadmin to user plain").await;
    run(&engine, &mut s, "use role securityadmin").await;
    run(&engine, &mut s, "create role r").await;
    run(&engine, &mut s, "create user other password = 'y'").await;
    run(&engine, &mut s, "grant create database on account to role r").await;
    assert_eq!(fail(&engine, &mut s, "create database d").await.code, "003001");
    run(&engine, &mut s, "grant role r to user plain").await;
    run(&engine, &mut s, "use role r").await;
    run(&engine, &mut s, "create database d").await;
    let grants = run(&engine, &mut s, "show grants to role r").await;
    // The database and its PUBLIC schema.
    assert_eq!(column(&grants, "privilege"), [Some("CREATE DATABASE".into()), Some("OWNERSHIP".into()), Some("OWNERSHIP".into())]);
    assert_eq!(column(&grants, "granted_on"), [Some("ACCOUNT".into()), Some("DATABASE".into()), Some("SCHEMA".into())]);
}

#[tokio::test]
async fn ownership_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = engine(dir.path());
        let mut a = admin();
        run(&engine, &mut a, "create role owner_role").await;
        run(&engine, &mut a, "create database d").await;
        run(&engine, &mut a, "create table d.public.t (x int)").await;
        run(&engine, &mut a, "grant ownership on schema d.public to role owner_role").await;
        run(&engine, &mut a, "grant ownership on table d.public.t to role owner_role revoke current grants").await;
        run(&engine, &mut a, "alter table d.public.t rename to d.public.u").await;
    }
    let engine = engine(dir.path());
    let mut a = admin();
    let schemas = run(&engine, &mut a, "show schemas in database d").await;
    assert_eq!(column(&schemas, "owner"), [Some("OWNER_ROLE".into())]);
    let tables = run(&engine, &mut a, "show tables in schema d.public").await;
    assert_eq!(column(&tables, "owner"), [Some("OWNER_ROLE".into())]);
    // Grants follow a renamed table; a dropped and re-created table starts without them.
    run(&engine, &mut a, "grant select on table d.public.u to role public").await;
    run(&engine, &mut a, "alter table d.public.u rename to d.public.v").await;
    let grants = run(&engine, &mut a, "show grants on table d.public.v").await;
    assert_eq!(column(&grants, "privilege"), [Some("OWNERSHIP".into()), Some("SELECT".into())]);
    run(&engine, &mut a, "create or replace table d.public.v (y int)").await;
    let grants = run(&engine, &mut a, "show grants on table d.public.v").await;
    assert_eq!(column(&grants, "privilege"), [Some("OWNERSHIP".into())]);
    assert_eq!(column(&grants, "grantee_name"), [Some("ACCOUNTADMIN".into())]);
}
