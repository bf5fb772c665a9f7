"""floe's image registry (spcs.md §2) with the real docker CLI: login (password, programmatic access
token, `snow spcs image-registry login`'s session token), push, pull, SHOW IMAGES, privileges, a
service started from a pushed image the engine did not have, and DROP IMAGE REPOSITORY.

Run when FLOE_TEST_DOCKER=1 (CI sets it); they fail, not skip, when the engine is missing then.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import ADMIN_PASSWORD, ADMIN_USER
from test_containers import docker, images, owned_containers, spcs, wait_for  # noqa: F401 (fixtures)
from test_sessions import login, post

pytestmark = pytest.mark.skipif(os.environ.get("FLOE_TEST_DOCKER") != "1",
                                reason="Docker tests run with FLOE_TEST_DOCKER=1")


def cli(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The docker CLI with its own credential store (DOCKER_CONFIG), so tests never touch ~/.docker."""
    env = dict(os.environ, DOCKER_CONFIG=str(config))
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=300, env=env)


def docker_login(tmp: Path, name: str, host: str, user: str, password: str) -> Path:
    """A fresh docker CLI configuration logged in to floe's registry as `user`."""
    cfg = tmp / name
    cfg.mkdir()
    res = cli(cfg, "login", host, "-u", user, "--password-stdin", stdin=password)
    assert res.returncode == 0, res
    return cfg


def push_unique(cfg: Path, image: str, made: list[str]) -> None:
    """Makes `image` with a layer of its own (unique_image) and pushes it."""
    unique_image(image)
    made.append(image)
    res = cli(cfg, "push", image)
    assert res.returncode == 0, res


def unique_image(tag: str) -> None:
    """An image no other test shares a layer with: floe-testimg's files plus a random marker file,
    imported as one new layer (so a pull after `docker rmi` really downloads it)."""
    cid = docker("create", "floe-testimg:latest").strip()
    try:
        exported = subprocess.run(["docker", "export", cid], capture_output=True, check=True, timeout=120).stdout
    finally:
        docker("rm", "-f", cid, check=False)
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(exported)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        marker = uuid.uuid4().hex.encode()
        info = tarfile.TarInfo("etc/floe-test-marker")
        info.size = len(marker)
        dst.addfile(info, io.BytesIO(marker))
    subprocess.run(["docker", "import", "--change", 'ENTRYPOINT ["/bin/floe-testimg"]', "--change", 'CMD ["echo-server"]',
                    "--change", "ENV SERVER_PORT=8000", "-", tag], input=out.getvalue(), capture_output=True, check=True, timeout=120)


@pytest.fixture
def registry(spcs, tmp_path):
    """A server with the tutorial's objects, its repository URL, and cleanup of the images made."""
    srv, conn = spcs()
    cur = conn.cursor()
    cur.execute("SHOW IMAGE REPOSITORIES LIKE 'TUTORIAL_REPOSITORY'")
    cols = [d.name for d in cur.description]
    url = dict(zip(cols, cur.fetchone()))["repository_url"]
    made: list[str] = []
    yield srv, conn, url, made, tmp_path
    for cid in owned_containers(srv):
        docker("rm", "-f", cid, check=False)
    for tag in made:
        docker("rmi", "-f", tag, check=False)


