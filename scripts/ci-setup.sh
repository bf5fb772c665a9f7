#!/usr/bin/env bash
# Idempotent machine setup for building and testing floe on Debian 12 (run as root).
#
#   bash scripts/ci-setup.sh
#
# - installs the Debian packages the build and the test suite need (only those missing),
# - creates the Python virtualenv .venv at the repository root (python3 -m venv),
# - installs the Python packages of the end-to-end tests and benchmarks into it,
# - creates the client virtualenvs of the client-matrix tests (tests/e2e/test_clients.py) under
#   .venv-clients/, each with pinned versions (CLIENT_VENVS below),
# - prints the versions of what it found or installed.
# Running it again on a set-up machine changes nothing and takes a few seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export DEBIAN_FRONTEND=noninteractive
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
# The connector with its pandas extra (pyarrow, pandas) for fetch_arrow_all / fetch_pandas_all tests.
# selenium drives Debian's headless chromium in the ingress's browser test (tests/e2e/test_ingress.py).
PY_REQUIREMENTS=("snowflake-connector-python[pandas]==5.2.0" pytest pytest-timeout pexpect requests selenium)
PY_PACKAGES=(snowflake-connector-python pyarrow pandas pytest pytest-timeout pexpect requests selenium)

# Client matrix: one virtualenv per client line, pinned. `name|import check|requirements...`
#   sf3:  the 3.x connector line that the current Snowpark allows (snowflake-snowpark-python 1.56.0
#         requires snowflake-connector-python>=3.17.0,<5.0.0; 3.18.1 is the newest 3.x), with Snowpark
#   sf4:  the newest 4.x connector
#   snow: snowflake-cli (3.31.0 needs a certifi release PyPI does not have yet: 3.30.0, connector 4.7.5)
CLIENTS_DIR="$ROOT/.venv-clients"
CLIENT_VENVS=(
    "sf3|snowflake.connector, snowflake.snowpark, pandas, pyarrow|snowflake-connector-python[pandas]==3.18.1 snowflake-snowpark-python[pandas]==1.56.0"
    "sf4|snowflake.connector, pandas, pyarrow|snowflake-connector-python[pandas]==4.8.1"
    "snow|snowflake.cli|snowflake-cli==3.30.0"
)

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
have_pkg libc6-dev || need_apt+=(libc6-dev)  # libc.a: the static sandbox program (crates/driver-docker/build.rs)
have_cmd git || need_apt+=(git)
have_cmd curl || need_apt+=(curl)       # scripts/quickstart.sh polls /healthz with curl
have_pkg ca-certificates || need_apt+=(ca-certificates)
have_cmd skopeo || need_apt+=(skopeo)   # tests/e2e/test_registry.py copies OCI layouts in and out
have_cmd docker-registry || need_apt+=(docker-registry)   # bench/registry.py's baseline
have_pkg chromium || need_apt+=(chromium)                 # tests/e2e/test_ingress.py: the login page in a browser
have_pkg chromium-driver || need_apt+=(chromium-driver)   # ... driven by selenium through chromedriver
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
if ! "$VENV/bin/python" -c 'import snowflake.connector, pyarrow, pandas, pytest, pytest_timeout, pexpect, requests, selenium' >/dev/null 2>&1; then
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
# ---- client virtualenvs (tests/e2e/test_clients.py) ------------------------------
# Made without a pip of their own (the main venv's pip installs into them with --python), the missing
# ones in parallel. Byte-compiled at install: the tests start these Pythons many times.
client_ok() {  # name imports reqs
    local venv="$CLIENTS_DIR/$1"
    [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.floe-requirements" 2>/dev/null)" = "$3" ] \
        && "$venv/bin/python" -c "import $2" >/dev/null 2>&1
}
install_client() {  # name reqs
    local venv="$CLIENTS_DIR/$1" t0=$SECONDS reqs
    read -r -a reqs <<<"$2"
    rm -rf "$venv"
    "$PYTHON" -m venv --without-pip "$venv" || return 1
    "$VENV/bin/python" -m pip --python "$venv/bin/python" install -q --disable-pip-version-check "${reqs[@]}" \
        || return 1
    printf '%s' "$2" >"$venv/.floe-requirements"
    log "client virtualenv $1: installed in $((SECONDS - t0))s"
}
mkdir -p "$CLIENTS_DIR"
t_clients=$SECONDS
pids=()
for spec in "${CLIENT_VENVS[@]}"; do
    IFS='|' read -r name imports reqs <<<"$spec"
    if client_ok "$name" "$imports" "$reqs"; then
        log "client virtualenv $name: ok"
    else
        install_client "$name" "$reqs" >"$CLIENTS_DIR/$name.log" 2>&1 &
        pids+=("$!:$name")
    fi
done
for entry in "${pids[@]}"; do
    if ! wait "${entry%%:*}"; then
        cat "$CLIENTS_DIR/${entry#*:}.log" >&2
        log "error: installing client virtualenv ${entry#*:} failed" >&2
        exit 1
    fi
    cat "$CLIENTS_DIR/${entry#*:}.log"
done
[ "${#pids[@]}" -eq 0 ] || log "client virtualenvs installed in $((SECONDS - t_clients))s"
for spec in "${CLIENT_VENVS[@]}"; do
    IFS='|' read -r name imports reqs <<<"$spec"
    "$CLIENTS_DIR/$name/bin/python" - "$name" $reqs <<'EOF'
import re, sys
from importlib.metadata import version
name, reqs = sys.argv[1], sys.argv[2:]
pkgs = [re.split(r"[\[=<>]", r)[0] for r in reqs]
print(f"[ci-setup] client virtualenv {name}: " + ", ".join(f"{p} {version(p)}" for p in pkgs))
EOF
done

log "done"
