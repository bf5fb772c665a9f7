#!/usr/bin/env python3
"""Image registry benchmark (issue "The image registry, volumes and public endpoints"): `docker push` and
`docker pull` of a ~200 MB single-layer image through floe's registry and through Debian's
`docker-registry` (distribution 2.8, filesystem storage, no auth) on another loopback port, same run,
same engine, same image.

Each run pushes into an empty repository (floe: the previous image repository is dropped; baseline: a
fresh registry process and storage dir on a new port, so the engine cannot mount layers it pushed before)
and pulls after removing every local tag of the image (so the layer is downloaded and extracted).

Needs a Docker engine, the test images (bash scripts/build-test-images.sh) and `docker-registry`
(apt-get install docker-registry).

    .venv/bin/python bench/registry.py [--bin target/release/floe] [--quick] [--mb 200] [--runs 3]
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from benchlib import PASSWORD, Server, Workspace, arg_parser, die, free_port, log, median, print_header, print_table

SOURCE = "floe-bench-registry:big"


def docker(*args: str, env: dict | None = None, stdin: bytes | None = None) -> str:
    res = subprocess.run(["docker", *args], capture_output=True, input=stdin, env=env)
    if res.returncode != 0:
        die(f"docker {' '.join(args)}: {res.stderr.decode(errors='replace')}")
    return res.stdout.decode()


def build_image(mb: int, archive: Path) -> None:
    """floe-testimg's files plus `mb` MiB of random bytes, imported as one layer and saved to `archive`."""
    cid = docker("create", "floe-testimg:latest").strip()
    exported = subprocess.run(["docker", "export", cid], capture_output=True, check=True).stdout
    docker("rm", "-f", cid)
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(exported)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        payload = os.urandom(mb << 20)
        info = tarfile.TarInfo("data/payload.bin")
        info.size = len(payload)
        dst.addfile(info, io.BytesIO(payload))
    docker("import", "--change", 'ENTRYPOINT ["/bin/floe-testimg"]', "-", SOURCE, stdin=out.getvalue())
    docker("save", "-o", str(archive), SOURCE)
    docker("rmi", SOURCE)


def push_pull(archive: Path, target: str, env: dict) -> tuple[float, float]:
    """Load the image, tag it as `target`, time the push; drop every local tag, time the pull."""
    docker("load", "-i", str(archive))
    docker("tag", SOURCE, target)
    t0 = time.perf_counter()
    docker("push", target, env=env)
    push_s = time.perf_counter() - t0
    docker("rmi", target, SOURCE)
    t0 = time.perf_counter()
    docker("pull", target, env=env)
    pull_s = time.perf_counter() - t0
    docker("rmi", target)
    return push_s, pull_s


def raw_blob(addr: str, name: str, blob: Path, digest: str, user: str | None) -> tuple[float, float]:
    """The registry alone: one blob uploaded (POST, then PUT with the body and its digest) and downloaded
    with curl, no engine, no compression."""
    auth = ["-u", user] if user else []
    t0 = time.perf_counter()
    head = subprocess.run(["curl", "-sf", "-D", "-", "-o", "/dev/null", "-X", "POST", *auth, f"http://{addr}/v2/{name}/blobs/uploads/"],
                          capture_output=True, text=True, check=True).stdout
    location = next(line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("location:"))
    if location.startswith("/"):
        location = f"http://{addr}{location}"
    sep = "&" if "?" in location else "?"
    subprocess.run(["curl", "-sf", "-o", "/dev/null", "-X", "PUT", *auth, "-H", "Content-Type: application/octet-stream",
                    "--data-binary", f"@{blob}", f"{location}{sep}digest={digest}"], check=True)
    up = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run(["curl", "-sf", "-o", "/dev/null", *auth, f"http://{addr}/v2/{name}/blobs/{digest}"], check=True)
    return up, time.perf_counter() - t0


def baseline_registry(work: Path, run: int) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("docker-registry")
    if binary is None:
        die("docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    root = work / f"baseline-{run}"
    root.mkdir()
    config = root / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=open(root / "stderr", "wb"))
    addr = f"127.0.0.1:{port}"
    for _ in range(200):
        if subprocess.run(["curl", "-sf", f"http://{addr}/v2/"], capture_output=True).returncode == 0:
            return proc, addr
        time.sleep(0.05)
    proc.kill()
    die(f"docker-registry did not start: {(root / 'stderr').read_text()}")
    raise AssertionError


