"""End-to-end test harness for floe.

Every test talks to a real `floe server` process (the release binary) through the real
`snowflake-connector-python`, or runs the real `floe sql` CLI against it.

Environment:
  FLOE_BIN            path of the floe binary (default: <repo>/target/release/floe)
  FLOE_TEST_KEEP      if set, the temporary data dirs and server logs are kept (path printed)
  FLOE_TEST_DOCKER    passed through by scripts/test.sh for tests that need Docker (none yet)
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# Must be set before the connector is imported: no cloud-metadata probing at login.
os.environ.setdefault("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
# Loopback traffic never goes through a proxy, whatever the CI machine's environment says.
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(filter(None, [os.environ.get(_var), "127.0.0.1", "localhost"]))

import snowflake.connector  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FLOE_BIN = Path(os.environ.get("FLOE_BIN") or REPO / "target" / "release" / "floe")
ADMIN_USER = "ADMIN"
ADMIN_PASSWORD = "e2e-Admin-Passw0rd"
ACCOUNT = "floe"
HEALTH_TIMEOUT = 30.0  # seconds from spawn to the first 200 from /healthz
STOP_TIMEOUT = 60.0  # seconds from SIGTERM to exit

# Environment variables of the floe binary that must not leak from the caller's shell
# into the servers and CLIs started by the tests.
_FLOE_ENV = (
    "FLOE_DATA_DIR",
    "FLOE_LISTEN",
    "FLOE_REGISTRY_LISTEN",
    "FLOE_REGISTRY_ADDRESS",
    "FLOE_INGRESS_LISTEN",
    "FLOE_ACCOUNT",
    "FLOE_ADMIN_PASSWORD",
    "FLOE_URL",
    "FLOE_USER",
    "FLOE_PASSWORD",
)

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Servers started during the current test, so their stderr can be attached to a failure report.
_CURRENT_SERVERS: list["FloeServer"] = []
_SEQ = itertools.count(1)


def free_port(avoid: set[int] = frozenset()) -> int:
    """A loopback TCP port that is free right now (and not in `avoid`)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in avoid:
            return port
    raise RuntimeError("no free loopback port found")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FLOE_ENV}
    env.setdefault("RUST_BACKTRACE", "1")
    return env


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def norm_ws(text: str) -> str:
    """Collapse runs of whitespace (Snowflake puts a newline after 'SQL compilation error:')."""
    return " ".join(str(text).split())


