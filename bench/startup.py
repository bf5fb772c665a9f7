#!/usr/bin/env python3
"""Start-up time with ~1 GB of table data: `floe server` spawn -> first 200 from /healthz.

Builds four tables through GENERATOR with wide VARCHAR columns (REPEAT('x', 200) and three
UUID_STRING() values per row) until the data dir holds the target size, stops the server with
SIGTERM, then times 5 cold-process (warm page cache) starts: to the first 200 from /healthz, and
to the first answered query (plain-HTTP login + SELECT COUNT(*)). Reports the median.

    .venv/bin/python bench/startup.py [--bin target/release/floe] [--quick]
"""

from __future__ import annotations

import time

from benchlib import (HttpSession, Server, Workspace, arg_parser, dir_bytes, log, median, mib,
                      print_header, print_table)

TABLES = 4


def main() -> None:
    p = arg_parser(__doc__.split("\n")[0])
    p.add_argument("--target-mib", type=float, default=None,
                   help="data dir size to build, MiB (default 1024; quick 20)")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    target = int((args.target_mib or (20 if args.quick else 1024)) * 1024 * 1024)
    batch = 20_000 if args.quick else 250_000

    print_header("floe bench: start-up with table data", args, [
        ("data", f"{TABLES} tables (id INT, pad VARCHAR = REPEAT('x', 200), u1..u3 VARCHAR = UUID_STRING())"),
        ("target size", f"{mib(target):,.0f} MiB of data dir, batches of {batch:,} rows"),
        ("runs", f"{args.runs}, page cache warm, SIGTERM between runs"),
    ])

    with Workspace(args, "startup") as work:
        srv = Server(args.bin, work)
        try:
            srv.start()
            conn = srv.connect()
            cur = conn.cursor()
            cur.execute("CREATE DATABASE bench")
            rows_per_table = []
            t_build = time.perf_counter()
            for k in range(1, TABLES + 1):
                cur.execute(f"CREATE TABLE t{k} (id INT, pad VARCHAR, u1 VARCHAR, u2 VARCHAR, u3 VARCHAR)")
                rows = 0
                goal = target * k // TABLES
                for i in range(200):
                    if i > 0 and dir_bytes(srv.data_dir) >= goal:
                        break
                    cur.execute(f"INSERT INTO t{k} SELECT SEQ4() + {rows}, REPEAT('x', 200), UUID_STRING(), "
                                f"UUID_STRING(), UUID_STRING() FROM TABLE(GENERATOR(ROWCOUNT => {batch}))")
                    rows += cur.rowcount
                rows_per_table.append(rows)
                log(f"t{k}: {rows:,} rows, data dir {mib(dir_bytes(srv.data_dir)):,.0f} MiB")
            build_s = time.perf_counter() - t_build
            counts = [cur.execute(f"SELECT COUNT(*) FROM t{k}").fetchall()[0][0] for k in range(1, TABLES + 1)]
            conn.close()
            rc, stop_s = srv.stop()
            if rc != 0:
                log(f"server exited with {rc} after SIGTERM:\n{srv.stderr_tail()}")
            data_bytes = dir_bytes(srv.data_dir)

            health, first_query, stops = [], [], []
            for run in range(args.runs):
                t0 = srv.spawn()
                health.append(srv.wait_healthy(t0))
                http = HttpSession(srv.url, "BENCH", "PUBLIC")
                data, _ = http.query("SELECT COUNT(*) FROM t1")
                first_query.append(time.monotonic() - t0)
                got = int(data["rowset"][0][0]) if data.get("rowset") else None
                if got is not None and got != counts[0]:
                    log(f"run {run + 1}: t1 has {got} rows after restart, expected {counts[0]}")
                rc, s = srv.stop()
                stops.append(s)
                log(f"run {run + 1}: healthy after {health[-1] * 1000:.1f} ms, exit {rc} in {s * 1000:.0f} ms")
        finally:
            srv.kill()

    print(f"  built {sum(counts):,} rows ({', '.join(f'{c:,}' for c in counts)}) in {build_s:.1f}s; "
          f"data dir {mib(data_bytes):,.1f} MiB; first SIGTERM exit took {stop_s:.2f}s\n")
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    print_table(["measurement", "runs", "median ms", "min ms", "max ms"], [
        ["spawn -> first 200 from /healthz", len(health), median(ms(health)), min(ms(health)), max(ms(health))],
        ["spawn -> first query answered (HTTP login + COUNT(*))", len(first_query), median(ms(first_query)),
         min(ms(first_query)), max(ms(first_query))],
        ["SIGTERM -> exit", len(stops), median(ms(stops)), min(ms(stops)), max(ms(stops))],
    ])


if __name__ == "__main__":
    main()
