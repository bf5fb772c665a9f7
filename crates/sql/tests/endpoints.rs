//! Public endpoints as the SQL layer knows them (spcs::endpoints): SHOW ENDPOINTS' ingress_url, the
//! host name → endpoint routing the ingress uses, and service roles (GRANT/REVOKE SERVICE ROLE) deciding
//! who may use an endpoint.

use datafusion::arrow::array::{Array, StringArray};
use floe_sql as sql;
use sql::spcs::endpoints::{self, PublicEndpoint};
use sql::{Engine, EngineConfig, Session};
use tokio_util::sync::CancellationToken;

const SPEC: &str = "spec:
  containers:
  - name: echo
    image: /db/s/repo/echo:latest
  endpoints:
  - name: ui
    port: 8000
    public: true
    corsSettings:
      Access-Control-Allow-Origin: [http://app.example]
  - name: api
    port: 8001
    public: true
  - name: private
    port: 8002
serviceRoles:
- name: ui_users
  endpoints: [ui]
";

async fn run(engine: &Engine, session: &mut Session, sql: &str) -> Result<Vec<Vec<Option<String>>>, model::SfError> {
    let mut results = engine.execute(session, sql, &CancellationToken::new()).await?;
    let res = results.pop().unwrap();
    let mut rows = Vec::new();
    for batch in &res.batches {
        for r in 0..batch.num_rows() {
            rows.push(
                (0..batch.num_columns())
                    .map(|c| {
                        let col = batch.column(c);
                        let text = datafusion::arrow::compute::cast(col, &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
                        let text = text.as_any().downcast_ref::<StringArray>().unwrap();
                        (!text.is_null(r)).then(|| text.value(r).to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

fn may_use(engine: &Engine, user: &str, role: &str, ep: &PublicEndpoint) -> bool {
    endpoints::may_use(engine, user, role, ep)
}

#[tokio::test]
async fn routing_and_service_roles() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig { ingress_port: Some(9443), ..EngineConfig::default() };
    let engine = Engine::new(store::Store::open(dir.path(), 16 << 20).unwrap(), config).unwrap();
    engine.spcs().set_available(Ok("fake".into()));
    let mut admin = Session { id: 1, user: "ADMIN".into(), role: "ACCOUNTADMIN".into(), ..Default::default() };
    sql::auth::ensure_admin(&engine, Some("pw")).unwrap();
    for stmt in [
        "CREATE DATABASE db",
        "CREATE SCHEMA s",
        "CREATE COMPUTE POOL pool1 MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS",
        &format!("CREATE SERVICE echo IN COMPUTE POOL pool1 FROM SPECIFICATION $${SPEC}$$"),
        "CREATE ROLE viewer",
        "CREATE USER bob PASSWORD = 'pw' DEFAULT_ROLE = viewer",
        "GRANT ROLE viewer TO USER bob",
    ] {
        run(&engine, &mut admin, stmt).await.unwrap();
    }

    // SHOW ENDPOINTS: each public endpoint has a host name of its own on the ingress's port.
    let rows = run(&engine, &mut admin, "SHOW ENDPOINTS IN SERVICE echo").await.unwrap();
    let url = |name: &str| rows.iter().find(|r| r[0].as_deref() == Some(name)).unwrap()[5].clone().unwrap();
    let (ui, api) = (url("ui"), url("api"));
    assert_eq!(url("private"), "");
    assert!(ui.ends_with("-floe.localhost:9443") && api.ends_with("-floe.localhost:9443") && ui != api, "{ui} {api}");

    // Routing: by the host name (any case, any port), public endpoints only.
    let catalog = engine.store().snapshot();
    let ep = endpoints::route(&catalog, "floe", &ui.to_uppercase()).unwrap();
    assert_eq!((ep.service.clone(), ep.endpoint.as_str()), (["DB".to_string(), "S".to_string(), "ECHO".to_string()], "ui"));
    assert_eq!(ep.cors.as_ref().unwrap().allow_origin, vec!["http://app.example".to_string()]);
    assert_eq!(ep.display(), "DB.S.ECHO!ui");
    assert_eq!(endpoints::route(&catalog, "floe", &api.replace(":9443", ":1")).unwrap().endpoint, "api");
    let svc_uid = ep.service_uid.clone();
    assert!(endpoints::route(&catalog, "floe", &format!("{}.localhost", endpoints::host_label(&svc_uid, "private", "floe"))).is_none());
    assert!(endpoints::route(&catalog, "floe", "zzzzzzzz-floe.localhost:9443").is_none());
    assert!(endpoints::route(&catalog, "other", &ui).is_none());
    let api_ep = endpoints::route(&catalog, "floe", &api).unwrap();

    // Service roles: the owner holds ALL_ENDPOINTS_USAGE; others need a grant covering the endpoint.
    assert!(may_use(&engine, "ADMIN", "ACCOUNTADMIN", &ep));
    assert!(!may_use(&engine, "BOB", "VIEWER", &ep));
    let roles = run(&engine, &mut admin, "SHOW ROLES IN SERVICE echo").await.unwrap();
    assert_eq!(roles.iter().map(|r| r[1].clone().unwrap()).collect::<Vec<_>>(), vec!["ALL_ENDPOINTS_USAGE", "UI_USERS"]);
    run(&engine, &mut admin, "GRANT SERVICE ROLE db.s.echo!ui_users TO ROLE viewer").await.unwrap();
    assert!(may_use(&engine, "BOB", "VIEWER", &ep));
    assert!(!may_use(&engine, "BOB", "VIEWER", &api_ep), "ui_users covers ui only");
    // A role the user does not have counts for nothing.
    assert!(!may_use(&engine, "BOB", "SYSADMIN", &ep));
    let grants = run(&engine, &mut admin, "SHOW GRANTS TO ROLE viewer").await.unwrap();
    assert!(grants.iter().any(|g| g.iter().any(|v| v.as_deref() == Some("DB.S.ECHO!UI_USERS"))), "{grants:?}");
    run(&engine, &mut admin, "REVOKE SERVICE ROLE db.s.echo!ui_users FROM ROLE viewer").await.unwrap();
    assert!(!may_use(&engine, "BOB", "VIEWER", &ep));
    run(&engine, &mut admin, "GRANT SERVICE ROLE db.s.echo!all_endpoints_usage TO ROLE viewer").await.unwrap();
    assert!(may_use(&engine, "BOB", "VIEWER", &ep) && may_use(&engine, "BOB", "VIEWER", &api_ep));

    let err = run(&engine, &mut admin, "GRANT SERVICE ROLE db.s.echo!nope TO ROLE viewer").await.unwrap_err();
    assert!(err.message.contains("does not exist"), "{}", err.message);
    // Only the owner (or MANAGE GRANTS) grants service roles.
    let mut bob = Session { id: 2, user: "BOB".into(), role: "VIEWER".into(), database: Some("DB".into()), schema: Some("S".into()), ..Default::default() };
    assert!(run(&engine, &mut bob, "GRANT SERVICE ROLE db.s.echo!ui_users TO ROLE viewer").await.is_err());

    // A re-created service has new host names, and the old grants are gone.
    run(&engine, &mut admin, "DROP SERVICE echo").await.unwrap();
    assert!(endpoints::route(&engine.store().snapshot(), "floe", &ui).is_none());
    run(&engine, &mut admin, &format!("CREATE SERVICE echo IN COMPUTE POOL pool1 FROM SPECIFICATION $${SPEC}$$")).await.unwrap();
    let catalog = engine.store().snapshot();
    assert!(endpoints::route(&catalog, "floe", &ui).is_none());
    let rows = run(&engine, &mut admin, "SHOW ENDPOINTS IN SERVICE echo").await.unwrap();
    let new_ui = rows.iter().find(|r| r[0].as_deref() == Some("ui")).unwrap()[5].clone().unwrap();
    let ep = endpoints::route(&catalog, "floe", &new_ui).unwrap();
    assert!(!may_use(&engine, "BOB", "VIEWER", &ep));
}
