"""`make run`'s side of Airflow: waiting for it, starting the demo runs, reading back what they did.

Used by scripts/run_demo.py (the quickstart) through Airflow's REST API (courtfeed.cli.airflow_api).
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from courtfeed.cli.airflow_api import AirflowApi, AirflowApiError, generated_passwords

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / ".run"
BIN = REPO / ".venv" / "bin"
AIRFLOW_HOME = RUN / "airflow"
DEMO_CONNECTION = "sftp_demo"
TERMINAL_RUN_STATES = {"success", "failed"}


def say(message: str) -> None:
    print(f"[courtfeed demo {datetime.now():%H:%M:%S}] {message}", flush=True)


class DemoError(Exception):
    """Something the user has to fix; the message says what."""


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


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
        if ti.get("map_index", -1) < 0:  # the group was never expanded: no file reached it
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
