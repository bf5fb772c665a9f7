"""Volumes (spcs.md §6.4) on the real Docker engine: a local volume shared by the containers of one
instance and gone with it, a block volume that outlives restarts, suspend/resume and upgrades until
DROP SERVICE … FORCE, and a stage volume mounted read-only or read-write by the owner role's
privileges, owned by its uid/gid. (Memory volumes: test_jobs.py::test_stage_and_memory_volumes.)

Run when FLOE_TEST_DOCKER=1 (they fail without an engine).
"""

from __future__ import annotations

import os
import signal

import pytest
import snowflake.connector

from test_containers import docker, images, one, owned_containers, spcs, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.environ.get("FLOE_TEST_DOCKER") != "1",
                                reason="Docker tests run with FLOE_TEST_DOCKER=1")

IMAGE = "/tutorial_db/data_schema/tutorial_repository/my_job_image:latest"


def owned_volumes(srv) -> dict[str, str]:
    """floe's engine volumes of this server: name → kind (local or block)."""
    owner = (srv.data_dir / "instance-id").read_text().strip()
    # One call (a volume being removed between a listing and an inspect would fail the latter).
    out = docker("volume", "ls", "--filter", f"label=floe.owner={owner}", "--format", '{{.Name}} {{.Label "floe.volume"}}')
    return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


def counting_service(kind: str) -> str:
    return f"""
spec:
  containers:
  - name: main
    image: {IMAGE}
    args: [boot-count, /vol/starts]
    env:
      SERVER_PORT: 8000
    readinessProbe:
      port: 8000
      path: /healthcheck
    volumeMounts:
    - name: vol
      mountPath: /vol
  volumes:
  - name: vol
    source: {kind}
""" + ("    size: 1Gi\n" if kind == "block" else "")


def last_count(cur, service: str) -> int:
    logs = one(cur, f"SELECT SYSTEM$GET_SERVICE_LOGS('{service}', 0, 'main')")
    counts = [int(line.split()[-1]) for line in logs.splitlines() if line.startswith("boot-count ")]
    return counts[-1] if counts else 0


def restart_through_suspend(cur, srv, service: str) -> None:
    cur.execute(f"ALTER SERVICE {service} SUSPEND")
    wait_for(lambda: not owned_containers(srv), timeout=60, what=f"{service}'s containers to go")
    cur.execute(f"ALTER SERVICE {service} RESUME")
    assert one(cur, f"SELECT SYSTEM$WAIT_FOR_SERVICES(120, '{service}')") == "OK"


def test_local_volume_is_shared_by_an_instance_and_removed_with_it(spcs):
    srv, c = spcs()
    cur = c.cursor()
    # Two containers of one job instance: one writes, the other waits for the file and prints it.
    cur.execute(f"""EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = shared_local FROM SPECIFICATION $$
spec:
  containers:
  - name: writer
    image: {IMAGE}
    args: [write, /shared/note.txt, from the writer]
    volumeMounts:
    - name: shared
      mountPath: /shared
  - name: reader
    image: {IMAGE}
    args: [wait-cat, /shared/note.txt]
    volumeMounts:
    - name: shared
      mountPath: /shared
  volumes:
  - name: shared
    source: local
$$""")
    assert "completed successfully" in cur.fetchone()[0]
    assert "from the writer" in one(cur, "SELECT SYSTEM$GET_SERVICE_LOGS('shared_local', 0, 'reader')")
    # The instance is gone, and so is its local volume.
    wait_for(lambda: not owned_volumes(srv), timeout=60, what="the job's local volume to be removed")

    # A service's local volume starts empty with each new instance (emptyDir): suspend and resume.
    cur.execute(f"CREATE SERVICE local_counter IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${counting_service('local')}$$")
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(120, 'local_counter')") == "OK"
    wait_for(lambda: last_count(cur, "local_counter") == 1, timeout=30, what="the first start's count")
    assert list(owned_volumes(srv).values()) == ["local"]
    restart_through_suspend(cur, srv, "local_counter")
    wait_for(lambda: "boot-count" in one(cur, "SELECT SYSTEM$GET_SERVICE_LOGS('local_counter', 0, 'main')"), timeout=30,
             what="the resumed instance's count")
    assert last_count(cur, "local_counter") == 1, "a new instance gets an empty local volume"
    cur.execute("DROP SERVICE local_counter")
    wait_for(lambda: not owned_volumes(srv), timeout=60, what="the dropped service's local volume to be removed")


