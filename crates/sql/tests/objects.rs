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

fn texts(result: &QueryResult, index: usize) -> Vec<String> {
    let pretty = datafusion::arrow::util::pretty::pretty_format_columns("c", &result.batches.iter().map(|b| b.column(index).clone()).collect::<Vec<_>>()).unwrap().to_string();
    pretty.lines().skip(3).filter(|l| l.starts_with('|')).map(|l| l.trim_matches('|').trim().to_string()).collect()
}

/// Parquet both ways: a table unloaded to Parquet, its schema read back by INFER_SCHEMA (as
/// `write_pandas` reads it, through a named format and bound IDENTIFIER(?)), and the file loaded by a
/// `$1:"col"::type` transform, by MATCH_BY_COLUMN_NAME and whole into one VARIANT column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_unload_infer_schema_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), EngineConfig::default());
    let mut s = session(1);
    run(&engine, &mut s, "create database d").await;
    run(&engine, &mut s, "create stage st").await;
    run(&engine, &mut s, "create table src (id int, name varchar, amount number(10,2), at timestamp_ntz)").await;
    run(&engine, &mut s, "insert into src values (1, 'a', 12.50, '2024-01-02 03:04:05'), (2, null, null, null)").await;
    let unloaded = run(&engine, &mut s, "copy into @st/out/ from (select * from src order by id) file_format = (type = parquet)").await;
    assert_eq!(texts(&unloaded, 0), ["2"]);
    let listed = run(&engine, &mut s, "list @st").await;
    assert_eq!(column(&listed, "name"), ["st/out/data_0_0_0.snappy.parquet"]);

    run(&engine, &mut s, "create temporary file format pq type = parquet").await;
    let bindings = sql::Bindings {
        by_key: [("1".to_string(), sql::Binding { sf_type: "TEXT".into(), values: vec![Some("@st/out/".into())], array: false }), ("2".to_string(), sql::Binding { sf_type: "TEXT".into(), values: vec![Some("pq".into())], array: false })]
            .into_iter()
            .collect(),
    };
    let inferred = engine.execute_bound(&mut s, "SELECT * FROM TABLE(INFER_SCHEMA(LOCATION => ?, FILE_FORMAT => ?))", &bindings, &CancellationToken::new()).await.unwrap().pop().unwrap();
    assert_eq!(texts(&inferred, 0), ["ID", "NAME", "AMOUNT", "AT"]);
    assert_eq!(texts(&inferred, 1), ["NUMBER(38, 0)", "TEXT", "NUMBER(10, 2)", "TIMESTAMP_NTZ"]);
    assert_eq!(texts(&inferred, 3)[0], "$1:\"ID\"::NUMBER(38, 0)");
    assert_eq!(texts(&inferred, 4)[0], "out/data_0_0_0.snappy.parquet");

    // The Snowflake idiom for a table shaped like staged files.
    run(
        &engine,
        &mut s,
        "create table tmpl using template (select array_agg(object_construct(*)) within group (order by order_id) from table(infer_schema(location => '@st/out/', file_format => 'pq')))",
    )
    .await;
    let described = run(&engine, &mut s, "describe table tmpl").await;
    assert_eq!(column(&described, "name"), ["ID", "NAME", "AMOUNT", "AT"]);
    assert_eq!(column(&described, "type"), ["NUMBER(38,0)", "VARCHAR(16777216)", "NUMBER(10,2)", "TIMESTAMP_NTZ(9)"]);
    let err = engine.execute(&mut s, "create table t2 using template (select 1)", &CancellationToken::new()).await.unwrap_err();
    assert!(err.message.contains("USING TEMPLATE expects"), "{}", err.message);

    let target = sql::Bindings { by_key: [("1".to_string(), sql::Binding { sf_type: "TEXT".into(), values: vec![Some("\"D\".\"PUBLIC\".\"DST\"".into())], array: false })].into_iter().collect() };
    engine.execute_bound(&mut s, "CREATE TABLE IF NOT EXISTS IDENTIFIER(?) (\"ID\" NUMBER(38, 0), \"NAME\" TEXT, \"AMOUNT\" NUMBER(10, 2), \"AT\" TIMESTAMP_NTZ)", &target, &CancellationToken::new()).await.unwrap();
    let on_error = sql::Bindings { by_key: [target.by_key["1"].clone()].into_iter().map(|b| ("1".to_string(), b)).chain([("2".to_string(), sql::Binding { sf_type: "TEXT".into(), values: vec![Some("abort_statement".into())], array: false })]).collect() };
    let copied = engine
        .execute_bound(
            &mut s,
            "COPY INTO IDENTIFIER(?) (\"ID\", \"NAME\", \"AMOUNT\", \"AT\") FROM (SELECT $1:\"ID\"::NUMBER(38, 0), $1:\"NAME\"::TEXT, $1:\"AMOUNT\"::NUMBER(10, 2), $1:\"AT\"::TIMESTAMP_NTZ FROM '@\"D\".\"PUBLIC\".\"ST\"/out/') FILE_FORMAT = (TYPE = PARQUET COMPRESSION = auto) ON_ERROR = ?",
            &on_error,
            &CancellationToken::new(),
        )
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(column(&copied, "status"), ["LOADED"]);
    let rows = run(&engine, &mut s, "select id, name, amount, at from dst order by id").await;
    assert_eq!(texts(&rows, 1), ["a", ""]);
    assert_eq!(texts(&rows, 2), ["12.50", ""]);
    assert_eq!(texts(&rows, 3), ["2024-01-02T03:04:05", ""]);

    run(&engine, &mut s, "create table by_name (name varchar, id int)").await;
    run(&engine, &mut s, "copy into by_name from @st/out/ file_format = (format_name = pq) match_by_column_name = case_insensitive").await;
    assert_eq!(texts(&run(&engine, &mut s, "select id, name from by_name order by id").await, 1), ["a", ""]);

    run(&engine, &mut s, "create table whole (v variant)").await;
    run(&engine, &mut s, "copy into whole from @st/out/ file_format = (type = parquet)").await;
    let whole = run(&engine, &mut s, "select v:NAME::varchar, v:AMOUNT from whole order by v:ID").await;
    assert_eq!(texts(&whole, 0), ["a", ""]);
    assert_eq!(texts(&whole, 1), ["12.5", ""]);

    // A file that is not Parquet fails COPY with the file's name.
    std::fs::write(sql::objects::stage::stage_dir(dir.path(), "D", "PUBLIC", "ST").join("bad.parquet"), "nope").unwrap();
    let err = engine.execute(&mut s, "copy into whole from @st/bad.parquet file_format = (type = parquet)", &CancellationToken::new()).await.unwrap_err();
    assert!(err.message.contains("Error parsing the parquet file") && err.message.contains("st/bad.parquet"), "{}", err.message);
}

#[tokio::test]
async fn schema_objects_go_with_their_database_and_orphans_are_swept_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), EngineConfig::default());
    let mut s = session(1);
    let secrets = |engine: &Engine| engine.store().snapshot().objects_of("SECRET").count();
    run(&engine, &mut s, "create database d").await;
    run(&engine, &mut s, "create secret s type = generic_string secret_string = 'x'").await;
    assert_eq!(secrets(&engine), 1);
    // DROP DATABASE takes the secret with it: a re-created database does not find it again.
    run(&engine, &mut s, "drop database d").await;
    assert_eq!(secrets(&engine), 0);
    run(&engine, &mut s, "create database d").await;
    run(&engine, &mut s, "create secret s type = generic_string secret_string = 'y'").await;
    // What an earlier floe left behind (the database dropped without its objects) is swept at start.
    engine.store().commit(vec![store::Op::DropDatabase { name: "D".into() }]).unwrap();
    assert_eq!(secrets(&engine), 1);
    sql::objects::ensure_defaults(&engine).unwrap();
    assert_eq!(secrets(&engine), 0);
}
