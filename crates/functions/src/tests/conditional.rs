//! Tests for IFF, DECODE, ZEROIFNULL, NULLIFZERO, EQUAL_NULL, DIV0, GREATEST/LEAST.

use super::harness::*;

#[tokio::test]
async fn iff_is_lazy_and_typed() {
    assert_eq!(one("select iff(1 > 2, 'a', 'b')").await, "b");
    let r = rows(&ctx(), "select iff(x = 0, 0, 10 / x) from (values (0), (5)) t(x)").await.unwrap();
    assert_eq!(r, vec![vec!["0"], vec!["2"]]);
    assert_eq!(one("select iff(null, 1, 2)").await, "2");
    assert_eq!(type_of("select iff(true, 1, 2.5)").await, "Float64");
}

#[tokio::test]
async fn decode_matches_null() {
    assert_eq!(one("select decode(2, 1, 'one', 2, 'two', 'other')").await, "two");
    assert_eq!(one("select decode(null, 1, 'one', null, 'isnull', 'x')").await, "isnull");
    assert_eq!(one("select decode(3, 1, 'one')").await, "NULL");
    assert_eq!(one("select decode(3, 1, 'one', 'dflt')").await, "dflt");
    let r = rows(&ctx(), "select decode(x, 1, 'a', 2, 'b') from (values (1), (2), (3), (null)) t(x)")
        .await
        .unwrap();
    assert_eq!(r, vec![vec!["a"], vec!["b"], vec!["NULL"], vec!["NULL"]]);
}

#[tokio::test]
async fn null_helpers() {
    assert_eq!(one("select zeroifnull(null)").await, "0");
    assert_eq!(one("select zeroifnull(5)").await, "5");
    assert_eq!(one("select nullifzero(0)").await, "NULL");
    assert_eq!(one("select nullifzero(3)").await, "3");
    assert_eq!(one("select equal_null(null, null)").await, "true");
    assert_eq!(one("select equal_null(1, null)").await, "false");
    assert_eq!(one("select equal_null(2, 2)").await, "true");
    // DataFusion's own NVL family already behaves like Snowflake's.
    assert_eq!(one("select nvl2(null, 1, 2)").await, "2");
    assert_eq!(one("select ifnull(null, 'x')").await, "x");
}

#[tokio::test]
async fn div0_variants() {
    assert_eq!(one("select div0(1, 0)").await, "0.000000");
    assert_eq!(one("select div0(1, 3)").await, "0.333333");
    assert_eq!(one("select div0(-2, 3)").await, "-0.666667");
    assert_eq!(one("select div0(10::double, 4)").await, "2.5");
    assert_eq!(one("select div0(1, null)").await, "NULL");
    assert_eq!(one("select div0null(1, null)").await, "0.000000");
    assert_eq!(one("select div0null(7, 0)").await, "0.000000");
}

#[tokio::test]
async fn greatest_least_propagate_null() {
    assert_eq!(one("select greatest(1, 3, 2)").await, "3");
    assert_eq!(one("select least(1, 3.5, 2)").await, "1.0");
    assert_eq!(one("select greatest(1, null, 2)").await, "NULL");
    assert_eq!(one("select greatest_ignore_nulls(1, null, 2)").await, "2");
    assert_eq!(one("select least('b', 'a')").await, "a");
}
