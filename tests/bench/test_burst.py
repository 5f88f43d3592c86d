"""The burst bench's pure parts: percentiles, the figures it derives, the profiles and files it
generates, and the floor's DAG file, which must have the factory's tasks to be a floor at all.

No timing here: `make bench-burst` measures; these check what the figures are computed from.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.burst import (
    burst_files,
    burst_profiles,
    floor_summary,
    percentile,
    spread,
    summarize,
    write_floor_dags,
    write_include,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 95, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),  # order of arrival does not matter
        (list(range(1, 101)), 95, 95.05),
        ([10.0, 20.0], 0, 10.0),
        ([10.0, 20.0], 100, 20.0),
    ],
)
def test_percentile_interpolates_between_the_closest_ranks(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_no_values_no_percentile():
    assert percentile([], 50) is None
    assert spread([]) == {"p50": None, "p95": None, "max": None}


def test_summary_counts_only_loaded_files_and_measures_from_landing():
    landed = {"a.txt": 100.0, "b.txt": 101.0, "c.txt": 102.0, "d.txt": 103.0}
    ledger = {
        "a.txt": {"status": "loaded", "finished_at": 130.0},  # 30 s
        "b.txt": {"status": "loaded", "finished_at": 161.0},  # 60 s
        "c.txt": {"status": "rejected", "finished_at": 140.0},
        "other.txt": {"status": "loaded", "finished_at": 150.0},  # not this burst's
    }
    seconds = {"a.txt": 10.0, "b.txt": 14.0, "c.txt": 3.0}

    out = summarize(landed, ledger, seconds)

    assert out["files"] == 4 and out["loaded"] == 2
    assert out["statuses"] == {"loaded": 2, "rejected": 1}
    assert out["not_finished"] == ["d.txt"]
    assert out["landed_to_loaded_seconds"] == {"p50": 45.0, "p95": 58.5, "max": 60.0}
    # 2 files loaded between the first landing (100) and the last load (161)
    assert out["files_per_minute"] == pytest.approx(round(2 * 60 / 61, 1))
    assert out["task_seconds_per_file"] == 9.0 and out["task_seconds_files_counted"] == 3


def test_floor_summary_averages_every_file_of_every_run():
    runs = [{"0": {"fetch": 1.0, "read": 1.0}, "1": {"fetch": 2.0}}, {"0": {"fetch": 0.5, "load": 1.5}}]
    assert floor_summary(runs) == {"files": 3, "task_seconds_per_file": 2.0}


def test_burst_profiles_are_agencies_of_their_own_each_watching_its_folder(tmp_path: Path):
    base = yaml.safe_load((REPO / "include" / "profiles" / "metro_hearings.yaml").read_text())
    profiles = burst_profiles(
        base, 3, lambda i: ({"directory": f"/burst/{i}"}, {"archive_directory": f"/a/{i}"})
    )

    include = write_include(tmp_path / "include", profiles, keep_shipped=True)

    from courtfeed.config.files import load_profile_file, profile_files

    loaded = {p.name: p for p in map(load_profile_file, profile_files(include / "profiles"))}
    burst = [loaded[f"burst_{i:04d}"] for i in range(3)]
    assert len({p.agency for p in burst}) == 3
    assert [p.source.directory for p in burst] == ["/burst/0", "/burst/1", "/burst/2"]
    assert all(p.template == "metro_hearings" and p.pickup == base["pickup"] for p in burst)
    assert "metro_hearings" in loaded  # the shipped profiles stay: the quickstart runs them at start


def test_burst_files_are_distinct_and_dealt_over_the_profiles():
    files = burst_files(6, 4, "20260101000000")

    assert [p for p, _, _ in files] == [0, 1, 2, 3, 0, 1]
    assert len({name for _, name, _ in files}) == 6
    assert len({data for _, _, data in files}) == 6
    lines = files[0][2].decode().splitlines()
    assert len(lines) == 251 and lines[0].startswith("DEF_ID|")
    ids = [line.split("|")[0] for _, _, data in files for line in data.decode().splitlines()[1:]]
    assert len(set(ids)) == 6 * 250  # distinct records, not the same people reloaded


def test_the_floor_dag_file_has_the_factory_dags_tasks_and_edges(tmp_path: Path):
    # The floor stands for "Airflow alone running courtfeed's flow": only while its DAGs have the
    # profile DAG's tasks, dependencies and teardown is its task time a floor.
    from airflow.dag_processing.dagbag import DagBag

    floor = DagBag(dag_folder=str(write_floor_dags(tmp_path, 3)))
    profile = DagBag(dag_folder=str(REPO / "dags" / "courtfeed_dags.py")).dags["courtfeed__metro_hearings"]

    def edges(dag) -> dict:
        return {t.task_id: (sorted(t.downstream_task_ids), t.is_teardown) for t in dag.tasks}

    assert not floor.import_errors
    assert sorted(floor.dags) == ["burst_floor_0000", "burst_floor_0001", "burst_floor_0002"]
    assert all(edges(dag) == edges(profile) for dag in floor.dags.values())
