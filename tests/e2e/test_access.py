"""Users, roles and privileges through the real connector: the setup of Snowflake's SPCS tutorials run
unchanged by a second user under a non-admin role, Snowflake's 003001 for what the role lacks (and
success once granted), and programmatic access tokens on the SQL API v2."""

from __future__ import annotations

import itertools

import pytest
import requests
from snowflake.connector.errors import ProgrammingError

from conftest import norm_ws

NO_PROXY = {"http": None, "https": None}
_N = itertools.count(1)


def names(prefix: str) -> dict[str, str]:
    n = next(_N)
    return {k: f"E2E_{prefix}_{k}_{n}" for k in ("ROLE", "USER", "DB", "WH", "POOL")}


def refused(cur, sql: str) -> ProgrammingError:
    with pytest.raises(ProgrammingError) as info:
        cur.execute(sql)
    return info.value


def test_tutorial_setup_as_a_non_admin_role(server, conn):
    n = names("TUT")
    password = "tutorial-Passw0rd"
    admin = conn.cursor()
    # The tutorial's common setup, as ACCOUNTADMIN.
    for sql in [
        f"USE ROLE ACCOUNTADMIN",
        f"CREATE ROLE {n['ROLE']}",
        f"CREATE DATABASE IF NOT EXISTS {n['DB']}",
        f"GRANT OWNERSHIP ON DATABASE {n['DB']} TO ROLE {n['ROLE']} COPY CURRENT GRANTS",
        f"CREATE OR REPLACE WAREHOUSE {n['WH']} WITH WAREHOUSE_SIZE='X-SMALL'",
        f"GRANT USAGE ON WAREHOUSE {n['WH']} TO ROLE {n['ROLE']}",
        f"GRANT BIND SERVICE ENDPOINT ON ACCOUNT TO ROLE {n['ROLE']}",
        f"CREATE COMPUTE POOL {n['POOL']} MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS",
        f"GRANT USAGE, MONITOR ON COMPUTE POOL {n['POOL']} TO ROLE {n['ROLE']}",
        f"CREATE USER {n['USER']} PASSWORD = '{password}' DEFAULT_ROLE = {n['ROLE']} MUST_CHANGE_PASSWORD = FALSE",
        f"GRANT ROLE {n['ROLE']} TO USER {n['USER']}",
    ]:
        admin.execute(sql)

    # The second user logs in with its own password and runs the tutorial's own statements.
    user_conn = server.connect(user=n["USER"], password=password)
    cur = user_conn.cursor()
    assert cur.execute("select current_user(), current_role()").fetchall() == [(n["USER"], n["ROLE"])]
    for sql in [
        f"USE ROLE {n['ROLE']}",
        f"USE DATABASE {n['DB']}",
        f"USE WAREHOUSE {n['WH']}",
        "CREATE SCHEMA IF NOT EXISTS data_schema",
        "USE SCHEMA data_schema",
        "CREATE IMAGE REPOSITORY IF NOT EXISTS tutorial_repository",
        "CREATE STAGE IF NOT EXISTS tutorial_stage DIRECTORY = ( ENABLE = true )",
    ]:
        cur.execute(sql)
    repos = cur.execute("SHOW IMAGE REPOSITORIES").fetchall()
    assert [(r[1], r[5]) for r in repos] == [("TUTORIAL_REPOSITORY", n["ROLE"])]
    assert [r[1] for r in cur.execute("SHOW DATABASES").fetchall()] == [n["DB"]]
    assert [r[0] for r in cur.execute("SHOW COMPUTE POOLS").fetchall()] == [n["POOL"]]

    # What the role lacks is refused with Snowflake's 003001 ...
    err = refused(cur, f"ALTER COMPUTE POOL {n['POOL']} SUSPEND")
    assert (err.errno, err.sqlstate) == (3001, "42501")
    assert norm_ws(err.msg).endswith(f"SQL access control error: Insufficient privileges to operate on compute pool '{n['POOL']}'.")
    err = refused(cur, f"CREATE COMPUTE POOL {n['POOL']}_2 MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS")
    assert err.errno == 3001 and "Insufficient privileges to operate on account" in norm_ws(err.msg)
    err = refused(cur, "USE ROLE ACCOUNTADMIN")
    assert err.errno == 2043

    # ... and succeeds once granted.
    admin.execute(f"GRANT OPERATE ON COMPUTE POOL {n['POOL']} TO ROLE {n['ROLE']}")
    admin.execute(f"GRANT CREATE COMPUTE POOL ON ACCOUNT TO ROLE {n['ROLE']}")
    cur.execute(f"ALTER COMPUTE POOL {n['POOL']} SUSPEND")
    cur.execute(f"ALTER COMPUTE POOL {n['POOL']} RESUME")
    cur.execute(f"CREATE COMPUTE POOL {n['POOL']}_2 MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS")
    pools = cur.execute(f"SHOW COMPUTE POOLS LIKE '{n['POOL']}%'").fetchall()
    assert sorted((p[0], p[15]) for p in pools) == [(n["POOL"], "ACCOUNTADMIN"), (f"{n['POOL']}_2", n["ROLE"])]

    # Tables: reading one of another role's needs USAGE and SELECT; writing, the matching privilege.
    admin.execute(f"CREATE TABLE {n['DB']}.PUBLIC.FACTS (x int)")
    admin.execute(f"INSERT INTO {n['DB']}.PUBLIC.FACTS VALUES (1), (2)")
    err = refused(cur, f"SELECT * FROM {n['DB']}.PUBLIC.FACTS")
    assert err.errno == 2003
    admin.execute(f"GRANT USAGE ON SCHEMA {n['DB']}.PUBLIC TO ROLE {n['ROLE']}")
    admin.execute(f"GRANT SELECT ON TABLE {n['DB']}.PUBLIC.FACTS TO ROLE {n['ROLE']}")
    assert cur.execute(f"SELECT count(*) FROM {n['DB']}.PUBLIC.FACTS").fetchall() == [(2,)]
    err = refused(cur, f"INSERT INTO {n['DB']}.PUBLIC.FACTS VALUES (3)")
    assert (err.errno, err.sqlstate) == (3001, "42501")
    assert norm_ws(err.msg).endswith("SQL access control error: Insufficient privileges to operate on table 'FACTS'.")
    admin.execute(f"GRANT INSERT ON TABLE {n['DB']}.PUBLIC.FACTS TO ROLE {n['ROLE']}")
    cur.execute(f"INSERT INTO {n['DB']}.PUBLIC.FACTS VALUES (3)")
    assert cur.execute(f"SELECT count(*) FROM {n['DB']}.PUBLIC.FACTS").fetchall() == [(3,)]

    grants = admin.execute(f"SHOW GRANTS TO ROLE {n['ROLE']}").fetchall()
    assert ("BIND SERVICE ENDPOINT", "ACCOUNT") in [(g[1], g[2]) for g in grants]
    assert ("OWNERSHIP", "DATABASE", n["DB"]) in [(g[1], g[2], g[3]) for g in grants]
    server._close_one(user_conn)
    with pytest.raises(Exception):
        server.connect(user=n["USER"], password="wrong-password")


