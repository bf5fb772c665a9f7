"""Services and job services on the real Docker engine (spcs.md §4-8), through the real connector.

Run when FLOE_TEST_DOCKER=1 (CI sets it); they fail, not skip, when the engine is missing then.
Images are built locally by scripts/build-test-images.sh (nothing can be pulled).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import snowflake.connector

from conftest import REPO

pytestmark = pytest.mark.skipif(os.environ.get("FLOE_TEST_DOCKER") != "1",
                                reason="Docker tests run with FLOE_TEST_DOCKER=1")

ECHO_SPEC = """
spec:
  containers:
  - name: echo
    image: /tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest
    env:
      SERVER_PORT: 8000
      CHARACTER_NAME: Bob
    readinessProbe:
      port: 8000
      path: /healthcheck
  endpoints:
  - name: echoendpoint
    port: 8000
    public: true
"""

JOB_SPEC = """
spec:
  containers:
  - name: main
    image: /tutorial_db/data_schema/tutorial_repository/my_job_image:latest
    args: [echo-client]
    env:
      SERVICE_URL: http://echo-service:8000/echo
"""


def docker(*args: str, check: bool = True) -> str:
    res = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if check and res.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {res.stderr}")
    return res.stdout


@pytest.fixture(scope="session")
def images():
    try:
        docker("info")
    except (FileNotFoundError, AssertionError) as e:
        pytest.fail(f"FLOE_TEST_DOCKER=1 but the Docker engine is not usable: {e}", pytrace=False)
    subprocess.run(["bash", str(REPO / "scripts" / "build-test-images.sh")], check=True, timeout=300)


def owned_containers(srv) -> list[str]:
    owner = (srv.data_dir / "instance-id").read_text().strip()
    return docker("ps", "-aq", "--filter", f"label=floe.owner={owner}").split()


@pytest.fixture
def spcs(make_server, images):
    """A private server with the tutorial's objects; its containers are removed afterwards."""
    made = []

    def factory(**env):
        extra = {"FLOE_STOP_GRACE_SECS": "2"}
        extra.update(env)
        srv = make_server(extra_env=extra)
        made.append(srv)
        c = srv.connect()
        cur = c.cursor()
        for stmt in [
            "CREATE DATABASE tutorial_db",
            "CREATE SCHEMA data_schema",
            "USE SCHEMA tutorial_db.data_schema",
            "CREATE COMPUTE POOL tutorial_compute_pool MIN_NODES = 1 MAX_NODES = 1 INSTANCE_FAMILY = CPU_X64_XS",
            "CREATE IMAGE REPOSITORY tutorial_repository",
        ]:
            cur.execute(stmt)
        return srv, c

    yield factory
    for srv in made:
        try:
            owner = (srv.data_dir / "instance-id").read_text().strip()
        except OSError:
            continue
        ids = docker("ps", "-aq", "--filter", f"label=floe.owner={owner}").split()
        if ids:
            docker("rm", "-f", *ids, check=False)
        for net in docker("network", "ls", "-q", "--filter", f"label=floe.owner={owner}").split():
            docker("network", "rm", net, check=False)


def one(cur, sql: str):
    cur.execute(sql)
    return cur.fetchone()[0]


