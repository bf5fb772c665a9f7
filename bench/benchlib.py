"""Shared helpers of the floe benchmark scripts (bench/*.py).

Each script starts its own `floe server` on a temporary data dir and a free loopback port,
drives it with snowflake-connector-python (and, where the server's own timing is wanted, with
plain HTTP requests), prints a table of figures plus the machine it ran on, and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import warnings
from pathlib import Path

os.environ.setdefault("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(filter(None, [os.environ.get(_var), "127.0.0.1", "localhost"]))
warnings.filterwarnings("ignore", message=".*network_timeout.*is deprecated")
warnings.filterwarnings("ignore", message=".*enable_server_session_keep_alive_auto_detection")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BIN = REPO / "target" / "release" / "floe"
PASSWORD = "bench-Admin-Passw0rd"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---- command line ----------------------------------------------------------------------------
def arg_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bin", default=os.environ.get("FLOE_BIN") or str(DEFAULT_BIN),
                   help="floe binary (default: $FLOE_BIN or target/release/floe)")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run in CI")
    p.add_argument("--work-dir", default=None,
                   help="parent directory of the temporary data dirs (default: the system temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the data dirs and server logs")
    return p


def die(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


# ---- machine description -------------------------------------------------------------------
def machine_info() -> list[tuple[str, str]]:
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(os.cpu_count())
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        from importlib.metadata import version
        connector = version("snowflake-connector-python")
    except Exception:
        connector = "not installed"
    return [("nproc", nproc), ("cpu", model), ("memory", mem),
            ("kernel", f"{platform.system()} {platform.release()}"),
            ("python", platform.python_version()), ("snowflake-connector-python", connector)]


def binary_info(binary: str) -> list[tuple[str, str]]:
    info = [("floe binary", binary)]
    try:
        st = os.stat(binary)
        info.append(("binary built", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))))
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if rev:
            info.append(("git", rev + (" (dirty)" if dirty else "")))
    except OSError:
        pass
    return info


def print_header(title: str, args, extra: list[tuple[str, str]] = ()) -> None:
    print(f"== {title} ==")
    pairs = machine_info() + binary_info(args.bin) + [("mode", "quick" if args.quick else "full")]
    pairs += list(extra)
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        print(f"  {k.ljust(width)}  {v}")
    print(flush=True)


def print_table(headers: list[str], rows: list[list], title: str | None = None) -> None:
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if title:
        print(title)
    for n, r in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print(flush=True)


def fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def log(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


# ---- statistics --------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def latency_row(label: str, seconds: list[float]) -> list:
    ms = [x * 1000 for x in seconds]
    return [label, len(ms), percentile(ms, 50), percentile(ms, 99), sum(ms) / len(ms), max(ms)]


LATENCY_HEADERS = ["measurement", "n", "p50 ms", "p99 ms", "mean ms", "max ms"]


# ---- files and processes ------------------------------------------------------------------------
def dir_bytes(path: Path | str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def proc_io(pid: int | str = "self") -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            k, v = line.split(":")
            out[k.strip()] = int(v)
    except (OSError, ValueError):
        pass
    return out


def mib(n: float) -> float:
    return n / (1024 * 1024)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz(url: str, timeout: float = 1.0) -> bool:
    try:
        with _OPENER.open(url + "/healthz", timeout=timeout) as r:
            return r.status == 200
    except Exception:
        return False


class Server:
    """A floe server process for benchmarking (data dir under a temporary work dir)."""

    def __init__(self, binary: str, work: Path):
        self.binary = binary
        self.work = work
        self.data_dir = work / "data"
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0
        if not Path(binary).exists():
            die(f"floe binary not found at {binary} (build with `cargo build --release` or pass --bin)")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.work / f"server-{self.starts}.stderr"

    def spawn(self) -> float:
        """Start the process; returns time.monotonic() at the moment of spawning."""
        self.port = free_port()
        self.starts += 1
        env = {k: v for k, v in os.environ.items()
               if k not in ("FLOE_DATA_DIR", "FLOE_LISTEN", "FLOE_ACCOUNT")}
        env["FLOE_ADMIN_PASSWORD"] = PASSWORD
        with open(self.stderr_path, "wb") as err, open(self.work / f"server-{self.starts}.stdout", "wb") as out:
            t0 = time.monotonic()
            self.proc = subprocess.Popen(
                [self.binary, "server", "--data-dir", str(self.data_dir), "--listen",
                 f"127.0.0.1:{self.port}", "--account", "floe"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        return t0

    def wait_healthy(self, t0: float, timeout: float = 600, poll: float = 0.002) -> float:
        """Seconds from t0 to the first 200 from /healthz."""
        while True:
            if self.proc.poll() is not None:
                die(f"floe server exited with {self.proc.returncode}:\n{self.stderr_tail()}")
            if healthz(self.url, timeout=1.0):
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                self.proc.kill()
                die(f"floe server not healthy after {timeout}s:\n{self.stderr_tail()}")
            time.sleep(poll)

    def start(self) -> float:
        return self.wait_healthy(self.spawn())

    def stop(self, timeout: float = 300) -> tuple[int, float]:
        """SIGTERM and wait; returns (exit code, seconds to exit)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        return rc, time.monotonic() - t0

    def stderr_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def connect(self, **kw):
        import snowflake.connector
        params = dict(user="ADMIN", password=PASSWORD, account="floe", host="127.0.0.1",
                      port=self.port, protocol="http", login_timeout=60, network_timeout=3600,
                      session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False})
        params.update(kw)
        return snowflake.connector.connect(**params)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Workspace:
    """Temporary directory for a benchmark run; removed at exit unless --keep."""

    def __init__(self, args, name: str):
        self.keep = args.keep
        self.path = Path(tempfile.mkdtemp(prefix=f"floe-bench-{name}-", dir=args.work_dir))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        if self.keep:
            print(f"(kept {self.path})")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


