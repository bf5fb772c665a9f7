#!/usr/bin/env python3
"""Statement round trip: 1,000 small aggregate queries over a 100,000-row table.

Reports p50/p99 of
  - end to end through snowflake-connector-python (client wall time of execute + fetchall),
  - end to end over plain HTTP (requests, keep-alive), and the server's own time for those same
    requests from the X-Floe-Server-Time-Us response header (parse + plan + execute + encode),
  - baseline, same run: the same queries on an in-process sqlite3 table holding the same rows.

    .venv/bin/python bench/roundtrip.py [--bin target/release/floe] [--quick]
"""

from __future__ import annotations

import sqlite3
import time

from benchlib import (LATENCY_HEADERS, HttpSession, Server, Workspace, arg_parser, latency_row, log,
                      print_header, print_table)


def queries(rows: int, n: int) -> list[str]:
    # A spread of selectivities, the same sequence for every client.
    return [f"SELECT COUNT(*), MAX(id) FROM t WHERE id > {(i * 7919) % rows}" for i in range(n)]


def expected(rows: int, sql: str) -> tuple[int, int | None]:
    n = int(sql.rsplit(">", 1)[1])
    count = max(0, rows - 1 - n)
    return count, (rows - 1 if count else None)


def main() -> None:
    p = arg_parser(__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=None, help="table rows (default 100,000; quick 10,000)")
    p.add_argument("--queries", type=int, default=None, help="queries per client (default 1,000; quick 100)")
    args = p.parse_args()
    rows = args.rows or (10_000 if args.quick else 100_000)
    nq = args.queries or (100 if args.quick else 1_000)
    warmup = min(50, nq)
    sqls = queries(rows, nq)

    print_header("floe bench: statement round trip", args, [
        ("table", f"t(id INT, v VARCHAR), {rows:,} rows"),
        ("query", "SELECT COUNT(*), MAX(id) FROM t WHERE id > <n>, n varies"),
        ("queries", f"{nq:,} per client, after {warmup} warm-up queries"),
        ("server time", "X-Floe-Server-Time-Us header, read from the plain-HTTP client's responses"),
    ])

    with Workspace(args, "roundtrip") as work:
        srv = Server(args.bin, work)
        try:
            srv.start()
            conn = srv.connect()
            cur = conn.cursor()
            cur.execute("CREATE DATABASE bench")
            cur.execute("CREATE TABLE t (id INT, v VARCHAR)")
            t0 = time.perf_counter()
            cur.execute(f"INSERT INTO t SELECT SEQ4(), 'value-' || SEQ4() FROM TABLE(GENERATOR(ROWCOUNT => {rows}))")
            log(f"loaded {cur.rowcount:,} rows in {time.perf_counter() - t0:.2f}s")

            # 1. Through the connector.
            for sql in sqls[:warmup]:
                cur.execute(sql).fetchall()
            wall = []
            mismatches = 0
            for sql in sqls:
                t = time.perf_counter()
                res = cur.execute(sql).fetchall()
                wall.append(time.perf_counter() - t)
                if tuple(res[0]) != expected(rows, sql):
                    mismatches += 1
            conn.close()

            # 2. Plain HTTP, with the server's own time per statement.
            http = HttpSession(srv.url, "BENCH", "PUBLIC")
            for sql in sqls[:warmup]:
                http.query(sql)
            http_wall, server_us = [], []
            for sql in sqls:
                t = time.perf_counter()
                _data, us = http.query(sql)
                http_wall.append(time.perf_counter() - t)
                if us is not None:
                    server_us.append(us / 1e6)
            rc, _ = srv.stop()
        finally:
            srv.kill()

        # 3. Baseline: in-process sqlite3, same rows, same queries, no index.
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE t (id INTEGER, v TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", ((i, f"value-{i}") for i in range(rows)))
        db.commit()
        for sql in sqls[:warmup]:
            db.execute(sql).fetchall()
        base = []
        for sql in sqls:
            t = time.perf_counter()
            db.execute(sql).fetchall()
            base.append(time.perf_counter() - t)

    table = [latency_row("floe, end to end via snowflake-connector-python", wall),
             latency_row("floe, end to end via plain HTTP (requests)", http_wall)]
    if server_us:
        table.append(latency_row("floe, at the server (X-Floe-Server-Time-Us)", server_us))
    else:
        table.append(["floe, at the server (X-Floe-Server-Time-Us)", 0, None, None, None, None])
    table.append(latency_row("baseline: sqlite3 in-process, same rows (no index)", base))
    print_table(LATENCY_HEADERS, table)
    if not server_us:
        print("  note: the server sent no X-Floe-Server-Time-Us header")
    if mismatches:
        print(f"  WARNING: {mismatches} of {nq} connector results differed from the expected values")
    print(f"  server exit code after SIGTERM: {rc}")


if __name__ == "__main__":
    main()