class FloeServer:
    """One `floe server` process on a private data dir and a free loopback port.

    The data dir survives restarts of the process (restart() reuses it); each start picks a
    new port, so a connection still retrying against the old process can never reach the new one.
    """

    def __init__(self, data_dir: Path | str, log_dir: Path | str, *, binary: Path | str | None = None,
                 password: str | None = ADMIN_PASSWORD, extra_env: dict[str, str] | None = None):
        self.binary = Path(binary or FLOE_BIN)
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.password = password
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.registry_port: int | None = None
        self.ingress_port: int | None = None
        self.starts = 0
        self.stderr_path: Path | None = None
        self.stdout_path: Path | None = None
        self._used_ports: set[int] = set()
        self._connections: list = []
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    # ---- process control ------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def registry(self) -> str:
        """`host:port` of the server's image registry (the start of every repository_url)."""
        return f"127.0.0.1:{self.registry_port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def admin_password(self) -> str:
        """ADMIN's password: the one set through the environment, else the generated one."""
        if self.password is not None:
            return self.password
        return (self.data_dir / "admin-password").read_text().strip()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, port: int | None = None) -> subprocess.Popen:
        """Start the process without waiting for it to become healthy."""
        if not self.binary.exists():
            pytest.fail(f"floe binary not found at {self.binary}: run `cargo build --release` "
                        f"or set FLOE_BIN", pytrace=False)
        assert not self.running(), "server already running"
        self.port = port or free_port(self._used_ports)
        self._used_ports.add(self.port)
        self.registry_port = free_port(self._used_ports)
        self._used_ports.add(self.registry_port)
        self.ingress_port = free_port(self._used_ports)
        self._used_ports.add(self.ingress_port)
        self.starts += 1
        self.stderr_path = self.log_dir / f"server-{self.starts}.stderr"
        self.stdout_path = self.log_dir / f"server-{self.starts}.stdout"
        env = base_env()
        if self.password is not None:  # None: the server generates DIR/admin-password
            env["FLOE_ADMIN_PASSWORD"] = self.password
        env["FLOE_REGISTRY_LISTEN"] = self.registry
        env["FLOE_INGRESS_LISTEN"] = f"127.0.0.1:{self.ingress_port}"
        env.update(self.extra_env)
        cmd = [str(self.binary), "server", "--data-dir", str(self.data_dir),
               "--listen", f"127.0.0.1:{self.port}", "--account", ACCOUNT]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=env, cwd=self.log_dir)
        if self not in _CURRENT_SERVERS:
            _CURRENT_SERVERS.append(self)
        return self.proc

    def stderr(self) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")

    def start(self, timeout: float = HEALTH_TIMEOUT) -> "FloeServer":
        """Start the process and wait for GET /healthz to answer 200."""
        for attempt in range(3):
            self.spawn()
            try:
                self.wait_healthy(timeout)
                return self
            except _PortTaken:
                if attempt == 2:
                    raise
        return self

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> float:
        """Poll /healthz until 200; returns the seconds waited. Fails with the server's stderr."""
        assert self.proc is not None
        t0 = time.monotonic()
        last = "no answer yet"
        while True:
            rc = self.proc.poll()
            if rc is not None:
                err = self.stderr()
                if re.search(r"address (already )?in use", err, re.I):
                    raise _PortTaken(err)
                pytest.fail(f"floe server exited with code {rc} before becoming healthy "
                            f"(data dir {self.data_dir}).\n--- stderr ---\n{tail(err)}", pytrace=False)
            try:
                with _NO_PROXY_OPENER.open(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return time.monotonic() - t0
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, OSError) as e:
                last = repr(e)
            if time.monotonic() - t0 > timeout:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"floe server not healthy within {timeout:.0f}s (last: {last}).\n"
                            f"--- stderr ---\n{tail(self.stderr())}", pytrace=False)
            time.sleep(0.05)

    def expect_start_failure(self, timeout: float = HEALTH_TIMEOUT) -> tuple[int, str]:
        """Start a process that is expected to refuse to run; returns (exit code, stderr).

        Fails the test if the process is still running (or became healthy) after `timeout`."""
        proc = self.spawn()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            healthy = _healthz_ok(self.url)
            proc.kill()
            proc.wait()
            pytest.fail(f"floe server was expected to exit but was still running after {timeout:.0f}s "
                        f"(healthz ok: {healthy}).\n--- stderr ---\n{tail(self.stderr())}",
                        pytrace=False)
        return rc, self.stderr()

    def kill9(self) -> None:
        """SIGKILL the process and reap it. Its connections are abandoned, not closed."""
        assert self.running(), "server is not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)
        self._abandon_connections()

    def stop(self, timeout: float = STOP_TIMEOUT, check: bool = True) -> int:
        """SIGTERM; wait for the exit; with check, assert the exit code is 0."""
        assert self.proc is not None, "server was never started"
        self._close_connections()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                if check:
                    pytest.fail(f"floe server did not exit within {timeout:.0f}s of SIGTERM.\n"
                                f"--- stderr ---\n{tail(self.stderr())}", pytrace=False)
        rc = self.proc.returncode
        if check:
            assert rc == 0, f"floe server exited with {rc} after SIGTERM.\n--- stderr ---\n{tail(self.stderr())}"
        return rc

    def restart(self, timeout: float = HEALTH_TIMEOUT) -> "FloeServer":
        """Stop (SIGTERM, exit 0 asserted) if running, then start on the same data dir."""
        if self.running():
            self.stop()
        self._abandon_connections()
        return self.start(timeout)

    def cleanup(self) -> None:
        """Best-effort teardown: close connections, SIGTERM, SIGKILL after a grace period."""
        if self.running():
            self._close_connections()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._abandon_connections()

    # ---- clients ---------------------------------------------------------------------
    def connect(self, **kw):
        """A snowflake.connector connection to this server (closed at stop/teardown)."""
        params = dict(user=ADMIN_USER, password=self.admin_password, account=ACCOUNT, host="127.0.0.1",
                      port=self.port, protocol="http", login_timeout=30, network_timeout=300,
                      session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False})
        params.update(kw)
        conn = snowflake.connector.connect(**params)
        self._connections.append(conn)
        return conn

    def sql_cli(self, args: list[str], input: str | None = None, timeout: float = 120,
                env: dict[str, str] | None = None, auth: bool = True) -> subprocess.CompletedProcess:
        """Run `floe sql --url ... -u ADMIN -p PW <args>`; returns the CompletedProcess (text)."""
        cmd = [str(self.binary), "sql"]
        if auth:
            cmd += ["--url", self.url, "-u", ADMIN_USER, "-p", self.admin_password]
        cmd += list(args)
        full_env = base_env()
        full_env.update(env or {})
        return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                              env=full_env, stdin=None if input is not None else subprocess.DEVNULL)

    def query(self, sql: str, **connect_kw) -> list[tuple]:
        """Run one statement on a fresh connection; returns all rows."""
        conn = self.connect(**connect_kw)
        try:
            return conn.cursor().execute(sql).fetchall()
        finally:
            self._close_one(conn)

    def _close_one(self, conn) -> None:
        try:
            conn.close(retry=False)
        except TypeError:
            conn.close()
        except Exception:
            pass
        if conn in self._connections:
            self._connections.remove(conn)

    def detach(self, conn) -> None:
        """Stop tracking a connection (e.g. one in use by a thread while the server stops);
        it is closed without retries at the end of the session."""
        if conn in self._connections:
            self._connections.remove(conn)
        _ABANDONED.append(conn)

    def _close_connections(self) -> None:
        for conn in list(self._connections):
            self._close_one(conn)

    def _abandon_connections(self) -> None:
        # The process is gone: closing would only retry against a dead port. Keep the objects
        # referenced so their finalizers do not run in the middle of a later test.
        _ABANDONED.extend(self._connections)
        self._connections.clear()


