"""`make run` ends with each demo file's task time, fetch to finalize, summed from the REST
API's task instances (scripts/demo_airflow.py); README's "Small files" figure comes from it."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def demo_airflow():
    spec = importlib.util.spec_from_file_location("demo_airflow", REPO / "scripts" / "demo_airflow.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_demo(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # run_demo imports its sibling modules
    spec = importlib.util.spec_from_file_location("run_demo", REPO / "scripts" / "run_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "run_demo", module)
    spec.loader.exec_module(module)
    return module


def test_task_seconds_are_summed_per_file_and_stage_over_attempts():
    tis = [
        {"task_id": "list_new_files", "map_index": -1, "duration": 4.0},
        {"task_id": "file.fetch", "map_index": 0, "rendered_map_index": "a.txt", "duration": 0.5},
        {"task_id": "file.load", "map_index": 0, "rendered_map_index": "a.txt", "duration": 2.0},
        {"task_id": "file.load", "map_index": 0, "rendered_map_index": "a.txt", "duration": 1.0},  # a retry
        {"task_id": "file.clean_staging", "map_index": 0, "rendered_map_index": "a.txt", "duration": 0.3},
        {"task_id": "file.read", "map_index": 1, "rendered_map_index": "b.txt", "duration": 0.25},
        {"task_id": "file.map", "map_index": 1, "rendered_map_index": "b.txt", "duration": None},  # not run
    ]

    got = demo_airflow().per_file_task_seconds(tis)

    assert got == {"a.txt": {"fetch": 0.5, "load": 3.0}, "b.txt": {"read": 0.25}}


def test_a_run_that_found_no_file_adds_no_file_line():
    # The file group was never expanded (nothing new, or the file parked): its tasks stay at
    # map index -1, skipped in no time. They are no file of their own.
    tis = [
        {"task_id": "list_new_files", "map_index": -1, "duration": 1.5},
        {"task_id": "file.fetch", "map_index": -1, "rendered_map_index": None, "duration": 0.0},
        {"task_id": "file.finalize", "map_index": -1, "rendered_map_index": None, "duration": 0.0},
    ]

    assert demo_airflow().per_file_task_seconds(tis) == {}


def test_the_quickstarts_airflow_waits_for_sqlites_write_lock(monkeypatch):
    env = run_demo(monkeypatch).demo_environment(8080, 2222, "pw")
    module, _, name = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"].rpartition(".")
    connect_args = getattr(importlib.import_module(module), name)
    assert connect_args["timeout"] >= 30  # Python's default, 5 s, let the scheduler stop on a burst
    # A task's call to the execution API waits behind that lock; the task must not give up and
    # send it again while the first is still queued (a late "running" undid a finished task).
    assert float(env["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"]) > connect_args["timeout"]


def test_the_quickstart_runs_no_more_tasks_than_its_cores_can(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    env = run_demo(monkeypatch).demo_environment(8080, 2222, "pw")

    # Airflow's default of 32 task processes on two cores kept SQLite's lock queue over 60 s long.
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) == 8


def test_the_quickstarts_rest_client_waits_longer_than_sqlites_lock(monkeypatch):
    from courtfeed.demo.airflow_sqlite import CONNECT_ARGS

    api = run_demo(monkeypatch).demo_api(8080)

    # A trigger queued behind the lock timed out at 60 s in the client and stopped `make run`.
    assert api.http.timeout.read > CONNECT_ARGS["timeout"]
