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

#[tokio::test]
#[ignore]
async fn perf_probe() {
    let c = ctx();
    for q in [
        "select count(*) from generator(10000000)",
        "select count(to_varchar(\"__FLOE_SEQ\")) from generator(10000000)",
        "select sum(uniform(1, 10, random())) from generator(10000000)",
        "select count(dateadd('day', \"__FLOE_SEQ\" % 1000, '2024-01-01'::date)) from generator(10000000)",
        "select count(object_construct('a', \"__FLOE_SEQ\")) from generator(1000000)",
        "select array_size(array_agg(\"__FLOE_SEQ\")) from generator(1000000)",
        "select count(*) from (select \"__FLOE_SEQ\" % 1000 g, count_if(\"__FLOE_SEQ\" % 2 = 0) from generator(10000000) group by 1)",
        "select sum(x) from (select array_size(array_agg(\"__FLOE_SEQ\") over (order by \"__FLOE_SEQ\" rows between 2 preceding and current row)) x from generator(1000))",
    ] {
        let t = std::time::Instant::now();
        let r = rows(&c, q).await;
        println!("{:?} {q} => {:?}", t.elapsed(), r.map(|r| r[0].clone()));
    }
}
