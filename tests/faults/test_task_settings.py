"""Every task has an execution timeout (profile-tunable, checked by
`courtfeed check`), per-file tasks are retried with backoff, and `load` can share one pool per
target database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml

from courtfeed.config.files import check_all

REPO = Path(__file__).resolve().parents[2]
PER_FILE = (
    "file.fetch",
    "file.read",
    "file.validate",
    "file.map",
    "file.load",
    "file.finalize",
    "file.clean_staging",
)


def include_with(tmp_path: Path, **changes) -> Path:
    include = tmp_path / "include"
    shutil.copytree(REPO / "include" / "templates", include / "templates")
    (include / "profiles").mkdir()
    profile = yaml.safe_load((REPO / "include" / "profiles" / "metro_hearings.yaml").read_text())
    profile.update(changes)
    (include / "profiles" / "metro_hearings.yaml").write_text(yaml.safe_dump(profile))
    return include


def task_settings(include: Path) -> dict:
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag;"
        f"b = DagBag(dag_folder={str(REPO / 'dags')!r});"
        "assert not b.import_errors, b.import_errors;"
        "print(json.dumps({d.dag_id + '/' + t.task_id: [t.execution_timeout.total_seconds()"
        " if t.execution_timeout else None, t.retries, t.retry_delay.total_seconds(),"
        " t.retry_exponential_backoff, t.pool] for d in b.dags.values() for t in d.tasks}))"
    )
    env = {"COURTFEED_INCLUDE": str(include), "PATH": str(Path(sys.executable).parent)}
    import os

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_task_has_a_timeout_and_per_file_tasks_retry(tmp_path: Path):
    include = include_with(
        tmp_path,
        execution_timeout_minutes=7,
        retries=2,
        retry_delay_seconds=5,
        target_pool="courtfeed_target",
    )
    got = task_settings(include)
    assert got, "no tasks"
    for task, (timeout, *_rest) in got.items():
        assert timeout is not None, f"{task} has no execution_timeout"
    hearings = {k.split("/", 1)[1]: v for k, v in got.items() if k.startswith("courtfeed__metro_hearings/")}
    for task in PER_FILE:
        timeout, retries, delay, backoff, _pool = hearings[task]
        assert (timeout, retries, delay, backoff) == (timedelta(minutes=7).total_seconds(), 2, 5.0, True), (
            task
        )
    assert hearings["file.load"][4] == "courtfeed_target"
    assert hearings["file.read"][4] == "default_pool"


def test_defaults_are_sane_and_check_refuses_nonsense(tmp_path: Path):
    from courtfeed.config.profile import Profile

    fields = Profile.model_fields
    assert fields["execution_timeout_minutes"].default == 60
    assert fields["retries"].default == 3
    include = include_with(tmp_path, execution_timeout_minutes=0, retries=50)
    problems = check_all(include)
    assert any("execution_timeout_minutes" in p for p in problems), problems
    assert any("retries" in p for p in problems), problems