def wait_for(pred, timeout: float = 60.0, what: str = "condition"):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = pred()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_service_to_service_tutorial(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"CREATE SERVICE echo_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${ECHO_SPEC}$$ "
                "MIN_INSTANCES = 1 MAX_INSTANCES = 1")
    assert cur.fetchone()[0] == "Service ECHO_SERVICE successfully created."
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'echo_service')") == "OK"

    status = json.loads(one(cur, "SELECT SYSTEM$GET_SERVICE_STATUS('echo_service')"))
    assert [(s["containerName"], s["status"], s["message"], s["instanceId"]) for s in status] == [("echo", "READY", "Running", "0")]
    assert status[0]["image"].endswith("/tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest")

    cur.execute("SHOW SERVICES LIKE 'ECHO%'")
    cols = [d[0] for d in cur.description]
    row = dict(zip(cols, cur.fetchone()))
    assert row["status"] == "RUNNING" and row["compute_pool"] == "TUTORIAL_COMPUTE_POOL"
    assert row["dns_name"].startswith("echo-service.") and row["dns_name"].endswith(".svc.spcs.internal")
    assert row["is_job"] == "false" and len(row["spec_digest"]) == 64

    cur.execute("DESCRIBE SERVICE echo_service")
    cols = [d[0] for d in cur.description]
    desc = dict(zip(cols, cur.fetchone()))
    assert 'name: "echo"' in desc["spec"] and "sha256:" in desc["spec"]

    cur.execute("SHOW ENDPOINTS IN SERVICE echo_service")
    assert [r[:5] for r in cur.fetchall()] == [("echoendpoint", "8000", None, "HTTP", "true")]

    cur.execute("SHOW SERVICE CONTAINERS IN SERVICE echo_service")
    cols = [d[0] for d in cur.description]
    crow = dict(zip(cols, cur.fetchone()))
    assert (crow["status"], crow["message"], crow["restart_count"]) == ("READY", "Running", 0)
    assert crow["image_digest"].startswith("sha256:")

    cur.execute("SHOW COMPUTE POOLS LIKE 'TUTORIAL%'")
    cols = [d[0] for d in cur.description]
    prow = dict(zip(cols, cur.fetchone()))
    assert (prow["state"], prow["num_services"], prow["active_nodes"]) == ("ACTIVE", 1, 1)

    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = tutorial_job "
                f"FROM SPECIFICATION $${JOB_SPEC}$$")
    assert cur.fetchone()[0] == "Job TUTORIAL_JOB completed successfully with status: DONE."

    job_logs = one(cur, "SELECT SYSTEM$GET_SERVICE_LOGS('tutorial_job', 0, 'main')")
    assert "Calling http://echo-service:8000/echo" in job_logs
    assert 'Received response: {"data":[[0,"Bob said Hello"]]}' in job_logs
    echo_logs = one(cur, "CALL SYSTEM$GET_SERVICE_LOGS('echo_service', '0', 'echo', 100, False, '', True)")
    assert "Sending response" in echo_logs and "Bob said Hello" in echo_logs
    assert echo_logs.splitlines()[0][:4].isdigit() and "Z " in echo_logs.splitlines()[0]

    cur.execute("DESCRIBE SERVICE tutorial_job")
    cols = [d[0] for d in cur.description]
    jrow = dict(zip(cols, cur.fetchone()))
    assert (jrow["status"], jrow["is_job"]) == ("DONE", "true")
    cur.execute("SHOW SERVICE INSTANCES IN SERVICE tutorial_job")
    cols = [d[0] for d in cur.description]
    irow = dict(zip(cols, cur.fetchone()))
    assert (irow["service_status"], irow["instance_id"], irow["status"]) == ("DONE", "0", "SUCCEEDED")

    # The tutorial's clean-up: STOP ALL, then DROP at once.
    cur.execute("ALTER COMPUTE POOL tutorial_compute_pool STOP ALL")
    cur.execute("DROP COMPUTE POOL tutorial_compute_pool")
    assert cur.fetchone()[0] == "TUTORIAL_COMPUTE_POOL successfully dropped."
    wait_for(lambda: not owned_containers(srv), 60, "the service's containers to be removed")


def test_failed_job_reports_exit_code_and_logs(spcs):
    srv, c = spcs()
    cur = c.cursor()
    spec = JOB_SPEC.replace("args: [echo-client]", "args: [exit, '3']")
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = failing_job FROM SPECIFICATION $${spec}$$")
    msg = str(err.value)
    assert "Job FAILING_JOB failed with status: FAILED" in msg
    assert "exited with code 3" in msg and "exiting with 3" in msg
    cur.execute("SHOW SERVICE CONTAINERS IN SERVICE failing_job")
    cols = [d[0] for d in cur.description]
    row = dict(zip(cols, cur.fetchone()))
    assert (row["status"], row["last_exit_code"], row["message"]) == ("FAILED", 3, "User application error, check container logs")


