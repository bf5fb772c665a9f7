//! Tests for the TO_* conversion functions.

use super::harness::*;

#[tokio::test]
async fn to_varchar_defaults() {
    assert_eq!(one("select to_varchar(1.5::double)").await, "1.5");
    assert_eq!(one("select to_varchar(2::double)").await, "2");
    assert_eq!(one("select to_varchar(0.1::double + 0.2::double)").await, "0.3");
    assert_eq!(one("select to_varchar(1e20::double)").await, "1e+20");
    assert_eq!(one("select to_varchar(12345.678::decimal(10,3))").await, "12345.678");
    assert_eq!(one("select to_varchar('2024-01-02'::date)").await, "2024-01-02");
    assert_eq!(one("select to_char('2024-01-02 03:04:05'::timestamp)").await, "2024-01-02 03:04:05.000");
    assert_eq!(one("select to_varchar(parse_json('\"abc\"'))").await, "abc");
    assert_eq!(one("select to_varchar(parse_json('{\"a\":1}'))").await, "{\"a\":1}");
    assert_eq!(one("select to_varchar(true)").await, "true");
}

#[tokio::test]
async fn to_varchar_formats() {
    assert_eq!(
        one("select to_varchar('2024-01-02 15:04:05'::timestamp, 'DD/MM/YYYY HH12:MI AM')").await,
        "02/01/2024 03:04 PM"
    );
    assert_eq!(one("select to_varchar('2024-03-05'::date, 'MON DD, YYYY')").await, "Mar 05, 2024");
    assert_eq!(
        one("select to_varchar('2024-03-05 14:05:06.789'::timestamp, 'YYYY-MM-DD\"T\"HH24:MI:SS.FF3')").await,
        "2024-03-05T14:05:06.789"
    );
    assert_eq!(one("select to_char(123.456, '999,999.00')").await, "     123.46");
    assert_eq!(one("select to_char(-12.5, 'FM999.00')").await, "-12.50");
}

#[tokio::test]
async fn to_number_rounds_and_scales() {
    assert_eq!(one("select to_number('12.5')").await, "13");
    assert_eq!(one("select to_number('-2.5')").await, "-3");
    assert_eq!(one("select to_number('12.345', 10, 2)").await, "12.35");
    assert_eq!(type_of("select to_number('12.345', 10, 2)").await, "Decimal128(10, 2)");
    assert_eq!(type_of("select to_decimal('12')").await, "Int64");
    assert_eq!(one("select to_numeric(12.5::double)").await, "13");
    assert_eq!(one("select to_number(' 42 ')").await, "42");
    assert_eq!(one("select to_number('1,234', '9,999')").await, "1234");
    assert_eq!(one("select to_number(parse_json('\"7.6\"'))").await, "8");
    assert_eq!(one("select try_to_number('abc')").await, "NULL");
    assert_eq!(one("select try_to_decimal('1.5', 5, 1)").await, "1.5");
}

#[tokio::test]
async fn to_number_errors_carry_codes() {
    assert_eq!(err_code("select to_number('abc')").await, "100038");
    let e = err("select to_number('abc')").await;
    let sf = crate::find_sf_error(&e).unwrap();
    assert_eq!(sf.sql_state, "22018");
    assert_eq!(sf.message, "Numeric value 'abc' is not recognized");
    assert_eq!(err_code("select to_number('123456', 5, 0)").await, "100039");
    assert_eq!(err_code("select to_double('x1')").await, "100038");
    assert_eq!(err_code("select to_boolean('maybe')").await, "100037");
}

#[tokio::test]
async fn to_double_and_boolean() {
    assert_eq!(one("select to_double('1.5e3')").await, "1500.0");
    assert_eq!(one("select try_to_double('nope')").await, "NULL");
    assert_eq!(one("select to_boolean('yes')").await, "true");
    assert_eq!(one("select to_boolean('OFF')").await, "false");
    assert_eq!(one("select to_boolean(0)").await, "false");
    assert_eq!(one("select to_boolean(2.5::double)").await, "true");
    assert_eq!(one("select try_to_boolean('maybe')").await, "NULL");
}