def test_login_push_pull_show_and_run(registry):
    srv, conn, url, made, tmp = registry
    host = url.split("/")[0]
    assert url == f"{host}/tutorial_db/data_schema/tutorial_repository"
    assert host == srv.registry and srv.registry_port != srv.port, "the registry has its own listener"
    admin_cfg = tmp / "docker-admin"
    admin_cfg.mkdir()

    # A wrong password is refused; the right one logs in.
    bad = cli(admin_cfg, "login", host, "-u", ADMIN_USER, "--password-stdin", stdin="wrong-password")
    assert bad.returncode != 0 and "unauthorized" in (bad.stderr + bad.stdout).lower(), bad
    ok = cli(admin_cfg, "login", host, "-u", ADMIN_USER, "--password-stdin", stdin=ADMIN_PASSWORD)
    assert ok.returncode == 0 and "Login Succeeded" in ok.stdout, ok

    # Push a freshly built image, remove it locally, pull it back.
    image = f"{url}/pushed_image:v1"
    unique_image(image)
    made.append(image)
    local_id = docker("image", "inspect", "-f", "{{.Id}}", image).strip()
    push = cli(admin_cfg, "push", image)
    assert push.returncode == 0, push
    digest = next(line.split("digest: ")[1].split()[0] for line in push.stdout.splitlines() if "digest: " in line)
    docker("rmi", image)
    assert docker("images", "-q", image).strip() == ""
    pull = cli(admin_cfg, "pull", image)
    assert pull.returncode == 0, pull
    assert docker("image", "inspect", "-f", "{{.Id}}", image).strip() == local_id
    assert f"{url}/pushed_image@{digest}" in docker("image", "inspect", "-f", "{{json .RepoDigests}}", image)

    cur = conn.cursor()
    cur.execute("SHOW IMAGES IN IMAGE REPOSITORY tutorial_db.data_schema.tutorial_repository")
    cols = [d.name for d in cur.description]
    assert cols == ["created_on", "image_name", "tags", "digest", "image_path"]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    assert [(r["image_name"], r["tags"], r["digest"], r["image_path"]) for r in rows] == [
        ("pushed_image", "v1", digest, "tutorial_db/data_schema/tutorial_repository/pushed_image:v1")]

    # A service of the pushed image, which the engine no longer has: floe's driver pulls it.
    docker("rmi", image)
    cur.execute("""CREATE SERVICE pushed_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $$
spec:
  containers:
  - name: echo
    image: /tutorial_db/data_schema/tutorial_repository/pushed_image:v1
    readinessProbe:
      port: 8000
      path: /healthcheck
$$""")
    assert one_value(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(120, 'pushed_service')") == "OK"
    status = json.loads(one_value(cur, "SELECT SYSTEM$GET_SERVICE_STATUS('pushed_service')"))
    assert status[0]["status"] == "READY", status
    assert status[0]["image"].endswith("/tutorial_db/data_schema/tutorial_repository/pushed_image:v1")
    # Pulled by the digest the tag named at CREATE (spcs.md §2.1), not by the tag.
    assert docker("image", "inspect", "-f", "{{.Id}}", f"{url}/pushed_image@{digest}").strip() == local_id
    cur.execute("DESCRIBE SERVICE pushed_service")
    cols = [d.name for d in cur.description]
    desc = dict(zip(cols, cur.fetchone()))
    assert desc["status"] == "RUNNING"
    # The manifest digest the service runs is recorded (DESCRIBE's spec, SHOW SERVICE CONTAINERS).
    assert f'sha256: "@{digest}"' in desc["spec"], desc["spec"]
    cur.execute("SHOW SERVICE CONTAINERS IN SERVICE pushed_service")
    cols = [d.name for d in cur.description]
    assert dict(zip(cols, cur.fetchone()))["image_digest"] == digest

    # An image the registry does not have either: the service waits, saying why.
    cur.execute("""CREATE SERVICE missing_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $$
spec:
  containers:
  - name: main
    image: /tutorial_db/data_schema/tutorial_repository/never_pushed:v1
$$""")

    def pull_failed():
        s = json.loads(one_value(cur, "SELECT SYSTEM$GET_SERVICE_STATUS('missing_service')"))
        return s if s and "Failed to pull image" in s[0]["message"] else None

    status = wait_for(pull_failed, timeout=60, what="the missing image's status")
    assert status[0]["status"] == "PENDING", status


def one_value(cur, sql: str):
    cur.execute(sql)
    return cur.fetchone()[0]


def test_tokens_privileges_and_drop(registry):
    srv, conn, url, made, tmp = registry
    host = url.split("/")[0]
    cur = conn.cursor()
    cur.execute("CREATE ROLE puller")
    cur.execute("CREATE USER dev PASSWORD = 'dev-Passw0rd' DEFAULT_ROLE = puller")
    cur.execute("GRANT ROLE puller TO USER dev")
    cur.execute("GRANT USAGE ON DATABASE tutorial_db TO ROLE puller")
    cur.execute("GRANT USAGE ON SCHEMA tutorial_db.data_schema TO ROLE puller")
    cur.execute("GRANT READ ON IMAGE REPOSITORY tutorial_db.data_schema.tutorial_repository TO ROLE puller")
    cur.execute("ALTER USER ADMIN ADD PROGRAMMATIC ACCESS TOKEN push_token DAYS_TO_EXPIRY = 1")
    pat = cur.fetchone()[1]

    # ADMIN with a programmatic access token as the password pushes.
    admin_cfg = docker_login(tmp, "docker-admin", host, ADMIN_USER, pat)
    image = f"{url}/shared:v1"
    push_unique(admin_cfg, image, made)

    # `snow spcs image-registry login`: user 0sessiontoken, password the JSON of a token-request ISSUE.
    data = login(srv.url)
    issued = post(srv.url, "/session/token-request", {"requestType": "ISSUE"}, data["masterToken"])["data"]
    token_json = json.dumps({"token": issued["sessionToken"], "expires_in": issued["validityInSecondsST"]})
    token_cfg = tmp / "docker-token"
    token_cfg.mkdir()
    assert cli(token_cfg, "login", host, "--username", "0sessiontoken", "--password-stdin", stdin=token_json).returncode == 0
    bogus = cli(token_cfg, "login", host, "--username", "0sessiontoken", "--password-stdin", stdin='{"token": "nope"}')
    assert bogus.returncode != 0

    # dev holds READ only: pulls, but cannot push.
    dev_cfg = tmp / "docker-dev"
    dev_cfg.mkdir()
    assert cli(dev_cfg, "login", host, "-u", "dev", "--password-stdin", stdin="dev-Passw0rd").returncode == 0
    docker("rmi", image)
    assert cli(dev_cfg, "pull", image).returncode == 0
    other = f"{url}/dev_image:v1"
    docker("tag", image, other)
    made.append(other)
    denied = cli(dev_cfg, "push", other)
    assert denied.returncode != 0 and "denied" in (denied.stderr + denied.stdout).lower(), denied
    # Without USAGE on the schema the repository does not exist for dev.
    cur.execute("REVOKE USAGE ON SCHEMA tutorial_db.data_schema FROM ROLE puller")
    docker("rmi", image)
    hidden = cli(dev_cfg, "pull", image)
    text = (hidden.stderr + hidden.stdout).lower()
    assert hidden.returncode != 0 and ("not found" in text or "unknown" in text), hidden

    # DROP IMAGE REPOSITORY: its images are gone, and so are their blobs once collected.
    blobs = srv.data_dir / "registry" / "blobs" / "sha256"
    assert any(blobs.rglob("*"))
    cur.execute("DROP IMAGE REPOSITORY tutorial_repository")
    cur.execute("CREATE IMAGE REPOSITORY tutorial_repository")
    cur.execute("SHOW IMAGES IN IMAGE REPOSITORY tutorial_repository")
    assert cur.fetchall() == []
    gone = cli(admin_cfg, "pull", image)
    assert gone.returncode != 0, gone
    wait_for(lambda: not any(p.is_file() for p in blobs.rglob("*")), timeout=30, what="blobs collected after DROP")


def container_digest(cur, service: str) -> tuple[str, str]:
    """(status, image_digest) of a one-container service's container; empty while it has none or many."""
    cur.execute(f"SHOW SERVICE CONTAINERS IN SERVICE {service}")
    cols = [d.name for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    return (rows[0]["status"], rows[0]["image_digest"]) if len(rows) == 1 else ("", "")


def test_digest_pinned_at_create_reused_on_resume_and_re_resolved_by_alter(registry):
    """spcs.md §2.1: the digest is recorded at CREATE; resume reuses it (pulling it again when the
    engine lost it) even after a new push of the tag; ALTER … FROM SPECIFICATION re-resolves the tag."""
    srv, conn, url, made, tmp = registry
    host = url.split("/")[0]
    cfg = tmp / "docker-admin"
    cfg.mkdir()
    assert cli(cfg, "login", host, "-u", ADMIN_USER, "--password-stdin", stdin=ADMIN_PASSWORD).returncode == 0
    image = f"{url}/pinned_image:latest"
    made.append(image)

    def push_new() -> tuple[str, str]:
        unique_image(image)
        image_id = docker("image", "inspect", "-f", "{{.Id}}", image).strip()
        push = cli(cfg, "push", image)
        assert push.returncode == 0, push
        return image_id, next(line.split("digest: ")[1].split()[0] for line in push.stdout.splitlines() if "digest: " in line)

    id1, d1 = push_new()
    cur = conn.cursor()
    spec = """spec:
  containers:
  - name: echo
    image: /tutorial_db/data_schema/tutorial_repository/pinned_image:latest
    readinessProbe:
      port: 8000
      path: /healthcheck
"""
    cur.execute(f"CREATE SERVICE pinned_service IN COMPUTE POOL tutorial_compute_pool FROM SPECIFICATION $${spec}$$")
    assert one_value(cur, "SELECT SYSTEM$WAIT_FOR_SERVICES(120, 'pinned_service')") == "OK"

    def running(digest: str, image_id: str):
        st, shown = container_digest(cur, "pinned_service")
        if st != "READY" or shown != digest:
            return None
        ids = [docker("inspect", "-f", "{{.Image}}", cid).strip() for cid in owned_containers(srv)]
        return ids if ids == [image_id] else None

    wait_for(lambda: running(d1, id1), timeout=60, what="the service on the first push")

    # A second push of the same tag; the first image leaves the engine altogether.
    id2, d2 = push_new()
    assert (id2, d2) != (id1, d1)
    cur.execute("ALTER SERVICE pinned_service SUSPEND")
    wait_for(lambda: not owned_containers(srv), timeout=60, what="the suspended service's containers to go")
    docker("rmi", "-f", id1)
    assert docker("images", "-q", "--no-trunc").find(id1) < 0
    cur.execute("ALTER SERVICE pinned_service RESUME")
    wait_for(lambda: running(d1, id1), timeout=120, what="the resumed service on the recorded digest")
    cur.execute("DESCRIBE SERVICE pinned_service")
    cols = [d.name for d in cur.description]
    assert f'sha256: "@{d1}"' in dict(zip(cols, cur.fetchone()))["spec"]

    # ALTER … FROM SPECIFICATION with the same text re-resolves the tag: a rolling upgrade to d2.
    cur.execute(f"ALTER SERVICE pinned_service FROM SPECIFICATION $${spec}$$")
    wait_for(lambda: running(d2, id2), timeout=120, what="the upgraded service on the new push")
    cur.execute("DESCRIBE SERVICE pinned_service")
    cols = [d.name for d in cur.description]
    assert f'sha256: "@{d2}"' in dict(zip(cols, cur.fetchone()))["spec"]
    cur.execute("DROP SERVICE pinned_service")


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (scripts/ci-setup.sh installs it)")
def test_skopeo_copies_an_oci_layout_in_and_out(registry):
    srv, conn, url, made, tmp = registry
    host = url.split("/")[0]
    image = f"{url}/skopeo_image:v1"
    unique_image(image)
    made.append(image)
    layout = tmp / "layout"
    creds = f"{ADMIN_USER}:{ADMIN_PASSWORD}"
    subprocess.run(["skopeo", "copy", f"docker-daemon:{image}", f"oci:{layout}:v1"], check=True, capture_output=True, timeout=300)
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", creds, f"oci:{layout}:v1",
                    f"docker://{host}/tutorial_db/data_schema/tutorial_repository/skopeo_image:oci"], check=True, capture_output=True, timeout=300)
    back = tmp / "back"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--src-creds", creds,
                    f"docker://{host}/tutorial_db/data_schema/tutorial_repository/skopeo_image:oci", f"oci:{back}:v1"],
                   check=True, capture_output=True, timeout=300)
    index = json.loads((back / "index.json").read_text())
    original = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == original["manifests"][0]["digest"]
    inspect = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--creds", creds,
                              f"docker://{host}/tutorial_db/data_schema/tutorial_repository/skopeo_image:oci"],
                             check=True, capture_output=True, text=True, timeout=120)
    assert json.loads(inspect.stdout)["Digest"] == original["manifests"][0]["digest"]


