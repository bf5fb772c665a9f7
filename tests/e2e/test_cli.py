"""The `floe sql` client: one-shot queries in each format, files, errors and the interactive REPL."""

from __future__ import annotations

import csv
import io
import json
import re

import pexpect
from conftest import ADMIN_PASSWORD, ADMIN_USER, base_env


def parse_json_output(text: str) -> list[dict]:
    """Rows of `--format json`: a JSON array of objects, or one object per line."""
    text = text.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        data = [data]
    assert isinstance(data, list) and all(isinstance(r, dict) for r in data), text
    return data


def test_query_csv(server):
    r = server.sql_cli(["-q", "select 1 as a, 'x,y' as b", "--format", "csv"])
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows == [["A", "B"], ["1", "x,y"]]


def test_query_json(server):
    r = server.sql_cli(["-q", "select seq4() as n, 'v' || seq4() as s from table(generator(rowcount => 3))",
                        "--format", "json"])
    assert r.returncode == 0, r.stderr
    rows = parse_json_output(r.stdout)
    assert [(str(row["N"]), row["S"]) for row in rows] == [("0", "v0"), ("1", "v1"), ("2", "v2")]


def test_query_table(server):
    r = server.sql_cli(["-q", "select 42 as answer, 'forty-two' as words", "--format", "table"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = [i for i, line in enumerate(lines) if "ANSWER" in line and "WORDS" in line]
    assert header, r.stdout
    body = [line for line in lines[header[0] + 1:] if "42" in line and "forty-two" in line]
    assert len(body) == 1, r.stdout


def test_query_default_format(server):
    r = server.sql_cli(["-q", "select 42 as answer"])
    assert r.returncode == 0, r.stderr
    assert "ANSWER" in r.stdout and "42" in r.stdout


def test_connection_settings_from_environment(server):
    env = {"FLOE_URL": server.url, "FLOE_USER": ADMIN_USER, "FLOE_PASSWORD": ADMIN_PASSWORD}
    r = server.sql_cli(["-q", "select current_user() as u", "--format", "csv"], env=env, auth=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["U", "ADMIN"]


def test_wrong_password_fails(server):
    env = {"FLOE_URL": server.url, "FLOE_USER": ADMIN_USER, "FLOE_PASSWORD": "not-the-password"}
    r = server.sql_cli(["-q", "select 1"], env=env, auth=False)
    assert r.returncode != 0
    assert r.stderr.strip()


def test_file_with_dollar_quoted_semicolons(server, tmp_path):
    script = tmp_path / "script.sql"
    script.write_text(
        "create database cli_file;\n"
        "create table notes (id int, body varchar);\n"
        "insert into notes values (1, $$semi;colon$$);\n"
        "insert into notes values (2, $$multi\nline; text;$$);  -- trailing comment\n"
        "select body from notes order by id;\n"
    )
    r = server.sql_cli(["-f", str(script), "--format", "csv"])
    assert r.returncode == 0, r.stderr
    assert "semi;colon" in r.stdout
    rows = server.query("select id, body from cli_file.public.notes order by id")
    assert rows == [(1, "semi;colon"), (2, "multi\nline; text;")]


def test_failed_statement_exit_code_and_message(server):
    # With no current database Snowflake answers 090105, so give the session one first.
    r = server.sql_cli(["-q", "create database if not exists cli_err; select * from no_such_table_cli"])
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert re.search(r"0*2003 \(42S02\): SQL compilation error:\s*Object 'NO_SUCH_TABLE_CLI' "
                     r"does not exist or not authorized\.", r.stderr), r.stderr


def test_syntax_error_exit_code(server):
    r = server.sql_cli(["-q", "selec 1"])
    assert r.returncode == 1
    assert re.search(r"0*1003 \(42000\): .*line 1 at position \d+", r.stderr, re.S), r.stderr


def test_file_with_failing_statement(server, tmp_path):
    script = tmp_path / "bad.sql"
    script.write_text(
        "create database cli_bad;\n"
        "create table t (id int);\n"
        "insert into t values (1);\n"
        "insert into missing_table values (2);\n"
        "insert into t values (3);\n"
    )
    r = server.sql_cli(["-f", str(script)])
    assert r.returncode == 1
    assert "2003" in r.stderr
    # Statements before the failing one took effect.
    assert (1,) in server.query("select id from cli_bad.public.t")


def spawn_repl(server) -> pexpect.spawn:
    env = base_env()
    env.setdefault("TERM", "xterm")
    child = pexpect.spawn(str(server.binary),
                          ["sql", "--url", server.url, "-u", ADMIN_USER, "-p", ADMIN_PASSWORD],
                          env=env, encoding="utf-8", timeout=60, dimensions=(40, 200))
    child.expect_exact("floe> ")
    return child


def test_repl_multiline_statement(server):
    child = spawn_repl(server)
    try:
        child.send("select 40 +\r")
        child.expect_exact("   -> ")
        child.send("2 as answer;\r")
        child.expect_exact("ANSWER")
        child.expect(r"\b42\b")
        child.expect_exact("floe> ")
        # Session state persists between statements.
        child.send("create database repl_db;\r")
        child.expect_exact("floe> ")
        # Errors are reported and the REPL keeps going.
        child.send("select * from no_such_repl_table;\r")
        child.expect(r"0*2003 \(42S02\)")
        child.expect_exact("floe> ")
        child.send("select current_database() as db;\r")
        child.expect_exact("REPL_DB")
        child.expect_exact("floe> ")
        child.send("quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)
