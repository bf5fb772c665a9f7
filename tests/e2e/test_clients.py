"""The client matrix against a real floe server: snowflake-connector-python 3.x (the line Snowpark
allows), 4.x and 5.x, Snowpark, and the `snow` CLI, each from its own virtualenv made by
scripts/ci-setup.sh (.venv-clients/sf3, sf4, snow; 5.x is this suite's own .venv).

The connector and Snowpark checks run as one subprocess per client (clients/connector_checks.py,
clients/snowpark_checks.py) that prints its results as JSON; the tests below assert on them, so each
failure names the check and the client. `snow` runs with a config.toml for floe in a temporary
SNOWFLAKE_HOME, exactly as a user would configure it (README, "Connect").
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (ACCOUNT, ADMIN_USER, client_connect_params, client_env, client_python, norm_ws,
                      run_client_script, tail)

CLIENT_SCRIPTS = Path(__file__).parent / "clients"
_N = itertools.count(1)

# Client lines of the connector matrix: (id, virtualenv or None for this suite's own Python).
CONNECTORS = [("connector3", "sf3"), ("connector4", "sf4"), ("connector5", None)]


def ok(results: dict, name: str):
    """The result of check `name`, failing with the client's exception if it raised."""
    value = results["checks"].get(name)
    assert value is not None, f"check {name} did not run under connector {results['version']}"
    if isinstance(value, dict) and "error" in value and "traceback" in value:
        pytest.fail(f"check {name} under connector {results['version']} raised {value['error']}\n"
                    f"{value['traceback']}", pytrace=False)
    return value


# ---- snowflake-connector-python 3.x / 4.x / 5.x ------------------------------------------------
@pytest.fixture(scope="module", params=CONNECTORS, ids=[c[0] for c in CONNECTORS])
def connector(request, server):
    label, venv = request.param
    python = client_python(venv) if venv else Path(sys.executable)
    payload = {"connect": client_connect_params(server), "db": f"E2E_CLIENTS_{label.upper()}_{next(_N)}"}
    results = run_client_script(python, CLIENT_SCRIPTS / "connector_checks.py", payload)
    results["label"] = label
    return results


def test_connector_versions(connector):
    major = {"connector3": "3.", "connector4": "4.", "connector5": "5."}[connector["label"]]
    assert connector["version"].startswith(major), connector["version"]
    assert ok(connector, "setup")["rowcount"] == 3


ITEMS = [
    [1, "one", {"decimal": "1.50"}, True, {"date": "2024-01-02"}, {"datetime": "2024-01-02T03:04:05"}],
    [2, "two", {"decimal": "20.25"}, False, {"date": "2024-02-03"}, {"datetime": "2024-02-03T04:05:06.500000"}],
    [3, None, None, None, None, None],
]


def test_fetch_tuples_and_description(connector):
    tuples = ok(connector, "tuples")
    assert tuples["rows"] == ITEMS
    assert tuples["rowcount"] == 3
    assert tuples["sfqid_len"] == 36
    # (name, type code, precision, scale): FIXED 0, TEXT 2, BOOLEAN 13, DATE 3, TIMESTAMP_NTZ 8.
    assert [d[:4] for d in tuples["description"]] == [
        ["ID", 0, 38, 0], ["NAME", 2, None, None], ["AMOUNT", 0, 10, 2], ["OK", 13, None, None],
        ["D", 3, None, None], ["TS", 8, 0, 9]]
    partial = ok(connector, "fetchone_fetchmany")
    assert partial == {"one": ITEMS[0], "many": ITEMS[1:], "after": None}


def test_fetch_dict_cursor(connector):
    assert ok(connector, "dict") == [{"ID": 1, "NAME": "one"}, {"ID": 2, "NAME": "two"}, {"ID": 3, "NAME": None}]


