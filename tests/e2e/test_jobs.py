"""Async jobs, waiting, cancelling, job history and the event table (spcs.md §5, §8), on the real
Docker engine through the real connector. Run when FLOE_TEST_DOCKER=1 (they fail without an engine).
"""

from __future__ import annotations

import json
import os
import threading

import pytest
import snowflake.connector

from test_containers import JOB_SPEC, images, one, owned_containers, spcs, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.environ.get("FLOE_TEST_DOCKER") != "1",
                                reason="Docker tests run with FLOE_TEST_DOCKER=1")


def job_spec(*args: str) -> str:
    return JOB_SPEC.replace("args: [echo-client]", "args: [" + ", ".join(f"'{a}'" for a in args) + "]")


def rows(cur, sql: str) -> list[dict]:
    cur.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def status_of(cur, name: str) -> str:
    return rows(cur, f"DESCRIBE SERVICE {name}")[0]["status"]


def test_async_jobs_history_logs_and_events(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute("ALTER ACCOUNT SET LOG_EVENT_LEVEL = 'INFO'")
    assert rows(cur, "SHOW PARAMETERS LIKE 'EVENT_TABLE' IN ACCOUNT")[0]["value"] == "SNOWFLAKE.TELEMETRY.EVENTS"
    assert rows(cur, "SHOW PARAMETERS LIKE 'LOG_EVENT_LEVEL' IN ACCOUNT")[0]["value"] == "INFO"

    for name in ["job_a", "job_b"]:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = {name} ASYNC = TRUE "
                    f"FROM SPECIFICATION $${job_spec('exit', '0', '1')}$$")
        assert cur.fetchone()[0] == f"Request to execute job {name.upper()} has been successfully submitted with status: PENDING."
    # A second job under a name still kept.
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = job_a ASYNC = TRUE "
                    f"FROM SPECIFICATION $${job_spec('exit', '0')}$$")
    assert err.value.errno == 2002

    for name in ["job_a", "job_b"]:
        cur.execute(f"CALL {name}!SPCS_WAIT_FOR('DONE', 120)")
        assert "DONE" in cur.fetchone()[0]
    shown = {r["name"]: r for r in rows(cur, "SHOW JOB SERVICES")}
    assert shown["JOB_A"]["is_async_job"] == "true" and shown["JOB_A"]["status"] == "DONE"

    # The seed's history query.
    hist = rows(cur, """
        SELECT name, status, DATEDIFF('second', created_time, completed_time) AS secs, instance_statuses, parameters
        FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(CREATED_TIME_START => DATEADD('hour', -1, CURRENT_TIMESTAMP())))
        ORDER BY name""")
    assert [(h["NAME"], h["STATUS"]) for h in hist] == [("JOB_A", "DONE"), ("JOB_B", "DONE")]
    assert all(h["SECS"] is not None and h["SECS"] >= 0 for h in hist)
    inst = json.loads(hist[0]["INSTANCE_STATUSES"])
    assert (inst["succeededInstances"], inst["totalInstances"]) == (1, 1)
    assert inst["instances"][0]["containers"][0]["lastExitCode"] == 0
    assert json.loads(hist[0]["PARAMETERS"]) == {"ASYNC": True}
    full = rows(cur, "SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(RESULT_LIMIT => 1))")
    assert len(full) == 1 and full[0]["NAME"] == "JOB_B", "newest first"
    assert full[0]["OWNER"] == "ACCOUNTADMIN" and full[0]["COMPUTE_POOL_NAME"] == "TUTORIAL_COMPUTE_POOL"
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute("SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY(RESULT_LIMIT => 0))")
    assert "RESULT_LIMIT" in str(err.value)

    # Logs after the job's containers are gone.
    wait_for(lambda: not owned_containers(srv), 60, "the jobs' containers to be removed")
    logs = rows(cur, "SELECT * FROM TABLE(job_a!SPCS_GET_LOGS()) WHERE instance_id = 0 AND container_name = 'main'")
    assert [r["LOG"] for r in logs] == ["exiting with 0"]
    assert json.loads(logs[0]["RECORD_ATTRIBUTES"]) == {"log.iostream": "stdout"}
    events = rows(cur, "SELECT event_name, event_details, instance_id FROM TABLE(job_a!SPCS_GET_EVENTS(START_TIME => DATEADD('hour', -1, CURRENT_TIMESTAMP()))) ORDER BY timestamp")
    details = [(e["EVENT_NAME"], json.loads(e["EVENT_DETAILS"])["status"]) for e in events]
    assert ("SERVICE.STATUS_CHANGE", "DONE") in details and ("CONTAINER.STATUS_CHANGE", "DONE") in details
    assert ("SERVICE_INSTANCE.STATUS_CHANGE", "SUCCEEDED") in details
    done = [e for e in events if e["EVENT_NAME"] == "SERVICE.STATUS_CHANGE" and json.loads(e["EVENT_DETAILS"])["status"] == "DONE"]
    assert json.loads(done[0]["EVENT_DETAILS"])["message"] == "Job is completed" and done[0]["INSTANCE_ID"] is None

    # The event table, as Snowflake's docs query it.
    ev = rows(cur, """
        SELECT timestamp, resource_attributes, record_type, value FROM SNOWFLAKE.TELEMETRY.EVENTS
        WHERE timestamp > DATEADD(hour, -1, CURRENT_TIMESTAMP())
          AND RESOURCE_ATTRIBUTES:"snow.service.name" = 'JOB_B' AND RECORD_TYPE = 'LOG'""")
    assert len(ev) == 1 and json.loads(ev[0]["VALUE"]) == "exiting with 0"
    attrs = json.loads(ev[0]["RESOURCE_ATTRIBUTES"])
    assert (attrs["snow.database.name"], attrs["snow.schema.name"], attrs["snow.service.container.name"]) == ("TUTORIAL_DB", "DATA_SCHEMA", "main")
    assert one(cur, "SELECT COUNT(*) FROM SNOWFLAKE.TELEMETRY.EVENTS e WHERE e.record_type = 'EVENT'") >= 6

    # Dropped jobs stay in the history, with their deletion time.
    cur.execute("DROP SERVICE job_a")
    hist = rows(cur, "SELECT name, deleted_time FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY()) ORDER BY name")
    assert hist[0]["NAME"] == "JOB_A" and hist[0]["DELETED_TIME"] is not None and hist[1]["DELETED_TIME"] is None