#[tokio::test]
async fn to_date_forms() {
    assert_eq!(one("select to_date('2024-01-02')").await, "2024-01-02");
    assert_eq!(one("select to_date('02/01/2024', 'DD/MM/YYYY')").await, "2024-01-02");
    assert_eq!(one("select to_date('1700000000')").await, "2023-11-14");
    assert_eq!(one("select date('2024-05-06 07:08:09')").await, "2024-05-06");
    assert_eq!(one("select to_date('2024-01-02 03:04:05'::timestamp)").await, "2024-01-02");
    assert_eq!(one("select try_to_date('nope')").await, "NULL");
    assert_eq!(err_code("select to_date('2024-13-01')").await, "100040");
}

#[tokio::test]
async fn to_timestamp_forms() {
    assert_eq!(one("select to_timestamp('2024-01-02 03:04:05.123')").await, "2024-01-02T03:04:05.123");
    // NTZ keeps the wall clock; LTZ/TZ convert to the instant.
    assert_eq!(one("select to_timestamp_ntz('2024-01-02T03:04:05+02:00')").await, "2024-01-02T03:04:05");
    assert_eq!(one("select to_timestamp_ltz('2024-01-02T03:04:05+02:00')").await, "2024-01-02T01:04:05Z");
    assert_eq!(one("select to_timestamp_tz('2024-01-02 03:04:05 -0800')").await, "2024-01-02T11:04:05Z");
    // Epoch magnitude rule: seconds, milliseconds, ...
    assert_eq!(one("select to_timestamp(1700000000)").await, "2023-11-14T22:13:20");
    assert_eq!(one("select to_timestamp(1700000000123)").await, "2023-11-14T22:13:20.123");
    assert_eq!(one("select to_timestamp('1700000000')").await, "2023-11-14T22:13:20");
    assert_eq!(one("select to_timestamp(1700000000, 3)").await, "1970-01-20T16:13:20");
    assert_eq!(one("select to_timestamp('20240102', 'YYYYMMDD')").await, "2024-01-02T00:00:00");
    assert_eq!(one("select to_timestamp('2024-01-02'::date)").await, "2024-01-02T00:00:00");
    assert_eq!(one("select try_to_timestamp('garbage')").await, "NULL");
    assert_eq!(err_code("select to_timestamp('garbage')").await, "100035");
    assert_eq!(type_of("select to_timestamp_ltz('2024-01-02')").await, "Timestamp(ns, \"+00:00\")");
}

#[tokio::test]
async fn to_time_and_variant_conversions() {
    assert_eq!(one("select to_time('13:14:15')").await, "13:14:15");
    assert_eq!(one("select to_time('1:02 PM')").await, "13:02:00");
    assert_eq!(one("select to_variant(1)").await, "1");
    assert_eq!(one("select to_variant('a')").await, "\"a\"");
    assert_eq!(one("select to_variant('2024-01-02 03:04:05'::timestamp)").await, "\"2024-01-02 03:04:05.000\"");
    assert_eq!(one("select to_variant(1.50::decimal(10,2))").await, "1.5");
    assert_eq!(type_of("select to_variant(1)").await, "LargeUtf8");
    assert_eq!(one("select to_json(parse_json('{\"b\":2,\"a\":1}'))").await, "{\"a\":1,\"b\":2}");
    assert_eq!(type_of("select to_json(parse_json('{}'))").await, "Utf8");
    assert_eq!(one("select to_array(1)").await, "[1]");
    assert_eq!(one("select to_array(parse_json('[1,2]'))").await, "[1,2]");
    assert_eq!(one("select to_object(parse_json('{\"x\":1}'))").await, "{\"x\":1}");
}
