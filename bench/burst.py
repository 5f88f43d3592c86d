"""`make bench-burst`: a burst of agencies. N distinct small files land at once over M profiles.

Each of the M profiles is the shipped metro_hearings profile for an agency of its own, watching a
folder of its own; each file is a distinct 250-row hearings export (the demo file's size). The
files are dropped together (written as ``.part``, then renamed, as a careful agency uploads) into

- the quickstart (default): `make run`'s scripts/run_demo.py, started here with
  COURTFEED_INCLUDE pointing at a generated include/ (the shipped profiles and templates plus
  the M burst profiles) and a second DAG bundle holding the floor DAGs; or one already running
  that reads that include/ (``--keep-running`` leaves it up for the next burst);
- with ``--stack``, the CeleryExecutor compose stack (bench/burst_stack.py): one SFTP user per
  agency on the hosted drop box, the target PostgreSQL.

Figures, written to bench/out/burst.json and printed beside their goals (bench/goals.py):

- files per minute: files loaded / (last loaded - first landed);
- landed -> loaded p50, p95, max: landed is when the file's rename on the server returned,
  loaded the ledger's ``finished_at`` for it;
- task-seconds per file: the durations of its fetch ... finalize task instances, as Airflow's
  REST API lists them (scripts/demo_airflow.py ``per_file_task_seconds``), summed per file;
- Airflow's floor for the same files: the same number of hand-written DAGs of the profile DAG's
  mapped shape with empty task bodies (bench.parse_time ``FLOW_SHAPE_DAGS``), each triggered
  with its profile's file names, and their task-seconds per file the same way.

    .venv/bin/python -m bench.burst [--files 200] [--profiles 20] [--stack] [--keep-running]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
WORK = REPO / ".run" / "bench" / "burst"
ROWS_PER_FILE = 250
PROFILE_PREFIX = "burst_"
FLOOR_PREFIX = "burst_floor_"
TERMINAL = {"loaded", "partial", "rejected", "duplicate", "failed"}

sys.path.insert(0, str(REPO / "scripts"))  # scripts/demo_airflow.py: how the demo reads task times


# -- pure parts (tests/bench/test_burst.py) ------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: list[float]) -> dict:
    def r(x):
        return None if x is None else round(x, 1)

    return {
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "max": r(max(values) if values else None),
    }


def profile_name(i: int) -> str:
    return f"{PROFILE_PREFIX}{i:04d}"


def burst_profiles(base: dict, count: int, source: Callable[[int], tuple[dict, dict]]) -> list[dict]:
    """``count`` copies of a shipped profile, each its own agency; ``source(i)`` gives the
    source block (connection, folder) and the folders after the load of profile i."""
    out = []
    for i in range(count):
        src, folders = source(i)
        body = {**base, "name": profile_name(i), "agency": f"burst-agency-{i:04d}"}
        body["description"] = f"Burst bench feed {i} (bench/burst.py)"
        body["source"] = {**base["source"], **src}
        body.update(folders)
        out.append(body)
    return out


def write_include(include: Path, profiles: list[dict], keep_shipped: bool) -> Path:
    """An include/ folder: the shipped templates and expectations, the shipped profiles when
    ``keep_shipped`` (the quickstart runs them at start), and the burst profiles."""
    if include.exists():
        shutil.rmtree(include)
    for part in ("templates", "expectations"):
        shutil.copytree(REPO / "include" / part, include / part)
    if keep_shipped:
        shutil.copytree(REPO / "include" / "profiles", include / "profiles")
    (include / "profiles").mkdir(exist_ok=True)
    for body in profiles:
        text = yaml.safe_dump(body, sort_keys=False)
        (include / "profiles" / f"{body['name']}.yaml").write_text(text, encoding="utf-8")
    return include


def write_floor_dags(folder: Path, count: int) -> Path:
    """The floor's DAG file: ``count`` DAGs of the profile DAG's shape with empty task bodies."""
    from bench.parse_time import flow_shape_dags

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "burst_floor_dags.py"
    path.write_text(flow_shape_dags(count, prefix=FLOOR_PREFIX), encoding="utf-8")
    return path


def burst_files(files: int, profiles: int, stamp: str) -> list[tuple[int, str, bytes]]:
    """(profile index, file name, content) of ``files`` distinct hearings exports, dealt round
    robin over the profiles; distinct records too (each file its own id range)."""
    import tempfile

    from bench.generate import generate

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(files):
            path = generate(
                Path(tmp) / "f.txt",
                ROWS_PER_FILE,
                seed=zlib.crc32(f"{stamp}:{n}".encode()),
                first_id=n * ROWS_PER_FILE,
            )
            out.append((n % profiles, f"metro_hearings_burst_{stamp}_{n:04d}.txt", path.read_bytes()))
    return out


def summarize(landed: dict[str, float], ledger: dict[str, dict], task_seconds: dict[str, float]) -> dict:
    """The burst's figures from when each file landed (epoch s), its ledger row (status,
    finished_at as epoch s) and its summed task seconds."""
    done = {n: row for n, row in ledger.items() if n in landed and row["status"] in TERMINAL}
    loaded = [n for n, row in done.items() if row["status"] == "loaded"]
    latencies = [done[n]["finished_at"] - landed[n] for n in loaded]
    window = (max(done[n]["finished_at"] for n in loaded) - min(landed.values())) if loaded else None
    statuses: dict[str, int] = {}
    for row in done.values():
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    counted = [task_seconds[n] for n in landed if n in task_seconds]
    return {
        "files": len(landed),
        "loaded": len(loaded),
        "statuses": statuses,
        "not_finished": sorted(set(landed) - set(done)),
        "files_per_minute": round(len(loaded) * 60 / window, 1) if window else None,
        "landed_to_loaded_seconds": spread(latencies),
        "task_seconds_per_file": round(sum(counted) / len(counted), 2) if counted else None,
        "task_seconds_files_counted": len(counted),
    }


def floor_summary(per_run: list[dict[str, dict[str, float]]]) -> dict:
    """Task-seconds per file of the floor's runs (per_file_task_seconds of each run)."""
    totals = [sum(stages.values()) for run in per_run for stages in run.values()]
    return {
        "files": len(totals),
        "task_seconds_per_file": round(sum(totals) / len(totals), 2) if totals else None,
    }


