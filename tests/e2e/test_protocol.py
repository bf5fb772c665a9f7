"""The rest of the connector protocol through the real Python connector: Arrow results (the
connector's default), fetch_arrow_all / fetch_pandas_all, qmark and numeric bindings, executemany,
describe, multi-statement requests and async execution."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from snowflake.connector.errors import ProgrammingError


@pytest.fixture
def db(conn):
    name = "E2E_PROTO_" + uuid.uuid4().hex[:8].upper()
    cur = conn.cursor()
    cur.execute(f"create database {name}")
    yield cur
    cur.execute(f"drop database if exists {name}")


def test_results_arrive_as_arrow_with_snowflake_types(db):
    db.execute(
        "select 1::int as i, 12.50::number(10,2) as d, 'x' as s, '2024-02-29'::date as dt, "
        "'2024-02-29 12:34:56.789'::timestamp_ntz as ts, true as b, 1.5::float as f, "
        "parse_json('{\"a\": [1, 2]}') as v, null as n"
    )
    assert db._query_result_format == "arrow"
    row = db.fetchone()
    assert row[0] == 1 and row[1] == Decimal("12.50") and row[2] == "x"
    assert row[3] == datetime.date(2024, 2, 29)
    assert row[4] == datetime.datetime(2024, 2, 29, 12, 34, 56, 789000)
    assert row[5] is True and row[6] == 1.5
    assert row[7].replace(" ", "").replace("\n", "") == '{"a":[1,2]}'
    assert row[8] is None


def test_fetch_arrow_all_and_pandas(db):
    db.execute("create table big (id int, name varchar)")
    db.execute("insert into big select seq4(), 'n' || seq4() from table(generator(rowcount => 100000))")
    db.execute("select id, name from big order by id")
    table = db.fetch_arrow_all()
    assert table.num_rows == 100000
    assert table.column_names == ["ID", "NAME"]
    assert table.column("ID")[99999].as_py() == 99999
    db.execute("select id, name from big where id < 10 order by id")
    frame = db.fetch_pandas_all()
    assert list(frame["ID"]) == list(range(10))
    assert frame["NAME"][3] == "n3"


def test_qmark_and_numeric_bindings(server):
    conn = server.connect(paramstyle="qmark")
    cur = conn.cursor()
    cur.execute(
        "select ? + 1, ?, ?, ?, ?, ?, ?",
        (41, "it's", datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 3, 4, 5), True, None, 2.5),
    )
    assert cur.fetchone() == (42, "it's", datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 3, 4, 5), True, None, 2.5)
    conn2 = server.connect(paramstyle="numeric")
    cur2 = conn2.cursor()
    cur2.execute("select :2 || :1", ("a", "b"))
    assert cur2.fetchone() == ("ba",)
    with pytest.raises(ProgrammingError) as e:
        cur.execute("select ?, ?", (1,))
    assert "not set" in str(e.value) or e.value.errno


def test_executemany_inserts_in_one_statement_and_updates_per_row(server):
    conn = server.connect(paramstyle="qmark")
    cur = conn.cursor()
    name = "E2E_MANY_" + uuid.uuid4().hex[:8].upper()
    cur.execute(f"create database {name}")
    cur.execute("create table t (id int, name varchar, at date)")
    rows = [(i, f"n{i}", datetime.date(2024, 1, 1 + i % 28)) for i in range(1000)]
    cur.executemany("insert into t (id, name, at) values (?, ?, ?)", rows)
    assert cur.rowcount == 1000
    cur.execute("select count(*), sum(id), max(at) from t")
    assert cur.fetchone() == (1000, sum(range(1000)), datetime.date(2024, 1, 28))
    cur.executemany("update t set name = ? where id = ?", [("x", 1), ("y", 2), ("z", 999)])
    assert cur.rowcount == 3
    cur.execute("select name from t where id in (1, 2, 999) order by id")
    assert cur.fetchall() == [("x",), ("y",), ("z",)]
    cur.execute(f"drop database {name}")


def test_describe_without_running(db):
    db.execute("create table d (id int, name varchar(20))")
    meta = db.describe("select id, name from d where id = %s" % "1")
    assert [m.name for m in meta] == ["ID", "NAME"]
    db.execute("select count(*) from d")
    assert db.fetchone() == (0,)


def test_multi_statement_requests(db):
    db.execute("create table m (id int)")
    db.execute("insert into m values (1); insert into m values (2); select count(*) from m", num_statements=3)
    results = []
    while True:
        results.append(db.fetchall())
        if not db.nextset():
            break
    assert results[-1] == [(2,)]
    assert len(results) == 3
    with pytest.raises(ProgrammingError) as e:
        db.execute("select 1; select 2")
    assert e.value.errno == 8
    assert "did not match the desired statement count 1" in e.value.msg


def test_execute_string_and_async(conn, db):
    cursors = conn.execute_string("create table a (x int); insert into a values (5); select x from a")
    assert cursors[-1].fetchall() == [(5,)]
    db.execute_async("select x * 2 from a")
    qid = db.sfqid
    cur = conn.cursor()
    cur.get_results_from_sfqid(qid)
    assert cur.fetchall() == [(10,)]
    assert conn.get_query_status(qid).name == "SUCCESS"


def test_large_results_arrive_in_chunks_in_both_formats(db):
    db.execute("select seq4() as n, 'v' || seq4() as s from table(generator(rowcount => 120000)) order by n")
    rows = db.fetchall()
    assert len(rows) == 120000 and rows[0] == (0, "v0") and rows[-1] == (119999, "v119999")
    db.execute("alter session set python_connector_query_result_format = 'JSON'")
    db.execute("select seq4() as n from table(generator(rowcount => 120000)) order by n")
    assert db._query_result_format == "json"
    assert [r[0] for r in db.fetchall()] == list(range(120000))


def test_login_warehouse_must_exist(server):
    conn = server.connect(warehouse="COMPUTE_WH")
    assert conn.cursor().execute("select current_warehouse()").fetchone() == ("COMPUTE_WH",)
    conn = server.connect(warehouse="NO_SUCH_WH")
    assert conn.cursor().execute("select current_warehouse()").fetchone() == (None,)


def test_login_role_must_be_granted(server):
    import snowflake.connector
    conn = server.connect(role="SYSADMIN")
    assert conn.cursor().execute("select current_role()").fetchone() == ("SYSADMIN",)
    admin = server.connect().cursor()
    admin.execute("create role if not exists e2e_ungranted_role")
    with pytest.raises(snowflake.connector.errors.DatabaseError) as e:
        server.connect(role="E2E_UNGRANTED_ROLE")
    assert e.value.errno == 390189
