#!/usr/bin/env bash
# Builds the local image `floe-python:latest` for the tests of containers that run SQL: a Debian bookworm
# root file system (debootstrap: minbase + python3 + ca-certificates; nothing can be pulled from a
# registry here) with the three lines of snowflake-connector-python copied from the host's virtualenvs
# (pip cannot reach PyPI from inside a container on this network):
#   /opt/sf3  .venv-clients/sf3 (connector 3.x, Snowpark)      /opt/sf4  .venv-clients/sf4 (connector 4.x)
#   /opt/sf5  .venv (connector 5.x)       /opt/extra  vaderSentiment (from PyPI, with the host's pip)
# as the base image `floe-python-base:latest` (built once: REBUILD=1 forces it), then `floe-python:latest`
# = the base plus the test programs of tests/e2e/images/python under /app (rebuilt every time, in a
# second, so edited programs are always the ones tested). A container picks its line with
# PYTHONPATH=/opt/sfN.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE=floe-python-base:latest
IMAGE=floe-python:latest
if [ -n "${REBUILD:-}" ] || ! docker image inspect "$BASE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
    work="$(mktemp -d /tmp/floe-python-XXXXXX)"
    trap 'rm -rf "$work"' EXIT
    debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$work/root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log"; exit 1; }
    site() { echo "$1"/lib/python3.*/site-packages; }
    cp -a "$(site "$ROOT/.venv-clients/sf3")" "$work/root/opt/sf3"
    cp -a "$(site "$ROOT/.venv-clients/sf4")" "$work/root/opt/sf4"
    cp -a "$(site "$ROOT/.venv")" "$work/root/opt/sf5"
    "$ROOT/.venv/bin/pip" install -q --no-deps --target "$work/root/opt/extra" vaderSentiment
    rm -rf "$work/root/var/cache/apt" "$work/root/var/lib/apt/lists"
    tar -C "$work/root" -c . | docker import -c 'ENV PYTHONDONTWRITEBYTECODE=1' -c 'WORKDIR /app' - "$BASE" >/dev/null
    echo "build-python-image: $BASE ($(docker image inspect -f '{{.Size}}' "$BASE") bytes)"
fi
ctx="$(mktemp -d /tmp/floe-python-app-XXXXXX)"
cp "$ROOT"/tests/e2e/images/python/*.py "$ctx/"
printf 'FROM %s\nCOPY *.py /app/\n' "$BASE" >"$ctx/Dockerfile"
docker build -q -t "$IMAGE" "$ctx" >/dev/null
rm -rf "$ctx"
echo "build-python-image: $IMAGE (the base plus /app)"
