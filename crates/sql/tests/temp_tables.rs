//! Temporary tables belong to their session: invisible to others, shadowing a permanent table of the
//! same name, dropped with the session.

use datafusion::arrow::util::pretty::pretty_format_batches;
use floe_sql as sql;
use sql::{Engine, EngineConfig, Session};
use tokio_util::sync::CancellationToken;

async fn run(engine: &Engine, session: &mut Session, text: &str) -> Result<String, model::SfError> {
    let mut results = engine.execute(session, text, &CancellationToken::new()).await?;
    Ok(pretty_format_batches(&results.pop().unwrap().batches).unwrap().to_string())
}

fn session(id: u64) -> Session {
    Session { id, user: "ADMIN".into(), role: "ACCOUNTADMIN".into(), database: Some("D".into()), schema: Some("PUBLIC".into()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_tables_are_private_and_shadow() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(store::Store::open(dir.path(), 64 << 20).unwrap(), EngineConfig::default()).unwrap();
    let (mut s1, mut s2) = (session(1), session(2));
    for stmt in ["CREATE DATABASE D", "CREATE TABLE T (ID INT)", "INSERT INTO T VALUES (1)"] {
        run(&engine, &mut s1, stmt).await.unwrap();
    }
    let created = run(&engine, &mut s1, "CREATE TEMPORARY TABLE T (ID INT, NOTE VARCHAR)").await.unwrap();
    assert!(created.contains("Table T successfully created."), "{created}");
    run(&engine, &mut s1, "INSERT INTO T VALUES (10, 'a'), (20, 'b')").await.unwrap();
    run(&engine, &mut s1, "CREATE TEMP TABLE SCRATCH (X INT)").await.unwrap();

    // The owner sees its temporary table under the plain name, with qualified column references.
    assert!(run(&engine, &mut s1, "SELECT COUNT(*) AS N, MAX(T.ID) AS M FROM T").await.unwrap().contains("| 2 | 20 |"));
    assert!(run(&engine, &mut s1, "SELECT COUNT(*) AS N FROM D.PUBLIC.T WHERE T.NOTE = 'b'").await.unwrap().contains("| 1 |"));
    let shown = run(&engine, &mut s1, "SHOW TABLES").await.unwrap();
    assert!(shown.contains("TEMPORARY") && shown.contains("SCRATCH"), "{shown}");
    assert!(!shown.contains('\u{1e}'), "{shown}");

    // Another session sees the permanent table only.
    assert!(run(&engine, &mut s2, "SELECT COUNT(*) AS N, MAX(ID) AS M FROM T").await.unwrap().contains("| 1 | 1 |"));
    let err = run(&engine, &mut s2, "SELECT * FROM SCRATCH").await.unwrap_err();
    assert_eq!(err.code, "002003", "{err}");
    let err = run(&engine, &mut s2, "DROP TABLE SCRATCH").await.unwrap_err();
    assert_eq!(err.code, "002003", "{err}");
    let shown = run(&engine, &mut s2, "SHOW TABLES").await.unwrap();
    assert!(!shown.contains("SCRATCH") && !shown.contains("TEMPORARY"), "{shown}");
    run(&engine, &mut s2, "INSERT INTO T VALUES (2)").await.unwrap();

    // DML and DDL in the owner reach the temporary table first.
    run(&engine, &mut s1, "UPDATE T SET ID = ID + 1").await.unwrap();
    run(&engine, &mut s1, "ALTER TABLE SCRATCH RENAME TO SCRATCH2").await.unwrap();
    assert!(run(&engine, &mut s1, "SHOW TABLES LIKE 'SCRATCH%'").await.unwrap().contains("SCRATCH2"));
    assert!(run(&engine, &mut s2, "SELECT * FROM SCRATCH2").await.is_err());
    run(&engine, &mut s1, "DROP TABLE T").await.unwrap();
    assert!(run(&engine, &mut s1, "SELECT COUNT(*) AS N, MAX(ID) AS M FROM T").await.unwrap().contains("| 2 | 2 |"), "the permanent table is back");

    // Closing the session drops what is left.
    engine.close_session(&mut s1);
    let mut s3 = session(3);
    let shown = run(&engine, &mut s3, "SHOW TABLES").await.unwrap();
    assert!(!shown.contains("SCRATCH"), "{shown}");
    assert!(engine.store().snapshot().databases["D"].schemas["PUBLIC"].tables.len() == 1);
}