def test_floe_sql_shows_progress_of_a_synchronous_job(spcs):
    """`floe sql` prints the job's container statuses to stderr while a synchronous job runs (a second
    session reads SHOW SERVICE CONTAINERS); stdout keeps only the result."""
    srv, _ = spcs()
    spec = JOB_SPEC.replace("args: [echo-client]", "args: [sleep, '4']")
    out = srv.sql_cli(["-d", "TUTORIAL_DB", "-s", "DATA_SCHEMA", "--format", "csv", "-q",
                       f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = slow_job FROM SPECIFICATION $${spec}$$"])
    assert out.returncode == 0, out.stderr
    assert "Job SLOW_JOB completed successfully with status: DONE." in out.stdout
    assert "-- job" not in out.stdout
    progress = [line for line in out.stderr.splitlines() if line.startswith("-- job SLOW_JOB: instance 0 main ")]
    assert progress, out.stderr
    assert any(line.split(" main ")[1].startswith(("READY", "RUNNING")) for line in progress), progress


def test_bad_spec_changes_nothing(spcs):
    srv, c = spcs()
    cur = c.cursor()
    bad = ECHO_SPEC.replace("  - name: echo\n    image: /tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest\n",
                            "  - name: echo\n")
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute(f"CREATE SERVICE bad_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${bad}$$")
    assert "spec.containers[0].image" in str(err.value)
    cur.execute("SHOW SERVICES")
    assert cur.fetchall() == []
    assert owned_containers(srv) == []
    big = ECHO_SPEC.replace("    readinessProbe:", "    resources:\n      requests:\n        cpu: 64\n    readinessProbe:")
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute(f"CREATE SERVICE too_big IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${big}$$")
    assert "Unschedulable" in str(err.value)


def test_drop_database_drops_its_services_and_jobs(spcs):
    """A dropped database takes its services and job services with it (containers stopped, jobs marked
    deleted in the history): re-creating it does not bring them back, so the same names work again."""
    srv, c = spcs()
    cur = c.cursor()
    for _ in range(2):
        cur.execute("CREATE DATABASE scratch_db")
        cur.execute("USE SCHEMA scratch_db.public")
        cur.execute(f"CREATE SERVICE echo_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${ECHO_SPEC}$$")
        assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'echo_service')") == "OK"
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = scratch_job FROM SPECIFICATION $${JOB_SPEC}$$")
        assert cur.fetchone()[0] == "Job SCRATCH_JOB completed successfully with status: DONE."
        assert owned_containers(srv), "the service runs"
        cur.execute("DROP DATABASE scratch_db")
        cur.execute("SHOW SERVICES IN ACCOUNT")
        assert cur.fetchall() == []
        wait_for(lambda: owned_containers(srv) == [], what="the dropped database's containers to be removed")
    cur.execute("USE SCHEMA tutorial_db.data_schema")
    cur.execute("SELECT name, deleted_time FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY()) WHERE name = 'SCRATCH_JOB'")
    history = cur.fetchall()
    assert len(history) == 2 and all(deleted is not None for _, deleted in history), history


def test_kill_and_restart_adopts_containers(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"CREATE SERVICE echo_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${ECHO_SPEC}$$")
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'echo_service')") == "OK"
    before = owned_containers(srv)
    assert len(before) == 1
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    srv.start()
    c2 = srv.connect()
    cur2 = c2.cursor()
    cur2.execute("USE SCHEMA tutorial_db.data_schema")
    assert one(cur2, "SELECT SYSTEM$WAIT_FOR_SERVICES(30, 'echo_service')") == "OK"
    assert owned_containers(srv) == before, "the running container is adopted, not duplicated"
    # Logs captured before the kill are still there, once.
    logs = one(cur2, "SELECT SYSTEM$GET_SERVICE_LOGS('echo_service', 0, 'echo')")
    assert logs.count("echo-service: listening on port 8000") == 1
    cur2.execute("DROP SERVICE echo_service")
    wait_for(lambda: not owned_containers(srv), 30, "the dropped service's container to go")


def test_rolling_upgrade_and_crash_loop(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"CREATE SERVICE echo_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${ECHO_SPEC}$$")
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'echo_service')") == "OK"
    cur.execute(f"ALTER SERVICE echo_service FROM SPECIFICATION $${ECHO_SPEC.replace('Bob', 'Alice')}$$")

    def upgraded():
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${JOB_SPEC}$$")
        cur.execute("SELECT SYSTEM$GET_SERVICE_LOGS('echo_service', 0, 'echo')")
        return "Alice said Hello" in cur.fetchone()[0]

    wait_for(upgraded, 120, "the upgraded instance to answer")
    cur.execute("SHOW SERVICE CONTAINERS IN SERVICE echo_service")
    assert len(cur.fetchall()) == 1, "the old instance was replaced, not kept beside the new one"

    # A container that keeps failing is restarted and counted; the service does not become ready.
    crashing = ECHO_SPEC.replace("    env:\n      SERVER_PORT: 8000", "    args: [exit, '1']\n    env:\n      SERVER_PORT: 8000")
    cur.execute(f"CREATE SERVICE crashing IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${crashing}$$")

    def restarted():
        cur.execute("SHOW SERVICE CONTAINERS IN SERVICE crashing")
        cols = [d[0] for d in cur.description]
        row = dict(zip(cols, cur.fetchone()))
        return (row["restart_count"] or 0) >= 2 and row
    row = wait_for(restarted, 120, "the crashing container to be restarted")
    assert row["last_exit_code"] == 1
    cur.execute("DESCRIBE SERVICE crashing")
    cols = [d[0] for d in cur.description]
    assert dict(zip(cols, cur.fetchone()))["status"] != "RUNNING"


