#!/usr/bin/env bash
# `make stop`: stop what `make run` started, using only the pid files in .run/pids/.
# Each pid is the leader of its own process group (airflow standalone and its scheduler,
# api-server, dag-processor and triggerer; the demo SFTP server), so the group is stopped.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pids="$repo/.run/pids"
[[ -d "$pids" ]] || { echo "nothing to stop"; exit 0; }

# A pid file can outlive its process and the number be reused: only signal a process whose
# command line is the one we started.
expected_cmd() {
    case "$1" in
        run_demo) echo "run_demo.py" ;;
        sftp) echo "courtfeed.demo.sftp_server" ;;
        airflow) echo "airflow standalone" ;;
        *) echo "" ;;
    esac
}

is_ours() {  # pid, expected command fragment
    [[ -n "$2" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}

alive() {  # a zombie has exited already, it only waits for its parent to collect it
    [[ -r "/proc/$1/stat" ]] && [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]]
}

stopped=0
# run_demo first: it stops its own children cleanly and removes their pid files.
for name in run_demo sftp airflow; do
    file="$pids/$name.pid"
    [[ -f "$file" ]] || continue
    pid="$(tr -dc '0-9' <"$file")"
    if [[ -n "$pid" ]] && is_ours "$pid" "$(expected_cmd "$name")"; then
        echo "stopping $name (pid $pid)"
        # The group when it is one (always, as run_demo.py starts them), else the process alone.
        if [[ "$name" == run_demo ]]; then kill -TERM "$pid"; else kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"; fi
        for _ in $(seq 1 60); do
            alive "$pid" || break
            sleep 0.5
        done
        if alive "$pid"; then
            echo "$name did not stop in 30 s: killing it"
            if [[ "$name" == run_demo ]]; then kill -KILL "$pid"; else kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; fi
        fi
        stopped=$((stopped + 1))
    fi
    # Members of the group that outlived their leader (e.g. a scheduler whose standalone died):
    # only processes of this project's virtual environment that are still in that group.
    if [[ -n "$pid" && "$name" != run_demo ]]; then
        ps -eo pid=,pgid=,args= | while read -r member group args; do
            if [[ "$group" == "$pid" && "$args" == *"$repo/.venv/"* ]]; then
                echo "stopping leftover $name process $member"
                kill -KILL "$member" 2>/dev/null
            fi
        done
    fi
    rm -f "$file"
done
[[ $stopped -gt 0 ]] || echo "nothing was running"
exit 0