def main() -> None:
    p = arg_parser(__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--mb", type=int, default=None, help="random payload of the image, MiB (default 200; --quick 20)")
    args = p.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    mb = args.mb or (20 if args.quick else 200)
    version = subprocess.run(["docker-registry", "--version"], capture_output=True, text=True).stdout.strip() if shutil.which("docker-registry") else "missing"
    print_header("floe bench: image registry", args, [
        ("image", f"one layer: floe-testimg + {mb} MiB of random bytes"),
        ("runs", f"{runs} push + pull through each registry, alternating"),
        ("baseline", version),
    ])
    with Workspace(args, "registry") as work:
        archive = work / "image.tar"
        log("building the image")
        build_image(mb, archive)
        docker_cfg = Path(tempfile.mkdtemp(dir=work))
        env = dict(os.environ, DOCKER_CONFIG=str(docker_cfg))
        srv = Server(args.bin, work)
        floe_push, floe_pull, base_push, base_pull = [], [], [], []
        blob = work / "blob.bin"
        blob.write_bytes(os.urandom(mb << 20))
        blob_digest = "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest()
        raw_floe, raw_base = [], []
        try:
            srv.start()
            conn = srv.connect()
            cur = conn.cursor()
            cur.execute("CREATE DATABASE bench_db")
            cur.execute("CREATE SCHEMA bench_db.s")
            cur.execute("CREATE IMAGE REPOSITORY bench_db.s.repo")
            cur.execute("SHOW IMAGE REPOSITORIES IN SCHEMA bench_db.s")
            url = cur.fetchone()[4]
            host = url.split("/")[0]
            docker("login", host, "-u", "ADMIN", "--password-stdin", env=env, stdin=PASSWORD.encode())
            for run in range(runs):
                if run:
                    cur.execute("CREATE OR REPLACE IMAGE REPOSITORY bench_db.s.repo")
                log(f"run {run + 1}: floe")
                ps, pl = push_pull(archive, f"{url}/big:v{run}", env)
                floe_push.append(ps)
                floe_pull.append(pl)
                log(f"run {run + 1}: docker-registry")
                proc, addr = baseline_registry(work, run)
                try:
                    ps, pl = push_pull(archive, f"{addr}/bench/big:v{run}", env)
                finally:
                    proc.terminate()
                    proc.wait()
                base_push.append(ps)
                base_pull.append(pl)
            for run in range(runs):
                log(f"raw blob {run + 1}")
                cur.execute("CREATE OR REPLACE IMAGE REPOSITORY bench_db.s.repo")
                raw_floe.append(raw_blob(host, "bench_db/s/repo/raw", blob, blob_digest, f"ADMIN:{PASSWORD}"))
                proc, addr = baseline_registry(work, runs + run)
                try:
                    raw_base.append(raw_blob(addr, "bench/raw", blob, blob_digest, None))
                finally:
                    proc.terminate()
                    proc.wait()
            stored = sum(f.stat().st_size for f in (srv.data_dir / "registry" / "blobs").rglob("*") if f.is_file())
            conn.close()
        finally:
            srv.kill()
            subprocess.run(["docker", "rmi", SOURCE], capture_output=True)
        mb_s = lambda secs: f"{(archive.stat().st_size / (1 << 20)) / secs:.0f} MiB/s"  # noqa: E731
        rows = [
            ["push", f"{median(floe_push):.2f} s", f"{median(base_push):.2f} s", f"{median(floe_push) / median(base_push):.2f}",
             mb_s(median(floe_push)), "all: " + ", ".join(f"{x:.2f}" for x in floe_push)],
            ["pull", f"{median(floe_pull):.2f} s", f"{median(base_pull):.2f} s", f"{median(floe_pull) / median(base_pull):.2f}",
             mb_s(median(floe_pull)), "all: " + ", ".join(f"{x:.2f}" for x in floe_pull)],
        ]
        print_table(["what", "floe (median)", "docker-registry (median)", "floe / baseline", "floe rate (image tar)", "floe runs"], rows,
                    f"docker push / pull, {archive.stat().st_size / (1 << 20):.0f} MiB image (docker save size)")
        rate = lambda secs: f"{mb / secs:.0f} MiB/s"  # noqa: E731
        raw_rows = []
        for i, what in enumerate(["upload", "download"]):
            f = median([r[i] for r in raw_floe])
            b = median([r[i] for r in raw_base])
            raw_rows.append([what, f"{f:.2f} s ({rate(f)})", f"{b:.2f} s ({rate(b)})", f"{f / b:.2f}"])
        print_table(["what", "floe (median)", "docker-registry (median)", "floe / baseline"], raw_rows,
                    f"one {mb} MiB blob with curl (POST + PUT with digest; GET), no engine")
        print(f"floe registry blobs after the last run: {stored / (1 << 20):.0f} MiB")


if __name__ == "__main__":
    main()
