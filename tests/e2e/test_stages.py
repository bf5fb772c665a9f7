"""Stages through the real connector and `floe sql`: PUT/GET over floe's own presigned URLs (the
connector's GCS path), wildcards, AUTO_COMPRESS, OVERWRITE and SKIPPED, LIST/REMOVE, stage privileges
and errors."""

from __future__ import annotations

import csv
import gzip
import io
import os
import subprocess

import pytest
from snowflake.connector.errors import ProgrammingError

from conftest import norm_ws

PUT_COLUMNS = ["source", "target", "source_size", "target_size", "source_compression", "target_compression",
               "status", "message"]


def write(path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def rows_of(cur, sql: str) -> list[tuple]:
    cur.execute(sql)
    return cur.fetchall()


@pytest.fixture
def cur(server, db):
    c = server.connect(database=db, schema="PUBLIC")
    cursor = c.cursor()
    yield cursor
    server._close_one(c)


def test_put_get_list_remove(cur, tmp_path):
    src = tmp_path / "src"
    write(src / "a.csv", "1,one\n2,two\n")
    write(src / "b.csv", "3,three\n")
    write(src / "c.json", '{"x": 1}\n')
    cur.execute("create stage s1")

    rows = rows_of(cur, f"put file://{src}/a.csv @s1")
    assert [d[0] for d in cur.description] == PUT_COLUMNS
    assert rows[0][:2] == ("a.csv", "a.csv.gz") and rows[0][4:7] == ("NONE", "GZIP", "UPLOADED")
    # Unchanged and OVERWRITE = FALSE: skipped.
    assert rows_of(cur, f"put file://{src}/a.csv @s1")[0][6] == "SKIPPED"
    # Wildcards, a path prefix, no compression.
    rows = rows_of(cur, f"put 'file://{src}/*.csv' @s1/raw/ auto_compress=false parallel=2")
    assert sorted((r[0], r[1], r[6]) for r in rows) == [("a.csv", "a.csv", "UPLOADED"), ("b.csv", "b.csv", "UPLOADED")]
    listed = rows_of(cur, "list @s1")
    assert [r[0] for r in listed] == ["s1/a.csv.gz", "s1/raw/a.csv", "s1/raw/b.csv"]
    assert [r[0] for r in rows_of(cur, "ls @s1 pattern = '.*b[.]csv'")] == ["s1/raw/b.csv"]

    out = tmp_path / "out"
    got = rows_of(cur, f"get @s1/raw/ file://{out}")
    assert [d[0] for d in cur.description][:3] == ["file", "size", "status"]
    assert sorted(r[0] for r in got) == ["a.csv", "b.csv"] and {r[2] for r in got} == {"DOWNLOADED"}
    assert (out / "b.csv").read_text() == "3,three\n"
    got = rows_of(cur, f"get @s1 file://{out}/gz pattern='.*[.]gz'")
    assert [r[0] for r in got] == ["a.csv.gz"]
    assert gzip.decompress((out / "gz" / "a.csv.gz").read_bytes()) == b"1,one\n2,two\n"

    removed = rows_of(cur, "rm @s1/raw")
    assert sorted(removed) == [("s1/raw/a.csv", "removed"), ("s1/raw/b.csv", "removed")]
    assert [r[0] for r in rows_of(cur, "list @s1")] == ["s1/a.csv.gz"]


def test_overwrite_and_changed_files(cur, tmp_path):
    path = write(tmp_path / "spec.yaml", "spec: 1\n")
    cur.execute("create stage specs")
    assert rows_of(cur, f"put file://{path} @specs auto_compress=false")[0][6] == "UPLOADED"
    write(tmp_path / "spec.yaml", "spec: 2\n")
    # Changed, but OVERWRITE = FALSE keeps the stage's file.
    assert rows_of(cur, f"put file://{path} @specs auto_compress=false")[0][6] == "SKIPPED"
    out = tmp_path / "o1"
    cur.execute(f"get @specs/spec.yaml file://{out}")
    assert (out / "spec.yaml").read_text() == "spec: 1\n"
    # OVERWRITE = TRUE replaces it.
    assert rows_of(cur, f"put file://{path} @specs auto_compress=false overwrite=true")[0][6] == "UPLOADED"
    out = tmp_path / "o2"
    cur.execute(f"get @specs/spec.yaml file://{out}")
    assert (out / "spec.yaml").read_text() == "spec: 2\n"
    # Already compressed files are not compressed again.
    gz = tmp_path / "data.csv.gz"
    gz.write_bytes(gzip.compress(b"1\n"))
    row = rows_of(cur, f"put file://{gz} @specs")[0]
    assert (row[1], row[4], row[5]) == ("data.csv.gz", "GZIP", "GZIP")


def test_client_in_another_working_directory(server, db, tmp_path):
    """The connector runs as its own process in another directory: the bytes only travel over HTTP."""
    work = tmp_path / "client-cwd"
    work.mkdir()
    write(work / "rel.csv", "9,nine\n")
    script = f"""
import os, snowflake.connector
c = snowflake.connector.connect(user="ADMIN", password={server.admin_password!r}, account="floe", host="127.0.0.1",
                                port={server.port}, protocol="http", database={db!r}, schema="PUBLIC")
cur = c.cursor()
cur.execute("create stage far")
print(cur.execute("put file://rel.csv @far").fetchall()[0][6])
print(cur.execute("get @far file://down/").fetchall()[0][0])
c.close()
"""
    env = {**os.environ, "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true"}
    import sys
    proc = subprocess.run([sys.executable, "-c", script], cwd=work, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["UPLOADED", "rel.csv.gz"]
    assert gzip.decompress((work / "down" / "rel.csv.gz").read_bytes()) == b"9,nine\n"
    # The server's stage directory holds the file; nothing was written next to the client but `down/`.
    assert sorted(p.name for p in work.iterdir()) == ["down", "rel.csv"]


def test_floe_sql_put_get(server, db, tmp_path):
    write(tmp_path / "in" / "x1.csv", "1\n")
    write(tmp_path / "in" / "x2.csv", "2\n")
    base = ["-d", db, "-s", "PUBLIC", "--format", "csv", "-q"]
    r = server.sql_cli(base + ["create stage cli_stage"])
    assert r.returncode == 0, r.stderr
    r = server.sql_cli(base + [f"put file://{tmp_path}/in/x*.csv @cli_stage/d"])
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == PUT_COLUMNS
    assert sorted((r[0], r[1], r[6]) for r in rows[1:]) == [("x1.csv", "x1.csv.gz", "UPLOADED"), ("x2.csv", "x2.csv.gz", "UPLOADED")]
    r = server.sql_cli(base + [f"put file://{tmp_path}/in/x1.csv @cli_stage/d"])
    assert list(csv.reader(io.StringIO(r.stdout)))[1][6] == "SKIPPED"
    r = server.sql_cli(base + [f"get @cli_stage file://{tmp_path}/back"])
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == ["x1.csv.gz", "x2.csv.gz"]
    assert gzip.decompress((tmp_path / "back" / "x2.csv.gz").read_bytes()) == b"2\n"


def test_errors(server, cur, db, tmp_path):
    path = write(tmp_path / "e.csv", "1\n")
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"put file://{path} @no_such_stage")
    assert info.value.errno == 2003 and info.value.sqlstate == "02000"
    assert "Stage" in str(info.value) and "NO_SUCH_STAGE" in str(info.value)
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"get @no_such_stage file://{tmp_path}")
    assert info.value.errno == 2003
    cur.execute("create stage guarded")
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"put file://{path} @guarded overwrite=perhaps")
    assert "perhaps" in str(info.value)
    with pytest.raises(ProgrammingError) as info:
        cur.execute(f"put file://{path} @guarded auto_compres=true")
    assert info.value.errno == 1003

    # A role with READ may GET and LIST but not PUT or REMOVE (003001).
    role, user = f"{db}_R", f"{db}_U"
    for sql in [f"create role {role}", f"create user {user} password='Stage-Passw0rd' default_role={role}",
                f"grant role {role} to user {user}", f"grant usage on database {db} to role {role}",
                f"grant usage on schema {db}.public to role {role}", f"grant read on stage {db}.public.guarded to role {role}"]:
        cur.execute(sql)
    cur.execute(f"put file://{path} @guarded")
    reader = server.connect(user=user, password="Stage-Passw0rd", database=db, schema="PUBLIC")
    try:
        rc = reader.cursor()
        assert [r[0] for r in rc.execute("list @guarded").fetchall()] == ["guarded/e.csv.gz"]
        assert rc.execute(f"get @guarded file://{tmp_path}/r").fetchall()[0][2] == "DOWNLOADED"
        for sql in [f"put file://{path} @guarded overwrite=true", "remove @guarded"]:
            with pytest.raises(ProgrammingError) as info:
                rc.execute(sql)
            assert info.value.errno == 3001 and info.value.sqlstate == "42501"
            assert norm_ws(info.value.msg).endswith("Insufficient privileges to operate on stage 'GUARDED'.")
    finally:
        server._close_one(reader)


