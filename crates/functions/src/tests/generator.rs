//! Tests for the GENERATOR table function.

use super::harness::*;

#[tokio::test]
async fn counts_and_values() {
    let c = ctx();
    let r = rows(&c, "select count(*), min(\"__FLOE_SEQ\"), max(\"__FLOE_SEQ\") from generator(1000000)")
        .await
        .unwrap();
    assert_eq!(r, vec![vec!["1000000", "0", "999999"]]);
    assert_eq!(rows(&c, "select count(*) from generator(0)").await.unwrap(), vec![vec!["0"]]);
    assert_eq!(
        rows(&c, "select * from generator(3)").await.unwrap(),
        vec![vec!["0"], vec!["1"], vec!["2"]]
    );
    assert_eq!(
        rows(&c, "select \"__FLOE_SEQ\" from generator(100000) limit 2").await.unwrap(),
        vec![vec!["0"], vec!["1"]]
    );
    // Empty projection: only the row count matters.
    assert_eq!(rows(&c, "select 1 from generator(5)").await.unwrap().len(), 5);
}

#[tokio::test]
async fn ten_million_rows_stream() {
    let c = ctx();
    let r = rows(&c, "select count(*), sum(\"__FLOE_SEQ\") from generator(10000000)").await.unwrap();
    assert_eq!(r, vec![vec!["10000000", "49999995000000"]]);
}

#[tokio::test]
async fn bad_arguments() {
    let c = ctx();
    assert!(rows(&c, "select * from generator(-1)").await.is_err());
    assert!(rows(&c, "select * from generator()").await.is_err());
}

