//! The control plane against `FakeDriver`: statements record desired state, a reconcile pass creates
//! the containers with the labels, network aliases and environment of spcs.md §7.1, and observed exits
//! become job statuses; dropped services' containers are removed; nothing is started twice.

use std::sync::Arc;
use std::time::Duration;

use driver::{FakeDriver, RuntimeDriver};
use floe_control::{self as control, Controller};
use sql::{Engine, EngineConfig, Session};
use tokio_util::sync::CancellationToken;

const IMAGE: &str = "tutorial_db/data_schema/repo/echo:latest";

struct Fixture {
    _dir: tempfile::TempDir,
    engine: Engine,
    fake: FakeDriver,
    controller: Arc<Controller>,
    session: Session,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(store::Store::open(dir.path(), 16 << 20).unwrap(), EngineConfig::default()).unwrap();
    engine.spcs().set_available(Ok("fake".into()));
    engine.spcs().durations.write().stop_grace = Duration::from_secs(0);
    let fake = FakeDriver::new();
    fake.add_image(IMAGE, "sha256:abc");
    let logs = Arc::new(store::LogStore::open(&dir.path().join("logs.db")).unwrap());
    let cfg = control::Config {
        owner: "owner1".into(),
        data_dir: dir.path().to_path_buf(),
        account: "floe".into(),
        port: 8080,
        registry_address: "127.0.0.1:8081".into(),
        registry_credentials: Some(driver::RegistryCredentials { server: "127.0.0.1:8081".into(), username: "puller".into(), password: "secret".into() }),
        tls: None,
        token_refresh: Duration::from_secs(600),
        tick: Duration::from_secs(3600),
    };
    let controller = control::Controller::new(cfg, engine.clone(), Arc::new(fake.clone()), logs, None, Box::new(|_| {}));
    let mut session = Session { id: 1, user: "ADMIN".into(), role: "ACCOUNTADMIN".into(), ..Default::default() };
    for stmt in [
        "CREATE DATABASE tutorial_db",
        "CREATE SCHEMA data_schema",
        "CREATE COMPUTE POOL pool1 MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS",
    ] {
        engine.execute(&mut session, stmt, &CancellationToken::new()).await.unwrap();
    }
    Fixture { _dir: dir, engine, fake, controller, session }
}

fn spec(args: &str) -> String {
    format!("spec:\n  containers:\n  - name: main\n    image: /tutorial_db/data_schema/repo/echo:latest\n    args: [{args}]\n    env:\n      MODE: test\n")
}

async fn describe_status(f: &mut Fixture, name: &str) -> String {
    let res = f.engine.execute(&mut f.session, &format!("DESCRIBE SERVICE {name}"), &CancellationToken::new()).await.unwrap().pop().unwrap();
    let idx = res.schema.index_of("status").unwrap();
    let col = res.batches[0].column(idx).as_any().downcast_ref::<datafusion::arrow::array::StringArray>().unwrap().clone();
    col.value(0).to_string()
}

/// Reconciles until the service has `want` (the fake's capture tasks finish in the background).
async fn settle(f: &mut Fixture, name: &str, want: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        f.controller.reconcile().await.unwrap();
        last = describe_status(f, name).await;
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{name} stayed {last}, expected {want}");
}