# -- against a running Airflow -------------------------------------------------------------------


def _epoch(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def read_ledger(engine, names: list[str]) -> dict[str, dict]:
    """file name -> {status, finished_at (epoch s)} of the burst profiles' uploads."""
    from sqlalchemy import select

    from courtfeed.target.schema import uploads

    query = select(uploads.c.path, uploads.c.status, uploads.c.finished_at).where(
        uploads.c.profile.in_(names)
    )
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except (OperationalError, ProgrammingError):
        return {}  # no ledger yet: nothing was loaded into this target so far
    return {Path(r.path).name: {"status": r.status, "finished_at": _epoch(r.finished_at)} for r in rows}


def wait_for_dags(api, wanted: list[str], prefix: str, timeout: float, reserialize=None) -> None:
    started = time.monotonic()
    while True:
        missing = set(wanted) - set(api.dags(prefix))
        if not missing:
            return
        if time.monotonic() - started > timeout:
            raise RuntimeError(
                f"{len(missing)} DAGs not parsed after {timeout:.0f} s, e.g. {sorted(missing)[:3]}"
            )
        if reserialize and time.monotonic() - started > 60:
            reserialize()
            reserialize = None
        time.sleep(5)


def wait_runs_done(api, dag_ids: list[str], since: datetime, timeout: float) -> bool:
    """Until no run of these DAGs since ``since`` is queued or running; False on timeout (the
    figures are then taken from what finished, and the files not finished are listed)."""
    from demo_airflow import runs_since

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(r["state"] in ("queued", "running") for d in dag_ids for r in runs_since(api, d, since)):
            return True
        time.sleep(5)
    print(f"  runs still going after {timeout:.0f} s: the figures below count what finished", flush=True)
    return False


def task_seconds_by_run(api, dag_ids: list[str], since: datetime) -> list[dict[str, dict[str, float]]]:
    """per_file_task_seconds of every run of these DAGs since ``since``."""
    from demo_airflow import per_file_task_seconds, runs_since

    out = []
    for dag_id in dag_ids:
        for run in runs_since(api, dag_id, since):
            path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances"
            tis = api.request("GET", path, params={"limit": 1000}).get("task_instances", [])
            out.append(per_file_task_seconds(tis))
    return out


def run_burst(target, files: list[tuple[int, str, bytes]], profiles: int, timeout: float) -> dict:
    """Drop the files, wait for the ledger and the runs, then run the floor on the same names."""
    api = target.api()
    dag_ids = [f"courtfeed__{profile_name(i)}" for i in range(profiles)]
    floor_ids = [f"{FLOOR_PREFIX}{i:04d}" for i in range(profiles)]
    wait_for_dags(api, dag_ids, "courtfeed__", 300, target.reserialize)
    wait_for_dags(api, floor_ids, FLOOR_PREFIX, 300, target.reserialize)
    since = datetime.now(UTC)
    landed: dict[str, float] = {}
    target.drop_all(files, landed)
    print(
        f"dropped {len(files)} files over {profiles} profiles in {max(landed.values()) - min(landed.values()):.1f} s"
    )
    deadline, ledger, report = time.monotonic() + timeout, {}, 0.0
    while time.monotonic() < deadline:
        ledger = read_ledger(target.engine, [profile_name(i) for i in range(profiles)])
        finished = sum(1 for n in landed if ledger.get(n, {}).get("status") in TERMINAL)
        if finished == len(landed):
            break
        if time.monotonic() - report > 30:
            print(f"  {finished}/{len(landed)} files in the ledger", flush=True)
            report = time.monotonic()
        time.sleep(2)
    wait_runs_done(api, dag_ids, since, timeout)
    ledger = read_ledger(target.engine, [profile_name(i) for i in range(profiles)])  # late ones too
    seconds: dict[str, float] = {}
    for run in task_seconds_by_run(api, dag_ids, since):
        for name, stages in run.items():
            seconds[name] = seconds.get(name, 0.0) + sum(stages.values())
    result = summarize(landed, ledger, seconds)
    print(f"courtfeed: {json.dumps(result)}", flush=True)  # kept in the log should the floor fail
    print("floor: the same file names through the empty-task DAGs ...", flush=True)
    floor_since = datetime.now(UTC)
    for i, dag_id in enumerate(floor_ids):
        api.set_paused(dag_id, False)
        api.trigger(dag_id, conf={"files": [name for p, name, _ in files if p == i]})
    wait_runs_done(api, floor_ids, floor_since, timeout)
    result["floor"] = floor_summary(task_seconds_by_run(api, floor_ids, floor_since))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="burst bench: N small files over M profiles at once")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--profiles", type=int, default=20)
    parser.add_argument("--stack", action="store_true", help="the compose stack instead of the quickstart")
    parser.add_argument("--keep-running", action="store_true", help="leave the quickstart/stack up")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the files")
    args = parser.parse_args(argv)
    if args.profiles < 1 or args.files < args.profiles:
        parser.error("--files must be at least --profiles, and --profiles at least 1")
    from bench.goals import evaluate, table

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    files = burst_files(args.files, args.profiles, stamp)
    if args.stack:
        from bench.burst_stack import StackTarget as Target
    else:
        from bench.burst_quickstart import QuickstartTarget as Target
    target = Target(args.profiles)
    try:
        target.start()
        result = run_burst(target, files, args.profiles, args.timeout)
    finally:
        if not args.keep_running:
            target.stop()
    burst = {
        "mode": "stack" if args.stack else "quickstart",
        "profiles": args.profiles,
        "rows_per_file": ROWS_PER_FILE,
        **result,
    }
    out = {"burst": burst, "goals": evaluate({"burst": burst})}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "burst.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(burst, indent=2))
    print()
    print(table(out["goals"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