def test_block_volume_survives_restarts_and_upgrades_until_drop_force(spcs):
    srv, c = spcs()
    cur = c.cursor()
    spec = counting_service("block")
    cur.execute(f"CREATE SERVICE block_counter IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${spec}$$")
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(120, 'block_counter')") == "OK"
    wait_for(lambda: last_count(cur, "block_counter") == 1, timeout=30, what="the first start's count")
    vols = owned_volumes(srv)
    assert list(vols.values()) == ["block"], vols

    # The container's process dies (from the host: `docker kill` counts as a manual stop, which the
    # restart policy leaves alone) and the runtime restarts it: the same volume.
    (cid,) = owned_containers(srv)
    os.kill(int(docker("inspect", "-f", "{{.State.Pid}}", cid).strip()), signal.SIGKILL)
    wait_for(lambda: last_count(cur, "block_counter") == 2, timeout=60, what="the restarted container's count")
    # Suspend and resume: a new instance, the same volume.
    restart_through_suspend(cur, srv, "block_counter")
    wait_for(lambda: last_count(cur, "block_counter") == 3, timeout=60, what="the resumed instance's count")
    # A rolling upgrade: the same volume again.
    cur.execute(f"ALTER SERVICE block_counter FROM SPECIFICATION $${spec}$$")
    wait_for(lambda: last_count(cur, "block_counter") == 4, timeout=120, what="the upgraded instance's count")
    assert owned_volumes(srv) == vols

    # DROP SERVICE would delete the volume: Snowflake wants FORCE, and nothing changes without it.
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        cur.execute("DROP SERVICE block_counter")
    assert "FORCE" in err.value.msg and "block storage volume 'vol'" in err.value.msg, err.value.msg
    assert one(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(60, 'block_counter')") == "OK"
    assert owned_volumes(srv) == vols
    cur.execute("DROP SERVICE block_counter FORCE")
    assert cur.fetchone()[0] == "BLOCK_COUNTER successfully dropped."
    wait_for(lambda: not owned_volumes(srv), timeout=60, what="the block volume to be removed")


def test_stage_volume_mode_follows_the_owner_role_and_uid_gid(spcs):
    srv, c = spcs()
    cur = c.cursor()
    cur.execute("CREATE STAGE vol_stage")
    cur.execute("CREATE ROLE vol_role")
    cur.execute("GRANT ROLE vol_role TO USER ADMIN")
    for grant in ["USAGE ON DATABASE tutorial_db", "USAGE ON SCHEMA tutorial_db.data_schema",
                  "CREATE SERVICE ON SCHEMA tutorial_db.data_schema", "USAGE ON COMPUTE POOL tutorial_compute_pool",
                  "READ ON IMAGE REPOSITORY tutorial_db.data_schema.tutorial_repository",
                  "READ ON STAGE tutorial_db.data_schema.vol_stage"]:
        cur.execute(f"GRANT {grant} TO ROLE vol_role")

    def job(name: str) -> None:
        cur.execute(f"""EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = {name} FROM SPECIFICATION $$
spec:
  containers:
  - name: main
    image: {IMAGE}
    args: [write, /data/{name}.txt, written by {name}]
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    source: stage
    stageConfig:
      name: "@vol_stage/out"
    uid: 1234
    gid: 2345
$$""")

    cur.execute("USE ROLE vol_role")
    # READ only: mounted read-only, so the write fails and so does the job.
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        job("reader_job")
    assert "FAILED" in err.value.msg, err.value.msg
    assert "Read-only file system" in one(cur, "SELECT SYSTEM$GET_SERVICE_LOGS('reader_job', 0, 'main')")
    cur.execute("USE ROLE ACCOUNTADMIN")
    cur.execute("GRANT WRITE ON STAGE tutorial_db.data_schema.vol_stage TO ROLE vol_role")
    cur.execute("USE ROLE vol_role")
    job("writer_job")
    assert "completed successfully" in cur.fetchone()[0]
    cur.execute("USE ROLE ACCOUNTADMIN")
    assert [r[0] for r in cur.execute("LIST @vol_stage").fetchall()] == ["vol_stage/out/writer_job.txt"]
    # The mounted directory belongs to the volume's uid and gid.
    (out_dir,) = [p for p in srv.data_dir.rglob("out") if p.is_dir() and (p / "writer_job.txt").exists()]
    st = out_dir.stat()
    assert (st.st_uid, st.st_gid) == (1234, 2345)
