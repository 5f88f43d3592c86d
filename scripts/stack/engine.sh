#!/usr/bin/env bash
# The Docker engine the stack test drives: Debian's dockerd with its own data root, exec root and
# socket under .run/stack/, so it never touches (or needs) a system-wide Docker.
#
#   scripts/stack/engine.sh start   # prints nothing; DOCKER_HOST is scripts/stack/env.sh's
#   scripts/stack/engine.sh stop    # stops only an engine this script started (by its pidfile)
#
# The data root persists between runs: it holds the built images, so a second run reuses them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
source "$here/env.sh"

started_marker="$STACK_RUN/engine.started"

ready() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
  if ready; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "engine.sh: dockerd must run as root here (no engine answers at $DOCKER_HOST)" >&2
    exit 1
  fi
  command -v dockerd >/dev/null || { echo "engine.sh: dockerd missing; run scripts/install-system-deps.sh" >&2; exit 1; }
  mkdir -p "$STACK_RUN/docker-data" "$STACK_EXEC_ROOT"
  # setsid: a Ctrl-C (SIGINT to the foreground process group) must not stop the engine before
  # the teardown has removed the containers.
  setsid dockerd \
    --data-root "$STACK_RUN/docker-data" \
    --exec-root "$STACK_EXEC_ROOT" \
    --pidfile "$STACK_RUN/dockerd.pid" \
    -H "$DOCKER_HOST" \
    --storage-driver=overlay2 \
    --iptables=true \
    >"$STACK_RUN/dockerd.log" 2>&1 &
  touch "$started_marker"
  for _ in $(seq 1 120); do
    if ready; then
      return 0
    fi
    sleep 0.5
  done
  echo "engine.sh: dockerd did not answer within 60 s; see $STACK_RUN/dockerd.log" >&2
  exit 1
}

stop() {
  [ -f "$started_marker" ] || return 0
  if [ -f "$STACK_RUN/dockerd.pid" ]; then
    pid=$(cat "$STACK_RUN/dockerd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    fi
  fi
  rm -f "$started_marker"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
