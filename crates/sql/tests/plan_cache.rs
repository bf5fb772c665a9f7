//! The session plan cache: a repeated query is planned once, yet always reads the newest data, the
//! newest table shape and the current session context; time-dependent queries are never cached.

use datafusion::arrow::util::pretty::pretty_format_batches;
use floe_sql as sql;
use sql::{Engine, EngineConfig, Session};
use tokio_util::sync::CancellationToken;

async fn run(engine: &Engine, session: &mut Session, text: &str) -> String {
    let mut results = engine.execute(session, text, &CancellationToken::new()).await.unwrap();
    let result = results.pop().unwrap();
    pretty_format_batches(&result.batches).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_plans_follow_data_shape_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(store::Store::open(dir.path(), 64 << 20).unwrap(), EngineConfig::default()).unwrap();
    let mut s = Session { id: 1, user: "ADMIN".into(), role: "ACCOUNTADMIN".into(), ..Default::default() };
    for stmt in ["CREATE DATABASE D1", "CREATE TABLE T (ID INT)", "INSERT INTO T VALUES (1), (2)"] {
        run(&engine, &mut s, stmt).await;
    }
    let q = "SELECT COUNT(*) AS N, MAX(ID) AS M FROM T WHERE ID > 0";
    assert!(run(&engine, &mut s, q).await.contains("| 2 | 2 |"));
    assert_eq!(s.plans.hits, 0);
    run(&engine, &mut s, "INSERT INTO T VALUES (7)").await;
    assert!(run(&engine, &mut s, q).await.contains("| 3 | 7 |"), "a cached plan reads the newest data");
    assert_eq!(s.plans.hits, 1);
    run(&engine, &mut s, "DELETE FROM T WHERE ID = 7").await;
    assert!(run(&engine, &mut s, q).await.contains("| 2 | 2 |"), "deleted rows are gone");

    // Statements differing only in compared literals share one plan, each with its own values.
    let hits = s.plans.hits;
    assert!(run(&engine, &mut s, "SELECT COUNT(*) AS N, MAX(ID) AS M FROM T WHERE ID > 1").await.contains("| 1 | 2 |"));
    assert!(run(&engine, &mut s, "SELECT COUNT(*) AS N, MAX(ID) AS M FROM T WHERE ID > 5").await.contains("| 0 |   |"));
    assert!(run(&engine, &mut s, "SELECT COUNT(*) AS N, MAX(ID) AS M FROM T WHERE ID > -1").await.contains("| 2 | 2 |"));
    assert_eq!(s.plans.hits, hits + 3);
    assert!(run(&engine, &mut s, "SELECT COUNT(*) AS N FROM T WHERE ID BETWEEN 2 AND 9 OR ID = '1'").await.contains("| 2 |"));
    assert!(run(&engine, &mut s, "SELECT COUNT(*) AS N FROM T WHERE ID BETWEEN 2 AND 9 OR ID = '7'").await.contains("| 1 |"));
    assert!(run(&engine, &mut s, "SELECT COUNT(*) AS N FROM T WHERE ID > 1.5").await.contains("| 1 |"), "decimal literals stay in the text");
    let err = engine.execute(&mut s, "SELECT COUNT(*) AS N FROM T WHERE ID = 'x'", &CancellationToken::new()).await.unwrap_err();
    assert!(err.message.contains("'x'"), "{err}");

    // DDL changes the shape: the plan is rebuilt.
    run(&engine, &mut s, "ALTER TABLE T ADD COLUMN NAME VARCHAR").await;
    run(&engine, &mut s, "INSERT INTO T VALUES (3, 'c')").await;
    let star = run(&engine, &mut s, "SELECT * FROM T ORDER BY ID").await;
    assert!(star.contains("NAME") && star.contains("| 3  | c    |"), "{star}");

    // A transaction's own changes are visible through a cached plan.
    run(&engine, &mut s, "BEGIN").await;
    run(&engine, &mut s, "INSERT INTO T VALUES (100, 'x')").await;
    assert!(run(&engine, &mut s, q).await.contains("| 4 | 100 |"));
    run(&engine, &mut s, "ROLLBACK").await;
    assert!(run(&engine, &mut s, q).await.contains("| 3 | 3 |"));

    // The same text in another database is another plan.
    for stmt in ["CREATE DATABASE D2", "CREATE TABLE T (ID INT)", "INSERT INTO T VALUES (42)"] {
        run(&engine, &mut s, stmt).await;
    }
    assert!(run(&engine, &mut s, q).await.contains("| 1 | 42 |"));
    run(&engine, &mut s, "USE DATABASE D1").await;
    assert!(run(&engine, &mut s, q).await.contains("| 3 | 3 |"));

    // Time-dependent queries are planned each time.
    let hits = s.plans.hits;
    let a = run(&engine, &mut s, "SELECT CURRENT_TIMESTAMP() AS TS FROM T LIMIT 1").await;
    std::thread::sleep(std::time::Duration::from_millis(5));
    let b = run(&engine, &mut s, "SELECT CURRENT_TIMESTAMP() AS TS FROM T LIMIT 1").await;
    assert_ne!(a, b);
    assert_eq!(s.plans.hits, hits);
}