def test_two_servers_share_one_engine(spcs):
    a, ca = spcs()
    b, cb = spcs()
    for c in (ca, cb):
        c.cursor().execute(f"CREATE SERVICE echo_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${ECHO_SPEC}$$")
    for c in (ca, cb):
        assert one(c.cursor(), "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'echo_service')") == "OK"
    mine_a, mine_b = owned_containers(a), owned_containers(b)
    assert len(mine_a) == 1 and len(mine_b) == 1 and mine_a != mine_b
    # Each server's job reaches its own echo service under the same DNS name.
    for c in (ca, cb):
        cur = c.cursor()
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = caller FROM SPECIFICATION $${JOB_SPEC}$$")
        assert "completed successfully" in cur.fetchone()[0]
    # Dropping on one server leaves the other's container alone, also across a restart of the first.
    ca.cursor().execute("DROP SERVICE echo_service")
    wait_for(lambda: not owned_containers(a), 60, "server A's container to go")
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    a.start()
    a.connect().cursor().execute("SELECT 1")
    assert owned_containers(b) == mine_b
    assert one(cb.cursor(), "SELECT SYSTEM$WAIT_FOR_SERVICES(10, 'echo_service')") == "OK"


def test_snow_spcs_service_commands(spcs, tmp_path):
    from test_clients import Snow
    srv, c = spcs()
    c.cursor().execute("ALTER ACCOUNT SET LOG_EVENT_LEVEL = 'INFO'")
    snow = Snow(tmp_path / "home", srv, database="TUTORIAL_DB")
    spec = tmp_path / "echo.yaml"
    spec.write_text(ECHO_SPEC)
    job = tmp_path / "job.yaml"
    job.write_text(JOB_SPEC)
    snow.run("spcs", "service", "create", "echo_service", "--compute-pool", "tutorial_compute_pool", "--spec-path", str(spec))
    listed = snow.json("spcs", "service", "list")
    assert [s["name"] for s in listed] == ["ECHO_SERVICE"]
    assert one(c.cursor(), "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'tutorial_db.public.echo_service')") == "OK"
    (desc,) = snow.json("spcs", "service", "describe", "echo_service")
    assert desc["status"] == "RUNNING"
    containers = snow.json("spcs", "service", "list-containers", "echo_service")
    assert [(x["container_name"], x["status"]) for x in containers] == [("echo", "READY")]
    endpoints = snow.json("spcs", "service", "list-endpoints", "echo_service")
    assert [e["name"] for e in endpoints] == ["echoendpoint"]
    out = snow.run("spcs", "service", "execute-job", "caller", "--compute-pool", "tutorial_compute_pool", "--spec-path", str(job))
    assert "completed successfully" in out.stdout
    logs = snow.run("spcs", "service", "logs", "echo_service", "--container-name", "echo", "--instance-id", "0")
    assert "Bob said Hello" in logs.stdout
    events = snow.run("spcs", "service", "events", "echo_service", "--since", "1 hour")
    assert "SERVICE.STATUS_CHANGE" in events.stdout or "CONTAINER.STATUS_CHANGE" in events.stdout
    snow.run("spcs", "service", "suspend", "echo_service")
    snow.run("spcs", "service", "resume", "echo_service")
    snow.run("spcs", "service", "drop", "echo_service")
    # The finished job stays listed (SHOW SERVICES shows job services too) until the retention ends.
    assert [(s["name"], s["status"]) for s in snow.json("spcs", "service", "list")] == [("CALLER", "DONE")]
