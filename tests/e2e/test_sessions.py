"""Sessions: token lifetimes and renewal (`/session/token-request`), and sessions that survive a
server restart with their context and temporary tables."""

from __future__ import annotations

import gzip
import json
import time
import uuid

import requests

from conftest import ADMIN_PASSWORD, ADMIN_USER


def post(url: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", "Accept": "application/snowflake", "Content-Encoding": "gzip"}
    if token:
        headers["Authorization"] = f'Snowflake Token="{token}"'
    sep = "&" if "?" in path else "?"
    r = requests.post(f"{url}{path}{sep}requestId={uuid.uuid4()}", data=gzip.compress(json.dumps(body).encode()),
                      headers=headers, timeout=60, proxies={"http": None, "https": None})
    assert r.status_code == 200, r.text
    return r.json()


def login(url: str) -> dict:
    body = post(url, "/session/v1/login-request", {"data": {"LOGIN_NAME": ADMIN_USER, "PASSWORD": ADMIN_PASSWORD, "CLIENT_APP_ID": "test"}})
    assert body["success"], body
    return body["data"]


def query(url: str, token: str, sql: str) -> dict:
    return post(url, "/queries/v1/query-request", {"sqlText": sql, "parameters": {"PYTHON_CONNECTOR_QUERY_RESULT_FORMAT": "JSON"}}, token)


def test_session_token_expires_and_is_renewed_with_the_master_token(make_server):
    server = make_server(extra_env={"FLOE_SESSION_TOKEN_SECS": "2"})
    data = login(server.url)
    assert data["validityInSeconds"] == 2 and data["masterValidityInSeconds"] == 4 * 3600
    token, master = data["token"], data["masterToken"]
    assert query(server.url, token, "select 1")["success"]
    time.sleep(3)
    expired = query(server.url, token, "select 1")
    assert expired["code"] == "390112", expired
    renewed = post(server.url, "/session/token-request", {"oldSessionToken": token, "requestType": "RENEW"}, master)
    assert renewed["success"], renewed
    new_token = renewed["data"]["sessionToken"]
    assert renewed["data"]["masterToken"]
    assert query(server.url, new_token, "select 2")["data"]["rowset"] == [["2"]]
    bogus = post(server.url, "/session/token-request", {"oldSessionToken": token, "requestType": "RENEW"}, "nope")
    assert bogus["code"] == "390104", bogus
    issued = post(server.url, "/session/token-request", {"requestType": "ISSUE"}, master)
    assert issued["data"]["validityInSecondsST"] == 2
    assert query(server.url, issued["data"]["sessionToken"], "select 3")["success"]


def test_the_connector_renews_an_expired_session_by_itself(make_server):
    server = make_server(extra_env={"FLOE_SESSION_TOKEN_SECS": "2"})
    conn = server.connect()
    cur = conn.cursor()
    assert cur.execute("select 1").fetchall() == [(1,)]
    time.sleep(3)
    assert cur.execute("select 2").fetchall() == [(2,)]


def test_sessions_survive_a_restart_with_context_and_temporary_tables(make_server):
    server = make_server()
    data = login(server.url)
    token = data["token"]
    for sql in ["create database keep", "alter session set query_tag = 'kept'",
                "create temporary table scratch (id int)", "insert into scratch values (7)"]:
        assert query(server.url, token, sql)["success"]
    closed = login(server.url)
    assert query(server.url, closed["token"], "create temporary table keep.public.gone (id int)")["success"]
    post(server.url, "/session?delete=true", {}, closed["token"])
    server.restart()
    after = query(server.url, token, "select current_database(), current_schema(), count(*) from scratch")
    assert after["success"], after
    assert after["data"]["rowset"] == [["KEEP", "PUBLIC", "1"]]
    tag = query(server.url, token, "show parameters like 'QUERY_TAG'")
    assert "kept" in json.dumps(tag["data"]["rowset"])
    tables = json.dumps(query(server.url, token, "show tables in database keep")["data"]["rowset"])
    assert "SCRATCH" in tables and "GONE" not in tables
    assert query(server.url, closed["token"], "select 1")["code"] == "390104"


def test_results_are_kept_for_result_scan_and_survive_a_restart(make_server):
    server = make_server()
    token = login(server.url)["token"]
    first = query(server.url, token, "select 41 + 1 as answer, 'x' as s")
    qid = first["data"]["queryId"]
    scanned = query(server.url, token, "select answer from table(result_scan(last_query_id()))")
    assert scanned["data"]["rowset"] == [["42"]], scanned
    query(server.url, token, "show parameters like 'TIMEZONE'")
    shown = query(server.url, token, 'select "key", "value" from table(result_scan(last_query_id()))')
    assert shown["data"]["rowset"] == [["TIMEZONE", "UTC"]], shown
    missing = query(server.url, token, f"select * from table(result_scan('{uuid.uuid4()}'))")
    assert missing["code"] == "000709", missing
    server.restart()
    again = query(server.url, token, f"select s, answer from table(result_scan('{qid}'))")
    assert again["data"]["rowset"] == [["x", "42"]], again
    r = requests.get(f"{server.url}/queries/{qid}/result", headers={"Authorization": f'Snowflake Token="{token}"'},
                     timeout=30, proxies={"http": None, "https": None})
    assert r.json()["success"] and r.json()["data"]["queryId"] == qid
