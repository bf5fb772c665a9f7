"""Snowflake SQL API v2 against a real server: submit, 200/202/422, bindings, partitions, multi-statement
handles, async polling, cancel, authentication errors."""

from __future__ import annotations

import time
import uuid

import requests

from test_sessions import login

NO_PROXY = {"http": None, "https": None}


def api(server, token: str, method: str, path: str, body: dict | None = None, token_type: str = "OAUTH",
        content_type: str = "application/json", params: dict | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "X-Snowflake-Authorization-Token-Type": token_type,
               "Content-Type": content_type, "Accept": "application/json", "User-Agent": "floe-e2e/1.0"}
    return requests.request(method, f"{server.url}{path}", json=body, headers=headers, params=params,
                            timeout=120, proxies=NO_PROXY)


def submit(server, token: str, statement: str, **extra) -> requests.Response:
    params = extra.pop("params", None)
    return api(server, token, "POST", "/api/v2/statements", {"statement": statement, **extra}, params=params)


def test_submit_query_dml_and_errors(server):
    token = login(server.url)["token"]
    db = "SQLAPI_" + uuid.uuid4().hex[:8].upper()
    assert submit(server, token, f"create database {db}").status_code == 200
    r = submit(server, token, "create table t (id int, name varchar, at date)", database=db, schema="PUBLIC")
    assert r.status_code == 200, r.text
    r = submit(server, token, "insert into t values (?, ?, ?), (2, 'b', '2024-01-02')", database=db,
               bindings={"1": {"type": "FIXED", "value": "1"}, "2": {"type": "TEXT", "value": "a"},
                         "3": {"type": "DATE", "value": "86400000"}})
    assert r.status_code == 200, r.text
    assert r.json()["stats"]["numRowsInserted"] == 2
    r = submit(server, token, "select id, name, at from t order by id", database=db)
    body = r.json()
    assert r.status_code == 200 and body["code"] == "090001" and body["sqlState"] == "00000"
    meta = body["resultSetMetaData"]
    assert meta["format"] == "jsonv2" and meta["numRows"] == 2
    assert [c["name"] for c in meta["rowType"]] == ["ID", "NAME", "AT"]
    assert [c["type"] for c in meta["rowType"]] == ["fixed", "text", "date"]
    assert body["data"] == [["1", "a", "1"], ["2", "b", "19724"]]
    assert body["statementStatusUrl"].endswith(body["statementHandle"])
    r = submit(server, token, "select * from no_such_table", database=db)
    assert r.status_code == 422
    err = r.json()
    assert err["code"] == "002003" and err["sqlState"] == "42S02" and "NO_SUCH_TABLE" in err["message"]
    assert err["statementHandle"]
    r = submit(server, token, "select null as n", params={"nullable": "false"})
    assert r.json()["data"] == [["null"]]
    submit(server, token, f"drop database {db}")


def test_partitions_multi_statement_and_async(server):
    token = login(server.url)["token"]
    r = submit(server, token, "select seq4() as n from table(generator(rowcount => 25000)) order by n")
    body = r.json()
    parts = body["resultSetMetaData"]["partitionInfo"]
    assert [p["rowCount"] for p in parts] == [10000, 10000, 5000]
    assert len(body["data"]) == 10000 and body["data"][0] == ["0"]
    handle = body["statementHandle"]
    second = api(server, token, "GET", f"/api/v2/statements/{handle}", params={"partition": "2"}).json()
    assert len(second["data"]) == 5000 and second["data"][-1] == ["24999"]
    r = submit(server, token, "select 1; select 'two'", parameters={"MULTI_STATEMENT_COUNT": "2"})
    body = r.json()
    assert r.status_code == 200 and len(body["statementHandles"]) == 2
    child = api(server, token, "GET", f"/api/v2/statements/{body['statementHandles'][1]}").json()
    assert child["data"] == [["two"]]
    r = submit(server, token, "select 1; select 2")
    assert r.status_code == 422 and r.json()["code"] == "000008"
    r = submit(server, token, "select 42", params={"async": "true"})
    assert r.status_code == 202 and r.json()["code"] == "333334"
    handle = r.json()["statementHandle"]
    for _ in range(100):
        got = api(server, token, "GET", f"/api/v2/statements/{handle}")
        if got.status_code == 200:
            break
        assert got.status_code == 202
        time.sleep(0.05)
    assert got.json()["data"] == [["42"]]


def test_cancel_and_authentication(server):
    token = login(server.url)["token"]
    r = submit(server, token, "select count(*) from table(generator(rowcount => 5000000000))", params={"async": "true"})
    handle = r.json()["statementHandle"]
    c = api(server, token, "POST", f"/api/v2/statements/{handle}/cancel")
    assert c.status_code == 200 and c.json()["statementHandle"] == handle
    for _ in range(200):
        got = api(server, token, "GET", f"/api/v2/statements/{handle}")
        if got.status_code != 202:
            break
        time.sleep(0.05)
    assert got.status_code == 422 and got.json()["code"] == "000604", got.text
    assert submit(server, "not-a-token", "select 1").status_code == 401
    assert api(server, token, "POST", "/api/v2/statements", {"statement": "select 1"}, token_type="KEYPAIR_JWT").status_code == 401
    assert api(server, token, "POST", "/api/v2/statements", {"statement": "select 1"}, content_type="text/plain").status_code == 415
    assert api(server, token, "GET", f"/api/v2/statements/{uuid.uuid4()}").status_code == 404
