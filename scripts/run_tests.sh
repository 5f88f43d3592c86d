#!/usr/bin/env bash
# `make test`: every test, in two pytest processes side by side.
#
# tests/deploy (the Docker engine, image builds, the hosted drop box and the production stack
# with two Celery workers) runs in the background while the rest of the suite runs in the
# foreground. The two share nothing: tests/deploy talks only to its own Docker engine and
# containers (.run/stack), the rest starts its own sshd, PostgreSQL, SeaweedFS, SMTP server,
# Chromium and Airflow processes. Most of either half is waiting (on a DAG run, a container, a
# download), so on two cores the halves overlap well instead of taking turns.
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
deploy_log=.run/test-deploy.log
deploy_tmp=/tmp/courtfeed-deploy-tests
rm -rf "$deploy_tmp"
"$BIN/python" -m pytest -q -p no:cacheprovider --basetemp="$deploy_tmp" --durations=10 tests/deploy \
    >"$deploy_log" 2>&1 &
deploy_pid=$!
# Whatever happens to the foreground run, do not leave the stack half running.
trap 'kill -TERM "$deploy_pid" 2>/dev/null; wait "$deploy_pid" 2>/dev/null' INT TERM

"$BIN/python" -m pytest -q --durations=25 --ignore=tests/deploy
main=$?

wait "$deploy_pid"
deploy=$?
echo
echo "=== tests/deploy (Docker engine, images, drop box, production stack), run beside the rest: exit $deploy ==="
cat "$deploy_log"

# pytest's own exit codes: 5 (nothing collected) is a failure like any other non-zero code.
if [ "$main" -ne 0 ]; then
    exit "$main"
fi
exit "$deploy"