def test_file_formats(cur):
    cur.execute("create file format ff_csv type = csv field_delimiter = '|' skip_header = 1 null_if = ('NULL', '') comment = 'pipes'")
    assert rows_of(cur, "create file format if not exists ff_csv type = json")[0][0] == "FF_CSV already exists, statement succeeded."
    cur.execute("create or replace temporary file format ff_pq type = parquet compression = snappy")
    shown = rows_of(cur, "show file formats")
    cols = [d[0] for d in cur.description]
    assert [r[cols.index("name")] for r in shown] == ["FF_CSV", "FF_PQ"]
    assert [r[cols.index("type")] for r in shown] == ["CSV", "PARQUET"]
    described = {r[0]: r[2] for r in rows_of(cur, "describe file format ff_csv")}
    assert described["TYPE"] == "CSV" and described["FIELD_DELIMITER"] == "|" and described["SKIP_HEADER"] == "1"
    with pytest.raises(ProgrammingError) as info:
        cur.execute("create file format bad type = xlsx")
    assert "XLSX" in str(info.value)
    with pytest.raises(ProgrammingError) as info:
        cur.execute("create file format bad2 type = csv field_delimitr = ','")
    assert info.value.errno == 1003
    assert rows_of(cur, "drop file format ff_csv")[0][0] == "FF_CSV successfully dropped."
    with pytest.raises(ProgrammingError) as info:
        cur.execute("describe file format ff_csv")
    assert info.value.errno == 2003
    assert rows_of(cur, "drop file format if exists ff_csv")[0][0] == "Drop statement executed successfully (FF_CSV already dropped)."


