#!/usr/bin/env bash
# Builds the images floe's quickstart and container tests run, with no registry (none can be pulled
# here): target/release/floe-testimg and the shared libraries it links, in an otherwise empty root
# file system, imported with `docker import` and tagged under the names the tutorial's specs use.
#
#   bash scripts/build-test-images.sh [extra-tag ...]
#
# Needs the Docker engine and a built target/release/floe-testimg (cargo build --release).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${FLOE_TESTIMG:-$ROOT/target/release/floe-testimg}"
if [ ! -x "$BIN" ]; then
    echo "build-test-images: $BIN is missing; run cargo build --release first" >&2
    exit 1
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/tmp" "$WORK/rootfs/etc"
cp "$BIN" "$WORK/rootfs/bin/floe-testimg"
# The dynamic loader and libraries, at the paths the binary asks for.
for lib in $(ldd "$BIN" | grep -o '/[^ )]*'); do
    cp --parents -L "$lib" "$WORK/rootfs/"
done
echo 'root:x:0:0:root:/:/bin/floe-testimg' > "$WORK/rootfs/etc/passwd"
chmod 1777 "$WORK/rootfs/tmp"
tar -C "$WORK/rootfs" -c . | docker import \
    --change 'ENTRYPOINT ["/bin/floe-testimg"]' \
    --change 'CMD ["echo-server"]' \
    --change 'ENV SERVER_PORT=8000' \
    - floe-testimg:latest >/dev/null
TAGS=(
    tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest
    tutorial_db/data_schema/tutorial_repository/my_job_image:latest
    "$@"
)
for tag in "${TAGS[@]}"; do
    docker tag floe-testimg:latest "$tag"
done
echo "build-test-images: floe-testimg:latest ($(docker image inspect -f '{{.Size}}' floe-testimg:latest) bytes) tagged ${TAGS[*]}"
