#!/usr/bin/env bash
# Makes a Docker engine available on this machine (Debian 12, root): installs docker.io if dockerd is
# missing, starts dockerd in the background if no engine answers, and waits until `docker info` works.
# Idempotent: with an engine running it only checks it. Prints the engine's version.
#
#   bash scripts/docker-up.sh
set -euo pipefail

log() { printf '[docker-up] %s\n' "$*"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if docker info >/dev/null 2>&1; then
    log "engine running: $(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null)"
    exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q docker.io >/dev/null
fi
LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"
log "starting dockerd (log: $LOG)"
$SUDO bash -c "nohup dockerd >'$LOG' 2>&1 &"
for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
        log "engine running: $(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})')"
        exit 0
    fi
    sleep 0.5
done
log "dockerd did not come up; its log:"
tail -30 "$LOG" >&2 || true
exit 1
