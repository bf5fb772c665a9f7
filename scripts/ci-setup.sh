#!/usr/bin/env bash
# Idempotent machine setup for building and testing floe on Debian 12 (run as root).
#
#   bash scripts/ci-setup.sh
#
# - installs the Debian packages the build and the test suite need (only those missing),
# - creates the Python virtualenv .venv at the repository root (python3 -m venv),
# - installs the Python packages of the end-to-end tests and benchmarks into it,
# - prints the versions of what it found or installed.
# Running it again on a set-up machine changes nothing and takes a few seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export DEBIAN_FRONTEND=noninteractive
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
# The connector with its pandas extra (pyarrow, pandas) for fetch_arrow_all / fetch_pandas_all tests.
PY_REQUIREMENTS=("snowflake-connector-python[pandas]==5.2.0" pytest pytest-timeout pexpect requests)
PY_PACKAGES=(snowflake-connector-python pyarrow pandas pytest pytest-timeout pexpect requests)

log() { printf '[ci-setup] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        log "warning: not root and no sudo; Debian packages cannot be installed"
    fi
fi

# ---- Debian packages -------------------------------------------------------------
need_apt=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_cmd "$PYTHON" || need_apt+=(python3)
# `python3 -m venv` needs ensurepip (Debian ships it separately in python3-venv).
if ! have_cmd "$PYTHON" || ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need_apt+=(python3-venv)
fi
have_cmd cc || need_apt+=(gcc)          # C compiler for the bundled SQLite of rusqlite
have_cmd git || need_apt+=(git)
have_cmd curl || need_apt+=(curl)       # scripts/quickstart.sh polls /healthz with curl
have_pkg ca-certificates || need_apt+=(ca-certificates)
# (Docker, for the container tests, will be added here: docker.io.)

if [ "${#need_apt[@]}" -gt 0 ]; then
    if have_cmd apt-get; then
        log "installing Debian packages: ${need_apt[*]}"
        $SUDO apt-get update -q
        $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
    else
        log "error: missing ${need_apt[*]} and no apt-get on this machine" >&2
        exit 1
    fi
else
    log "Debian packages: nothing to install"
fi

# ---- Rust toolchain (cannot be fetched here: only reported) ----------------------
if have_cmd cargo; then
    log "$(cargo --version)"
else
    log "warning: cargo not found on PATH (the Rust toolchain must be preinstalled, e.g. by rustup)"
fi

# ---- Python virtualenv -------------------------------------------------------------
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "virtualenv exists: $VENV"
else
    rm -rf "$VENV"
    log "creating virtualenv $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi

# pip skips already-satisfied requirements without downloading anything.
if ! "$VENV/bin/python" -c 'import snowflake.connector, pyarrow, pandas, pytest, pytest_timeout, pexpect, requests' >/dev/null 2>&1; then
    log "installing Python packages: ${PY_REQUIREMENTS[*]}"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_REQUIREMENTS[@]}"
fi

"$VENV/bin/python" - "${PY_PACKAGES[@]}" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
print(f"[ci-setup] python {sys.version.split()[0]} ({sys.executable})")
for name in sys.argv[1:]:
    try:
        print(f"[ci-setup] {name} {version(name)}")
    except PackageNotFoundError:
        sys.exit(f"[ci-setup] error: {name} is not installed in the virtualenv")
EOF
log "done"