#[tokio::test]
async fn async_job_runs_to_done_and_its_container_is_removed() {
    let mut f = fixture().await;
    let sql = format!("EXECUTE JOB SERVICE IN COMPUTE POOL pool1 FROM SPECIFICATION $${}$$ NAME = job1 ASYNC = TRUE REPLICAS = 2", spec("exit, '0'"));
    f.engine.execute(&mut f.session, &sql, &CancellationToken::new()).await.unwrap();
    f.controller.reconcile().await.unwrap();
    let owned = f.fake.list("owner1").await.unwrap();
    assert_eq!(owned.len(), 2, "one container per replica");
    let spec0 = f.fake.spec_of(&owned[0].id).unwrap();
    let env: std::collections::HashMap<_, _> = spec0.env.iter().cloned().collect();
    assert_eq!(env["SNOWFLAKE_SERVICE_NAME"], "JOB1");
    assert_eq!(env["SNOWFLAKE_DATABASE"], "TUTORIAL_DB");
    assert_eq!(env["SNOWFLAKE_JOBS_COUNT"], "2");
    assert_eq!(env["MODE"], "test");
    assert_eq!(spec0.cmd, Some(vec!["exit".to_string(), "0".to_string()]));
    match &spec0.network {
        driver::NetworkAttach::Network { aliases, .. } => {
            assert_eq!(aliases[0], "job1");
            assert!(aliases[2].ends_with(".svc.spcs.internal"));
        }
        other => panic!("unexpected network {other:?}"),
    }
    settle(&mut f, "job1", "RUNNING").await;
    // Further passes start nothing new.
    f.controller.reconcile().await.unwrap();
    assert_eq!(f.fake.list("owner1").await.unwrap().len(), 2);
    for c in &owned {
        f.fake.exit(&c.id, 0);
    }
    settle(&mut f, "job1", "DONE").await;
    for _ in 0..100 {
        if f.fake.list("owner1").await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(f.fake.list("owner1").await.unwrap().is_empty(), "finished job containers are removed");
}

#[tokio::test]
async fn failed_replica_fails_the_job() {
    let mut f = fixture().await;
    let sql = format!("EXECUTE JOB SERVICE IN COMPUTE POOL pool1 FROM SPECIFICATION $${}$$ NAME = job2 ASYNC = TRUE", spec("exit, '3'"));
    f.engine.execute(&mut f.session, &sql, &CancellationToken::new()).await.unwrap();
    f.controller.reconcile().await.unwrap();
    let owned = f.fake.list("owner1").await.unwrap();
    f.fake.exit(&owned[0].id, 3);
    settle(&mut f, "job2", "FAILED").await;
}

#[tokio::test]
async fn dropped_service_is_torn_down_and_missing_image_waits() {
    let mut f = fixture().await;
    let sql = format!("CREATE SERVICE svc1 IN COMPUTE POOL pool1 FROM SPECIFICATION $${}$$", spec("echo-server"));
    f.engine.execute(&mut f.session, &sql, &CancellationToken::new()).await.unwrap();
    settle(&mut f, "svc1", "RUNNING").await;
    f.engine.execute(&mut f.session, "DROP SERVICE svc1", &CancellationToken::new()).await.unwrap();
    f.controller.reconcile().await.unwrap();
    for _ in 0..100 {
        if f.fake.list("owner1").await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(f.fake.list("owner1").await.unwrap().is_empty());
    let missing = spec("x").replace("repo/echo", "repo/missing");
    f.engine.execute(&mut f.session, &format!("CREATE SERVICE svc2 IN COMPUTE POOL pool1 FROM SPECIFICATION $${missing}$$"), &CancellationToken::new()).await.unwrap();
    f.controller.reconcile().await.unwrap();
    assert_eq!(describe_status(&mut f, "svc2").await, "PENDING");
    assert!(f.fake.list("owner1").await.unwrap().is_empty());
    assert!(f.fake.calls().contains(&"pull 127.0.0.1:8081/tutorial_db/data_schema/repo/missing:latest as puller".to_string()));
}

#[tokio::test]
async fn image_absent_locally_is_pulled_from_the_registry() {
    let mut f = fixture().await;
    f.fake.add_remote_image("127.0.0.1:8081/tutorial_db/data_schema/repo/pushed:v1", "sha256:def", "sha256:0123");
    let pushed = spec("echo-server").replace("repo/echo:latest", "repo/pushed:v1");
    f.engine.execute(&mut f.session, &format!("CREATE SERVICE svc3 IN COMPUTE POOL pool1 FROM SPECIFICATION $${pushed}$$"), &CancellationToken::new()).await.unwrap();
    settle(&mut f, "svc3", "RUNNING").await;
    assert!(f.fake.calls().contains(&"pull 127.0.0.1:8081/tutorial_db/data_schema/repo/pushed:v1 as puller".to_string()));
    let owned = f.fake.list("owner1").await.unwrap();
    assert_eq!(owned[0].image_id.as_deref(), Some("sha256:def"));
    // SHOW SERVICE CONTAINERS reports the registry's manifest digest.
    let res = f.engine.execute(&mut f.session, "SHOW SERVICE CONTAINERS IN SERVICE svc3", &CancellationToken::new()).await.unwrap().pop().unwrap();
    let idx = res.schema.index_of("image_digest").unwrap();
    let col = res.batches[0].column(idx).as_any().downcast_ref::<datafusion::arrow::array::StringArray>().unwrap().clone();
    assert_eq!(col.value(0), "sha256:0123");
}
