#!/usr/bin/env bash
# The test command of the README:
#
#   bash scripts/test.sh [pytest args...]
#
# 1. sets the machine up (scripts/ci-setup.sh) if the Python virtualenv .venv or a client virtualenv
#    (.venv-clients/{sf3,sf4,snow}) is missing,
# 2. cargo build --release,
# 3. cargo test --release --workspace,
# 4. the end-to-end suite: .venv/bin/python -m pytest -q tests/e2e against target/release/floe
#    (extra arguments go to pytest, e.g. `bash scripts/test.sh -k durability`).
# With FLOE_TEST_DOCKER=1 (the README's command, and CI) it also makes a Docker engine available
# (scripts/docker-up.sh), builds the test images, and runs the container tests, which then fail,
# not skip, without an engine.
# Prints each phase's duration; exits non-zero if any phase failed (a failed build stops it).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

failed=()
timings=()
t_all=$SECONDS

phase() {
    local name="$1"; shift
    local t0=$SECONDS rc=0
    echo "=== test.sh: $name"
    "$@" || rc=$?
    local took=$((SECONDS - t0))
    timings+=("$(printf '%-32s %5ds  %s' "$name" "$took" "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
    echo "=== test.sh: $name: ${took}s, exit $rc"
    [ $rc -eq 0 ] || failed+=("$name")
    return $rc
}

summary() {
    echo "=== test.sh summary (total $((SECONDS - t_all))s)"
    printf '    %s\n' "${timings[@]}"
    if [ ${#failed[@]} -gt 0 ]; then
        echo "=== test.sh: FAILED: ${failed[*]}"
    fi
}

clients_missing() {
    local v
    for v in sf3 sf4 snow; do [ -x ".venv-clients/$v/bin/python" ] || return 0; done
    return 1
}
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import snowflake.connector, pytest, pexpect, requests, selenium' 2>/dev/null \
    || clients_missing; then
    phase "setup (scripts/ci-setup.sh)" bash scripts/ci-setup.sh || { summary; exit 1; }
fi

phase "cargo build --release" cargo build --release || { summary; exit 1; }
if [ "${FLOE_TEST_DOCKER:-}" = 1 ]; then
    phase "docker engine and test images" bash -c 'bash scripts/docker-up.sh && bash scripts/build-test-images.sh' || { summary; exit 1; }
fi
phase "cargo test --release --workspace" cargo test --release --workspace
phase "pytest tests/e2e" env FLOE_BIN="$ROOT/target/release/floe" FLOE_TEST_DOCKER="${FLOE_TEST_DOCKER:-}" \
    .venv/bin/python -m pytest -q tests/e2e "$@"

summary
[ ${#failed[@]} -eq 0 ]
