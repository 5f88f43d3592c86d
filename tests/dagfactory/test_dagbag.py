"""Parsing the DAG file: one DAG per profile, the right shape, and nothing heavy at parse time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors_and_one_dag_per_profile(dagbag):
    assert dagbag.import_errors == {}
    names = sorted(p.stem for p in (REPO / "include" / "profiles").glob("*.yaml"))
    assert sorted(d for d in dagbag.dag_ids if d.startswith("courtfeed__")) == [
        f"courtfeed__{n}" for n in names
    ]


def test_dag_shape(dagbag):
    dag = dagbag.dags["courtfeed__metro_hearings"]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert {"agency:metro-county", "source:sftp", "template:metro_hearings"} <= set(dag.tags)
    assert "metro_hearings" in dag.doc_md and "/drop" in dag.doc_md
    chain = [
        "list_new_files",
        "file.fetch",
        "file.read",
        "file.validate",
        "file.map",
        "file.load",
        "file.finalize",
    ]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        assert dag.task_dict[downstream].upstream_task_ids == {upstream}
    sensor = dag.task_dict["list_new_files"]
    assert sensor.mode == "reschedule" and sensor.soft_fail is True
    assert dag.task_dict["file.fetch"].map_index_template == "{{ file_name }}"
    assert "force_files" in dag.params
    # the tasks that connect to the server share its pool; the others do not
    assert {
        t: dag.task_dict[t].pool for t in ("list_new_files", "file.fetch", "file.finalize", "file.read")
    } == {
        "list_new_files": "sftp_demo",
        "file.fetch": "sftp_demo",
        "file.finalize": "sftp_demo",
        "file.read": "default_pool",
    }


def test_a_watched_profile_serialises_with_its_landing_asset_and_watcher(dagbag):
    # What the dag-processor stores and the triggerer reads: the landing asset (a LandingAsset
    # at parse time, see courtfeed.dagfactory.watcher) must serialise as a plain asset with its watcher.
    from airflow.serialization.serialized_objects import DagSerialization

    dag = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.dags["courtfeed__metro_hearings"]))
    [asset] = dag.timetable.asset_condition.objects
    assert (asset.name, asset.uri) == (
        "courtfeed.landing.metro_hearings",
        "courtfeed-landing://metro_hearings/",
    )
    [watcher] = asset.watchers
    assert watcher.trigger["classpath"] == "courtfeed.dagfactory.watcher.FolderWatchTrigger"
    assert watcher.trigger["kwargs"]["profile"] == "metro_hearings"


def test_schedule_default_and_paused_when_disabled(tmp_path: Path):
    include = tmp_path / "include"
    shutil.copytree(REPO / "include" / "templates", include / "templates")
    (include / "profiles").mkdir()
    base = yaml.safe_load((REPO / "include" / "profiles" / "metro_hearings.yaml").read_text())
    base["pickup"] = "schedule"  # the default pickup, watch, is tested in tests/dagfactory/test_watcher.py
    off = {**base, "name": "off_feed", "enabled": False}
    default = {k: v for k, v in base.items() if k != "schedule"} | {"name": "default_feed"}
    for p in (off, default):
        (include / "profiles" / f"{p['name']}.yaml").write_text(yaml.safe_dump(p))
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag;"
        f"b = DagBag(dag_folder={str(REPO / 'dags')!r});"
        "t = lambda d: [type(d.timetable).__name__, d.timetable.expression, str(d.timetable.timezone)];"
        "print(json.dumps({d: [*t(b.dags[d]), b.dags[d].is_paused_upon_creation] for d in b.dags if d.startswith('courtfeed__')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "COURTFEED_INCLUDE": str(include)},
    )
    assert out.returncode == 0, out.stderr
    dags = json.loads(out.stdout.strip().splitlines()[-1])
    assert dags["courtfeed__off_feed"][-1] is True
    # hourly by default, on data intervals in the agency's own timezone
    assert dags["courtfeed__default_feed"] == [
        "CronDataIntervalTimetable",
        "0 * * * *",
        "America/Chicago",
        False,
    ]


def test_parse_reads_no_heavy_library():
    dag_file = str(REPO / "dags" / "courtfeed_dags.py")
    code = (
        f"import sys, runpy; runpy.run_path({dag_file!r});"
        "heavy = [m for m in ('pandas', 'great_expectations', 'pyarrow', 'paramiko') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
