#!/usr/bin/env python3
"""Async job benchmarks (issue "Async jobs"), each with its baseline or target in the same run:

1. EXECUTE JOB SERVICE … ASYNC = TRUE until its result row arrives, N submissions through the
   connector: p50 and p99 (target p50 < 15 ms).
2. M trivial async jobs (floe-testimg `exit 0`) submitted together: time until all are DONE, divided by
   the time M concurrent `docker run --rm --network N` of the same image take (target <= 1.2).
3. GET_JOB_HISTORY over 10,000 recorded jobs (rows seeded into logs.db while floe is stopped): the
   default call (RESULT_LIMIT 100) and RESULT_LIMIT => 10000, wall time through the connector
   (target < 50 ms).

Needs a Docker engine and the test images (bash scripts/build-test-images.sh).

    .venv/bin/python bench/jobs.py [--bin target/release/floe] [--quick]
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
import uuid

from benchlib import LATENCY_HEADERS, Server, Workspace, arg_parser, latency_row, log, median, print_header, print_table
from containers import IMAGE, cleanup, docker

SPEC = f"""spec:
  containers:
  - name: main
    image: {IMAGE}
    args: ['exit', '0']
    resources:
      requests:
        cpu: 0.1
        memory: 64Mi
"""


def setup(cur) -> None:
    for stmt in ["CREATE DATABASE IF NOT EXISTS tutorial_db", "CREATE SCHEMA IF NOT EXISTS tutorial_db.data_schema",
                 "USE SCHEMA tutorial_db.data_schema",
                 "CREATE COMPUTE POOL IF NOT EXISTS jobs_pool MIN_NODES = 1 MAX_NODES = 20 INSTANCE_FAMILY = CPU_X64_M"]:
        cur.execute(stmt)


def wait_all_done(cur, prefix: str, n: int, timeout: float = 600) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        cur.execute(f"SHOW JOB SERVICES LIKE '{prefix}%'")
        cols = [d[0] for d in cur.description]
        statuses = [dict(zip(cols, r))["status"] for r in cur.fetchall()]
        if len(statuses) == n and all(s == "DONE" for s in statuses):
            return
        if any(s in ("FAILED", "CANCELLED") for s in statuses):
            raise SystemExit(f"a benchmark job did not succeed: {statuses}")
        time.sleep(0.02)
    raise SystemExit(f"jobs {prefix}* not done after {timeout} s")


def bench_submit(srv: Server, n: int) -> list:
    conn = srv.connect()
    cur = conn.cursor()
    setup(cur)
    latencies = []
    for i in range(n):
        t0 = time.perf_counter()
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL jobs_pool NAME = submit_{i} ASYNC = TRUE FROM SPECIFICATION $${SPEC}$$")
        cur.fetchone()
        latencies.append(time.perf_counter() - t0)
    wait_all_done(cur, "SUBMIT_", n)
    conn.close()
    row = latency_row(f"async submit x{n}", latencies)
    p50 = median(latencies) * 1000
    return [row + ["p50 < 15 ms", "met" if p50 < 15 else "NOT met"]]


def bench_parallel(srv: Server, m: int) -> list:
    conn = srv.connect()
    cur = conn.cursor()
    setup(cur)
    t0 = time.perf_counter()
    for i in range(m):
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL jobs_pool NAME = par_{i} ASYNC = TRUE FROM SPECIFICATION $${SPEC}$$")
    wait_all_done(cur, "PAR_", m)
    floe_s = time.perf_counter() - t0
    conn.close()

    subprocess.run(["docker", "network", "create", "floe-bench-jobs"], capture_output=True)
    local = IMAGE.lstrip("/")
    errors = []

    def run():
        r = subprocess.run(["docker", "run", "--rm", "--network", "floe-bench-jobs", local, "exit", "0"], capture_output=True, text=True)
        if r.returncode != 0:
            errors.append(r.stderr)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(m)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    docker_s = time.perf_counter() - t0
    subprocess.run(["docker", "network", "rm", "floe-bench-jobs"], capture_output=True)
    if errors:
        raise SystemExit(f"docker run failed: {errors[0]}")
    ratio = floe_s / docker_s
    return [[f"{m} async jobs until all DONE", f"{floe_s:.2f} s", f"{docker_s:.2f} s", f"{ratio:.2f}", "<= 1.2",
             "met" if ratio <= 1.2 else "NOT met"]]


def seed_history(srv: Server, n: int) -> None:
    db = sqlite3.connect(srv.data_dir / "logs.db")
    now_ms = int(time.time() * 1000)
    statuses = json.dumps({"failedInstances": 0, "pendingInstances": 0, "runningInstances": 0, "succeededInstances": 1,
                           "totalInstances": 1, "instances": [{"instanceId": "0", "containers": [
                               {"containerName": "main", "image": IMAGE, "imageSha256": "sha256:" + "0" * 64, "lastExitCode": 0,
                                "message": "Completed successfully", "restartCount": 0, "startTime": "", "status": "DONE"}]}]})
    rows = []
    for i in range(n):
        fixed = json.dumps({"query_id": str(uuid.uuid4()), "id": 100000 + i, "name": f"SEEDED_{i}", "database": "TUTORIAL_DB",
                            "schema": "DATA_SCHEMA", "compute_pool": "JOBS_POOL", "parameters": {"ASYNC": True}})
        created = now_ms - (n - i) * 1000
        rows.append((str(uuid.uuid4()), "ACCOUNTADMIN", created, created + 500, None, "DONE", "Job completed successfully.", statuses, fixed))
    db.executemany("INSERT INTO jobs(uid, owner, created_ms, completed_ms, deleted_ms, status, message, instance_statuses, fixed) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()


def bench_history(srv: Server, n: int, runs: int) -> list:
    srv.stop()
    seed_history(srv, n)
    srv.start()
    conn = srv.connect()
    cur = conn.cursor()
    out = []
    for label, sql, expect in [
        ("GET_JOB_HISTORY() (100 newest)", "SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY())", 100),
        (f"GET_JOB_HISTORY(RESULT_LIMIT => {n})", f"SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(RESULT_LIMIT => {n}))", n),
    ]:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            cur.execute(sql)
            got = len(cur.fetchall())
            times.append(time.perf_counter() - t0)
            if got < expect:
                raise SystemExit(f"{label}: {got} rows, expected {expect}")
        p50 = median(times) * 1000
        out.append(latency_row(f"{label} over {n:,} jobs", times) + ["< 50 ms", "met" if p50 < 50 else "NOT met"])
    conn.close()
    return out


def main() -> None:
    p = arg_parser(__doc__.split("\n")[0])
    args = p.parse_args()
    submits = 20 if args.quick else 100
    parallel = 10 if args.quick else 50
    history = 1_000 if args.quick else 10_000
    print_header("floe bench: async jobs", args, [
        ("submit", f"{submits} EXECUTE JOB SERVICE … ASYNC = TRUE, one after another"),
        ("parallel", f"{parallel} async jobs together vs {parallel} concurrent `docker run --rm --network`"),
        ("history", f"GET_JOB_HISTORY over {history:,} recorded jobs"),
    ])
    with Workspace(args, "jobs") as work:
        srv = Server(args.bin, work)
        try:
            srv.start()
            log("submit latency")
            print_table(LATENCY_HEADERS + ["target", ""], bench_submit(srv, submits), "async submit")
            log("parallel jobs")
            print_table(["what", "floe", "docker run", "ratio", "target", ""], bench_parallel(srv, parallel), "parallel jobs")
            log("job history")
            print_table(LATENCY_HEADERS + ["target", ""], bench_history(srv, history, 5 if args.quick else 20), "job history")
        finally:
            srv.kill()
            cleanup(srv)


if __name__ == "__main__":
    main()
