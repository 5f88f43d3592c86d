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
import json
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

import yaml

from courtfeed.cli.airflow_api import AirflowApi, AirflowApiError, generated_passwords

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / ".run"
PIDS = RUN / "pids"
BIN = REPO / ".venv" / "bin"
AIRFLOW_HOME = RUN / "airflow"
SFTP_DIR = RUN / "sftp"
SFTP_ROOT = RUN / "sftp-root"
TARGET_DB = RUN / "courtfeed.db"
DEMO_CONNECTION = "sftp_demo"
TERMINAL_RUN_STATES = {"success", "failed"}


def say(message: str) -> None:
    print(f"[courtfeed demo {datetime.now():%H:%M:%S}] {message}", flush=True)


class DemoError(Exception):
    """Something the user has to fix; the message says what."""


# -- environment -------------------------------------------------------------------------------


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


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


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


# -- Airflow -----------------------------------------------------------------------------------


def admin_login() -> tuple[str, str]:
    users = generated_passwords(AIRFLOW_HOME)
    user = "admin" if "admin" in users else next(iter(users))
    return user, users[user]


def wait_healthy(api: AirflowApi, airflow: subprocess.Popen, log: Path, timeout: float) -> None:
    started = time.monotonic()
    last_report = started
    waiting_for = "the api-server"
    while time.monotonic() - started < timeout:
        if airflow.poll() is not None:
            raise DemoError(f"airflow standalone exited (code {airflow.returncode}):\n{log_tail(log)}")
        try:
            waiting_for = ", ".join(api.unhealthy())
            if not waiting_for:
                say(f"Airflow is healthy after {time.monotonic() - started:.0f} s")
                return
        except AirflowApiError:
            pass
        if time.monotonic() - last_report >= 15:
            say(f"waiting for Airflow ({time.monotonic() - started:.0f} s): {waiting_for} not healthy yet")
            last_report = time.monotonic()
        time.sleep(2)
    raise DemoError(
        f"Airflow was not healthy within {timeout:.0f} s ({waiting_for}); see {log}:\n{log_tail(log)}"
    )


def demo_dag_ids() -> list[str]:
    """DAG ids of the profiles that read from the demo SFTP connection."""
    ids = []
    for path in sorted((REPO / "include" / "profiles").glob("*.y*ml")):
        try:
            profile = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            continue  # `courtfeed check` reports it; the DAG file skips it too
        if (profile.get("source") or {}).get("connection") == DEMO_CONNECTION and profile.get("name"):
            ids.append(f"courtfeed__{profile['name']}")
    return ids


def wait_for_dags(api: AirflowApi, wanted: list[str], env: dict[str, str], timeout: float) -> dict[str, dict]:
    started = time.monotonic()
    reserialized = False
    while True:
        dags = api.dags("courtfeed__")
        missing = [d for d in wanted if d not in dags]
        if not missing:
            say(f"{len(wanted)} demo DAGs are parsed: {', '.join(wanted)}")
            return dags
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            errors = [
                f"  {e.get('filename')}: {(e.get('stack_trace') or '').strip().splitlines()[-1:]}"
                for e in api.import_errors()
            ]
            raise DemoError(
                f"DAGs not found after {timeout:.0f} s: {', '.join(missing)}"
                + ("\nimport errors:\n" + "\n".join(errors) if errors else "")
            )
        if elapsed > 45 and not reserialized:
            # The dag-processor has not got to them yet: parse them now ourselves.
            say("parsing the DAG files now (airflow dags reserialize)")
            subprocess.run([str(BIN / "airflow"), "dags", "reserialize"], env=env, capture_output=True)
            reserialized = True
        time.sleep(3)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def runs_since(api: AirflowApi, dag_id: str, since: datetime) -> list[dict]:
    return [
        r
        for r in api.runs(dag_id, limit=50, newest_first=True)
        if (_when(r.get("queued_at")) or _when(r.get("start_date")) or since) >= since
    ]


def end_leftover_runs(api: AirflowApi, dag_ids: list[str], since: datetime) -> None:
    """Runs an earlier `make run` left unfinished (stopped mid-run) would hold the demo DAGs
    (max_active_runs=1) and the new runs would only queue behind them: mark them failed."""
    for dag_id in dag_ids:
        for run in api.runs(dag_id, limit=50, newest_first=True):
            started = _when(run.get("queued_at")) or _when(run.get("start_date"))
            if run["state"] in ("running", "queued") and (started is None or started < since):
                api.set_run_state(dag_id, run["dag_run_id"], "failed")
                say(f"{dag_id}: marked {run['dag_run_id']}, left over from an earlier start, failed")


