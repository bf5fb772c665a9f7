"""Server lifecycle: data dir lock, clean shutdown, restart, on-disk format versions."""

from __future__ import annotations

import datetime
import socket
import threading
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import FloeServer, tail

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def read_format_version(data_dir: Path) -> str:
    db = data_dir / "floe.db"
    assert db.exists(), f"{db} missing; data dir holds {sorted(p.name for p in data_dir.iterdir())}"
    with sqlite3.connect(db) as c:
        rows = c.execute("select value from meta where key = 'format_version'").fetchall()
    assert len(rows) == 1, f"meta.format_version rows: {rows}"
    return rows[0][0]


def write_format_version(data_dir: Path, value: str) -> None:
    c = sqlite3.connect(data_dir / "floe.db")
    try:
        with c:
            c.execute("update meta set value = ? where key = 'format_version'", (value,))
    finally:
        c.close()


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_second_server_on_locked_data_dir_fails(make_server, work_root):
    first = make_server()
    first.connect().cursor().execute("create database locked_db")
    second = FloeServer(first.data_dir, work_root / "second-server-logs")
    rc, err = second.expect_start_failure()
    assert rc != 0, f"second server exited 0.\n{tail(err)}"
    assert "locked" in err.lower(), f"stderr does not mention the lock:\n{tail(err)}"
    # The first server is unaffected and still serves its data.
    cur = first.connect().cursor()
    assert cur.execute("show databases like 'LOCKED_DB'").fetchall(), "database lost"
    assert cur.execute("select 1").fetchall() == [(1,)]
    first.stop()


def test_sigterm_exits_zero(make_server):
    srv = make_server()
    cur = srv.connect().cursor()
    cur.execute("create database term")
    cur.execute("create table term.public.t (id int)")
    cur.execute("insert into term.public.t values (1)")
    port = srv.port
    srv.stop()  # asserts exit code 0
    assert port_is_closed(port), "port still accepting connections after exit"


def test_sigterm_when_idle_right_after_start(make_server):
    srv = make_server()
    srv.stop()


def test_sigterm_during_statement_drains_and_exits_zero(make_server):
    srv = make_server(extra_env={"FLOE_STATEMENT_DRAIN_SECS": "5"})
    cur = srv.connect().cursor()
    cur.execute("create database drain")
    cur.execute("create table drain.public.t (id int, pad varchar)")
    cur.execute("insert into drain.public.t values (-1, 'before')")
    conn = srv.connect(database="DRAIN", schema="PUBLIC", network_timeout=120)
    result: dict = {}
    rows = 2_000_000

    def run():
        try:
            c = conn.cursor()
            c.execute(f"insert into t select seq4(), repeat('d', 50) from table(generator(rowcount => {rows}))")
            result["rowcount"] = c.rowcount
        except BaseException as e:  # noqa: BLE001 - the server may abort it after the drain period
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(0.3)
    srv.detach(conn)  # in use by the thread: stop() must not close it
    srv.stop()  # SIGTERM while the statement (probably) runs; asserts exit code 0
    t.join(300)
    assert not t.is_alive()
    srv.start()
    c = srv.connect(database="DRAIN", schema="PUBLIC").cursor()
    n = c.execute("select count(*) from t where id >= 0").fetchall()[0][0]
    assert c.execute("select id, pad from t where id < 0").fetchall() == [(-1, "before")]
    if "rowcount" in result:
        assert result["rowcount"] == rows
        assert n == rows, f"acknowledged insert of {rows} rows left {n} after a clean shutdown"
    else:
        assert n in (0, rows), f"interrupted insert left {n} of {rows} rows"


def test_generated_admin_password(make_server):
    srv = make_server(start=False, password=None)
    srv.start()
    pw_file = srv.data_dir / "admin-password"
    assert pw_file.exists(), "no admin-password file in a data dir started without FLOE_ADMIN_PASSWORD"
    mode = pw_file.stat().st_mode & 0o777
    assert mode == 0o600, f"admin-password has mode {oct(mode)}, expected 0o600"
    password = pw_file.read_text().strip()
    assert len(password) >= 8, "generated password is too short"
    cur = srv.connect(password=password).cursor()
    assert cur.execute("select current_user()").fetchall() == [("ADMIN",)]


def test_restart_keeps_tables_and_data(make_server):
    srv = make_server()
    cur = srv.connect().cursor()
    cur.execute("create database keep")
    cur.execute("create schema keep.s2")
    cur.execute("create table keep.public.a (id int, amount number(10,2), d date, s varchar)")
    cur.execute("insert into keep.public.a values (1, 1.25, '2020-01-02', 'one'), (2, NULL, NULL, 'two')")
    cur.execute("create table keep.s2.b (x int)")
    cur.execute("insert into keep.s2.b select seq4() from table(generator(rowcount => 5000))")
    cur.execute("update keep.public.a set s = 'uno' where id = 1")
    cur.execute("delete from keep.s2.b where x >= 4000")

    for _ in range(2):  # two restarts in a row
        srv.restart()
        cur = srv.connect().cursor()
        assert cur.execute("select id, amount, d, s from keep.public.a order by id").fetchall() == [
            (1, Decimal("1.25"), datetime.date(2020, 1, 2), "uno"), (2, None, None, "two")]
        assert cur.execute("select count(*), min(x), max(x) from keep.s2.b").fetchall() == [(4000, 0, 3999)]
        cur.execute("show tables in schema keep.s2")
        names = [r[[d[0].lower() for d in cur.description].index("name")] for r in cur.fetchall()]
        assert names == ["B"]
    srv.stop()


