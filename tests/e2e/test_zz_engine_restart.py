"""A restart of the Docker engine under a running floe (issue "Run containers", reconciliation): the
service is back to READY afterwards with one container, no duplicate and no orphan. The file's name
makes it the last of the suite on purpose: it stops and starts dockerd (scripts/docker-up.sh), which
every other container test relies on. Run when FLOE_TEST_DOCKER=1."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from conftest import REPO
from test_containers import ECHO_SPEC, images, one, owned_containers, spcs, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.environ.get("FLOE_TEST_DOCKER") != "1",
                                reason="Docker tests run with FLOE_TEST_DOCKER=1")


def test_services_come_back_after_dockerd_restarts(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"CREATE SERVICE echo_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${ECHO_SPEC}$$")
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'echo_service')") == "OK"
    assert len(owned_containers(srv)) == 1

    pid = int(subprocess.run(["pidof", "dockerd"], capture_output=True, text=True, check=True).stdout.split()[0])
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 60
    while time.time() < deadline and subprocess.run(["pidof", "dockerd"], capture_output=True).returncode == 0:
        time.sleep(0.2)
    assert subprocess.run(["pidof", "dockerd"], capture_output=True).returncode != 0, "dockerd did not stop"
    subprocess.run(["bash", str(REPO / "scripts" / "docker-up.sh")], check=True, timeout=120)

    wait_for(lambda: one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(5, 'echo_service')") == "OK", 120, "the service back after dockerd restarted")
    wait_for(lambda: len(owned_containers(srv)) == 1, 60, "exactly one container of the service")
    cur.execute("SHOW SERVICE CONTAINERS IN SERVICE echo_service")
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    assert [(r["container_name"], r["status"]) for r in rows] == [("echo", "READY")]