def start_runs(api: AirflowApi, dag_ids: list[str], since: datetime) -> None:
    """Unpause each demo DAG and make sure it runs once.

    Profiles are enabled, so the scheduler makes a scheduled run as soon as a DAG is unpaused
    (catchup is off, the latest interval runs at once). Triggering on top of that would queue a
    second run that waits for files which are already gone, so a run already due is adopted and
    a manual run is triggered only when none is coming.
    """
    pending = {}
    for dag_id in dag_ids:
        api.set_paused(dag_id, False)
        pending[dag_id] = time.monotonic()
    while pending:
        dags = api.dags("courtfeed__")
        for dag_id, asked in list(pending.items()):
            if runs_since(api, dag_id, since):
                say(f"{dag_id}: a run has started")
                del pending[dag_id]
                continue
            due = _when(dags.get(dag_id, {}).get("next_dagrun_run_after"))
            scheduled_soon = due is not None and due <= datetime.now(UTC)
            if not scheduled_soon or time.monotonic() - asked > 30:
                run = api.trigger(dag_id)
                say(f"{dag_id}: triggered {run.get('dag_run_id')}")
                del pending[dag_id]
        if pending:
            time.sleep(2)


def wait_for_runs(api: AirflowApi, dag_ids: list[str], since: datetime, timeout: float) -> dict[str, str]:
    """Wait until each DAG has a finished run since `since`; with max_active_runs=1 the first one
    to finish is the one that picked up the demo files."""
    started = time.monotonic()
    last_report = 0.0
    states: dict[str, str] = {}
    while True:
        for dag_id in dag_ids:
            runs = runs_since(api, dag_id, since)
            finished = [r for r in runs if r["state"] in TERMINAL_RUN_STATES]
            states[dag_id] = finished[-1]["state"] if finished else (runs[0]["state"] if runs else "none")
        if all(s in TERMINAL_RUN_STATES for s in states.values()):
            return states
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            say(f"runs not finished after {timeout:.0f} s; showing what is in the ledger so far")
            return states
        if elapsed - last_report >= 15:
            say("runs: " + ", ".join(f"{d.removeprefix('courtfeed__')}={s}" for d, s in states.items()))
            last_report = elapsed
        time.sleep(3)


FILE_STAGES = ("fetch", "read", "validate", "map", "load", "finalize")


def per_file_task_seconds(task_instances: list[dict]) -> dict[str, dict[str, float]]:
    """Seconds each file's stages ran (fetch ... finalize, every attempt), from a run's task
    instances as the REST API lists them; the file is the task's rendered map index."""
    out: dict[str, dict[str, float]] = {}
    for ti in task_instances:
        group, _, stage = str(ti.get("task_id", "")).partition(".")
        if group != "file" or stage not in FILE_STAGES or ti.get("duration") is None:
            continue
        name = str(ti.get("rendered_map_index") or ti.get("map_index"))
        stages = out.setdefault(name, {})
        stages[stage] = stages.get(stage, 0.0) + float(ti["duration"])
    return out


def print_task_times(api: AirflowApi, dag_ids: list[str], since: datetime) -> None:
    """What each demo file cost in task time, the figure README's "Small files" section quotes."""
    lines = []
    for dag_id in dag_ids:
        for run in runs_since(api, dag_id, since):
            path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances"
            tis = api.request("GET", path, params={"limit": 500}).get("task_instances", [])
            for name, stages in per_file_task_seconds(tis).items():
                detail = ", ".join(f"{s} {stages[s]:.1f}" for s in FILE_STAGES if s in stages)
                lines.append(f"  {name:36} {sum(stages.values()):6.1f} s  ({detail})")
    if lines:
        print()
        print("Task time per file, fetch to finalize:")
        print("\n".join(lines))


def print_summary(env: dict[str, str], states: dict[str, str]) -> None:
    print()
    print("DAG runs:")
    for dag_id, state in states.items():
        print(f"  {dag_id:40} {state}")
    done = subprocess.run(
        [str(BIN / "courtfeed"), "status", "--json"], env=env, capture_output=True, text=True
    )
    try:
        rows = json.loads(done.stdout) if done.returncode == 0 else None
    except json.JSONDecodeError:
        rows = None
    print()
    if rows is None:
        print("Files: `courtfeed status --json` is not available yet:")
        print("  " + (done.stderr.strip().splitlines() or ["(no output)"])[-1])
        return
    if not rows:
        print("Files: no uploads in the ledger yet.")
        return
    print("Files:")
    print(f"  {'file':36} {'profile':18} {'status':9} {'read':>7} {'loaded':>7} {'rejected':>8}")
    for row in rows:
        name = Path(str(row.get("path") or row.get("file") or "?")).name
        print(
            f"  {name:36} {str(row.get('profile') or '-'):18} {str(row.get('status')):9} "
            f"{row.get('rows_read') or 0:>7} {row.get('rows_loaded') or 0:>7} {row.get('rows_rejected') or 0:>8}"
        )


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
    api = AirflowApi(f"http://localhost:{args.airflow_port}", user="admin", home=AIRFLOW_HOME, timeout=60)
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
