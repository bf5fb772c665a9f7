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
    fixture_with(|_| {}).await
}

async fn fixture_with(adjust: impl FnOnce(&mut control::Config)) -> Fixture {
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
    let mut cfg = cfg;
    adjust(&mut cfg);
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

/// Reconciles until the fake runs no container of this server (removal waits for the log capture);
/// fails with `what` if some remain.
async fn until_no_containers(f: &Fixture, what: &str) {
    for _ in 0..100 {
        if f.fake.list("owner1").await.unwrap().is_empty() {
            return;
        }
        f.controller.reconcile().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: {:?} remain", f.fake.list("owner1").await.unwrap().iter().map(|c| &c.name).collect::<Vec<_>>());
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
    until_no_containers(&f, "finished job containers are removed").await;
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
    until_no_containers(&f, "the dropped service's containers are removed").await;
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

/// floe's registry as the control plane sees it: tags and their manifest digests.
#[derive(Default)]
struct FakeRegistry(parking_lot::Mutex<Vec<sql::objects::image_repo::Image>>);

impl FakeRegistry {
    fn push(&self, image: &str, tag: &str, digest: &str) {
        let mut rows = self.0.lock();
        rows.retain(|i| !(i.name == image && i.tag == tag));
        rows.push(sql::objects::image_repo::Image { name: image.into(), tag: tag.into(), digest: digest.into(), pushed_ms: 0 });
    }
}

impl sql::objects::image_repo::ImageStore for FakeRegistry {
    fn images(&self, path: &str, _incarnation: i64) -> Result<Vec<sql::objects::image_repo::Image>, String> {
        Ok(if path == "tutorial_db/data_schema/repo" { self.0.lock().clone() } else { Vec::new() })
    }
    fn repository_dropped(&self) {}
}

async fn one_string(f: &mut Fixture, sql: &str, col: &str) -> String {
    let res = f.engine.execute(&mut f.session, sql, &CancellationToken::new()).await.unwrap().pop().unwrap();
    let idx = res.schema.index_of(col).unwrap();
    let col = res.batches[0].column(idx).as_any().downcast_ref::<datafusion::arrow::array::StringArray>().unwrap().clone();
    col.value(0).to_string()
}

async fn running_image(f: &Fixture) -> String {
    let owned = f.fake.list("owner1").await.unwrap();
    let live: Vec<_> = owned.iter().filter(|c| c.state == driver::RunState::Running).collect();
    assert_eq!(live.len(), 1, "{owned:?}");
    live[0].image_id.clone().unwrap()
}

#[tokio::test]
async fn image_digest_is_pinned_at_create_reused_on_resume_and_re_resolved_by_alter() {
    let mut f = fixture().await;
    let registry = Arc::new(FakeRegistry::default());
    f.engine.set_image_store(registry.clone());
    f.engine.execute(&mut f.session, "CREATE IMAGE REPOSITORY repo", &CancellationToken::new()).await.unwrap();
    let d1 = format!("sha256:{}", "1".repeat(64));
    let d2 = format!("sha256:{}", "2".repeat(64));
    let by_digest = |d: &str| format!("127.0.0.1:8081/tutorial_db/data_schema/repo/app@{d}");
    registry.push("app", "latest", &d1);
    f.fake.add_remote_image(&by_digest(&d1), "sha256:id1", &d1);
    f.fake.add_remote_image(&by_digest(&d2), "sha256:id2", &d2);
    let text = spec("echo-server").replace("repo/echo:latest", "repo/app:latest");
    f.engine.execute(&mut f.session, &format!("CREATE SERVICE app IN COMPUTE POOL pool1 FROM SPECIFICATION $${text}$$"), &CancellationToken::new()).await.unwrap();
    settle(&mut f, "app", "RUNNING").await;
    assert_eq!(running_image(&f).await, "sha256:id1");
    assert!(f.fake.calls().contains(&format!("pull {} as puller", by_digest(&d1))));
    assert!(one_string(&mut f, "DESCRIBE SERVICE app", "spec").await.contains(&format!("sha256: \"@{d1}\"")));

    // A new push of the same tag changes nothing for a resume, even when the runtime lost the image.
    registry.push("app", "latest", &d2);
    f.engine.execute(&mut f.session, "ALTER SERVICE app SUSPEND", &CancellationToken::new()).await.unwrap();
    settle(&mut f, "app", "SUSPENDED").await;
    f.fake.remove_image("sha256:id1");
    f.engine.execute(&mut f.session, "ALTER SERVICE app RESUME", &CancellationToken::new()).await.unwrap();
    settle(&mut f, "app", "RUNNING").await;
    assert_eq!(running_image(&f).await, "sha256:id1");
    assert_eq!(f.fake.calls().iter().filter(|c| **c == format!("pull {} as puller", by_digest(&d1))).count(), 2);
    assert_eq!(one_string(&mut f, "SHOW SERVICE CONTAINERS IN SERVICE app", "image_digest").await, d1);

    // ALTER … FROM SPECIFICATION, even with the same text, re-resolves the tag: a rolling upgrade to d2.
    f.engine.execute(&mut f.session, &format!("ALTER SERVICE app FROM SPECIFICATION $${text}$$"), &CancellationToken::new()).await.unwrap();
    for _ in 0..100 {
        f.controller.reconcile().await.unwrap();
        let owned = f.fake.list("owner1").await.unwrap();
        if owned.iter().any(|c| c.image_id.as_deref() == Some("sha256:id2") && c.state == driver::RunState::Running)
            && owned.iter().all(|c| c.image_id.as_deref() == Some("sha256:id2"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    settle(&mut f, "app", "RUNNING").await;
    assert_eq!(running_image(&f).await, "sha256:id2");
    assert!(one_string(&mut f, "DESCRIBE SERVICE app", "spec").await.contains(&format!("sha256: \"@{d2}\"")));
    assert_eq!(one_string(&mut f, "SHOW SERVICE CONTAINERS IN SERVICE app", "image_digest").await, d2);
}

/// Bug: with floe's https front door, every container got an /etc/hosts entry for SNOWFLAKE_HOST, which
/// Docker refuses for a container joining another's network namespace, so no instance of two or more
/// containers could start; and the later containers joined the first one's namespace, lost when it
/// exited. Now a sandbox holds the namespace (with the hosts entry) and every container joins it.
#[tokio::test]
async fn containers_of_an_instance_join_a_sandbox_holding_the_network_and_hosts() {
    let mut f = fixture_with(|cfg| {
        cfg.tls = Some(control::ContainerTls {
            host: "snowflake.floe.internal".into(),
            port: 443,
            ca_file: "/nonexistent/ca.pem".into(),
            bundle_file: "/nonexistent/bundle.pem".into(),
        })
    })
    .await;
    let spec = "spec:\n  containers:\n  - name: a\n    image: /tutorial_db/data_schema/repo/echo:latest\n  - name: b\n    image: /tutorial_db/data_schema/repo/echo:latest\n";
    let sql = format!("EXECUTE JOB SERVICE IN COMPUTE POOL pool1 FROM SPECIFICATION $${spec}$$ NAME = pair ASYNC = TRUE");
    f.engine.execute(&mut f.session, &sql, &CancellationToken::new()).await.unwrap();
    settle(&mut f, "pair", "RUNNING").await;
    let owned = f.fake.list("owner1").await.unwrap();
    assert_eq!(owned.len(), 3, "two containers and the sandbox");
    let specs: Vec<_> = owned.iter().map(|c| (c.id.clone(), f.fake.spec_of(&c.id).unwrap())).collect();
    let (sandbox_id, sandbox) = specs.iter().find(|(_, s)| s.labels.contains_key("floe.sandbox")).unwrap();
    assert_eq!(sandbox.image, driver::SANDBOX_IMAGE_FAKE);
    assert!(!sandbox.labels.contains_key("floe.container"));
    assert!(matches!(&sandbox.network, driver::NetworkAttach::Network { aliases, .. } if aliases[0] == "pair"));
    assert_eq!(sandbox.extra_hosts.len(), 1);
    assert!(sandbox.extra_hosts[0].starts_with("snowflake.floe.internal:"), "{:?}", sandbox.extra_hosts);
    for (_, s) in specs.iter().filter(|(id, _)| id != sandbox_id) {
        assert_eq!(s.network, driver::NetworkAttach::SharedWith(sandbox_id.clone()), "{} joins the sandbox", s.name);
        assert!(s.extra_hosts.is_empty());
    }
    // The first container exits: the job runs on; when both have, it is DONE and the sandbox goes too.
    let real: Vec<_> = specs.iter().filter(|(id, _)| id != sandbox_id).map(|(id, _)| id.clone()).collect();
    f.fake.exit(&real[0], 0);
    f.controller.reconcile().await.unwrap();
    assert_eq!(describe_status(&mut f, "pair").await, "RUNNING");
    f.fake.exit(&real[1], 0);
    settle(&mut f, "pair", "DONE").await;
    until_no_containers(&f, "containers and sandbox removed").await;
}

/// Bug: a container that replaced another (resume, upgrade) started again at log run 0, so its lines
/// were mixed with its predecessor's and SYSTEM$GET_SERVICE_LOGS showed the predecessor's last run.
#[tokio::test]
async fn a_replacing_container_continues_the_log_runs_of_its_predecessor() {
    let mut f = fixture().await;
    let sql = format!("CREATE SERVICE svc_runs IN COMPUTE POOL pool1 FROM SPECIFICATION $${}$$", spec("serve"));
    f.engine.execute(&mut f.session, &sql, &CancellationToken::new()).await.unwrap();
    settle(&mut f, "svc_runs", "RUNNING").await;
    let first = f.fake.list("owner1").await.unwrap().pop().unwrap();
    assert_eq!(first.labels.get("floe.run_base").map(String::as_str), Some("0"));
    f.fake.push_log(&first.id, 1_000, "from the first container");
    let logs = f.engine.spcs().logs().unwrap();
    let uid = first.labels["floe.service_uid"].clone();
    for _ in 0..100 {
        if logs.last_run(&uid, 0, "main").unwrap() == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(logs.last_run(&uid, 0, "main").unwrap(), Some(0));

    f.engine.execute(&mut f.session, "ALTER SERVICE svc_runs SUSPEND", &CancellationToken::new()).await.unwrap();
    settle(&mut f, "svc_runs", "SUSPENDED").await;
    until_no_containers(&f, "the suspended service's container is removed").await;
    f.engine.execute(&mut f.session, "ALTER SERVICE svc_runs RESUME", &CancellationToken::new()).await.unwrap();
    settle(&mut f, "svc_runs", "RUNNING").await;
    let second = f.fake.list("owner1").await.unwrap().pop().unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(second.labels.get("floe.run_base").map(String::as_str), Some("1"));
    f.fake.push_log(&second.id, 2_000, "from the second container");
    let mut text = String::new();
    for _ in 0..100 {
        text = one_string(&mut f, "SELECT SYSTEM$GET_SERVICE_LOGS('svc_runs', 0, 'main')", "SYSTEM$GET_SERVICE_LOGS").await;
        if text.contains("second") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(text.trim_end(), "from the second container");
}
