#!/usr/bin/env python3
"""Clients: one query mix through snowflake-connector-python 4.x against floe and against fakesnow's
server (fakesnow[server], DuckDB behind the same protocol), in one run.

Reports per server: p50 of the server's own time for small queries (X-Floe-Server-Time-Us; fakesnow's
is measured by an ASGI middleware around its app, bench/fakesnow_server.py), p50 end to end through the
connector, and the time of `fetch_arrow_all()` of 100,000 rows. Targets (issue: clients connect):
floe's server time and fetch_arrow_all at most 1/5 of fakesnow's, end to end at most 1/2.

The connector 4.x and fakesnow live in their own virtualenv (default .venv-fakesnow, created with pip
from PyPI when missing); this script re-executes itself there.

    python3 bench/clients.py [--bin target/release/floe] [--quick] [--venv .venv-fakesnow]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_DEFAULT = ROOT / ".venv-fakesnow"
REQUIREMENTS = ["fakesnow[server]", "snowflake-connector-python[pandas]>=4,<5", "requests"]


def ensure_venv(venv: Path) -> Path:
    py = venv / "bin" / "python"
    probe = "import fakesnow.server, snowflake.connector, pyarrow, requests, uvicorn"
    if py.exists() and subprocess.run([py, "-c", probe], capture_output=True).returncode == 0:
        return py
    print(f"  .. creating {venv} with {' '.join(REQUIREMENTS)}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS], check=True)
    return py


if os.environ.get("FLOE_CLIENTS_BENCH_INNER") != "1":
    venv = VENV_DEFAULT
    if "--venv" in sys.argv:
        venv = Path(sys.argv[sys.argv.index("--venv") + 1]).resolve()
    py = ensure_venv(venv)
    env = dict(os.environ, FLOE_CLIENTS_BENCH_INNER="1", SNOWFLAKE_DISABLE_PLATFORM_DETECTION="true")
    os.execve(str(py), [str(py), __file__, *sys.argv[1:]], env)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import snowflake.connector  # noqa: E402

from benchlib import (LATENCY_HEADERS, PASSWORD, HttpSession, Server, Workspace, arg_parser, free_port, healthz,  # noqa: E402
                      latency_row, log, median, print_header, print_table)


def mix(rows: int, n: int) -> list[str]:
    out = []
    for i in range(n):
        k = (i * 7919) % rows
        out.append([f"SELECT COUNT(*), MAX(id) FROM t WHERE id > {k}",
                    f"SELECT id, v FROM t WHERE id = {k}",
                    f"SELECT id, v FROM t WHERE id BETWEEN {k} AND {k + 9} ORDER BY id"][i % 3])
    return out


def measure(label: str, connect, url: str, rows: int, nq: int, arrow_runs: int) -> dict:
    conn = connect()
    cur = conn.cursor()
    cur.execute("CREATE DATABASE IF NOT EXISTS bench")
    cur.execute("USE DATABASE bench")
    cur.execute("CREATE SCHEMA IF NOT EXISTS bench.public")
    cur.execute("USE SCHEMA bench.public")
    cur.execute("CREATE OR REPLACE TABLE t (id INT, v VARCHAR)")
    t0 = time.perf_counter()
    cur.execute(f"INSERT INTO t SELECT SEQ4(), 'value-' || SEQ4() FROM TABLE(GENERATOR(ROWCOUNT => {rows}))")
    log(f"{label}: loaded {rows:,} rows in {time.perf_counter() - t0:.2f}s")
    sqls = mix(rows, nq)
    for sql in sqls[:30]:
        cur.execute(sql).fetchall()
    e2e = []
    for sql in sqls:
        t = time.perf_counter()
        cur.execute(sql).fetchall()
        e2e.append(time.perf_counter() - t)
    arrow = []
    for _ in range(arrow_runs):
        t = time.perf_counter()
        cur.execute("SELECT id, v FROM t")
        table = cur.fetch_arrow_all()
        arrow.append(time.perf_counter() - t)
        assert table.num_rows == rows, table.num_rows
    conn.close()
    http = HttpSession(url, "BENCH", "PUBLIC")
    server = []
    for sql in sqls:
        _, us = http.query(sql)
        if us is not None:
            server.append(us / 1e6)
    return {"e2e": e2e, "server": server, "arrow": arrow}


class ReplayProxy:
    """A loopback HTTP proxy in front of a server that records the server's answer to one SQL text and
    then replays it from memory: what `fetch_arrow_all` costs the connector alone (its HTTP, JSON,
    base64, chunk downloads and Arrow conversion) when the query request costs the server nothing.
    Chunk URLs in the answer still point at the server, which serves the stored chunks."""

    def __init__(self, upstream_port: int, sql: str):
        import gzip
        import http.client
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        cache: dict[str, tuple[int, list, bytes]] = {}
        self.cache = cache

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def setup(self):
                # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
                # the client's delayed ACK hold the body back ~40 ms on loopback.
                super().setup()
                import socket
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = None
                if self.path.startswith("/queries/v1/query-request"):
                    raw = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
                    if json.loads(raw or b"{}").get("sqlText") == sql:
                        key = sql
                if key in cache:
                    status, headers, data = cache[key]
                else:
                    c = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=600)
                    c.request(self.command, self.path, body=body,
                              headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")})
                    r = c.getresponse()
                    data = r.read()
                    headers = [(k, v) for k, v in r.getheaders() if k.lower() not in ("transfer-encoding", "content-length", "connection")]
                    status = r.status
                    c.close()
                    if key is not None:
                        cache[key] = (status, headers, data)
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def connector_floor(port: int, common: dict, rows: int, runs: int) -> list[float]:
    """fetch_arrow_all of `SELECT id, v FROM t` through a ReplayProxy: the first run records, the
    others are timed."""
    sql = "SELECT id, v FROM t"
    proxy = ReplayProxy(port, sql)
    try:
        conn = snowflake.connector.connect(port=proxy.port, database="BENCH", schema="PUBLIC", **common)
        cur = conn.cursor()
        times = []
        for i in range(runs + 1):
            t = time.perf_counter()
            cur.execute(sql)
            table = cur.fetch_arrow_all()
            if i:
                times.append(time.perf_counter() - t)
            assert table.num_rows == rows, table.num_rows
        conn.close()
        return times
    finally:
        proxy.close()


def main() -> None:
    p = arg_parser(__doc__.split("\n")[0])
    p.add_argument("--venv", default=str(VENV_DEFAULT), help="virtualenv with fakesnow and connector 4.x")
    args = p.parse_args()
    rows = 100_000
    nq = 150 if args.quick else 600
    arrow_runs = 2 if args.quick else 5
    print_header("floe bench: clients (connector 4.x) against floe and fakesnow", args, [
        ("connector", f"snowflake-connector-python {snowflake.connector.__version__}"),
        ("table", f"t(id INT, v VARCHAR), {rows:,} rows"),
        ("query mix", f"{nq} small queries: COUNT/MAX with a range, point lookup, 10-row range ordered"),
        ("arrow", f"fetch_arrow_all() of SELECT id, v FROM t ({rows:,} rows), {arrow_runs} runs"),
    ])
    common = dict(user="ADMIN", password=PASSWORD, account="floe", protocol="http", host="127.0.0.1",
                  login_timeout=60, network_timeout=600)
    with Workspace(args, "clients") as work:
        srv = Server(args.bin, work)
        try:
            srv.start()
            floe = measure("floe", lambda: snowflake.connector.connect(port=srv.port, **common), srv.url, rows, nq, arrow_runs)
            floor = connector_floor(srv.port, common, rows, arrow_runs)
            srv.stop()
        finally:
            srv.kill()
        port = free_port()
        fs = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent / "fakesnow_server.py"), str(port)],
                              stdout=open(work / "fakesnow.out", "wb"), stderr=open(work / "fakesnow.err", "wb"))
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    import requests
                    requests.get(url + "/", timeout=1, proxies={"http": None})
                    break
                except Exception:
                    time.sleep(0.1)
            fake = measure("fakesnow", lambda: snowflake.connector.connect(port=port, **common), url, rows, nq, arrow_runs)
        finally:
            fs.terminate()
            fs.wait(10)
    table = []
    for name, r in (("floe", floe), ("fakesnow", fake)):
        table.append(latency_row(f"{name}: small queries at the server", r["server"]))
        table.append(latency_row(f"{name}: small queries end to end (connector 4.x)", r["e2e"]))
        table.append(latency_row(f"{name}: fetch_arrow_all 100,000 rows", r["arrow"]))
    table.append(latency_row("connector alone: fetch_arrow_all of floe's answer replayed from memory", floor))
    print_table(LATENCY_HEADERS, table)
    ratios = [("server p50", median(floe["server"]) / median(fake["server"]), 0.2),
              ("end-to-end p50", median(floe["e2e"]) / median(fake["e2e"]), 0.5),
              ("fetch_arrow_all", median(floe["arrow"]) / median(fake["arrow"]), 0.2)]
    for name, ratio, target in ratios:
        print(f"  floe / fakesnow {name}: {ratio:.3f} (target <= {target}: {'met' if ratio <= target else 'NOT met'})")
    print(f"  connector alone (replayed answer) / fakesnow fetch_arrow_all: {median(floor) / median(fake['arrow']):.3f}"
          f" (the floor of any server behind this connector)")


if __name__ == "__main__":
    main()