def sqlapi(server, token: str, statement: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "X-Snowflake-Authorization-Token-Type": "PROGRAMMATIC_ACCESS_TOKEN",
               "Content-Type": "application/json", "User-Agent": "x"}
    return requests.post(f"{server.url}/api/v2/statements", json={"statement": statement}, headers=headers, timeout=60,
                         proxies=NO_PROXY)


def test_programmatic_access_token_on_the_sql_api(server, conn):
    n = names("PAT")
    admin = conn.cursor()
    admin.execute(f"CREATE ROLE {n['ROLE']}")
    admin.execute(f"CREATE USER {n['USER']} PASSWORD = 'pat-Passw0rd' TYPE = PERSON")
    admin.execute(f"GRANT ROLE {n['ROLE']} TO USER {n['USER']}")
    cur = admin.execute(f"ALTER USER {n['USER']} ADD PROGRAMMATIC ACCESS TOKEN ci_token ROLE_RESTRICTION = '{n['ROLE']}' "
                        f"DAYS_TO_EXPIRY = 1 COMMENT = 'e2e'")
    assert [d.name for d in cur.description] == ["token_name", "token_secret"]
    (token_name, secret), = cur.fetchall()
    assert token_name == "CI_TOKEN" and secret

    r = sqlapi(server, secret, "select current_user(), current_role()")
    assert r.status_code == 200, r.text
    assert r.json()["data"] == [[n["USER"], n["ROLE"]]]
    tokens = admin.execute(f"SHOW USER PROGRAMMATIC ACCESS TOKENS FOR USER {n['USER']}").fetchall()
    assert [(t[0], t[2], t[4], t[5]) for t in tokens] == [("CI_TOKEN", n["ROLE"], "ACTIVE", "e2e")]

    admin.execute(f"ALTER USER {n['USER']} REMOVE PROGRAMMATIC ACCESS TOKEN ci_token")
    assert sqlapi(server, secret, "select 1").status_code == 401
