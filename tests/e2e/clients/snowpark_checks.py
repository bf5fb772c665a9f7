"""Client-side half of the Snowpark checks (tests/e2e/test_clients.py).

Run by the Python of the Snowpark virtualenv (.venv-clients/sf3):

    python snowpark_checks.py '<json: {"configs": {...Session.builder configs}, "db": "NAME"}>'

Prints one JSON object on its last stdout line: {"version": ..., "connector": ..., "checks": {name:
result | {"error": ...}}, "queries": [SQL Snowpark sent]}. A check that raises records the exception.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import sys
import traceback

os.environ.setdefault("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")

import pandas as pd  # noqa: E402
import snowflake.connector  # noqa: E402
import snowflake.snowpark  # noqa: E402
from snowflake.snowpark import Session  # noqa: E402
from snowflake.snowpark.functions import col  # noqa: E402


def plain(value):
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, (datetime.datetime, datetime.date)):
        return {type(value).__name__: value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def rows(collected) -> list:
    return [row.as_dict() for row in collected]


def main() -> None:
    params = json.loads(sys.argv[1])
    db = params["db"]
    checks: dict[str, object] = {}

    def check(name):
        def wrap(fn):
            try:
                checks[name] = plain(fn())
            except Exception as exc:  # noqa: BLE001 - reported to the test
                checks[name] = {"error": {"class": type(exc).__name__, "errno": getattr(exc, "errno", None),
                                          "sqlstate": getattr(exc, "sqlstate", None), "msg": str(exc)},
                                "traceback": traceback.format_exc(limit=8)}
            return fn
        return wrap

    session = Session.builder.configs(params["configs"]).create()
    history = session.query_history()
    history.__enter__()

    @check("sql_collect")
    def _():
        session.sql(f"create or replace database {db}").collect()
        session.sql(f"use schema {db}.public").collect()
        return {"rows": rows(session.sql("select 1 as a, 'x' as b, current_database() as d").collect()),
                "context": [session.get_current_database(), session.get_current_schema(),
                            session.get_current_role()]}

    @check("table_filter")
    def _():
        session.sql("create or replace table people (id int, name varchar, age int)").collect()
        session.sql("insert into people values (1, 'ann', 31), (2, 'bob', 17), (3, 'cy', 45)").collect()
        df = session.table("people").filter(col("age") > 18).select("id", "name").sort(col("id"))
        return {"rows": rows(df.collect()), "count": session.table("people").count()}

    @check("save_as_table")
    def _():
        df = session.create_dataframe([[1, "x", 1.5], [2, "y", None]], schema=["a", "b", "c"])
        df.write.save_as_table("saved", mode="overwrite")
        first = rows(session.table("saved").sort(col("a")).collect())
        df.write.save_as_table("saved", mode="append")
        appended = session.table("saved").count()
        df.filter(col("a") == 1).write.save_as_table("saved", mode="overwrite")
        overwritten = rows(session.table("saved").collect())
        schema = [(f.name, type(f.datatype).__name__) for f in session.table("saved").schema.fields]
        return {"first": first, "appended": appended, "overwritten": overwritten, "schema": schema}

    @check("save_as_table_temp")
    def _():
        df = session.table("people").filter(col("age") < 40)
        df.write.save_as_table("young", mode="overwrite", table_type="temporary")
        return rows(session.table("young").sort(col("id")).collect())

    @check("to_pandas")
    def _():
        frame = session.table("people").sort(col("id")).to_pandas()
        return {"columns": list(frame.columns), "ids": frame["ID"].tolist()}

    @check("write_pandas")
    def _():
        frame = pd.DataFrame({"ID": [1, 2], "NAME": ["p", "q"]})
        written = session.write_pandas(frame, "FROM_PANDAS", auto_create_table=True)
        return {"rows": rows(written.sort(col("ID")).collect())}

    history.__exit__(None, None, None)
    queries = [q.sql_text for q in history.queries]

    @check("close")
    def _():
        session.close()  # sends SYSTEM$CANCEL_ALL_QUERIES(<session id>) first
        return "closed"

    print(json.dumps({"version": snowflake.snowpark.__version__, "connector": snowflake.connector.__version__,
                      "checks": checks, "queries": queries}, default=str))


if __name__ == "__main__":
    main()