class HttpSession:
    """Snowflake's v1 REST protocol spoken directly with `requests`: login, then query requests.

    Used to read the server's own timing header (X-Floe-Server-Time-Us) for each statement;
    the connector (5.x) sends its HTTP from its Rust core, so its response headers are not
    visible from Python."""

    def __init__(self, url: str, database: str | None = None, schema: str | None = None):
        import requests
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False
        self.seq = 0
        params = {"request_id": str(uuid.uuid4())}
        if database:
            params["databaseName"] = database
        if schema:
            params["schemaName"] = schema
        body = {"data": {"CLIENT_APP_ID": "floe-bench", "CLIENT_APP_VERSION": "1.0", "ACCOUNT_NAME": "floe",
                         "LOGIN_NAME": "ADMIN", "PASSWORD": PASSWORD, "SESSION_PARAMETERS": {},
                         "CLIENT_ENVIRONMENT": {"APPLICATION": "floe-bench"}}}
        r = self.http.post(f"{url}/session/v1/login-request", params=params, json=body,
                           headers={"Accept": "application/json"}, timeout=60)
        r.raise_for_status()
        data = r.json()
        if not data.get("success"):
            raise RuntimeError(f"login failed: {data.get('code')} {data.get('message')}")
        self.token = data["data"]["token"]

    def query(self, sql: str) -> tuple[dict, int | None]:
        """Runs one statement; returns (response data, server microseconds from the header)."""
        self.seq += 1
        r = self.http.post(
            f"{self.url}/queries/v1/query-request",
            params={"requestId": str(uuid.uuid4()), "request_guid": str(uuid.uuid4())},
            data=json.dumps({"sqlText": sql, "asyncExec": False, "sequenceId": self.seq,
                             "querySubmissionTime": int(time.time() * 1000)}),
            headers={"Authorization": f'Snowflake Token="{self.token}"', "Accept": "application/snowflake",
                     "Content-Type": "application/json"},
            timeout=3600)
        r.raise_for_status()
        body = r.json()
        if not body.get("success"):
            raise RuntimeError(f"query failed: {body.get('code')} {body.get('message')}")
        us = r.headers.get("X-Floe-Server-Time-Us")
        return body["data"], (int(us) if us is not None and us.strip().isdigit() else None)
