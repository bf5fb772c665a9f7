//! Tests for the string functions.

use super::harness::*;

#[tokio::test]
async fn search() {
    assert_eq!(one("select contains('hello', 'ell')").await, "true");
    assert_eq!(one("select startswith('hello', 'he')").await, "true");
    assert_eq!(one("select endswith('hello', 'xlo')").await, "false");
    assert_eq!(one("select contains(null, 'x')").await, "NULL");
    assert_eq!(one("select charindex('l', 'hello')").await, "3");
    assert_eq!(one("select charindex('l', 'hello', 4)").await, "4");
    assert_eq!(one("select charindex('z', 'hello')").await, "0");
}

#[tokio::test]
async fn editing() {
    assert_eq!(one("select insert('abcdef', 3, 2, 'XY')").await, "abXYef");
    assert_eq!(one("select len('héllo')").await, "5");
    assert_eq!(one("select strtok('a.b.c', '.', 2)").await, "b");
    assert_eq!(one("select strtok('  a  b ', ' ', 2)").await, "b");
    assert_eq!(one("select strtok('a.b', '.', 5)").await, "NULL");
    assert_eq!(one("select strtok_to_array('a,b;c', ',;')").await, "[\"a\",\"b\",\"c\"]");
    assert_eq!(one("select split_part('a,b,c', ',', -1)").await, "c");
    assert_eq!(one("select split_part('a,b,c', ',', 0)").await, "a");
    assert_eq!(one("select split_part('a,b,c', ',', 9)").await, "");
    assert_eq!(one("select replace('abcb', 'b')").await, "ac");
    assert_eq!(one("select concat('a', null)").await, "NULL");
    assert_eq!(one("select concat('a', 'b', 1)").await, "ab1");
    assert_eq!(one("select concat_ws('-', 'a', 'b')").await, "a-b");
}

#[tokio::test]
async fn sha2_hex() {
    assert_eq!(
        one("select sha2('abc')").await,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(one("select length(sha2('abc', 512))").await, "128");
    assert_eq!(one("select sha2(null)").await, "NULL");
}