def test_fetch_arrow_all(connector):
    arrow = ok(connector, "arrow")
    assert arrow["names"] == ["ID", "NAME", "AMOUNT", "OK", "D", "TS"]
    # As from Snowflake: NUMBER(10,2) arrives as a scaled int64 that the connector turns into double.
    assert arrow["types"][:5] == ["int64", "string", "double", "bool", "date32[day]"]
    assert [r["AMOUNT"] for r in arrow["rows"]] == [1.5, 20.25, None]
    assert [r["ID"] for r in arrow["rows"]] == [1, 2, 3]
    assert arrow["rows"][1]["TS"] == {"Timestamp": "2024-02-03T04:05:06.500000"}


def test_fetch_pandas_all(connector):
    frame = ok(connector, "pandas")
    assert frame["columns"] == ["ID", "NAME", "AMOUNT", "OK", "D", "TS"]
    assert frame["ids"] == [1, 2, 3]
    assert frame["names"] == ["one", "two", None]
    assert frame["dtypes"][0] == "int64" and frame["dtypes"][2] == "float64"
    assert frame["dtypes"][5].startswith("datetime64")


def test_execute_async_and_get_results_from_sfqid(connector):
    result = ok(connector, "async")
    assert result["rows"] == [[3, {"decimal": "21.75"}]]
    assert result["status"] == "SUCCESS"
    assert result["qid_len"] == 36
    failed = ok(connector, "async_error")
    assert failed["class"] == "ProgrammingError", failed
    # 3.x and 4.x read the SQLSTATE from the status response's data.sqlState; 5.x raises without one.
    sqlstate = None if connector["label"] == "connector5" else "42S02"
    assert (failed["errno"], failed["sqlstate"]) == (2003, sqlstate), failed
    assert "Object 'NO_SUCH_TABLE' does not exist or not authorized." in norm_ws(failed["msg"])


def test_write_pandas(connector):
    """write_pandas: Parquet chunks PUT to a temporary stage, INFER_SCHEMA, CREATE TABLE, COPY INTO with
    `$1:"col"::type` and IDENTIFIER(?) bindings; appending; overwrite (a new table renamed over the old)."""
    result = ok(connector, "write_pandas")
    assert result["created"] == [True, 1, 3], result
    assert result["appended"] == [True, 1, 2], result
    assert result["after_append"] == 5
    assert result["replaced"] == [True, 1, 1], result
    assert result["rows"] == [[3, "c'q", None]]
    assert result["types"] == [["ID", "NUMBER(38,0)"], ["NAME", "VARCHAR(16777216)"], ["SCORE", "FLOAT"]]


def test_executemany(connector):
    pyformat = ok(connector, "executemany_pyformat")
    assert pyformat == {"rowcount": 3, "rows": [[1, "a"], [2, "b'q"], [3, None]]}
    qmark = ok(connector, "executemany_qmark")
    assert qmark == {"rowcount": 3, "rows": [[2, None, {"decimal": "2.50"}], [3, "c", None]]}


def test_describe_and_execute_string(connector):
    assert ok(connector, "describe") == [["ID", 0], ["NAME", 2]]
    assert ok(connector, "execute_string") == [[[1]], [["x", 2]]]


@pytest.mark.parametrize("case, cls, errno, sqlstate, text", [
    ("missing_table", "ProgrammingError", 2003, "42S02", "SQL compilation error: Object 'NO_SUCH_TABLE' does not exist or not authorized."),
    ("syntax", "ProgrammingError", 1003, "42000", "syntax error line 1 at position 9 unexpected 'FROMM'."),
    ("division", "ProgrammingError", 100051, "22012", "Division by zero"),
    ("numeric", "ProgrammingError", 100038, "22018", "Numeric value 'abc' is not recognized"),
    ("unknown_pool", "ProgrammingError", 2003, "02000", "Compute pool 'NO_SUCH_POOL' does not exist or not authorized."),
])
def test_errors_raise_the_right_class(connector, case, cls, errno, sqlstate, text):
    err = ok(connector, "errors")[case]
    assert err["class"] == cls, err
    assert "DatabaseError" in err["bases"]
    assert (err["errno"], err["sqlstate"]) == (errno, sqlstate), err
    assert text in norm_ws(err["msg"]), err["msg"]


