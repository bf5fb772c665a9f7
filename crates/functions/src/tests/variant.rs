//! Tests for PARSE_JSON, OBJECT_CONSTRUCT, GET / GET_PATH, TYPEOF and friends.

use super::harness::*;

const NESTED: &str = r#"parse_json('{"a": {"b": [1, {"c": "x"}]}, "k": null}')"#;

#[tokio::test]
async fn parse_json_canonical() {
    assert_eq!(one("select parse_json('  {\"b\": 1, \"a\": [1, 2 ,3]} ')").await, "{\"a\":[1,2,3],\"b\":1}");
    assert_eq!(one("select parse_json(null)").await, "NULL");
    assert_eq!(one("select try_parse_json('{')").await, "NULL");
    assert_eq!(type_of("select parse_json('1')").await, "LargeUtf8");
    let e = err("select parse_json('{bad')").await;
    let sf = crate::find_sf_error(&e).unwrap();
    assert_eq!((sf.code, sf.sql_state), ("100069", "22P02"));
    assert!(sf.message.starts_with("Error parsing JSON:"), "{}", sf.message);
    assert_eq!(one("select check_json('{}')").await, "NULL");
    assert!(one("select check_json('{')").await.starts_with("Error parsing JSON"));
}

#[tokio::test]
async fn get_and_get_path() {
    assert_eq!(one(&format!("select get_path({NESTED}, 'a.b[1].c')")).await, "\"x\"");
    assert_eq!(one(&format!("select get_path({NESTED}, 'a.b[0]')")).await, "1");
    assert_eq!(one(&format!("select get_path({NESTED}, 'a[''b''][1][\"c\"]')")).await, "\"x\"");
    assert_eq!(one(&format!("select get_path({NESTED}, 'a.zz')")).await, "NULL");
    assert_eq!(one(&format!("select get({NESTED}, 'k')")).await, "null");
    assert_eq!(one(&format!("select get(get({NESTED}, 'a'), 'b')")).await, "[1,{\"c\":\"x\"}]");
    assert_eq!(one("select get(parse_json('[1,2,3]'), 1)").await, "2");
    assert_eq!(one("select get(parse_json('[1]'), 5)").await, "NULL");
    assert_eq!(one("select get_path(parse_json('{\"a b\": {\"c\": 1}}'), '\"a b\".c')").await, "1");
}

#[tokio::test]
async fn object_construct_skips_nulls() {
    assert_eq!(one("select object_construct('a', 1, 'b', null, 'c', 'x')").await, "{\"a\":1,\"c\":\"x\"}");
    assert_eq!(one("select object_construct_keep_null('a', 1, 'b', null)").await, "{\"a\":1,\"b\":null}");
    assert_eq!(one("select object_construct()").await, "{}");
    assert_eq!(
        one("select object_construct('d', '2024-01-02'::date, 't', '2024-01-02 03:04:05'::timestamp, 'v', parse_json('[1]'))")
            .await,
        "{\"d\":\"2024-01-02\",\"t\":\"2024-01-02 03:04:05.000\",\"v\":[1]}"
    );
    assert_eq!(one("select object_construct('a', parse_json('null'))").await, "{\"a\":null}");
    let r = rows(&ctx(), "select object_construct('x', x) from (values (1), (null)) t(x)").await.unwrap();
    assert_eq!(r, vec![vec!["{\"x\":1}"], vec!["{}"]]);
}

#[tokio::test]
async fn object_helpers() {
    assert_eq!(one("select object_keys(parse_json('{\"b\":1,\"a\":2}'))").await, "[\"a\",\"b\"]");
    assert_eq!(one("select object_insert(parse_json('{\"a\":1}'), 'b', 2)").await, "{\"a\":1,\"b\":2}");
    assert_eq!(one("select object_delete(parse_json('{\"a\":1,\"b\":2}'), 'a')").await, "{\"b\":2}");
    assert_eq!(one("select array_construct(1, 'a', null, 2.5)").await, "[1,\"a\",null,2.5]");
    assert_eq!(one("select array_construct_compact(1, null, 2)").await, "[1,2]");
}

#[tokio::test]
async fn type_inspection() {
    let q = "select typeof(parse_json('1')), typeof(parse_json('1.5')), typeof(parse_json('\"s\"')), \
             typeof(parse_json('null')), typeof(parse_json('[]')), typeof(parse_json('{}')), \
             typeof(parse_json('true')), typeof(parse_json('1e300'))";
    let r = rows(&ctx(), q).await.unwrap();
    assert_eq!(r[0], ["INTEGER", "DECIMAL", "VARCHAR", "NULL_VALUE", "ARRAY", "OBJECT", "BOOLEAN", "DOUBLE"]);
    assert_eq!(one("select typeof(null::varchar)").await, "NULL");
    assert_eq!(one("select is_object(parse_json('{}'))").await, "true");
    assert_eq!(one("select is_array(parse_json('{}'))").await, "false");
    assert_eq!(one("select is_null_value(parse_json('null'))").await, "true");
    assert_eq!(one("select is_null_value(null::varchar)").await, "NULL");
    assert_eq!(one("select as_varchar(parse_json('\"a\"'))").await, "a");
    assert_eq!(one("select as_integer(parse_json('5'))").await, "5");
}
