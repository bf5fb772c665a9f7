"""Explicit transactions: BEGIN / COMMIT / ROLLBACK, isolation between sessions, no lost updates."""

from __future__ import annotations

import threading

import pytest

from conftest import run_threads


def count(cur, table: str) -> int:
    return cur.execute(f"select count(*) from {table}").fetchall()[0][0]


def test_rollback_discards(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("create table t (id int)")
    cur.execute("insert into t values (1)")
    cur.execute("begin")
    cur.execute("insert into t values (2), (3)")
    cur.execute("update t set id = 100 where id = 1")
    cur.execute("delete from t where id = 2")
    # The transaction sees its own writes.
    assert sorted(r[0] for r in cur.execute("select id from t").fetchall()) == [3, 100]
    cur.execute("rollback")
    assert cur.execute("select id from t").fetchall() == [(1,)]
    # ... and so does a brand-new session.
    other = server.connect(database=db, schema="PUBLIC")
    assert other.cursor().execute("select id from t").fetchall() == [(1,)]


def test_commit_keeps(server, db):
    conn = server.connect(database=db, schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("create table t (id int, v varchar)")
    cur.execute("begin")
    cur.execute("insert into t values (1, 'a'), (2, 'b')")
    cur.execute("update t set v = 'bb' where id = 2")
    cur.execute("commit")
    other = server.connect(database=db, schema="PUBLIC")
    assert other.cursor().execute("select id, v from t order by id").fetchall() == [(1, "a"), (2, "bb")]


def test_uncommitted_rows_invisible_to_other_connection(server, db):
    writer = server.connect(database=db, schema="PUBLIC")
    reader = server.connect(database=db, schema="PUBLIC")
    wcur, rcur = writer.cursor(), reader.cursor()
    wcur.execute("create table t (id int)")
    wcur.execute("insert into t values (1)")

    wcur.execute("begin")
    wcur.execute("insert into t values (2), (3)")
    wcur.execute("delete from t where id = 1")
    assert count(wcur, "t") == 2
    # The other session still sees the last committed state (and is not blocked by the writer).
    assert rcur.execute("select id from t order by id").fetchall() == [(1,)]
    wcur.execute("commit")
    assert rcur.execute("select id from t order by id").fetchall() == [(2,), (3,)]


def test_rollback_of_other_session_never_visible(server, db):
    a = server.connect(database=db, schema="PUBLIC")
    b = server.connect(database=db, schema="PUBLIC")
    acur, bcur = a.cursor(), b.cursor()
    acur.execute("create table t (id int)")
    acur.execute("begin")
    acur.execute("insert into t values (1)")
    assert count(bcur, "t") == 0
    acur.execute("rollback")
    assert count(bcur, "t") == 0
    assert count(acur, "t") == 0


@pytest.mark.timeout(1200)
def test_no_lost_updates(server, db):
    """Two sessions each run 1,000 x (BEGIN; UPDATE v = v + 1; COMMIT) at the same time."""
    setup = server.connect(database=db, schema="PUBLIC")
    setup.cursor().execute("create table counter (id int, v int)")
    setup.cursor().execute("insert into counter values (1, 0), (2, 0)")

    loops = 1000
    conns = [server.connect(database=db, schema="PUBLIC") for _ in range(2)]
    barrier = threading.Barrier(2, timeout=60)

    def worker(conn):
        cur = conn.cursor()
        barrier.wait()
        for _ in range(loops):
            cur.execute("begin")
            cur.execute("update counter set v = v + 1 where id = 1")
            assert cur.rowcount == 1
            cur.execute("commit")
        return loops

    done = run_threads([lambda c=c: worker(c) for c in conns], timeout=900)
    assert done == [loops, loops]
    rows = setup.cursor().execute("select id, v from counter order by id").fetchall()
    assert rows == [(1, 2 * loops), (2, 0)]