def test_integrity_and_login_errors(connector):
    err = ok(connector, "integrity_error")
    assert (err["class"], err["errno"], err["sqlstate"]) == ("IntegrityError", 100072, "22000"), err
    assert "NULL result in a non-nullable column" in err["msg"]
    err = ok(connector, "login_error")
    assert err["class"] == "DatabaseError", err
    # 3.x reports every failed login as its own 250001/08001; 4.x and later pass floe's code through.
    expected = (250001, "08001") if connector["label"] == "connector3" else (390100, "28000")
    assert (err["errno"], err["sqlstate"]) == expected, err
    assert "Incorrect username or password was specified." in err["msg"]


def test_tutorial_common_setup(connector, server):
    setup = ok(connector, "tutorial_setup")
    db = f"{connector['checks']['setup']['database']}_TUT"
    role = f"{connector['checks']['setup']['database']}_ROLE"
    assert setup["repos"] == [["TUTORIAL_REPOSITORY", role,
                               f"{server.registry}/{db.lower()}/data_schema/tutorial_repository"]]
    assert setup["context"] == [role, db, "DATA_SCHEMA", f"{connector['checks']['setup']['database']}_WH"]
    assert setup["pools"] == [[f"{connector['checks']['setup']['database']}_POOL", "IDLE", "CPU_X64_XS"]]
    assert setup["stages"] == ["TUTORIAL_STAGE"]


# ---- Snowpark (with connector 3.x) ------------------------------------------------------------
@pytest.fixture(scope="module")
def snowpark(server):
    params = client_connect_params(server)
    payload = {"configs": params, "db": f"E2E_SNOWPARK_{next(_N)}"}
    results = run_client_script(client_python("sf3"), CLIENT_SCRIPTS / "snowpark_checks.py", payload)
    results["db"] = payload["db"]
    return results


def test_snowpark_session_and_sql(snowpark):
    assert snowpark["connector"].startswith("3.")
    result = ok(snowpark, "sql_collect")
    assert result["rows"] == [{"A": 1, "B": "x", "D": snowpark["db"]}]
    assert result["context"] == [f'"{snowpark["db"]}"', '"PUBLIC"', '"ACCOUNTADMIN"']


def test_snowpark_table_filter_collect(snowpark):
    assert ok(snowpark, "table_filter") == {"rows": [{"ID": 1, "NAME": "ann"}, {"ID": 3, "NAME": "cy"}], "count": 3}
    assert ok(snowpark, "to_pandas") == {"columns": ["ID", "NAME", "AGE"], "ids": [1, 2, 3]}


def test_snowpark_save_as_table(snowpark):
    saved = ok(snowpark, "save_as_table")
    rows = [{"A": 1, "B": "x", "C": 1.5}, {"A": 2, "B": "y", "C": None}]
    assert saved["first"] == rows
    assert saved["appended"] == 4
    assert saved["overwritten"] == rows[:1]
    assert saved["schema"] == [["A", "LongType"], ["B", "StringType"], ["C", "DoubleType"]]
    assert ok(snowpark, "save_as_table_temp") == [{"ID": 1, "NAME": "ann", "AGE": 31}, {"ID": 2, "NAME": "bob", "AGE": 17}]


def test_snowpark_session_close(snowpark):
    # Session.close() sends SYSTEM$CANCEL_ALL_QUERIES(<its session id>) before logging out.
    assert ok(snowpark, "close") == "closed"


def test_snowpark_write_pandas(snowpark):
    assert ok(snowpark, "write_pandas") == {"rows": [{"ID": 1, "NAME": "p"}, {"ID": 2, "NAME": "q"}]}