_ABANDONED: list = []


class _PortTaken(Exception):
    pass


def _healthz_ok(url: str) -> bool:
    try:
        with _NO_PROXY_OPENER.open(url + "/healthz", timeout=2) as resp:
            return resp.status == 200
    except Exception:
        return False


def run_threads(funcs, timeout: float) -> list:
    """Run callables concurrently; returns their results; re-raises the first exception."""
    results = [None] * len(funcs)
    errors: list[BaseException] = []

    def wrap(i, f):
        try:
            results[i] = f()
        except BaseException as e:  # noqa: BLE001 - reported to the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i, f), daemon=True) for i, f in enumerate(funcs)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        pytest.fail(f"worker threads still running after {timeout:.0f}s", pytrace=False)
    if errors:
        raise errors[0]
    return results


# ---- other clients: the client virtualenvs of scripts/ci-setup.sh ----------------------------
CLIENT_VENVS = REPO / ".venv-clients"


def client_python(name: str) -> Path:
    """The Python of client virtualenv `name` (sf3, sf4, snow); fails the test if it is missing."""
    python = CLIENT_VENVS / name / "bin" / "python"
    if not python.exists():
        pytest.fail(f"client virtualenv {CLIENT_VENVS / name} is missing: run `bash scripts/ci-setup.sh`",
                    pytrace=False)
    return python


