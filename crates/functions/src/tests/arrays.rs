//! Tests for the ARRAY_* functions and SPLIT.

use super::harness::*;

#[tokio::test]
async fn basics() {
    assert_eq!(one("select array_size(parse_json('[1,2]'))").await, "2");
    assert_eq!(one("select array_size(parse_json('{}'))").await, "NULL");
    assert_eq!(one("select split('a,b,,c', ',')").await, "[\"a\",\"b\",\"\",\"c\"]");
    assert_eq!(one("select array_contains(2, parse_json('[1,2]'))").await, "true");
    assert_eq!(one("select array_contains('a', parse_json('[\"a\"]'))").await, "true");
    assert_eq!(one("select array_contains(3, parse_json('[1,2]'))").await, "false");
    assert_eq!(one("select array_append(parse_json('[1]'), 'x')").await, "[1,\"x\"]");
    assert_eq!(one("select array_cat(parse_json('[1]'), parse_json('[2]'))").await, "[1,2]");
    assert_eq!(one("select array_slice(parse_json('[0,1,2,3]'), 1, 3)").await, "[1,2]");
    assert_eq!(one("select array_slice(parse_json('[0,1,2,3]'), -2, 10)").await, "[2,3]");
    assert_eq!(one("select array_to_string(parse_json('[1,\"a\",null]'), '-')").await, "1-a-");
    assert_eq!(one("select array_position(2, parse_json('[1,2]'))").await, "1");
}

#[tokio::test]
async fn set_like() {
    assert_eq!(one("select array_distinct(parse_json('[1,1,2]'))").await, "[1,2]");
    assert_eq!(one("select array_intersection(parse_json('[1,1,2,3]'), parse_json('[1,1,3]'))").await, "[1,1,3]");
    assert_eq!(one("select array_except(parse_json('[1,1,2]'), parse_json('[1]'))").await, "[1,2]");
    assert_eq!(one("select arrays_overlap(parse_json('[1,2]'), parse_json('[2,3]'))").await, "true");
    assert_eq!(one("select array_remove(parse_json('[1,2,1]'), 1)").await, "[2]");
}

#[tokio::test]
async fn ordering_and_shape() {
    assert_eq!(one("select array_sort(parse_json('[3,null,1,2]'))").await, "[1,2,3,null]");
    assert_eq!(one("select array_sort(parse_json('[3,1,2]'), false)").await, "[3,2,1]");
    assert_eq!(one("select array_max(parse_json('[3,9,2]'))").await, "9");
    assert_eq!(one("select array_min(parse_json('[\"b\",\"a\"]'))").await, "\"a\"");
    assert_eq!(one("select array_reverse(parse_json('[1,2]'))").await, "[2,1]");
    assert_eq!(one("select array_insert(parse_json('[1,3]'), 1, 2)").await, "[1,2,3]");
    assert_eq!(one("select array_flatten(parse_json('[[1],[2,3]]'))").await, "[1,2,3]");
    assert_eq!(one("select array_generate_range(0, 10, 3)").await, "[0,3,6,9]");
    assert_eq!(
        one("select arrays_to_object(parse_json('[\"a\",\"b\"]'), parse_json('[1,2]'))").await,
        "{\"a\":1,\"b\":2}"
    );
}