def test_history_is_per_role_and_logs_need_monitor(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = admin_job FROM SPECIFICATION $${job_spec('exit', '0')}$$")
    for stmt in ["CREATE ROLE analyst", "CREATE USER ann PASSWORD = 'pw-Ann-123' DEFAULT_ROLE = analyst",
                 "GRANT ROLE analyst TO USER ann", "GRANT USAGE ON DATABASE tutorial_db TO ROLE analyst",
                 "GRANT USAGE ON SCHEMA tutorial_db.data_schema TO ROLE analyst"]:
        cur.execute(stmt)
    ann = srv.connect(user="ann", password="pw-Ann-123", role="ANALYST")
    acur = ann.cursor()
    acur.execute("USE SCHEMA tutorial_db.data_schema")
    assert rows(acur, "SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY())") == []
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        acur.execute("SELECT * FROM TABLE(admin_job!SPCS_GET_LOGS())")
    assert err.value.errno == 2003
    assert rows(acur, "SELECT * FROM SNOWFLAKE.TELEMETRY.EVENTS") == []
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        acur.execute("ALTER ACCOUNT SET LOG_EVENT_LEVEL = INFO")
    assert err.value.errno == 3001
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute("ALTER ACCOUNT SET LOG_EVENT_LEVEL = LOUD")
    assert "LOUD" in str(err.value)


def test_wait_fails_fast_on_a_failed_job_and_cancel(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = bad_job ASYNC = TRUE FROM SPECIFICATION $${job_spec('exit', '3')}$$")
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute("CALL bad_job!SPCS_WAIT_FOR('DONE', 600)")
    assert "FAILED" in str(err.value)

    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = long_job ASYNC = TRUE FROM SPECIFICATION $${job_spec('sleep', '600')}$$")
    cur.execute("CALL long_job!SPCS_WAIT_FOR('RUNNING', 120)")
    cur.execute("SELECT long_job!SPCS_CANCEL_JOB()")
    cur.execute("CALL long_job!SPCS_WAIT_FOR('CANCELLED', 120)")
    assert status_of(cur, "long_job") == "CANCELLED"
    hist = {h["NAME"]: h["STATUS"] for h in rows(cur, "SELECT name, status FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY())")}
    assert hist == {"BAD_JOB": "FAILED", "LONG_JOB": "CANCELLED"}
    wait_for(lambda: not owned_containers(srv), 60, "the cancelled job's container to go")


def test_sync_job_cancelled_by_statement_timeout_and_by_session_close(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute("ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 5")
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = slow_job FROM SPECIFICATION $${job_spec('sleep', '600')}$$")
    assert err.value.errno == 630
    cur.execute("ALTER SESSION UNSET STATEMENT_TIMEOUT_IN_SECONDS")
    cur.execute("CALL slow_job!SPCS_WAIT_FOR('CANCELLED', 120)")

    # A synchronous job whose client closes its session.
    other = srv.connect()
    ocur = other.cursor()
    ocur.execute("USE SCHEMA tutorial_db.data_schema")
    failure: list[BaseException] = []

    def run():
        try:
            ocur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = orphan_job FROM SPECIFICATION $${job_spec('sleep', '600')}$$")
        except BaseException as e:  # noqa: BLE001 (the statement is expected to end with an error)
            failure.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    wait_for(lambda: rows(cur, "SHOW JOB SERVICES LIKE 'ORPHAN_JOB'") and status_of(cur, "orphan_job") == "RUNNING", 120, "the job to run")
    other.close()
    cur.execute("CALL orphan_job!SPCS_WAIT_FOR('CANCELLED', 120)")
    t.join(60)
    # An asynchronous job outlives its session.
    third = srv.connect()
    tcur = third.cursor()
    tcur.execute("USE SCHEMA tutorial_db.data_schema")
    tcur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = free_job ASYNC = TRUE FROM SPECIFICATION $${job_spec('exit', '0', '2')}$$")
    third.close()
    cur.execute("CALL free_job!SPCS_WAIT_FOR('DONE', 120)")


def test_sync_job_cancelled_by_abort_request_sql_api_cancel_and_system_cancel_job(spcs):
    """A synchronous job ends CANCELLED when its statement is aborted (the connector's abort_query) or
    cancelled through SQL API v2; SYSTEM$CANCEL_JOB cancels an asynchronous one."""
    from test_sessions import login
    from test_sqlapi import api, submit

    srv, c = spcs()
    cur = c.cursor()
    chk = srv.connect().cursor()
    chk.execute("USE SCHEMA tutorial_db.data_schema")

    def running(name: str) -> bool:
        return bool(rows(chk, f"SHOW JOB SERVICES LIKE '{name.upper()}'")) and status_of(chk, name) == "RUNNING"

    cur.execute_async(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = aborted_job FROM SPECIFICATION $${job_spec('sleep', '600')}$$")
    qid = cur.sfqid
    wait_for(lambda: running("aborted_job"), 120, "the job to run")
    assert cur.abort_query(qid)
    chk.execute("CALL aborted_job!SPCS_WAIT_FOR('CANCELLED', 120)")

    token = login(srv.url)["token"]
    r = submit(srv, token, f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = api_job FROM SPECIFICATION $${job_spec('sleep', '600')}$$",
               database="TUTORIAL_DB", schema="DATA_SCHEMA", params={"async": "true"})
    assert r.status_code == 202, r.text
    wait_for(lambda: running("api_job"), 120, "the SQL API's job to run")
    assert api(srv, token, "POST", f"/api/v2/statements/{r.json()['statementHandle']}/cancel").status_code == 200
    chk.execute("CALL api_job!SPCS_WAIT_FOR('CANCELLED', 120)")

    chk.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = async_job ASYNC = TRUE FROM SPECIFICATION $${job_spec('sleep', '600')}$$")
    wait_for(lambda: running("async_job"), 120, "the async job to run")
    assert one(chk, "SELECT SYSTEM$CANCEL_JOB('async_job')") == "Job async_job successfully terminated"
    chk.execute("CALL async_job!SPCS_WAIT_FOR('CANCELLED', 120)")
    wait_for(lambda: not owned_containers(srv), 60, "the cancelled jobs' containers to go")


def test_sync_job_cancelled_when_its_session_expires(spcs):
    """A session whose master token expires is swept, and its running synchronous job is cancelled."""
    srv, _ = spcs(FLOE_MASTER_TOKEN_SECS="8", FLOE_SESSION_SWEEP_SECS="1")
    conn = srv.connect(database="TUTORIAL_DB", schema="DATA_SCHEMA")
    failure: list[BaseException] = []

    def run():
        try:
            conn.cursor().execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = expiring_job FROM SPECIFICATION $${job_spec('sleep', '600')}$$")
        except BaseException as e:  # noqa: BLE001 (the statement ends with an error)
            failure.append(e)

    threading.Thread(target=run, daemon=True).start()

    def status() -> str | None:
        # A fresh session each time: every session of this server lives 8 seconds.
        fresh = srv.connect(database="TUTORIAL_DB", schema="DATA_SCHEMA")
        try:
            shown = rows(fresh.cursor(), "SHOW JOB SERVICES LIKE 'EXPIRING_JOB'")
            return shown[0]["status"] if shown else None
        finally:
            fresh.close()

    wait_for(lambda: status() == "CANCELLED", 120, "the expired session's job to be cancelled")


def test_a_job_that_ends_while_floe_is_down(spcs):
    import signal
    srv, c = spcs()
    cur = c.cursor()
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = offline_job ASYNC = TRUE FROM SPECIFICATION $${job_spec('exit', '0', '3')}$$")
    cur.execute("CALL offline_job!SPCS_WAIT_FOR('RUNNING', 120)")
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    # The container ends while floe is down.
    (cid,) = owned_containers(srv)
    wait_for(lambda: docker_state(cid) == "exited", 60, "the job's container to exit")
    srv.start()
    c2 = srv.connect()
    cur2 = c2.cursor()
    cur2.execute("USE SCHEMA tutorial_db.data_schema")
    cur2.execute("CALL offline_job!SPCS_WAIT_FOR('DONE', 120)")
    (hist,) = rows(cur2, "SELECT status, completed_time FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY())")
    assert hist["STATUS"] == "DONE" and hist["COMPLETED_TIME"] is not None
    logs = rows(cur2, "SELECT log FROM TABLE(offline_job!SPCS_GET_LOGS())")
    assert [r["LOG"] for r in logs] == ["exiting with 0"]
    wait_for(lambda: not owned_containers(srv), 60, "the finished job's container to be removed")


def docker_state(cid: str) -> str:
    from test_containers import docker
    return docker("inspect", "-f", "{{.State.Status}}", cid).strip()


def sized_spec(cpu: str, *args: str) -> str:
    return job_spec(*args).replace("    env:", f"    resources:\n      requests:\n        cpu: {cpu}\n    env:")


def test_jobs_beyond_pool_capacity_wait_pending(spcs):
    srv, c = spcs()
    cur = c.cursor()
    # The tutorial pool: one CPU_X64_XS node (1 vCPU); each job asks for 0.6.
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = big_a ASYNC = TRUE FROM SPECIFICATION $${sized_spec('0.6', 'sleep', '600')}$$")
    submitted = cur.fetchone()[0]
    assert "BIG_A" in submitted and "status: PENDING" in submitted
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(120, 'big_a')") == "OK"
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = big_b ASYNC = TRUE FROM SPECIFICATION $${sized_spec('0.6', 'exit', '0')}$$")
    wait_for(lambda: "insufficient resources" in str([r["message"] for r in rows(cur, "SHOW SERVICE CONTAINERS IN SERVICE big_b")]), 60,
             "the second job to wait for capacity")
    assert status_of(cur, "big_b") == "PENDING"
    cur.execute("SELECT big_a!SPCS_CANCEL_JOB()")
    cur.execute("CALL big_b!SPCS_WAIT_FOR('DONE', 120)")
    assert status_of(cur, "big_a") == "CANCELLED"


def test_finished_jobs_are_purged_after_the_retention_period(spcs):
    srv, c = spcs(FLOE_RETENTION_SECS="3")
    cur = c.cursor()
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = short_lived FROM SPECIFICATION $${job_spec('exit', '0')}$$")
    assert rows(cur, "SHOW JOB SERVICES LIKE 'SHORT_LIVED'")
    wait_for(lambda: not rows(cur, "SHOW JOB SERVICES LIKE 'SHORT_LIVED'"), 60, "the finished job to be purged")
    wait_for(lambda: not rows(cur, "SELECT * FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY())"), 60, "its history to age out")
    assert rows(cur, "SELECT * FROM SNOWFLAKE.TELEMETRY.EVENTS") == []


def test_replicas_and_secrets_reach_the_containers(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute("CREATE SECRET api_creds TYPE = PASSWORD USERNAME = 'svc_user' PASSWORD = 's3cr3t-value'")
    spec = job_spec("env").replace("    env:", """    secrets:
    - snowflakeSecret: api_creds
      secretKeyRef: password
      envVarName: API_PASSWORD
    env:""")
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = fan_out REPLICAS = 2 FROM SPECIFICATION $${spec}$$")
    assert "completed successfully" in cur.fetchone()[0]
    for i in range(2):
        env = dict(line.split("=", 1) for line in one(cur, f"SELECT SYSTEM$GET_SERVICE_LOGS('fan_out', {i}, 'main')").splitlines() if "=" in line)
        assert (env["SNOWFLAKE_JOB_INDEX"], env["SNOWFLAKE_JOBS_COUNT"]) == (str(i), "2")
        assert env["API_PASSWORD"] == "s3cr3t-value"
        assert (env["SNOWFLAKE_HOST"], env["SNOWFLAKE_PORT"], env["SNOWFLAKE_PROTOCOL"]) == ("snowflake.floe.internal", "443", "https")
        assert env["REQUESTS_CA_BUNDLE"] == "/snowflake/floe/ca-bundle.pem"
    (h,) = rows(cur, "SELECT instance_statuses, parameters FROM TABLE(SNOWFLAKE.SPCS.GET_JOB_HISTORY())")
    assert json.loads(h["INSTANCE_STATUSES"])["succeededInstances"] == 2
    assert json.loads(h["PARAMETERS"]) == {"REPLICAS": 2}


def test_session_token_file_is_refreshed(spcs):
    srv, c = spcs(FLOE_TOKEN_REFRESH_SECS="2")
    cur = c.cursor()
    spec = job_spec("sleep", "600")
    cur.execute(f"CREATE SERVICE sleeper IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${spec}$$")
    cur.execute("CALL sleeper!SPCS_WAIT_FOR('RUNNING', 120)")
    (path,) = list(srv.data_dir.glob("run/*/0/main/session/token"))
    first = path.read_text()
    second = wait_for(lambda: path.read_text() != first and path.read_text(), 60, "a fresh token")
    # The fresh token logs in as the service, like the container's own connection would.
    svc = srv.connect(user=None, password=None, authenticator="oauth", token=second)
    assert svc.cursor().execute("SELECT CURRENT_USER(), CURRENT_ROLE()").fetchone() == ("SLEEPER", "ACCOUNTADMIN")
    cur.execute("DROP SERVICE sleeper")


def test_stage_and_memory_volumes(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute("CREATE STAGE job_stage")

    def spec(*args: str) -> str:
        return job_spec(*args).replace("    env:", """    volumeMounts:
    - name: data
      mountPath: /data
    - name: scratch
      mountPath: /scratch
    env:""") + """  volumes:
  - name: data
    source: stage
    stageConfig:
      name: "@job_stage"
  - name: scratch
    source: memory
    size: 64Mi
"""

    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = writer FROM SPECIFICATION $${spec('write', '/data/out.txt', 'written by a job')}$$")
    assert "completed successfully" in cur.fetchone()[0]
    # A file a job writes to a stage volume is a file of the stage.
    assert [r[0] for r in cur.execute("LIST @job_stage").fetchall()] == ["job_stage/out.txt"]
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = reader FROM SPECIFICATION $${spec('cat', '/data/out.txt')}$$")
    assert "written by a job" in one(cur, "SELECT SYSTEM$GET_SERVICE_LOGS('reader', 0, 'main')")
    # A memory volume is writable scratch space.
    cur.execute(f"EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = scratcher FROM SPECIFICATION $${spec('write', '/scratch/tmp.txt', 'x')}$$")
    assert "wrote /scratch/tmp.txt" in one(cur, "SELECT SYSTEM$GET_SERVICE_LOGS('scratcher', 0, 'main')")