# ---- the snow CLI ---------------------------------------------------------------------------
class Snow:
    """`snow` from .venv-clients/snow with a config.toml for one floe server in a private SNOWFLAKE_HOME."""

    def __init__(self, home: Path, server, database: str | None = None):
        self.bin = client_python("snow").parent / "snow"
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        lines = [
            'default_connection_name = "floe"',
            "",
            "[connections.floe]",
            'host = "127.0.0.1"',
            f"port = {server.port}",
            'protocol = "http"',
            f'account = "{ACCOUNT}"',
            f'user = "{ADMIN_USER}"',
            f'password = "{server.admin_password}"',
        ]
        if database:
            lines += [f'database = "{database}"', 'schema = "PUBLIC"']
        config = home / "config.toml"
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o600)  # snow refuses a config others can read

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        env = client_env(SNOWFLAKE_HOME=str(self.home), HOME=str(self.home))
        proc = subprocess.run([str(self.bin), *args], capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL, cwd=self.home)
        if check and proc.returncode != 0:
            pytest.fail(f"snow {' '.join(args)} exited {proc.returncode}\n--- stdout ---\n{tail(proc.stdout)}\n"
                        f"--- stderr ---\n{tail(proc.stderr)}", pytrace=False)
        return proc

    def json(self, *args: str):
        return json.loads(self.run(*args, "--format", "json").stdout)


@pytest.fixture(scope="module")
def snow_db(server):
    name = f"E2E_SNOW_{next(_N)}"
    server.query(f"create database {name}")
    return name


@pytest.fixture(scope="module")
def snow(server, snow_db, tmp_path_factory):
    return Snow(tmp_path_factory.mktemp("snowflake-home"), server, database=snow_db)


def test_snow_connection_and_sql(snow, snow_db):
    info = snow.json("connection", "test")
    assert (info["Status"], info["Account"], info["User"], info["Database"]) == ("OK", ACCOUNT, ADMIN_USER, snow_db)
    assert snow.json("sql", "-q", "select 1 as a, current_user() as u, current_database() as d") == \
        [{"A": 1, "U": ADMIN_USER, "D": snow_db}]
    # Several statements: one result list per statement.
    out = snow.json("sql", "-q", "create table t (x int); insert into t values (1), (2); select sum(x) as s from t")
    assert out == [[{"status": "Table T successfully created."}], [{"number of rows inserted": 2}], [{"S": 3}]]
    # What the CLI and its users ask of a connection.
    version, params = snow.json("sql", "-q", "select current_version() as v; show parameters like 'TIMEZONE' in session")
    assert len(version[0]["V"]) > 0
    assert [(p["key"], p["value"]) for p in params] == [("TIMEZONE", "UTC")]
    # An error: exit code 1 and Snowflake's message.
    failed = snow.run("sql", "-q", "select * from no_such_table", check=False)
    assert failed.returncode == 1
    assert "002003 (42S02)" in failed.stdout + failed.stderr


def test_snow_sql_file_runs_the_tutorial_setup(snow, tmp_path, server):
    n = next(_N)
    script = tmp_path / "setup.sql"
    script.write_text(f"""
        USE ROLE ACCOUNTADMIN;
        CREATE ROLE IF NOT EXISTS snow_tut_role_{n};
        CREATE DATABASE IF NOT EXISTS snow_tut_db_{n};
        GRANT OWNERSHIP ON DATABASE snow_tut_db_{n} TO ROLE snow_tut_role_{n} COPY CURRENT GRANTS;
        CREATE OR REPLACE WAREHOUSE snow_tut_wh_{n} WITH WAREHOUSE_SIZE='X-SMALL';
        GRANT USAGE ON WAREHOUSE snow_tut_wh_{n} TO ROLE snow_tut_role_{n};
        GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE snow_tut_role_{n};
        CREATE COMPUTE POOL snow_tut_pool_{n} MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS;
        GRANT USAGE, MONITOR ON COMPUTE POOL snow_tut_pool_{n} TO ROLE snow_tut_role_{n};
        GRANT ROLE snow_tut_role_{n} TO USER {ADMIN_USER};
        USE ROLE snow_tut_role_{n};
        USE DATABASE snow_tut_db_{n};
        USE WAREHOUSE snow_tut_wh_{n};
        CREATE SCHEMA IF NOT EXISTS data_schema;
        USE SCHEMA data_schema;
        CREATE IMAGE REPOSITORY IF NOT EXISTS tutorial_repository;
        CREATE STAGE IF NOT EXISTS tutorial_stage DIRECTORY = ( ENABLE = true );
        SHOW IMAGE REPOSITORIES;
    """)
    out = snow.json("sql", "-f", str(script))
    repos = out[-1]
    assert [(r["name"], r["owner"], r["repository_url"]) for r in repos] == [
        ("TUTORIAL_REPOSITORY", f"SNOW_TUT_ROLE_{n}",
         f"{server.registry}/snow_tut_db_{n}/data_schema/tutorial_repository")]
    server.query(f"drop compute pool snow_tut_pool_{n}")


