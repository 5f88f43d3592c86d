#!/usr/bin/env bash
# `make test`: every test, in two pytest processes side by side.
#
# The background half is tests/deploy (the Docker engine, image builds, the hosted drop box and
# the production stack with two Celery workers) then tests/e2e (DAG runs, live Airflows); the
# rest of the suite runs in the foreground. Each pytest process starts its own services (sshd,
# PostgreSQL, SeaweedFS, SMTP, Airflow homes, on free loopback ports) and tests/deploy its own
# Docker engine (.run/stack), so the halves share nothing. Run one after the other, the suite
# kept 0.52 of one core busy on average (37 min on this 2-core machine): most of it is waiting
# on DAG runs, containers and downloads, so the halves overlap instead of taking turns.
#
# With PYTEST_ARGS (e.g. PYTEST_ARGS="-k watch") it runs one pytest with them, as before, so a
# selection does not leave one half with nothing to run.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN="$PWD/.venv/bin"
export PATH="$BIN:$PATH"  # docker-compose (a PyPI package) for tests/deploy

if [ -n "${PYTEST_ARGS:-}" ]; then
    # shellcheck disable=SC2086 # PYTEST_ARGS is a list of words on purpose
    exec "$BIN/python" -m pytest -q --durations=25 $PYTEST_ARGS
fi

mkdir -p .run
BACKGROUND=(tests/deploy tests/e2e)
deploy_log=.run/test-background.log
deploy_tmp=/tmp/courtfeed-background-tests
rm -rf "$deploy_tmp"
"$BIN/python" -m pytest -q -p no:cacheprovider --basetemp="$deploy_tmp" --durations=15 "${BACKGROUND[@]}" \
    >"$deploy_log" 2>&1 &
deploy_pid=$!
# Whatever happens to the foreground run, do not leave the stack half running.
trap 'kill -TERM "$deploy_pid" 2>/dev/null; wait "$deploy_pid" 2>/dev/null' INT TERM

"$BIN/python" -m pytest -q --durations=25 "${BACKGROUND[@]/#/--ignore=}"
main=$?

wait "$deploy_pid"
deploy=$?
echo
echo "=== ${BACKGROUND[*]}, run beside the rest: exit $deploy ==="
cat "$deploy_log"

# pytest's own exit codes: 5 (nothing collected) is a failure like any other non-zero code.
if [ "$main" -ne 0 ]; then
    exit "$main"
fi
exit "$deploy"
