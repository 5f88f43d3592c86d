#!/usr/bin/env bash
# Builds the stack's images on the local Debian base (scripts/stack/base.sh), with the host's
# network (no registry, but Debian's mirror and PyPI answer) and the host's CA bundle for the
# Airflow base. Docker's layer cache makes a second run take seconds. Prints the time per image.
#
#   courtfeed-local/airflow-base   docker/local-base   (Airflow-shaped base: user, venv, entrypoint)
#   courtfeed-airflow:stack        docker/Dockerfile   (the project's lock, BASE_IMAGE=airflow-base)
#   courtfeed-sftp:stack           docker/sftp         (the hosted drop box)
#   courtfeed-local/postgres:15    docker/standins/postgres
#   courtfeed-local/redis:7        docker/standins/redis
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
source "$here/env.sh"
cd "$REPO_ROOT"

timed_build() {
  local tag=$1
  shift
  local start log
  start=$(date +%s)
  log="$STACK_RUN/build-${tag//[\/:]/_}.log"
  if ! docker build --network host --build-arg "BASE_IMAGE=$STACK_BASE_IMAGE" -t "$tag" "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "build: $tag failed; full log in $log" >&2
    return 1
  fi
  echo "build: $tag $(($(date +%s) - start)) s"
}

# The host's CA bundle goes into the Airflow base's build context only (pip and apt behind an
# intercepting proxy); the default, upstream-based image never carries it.
ca_bundle=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
context="$STACK_RUN/context-airflow-base"
rm -rf "$context"
cp -r docker/local-base "$context"
cp "$ca_bundle" "$context/ca-bundle.crt"

# The small images build while the Airflow image installs its lock (mostly network-bound).
pids=()
timed_build courtfeed-sftp:stack docker/sftp & pids+=($!)
timed_build courtfeed-local/postgres:15 docker/standins/postgres & pids+=($!)
timed_build courtfeed-local/redis:7 docker/standins/redis & pids+=($!)
timed_build courtfeed-local/airflow-base "$context"
docker build --network host --build-arg BASE_IMAGE=courtfeed-local/airflow-base \
  -t courtfeed-airflow:stack -f docker/Dockerfile . >"$STACK_RUN/build-airflow.log" 2>&1 &
airflow_pid=$!
start=$(date +%s)
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if wait "$airflow_pid"; then
  echo "build: courtfeed-airflow:stack $(($(date +%s) - start)) s"
else
  tail -n 60 "$STACK_RUN/build-airflow.log" >&2
  echo "build: courtfeed-airflow:stack failed; full log in $STACK_RUN/build-airflow.log" >&2
  status=1
fi
exit $status
