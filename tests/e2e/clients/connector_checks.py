"""Client-side half of the connector matrix (tests/e2e/test_clients.py).

Run by the Python of one client virtualenv (.venv-clients/sf3, sf4, or the suite's own .venv):

    python connector_checks.py '<json: {"connect": {...connect kwargs}, "db": "NAME"}>'

Runs every check against a floe server with that client's snowflake-connector-python and prints one JSON
object on its last stdout line: {"version": ..., "checks": {name: result | {"error": ...}}}. A check
that raises records the exception (class, errno, sqlstate, message) instead of stopping the others;
test_clients.py asserts on the results, so a failure names the check and the client version.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import sys
import time
import traceback

os.environ.setdefault("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")

import snowflake.connector  # noqa: E402
from snowflake.connector import DictCursor  # noqa: E402
from snowflake.connector import errors as sf_errors  # noqa: E402


def plain(value):
    """A JSON-friendly form of a fetched value (exact text for decimals, ISO text for times)."""
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return {type(value).__name__: value.isoformat()}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, int, float, bool)):  # numpy scalars
        return plain(value.item())
    return value


def error_info(exc: BaseException) -> dict:
    return {
        "class": type(exc).__name__,
        "bases": [c.__name__ for c in type(exc).__mro__],
        "errno": getattr(exc, "errno", None),
        "sqlstate": getattr(exc, "sqlstate", None),
        "msg": getattr(exc, "msg", None) or str(exc),
    }


def main() -> None:
    params = json.loads(sys.argv[1])
    connect_kw = params["connect"]
    db = params["db"]
    checks: dict[str, object] = {}

    def check(name):
        def wrap(fn):
            try:
                checks[name] = plain(fn())
            except Exception as exc:  # noqa: BLE001 - reported to the test
                checks[name] = {"error": error_info(exc), "traceback": traceback.format_exc(limit=8)}
            return fn
        return wrap

    conn = snowflake.connector.connect(**connect_kw)
    cur = conn.cursor()

    @check("setup")
    def _():
        cur.execute(f"create or replace database {db}")
        cur.execute(f"use schema {db}.public")
        cur.execute("create table items (id int, name varchar, amount number(10,2), ok boolean, d date, "
                    "ts timestamp_ntz)")
        cur.execute("insert into items values (1, 'one', 1.50, true, '2024-01-02', '2024-01-02 03:04:05'), "
                    "(2, 'two', 20.25, false, '2024-02-03', '2024-02-03 04:05:06.5'), "
                    "(3, null, null, null, null, null)")
        return {"rowcount": cur.rowcount, "database": conn.database, "schema": conn.schema}

    select_items = "select id, name, amount, ok, d, ts from items order by id"

    @check("tuples")
    def _():
        rows = cur.execute(select_items).fetchall()
        return {"rows": rows, "description": [(d.name, d.type_code, d.precision, d.scale, d.is_nullable)
                                              for d in cur.description], "rowcount": cur.rowcount,
                "sfqid_len": len(cur.sfqid or "")}

    @check("fetchone_fetchmany")
    def _():
        c = conn.cursor()
        c.execute(select_items)
        return {"one": c.fetchone(), "many": c.fetchmany(5), "after": c.fetchone()}

    @check("dict")
    def _():
        return conn.cursor(DictCursor).execute("select id, name from items order by id").fetchall()

    @check("arrow")
    def _():
        table = conn.cursor().execute(select_items).fetch_arrow_all()
        return {"names": table.column_names, "types": [str(t) for t in table.schema.types],
                "rows": table.to_pylist()}

    @check("pandas")
    def _():
        frame = conn.cursor().execute(select_items).fetch_pandas_all()
        return {"columns": list(frame.columns), "dtypes": [str(t) for t in frame.dtypes],
                "ids": frame["ID"].tolist(), "names": [None if n is None or n != n else n for n in frame["NAME"]]}

    @check("write_pandas")
    def _():
        import pandas as pd
        from snowflake.connector.pandas_tools import write_pandas

        frame = pd.DataFrame({"ID": [1, 2, 3], "NAME": ["a", None, "c'q"], "SCORE": [0.5, 1.25, None]})
        created = write_pandas(conn, frame, "PANDAS_OUT", auto_create_table=True)
        appended = write_pandas(conn, frame.head(2), "PANDAS_OUT")
        c = conn.cursor()
        after_append = c.execute("select count(*) from pandas_out").fetchone()[0]
        replaced = write_pandas(conn, frame.tail(1), "PANDAS_OUT", auto_create_table=True, overwrite=True)
        rows = c.execute('select "ID", "NAME", "SCORE" from pandas_out order by 1').fetchall()
        columns = c.execute("describe table pandas_out").fetchall()
        return {"created": list(created[:3]), "appended": list(appended[:3]), "after_append": after_append,
                "replaced": list(replaced[:3]), "rows": rows, "types": [[r[0], r[1]] for r in columns]}

    @check("async")
    def _():
        c = conn.cursor()
        c.execute_async("select count(*), sum(amount) from items")
        qid = c.sfqid
        later = conn.cursor()
        later.get_results_from_sfqid(qid)
        rows = later.fetchall()  # waits for the query (get_results_from_sfqid itself may not)
        return {"rows": rows, "status": conn.get_query_status(qid).name, "qid_len": len(qid)}

    @check("async_error")
    def _():
        c = conn.cursor()
        c.execute_async("select * from no_such_table")
        qid = c.sfqid
        # Wait until the query has ended, so that every connector line raises from
        # get_results_from_sfqid itself (5.x raises there only for a query that has already failed;
        # for one still running the error comes with the first fetch, as a DatabaseError).
        deadline = time.monotonic() + 30
        while conn.is_still_running(conn.get_query_status(qid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            cur = conn.cursor()
            cur.get_results_from_sfqid(qid)
            cur.fetchall()
        except Exception as exc:  # noqa: BLE001
            return error_info(exc)
        return "no error"

    @check("executemany_pyformat")
    def _():
        c = conn.cursor()
        c.execute("create or replace table many_py (id int, name varchar)")
        c.executemany("insert into many_py (id, name) values (%s, %s)", [(1, "a"), (2, "b'q"), (3, None)])
        count = c.rowcount
        return {"rowcount": count, "rows": c.execute("select id, name from many_py order by id").fetchall()}

    @check("executemany_qmark")
    def _():
        qconn = snowflake.connector.connect(**connect_kw, paramstyle="qmark", database=db, schema="PUBLIC")
        try:
            c = qconn.cursor()
            c.execute("create or replace table many_q (id int, name varchar, amount number(10,2))")
            c.executemany("insert into many_q values (?, ?, ?)",
                          [(1, "a", decimal.Decimal("1.25")), (2, None, decimal.Decimal("2.50")), (3, "c", None)])
            count = c.rowcount
            c.execute("select id, name, amount from many_q where id >= ? order by id", (2,))
            return {"rowcount": count, "rows": c.fetchall()}
        finally:
            qconn.close()

    @check("describe")
    def _():
        return [(d.name, d.type_code) for d in conn.cursor().describe("select id, name from items where id = 1")]

    @check("execute_string")
    def _():
        cursors = conn.execute_string("select 1 as a; select 'x' as b, 2 as c")
        return [c.fetchall() for c in cursors]

    def expect_error(sql: str) -> dict:
        try:
            conn.cursor().execute(sql)
        except Exception as exc:  # noqa: BLE001
            return error_info(exc)
        return {"class": None}

    @check("errors")
    def _():
        return {
            "missing_table": expect_error("select * from no_such_table"),
            "syntax": expect_error("select * fromm nowhere where"),
            "division": expect_error("select 1/0"),
            "numeric": expect_error("select 'abc'::int"),
            "unknown_pool": expect_error("describe compute pool no_such_pool"),
        }

    @check("integrity_error")
    def _():
        conn.cursor().execute("create or replace table nn (a int not null)")
        return expect_error("insert into nn values (null)")

    @check("login_error")
    def _():
        bad = dict(connect_kw, password="wrong-password")
        try:
            snowflake.connector.connect(**bad)
        except Exception as exc:  # noqa: BLE001
            return error_info(exc)
        return {"class": None}

    @check("tutorial_setup")
    def _():
        n = db
        statements = [
            "USE ROLE ACCOUNTADMIN",
            f"CREATE ROLE IF NOT EXISTS {n}_ROLE",
            f"CREATE DATABASE IF NOT EXISTS {n}_TUT",
            f"GRANT OWNERSHIP ON DATABASE {n}_TUT TO ROLE {n}_ROLE COPY CURRENT GRANTS",
            f"CREATE OR REPLACE WAREHOUSE {n}_WH WITH WAREHOUSE_SIZE='X-SMALL'",
            f"GRANT USAGE ON WAREHOUSE {n}_WH TO ROLE {n}_ROLE",
            f"GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE {n}_ROLE",
            f"CREATE COMPUTE POOL IF NOT EXISTS {n}_POOL MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS",
            f"GRANT USAGE, MONITOR ON COMPUTE POOL {n}_POOL TO ROLE {n}_ROLE",
            f"GRANT ROLE {n}_ROLE TO USER {connect_kw['user']}",
            f"USE ROLE {n}_ROLE",
            f"USE DATABASE {n}_TUT",
            f"USE WAREHOUSE {n}_WH",
            "CREATE SCHEMA IF NOT EXISTS data_schema",
            "USE SCHEMA data_schema",
            "CREATE IMAGE REPOSITORY IF NOT EXISTS tutorial_repository",
            "CREATE STAGE IF NOT EXISTS tutorial_stage DIRECTORY = ( ENABLE = true )",
        ]
        c = conn.cursor()
        for sql in statements:
            c.execute(sql)
        repos = conn.cursor(DictCursor).execute("SHOW IMAGE REPOSITORIES").fetchall()
        context = c.execute("select current_role(), current_database(), current_schema(), "
                            "current_warehouse()").fetchone()
        pools = conn.cursor(DictCursor).execute(f"SHOW COMPUTE POOLS LIKE '{n}_POOL'").fetchall()
        c.execute("USE ROLE ACCOUNTADMIN")
        c.execute(f"DROP COMPUTE POOL {n}_POOL")
        return {"repos": [(r["name"], r["owner"], r["repository_url"]) for r in repos], "context": context,
                "pools": [(p["name"], p["state"], p["instance_family"]) for p in pools],
                "stages": [r[1] for r in c.execute(f"SHOW STAGES IN SCHEMA {n}_TUT.DATA_SCHEMA").fetchall()]}

    conn.close()
    print(json.dumps({"version": snowflake.connector.__version__, "checks": checks}, default=str))


if __name__ == "__main__":
    main()
