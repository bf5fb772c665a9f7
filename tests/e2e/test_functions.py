"""External functions, service functions and API integrations (spcs.md §9-10), through the real connector.

A Python HTTP server on loopback plays remote services that misbehave on purpose (mode = URL path);
the reference asynchronous remote service (`floe-testimg async-server`, examples/async-remote-service)
runs as a plain process for external functions and, with FLOE_TEST_DOCKER=1, as a floe service behind
a service function. The server maps the Snowflake script's API Gateway URL to the local endpoints with
FLOE_EXTERNAL_URL_MAP, so the SQL below is what a Snowflake script says.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import snowflake.connector

from conftest import REPO, FloeServer, free_port
from test_containers import images, spcs  # noqa: F401  (fixtures of the Docker tests)

GATEWAY = "https://abc123.execute-api.us-west-2.amazonaws.com/prod/"
TESTIMG = Path(os.environ.get("FLOE_TESTIMG") or REPO / "target" / "release" / "floe-testimg")


class Remote:
    """The misbehaving remote service: records requests; answers by mode (the path's first part)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.counts: dict[str, int] = {}
        self.pending: dict[str, dict] = {}
        self.lock = threading.Lock()
        remote = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status: int, body: bytes | str = b"", headers: dict | None = None):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Encoding") == "gzip":
                    import gzip
                    raw = gzip.decompress(raw)
                body = json.loads(raw) if raw else None
                batch = self.headers.get("sf-external-function-query-batch-id", "")
                mode = self.path.strip("/").split("/")[-1]
                with remote.lock:
                    remote.requests.append({"method": self.command, "mode": mode, "headers": dict(self.headers), "body": body})
                    remote.counts[batch] = remote.counts.get(batch, 0) + 1
                    count = remote.counts[batch]
                rows = lambda b: {"data": [[r[0], r[1] if len(r) > 1 else None] for r in b["data"]]}  # noqa: E731
                ok = lambda v: self.reply(200, json.dumps(v), {"Content-Type": "application/json"})  # noqa: E731
                if mode == "echo":
                    return ok(rows(body))
                if mode == "upper":
                    return ok({"data": [[r[0], None if r[1] is None else str(r[1]).upper()] for r in body["data"]]})
                if mode == "async":
                    if self.command == "POST":
                        remote.pending[batch] = rows(body)
                        return self.reply(202)
                    return self.reply(202) if count < 3 else ok(remote.pending.pop(batch))
                if mode == "native":  # a service with its own format, reached through translators
                    return ok({"Results": [t.upper() for t in body["TextList"]]})
                if mode == "nativeasync":
                    if self.command == "POST":
                        remote.pending[batch] = {"Results": [t.upper() for t in body["TextList"]]}
                        return self.reply(202)
                    return self.reply(202) if count < 3 else ok(remote.pending.pop(batch))
                if mode == "flaky":
                    return self.reply(503, "busy") if count <= 2 else ok(rows(body))
                if mode == "throttle":
                    return self.reply(429, "slow down") if count == 1 else ok(rows(body))
                if mode == "always500":
                    return self.reply(500, "boom")
                if mode == "status400":
                    return self.reply(400, '"invalid prompt object"')
                if mode == "notjson":
                    return self.reply(200, "<html>")
                if mode == "nodata":
                    return ok({"rows": []})
                if mode == "short":
                    r = rows(body)
                    r["data"].pop()
                    return ok(r)
                if mode == "reversed":
                    r = rows(body)
                    r["data"].reverse()
                    return ok(r)
                if mode == "badmd5":
                    return self.reply(200, json.dumps(rows(body)), {"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
                if mode == "goodmd5":
                    text = json.dumps(rows(body)).encode()
                    return self.reply(200, text, {"Content-MD5": base64.b64encode(hashlib.md5(text).digest()).decode()})
                if mode == "huge":
                    return self.reply(200, b"x" * (10 * 1024 * 1024 + 10))
                if mode == "forever":
                    return self.reply(202)
                if mode == "slow":
                    time.sleep(1.0)
                    return ok(rows(body))
                return self.reply(404, "no such mode")

            do_POST = handle_one
            do_GET = handle_one

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def posts(self, mode: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["method"] == "POST" and r["mode"] == mode]

    def of(self, mode: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["mode"] == mode]


@pytest.fixture(scope="module")
def remote():
    r = Remote()
    yield r
    r.httpd.shutdown()


@pytest.fixture(scope="module")
def async_service():
    """The reference asynchronous remote service as a plain process on loopback."""
    if not TESTIMG.exists():
        pytest.fail(f"{TESTIMG} is missing: cargo build --release --workspace")
    port = free_port()
    proc = subprocess.Popen([str(TESTIMG), "async-server"], env={**os.environ, "SERVER_PORT": str(port), "PROCESS_MS": "150"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 10
    import urllib.request
    while time.time() < deadline:
        try:
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"http://127.0.0.1:{port}/healthcheck", timeout=1)
            break
        except Exception:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def fsrv(work_root, remote, async_service):
    url_map = f"{GATEWAY}=http://127.0.0.1:{remote.port}/,https://async.example.com/=http://127.0.0.1:{async_service}/"
    srv = FloeServer(work_root / "functions" / "data", work_root / "functions" / "logs",
                     extra_env={"FLOE_EXTERNAL_URL_MAP": url_map, "FLOE_EXTERNAL_FUNCTION_TIMEOUT_SECS": "3",
                                "FLOE_REMOTE_RETRY_MAX_MS": "100", "FLOE_REMOTE_POLL_MAX_MS": "50"})
    srv.start()
    c = srv.connect()
    cur = c.cursor()
    cur.execute("create database fdb")
    cur.execute("create table fdb.public.t (id int, s varchar, n number(10,2), f float, b boolean, d date, ts timestamp_ntz, v variant)")
    cur.execute("""insert into fdb.public.t select 1, 'a', 1.5, 0.25, true, '2014-01-01', '2014-01-01 16:00:00', parse_json('{"k": [1, 2]}')""")
    cur.execute("insert into fdb.public.t values (2, 'b', 2.25, -1.0, false, '2015-06-30', '2015-01-01 16:00:00', null)")
    cur.execute("insert into fdb.public.t values (3, null, null, null, null, null, null, null)")
    cur.execute(f"""create api integration my_api api_provider = aws_api_gateway
                    api_aws_role_arn = 'arn:aws:iam::123456789012:role/my_role'
                    api_allowed_prefixes = ('{GATEWAY}', 'https://async.example.com/')
                    api_blocked_prefixes = ('{GATEWAY}blocked')
                    api_key = 'k-123' enabled = true""")
    srv.funcs = c
    yield srv
    srv.cleanup()


def q(srv, sql: str, *params):
    cur = srv.funcs.cursor()
    cur.execute("use fdb.public")
    cur.execute(sql, params or None)
    return cur.fetchall()


def ext(srv, name: str, mode: str, args: str = "a varchar", returns: str = "varchar", extra: str = ""):
    q(srv, f"create or replace external function {name}({args}) returns {returns} api_integration = my_api {extra} as '{GATEWAY}{mode}'")


def err(srv, sql: str) -> snowflake.connector.errors.DatabaseError:
    with pytest.raises(snowflake.connector.errors.DatabaseError) as e:
        q(srv, sql)
    return e.value


# ---- definitions ---------------------------------------------------------------------------

def test_integration_statements(fsrv):
    rows = q(fsrv, "show api integrations like 'MY_%'")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("MY_API", "EXTERNAL_API - AWS_API_GATEWAY", "API", "true")]
    desc = {r[0]: r[2] for r in q(fsrv, "describe integration my_api")}
    assert desc["API_PROVIDER"] == "AWS_API_GATEWAY"
    assert desc["API_AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/my_role"
    assert desc["API_KEY"] == "****"
    assert desc["API_AWS_EXTERNAL_ID"]
    # A bad provider and a missing option change nothing.
    e = err(fsrv, "create api integration bad_api api_provider = nowhere api_aws_role_arn = 'x' api_allowed_prefixes = ('https://x/') enabled = true")
    assert "invalid value [nowhere] for parameter 'API_PROVIDER'" in e.msg
    e = err(fsrv, "create api integration bad_api api_provider = aws_api_gateway api_allowed_prefixes = ('https://x/') enabled = true")
    assert "API_AWS_ROLE_ARN" in e.msg
    assert q(fsrv, "show integrations like 'BAD%'") == []
    q(fsrv, "create api integration tmp_api api_provider = aws_api_gateway api_aws_role_arn = 'a' api_allowed_prefixes = ('https://x/') enabled = false")
    q(fsrv, "alter api integration tmp_api set enabled = true comment = 'c'")
    assert q(fsrv, "show integrations like 'TMP_API'")[0][3:5] == ("true", "c")
    assert q(fsrv, "drop integration tmp_api") == [("TMP_API successfully dropped.",)]
    assert "does not exist" in err(fsrv, "drop integration tmp_api").msg


def test_only_account_privilege_creates_integrations(fsrv):
    q(fsrv, "create role if not exists fn_dev")
    q(fsrv, "grant role fn_dev to user admin")
    cur = fsrv.funcs.cursor()
    try:
        cur.execute("use role fn_dev")
        with pytest.raises(snowflake.connector.errors.ProgrammingError) as e:
            cur.execute("create api integration dev_api api_provider = aws_api_gateway api_aws_role_arn = 'a' api_allowed_prefixes = ('https://x/') enabled = true")
        assert e.value.errno == 3001
    finally:
        cur.execute("use role accountadmin")


def test_usage_privilege_on_functions(fsrv):
    ext(fsrv, "priv_f", "echo")
    for s in ["create role if not exists fn_user", "grant role fn_user to user admin", "grant usage on database fdb to role fn_user",
              "grant usage on schema fdb.public to role fn_user"]:
        q(fsrv, s)
    cur = fsrv.funcs.cursor()
    try:
        cur.execute("use role fn_user")
        with pytest.raises(snowflake.connector.errors.DatabaseError) as e:
            cur.execute("select fdb.public.priv_f('x')")
        assert "Unknown function PRIV_F" in e.value.msg
        cur.execute("use role accountadmin")
        cur.execute("grant usage on function fdb.public.priv_f(varchar) to role fn_user")
        cur.execute("use role fn_user")
        assert cur.execute("select fdb.public.priv_f('x')").fetchall() == [("x",)]
    finally:
        cur.execute("use role accountadmin")


def test_function_statements_and_overloads(fsrv):
    ext(fsrv, "ov", "echo", "a varchar")
    ext(fsrv, "ov", "echo", "a number, b varchar", "number")
    shown = q(fsrv, "show external functions like 'OV'")
    assert [r[8] for r in shown] == ["OV(NUMBER, VARCHAR) RETURN NUMBER", "OV(VARCHAR) RETURN VARCHAR"]
    assert all(r[14] == "Y" and r[15] == "EXTERNAL" for r in shown)
    assert q(fsrv, "select ov('x'), ov(5, 'y')") == [("x", 5)]
    desc = dict(q(fsrv, "describe function ov(number, varchar)"))
    assert desc["signature"] == "(A NUMBER, B VARCHAR)"
    assert desc["body"] == f"{GATEWAY}echo"
    assert desc["api_integration"] == "MY_API"
    q(fsrv, "alter function ov(varchar) set max_batch_rows = 7 comment = 'one'")
    assert dict(q(fsrv, "describe function ov(varchar)"))["max_batch_rows"] == "7"
    assert q(fsrv, "drop function ov(number, varchar)") == [("OV successfully dropped.",)]
    e = err(fsrv, "drop function ov(number, varchar)")
    assert e.errno == 2003 and "OV(NUMBER, VARCHAR)" in e.msg
    assert [r[8] for r in q(fsrv, "show functions like 'OV'")] == ["OV(VARCHAR) RETURN VARCHAR"]
    # Creating it again without OR REPLACE fails; IF NOT EXISTS does not.
    assert err(fsrv, f"create external function ov(a varchar) returns varchar api_integration = my_api as '{GATEWAY}echo'").errno == 2002


def test_url_must_be_allowed_and_not_blocked(fsrv):
    e = err(fsrv, "create external function nope(a varchar) returns varchar api_integration = my_api as 'https://elsewhere.example.com/f'")
    assert "is not allowed by the API integration MY_API" in e.msg
    e = err(fsrv, f"create external function nope(a varchar) returns varchar api_integration = my_api as '{GATEWAY}blocked/f'")
    assert "is not allowed" in e.msg
    e = err(fsrv, f"create external function nope(a varchar) returns varchar api_integration = no_such as '{GATEWAY}f'")
    assert "NO_SUCH" in e.msg and "does not exist" in e.msg
    e = err(fsrv, f"create external function nope(a varchar) returns varchar api_integration = my_api headers = ('bad_name' = 'x') as '{GATEWAY}f'")
    assert "bad_name" in e.msg
    assert q(fsrv, "show external functions like 'NOPE'") == []


# ---- calls -----------------------------------------------------------------------------------

def test_sync_call_headers_and_batches(fsrv, remote):
    ext(fsrv, "hdr", "upper", extra="headers = ('volume-measure' = 'liters') context_headers = (current_user, current_database) max_batch_rows = 2 compression = none")
    rows = q(fsrv, "select id, hdr(s) from t order by id")
    assert rows == [(1, "A"), (2, "B"), (3, None)]
    posts = remote.posts("upper")[-2:]
    assert sorted(len(p["body"]["data"]) for p in posts) == [1, 2]
    h = {k.lower(): v for k, v in posts[0]["headers"].items()}
    assert h["sf-external-function-format"] == "json"
    assert h["sf-external-function-format-version"] == "1.0"
    assert h["sf-external-function-name"] == "HDR"
    assert base64.b64decode(h["sf-external-function-name-base64"]) == b"HDR"
    assert h["sf-external-function-signature"] == "(A VARCHAR)"
    assert h["sf-external-function-return-type"] == "VARCHAR(16777216)"
    assert h["sf-custom-volume-measure"] == "liters"
    assert h["sf-context-current-user"] == "ADMIN"
    assert h["sf-context-current-database"] == "FDB"
    assert base64.b64decode(h["sf-context-current-user-base64"]) == b"ADMIN"
    assert h["x-api-key"] == "k-123"
    assert h["user-agent"] == "snowflake/1.0"
    qid = fsrv.funcs.cursor().execute("select last_query_id(-2)").fetchone()[0]
    assert h["sf-external-function-current-query-id"] == qid or h["sf-external-function-current-query-id"]
    assert h["sf-external-function-query-batch-id"].startswith(h["sf-external-function-current-query-id"] + ":")
    assert "content-encoding" not in h


# Snowflake's published translator pair (external-functions-translators), as a user pastes it: an
# undeclared loop variable, the argument referred to in upper case, translatorData carrying the rows.
REQUEST_TRANSLATOR = """create or replace function req_tr(event object) returns object language javascript as '
var textlist = []
for(i = 0; i < EVENT.body.data.length; i++) {
   let row = EVENT.body.data[i];
   textlist[i] = row[1];
}
return { "body": { "SourceLanguageCode" : "en", "TargetLanguageCode" : "fr", "TextList" : textlist },
         "urlSuffix": EVENT.contextHeaders["sf-context-current-user"] ? "native" : "unknown",
         "translatorData": EVENT.body };
'"""
RESPONSE_TRANSLATOR = """create or replace function resp_tr(event object) returns object language javascript as '
var responses = new Array(0);
var input = EVENT.translatorData;
for(i = 0; i < EVENT.body.Results.length; i++) {
   let row = input.data[i];
   responses[i] = [row[0], EVENT.body.Results[i] + "/" + row[1]];
}
return { "body": { "data" : responses } };
'"""


def test_javascript_functions(fsrv):
    q(fsrv, """create or replace function js_add(a float, b varchar) returns varchar language javascript as $$
        if (B === undefined) { return "no b"; }
        return B + ":" + (A * 2);
    $$""")
    assert q(fsrv, "select id, js_add(f, s) from t order by id") == [(1, "a:0.5"), (2, "b:-2"), (3, "no b")]
    # STRICT: a NULL argument gives NULL without calling the code; VARIANT crosses as JSON.
    q(fsrv, "create or replace function js_keys(v variant) returns variant language javascript strict as 'return Object.keys(V);'")
    assert [(r[0], json.loads(r[1]) if r[1] else None) for r in q(fsrv, "select id, js_keys(v) from t order by id")] == [(1, ["k"]), (2, None), (3, None)]
    # Snowflake's type mapping: DATE and TIMESTAMP arrive as JS Dates, FLOAT as a number (NaN too); a
    # returned Date is a TIMESTAMP.
    q(fsrv, "create or replace function js_year(d date, f float) returns varchar strict language javascript as 'return D.getUTCFullYear() + \\'/\\' + isNaN(F);'")
    assert q(fsrv, "select id, js_year(d, case when id = 2 then 'nan'::float else f end) from t order by id") == [(1, "2014/false"), (2, "2015/true"), (3, None)]
    q(fsrv, "create or replace function js_later(t timestamp_ntz) returns timestamp_ntz language javascript as 'return new Date(T.getTime() + 3600 * 1000);'")
    assert q(fsrv, "select js_later(ts) from t where id = 1") == [(datetime.datetime(2014, 1, 1, 17, 0),)]
    # BINARY arrives as a Uint8Array, and a returned Uint8Array is BINARY.
    q(fsrv, "create or replace function js_bin(b binary) returns binary language javascript as 'var o = new Uint8Array(B.length); for (var i = 0; i < B.length; i++) { o[i] = B[i] + 1; } return o;'")
    assert q(fsrv, "select js_bin(to_binary('00FE', 'HEX'))") == [(b"\x01\xff",)]
    # In WHERE and ORDER BY, like any function.
    assert q(fsrv, "select id from t where js_add(f, s) like 'a%' order by js_add(f, s)") == [(1,)]
    shown = q(fsrv, "show user functions like 'JS_ADD'")
    assert [(r[8], r[15]) for r in shown] == [("JS_ADD(FLOAT, VARCHAR) RETURN VARCHAR", "JAVASCRIPT")]
    desc = dict(q(fsrv, "describe function js_add(float, varchar)"))
    assert desc["language"] == "JAVASCRIPT" and "return B" in desc["body"]
    # A syntax error fails CREATE and creates nothing; a runtime error fails the query and names the function.
    e = err(fsrv, "create function js_bad(a float) returns float language javascript as 'return A +;'")
    assert e.errno == 100131 and "JavaScript compilation error: Uncaught SyntaxError" in e.msg, e.msg
    assert q(fsrv, "show user functions like 'JS_BAD'") == []
    q(fsrv, "create or replace function js_throw(a float) returns float language javascript as 'return NOPE + A;'")
    e = err(fsrv, "select js_throw(1)")
    assert e.errno == 100132 and "JavaScript execution error: Uncaught ReferenceError" in e.msg and "JS_THROW" in e.msg, e.msg
    # Options of other kinds of function are refused.
    e = err(fsrv, "create function js_opt(a float) returns float language javascript max_batch_rows = 5 as 'return A;'")
    assert "MAX_BATCH_ROWS" in e.msg


def test_request_and_response_translators(fsrv, remote):
    q(fsrv, REQUEST_TRANSLATOR)
    q(fsrv, RESPONSE_TRANSLATOR)
    q(fsrv, f"""create or replace external function translate_fr(msg varchar) returns variant api_integration = my_api
                context_headers = (current_user) max_batch_rows = 2
                request_translator = req_tr response_translator = fdb.public.resp_tr as '{GATEWAY}'""")
    rows = q(fsrv, "select id, translate_fr(s) from t where s is not null order by id")
    assert [(i, json.loads(v)) for i, v in rows] == [(1, "A/a"), (2, "B/b")]
    # The service saw its own format at the URL plus urlSuffix.
    post = remote.posts("native")[-1]
    assert post["body"]["SourceLanguageCode"] == "en" and post["body"]["TextList"]
    desc = dict(q(fsrv, "describe function translate_fr(varchar)"))
    assert (desc["request_translator"], desc["response_translator"]) == ("FDB.PUBLIC.REQ_TR", "FDB.PUBLIC.RESP_TR")
    # The asynchronous protocol through translators: the POST answers 202, GETs poll the same suffixed URL.
    q(fsrv, f"""create or replace external function translate_async(msg varchar) returns variant api_integration = my_api
                context_headers = (current_user) request_translator = req_tr response_translator = resp_tr as '{GATEWAY}'""")
    q(fsrv, REQUEST_TRANSLATOR.replace('"native"', '"nativeasync"').replace("req_tr(", "req_tr_async("))
    q(fsrv, "alter function translate_async(varchar) set request_translator = req_tr_async")
    assert [json.loads(v) for (v,) in q(fsrv, "select translate_async('x')")] == ["X/x"]
    methods = [r["method"] for r in remote.of("nativeasync")]
    assert methods[-3:] == ["POST", "GET", "GET"], methods
    # Unset, the translator is no longer called.
    q(fsrv, "alter function translate_async(varchar) unset request_translator, response_translator")
    assert "REQ_TR_ASYNC" not in str(dict(q(fsrv, "describe function translate_async(varchar)")))
    # A translator must exist and be (OBJECT) RETURNS OBJECT JavaScript; nothing is created otherwise.
    e = err(fsrv, f"create external function tr_bad(m varchar) returns variant api_integration = my_api request_translator = no_such as '{GATEWAY}'")
    assert e.errno == 2140 and "NO_SUCH" in e.msg, e.msg
    q(fsrv, "create or replace function not_tr(event object) returns varchar language javascript as 'return 1;'")
    e = err(fsrv, f"create external function tr_bad(m varchar) returns variant api_integration = my_api response_translator = not_tr as '{GATEWAY}'")
    assert "must be a JavaScript function taking one OBJECT and returning OBJECT" in e.msg
    assert q(fsrv, "show external functions like 'TR_BAD'") == []
    # A translator that throws fails the statement with Snowflake's external-function error.
    q(fsrv, "create or replace function boom_tr(event object) returns object language javascript as 'throw new Error(\"no way\");'")
    q(fsrv, f"create or replace external function tr_boom(m varchar) returns variant api_integration = my_api request_translator = boom_tr as '{GATEWAY}native'")
    e = err(fsrv, "select tr_boom('x')")
    assert e.errno == 100351 and "translator FDB.PUBLIC.BOOM_TR failed" in e.msg and "no way" in e.msg, e.msg


def test_gzip_when_compression_asks(fsrv, remote):
    ext(fsrv, "gz", "echo", extra="compression = gzip")
    assert q(fsrv, "select gz('hello')") == [("hello",)]
    h = {k.lower(): v for k, v in remote.posts("echo")[-1]["headers"].items()}
    assert h["content-encoding"] == "gzip"


def test_async_protocol_and_reference_service(fsrv, remote, async_service):
    ext(fsrv, "asy", "async")
    assert q(fsrv, "select id, asy(s) from t order by id") == [(1, "a"), (2, "b"), (3, None)]
    by_batch: dict[str, list[str]] = {}
    for r in remote.of("async"):
        by_batch.setdefault(r["headers"]["sf-external-function-query-batch-id"], []).append(r["method"])
    assert by_batch and all(methods == ["POST", "GET", "GET"] for methods in by_batch.values()), by_batch
    # The reference service: every batch async, then mixed 200/202 batches.
    q(fsrv, "create or replace external function ref_async(a number) returns number api_integration = my_api max_batch_rows = 3 as 'https://async.example.com/work'")
    q(fsrv, "create or replace external function ref_mixed(a number) returns number api_integration = my_api max_batch_rows = 3 as 'https://async.example.com/mixed'")
    q(fsrv, "create or replace table nums as select seq4() as n from table(generator(rowcount => 20))")
    assert q(fsrv, "select sum(ref_async(n)), count(*) from nums") == [(190, 20)]
    assert q(fsrv, "select sum(ref_mixed(n)) from nums") == [(190,)]


def test_nulls_and_types(fsrv, remote):
    cases = [
        ("id", "number", "number", [1, 2, 3]),
        ("n", "number(10,2)", "number(10,2)", [1.5, 2.25, None]),
        ("f", "float", "float", [0.25, -1.0, None]),
        ("b", "boolean", "boolean", [True, False, None]),
        ("d", "date", "date", ["2014-01-01", "2015-06-30", None]),
        ("ts", "timestamp_ntz", "timestamp_ntz", ["2014-01-01 16:00:00.000", "2015-01-01 16:00:00.000", None]),
        ("v", "variant", "variant", [{"k": [1, 2]}, None, None]),
        ("s", "varchar", "varchar", ["a", "b", None]),
    ]
    key = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731
    for col, argtype, rettype, expected in cases:
        ext(fsrv, "ty", "echo", f"x {argtype}", rettype)
        before = len(remote.posts("echo"))
        got = [r[0] for r in q(fsrv, f"select ty({col}) from t order by id")]
        sent = [row[1] for p in remote.posts("echo")[before:] for row in p["body"]["data"]]
        assert sorted(sent, key=key) == sorted(expected, key=key), (col, sent)
        assert len(got) == 3 and (got[2] is None or col == "id"), (col, got)
    # VARIANT results keep JSON; numbers come back as numbers.
    ext(fsrv, "tv", "echo", "x variant", "variant")
    assert json.loads(q(fsrv, "select tv(v) from t where id = 1")[0][0]) == {"k": [1, 2]}
    # RETURNS NULL ON NULL INPUT does not send NULL rows; NOT NULL refuses NULL results.
    q(fsrv, f"create or replace external function strictf(x varchar) returns varchar strict api_integration = my_api as '{GATEWAY}echo'")
    before = len(remote.posts("echo"))
    assert [r[0] for r in q(fsrv, "select strictf(s) from t order by id")] == ["a", "b", None]
    assert sorted(row[1] for p in remote.posts("echo")[before:] for row in p["body"]["data"]) == ["a", "b"]
    q(fsrv, f"create or replace external function nn(x varchar) returns varchar not null api_integration = my_api as '{GATEWAY}echo'")
    assert "NULL result in a non-nullable column" in err(fsrv, "select nn(s) from t").msg
    # A value that does not convert to the return type fails, naming it.
    ext(fsrv, "badnum", "echo", "x varchar", "number")
    assert "does not convert to NUMBER(38,0)" in err(fsrv, "select badnum(s) from t where id = 1").msg


def test_expression_positions(fsrv):
    ext(fsrv, "up", "upper")
    ext(fsrv, "num", "echo", "x number", "number")
    assert q(fsrv, "select id from t where up(s) = 'B'") == [(2,)]
    assert q(fsrv, "select id from t order by up(s) desc nulls last") == [(2,), (1,), (3,)]
    assert q(fsrv, "select up(s), count(*) from t group by up(s) order by 1 nulls last") == [("A", 1), ("B", 1), (None, 1)]
    assert q(fsrv, "select sum(num(id)), max(up(s)) from t") == [(6, "B")]
    assert q(fsrv, "select count(*) from t having sum(num(id)) > 5") == [(3,)]
    assert q(fsrv, "select id, row_number() over (order by up(s) desc) from t where id < 3 order by id") == [(1, 2), (2, 1)]
    assert q(fsrv, "select count(distinct up(s)) from t") == [(2,)]
    q(fsrv, "create or replace table t2 (id int, u varchar)")
    assert q(fsrv, "insert into t2 select id, up(s) from t") == [(3,)]
    assert q(fsrv, "select * from t2 order by id") == [(1, "A"), (2, "B"), (3, None)]
    assert q(fsrv, "update t2 set u = up(u || 'x') where id = 1") == [(1, 0)]
    assert q(fsrv, "select u from t2 where id = 1") == [("AX",)]
    assert q(fsrv, "merge into t2 using t on t2.id = t.id when matched then update set u = up(t.s || 'm')") == [(3,)]
    assert q(fsrv, "select u from t2 order by id") == [("AM",), ("BM",), (None,)]
    q(fsrv, "create or replace table t3 as select id, up(s) as u from t")
    assert q(fsrv, "select * from t3 order by id") == [(1, "A"), (2, "B"), (3, None)]
    assert q(fsrv, "select a.id from t a join t b on up(a.s) = up(b.s) order by 1") == [(1,), (2,)]
    assert q(fsrv, "select id, up(s) from (select * from t where id < 3) order by id") == [(1, "A"), (2, "B")]


def test_retries_and_limits(fsrv, remote):
    ext(fsrv, "flaky", "flaky")
    assert q(fsrv, "select flaky('x')") == [("x",)]
    posts = remote.posts("flaky")[-3:]
    assert len({p["headers"]["sf-external-function-query-batch-id"] for p in posts}) == 1
    ext(fsrv, "thr", "throttle")
    assert q(fsrv, "select thr('y')") == [("y",)]
    # Retries end at the (shortened) 10-minute limit with Snowflake's timeout message.
    ext(fsrv, "always", "always500")
    started = time.time()
    e = err(fsrv, "select always('z')")
    assert e.errno == 100351 and e.msg.endswith("Request failed for external function ALWAYS. Error: Timeout was reached")
    assert time.time() - started < 30
    ext(fsrv, "forever", "forever")
    e = err(fsrv, "select forever('z')")
    assert e.msg.endswith("Request failed for external function FOREVER. Error: Timeout was reached")


@pytest.mark.parametrize("mode,message", [
    ("status400", "Request failed for external function F_STATUS400 with remote service error: 400 '\"invalid prompt object\"'"),
    ("notjson", "Error parsing JSON response for external function F_NOTJSON. Error: Error parsing JSON: Invalid response"),
    ("nodata", "Error parsing JSON response for external function F_NODATA. Error: top-level JSON object must contain \"data\" JSON array element"),
    ("short", "Error parsing JSON response for external function F_SHORT. Error: Function received the wrong number of rows (expected "),
    ("reversed", "Error parsing JSON response for external function F_REVERSED. Error: Row numbers out of order"),
    ("badmd5", "Request failed for external function F_BADMD5. Error: Content-MD5 mismatch"),
    ("huge", "Request failed for external function F_HUGE. Error: Response size exceeds the limit of 10485760 bytes"),
])
def test_failure_modes(fsrv, mode, message):
    ext(fsrv, f"f_{mode}", mode)
    e = err(fsrv, f"select f_{mode}(s) from t")
    assert e.errno == 100351 and e.sqlstate == "P0000"
    assert message in e.msg, e.msg
    # The statement changed nothing: an INSERT through the failing function inserts no row.
    q(fsrv, "create table if not exists sink (u varchar)")
    before = q(fsrv, "select count(*) from sink")
    err(fsrv, f"insert into sink select f_{mode}(s) from t")
    assert q(fsrv, "select count(*) from sink") == before


def test_content_md5_verified(fsrv):
    ext(fsrv, "md", "goodmd5")
    assert q(fsrv, "select md('ok')") == [("ok",)]


def test_disabled_integration_fails_calls(fsrv):
    q(fsrv, f"create api integration off_api api_provider = aws_api_gateway api_aws_role_arn = 'a' api_allowed_prefixes = ('{GATEWAY}') enabled = true")
    q(fsrv, f"create or replace external function offf(a varchar) returns varchar api_integration = off_api as '{GATEWAY}echo'")
    assert q(fsrv, "select offf('x')") == [("x",)]
    q(fsrv, "alter api integration off_api set enabled = false")
    assert "OFF_API is disabled" in err(fsrv, "select offf('x')").msg


def test_cancel_stops_calls(fsrv, remote):
    """A statement timeout cancels the statement through its cancel token; its polls stop."""
    ext(fsrv, "slowf", "forever")
    c = fsrv.connect()
    cur = c.cursor()
    cur.execute("use fdb.public")
    cur.execute("alter session set statement_timeout_in_seconds = 1")
    started = time.time()
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as e:
        cur.execute("select slowf('x')")
    assert e.value.errno == 630, e.value.msg
    assert time.time() - started < 2.9, "cancelled before the 3 s function timeout"
    polls = len(remote.of("forever"))
    time.sleep(0.5)
    assert len(remote.of("forever")) == polls, "no more polls after the cancel"


# ---- service functions (Docker) -------------------------------------------------------------

docker_only = pytest.mark.skipif(os.environ.get("FLOE_TEST_DOCKER") != "1", reason="Docker tests run with FLOE_TEST_DOCKER=1")

ASYNC_SPEC = """
spec:
  containers:
  - name: worker
    image: /tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest
    args: [async-server]
    env:
      SERVER_PORT: 8080
      PROCESS_MS: 100
    readinessProbe:
      port: 8080
      path: /healthcheck
  endpoints:
  - name: asyncendpoint
    port: 8080
"""


@docker_only
def test_service_functions(spcs):
    from test_containers import ECHO_SPEC, one
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"CREATE SERVICE echo_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${ECHO_SPEC}$$")
    cur.execute(f"CREATE SERVICE async_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${ASYNC_SPEC}$$")
    # The tutorial's function, created while the service starts.
    cur.execute("CREATE FUNCTION my_echo_udf (InputText VARCHAR) RETURNS VARCHAR SERVICE=echo_service ENDPOINT=echoendpoint AS '/echo'")
    assert cur.fetchone()[0] == "Function MY_ECHO_UDF successfully created."
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(90, 'echo_service', 'async_service')") == "OK"
    assert one(cur, "SELECT my_echo_udf('Hello')") == "Bob said Hello"
    cur.execute("CREATE TABLE names (id INT, name VARCHAR)")
    cur.execute("INSERT INTO names SELECT seq4(), 'n' || seq4() FROM TABLE(GENERATOR(ROWCOUNT => 50))")
    cur.execute("SELECT id, my_echo_udf(name) FROM names ORDER BY id")
    rows = cur.fetchall()
    assert len(rows) == 50 and rows[7] == (7, "Bob said n7")
    cur.execute("SHOW FUNCTIONS LIKE 'MY_ECHO_UDF'")
    row = cur.fetchone()
    assert row[14] == "N" and row[15] == "SERVICE"
    desc = dict(cur.execute("DESCRIBE FUNCTION my_echo_udf(VARCHAR)").fetchall())
    assert desc["service"] == "TUTORIAL_DB.DATA_SCHEMA.ECHO_SERVICE" and desc["service_endpoint"] == "echoendpoint"
    # An endpoint the service does not have changes nothing.
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as e:
        cur.execute("CREATE FUNCTION bad_ep (x VARCHAR) RETURNS VARCHAR SERVICE=echo_service ENDPOINT=nope AS '/echo'")
    assert "Endpoint 'nope' does not exist" in e.value.msg
    # The reference asynchronous service behind a service function: every batch answers 202 first.
    cur.execute("CREATE FUNCTION async_udf (n NUMBER) RETURNS NUMBER SERVICE=async_service ENDPOINT=asyncendpoint MAX_BATCH_ROWS = 5 AS '/work'")
    assert one(cur, "SELECT SUM(async_udf(id)) FROM names") == sum(range(50))
    # A failing path: ABORT fails the statement, RETURN_NULL gives NULLs.
    cur.execute("CREATE FUNCTION missing_udf (x VARCHAR) RETURNS VARCHAR SERVICE=echo_service ENDPOINT=echoendpoint MAX_BATCH_RETRIES = 0 AS '/missing'")
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as e:
        cur.execute("SELECT missing_udf('x')")
    assert "Request failed for external function MISSING_UDF with remote service error: 404" in e.value.msg
    cur.execute("ALTER FUNCTION missing_udf(VARCHAR) SET ON_BATCH_FAILURE = RETURN_NULL")
    assert one(cur, "SELECT missing_udf('x')") is None
    # AUTO_RESUME: a suspended service wakes for the call.
    cur.execute("ALTER SERVICE echo_service SUSPEND")
    wait = time.monotonic()
    while one(cur, "SELECT SYSTEM$GET_SERVICE_STATUS('echo_service')") != "[]" and time.monotonic() - wait < 60:
        time.sleep(0.5)
    assert one(cur, "SELECT my_echo_udf('again')") == "Bob said again"
    cur.execute("SHOW SERVICES LIKE 'ECHO_SERVICE'")
    cols = [d[0] for d in cur.description]
    assert dict(zip(cols, cur.fetchone()))["status"] == "RUNNING"
    # Without AUTO_RESUME the call fails saying so.
    cur.execute("ALTER SERVICE echo_service SET AUTO_RESUME = FALSE")
    cur.execute("ALTER SERVICE echo_service SUSPEND")
    with pytest.raises(snowflake.connector.errors.DatabaseError) as e:
        cur.execute("SELECT my_echo_udf('x')")
    assert "AUTO_RESUME is FALSE" in e.value.msg


def _certificates(tmp: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "floe e2e private CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def test_external_function_over_https_with_a_private_ca(work_root, tmp_path):
    """An external function calls an https URL directly (no URL map): trusted through FLOE_REMOTE_CA_FILE;
    without it the certificate is refused at once (no retries) and the statement fails naming the function
    and the certificate."""
    import ssl

    ca, cert, key = _certificates(tmp_path)

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":  # COMPRESSION = AUTO
                import gzip
                raw = gzip.decompress(raw)
            rows = json.loads(raw)["data"]
            body = json.dumps({"data": [[r[0], f"{r[1]} over tls"] for r in rows]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}/"
    setup = [
        f"create api integration tls_api api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::1:role/r' api_allowed_prefixes = ('{url}') enabled = true",
        "create database tlsdb",
        f"create external function tls_echo(s varchar) returns varchar api_integration = tls_api as '{url}echo'",
    ]
    try:
        for name, env, ok in [("trusted", {"FLOE_REMOTE_CA_FILE": str(ca)}, True), ("untrusted", {}, False)]:
            srv = FloeServer(work_root / f"tls-{name}" / "data", work_root / f"tls-{name}" / "logs",
                             extra_env={"FLOE_REMOTE_RETRY_MAX_MS": "100", "FLOE_EXTERNAL_FUNCTION_TIMEOUT_SECS": "3", **env})
            srv.start()
            try:
                cur = srv.connect().cursor()
                for stmt in setup:
                    cur.execute(stmt)
                if ok:
                    assert cur.execute("select tls_echo('hi')").fetchone()[0] == "hi over tls"
                else:
                    with pytest.raises(snowflake.connector.errors.DatabaseError) as e:
                        cur.execute("select tls_echo('hi')")
                    assert "TLS_ECHO" in e.value.msg and "invalid peer certificate" in e.value.msg, e.value.msg
            finally:
                srv.cleanup()
    finally:
        httpd.shutdown()
