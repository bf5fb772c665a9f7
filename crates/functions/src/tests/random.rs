//! Tests for RANDOM, UNIFORM, NORMAL, UUID_STRING.

use super::harness::*;

#[tokio::test]
async fn uniform_range_and_determinism() {
    let c = ctx();
    let r = rows(&c, "select uniform(1, 10, 42) a, uniform(1, 10, 42) b").await.unwrap();
    assert_eq!(r[0][0], r[0][1]);
    let r = rows(
        &c,
        "select min(u), max(u), count(distinct u) from (select uniform(1, 10, random()) u from generator(10000))",
    )
    .await
    .unwrap();
    assert_eq!(r, vec![vec!["1", "10", "10"]]);
    let r = rows(
        &c,
        "select min(u) >= 0.5, max(u) < 1.5 from (select uniform(0.5::double, 1.5::double, random()) u from generator(1000))",
    )
    .await
    .unwrap();
    assert_eq!(r, vec![vec!["true", "true"]]);
    assert_eq!(type_of("select uniform(1, 10, 3)").await, "Int64");
    assert_eq!(type_of("select uniform(1, 10.5::double, 3)").await, "Float64");
}

#[tokio::test]
async fn volatile_per_row() {
    let c = ctx();
    let r = rows(&c, "select count(distinct r) from (select random() r from generator(1000))").await.unwrap();
    assert_eq!(r, vec![vec!["1000"]]);
    let r = rows(&c, "select count(distinct u), min(length(u)) from (select uuid_string() u from generator(1000))")
        .await
        .unwrap();
    assert_eq!(r, vec![vec!["1000", "36"]]);
    let a = rows(&c, "select sum(random(7) % 1000) from generator(100)").await.unwrap();
    let b = rows(&c, "select sum(random(7) % 1000) from generator(100)").await.unwrap();
    assert_eq!(a, b);
    let r = rows(&c, "select abs(avg(normal(0, 1, random()))) < 0.1 from generator(10000)").await.unwrap();
    assert_eq!(r, vec![vec!["true"]]);
    assert_eq!(type_of("select random()").await, "Int64");
}
