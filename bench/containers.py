#!/usr/bin/env python3
"""Container benchmarks (issue "Run containers"), each against its baseline in the same run:

1. Synchronous EXECUTE JOB SERVICE of a trivial container (floe-testimg `exit 0`), wall time through the
   connector, divided by `docker run --rm --network N --network-alias A` of the same image (target <= 1.15).
2. Adoption: floe killed (SIGKILL) with 20 RUNNING services, restarted: time from spawn until SHOW
   SERVICES says all 20 are RUNNING again (target < 2 s).
3. Log capture: one job writes N lines as fast as it can; lines per second captured (N over the time
   from the job's start to its DONE, which waits for the capture to reach the end) and lines lost
   (N minus the lines in floe's log store) (target >= 100,000 lines/s, none lost).

Needs a Docker engine and the test images (bash scripts/build-test-images.sh).

    .venv/bin/python bench/containers.py [--bin target/release/floe] [--quick]
"""

from __future__ import annotations

import sqlite3
import subprocess
import time

from benchlib import Server, Workspace, arg_parser, log, median, print_header, print_table

IMAGE = "/tutorial_db/data_schema/tutorial_repository/my_job_image:latest"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def job_spec(*args: str) -> str:
    quoted = ", ".join(f"'{a}'" for a in args)
    return f"spec:\n  containers:\n  - name: main\n    image: {IMAGE}\n    args: [{quoted}]\n"


SERVICE_SPEC = f"""spec:
  containers:
  - name: echo
    image: {IMAGE}
    args: [echo-server]
    readinessProbe:
      port: 8000
      path: /healthcheck
"""


def setup(cur) -> None:
    for stmt in ["CREATE DATABASE IF NOT EXISTS tutorial_db", "CREATE SCHEMA IF NOT EXISTS tutorial_db.data_schema",
                 "USE SCHEMA tutorial_db.data_schema",
                 "CREATE COMPUTE POOL IF NOT EXISTS bench_pool MIN_NODES = 1 MAX_NODES = 10 INSTANCE_FAMILY = CPU_X64_M"]:
        cur.execute(stmt)


def cleanup(srv: Server) -> None:
    owner = (srv.data_dir / "instance-id").read_text().strip()
    ids = docker("ps", "-aq", "--filter", f"label=floe.owner={owner}").split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    for net in docker("network", "ls", "-q", "--filter", f"label=floe.owner={owner}").split():
        subprocess.run(["docker", "network", "rm", net], capture_output=True)


def bench_job(srv: Server, runs: int) -> list:
    conn = srv.connect()
    cur = conn.cursor()
    setup(cur)
    # The network floe made for the schema exists after the first job; the baseline uses its own.
    subprocess.run(["docker", "network", "create", "floe-bench-baseline"], capture_output=True)
    floe_s, docker_s = [], []
    local = IMAGE.lstrip("/")
    for i in range(runs + 1):
        t0 = time.perf_counter()
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL bench_pool NAME = bench_job_{i} "
                    f"FROM SPECIFICATION $${job_spec('exit', '0')}$$")
        t1 = time.perf_counter()
        assert "completed successfully" in cur.fetchone()[0]
        subprocess.run(["docker", "run", "--rm", "--network", "floe-bench-baseline", "--network-alias", "bench-job",
                        local, "exit", "0"], check=True, capture_output=True)
        t2 = time.perf_counter()
        if i > 0:  # the first of each warms caches (network creation, image lookup)
            floe_s.append(t1 - t0)
            docker_s.append(t2 - t1)
    subprocess.run(["docker", "network", "rm", "floe-bench-baseline"], capture_output=True)
    conn.close()
    ratio = median(floe_s) / median(docker_s)
    return [["sync EXECUTE JOB SERVICE (exit 0)", f"{median(floe_s) * 1000:.0f} ms",
             f"{median(docker_s) * 1000:.0f} ms", f"{ratio:.2f}", "<= 1.15", "met" if ratio <= 1.15 else "NOT met"]]