def test_snow_spcs_compute_pool_lifecycle(snow):
    name = f"SNOW_POOL_{next(_N)}"
    created = snow.json("spcs", "compute-pool", "create", name, "--family", "CPU_X64_XS", "--min-nodes", "1",
                        "--max-nodes", "2", "--comment", "from snow")
    assert created == {"status": f"Compute Pool {name} successfully created."}
    listed = snow.json("spcs", "compute-pool", "list", "--like", name)
    assert [(p["name"], p["state"], p["min_nodes"], p["max_nodes"], p["instance_family"], p["comment"],
             p["auto_suspend_secs"]) for p in listed] == [(name, "IDLE", 1, 2, "CPU_X64_XS", "from snow", 3600)]

    assert snow.json("spcs", "compute-pool", "suspend", name) == {"status": "Statement executed successfully."}
    assert snow.json("spcs", "compute-pool", "describe", name)[0]["state"] == "SUSPENDED"
    assert snow.json("spcs", "compute-pool", "resume", name) == {"status": "Statement executed successfully."}
    assert snow.json("spcs", "compute-pool", "describe", name)[0]["state"] == "IDLE"

    assert snow.json("spcs", "compute-pool", "drop", name) == [{"status": f"{name} successfully dropped."}]
    # It is gone: dropping it again is Snowflake's 002003 through the CLI.
    again = snow.run("spcs", "compute-pool", "drop", name, check=False)
    assert again.returncode == 1
    assert f"Compute pool '{name}' does not exist or not authorized." in norm_ws(again.stdout + again.stderr)


def test_snow_spcs_image_repository(snow, snow_db, server):
    name = f"snow_repo_{next(_N)}"
    created = snow.json("spcs", "image-repository", "create", name)
    assert created == {"status": f"Image Repository {name.upper()} successfully created."}
    listed = snow.json("spcs", "image-repository", "list")
    url = f"{server.registry}/{snow_db.lower()}/public/{name}"
    assert [(r["name"], r["database_name"], r["schema_name"], r["repository_url"]) for r in listed] == [
        (name.upper(), snow_db, "PUBLIC", url)]
    assert snow.run("spcs", "image-repository", "url", name).stdout.strip() == url
    dropped = snow.json("object", "drop", "image-repository", name)
    assert "successfully dropped" in json.dumps(dropped)
    assert snow.json("spcs", "image-repository", "list") == []


def test_snow_stage_copy_up_and_down(snow, tmp_path):
    """`snow stage copy` both ways (PUT and GET through the connector snow bundles), and list-files."""
    stage = f"SNOW_STAGE_{next(_N)}"
    snow.json("sql", "-q", f"create stage {stage}")
    src = tmp_path / "up"
    src.mkdir()
    (src / "a.csv").write_text("1,one\n")
    (src / "b.csv").write_text("2,two\n")
    uploaded = snow.json("stage", "copy", str(src / "*.csv"), f"@{stage}/in/")
    assert sorted((r["source"], r["status"]) for r in uploaded) == [("a.csv", "UPLOADED"), ("b.csv", "UPLOADED")]
    listed = snow.json("stage", "list-files", f"@{stage}")
    # snow uploads with AUTO_COMPRESS = FALSE.
    assert sorted(r["name"] for r in listed) == [f"{stage.lower()}/in/a.csv", f"{stage.lower()}/in/b.csv"]
    dst = tmp_path / "down"
    dst.mkdir()
    downloaded = snow.json("stage", "copy", f"@{stage}/in/", str(dst))
    assert sorted((r["file"], r["status"]) for r in downloaded) == [("a.csv", "DOWNLOADED"), ("b.csv", "DOWNLOADED")]
    assert (dst / "a.csv").read_text() == "1,one\n" and (dst / "b.csv").read_text() == "2,two\n"
