#!/usr/bin/env bash
# `make run`: the quickstart (demo SFTP server + airflow standalone + one run of each demo DAG).
# The work is in run_demo.py; this wrapper only finds the project's virtual environment.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ! -x "$repo/.venv/bin/python" ]]; then
    echo "no virtual environment in $repo/.venv: run \`make run\` (it creates it) or \`make venv\`" >&2
    exit 1
fi
exec "$repo/.venv/bin/python" "$repo/scripts/run_demo.py" "$@"