def run_image_job(cur, name: str, image: str) -> str:
    """A synchronous job of one container running `image` from the tutorial's repository; its result."""
    cur.execute(f"""EXECUTE JOB SERVICE IN COMPUTE POOL tutorial_compute_pool NAME = {name} FROM SPECIFICATION $$
spec:
  containers:
  - name: main
    image: /tutorial_db/data_schema/tutorial_repository/{image}
$$""")
    return cur.fetchone()[0]


def test_docker_build_from_a_pushed_base_image(registry):
    """`docker build` whose FROM names an image in floe's registry, which the engine no longer has: the
    builder pulls it with the CLI's credentials; the result is pushed back and runs as a job."""
    srv, conn, url, made, tmp = registry
    host = url.split("/")[0]
    cfg = docker_login(tmp, "docker-build", host, ADMIN_USER, ADMIN_PASSWORD)
    base = f"{url}/base_image:v1"
    push_unique(cfg, base, made)
    docker("rmi", base)
    derived = f"{url}/derived_image:v1"
    made.append(derived)
    context = tmp / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f'FROM {base}\nLABEL built.from="{base}"\nENTRYPOINT ["/bin/floe-testimg", "exit", "0"]\n')
    build = cli(cfg, "build", "-t", derived, str(context))
    assert build.returncode == 0, build
    assert docker("image", "inspect", "-f", '{{index .Config.Labels "built.from"}}', derived).strip() == base
    assert cli(cfg, "push", derived).returncode == 0
    docker("rmi", derived)
    cur = conn.cursor()
    assert run_image_job(cur, "derived_job", "derived_image:v1") == "Job DERIVED_JOB completed successfully with status: DONE."
    assert "exiting with 0" in one_value(cur, "SELECT SYSTEM$GET_SERVICE_LOGS('derived_job', 0, 'main')")


