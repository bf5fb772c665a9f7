//! Tests for the REGEXP_* functions.

use super::harness::*;

#[tokio::test]
async fn substr_instr_count() {
    assert_eq!(one("select regexp_substr('abc123def456', '[0-9]+')").await, "123");
    assert_eq!(one("select regexp_substr('abc123def456', '[0-9]+', 1, 2)").await, "456");
    assert_eq!(one("select regexp_substr('abc', '[0-9]+')").await, "NULL");
    assert_eq!(one(r"select regexp_substr('key=val', '(\w+)=(\w+)', 1, 1, 'e', 2)").await, "val");
    assert_eq!(one(r"select regexp_substr('key=val', '(\w+)=(\w+)', 1, 1, 'e')").await, "key");
    assert_eq!(one("select regexp_instr('abc123', '[0-9]')").await, "4");
    assert_eq!(one("select regexp_instr('abc123', '[0-9]+', 1, 1, 1)").await, "7");
    assert_eq!(one("select regexp_instr('abc', 'z')").await, "0");
    assert_eq!(one("select regexp_count('a1b2c3', '[0-9]')").await, "3");
    assert_eq!(one("select regexp_count('ababab', 'ab', 3)").await, "2");
    assert_eq!(one("select regexp_substr_all('a1b22c333', '[0-9]+')").await, "[\"1\",\"22\",\"333\"]");
}

#[tokio::test]
async fn replace_all_with_backrefs() {
    assert_eq!(one("select regexp_replace('a1b2', '[0-9]', 'X')").await, "aXbX");
    assert_eq!(one("select regexp_replace('a1b2', '[0-9]')").await, "ab");
    assert_eq!(one(r"select regexp_replace('John Smith', '(\w+) (\w+)', '\2, \1')").await, "Smith, John");
    assert_eq!(one("select regexp_replace('aaa', 'a', 'b', 1, 2)").await, "aba");
    assert_eq!(one("select regexp_replace('abcabc', 'b', '', 3)").await, "abcac");
    assert_eq!(one("select regexp_replace('a$b', '[$]', '$x')").await, "a$xb");
}

#[tokio::test]
async fn like_is_anchored() {
    assert_eq!(one("select regexp_like('abc', 'b')").await, "false");
    assert_eq!(one("select regexp_like('abc', 'a.c')").await, "true");
    assert_eq!(one("select regexp_like('abc', 'a|abc')").await, "true");
    assert_eq!(one("select rlike('ABC', 'abc', 'i')").await, "true");
    assert_eq!(one("select regexp_like('a\nb', 'a.b', 's')").await, "true");
    assert_eq!(one("select regexp_like('a\nb', 'a.b')").await, "false");
    assert_eq!(err_code("select regexp_like('abc', '(')").await, "100048");
}
