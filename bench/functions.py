#!/usr/bin/env python3
"""External function benchmarks (issue "Service functions and external functions"), each against its
baseline in the same run, with the tutorial's echo service (`floe-testimg echo-server`) on loopback:

1. Throughput: `SELECT COUNT(f(s)) FROM t` over N rows (1,000,000; --quick 100,000) through an external
   function with MAX_BATCH_ROWS = B, in rows/s, divided by the rows/s of a direct HTTP client (Python,
   http.client, a thread pool) posting the same rows in the same batches with the same concurrency as
   floe (FLOE_REMOTE_MAX_IN_FLIGHT) against the same service (target >= 0.8). The COUNT keeps the
   connector's download of a million result rows out of both measurements; `SELECT f(s) FROM t` is
   reported too.
2. Latency floe adds to a one-row call: p50 of `SELECT f('x')` minus p50 of `SELECT 'x'` (the same
   statement round trip without the function) minus p50 of one direct one-row POST to the service
   (the service's own time as a client sees it) (target < 1 ms).

    .venv/bin/python bench/functions.py [--bin target/release/floe] [--testimg target/release/floe-testimg] [--quick]
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchlib import Server, Workspace, arg_parser, log, percentile, print_header, print_table

GATEWAY = "https://abc123.execute-api.us-west-2.amazonaws.com/prod/"


def start_echo(binary: str) -> tuple[subprocess.Popen, int]:
    from benchlib import free_port, healthz  # noqa: F401
    port = free_port()
    proc = subprocess.Popen([binary, "echo-server"], env={**os.environ, "SERVER_PORT": str(port), "CHARACTER_NAME": "Bob"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthcheck")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.02)
    raise SystemExit("echo-server did not start")


def post(port: int, rows: list[list]) -> list:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"data": rows})
    c.request("POST", "/echo", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = json.loads(r.read())["data"]
    c.close()
    if r.status != 200 or len(data) != len(rows):
        raise SystemExit(f"direct call failed: {r.status}")
    return data


def direct_throughput(port: int, n: int, batch: int, concurrency: int) -> float:
    values = [f"row {i}" for i in range(n)]
    batches = [[[j, v] for j, v in enumerate(values[i:i + batch])] for i in range(0, n, batch)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        got = sum(len(r) for r in pool.map(lambda b: post(port, b), batches))
    elapsed = time.monotonic() - t0
    assert got == n
    return elapsed


def main() -> None:
    p = arg_parser(__doc__)
    p.add_argument("--testimg", default=os.environ.get("FLOE_TESTIMG") or str(Path(__file__).resolve().parents[1] / "target" / "release" / "floe-testimg"))
    p.add_argument("--batch", type=int, default=1000)
    args = p.parse_args()
    n = 100_000 if args.quick else 1_000_000
    in_flight = int(os.environ.get("FLOE_REMOTE_MAX_IN_FLIGHT", "8"))
    echo, port = start_echo(args.testimg)
    os.environ["FLOE_EXTERNAL_URL_MAP"] = f"{GATEWAY}=http://127.0.0.1:{port}/"
    print_header("External functions", args, [("rows", f"{n:,}"), ("MAX_BATCH_ROWS", str(args.batch)), ("in flight", str(in_flight))])
    try:
        with Workspace(args, "functions") as work:
            srv = Server(args.bin, work)
            srv.start()
            try:
                c = srv.connect()
                cur = c.cursor()
                for s in [
                    "create database b", "use b.public",
                    f"create api integration bench_api api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::1:role/r' "
                    f"api_allowed_prefixes = ('{GATEWAY}') enabled = true",
                    f"create external function echo_f(s varchar) returns varchar api_integration = bench_api "
                    f"max_batch_rows = {args.batch} compression = none as '{GATEWAY}echo'",
                    f"create table t as select 'row ' || seq4() as s from table(generator(rowcount => {n}))",
                ]:
                    cur.execute(s)
                log("throughput: floe")
                t0 = time.monotonic()
                cur.execute("select count(echo_f(s)) from t")
                assert cur.fetchone()[0] == n
                floe_s = time.monotonic() - t0
                t0 = time.monotonic()
                cur.execute("select echo_f(s) from t")
                assert len(cur.fetchall()) == n
                floe_rows_s = time.monotonic() - t0
                log("throughput: direct client")
                direct_s = direct_throughput(port, n, args.batch, in_flight)
                print_table(["measurement", "seconds", "rows/s"], [
                    ["floe SELECT COUNT(f(s)) FROM t", floe_s, n / floe_s],
                    ["floe SELECT f(s) FROM t (rows fetched)", floe_rows_s, n / floe_rows_s],
                    ["direct client, same batches and concurrency", direct_s, n / direct_s],
                    ["ratio floe / direct (COUNT)", "", (n / floe_s) / (n / direct_s)],
                ], title="Throughput")
                log("latency")
                reps = 50 if args.quick else 300
                fn, plain, direct = [], [], []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    cur.execute("select 'x'")
                    cur.fetchall()
                    plain.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    cur.execute("select echo_f('x')")
                    cur.fetchall()
                    fn.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    post(port, [[0, "x"]])
                    direct.append(time.perf_counter() - t0)
                p50 = lambda v: percentile([x * 1000 for x in v], 50)  # noqa: E731
                added = p50(fn) - p50(plain) - p50(direct)
                print_table(["measurement", "p50 ms", "p99 ms"], [
                    ["SELECT echo_f('x')", p50(fn), percentile([x * 1000 for x in fn], 99)],
                    ["SELECT 'x'", p50(plain), percentile([x * 1000 for x in plain], 99)],
                    ["direct one-row POST", p50(direct), percentile([x * 1000 for x in direct], 99)],
                    ["added by floe (p50 fn - p50 plain - p50 direct)", added, ""],
                ], title="One-row call")
            finally:
                srv.stop()
    finally:
        echo.terminate()
        echo.wait()


if __name__ == "__main__":
    main()
