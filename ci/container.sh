#!/usr/bin/env bash
# What the container tests need, brought up the way a new user would on a Debian machine
# without a container registry:
#
#   ci/container.sh up     a Docker engine (Debian's docker.io, started here when none
#                          answers) and the runtime base image trustbench-runtime:bookworm,
#                          made from Debian's packages with mmdebstrap (cached);
#   ci/container.sh image  the trustbench image from the binary cargo built
#                          (target/debug/trustbench, stripped), tagged trustbench:latest;
#   ci/container.sh down   stops the engine if `up` started it.
#
# Needs root to install packages and start dockerd (as on CI); otherwise an engine must
# already answer.
set -euo pipefail
cd "$(dirname "$0")/.."

state=target/container
base=trustbench-runtime:bookworm
mkdir -p "$state"

log() { printf '  [container] %s\n' "$*" >&2; }

engine_answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

install() {
  if [ "$(id -u)" != 0 ]; then
    log "cannot install $* without root"
    return 1
  fi
  log "installing $* from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$state/apt.log" 2>&1 \
    || { apt-get update -q >>"$state/apt.log" 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$state/apt.log" 2>&1; }
}

up() {
  local started=$SECONDS
  if ! engine_answers; then
    command -v dockerd >/dev/null || install docker.io
    log "starting dockerd (log: $state/dockerd.log)"
    dockerd >"$state/dockerd.log" 2>&1 &
    echo $! >"$state/dockerd.pid"
    for _ in $(seq 1 60); do
      engine_answers && break
      sleep 0.5
    done
    engine_answers || { log "dockerd did not answer; see $state/dockerd.log"; exit 1; }
  fi
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    command -v mmdebstrap >/dev/null || install mmdebstrap
    log "making $base from Debian bookworm's packages"
    # glibc and libgcc only (no shell, no package manager), an unprivileged user 65532 as
    # distroless has, and a /tmp.
    mmdebstrap --quiet --variant=extract --include=libc6,libgcc-s1,base-files \
      --customize-hook='printf "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" > "$1/etc/passwd"' \
      --customize-hook='printf "root:x:0:\nnonroot:x:65532:\n" > "$1/etc/group"' \
      --customize-hook='mkdir -p "$1/home/nonroot" "$1/tmp" && chown 65532:65532 "$1/home/nonroot" && chmod 1777 "$1/tmp"' \
      bookworm "$state/runtime.tar"
    docker import --change 'USER 65532:65532' "$state/runtime.tar" "$base" >/dev/null
    rm -f "$state/runtime.tar"
  fi
  log "engine and $base ready in $((SECONDS - started)) s"
}

image() {
  local binary=${CARGO_TARGET_DIR:-target}/debug/trustbench
  [ -x "$binary" ] || { log "no $binary: build it first (cargo build -p harness --bin trustbench)"; exit 1; }
  strip -o "$state/trustbench" "$binary"
  DOCKER_BUILDKIT=0 docker build --quiet --target prebuilt --build-arg RUNTIME="$base" \
    --build-arg PREBUILT="$state/trustbench" -t trustbench:latest . >/dev/null 2>"$state/build.log" \
    || { cat "$state/build.log" >&2; exit 1; }
  log "trustbench:latest built from $binary"
}

down() {
  if [ -f "$state/dockerd.pid" ]; then
    local pid
    pid=$(cat "$state/dockerd.pid")
    rm -f "$state/dockerd.pid"
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      log "dockerd stopped"
    fi
  fi
}

case "${1:-}" in
  up) up ;;
  image) image ;;
  down) down ;;
  *) echo "usage: ci/container.sh up|image|down" >&2; exit 2 ;;
esac
