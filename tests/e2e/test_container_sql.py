"""Containers that run SQL (spcs.md §7): a job connects back to floe exactly as Snowflake's tutorials do,
with only SNOWFLAKE_HOST, SNOWFLAKE_ACCOUNT and the session token (https on port 443, the connector's
own certificate checks), through each line of snowflake-connector-python (3.x, 4.x, 5.x).
Run when FLOE_TEST_DOCKER=1; the image is built by scripts/build-python-image.sh (debootstrap, ~2 min
the first time)."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import REPO
from test_containers import docker, images, spcs  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.environ.get("FLOE_TEST_DOCKER") != "1",
                                reason="Docker tests run with FLOE_TEST_DOCKER=1")

PY_IMAGE = "tutorial_db/data_schema/tutorial_repository/python_job:latest"


@pytest.fixture(scope="session")
def python_image(images):
    subprocess.run(["bash", str(REPO / "scripts" / "build-python-image.sh")], check=True, timeout=900)
    docker("tag", "floe-python:latest", PY_IMAGE)


def connect_spec(line: str) -> str:
    return f"""
spec:
  containers:
  - name: main
    image: /{PY_IMAGE}
    command: [python3, /app/connect.py]
    env:
      PYTHONPATH: /opt/{line}
      CONNECTOR_LINE: {line}
"""


@pytest.mark.parametrize("line", ["sf3", "sf4", "sf5"])
def test_a_job_connects_back_over_https(spcs, python_image, line):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute("CREATE TABLE connector_lines (line STRING, version STRING, usr STRING, role STRING)")
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = connect_{line} "
                f"FROM SPECIFICATION $${connect_spec(line)}$$")
    assert "completed successfully" in cur.fetchone()[0]
    cur.execute("SELECT line, version, usr, role FROM connector_lines")
    (got_line, version, user, role), = cur.fetchall()
    assert got_line == line and version.startswith(line[-1] + ".")
    assert (user, role) == (f"CONNECT_{line.upper()}", "ACCOUNTADMIN")
    env = cur.execute("SELECT SYSTEM$GET_SERVICE_LOGS('connect_" + line + "', 0, 'main')").fetchone()[0]
    assert "connected with snowflake-connector-python" in env
