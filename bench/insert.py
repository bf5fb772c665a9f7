#!/usr/bin/env python3
"""Write path: bulk INSERT ... SELECT, single-row INSERT latency, and bytes written per write.

  1. INSERT INTO t SELECT ... FROM TABLE(GENERATOR(ROWCOUNT => 1,000,000))       -> rows/s
  2. 1,000 single-row INSERTs (autocommit, each acknowledged = durable)         -> p50/p99
  3. 100 single-row INSERTs into tables of 1,000 / 100,000 / 1,000,000 rows     -> bytes written
     per INSERT (growth of the data dir's files, and write_bytes of the server process from
     /proc/<pid>/io) against the table's size
  4. UPDATE t SET v = v + 1 WHERE id % 100 = 0 on a 10,000,000-row table (1%)   -> bytes written
     against the table's bytes
Baseline in the same run: sqlite3 (WAL, synchronous=FULL) in a temp dir on the same file system,
same single-row loop, same bulk insert and same 1% update.

    .venv/bin/python bench/insert.py [--bin target/release/floe] [--quick]
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from benchlib import (LATENCY_HEADERS, Server, Workspace, arg_parser, dir_bytes, latency_row, log, mib,
                      print_header, print_table, proc_io)


def sizes(quick: bool) -> dict:
    if quick:
        return dict(bulk=100_000, singles=100, per_size=[1_000, 10_000, 100_000], probe=20, update=100_000)
    return dict(bulk=1_000_000, singles=1_000, per_size=[1_000, 100_000, 1_000_000], probe=100,
                update=10_000_000)


class Meter:
    """Data-dir bytes and the process's write_bytes, before/after a step."""

    def __init__(self, data_dir: Path, pid: int | str):
        self.data_dir, self.pid = data_dir, pid

    def read(self) -> tuple[int, int]:
        return dir_bytes(self.data_dir), proc_io(self.pid).get("write_bytes", 0)


def shown_bytes(cur, table: str) -> int | None:
    """The `bytes` column of SHOW TABLES for a table, if the server fills it in."""
    try:
        cur.execute(f"SHOW TABLES LIKE '{table.upper()}'")
        rows = cur.fetchall()
        names = [d[0].lower() for d in cur.description]
        if rows and "bytes" in names and rows[0][names.index("bytes")] is not None:
            return int(rows[0][names.index("bytes")])
    except Exception:
        pass
    return None


def table_size(cur, table: str, growth: int) -> tuple[int, str]:
    shown = shown_bytes(cur, table)
    if shown:
        return shown, "SHOW TABLES bytes"
    return growth, "data dir growth while loading"


def floe_part(args, work: Path, sz: dict) -> dict:
    out: dict = {}
    srv = Server(args.bin, work)
    try:
        srv.start()
        meter = Meter(srv.data_dir, srv.proc.pid)
        if not proc_io(srv.proc.pid):
            log("cannot read /proc/<pid>/io of the server: write_bytes figures will be 0")
        conn = srv.connect()
        cur = conn.cursor()
        cur.execute("CREATE DATABASE bench")

        # 1. bulk insert
        cur.execute("CREATE TABLE bulk (id INT, v VARCHAR, f FLOAT)")
        d0, w0 = meter.read()
        t = time.perf_counter()
        cur.execute(f"INSERT INTO bulk SELECT SEQ4(), 'value-' || SEQ4(), SEQ4() * 0.5 "
                    f"FROM TABLE(GENERATOR(ROWCOUNT => {sz['bulk']}))")
        el = time.perf_counter() - t
        d1, w1 = meter.read()
        assert cur.rowcount == sz["bulk"], cur.rowcount
        out["bulk"] = (sz["bulk"], el, d1 - d0, w1 - w0)
        log(f"bulk insert of {sz['bulk']:,} rows: {el:.2f}s")

        # 2. single-row inserts
        cur.execute("CREATE TABLE single (id INT, v VARCHAR)")
        for i in range(10):
            cur.execute(f"INSERT INTO single VALUES ({-i - 1}, 'warm-up')")
        lat = []
        for i in range(sz["singles"]):
            t = time.perf_counter()
            cur.execute(f"INSERT INTO single VALUES ({i}, 'value-{i}')")
            lat.append(time.perf_counter() - t)
        out["singles"] = lat
        log(f"{len(lat)} single-row inserts: {sum(lat):.2f}s")

        # 3. bytes written per single-row insert against table size
        per = []
        for n in sz["per_size"]:
            name = f"sized_{n}"
            cur.execute(f"CREATE TABLE {name} (id INT, v VARCHAR)")
            d0, _ = meter.read()
            cur.execute(f"INSERT INTO {name} SELECT SEQ4(), 'value-' || SEQ4() "
                        f"FROM TABLE(GENERATOR(ROWCOUNT => {n}))")
            d1, w1 = meter.read()
            table_bytes, src = table_size(cur, name, d1 - d0)
            for i in range(sz["probe"]):
                cur.execute(f"INSERT INTO {name} VALUES ({n + i}, 'value-{n + i}')")
            d2, w2 = meter.read()
            per.append((n, table_bytes, src, (d2 - d1) / sz["probe"], (w2 - w1) / sz["probe"]))
            log(f"table of {n:,} rows: {sz['probe']} inserts measured")
        out["per_size"] = per

        # 4. 1% update of a big table
        cur.execute("CREATE TABLE upd (id INT, v INT)")
        d0, _ = meter.read()
        t = time.perf_counter()
        cur.execute(f"INSERT INTO upd SELECT SEQ4(), 0 FROM TABLE(GENERATOR(ROWCOUNT => {sz['update']}))")
        load = time.perf_counter() - t
        d1, _ = meter.read()
        tbytes, tsrc = table_size(cur, "upd", d1 - d0)
        d1, w1 = meter.read()
        t = time.perf_counter()
        cur.execute("UPDATE upd SET v = v + 1 WHERE id % 100 = 0")
        el = time.perf_counter() - t
        updated = cur.rowcount
        d2, w2 = meter.read()
        out["update"] = (sz["update"], load, tbytes, tsrc, updated, el, d2 - d1, w2 - w1)
        log(f"update of {updated:,} rows in a {sz['update']:,}-row table: {el:.2f}s")
        conn.close()
        out["exit"] = srv.stop()[0]
    finally:
        srv.kill()
    return out


