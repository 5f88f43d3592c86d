#!/usr/bin/env python
"""`make run`: the whole quickstart on one machine, then stay up until Ctrl-C.

1. a fresh copy of include/demo/ in .run/sftp-root/drop/ served by the demo SFTP server
   (courtfeed.demo.sftp_server) on 127.0.0.1:$COURTFEED_DEMO_SFTP_PORT (default 2222);
2. `airflow standalone` (SQLite, LocalExecutor) with AIRFLOW_HOME=.run/airflow, this repo's dags/
   and plugins/, on http://localhost:$AIRFLOW_PORT (default 8080);
3. airflow_settings.yaml imported (connection sftp_demo with the server's pinned host key, the
   SQLite load target, pools) by scripts/import_airflow_settings.py;
4. every profile DAG reading from sftp_demo unpaused and run once; a per-file summary from the
   ledger (`courtfeed status --json`), the UI address and the admin login.

Each run starts from the same demo files and an empty load target (.run/courtfeed.db), so the
demo is repeatable; the Airflow metadata (run history) is kept. `make stop` (scripts/stop_demo.sh)
or Ctrl-C stops everything this started; pid files are in .run/pids/.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# scripts/ is the folder Python runs this file from, so its sibling module imports by name.
from demo_airflow import (
    DEMO_CONNECTION,
    DemoError,
    admin_login,
    demo_dag_ids,
    end_leftover_runs,
    log_tail,
    print_summary,
    print_task_times,
    say,
    start_runs,
    wait_for_dags,
    wait_for_runs,
    wait_healthy,
)

from courtfeed.cli.airflow_api import AirflowApi
from courtfeed.demo.airflow_sqlite import ANSWER_WAIT_SECONDS, task_slots

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / ".run"
PIDS = RUN / "pids"
BIN = REPO / ".venv" / "bin"
AIRFLOW_HOME = RUN / "airflow"
SFTP_DIR = RUN / "sftp"
SFTP_ROOT = RUN / "sftp-root"
TARGET_DB = RUN / "courtfeed.db"


# -- environment -------------------------------------------------------------------------------


def demo_api(airflow_port: int) -> AirflowApi:
    """The quickstart's REST client: it waits for an answer longer than SQLite's lock can hold a
    call, so a trigger it gave up on can never be running still when it is sent again."""
    return AirflowApi(
        f"http://localhost:{airflow_port}", user="admin", home=AIRFLOW_HOME, timeout=ANSWER_WAIT_SECONDS
    )


def demo_environment(airflow_port: int, sftp_port: int, sftp_password: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(AIRFLOW_HOME),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__API__PORT=str(airflow_port),
        # Workers reach the task execution API on the api-server; it must follow the port.
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://localhost:{airflow_port}/execution/",
        # Airflow's metadata is SQLite here: wait for its write lock instead of failing after 5 s.
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS="courtfeed.demo.airflow_sqlite.CONNECT_ARGS",
        # ... and a task waits for the execution API's answer longer than that lock can take.
        AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT=str(ANSWER_WAIT_SECONDS),
        # ... and no more tasks at once than the cores can run, which keeps that lock's queue short.
        AIRFLOW__CORE__PARALLELISM=str(task_slots(os.cpu_count())),
        # New or edited profiles show up within 30 s instead of the default 5 minutes.
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="30",
        # standalone starts its parts by running `airflow` by name.
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        COURTFEED_TARGET_URL=f"sqlite:///{TARGET_DB}",
        COURTFEED_SQLITE_PATH=str(TARGET_DB),
        COURTFEED_DEMO_SFTP_PORT=str(sftp_port),
        COURTFEED_DEMO_SFTP_PASSWORD=sftp_password,
    )
    return env


def write_env_file(env: dict[str, str]) -> Path:
    """`.run/env.sh`: source it to use the `airflow` and `courtfeed` commands on the demo."""
    keys = sorted(k for k in env if k.startswith(("AIRFLOW", "COURTFEED_")) and k in env)
    lines = [f"export {k}={_shell_quote(env[k])}" for k in keys]
    lines.append(f'export PATH={_shell_quote(str(BIN))}:"$PATH"')
    path = RUN / "env.sh"
    path.write_text("# written by scripts/run_demo.py: `source .run/env.sh`\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)  # holds the demo SFTP password
    return path


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def require_free_port(port: int, what: str, hint: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            raise DemoError(f"port {port} ({what}) is already in use. {hint}") from None


# -- processes ---------------------------------------------------------------------------------


class Started:
    """Background processes this script started, each in its own process group."""

    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            # A new session makes the child a group leader: stopping the group also stops the
            # scheduler, api-server, dag-processor and triggerer that standalone spawns.
            process = subprocess.Popen(
                args,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        PIDS.mkdir(parents=True, exist_ok=True)
        (PIDS / f"{name}.pid").write_text(f"{process.pid}\n")
        self.processes[name] = process
        return process

    def stop_all(self) -> None:
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                say(f"stopping {name} (process group {process.pid})")
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time; killing it")
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
            # Stragglers of a group whose leader already exited (e.g. standalone's children).
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            (PIDS / f"{name}.pid").unlink(missing_ok=True)
        self.processes.clear()


# -- demo SFTP endpoint ------------------------------------------------------------------------


def prepare_sftp_root() -> int:
    """A fresh copy of include/demo/ as /drop, plus /acks for acknowledgements."""
    if SFTP_ROOT.exists():
        shutil.rmtree(SFTP_ROOT)
    drop = SFTP_ROOT / "drop"
    drop.mkdir(parents=True)
    (SFTP_ROOT / "acks").mkdir()
    count = 0
    for file in sorted((REPO / "include" / "demo").iterdir()):
        if file.is_file() and not file.name.startswith("."):
            shutil.copy2(file, drop / file.name)
            count += 1
    return count


def start_sftp(started: Started, env: dict[str, str], port: int) -> str:
    log = SFTP_DIR / "server.log"
    log.unlink(missing_ok=True)
    args = [str(BIN / "python"), "-m", "courtfeed.demo.sftp_server", "--root", str(SFTP_ROOT)]
    args += ["--port", str(port), "--user", "demo", "--host-key-file", str(SFTP_DIR / "host_key")]
    process = started.start("sftp", args, env, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "listening on" in text:
            return (SFTP_DIR / "host_key.pub").read_text().strip()
        if process.poll() is not None:
            raise DemoError(f"the demo SFTP server stopped at start:\n{log_tail(log)}")
        time.sleep(0.2)
    raise DemoError(f"the demo SFTP server did not start within 30 s:\n{log_tail(log)}")


# -- main --------------------------------------------------------------------------------------


def stop_leftovers() -> None:
    """A previous `make run` that was not stopped: stop it first (only what its pid files name)."""
    if PIDS.exists() and any(PIDS.glob("*.pid")):
        subprocess.run(["bash", str(REPO / "scripts" / "stop_demo.sh")], check=False)


def run(args: argparse.Namespace, started: Started) -> int:
    t0 = time.monotonic()
    stop_leftovers()
    require_free_port(args.airflow_port, "Airflow UI", "Stop whatever uses it or set AIRFLOW_PORT=<port>.")
    require_free_port(
        args.sftp_port, "demo SFTP", "Stop whatever uses it or set COURTFEED_DEMO_SFTP_PORT=<port>."
    )
    RUN.mkdir(exist_ok=True)
    PIDS.mkdir(exist_ok=True)
    (PIDS / "run_demo.pid").write_text(f"{os.getpid()}\n")

    env = demo_environment(args.airflow_port, args.sftp_port, secrets.token_urlsafe(18))
    if not args.keep_data:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{TARGET_DB}{suffix}").unlink(missing_ok=True)
    count = prepare_sftp_root()
    env["COURTFEED_DEMO_HOST_KEY"] = start_sftp(started, env, args.sftp_port)
    say(f"demo SFTP server on 127.0.0.1:{args.sftp_port} serving {count} files in /drop ({SFTP_ROOT})")
    env_file = write_env_file(env)

    say("preparing the Airflow metadata database (airflow db migrate)")
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    migrate = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True)
    if migrate.returncode != 0:
        raise DemoError("airflow db migrate failed:\n" + "\n".join(migrate.stderr.splitlines()[-15:]))

    # Before standalone starts, so the connection exists when the first sensor pokes.
    say("importing airflow_settings.yaml (connections, pools, variables)")
    imported = subprocess.run(
        [
            str(BIN / "python"),
            str(REPO / "scripts" / "import_airflow_settings.py"),
            str(REPO / "airflow_settings.yaml"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if imported.returncode != 0:
        raise DemoError("importing airflow_settings.yaml failed:\n" + imported.stderr.strip())

    since = datetime.now(UTC)
    log = AIRFLOW_HOME / "standalone.log"
    say(f"starting airflow standalone (log: {log})")
    airflow = started.start("airflow", [str(BIN / "airflow"), "standalone"], env, log)
    api = demo_api(args.airflow_port)
    wait_healthy(api, airflow, log, args.health_timeout)

    dag_ids = demo_dag_ids()
    if not dag_ids:
        say(f"no profile in include/profiles reads from {DEMO_CONNECTION}: nothing to run")
        states: dict[str, str] = {}
    else:
        wait_for_dags(api, dag_ids, env, timeout=120)
        end_leftover_runs(api, dag_ids, since)
        start_runs(api, dag_ids, since)
        states = wait_for_runs(api, dag_ids, since, args.run_timeout)
    print_summary(env, states)
    if dag_ids:
        print_task_times(api, dag_ids, since)

    user, password = admin_login()
    print()
    print(f"Airflow UI:  http://localhost:{args.airflow_port}   login: {user} / {password}")
    print(f"Demo SFTP:   sftp -P {args.sftp_port} demo@127.0.0.1   (files in {SFTP_ROOT})")
    print(f"CLI:         source {env_file.relative_to(REPO)}   then `airflow ...` or `courtfeed status`")
    print(f"Ready in {time.monotonic() - t0:.0f} s. Ctrl-C (or `make stop`) stops everything.")
    print(flush=True)

    if args.exit_after_summary:
        return 0 if all(s == "success" for s in states.values()) else 1
    while True:
        for name, process in started.processes.items():
            if process.poll() is not None:
                raise DemoError(f"{name} exited unexpectedly (code {process.returncode})")
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="courtfeed quickstart (make run)")
    parser.add_argument("--airflow-port", type=int, default=int(os.environ.get("AIRFLOW_PORT", "8080")))
    parser.add_argument(
        "--sftp-port", type=int, default=int(os.environ.get("COURTFEED_DEMO_SFTP_PORT", "2222"))
    )
    # a busy 2-core machine may take minutes to bring the api-server up
    parser.add_argument("--health-timeout", type=float, default=360)
    parser.add_argument("--run-timeout", type=float, default=600, help="seconds to wait for the demo runs")
    parser.add_argument("--keep-data", action="store_true", help="keep .run/courtfeed.db from the last run")
    parser.add_argument("--exit-after-summary", action="store_true", help="stop everything after the summary")
    args = parser.parse_args(argv)

    started = Started()

    def _stop(signum, _frame):
        raise KeyboardInterrupt

    # Explicitly, for SIGINT too: a shell starting us in the background ignores Ctrl-C by default.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        return run(args, started)
    except KeyboardInterrupt:
        print()
        say("stopping")
        return 0
    except DemoError as e:
        say(f"error: {e}")
        return 1
    finally:
        # A second Ctrl-C must not cut the cleanup short and leave Airflow running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        started.stop_all()
        (PIDS / "run_demo.pid").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