def test_copy_into_table_csv_json(cur, tmp_path):
    write(tmp_path / "p1.csv", 'id,name,amount\n1,"Smith, Ann",10.5\n2,Bo,\n')
    write(tmp_path / "p2.csv", "id,name,amount\n3,Cy,7\n")
    write(tmp_path / "bad.csv", "id,name,amount\nx,Dee,1\n4,Ed,2\n")
    write(tmp_path / "docs.json", '{"ID": 5, "Name": "Flo", "extra": true}\n{"id": 6, "name": "Gus", "amount": 1.25}\n')
    cur.execute("create table people (id number, name varchar, amount number(10,2))")
    cur.execute("create stage load_stage file_format = (type = csv skip_header = 1 field_optionally_enclosed_by = '\"')")
    cur.execute(f"put file://{tmp_path}/p*.csv @load_stage/csv/")
    rows = rows_of(cur, "copy into people from @load_stage/csv/")
    cols = [d[0] for d in cur.description]
    assert cols[:6] == ["file", "status", "rows_parsed", "rows_loaded", "error_limit", "errors_seen"]
    assert sorted((r[0], r[1], r[2], r[3]) for r in rows) == [("load_stage/csv/p1.csv.gz", "LOADED", 2, 2), ("load_stage/csv/p2.csv.gz", "LOADED", 1, 1)]
    assert rows_of(cur, "select id, name, amount from people order by id") == [(1, "Smith, Ann", 10.5), (2, "Bo", None), (3, "Cy", 7)]
    # Loaded files are skipped; FORCE loads them again.
    assert rows_of(cur, "copy into people from @load_stage/csv/") == [("Copy executed with 0 files processed.",)]
    assert len(rows_of(cur, "copy into people from @load_stage/csv/ files = ('p2.csv.gz') force = true")) == 1
    assert rows_of(cur, "select count(*) from people")[0][0] == 4

    # A bad value aborts by default (nothing loaded); ON_ERROR = CONTINUE loads the good rows.
    cur.execute(f"put file://{tmp_path}/bad.csv @load_stage/bad/")
    with pytest.raises(ProgrammingError) as info:
        cur.execute("copy into people from @load_stage/bad/")
    assert "x" in str(info.value) and "bad.csv.gz" in str(info.value)
    assert rows_of(cur, "select count(*) from people")[0][0] == 4
    row = rows_of(cur, "copy into people from @load_stage/bad/ on_error = continue")[0]
    assert row[1:4] == ("PARTIALLY_LOADED", 2, 1) and row[5] == 1
    assert rows_of(cur, "select count(*) from people")[0][0] == 5

    # JSON by column name, and a transform of JSON paths.
    cur.execute(f"put file://{tmp_path}/docs.json @load_stage/json/")
    cur.execute("create or replace file format js type = json")
    rows = rows_of(cur, "copy into people from @load_stage/json/ file_format = (format_name = js) match_by_column_name = case_insensitive")
    assert rows[0][1:4] == ("LOADED", 2, 2)
    assert rows_of(cur, "select id, name, amount from people where id >= 5 order by id") == [(5, "Flo", None), (6, "Gus", 1.25)]
    cur.execute("create table names (n varchar, doc variant)")
    cur.execute("copy into names (n, doc) from (select $1:Name, $1 from @load_stage/json/) file_format = (type = json) purge = true")
    got = rows_of(cur, "select n, doc:extra::boolean from names order by n nulls last")
    assert got == [("Flo", True), ("Gus", None)]
    assert rows_of(cur, "list @load_stage/json/") == []

    with pytest.raises(ProgrammingError) as info:
        cur.execute("copy into people from @load_stage/csv/ file_format = (type = csv field_delimiter = 'ab')")
    assert "'ab'" in str(info.value)
    with pytest.raises(ProgrammingError) as info:
        cur.execute("copy into people from @nowhere")
    assert info.value.errno == 2003


