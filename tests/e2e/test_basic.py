"""Basic SQL through the real Python connector: types, metadata, DML counts, errors, session state."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal

import pytest
from snowflake.connector.errors import ProgrammingError

from conftest import norm_ws


def col_index(cursor, name: str) -> int:
    """Index of a result column by case-insensitive name (SHOW output uses lower-case names)."""
    names = [d[0].lower() for d in cursor.description]
    assert name.lower() in names, f"no column {name!r} in {names}"
    return names.index(name.lower())


def test_connect_and_select_literal(conn):
    cur = conn.cursor()
    cur.execute("select 1 + 1 as two, 'floe' as name")
    assert cur.fetchall() == [(2, "floe")]
    assert [d[0] for d in cur.description] == ["TWO", "NAME"]


def test_wrong_password_is_rejected(server):
    import snowflake.connector
    with pytest.raises(snowflake.connector.errors.DatabaseError):
        server.connect(password="not-the-password", login_timeout=30)
    with pytest.raises(snowflake.connector.errors.DatabaseError):
        server.connect(user="NOBODY", login_timeout=30)


def test_create_database_schema_table_and_qualified_names(server, conn):
    cur = conn.cursor()
    cur.execute("create database e2e_ddl")
    cur.execute("create schema e2e_ddl.sales")
    cur.execute("create table e2e_ddl.sales.orders (id int, amount number(10,2))")
    cur.execute("insert into e2e_ddl.sales.orders values (1, 9.99), (2, 100.50)")
    # A second connection resolves the same fully-qualified name.
    other = server.connect()
    rows = other.cursor().execute("select id, amount from e2e_ddl.sales.orders order by id").fetchall()
    assert rows == [(1, Decimal("9.99")), (2, Decimal("100.50"))]
    # ... and the table is visible through the session's database/schema.
    other.cursor().execute("use schema e2e_ddl.sales")
    assert other.cursor().execute("select count(*) from orders").fetchall() == [(2,)]


TYPED_TABLE = """
create or replace table typed (
    i int, n number(10,2), f float, s varchar, b boolean, d date, ts timestamp_ntz, v variant
)"""


def test_type_round_trip(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute(TYPED_TABLE)
    # VALUES cannot hold PARSE_JSON in Snowflake: INSERT ... SELECT.
    cur.execute("""
        insert into typed
        select 42, 12345678.91, 1.5, 'héllo, wörld', true, '2024-02-29'::date,
               '2024-02-29 13:45:01.123456'::timestamp_ntz, parse_json('{"a": [1, 2, {"b": null}], "c": "x"}')
    """)
    assert cur.rowcount == 1
    cur.execute("""
        insert into typed
        select -7, -0.05, -2.25e-3, '', false, '1969-07-20'::date,
               '1999-12-31 23:59:59'::timestamp_ntz, parse_json('[]')
    """)
    cur.execute("insert into typed (i) values (0)")  # every other column NULL

    cur.execute("select i, n, f, s, b, d, ts, v from typed order by i")
    rows = cur.fetchall()
    assert [d[0] for d in cur.description] == ["I", "N", "F", "S", "B", "D", "TS", "V"]
    assert len(rows) == 3
    neg, null_row, pos = rows

    assert pos[:7] == (42, Decimal("12345678.91"), 1.5, "héllo, wörld", True,
                       datetime.date(2024, 2, 29), datetime.datetime(2024, 2, 29, 13, 45, 1, 123456))
    assert type(pos[0]) is int
    assert isinstance(pos[1], Decimal)
    assert type(pos[2]) is float
    assert type(pos[6]) is datetime.datetime and pos[6].tzinfo is None
    assert isinstance(pos[7], str), f"VARIANT should come back as JSON text, got {type(pos[7])}"
    assert json.loads(pos[7]) == {"a": [1, 2, {"b": None}], "c": "x"}

    assert neg[:7] == (-7, Decimal("-0.05"), -0.00225, "", False, datetime.date(1969, 7, 20),
                       datetime.datetime(1999, 12, 31, 23, 59, 59))
    assert isinstance(neg[7], str) and json.loads(neg[7]) == []

    assert null_row == (0, None, None, None, None, None, None, None)


def test_description_types(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute(TYPED_TABLE)
    cur.execute("select * from typed")
    from snowflake.connector.constants import FIELD_ID_TO_NAME  # type: ignore
    kinds = [FIELD_ID_TO_NAME[d[1]] for d in cur.description]
    assert kinds == ["FIXED", "FIXED", "REAL", "TEXT", "BOOLEAN", "DATE", "TIMESTAMP_NTZ", "VARIANT"]
    n = cur.description[1]
    assert (n[4], n[5]) == (10, 2), f"NUMBER(10,2) precision/scale: {n}"
    assert cur.description[0][5] == 0  # INT is NUMBER(38,0)


def test_unquoted_identifiers_are_upper_case(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("create table MixedCase (someId int, \"quotedLower\" int)")
    cur.execute("insert into mixedcase values (1, 2)")
    cur.execute("select someid, \"quotedLower\" from MIXEDCASE")
    assert [d[0] for d in cur.description] == ["SOMEID", "quotedLower"]
    assert cur.fetchall() == [(1, 2)]
    cur.execute("show tables")
    names = [r[col_index(cur, "name")] for r in cur.fetchall()]
    assert "MIXEDCASE" in names


def test_dml_rowcounts(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("create table items (id int, qty int)")
    cur.execute("insert into items values (1, 10), (2, 20), (3, 30)")
    assert cur.rowcount == 3
    assert cur.description[0][0] == "number of rows inserted"
    assert cur.fetchall() == [(3,)]

    cur.execute("insert into items select id + 10, qty from items")
    assert cur.rowcount == 3

    cur.execute("update items set qty = qty + 1 where id <= 2")
    assert cur.rowcount == 2
    cur.execute("update items set qty = 0 where id = 999")
    assert cur.rowcount == 0

    cur.execute("delete from items where id = 3")
    assert cur.rowcount == 1
    cur.execute("delete from items where id > 10")
    assert cur.rowcount == 3

    cur.execute("select id, qty from items order by id")
    assert cur.fetchall() == [(1, 11), (2, 21)]


def test_merge(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("create table target (id int, v varchar)")
    cur.execute("insert into target values (1, 'old1'), (2, 'old2')")
    cur.execute("create table source (id int, v varchar)")
    cur.execute("insert into source values (2, 'new2'), (3, 'new3')")
    cur.execute("""
        merge into target t using source s on t.id = s.id
        when matched then update set v = s.v
        when not matched then insert (id, v) values (s.id, s.v)
    """)
    assert cur.rowcount == 2
    cur.execute("select id, v from target order by id")
    assert cur.fetchall() == [(1, "old1"), (2, "new2"), (3, "new3")]


def test_missing_table_error(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    with pytest.raises(ProgrammingError) as info:
        cur.execute("select * from no_such_table")
    e = info.value
    assert e.errno == 2003
    assert e.sqlstate == "42S02"
    assert "SQL compilation error: Object 'NO_SUCH_TABLE' does not exist or not authorized." in norm_ws(e.msg)
    # The connection stays usable after an error.
    assert cur.execute("select 7").fetchall() == [(7,)]


def test_syntax_error(conn):
    cur = conn.cursor()
    with pytest.raises(ProgrammingError) as info:
        cur.execute("select * fromm nowhere where")
    e = info.value
    assert e.errno == 1003
    assert e.sqlstate == "42000"
    assert re.search(r"line 1 at position \d+", e.msg), e.msg
    assert "syntax error" in e.msg.lower()
    assert cur.execute("select 8").fetchall() == [(8,)]


def test_context_functions_and_use(server):
    conn = server.connect()
    cur = conn.cursor()
    cur.execute("create database e2e_ctx")
    cur.execute("create schema e2e_ctx.s1")
    cur.execute("use database e2e_ctx")
    cur.execute("select current_database(), current_schema(), current_user(), current_role()")
    assert cur.fetchall() == [("E2E_CTX", "PUBLIC", "ADMIN", "ACCOUNTADMIN")]
    cur.execute("use schema s1")
    cur.execute("select current_database(), current_schema()")
    assert cur.fetchall() == [("E2E_CTX", "S1")]
    # Unqualified names now resolve in E2E_CTX.S1.
    cur.execute("create table here (x int)")
    cur.execute("show tables in schema e2e_ctx.s1")
    assert "HERE" in [r[col_index(cur, "name")] for r in cur.fetchall()]


def test_connect_with_database_and_schema(server, db):
    setup = server.connect()
    setup.cursor().execute(f"create schema {db}.inner_s")
    conn = server.connect(database=db.lower(), schema="inner_s")
    cur = conn.cursor()
    cur.execute("select current_database(), current_schema()")
    assert cur.fetchall() == [(db, "INNER_S")]


def test_session_parameter_query_tag(conn):
    cur = conn.cursor()
    cur.execute("alter session set query_tag = 'x'")
    cur.execute("show parameters like 'QUERY_TAG' in session")
    rows = cur.fetchall()
    assert len(rows) == 1, rows
    row = rows[0]
    assert row[col_index(cur, "key")] == "QUERY_TAG"
    assert row[col_index(cur, "value")] == "x"
    assert row[col_index(cur, "level")] == "SESSION"
    cur.execute("alter session set query_tag = 'second tag'")
    cur.execute("show parameters like 'query_tag' in session")
    rows = cur.fetchall()
    assert [r[col_index(cur, "value")] for r in rows] == ["second tag"]


def test_session_state_is_per_connection(server):
    a = server.connect()
    b = server.connect()
    a.cursor().execute("alter session set query_tag = 'only-a'")
    cur = b.cursor()
    cur.execute("show parameters like 'QUERY_TAG' in session")
    values = [r[col_index(cur, "value")] for r in cur.fetchall()]
    assert values != ["only-a"]


def test_show_tables(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("create table alpha (x int)")
    cur.execute("create table beta (y varchar)")
    cur.execute("show tables")
    rows = cur.fetchall()
    names = sorted(r[col_index(cur, "name")] for r in rows)
    assert names == ["ALPHA", "BETA"]
    assert {r[col_index(cur, "database_name")] for r in rows} == {db}
    assert {r[col_index(cur, "schema_name")] for r in rows} == {"PUBLIC"}


def test_create_or_replace_table(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("create table r (x int)")
    cur.execute("insert into r values (1), (2)")
    cur.execute("create or replace table r (x int, y varchar)")
    assert cur.execute("select count(*) from r").fetchall() == [(0,)]
    cur.execute("insert into r values (3, 'c')")
    assert cur.execute("select x, y from r").fetchall() == [(3, "c")]


def test_long_result_fetched_completely(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    n = 100_000
    cur.execute(f"select seq4() as n, 'row-' || seq4() as s from table(generator(rowcount => {n}))")
    assert [d[0] for d in cur.description] == ["N", "S"]
    seen = 0
    ids = set()
    while True:
        batch = cur.fetchmany(10_000)
        if not batch:
            break
        for num, s in batch:
            assert s == f"row-{num}"
            ids.add(num)
        seen += len(batch)
    assert seen == n
    assert ids == set(range(n))


def test_long_result_from_table(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    n = 100_000
    cur.execute("create table wide (id int, pad varchar)")
    cur.execute(f"insert into wide select seq4(), repeat('p', 100) from table(generator(rowcount => {n}))")
    assert cur.rowcount == n
    rows = cur.execute("select id, pad from wide order by id").fetchall()
    assert len(rows) == n
    assert [r[0] for r in rows] == list(range(n))
    assert all(r[1] == "p" * 100 for r in rows)


def test_temporary_table_is_dropped_when_its_session_ends(server, db):
    first = server.connect(database=db, schema="PUBLIC")
    cur = first.cursor()
    cur.execute("create temporary table scratch (id int)")
    cur.execute("insert into scratch values (1), (2)")
    assert cur.execute("select count(*) from scratch").fetchall() == [(2,)]
    kinds = {row[1]: row[4] for row in cur.execute("show tables").fetchall()}
    assert kinds.get("SCRATCH") == "TEMPORARY", kinds
    first.close()
    second = server.connect(database=db, schema="PUBLIC")
    names = [row[1] for row in second.cursor().execute("show tables").fetchall()]
    assert "SCRATCH" not in names, names
    second.close()
