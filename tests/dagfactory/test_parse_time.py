"""Parse time stays small as profiles grow: shards, a worker's own profile only, a cheap factory.

How long a parse takes is measured by `make bench` (bench/parse_time.py: 1,000 profiles in one
DAG file and in a shard of 8, beside Airflow's own floor for the same flow), never asserted
here: CPU seconds swing with whatever else the machine runs. These tests hold what the
figures rest on: a shard builds its share of the profiles and no other, a worker reads only
its own profile, the run form's params are not copied into every task, bytecode is there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.parse_time import generate_include, parse_once
from courtfeed.dagfactory.shards import parse_shard, profiles_to_build, shard_of

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def thousand(tmp_path_factory) -> Path:
    return generate_include(tmp_path_factory.mktemp("parse"), 1000)


def test_a_shard_of_1000_profiles_builds_about_an_eighth_of_them(thousand: Path):
    dags, _, _ = parse_once(thousand, {"COURTFEED_DAG_SHARD": "0/8"})
    assert 100 <= dags <= 150


def test_shards_split_every_profile_once_and_stably(thousand: Path):
    folder = thousand / "profiles"
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    shards = [[p.name for p in profiles_to_build(None, f"{i}/4", folder)[0]] for i in range(4)]

    assert sorted(n for shard in shards for n in shard) == names
    # a profile's shard depends on its name only, so adding profiles never moves a DAG
    assert all(shard_of(n, 4) == i for i, shard in enumerate(shards) for n in shard)
    assert [p.name for p in profiles_to_build(None, None, folder)[0]] == names


def test_a_worker_reads_only_its_own_profile(thousand: Path):
    folder = thousand / "profiles"
    (folder / "feed_0001.yaml").write_text("not: [valid", encoding="utf-8")  # never opened below

    profiles, problems = profiles_to_build("courtfeed__feed_0002", "1/4", folder)

    assert [p.name for p in profiles] == ["feed_0002"] and problems == []
    assert profiles_to_build("courtfeed_monitor", None, folder) == ([], [])


@pytest.mark.parametrize("spec", ["4/4", "1", "a/b", "-1/3", "0/0"])
def test_a_bad_shard_setting_is_named(spec: str):
    with pytest.raises(ValueError, match="COURTFEED_DAG_SHARD"):
        parse_shard(spec)


def test_run_form_params_are_on_the_dag_not_copied_into_tasks(tmp_path: Path):
    code = (
        "from airflow.dag_processing.dagbag import DagBag;"
        f"b = DagBag(dag_folder={str(REPO / 'dags' / 'courtfeed_dags.py')!r});"
        "d = b.dags['courtfeed__metro_hearings'];"
        "print(sorted(d.params), d.params.get_param('force_files').schema['type'],"
        " d.task_dict['list_new_files'].params.get('force_files', 'absent'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == (
        "['arrived_since', 'arrived_until', 'force_files', 'reprocess'] array absent"
    )


def test_make_left_bytecode_for_airflow_and_courtfeed():
    # uv installs no .pyc and PYTHONDONTWRITEBYTECODE stops Python writing any: without the
    # Makefile's --compile-bytecode and `make bytecode`, every parse and task compiles from source.
    import importlib.util

    import airflow.sdk.definitions.dag

    import courtfeed.dagfactory.factory

    for module in (airflow.sdk.definitions.dag, courtfeed.dagfactory.factory):
        assert Path(importlib.util.cache_from_source(module.__file__)).exists(), module.__name__


def test_the_flow_shape_floor_builds_the_same_tasks_and_edges_as_a_profile_dag(tmp_path: Path):
    # bench.parse_time's floor stands for "Airflow alone, building courtfeed's flow": it is only
    # a floor while its DAGs have the factory's tasks, dependencies and teardown.
    from airflow.dag_processing.dagbag import DagBag

    from bench.parse_time import flow_shape_dags

    shape_file = tmp_path / "flow_shape_dags.py"
    shape_file.write_text(flow_shape_dags(1), encoding="utf-8")
    shape = DagBag(dag_folder=str(shape_file)).dags["shape_0000"]
    profile = DagBag(dag_folder=str(REPO / "dags" / "courtfeed_dags.py")).dags["courtfeed__metro_hearings"]

    def edges(dag) -> dict:
        return {t.task_id: (sorted(t.downstream_task_ids), t.is_teardown) for t in dag.tasks}

    assert edges(shape) == edges(profile)
    assert len(shape.tasks) == 8