def test_copy_into_stage_and_back(cur, tmp_path):
    cur.execute("create table src (a number, b varchar)")
    cur.execute("insert into src values (1, 'x'), (2, 'y, z'), (3, null)")
    cur.execute("create stage out_stage")
    row = rows_of(cur, "copy into @out_stage/unload/ from src file_format = (type = csv field_optionally_enclosed_by = '\"') header = true")[0]
    assert [d[0] for d in cur.description] == ["rows_unloaded", "input_bytes", "output_bytes"] and row[0] == 3
    assert [r[0] for r in rows_of(cur, "list @out_stage")] == ["out_stage/unload/data_0_0_0.csv.gz"]
    with pytest.raises(ProgrammingError):
        cur.execute("copy into @out_stage/unload/ from src")
    cur.execute(f"get @out_stage/unload/ file://{tmp_path}/u")
    text = gzip.decompress((tmp_path / "u" / "data_0_0_0.csv.gz").read_bytes()).decode()
    assert text.splitlines() == ['"A","B"', '1,"x"', '2,"y, z"', '3,\\N']
    rows = rows_of(cur, "copy into @out_stage/j/ from (select a, b from src where a < 3) file_format = (type = json compression = none)")
    assert rows[0][0] == 2
    cur.execute(f"get @out_stage/j/ file://{tmp_path}/j")
    lines = (tmp_path / "j" / "data_0_0_0.json").read_text().splitlines()
    assert lines == ['{"A":1,"B":"x"}', '{"A":2,"B":"y, z"}']
    # Round trip: load the unloaded CSV back.
    cur.execute("create table back (a number, b varchar)")
    cur.execute("copy into back from @out_stage/unload/ file_format = (type = csv skip_header = 1 field_optionally_enclosed_by = '\"')")
    assert rows_of(cur, "select * from back order by a") == [(1, "x"), (2, "y, z"), (3, None)]