def all_running(cur, n: int) -> bool:
    cur.execute("SHOW SERVICES EXCLUDE JOBS IN SCHEMA tutorial_db.data_schema")
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    return len(rows) == n and all(r["status"] == "RUNNING" for r in rows)


def bench_adoption(srv: Server, n: int) -> list:
    conn = srv.connect()
    cur = conn.cursor()
    setup(cur)
    for i in range(n):
        cur.execute(f"CREATE SERVICE bench_svc_{i} IN COMPUTE POOL bench_pool FROM SPECIFICATION $${SERVICE_SPEC}$$")
    t0 = time.monotonic()
    while not all_running(cur, n):
        if time.monotonic() - t0 > 300:
            raise SystemExit("services did not all become RUNNING")
        time.sleep(0.2)
    log(f"{n} services RUNNING after {time.monotonic() - t0:.1f}s; killing floe")
    conn.close()
    srv.kill()
    before = set(docker("ps", "-q", "--filter", "label=floe.kind=service").split())
    t_spawn = srv.spawn()
    srv.wait_healthy(t_spawn)
    conn = srv.connect(database="tutorial_db", schema="data_schema")
    cur = conn.cursor()
    while not all_running(cur, n):
        time.sleep(0.01)
    adopted = time.monotonic() - t_spawn
    after = set(docker("ps", "-q", "--filter", "label=floe.kind=service").split())
    conn.close()
    return [[f"restart with {n} RUNNING services -> all RUNNING", f"{adopted:.2f} s", "< 2 s",
             "met" if adopted < 2 else "NOT met", f"containers kept: {len(before & after)}/{len(before)}"]]


def bench_logs(srv: Server, lines: int) -> list:
    conn = srv.connect()
    cur = conn.cursor()
    setup(cur)
    t0 = time.perf_counter()
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL bench_pool NAME = bench_flood "
                f"FROM SPECIFICATION $${job_spec('log-flood', str(lines))}$$")
    elapsed = time.perf_counter() - t0
    conn.close()
    db = sqlite3.connect(srv.data_dir / "logs.db")
    if db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sources'").fetchone()[0]:
        stored = db.execute("SELECT count(*), count(DISTINCT body) FROM logs l JOIN sources s ON l.source = s.id "
                            "WHERE s.service LIKE '%BENCH_FLOOD'").fetchone()
    else:  # a floe from before the sources table (a baseline binary)
        stored = db.execute("SELECT count(*), count(DISTINCT body) FROM logs WHERE service LIKE '%BENCH_FLOOD'").fetchone()
    db.close()
    rate = lines / elapsed
    return [[f"log-flood {lines:,} lines", f"{rate:,.0f} lines/s", f"{lines - stored[1]:,} lost",
             f"{stored[0] - stored[1]:,} duplicated", ">= 100,000 lines/s, none lost",
             "met" if rate >= 100_000 and stored[1] == lines and stored[0] == lines else "NOT met"]]


def main() -> None:
    p = arg_parser(__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--only", choices=["job", "logs", "adoption"], default=None, help="run one of the three benchmarks")
    args = p.parse_args()
    runs = args.runs or (3 if args.quick else 10)
    services = 5 if args.quick else 20
    lines = 100_000 if args.quick else 1_000_000
    print_header("floe bench: containers", args, [
        ("job", f"{runs} synchronous jobs vs {runs} `docker run --rm --network --network-alias`"),
        ("adoption", f"{services} services with a readiness probe; SIGKILL; restart"),
        ("logs", f"one job writing {lines:,} lines"),
    ])
    with Workspace(args, "containers") as work:
        srv = Server(args.bin, work)
        try:
            srv.start()
            if args.only in (None, "job"):
                print_table(["what", "floe", "docker run", "ratio", "target", ""], bench_job(srv, runs), "job wall time")
            if args.only in (None, "logs"):
                print_table(["what", "lines/s", "lost", "duplicated", "target", ""], bench_logs(srv, lines), "log capture")
            if args.only in (None, "adoption"):
                print_table(["what", "time", "target", "", "note"], bench_adoption(srv, services), "adoption after kill -9")
        finally:
            srv.kill()
            cleanup(srv)


if __name__ == "__main__":
    main()