def client_env(**extra: str) -> dict[str, str]:
    """The environment of a client process: no cloud-metadata probing, no proxy for loopback."""
    env = base_env()
    env["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"] = "true"
    env.update(extra)
    return env


def run_client_script(python: Path | str, script: Path, payload: dict, timeout: float = 300) -> dict:
    """Runs `python script '<payload json>'` and returns the JSON object printed on its last stdout
    line; fails the test with the process's output if it exited non-zero or printed no JSON."""
    import json

    proc = subprocess.run([str(python), str(script), json.dumps(payload)], capture_output=True, text=True,
                          timeout=timeout, env=client_env(), stdin=subprocess.DEVNULL)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        pytest.fail(f"{script.name} under {python} exited {proc.returncode}\n--- stdout ---\n{tail(proc.stdout)}"
                    f"\n--- stderr ---\n{tail(proc.stderr)}", pytrace=False)
    try:
        return json.loads(lines[-1])
    except ValueError:
        pytest.fail(f"{script.name} printed no JSON result\n--- stdout ---\n{tail(proc.stdout)}"
                    f"\n--- stderr ---\n{tail(proc.stderr)}", pytrace=False)


def client_connect_params(srv: "FloeServer") -> dict:
    """The connector's connect() keyword arguments for `srv` (what the README documents)."""
    return dict(user=ADMIN_USER, password=srv.admin_password, account=ACCOUNT, host="127.0.0.1", port=srv.port,
                protocol="http", login_timeout=60, network_timeout=300)


# ---- fixtures -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def work_root():
    root = Path(tempfile.mkdtemp(prefix="floe-e2e-"))
    yield root
    for conn in _ABANDONED:  # their servers are gone: one attempt each, no retries
        try:
            conn.close(retry=False)
        except Exception:
            pass
    _ABANDONED.clear()
    if os.environ.get("FLOE_TEST_KEEP"):
        print(f"\nfloe e2e: kept data dirs and logs in {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def server(work_root):
    """One server shared by the tests that do not restart, kill or stop it."""
    srv = FloeServer(work_root / "shared" / "data", work_root / "shared" / "logs")
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture
def make_server(work_root, request):
    """Factory of private servers: make_server(start=True, data_dir=None, **FloeServer kwargs)."""
    made: list[FloeServer] = []
    name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:60]

    def factory(start: bool = True, data_dir: Path | None = None, **kw) -> FloeServer:
        base = work_root / f"{name}-{next(_SEQ)}"
        srv = FloeServer(data_dir or base / "data", base / "logs", **kw)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield factory
    for srv in made:
        srv.cleanup()


@pytest.fixture
def conn(server):
    c = server.connect()
    yield c
    server._close_one(c)


@pytest.fixture
def db(server, request):
    """A fresh database (with schema PUBLIC) on the shared server; returns its name."""
    name = "E2E_" + re.sub(r"[^A-Za-z0-9]+", "_", request.node.name).upper()[:40] + f"_{next(_SEQ)}"
    c = server.connect()
    try:
        c.cursor().execute(f"create database {name}")
    finally:
        server._close_one(c)
    return name


# ---- reporting and timeouts --------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when in ("setup", "call") and report.failed:
        for i, srv in enumerate(_CURRENT_SERVERS):
            err = srv.stderr()
            if err:
                report.sections.append((f"floe server {i} stderr (last 80 lines, {srv.stderr_path})",
                                        tail(err, 80)))


@pytest.fixture(autouse=True)
def _track_servers(request):
    # Servers used by this test: the shared one (if requested) plus any it starts.
    _CURRENT_SERVERS.clear()
    if "server" in request.fixturenames:
        _CURRENT_SERVERS.append(request.getfixturevalue("server"))
    yield


def pytest_collection_modifyitems(config, items):
    # Hard per-test limit so a hung server cannot stall CI (pytest-timeout, if installed).
    if config.pluginmanager.hasplugin("timeout"):
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(600))
