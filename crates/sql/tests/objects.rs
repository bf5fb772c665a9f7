//! Account and schema objects across engine restarts and sessions: COMPUTE_WH is created once, stage
//! directories follow their stages (CREATE, DROP, DROP DATABASE, temporary stages, orphans at start),
//! and image repository URLs name the configured registry.

use datafusion::arrow::array::{Array, StringArray};
use floe_sql as sql;
use sql::{Engine, EngineConfig, QueryResult, Session};
use tokio_util::sync::CancellationToken;

fn engine(dir: &std::path::Path, config: EngineConfig) -> Engine {
    Engine::new(store::Store::open(dir, 16 << 20).unwrap(), config).unwrap()
}

fn session(id: u64) -> Session {
    Session { id, user: "ADMIN".into(), role: "ACCOUNTADMIN".into(), ..Default::default() }
}

async fn run(engine: &Engine, session: &mut Session, sql: &str) -> QueryResult {
    engine.execute(session, sql, &CancellationToken::new()).await.unwrap_or_else(|e| panic!("{sql}: {e}")).pop().unwrap()
}

fn column(result: &QueryResult, name: &str) -> Vec<String> {
    let index = result.schema.index_of(name).unwrap();
    result
        .batches
        .iter()
        .flat_map(|b| {
            let col = b.column(index).as_any().downcast_ref::<StringArray>().unwrap().clone();
            (0..col.len()).map(move |i| col.value(i).to_string()).collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn compute_wh_is_created_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = engine(dir.path(), EngineConfig::default());
        sql::objects::ensure_defaults(&engine).unwrap();
        let mut s = session(1);
        let show = run(&engine, &mut s, "show warehouses").await;
        assert_eq!(column(&show, "name"), ["COMPUTE_WH"]);
        assert_eq!(column(&show, "size"), ["X-Small"]);
        assert_eq!(column(&show, "state"), ["SUSPENDED"]);
        run(&engine, &mut s, "use warehouse compute_wh").await;
        run(&engine, &mut s, "drop warehouse compute_wh").await;
    }
    // A restart does not bring back a warehouse the user dropped.
    let engine = engine(dir.path(), EngineConfig::default());
    sql::objects::ensure_defaults(&engine).unwrap();
    let show = run(&engine, &mut session(2), "show warehouses").await;
    assert_eq!(show.num_rows(), 0);
}

#[tokio::test]
async fn stage_directories_follow_their_stages() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), EngineConfig::default());
    let mut s = session(1);
    run(&engine, &mut s, "create database d").await;
    run(&engine, &mut s, "create stage st").await;
    let st = sql::objects::stage::stage_dir(dir.path(), "D", "PUBLIC", "ST");
    assert!(st.is_dir());
    std::fs::write(st.join("f.txt"), "x").unwrap();
    run(&engine, &mut s, "drop stage st").await;
    assert!(!st.exists());

    // Temporary stages are private to their session and go with it.
    run(&engine, &mut s, "create temporary stage tmp").await;
    let mut other = session(2);
    run(&engine, &mut other, "use schema d.public").await;
    assert_eq!(run(&engine, &mut other, "show stages").await.num_rows(), 0);
    let err = engine.execute(&mut other, "list @tmp", &CancellationToken::new()).await.unwrap_err();
    assert_eq!(err.code, "002003");
    assert_eq!(run(&engine, &mut s, "show stages").await.num_rows(), 1);
    engine.close_session(&mut s);
    assert_eq!(run(&engine, &mut other, "show stages in account").await.num_rows(), 0);

    // DROP DATABASE takes its stages' files along.
    run(&engine, &mut other, "create stage keep").await;
    let keep = sql::objects::stage::stage_dir(dir.path(), "D", "PUBLIC", "KEEP");
    assert!(keep.is_dir());
    run(&engine, &mut other, "drop database d").await;
    assert!(!keep.exists());

    // A directory no stage owns (a crash between mkdir and commit) is removed at start.
    let orphan = sql::objects::stage::stage_dir(dir.path(), "X", "Y", "Z");
    std::fs::create_dir_all(&orphan).unwrap();
    sql::objects::ensure_defaults(&engine).unwrap();
    assert!(!orphan.exists());
}

#[tokio::test]
async fn repository_urls_name_the_configured_registry() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig { registry_address: "registry.local:5000".into(), ..EngineConfig::default() };
    let engine = engine(dir.path(), config);
    let mut s = session(1);
    run(&engine, &mut s, "create database tutorial_db").await;
    run(&engine, &mut s, "create schema data_schema").await;
    run(&engine, &mut s, "create image repository tutorial_repository").await;
    // What `snow spcs image-repository url` sends.
    let show = run(&engine, &mut s, "show image repositories like 'tutorial_repository' in schema tutorial_db.data_schema").await;
    assert_eq!(column(&show, "repository_url"), ["registry.local:5000/tutorial_db/data_schema/tutorial_repository"]);
}
