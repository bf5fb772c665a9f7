#!/usr/bin/env bash
# floe's main job on a fresh machine: build, make a Docker engine available (scripts/docker-up.sh),
# build the tutorial's images locally, start the server on its embedded defaults, run the smoke script,
# push the tutorial's images to floe's registry as the tutorial does (`docker login` as ADMIN, `docker
# tag` and `docker push` to the repository URL SHOW IMAGE REPOSITORIES gives), and then run Snowflake's
# "Service-to-Service Communications" tutorial (scripts/tutorial.sql: an echo service and a job that
# calls it by DNS name, both from the pushed images, logs and status through SQL, clean-up) through
# `floe sql` (the connector protocol), then stop the server.
# Set FLOE_KEEP_RUNNING=1 to leave the server running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

phase "build"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
cargo build --release

phase "docker engine and images"
bash scripts/docker-up.sh
bash scripts/build-test-images.sh

phase "start server"
export FLOE_DATA_DIR="${FLOE_DATA_DIR:-./floe-data}"
mkdir -p "$FLOE_DATA_DIR"
LOG="$FLOE_DATA_DIR/server.log"
./target/release/floe server >"$LOG" 2>&1 &
SERVER_PID=$!
stop() { kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true; }
[ "${FLOE_KEEP_RUNNING:-0}" = 1 ] || trap stop EXIT
URL="http://${FLOE_LISTEN:-127.0.0.1:8080}"
for _ in $(seq 1 100); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; echo "floe server exited"; exit 1; }
  sleep 0.1
done
curl -fsS "$URL/healthz" >/dev/null
# Without FLOE_ADMIN_PASSWORD the server generated ADMIN's password on first start and saved it.
PASSWORD="${FLOE_ADMIN_PASSWORD:-$(cat "$FLOE_DATA_DIR/admin-password" 2>/dev/null || true)}"
[ -n "$PASSWORD" ] || { echo "set FLOE_ADMIN_PASSWORD to ADMIN's password for $FLOE_DATA_DIR"; exit 1; }

phase "smoke script"
FLOE_URL="$URL" FLOE_USER=ADMIN FLOE_PASSWORD="$PASSWORD" ./target/release/floe sql -f scripts/smoke.sql

floe_sql() { FLOE_URL="$URL" FLOE_USER=ADMIN FLOE_PASSWORD="$PASSWORD" ./target/release/floe sql "$@"; }
# A run stopped half-way (Ctrl-C, a failure) leaves the tutorial's objects in the data dir; the tutorial
# creates them without IF NOT EXISTS, as Snowflake's does, so clear them first.
floe_sql -q "ALTER COMPUTE POOL IF EXISTS tutorial_compute_pool STOP ALL; DROP COMPUTE POOL IF EXISTS tutorial_compute_pool;
  DROP DATABASE IF EXISTS tutorial_db" >/dev/null

phase "push the tutorial's images to floe's registry"
floe_sql -q "CREATE DATABASE IF NOT EXISTS tutorial_db; CREATE SCHEMA IF NOT EXISTS tutorial_db.data_schema;
  CREATE IMAGE REPOSITORY IF NOT EXISTS tutorial_db.data_schema.tutorial_repository" >/dev/null
REPO_URL="$(floe_sql --format json -q "SHOW IMAGE REPOSITORIES LIKE 'TUTORIAL_REPOSITORY' IN SCHEMA tutorial_db.data_schema" \
  | sed -n 's/.*"repository_url":"\([^"]*\)".*/\1/p')"
[ -n "$REPO_URL" ] || { echo "SHOW IMAGE REPOSITORIES gave no repository_url"; exit 1; }
REGISTRY="${REPO_URL%%/*}"
echo "repository URL: $REPO_URL"
printf '%s' "$PASSWORD" | docker login "$REGISTRY" -u ADMIN --password-stdin
DIGESTS=()
for image in my_echo_service_image my_job_image; do
  docker tag floe-testimg:latest "$REPO_URL/$image:latest"
  PUSHED="$(docker push "$REPO_URL/$image:latest")"
  echo "$PUSHED"
  DIGESTS+=("$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' <<<"$PUSHED")")
done

phase "tutorial: service to service"
OUT="$FLOE_DATA_DIR/tutorial.out"
floe_sql -f scripts/tutorial.sql | tee "$OUT"
grep -q "Job TUTORIAL_JOB completed successfully with status: DONE." "$OUT"
grep -q "Bob said Hello" "$OUT"
# The service and the job ran the pushed images: SHOW SERVICE CONTAINERS shows their digests.
for digest in "${DIGESTS[@]}"; do
  grep -q "$digest" "$OUT" || { echo "the tutorial did not run the pushed image $digest"; exit 1; }
done

phase "done"
echo "floe ran the smoke script and the service-to-service tutorial (images pushed to $REPO_URL) at $URL (user ADMIN, password in \$FLOE_ADMIN_PASSWORD or $FLOE_DATA_DIR/admin-password)."
