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


REVIEWS = [
    (1, "I absolutely love this blender. It crushes ice in seconds and is easy to clean. Best purchase this year!"),
    (2, "Terrible product. It broke after two days and the support team never answered. Awful experience."),
    (3, "The blender is fine. It works as described. Delivery was on time."),
    (4, "Great value for the price, though the lid is a bit loose. Overall I am happy with the blender."),
]


def text_spec(task: str) -> str:
    return f"""
spec:
  containers:
  - name: main
    image: /{PY_IMAGE}
    command: [python3, /app/text_job.py]
    args: [--task={task}, --source_table=reviews, --source_id_column=REVIEW_ID,
           --source_value_column=REVIEW_TEXT, --result_table=review_results]
    env:
      PYTHONPATH: /opt/sf3:/opt/extra
"""


def test_text_analysis_jobs_with_snowpark(spcs, python_image, tmp_path):
    """The seed's workflow: reviews loaded from a CSV on a stage; a Snowpark job scores them and MERGEs
    into a shared table, synchronously, then as two async jobs in parallel; history and logs after."""
    srv, c = spcs()
    cur = c.cursor()
    csv = tmp_path / "reviews.csv"
    csv.write_text("REVIEW_ID,REVIEW_TEXT\n" + "".join(f'{i},"{t}"\n' for i, t in REVIEWS))
    for stmt in ["CREATE TABLE reviews (REVIEW_ID INT, REVIEW_TEXT STRING)",
                 "CREATE TABLE review_results (REVIEW_ID INT, SENTIMENT_SCORE FLOAT, SUMMARY STRING)",
                 "CREATE STAGE review_stage",
                 f"PUT file://{csv} @review_stage AUTO_COMPRESS = FALSE",
                 "COPY INTO reviews FROM @review_stage FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"')"]:
        cur.execute(stmt)
    assert cur.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == len(REVIEWS)

    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = sentiment_sync FROM SPECIFICATION $${text_spec('sentiment')}$$")
    assert cur.fetchone()[0] == "Job SENTIMENT_SYNC completed successfully with status: DONE."
    scores = dict(cur.execute("SELECT review_id, sentiment_score FROM review_results").fetchall())
    assert set(scores) == {1, 2, 3, 4} and scores[1] > 0.5 and scores[2] < 0

    cur.execute("UPDATE review_results SET sentiment_score = NULL")
    for name, task in [("sentiment_job", "sentiment"), ("summary_job", "summarization")]:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = {name} ASYNC = TRUE FROM SPECIFICATION $${text_spec(task)}$$")
    for name in ["sentiment_job", "summary_job"]:
        cur.execute(f"CALL {name}!SPCS_WAIT_FOR('DONE', 300)")
    results = {r[0]: r[1:] for r in cur.execute("SELECT review_id, sentiment_score, summary FROM review_results ORDER BY 1").fetchall()}
    assert set(results) == {1, 2, 3, 4}, "one row per review: the two MERGEs met on the same rows"
    assert results[1][0] > 0.5 and results[2][0] < 0
    assert all(summary and summary in dict(REVIEWS)[i] for i, (_, summary) in results.items())

    # The seed's history query.
    cur.execute("""SELECT name, status, DATEDIFF('second', created_time, completed_time) AS duration_secs
                   FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY()) ORDER BY created_time""")
    hist = cur.fetchall()
    assert [(n, s) for n, s, _ in hist] == [("SENTIMENT_SYNC", "DONE"), ("SENTIMENT_JOB", "DONE"), ("SUMMARY_JOB", "DONE")]
    # Logs after the containers are gone.
    from test_containers import owned_containers, wait_for
    wait_for(lambda: not owned_containers(srv), 60, "the jobs' containers to be removed")
    cur.execute("SELECT log FROM TABLE(summary_job!SPCS_GET_LOGS()) ORDER BY timestamp")
    logs = [r[0] for r in cur.fetchall()]
    assert any("task summarization: 4 rows from reviews" in line for line in logs)
    assert any("merged into review_results" in line for line in logs)


def test_snowpark_operations_from_a_job(spcs, python_image):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute("CREATE TABLE people (NAME STRING, AGE INT)")
    cur.execute("INSERT INTO people VALUES ('ann', 31), ('bob', 17), ('cy', 45)")
    spec = f"""
spec:
  containers:
  - name: main
    image: /{PY_IMAGE}
    command: [python3, /app/snowpark_ops.py]
    env:
      PYTHONPATH: /opt/sf3
"""
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = snowpark_ops FROM SPECIFICATION $${spec}$$")
    assert "completed successfully" in cur.fetchone()[0]
    import json
    logs = cur.execute("SELECT SYSTEM$GET_SERVICE_LOGS('snowpark_ops', 0, 'main')").fetchone()[0]
    out = json.loads(logs.strip().splitlines()[-1])
    assert out == {"sql": [["SNOWPARK_OPS", 42]], "filter": ["ann", "cy"], "saved": 2, "pandas": [["dee", 0.5], ["eve", 0.75]]}
    assert cur.execute("SELECT name FROM adults ORDER BY name").fetchall() == [("ann",), ("cy",)]