def sqlite_part(work: Path, sz: dict) -> dict:
    out: dict = {}
    path = work / "baseline.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")

    def written() -> int:
        return proc_io("self").get("write_bytes", 0)

    def files() -> int:
        return sum(p.stat().st_size for p in work.glob("baseline.sqlite*"))

    gen = "WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < {n} - 1) "
    db.execute("CREATE TABLE bulk (id INTEGER, v TEXT, f REAL)")
    t = time.perf_counter()
    db.execute(gen.format(n=sz["bulk"]) + "INSERT INTO bulk SELECT x, 'value-' || x, x * 0.5 FROM g")
    out["bulk"] = (sz["bulk"], time.perf_counter() - t)

    db.execute("CREATE TABLE single (id INTEGER, v TEXT)")
    for i in range(10):
        db.execute("INSERT INTO single VALUES (?, 'warm-up')", (-i - 1,))
    lat = []
    w0 = written()
    for i in range(sz["singles"]):
        t = time.perf_counter()
        db.execute(f"INSERT INTO single VALUES ({i}, 'value-{i}')")
        lat.append(time.perf_counter() - t)
    out["singles"] = lat
    out["single_write_bytes"] = (written() - w0) / sz["singles"]

    db.execute("CREATE TABLE upd (id INTEGER, v INTEGER)")
    f0 = files()
    db.execute(gen.format(n=sz["update"]) + "INSERT INTO upd SELECT x, 0 FROM g")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    f1, w1 = files(), written()
    t = time.perf_counter()
    updated = db.execute("UPDATE upd SET v = v + 1 WHERE id % 100 = 0").rowcount
    el = time.perf_counter() - t
    out["update"] = (sz["update"], f1 - f0, updated, el, written() - w1)
    db.close()
    return out


def main() -> None:
    args = arg_parser(__doc__.split("\n")[0]).parse_args()
    sz = sizes(args.quick)
    print_header("floe bench: write path", args, [
        ("bulk insert", f"{sz['bulk']:,} rows via GENERATOR"),
        ("single-row inserts", f"{sz['singles']:,}, autocommit"),
        ("bytes per insert", f"{sz['probe']} inserts into tables of " + " / ".join(f"{n:,}" for n in sz["per_size"]) + " rows"),
        ("1% update", f"table of {sz['update']:,} rows"),
        ("write_bytes", "/proc/<pid>/io of the server process (storage-layer bytes, includes fsynced WAL/journal)"),
    ])
    with Workspace(args, "insert") as work:
        floe = floe_part(args, work, sz)
        log("baseline: sqlite3")
        base = sqlite_part(work, sz)

    n, el, dbytes, wbytes = floe["bulk"]
    bn, bel = base["bulk"]
    print_table(["bulk INSERT ... SELECT", "rows", "seconds", "rows/s", "data dir +MiB", "written MiB"], [
        ["floe", n, el, n / el, mib(dbytes), mib(wbytes)],
        ["baseline: sqlite3 WAL, synchronous=FULL", bn, bel, bn / bel, None, None],
    ])

    print_table(LATENCY_HEADERS + ["inserts/s"], [
        latency_row("floe single-row INSERT (connector, autocommit)", floe["singles"]) + [len(floe["singles"]) / sum(floe["singles"])],
        latency_row("baseline: sqlite3 single-row INSERT (in-process)", base["singles"]) + [len(base["singles"]) / sum(base["singles"])],
    ])

    print_table(["floe table rows", "table bytes", "table bytes from", "data dir growth per INSERT",
                 "write_bytes per INSERT"],
                [list(r) for r in floe["per_size"]],
                title="  bytes per single-row INSERT against table size")
    print(f"  baseline: sqlite3 write_bytes per single-row INSERT: {base['single_write_bytes']:,.0f}\n")

    rows, load, tbytes, tsrc, updated, el, dgrow, wb = floe["update"]
    brows, btbytes, bupdated, bel, bwb = base["update"]
    print_table(["1% UPDATE", "table rows", "rows updated", "seconds", "table MiB", "written MiB", "written / table"], [
        ["floe", rows, updated, el, mib(tbytes), mib(wb), (wb / tbytes) if tbytes else None],
        ["baseline: sqlite3 WAL, synchronous=FULL", brows, bupdated, bel, mib(btbytes), mib(bwb), (bwb / btbytes) if btbytes else None],
    ])
    print(f"  floe: table bytes from {tsrc}; loading the {rows:,}-row table took {load:.2f}s; "
          f"data dir growth during the UPDATE: {mib(dgrow):.2f} MiB")
    print(f"  server exit code after SIGTERM: {floe['exit']}")


if __name__ == "__main__":
    main()