def test_newer_format_version_is_refused(make_server):
    srv = make_server()
    srv.connect().cursor().execute("create database fmt")
    srv.stop()
    original = read_format_version(srv.data_dir)
    assert original.strip().isdigit(), f"format_version is not an integer: {original!r}"
    assert int(original) < 999

    write_format_version(srv.data_dir, "999")
    rc, err = srv.expect_start_failure()
    assert rc != 0, f"server accepted format_version 999.\n{tail(err)}"
    assert "999" in err, f"stderr does not mention the version:\n{tail(err)}"
    assert read_format_version(srv.data_dir) == "999", "the refused data dir was modified"

    # Back to the real version: the same data dir starts and still holds its data.
    write_format_version(srv.data_dir, original)
    srv.start()
    assert srv.connect().cursor().execute("show databases like 'FMT'").fetchall()
    srv.stop()


def test_older_format_data_dir_is_upgraded(make_server, work_root):
    script = FIXTURES / "make_v1_datadir.py"
    if not script.exists():
        pytest.skip("fixture pending")
    data_dir = work_root / "v1-data"
    made = subprocess.run([sys.executable, str(script), str(data_dir)], capture_output=True,
                          text=True, timeout=300)
    assert made.returncode == 0, f"fixture script failed:\n{made.stdout}\n{made.stderr}"
    before = read_format_version(data_dir)

    assert int(before) == 1
    srv = make_server(data_dir=data_dir)  # starts and waits for /healthz
    cur = srv.connect().cursor()
    names = [row[1] for row in cur.execute("show databases").fetchall()]
    assert "OLD_DB" in names, names
    cur.execute("insert into old_db.public.t values (1, 'kept')")
    srv.stop()
    after = read_format_version(data_dir)
    assert int(after) == 3, after
    # A second start on the upgraded dir works too, and keeps what was written after the migration.
    srv.start()
    rows = srv.connect().cursor().execute("select id, name from old_db.public.t").fetchall()
    assert rows == [(1, "kept")], rows
    srv.stop()


def test_statement_memory_limit_fails_cleanly(make_server):
    """A statement past FLOE_STATEMENT_MEMORY_MB fails with Snowflake's error; the server and data live on."""
    import snowflake.connector
    srv = make_server(extra_env={"FLOE_STATEMENT_MEMORY_MB": "16"})
    cur = srv.connect().cursor()
    cur.execute("create database memlimit")
    cur.execute("create table big as select seq4() as id, uuid_string() as u from table(generator(rowcount => 400000))")
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        # Sorting 400k UUIDs needs far more than 16 MB and floe has no spill directory.
        cur.execute("select u, count(*) from big group by u order by u").fetchall()
    assert err.value.errno == 100096, (err.value.errno, err.value.msg)
    assert "memory limit" in err.value.msg
    # Small statements still run, and nothing was lost.
    assert cur.execute("select count(*) from big").fetchall() == [(400000,)]
    srv.stop()


LONG_QUERY = ("select count(distinct u) from (select uuid_string() as u "
              "from table(generator(rowcount => 3000000)))")


def test_long_statement_is_answered_by_result_polling(make_server):
    """With a 1 s hold the server answers 333333 and the connector polls getResultUrl until the end."""
    srv = make_server(extra_env={"FLOE_RESULT_HOLD_SECS": "1"})
    cur = srv.connect().cursor()
    assert cur.execute(LONG_QUERY.replace("3000000", "8000000")).fetchall() == [(8000000,)]


def test_abort_query_cancels_the_statement(make_server):
    """cursor.abort_query (POST /queries/<id>/abort-request) stops a running statement with Snowflake's
    cancel error; the session stays usable."""
    import time
    import snowflake.connector
    srv = make_server(extra_env={"FLOE_RESULT_HOLD_SECS": "1"})
    conn = srv.connect()
    cur = conn.cursor()
    cur.execute_async(LONG_QUERY.replace("3000000", "30000000"))
    qid = cur.sfqid
    time.sleep(0.5)
    assert conn.get_query_status(qid).name == "RUNNING"
    assert cur.abort_query(qid)
    deadline = time.time() + 30
    while conn.is_still_running(conn.get_query_status(qid)) and time.time() < deadline:
        time.sleep(0.2)
    assert conn.get_query_status(qid).name == "ABORTED", conn.get_query_status(qid)
    with pytest.raises(snowflake.connector.errors.Error) as err:
        cur.get_results_from_sfqid(qid)
        cur.fetchall()
    assert "cancel" in str(err.value).lower(), str(err.value)
    assert cur.execute("select 1").fetchall() == [(1,)]
