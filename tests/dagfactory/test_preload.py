"""Task code is imported once where tasks are forked (courtfeed.dagfactory.preload), not once per task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from courtfeed.dagfactory.preload import forks_tasks, preload_if_executor

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "executor", "expected"),
    [
        (["airflow", "scheduler"], "LocalExecutor", True),
        (["airflow", "scheduler"], "CeleryExecutor", False),
        (["airflow", "scheduler"], "CeleryExecutor,LocalExecutor", True),
        (["airflow", "celery", "worker"], "CeleryExecutor", True),
        (["airflow", "api-server"], "LocalExecutor", False),
        (["airflow", "dag-processor"], "LocalExecutor", False),
        (["airflow", "triggerer"], "LocalExecutor", False),
        (["airflow", "tasks", "test", "x"], "LocalExecutor", False),
    ],
)
def test_only_the_process_that_forks_tasks_preloads(argv, executor, expected):
    assert forks_tasks(argv, executor) is expected


def test_the_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv("COURTFEED_PRELOAD", "0")
    assert preload_if_executor(["airflow", "scheduler"]) is False


def test_other_airflow_processes_import_nothing_heavy():
    # Airflow imports plugins/airflow_local_settings.py at start-up in every process
    code = "import sys, airflow.settings; print('airflow_local_settings' in sys.modules, 'great_expectations' in sys.modules)"
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"), "COURTFEED_PRELOAD": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True False"


def test_stages_forked_from_a_preloaded_parent_pay_no_imports(tmp_path: Path):
    # bench.small_file --forked: preload once, then fork one process per stage of the
    # 250-row demo file, as an executor worker forks tasks. A stage that had to import
    # Great Expectations itself would take ~10 s of CPU; the seconds are `make bench`'s to
    # report, the test holds what they come from: no stage imports a heavy library itself.
    folder = tmp_path
    out = subprocess.run(
        [sys.executable, "-m", "bench.small_file", "--forked", str(folder)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    imported = json.loads(out.stdout.strip().splitlines()[-1])["imported"]
    work = json.loads((folder / "work.json").read_text())
    assert work["status"] == "loaded" and work["rows_read"] == 250
    assert set(imported) == {"fetch", "read", "validate", "map", "load", "finalize"}
    heavy = {"great_expectations", "pandas", "pyarrow", "sqlalchemy", "phonenumbers", "python_calamine"}
    assert {stage: sorted(heavy & set(names)) for stage, names in imported.items()} == dict.fromkeys(
        imported, []
    ), imported