def test_registry_on_a_non_loopback_address_serves_https_trusted_through_certs_d(spcs, tmp_path):
    """On an address other than loopback Docker speaks only https to a registry: floe serves it with a
    certificate from its CA and puts the CA in the engine's certs.d (no dockerd restart); login, push,
    pull and a job pulling from it then work."""
    from conftest import free_port
    gateway = docker("network", "inspect", "bridge", "-f", "{{(index .IPAM.Config 0).Gateway}}").strip()
    host = f"{gateway}:{free_port()}"
    certs = Path("/etc/docker/certs.d") / host
    made: list[str] = []
    try:
        srv, conn = spcs(FLOE_REGISTRY_LISTEN=host)
        cur = conn.cursor()
        cur.execute("SHOW IMAGE REPOSITORIES LIKE 'TUTORIAL_REPOSITORY'")
        url = dict(zip([d.name for d in cur.description], cur.fetchone()))["repository_url"]
        assert url == f"{host}/tutorial_db/data_schema/tutorial_repository"
        assert (certs / "ca.crt").read_text() == (srv.data_dir / "tls" / "ca.pem").read_text()
        # https with floe's CA; plain http is not served there.
        import ssl
        import urllib.error
        import urllib.request
        ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)).open(f"https://{host}/v2/", timeout=10)
        assert e.value.code == 401
        import http.client
        with pytest.raises((urllib.error.URLError, http.client.HTTPException, OSError)):
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"http://{host}/v2/", timeout=10)
        cfg = docker_login(tmp_path, "docker-remote", host, ADMIN_USER, ADMIN_PASSWORD)
        image = f"{url}/remote_image:v1"
        derived = tmp_path / "context"
        derived.mkdir()
        base = f"{url}/remote_base:v1"
        push_unique(cfg, base, made)
        (derived / "Dockerfile").write_text(f'FROM {base}\nENTRYPOINT ["/bin/floe-testimg", "exit", "0"]\n')
        made.append(image)
        assert cli(cfg, "build", "-t", image, str(derived)).returncode == 0
        assert cli(cfg, "push", image).returncode == 0
        docker("rmi", image)
        pull = cli(cfg, "pull", image)
        assert pull.returncode == 0, pull
        docker("rmi", image)
        assert run_image_job(cur, "remote_job", "remote_image:v1") == "Job REMOTE_JOB completed successfully with status: DONE."
    finally:
        for tag in made:
            docker("rmi", "-f", tag, check=False)
        shutil.rmtree(certs, ignore_errors=True)
